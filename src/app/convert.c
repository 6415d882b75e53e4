/* `basin convert IN OUT`: move one configuration (or every frame of a trajectory) between the
 * interchange formats basin reads and writes: LAMMPS data (.data, .lmp), extended XYZ (.xyz,
 * .extxyz; for OVITO) and H5MD (.h5, .h5md). The format comes from the file extension.
 *
 * Every frame passes through global id-ordered arrays on every rank (the layout of the LAMMPS
 * data reader and of h5md_read_frame_global()), so conversion costs O(N) memory per rank; it is
 * a tool for looking at and exchanging configurations, not for per-step output. The output is
 * written under OUT.tmp and renamed when complete, so an interrupted conversion never leaves a
 * half file under the name asked for (lammps_data_write() does the same by itself).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "app.h"
#include "basin/h5md.h"
#include "basin/lammps_data.h"
#include "basin/model.h"
#include "basin/util.h"
#include "basin/xyz.h"
#include "basin_version.h"

typedef enum { FMT_DATA = 0, FMT_XYZ, FMT_H5, FMT_UNKNOWN } Format;
static const char *const FMT_NAME[] = {"LAMMPS data", "extended XYZ", "H5MD"};

static const char SUPPORTED[] = "basin convert does data->xyz, data->h5, h5->xyz, h5->data and "
                                "xyz->data";

typedef struct Options {
    const char *in, *out;
    Format fin, fout;
    int64_t frame; /* -1: not given (the last frame) */
    int all;
    int kind; /* -1: not given; else ModelKind */
    char cmdline[1024];
} Options;

/* The format of a path from its extension (case-insensitive). */
static Format format_of(const char *path) {
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash + 1 : path, '.');
    if (!dot) return FMT_UNKNOWN;
    ++dot;
    if (!strcasecmp(dot, "data") || !strcasecmp(dot, "lmp")) return FMT_DATA;
    if (!strcasecmp(dot, "xyz") || !strcasecmp(dot, "extxyz")) return FMT_XYZ;
    if (!strcasecmp(dot, "h5") || !strcasecmp(dot, "h5md")) return FMT_H5;
    return FMT_UNKNOWN;
}

static int unknown_format(const char *path) {
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash + 1 : path, '.');
    return basin_error(BASIN_ERR_CONFIG, path, NULL,
                       "%s%s%s: basin convert knows .data/.lmp (LAMMPS data), .xyz/.extxyz "
                       "(extended XYZ) and .h5/.h5md (H5MD)",
                       dot ? "unknown file extension '" : "no file extension", dot ? dot : "",
                       dot ? "'" : "");
}

/* Collective. Rank 0 refuses an OUT that names the input file, by name or by inode (./a.data,
 * a hard link), so that a conversion never overwrites what it reads. */
static int check_not_input(const Options *o) {
    int rc = 0;
    if (par_rank() == 0) {
        struct stat si, so;
        if (!strcmp(o->in, o->out) || (stat(o->in, &si) == 0 && stat(o->out, &so) == 0 &&
                                       si.st_dev == so.st_dev && si.st_ino == so.st_ino))
            rc = basin_error(BASIN_ERR_CONFIG, o->out, NULL,
                             "is the input file %s (basin convert never overwrites its input)",
                             o->in);
    }
    return basin_error_agree(rc);
}

/* Number of atom types of the output and the check of every atom's type against --kind:
 * glass 2, crystal 1; without --kind the largest type present. */
static int resolve_ntypes(const Options *o, int64_t n, const int *species, int *ntypes) {
    int maxsp = 0;
    for (int64_t i = 0; i < n; ++i)
        if (species[i] > maxsp) maxsp = species[i];
    *ntypes = maxsp + 1;
    if (o->kind < 0) return 0;
    Model m;
    model_init(&m, (ModelKind)o->kind);
    for (int64_t i = 0; i < n; ++i)
        if (species[i] >= m.nspecies)
            return basin_error(BASIN_ERR_CONFIG, o->in, "--kind",
                               "atom %lld has type %d but the %s model has %d species",
                               (long long)i + 1, species[i] + 1,
                               o->kind == MODEL_GLASS ? "glass" : "crystal", m.nspecies);
    *ntypes = m.nspecies;
    return 0;
}

/* The frame index asked for in a file of nframes frames (-1: the last). */
static int pick_frame(const Options *o, int64_t nframes, int64_t *frame) {
    if (nframes < 1) return basin_error(BASIN_ERR_IO, o->in, NULL, "holds no frames");
    *frame = o->frame < 0 ? nframes - 1 : o->frame;
    if (*frame >= nframes)
        return basin_error(BASIN_ERR_CONFIG, o->in, "--frame",
                           "frame %lld out of range: the file has %lld frame(s), 0..%lld",
                           (long long)o->frame, (long long)nframes, (long long)nframes - 1);
    return 0;
}

