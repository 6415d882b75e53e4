/* Soft-mode deflation of the Newton CG and the soft modes recycled between quenches
 * (src/minimize/eigcg.c, deflate.c), 1, 2 and 4 ranks:
 *  1. eigCG on a synthetic preconditioned system with known spectrum (M^-1 A = diag(lambda),
 *     six soft eigenvalues 1e-4 .. 7e-3 under a bulk [0.05, 2.2], M a random diagonal): a
 *     window of 16 with 4 Ritz vectors per restart (many restarts) returns the four lowest
 *     eigenvalues to 1e-6 relative, M-orthonormal Ritz vectors, and residual estimates that
 *     agree with |M^-1 A y - mu y|_M computed directly.
 *  2. The spectral preconditioner: with exact eigenvectors w_k and coefficients 1/lambda_k - 1,
 *     (M^-1 + sum_k c_k w_k w_k^T) A w_k = w_k, and a bulk eigenvector keeps its eigenvalue.
 *  3. Rayleigh-Ritz refresh of stored vectors (min_defl_refresh) at a glass IS (N = 300),
 *     stored as six long-wave displacement fields by atom id: it costs six force evaluations,
 *     restores positions and forces bitwise, its vectors are P-orthonormal, and each kept
 *     theta equals the Rayleigh quotient w.H w / w.P w with H w from an independent central
 *     difference of the forces (1e-5 relative); the lowest theta is below the lowest Rayleigh
 *     quotient of the stored fields (Ritz values bound them from below).
 *  4. Quenches: L-BFGS + Newton with deflation (newton_deflate = 4) from two thermal-like
 *     states near one IS reach the same IS as without deflation (<= 1e-7); the first fills a
 *     MinSoftModes store, the second refreshes it (deflated vectors > 0) and, with a list skin
 *     of 0.01 and L-BFGS deflated from max|F_i| < 0.05, carries the vectors through list
 *     rebuilds (L-BFGS) and drops them at Newton's own rebuilds; the distributed quenches equal
 *     a one-rank reference (<= 1e-8).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../../src/minimize/min_priv.h"
#include "../../src/util/parallel.h"
#include "basin/md.h"
#include "minimize/min_testutil.h"
#include "testutil.h"

#define NS 1200 /* synthetic system size (sections 1, 2) */
#define N 300   /* glass */

static double lam[NS], mm[NS], a[NS], b[NS], xs[NS], r[NS], z[NS], pv[NS], ap[NS];
static double ritz[4][NS];

static void synthetic(void) {
    static const double soft[6] = {1e-4, 2.5e-4, 6e-4, 1.2e-3, 3e-3, 7e-3};
    for (int i = 0; i < NS; ++i) {
        lam[i] = i < 6 ? soft[i] : 0.05 + 2.15 * (double)(i - 6) / (double)(NS - 7);
        double g[3];
        rng_normal3(3, RNG_STREAM_TEST, (uint64_t)i, 0, g);
        mm[i] = 1.0 + 0.4 * tanh(g[0]); /* M diagonal in [0.6, 1.4] */
        a[i] = lam[i] * mm[i];          /* then M^-1 A = diag(lambda) */
        b[i] = g[1];
    }
}

/* Preconditioned CG on the synthetic system to a relative residual rtol with eigCG (window 16,
 * 4 vectors); the 4 lowest Ritz pairs into ritz[], mu, res (returns how many). */
