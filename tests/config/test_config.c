/* config: defaults, a full file, the dump -> parse round trip, every kind of bad input with its
 * exact one-line message, the cross-key rules against an independent formula, and the
 * collective config_load (rank 0 reads, every rank reports the same result). */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basin/config.h"
#include "basin/model.h"
#include "basin/util.h"
#include "testutil.h"

/* The three required keys: the smallest file that parses. Lines 1-5; cases append from line 6,
 * which is still in [md]. */
#define BASE "[system]\nkind = glass\nnatoms = 500\n[md]\ntemperature = 0.01\n"

static void test_defaults(void) {
    Config c;
    memset(&c, 0xab, sizeof c);
    config_defaults(&c);
    TCHECK(c.path[0] == '\0', "path '%s'", c.path);
    TCHECK(c.kind == MODEL_GLASS, "kind %d", c.kind);
    TCHECK(c.natoms == 500, "natoms %lld", (long long)c.natoms);
    TCHECK(c.density == 1.015, "density %.17g", c.density);
    TCHECK(c.seed == 1, "seed");
    TCHECK(c.overlap == 0.8, "overlap %.17g", c.overlap);
    TCHECK(c.dt == 5e-3, "dt");
    TCHECK(c.skin == 0.3, "skin");
    TCHECK(c.temperature == 0.01, "temperature");
    TCHECK(c.t_liquid == 1.0, "t_liquid");
    TCHECK(c.liquid_steps == 20000 && c.equil_steps == 20000 && c.nve_steps == 20000, "steps");
    TCHECK(c.thermostat == THERMOSTAT_NHC, "thermostat");
    TCHECK(c.nhc_chain == 3, "chain");
    TCHECK(c.tdamp == 0.5, "tdamp");
    TCHECK(!strcmp(c.dir, "."), "dir '%s'", c.dir);
    TCHECK(c.thermo_every == 100 && c.traj_every == 1000, "output intervals");
    TCHECK(c.write_velocities == 1, "velocities");
    TCHECK(c.checkpoint_every == 10000, "checkpoint_every");
    TCHECK(c.is_enabled == 0, "inherent.enabled");
    TCHECK(c.is_every == 0.1, "inherent.every");
    TCHECK(c.minimizer == MIN_FIRE, "minimizer");
    TCHECK(c.fmax_tol == 1e-9, "fmax");
    TCHECK(c.fnorm_tol == 0.0, "fnorm");
    TCHECK(c.is_finish == IS_FINISH_NEWTON, "finish");
    TCHECK(c.is_predict == 1, "predict");
    TCHECK(c.is_verify == IS_VERIFY_NONE, "verify");
    TCHECK(c.event_threshold == 1e-2, "event_threshold");
    TCHECK(c.max_iter == 100000, "max_iter");
    TOK(config_validate(&c));
    TCHECK(!strcmp(config_kind_name(MODEL_CRYSTAL), "crystal"), "kind name");
    TCHECK(!strcmp(config_thermostat_name(THERMOSTAT_NONE), "none"), "thermostat name");
    TCHECK(!strcmp(config_minimizer_name(MIN_FIRE_BITZEK), "fire-bitzek"), "minimizer name");
    TCHECK(!strcmp(config_minimizer_name((MinimizerKind)7), "?"), "bad minimizer name");

    /* The required keys alone give the defaults for everything else. */
    Config d;
    TOK(config_parse_string(BASE, "min.ini", &d));
    strcpy(c.path, "min.ini");
    TCHECK(!memcmp(&c, &d, sizeof c), "required keys + defaults differ from config_defaults");
}

/* Every key, none at its default, written with the liberties an INI writer may take: comments,
 * indentation, inline comments, ':' as separator, yes/no booleans, CRLF line ends, a BOM. */
