/* `basin modes`: configuration in, modes file out (basin/harmonic.h).
 *
 * The configuration is read as global id-ordered arrays (O(N) per rank, as every start-up path
 * of basin does: domain_distribute() takes that form) and distributed over a Domain whose half
 * list drives the assembly. Quenching to the inherent structure belongs to the minimize module;
 * until `basin modes` chains it, the input must already be a minimum, and the eigenvalue check
 * of harmonic_modes_compute() refuses anything else with "not a minimum". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basin/h5md.h"
#include "basin/harmonic.h"
#include "basin/lammps_data.h"
#include "basin/util.h"

typedef struct Input {
    int64_t n;
    double L;
    double *x;
    int *species;
    char what[512];
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
        snprintf(in->what, sizeof in->what, "%s frame %lld (step %lld)", path, (long long)frame,
                 (long long)h5md_step(h, frame));
    }
    free(sp);
    const int rc2 = h5md_close(&h);
    if (!rc) rc = rc2;
    return rc;
}

static int read_input(const Config *c, const Model *m, const char *input, int64_t frame,
                      Input *in) {
    memset(in, 0, sizeof(*in));
    if (input &&
        (ends_with(input, ".h5") || ends_with(input, ".h5md") || ends_with(input, ".hdf5")))
        return read_h5md(input, frame, in);
    if (input) {
        LammpsData ld;
        BCHK(lammps_data_read(input, &ld));
        in->n = ld.n;
        in->L = ld.L;
        in->x = ld.x;
        in->species = ld.species;
        ld.x = NULL;
        ld.species = NULL;
        lammps_data_free(&ld);
        snprintf(in->what, sizeof in->what, "%s (LAMMPS data)", input);
        return 0;
    }
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
    return basin_error_agree(rc);
}

int harmonic_modes_run(const Config *c, const char *input, int64_t frame, const HarmonicOptions *o,
                       const char *out_path) {
    const double t0 = par_wtime();
    Model model;
    model_init(&model, c->kind);
    Input in;
    int rc = read_input(c, &model, input, frame, &in);
    Domain *d = NULL;
    HarmonicModes *m = NULL;
    char *cfg = NULL;
    if (!rc) {
        log_info("modes: %s, N = %lld, L = %.6f", in.what, (long long)in.n, in.L);
        rc = domain_create(&model, in.L, c->skin, &d);
    }
    if (!rc) rc = domain_distribute(d, in.n, in.x, NULL, in.species, NULL);
    input_free(&in);
    if (!rc) rc = domain_rebuild(d);
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
        const HarmonicFileMeta meta = {.config_text = cfg, .input = in.what};
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