static int pcg_eigcg(double rtol, double *mu, double *res, int64_t *restarts, int *iters) {
    MinEigcg e;
    memset(&e, 0, sizeof(e));
    TOK(min_eigcg_reserve(&e, 16, 4, NS));
    double bb = 0.0, rho = 0.0;
    for (int i = 0; i < NS; ++i) {
        xs[i] = 0.0;
        r[i] = b[i];
        z[i] = r[i] / mm[i];
        pv[i] = z[i];
        bb += b[i] * b[i];
        rho += r[i] * z[i];
    }
    min_eigcg_begin(&e, z, rho);
    int it = 0;
    for (;; ++it) {
        double pap = 0.0;
        for (int i = 0; i < NS; ++i) {
            ap[i] = a[i] * pv[i];
            pap += pv[i] * ap[i];
        }
        const double alpha = rho / pap;
        double rr = 0.0, rho1 = 0.0;
        for (int i = 0; i < NS; ++i) {
            xs[i] += alpha * pv[i];
            r[i] -= alpha * ap[i];
            z[i] = r[i] / mm[i];
            rr += r[i] * r[i];
            rho1 += r[i] * z[i];
        }
        const double beta = rho1 / rho;
        const int last = rr <= rtol * rtol * bb || it >= 5000;
        min_eigcg_step(&e, alpha, beta, z, rho1, last);
        if (last) break;
        rho = rho1;
        for (int i = 0; i < NS; ++i)
            pv[i] = z[i] + beta * pv[i];
    }
    double *vec[4] = {ritz[0], ritz[1], ritz[2], ritz[3]};
    const int k = min_eigcg_ritz(&e, 4, vec, mu, res);
    *restarts = e.restarts;
    *iters = it;
    min_eigcg_free(&e);
    return k;
}

/* |M^-1 A y - mu y|_M and y.M y of Ritz vector j */
static void ritz_direct(int j, double mu, double *rd, double *ymy) {
    double s = 0.0, t2 = 0.0;
    for (int i = 0; i < NS; ++i) {
        t2 += mm[i] * ritz[j][i] * ritz[j][i];
        const double t = lam[i] * ritz[j][i] - mu * ritz[j][i];
        s += mm[i] * t * t;
    }
    *rd = sqrt(s);
    *ymy = t2;
}

/* 1 and 2: on this rank alone */
static void eigcg_and_spectral(void) {
    synthetic();
    double mu[4], res[4], rd, ymy;
    int64_t restarts = 0;
    int it = 0;
    /* converged solve: the lowest eigenvalues, to the rounding floor of the residuals */
    int k = pcg_eigcg(1e-12, mu, res, &restarts, &it);
    if (par_rank() == 0)
        printf("eigCG: %d CG iterations, %lld restarts, mu %.6g %.6g %.6g %.6g\n", it,
               (long long)restarts, mu[0], mu[1], mu[2], mu[3]);
    TCHECK(k == 4, "eigCG returned %d Ritz pairs", k);
    TCHECK(restarts > 5, "only %lld window restarts", (long long)restarts);
    for (int j = 0; j < k; ++j) {
        TCLOSE(mu[j], lam[j], 1e-6, 0.0);
        ritz_direct(j, mu[j], &rd, &ymy);
        TCLOSE(ymy, 1.0, 1e-8, 0.0);
        TCHECK(rd < 1e-6 && res[j] < 1e-6, "Ritz %d: residual %g (estimate %g)", j, rd, res[j]);
    }
    /* early stop: unconverged Ritz pairs, whose residual estimates must be right */
    k = pcg_eigcg(1e-3, mu, res, &restarts, &it);
    int unconverged = 0;
    TCHECK(k == 4 && restarts > 0, "early stop: %d Ritz pairs, %lld restarts", k,
           (long long)restarts);
    for (int j = 0; j < k; ++j) {
        ritz_direct(j, mu[j], &rd, &ymy);
        if (par_rank() == 0)
            printf(
                "eigCG after %d iterations: mu %.6g (lambda %.6g) residual %.4g, estimate %.4g\n",
                it, mu[j], lam[j], rd, res[j]);
        TCLOSE(ymy, 1.0, 1e-8, 0.0);
        unconverged += rd > 1e-5;
        TCHECK(fabs(res[j] - rd) <= 0.02 * rd, "Ritz %d: residual estimate %g, direct %g", j,
               res[j], rd);
    }
    TCHECK(unconverged >= 2, "early stop: only %d unconverged Ritz pairs, the check is void",
           unconverged);

    /* 2. spectral preconditioner with exact eigenvectors w_k = e_k / sqrt(m_k) */
    MinDeflate df;
    min_defl_init(&df, 8);
    TOK(min_defl_reserve(&df, 3, NS / 3));
    for (int q = 0; q < 3; ++q) {
        memset(df.w[q], 0, NS * sizeof(double));
        df.w[q][q] = 1.0 / sqrt(mm[q]);
        df.wc[q] = 1.0 / lam[q] - 1.0;
    }
    df.nw = 3;
    const int probe[4] = {0, 1, 2, 500};
    for (int t = 0; t < 4; ++t) {
        const int j = probe[t];
        for (int i = 0; i < NS; ++i)
            r[i] = i == j ? a[j] / sqrt(mm[j]) : 0.0; /* A e_j / sqrt(m_j) */
        for (int i = 0; i < NS; ++i)
            z[i] = r[i] / mm[i];
        min_defl_apply(&df, NS / 3, r, z);
        const double want = (j < 3 ? 1.0 : lam[j]) / sqrt(mm[j]);
        double err = 0.0;
        for (int i = 0; i < NS; ++i)
            err = fmax(err, fabs(z[i] - (i == j ? want : 0.0)));
        TCHECK(err <= 1e-12 * fabs(want), "deflated eigenvalue of mode %d: error %g", j, err);
    }
    min_defl_free(&df);
}

