/* The Hessian preconditioners of src/minimize/precond.c, 1, 2 and 4 ranks, on the binary glass
 * (N = 300) at an inherent structure and at a thermal-like state (0.02 sigma noise):
 *  1. block-Jacobi and symmetric block Gauss-Seidel (SGS): P^-1 (P u) = u (1e-10 relative),
 *     v.P^-1 u = u.P^-1 v (1e-12), u.P^-1 u > 0 for vectors keyed by atom id;
 *  2. one rank: the stored blocks are the Hessian. H u assembled from them (diagonal blocks
 *     minus the pair blocks K_ij, periodic images folded onto their owners) equals an
 *     independent central difference of the md force kernel (1e-5 relative; the pair blocks
 *     are stored in single precision), and P - H = L D^-1 U for SGS, P = (D + L) D^-1 (D + U):
 *     P u - H u against L D^-1 U u computed from the blocks (1e-10);
 *  3. several ranks: the pairs to other ranks' atoms are dropped, so every rank's pair count is
 *     at most its share of the one-rank count and the total is below it, while 1. still holds;
 *  4. a rough state (0.05 sigma noise: some 3x3 diagonal blocks are indefinite): the stand-in
 *     blocks keep P SPD and P^-1 the inverse of P (1. holds for both kinds);
 *  5. preconditioner kinds outside 0..2 and a negative or NaN lbfgs_sgs_fmax are rejected.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/minimize/min_priv.h"
#include "../../src/util/parallel.h"
#include "basin/md.h"
#include "minimize/min_testutil.h"
#include "testutil.h"

#define N 300

static double xg[3 * N], xis[3 * N], xth[3 * N], xro[3 * N];
static int sp[N];

/* a quasi-random test vector keyed by atom id: the same on any rank count */
static double key(int64_t id, int a, int s) {
    const double t = (double)(id * 3 + a) * 0.7548776662466927 + 0.31 * s;
    return t - floor(t) - 0.5;
}

static double gdot(const double *a, const double *b, int n) {
    double s = 0.0;
    for (int i = 0; i < n; ++i)
        s += a[i] * b[i];
    par_sum_d(&s, 1);
    return s;
}

static double gmaxabs(const double *a, int n) {
    double s = 0.0;
    for (int i = 0; i < n; ++i)
        s = fmax(s, fabs(a[i]));
    par_max_d(&s, 1);
    return s;
}

/* y -= K x for the stored symmetric pair block b (6 floats) */
static void ksub(const float *b, const double *x, double *y) {
    y[0] -= b[0] * x[0] + b[1] * x[1] + b[2] * x[2];
    y[1] -= b[1] * x[0] + b[3] * x[1] + b[4] * x[2];
    y[2] -= b[2] * x[0] + b[4] * x[1] + b[5] * x[2];
}

/* y = H u from the stored blocks (one rank: every pair is stored) */
static void hess_from_blocks(const MinPrecond *pc, const double *u, double *y) {
    for (int i = 0; i < pc->natoms; ++i) {
        const double *a = pc->hd + 9 * i, *ui = u + 3 * i;
        for (int k = 0; k < 3; ++k)
            y[3 * i + k] = a[3 * k] * ui[0] + a[3 * k + 1] * ui[1] + a[3 * k + 2] * ui[2];
    }
    for (int i = 0; i < pc->natoms; ++i)
        for (int q = pc->ustart[i]; q < pc->ustart[i + 1]; ++q) {
            const int j = pc->ucol[q];
            ksub(pc->ublk + 6 * (int64_t)q, u + 3 * j, y + 3 * i);
            ksub(pc->ublk + 6 * (int64_t)q, u + 3 * i, y + 3 * j);
        }
}

