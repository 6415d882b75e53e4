/* The quench inside `basin modes` (src/harmonic/run.c, harmonic_modes_run) and its inputs.
 *
 *  (a) An FCC crystal (N = 256) with 0.02 sigma Gaussian displacements, given as a LAMMPS data
 *      file, is quenched back to the perfect lattice: its spectrum equals that of the
 *      unperturbed lattice (harmonic_modes_compute on the builder's positions) to 1e-8
 *      relative per eigenvalue, the stored positions are the lattice (<= 1e-8, up to a uniform
 *      translation) and the file records the quench (quenched, iterations, max |F| < fmax).
 *  (b) A random glass start (N = 300, not a minimum) is quenched: exactly 3 translations, every
 *      other eigenvalue > 0, and the stored positions have an all-pairs brute-force max |F|
 *      below the tolerance (an independent check of the file's max_force).
 *  (c) The same start with quench = 0 fails with "not a minimum"; a quench that cannot converge
 *      (inherent.max_iter = 50) fails with one BASIN_ERR_PHYSICS line naming the input, the
 *      iterations and the final max |F|.
 *  (d) On P > 1 ranks, (b) equals a one-rank run (MPI_COMM_SELF, in-process) eigenvalue by
 *      eigenvalue: the quenches sum forces in different orders and stop at different points
 *      inside the tolerance, so agreement is to the quench's floor, printed.
 *  (e) Run directories: an empty one is refused; final.data alone is read (and --frame
 *      refused, and harmonic_modes_input_config reports "no stored configuration");
 *      trajectory.h5 wins over final.data (last frame or frame K) and supplies the configuration;
 *      an is.h5 without frames falls back to trajectory.h5; an is.h5 with frames wins. */
#include <hdf5.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basin/config.h"
#include "basin/h5md.h"
#include "basin/lammps_data.h"
#include "harmonic_testutil.h"

#define NFCC 256
#define NGLASS 300

typedef struct ModesFile {
    int nm, n;
    double *lambda;
    int *translation;
    double *x; /* [3 natoms] */
    double attr[8];
    int64_t quenched, iterations;
    char input[1024];
} ModesFile;

enum { A_FMAX_TOL, A_MAX_FORCE, A_PHI, A_PHI_INPUT, A_MAX_DISP, A_FORCE_INPUT, A_NATTR };
static const char *const ATTR_NAMES[A_NATTR] = {
    "quench_fmax_tol",         "max_force",      "phi", "phi_input",
    "quench_max_displacement", "max_force_input"};

static void mf_free(ModesFile *f) {
    free(f->lambda);
    free(f->translation);
    free(f->x);
    memset(f, 0, sizeof(*f));
}

/* Serial HDF5 on every rank, after the collective write has closed the file. */
static int mf_read(const char *path, int64_t natoms, ModesFile *out) {
    memset(out, 0, sizeof(*out));
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return -1;
    int bad = 0;
    hid_t d = H5Dopen2(f, "/modes/eigenvalue", H5P_DEFAULT);
    hsize_t dim = 0;
    hid_t sp = H5Dget_space(d);
    H5Sget_simple_extent_dims(sp, &dim, NULL);
    H5Sclose(sp);
    out->nm = (int)dim;
    out->lambda = calloc(dim, sizeof(double));
    out->translation = calloc(dim, sizeof(int));
    out->x = calloc(3 * (size_t)natoms, sizeof(double));
    bad |= H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out->lambda) < 0;
    H5Dclose(d);
    d = H5Dopen2(f, "/modes/translation", H5P_DEFAULT);
    bad |= H5Dread(d, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out->translation) < 0;
    H5Dclose(d);
    d = H5Dopen2(f, "/structure/position", H5P_DEFAULT);
    bad |= H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out->x) < 0;
    H5Dclose(d);
    hid_t g = H5Gopen2(f, "/parameters", H5P_DEFAULT);
    for (int k = 0; k < A_NATTR; ++k) {
        hid_t a = H5Aopen(g, ATTR_NAMES[k], H5P_DEFAULT);
        bad |= a < 0 || H5Aread(a, H5T_NATIVE_DOUBLE, &out->attr[k]) < 0;
        if (a >= 0) H5Aclose(a);
    }
    const char *inames[2] = {"quenched", "quench_iterations"};
    int64_t *ivals[2] = {&out->quenched, &out->iterations};
    for (int k = 0; k < 2; ++k) {
        hid_t a = H5Aopen(g, inames[k], H5P_DEFAULT);
        bad |= a < 0 || H5Aread(a, H5T_NATIVE_INT64, ivals[k]) < 0;
        if (a >= 0) H5Aclose(a);
    }
    hid_t a = H5Aopen(g, "input", H5P_DEFAULT);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, sizeof out->input);
    H5Tset_cset(t, H5T_CSET_UTF8); /* as written: HDF5 converts no character sets */
    bad |= a < 0 || H5Aread(a, t, out->input) < 0;
    H5Tclose(t);
    if (a >= 0) H5Aclose(a);
    H5Gclose(g);
    H5Fclose(f);
    return bad ? -1 : 0;
}

