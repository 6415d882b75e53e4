/* The INI input file (libinih) turned into a typed, validated Config.
 *
 * Every key is declared once in the `keys` table below (section, name, type, field, range); the
 * parser, the range checks of config_validate() and config_dump() all walk that table, so a key
 * cannot be parsed without being dumped or documented-range-checked (STYLE.md habit 12's "declare
 * once" applied to input).
 *
 * libinih is used for what it does well (splitting "[section]" and "key = value", comments), but
 * three of its behaviours do not fit an input file that must fail loudly:
 *   - a line longer than its fixed buffer (INI_MAX_LINE) is silently cut, and the rest is parsed
 *     as a new line, which can turn a long path into a bogus "key = value";
 *   - an indented line is a continuation of the previous value (Python configparser style), so an
 *     indented "natoms = 500" would become part of the previous key;
 *   - an empty "[sectoin]" never reaches the handler, so a misspelt section would go unnoticed.
 * The run-time switches for these exist only in Debian's patched build, so instead a pre-scan
 * copies the text with every line stripped of surrounding white space (no continuations
 * possible), rejects over-long lines, flags empty unknown sections, and records the line number
 * of each "key = value" line. Handler call k is then key line k, which gives every error a line
 * number, so that the error reported is always the first one in the file, whichever pass finds
 * it.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <mpi.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "basin/config.h"
#include "basin/util.h"
#include "parallel.h"

/* Longest line libinih reads whole: its buffer holds INI_MAX_LINE bytes, of which '\r', '\n' and
 * the terminator take three (ini.h). */
#define LINE_MAX_CHARS (INI_MAX_LINE - 3)
/* output.dir must fit on a dumped "dir = ..." line, or the dump would not read back. */
#define DIR_MAX_CHARS (LINE_MAX_CHARS - (int)sizeof("dir = ") + 1)
/* Far above any run this code can hold (the builders keep 3N doubles per rank), and low enough
 * that 4 (k+1)^3 and similar size arithmetic never overflows int64. */
#define NATOMS_MAX INT64_C(1000000000000)
/* A configuration file is a few hundred bytes; a bigger one is almost surely the wrong file
 * (a trajectory passed by mistake), and should not be broadcast to every rank. */
#define FILE_MAX_BYTES (1 << 20)
/* Values are quoted in messages up to this many characters. */
#define SHOW_MAX 60

typedef enum { KT_ENUM, KT_INT, KT_INT64, KT_UINT64, KT_DOUBLE, KT_BOOL, KT_STRING } KeyType;

typedef struct KeyDef {
    const char *section, *name;
    KeyType type;
    size_t offset;
    size_t size;              /* KT_STRING: buffer size */
    double lo, hi;            /* KT_DOUBLE: bounds (hi = INFINITY: none) */
    int lo_open, hi_open;     /* KT_DOUBLE: bound excluded */
    int64_t ilo, ihi;         /* KT_INT, KT_INT64: inclusive bounds */
    const char *const *names; /* KT_ENUM: names, index = enum value */
    int nnames;
    int required; /* must appear in a file (config_defaults still gives a value) */
} KeyDef;

static const char *const kind_names[] = {"glass", "crystal"};
static const char *const thermostat_names[] = {"nhc", "none"};
static const char *const minimizer_names[] = {"fire", "fire-bitzek", "sd", "lbfgs", "sd-rkc"};
static const char *const snapshot_names[] = {"events", "all", "none"};
static const char *const finish_names[] = {"newton", "none"};
static const char *const verify_names[] = {"none", "sd", "sd-rkc"};

/* Enum fields are read and written through int: same size, and int is a valid way to access an
 * enum object of a compatible integer type. */
_Static_assert(sizeof(ModelKind) == sizeof(int), "enum fields are accessed as int");
_Static_assert(sizeof(ThermostatKind) == sizeof(int), "enum fields are accessed as int");
_Static_assert(sizeof(MinimizerKind) == sizeof(int), "enum fields are accessed as int");
_Static_assert(MODEL_GLASS == 0 && MODEL_CRYSTAL == 1, "kind_names order");
_Static_assert(THERMOSTAT_NHC == 0 && THERMOSTAT_NONE == 1, "thermostat_names order");
_Static_assert(MIN_FIRE == 0 && MIN_FIRE_BITZEK == 1 && MIN_SD == 2 && MIN_LBFGS == 3 &&
                   MIN_RKC == 4,
               "minimizer_names order");
_Static_assert(sizeof(IsSnapshots) == sizeof(int), "enum fields are accessed as int");
_Static_assert(IS_SNAPSHOTS_EVENTS == 0 && IS_SNAPSHOTS_ALL == 1 && IS_SNAPSHOTS_NONE == 2,
               "snapshot_names order");
_Static_assert(sizeof(IsFinish) == sizeof(int), "enum fields are accessed as int");
_Static_assert(IS_FINISH_NEWTON == 0 && IS_FINISH_NONE == 1, "finish_names order");
_Static_assert(sizeof(IsVerify) == sizeof(int), "enum fields are accessed as int");
_Static_assert(IS_VERIFY_NONE == 0 && IS_VERIFY_SD == 1 && IS_VERIFY_RKC == 2,
               "verify_names order");

#define F(field) offsetof(Config, field)
#define ENUM(sec, key, field, tab, req)                                                            \
    {                                                                                              \
        .section = sec, .name = key, .type = KT_ENUM, .offset = F(field), .names = tab,            \
        .nnames = (int)(sizeof tab / sizeof tab[0]), .required = req                               \
    }