static void check_state(const Model *m, double L, const double *x, const char *what, int rough,
                        int64_t *pairs_one_rank) {
    Domain *d = NULL;
    TOK(domain_create(m, L, 0.3, &d));
    TOK(domain_distribute(d, N, x, NULL, sp, NULL));
    MinParams p;
    minimize_params_default(&p, MIN_LBFGS);
    MinResult res;
    memset(&res, 0, sizeof(res));
    MinCtx c = {.d = d, .p = &p, .r = &res};
    TOK(min_eval(&c)); /* lists, ghosts and forces at x */
    const int na = d->nlocal, n = 3 * na;
    double *u = calloc((size_t)n + 1, sizeof(double)), *v = calloc((size_t)n + 1, sizeof(double));
    double *pu = calloc((size_t)n + 1, sizeof(double)), *z = calloc((size_t)n + 1, sizeof(double));
    double *w = calloc((size_t)n + 1, sizeof(double)), *y = calloc((size_t)n + 1, sizeof(double));
    for (int i = 0; i < na; ++i)
        for (int a = 0; a < 3; ++a) {
            u[3 * i + a] = key(d->id[i], a, 0);
            v[3 * i + a] = key(d->id[i], a, 1);
        }
    for (int kind = MIN_PREC_JACOBI; kind <= MIN_PREC_SGS; ++kind) {
        const char *kn = kind == MIN_PREC_SGS ? "sgs" : "jacobi";
        MinPrecond pc;
        memset(&pc, 0, sizeof(pc));
        TOK(min_block_precond(d, &pc, kind));
        if (!rough)
            TCHECK(pc.not_pd == 0, "%s %s: %lld blocks not positive definite", what, kn,
                   (long long)pc.not_pd);
        else
            TCHECK(pc.not_pd > 0, "%s %s: no block stands in for an indefinite one", what, kn);
        /* 1. inverse, symmetry, positivity */
        TOK(min_precond_mult(&pc, u, pu));
        min_block_apply(&pc, pu, z);
        for (int i = 0; i < n; ++i)
            w[i] = z[i] - u[i];
        const double inv_err = gmaxabs(w, n) / gmaxabs(u, n);
        min_block_apply(&pc, u, z);
        const double vzu = gdot(v, z, n), uzu = gdot(u, z, n);
        min_block_apply(&pc, v, z);
        const double uzv = gdot(u, z, n);
        if (par_rank() == 0)
            printf("%-8s %-6s: |P^-1 P u - u| %.2e, v.P^-1 u %.12e, u.P^-1 v %.12e, "
                   "u.P^-1 u %.6e\n",
                   what, kn, inv_err, vzu, uzv, uzu);
        TCHECK(inv_err <= 1e-10, "%s %s: P^-1 P u - u = %g", what, kn, inv_err);
        TCLOSE(vzu, uzv, 1e-12, 1e-14);
        TCHECK(uzu > 0.0, "%s %s: u.P^-1 u = %g", what, kn, uzu);
        if (kind == MIN_PREC_SGS && !rough) {
            int64_t np = pc.ustart[na];
            TCHECK(np > 0 || na == 0, "%s: no pair blocks stored", what);
            double npd = (double)np;
            par_sum_d(&npd, 1);
            if (par_size() == 1) {
                *pairs_one_rank = np;
                /* 2. the stored blocks are the Hessian */
                hess_from_blocks(&pc, u, y);
                TOK(mint_hess_fd(d, u, 1e-6, z));
                for (int i = 0; i < n; ++i)
                    w[i] = y[i] - z[i];
                const double herr = gmaxabs(w, n) / gmaxabs(z, n);
                if (par_rank() == 0)
                    printf("%-8s sgs   : %lld pair blocks, |H u (blocks) - H u (FD)| / |H u| "
                           "%.2e\n",
                           what, (long long)np, herr);
                TCHECK(herr <= 1e-5, "%s: H u from the blocks differs from FD by %g", what, herr);
                /* P - H = L D^-1 U: P u - H u against it, from the blocks */
                double *t = calloc((size_t)n + 1, sizeof(double));
                for (int i = 0; i < na; ++i) /* t = U u: row i, pairs j > i */
                    for (int q = pc.ustart[i]; q < pc.ustart[i + 1]; ++q)
                        ksub(pc.ublk + 6 * (int64_t)q, u + 3 * pc.ucol[q], t + 3 * i);
                for (int i = 0; i < na; ++i) { /* t = D^-1 t */
                    const double *a = pc.minv + 9 * i;
                    const double s0 = t[3 * i], s1 = t[3 * i + 1], s2 = t[3 * i + 2];
                    for (int r = 0; r < 3; ++r)
                        t[3 * i + r] = a[3 * r] * s0 + a[3 * r + 1] * s1 + a[3 * r + 2] * s2;
                }
                memset(w, 0, (size_t)n * sizeof(double)); /* w = L t: pushed to rows j > i */
                for (int i = 0; i < na; ++i)
                    for (int q = pc.ustart[i]; q < pc.ustart[i + 1]; ++q)
                        ksub(pc.ublk + 6 * (int64_t)q, t + 3 * i, w + 3 * pc.ucol[q]);
                double e = 0.0;
                for (int i = 0; i < n; ++i)
                    e = fmax(e, fabs(pu[i] - y[i] - w[i]));
                TCHECK(e <= 1e-10 * gmaxabs(pu, n), "%s: P u - H u - L D^-1 U u = %g", what, e);
                free(t);
            } else if (*pairs_one_rank > 0) {
                /* 3. cross-rank pairs dropped */
                TCHECK(npd < (double)*pairs_one_rank, "%s: %g pairs on %d ranks, %lld on one", what,
                       npd, par_size(), (long long)*pairs_one_rank);
            }
        }
        min_precond_free(&pc);
    }
    free(u);
    free(v);
    free(pu);
    free(z);
    free(w);
    free(y);
    domain_destroy(&d);
}

