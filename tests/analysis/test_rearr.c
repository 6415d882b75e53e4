/* analysis_rearr_run (`basin rearr RUN_DIR`) on a synthetic run directory, 1, 2 and 4 ranks.
 *
 * The directory is written with the h5md API in the layout of `basin run` (docs/formats.md):
 * is.h5 with the /inherent table (8 quenches, 2 events) and the IS snapshots the tracker
 * stores (first sample, and before/after each event), and trajectory.h5 (6 ballistic frames with
 * image flags). Everything is a closed formula of the atom id, so every rank can compute the
 * expected numbers over all N atoms without communication:
 *   - atoms on a 20^3 simple cubic lattice (L = 20) plus 0.03 sigma of static noise;
 *   - event 1 (sample 3): |dr_i| = 0.4 (centre c1, next to the box corner, so the field wraps)
 *     and 0.2 r^-2.7 elsewhere, random directions; event 2 (sample 6): 0.3 at c2 and
 *     0.15 r^-2.2 elsewhere; r = minimum-image distance in the IS before the event.
 * Checks: the events (rows 3 and 6), the verdict, the unconverged count, the threshold source
 * (table attribute, --threshold, stored config); per event the most-displaced atom, |dr_IS| and
 * N_rearr (Eq. 7) recomputed from the snapshots against the closed-form sums, the exponent
 * within 0.02, the per-atom field file; the MSD of the ballistic trajectory, <|v|^2> t^2, for
 * origin strides 1 and 2; the --out table. Errors, identical on every rank: event out of range,
 * missing snapshots (a threshold below the noise makes sample 1 an event), missing directory,
 * missing is.h5, no /inherent table, missing trajectory.h5 for the MSD.
 *
 * `test_rearr --write DIR` only writes the synthetic run directory (for the script test).
 */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basin/analysis.h"
#include "basin/config.h"
#include "basin/h5md.h"
#include "basin/util.h"
#include "testutil.h"

enum { M = 20, N = M * M * M, NS = 8, NTRAJ = 6 };
static const double L = M;
static const int64_t C1 = (1 * M + 1) * M + 1;   /* lattice site (1, 1, 1) */
static const int64_t C2 = (14 * M + 9) * M + 12; /* lattice site (12, 9, 14) */
static const double A1 = 2.7, A2 = 2.2;          /* far-field exponents of the two events */
static const double D1 = 0.4, D2 = 0.3;          /* |dr_1| of the two events */
static const double NOISE_DR[NS] = {0.0, 2e-9, 3e-9, 0.0, 1e-9, 4e-9, 0.0, 2e-9};

static void dir3(uint64_t id, uint64_t ctr, double out[3]) {
    double g[3];
    rng_normal3(7, RNG_STREAM_TEST, id, ctr, g);
    const double n = sqrt(g[0] * g[0] + g[1] * g[1] + g[2] * g[2]);
    for (int k = 0; k < 3; ++k)
        out[k] = g[k] / n;
}

/* IS 0: lattice + static noise, inside [0, L). */
static void pos0(int64_t i, double x[3]) {
    double g[3];
    rng_normal3(7, RNG_STREAM_TEST, (uint64_t)i, 0, g);
    const int64_t ix = i % M, iy = (i / M) % M, iz = i / (M * M);
    x[0] = ix + 0.25 + 0.03 * g[0];
    x[1] = iy + 0.25 + 0.03 * g[1];
    x[2] = iz + 0.25 + 0.03 * g[2];
}

static double min_image_dist(const double a[3], const double b[3]) {
    double r2 = 0.0;
    for (int k = 0; k < 3; ++k) {
        double d = a[k] - b[k];
        d -= L * nearbyint(d / L);
        r2 += d * d;
    }
    return sqrt(r2);
}

