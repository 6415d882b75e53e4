/* rkc.c: the steepest-descent flow dx/dt = F(x), integrated accurately and cheaply.
 *
 * Why: PHYSICS.md section 4 defines the inherent structure of r(t) as the minimum the steepest
 * descent from r(t) reaches. FIRE's inertia and L-BFGS's quasi-Newton steps can leave that path
 * near a shoulder of Phi and end in a neighbouring minimum (benchmarks/RESULTS.md "steepest
 * descent as the referee": FIRE 2.0 in SD's minimum on 9 of 30 in-situ samples). Plain SD
 * (sd.c) follows the path but needs gamma < 2 / lambda_max per force evaluation while the
 * soft, quasi-localised modes relax at lambda_min ~ 1e-4 lambda_max: ~2e4 evaluations a quench.
 * The flow is a stiff ODE whose Jacobian -H has a real spectrum, which is what
 * Runge-Kutta-Chebyshev methods are for: s stages buy a stable step ~ 2 s^2 / lambda_max, so
 * the cost per unit of flow time falls like 1 / s while the step stays an explicit, consistent
 * integration of the same flow (no preconditioner, no inertia: the same basins as SD).
 *
 * Damped first-order RKC (B. P. Sommeijer, L. F. Shampine, J. G. Verwer, J. Comput. Appl. Math.
 * 88, 315 (1998); J. G. Verwer, W. H. Hundsdorfer, B. P. Sommeijer, Numer. Math. 57, 157
 * (1990)), damping eps = 0.05: w0 = 1 + eps / s^2, w1 = T_s(w0) / T_s'(w0), b_j = 1 / T_j(w0),
 *     Y_0 = x_n,  Y_1 = Y_0 + (w1 / w0) h F(Y_0),
 *     Y_j = mu_j Y_{j-1} + nu_j Y_{j-2} + mut_j h F(Y_{j-1}),  j = 2..s,   x_{n+1} = Y_s,
 *     mu_j = 2 w0 b_j / b_{j-1},  nu_j = -b_j / b_{j-2},  mut_j = 2 w1 b_j / b_{j-1}.
 * Stability polynomial R_s(z) = T_s(w0 + w1 z) / T_s(w0): |R_s| <= 1 on [-(1 + w0) / w1, 0],
 * ~ [-1.93 s^2, 0]. Since mu_j + nu_j = 1 the recursion is written in displacements,
 *     D_j = Y_j - Y_{j-1} = -nu_j D_{j-1} + mut_j h F(Y_{j-1}),
 * so the one per-atom vector it needs between evaluations is D, kept in d->v (which travels with
 * the atoms through a rebuild and is immune to the periodic wrap). Every stage is one force
 * evaluation: s per step.
 *
 * Step control, per step:
 *   lambda: 1.2 x a power-iteration estimate (8 finite-difference Hessian products from F,
 *           counted evaluations; repeated whenever the bound below fell by half since, as when
 *           a bad start relaxes), x 1.5 after a step in which Phi rose, and never above the
 *           Gershgorin bound of the Hessian at Y_0, 2 max_i sum_j max(|v''|, |v'/r|) over the
 *           pairs of i (H_ii is the sum of the pair blocks, H_ij minus one of them), one pass
 *           over the half list and a reverse halo of one double, every 8 steps;
 *   s:      the fewest stages (>= 2) with (1 + w0) / w1 >= h lambda; if rkc_max_stages do not
 *           suffice, h is cut to the longest stable step;
 *   error:  first-order local error (h^2 / 2) x'' ~ (h / 2) (F(x_{n+1}) - F(x_n)), max over
 *           atoms; a step is rejected (x -= the step, one evaluation) if it exceeds rkc_tol, if
 *           Phi rose by more than its rounding noise, or if an atom moved more than dmax in
 *           the step (h / 4 when one stage alone would move an atom more than dmax: the step
 *           is abandoned before that stage is evaluated);
 *           h <- h clamp(0.8 sqrt(rkc_tol / err), 0.2, 4) otherwise (0.5 h after a rejection
 *           without a usable error estimate).
 * F(x_n) and the step's accumulated displacement are per-atom vectors that must survive a list
 * rebuild inside the step: min_rebuild_carry() moves them to the new atom order.
 * The first step takes h = 0.1 dmax / max_i |F_i| (bounded by the longest stable step).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "basin/md.h"
#include "basin/model.h"
#include "basin/util.h"
#include "min_priv.h"

#define RKC_DAMP 0.05       /* accuracy-limited steps */
#define RKC_DAMP_STRONG 2.0 /* steps at the stability limit (file comment) */
#define RKC_POWER_ITERS 8
#define RKC_LAMBDA_SAFETY 1.2
#define RKC_BOUND_EVERY 8 /* steps between Gershgorin passes (each costs about a force pass) */