#define DBL(sec, key, field, l, lopen, h, hopen)                                                   \
    {                                                                                              \
        .section = sec, .name = key, .type = KT_DOUBLE, .offset = F(field), .lo = l,               \
        .lo_open = lopen, .hi = h, .hi_open = hopen                                                \
    }
#define I64(sec, key, field, l, h)                                                                 \
    { .section = sec, .name = key, .type = KT_INT64, .offset = F(field), .ilo = l, .ihi = h }
#define BOOL(sec, key, field)                                                                      \
    { .section = sec, .name = key, .type = KT_BOOL, .offset = F(field) }

static const KeyDef keys[] = {
    ENUM("system", "kind", kind, kind_names, 1),
    {.section = "system",
     .name = "natoms",
     .type = KT_INT64,
     .offset = F(natoms),
     .ilo = 2,
     .ihi = NATOMS_MAX,
     .required = 1},
    DBL("system", "density", density, 0.0, 1, INFINITY, 0),
    {.section = "system", .name = "seed", .type = KT_UINT64, .offset = F(seed)},
    DBL("system", "overlap_min", overlap, 0.0, 1, 1.2, 0),
    {.section = "system",
     .name = "init_file",
     .type = KT_STRING,
     .offset = F(init_file),
     .size = sizeof(((Config *)0)->init_file)},

    DBL("md", "dt", dt, 0.0, 1, INFINITY, 0),
    DBL("md", "skin", skin, 0.0, 0, INFINITY, 0),
    {.section = "md",
     .name = "temperature",
     .type = KT_DOUBLE,
     .offset = F(temperature),
     .lo = 0.0,
     .lo_open = 1,
     .hi = INFINITY,
     .required = 1},
    DBL("md", "t_liquid", t_liquid, 0.0, 1, INFINITY, 0),
    I64("md", "liquid_steps", liquid_steps, 0, INT64_MAX),
    I64("md", "equil_steps", equil_steps, 0, INT64_MAX),
    I64("md", "nve_steps", nve_steps, 0, INT64_MAX),

    ENUM("thermostat", "kind", thermostat, thermostat_names, 0),
    {.section = "thermostat",
     .name = "chain",
     .type = KT_INT,
     .offset = F(nhc_chain),
     .ilo = 1,
     .ihi = 10},
    DBL("thermostat", "tdamp", tdamp, 0.0, 1, INFINITY, 0),

    {.section = "output",
     .name = "dir",
     .type = KT_STRING,
     .offset = F(dir),
     .size = sizeof(((Config *)0)->dir)},
    I64("output", "thermo_every", thermo_every, 1, INT64_MAX),
    I64("output", "traj_every", traj_every, 0, INT64_MAX),
    BOOL("output", "velocities", write_velocities),
    I64("output", "checkpoint_every", checkpoint_every, 0, INT64_MAX),
    BOOL("output", "final_data", final_data),

    BOOL("inherent", "enabled", is_enabled),
    DBL("inherent", "every", is_every, 0.0, 1, INFINITY, 0),
    ENUM("inherent", "minimizer", minimizer, minimizer_names, 0),
    DBL("inherent", "fmax", fmax_tol, 0.0, 0, INFINITY, 0),
    DBL("inherent", "fnorm", fnorm_tol, 0.0, 0, INFINITY, 0),
    ENUM("inherent", "finish", is_finish, finish_names, 0),
    BOOL("inherent", "predict", is_predict),
    I64("inherent", "soft_modes", soft_modes, 0, 64),
    ENUM("inherent", "verify", is_verify, verify_names, 0),
    DBL("inherent", "event_threshold", event_threshold, 0.0, 1, INFINITY, 0),
    I64("inherent", "max_iter", max_iter, 1, INT64_MAX),
    ENUM("inherent", "snapshots", is_snapshots, snapshot_names, 0),
};
enum { NKEYS = sizeof keys / sizeof keys[0] };

static const char *const sections[] = {"system", "md", "thermostat", "output", "inherent"};
enum { NSECTIONS = sizeof sections / sizeof sections[0] };

void config_defaults(Config *c) {
    /* memset first: padding bytes are then zero too, so two configs with equal fields compare
     * equal with memcmp (the dump round-trip test relies on it). */
    memset(c, 0, sizeof *c);
    c->kind = MODEL_GLASS;
    c->natoms = 500;
    c->density = 1.015;
    c->seed = 1;
    c->overlap = 0.8;
    strcpy(c->init_file, "none");

    c->dt = 5e-3;
    c->skin = 0.3;
    c->temperature = 0.01;
    c->t_liquid = 1.0;
    c->liquid_steps = 20000;
    c->equil_steps = 20000;
    c->nve_steps = 20000;

    c->thermostat = THERMOSTAT_NHC;
    c->nhc_chain = 3;
    c->tdamp = 0.5;

    strcpy(c->dir, ".");
    c->thermo_every = 100;
    c->traj_every = 1000;
    c->write_velocities = 1;
    c->checkpoint_every = 10000;
    c->final_data = 1;

    c->is_enabled = 0;
    c->is_every = 0.1;
    c->minimizer = MIN_FIRE;
    c->fmax_tol = 1e-9;
    c->fnorm_tol = 0.0;
    c->is_finish = IS_FINISH_NEWTON;
    c->is_predict = 1;
    c->soft_modes = 32;
    c->is_verify = IS_VERIFY_NONE;
    c->event_threshold = 1e-2;
    c->max_iter = 100000;
    c->is_snapshots = IS_SNAPSHOTS_EVENTS;
}