static double xg[3 * N], xis[3 * N], xn1[3 * N], xn2[3 * N], xa[3 * N], xb[3 * N], xc[3 * N];
static int sp[N];

/* Collective: Rayleigh quotient data of vector w (rows of d) with H w by central differences. */
static void rayleigh(Domain *d, const MinPrecond *pc, const double *w, double *whw, double *wpw) {
    const int n = 3 * d->nlocal;
    double *hw = malloc(((size_t)n + 1) * sizeof(double));
    TOK(mint_hess_fd(d, w, 1e-5, hw));
    double red[2] = {0.0, 0.0};
    for (int i = 0; i < d->nlocal; ++i) {
        const double *blk = pc->hd + 9 * i;
        for (int u = 0; u < 3; ++u) {
            const int q = 3 * i + u;
            red[0] += w[q] * hw[q];
            red[1] += w[q] * (blk[3 * u] * w[3 * i] + blk[3 * u + 1] * w[3 * i + 1] +
                              blk[3 * u + 2] * w[3 * i + 2]);
        }
    }
    par_sum_d(red, 2);
    *whw = red[0];
    *wpw = red[1];
    free(hw);
}

/* 3. Rayleigh-Ritz refresh at the IS xis */
static void refresh_check(const Model *m, double L) {
    Domain *d = NULL;
    TOK(domain_create(m, L, 0.3, &d));
    TOK(domain_distribute(d, N, xis, NULL, sp, NULL));
    MinParams p;
    minimize_params_default(&p, MIN_LBFGS);
    p.finish = MIN_FINISH_NEWTON;
    p.newton_deflate = 4;
    MinResult res;
    memset(&res, 0, sizeof(res));
    MinCtx c = {.d = d, .p = &p, .r = &res};
    TOK(min_eval(&c));
    MinPrecond pc;
    memset(&pc, 0, sizeof(pc));
    TOK(min_block_precond(d, &pc, MIN_PREC_JACOBI));
    /* six long-wave fields by id, stored as a quench would leave them */
    enum { K = 6 };
    MinSoftModes *sm = NULL;
    TOK(min_soft_modes_create(K, &sm));
    sm->n = sm->cap = N;
    sm->id = malloc(N * sizeof(int64_t));
    sm->u = calloc(3 * (size_t)N * K, sizeof(double));
    const double kw = 2.0 * M_PI / L;
    for (int i = 0; i < N; ++i) {
        sm->id[i] = i;
        const double *xi = xis + 3 * i;
        double *u = sm->u;
        u[0 * 3 * N + 3 * i + 1] = sin(kw * xi[0]);
        u[1 * 3 * N + 3 * i + 2] = sin(kw * xi[0]);
        u[2 * 3 * N + 3 * i + 1] = cos(kw * xi[0]);
        u[3 * 3 * N + 3 * i + 0] = sin(kw * xi[1]);
        u[4 * 3 * N + 3 * i + 2] = cos(kw * xi[1]);
        u[5 * 3 * N + 3 * i + 0] = sin(kw * xi[2]);
    }
    sm->k = K;
    /* lowest Rayleigh quotient of the stored fields, in the Domain's atom order */
    const int n = 3 * d->nlocal;
    double *w = malloc((size_t)n * sizeof(double));
    double *x_before = malloc((size_t)n * sizeof(double)),
           *f_before = malloc((size_t)n * sizeof(double));
    double rq_min = INFINITY;
    for (int q = 0; q < K; ++q) {
        for (int i = 0; i < d->nlocal; ++i)
            for (int u = 0; u < 3; ++u)
                w[3 * i + u] = sm->u[(size_t)q * 3 * N + 3 * (size_t)d->id[i] + u];
        double whw, wpw;
        rayleigh(d, &pc, w, &whw, &wpw);
        rq_min = fmin(rq_min, whw / wpw);
    }
    memcpy(x_before, d->x, (size_t)n * sizeof(double));
    memcpy(f_before, d->f, (size_t)n * sizeof(double));
    MinDeflate df;
    min_defl_init(&df, 16);
    c.defl = &df;
    c.soft = sm;
    const int64_t ev0 = res.force_evals;
    TOK(min_defl_refresh(&c, &pc));
    TCHECK(res.force_evals - ev0 == K, "refresh cost %lld evaluations, expected %d",
           (long long)(res.force_evals - ev0), K);
    TCHECK(memcmp(x_before, d->x, (size_t)n * sizeof(double)) == 0, "positions not restored");
    TCHECK(memcmp(f_before, d->f, (size_t)n * sizeof(double)) == 0, "forces not restored");
    TCHECK(df.nw >= 1 && min_defl_active(&c), "no soft mode kept (nw = %d)", df.nw);
    double th_min = INFINITY;
    for (int k = 0; k < df.nw; ++k) {
        const double th = 1.0 / (df.wc[k] + 1.0);
        double whw, wpw;
        rayleigh(d, &pc, df.w[k], &whw, &wpw);
        if (par_rank() == 0)
            printf("refresh: theta %.8f, w.Hw / w.Pw %.8f, w.Pw %.10f\n", th, whw / wpw, wpw);
        TCLOSE(wpw, 1.0, 1e-8, 0.0);
        TCLOSE(whw / wpw, th, 1e-5, 0.0);
        th_min = fmin(th_min, th);
    }
    TCHECK(th_min <= rq_min * (1.0 + 1e-9), "lowest theta %g above the lowest Rayleigh quotient %g",
           th_min, rq_min);
    min_defl_free(&df);
    min_soft_modes_destroy(&sm);
    min_precond_free(&pc);
    free(w);
    free(x_before);
    free(f_before);
    domain_destroy(&d);
}