typedef struct RkcCoef {
    int s;            /* stages */
    double *mut, *nu; /* [s + 1] (index 0 unused; nu[1] unused) */
} RkcCoef;

/* Not collective. Stable interval beta = (1 + w0) / w1 of an s-stage RKC1 step with damping
 * eps; with k != NULL also its coefficients (file comment). */
static double rkc_coef(RkcCoef *k, int s, double eps) {
    const double w0 = 1.0 + eps / ((double)s * s);
    /* T_j(w0), T_j'(w0) by the three-term recurrences; b_j = 1 / T_j kept in nu[] first */
    double tm2 = 1.0, tm1 = w0, dm2 = 0.0, dm1 = 1.0;
    double *b = k ? k->nu : NULL; /* b_j, overwritten by nu_j from the top down below */
    if (b) {
        b[0] = 1.0;
        b[1] = 1.0 / w0;
    }
    for (int j = 2; j <= s; ++j) {
        const double t = 2.0 * w0 * tm1 - tm2, dt = 2.0 * tm1 + 2.0 * w0 * dm1 - dm2;
        tm2 = tm1;
        tm1 = t;
        dm2 = dm1;
        dm1 = dt;
        if (b) b[j] = 1.0 / t;
    }
    const double w1 = tm1 / dm1, beta = (1.0 + w0) / w1;
    if (!k) return beta;
    k->s = s;
    k->mut[1] = w1 / w0;
    for (int j = 2; j <= s; ++j)
        k->mut[j] = 2.0 * w1 * b[j] / b[j - 1];
    for (int j = s; j >= 2; --j)
        k->nu[j] = -b[j] / b[j - 2];
    return beta;
}

/* MinPairFn: the pair's Gershgorin row weight max(|v''|, |v'/r|) (the norm of its 3x3 block)
 * onto rows i and j. */
static void add_pair_row(void *ctx, int i, int j, const double dx[3], double r2, double r,
                         const double dv[4]) {
    (void)dx;
    (void)r2;
    double *row = ctx;
    const double kij = fmax(fabs(dv[2]), fabs(dv[1] / r));
    row[i] += kij;
    row[j] += kij;
}

/* Collective (a reverse halo of one double per atom, one MAX). Gershgorin bound of the largest
 * Hessian eigenvalue at the current positions (ghosts current, half list). row: [nlocal +
 * nghost]. */
static int lambda_bound(Domain *d, double *row, double *lam) {
    const int nt = d->nlocal + d->nghost;
    memset(row, 0, (size_t)nt * sizeof(double));
    min_pair_derivs(d, add_pair_row, row);
    BCHK(domain_reverse_array(d, row, 1));
    double mx = 0.0;
    for (int i = 0; i < d->nlocal; ++i)
        mx = fmax(mx, row[i]);
    par_max_d(&mx, 1);
    *lam = 2.0 * mx;
    return 0;
}

/* forward declaration: the work arrays double as the power iteration's scratch */
typedef struct RkcWork RkcWork;
static int lambda_power(MinCtx *c, RkcWork *w, int iters, double *lam);

struct RkcWork {
    int64_t cap;    /* atoms of room in vec[] */
    double *vec[2]; /* [0] F(x_n), [1] displacement of the step so far */
    double *row;    /* [cap] Gershgorin rows */
    int64_t row_cap;
    RkcCoef k;
};

static void work_free(RkcWork *w) {
    free(w->vec[0]);
    free(w->vec[1]);
    free(w->row);
    free(w->k.mut);
    free(w->k.nu);
}

/* Not collective. Room for the Domain's current per-atom capacity. */
static int work_reserve(RkcWork *w, const Domain *d) {
    if (w->cap < d->cap) {
        for (int q = 0; q < 2; ++q) {
            double *t = realloc(w->vec[q], 3 * (size_t)d->cap * sizeof(double));
            if (!t) return basin_error(BASIN_ERR_NOMEM, "minimize", NULL, "rkc: %d atoms", d->cap);
            w->vec[q] = t;
        }
        w->cap = d->cap;
    }
    if (w->row_cap < d->cap) {
        double *t = realloc(w->row, (size_t)d->cap * sizeof(double));
        if (!t) return basin_error(BASIN_ERR_NOMEM, "minimize", NULL, "rkc: %d atoms", d->cap);
        w->row = t;
        w->row_cap = d->cap;
    }
    return 0;
}