/* Event fields as closed formulas: field e (1 or 2) of atom i, given the IS before it. */
static void field1(int64_t i, double d[3]) {
    double x[3], c[3], u[3];
    pos0(i, x);
    pos0(C1, c);
    const double mag = i == C1 ? D1 : 0.5 * D1 * pow(min_image_dist(x, c), -A1);
    dir3((uint64_t)i, 1, u);
    for (int k = 0; k < 3; ++k)
        d[k] = mag * u[k];
}

/* the IS after event 1, unwrapped */
static void pos3(int64_t i, double x[3]) {
    double d[3];
    pos0(i, x);
    field1(i, d);
    for (int k = 0; k < 3; ++k)
        x[k] += d[k];
}

static void field2(int64_t i, double d[3]) {
    double x[3], c[3], u[3];
    pos3(i, x);
    pos3(C2, c);
    const double mag = i == C2 ? D2 : 0.5 * D2 * pow(min_image_dist(x, c), -A2);
    dir3((uint64_t)i, 2, u);
    for (int k = 0; k < 3; ++k)
        d[k] = mag * u[k];
}

/* IS of sample s (unwrapped): IS 0 up to sample 2, + field 1 up to 5, + field 2 after. */
static void pos_is(int s, int64_t i, double x[3]) {
    double d[3];
    if (s < 3) {
        pos0(i, x);
        return;
    }
    pos3(i, x);
    if (s >= 6) {
        field2(i, d);
        for (int k = 0; k < 3; ++k)
            x[k] += d[k];
    }
}

/* The expected sums of one field over all N atoms (every rank, no communication). */
typedef struct Sums {
    double s2, s4;
} Sums;
static Sums field_sums(int e) {
    Sums s = {0.0, 0.0};
    for (int64_t i = 0; i < N; ++i) {
        double d[3];
        if (e == 1)
            field1(i, d);
        else
            field2(i, d);
        const double q = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
        s.s2 += q;
        s.s4 += q * q;
    }
    return s;
}

static double velocity2(int64_t i, double v[3]) {
    rng_normal3(7, RNG_STREAM_TEST, (uint64_t)i, 9, v);
    for (int k = 0; k < 3; ++k)
        v[k] *= 0.3;
    return v[0] * v[0] + v[1] * v[1] + v[2] * v[2];
}

static const H5mdColumn cols[] = {
    {"step", H5MD_COL_I64, "MD step of the quenched configuration"},
    {"time", H5MD_COL_F64, NULL},
    {"index", H5MD_COL_I64, NULL},
    {"phi", H5MD_COL_F64, NULL},
    {"dr", H5MD_COL_F64, NULL},
    {"dphi", H5MD_COL_F64, NULL},
    {"n_rearr", H5MD_COL_F64, NULL},
    {"dr_max", H5MD_COL_F64, NULL},
    {"dr_max_id", H5MD_COL_I64, NULL},
    {"dr0", H5MD_COL_F64, NULL},
    {"dphi0", H5MD_COL_F64, NULL},
    {"event", H5MD_COL_I64, NULL},
    {"converged", H5MD_COL_I64, NULL},
    {"iterations", H5MD_COL_I64, NULL},
    {"force_evals", H5MD_COL_I64, NULL},
    {"fmax", H5MD_COL_F64, NULL},
    {"fnorm", H5MD_COL_F64, NULL},
    {"seconds", H5MD_COL_F64, NULL},
    {"frame", H5MD_COL_I64, NULL},
    /* inherent.verify = sd (files of older versions lack them: the no_attr run) */
    {"sd_dr", H5MD_COL_F64, NULL},
    {"sd_event", H5MD_COL_I64, NULL},
};
enum { NCOLS = sizeof cols / sizeof cols[0] };

/* Collective. The run directory: is.h5 (table with attributes unless no_attr; no table at all
 * with no_table) and, with traj, trajectory.h5. */
