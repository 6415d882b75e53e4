/* `basin modes`: configuration in, quench, modes file out (basin/harmonic.h).
 *
 * The configuration is read as global id-ordered arrays (O(N) per rank, as every start-up path
 * of basin does: domain_distribute() takes that form) and distributed over a Domain. Unless
 * --no-quench, it is then quenched to its inherent structure on that Domain by the minimize
 * module (the same minimiser and keys as the in-situ tracker), because the harmonic analysis is
 * only meaningful at a minimum and most inputs (a thermal trajectory frame, final.data, a glass
 * start) are not one. The global input arrays are kept until after the quench: they are what
 * the largest displacement is measured against, at no extra memory (they exist anyway). The
 * domain's half list then drives the Hessian assembly, and harmonic_modes_compute() checks the
 * minimum condition on the spectrum whatever the quench did.
 *
 * A run directory is resolved to one file by rank 0 (stat/access), and the choice is broadcast,
 * so that every rank reads the same file even on a file system with delayed visibility. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>

#include "../util/parallel.h"
#include "basin/h5md.h"
#include "basin/harmonic.h"
#include "basin/lammps_data.h"
#include "basin/md.h"
#include "basin/minimize.h"
#include "basin/util.h"

typedef struct Input {
    int64_t n;
    double L;
    double *x;
    int *species;
    char what[8192]; /* description for the log and the file's "input" attribute */
    char name[8192]; /* short name for error lines: "<name>: <what went wrong>" */
} Input;

static void input_free(Input *in) {
    free(in->x);
    free(in->species);
    in->x = NULL;
    in->species = NULL;
}

