/* Extended XYZ files: see include/basin/xyz.h for the layout and why each column is named and
 * encoded as it is.
 *
 * As for LAMMPS data files, only rank 0 touches the file: the frames are global id-ordered
 * arrays, a single writer keeps frames whole and in order without any coordination, and a
 * single parser gives every rank the same error line. The reader checks every frame of the file
 * even when one frame is asked for, so that a file truncated by a killed writer is reported
 * instead of silently yielding fewer frames.
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
#include <strings.h>
#include <sys/types.h>

#include "../util/parallel.h"
#include "basin/model.h"
#include "basin/util.h"
#include "text_priv.h"
#include "basin/xyz.h"

/* The two column layouts written (without and with velocities); the reader accepts only these. */
static const char PROPS_X[] = "species:S:1:pos:R:3:map_shift:I:3:id:I:1";
static const char PROPS_XV[] = "species:S:1:pos:R:3:velo:R:3:map_shift:I:3:id:I:1";

struct XyzWriter {
    char *path;
    FILE *fp;   /* rank 0 only */
    int failed; /* an error was already reported, so close() does not report a second one */
};

/* ---- writer ---- */

int xyz_writer_open(const char *path, int append, XyzWriter **out) {
    *out = NULL;
    XyzWriter *w = NULL;
    int rc = BALLOC(w, 1);
    const size_t len = strlen(path) + 1;
    if (!rc) rc = BALLOC(w->path, len);
    if (!rc) memcpy(w->path, path, len);
    if (!rc && par_rank() == 0) {
        w->fp = fopen(path, append ? "a" : "w");
        if (!w->fp)
            rc = basin_error(BASIN_ERR_IO, path, NULL, "cannot open for writing: %s",
                             strerror(errno));
        else
            setvbuf(w->fp, NULL, _IOFBF, 1 << 20); /* frames are MBs of numbers in one go */
    }
    rc = basin_error_agree(rc);
    if (rc) {
        if (w && w->fp) fclose(w->fp);
        if (w) free(w->path);
        free(w);
        return rc;
    }
    *out = w;
    return 0;
}

/* Rank 0: refuse what would make an unreadable or misleading file before writing a byte. */
static int check_frame(const char *path, const XyzFrame *f) {
    if (f->n < 1)
        return basin_error(BASIN_ERR_CONFIG, path, NULL, "cannot write %lld atoms",
                           (long long)f->n);
    if (!(f->L > 0.0) || !isfinite(f->L))
        return basin_error(BASIN_ERR_CONFIG, path, NULL, "box edge must be > 0, got %g", f->L);
    if (f->step >= 0 && !isfinite(f->time))
        return basin_error(BASIN_ERR_CONFIG, path, NULL, "time of step %lld is not finite",
                           (long long)f->step);
    if (!f->x || !f->species)
        return basin_error(BASIN_ERR_INTERNAL, path, NULL, "positions or species missing");
    for (int64_t i = 0; i < f->n; ++i) {
        if (f->species[i] < 0 || f->species[i] >= MODEL_MAX_SPECIES)
            return basin_error(BASIN_ERR_CONFIG, path, NULL,
                               "atom %lld has species %d, outside 0..%d", (long long)i,
                               f->species[i], MODEL_MAX_SPECIES - 1);
        for (int k = 0; k < 3; ++k)
            if (!isfinite(f->x[3 * i + k]) || (f->v && !isfinite(f->v[3 * i + k])))
                return basin_error(BASIN_ERR_PHYSICS, path, NULL,
                                   "atom %lld has a non-finite position or velocity (not "
                                   "written)",
                                   (long long)i);
    }
    return 0;
}

static void write_frame(FILE *fp, const XyzFrame *f) {
    fprintf(fp, "%lld\n", (long long)f->n);
    fprintf(fp, "Lattice=\"%.17g 0 0 0 %.17g 0 0 0 %.17g\" Properties=%s", f->L, f->L, f->L,
            f->v ? PROPS_XV : PROPS_X);
    if (f->step >= 0) fprintf(fp, " Time=%.17g Step=%lld", f->time, (long long)f->step);
    fputs(" pbc=\"T T T\"\n", fp);
    for (int64_t i = 0; i < f->n; ++i) {
        const double *x = f->x + 3 * i;
        fprintf(fp, "%d %.17g %.17g %.17g", f->species[i] + 1, x[0], x[1], x[2]);
        if (f->v) {
            const double *v = f->v + 3 * i;
            fprintf(fp, " %.17g %.17g %.17g", v[0], v[1], v[2]);
        }
        const int32_t *im = f->image ? f->image + 3 * i : (const int32_t[3]){0, 0, 0};
        fprintf(fp, " %d %d %d %lld\n", (int)im[0], (int)im[1], (int)im[2], (long long)i + 1);
    }
}