const char *config_kind_name(ModelKind k) {
    return (unsigned)k < sizeof kind_names / sizeof kind_names[0] ? kind_names[k] : "?";
}
const char *config_thermostat_name(ThermostatKind k) {
    return (unsigned)k < sizeof thermostat_names / sizeof thermostat_names[0] ? thermostat_names[k]
                                                                              : "?";
}
const char *config_minimizer_name(MinimizerKind k) {
    return (unsigned)k < sizeof minimizer_names / sizeof minimizer_names[0] ? minimizer_names[k]
                                                                            : "?";
}

static void *field(Config *c, const KeyDef *d) {
    return (char *)c + d->offset;
}
static const void *cfield(const Config *c, const KeyDef *d) {
    return (const char *)c + d->offset;
}

/* Shortest of %.15g..%.17g that reads back to the same double: exact like %.17g, but the
 * defaults print as 1.015 and 0.1 rather than 1.0149999999999999 and 0.10000000000000001. */
static void fmt_double(double v, char *buf, size_t n) {
    for (int prec = 15; prec <= 17; ++prec) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}

/* The value of key d in c as it is written in a file. */
static void fmt_value(const Config *c, const KeyDef *d, char *buf, size_t n) {
    const void *p = cfield(c, d);
    switch (d->type) {
    case KT_ENUM: {
        const int v = *(const int *)p;
        snprintf(buf, n, "%s", v >= 0 && v < d->nnames ? d->names[v] : "?");
        break;
    }
    case KT_INT:
        snprintf(buf, n, "%d", *(const int *)p);
        break;
    case KT_INT64:
        snprintf(buf, n, "%" PRId64, *(const int64_t *)p);
        break;
    case KT_UINT64:
        snprintf(buf, n, "%" PRIu64, *(const uint64_t *)p);
        break;
    case KT_DOUBLE:
        fmt_double(*(const double *)p, buf, n);
        break;
    case KT_BOOL:
        snprintf(buf, n, "%s", *(const int *)p ? "true" : "false");
        break;
    case KT_STRING:
        snprintf(buf, n, "%.*s", (int)d->size, (const char *)p);
        break;
    }
}

/* "'value'" for messages, cut to SHOW_MAX characters so one bad line stays one short line. */
static const char *show(const char *v, char *buf, size_t n) {
    const size_t len = strlen(v);
    if (len <= SHOW_MAX)
        snprintf(buf, n, "'%s'", v);
    else
        snprintf(buf, n, "'%.*s...'", SHOW_MAX, v);
    return buf;
}

static void describe_range(const KeyDef *d, char *buf, size_t n) {
    switch (d->type) {
    case KT_DOUBLE: {
        char lo[32], hi[32];
        fmt_double(d->lo, lo, sizeof lo);
        fmt_double(d->hi, hi, sizeof hi);
        if (isinf(d->hi))
            snprintf(buf, n, "must be %s %s", d->lo_open ? ">" : ">=", lo);
        else
            snprintf(buf, n, "must be in %s%s, %s%s", d->lo_open ? "(" : "[", lo, hi,
                     d->hi_open ? ")" : "]");
        break;
    }
    case KT_INT:
    case KT_INT64:
        if (d->ihi == INT64_MAX)
            snprintf(buf, n, "must be >= %" PRId64, d->ilo);
        else
            snprintf(buf, n, "must be in [%" PRId64 ", %" PRId64 "]", d->ilo, d->ihi);
        break;
    default:
        snprintf(buf, n, "is out of range");
        break;
    }
}

static int double_in_range(const KeyDef *d, double v) {
    if (!isfinite(v)) return 0;
    if (d->lo_open ? !(v > d->lo) : !(v >= d->lo)) return 0;
    if (d->hi_open ? !(v < d->hi) : !(v <= d->hi)) return 0;
    return 1;
}

/* Whether s cannot be output.dir, and why. It is written back by config_dump() and re-read by
 * libinih, so it must survive that trip: fit one line, no control characters (a newline would end
 * the line), no surrounding blanks (stripped), no ';' that would start an inline comment. */
static int dir_problem(const char *s, size_t size, char *why, size_t n) {
    const size_t len = strnlen(s, size);
    const char *bad = NULL;
    if (len == size) {
        bad = "is not terminated";
    } else if (len == 0) {
        bad = "must not be empty";
    } else if (len > (size_t)DIR_MAX_CHARS) {
        snprintf(why, n,
                 "is longer than %d characters (the longest that fits one INI line when basin "
                 "writes the configuration back)",
                 DIR_MAX_CHARS);
        return 1;
    } else if (isspace((unsigned char)s[0]) || isspace((unsigned char)s[len - 1])) {
        bad = "must not start or end with white space";
    } else {
        for (size_t i = 0; i < len && !bad; ++i) {
            const unsigned char ch = (unsigned char)s[i];
            if (ch < 0x20 || ch == 0x7f)
                bad = "must not contain control characters";
            else if (ch == ';' && (i == 0 || isspace((unsigned char)s[i - 1])))
                bad = "must not contain ';' at its start or after white space (an INI comment)";
        }
    }
    if (bad) snprintf(why, n, "%s", bad);
    return bad != NULL;
}

