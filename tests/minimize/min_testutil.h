/* Helpers shared by the minimize tests: global (id-ordered, identical on every rank) start
 * configurations, a quench of such a configuration on the current communicator, zero-mean
 * Gaussian perturbations keyed by atom id, distances between configurations, and Hessian
 * products by central differences of the md force kernel. */
#ifndef BASIN_TEST_MIN_UTIL_H
#define BASIN_TEST_MIN_UTIL_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "basin/domain.h"
#include "basin/md.h"
#include "basin/minimize.h"
#include "basin/model.h"
#include "basin/util.h"

#include "../../src/util/parallel.h"

/* Collective over the current util communicator: distribute x, quench with p, gather the final
 * positions into xout (may alias x) and return the result. */
static inline int mint_quench(const Model *m, int64_t n, double L, const double *x,
                              const int *species, const MinParams *p, double *xout, MinResult *r) {
    Domain *d = NULL;
    BCHK(domain_create(m, L, 0.3, &d));
    int rc = domain_distribute(d, n, x, NULL, species, NULL);
    if (rc == 0) rc = minimize_run(d, p, r);
    if (rc == 0) rc = domain_allgather_by_id(d, d->x, 3, xout);
    if (rc == 0 && domain_count_global(d) != n)
        rc = basin_error(BASIN_ERR_PHYSICS, "test", NULL, "lost atoms");
    domain_destroy(&d);
    return rc;
}

/* Collective: the same quench run by rank 0 alone (MPI_COMM_SELF), the independent one-rank
 * reference of a distributed quench; xout (3n) and *pe are broadcast to every rank. Returns 1
 * when rank 0's quench succeeded (the same value on every rank). */
static inline int mint_quench_one_rank(const Model *m, int64_t n, double L, const double *x,
                                       const int *species, const MinParams *p, double *xout,
                                       double *pe) {
    double ok_pe[2] = {1.0, 0.0};
    if (par_rank() == 0) {
        par_push_comm(MPI_COMM_SELF);
        MinResult r1;
        ok_pe[0] = mint_quench(m, n, L, x, species, p, xout, &r1) == 0;
        ok_pe[1] = r1.pe;
        par_pop_comm();
    }
    par_bcast_d(ok_pe, 2, 0);
    par_bcast_d(xout, 3 * (int)n, 0);
    *pe = ok_pe[1];
    return ok_pe[0] != 0.0;
}

/* out = x + amp g_i with g_i = rng_normal3(seed, RNG_STREAM_TEST, id, ctr) minus the mean of
 * g over all atoms (a translation-free perturbation: FIRE and SD conserve the centre of mass). */
static inline void mint_perturb(int64_t n, const double *x, double amp, uint64_t seed, uint64_t ctr,
                                double *out) {
    double mean[3] = {0.0, 0.0, 0.0};
    for (int64_t i = 0; i < n; ++i) {
        double g[3];
        rng_normal3(seed, RNG_STREAM_TEST, (uint64_t)i, ctr, g);
        for (int k = 0; k < 3; ++k) {
            out[3 * i + k] = x[3 * i + k] + amp * g[k];
            mean[k] += amp * g[k];
        }
    }
    for (int64_t i = 0; i < n; ++i)
        for (int k = 0; k < 3; ++k)
            out[3 * i + k] -= mean[k] / (double)n;
}

/* |Delta r| = (sum_i |a_i - b_i|^2)^(1/2) with minimum images; *max = max_i |a_i - b_i|. */
static inline double mint_dist(int64_t n, const double *a, const double *b, double L, double *max) {
    double s = 0.0, mx = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        double d[3];
        const double q = model_min_image(a + 3 * i, b + 3 * i, L, d);
        s += q;
        if (!(q <= mx)) mx = q;
    }
    if (max) *max = sqrt(mx);
    return sqrt(s);
}

/* Mean minimum-image displacement (1/n) sum_i (a_i - b_i): the shift of the centre of mass. */
static inline void mint_com_shift(int64_t n, const double *a, const double *b, double L,
                                  double com[3]) {
    com[0] = com[1] = com[2] = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        double d[3];
        model_min_image(a + 3 * i, b + 3 * i, L, d);
        for (int k = 0; k < 3; ++k)
            com[k] += d[k] / (double)n;
    }
}

/* Serial all-pairs max_i |F_i| and Phi of a global configuration (independent of the domain,
 * the lists and the md kernel). */
static inline double mint_brute_fmax(const Model *m, int64_t n, const double *x, const int *species,
                                     double L, double *phi) {
    double *f = (double *)calloc(3 * (size_t)n, sizeof(double));
    double pe = 0.0;
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = i + 1; j < n; ++j) {
            double dr[3];
            const double r2 = model_min_image(x + 3 * i, x + 3 * j, L, dr);
            const PairParams *p = &m->pair[species[i]][species[j]];
            if (r2 >= p->rc2) continue;
            double v, fr;
            pot_energy_force(p, r2, &v, &fr);
            pe += v;
            for (int k = 0; k < 3; ++k) {
                f[3 * i + k] += fr * dr[k];
                f[3 * j + k] -= fr * dr[k];
            }
        }
    double mx = 0.0;
    for (int64_t i = 0; i < n; ++i)
        mx = fmax(mx, sqrt(f[3 * i] * f[3 * i] + f[3 * i + 1] * f[3 * i + 1] +
                           f[3 * i + 2] * f[3 * i + 2]));
    free(f);
    if (phi) *phi = pe;
    return mx;
}

/* Collective: y = H u (rows of d's owned atoms) by central differences of the md forces with
 * displacements +-h u; positions, ghosts and forces are restored. Returns 0 or a basin error. */
static inline int mint_hess_fd(Domain *d, const double *u, double h, double *y) {
    const int n = 3 * d->nlocal;
    double *x0 = (double *)malloc(((size_t)n + 1) * sizeof(double));
    double *fp = (double *)malloc(((size_t)n + 1) * sizeof(double));
    int rc = x0 && fp ? 0 : basin_error(BASIN_ERR_NOMEM, "test", NULL, "hess_fd buffers");
    if (rc == 0) memcpy(x0, d->x, (size_t)n * sizeof(double));
    for (int s = 0; s < 2 && rc == 0; ++s) {
        for (int i = 0; i < n; ++i)
            d->x[i] = x0[i] + (s ? -h : h) * u[i];
        rc = domain_forward(d);
        if (rc == 0) rc = md_forces(d, NULL, NULL);
        if (rc == 0 && s == 0) memcpy(fp, d->f, (size_t)n * sizeof(double));
    }
    if (rc == 0) {
        for (int i = 0; i < n; ++i) /* H u = -(F(x + h u) - F(x - h u)) / 2h */
            y[i] = -(fp[i] - d->f[i]) / (2.0 * h);
        memcpy(d->x, x0, (size_t)n * sizeof(double));
        rc = domain_forward(d);
        if (rc == 0) rc = md_forces(d, NULL, NULL);
    }
    free(x0);
    free(fp);
    return rc;
}

#endif