static char path_buf[4][256];
static const char *tmp(int slot, const char *tag) {
    snprintf(path_buf[slot], sizeof path_buf[slot], "np%d_modesq_%s", par_size(), tag);
    return path_buf[slot];
}

static void rm_rank0(const char *path) {
    par_barrier();
    if (par_rank() == 0) unlink(path);
}

/* max_k |lambda_k - ref_k| / ref_k over the non-translational modes (both ascending). */
static double rel_diff(const double *lambda, const double *ref, const int *trans, int n) {
    double worst = 0.0;
    for (int k = 0; k < n; ++k)
        if (!trans[k]) worst = fmax(worst, fabs(lambda[k] - ref[k]) / fabs(ref[k]));
    return worst;
}

/* max_i |x_i - ref_i - <x - ref>| (minimum image): equal up to a uniform translation. */
static double pos_diff(const double *x, const double *ref, int64_t n, double L) {
    double mean[3] = {0.0, 0.0, 0.0}, worst = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        double dx[3];
        model_min_image(x + 3 * i, ref + 3 * i, L, dx);
        for (int k = 0; k < 3; ++k)
            mean[k] += dx[k] / (double)n;
    }
    for (int64_t i = 0; i < n; ++i) {
        double dx[3];
        model_min_image(x + 3 * i, ref + 3 * i, L, dx);
        worst = fmax(worst, sqrt((dx[0] - mean[0]) * (dx[0] - mean[0]) +
                                 (dx[1] - mean[1]) * (dx[1] - mean[1]) +
                                 (dx[2] - mean[2]) * (dx[2] - mean[2])));
    }
    return worst;
}

/* x + amp * Gaussian per atom (stream TEST, counter c), mean removed (no net translation). */
static void perturb(const double *x, int64_t n, double amp, uint64_t c, double *out) {
    double mean[3] = {0.0, 0.0, 0.0};
    for (int64_t i = 0; i < n; ++i) {
        double g[3];
        rng_normal3(7, RNG_STREAM_TEST, (uint64_t)i, c, g);
        for (int k = 0; k < 3; ++k) {
            out[3 * i + k] = amp * g[k];
            mean[k] += amp * g[k] / (double)n;
        }
    }
    for (int64_t i = 0; i < n; ++i)
        for (int k = 0; k < 3; ++k)
            out[3 * i + k] = x[3 * i + k] + out[3 * i + k] - mean[k];
}

/* Modes of `input` through the pipeline, read back; 0 on success. */
static int run_and_read(const Config *c, const char *input, int64_t frame, const HarmonicOptions *o,
                        const char *out, int64_t n, ModesFile *mf) {
    const int rc = harmonic_modes_run(c, input, frame, o, out);
    par_barrier();
    if (rc) return rc;
    const int r2 = mf_read(out, n, mf);
    TCHECK(r2 == 0, "cannot read %s back", out);
    rm_rank0(out);
    return r2 ? BASIN_ERR_IO : 0;
}