static char *tmp_name(const char *out) {
    const size_t len = strlen(out) + 5;
    char *t = malloc(len);
    if (t) snprintf(t, len, "%s.tmp", out);
    return t;
}

/* Collective. Rank 0 renames the finished OUT.tmp into place, or removes it after an error. */
static int finish_tmp(int rc, const char *tmp, const char *out) {
    if (par_rank() == 0) {
        if (rc) {
            remove(tmp);
        } else if (rename(tmp, out) != 0) {
            rc = basin_error(BASIN_ERR_IO, out, NULL, "cannot rename %s into place: %s", tmp,
                             strerror(errno));
            remove(tmp);
        }
    }
    return basin_error_agree(rc);
}

/* ---- LAMMPS data input ---- */

/* data -> xyz, data -> h5. A data file holds one frame: --frame may only name frame 0. */
static int read_data_input(const Options *o, LammpsData *d) {
    if (o->frame > 0)
        return basin_error(BASIN_ERR_CONFIG, o->in, "--frame",
                           "frame %lld out of range: a LAMMPS data file holds one frame, 0",
                           (long long)o->frame);
    return lammps_data_read(o->in, d);
}

static int data_to_xyz(const Options *o, const char *tmp) {
    LammpsData d = {0};
    BCHK(read_data_input(o, &d));
    int ntypes, rc = resolve_ntypes(o, d.n, d.species, &ntypes);
    XyzWriter *w = NULL;
    /* a data file knows no step or time: the frame is written without them */
    XyzFrame f = {d.n, d.L, -1, 0.0, d.x, d.v, d.species, d.image};
    if (!rc) rc = xyz_writer_open(tmp, 0, &w);
    if (!rc) rc = xyz_writer_frame(w, &f);
    int rc2 = xyz_writer_close(&w);
    if (!rc) rc = rc2;
    if (!rc)
        log_info("basin convert: %s -> %s: %lld atoms, 1 frame", o->in, o->out, (long long)d.n);
    lammps_data_free(&d);
    return rc;
}

/* A one-frame trajectory at step 0, time 0. The observables that need only the velocities
 * (K, T = 2K/3N) are filled in; the potential-energy ones are NaN (no force field is evaluated
 * here; `basin eval` gives them). */
static int data_to_h5(const Options *o, const char *tmp) {
    LammpsData d = {0};
    BCHK(read_data_input(o, &d));
    int ntypes, rc = resolve_ntypes(o, d.n, d.species, &ntypes);
    int64_t lo, hi;
    idblock_range(d.n, par_rank(), par_size(), &lo, &hi);
    int32_t *sp = NULL;
    int64_t *ids = NULL;
    H5md *h = NULL;
    if (!rc) rc = BALLOC(sp, hi - lo + 1);
    if (!rc) rc = BALLOC(ids, hi - lo + 1);
    rc = basin_error_agree(rc);
    if (!rc) {
        for (int64_t i = lo; i < hi; ++i) {
            sp[i - lo] = (int32_t)d.species[i];
            ids[i - lo] = i;
        }
        H5mdMeta meta = {BASIN_VERSION, NULL, NULL, o->cmdline};
        rc = h5md_create(tmp, &meta, d.n, sp, d.v ? H5MD_VELOCITIES : 0, &h);
    }
    if (!rc) {
        H5mdFrame f = {.step = 0,
                       .time = 0.0,
                       .box = {d.L, d.L, d.L},
                       .n_owned = (int)(hi - lo),
                       .id = ids,
                       .x = d.x + 3 * lo,
                       .v = d.v ? d.v + 3 * lo : NULL,
                       .image = d.image + 3 * lo};
        for (int k = 0; k < H5MD_NOBS; ++k)
            f.obs[k] = NAN;
        if (d.v) {
            double ke = 0.0;
            for (int64_t i = 0; i < 3 * d.n; ++i)
                ke += 0.5 * d.v[i] * d.v[i];
            f.obs[H5MD_OBS_KINETIC_ENERGY] = ke;
            f.obs[H5MD_OBS_TEMPERATURE] = 2.0 * ke / (3.0 * (double)d.n);
        }
        rc = h5md_append(h, &f);
    }
    int rc2 = h5md_close(&h);
    if (!rc) rc = rc2;
    if (!rc)
        log_info("basin convert: %s -> %s: %lld atoms, 1 frame", o->in, o->out, (long long)d.n);
    free(sp);
    free(ids);
    lammps_data_free(&d);
    return rc;
}

/* ---- H5MD input ---- */

typedef struct H5Frames {
    H5md *h;
    int64_t n, first, last; /* frames [first, last] */
    double *x, *v;          /* v: NULL without velocities */
    int32_t *image, *sp32;
    int *species;
    double L;
} H5Frames;