static int write_run(const char *dir, int no_attr, int no_table, int traj) {
    int64_t lo, hi;
    idblock_range(N, par_rank(), par_size(), &lo, &hi);
    const int64_t nb = hi - lo;
    int64_t *ids = calloc((size_t)nb + 1, sizeof *ids);
    int32_t *sp = calloc((size_t)nb + 1, sizeof *sp), *img = calloc(3 * (size_t)nb + 3, 4);
    double *x = calloc(3 * (size_t)nb + 3, sizeof *x), *d = calloc(3 * (size_t)nb + 3, 8);
    for (int64_t i = lo; i < hi; ++i) {
        ids[i - lo] = i;
        sp[i - lo] = (int32_t)(i % 2);
    }
    Config c;
    config_defaults(&c);
    c.natoms = N;
    c.event_threshold = 0.02; /* differs from the attribute: shows which one was used */
    const int need = config_dump(&c, NULL, 0) + 1;
    char *text = malloc((size_t)need);
    config_dump(&c, text, need);
    const H5mdMeta meta = {.basin_version = "test",
                           .author = "test_rearr",
                           .config_text = text,
                           .command_line = "test_rearr"};
    char path[512];
    snprintf(path, sizeof path, "%s/is.h5", dir);
    H5md *h = NULL;
    int rc = h5md_create(path, &meta, N, sp, 0, &h);
    /* rows: the numbers the tracker would have measured */
    const Sums e1 = field_sums(1), e2 = field_sums(2);
    DispStats st1, st12;
    for (int64_t i = lo; i < hi; ++i) {
        double a[3], b[3];
        pos_is(7, i, a);
        pos0(i, b);
        for (int k = 0; k < 3; ++k)
            d[3 * (i - lo) + k] = a[k] - b[k];
    }
    analysis_disp_stats(lo, nb, d, &st12);
    for (int64_t i = lo; i < hi; ++i)
        field1(i, d + 3 * (i - lo));
    analysis_disp_stats(lo, nb, d, &st1);
    static const int frame_of[NS] = {0, -1, 1, 2, -1, 3, 4, -1};
    /* the no_attr run also stands for a file written before the SD columns existed */
    const int ncols = no_attr ? NCOLS - 2 : NCOLS;
    if (!no_table && rc == 0) rc = h5md_table_create(h, "/inherent", ncols, cols);
    const double phi0 = -3000.0;
    for (int s = 0; s < NS && rc == 0; ++s) {
        const int ev = s == 3 || s == 6;
        const double phi = phi0 + (s >= 3 ? 0.05 : 0.0) + (s >= 6 ? -0.02 : 0.0);
        double dr = NOISE_DR[s], nr = 1.0, dmax = 0.0, dmid = s ? 17 : -1;
        if (s == 3) {
            dr = sqrt(e1.s2);
            nr = e1.s2 * e1.s2 / e1.s4;
            dmax = D1;
            dmid = (double)C1;
        } else if (s == 6) {
            dr = sqrt(e2.s2);
            nr = e2.s2 * e2.s2 / e2.s4;
            dmax = D2;
            dmid = (double)C2;
        }
        const double dr0 = s < 3 ? NOISE_DR[s] : (s < 6 ? st1.norm : st12.norm);
        const double row[NCOLS] = {
            20.0 * s, 0.1 * s, s, phi, dr, ev ? fabs(s == 3 ? 0.05 : 0.02) : 1e-12, s ? nr : 0.0,
            dmax, dmid, dr0, phi - phi0, ev, s == 4 ? 0 : 1, 300, 450, 5e-10, 2e-9, 0.01,
            frame_of[s],
            /* SD confirms event 1 (sample 3), not event 2 (sample 6) */
            s == 3 ? 0.4 : (s == 6 ? 2e-4 : -1.0), s == 3 ? 1 : (s == 6 ? 0 : -1)};
        if (!no_table) rc = h5md_table_append(h, row);
        if (rc == 0 && frame_of[s] >= 0) {
            for (int64_t i = lo; i < hi; ++i) {
                pos_is(s, i, x + 3 * (i - lo));
                for (int k = 0; k < 3; ++k) { /* snapshots are wrapped into [0, L) */
                    double *q = x + 3 * (i - lo) + k;
                    *q -= L * floor(*q / L);
                    if (*q >= L) *q -= L;
                }
            }
            H5mdFrame f = {.step = 20 * s,
                           .time = 0.1 * s,
                           .box = {L, L, L},
                           .n_owned = (int)nb,
                           .id = ids,
                           .x = x};
            for (int k = 0; k < H5MD_NOBS; ++k)
                f.obs[k] = k == H5MD_OBS_POTENTIAL_ENERGY ? phi : NAN;
            rc = h5md_append(h, &f);
        }
    }
    if (!no_table && !no_attr && rc == 0) {
        rc = h5md_table_attr_write(h, "event_threshold", 0.01);
        if (rc == 0) rc = h5md_table_attr_write(h, "every", 0.1);
        if (rc == 0) rc = h5md_table_attr_write(h, "fmax_tol", 1e-9);
    }
    const int rc2 = h5md_close(&h);
    if (rc == 0) rc = rc2;
    if (traj && rc == 0) {
        snprintf(path, sizeof path, "%s/trajectory.h5", dir);
        rc = h5md_create(path, &meta, N, sp, 0, &h);
        for (int t = 0; t < NTRAJ && rc == 0; ++t) {
            for (int64_t i = lo; i < hi; ++i) {
                double x0[3], v[3];
                pos0(i, x0);
                velocity2(i, v);
                for (int k = 0; k < 3; ++k) {
                    const double u = x0[k] + v[k] * 0.5 * t;
                    const double im = floor(u / L);
                    img[3 * (i - lo) + k] = (int32_t)im;
                    x[3 * (i - lo) + k] = u - L * im;
                }
            }
            H5mdFrame f = {.step = 100 * t,
                           .time = 0.5 * t,
                           .box = {L, L, L},
                           .n_owned = (int)nb,
                           .id = ids,
                           .x = x,
                           .image = img};
            for (int k = 0; k < H5MD_NOBS; ++k)
                f.obs[k] = NAN;
            rc = h5md_append(h, &f);
        }
        const int rc3 = h5md_close(&h);
        if (rc == 0) rc = rc3;
    }
    free(text);
    free(ids);
    free(sp);
    free(img);
    free(x);
    free(d);
    return rc;
}

