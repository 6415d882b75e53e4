/* LAMMPS data files (atomic style): see include/basin/lammps_data.h for the format and the
 * mapping to basin's ids, species and image counters.
 *
 * Only rank 0 touches the file system: a parallel file system serves one reader better than P
 * readers of the same small text file, and a single parser gives every rank the same error
 * message. The reader therefore parses on rank 0, agrees on the status with
 * basin_error_agree() and then broadcasts the arrays (O(N) per rank, as the builders).
 *
 * The parser follows the LAMMPS read_data conventions that matter for files written by
 * LAMMPS's write_data and by basin: the first line is a title; header lines carry a number
 * first and keywords after it; a section starts with a keyword line ("Atoms # atomic"); '#'
 * starts a comment everywhere. It is stricter than LAMMPS where a silent acceptance could
 * change the physics (box shape, masses, ids, counts).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <mpi.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basin/lammps_data.h"
#include "basin/model.h"
#include "basin/util.h"
#include "text_priv.h"
#include "../util/parallel.h"

/* Relative tolerance on box edges: LAMMPS writes 17 significant digits, so files it writes
 * for a cubic box have exactly equal edges; the slack only admits hand-made files whose
 * three edges were computed separately. */
static const double BOX_RTOL = 1e-12;

typedef struct Parser {
    IoLines l;        /* path, file, current line and its tokens */
    char comment[64]; /* text after '#' of the current line, trimmed (section styles) */
    int pushed_back;  /* the current line is to be returned again by next_line() */
} Parser;