static const char *full_file = "\xEF\xBB\xBF; a full basin configuration\r\n"
                               "# both comment characters\r\n"
                               "[system]\r\n"
                               "kind = crystal\r\n"
                               "  natoms = 2048   ; 4 * 8^3\r\n"
                               "density = 1.1\r\n"
                               "seed = 18446744073709551615\r\n"
                               "overlap_min = 1.2\r\n"
                               "\r\n"
                               "[md]\r\n"
                               "\tdt = 2.5e-3\r\n"
                               "skin = 0\r\n"
                               "temperature = 0.25\r\n"
                               "t_liquid = 2\r\n"
                               "liquid_steps = 0\r\n"
                               "equil_steps = 12345\r\n"
                               "nve_steps = +678\r\n"
                               "[thermostat]\r\n"
                               "kind = none\r\n"
                               "chain = 10\r\n"
                               "tdamp: 1.25\r\n"
                               "[output]\r\n"
                               "dir = /scratch/run 1/a;b#c\r\n"
                               "thermo_every = 1\r\n"
                               "traj_every = 0\r\n"
                               "velocities = no\r\n"
                               "checkpoint_every = 0\r\n"
                               "[inherent]\r\n"
                               "enabled = yes\r\n"
                               "every = 0.0025\r\n"
                               "minimizer = sd\r\n"
                               "fmax = 1e-12\r\n"
                               "event_threshold = 0.05\r\n"
                               "max_iter = 1\r\n";

static void check_full(const Config *c) {
    TCHECK(c->kind == MODEL_CRYSTAL, "kind");
    TCHECK(c->natoms == 2048, "natoms");
    TCHECK(c->density == 1.1, "density");
    TCHECK(c->seed == UINT64_MAX, "seed");
    TCHECK(c->overlap == 1.2, "overlap");
    TCHECK(c->dt == 2.5e-3, "dt");
    TCHECK(c->skin == 0.0, "skin");
    TCHECK(c->temperature == 0.25, "temperature");
    TCHECK(c->t_liquid == 2.0, "t_liquid");
    TCHECK(c->liquid_steps == 0 && c->equil_steps == 12345 && c->nve_steps == 678, "steps");
    TCHECK(c->thermostat == THERMOSTAT_NONE, "thermostat");
    TCHECK(c->nhc_chain == 10, "chain");
    TCHECK(c->tdamp == 1.25, "tdamp");
    TCHECK(!strcmp(c->dir, "/scratch/run 1/a;b#c"), "dir '%s'", c->dir);
    TCHECK(c->thermo_every == 1 && c->traj_every == 0 && c->checkpoint_every == 0, "intervals");
    TCHECK(c->write_velocities == 0, "velocities");
    TCHECK(c->is_enabled == 1, "enabled");
    TCHECK(c->is_every == 0.0025, "every");
    TCHECK(c->minimizer == MIN_SD, "minimizer");
    TCHECK(c->fmax_tol == 1e-12, "fmax");
    TCHECK(c->event_threshold == 0.05, "event_threshold");
    TCHECK(c->max_iter == 1, "max_iter");
}

static void test_full_file(void) {
    Config c;
    TOK(config_parse_string(full_file, "full.ini", &c));
    TCHECK(!strcmp(c.path, "full.ini"), "path '%s'", c.path);
    check_full(&c);
}

/* dump -> parse gives the identical struct (bitwise: doubles are printed exactly). */
static void round_trip(const Config *c, const char *label) {
    const int need = config_dump(c, NULL, 0);
    char *buf = malloc((size_t)need + 1);
    TCHECK(buf != NULL, "malloc");
    if (!buf) return;
    TCHECK(config_dump(c, buf, need + 1) == need, "%s: dump length", label);
    TCHECK((int)strlen(buf) == need, "%s: strlen %zu != %d", label, strlen(buf), need);
    Config back;
    TOK(config_parse_string(buf, c->path, &back));
    TCHECK(!memcmp(c, &back, sizeof *c), "%s: round trip differs; dump was:\n%s", label, buf);
    free(buf);
}