static char root[256];

static void make_root(void) {
    root[0] = '\0';
    if (par_rank() == 0) {
        const char *tmp = getenv("TMPDIR");
        snprintf(root, sizeof root, "%s/basin_rearr_XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(root)) root[0] = '\0';
    }
    MPI_Bcast(root, sizeof root, MPI_CHAR, 0, MPI_COMM_WORLD);
}

static void sub(char *out, size_t n, const char *name) {
    snprintf(out, n, "%s/%s", root, name);
}

static void mkdir_rank0(const char *p) {
    if (par_rank() == 0) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "mkdir -p '%s'", p);
        if (system(cmd) != 0) fprintf(stderr, "mkdir %s failed\n", p);
    }
    par_barrier();
}

/* Rank 0: count data lines and find the line of atom `id` in the field file. */
static void check_field_file(const char *file, int e) {
    if (par_rank() != 0) return;
    FILE *fp = fopen(file, "r");
    TCHECK(fp != NULL, "cannot open %s", file);
    if (!fp) return;
    char line[512];
    int64_t rows = 0, ok_center = 0;
    const int64_t c = e == 1 ? C1 : C2;
    double dc[3], xc[3];
    if (e == 1) {
        field1(c, dc);
        pos0(c, xc);
    } else {
        field2(c, dc);
        pos3(c, xc);
    }
    for (int k = 0; k < 3; ++k)
        xc[k] -= L * floor(xc[k] / L);
    while (fgets(line, sizeof line, fp)) {
        if (line[0] == '#') continue;
        long long id;
        int sp;
        double v[6];
        if (sscanf(line, "%lld %d %lf %lf %lf %lf %lf %lf", &id, &sp, &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5]) != 8) {
            TCHECK(0, "bad line in %s: %s", file, line);
            break;
        }
        TCHECK(id == rows, "line %lld has id %lld", (long long)rows, id);
        TCHECK(sp == (int)(id % 2), "species of %lld: %d", id, sp);
        if (id == c) {
            ok_center = 1;
            for (int k = 0; k < 3; ++k) {
                TCLOSE(v[k], xc[k], 0.0, 1e-9);
                TCLOSE(v[3 + k], dc[k], 0.0, 1e-10);
            }
        }
        ++rows;
    }
    fclose(fp);
    TCHECK(rows == N && ok_center, "%lld rows, centre found %lld", (long long)rows,
           (long long)ok_center);
}