static int ends_with(const char *s, const char *suffix) {
    const size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

static int is_h5_name(const char *s) {
    return ends_with(s, ".h5") || ends_with(s, ".h5md") || ends_with(s, ".hdf5");
}

/* What a run directory offers, in order of preference (see harmonic_modes_run). */
enum { RUN_NOT_DIR = 0, RUN_IS = 1, RUN_TRAJ = 2, RUN_DATA = 3, RUN_EMPTY = 4 };
static const char *const RUN_FILES[] = {"", "is.h5", "trajectory.h5", "final.data", ""};

static int bcast_int(int v) {
    MPI_Bcast(&v, 1, MPI_INT, 0, par_comm());
    return v;
}

/* Collective. Which file of the run directory `input` to read, the first readable one from
 * `first` on (RUN_NOT_DIR if input is not a directory: then it is a file name as it stands).
 * Decided on rank 0. */
static int run_dir_kind(const char *input, int first) {
    int kind = RUN_NOT_DIR;
    if (par_rank() == 0) {
        struct stat st;
        if (input && stat(input, &st) == 0 && S_ISDIR(st.st_mode)) {
            kind = RUN_EMPTY;
            for (int k = first; k <= RUN_DATA; ++k) {
                char p[8192];
                snprintf(p, sizeof p, "%s/%s", input, RUN_FILES[k]);
                if (access(p, R_OK) == 0) {
                    kind = k;
                    break;
                }
            }
        }
    }
    return bcast_int(kind);
}

static int read_h5md(const char *path, int64_t frame, Input *in) {
    H5md *h = NULL;
    BCHK(h5md_open_read(path, &h));
    const int64_t nf = h5md_nframes(h), n = h5md_natoms(h);
    int rc = 0;
    if (nf < 1) rc = basin_error(BASIN_ERR_IO, path, "frame", "the trajectory has no frames");
    if (frame < 0) frame = nf - 1;
    if (!rc && frame >= nf)
        rc = basin_error(BASIN_ERR_CONFIG, path, "frame",
                         "frame %lld requested, the file has %lld (0 .. %lld)", (long long)frame,
                         (long long)nf, (long long)(nf - 1));
    int32_t *sp = NULL;
    if (!rc) rc = BALLOC(in->x, 3 * n);
    if (!rc) rc = BALLOC(in->species, n);
    if (!rc) rc = BALLOC(sp, n);
    rc = basin_error_agree(rc);
    double box[3] = {0};
    if (!rc) rc = h5md_read_frame_global(h, frame, in->x, NULL, NULL, sp, box);
    if (!rc) {
        for (int64_t i = 0; i < n; ++i)
            in->species[i] = sp[i];
        in->n = n;
        in->L = box[0];
        if (box[1] != box[0] || box[2] != box[0])
            rc = basin_error(BASIN_ERR_CONFIG, path, "box",
                             "frame %lld has a %g x %g x %g box; basin needs a cubic box",
                             (long long)frame, box[0], box[1], box[2]);
        snprintf(in->what, sizeof in->what, "%.4000s frame %lld (step %lld)", path,
                 (long long)frame, (long long)h5md_step(h, frame));
        snprintf(in->name, sizeof in->name, "%.4000s frame %lld", path, (long long)frame);
    }
    free(sp);
    const int rc2 = h5md_close(&h);
    if (!rc) rc = rc2;
    return rc;
}

static int read_data(const char *path, Input *in) {
    LammpsData ld;
    BCHK(lammps_data_read(path, &ld));
    in->n = ld.n;
    in->L = ld.L;
    in->x = ld.x;
    in->species = ld.species;
    ld.x = NULL;
    ld.species = NULL;
    lammps_data_free(&ld);
    snprintf(in->what, sizeof in->what, "%.4000s (LAMMPS data)", path);
    snprintf(in->name, sizeof in->name, "%.4000s", path);
    return 0;
}

static int read_input(const Config *c, const Model *m, const char *input, int64_t frame,
                      Input *in) {
    memset(in, 0, sizeof(*in));
    int run = input ? run_dir_kind(input, RUN_IS) : RUN_NOT_DIR;
    if (run == RUN_IS) {
        /* is.h5 stores particle frames only for some samples (inherent.snapshots = events or
         * none), so it may have none: then the trajectory is the input (quenched here). */
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", input, RUN_FILES[RUN_IS]);
        H5md *h = NULL;
        int rc = h5md_open_read(path, &h);
        const int64_t nf = rc ? 0 : h5md_nframes(h);
        if (!rc) rc = h5md_close(&h);
        if (rc || nf < 1) {
            log_warn("modes: %s has no inherent-structure frames (%s); looking for "
                     "trajectory.h5, final.data",
                     path, rc ? basin_error_message() : "0 frames");
            basin_error_clear();
            run = run_dir_kind(input, RUN_TRAJ);
        }
    }
    if (run == RUN_EMPTY)
        return basin_error(BASIN_ERR_IO, input, NULL,
                           "a directory without is.h5, trajectory.h5 or final.data: not a run "
                           "directory of `basin run`");
    if (run == RUN_DATA && frame >= 0)
        return basin_error(BASIN_ERR_USAGE, input, NULL,
                           "--frame %lld given, but the run directory has no is.h5 or "
                           "trajectory.h5 (only final.data, a single configuration)",
                           (long long)frame);
    if (run != RUN_NOT_DIR) {
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", input, RUN_FILES[run]);
        log_info("modes: run directory %s: reading %s%s", input, RUN_FILES[run],
                 run == RUN_IS ? " (inherent structures)" : "");
        return run == RUN_DATA ? read_data(path, in) : read_h5md(path, frame, in);
    }
    if (input && is_h5_name(input)) return read_h5md(input, frame, in);
    if (input) return read_data(input, in);
    in->n = c->natoms;
    int rc = BALLOC(in->x, 3 * in->n);
    if (!rc) rc = BALLOC(in->species, in->n);
    if (!rc) {
        if (c->kind == MODEL_CRYSTAL)
            rc = model_build_fcc(in->n, c->density, in->x, in->species, &in->L);
        else
            rc = model_build_glass(m, in->n, c->density, c->seed, c->overlap, in->x, in->species,
                                   &in->L);
    }
    snprintf(in->what, sizeof in->what, "built from the configuration (%s, N = %lld)",
             config_kind_name(c->kind), (long long)in->n);
    snprintf(in->name, sizeof in->name, "modes: the %s built from the configuration",
             config_kind_name(c->kind));
    return basin_error_agree(rc);
}

/* Collective. Phi (total) and max |F_i| of the current owned positions of d. */
static int evaluate(Domain *d, double *phi, double *fmax) {
    BCHK(domain_rebuild(d));
    double pe = 0.0, fnorm = 0.0;
    BCHK(md_forces(d, &pe, NULL));
    par_sum_d(&pe, 1);
    minimize_force_norms(d, fmax, &fnorm);
    *phi = pe;
    return 0;
}

/* Collective. Largest minimum-image distance of an owned atom from its input position. */
static double max_displacement(const Domain *d, const Input *in) {
    double dmax = 0.0;
    for (int i = 0; i < d->nlocal; ++i) {
        double dx[3];
        const double r2 = model_min_image(d->x + 3 * i, in->x + 3 * d->id[i], d->L, dx);
        if (r2 > dmax) dmax = r2;
    }
    par_max_d(&dmax, 1);
    return sqrt(dmax);
}

/* Collective. Quench the owned positions of d to the inherent structure and fill q. The
 * minimiser and iteration limit come from c's [inherent] section, mapped as the in-situ tracker
 * maps them (FIRE kinds finish with Newton-Krylov: the last decades of |F| that the tighter
 * tolerance of `basin modes` asks for are cheap there, docs/inherent.md). */
static int quench(const Config *c, const HarmonicOptions *o, Domain *d, const Input *in,
                  HarmonicQuench *q, char *minimizer, size_t nmin) {
    MinParams p;
    minimize_params_from_config(&p, c);
    if (p.kind != MIN_SD) p.finish = MIN_FINISH_NEWTON;
    p.fmax_tol = o->quench_fmax > 0.0 ? o->quench_fmax : fmin(c->fmax_tol, HARMONIC_QUENCH_FMAX);
    BCHK(minimize_params_check(&p));
    snprintf(minimizer, nmin, "%s%s", config_minimizer_name(p.kind),
             p.finish == MIN_FINISH_NEWTON ? " + newton" : "");
    MinResult r;
    BCHK(minimize_run(d, &p, &r));
    q->quenched = 1;
    q->minimizer = minimizer;
    q->fmax_tol = p.fmax_tol;
    q->iterations = r.iterations;
    q->force_evals = r.force_evals;
    q->max_displacement = max_displacement(d, in);
    q->phi = r.pe;
    q->fmax = r.fmax;
    if (r.status != MIN_CONVERGED)
        return basin_error(BASIN_ERR_PHYSICS, in->name, NULL,
                           "the quench did not converge (%s) after %lld iterations, %lld force "
                           "evaluations: max |F| = %.3g > fmax %.3g (raise inherent.max_iter, "
                           "loosen --fmax, or --no-quench for an input that is a minimum)",
                           minimize_status_name(r.status), (long long)r.iterations,
                           (long long)r.force_evals, r.fmax, p.fmax_tol);
    log_info("modes: quench (%s, fmax %.1e) converged in %lld iterations, %lld force "
             "evaluations (%lld Newton steps, %lld CG), %.3f s",
             minimizer, p.fmax_tol, (long long)r.iterations, (long long)r.force_evals,
             (long long)r.newton_steps, (long long)r.cg_iters, r.seconds);
    log_info("modes: max |F| %.3g -> %.3g; Phi %.12g -> %.12g (per atom %.12f -> %.12f); max "
             "displacement from the input %.4g",
             q->fmax_input, r.fmax, q->phi_input, r.pe, q->phi_input / (double)d->natoms,
             r.pe / (double)d->natoms, q->max_displacement);
    /* Owned positions back into [0, L) (the file stores them wrapped) and a fresh list for the
     * assembly: the quench may have left both a little stale. */
    return domain_rebuild(d);
}

int harmonic_modes_run(const Config *c, const char *input, int64_t frame, const HarmonicOptions *o,
                       const char *out_path) {
    const double t0 = par_wtime();
    if (!(o->quench_fmax >= 0.0))
        return basin_error(BASIN_ERR_CONFIG, "modes", "fmax",
                           "quench tolerance must be > 0 (0: the default), got %g", o->quench_fmax);
    Model model;
    model_init(&model, c->kind);
    Input in;
    int rc = read_input(c, &model, input, frame, &in);
    Domain *d = NULL;
    HarmonicModes *m = NULL;
    char *cfg = NULL;
    char minimizer[64] = "";
    HarmonicQuench q = {.minimizer = "", .fmax_tol = NAN};
    if (!rc) {
        log_info("modes: %s, N = %lld, L = %.6f", in.what, (long long)in.n, in.L);
        rc = domain_create(&model, in.L, c->skin, &d);
    }
    if (!rc) rc = domain_distribute(d, in.n, in.x, NULL, in.species, NULL);
    if (!rc) rc = evaluate(d, &q.phi_input, &q.fmax_input);
    if (!rc && o->quench) {
        rc = quench(c, o, d, &in, &q, minimizer, sizeof minimizer);
    } else if (!rc) {
        q.phi = q.phi_input;
        q.fmax = q.fmax_input;
        log_info("modes: --no-quench: the input as it is, max |F| = %.3g, Phi = %.12g (per atom "
                 "%.12f)",
                 q.fmax_input, q.phi_input, q.phi_input / (double)in.n);
    }
    input_free(&in);
    const PairPotential pot = model_potential(&model);
    if (!rc) rc = harmonic_modes_compute(d, &pot, o, &m);
    if (!rc) {
        int64_t pairs = m->assembly.pairs;
        par_sum_i64(&pairs, 1);
        log_info("modes: Hessian %d x %d from %lld pairs in %.3f s; %s solve %.3f s; analysis "
                 "%.3f s",
                 m->n, m->n, (long long)pairs, m->t_assemble, harmonic_solver_name(m->solver),
                 m->t_solve, m->t_analysis);
        int first = -1;
        double tmax = 0.0;
        for (int k = 0; k < m->nmodes; ++k) {
            if (!m->translation[k] && first < 0) first = k;
            if (m->translation[k] && fabs(m->lambda[k]) > tmax) tmax = fabs(m->lambda[k]);
        }
        log_info("modes: lowest non-translational omega = %.6g (lambda = %.6g), highest computed "
                 "omega = %.6g; translations at |lambda| <= %.3g (tol %.1e x ||H|| = %.4g)",
                 m->omega[first], m->lambda_min_nt, m->omega[m->nmodes - 1], tmax, o->tol,
                 m->hnorm);
        const int need = config_dump(c, NULL, 0) + 1;
        rc = basin_error_agree(BALLOC(cfg, need));
        if (!rc) config_dump(c, cfg, need);
    }
    if (!rc) {
        const double tw = par_wtime();
        const HarmonicFileMeta meta = {.config_text = cfg, .input = in.what, .quench = &q};
        rc = harmonic_modes_write(m, d, &meta, out_path);
        if (!rc)
            log_info("modes: wrote %s in %.3f s (total %.3f s)", out_path, par_wtime() - tw,
                     par_wtime() - t0);
    }
    free(cfg);
    harmonic_modes_destroy(&m);
    domain_destroy(&d);
    return rc;
}

/* Rank 0 only. The fixed-length string dataset /parameters/config of an HDF5 file (what
 * h5md_create writes), malloc'ed; NULL when the file cannot be opened or has none. */
static char *read_config_text(const char *path) {
    H5E_auto2_t efunc;
    void *edata;
    H5Eget_auto2(H5E_DEFAULT, &efunc, &edata);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* a missing dataset is an answer, not an error */
    char *txt = NULL;
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f >= 0) {
        hid_t ds = H5Lexists(f, "/parameters", H5P_DEFAULT) > 0 &&
                           H5Lexists(f, "/parameters/config", H5P_DEFAULT) > 0
                       ? H5Dopen2(f, "/parameters/config", H5P_DEFAULT)
                       : H5I_INVALID_HID;
        hid_t t = ds >= 0 ? H5Dget_type(ds) : H5I_INVALID_HID;
        if (t >= 0 && H5Tget_class(t) == H5T_STRING && H5Tis_variable_str(t) == 0) {
            const size_t sz = H5Tget_size(t);
            hid_t mt = H5Tcopy(H5T_C_S1);
            H5Tset_size(mt, sz + 1);
            H5Tset_cset(mt, H5Tget_cset(t)); /* HDF5 converts no character sets */
            txt = calloc(sz + 1, 1);
            if (txt && H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, txt) < 0) {
                free(txt);
                txt = NULL;
            }
            H5Tclose(mt);
        }
        if (t >= 0) H5Tclose(t);
        if (ds >= 0) H5Dclose(ds);
        H5Fclose(f);
    }
    H5Eset_auto2(H5E_DEFAULT, efunc, edata);
    return txt;
}