static void test_round_trip(void) {
    Config c;
    config_defaults(&c);
    round_trip(&c, "defaults");
    TOK(config_parse_string(full_file, "full.ini", &c));
    round_trip(&c, "full file");

    /* Doubles that %.15g would not reproduce, extremes of every integer type. */
    config_defaults(&c);
    strcpy(c.path, "awkward.ini");
    c.density = 1.0 / 3.0;
    c.overlap = nextafter(1.2, 0.0);
    c.dt = 0.1 + 0.2;
    c.skin = DBL_TRUE_MIN;
    c.temperature = nextafter(1.0, 2.0);
    c.t_liquid = DBL_MAX;
    c.tdamp = 1e-300;
    c.seed = 0;
    c.nve_steps = INT64_MAX;
    c.max_iter = INT64_MAX;
    c.thermostat = THERMOSTAT_NONE;
    c.minimizer = MIN_FIRE_BITZEK;
    c.is_enabled = 1;
    c.is_every = 0.5;
    c.fmax_tol = 4.9406564584124654e-324;
    snprintf(c.dir, sizeof c.dir, "out/%0*d", 187, 7); /* 191 characters: the longest allowed */
    TOK(config_validate(&c));
    round_trip(&c, "awkward");

    /* snprintf semantics of config_dump. */
    config_defaults(&c);
    const int need = config_dump(&c, NULL, 0);
    char small[10];
    memset(small, 'x', sizeof small);
    TCHECK(config_dump(&c, small, sizeof small) == need, "truncated dump returns the full length");
    TCHECK(small[9] == '\0' && strlen(small) == 9, "truncated dump is terminated");
    char *full = malloc((size_t)need + 1);
    config_dump(&c, full, need + 1);
    TCHECK(strstr(full, "\n[system]\nkind = glass\nnatoms = 500\ndensity = 1.015\n") != NULL,
           "dump shows defaults readably:\n%s", full);
    TCHECK(strstr(full, "fmax = 1e-09\n") && strstr(full, "velocities = true\n") &&
               strstr(full, "dir = .\n") && strstr(full, "minimizer = fire\n"),
           "dump formats:\n%s", full);
    free(full);
}

typedef struct BadCase {
    const char *text;
    const char *message; /* exact basin_error_message() */
} BadCase;

static void check_bad(const char *text, const char *message, int line) {
    Config c;
    basin_error_clear();
    const int rc = config_parse_string(text, "bad.ini", &c);
    TCHECK(rc == BASIN_ERR_CONFIG, "case at line %d: rc %d, message '%s'", line, rc,
           basin_error_message());
    TCHECK(!strcmp(basin_error_message(), message), "case at line %d:\n  got  '%s'\n  want '%s'",
           line, basin_error_message(), message);
}
#define BAD(text, msg) check_bad(text, msg, __LINE__)

static void test_bad_keys_and_syntax(void) {
    BAD(BASE "[sytem]\nseed = 3\n",
        "bad.ini:sytem.seed: unknown section [sytem] (did you mean [system]?); sections are "
        "system, md, thermostat, output, inherent, got '3'");
    BAD(BASE "[thermo]\n",
        "bad.ini:thermo: unknown section [thermo]; sections are system, md, thermostat, output, "
        "inherent");
    BAD("[Output]\n" BASE,
        "bad.ini:Output: unknown section [Output] (did you mean [output]?); sections are system, "
        "md, thermostat, output, inherent");
    BAD(BASE "temprature = 0.5\n",
        "bad.ini:md.temprature: unknown key (did you mean md.temperature?), got '0.5'");
    BAD(BASE "frobnicate = 1\n",
        "bad.ini:md.frobnicate: unknown key; [md] has dt, skin, temperature, t_liquid, "
        "liquid_steps, equil_steps, nve_steps, got '1'");
    BAD(BASE "seed = 4\n", "bad.ini:md.seed: unknown key (did you mean system.seed?), got '4'");
    BAD("natoms = 5\n" BASE, "bad.ini:natoms: key outside any [section], got '5'");
    BAD(BASE "temperature = 0.02\n",
        "bad.ini:md.temperature: duplicate key (already set to '0.01'), got '0.02'");
    BAD(BASE "natoms 500\n",
        "bad.ini:line 6: syntax error: expected '[section]', 'key = value' or a comment, got "
        "'natoms 500'");
    BAD(BASE "= 5\n", "bad.ini:line 6: syntax error: no key name before '=', got '5'");
    BAD("[system\n" BASE,
        "bad.ini:line 1: syntax error: expected '[section]', 'key = value' or a comment, got "
        "'[system'");
    /* A 300-character line would be cut by libinih's 200-byte buffer; it is refused instead. */
    {
        char text[600];
        snprintf(text, sizeof text, "%sdt = 0.%0300d\n", BASE, 1);
        char want[300];
        snprintf(want, sizeof want,
                 "bad.ini:line 6: line is longer than 197 characters (the limit of the INI "
                 "parser), got 'dt = 0.%053d...'",
                 0);
        BAD(text, want);
    }
    /* The first error in the file wins, whichever pass finds it. */
    BAD("[system]\nkind = glas\nnatoms 500\n",
        "bad.ini:system.kind: must be one of glass, crystal, got 'glas'");
    BAD("[system]\nnatoms 500\nkind = glas\n",
        "bad.ini:line 2: syntax error: expected '[section]', 'key = value' or a comment, got "
        "'natoms 500'");
    BAD("[system]\nkind = glas\n[nope]\n",
        "bad.ini:system.kind: must be one of glass, crystal, got 'glas'");
    BAD("[nope]\n[system]\nkind = glas\n",
        "bad.ini:nope: unknown section [nope]; sections are system, md, thermostat, output, "
        "inherent");
}

