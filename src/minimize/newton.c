/* newton.c: Newton-Krylov finishing stage for quenches that must end at max |F_i| ~ 1e-9.
 *
 * Why: FIRE (like any momentum method) converges linearly near a minimum, at a rate set by the
 * condition number kappa = lambda_max / lambda_min of the Hessian H; about half of a FIRE
 * quench from a thermal state is spent going from |F| ~ 1e-3 to 1e-10 in the harmonic
 * regime, where the problem is the linear system H s = F. Conjugate gradients solve it
 * optimally in the Krylov sense (error reduction ~ ((sqrt(kappa)-1)/(sqrt(kappa)+1))^k, and
 * much faster on the clustered spectrum of a glass), and the Newton outer loop takes care of the
 * small anharmonic remainder (quadratic convergence). This is the inexact (truncated) Newton
 * method of Dembo, Eisenstat, Steihaug, SIAM J. Numer. Anal. 19, 400 (1982); Nocedal & Wright,
 * Numerical Optimization, 2nd ed., Algorithm 7.1 (line-search Newton-CG).
 *
 * Outer step k at x_k with forces F_k = F(x_k):
 *   solve H s = F_k by preconditioned CG until |r| <= max(eta_k |F_k|, target / 1.5),
 *       eta_k = min(newton_eta, max(|F_k|_2, 0.9 (|F_k| / |F_k-1|)^2))
 *   (quadratic forcing with the Eisenstat-Walker choice-2 safeguard against oversolving,
 *   S. C. Eisenstat, H. F. Walker, SIAM J. Sci. Comput. 17, 16 (1996))
 *   stop CG at the first direction of non-positive curvature (p.Hp <= 0): the minimiser
 *       should not be here, give the state back to FIRE (MinResult.fallbacks)
 *   scale s so that max_i |s_i| <= dmax, x_{k+1} = x_k + s; accept if |F| and Phi decrease
 *       (halving s up to 3 times), else undo and fall back to FIRE.
 *
 * Hessian-vector products by forward differences of the md force kernel:
 *     H p ~ (F(x) - F(x + eps p)) / eps,   eps = 1e-7 sqrt(3N) / |p|_2
 * (an rms displacement of 1e-7 sigma: truncation error ~ 1e-6 relative, rounding ~ 1e-7),
 * so every product is one honest force evaluation on the same list and halo (counted in
 * MinResult.force_evals). The FD displacements never trigger a rebuild: before the CG the
 * stage checks that the largest drift since the last list build plus the largest FD
 * displacement stays below skin/2 (otherwise it rebuilds once and re-evaluates), so the
 * per-atom CG vectors, which are stored in the Domain's current atom order, stay aligned.
 *
 * Preconditioner: the block-Jacobi P of precond.c (inverse 3x3 diagonal blocks of the analytic
 * Hessian), computed once per Newton step; it removes the factor ~3 of stiffness between
 * small-small and large-large contacts of the binary glass (MinResult.hess_diag_evals).
 * With newton_deflate > 0 it is augmented by soft-mode deflation (deflate.c): eigCG (eigcg.c)
 * collects the lowest Ritz pairs of every solve, the converged soft ones are lifted out of the
 * spectrum of the later solves, and the soft modes recycled from the previous quench are
 * refreshed before the first full solve (not when the prediction was taken).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "basin/md.h"
#include "basin/util.h"
#include "min_priv.h"

typedef struct NewtonWork {
    int64_t cap; /* doubles per vector */
    double *x0, *f0, *s, *r, *z, *p, *hp;
    MinPrecond pc;     /* block-Jacobi preconditioner (precond.c) */
    double fnorm_prev; /* |F| at the previous Newton step (0: first step) */
    /* soft-mode deflation (deflate.c): eigCG collects the Ritz pairs of each solve; defl is
     * the driver's deflation state while it is valid for this step (NULL: none) */
    MinEigcg eig;
    MinDeflate *defl;
} NewtonWork;