static void h5frames_free(H5Frames *t) {
    free(t->x);
    free(t->v);
    free(t->image);
    free(t->sp32);
    free(t->species);
}

/* Open the trajectory, choose the frames (--frame K, --all, or the last) and allocate one frame
 * of global arrays on every rank. */
static int h5frames_open(const Options *o, H5Frames *t) {
    memset(t, 0, sizeof *t);
    BCHK(h5md_open_read(o->in, &t->h));
    t->n = h5md_natoms(t->h);
    int64_t k = 0;
    int rc = pick_frame(o, h5md_nframes(t->h), &k);
    t->first = o->all ? 0 : k;
    t->last = k;
    if (!rc) rc = BALLOC(t->x, 3 * t->n);
    if (!rc && h5md_has_velocities(t->h)) rc = BALLOC(t->v, 3 * t->n);
    if (!rc) rc = BALLOC(t->image, 3 * t->n);
    if (!rc) rc = BALLOC(t->sp32, t->n);
    if (!rc) rc = BALLOC(t->species, t->n);
    return basin_error_agree(rc);
}

/* Collective. Frame k into the arrays (species with the first frame read); the box must be
 * cubic, as in LAMMPS data and basin's XYZ files. */
static int h5frames_read(const Options *o, H5Frames *t, int64_t k) {
    double box[3];
    const int first = k == t->first;
    BCHK(h5md_read_frame_global(t->h, k, t->x, t->v, t->image, first ? t->sp32 : NULL, box));
    if (first)
        for (int64_t i = 0; i < t->n; ++i)
            t->species[i] = (int)t->sp32[i];
    if (!(box[0] > 0.0) || !isfinite(box[0]) || box[1] != box[0] || box[2] != box[0])
        return basin_error(BASIN_ERR_IO, o->in, "box",
                           "frame %lld has the box %g x %g x %g; basin converts cubic boxes only",
                           (long long)k, box[0], box[1], box[2]);
    for (int64_t i = 0; i < t->n; ++i)
        if (t->species[i] < 0 || t->species[i] >= MODEL_MAX_SPECIES)
            return basin_error(BASIN_ERR_IO, o->in, "species",
                               "atom %lld has species %d, outside 0..%d", (long long)i,
                               t->species[i], MODEL_MAX_SPECIES - 1);
    t->L = box[0];
    return 0;
}

static int h5_to_xyz(const Options *o, const char *tmp) {
    H5Frames t;
    int rc = h5frames_open(o, &t);
    XyzWriter *w = NULL;
    if (!rc) rc = xyz_writer_open(tmp, 0, &w);
    int ntypes;
    for (int64_t k = t.first; k <= t.last && !rc; ++k) {
        rc = h5frames_read(o, &t, k);
        if (!rc && k == t.first) rc = resolve_ntypes(o, t.n, t.species, &ntypes);
        XyzFrame f = {t.n, t.L, h5md_step(t.h, k), h5md_time(t.h, k), t.x, t.v, t.species, t.image};
        if (!rc) rc = xyz_writer_frame(w, &f);
    }
    int rc2 = xyz_writer_close(&w);
    if (!rc) rc = rc2;
    rc2 = h5md_close(&t.h);
    if (!rc) rc = rc2;
    if (!rc)
        log_info("basin convert: %s -> %s: %lld atoms, %lld frame(s)", o->in, o->out,
                 (long long)t.n, (long long)(t.last - t.first + 1));
    h5frames_free(&t);
    return rc;
}

static int h5_to_data(const Options *o) {
    H5Frames t;
    int rc = h5frames_open(o, &t);
    int ntypes = 1;
    if (!rc) rc = h5frames_read(o, &t, t.last);
    if (!rc) rc = resolve_ntypes(o, t.n, t.species, &ntypes);
    if (!rc) {
        char title[512];
        snprintf(title, sizeof title, "basin convert of %s frame %lld (step %lld, time %.17g)",
                 o->in, (long long)t.last, (long long)h5md_step(t.h, t.last),
                 h5md_time(t.h, t.last));
        rc = lammps_data_write(o->out, title, t.n, ntypes, t.L, t.x, t.v, t.species, t.image);
    }
    int rc2 = h5md_close(&t.h);
    if (!rc) rc = rc2;
    if (!rc)
        log_info("basin convert: %s frame %lld -> %s: %lld atoms", o->in, (long long)t.last, o->out,
                 (long long)t.n);
    h5frames_free(&t);
    return rc;
}

/* ---- XYZ input ---- */