static void test_bad_values(void) {
    BAD(BASE "dt = abc\n", "bad.ini:md.dt: must be a number, got 'abc'");
    BAD(BASE "dt = 1,5\n", "bad.ini:md.dt: must be a number, got '1,5'");
    BAD(BASE "dt =\n", "bad.ini:md.dt: must be a number, got ''");
    BAD(BASE "dt = inf\n", "bad.ini:md.dt: must be a finite number, got 'inf'");
    BAD(BASE "dt = nan\n", "bad.ini:md.dt: must be a finite number, got 'nan'");
    BAD(BASE "dt = 1e999\n", "bad.ini:md.dt: must be a finite number, got '1e999'");
    BAD(BASE "dt = -1\n", "bad.ini:md.dt: must be > 0, got '-1'");
    BAD(BASE "dt = 0\n", "bad.ini:md.dt: must be > 0, got '0'");
    BAD(BASE "skin = -0.1\n", "bad.ini:md.skin: must be >= 0, got '-0.1'");
    BAD(BASE "nve_steps = 1.5\n", "bad.ini:md.nve_steps: must be an integer, got '1.5'");
    BAD(BASE "nve_steps = 1e6\n", "bad.ini:md.nve_steps: must be an integer, got '1e6'");
    BAD(BASE "nve_steps = -1\n", "bad.ini:md.nve_steps: must be >= 0, got '-1'");
    BAD(BASE "nve_steps = 99999999999999999999\n",
        "bad.ini:md.nve_steps: must be >= 0, got '99999999999999999999'");
    BAD(BASE "[output]\nvelocities = maybe\n",
        "bad.ini:output.velocities: must be one of true, false, yes, no, 1, 0, got 'maybe'");
    BAD(BASE "[output]\nvelocities = True\n",
        "bad.ini:output.velocities: must be one of true, false, yes, no, 1, 0, got 'True'");
    BAD(BASE "[output]\nthermo_every = 0\n", "bad.ini:output.thermo_every: must be >= 1, got '0'");
    BAD(BASE "[output]\ndir =\n", "bad.ini:output.dir: must not be empty, got ''");
    {
        char text[400];
        snprintf(text, sizeof text, "%s[output]\ndir=%0192d\n", BASE, 0);
        char want[600];
        snprintf(want, sizeof want,
                 "bad.ini:output.dir: is longer than 191 characters (the longest that fits one "
                 "INI line when basin writes the configuration back), got '%060d...'",
                 0);
        BAD(text, want);
    }
    BAD("[system]\nkind = liquid\nnatoms = 500\n[md]\ntemperature = 1\n",
        "bad.ini:system.kind: must be one of glass, crystal, got 'liquid'");
    BAD(BASE "[thermostat]\nkind = berendsen\n",
        "bad.ini:thermostat.kind: must be one of nhc, none, got 'berendsen'");
    BAD(BASE "[thermostat]\nchain = 11\n",
        "bad.ini:thermostat.chain: must be in [1, 10], got '11'");
    BAD(BASE "[inherent]\nminimizer = cg\n", "bad.ini:inherent.minimizer: must be one of fire, "
                                             "fire-bitzek, sd, lbfgs, sd-rkc, got 'cg'");
    BAD(BASE "[inherent]\nverify = lbfgs\n",
        "bad.ini:inherent.verify: must be one of none, sd, sd-rkc, got 'lbfgs'");
    BAD(BASE "[inherent]\nfinish = cg\n",
        "bad.ini:inherent.finish: must be one of newton, none, got 'cg'");
    BAD(BASE "[inherent]\nfnorm = -1e-10\n", "bad.ini:inherent.fnorm: must be >= 0, got '-1e-10'");
    BAD(BASE "[inherent]\nfmax = 0\n",
        "bad.ini:inherent.fmax: and inherent.fnorm are both 0: the quench would have no "
        "convergence criterion (set one > 0)");
    {
        /* the 2-norm criterion alone, no Newton stage, no prediction */
        Config g;
        TOK(config_parse_string(BASE "[inherent]\nfmax = 0\nfnorm = 1e-10\nfinish = none\n"
                                     "predict = false\nverify = sd-rkc\n",
                                "ok.ini", &g));
        TCHECK(g.fmax_tol == 0.0 && g.fnorm_tol == 1e-10, "fmax %g fnorm %g", g.fmax_tol,
               g.fnorm_tol);
        TCHECK(g.is_finish == IS_FINISH_NONE && g.is_predict == 0, "finish %d predict %d",
               (int)g.is_finish, g.is_predict);
        TCHECK(g.is_verify == IS_VERIFY_RKC, "verify %d", (int)g.is_verify);
    }
    BAD(BASE "[system]\noverlap_min = 1.5\n",
        "bad.ini:system.overlap_min: must be in (0, 1.2], got '1.5'");
    BAD(BASE "[system]\nseed = -1\n",
        "bad.ini:system.seed: must be an integer in [0, 18446744073709551615], got '-1'");
    BAD(BASE "[system]\nseed = 18446744073709551616\n",
        "bad.ini:system.seed: must be <= 18446744073709551615, got '18446744073709551616'");
    BAD("[system]\nkind = glass\nnatoms = 1\n[md]\ntemperature = 1\n",
        "bad.ini:system.natoms: must be in [2, 1000000000000], got '1'");
}