static void check_event(const char *dir, int e, const char *field) {
    RearrOptions o;
    analysis_rearr_options_default(&o);
    o.event = e;
    o.field_out = field;
    o.quiet = e == 2; /* one printed profile in the log is enough */
    RearrResult r;
    TOK(analysis_rearr_run(dir, &o, &r));
    const Sums s = field_sums(e);
    const int64_t c = e == 1 ? C1 : C2;
    TCHECK(r.event == e && r.row == (e == 1 ? 3 : 6), "event %d row %lld", e, (long long)r.row);
    TCHECK(r.frame_before == (e == 1 ? 1 : 3) && r.frame_after == (e == 1 ? 2 : 4),
           "frames %lld -> %lld", (long long)r.frame_before, (long long)r.frame_after);
    TCHECK(r.field.max_id == c && r.profile.center_id == c, "centre %lld / %lld, expected %lld",
           (long long)r.field.max_id, (long long)r.profile.center_id, (long long)c);
    TCLOSE(r.field.max, e == 1 ? D1 : D2, 1e-12, 0.0);
    TCLOSE(r.field.norm, sqrt(s.s2), 1e-12, 0.0);
    TCLOSE(r.field.n_rearr, s.s2 * s.s2 / s.s4, 1e-10, 0.0);
    TCLOSE(r.profile.a, e == 1 ? A1 : A2, 0.0, 0.02);
    TCHECK(r.profile.fit_bins >= 20 && r.profile.fit_rmin == 2.0 && r.profile.fit_rmax == 10.0,
           "fit window %g..%g, %d bins", r.profile.fit_rmin, r.profile.fit_rmax,
           r.profile.fit_bins);
    if (par_rank() == 0)
        printf("event %d: a = %.4f +- %.4f (true %.2f), N_rearr %.3f\n", e, r.profile.a,
               r.profile.a_err, e == 1 ? A1 : A2, r.field.n_rearr);
    analysis_rearr_result_free(&r);
    if (field) check_field_file(field, e);
    /* a narrower window still recovers the exponent (the field is an exact power law) */
    o.field_out = NULL;
    o.quiet = 1;
    o.fit_rmin = 3.0;
    o.fit_rmax = 8.0;
    TOK(analysis_rearr_run(dir, &o, &r));
    TCLOSE(r.profile.a, e == 1 ? A1 : A2, 0.0, 0.02);
    TCHECK(r.profile.fit_rmin == 3.0 && r.profile.fit_rmax == 8.0, "window");
    analysis_rearr_result_free(&r);
}