/* Parse text as the value of key d into c; on failure write the reason ("what, got 'value'"
 * comes from the caller) into why and return -1. */
static int parse_value(const KeyDef *d, const char *v, Config *c, char *why, size_t nwhy) {
    void *p = field(c, d);
    char *end = NULL;
    errno = 0;
    switch (d->type) {
    case KT_ENUM:
        for (int i = 0; i < d->nnames; ++i)
            if (!strcmp(v, d->names[i])) {
                *(int *)p = i;
                return 0;
            }
        {
            int m = snprintf(why, nwhy, "must be one of ");
            for (int i = 0; i < d->nnames && m > 0 && (size_t)m < nwhy; ++i)
                m += snprintf(why + m, nwhy - (size_t)m, "%s%s", i ? ", " : "", d->names[i]);
        }
        return -1;
    case KT_BOOL: {
        static const char *const yes[] = {"true", "yes", "1"}, *const no[] = {"false", "no", "0"};
        for (int i = 0; i < 3; ++i) {
            if (!strcmp(v, yes[i])) {
                *(int *)p = 1;
                return 0;
            }
            if (!strcmp(v, no[i])) {
                *(int *)p = 0;
                return 0;
            }
        }
        snprintf(why, nwhy, "must be one of true, false, yes, no, 1, 0");
        return -1;
    }
    case KT_INT:
    case KT_INT64: {
        const long long x = strtoll(v, &end, 10);
        if (end == v || *end != '\0') {
            snprintf(why, nwhy, "must be an integer");
            return -1;
        }
        if (errno == ERANGE || x < d->ilo || x > d->ihi) {
            describe_range(d, why, nwhy);
            return -1;
        }
        if (d->type == KT_INT)
            *(int *)p = (int)x;
        else
            *(int64_t *)p = (int64_t)x;
        return 0;
    }
    case KT_UINT64: {
        /* strtoull accepts "-1" and wraps it; a seed written as negative is a mistake. */
        const unsigned long long x = strtoull(v, &end, 10);
        if (end == v || *end != '\0' || strchr(v, '-')) {
            snprintf(why, nwhy, "must be an integer in [0, %" PRIu64 "]", UINT64_MAX);
            return -1;
        }
        if (errno == ERANGE) {
            snprintf(why, nwhy, "must be <= %" PRIu64, UINT64_MAX);
            return -1;
        }
        *(uint64_t *)p = (uint64_t)x;
        return 0;
    }
    case KT_DOUBLE: {
        const double x = strtod(v, &end);
        if (end == v || *end != '\0') {
            snprintf(why, nwhy, "must be a number");
            return -1;
        }
        /* Overflow gives +-HUGE_VAL and is caught here; ERANGE on underflow leaves a tiny
         * finite value that the range check judges like any other. */
        if (!isfinite(x)) {
            snprintf(why, nwhy, "must be a finite number");
            return -1;
        }
        if (!double_in_range(d, x)) {
            describe_range(d, why, nwhy);
            return -1;
        }
        *(double *)p = x;
        return 0;
    }
    case KT_STRING: {
        const size_t len = strlen(v);
        if (dir_problem(v, len + 1, why, nwhy)) return -1;
        if (len >= d->size) { /* unreachable while DIR_MAX_CHARS < size; kept for safety */
            snprintf(why, nwhy, "is longer than %zu characters", d->size - 1);
            return -1;
        }
        memcpy(p, v, len + 1);
        return 0;
    }
    }
    snprintf(why, nwhy, "has an unknown type");
    return -1;
}

static int find_section(const char *s) {
    for (int i = 0; i < NSECTIONS; ++i)
        if (!strcmp(s, sections[i])) return i;
    return -1;
}

static int find_key(const char *section, const char *name) {
    for (int i = 0; i < NKEYS; ++i)
        if (!strcmp(section, keys[i].section) && !strcmp(name, keys[i].name)) return i;
    return -1;
}

/* Edit distance, for "did you mean"; names longer than 63 characters never match anything. */
static int edit_distance(const char *a, const char *b) {
    const size_t na = strlen(a), nb = strlen(b);
    if (na > 63 || nb > 63) return INT_MAX;
    int row[64];
    for (size_t j = 0; j <= nb; ++j)
        row[j] = (int)j;
    for (size_t i = 1; i <= na; ++i) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= nb; ++j) {
            const int up = row[j];
            const int sub = diag + (a[i - 1] != b[j - 1]);
            int best = up + 1 < row[j - 1] + 1 ? up + 1 : row[j - 1] + 1;
            row[j] = sub < best ? sub : best;
            diag = up;
        }
    }
    return row[nb];
}

static const char *suggest_section(const char *s) {
    int best = 3;
    const char *hit = NULL;
    for (int i = 0; i < NSECTIONS; ++i) {
        const int dist = edit_distance(s, sections[i]);
        if (dist < best) best = dist, hit = sections[i];
    }
    return hit;
}

/* A close name in the same section, or the same name in another section. */
static const KeyDef *suggest_key(const char *section, const char *name) {
    int best = 3;
    const KeyDef *hit = NULL;
    for (int i = 0; i < NKEYS; ++i) {
        const int dist = !strcmp(section, keys[i].section) ? edit_distance(name, keys[i].name)
                         : !strcmp(name, keys[i].name)     ? 1
                                                           : INT_MAX;
        if (dist < best) best = dist, hit = &keys[i];
    }
    return hit;
}

