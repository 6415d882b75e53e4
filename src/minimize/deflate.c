/* deflate.c: soft-mode deflation of the block-Jacobi preconditioner, shared by the Newton CG
 * (newton.c) and preconditioned L-BFGS (lbfgs.c), and the soft modes recycled between the
 * quenches of the in-situ tracker (MinSoftModes).
 *
 * Why: on a warm glass P^-1 H (P the block-Jacobi blocks of precond.c) has a bulk spectrum up
 * to ~2.2 and a few dozen soft eigenvalues down to ~1e-4 (long-wave phonons and quasi-localised
 * modes; benchmarks/RESULTS.md "Ritz values"). They set the iteration counts of both CG and
 * L-BFGS. With W the M-orthonormal eigenvectors of M^-1 H for eigenvalues theta < 1,
 *     M_new^-1 = M^-1 + sum_k (1/theta_k - 1) w_k w_k^T
 * maps those eigenvalues to 1 and leaves the rest of the spectrum alone (the "spectral
 * preconditioner" of B. Carpentieri, I. S. Duff, L. Giraud, Numer. Linear Algebra Appl. 10, 481
 * (2003)): M_new is SPD for any W and theta in (0, 1), so an inexact W costs iterations, never
 * correctness. Applying it costs one reduction of nw doubles and 2 nw axpys.
 *
 * Where W comes from (no extra force evaluations within a solve): the eigCG Ritz pairs of each
 * Newton CG solve (eigcg.c), added level by level (the formula holds with M = the previous
 * level). Between quenches of the tracker (same glass, atoms moved ~0.1 sigma) the vectors are
 * kept by atom id and refreshed once per quench by a Rayleigh-Ritz step on the new Hessian: k
 * finite-difference Hessian products (counted as force evaluations), G = U^T H U, B = U^T P U,
 * G y = theta B y. The exact Rayleigh quotients matter: a rearrangement can stiffen a soft spot,
 * and a vector still lifted by an old 1/theta would put an eigenvalue far above the bulk.
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "basin/util.h"
#include "min_priv.h"

int min_defl_init(MinDeflate *df, int wmax) {
    memset(df, 0, sizeof(*df));
    df->wmax = wmax < MIN_DEFLATE_MAX ? wmax : MIN_DEFLATE_MAX;
    df->nb = -1;
    return 0;
}

void min_defl_free(MinDeflate *df) {
    for (int k = 0; k < MIN_DEFLATE_MAX; ++k)
        free(df->w[k]);
    memset(df, 0, sizeof(*df));
}

int min_defl_active(MinCtx *c) {
    MinDeflate *df = c->defl;
    if (!df || df->nw == 0) return 0;
    if (df->nb != c->r->rebuilds || df->nlocal != c->d->nlocal) {
        df->nw = 0; /* a rebuild that did not carry the rows reordered the atoms */
        return 0;
    }
    return 1;
}

int min_defl_reserve(MinDeflate *df, int nvec, int nlocal) {
    if (nlocal > df->cap_atoms) {
        for (int k = 0; k < MIN_DEFLATE_MAX; ++k)
            if (df->w[k])
                BCHK(basin_realloc((void **)&df->w[k], 3 * (size_t)nlocal, sizeof(double),
                                   "deflation vectors"));
        df->cap_atoms = nlocal;
    }
    for (int k = 0; k < nvec && k < MIN_DEFLATE_MAX; ++k)
        if (!df->w[k])
            BCHK(basin_realloc((void **)&df->w[k],
                               3 * (size_t)(df->cap_atoms > 0 ? df->cap_atoms : 1), sizeof(double),
                               "deflation vectors"));
    return 0;
}

void min_defl_apply(MinDeflate *df, int nlocal, const double *r, double *z) {
    const int64_t n = 3 * (int64_t)nlocal;
    for (int k = 0; k < df->nw; ++k) {
        double d = 0.0;
        if (df->wc[k] != 0.0) { /* 0: a candidate kept for the next quench's refresh only */
            const double *v = df->w[k];
            for (int64_t i = 0; i < n; ++i)
                d += v[i] * r[i];
        }
        df->wd[k] = d;
    }
    par_sum_d(df->wd, df->nw);
    for (int k = 0; k < df->nw; ++k) {
        if (df->wc[k] == 0.0) continue;
        const double *v = df->w[k];
        const double a = df->wc[k] * df->wd[k];
        for (int64_t i = 0; i < n; ++i)
            z[i] += a * v[i];
    }
}