static void work_free(NewtonWork *w) {
    free(w->x0);
    free(w->f0);
    free(w->s);
    free(w->r);
    free(w->z);
    free(w->p);
    free(w->hp);
    min_eigcg_free(&w->eig);
    min_precond_free(&w->pc);
    memset(w, 0, sizeof(*w));
}

static int grow(double **a, int64_t n) {
    return basin_realloc((void **)a, (size_t)(n > 0 ? n : 1), sizeof(double), "newton vector");
}

static int work_reserve(NewtonWork *w, const Domain *d) {
    const int64_t n = 3 * (int64_t)d->nlocal;
    if (n > w->cap) {
        double **v[] = {&w->x0, &w->f0, &w->s, &w->r, &w->z, &w->p, &w->hp};
        for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); ++k)
            BCHK(grow(v[k], n));
        w->cap = n;
    }
    return 0;
}

/* z = M^-1 r: block-Jacobi (or z = r without preconditioner), plus the soft-mode terms of
 * deflate.c (collective then). */
static void precondition(NewtonWork *w, int n_atoms, int use, const double *r, double *z) {
    if (!use)
        memcpy(z, r, 3 * (size_t)n_atoms * sizeof(double));
    else
        min_block_apply(&w->pc, r, z);
    if (w->defl) min_defl_apply(w->defl, n_atoms, r, z);
}

/* Not collective (the Ritz data are global). After a CG solve: the soft Ritz pairs of M^-1 H
 * that eigCG found join the deflation vectors of the next solves. A pair is used if it is soft
 * (mu < MIN_DEFLATE_MU) and converged to a residual below its own value: then w w^T (1/mu - 1)
 * moves its eigenvalue from mu to ~1, the middle of the bulk. The others stay as candidates
 * (coefficient 0): the next quench's Rayleigh-Ritz refresh finds the soft directions in their
 * span. */
static int harvest(MinCtx *c, NewtonWork *w) {
    const MinParams *p = c->p;
    MinDeflate *df = c->defl;
    const int na = c->d->nlocal;
    if (!df || w->eig.m == 0) return 0;
    (void)min_defl_active(c); /* drops vectors that a rebuild left in the old atom order */
    int room = df->wmax - df->nw;
    if (room > p->newton_deflate) room = p->newton_deflate;
    if (room <= 0) return 0;
    BCHK(min_defl_reserve(df, df->nw + room, na));
    double mu[MIN_DEFLATE_MAX], res[MIN_DEFLATE_MAX];
    const int k = min_eigcg_ritz(&w->eig, room, df->w + df->nw, mu, res);
    int kept = 0;
    for (int j = 0; j < k; ++j) {
        const int ok = mu[j] > 0.0 && mu[j] < MIN_DEFLATE_MU && res[j] < p->deflate_resid * mu[j];
        if (p->log_every > 0)
            log_debug("minimize newton: Ritz %d mu %.4g residual %.3g%s", j, mu[j], res[j],
                      ok ? " (deflated)" : "");
        df->wc[df->nw + j] = ok ? 1.0 / mu[j] - 1.0 : 0.0;
        kept += ok;
    }
    df->nw += k;
    df->nlocal = na;
    df->nb = c->r->rebuilds;
    c->r->deflated += kept;
    return 0;
}

/* Collective. w->hp = H w->p at x0 (min_fd_hess_vec); p.p = pp (global). */
static int hess_vec(MinCtx *c, NewtonWork *w, double pp) {
    return min_fd_hess_vec(c, w->x0, w->f0, w->p, pp, w->hp);
}

static int p_log(const MinCtx *c) {
    return c->p->log_every > 0;
}

/* The 2-norm that guarantees the requested criteria (the CG's own stopping target). */
static double target_norm(const MinParams *p, int64_t natoms) {
    double t = INFINITY;
    if (p->fnorm_tol > 0.0) t = p->fnorm_tol;
    /* |F|_2 ~ sqrt(N) * typical |F_i|, and max |F_i| is a few times the typical value */
    if (p->fmax_tol > 0.0) t = fmin(t, p->fmax_tol * sqrt((double)natoms) / 4.0);
    return t;
}