static void test_missing_required(void) {
    BAD("", "bad.ini:system.kind: required key is missing");
    BAD("[system]\nkind = glass\n[md]\ntemperature = 1\n",
        "bad.ini:system.natoms: required key is missing");
    BAD("[system]\nkind = glass\nnatoms = 500\n",
        "bad.ini:md.temperature: required key is missing");
}

static void test_cross_key(void) {
    BAD("[system]\nkind = crystal\nnatoms = 300\n[md]\ntemperature = 0.1\n",
        "bad.ini:system.natoms: must be 4 k^3 for the FCC crystal; the nearest valid sizes are "
        "256 and 500, got '300'");
    BAD("[system]\nkind = crystal\nnatoms = 108\n[md]\ntemperature = 0.1\n",
        "bad.ini:system.natoms: box edge L = (natoms/density)^(1/3) = 4.7386 must exceed 2 r_c = "
        "5 for the minimum image; the smallest valid natoms for a crystal at density 1.015 is "
        "256, got '108'");
    BAD("[system]\nkind = glass\nnatoms = 501\n[md]\ntemperature = 0.1\n",
        "bad.ini:system.natoms: must be even for the 50:50 glass; the nearest valid sizes are 500 "
        "and 502, got '501'");
    BAD("[system]\nkind = glass\nnatoms = 196\n[md]\ntemperature = 0.1\n",
        "bad.ini:system.natoms: box edge L = (natoms/density)^(1/3) = 5.78 must exceed 2 r_c = "
        "5.7935 for the minimum image; the smallest valid natoms for a glass at density 1.015 is "
        "198, got '196'");
    BAD("[system]\nkind = glass\nnatoms = 500\ndensity = 1e10\n[md]\ntemperature = 0.1\n",
        "bad.ini:system.density: too high: no natoms up to 1000000000000 gives a box edge larger "
        "than 2 r_c = 5.7935, got '10000000000'");
    BAD(BASE "dt = 0.01\n[inherent]\nenabled = true\nevery = 0.005\n",
        "bad.ini:inherent.every: must be >= md.dt = 0.01 (at most one quench per step), got "
        "'0.005'");
    /* Switched off, the interval is not checked against dt. */
    Config c;
    TOK(config_parse_string(BASE "dt = 0.01\n[inherent]\nevery = 0.005\n", "ok.ini", &c));

    /* Accepted sizes = even (glass) or 4 k^3 (crystal) with L = (N/rho)^(1/3) > 2 rc_max, for
     * rc_max from the model (documented: 2.5 sigma_22 ~ 2.8968 for the glass, 2.5 crystal). */
    const double rho[3] = {0.5, 1.015, 1.3};
    for (int kind = 0; kind < 2; ++kind) {
        Model m;
        model_init(&m, (ModelKind)kind);
        TCLOSE(m.rc_max, kind == MODEL_GLASS ? 2.8968 : 2.5, 0, 1e-4);
        for (int r = 0; r < 3; ++r) {
            int mismatches = 0, nvalid = 0;
            for (int64_t n = 2; n <= 3000; ++n) {
                config_defaults(&c);
                c.kind = (ModelKind)kind;
                c.natoms = n;
                c.density = rho[r];
                int64_t k = 1;
                while (4 * k * k * k < n)
                    ++k;
                const int shape = kind == MODEL_GLASS ? n % 2 == 0 : 4 * k * k * k == n;
                const int want = shape && cbrt((double)n / rho[r]) > 2.0 * m.rc_max;
                const int got = config_validate(&c) == 0;
                mismatches += want != got;
                nvalid += got;
            }
            TCHECK(mismatches == 0 && nvalid > 0, "kind %d density %g: %d mismatches", kind, rho[r],
                   mismatches);
        }
    }
}