/* Collective: quench x with the store sm (may be NULL) as in situ, on a Domain with the given
 * list skin, gather the IS into xout. */
static int quench_soft(const Model *m, double L, double skin, const double *x, const MinParams *p,
                       MinSoftModes *sm, double *xout, MinResult *r) {
    Domain *d = NULL;
    BCHK(domain_create(m, L, skin, &d));
    int rc = domain_distribute(d, N, x, NULL, sp, NULL);
    const MinGuess g = {.n = 0, .soft = sm};
    if (rc == 0) rc = minimize_run_guess(d, p, sm ? &g : NULL, r);
    if (rc == 0) rc = domain_allgather_by_id(d, d->x, 3, xout);
    domain_destroy(&d);
    return rc;
}

/* 4. the two recycled quenches (store created here); xa, xb their IS. The second runs with a
 * skin of 0.01: lists are rebuilt every few steps, also after L-BFGS took the refreshed soft
 * modes (which then travel with its memory) and before Newton steps (which drop them). */
static void two_quenches(const Model *m, double L, const MinParams *pd, double *ia, double *ib,
                         int64_t evals[2], int64_t *deflated) {
    MinSoftModes *sm = NULL;
    TOK(min_soft_modes_create(16, &sm));
    MinResult r;
    TOK(quench_soft(m, L, 0.3, xn1, pd, sm, ia, &r));
    TCHECK(r.status == MIN_CONVERGED, "deflated quench 1: %s", minimize_status_name(r.status));
    TCHECK(min_soft_modes_count(sm) > 0, "quench 1 stored no soft modes");
    evals[0] = r.force_evals;
    TOK(quench_soft(m, L, 0.01, xn2, pd, sm, ib, &r));
    TCHECK(r.status == MIN_CONVERGED, "deflated quench 2: %s", minimize_status_name(r.status));
    TCHECK(r.rebuilds > 10, "skin 0.01: only %lld rebuilds", (long long)r.rebuilds);
    evals[1] = r.force_evals;
    *deflated = r.deflated;
    min_soft_modes_destroy(&sm);
}