int main(int argc, char **argv) {
    tu_init(&argc, &argv);
    Model m;
    model_init(&m, MODEL_GLASS);
    double L = 0.0;
    TOK(model_build_glass(&m, N, 1.015, 11, 0.8, xg, sp, &L));
    MinParams p;
    minimize_params_default(&p, MIN_LBFGS);
    double pe = 0.0; /* one IS for every rank count: quenched on one rank */
    TCHECK(mint_quench_one_rank(&m, N, L, xg, sp, &p, xis, &pe), "IS quench failed");
    mint_perturb(N, xis, 0.02, 3, 1, xth);
    mint_perturb(N, xis, 0.05, 3, 1, xro);
    int64_t pairs1[3] = {0, 0, 0};
    /* the one-rank pair counts first (in-process), then this run's rank count */
    par_push_comm(MPI_COMM_SELF);
    if (par_rank() == 0) {
        check_state(&m, L, xis, "IS", 0, &pairs1[0]);
        check_state(&m, L, xth, "thermal", 0, &pairs1[1]);
        check_state(&m, L, xro, "rough", 1, &pairs1[2]);
    }
    par_pop_comm();
    double pr[2] = {(double)pairs1[0], (double)pairs1[1]};
    par_max_d(pr, 2);
    pairs1[0] = (int64_t)pr[0], pairs1[1] = (int64_t)pr[1];
    if (par_size() > 1) {
        check_state(&m, L, xis, "IS", 0, &pairs1[0]);
        check_state(&m, L, xth, "thermal", 0, &pairs1[1]);
        check_state(&m, L, xro, "rough", 1, &pairs1[2]);
    }
    /* 5. bad parameters are configuration errors, not silent fallbacks */
    MinParams q;
    minimize_params_default(&q, MIN_LBFGS);
    TCHECK(minimize_params_check(&q) == 0, "defaults rejected");
    q.lbfgs_precondition = 3;
    TCHECK(minimize_params_check(&q) == BASIN_ERR_CONFIG, "lbfgs_precondition 3 accepted");
    minimize_params_default(&q, MIN_FIRE);
    q.newton_precondition = -1;
    TCHECK(minimize_params_check(&q) == BASIN_ERR_CONFIG, "newton_precondition -1 accepted");
    minimize_params_default(&q, MIN_LBFGS);
    q.lbfgs_sgs_fmax = -0.1;
    TCHECK(minimize_params_check(&q) == BASIN_ERR_CONFIG, "lbfgs_sgs_fmax -0.1 accepted");
    q.lbfgs_sgs_fmax = NAN;
    TCHECK(minimize_params_check(&q) == BASIN_ERR_CONFIG, "lbfgs_sgs_fmax NaN accepted");
    return tu_finish();
}