static int perr(const Parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The error line "<file>:line N: <what>" (line 0 = the file as a whole). */
static int perr(const Parser *p, const char *fmt, ...) {
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return io_line_error(p->l.path, p->l.line, "%s", what);
}

/* Split the current line into tokens, dropping the comment (kept in p->comment). */
static void tokenize(Parser *p) {
    p->l.ntok = 0;
    p->comment[0] = '\0';
    char *hash = strchr(p->l.buf, '#');
    if (hash) {
        *hash = '\0';
        char *c = hash + 1;
        while (isspace((unsigned char)*c))
            ++c;
        snprintf(p->comment, sizeof p->comment, "%s", c);
        size_t k = strlen(p->comment);
        while (k > 0 && isspace((unsigned char)p->comment[k - 1]))
            p->comment[--k] = '\0';
    }
    io_tokenize(&p->l, p->l.buf, " \t\r\n\f\v");
}

/* Next line that has tokens (blank and comment-only lines are skipped). Returns 1 with the
 * tokens in p, 0 at end of file, or a negative error code on a read error. */
static int next_line(Parser *p) {
    if (p->pushed_back) {
        p->pushed_back = 0;
        return 1;
    }
    for (;;) {
        const int got = io_getline(&p->l);
        if (got <= 0) return got;
        tokenize(p);
        if (p->l.ntok > 0) return 1;
    }
}

static int is_number_token(const char *s) {
    return isdigit((unsigned char)s[0]) || s[0] == '-' || s[0] == '+' || s[0] == '.';
}

/* The section keyword of the current line with single spaces ("Pair Coeffs"). */
static void section_name(const Parser *p, char *out, size_t n) {
    out[0] = '\0';
    size_t k = 0;
    for (int i = 0; i < p->l.ntok && i < IO_MAX_TOKENS; ++i)
        k += (size_t)snprintf(out + k, k < n ? n - k : 0, "%s%s", i ? " " : "", p->l.tok[i]);
}

typedef struct Header {
    int64_t n;
    int64_t ntypes;
    double lo[3], hi[3];
    int have_n, have_types, have_box[3];
} Header;

/* Header counts that describe molecular topology or extended particles: accepted when 0. */
static const char *const zero_only_keywords[] = {"bonds",
                                                 "angles",
                                                 "dihedrals",
                                                 "impropers",
                                                 "bond types",
                                                 "angle types",
                                                 "dihedral types",
                                                 "improper types",
                                                 "extra bond per atom",
                                                 "extra angle per atom",
                                                 "extra dihedral per atom",
                                                 "extra improper per atom",
                                                 "extra special per atom",
                                                 "ellipsoids",
                                                 "lines",
                                                 "triangles",
                                                 "bodies",
                                                 "crossterms"};

/* One header line: the current tokens. Returns 0 or an error. */
static int parse_header_line(Parser *p, Header *h) {
    char kw[96];
    static const char *const axes[3][2] = {{"xlo", "xhi"}, {"ylo", "yhi"}, {"zlo", "zhi"}};
    if (p->l.ntok == 4) {
        for (int a = 0; a < 3; ++a) {
            if (strcmp(p->l.tok[2], axes[a][0]) || strcmp(p->l.tok[3], axes[a][1])) continue;
            if (io_parse_double(p->l.tok[0], &h->lo[a]) || io_parse_double(p->l.tok[1], &h->hi[a]))
                return perr(p, "'%s %s' needs two finite numbers", axes[a][0], axes[a][1]);
            if (!(h->hi[a] > h->lo[a]))
                return perr(p, "empty box: %s = %.17g is not above %s = %.17g", axes[a][1],
                            h->hi[a], axes[a][0], h->lo[a]);
            h->have_box[a] = 1;
            return 0;
        }
    }
    if (p->l.ntok == 6 && !strcmp(p->l.tok[3], "xy") && !strcmp(p->l.tok[4], "xz") &&
        !strcmp(p->l.tok[5], "yz")) {
        for (int k = 0; k < 3; ++k) {
            double t;
            if (io_parse_double(p->l.tok[k], &t)) return perr(p, "tilt factors must be numbers");
            if (t != 0.0)
                return perr(p,
                            "tilted (triclinic) box (%s = %s): basin supports a cubic "
                            "periodic box only",
                            p->l.tok[3 + k], p->l.tok[k]);
        }
        return 0;
    }
    /* "<count> <keyword words>" */
    int64_t count = 0;
    if (io_parse_i64(p->l.tok[0], &count))
        return perr(p, "header line does not start with an integer count: '%s'", p->l.tok[0]);
    size_t k = 0;
    kw[0] = '\0';
    for (int i = 1; i < p->l.ntok && i < IO_MAX_TOKENS; ++i)
        k += (size_t)snprintf(kw + k, k < sizeof kw ? sizeof kw - k : 0, "%s%s", i > 1 ? " " : "",
                              p->l.tok[i]);
    if (!strcmp(kw, "atoms")) {
        if (count < 1) return perr(p, "number of atoms must be >= 1, got %lld", (long long)count);
        /* the broadcast counts are ints: 3N must fit */
        if (count > INT_MAX / 3)
            return perr(p, "%lld atoms exceed the %d this reader supports", (long long)count,
                        INT_MAX / 3);
        h->n = count;
        h->have_n = 1;
        return 0;
    }
    if (!strcmp(kw, "atom types")) {
        if (count < 1 || count > MODEL_MAX_SPECIES)
            return perr(p, "%lld atom types: basin supports 1..%d", (long long)count,
                        MODEL_MAX_SPECIES);
        h->ntypes = count;
        h->have_types = 1;
        return 0;
    }
    for (size_t i = 0; i < sizeof zero_only_keywords / sizeof zero_only_keywords[0]; ++i) {
        if (strcmp(kw, zero_only_keywords[i])) continue;
        if (count != 0)
            return perr(p, "%lld %s: basin reads atomic systems only (no molecular topology)",
                        (long long)count, kw);
        return 0;
    }
    return perr(p, "unrecognised header line '%lld %s'", (long long)count, kw);
}

static int check_header(Parser *p, Header *h, double *L) {
    if (!h->have_n) return perr(p, "header has no 'N atoms' line before the first section");
    if (!h->have_types)
        return perr(p, "header has no 'T atom types' line before the first section");
    static const char *const names[3] = {"xlo xhi", "ylo yhi", "zlo zhi"};
    for (int a = 0; a < 3; ++a)
        if (!h->have_box[a])
            return perr(p, "header has no '%s' line before the first section", names[a]);
    double e[3];
    for (int a = 0; a < 3; ++a)
        e[a] = h->hi[a] - h->lo[a];
    for (int a = 1; a < 3; ++a)
        if (fabs(e[a] - e[0]) > BOX_RTOL * e[0])
            return perr(p,
                        "box is not cubic: edges %.17g %.17g %.17g (basin supports a cubic "
                        "periodic box only)",
                        e[0], e[1], e[2]);
    *L = e[0];
    return 0;
}

/* Reads `count` body lines of a section into `row` calls; detects truncation and short or
 * long sections. `what` names an entry ("atom", "velocity", "mass"), `count_name` the header
 * quantity the count came from. */
typedef int (*RowFn)(Parser *p, void *ctx);

static int read_section_body(Parser *p, const char *section, int64_t count, const char *what,
                             const char *count_name, RowFn row, void *ctx) {
    for (int64_t k = 0; k < count; ++k) {
        int rc = next_line(p);
        if (rc < 0) return rc;
        if (rc == 0)
            return perr(p,
                        "file ends after %lld of %lld %s lines of the %s section "
                        "(truncated file?)",
                        (long long)k, (long long)count, what, section);
        if (!is_number_token(p->l.tok[0]))
            return perr(p, "%s section has %lld %s lines but the header says %lld %s", section,
                        (long long)k, what, (long long)count, count_name);
        BCHK(row(p, ctx));
    }
    /* The next line must start another section (or the file must end). */
    int rc = next_line(p);
    if (rc < 0) return rc;
    if (rc == 1) {
        if (is_number_token(p->l.tok[0]))
            return perr(p, "%s section has more than %lld %s lines (the header says %lld %s)",
                        section, (long long)count, what, (long long)count, count_name);
        p->pushed_back = 1;
    }
    return 0;
}

typedef struct ReadState {
    Header h;
    LammpsData *d;
    int64_t *atom_line; /* [n] line where each id appeared in Atoms (0: not yet) */
    int64_t *vel_line;  /* [n] same for Velocities */
    int atom_fields;    /* 5 or 8, fixed by the first Atoms line */
} ReadState;

/* Parse a 1-based id and check range/duplicates against seen[]. Returns the 0-based index. */
static int take_id(Parser *p, const ReadState *s, const char *tok, int64_t *seen,
                   const char *section, int64_t *idx) {
    int64_t id;
    if (io_parse_i64(tok, &id)) return perr(p, "atom id '%s' is not an integer", tok);
    if (id < 1 || id > s->h.n)
        return perr(p, "atom id %lld outside 1..%lld (basin needs ids 1..N)", (long long)id,
                    (long long)s->h.n);
    if (seen[id - 1])
        return perr(p, "duplicate atom id %lld in the %s section (first on line %lld)",
                    (long long)id, section, (long long)seen[id - 1]);
    seen[id - 1] = p->l.line;
    *idx = id - 1;
    return 0;
}

static int row_atom(Parser *p, void *ctx) {
    ReadState *s = ctx;
    if (p->l.ntok != 5 && p->l.ntok != 8)
        return perr(p,
                    "Atoms line has %d fields, expected 5 (id type x y z) or 8 (id type x y "
                    "z ix iy iz)",
                    p->l.ntok > IO_MAX_TOKENS ? IO_MAX_TOKENS : p->l.ntok);
    if (s->atom_fields == 0) s->atom_fields = p->l.ntok;
    if (p->l.ntok != s->atom_fields)
        return perr(p,
                    "Atoms line has %d fields but earlier lines have %d (image flags on "
                    "some atoms only)",
                    p->l.ntok, s->atom_fields);
    int64_t i;
    BCHK(take_id(p, s, p->l.tok[0], s->atom_line, "Atoms", &i));
    int64_t type;
    if (io_parse_i64(p->l.tok[1], &type))
        return perr(p, "atom type '%s' is not an integer", p->l.tok[1]);
    if (type < 1 || type > s->h.ntypes)
        return perr(p, "atom type %lld outside 1..%lld (the header's atom types)", (long long)type,
                    (long long)s->h.ntypes);
    s->d->species[i] = (int)(type - 1);
    for (int k = 0; k < 3; ++k) {
        double x;
        if (io_parse_double(p->l.tok[2 + k], &x))
            return perr(p, "coordinate '%s' is not a finite number", p->l.tok[2 + k]);
        s->d->x[3 * i + k] = x - s->h.lo[k];
    }
    if (p->l.ntok == 8) {
        for (int k = 0; k < 3; ++k) {
            int64_t im;
            if (io_parse_i64(p->l.tok[5 + k], &im) || im < INT32_MIN || im > INT32_MAX)
                return perr(p, "image flag '%s' is not a 32-bit integer", p->l.tok[5 + k]);
            s->d->image[3 * i + k] = (int32_t)im;
        }
    }
    return 0;
}

static int row_velocity(Parser *p, void *ctx) {
    ReadState *s = ctx;
    if (p->l.ntok != 4)
        return perr(p, "Velocities line has %d fields, expected 4 (id vx vy vz)",
                    p->l.ntok > IO_MAX_TOKENS ? IO_MAX_TOKENS : p->l.ntok);
    int64_t i;
    BCHK(take_id(p, s, p->l.tok[0], s->vel_line, "Velocities", &i));
    for (int k = 0; k < 3; ++k) {
        double v;
        if (io_parse_double(p->l.tok[1 + k], &v))
            return perr(p, "velocity '%s' is not a finite number", p->l.tok[1 + k]);
        s->d->v[3 * i + k] = v;
    }
    return 0;
}

static int row_mass(Parser *p, void *ctx) {
    ReadState *s = ctx;
    if (p->l.ntok != 2)
        return perr(p, "Masses line has %d fields, expected 2 (type mass)", p->l.ntok);
    int64_t type;
    double m;
    if (io_parse_i64(p->l.tok[0], &type) || type < 1 || type > s->h.ntypes)
        return perr(p, "mass given for type '%s', outside 1..%lld", p->l.tok[0],
                    (long long)s->h.ntypes);
    if (io_parse_double(p->l.tok[1], &m)) return perr(p, "mass '%s' is not a number", p->l.tok[1]);
    /* basin's reduced units fix m = 1 for every particle (PHYSICS.md); a different mass
     * would silently change the dynamics */
    if (fabs(m - 1.0) > 1e-12)
        return perr(p, "mass of type %lld is %.17g: basin models have m = 1 for every atom",
                    (long long)type, m);
    return 0;
}

static int row_skip(Parser *p, void *ctx) {
    (void)p;
    (void)ctx;
    return 0;
}

/* Everything after the title line; s->d receives the arrays, s owns the bookkeeping. */
static int parse_sections(Parser *p, ReadState *s) {
    LammpsData *d = s->d;
    int rc = 0;

    /* header: lines that start with a number, until the first section keyword */
    int seen_section = 0;
    while ((rc = next_line(p)) == 1) {
        if (!is_number_token(p->l.tok[0])) {
            seen_section = 1;
            break;
        }
        BCHK(parse_header_line(p, &s->h));
    }
    if (rc < 0) return rc;
    if (!seen_section) return perr(p, "no Atoms section (truncated file or not a data file?)");
    BCHK(check_header(p, &s->h, &d->L));
    d->n = s->h.n;
    d->ntypes = (int)s->h.ntypes;
    BCHK(BALLOC(d->x, 3 * d->n));
    BCHK(BALLOC(d->species, d->n));
    BCHK(BALLOC(d->image, 3 * d->n));
    BCHK(BALLOC(s->atom_line, d->n));

    int have_atoms = 0, have_masses = 0;
    const int64_t nt = s->h.ntypes;
    do {
        char name[128];
        section_name(p, name, sizeof name);
        if (!strcmp(name, "Atoms")) {
            if (have_atoms) return perr(p, "second Atoms section");
            if (p->comment[0] && strcmp(p->comment, "atomic"))
                return perr(p,
                            "atom style '%s' is not supported: basin reads 'Atoms # atomic' "
                            "(id type x y z [ix iy iz])",
                            p->comment);
            have_atoms = 1;
            BCHK(read_section_body(p, "Atoms", s->h.n, "atom", "atoms", row_atom, s));
            d->has_image = s->atom_fields == 8;
        } else if (!strcmp(name, "Velocities")) {
            if (d->v) return perr(p, "second Velocities section");
            BCHK(BALLOC(d->v, 3 * d->n));
            BCHK(BALLOC(s->vel_line, d->n));
            BCHK(read_section_body(p, "Velocities", s->h.n, "velocity", "atoms", row_velocity, s));
        } else if (!strcmp(name, "Masses")) {
            if (have_masses) return perr(p, "second Masses section");
            have_masses = 1;
            BCHK(read_section_body(p, "Masses", nt, "mass", "atom types", row_mass, s));
        } else if (!strcmp(name, "Pair Coeffs")) {
            /* force-field parameters belong to the peer's input script, not to basin */
            BCHK(read_section_body(p, "Pair Coeffs", nt, "coefficient", "atom types", row_skip, s));
        } else if (!strcmp(name, "PairIJ Coeffs")) {
            BCHK(read_section_body(p, "PairIJ Coeffs", nt * (nt + 1) / 2, "coefficient",
                                   "atom types (T(T+1)/2 pairs)", row_skip, s));
        } else {
            return perr(p,
                        "section '%s' is not supported (basin reads Atoms, Velocities, Masses "
                        "and skips Pair Coeffs)",
                        name);
        }
    } while ((rc = next_line(p)) == 1);
    if (rc < 0) return rc;
    if (!have_atoms) {
        p->l.line = 0;
        return perr(p, "no Atoms section");
    }
    return 0;
}

static int parse_file(Parser *p, LammpsData *d) {
    /* title line: any content, may be blank */
    errno = 0;
    if (getline(&p->l.buf, &p->l.cap, p->l.fp) < 0) {
        if (ferror(p->l.fp)) return perr(p, "read error: %s", strerror(errno));
        return perr(p, "empty file (not a LAMMPS data file)");
    }
    p->l.line = 1;
    ReadState s = {0};
    s.d = d;
    int rc = parse_sections(p, &s);
    free(s.atom_line);
    free(s.vel_line);
    return rc;
}

void lammps_data_free(LammpsData *d) {
    if (!d) return;
    free(d->x);
    free(d->v);
    free(d->species);
    free(d->image);
    memset(d, 0, sizeof *d);
}

int lammps_data_read(const char *path, LammpsData *out) {
    memset(out, 0, sizeof *out);
    int rc = 0;
    if (par_rank() == 0) {
        Parser p = {0};
        p.l.path = path;
        p.l.fp = fopen(path, "r");
        if (!p.l.fp) {
            rc = basin_error(BASIN_ERR_IO, path, NULL, "cannot open LAMMPS data file: %s",
                             strerror(errno));
        } else {
            rc = parse_file(&p, out);
            fclose(p.l.fp);
        }
        free(p.l.buf);
        if (rc) lammps_data_free(out);
    }
    rc = basin_error_agree(rc);
    if (rc) return rc;

    MPI_Comm comm = par_comm();
    int64_t hdr[4] = {out->n, out->ntypes, out->v != NULL, out->has_image};
    BCHK(io_bcast_check(MPI_Bcast(hdr, 4, MPI_INT64_T, 0, comm), "the data file header"));
    BCHK(io_bcast_check(MPI_Bcast(&out->L, 1, MPI_DOUBLE, 0, comm), "the box edge"));
    if (par_rank() != 0) {
        out->n = hdr[0];
        out->ntypes = (int)hdr[1];
        out->has_image = (int)hdr[3];
        rc = BALLOC(out->x, 3 * out->n);
        if (!rc) rc = BALLOC(out->species, out->n);
        if (!rc) rc = BALLOC(out->image, 3 * out->n);
        if (!rc && hdr[2]) rc = BALLOC(out->v, 3 * out->n);
    }
    rc = basin_error_agree(rc);
    if (rc) {
        lammps_data_free(out);
        return rc;
    }
    const int n = (int)out->n; /* <= INT_MAX / 3, checked by the parser */
    rc = io_bcast_check(MPI_Bcast(out->x, 3 * n, MPI_DOUBLE, 0, comm), "positions");
    if (!rc) rc = io_bcast_check(MPI_Bcast(out->species, n, MPI_INT, 0, comm), "species");
    if (!rc) rc = io_bcast_check(MPI_Bcast(out->image, 3 * n, MPI_INT32_T, 0, comm), "images");
    if (!rc && hdr[2])
        rc = io_bcast_check(MPI_Bcast(out->v, 3 * n, MPI_DOUBLE, 0, comm), "velocities");
    if (rc) lammps_data_free(out);
    return rc;
}

/* Rank 0 only: argument checks, then the file through a temporary name. */
static int write_file(const char *path, const char *title, int64_t n, int ntypes, double L,
                      const double *x, const double *v, const int *species, const int32_t *image) {
    if (n < 1)
        return basin_error(BASIN_ERR_CONFIG, path, NULL, "cannot write %lld atoms", (long long)n);
    if (ntypes < 1 || ntypes > MODEL_MAX_SPECIES)
        return basin_error(BASIN_ERR_CONFIG, path, NULL, "atom types must be 1..%d, got %d",
                           MODEL_MAX_SPECIES, ntypes);
    if (!(L > 0.0) || !isfinite(L))
        return basin_error(BASIN_ERR_CONFIG, path, NULL, "box edge must be > 0, got %g", L);
    if (!x || !species)
        return basin_error(BASIN_ERR_INTERNAL, path, NULL, "positions or species missing");
    for (int64_t i = 0; i < n; ++i) {
        if (species[i] < 0 || species[i] >= ntypes)
            return basin_error(BASIN_ERR_CONFIG, path, NULL,
                               "atom %lld has species %d, outside 0..%d", (long long)i, species[i],
                               ntypes - 1);
        for (int k = 0; k < 3; ++k) {
            if (!isfinite(x[3 * i + k]) || (v && !isfinite(v[3 * i + k])))
                return basin_error(BASIN_ERR_PHYSICS, path, NULL,
                                   "atom %lld has a non-finite position or velocity "
                                   "(not written)",
                                   (long long)i);
        }
    }

    size_t tlen = strlen(path) + 5;
    char *tmp = NULL;
    BCHK(BALLOC(tmp, tlen));
    snprintf(tmp, tlen, "%s.tmp", path);
    FILE *fp = fopen(tmp, "w");
    if (!fp) {
        int rc =
            basin_error(BASIN_ERR_IO, path, NULL, "cannot create %s: %s", tmp, strerror(errno));
        free(tmp);
        return rc;
    }
    /* a large buffer: the file is a few MB of numbers written in one go */
    setvbuf(fp, NULL, _IOFBF, 1 << 20);

    /* the title is one line: drop anything from a newline on */
    const char *t = title ? title : "LAMMPS data file written by basin (atomic, reduced units)";
    fprintf(fp, "%.*s\n\n", (int)strcspn(t, "\r\n"), t);
    fprintf(fp, "%lld atoms\n%d atom types\n\n", (long long)n, ntypes);
    fprintf(fp, "0 %.17g xlo xhi\n0 %.17g ylo yhi\n0 %.17g zlo zhi\n", L, L, L);
    fprintf(fp, "\nMasses\n\n");
    for (int k = 1; k <= ntypes; ++k)
        fprintf(fp, "%d 1\n", k);
    fprintf(fp, "\nAtoms # atomic\n\n");
    for (int64_t i = 0; i < n; ++i) {
        const int32_t *im = image ? image + 3 * i : (const int32_t[3]){0, 0, 0};
        fprintf(fp, "%lld %d %.17g %.17g %.17g %d %d %d\n", (long long)(i + 1), species[i] + 1,
                x[3 * i], x[3 * i + 1], x[3 * i + 2], (int)im[0], (int)im[1], (int)im[2]);
    }
    if (v) {
        fprintf(fp, "\nVelocities\n\n");
        for (int64_t i = 0; i < n; ++i)
            fprintf(fp, "%lld %.17g %.17g %.17g\n", (long long)(i + 1), v[3 * i], v[3 * i + 1],
                    v[3 * i + 2]);
    }
    int bad = ferror(fp);
    int err = errno;
    if (fclose(fp) != 0 && !bad) {
        bad = 1;
        err = errno;
    }
    int rc = 0;
    if (bad) {
        rc = basin_error(BASIN_ERR_IO, path, NULL, "write failed (disk full?): %s", strerror(err));
        remove(tmp);
    } else if (rename(tmp, path) != 0) {
        rc = basin_error(BASIN_ERR_IO, path, NULL, "cannot rename %s into place: %s", tmp,
                         strerror(errno));
        remove(tmp);
    }
    free(tmp);
    return rc;
}

int lammps_data_write(const char *path, const char *title, int64_t n, int ntypes, double L,
                      const double *x, const double *v, const int *species, const int32_t *image) {
    int rc = 0;
    if (par_rank() == 0) rc = write_file(path, title, n, ntypes, L, x, v, species, image);
    return basin_error_agree(rc);
}