int xyz_writer_frame(XyzWriter *w, const XyzFrame *f) {
    int rc = 0;
    if (par_rank() == 0) {
        rc = check_frame(w->path, f);
        if (!rc) {
            errno = 0;
            write_frame(w->fp, f);
            if (ferror(w->fp))
                rc = basin_error(BASIN_ERR_IO, w->path, NULL, "write failed (disk full?): %s",
                                 strerror(errno));
        }
    }
    rc = basin_error_agree(rc);
    if (rc) w->failed = 1;
    return rc;
}

int xyz_writer_close(XyzWriter **wp) {
    if (!wp || !*wp) return 0;
    XyzWriter *w = *wp;
    int rc = 0;
    if (w->fp) {
        int bad = ferror(w->fp);
        int err = errno;
        if (fclose(w->fp) != 0 && !bad) {
            bad = 1;
            err = errno;
        }
        if (bad && !w->failed)
            rc = basin_error(BASIN_ERR_IO, w->path, NULL, "write failed (disk full?): %s",
                             strerror(err));
    }
    free(w->path);
    free(w);
    *wp = NULL;
    return basin_error_agree(rc);
}

int xyz_write(const char *path, const XyzFrame *f, int append) {
    XyzWriter *w = NULL;
    if (append) {
        BCHK(xyz_writer_open(path, 1, &w));
        int rc = xyz_writer_frame(w, f);
        int rc2 = xyz_writer_close(&w);
        return rc ? rc : rc2;
    }
    char *tmp = NULL;
    const size_t tlen = strlen(path) + 5;
    int rc = basin_error_agree(BALLOC(tmp, tlen));
    if (rc) {
        free(tmp);
        return rc;
    }
    snprintf(tmp, tlen, "%s.tmp", path);
    rc = xyz_writer_open(tmp, 0, &w);
    if (!rc) rc = xyz_writer_frame(w, f);
    int rc2 = xyz_writer_close(&w);
    if (!rc) rc = rc2;
    if (par_rank() == 0) {
        if (rc) {
            remove(tmp);
        } else if (rename(tmp, path) != 0) {
            rc = basin_error(BASIN_ERR_IO, path, NULL, "cannot rename %s into place: %s", tmp,
                             strerror(errno));
            remove(tmp);
        }
    }
    free(tmp);
    return basin_error_agree(rc);
}

/* ---- reader ---- */

typedef struct Reader {
    IoLines l; /* path, file, current line (tokenised in place) and its tokens */
    int ended; /* the line in buf ended with '\n' */
} Reader;

static int rerr(const Reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The error line "<file>:line N: <what>" (line 0: the file as a whole). */
static int rerr(const Reader *r, const char *fmt, ...) {
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return io_line_error(r->l.path, r->l.line, "%s", what);
}

/* Next line into r->l.buf (without its '\n'). 1: a line, 0: end of file, < 0: error. */
static int read_line(Reader *r) {
    const int got = io_getline(&r->l);
    if (got <= 0) return got;
    size_t len = strlen(r->l.buf);
    r->ended = len > 0 && r->l.buf[len - 1] == '\n';
    if (r->ended) r->l.buf[--len] = '\0';
    if (len > 0 && r->l.buf[len - 1] == '\r') r->l.buf[--len] = '\0';
    return 1;
}

static void tokenize(Reader *r) {
    io_tokenize(&r->l, r->l.buf, " \t\r\f\v");
}

/* Up to `max` whitespace-separated numbers of a quoted value; returns how many (max + 1: more),
 * or -1 when one is not a finite number. */
static int parse_numbers(const char *s, double *out, int max) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s", s);
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
        if (n == max) return max + 1;
        if (io_parse_double(t, &out[n])) return -1;
        ++n;
    }
    return n;
}

/* What line 2 of a frame says. */
typedef struct Comment {
    int have_lattice, have_props, have_pbc, have_time, have_step, have_origin;
    int velo;
    double L, time;
    int64_t step;
} Comment;

