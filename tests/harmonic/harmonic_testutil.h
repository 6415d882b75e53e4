/* Helpers of the harmonic tests (systems and domains: ../sysutil.h): independent O(N^2)
 * references on the global id-ordered arrays (forces, matrix-free Hessian-vector products, a FIRE
 * quench to a glass inherent structure), and the distributed-matrix utilities the checks need. The
 * references use the minimum image on global arrays (every test box has L > 2 r_c) and pot_derivs()
 * only for the radial derivatives, never the Hessian code under test. */
#ifndef BASIN_HARMONIC_TESTUTIL_H
#define BASIN_HARMONIC_TESTUTIL_H

#include <math.h>
#include <mpi.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/util/parallel.h"
#include "../sysutil.h"
#include "../testutil.h"
#include "basin/domain.h"
#include "basin/harmonic.h"
#include "basin/linalg.h"
#include "basin/model.h"
#include "basin/util.h"

/* Pair (i, j) at positions x: 0 beyond r_c; else 1 with the minimum-image separation
 * dx = x_i - x_j, r2 = |dx|^2, r = |dx| and the radial derivatives d[0..3] of pot_derivs(). */
static inline int ht_pair(const TestSystem *s, const double *x, int64_t i, int64_t j, double dx[3],
                          double *r2, double *r, double d[4]) {
    *r2 = model_min_image(x + 3 * i, x + 3 * j, s->L, dx);
    const PairParams *p = &s->m.pair[s->species[i]][s->species[j]];
    if (*r2 >= p->rc2) return 0;
    *r = sqrt(*r2);
    pot_derivs(p, *r, d);
    return 1;
}

/* Forces f[3n] and potential energy by brute force over all pairs (exact cutoff r_c). */
static inline double ht_forces(const TestSystem *s, const double *x, double *f) {
    memset(f, 0, 3 * (size_t)s->n * sizeof(double));
    double pe = 0.0;
    for (int64_t i = 0; i < s->n; ++i)
        for (int64_t j = i + 1; j < s->n; ++j) {
            double dx[3], r2, r, d[4];
            if (!ht_pair(s, x, i, j, dx, &r2, &r, d)) continue;
            pe += d[0];
            for (int k = 0; k < 3; ++k) {
                const double fk = -d[1] * dx[k] / r; /* force on i */
                f[3 * i + k] += fk;
                f[3 * j + k] -= fk;
            }
        }
    return pe;
}

/* The smallest |r - r_c| over all pairs within r_c + margin: finite-difference steps must stay
 * below it so that no pair crosses the cutoff (PHYSICS.md section 9). */
static inline double ht_cutoff_gap(const TestSystem *s, const double *x, double margin) {
    double gap = INFINITY;
    for (int64_t i = 0; i < s->n; ++i)
        for (int64_t j = i + 1; j < s->n; ++j) {
            double dx[3];
            const double r = sqrt(model_min_image(x + 3 * i, x + 3 * j, s->L, dx));
            const double rc = s->m.pair[s->species[i]][s->species[j]].rc;
            if (fabs(r - rc) < margin && fabs(r - rc) < gap) gap = fabs(r - rc);
        }
    return gap;
}

/* Matrix-free y = H v from the pair sum: (H v)_i = sum_j H_ij (v_j - v_i). */
static inline void ht_hessian_times(const TestSystem *s, const double *x, const double *v,
                                    double *y) {
    memset(y, 0, 3 * (size_t)s->n * sizeof(double));
    for (int64_t i = 0; i < s->n; ++i)
        for (int64_t j = i + 1; j < s->n; ++j) {
            double dx[3], r2, r, d[4];
            if (!ht_pair(s, x, i, j, dx, &r2, &r, d)) continue;
            /* H_ij u = -[v'' (n.u) n + (v'/r)(u - (n.u) n)] with u = v_j - v_i */
            double u[3], nu = 0.0, n[3];
            for (int k = 0; k < 3; ++k) {
                n[k] = dx[k] / r;
                u[k] = v[3 * j + k] - v[3 * i + k];
                nu += n[k] * u[k];
            }
            for (int k = 0; k < 3; ++k) {
                const double hu = -(d[2] * nu * n[k] + d[1] / r * (u[k] - nu * n[k]));
                y[3 * i + k] += hu;
                y[3 * j + k] -= hu;
            }
        }
}

/* FIRE (Bitzek et al. 2006) on the global arrays, identical on every rank (deterministic). */
static inline int ht_fire(const TestSystem *s, double *x, double fmax_tol, int max_steps) {
    const size_t n3 = 3 * (size_t)s->n;
    double *v = calloc(n3, sizeof(double)), *f = calloc(n3, sizeof(double));
    double dt = 0.002, alpha = 0.1;
    const double dtmax = 0.02;
    int npos = 0, step;
    ht_forces(s, x, f);
    for (step = 0; step < max_steps; ++step) {
        double fm = 0.0;
        for (size_t k = 0; k < n3; ++k)
            fm = fabs(f[k]) > fm ? fabs(f[k]) : fm;
        if (fm < fmax_tol) break;
        double P = 0.0, vv = 0.0, ff = 0.0;
        for (size_t k = 0; k < n3; ++k) {
            P += f[k] * v[k];
            vv += v[k] * v[k];
            ff += f[k] * f[k];
        }
        if (P > 0) {
            const double sc = sqrt(vv / ff);
            for (size_t k = 0; k < n3; ++k)
                v[k] = (1 - alpha) * v[k] + alpha * sc * f[k];
            if (++npos > 5) {
                dt = fmin(dt * 1.1, dtmax);
                alpha *= 0.99;
            }
        } else {
            npos = 0;
            dt *= 0.5;
            alpha = 0.1;
            memset(v, 0, n3 * sizeof(double));
        }
        for (size_t k = 0; k < n3; ++k) {
            v[k] += 0.5 * dt * f[k];
            x[k] += dt * v[k];
        }
        ht_forces(s, x, f);
        for (size_t k = 0; k < n3; ++k)
            v[k] += 0.5 * dt * f[k];
    }
    free(v);
    free(f);
    return step < max_steps ? 0 : -1;
}

/* y = A v for a distributed square matrix and a replicated vector (own local product plus one
 * reduction), y replicated. */
static inline void ht_matvec(const LinalgMatrix *a, const double *v, double *y) {
    memset(y, 0, (size_t)a->m * sizeof(double));
    for (int lj = 0; lj < a->lcols; ++lj) {
        const double vj = v[linalg_col_l2g(a, lj)];
        for (int li = 0; li < a->lrows; ++li)
            y[linalg_row_l2g(a, li)] += a->data[li + (size_t)lj * a->lld] * vj;
    }
    MPI_Allreduce(MPI_IN_PLACE, y, a->m, MPI_DOUBLE, MPI_SUM, a->grid->comm);
}

static inline int ht_cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#endif