/* Collective. One RKC step of s = w->k.s stages from the current state (forces in d->f).
 * *spent: the evaluation budget ran out inside the step. *blown: a stage would move an atom by
 * more than dmax (an unstable direction amplified by a too long step, e.g. near a saddle): the
 * step is undone before that stage is evaluated, so no force is ever computed at a blown-up
 * configuration; x is back at x_n but d->f is not (the caller evaluates). */
static int rkc_step(MinCtx *c, RkcWork *w, double h, int *spent, int *blown) {
    Domain *d = c->d;
    const MinParams *p = c->p;
    *spent = *blown = 0;
    memcpy(w->vec[0], d->f, 3 * (size_t)d->nlocal * sizeof(double));
    memset(w->vec[1], 0, 3 * (size_t)d->nlocal * sizeof(double));
    for (int j = 1; j <= w->k.s; ++j) {
        timer_start(TIMER_MINIMIZE);
        double *restrict x = d->x, *restrict v = d->v, *restrict acc = w->vec[1];
        const double *restrict f = d->f;
        const double a = j == 1 ? 0.0 : -w->k.nu[j], b = w->k.mut[j] * h;
        double big = 0.0;
        for (int i = 0; i < d->nlocal; ++i) {
            double d2 = 0.0;
            for (int q = 3 * i; q < 3 * i + 3; ++q) {
                const double s = a * v[q] + b * f[q];
                v[q] = s;
                x[q] += s;
                acc[q] += s;
                d2 += s * s;
            }
            big = fmax(big, d2);
        }
        par_max_d(&big, 1);
        if (big > p->dmax * p->dmax) {
            for (int i = 0; i < 3 * d->nlocal; ++i)
                x[i] -= acc[i];
            timer_stop(TIMER_MINIMIZE);
            *blown = 1;
            return 0;
        }
        timer_stop(TIMER_MINIMIZE);
        BCHK(min_rebuild_carry(c, w->vec, 2, &w->cap));
        BCHK(basin_error_agree(work_reserve(w, d)));
        BCHK(min_eval(c));
        if (p->max_evals > 0 && c->r->force_evals >= p->max_evals) {
            *spent = 1;
            return 0;
        }
    }
    return 0;
}

/* Collective. Largest Hessian eigenvalue at the current x by `iters` power iterations started
 * from F (dominated by the stiff modes in a thermal state), Hessian-vector products by forward
 * differences of the forces (tiny displacements: no rebuild; each one is a counted force
 * evaluation). The current x, F and the fused reduction are restored. A Rayleigh quotient is a
 * lower bound: the caller multiplies it by a safety factor. */
static int lambda_power(MinCtx *c, RkcWork *w, int iters, double *lam) {
    Domain *d = c->d;
    const int n = 3 * d->nlocal;
    double *x0 = w->vec[0], *f0 = w->vec[1], *v = d->v;
    memcpy(x0, d->x, (size_t)n * sizeof(double));
    memcpy(f0, d->f, (size_t)n * sizeof(double));
    memcpy(v, d->f, (size_t)n * sizeof(double));
    double vv = c->g[RED_FF], best = 0.0;
    const double natoms = (double)d->natoms;
    for (int it = 0; it < iters && vv > 0.0; ++it) {
        const double eps = 1e-7 * sqrt(3.0 * natoms / vv);
        for (int i = 0; i < n; ++i)
            d->x[i] = x0[i] + eps * v[i];
        BCHK(domain_forward(d));
        BCHK(md_forces(d, NULL, NULL));
        ++c->r->force_evals;
        double sums[2] = {0.0, 0.0}; /* v.Hv, |Hv|^2 */
        for (int i = 0; i < n; ++i) {
            const double hv = (f0[i] - d->f[i]) / eps;
            sums[0] += v[i] * hv;
            sums[1] += hv * hv;
            v[i] = hv;
        }
        par_sum_d(sums, 2);
        best = fmax(best, sums[0] / vv);
        vv = sums[1];
    }
    memcpy(d->x, x0, (size_t)n * sizeof(double));
    memcpy(d->f, f0, (size_t)n * sizeof(double));
    memset(v, 0, (size_t)n * sizeof(double));
    BCHK(domain_forward(d));
    min_reduce(c);
    *lam = best;
    return 0;
}