/* Collective. Start the CG from the prediction s0 = minimum image (guess - x0) when the linear
 * residual r0 = F - H s0 is below guess_eta |F| (one Hessian product); otherwise s = 0, r = F. */
static int try_guess(MinCtx *c, NewtonWork *w, double ff0) {
    const double eta2 = c->p->guess_eta * c->p->guess_eta;
    Domain *d = c->d;
    const int na = d->nlocal, n = 3 * na;
    const double L = d->L;
    double red[2] = {0.0, 0.0};
    for (int i = 0; i < na; ++i) {
        const double *g = min_guess_lookup(c, d->id[i]);
        for (int k = 0; k < 3; ++k) {
            double s = 0.0;
            if (g) {
                s = g[k] - w->x0[3 * i + k];
                s -= L * nearbyint(s / L);
            }
            w->p[3 * i + k] = s;
            red[0] += s * s;
        }
        red[1] += g ? 0.0 : 1.0;
    }
    par_sum_d(red, 2);
    if (!(red[0] > 0.0)) return 0; /* at the prediction already: s = 0 is the same step */
    BCHK(hess_vec(c, w, red[0]));
    ++c->r->iterations;
    double rr = 0.0;
    for (int i = 0; i < n; ++i) {
        const double ri = w->f0[i] - w->hp[i];
        rr += ri * ri;
    }
    par_sum_d(&rr, 1);
    if (p_log(c))
        log_debug("minimize newton: prediction |s0| %.4g, residual %.4g of |F| %.4g, %g atoms "
                  "without prediction",
                  sqrt(red[0]), sqrt(rr), sqrt(ff0), red[1]);
    if (!(rr < eta2 * ff0)) return 0;
    ++c->r->guess_used;
    for (int i = 0; i < n; ++i) {
        w->s[i] = w->p[i];
        w->r[i] = w->f0[i] - w->hp[i];
    }
    return 0;
}

/* One Newton step. *ok = 1 accepted, 2 accepted but cut to <= 1/4 (hand back to FIRE), 0
 * rejected (FIRE goes on from the current state). */