static void check_catalogue(const char *dir, const char *out) {
    RearrOptions o;
    analysis_rearr_options_default(&o);
    o.out = out;
    o.quiet = 1;
    RearrResult r;
    TOK(analysis_rearr_run(dir, &o, &r));
    TCHECK(r.nevents == 2 && r.event_row && r.event_row[0] == 3 && r.event_row[1] == 6,
           "events %lld", (long long)r.nevents);
    TCHECK(r.report.yes == 1 && r.report.events == 2 && r.report.first_event == 3,
           "verdict %d events %lld first %lld", r.report.yes, (long long)r.report.events,
           (long long)r.report.first_event);
    TCLOSE(r.report.first_time, 0.3, 1e-12, 0.0);
    TCLOSE(r.report.floor_dr, 4e-9, 1e-12, 0.0);
    const Sums s1 = field_sums(1), s2 = field_sums(2);
    TCLOSE(r.report.mean_event_nrearr, 0.5 * (s1.s2 * s1.s2 / s1.s4 + s2.s2 * s2.s2 / s2.s4), 1e-12,
           0.0);
    TCHECK(r.threshold == 0.01 && r.threshold_from == 1, "threshold %g from %d", r.threshold,
           r.threshold_from);
    TCHECK(r.samples == NS && r.unconverged == 1 && r.natoms == N && r.L == L,
           "samples %lld unconverged %lld N %lld L %g", (long long)r.samples,
           (long long)r.unconverged, (long long)r.natoms, r.L);
    TCHECK(r.sd_verified == 2 && r.sd_refuted == 1, "SD check: %lld verified, %lld refuted",
           (long long)r.sd_verified, (long long)r.sd_refuted);
    TCLOSE(r.every, 0.1, 0.0, 0.0);
    TCHECK(r.event == 0 && r.msd_frames == 0, "no profile, no MSD asked");
    analysis_rearr_result_free(&r);
    if (par_rank() == 0) {
        FILE *fp = fopen(out, "r");
        TCHECK(fp != NULL, "no %s", out);
        char line[512];
        int data = 0, verdict = 0;
        while (fp && fgets(line, sizeof line, fp)) {
            if (line[0] != '#') {
                long long ev, idx;
                if (sscanf(line, "%lld %lld", &ev, &idx) == 2 && ev == data + 1 &&
                    idx == (data ? 6 : 3))
                    ++data;
                else
                    data = -100;
            }
            if (!strncmp(line, "# rearrangements: Yes", 21)) verdict = 1;
        }
        if (fp) fclose(fp);
        TCHECK(data == 2 && verdict, "out file: %d data rows, verdict line %d", data, verdict);
    }
    /* --threshold: above both events -> No; the verdict follows the override, not the file */
    o.out = NULL;
    o.threshold = 10.0;
    TOK(analysis_rearr_run(dir, &o, &r));
    TCHECK(r.nevents == 0 && !r.report.yes && r.threshold_from == 0, "threshold 10: %lld events",
           (long long)r.nevents);
    analysis_rearr_result_free(&r);
    o.threshold = 0.65; /* between the two events (|dr_IS| 0.72 and 0.61) */
    TOK(analysis_rearr_run(dir, &o, &r));
    TCHECK(r.nevents == 1 && r.event_row[0] == 3, "threshold 0.65: %lld events",
           (long long)r.nevents);
    analysis_rearr_result_free(&r);
}

static void check_msd(const char *dir, const char *out) {
    double v2 = 0.0;
    for (int64_t i = 0; i < N; ++i) {
        double v[3];
        v2 += velocity2(i, v);
    }
    v2 /= N;
    for (int stride = 1; stride <= 2; ++stride) {
        RearrOptions o;
        analysis_rearr_options_default(&o);
        o.msd = 1;
        o.origin_stride = stride;
        o.msd_out = stride == 2 ? out : NULL;
        o.quiet = stride == 1;
        RearrResult r;
        TOK(analysis_rearr_run(dir, &o, &r));
        TCHECK(r.msd_frames == NTRAJ, "%d MSD frames", r.msd_frames);
        for (int k = 0; k < r.msd_frames; ++k) {
            TCLOSE(r.msd_lag[k], 0.5 * k, 1e-14, 0.0);
            TCLOSE(r.msd[k], v2 * 0.25 * k * k, 1e-10, 1e-14);
        }
        analysis_rearr_result_free(&r);
    }
    if (par_rank() == 0) {
        FILE *fp = fopen(out, "r");
        int rows = 0;
        char line[256];
        while (fp && fgets(line, sizeof line, fp))
            rows += line[0] != '#';
        if (fp) fclose(fp);
        TCHECK(rows == NTRAJ, "msd file has %d rows", rows);
    }
}