static int comment_key(const Reader *r, Comment *c, const char *key, const char *val) {
    if (!strcasecmp(key, "Lattice")) {
        if (c->have_lattice) return rerr(r, "Lattice given twice");
        c->have_lattice = 1;
        double m[9];
        int k = val ? parse_numbers(val, m, 9) : 0;
        int cubic = k == 9 && m[0] > 0.0 && m[4] == m[0] && m[8] == m[0];
        for (int i = 0; cubic && i < 9; ++i)
            if (i % 4 != 0 && m[i] != 0.0) cubic = 0;
        if (!cubic)
            return rerr(
                r, "Lattice=\"%s\": basin reads cubic boxes only, Lattice=\"L 0 0 0 L 0 0 0 L\"",
                val ? val : "");
        c->L = m[0];
    } else if (!strcasecmp(key, "Properties")) {
        if (c->have_props) return rerr(r, "Properties given twice");
        c->have_props = 1;
        if (val && !strcmp(val, PROPS_XV)) {
            c->velo = 1;
        } else if (!val || strcmp(val, PROPS_X)) {
            return rerr(r,
                        "Properties=%s: basin reads the columns it writes, "
                        "species:S:1:pos:R:3[:velo:R:3]:map_shift:I:3:id:I:1",
                        val ? val : "");
        }
    } else if (!strcasecmp(key, "pbc")) {
        if (c->have_pbc) return rerr(r, "pbc given twice");
        c->have_pbc = 1;
        char a[4], b[4], d[4], e[2];
        if (!val || sscanf(val, " %3s %3s %3s %1s", a, b, d, e) != 3 || strcmp(a, "T") ||
            strcmp(b, "T") || strcmp(d, "T"))
            return rerr(r, "pbc=\"%s\": basin boxes are periodic in x, y and z (pbc=\"T T T\")",
                        val ? val : "");
    } else if (!strcasecmp(key, "Time")) {
        if (c->have_time) return rerr(r, "Time given twice");
        c->have_time = 1;
        if (!val || io_parse_double(val, &c->time))
            return rerr(r, "Time=%s is not a finite number", val ? val : "");
    } else if (!strcasecmp(key, "Step")) {
        if (c->have_step) return rerr(r, "Step given twice");
        c->have_step = 1;
        if (!val || io_parse_i64(val, &c->step) || c->step < 0)
            return rerr(r, "Step=%s is not an integer >= 0", val ? val : "");
    } else if (!strcasecmp(key, "Origin") || !strcasecmp(key, "cell_origin")) {
        /* basin positions are relative to the origin; a shifted cell would move every atom */
        double o[3];
        if (c->have_origin) return rerr(r, "%s given twice", key);
        c->have_origin = 1;
        if (!val || parse_numbers(val, o, 3) != 3 || o[0] != 0.0 || o[1] != 0.0 || o[2] != 0.0)
            return rerr(r, "%s=\"%s\": basin reads boxes with the origin at 0 0 0", key,
                        val ? val : "");
    }
    /* any other key (a label added by another program) carries nothing basin uses */
    return 0;
}

/* Line 2 of a frame: key=value pairs, values optionally in double quotes. */
static int parse_comment(const Reader *r, Comment *c) {
    memset(c, 0, sizeof *c);
    c->step = -1;
    c->time = NAN;
    const char *s = r->l.buf;
    for (;;) {
        while (isspace((unsigned char)*s))
            ++s;
        if (!*s) break;
        const char *key = s;
        while (*s && *s != '=' && !isspace((unsigned char)*s))
            ++s;
        char kbuf[64], vbuf[512];
        snprintf(kbuf, sizeof kbuf, "%.*s", (int)(s - key), key);
        const char *val = NULL;
        if (*s == '=') {
            ++s;
            const char *v0 = s;
            size_t vlen;
            if (*s == '"') {
                v0 = ++s;
                const char *q = strchr(s, '"');
                if (!q) return rerr(r, "unterminated quote in the value of %s", kbuf);
                vlen = (size_t)(q - s);
                s = q + 1;
            } else {
                while (*s && !isspace((unsigned char)*s))
                    ++s;
                vlen = (size_t)(s - v0);
            }
            if (vlen >= sizeof vbuf) vlen = sizeof vbuf - 1; /* long values are other programs' */
            memcpy(vbuf, v0, vlen);
            vbuf[vlen] = '\0';
            val = vbuf;
        }
        BCHK(comment_key(r, c, kbuf, val));
    }
    if (!c->have_lattice)
        return rerr(r, "no Lattice=\"L 0 0 0 L 0 0 0 L\" on the comment line (not an extended "
                       "XYZ file written by basin?)");
    if (!c->have_props)
        return rerr(r, "no Properties= on the comment line (not an extended XYZ file written "
                       "by basin?)");
    return 0;
}