static int newton_step(MinCtx *c, NewtonWork *w, int *ok) {
    Domain *d = c->d;
    const MinParams *p = c->p;
    MinResult *r = c->r;
    const int64_t natoms = d->natoms;
    *ok = 0;

    /* Keep the atom order fixed for the whole step (see the file comment). */
    const double h_max = 1e-7 * sqrt(3.0 * (double)natoms);
    if (min_max_drift(d) + h_max >= 0.5 * d->skin) {
        BCHK(domain_rebuild(d));
        ++r->rebuilds;
        BCHK(min_eval(c));
    }
    BCHK(basin_error_agree(work_reserve(w, d))); /* collective: no rank may leave alone */
    const int na = d->nlocal, n = 3 * na;
    if (p->newton_deflate > 0) {
        const int m = 3 * p->newton_deflate + 4;
        BCHK(basin_error_agree(min_eigcg_reserve(&w->eig, m, p->newton_deflate, n)));
    }
    memcpy(w->x0, d->x, (size_t)n * sizeof(double));
    memcpy(w->f0, d->f, (size_t)n * sizeof(double));
    const double pe0 = c->g[RED_PE], ff0 = c->g[RED_FF], fnorm0 = sqrt(ff0);
    if (p->newton_precondition) {
        BCHK(min_block_precond(d, &w->pc, p->newton_precondition));
        ++r->hess_diag_evals;
    }

    /* forcing term: quadratic (eta = |F|) with the Eisenstat-Walker "choice 2" safeguard
     * 0.9 (|F_k| / |F_k-1|)^2 against oversolving when the outer iteration converges fast */
    double eta = fnorm0;
    if (w->fnorm_prev > 0.0)
        eta = fmax(eta, 0.9 * (fnorm0 / w->fnorm_prev) * (fnorm0 / w->fnorm_prev));
    eta = fmin(p->newton_eta, eta);
    if (w->fnorm_prev == 0.0 && p->newton_eta0 > 0.0) eta = p->newton_eta0;
    w->fnorm_prev = fnorm0;
    const double tol = fmax(eta * fnorm0, target_norm(p, natoms) / 1.5);
    memset(w->s, 0, (size_t)n * sizeof(double));
    memcpy(w->r, w->f0, (size_t)n * sizeof(double));
    const int64_t used0 = r->guess_used;
    if (c->guess) BCHK(try_guess(c, w, ff0));
    /* recycled soft modes only for a full solve (not when the prediction was taken: then a few
     * CG iterations refine it and the refresh would cost more than it saves) */
    if (c->defl && !c->defl->refreshed && r->guess_used == used0 && p->newton_precondition)
        BCHK(min_defl_refresh(c, &w->pc));
    w->defl = min_defl_active(c) ? c->defl : NULL;
    precondition(w, na, p->newton_precondition, w->r, w->z);
    memcpy(w->p, w->z, (size_t)n * sizeof(double));
    double red[4] = {0.0, 0.0, 0.0, 0.0};
    for (int i = 0; i < n; ++i) {
        red[0] += w->r[i] * w->z[i];
        red[1] += w->z[i] * w->z[i];
        red[2] += w->r[i] * w->r[i];
    }
    par_sum_d(red, 3);
    double rz = red[0], pp = red[1];
    if (p->newton_deflate > 0) min_eigcg_begin(&w->eig, w->z, rz);
    int64_t it = 0;
    int negative = 0;
    while (sqrt(red[2]) > tol && it < p->newton_max_cg &&
           !(p->max_evals > 0 && r->force_evals >= p->max_evals)) {
        if (!(pp > 0.0)) break;
        BCHK(hess_vec(c, w, pp));
        ++it;
        ++r->cg_iters;
        ++r->iterations;
        double php = 0.0;
        for (int i = 0; i < n; ++i)
            php += w->p[i] * w->hp[i];
        par_sum_d(&php, 1);
        if (!(php > 0.0)) {
            negative = 1;
            break;
        }
        const double a = rz / php;
        for (int i = 0; i < n; ++i) {
            w->s[i] += a * w->p[i];
            w->r[i] -= a * w->hp[i];
        }
        precondition(w, na, p->newton_precondition, w->r, w->z);
        red[0] = red[1] = red[2] = red[3] = 0.0;
        for (int i = 0; i < n; ++i) {
            red[0] += w->r[i] * w->r[i];
            red[1] += w->r[i] * w->z[i];
            red[2] += w->z[i] * w->z[i];
            red[3] += w->z[i] * w->p[i];
        }
        par_sum_d(red, 4);
        /* alpha and beta give the Lanczos tridiagonal of the preconditioned Hessian, whose
         * eigenvalues (Ritz values) show the spectrum the CG fights
         * (benchmarks/minimize/ritz.py) */
        if (p->log_every > 0 && it % p->log_every == 0)
            log_debug("minimize newton: cg %lld |r| %.4g (target %.4g, |F| %.4g) alpha %.10g "
                      "beta %.10g",
                      (long long)it, sqrt(red[0]), tol, fnorm0, a, red[1] / rz);
        const double beta = red[1] / rz;
        const int last = sqrt(red[0]) <= tol || it >= p->newton_max_cg;
        if (p->newton_deflate > 0) min_eigcg_step(&w->eig, a, beta, w->z, red[1], last);
        if (sqrt(red[0]) <= tol) break;
        rz = red[1];
        pp = red[2] + 2.0 * beta * red[3] + beta * beta * pp;
        red[2] = red[0]; /* |r|^2 for the loop condition */
        for (int i = 0; i < n; ++i)
            w->p[i] = w->z[i] + beta * w->p[i];
    }
    if (!negative) BCHK(harvest(c, w));
    /* Remove the uniform translation from s: H annihilates it, so it is not determined by the
     * system (the preconditioner and the FD noise put some in), and any of it would shift the
     * whole IS (|Delta r_IS| ~ sqrt(N) |mean s|) where FIRE and SD conserve the centre of mass. */
    double mean[3] = {0.0, 0.0, 0.0};
    for (int i = 0; i < na; ++i)
        for (int k = 0; k < 3; ++k)
            mean[k] += w->s[3 * i + k];
    par_sum_d(mean, 3);
    for (int k = 0; k < 3; ++k)
        mean[k] /= (double)natoms;
    for (int i = 0; i < na; ++i)
        for (int k = 0; k < 3; ++k)
            w->s[3 * i + k] -= mean[k];
    /* the step: s (possibly truncated at negative curvature), capped at dmax per atom */
    double smax = 0.0;
    for (int i = 0; i < na; ++i) {
        const double *si = w->s + 3 * i;
        const double s2 = si[0] * si[0] + si[1] * si[1] + si[2] * si[2];
        if (s2 > smax) smax = s2;
    }
    par_max_d(&smax, 1);
    smax = sqrt(smax);
    if (negative && it == 1) smax = 0.0; /* no model step at all */
    if (!(smax > 0.0)) {
        memcpy(d->x, w->x0, (size_t)n * sizeof(double));
        BCHK(min_eval(c));
        return 0;
    }
    double scale = smax > p->dmax ? p->dmax / smax : 1.0;
    for (int tries = 0; tries < 4; ++tries, scale *= 0.5) {
        for (int i = 0; i < n; ++i)
            d->x[i] = w->x0[i] + scale * w->s[i];
        const int64_t nb = r->rebuilds;
        BCHK(min_eval(c));
        const double slack = 1e-13 * fabs(pe0);
        if (p->log_every > 0)
            log_debug("minimize newton: step %lld cg %lld scale %g |F| %.4g -> %.4g, dPhi %.3g",
                      (long long)r->newton_steps, (long long)it, scale, fnorm0, sqrt(c->g[RED_FF]),
                      c->g[RED_PE] - pe0);
        if (c->g[RED_FF] < ff0 && c->g[RED_PE] <= pe0 + slack) {
            ++r->newton_steps;
            /* a step that had to be cut to a quarter or less means the quadratic model is
             * poor here (near a shoulder or saddle of Phi): keep the gain but let FIRE go on */
            *ok = scale * 4.0 > (smax > p->dmax ? p->dmax / smax : 1.0) ? 1 : 2;
            return 0;
        }
        /* A rebuild reordered the atoms: x0 no longer matches them, so no backtracking; the
         * caller hands this trial state to FIRE (which starts from v = 0). */
        if (r->rebuilds != nb) return 0;
    }
    memcpy(d->x, w->x0, (size_t)n * sizeof(double));
    BCHK(min_eval(c));
    return 0;
}

int min_newton(MinCtx *c, int *outcome) {
    const MinParams *p = c->p;
    NewtonWork w = {0};
    int rc = 0;
    *outcome = STAGE_DONE;
    for (int k = 0; k < p->newton_max_steps; ++k) {
        if (min_converged(c)) {
            c->r->status = MIN_CONVERGED;
            break;
        }
        if (min_budget_spent(c)) break;
        int ok = 0;
        rc = newton_step(c, &w, &ok);
        if (rc) break;
        if (ok != 1) {
            *outcome = STAGE_SWITCH;
            break;
        }
        if (k + 1 == p->newton_max_steps) *outcome = STAGE_SWITCH;
    }
    if (rc == 0 && *outcome == STAGE_DONE && !min_converged(c) && c->r->status == MIN_CONVERGED)
        c->r->status = MIN_MAX_ITER;
    work_free(&w);
    return rc;
}