int harmonic_modes_input_config(const char *input, Config *c, int *loaded) {
    *loaded = 0;
    const int run = input ? run_dir_kind(input, RUN_IS) : RUN_NOT_DIR;
    if (run == RUN_NOT_DIR) return 0;
    /* Rank 0 reads, every rank parses the same bytes (as config_load does). */
    char *txt = NULL;
    int src = -1; /* the file the text came from: RUN_IS or RUN_TRAJ */
    if (par_rank() == 0)
        for (int k = RUN_IS; k <= RUN_TRAJ && !txt; ++k) {
            char p[8192];
            snprintf(p, sizeof p, "%s/%s", input, RUN_FILES[k]);
            if (access(p, R_OK) == 0 && (txt = read_config_text(p)) != NULL) src = k;
        }
    long long len = txt ? (long long)strlen(txt) : -1;
    MPI_Bcast(&len, 1, MPI_LONG_LONG, 0, par_comm());
    src = bcast_int(src);
    if (len < 0) {
        *loaded = -1;
        return 0;
    }
    int rc = par_rank() == 0 ? 0 : BALLOC(txt, len + 1);
    rc = basin_error_agree(rc);
    if (rc) {
        free(txt);
        return rc;
    }
    /* counts are int: a config text is a few KiB, far below 2 GiB */
    MPI_Bcast(txt, (int)len + 1, MPI_CHAR, 0, par_comm());
    char name[8300];
    snprintf(name, sizeof name, "%s/%s:/parameters/config", input, RUN_FILES[src]);
    Config tmp;
    rc = config_parse_string(txt, name, &tmp);
    free(txt);
    if (rc) return rc;
    *c = tmp;
    *loaded = 1;
    log_info("modes: configuration from %s", name);
    return 0;
}