int min_rkc(MinCtx *c, int *outcome) {
    const MinParams *p = c->p;
    MinResult *r = c->r;
    Domain *d = c->d;
    *outcome = STAGE_DONE;
    RkcWork w = {0};
    int rc = BALLOC(w.k.mut, p->rkc_max_stages + 1);
    if (rc == 0) rc = BALLOC(w.k.nu, p->rkc_max_stages + 1);
    if (rc == 0) rc = work_reserve(&w, d);
    rc = basin_error_agree(rc);
    const int smax = p->rkc_max_stages;
    const double beta_max = rkc_coef(NULL, smax, RKC_DAMP),
                 beta_strong = rkc_coef(NULL, smax, RKC_DAMP_STRONG);
    double h = 0.0, lam = 0.0, gersh = 0.0, gersh_at_power = 0.0;
    while (rc == 0) {
        if (!min_next_iter(c, outcome, "sd-rkc")) break;
        /* the bound every RKC_BOUND_EVERY steps (no force evaluation, but a pass over the pairs);
         * the power estimate again when the bound fell by half since the last one (a bad start
         * relaxing: lambda_max drops by orders) */
        if (lam == 0.0 || r->iterations % RKC_BOUND_EVERY == 0) { /* a pass over all pairs */
            rc = lambda_bound(d, w.row, &gersh);
            if (rc) break;
        }
        if (lam == 0.0 || gersh < 0.5 * gersh_at_power) {
            double pw = 0.0;
            rc = lambda_power(c, &w, RKC_POWER_ITERS, &pw);
            if (rc) break;
            lam = RKC_LAMBDA_SAFETY * pw;
            gersh_at_power = gersh;
        }
        lam = fmax(fmin(lam, gersh), 1e-300);
        if (h == 0.0) {
            double fm = 0.0;
            minimize_force_norms(d, &fm, NULL);
            h = fm > 0.0 ? 0.1 * p->dmax / fm : 1.0 / lam;
        }
        /* stability-limited: the slow modes would allow a longer step than smax stages can
         * hold, and the modes inside the stable interval decay only by 1 / T_s(w0) ~ 0.95 per
         * step with weak damping; strong damping shortens the interval by half but damps
         * them by ~0.27 per step (a relaxed FCC crystal to 1e-9: 22000 -> 900 evaluations) */
        const int limited = h * lam >= beta_max;
        const double eps = limited ? RKC_DAMP_STRONG : RKC_DAMP;
        int s = smax;
        if (limited) {
            h = beta_strong / lam;
        } else {
            s = 2;
            while (s < smax && rkc_coef(NULL, s, eps) < h * lam)
                ++s;
        }
        (void)rkc_coef(&w.k, s, eps);
        const double pe0 = c->g[RED_PE];
        int spent = 0, blown = 0;
        rc = rkc_step(c, &w, h, &spent, &blown);
        if (rc || spent) break;
        if (blown) {
            ++r->resets;
            h *= 0.25;
            rc = min_eval(c);
            continue;
        }
        /* error estimate, step length and energy change of the step */
        double loc[2] = {0.0, 0.0};
        for (int i = 0; i < d->nlocal; ++i) {
            double e2 = 0.0, a2 = 0.0;
            for (int q = 0; q < 3; ++q) {
                const double df = d->f[3 * i + q] - w.vec[0][3 * i + q];
                e2 += df * df;
                a2 += w.vec[1][3 * i + q] * w.vec[1][3 * i + q];
            }
            loc[0] = fmax(loc[0], e2);
            loc[1] = fmax(loc[1], a2);
        }
        par_max_d(loc, 2);
        const double err = 0.5 * h * sqrt(loc[0]);
        const double moved = sqrt(loc[1]);
        const int rose = c->g[RED_PE] > pe0 + 1e-11 * fabs(pe0);
        if (err > p->rkc_tol || rose || moved > p->dmax) {
            const double *restrict acc = w.vec[1];
            for (int i = 0; i < 3 * d->nlocal; ++i)
                d->x[i] -= acc[i];
            ++r->resets;
            if (rose) lam *= 1.5; /* an unstable stiff mode: the estimate was low */
            double fac = 0.5;
            if (err > p->rkc_tol && !rose) fac = fmax(0.1, fmin(0.5, 0.8 * sqrt(p->rkc_tol / err)));
            if (moved > p->dmax) fac = fmin(fac, 0.8 * p->dmax / moved);
            h *= fac;
            rc = min_eval(c);
            continue;
        }
        const double fac = err > 0.0 ? 0.8 * sqrt(p->rkc_tol / err) : 4.0;
        h *= fmax(0.2, fmin(4.0, fac));
        if (p->log_every > 0 && r->iterations % p->log_every == 0)
            log_debug("minimize sd-rkc: step %lld stages %d h %.4g lambda %.4g err %.3g moved "
                      "%.3g",
                      (long long)r->iterations, s, h, lam, err, moved);
    }
    memset(d->v, 0, 3 * (size_t)d->nlocal * sizeof(double));
    if (rc == 0) min_reduce(c);
    work_free(&w);
    return rc;
}