static int xyz_to_data(const Options *o) {
    XyzData d = {0};
    int64_t nframes = 0;
    BCHK(xyz_read(o->in, o->frame, &d, &nframes));
    const int64_t k = o->frame < 0 ? nframes - 1 : o->frame;
    int ntypes, rc = resolve_ntypes(o, d.n, d.species, &ntypes);
    if (!rc) {
        char title[512];
        if (d.step >= 0)
            snprintf(title, sizeof title, "basin convert of %s frame %lld (step %lld, time %.17g)",
                     o->in, (long long)k, (long long)d.step, d.time);
        else
            snprintf(title, sizeof title, "basin convert of %s frame %lld", o->in, (long long)k);
        rc = lammps_data_write(o->out, title, d.n, ntypes, d.L, d.x, d.v, d.species, d.image);
    }
    if (!rc)
        log_info("basin convert: %s frame %lld -> %s: %lld atoms", o->in, (long long)k, o->out,
                 (long long)d.n);
    xyz_free(&d);
    return rc;
}

/* ---- command line ---- */

static int usage(const char *what) {
    return basin_error(BASIN_ERR_USAGE, "command line", "convert",
                       "%s (see `basin convert --help`)", what);
}

static int parse_args(int argc, char **argv, Options *o) {
    memset(o, 0, sizeof *o);
    o->frame = -1;
    o->kind = -1;
    snprintf(o->cmdline, sizeof o->cmdline, "basin");
    for (int i = 0; i < argc; ++i) {
        size_t n = strlen(o->cmdline);
        snprintf(o->cmdline + n, sizeof o->cmdline - n, " %s", argv[i]);
    }
    int have_frame = 0;
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--frame") && i + 1 < argc) {
            char *end = NULL;
            errno = 0;
            long long k = strtoll(argv[++i], &end, 10);
            if (end == argv[i] || *end || errno == ERANGE)
                return usage("--frame needs an integer frame index");
            if (k < 0)
                return basin_error(BASIN_ERR_CONFIG, "command line", "--frame",
                                   "frame %lld out of range: frames are numbered from 0", k);
            o->frame = k;
            have_frame = 1;
        } else if (!strcmp(argv[i], "--all")) {
            o->all = 1;
        } else if (!strcmp(argv[i], "--kind") && i + 1 < argc) {
            ++i;
            if (!strcmp(argv[i], "glass"))
                o->kind = MODEL_GLASS;
            else if (!strcmp(argv[i], "crystal"))
                o->kind = MODEL_CRYSTAL;
            else
                return usage("--kind must be glass or crystal");
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return usage("unknown option or missing value");
        } else if (!o->in) {
            o->in = argv[i];
        } else if (!o->out) {
            o->out = argv[i];
        } else {
            return usage("more than two files given");
        }
    }
    if (!o->out) return usage("expected an input and an output file");
    if (o->all && have_frame) return usage("--frame and --all exclude each other");
    return 0;
}

int app_cmd_convert(int argc, char **argv) {
    Options o;
    BCHK(parse_args(argc, argv, &o));
    o.fin = format_of(o.in);
    o.fout = format_of(o.out);
    if (o.fin == FMT_UNKNOWN) return unknown_format(o.in);
    if (o.fout == FMT_UNKNOWN) return unknown_format(o.out);
    /* before the format pair: "OUT is IN" says more than "cannot convert data to data" */
    BCHK(check_not_input(&o));
    const int pair = o.fin * 3 + o.fout;
    enum {
        D2X = FMT_DATA * 3 + FMT_XYZ,
        D2H = FMT_DATA * 3 + FMT_H5,
        H2X = FMT_H5 * 3 + FMT_XYZ,
        H2D = FMT_H5 * 3 + FMT_DATA,
        X2D = FMT_XYZ * 3 + FMT_DATA
    };
    if (pair != D2X && pair != D2H && pair != H2X && pair != H2D && pair != X2D)
        return basin_error(BASIN_ERR_CONFIG, o.out, NULL, "cannot convert %s to %s: %s",
                           FMT_NAME[o.fin], FMT_NAME[o.fout], SUPPORTED);
    if (o.all && o.fout != FMT_XYZ)
        return usage("--all writes every frame and needs an .xyz output");

    char *tmp = tmp_name(o.out);
    int rc = basin_error_agree(tmp ? 0 : basin_error(BASIN_ERR_NOMEM, NULL, NULL, "out of memory"));
    if (rc) {
        free(tmp);
        return rc;
    }
    switch (pair) {
    case D2X:
        rc = finish_tmp(data_to_xyz(&o, tmp), tmp, o.out);
        break;
    case D2H:
        rc = finish_tmp(data_to_h5(&o, tmp), tmp, o.out);
        break;
    case H2X:
        rc = finish_tmp(h5_to_xyz(&o, tmp), tmp, o.out);
        break;
    case H2D: /* lammps_data_write() writes through OUT.tmp by itself */
        rc = h5_to_data(&o);
        break;
    default: /* X2D, likewise */
        rc = xyz_to_data(&o);
        break;
    }
    free(tmp);
    return rc;
}