/* (Re)size the arrays of d for n atoms, with or without velocities. */
static int frame_alloc(XyzData *d, int64_t n, int velo) {
    if (d->n != n) {
        xyz_free(d);
        BCHK(BALLOC(d->x, 3 * n));
        BCHK(BALLOC(d->species, n));
        BCHK(BALLOC(d->image, 3 * n));
        d->n = n;
    }
    if (velo && !d->v) BCHK(BALLOC(d->v, 3 * n));
    if (!velo && d->v) {
        free(d->v);
        d->v = NULL;
    }
    return 0;
}

static int parse_atom(Reader *r, const Comment *c, int64_t n, XyzData *d, int64_t *seen) {
    /* a writer killed mid-line leaves an unterminated last line; say so rather than
     * complaining about its field count or a number cut short */
    if (!r->ended) return rerr(r, "the last line is not terminated (truncated file?)");
    const int want = c->velo ? 11 : 8;
    if (r->l.ntok != want)
        return rerr(r, "atom line has %d fields, expected %d (%s)",
                    r->l.ntok > IO_MAX_TOKENS ? IO_MAX_TOKENS : r->l.ntok, want,
                    c->velo ? "type x y z vx vy vz ix iy iz id" : "type x y z ix iy iz id");
    int64_t id, type;
    if (io_parse_i64(r->l.tok[want - 1], &id) || id < 1 || id > n)
        return rerr(r, "atom id '%s' is not an integer in 1..%lld", r->l.tok[want - 1],
                    (long long)n);
    if (seen[id - 1])
        return rerr(r, "duplicate atom id %lld (first on line %lld)", (long long)id,
                    (long long)seen[id - 1]);
    seen[id - 1] = r->l.line;
    const int64_t i = id - 1;
    if (io_parse_i64(r->l.tok[0], &type) || type < 1 || type > MODEL_MAX_SPECIES)
        return rerr(r, "species '%s' is not an atom type 1..%d (basin writes LAMMPS type numbers)",
                    r->l.tok[0], MODEL_MAX_SPECIES);
    d->species[i] = (int)(type - 1);
    if ((int)type > d->ntypes) d->ntypes = (int)type;
    for (int k = 0; k < 3; ++k) {
        if (io_parse_double(r->l.tok[1 + k], &d->x[3 * i + k]))
            return rerr(r, "coordinate '%s' is not a finite number", r->l.tok[1 + k]);
        if (c->velo && io_parse_double(r->l.tok[4 + k], &d->v[3 * i + k]))
            return rerr(r, "velocity '%s' is not a finite number", r->l.tok[4 + k]);
        const char *t = r->l.tok[want - 4 + k];
        int64_t im;
        if (io_parse_i64(t, &im) || im < INT32_MIN || im > INT32_MAX)
            return rerr(r, "map_shift '%s' is not a 32-bit integer", t);
        d->image[3 * i + k] = (int32_t)im;
    }
    return 0;
}

/* One frame whose atom-count line is the current (tokenised) line. */
static int parse_frame(Reader *r, int64_t frame, XyzData *d, int64_t **seen, int64_t *seen_n) {
    int64_t n;
    if (r->l.ntok != 1 || io_parse_i64(r->l.tok[0], &n) || n < 1)
        return rerr(r,
                    "expected the atom count of frame %lld (a line with one integer >= 1), "
                    "got '%s'%s",
                    (long long)frame, r->l.tok[0], r->l.ntok > 1 ? " ..." : "");
    if (n > INT_MAX / 3) /* the broadcast counts are int */
        return rerr(r, "%lld atoms: basin reads at most %d per frame", (long long)n, INT_MAX / 3);
    int rc = read_line(r);
    if (rc < 0) return rc;
    if (rc == 0)
        return rerr(r, "file ends after the atom count of frame %lld (truncated file?)",
                    (long long)frame);
    Comment c;
    BCHK(parse_comment(r, &c));
    BCHK(frame_alloc(d, n, c.velo));
    if (*seen_n != n) {
        free(*seen);
        *seen = NULL;
        *seen_n = 0;
        BCHK(BALLOC(*seen, n));
        *seen_n = n;
    } else {
        memset(*seen, 0, (size_t)n * sizeof **seen);
    }
    d->L = c.L;
    d->step = c.step;
    d->time = c.time;
    d->ntypes = 0;
    for (int64_t k = 0; k < n; ++k) {
        if ((rc = read_line(r)) < 0) return rc;
        if (rc == 0)
            return rerr(r,
                        "file ends after %lld of %lld atom lines of frame %lld (truncated file?)",
                        (long long)k, (long long)n, (long long)frame);
        tokenize(r);
        BCHK(parse_atom(r, &c, n, d, *seen));
    }
    return 0;
}