static void check_fcc_file(const char *what, const ModesFile *mf, const double *lref,
                           const TestSystem *s) {
    const int n = 3 * NFCC;
    TCHECK(mf->nm == n, "%s: %d modes", what, mf->nm);
    if (mf->nm != n) return;
    const double de = rel_diff(mf->lambda, lref, mf->translation, n);
    const double dp = pos_diff(mf->x, s->x, s->n, s->L);
    TCHECK(de <= 1e-8, "%s: eigenvalues differ from the perfect lattice by %.3g relative", what,
           de);
    TCHECK(dp <= 1e-8, "%s: positions differ from the lattice by %.3g", what, dp);
    TCHECK(mf->quenched == 1 && mf->attr[A_MAX_FORCE] < mf->attr[A_FMAX_TOL],
           "%s: quenched %lld, max |F| %g, tolerance %g", what, (long long)mf->quenched,
           mf->attr[A_MAX_FORCE], mf->attr[A_FMAX_TOL]);
    if (par_rank() == 0)
        printf("%-34s quench %4lld iterations, max |F| %.2e -> %.2e, max disp %.4f; "
               "eigenvalues vs lattice %.2e rel, positions %.2e\n",
               what, (long long)mf->iterations, mf->attr[A_FORCE_INPUT], mf->attr[A_MAX_FORCE],
               mf->attr[A_MAX_DISP], de, dp);
}

static void write_traj(const char *path, const TestSystem *s, const char *cfg, int nframes,
                       const double *const *frames) {
    Domain *d = NULL;
    TOK(su_domain(s, frames[0], NULL, 0.3, &d));
    const H5mdMeta meta = {.basin_version = "test", .config_text = cfg};
    H5md *h = NULL;
    TOK(h5md_create_domain(path, &meta, d, 0, &h));
    const double obs[H5MD_NOBS] = {0};
    for (int f = 0; f < nframes && h; ++f) {
        for (int i = 0; i < d->nlocal; ++i)
            for (int k = 0; k < 3; ++k)
                d->x[3 * i + k] = frames[f][3 * d->id[i] + k];
        TOK(h5md_append_frame(h, d, 100 * (f + 1), 0.5 * (f + 1), obs));
    }
    TOK(h5md_close(&h));
    domain_destroy(&d);
}