/* What the parse found wrong first, by line number; only the earliest is kept. */
typedef struct ParseState {
    Config *c;
    const int *keyline; /* line number of key line k */
    int nkeylines, ncalls;
    unsigned char seen[NKEYS];
    char first[NKEYS][SHOW_MAX + 8]; /* the first value of each key, for duplicate messages */
    int err_line;                    /* INT_MAX: no error yet */
    char err_key[128];
    char err_what[768];
} ParseState;

__attribute__((format(printf, 4, 5))) static void fail_at(ParseState *ps, int line, const char *key,
                                                          const char *fmt, ...) {
    if (line >= ps->err_line) return;
    ps->err_line = line;
    snprintf(ps->err_key, sizeof ps->err_key, "%s", key);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->err_what, sizeof ps->err_what, fmt, ap);
    va_end(ap);
}

/* libinih handler. Always returns 1 ("carry on"): errors are kept in ps with their line, and
 * ini_parse_string's return value is then the first pure syntax error. */
static int on_key(void *user, const char *section, const char *name, const char *value) {
    ParseState *ps = user;
    const int line = ps->ncalls < ps->nkeylines ? ps->keyline[ps->ncalls] : INT_MAX - 1;
    ++ps->ncalls;
    if (line >= ps->err_line) return 1;
    char key[128], shown[SHOW_MAX + 8], why[512];
    snprintf(key, sizeof key, "%s%s%s", section, *section ? "." : "", name);
    show(value, shown, sizeof shown);
    if (!*name) {
        char where[32];
        snprintf(where, sizeof where, "line %d", line);
        fail_at(ps, line, where, "syntax error: no key name before '=', got %s", shown);
        return 1;
    }
    if (!*section) {
        fail_at(ps, line, key, "key outside any [section], got %s", shown);
        return 1;
    }
    if (find_section(section) < 0) {
        const char *s = suggest_section(section);
        char hint[96] = "";
        if (s) snprintf(hint, sizeof hint, " (did you mean [%s]?)", s);
        fail_at(ps, line, key,
                "unknown section [%s]%s; sections are system, md, thermostat, output, inherent, "
                "got %s",
                section, hint, shown);
        return 1;
    }
    const int k = find_key(section, name);
    if (k < 0) {
        const KeyDef *s = suggest_key(section, name);
        char hint[256];
        if (s) {
            snprintf(hint, sizeof hint, " (did you mean %s.%s?)", s->section, s->name);
        } else {
            int m = snprintf(hint, sizeof hint, "; [%s] has", section);
            for (int i = 0, first = 1; i < NKEYS && m > 0 && (size_t)m < sizeof hint; ++i)
                if (!strcmp(keys[i].section, section)) {
                    m += snprintf(hint + m, sizeof hint - (size_t)m, "%s %s", first ? "" : ",",
                                  keys[i].name);
                    first = 0;
                }
        }
        fail_at(ps, line, key, "unknown key%s, got %s", hint, shown);
        return 1;
    }
    if (ps->seen[k]) {
        fail_at(ps, line, key, "duplicate key (already set to %s), got %s", ps->first[k], shown);
        return 1;
    }
    ps->seen[k] = 1;
    snprintf(ps->first[k], sizeof ps->first[k], "%s", shown);
    if (parse_value(&keys[k], value, ps->c, why, sizeof why) != 0)
        fail_at(ps, line, key, "%s, got %s", why, shown);
    return 1;
}

/* libinih's rule for where a run of characters ends: at one of `chars`, at the end, or at an
 * inline comment (';' after white space). Copied in behaviour so that the pre-scan classifies
 * lines exactly as ini_parse_string will. */
static const char *ini_find(const char *s, const char *e, const char *chars) {
    int was_space = 0;
    while (s < e && !(chars && strchr(chars, *s)) && !(was_space && *s == ';')) {
        was_space = isspace((unsigned char)*s);
        ++s;
    }
    return s;
}

typedef struct Prescan {
    char *text;   /* normalised copy fed to libinih */
    int *keyline; /* line number of each key line */
    int nkeylines;
    char **line; /* start of each normalised line (1-based), for syntax-error messages */
    int nlines;
} Prescan;

static void prescan_free(Prescan *p) {
    free(p->text);
    free(p->keyline);
    free(p->line);
    memset(p, 0, sizeof *p);
}

/* An unknown section with no keys never reaches the handler, so the pre-scan reports it. */
static void fail_empty_section(ParseState *ps, int line, const char *name) {
    const char *sug = suggest_section(name);
    char hint[96] = "";
    if (sug) snprintf(hint, sizeof hint, " (did you mean [%s]?)", sug);
    fail_at(ps, line, name,
            "unknown section [%s]%s; sections are system, md, thermostat, output, inherent", name,
            hint);
}