/* Rank 0: every frame of the file, keeping `want` (< 0: the last) in *out. */
static int parse_file(Reader *r, int64_t want, XyzData *out, int64_t *nframes) {
    XyzData scratch = {0};
    int64_t *seen = NULL, seen_n = 0, nf = 0;
    int rc = 0;
    while ((rc = read_line(r)) == 1) {
        tokenize(r);
        if (r->l.ntok == 0) {
            /* blank lines may end the file; anywhere else they would hide the frames after them
             * from readers that stop at the first blank line (ASE) */
            while ((rc = read_line(r)) == 1) {
                tokenize(r);
                if (r->l.ntok > 0) {
                    rc = rerr(r, "a blank line precedes this line (frames must follow each "
                                 "other directly)");
                    break;
                }
            }
            break;
        }
        if ((rc = parse_frame(r, nf, &scratch, &seen, &seen_n))) break;
        if (want < 0 || nf == want) {
            XyzData t = *out;
            *out = scratch;
            scratch = t;
        }
        ++nf;
    }
    xyz_free(&scratch);
    free(seen);
    if (rc < 0) return rc;
    *nframes = nf;
    if (nf == 0) {
        r->l.line = 0;
        return rerr(r, "no frames (empty file)");
    }
    if (want >= nf)
        return basin_error(BASIN_ERR_CONFIG, r->l.path, NULL,
                           "frame %lld out of range: the file has %lld frame(s), 0..%lld",
                           (long long)want, (long long)nf, (long long)nf - 1);
    return 0;
}

void xyz_free(XyzData *d) {
    if (!d) return;
    free(d->x);
    free(d->v);
    free(d->species);
    free(d->image);
    memset(d, 0, sizeof *d);
}

int xyz_read(const char *path, int64_t frame, XyzData *out, int64_t *nframes) {
    memset(out, 0, sizeof *out);
    int64_t nf = 0;
    int rc = 0;
    if (par_rank() == 0) {
        Reader r = {0};
        r.l.path = path;
        r.l.fp = fopen(path, "r");
        if (!r.l.fp) {
            rc = basin_error(BASIN_ERR_IO, path, NULL, "cannot open: %s", strerror(errno));
        } else {
            rc = parse_file(&r, frame, out, &nf);
            fclose(r.l.fp);
        }
        free(r.l.buf);
        if (rc) xyz_free(out);
    }
    rc = basin_error_agree(rc);
    if (rc) return rc;

    MPI_Comm comm = par_comm();
    int64_t hdr[5] = {out->n, out->ntypes, out->v != NULL, out->step, nf};
    double dbl[2] = {out->L, out->time};
    BCHK(io_bcast_check(MPI_Bcast(hdr, 5, MPI_INT64_T, 0, comm), "the frame header"));
    BCHK(io_bcast_check(MPI_Bcast(dbl, 2, MPI_DOUBLE, 0, comm), "the box and time"));
    if (par_rank() != 0) {
        out->ntypes = (int)hdr[1];
        out->step = hdr[3];
        out->L = dbl[0];
        out->time = dbl[1];
        rc = frame_alloc(out, hdr[0], (int)hdr[2]);
    }
    rc = basin_error_agree(rc);
    const int n = (int)hdr[0]; /* <= INT_MAX / 3, checked by the parser */
    if (!rc) rc = io_bcast_check(MPI_Bcast(out->x, 3 * n, MPI_DOUBLE, 0, comm), "positions");
    if (!rc) rc = io_bcast_check(MPI_Bcast(out->species, n, MPI_INT, 0, comm), "species");
    if (!rc) rc = io_bcast_check(MPI_Bcast(out->image, 3 * n, MPI_INT32_T, 0, comm), "images");
    if (!rc && hdr[2])
        rc = io_bcast_check(MPI_Bcast(out->v, 3 * n, MPI_DOUBLE, 0, comm), "velocities");
    if (rc) {
        xyz_free(out);
        return rc;
    }
    if (nframes) *nframes = hdr[4];
    return 0;
}