/* Configs built in code go through the same range checks. */
static void test_validate_programmatic(void) {
    Config c;
    config_defaults(&c);
    c.nhc_chain = 0;
    TCHECK(config_validate(&c) == BASIN_ERR_CONFIG &&
               !strcmp(basin_error_message(),
                       "built-in configuration:thermostat.chain: must be in [1, 10], got '0'"),
           "%s", basin_error_message());
    config_defaults(&c);
    c.density = NAN;
    TCHECK(config_validate(&c) == BASIN_ERR_CONFIG &&
               !strcmp(basin_error_message(),
                       "built-in configuration:system.density: must be a finite number, got "
                       "'nan'"),
           "%s", basin_error_message());
    config_defaults(&c);
    c.is_enabled = 2;
    TCHECK(config_validate(&c) == BASIN_ERR_CONFIG &&
               !strcmp(basin_error_message(),
                       "built-in configuration:inherent.enabled: must be 0 or 1, got 'true'"),
           "%s", basin_error_message());
    config_defaults(&c);
    c.minimizer = (MinimizerKind)(MIN_RKC + 1);
    TCHECK(config_validate(&c) == BASIN_ERR_CONFIG &&
               !strcmp(basin_error_message(),
                       "built-in configuration:inherent.minimizer: is not a valid minimizer, got "
                       "'?'"),
           "%s", basin_error_message());
    /* output.dir values that would not read back from the dump. */
    const char *bad_dirs[][2] = {
        {"a\nb", "must not contain control characters"},
        {" lead", "must not start or end with white space"},
        {"a ;b", "must not contain ';' at its start or after white space (an INI comment)"},
        {";a", "must not contain ';' at its start or after white space (an INI comment)"},
        {"", "must not be empty"},
    };
    for (size_t i = 0; i < sizeof bad_dirs / sizeof bad_dirs[0]; ++i) {
        config_defaults(&c);
        strcpy(c.path, "x.ini");
        strcpy(c.dir, bad_dirs[i][0]);
        const int rc = config_validate(&c);
        TCHECK(rc == BASIN_ERR_CONFIG && strstr(basin_error_message(), bad_dirs[i][1]) &&
                   !strncmp(basin_error_message(), "x.ini:output.dir: ", 18),
               "dir '%s': %s", bad_dirs[i][0], basin_error_message());
    }
    config_defaults(&c);
    memset(c.dir, 'a', sizeof c.dir - 1);
    TCHECK(config_validate(&c) == BASIN_ERR_CONFIG &&
               strstr(basin_error_message(), "is longer than 191 characters"),
           "%s", basin_error_message());
    memset(c.dir, 'a', sizeof c.dir); /* no terminator at all */
    TCHECK(
        config_validate(&c) == BASIN_ERR_CONFIG &&
            !strcmp(basin_error_message(), "built-in configuration:output.dir: is not terminated"),
        "%s", basin_error_message());
}