static int prescan(const char *src, ParseState *ps, Prescan *p) {
    memset(p, 0, sizeof *p);
    const size_t len = strlen(src);
    size_t maxlines = 2;
    for (const char *s = src; *s; ++s)
        maxlines += *s == '\n';
    BCHK(BALLOC(p->text, len + 2));
    BCHK(BALLOC(p->keyline, maxlines));
    BCHK(BALLOC(p->line, maxlines + 1));

    /* UTF-8 byte-order mark, which some editors write; libinih skips it too. */
    const char *s = src;
    if (!strncmp(s, "\xEF\xBB\xBF", 3)) s += 3;
    char *out = p->text;
    int lineno = 0, unknown_line = 0; /* header line of an unknown section not yet given a key */
    char unknown[64] = "";
    while (*s) {
        const char *eol = strchr(s, '\n');
        if (!eol) eol = s + strlen(s);
        const char *a = s, *b = eol;
        while (a < b && isspace((unsigned char)*a))
            ++a;
        while (b > a && isspace((unsigned char)b[-1]))
            --b;
        s = *eol ? eol + 1 : eol;
        p->line[++lineno] = out;
        p->nlines = lineno;

        if (b - a > LINE_MAX_CHARS) {
            char where[32], shown[SHOW_MAX + 8];
            snprintf(where, sizeof where, "line %d", lineno);
            snprintf(shown, sizeof shown, "'%.*s...'", SHOW_MAX, a);
            fail_at(ps, lineno, where,
                    "line is longer than %d characters (the limit of the INI parser), got %s",
                    LINE_MAX_CHARS, shown);
            *out++ = '\n'; /* dropped, so that libinih's line count stays in step */
            continue;
        }
        if (*a == '[') {
            const char *close = ini_find(a + 1, b, "]");
            if (close < b && *close == ']') {
                if (unknown_line) fail_empty_section(ps, unknown_line, unknown);
                char name[64];
                snprintf(name, sizeof name, "%.*s", (int)(close - a - 1), a + 1);
                unknown_line = find_section(name) < 0 ? lineno : 0;
                snprintf(unknown, sizeof unknown, "%s", name);
            }
        } else if (a < b && *a != ';' && *a != '#') {
            const char *sep = ini_find(a, b, "=:");
            if (sep < b && (*sep == '=' || *sep == ':')) {
                p->keyline[p->nkeylines++] = lineno;
                unknown_line = 0; /* the handler reports it, naming the key and value */
            }
        }
        memcpy(out, a, (size_t)(b - a));
        out += b - a;
        *out++ = '\n';
    }
    *out = '\0';
    if (unknown_line) fail_empty_section(ps, unknown_line, unknown);
    return 0;
}

static const char *config_where(const Config *c) {
    return c->path[0] ? c->path : "built-in configuration";
}

int config_parse_string(const char *text, const char *name, Config *c) {
    config_defaults(c);
    if (!name) name = "<string>";
    snprintf(c->path, sizeof c->path, "%s", name);
    if (!text) text = "";

    ParseState *ps = NULL;
    BCHK(BALLOC(ps, 1));
    ps->c = c;
    ps->err_line = INT_MAX;
    Prescan pre;
    int rc = prescan(text, ps, &pre);
    if (rc) {
        prescan_free(&pre);
        free(ps);
        return rc;
    }
    ps->keyline = pre.keyline;
    ps->nkeylines = pre.nkeylines;
    const int syntax = ini_parse_string(pre.text, on_key, ps);
    if (syntax > 0 && syntax < ps->err_line) {
        char where[32], shown[SHOW_MAX + 8];
        snprintf(where, sizeof where, "line %d", syntax);
        const char *l = syntax <= pre.nlines ? pre.line[syntax] : "";
        char tmp[SHOW_MAX + 4];
        snprintf(tmp, sizeof tmp, "%.*s", (int)strcspn(l, "\n"), l);
        fail_at(ps, syntax, where,
                "syntax error: expected '[section]', 'key = value' or a comment, got %s",
                show(tmp, shown, sizeof shown));
    } else if (syntax < 0) {
        fail_at(ps, 0, "", "the INI parser failed (%d)", syntax);
    }
    if (ps->err_line == INT_MAX) {
        for (int k = 0; k < NKEYS; ++k)
            if (keys[k].required && !ps->seen[k]) {
                char key[128];
                snprintf(key, sizeof key, "%s.%s", keys[k].section, keys[k].name);
                fail_at(ps, INT_MAX - 1, key, "required key is missing");
                break;
            }
    }
    if (ps->err_line != INT_MAX) {
        rc = basin_error(BASIN_ERR_CONFIG, name, ps->err_key, "%s", ps->err_what);
    }
    prescan_free(&pre);
    free(ps);
    BCHK(rc);
    BCHK(config_validate(c));
    return 0;
}

/* Same test as model_build_glass, so a config that passes cannot fail in the builder. */
static int natoms_box_ok(double rc_max, double density, int64_t n) {
    return model_box_length(n, density) > 2.0 * rc_max;
}

/* Largest k with 4 k^3 <= n. */
static int64_t fcc_k(int64_t n) {
    int64_t k = n >= 4 ? (int64_t)llround(cbrt((double)n / 4.0)) : 0;
    while (k > 0 && 4 * k * k * k > n)
        --k;
    while (4 * (k + 1) * (k + 1) * (k + 1) <= n)
        ++k;
    return k;
}

/* Sizes the builders accept: even for the 50:50 glass, 4 k^3 for the FCC crystal. */
static int natoms_shape_ok(ModelKind kind, int64_t n) {
    if (kind == MODEL_GLASS) return n % 2 == 0;
    const int64_t k = fcc_k(n);
    return k >= 1 && 4 * k * k * k == n;
}

/* Smallest valid natoms at this density, or -1 if none up to NATOMS_MAX. The box test is
 * monotonic in n, so valid sizes are exactly the right-shaped ones from this one on. */