int main(int argc, char **argv) {
    tu_init(&argc, &argv);
    par_push_comm(MPI_COMM_SELF);
    eigcg_and_spectral();
    par_pop_comm();

    Model m;
    model_init(&m, MODEL_GLASS);
    double L = 0.0;
    TOK(model_build_glass(&m, N, 1.015, 11, 0.8, xg, sp, &L));
    MinParams p;
    minimize_params_default(&p, MIN_LBFGS);
    MinResult r;
    TOK(mint_quench(&m, N, L, xg, sp, &p, xis, &r));
    TCHECK(r.status == MIN_CONVERGED, "IS: %s", minimize_status_name(r.status));

    refresh_check(&m, L);

    /* 4. thermal-like states near the IS; references without deflation */
    mint_perturb(N, xis, 0.03, 7, 1, xn1);
    mint_perturb(N, xis, 0.03, 7, 2, xn2);
    p.finish = MIN_FINISH_NEWTON;
    p.fmax_tol = 1e-10;
    p.newton_deflate = 0; /* the plain reference */
    p.deflate_fmax = 0.0;
    double ref1[3 * N], ref2[3 * N], dmax = 0.0;
    TOK(mint_quench(&m, N, L, xn1, sp, &p, ref1, &r));
    TOK(mint_quench(&m, N, L, xn2, sp, &p, ref2, &r));
    MinParams pd = p;
    pd.newton_deflate = 4;
    pd.newton_eta0 = 0.3;
    /* L-BFGS takes the refreshed soft modes already at max|F_i| < 0.05 (default 1e-3): a long
     * deflated descent, so that the second quench's list rebuilds carry them */
    pd.deflate_fmax = 0.05;
    int64_t ev[2], defl = 0;
    two_quenches(&m, L, &pd, xa, xb, ev, &defl);
    mint_dist(N, xa, ref1, L, &dmax);
    TCHECK(dmax <= 1e-7, "deflated quench 1: max_i |dr_i| = %g from the plain IS", dmax);
    mint_dist(N, xb, ref2, L, &dmax);
    TCHECK(dmax <= 1e-7, "deflated quench 2: max_i |dr_i| = %g from the plain IS", dmax);
    TCHECK(defl > 0, "quench 2 used no deflation vector");
    if (par_rank() == 0)
        printf("deflated quenches: %lld and %lld evaluations, %lld vectors in the second\n",
               (long long)ev[0], (long long)ev[1], (long long)defl);
    /* the same on one rank (its own store, in-process) */
    double ok = 1.0;
    if (par_rank() == 0) {
        par_push_comm(MPI_COMM_SELF);
        int64_t ev1[2], d1 = 0;
        two_quenches(&m, L, &pd, xc, xg, ev1, &d1);
        par_pop_comm();
    }
    par_bcast_d(&ok, 1, 0);
    par_bcast_d(xc, 3 * N, 0);
    par_bcast_d(xg, 3 * N, 0);
    mint_dist(N, xa, xc, L, &dmax);
    TCHECK(dmax <= 1e-8, "%d ranks vs one rank, quench 1: %g", par_size(), dmax);
    mint_dist(N, xb, xg, L, &dmax);
    TCHECK(dmax <= 1e-8, "%d ranks vs one rank, quench 2: %g", par_size(), dmax);

    /* configuration errors */
    pd.newton_deflate = 100;
    TCHECK(minimize_params_check(&pd) == BASIN_ERR_CONFIG, "newton_deflate 100 accepted");
    pd.newton_deflate = 4;
    pd.newton_deflate_max = -1;
    TCHECK(minimize_params_check(&pd) == BASIN_ERR_CONFIG, "newton_deflate_max -1 accepted");
    return tu_finish();
}