/* Rank 0's message, for checking that every rank reports the same line. */
static int same_on_all_ranks(const char *msg) {
    char root[1024];
    snprintf(root, sizeof root, "%s", msg);
    MPI_Bcast(root, sizeof root, MPI_CHAR, 0, MPI_COMM_WORLD);
    int same = !strcmp(root, msg), all = 0;
    MPI_Allreduce(&same, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    return all;
}

static void write_file(const char *path, const char *text, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(text, 1, len, f);
    fclose(f);
}

static void test_load(void) {
    /* Rank 0 alone creates the files: config_load must not need them on other ranks' disks. */
    char dir[256] = "";
    if (par_rank() == 0) {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/basin_config_XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(dir)) dir[0] = '\0';
    }
    MPI_Bcast(dir, sizeof dir, MPI_CHAR, 0, MPI_COMM_WORLD);
    TCHECK(dir[0] != '\0', "mkdtemp failed");
    if (!dir[0]) return;
    char good[300], bad[300], nul[300], big[300], missing[300];
    snprintf(good, sizeof good, "%s/good.ini", dir);
    snprintf(bad, sizeof bad, "%s/bad.ini", dir);
    snprintf(nul, sizeof nul, "%s/nul.ini", dir);
    snprintf(big, sizeof big, "%s/big.ini", dir);
    snprintf(missing, sizeof missing, "%s/missing.ini", dir);
    if (par_rank() == 0) {
        write_file(good, full_file, strlen(full_file));
        const char *b = BASE "dt = -2\n";
        write_file(bad, b, strlen(b));
        write_file(nul, "[sy\0stem]\n", 10);
        const size_t n = (1u << 20) + 1;
        char *blob = malloc(n);
        if (blob) {
            memset(blob, ';', n);
            write_file(big, blob, n);
            free(blob);
        }
    }
    MPI_Barrier(MPI_COMM_WORLD);

    Config c, ref;
    TOK(config_load(good, &c));
    check_full(&c);
    TOK(config_parse_string(full_file, good, &ref));
    TCHECK(!memcmp(&c, &ref, sizeof c), "config_load differs from config_parse_string");

    char want[1200];
    struct {
        const char *path;
        int code;
        const char *what;
    } cases[] = {
        {bad, BASIN_ERR_CONFIG, ":md.dt: must be > 0, got '-2'"},
        {missing, BASIN_ERR_IO, ": cannot open: No such file or directory"},
        {dir, BASIN_ERR_IO, ": cannot read: Is a directory"},
        {nul, BASIN_ERR_IO, ": contains a NUL byte at offset 3: not a text configuration file"},
        {big, BASIN_ERR_IO, ": larger than 1048576 bytes: not a basin configuration file"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        basin_error_clear();
        const int rc = config_load(cases[i].path, &c);
        snprintf(want, sizeof want, "%s%s", cases[i].path, cases[i].what);
        TCHECK(rc == cases[i].code, "%s: rc %d", cases[i].path, rc);
        TCHECK(!strcmp(basin_error_message(), want), "got '%s', want '%s'", basin_error_message(),
               want);
        TCHECK(same_on_all_ranks(basin_error_message()), "ranks disagree on '%s'",
               basin_error_message());
    }
    TCHECK(config_load("", &c) == BASIN_ERR_CONFIG, "empty file name");

    MPI_Barrier(MPI_COMM_WORLD);
    if (par_rank() == 0) {
        unlink(good), unlink(bad), unlink(nul), unlink(big);
        rmdir(dir);
    }
}

int main(int argc, char **argv) {
    tu_init(&argc, &argv);
    test_defaults();
    test_full_file();
    test_round_trip();
    test_bad_keys_and_syntax();
    test_bad_values();
    test_missing_required();
    test_cross_key();
    test_validate_programmatic();
    test_load();
    return tu_finish();
}