int min_defl_refresh(MinCtx *c, MinPrecond *pc) {
    MinDeflate *df = c->defl;
    MinSoftModes *sm = c->soft;
    Domain *d = c->d;
    df->refreshed = 1;
    df->nw = 0;
    if (!sm || sm->k == 0) return 0;
    const int na = d->nlocal;
    const int64_t n = 3 * (int64_t)na;
    /* the FD displacements (rms 1e-7) must not need a rebuild: the rows stay in this order */
    const double h_max = 1e-7 * sqrt(3.0 * (double)d->natoms);
    if (min_max_drift(d) + h_max >= 0.5 * d->skin) return 0;
    int k = sm->k < df->wmax ? sm->k : df->wmax;
    double *buf = NULL;
    MinIdMap map = {0};
    int rc = BALLOC(buf, (size_t)(2 * k + 3) * (size_t)n + 1);
    if (rc == 0) rc = min_idmap_build(sm->id, sm->n, &map);
    if (rc == 0) rc = min_defl_reserve(df, k, na);
    rc = basin_error_agree(rc);
    if (rc) {
        free(buf);
        min_idmap_free(&map);
        return rc;
    }
    double *hu = buf, *u = buf + (size_t)k * (size_t)n;
    double *x0 = u + (size_t)k * (size_t)n, *f0 = x0 + n;
    const int64_t stride = 3 * sm->cap;
    for (int i = 0; i < na; ++i) {
        const int64_t j = min_idmap_find(&map, d->id[i]);
        for (int q = 0; q < k; ++q)
            for (int a = 0; a < 3; ++a)
                u[(size_t)q * (size_t)n + 3 * i + a] =
                    j < 0 ? 0.0 : sm->u[(size_t)q * (size_t)stride + 3 * j + a];
    }
    min_idmap_free(&map);
    memcpy(x0, d->x, (size_t)n * sizeof(double));
    memcpy(f0, d->f, (size_t)n * sizeof(double));
    const int64_t evals0 = c->r->force_evals;
    for (int q = 0; q < k && rc == 0; ++q) {
        double *uq = u + (size_t)q * (size_t)n, *hq = hu + (size_t)q * (size_t)n;
        double pp = 0.0;
        for (int64_t i = 0; i < n; ++i)
            pp += uq[i] * uq[i];
        par_sum_d(&pp, 1);
        if (!(pp > 0.0)) {
            memset(hq, 0, (size_t)n * sizeof(double));
            continue;
        }
        rc = min_fd_hess_vec(c, x0, f0, uq, pp, hq);
    }
    memcpy(d->x, x0, (size_t)n * sizeof(double));
    memcpy(d->f, f0, (size_t)n * sizeof(double));
    if (rc == 0) rc = domain_forward(d); /* ghosts back at x0 */
    if (rc) {
        free(buf);
        return rc;
    }
    /* G = U^T H U and B = U^T P U in one reduction */
    double gb[2 * MIN_DEFLATE_MAX * MIN_DEFLATE_MAX];
    memset(gb, 0, sizeof(gb));
    double *g = gb, *b = gb + k * k, *pu = f0 + n;
    for (int t = 0; t < k; ++t) {
        const double *ht = hu + (size_t)t * (size_t)n, *ut = u + (size_t)t * (size_t)n;
        min_precond_mult(pc, ut, pu);
        for (int q = 0; q < k; ++q) {
            const double *uq = u + (size_t)q * (size_t)n;
            double sg = 0.0, sb = 0.0;
            for (int64_t i = 0; i < n; ++i) {
                sg += uq[i] * ht[i];
                sb += uq[i] * pu[i];
            }
            g[q + k * t] = sg;
            b[q + k * t] = sb;
        }
    }
    par_sum_d(gb, 2 * k * k);
    for (int q = 0; q < k; ++q) /* the FD H is symmetric to ~1e-6 */
        for (int t = 0; t < q; ++t) {
            g[q + k * t] = g[t + k * q] = 0.5 * (g[q + k * t] + g[t + k * q]);
            b[q + k * t] = b[t + k * q] = 0.5 * (b[q + k * t] + b[t + k * q]);
        }
    /* B = Q L Q^T; C = Q L^-1/2 over its well-conditioned part; C^T G C = Z Theta Z^T; Y = C Z */
    double qb[MIN_DEFLATE_MAX * MIN_DEFLATE_MAX], lb[MIN_DEFLATE_MAX];
    double cm[MIN_DEFLATE_MAX * MIN_DEFLATE_MAX], gc[MIN_DEFLATE_MAX * MIN_DEFLATE_MAX];
    double h[MIN_DEFLATE_MAX * MIN_DEFLATE_MAX], z[MIN_DEFLATE_MAX * MIN_DEFLATE_MAX];
    double th[MIN_DEFLATE_MAX];
    int nr = 0, ok = min_small_eigh(b, k, k, qb, lb) == 0;
    for (int q = 0; ok && q < k; ++q)
        if (lb[q] > 1e-10 * lb[k - 1]) {
            for (int i = 0; i < k; ++i)
                cm[i + k * nr] = qb[i + k * q] / sqrt(lb[q]);
            ++nr;
        }
    if (ok && nr > 0) {
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, k, nr, k, 1.0, g, k, cm, k, 0.0, gc,
                    k);
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, nr, nr, k, 1.0, cm, k, gc, k, 0.0, h,
                    nr);
        ok = min_small_eigh(h, nr, nr, z, th) == 0;
    }
    for (int j = 0; ok && j < nr; ++j) {
        if (!(th[j] > 0.0 && th[j] < MIN_DEFLATE_MU)) continue;
        double y[MIN_DEFLATE_MAX]; /* W_j = U C z_j */
        cblas_dgemv(CblasColMajor, CblasNoTrans, k, nr, 1.0, cm, k, z + nr * j, 1, 0.0, y, 1);
        cblas_dgemv(CblasColMajor, CblasNoTrans, (int)n, k, 1.0, u, (int)n, y, 1, 0.0,
                    df->w[df->nw], 1);
        df->wc[df->nw] = 1.0 / th[j] - 1.0;
        ++df->nw;
    }
    df->nlocal = na;
    df->nb = c->r->rebuilds;
    c->r->deflated += df->nw;
    if (c->p->log_every > 0)
        log_debug("minimize: %d recycled soft modes refreshed (%lld evaluations): %d with theta "
                  "below %g, theta %.4g .. %.4g",
                  k, (long long)(c->r->force_evals - evals0), df->nw, MIN_DEFLATE_MU,
                  nr > 0 ? th[0] : 0.0, nr > 0 ? th[nr - 1] : 0.0);
    free(buf);
    return 0;
}

int min_defl_save(MinCtx *c) {
    MinDeflate *df = c->defl;
    MinSoftModes *sm = c->soft;
    const Domain *d = c->d;
    if (!df || !sm || !min_defl_active(c)) return 0;
    const int na = d->nlocal;
    const int k = df->nw < sm->kmax ? df->nw : sm->kmax;
    if (na > sm->cap) {
        BCHK(basin_realloc((void **)&sm->id, (size_t)na, sizeof(int64_t), "soft modes"));
        BCHK(basin_realloc((void **)&sm->u, 3 * (size_t)na * (size_t)sm->kmax, sizeof(double),
                           "soft modes"));
        sm->cap = na;
        sm->k = 0;
    }
    memcpy(sm->id, d->id, (size_t)na * sizeof(int64_t));
    for (int q = 0; q < k; ++q)
        memcpy(sm->u + (size_t)q * (size_t)(3 * sm->cap), df->w[q],
               3 * (size_t)na * sizeof(double));
    sm->n = na;
    sm->k = k;
    return 0;
}