static int64_t natoms_smallest(ModelKind kind, double rc_max, double density) {
    const double guess = density * pow(2.0 * rc_max, 3.0);
    if (!(guess < (double)NATOMS_MAX)) return -1;
    if (kind == MODEL_GLASS) {
        int64_t n = (int64_t)guess - 4;
        n = n < 2 ? 2 : n - n % 2;
        while (n <= NATOMS_MAX && !natoms_box_ok(rc_max, density, n))
            n += 2;
        return n <= NATOMS_MAX ? n : -1;
    }
    int64_t k = fcc_k((int64_t)guess) - 1;
    if (k < 1) k = 1;
    while (4 * k * k * k <= NATOMS_MAX && !natoms_box_ok(rc_max, density, 4 * k * k * k))
        ++k;
    return 4 * k * k * k <= NATOMS_MAX ? 4 * k * k * k : -1;
}

static int validate_natoms(const Config *c, const char *where) {
    Model m;
    model_init(&m, c->kind);
    const int64_t n = c->natoms;
    const int64_t nmin = natoms_smallest(c->kind, m.rc_max, c->density);
    char dens[32];
    fmt_double(c->density, dens, sizeof dens);
    if (nmin < 0)
        return basin_error(BASIN_ERR_CONFIG, where, "system.density",
                           "too high: no natoms up to %" PRId64 " gives a box edge larger than "
                           "2 r_c = %.5g, got '%s'",
                           NATOMS_MAX, 2.0 * m.rc_max, dens);
    if (n < nmin)
        return basin_error(BASIN_ERR_CONFIG, where, "system.natoms",
                           "box edge L = (natoms/density)^(1/3) = %.5g must exceed 2 r_c = %.5g "
                           "for the minimum image; the smallest valid natoms for a %s at density "
                           "%s is %" PRId64 ", got '%" PRId64 "'",
                           model_box_length(n, c->density), 2.0 * m.rc_max,
                           config_kind_name(c->kind), dens, nmin, n);
    if (natoms_shape_ok(c->kind, n)) return 0;
    int64_t lo, hi;
    if (c->kind == MODEL_GLASS) {
        lo = n - 1, hi = n + 1; /* n is odd here */
    } else {
        const int64_t k = fcc_k(n);
        lo = 4 * k * k * k, hi = 4 * (k + 1) * (k + 1) * (k + 1);
    }
    const char *rule = c->kind == MODEL_GLASS ? "must be even for the 50:50 glass"
                                              : "must be 4 k^3 for the FCC crystal";
    if (hi > NATOMS_MAX)
        return basin_error(BASIN_ERR_CONFIG, where, "system.natoms",
                           "%s; the nearest valid size is %" PRId64 ", got '%" PRId64 "'", rule, lo,
                           n);
    return basin_error(BASIN_ERR_CONFIG, where, "system.natoms",
                       "%s; the nearest valid sizes are %" PRId64 " and %" PRId64 ", got '%" PRId64
                       "'",
                       rule, lo, hi, n);
}

int config_validate(Config *c) {
    const char *where = config_where(c);
    if (strnlen(c->path, sizeof c->path) == sizeof c->path)
        return basin_error(BASIN_ERR_CONFIG, NULL, NULL, "configuration path is not terminated");
    /* Single-key ranges again: a Config may also be built in code (tests, the app's defaults). */
    for (int k = 0; k < NKEYS; ++k) {
        const KeyDef *d = &keys[k];
        const void *p = cfield(c, d);
        char key[128], val[SHOW_MAX + 8], why[256] = "", shown[SHOW_MAX + 8];
        snprintf(key, sizeof key, "%s.%s", d->section, d->name);
        switch (d->type) {
        case KT_ENUM: {
            const int v = *(const int *)p;
            if (v < 0 || v >= d->nnames) snprintf(why, sizeof why, "is not a valid %s", d->name);
            break;
        }
        case KT_BOOL: {
            const int v = *(const int *)p;
            if (v != 0 && v != 1) snprintf(why, sizeof why, "must be 0 or 1");
            break;
        }
        case KT_INT:
        case KT_INT64: {
            const int64_t v = d->type == KT_INT ? *(const int *)p : *(const int64_t *)p;
            if (v < d->ilo || v > d->ihi) describe_range(d, why, sizeof why);
            break;
        }
        case KT_DOUBLE: {
            const double v = *(const double *)p;
            if (!isfinite(v))
                snprintf(why, sizeof why, "must be a finite number");
            else if (!double_in_range(d, v))
                describe_range(d, why, sizeof why);
            break;
        }
        case KT_UINT64:
            break;
        case KT_STRING:
            if (dir_problem(p, d->size, why, sizeof why) && strnlen(p, d->size) == d->size)
                return basin_error(BASIN_ERR_CONFIG, where, key, "%s", why);
            break;
        }
        if (why[0]) {
            char raw[512];
            fmt_value(c, d, raw, sizeof raw);
            snprintf(val, sizeof val, "%s", show(raw, shown, sizeof shown));
            return basin_error(BASIN_ERR_CONFIG, where, key, "%s, got %s", why, val);
        }
    }
    BCHK(validate_natoms(c, where));
    /* A quench needs a stopping rule; both may be given (then both must hold). */
    if (!(c->fmax_tol > 0.0) && !(c->fnorm_tol > 0.0))
        return basin_error(BASIN_ERR_CONFIG, where, "inherent.fmax",
                           "and inherent.fnorm are both 0: the quench would have no convergence "
                           "criterion (set one > 0)");
    /* An in-situ quench interval shorter than one step would round to zero steps. */
    if (c->is_enabled && c->is_every < c->dt) {
        char every[32], dt[32];
        fmt_double(c->is_every, every, sizeof every);
        fmt_double(c->dt, dt, sizeof dt);
        return basin_error(BASIN_ERR_CONFIG, where, "inherent.every",
                           "must be >= md.dt = %s (at most one quench per step), got '%s'", dt,
                           every);
    }
    return 0;
}