/* A call that must fail with code `code` on every rank, with `what` in the message. */
static void expect_error(const char *dir, const RearrOptions *o, int code, const char *what) {
    RearrResult r;
    const int rc = analysis_rearr_run(dir, o, &r);
    int agree[2] = {rc, -rc};
    par_max_i(agree, 2);
    TCHECK(rc == code && agree[0] == -agree[1], "%s: rc %d (want %d): %s", what, rc, code,
           basin_error_message());
    TCHECK(strstr(basin_error_message(), what) != NULL, "message '%s' lacks '%s'",
           basin_error_message(), what);
    if (par_rank() == 0) printf("expected error: %s\n", basin_error_message());
    basin_error_clear();
    analysis_rearr_result_free(&r);
}

int main(int argc, char **argv) {
    tu_init(&argc, &argv);
    if (argc == 3 && !strcmp(argv[1], "--write")) {
        const int rc = write_run(argv[2], 0, 0, 1);
        if (rc && par_rank() == 0) fprintf(stderr, "write failed: %s\n", basin_error_message());
        basin_finalize();
        return rc ? 1 : 0;
    }
    make_root();
    TCHECK(root[0] != '\0', "mkdtemp failed");
    if (!root[0]) return tu_finish();
    char good[300], noattr[300], notable[300], empty[300], f1[300], f2[300], out[300], msd[300];
    sub(good, sizeof good, "good");
    sub(noattr, sizeof noattr, "noattr");
    sub(notable, sizeof notable, "notable");
    sub(empty, sizeof empty, "empty");
    sub(f1, sizeof f1, "field1.dat");
    sub(f2, sizeof f2, "field2.dat");
    sub(out, sizeof out, "catalogue.dat");
    sub(msd, sizeof msd, "msd.dat");
    mkdir_rank0(good);
    mkdir_rank0(noattr);
    mkdir_rank0(notable);
    mkdir_rank0(empty);
    TOK(write_run(good, 0, 0, 1));
    TOK(write_run(noattr, 1, 0, 0));
    TOK(write_run(notable, 0, 1, 0));

    check_catalogue(good, out);
    check_event(good, 1, f1);
    check_event(good, 2, f2);
    check_msd(good, msd);

    RearrOptions o;
    analysis_rearr_options_default(&o);
    o.quiet = 1;
    RearrResult r;
    TOK(analysis_rearr_run(noattr, &o, &r));
    TCHECK(r.threshold == 0.02 && r.threshold_from == 2 && r.nevents == 2 && isnan(r.every),
           "no attribute: threshold %g from %d", r.threshold, r.threshold_from);
    TCHECK(r.sd_verified == 0 && r.sd_refuted == 0, "no SD columns: %lld verified",
           (long long)r.sd_verified);
    analysis_rearr_result_free(&r);
    TOK(analysis_rearr_run(good, &o, NULL)); /* no result wanted */

    o.event = 3;
    expect_error(good, &o, BASIN_ERR_CONFIG, "event 3 out of range");
    o.event = 1;
    o.threshold = 1.5e-9; /* sample 1 (2e-9 of noise) becomes an event without snapshots */
    expect_error(good, &o, BASIN_ERR_IO, "no snapshot of the IS after the event");
    o.threshold = 0.0;
    o.event = 0;
    char missing[300];
    sub(missing, sizeof missing, "missing");
    expect_error(missing, &o, BASIN_ERR_IO, "no such run directory");
    expect_error(empty, &o, BASIN_ERR_IO, "no such file");
    expect_error(notable, &o, BASIN_ERR_IO, "no inherent-structure table");
    o.msd = 1;
    expect_error(noattr, &o, BASIN_ERR_IO, "trajectory.h5");

    par_barrier();
    if (par_rank() == 0) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
        if (system(cmd) != 0) fprintf(stderr, "cleanup of %s failed\n", root);
    }
    return tu_finish();
}