int main(int argc, char **argv) {
    tu_init(&argc, &argv);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    HarmonicOptions o;
    harmonic_options_default(&o);

    /* ---- (a) perturbed FCC -> perfect-lattice spectrum ---- */
    TestSystem s;
    TOK(su_build(&s, MODEL_CRYSTAL, NFCC, 1));
    const int n = 3 * NFCC;
    double *lref = calloc(n, sizeof(double));
    {
        Domain *d = NULL;
        TOK(su_domain(&s, s.x, NULL, 0.3, &d));
        const PairPotential pot = model_potential(&s.m);
        HarmonicModes *m = NULL;
        TOK(harmonic_modes_compute(d, &pot, &o, &m));
        if (m) memcpy(lref, m->lambda, n * sizeof(double));
        harmonic_modes_destroy(&m);
        domain_destroy(&d);
    }
    double *xp = calloc(3 * NFCC, sizeof(double)), *xp2 = calloc(3 * NFCC, sizeof(double));
    perturb(s.x, NFCC, 0.02, 0, xp);
    perturb(s.x, NFCC, 0.02, 1, xp2);
    Config cc;
    config_defaults(&cc);
    cc.kind = MODEL_CRYSTAL;
    cc.natoms = NFCC;
    const char *data = tmp(0, "fcc.data");
    TOK(lammps_data_write(data, NULL, NFCC, 1, s.L, xp, NULL, s.species, NULL));
    ModesFile mf;
    if (run_and_read(&cc, data, -1, &o, tmp(1, "fcc.h5"), NFCC, &mf) == 0) {
        check_fcc_file("(a) FCC + 0.02 noise, data file", &mf, lref, &s);
        TCHECK(mf.attr[A_MAX_DISP] > 0.01 && mf.attr[A_PHI] < mf.attr[A_PHI_INPUT],
               "(a) max displacement %g, Phi %.15g -> %.15g", mf.attr[A_MAX_DISP],
               mf.attr[A_PHI_INPUT], mf.attr[A_PHI]);
        mf_free(&mf);
    }
    TOK(harmonic_modes_run(&cc, NULL, -1, &o, tmp(1, "fccb.h5"))); /* builder: exact minimum */
    rm_rank0(tmp(1, "fccb.h5"));

    /* ---- (b) random glass start -> quench -> a minimum ---- */
    Config cg;
    config_defaults(&cg);
    cg.kind = MODEL_GLASS;
    cg.natoms = NGLASS;
    cg.seed = 3;
    TestSystem g;
    TOK(su_build(&g, MODEL_GLASS, NGLASS, 3)); /* the same start as the pipeline's builder */
    ModesFile mg = {0};
    const int rcg = run_and_read(&cg, NULL, -1, &o, tmp(1, "glass.h5"), NGLASS, &mg);
    TOK(rcg);
    if (rcg == 0) {
        int nt = 0, nneg = 0;
        for (int k = 0; k < mg.nm; ++k) {
            nt += mg.translation[k];
            nneg += !mg.translation[k] && !(mg.lambda[k] > 0.0);
        }
        TCHECK(nt == 3 && nneg == 0, "(b) %d translations, %d non-positive other eigenvalues", nt,
               nneg);
        double *f = calloc(3 * NGLASS, sizeof(double));
        ht_forces(&g, mg.x, f);
        double fb = 0.0;
        for (int i = 0; i < NGLASS; ++i)
            fb = fmax(fb, sqrt(f[3 * i] * f[3 * i] + f[3 * i + 1] * f[3 * i + 1] +
                               f[3 * i + 2] * f[3 * i + 2]));
        free(f);
        /* the brute-force sum differs from the kernel's by round-off (~1e-13) */
        TCHECK(fb < mg.attr[A_FMAX_TOL] + 1e-12 && mg.attr[A_MAX_FORCE] < mg.attr[A_FMAX_TOL],
               "(b) all-pairs max |F| %g, file %g, tolerance %g", fb, mg.attr[A_MAX_FORCE],
               mg.attr[A_FMAX_TOL]);
        TCHECK(mg.attr[A_FMAX_TOL] == HARMONIC_QUENCH_FMAX, "(b) default tolerance %g",
               mg.attr[A_FMAX_TOL]);
        if (par_rank() == 0)
            printf("(b) glass start N = %d: quench %lld iterations, max |F| %.2e -> %.2e "
                   "(all-pairs %.2e), Phi/N %.10f -> %.10f, lowest lambda %.6g\n",
                   NGLASS, (long long)mg.iterations, mg.attr[A_FORCE_INPUT], mg.attr[A_MAX_FORCE],
                   fb, mg.attr[A_PHI_INPUT] / NGLASS, mg.attr[A_PHI] / NGLASS, mg.lambda[3]);

        /* ---- (d) one rank (in-process) vs P ranks ---- */
        if (par_size() > 1) {
            double *l1 = calloc(mg.nm, sizeof(double));
            int ok = 1;
            if (par_rank() == 0) {
                par_push_comm(MPI_COMM_SELF);
                ModesFile m1;
                snprintf(path_buf[2], sizeof path_buf[2], "np%d_modesq_ref.h5", par_size());
                ok = harmonic_modes_run(&cg, NULL, -1, &o, path_buf[2]) == 0 &&
                     mf_read(path_buf[2], NGLASS, &m1) == 0 && m1.nm == mg.nm;
                if (ok) memcpy(l1, m1.lambda, mg.nm * sizeof(double));
                mf_free(&m1);
                unlink(path_buf[2]);
                par_pop_comm();
            }
            double okd = ok;
            par_bcast_d(&okd, 1, 0);
            par_bcast_d(l1, mg.nm, 0);
            TCHECK(okd == 1.0, "(d) one-rank reference failed");
            const double dl = rel_diff(mg.lambda, l1, mg.translation, mg.nm);
            TCHECK(dl <= 1e-10, "(d) %d ranks vs one rank: eigenvalues differ by %.3g relative",
                   par_size(), dl);
            if (par_rank() == 0)
                printf("(d) %d ranks vs 1 rank: max relative eigenvalue difference %.2e\n",
                       par_size(), dl);
            free(l1);
        }
        mf_free(&mg);
    }

    /* ---- (c) --no-quench and a quench that cannot converge ---- */
    o.quench = 0;
    int rc = harmonic_modes_run(&cg, NULL, -1, &o, tmp(1, "noq.h5"));
    TCHECK(rc == BASIN_ERR_PHYSICS && strstr(basin_error_message(), "not a minimum"),
           "(c) --no-quench on a glass start: rc %d '%s'", rc, basin_error_message());
    basin_error_clear();
    o.quench = 1;
    cg.max_iter = 50;
    rc = harmonic_modes_run(&cg, NULL, -1, &o, tmp(1, "noconv.h5"));
    const char *msg = basin_error_message();
    TCHECK(rc == BASIN_ERR_PHYSICS && strstr(msg, "did not converge") &&
               strstr(msg, "after 50 iterations") && strstr(msg, "max |F| = ") &&
               strstr(msg, "glass built from the configuration") && !strchr(msg, '\n'),
           "(c) unconverged quench: rc %d '%s'", rc, msg);
    basin_error_clear();
    cg.max_iter = 100000;
    o.quench_fmax = -1.0;
    rc = harmonic_modes_run(&cg, NULL, -1, &o, tmp(1, "neg.h5"));
    TCHECK(rc == BASIN_ERR_CONFIG, "(c) negative fmax: rc %d", rc);
    basin_error_clear();
    o.quench_fmax = 0.0;

    /* ---- (e) run directories ---- */
    char dir[128], file[256], cfgtxt[16384];
    snprintf(dir, sizeof dir, "np%d_modesq_rundir", par_size());
    if (par_rank() == 0) mkdir(dir, 0755);
    par_barrier();
    Config c2;
    int loaded = 7;
    TOK(harmonic_modes_input_config(dir, &c2, &loaded));
    TCHECK(loaded == -1, "(e) empty directory: loaded %d", loaded);
    TOK(harmonic_modes_input_config(data, &c2, &loaded));
    TCHECK(loaded == 0, "(e) a data file: loaded %d", loaded);
    rc = harmonic_modes_run(&cc, dir, -1, &o, tmp(1, "dir.h5"));
    TCHECK(rc == BASIN_ERR_IO && strstr(basin_error_message(), "not a run directory") &&
               strstr(basin_error_message(), dir),
           "(e) empty directory: rc %d '%s'", rc, basin_error_message());
    basin_error_clear();

    snprintf(file, sizeof file, "%s/final.data", dir);
    TOK(lammps_data_write(file, NULL, NFCC, 1, s.L, xp2, NULL, s.species, NULL));
    if (run_and_read(&cc, dir, -1, &o, tmp(1, "dir.h5"), NFCC, &mf) == 0) {
        check_fcc_file("(e) RUN_DIR/final.data", &mf, lref, &s);
        TCHECK(strstr(mf.input, "final.data") != NULL, "(e) input '%s'", mf.input);
        mf_free(&mf);
    }
    rc = harmonic_modes_run(&cc, dir, 0, &o, tmp(1, "dir.h5"));
    TCHECK(rc == BASIN_ERR_USAGE && strstr(basin_error_message(), "--frame 0"),
           "(e) --frame with final.data only: rc %d '%s'", rc, basin_error_message());
    basin_error_clear();
    TOK(harmonic_modes_input_config(dir, &c2, &loaded));
    TCHECK(loaded == -1, "(e) final.data only: loaded %d", loaded);

    /* trajectory.h5 with two thermal frames and the run's configuration */
    Config crun = cc;
    crun.fmax_tol = 3e-10; /* recognisable */
    config_dump(&crun, cfgtxt, sizeof cfgtxt);
    snprintf(file, sizeof file, "%s/trajectory.h5", dir);
    const double *frames[2] = {xp, xp2};
    write_traj(file, &s, cfgtxt, 2, frames);
    config_defaults(&c2);
    TOK(harmonic_modes_input_config(dir, &c2, &loaded));
    TCHECK(loaded == 1 && c2.kind == MODEL_CRYSTAL && c2.natoms == NFCC && c2.fmax_tol == 3e-10,
           "(e) config from trajectory.h5: loaded %d, kind %d, N %lld, fmax %g", loaded,
           (int)c2.kind, (long long)c2.natoms, c2.fmax_tol);
    if (run_and_read(&c2, dir, -1, &o, tmp(1, "dir.h5"), NFCC, &mf) == 0) {
        check_fcc_file("(e) RUN_DIR/trajectory.h5 last", &mf, lref, &s);
        TCHECK(strstr(mf.input, "trajectory.h5 frame 1 (step 200)") &&
                   mf.attr[A_FMAX_TOL] == HARMONIC_QUENCH_FMAX,
               "(e) input '%s', tolerance %g", mf.input, mf.attr[A_FMAX_TOL]);
        mf_free(&mf);
    }
    if (run_and_read(&c2, dir, 0, &o, tmp(1, "dir.h5"), NFCC, &mf) == 0) {
        TCHECK(strstr(mf.input, "trajectory.h5 frame 0 (step 100)") != NULL, "(e) input '%s'",
               mf.input);
        /* frame 0 is xp: the same start as (a) */
        TCHECK(mf.attr[A_MAX_DISP] > 0.01, "(e) frame 0 max displacement %g", mf.attr[A_MAX_DISP]);
        mf_free(&mf);
    }

    /* is.h5 without particle frames: the trajectory is used */
    snprintf(file, sizeof file, "%s/is.h5", dir);
    write_traj(file, &s, cfgtxt, 0, frames);
    if (run_and_read(&c2, dir, -1, &o, tmp(1, "dir.h5"), NFCC, &mf) == 0) {
        TCHECK(strstr(mf.input, "trajectory.h5 frame 1") != NULL, "(e) input '%s'", mf.input);
        mf_free(&mf);
    }
    /* is.h5 with an inherent structure (the lattice): it wins; --no-quench takes it as it is */
    rm_rank0(file);
    const double *isf[1] = {s.x};
    write_traj(file, &s, cfgtxt, 1, isf);
    TOK(harmonic_modes_input_config(dir, &c2, &loaded));
    TCHECK(loaded == 1, "(e) config from is.h5: loaded %d", loaded);
    o.quench = 0;
    if (run_and_read(&c2, dir, -1, &o, tmp(1, "dir.h5"), NFCC, &mf) == 0) {
        TCHECK(strstr(mf.input, "is.h5 frame 0") != NULL && mf.quenched == 0,
               "(e) input '%s', quenched %lld", mf.input, (long long)mf.quenched);
        const double de = rel_diff(mf.lambda, lref, mf.translation, n);
        TCHECK(de <= 1e-10, "(e) is.h5 lattice, no quench: %.3g", de);
        mf_free(&mf);
    }
    o.quench = 1;

    par_barrier();
    if (par_rank() == 0) {
        const char *names[] = {"is.h5", "trajectory.h5", "final.data"};
        for (int k = 0; k < 3; ++k) {
            snprintf(file, sizeof file, "%s/%s", dir, names[k]);
            unlink(file);
        }
        rmdir(dir);
        unlink(data);
    }
    free(xp);
    free(xp2);
    free(lref);
    su_free(&s);
    su_free(&g);
    return tu_finish();
}