/* snprintf into buf at *used, counting what the full text needs even when buf is full. */
__attribute__((format(printf, 4, 5))) static void put(char *buf, int n, int *used, const char *fmt,
                                                      ...) {
    va_list ap;
    va_start(ap, fmt);
    const int room = *used < n ? n - *used : 0;
    const int m = vsnprintf(room ? buf + *used : NULL, (size_t)room, fmt, ap);
    va_end(ap);
    if (m > 0) *used += m;
}

int config_dump(const Config *c, char *buf, int n) {
    if (!buf) n = 0;
    if (n > 0) buf[0] = '\0';
    int used = 0;
    put(buf, n, &used,
        "; basin configuration: every key with its resolved value "
        "(docs/usage.md describes them)\n");
    const char *section = "";
    for (int k = 0; k < NKEYS; ++k) {
        const KeyDef *d = &keys[k];
        if (strcmp(section, d->section)) {
            put(buf, n, &used, "%s[%s]\n", *section ? "\n" : "", d->section);
            section = d->section;
        }
        char val[4200];
        fmt_value(c, d, val, sizeof val);
        put(buf, n, &used, "%s = %s\n", d->name, val);
    }
    return used;
}

/* Rank 0's side of config_load. hdr[0] = length, or -1 (errno in hdr[1], cannot open), -2
 * (errno in hdr[1], cannot read), -3 (too large), -4 (NUL byte at offset hdr[1]). */
static char *read_file(const char *path, long long hdr[2]) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        hdr[0] = -1, hdr[1] = errno;
        return NULL;
    }
    char *text = malloc(FILE_MAX_BYTES + 2);
    if (!text) {
        fclose(f);
        hdr[0] = -2, hdr[1] = ENOMEM;
        return NULL;
    }
    errno = 0;
    const size_t len = fread(text, 1, FILE_MAX_BYTES + 1, f);
    const int err = ferror(f) ? (errno ? errno : EIO) : 0;
    fclose(f);
    if (err) {
        hdr[0] = -2, hdr[1] = err;
    } else if (len > FILE_MAX_BYTES) {
        hdr[0] = -3, hdr[1] = 0;
    } else if (memchr(text, '\0', len)) {
        hdr[0] = -4, hdr[1] = (const char *)memchr(text, '\0', len) - text;
    } else {
        text[len] = '\0';
        hdr[0] = (long long)len, hdr[1] = 0;
        return text;
    }
    free(text);
    return NULL;
}

int config_load(const char *path, Config *c) {
    config_defaults(c);
    if (!path || !*path)
        return basin_error(BASIN_ERR_CONFIG, NULL, NULL, "no configuration file name given");
    if (strlen(path) >= sizeof c->path)
        return basin_error(BASIN_ERR_CONFIG, NULL, NULL,
                           "configuration file name is longer than %zu characters: '%.60s...'",
                           sizeof c->path - 1, path);

    /* Without MPI (a serial tool or test) this rank is the reader. */
    int initialized = 0, finalized = 0, rank = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    const int parallel = initialized && !finalized;
    MPI_Comm comm = parallel ? par_comm() : MPI_COMM_NULL;
    if (parallel) MPI_Comm_rank(comm, &rank);

    long long hdr[2] = {0, 0};
    char *text = rank == 0 ? read_file(path, hdr) : NULL;
    if (parallel && MPI_Bcast(hdr, 2, MPI_LONG_LONG, 0, comm) != MPI_SUCCESS) {
        free(text);
        return basin_error(BASIN_ERR_MPI, path, NULL, "broadcast of the file header failed");
    }
    /* Every rank builds the message from the broadcast errno, so all report the same line. */
    switch (hdr[0]) {
    case -1:
        return basin_error(BASIN_ERR_IO, path, NULL, "cannot open: %s", strerror((int)hdr[1]));
    case -2:
        return basin_error(BASIN_ERR_IO, path, NULL, "cannot read: %s", strerror((int)hdr[1]));
    case -3:
        return basin_error(BASIN_ERR_IO, path, NULL,
                           "larger than %d bytes: not a basin configuration file", FILE_MAX_BYTES);
    case -4:
        return basin_error(BASIN_ERR_IO, path, NULL,
                           "contains a NUL byte at offset %lld: not a text configuration file",
                           hdr[1]);
    default:
        break;
    }
    if (rank != 0) {
        text = malloc((size_t)hdr[0] + 1);
        /* Leaving the broadcast now would block rank 0; a 1 MiB allocation failing means the
         * node is out of memory, so stop the job. */
        if (!text)
            basin_abort_local(BASIN_ERR_NOMEM, "%s: cannot allocate %lld bytes", path, hdr[0]);
    }
    if (parallel && MPI_Bcast(text, (int)hdr[0], MPI_CHAR, 0, comm) != MPI_SUCCESS) {
        free(text);
        return basin_error(BASIN_ERR_MPI, path, NULL, "broadcast of the file text failed");
    }
    text[hdr[0]] = '\0';
    const int rc = config_parse_string(text, path, c);
    free(text);
    BCHK(rc);
    return 0;
}
