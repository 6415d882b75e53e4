/* minimize.c: parameters, the force evaluation + fused reduction shared by every stage, and the
 * driver that chains FIRE/SD with the optional Newton-Krylov finisher.
 *
 * One force evaluation = the MD's own sequence on the same Domain:
 *     domain_check_rebuild() ? domain_rebuild() : domain_forward();  md_forces()
 * followed by ONE par_sum_d of RED_N doubles over the owned atoms:
 *     Phi, F.F, F.v, v.v, #{i : |F_i| >= fmax_tol}, #{i : |F_i| >= switch threshold}.
 * The counts make the max-norm criterion exact without a separate MAX reduction (max |F_i| <
 * tol <=> no atom at or above tol), so FIRE needs one sum per iteration besides the domain's
 * rebuild check. The value of max |F_i| itself is reduced only for logs and at the end.
 *
 * Why d->v is the FIRE velocity and the SD workspace: a rebuild reorders the owned atoms and
 * migrates some to other ranks; v is the one per-atom array that travels with them, so the
 * minimisers keep no per-atom state of their own across evaluations (the Newton stage, which
 * does, forces a rebuild before it fills its vectors and never rebuilds while they live).
 *
 * Convergence: max_i |F_i| < fmax_tol and/or ||F||_2 < fnorm_tol (every criterion with a
 * positive tolerance must hold). Energy criteria are not offered: near a minimum Phi changes by
 * less than its rounding error (1e-16 |Phi| ~ 1e-12 at N = 4000) long before the forces are
 * small, which is the LAMMPS pitfall of `etol` stopping quenches early.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "basin/md.h"
#include "basin/util.h"
#include "min_priv.h"

void minimize_params_default(MinParams *p, MinimizerKind kind) {
    memset(p, 0, sizeof(*p));
    p->kind = kind;
    p->fmax_tol = 1e-9;
    p->fnorm_tol = 0.0;
    p->max_iter = 100000;
    p->max_evals = 0;
    p->dmax = 0.1;
    p->dt_start = 0.005;
    p->dt_max = 0.05;
    p->dt_min = 1e-4;
    p->alpha_start = 0.25;
    p->f_alpha = 0.99;
    p->f_inc = 1.1;
    p->f_dec = 0.5;
    p->n_delay = 20;
    p->n_neg_max = 2000;
    p->halfstep_back = 1;
    p->initial_delay = 1;
    if (kind == MIN_FIRE_BITZEK) {
        p->alpha_start = 0.1;
        p->n_delay = 5;
        p->halfstep_back = 0;
        p->initial_delay = 0;
    }
    p->sd_gamma0 = 1e-3;
    p->sd_gamma_max = 5e-3;
    p->lbfgs_m = 8;
    p->lbfgs_h0 = 1e-3;
    /* symmetric block Gauss-Seidel (precond.c) below max|F_i| = 0.1, block-Jacobi above: from
     * the thermal start it changed the minimum on 4 of 20 in-situ samples (N = 4000, T = 0.05),
     * from 0.3 and 1 on none, nor from 0.01-0.3 at N = 32000; 0.1 cut the evaluations per quench
     * by ~40 % (benchmarks/RESULTS.md "Symmetric block Gauss-Seidel") */
    p->lbfgs_precondition = MIN_PREC_SGS;
    p->lbfgs_sgs_fmax = 0.1;
    p->rkc_tol = 1e-3;
    p->rkc_max_stages = 200;
    p->handover_fmax = 0.0;
    p->finish = MIN_FINISH_NONE;
    /* L-BFGS descends further before Newton: from 3e-3 the first Newton steps of a large warm
     * glass overshoot (anharmonic over the step) and pay full CG solves, while L-BFGS goes on
     * at ~its linear rate; 3e-4 took 10-12 % fewer evaluations in situ at N = 4000 (T = 0.01)
     * and N = 32000 (T = 0.01, 0.05), +2 % at N = 4000, T = 0.05 (benchmarks/RESULTS.md) */
    p->finish_fmax = kind == MIN_LBFGS ? 3e-4 : 3e-3;
    p->newton_max_steps = 20;
    p->newton_max_cg = 2000;
    p->newton_eta = 1e-2;
    /* the first Newton step is mostly limited by the anharmonicity of Phi over the step, not by
     * the linear solve: solving it to 0.3 instead of ~|F| saved 7-8 % of all evaluations in situ
     * at N = 4000 and 32000, FIRE and L-BFGS alike, same minima (benchmarks/RESULTS.md) */
    p->newton_eta0 = 0.3;
    p->newton_precondition = MIN_PREC_SGS;
    p->guess_eta = 0.1;
    /* soft-mode deflation (deflate.c): 4 Ritz vectors per CG solve, at most 32 in all and
     * recycled between in-situ quenches; L-BFGS uses them below max|F_i| = 1e-3 (further up
     * it changed the minimum on 1 of 10 samples at N = 32000, T = 0.05; benchmarks/RESULTS.md) */
    p->newton_deflate = 4;
    p->newton_deflate_max = 32;
    p->deflate_fmax = kind == MIN_LBFGS ? 1e-3 : 0.0;
    p->deflate_resid = 1.0;
    p->log_every = 0;
}

void minimize_params_from_config(MinParams *p, const Config *c) {
    minimize_params_default(p, c->minimizer);
    p->fmax_tol = c->fmax_tol;
    p->fnorm_tol = c->fnorm_tol;
    p->max_iter = c->max_iter;
    p->newton_deflate_max = (int)c->soft_modes;
    p->newton_deflate = c->soft_modes > 0 ? (c->soft_modes < 4 ? (int)c->soft_modes : 4) : 0;
}

int minimize_params_check(const MinParams *p) {
    const char *w = "minimize";
    if (!(p->fmax_tol > 0.0) && !(p->fnorm_tol > 0.0))
        return basin_error(BASIN_ERR_CONFIG, w, "fmax",
                           "no convergence criterion: fmax_tol = %g, "
                           "fnorm_tol = %g (one must be > 0)",
                           p->fmax_tol, p->fnorm_tol);
    if (p->kind != MIN_FIRE && p->kind != MIN_FIRE_BITZEK && p->kind != MIN_SD &&
        p->kind != MIN_LBFGS && p->kind != MIN_RKC)
        return basin_error(BASIN_ERR_CONFIG, w, "minimizer", "unknown kind %d", (int)p->kind);
    if (p->max_iter < 1)
        return basin_error(BASIN_ERR_CONFIG, w, "max_iter", "must be >= 1, got %lld",
                           (long long)p->max_iter);
    if (!(p->dmax > 0.0) || !isfinite(p->dmax))
        return basin_error(BASIN_ERR_CONFIG, w, "dmax", "must be > 0, got %g", p->dmax);
    if (!(p->dt_min > 0.0) || !(p->dt_start >= p->dt_min) || !(p->dt_max >= p->dt_start))
        return basin_error(BASIN_ERR_CONFIG, w, "dt",
                           "need 0 < dt_min <= dt_start <= dt_max, "
                           "got %g, %g, %g",
                           p->dt_min, p->dt_start, p->dt_max);
    if (!(p->alpha_start > 0.0 && p->alpha_start < 1.0) || !(p->f_alpha > 0.0 && p->f_alpha <= 1.0))
        return basin_error(BASIN_ERR_CONFIG, w, "alpha",
                           "need 0 < alpha_start < 1 and "
                           "0 < f_alpha <= 1, got %g, %g",
                           p->alpha_start, p->f_alpha);
    if (!(p->f_inc >= 1.0) || !(p->f_dec > 0.0 && p->f_dec < 1.0) || p->n_delay < 0)
        return basin_error(BASIN_ERR_CONFIG, w, "fire",
                           "need f_inc >= 1, 0 < f_dec < 1, "
                           "n_delay >= 0, got %g, %g, %d",
                           p->f_inc, p->f_dec, p->n_delay);
    if (!(p->sd_gamma0 > 0.0) || !(p->sd_gamma_max >= p->sd_gamma0))
        return basin_error(BASIN_ERR_CONFIG, w, "sd",
                           "need 0 < sd_gamma0 <= sd_gamma_max, got "
                           "%g, %g",
                           p->sd_gamma0, p->sd_gamma_max);
    if (!(p->handover_fmax >= 0.0) || !isfinite(p->handover_fmax))
        return basin_error(BASIN_ERR_CONFIG, w, "handover_fmax", "must be >= 0, got %g",
                           p->handover_fmax);
    if ((p->kind == MIN_LBFGS || p->handover_fmax > 0.0) &&
        (p->lbfgs_m < 1 || p->lbfgs_m > 32 || !(p->lbfgs_h0 > 0.0) || !isfinite(p->lbfgs_h0)))
        return basin_error(BASIN_ERR_CONFIG, w, "lbfgs",
                           "need 1 <= lbfgs_m <= 32 and lbfgs_h0 > 0, got %d, %g", p->lbfgs_m,
                           p->lbfgs_h0);
    if (p->kind == MIN_RKC && (!(p->rkc_tol > 0.0) || !isfinite(p->rkc_tol) ||
                               p->rkc_max_stages < 2 || p->rkc_max_stages > 1000))
        return basin_error(BASIN_ERR_CONFIG, w, "rkc",
                           "need rkc_tol > 0 and 2 <= rkc_max_stages <= 1000, got %g, %d",
                           p->rkc_tol, p->rkc_max_stages);
    if (p->finish == MIN_FINISH_NEWTON &&
        (!(p->finish_fmax > 0.0) || p->newton_max_steps < 1 || p->newton_max_cg < 1 ||
         !(p->newton_eta > 0.0 && p->newton_eta < 1.0)))
        return basin_error(BASIN_ERR_CONFIG, w, "newton",
                           "need finish_fmax > 0, max_steps >= 1, "
                           "max_cg >= 1, 0 < eta < 1");
    if (p->finish == MIN_FINISH_NEWTON &&
        (p->newton_deflate < 0 || 3 * p->newton_deflate + 4 > MIN_EIGCG_MAXM ||
         p->newton_deflate_max < 0 || p->newton_deflate_max > MIN_DEFLATE_MAX))
        return basin_error(BASIN_ERR_CONFIG, w, "deflate",
                           "need 0 <= newton_deflate <= %d and 0 <= newton_deflate_max <= %d, "
                           "got %d, %d",
                           (MIN_EIGCG_MAXM - 4) / 3, MIN_DEFLATE_MAX, p->newton_deflate,
                           p->newton_deflate_max);
    if (p->lbfgs_precondition < MIN_PREC_NONE || p->lbfgs_precondition > MIN_PREC_SGS ||
        p->newton_precondition < MIN_PREC_NONE || p->newton_precondition > MIN_PREC_SGS)
        return basin_error(BASIN_ERR_CONFIG, w, "precondition",
                           "need lbfgs_precondition and newton_precondition in 0..2 (none, "
                           "block-Jacobi, block Gauss-Seidel), got %d, %d",
                           p->lbfgs_precondition, p->newton_precondition);
    if (!(p->lbfgs_sgs_fmax >= 0.0) || !isfinite(p->lbfgs_sgs_fmax))
        return basin_error(BASIN_ERR_CONFIG, w, "lbfgs_sgs_fmax", "must be >= 0, got %g",
                           p->lbfgs_sgs_fmax);
    if (p->finish == MIN_FINISH_NEWTON && !(p->guess_eta > 0.0 && p->guess_eta <= 1.0))
        return basin_error(BASIN_ERR_CONFIG, w, "guess_eta", "need 0 < guess_eta <= 1, got %g",
                           p->guess_eta);
    return 0;
}

const char *minimize_status_name(MinStatus s) {
    switch (s) {
    case MIN_CONVERGED:
        return "converged";
    case MIN_MAX_ITER:
        return "iteration limit";
    case MIN_STUCK:
        return "stuck (uphill steps)";
    }
    return "?";
}

void min_reduce(MinCtx *c) {
    const Domain *d = c->d;
    const double *restrict f = d->f, *restrict v = d->v;
    const double tol2 = c->p->fmax_tol > 0.0 ? c->p->fmax_tol * c->p->fmax_tol : INFINITY;
    const double sw2 = c->switch_fmax > 0.0 ? c->switch_fmax * c->switch_fmax : INFINITY;
    const double df2 =
        c->p->deflate_fmax > 0.0 ? c->p->deflate_fmax * c->p->deflate_fmax : INFINITY;
    const double sg2 =
        c->p->lbfgs_sgs_fmax > 0.0 ? c->p->lbfgs_sgs_fmax * c->p->lbfgs_sgs_fmax : INFINITY;
    double ff = 0.0, fv = 0.0, vv = 0.0, ntol = 0.0, nsw = 0.0, ndf = 0.0, nsg = 0.0;
    for (int i = 0; i < d->nlocal; ++i) {
        const double *fi = f + 3 * i, *vi = v + 3 * i;
        const double f2 = fi[0] * fi[0] + fi[1] * fi[1] + fi[2] * fi[2];
        ff += f2;
        fv += fi[0] * vi[0] + fi[1] * vi[1] + fi[2] * vi[2];
        vv += vi[0] * vi[0] + vi[1] * vi[1] + vi[2] * vi[2];
        ntol += f2 >= tol2;
        nsw += f2 >= sw2;
        ndf += f2 >= df2;
        nsg += f2 >= sg2;
    }
    c->g[RED_FF] = ff;
    c->g[RED_FV] = fv;
    c->g[RED_VV] = vv;
    c->g[RED_NTOL] = ntol;
    c->g[RED_NSWITCH] = nsw;
    c->g[RED_NDEFL] = ndf;
    c->g[RED_NSGS] = nsg;
    c->g[RED_PE] = c->pe_local;
    par_sum_d(c->g, RED_N);
}

int min_eval(MinCtx *c) {
    Domain *d = c->d;
    if (domain_check_rebuild(d)) {
        BCHK(domain_rebuild(d));
        ++c->r->rebuilds;
    } else {
        BCHK(domain_forward(d));
    }
    double pe = 0.0;
    BCHK(md_forces(d, &pe, NULL));
    ++c->r->force_evals;
    timer_start(TIMER_MINIMIZE);
    c->pe_local = pe;
    min_reduce(c);
    timer_stop(TIMER_MINIMIZE);
    if (!isfinite(c->g[RED_FF]) || !isfinite(c->g[RED_PE]))
        return basin_error(BASIN_ERR_PHYSICS, "minimize", NULL,
                           "non-finite forces or energy (Phi = %g, |F|^2 = %g) after %lld force "
                           "evaluations: overlapping atoms or a blown-up step",
                           c->g[RED_PE], c->g[RED_FF], (long long)c->r->force_evals);
    return 0;
}

int min_converged(const MinCtx *c) {
    const MinParams *p = c->p;
    if (p->fmax_tol > 0.0 && c->g[RED_NTOL] > 0.0) return 0;
    if (p->fnorm_tol > 0.0 && !(c->g[RED_FF] < p->fnorm_tol * p->fnorm_tol)) return 0;
    return 1;
}

int min_budget_spent(MinCtx *c) {
    const MinParams *p = c->p;
    if (c->r->iterations >= p->max_iter ||
        (p->max_evals > 0 && c->r->force_evals >= p->max_evals)) {
        c->r->status = MIN_MAX_ITER;
        return 1;
    }
    return 0;
}

void minimize_force_norms(const Domain *d, double *fmax, double *fnorm) {
    double mx = 0.0, s = 0.0;
    for (int i = 0; i < d->nlocal; ++i) {
        const double *fi = d->f + 3 * i;
        const double f2 = fi[0] * fi[0] + fi[1] * fi[1] + fi[2] * fi[2];
        s += f2;
        if (f2 > mx) mx = f2;
    }
    par_max_d(&mx, 1);
    par_sum_d(&s, 1);
    if (fmax) *fmax = sqrt(mx);
    if (fnorm) *fnorm = sqrt(s);
}

void min_pair_derivs(const Domain *d, MinPairFn fn, void *ctx) {
    const Model *m = d->model;
    for (int i = 0; i < d->nlocal; ++i) {
        const double *xi = d->x + 3 * i;
        const int si = d->species[i];
        for (int q = d->nbr_start[i]; q < d->nbr_start[i + 1]; ++q) {
            const int j = d->nbr[q];
            const PairParams *pp = &m->pair[si][d->species[j]];
            const double dx[3] = {xi[0] - d->x[3 * j], xi[1] - d->x[3 * j + 1],
                                  xi[2] - d->x[3 * j + 2]};
            const double r2 = dx[0] * dx[0] + dx[1] * dx[1] + dx[2] * dx[2];
            if (r2 >= pp->rc2) continue;
            const double r = sqrt(r2);
            double dv[4];
            pot_derivs(pp, r, dv);
            fn(ctx, i, j, dx, r2, r, dv);
        }
    }
}

int min_next_iter(MinCtx *c, int *outcome, const char *stage) {
    if (min_converged(c)) {
        c->r->status = MIN_CONVERGED;
        return 0;
    }
    if (c->switch_fmax > 0.0 && c->g[RED_NSWITCH] == 0.0) {
        *outcome = STAGE_SWITCH;
        return 0;
    }
    if (min_budget_spent(c)) return 0;
    ++c->r->iterations;
    const int every = c->p->log_every;
    if (every <= 0 || c->r->iterations % every != 0) return 1;
    log_debug("minimize %s: iter %lld evals %lld Phi %.12g |F|_2 %.4g", stage,
              (long long)c->r->iterations, (long long)c->r->force_evals, c->g[RED_PE],
              sqrt(c->g[RED_FF]));
    return 1;
}

static uint64_t hash_id(int64_t id) {
    uint64_t z = (uint64_t)id + 0x9e3779b97f4a7c15ull; /* splitmix64 finaliser */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Open-addressing map id -> index (key -1 = empty, capacity a power of two >= 2 entries), used
 * for the prediction and for min_rebuild_carry. Not collective. */
static int64_t map_cap(int64_t n) {
    int64_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    return cap;
}

/* Insert id -> idx unless id is already there (the first occurrence wins). */
static void map_insert(int64_t *key, int64_t *val, int64_t cap, int64_t id, int64_t idx) {
    uint64_t h = hash_id(id) & (uint64_t)(cap - 1);
    while (key[h] >= 0 && key[h] != id)
        h = (h + 1) & (uint64_t)(cap - 1);
    if (key[h] < 0) {
        key[h] = id;
        val[h] = idx;
    }
}

/* Index of id, -1 if absent. */
static int64_t map_find(const int64_t *key, const int64_t *val, int64_t cap, int64_t id) {
    uint64_t h = hash_id(id) & (uint64_t)(cap - 1);
    while (key[h] >= 0) {
        if (key[h] == id) return val[h];
        h = (h + 1) & (uint64_t)(cap - 1);
    }
    return -1;
}

/* Not collective. Map of the guess ids (the first occurrence of an id wins). */
static int guess_map_build(MinCtx *c, const MinGuess *g) {
    const int64_t cap = map_cap(g->n);
    BCHK(BALLOC(c->gkey, cap));
    BCHK(BALLOC(c->gval, cap));
    for (int64_t k = 0; k < cap; ++k)
        c->gkey[k] = -1;
    for (int64_t i = 0; i < g->n; ++i)
        map_insert(c->gkey, c->gval, cap, g->id[i], i);
    c->gcap = cap;
    c->guess = g;
    return 0;
}

const double *min_guess_lookup(const MinCtx *c, int64_t id) {
    if (!c->guess) return NULL;
    const int64_t i = map_find(c->gkey, c->gval, c->gcap, id);
    return i < 0 ? NULL : c->guess->x + 3 * i;
}

int min_fd_hess_vec(MinCtx *c, const double *x0, const double *f0, const double *p, double pp,
                    double *hp) {
    Domain *d = c->d;
    const int n = 3 * d->nlocal;
    const double eps = 1e-7 * sqrt(3.0 * (double)d->natoms / pp);
    for (int i = 0; i < n; ++i)
        d->x[i] = x0[i] + eps * p[i];
    BCHK(domain_forward(d));
    BCHK(md_forces(d, NULL, NULL));
    ++c->r->force_evals;
    const double ie = 1.0 / eps;
    for (int i = 0; i < n; ++i)
        hp[i] = (f0[i] - d->f[i]) * ie;
    return 0;
}

double min_max_drift(const Domain *d) {
    double mx = 0.0;
    for (int i = 0; i < d->nlocal; ++i) {
        double s = 0.0;
        for (int k = 0; k < 3; ++k) {
            const double t = d->x[3 * i + k] - d->x_build[3 * i + k];
            s += t * t;
        }
        if (s > mx) mx = s;
    }
    par_max_d(&mx, 1);
    return sqrt(mx);
}

int min_idmap_build(const int64_t *id, int64_t n, MinIdMap *m) {
    const int64_t cap = map_cap(n);
    if (cap > m->cap) {
        BCHK(basin_realloc((void **)&m->key, (size_t)cap, sizeof(int64_t), "id map"));
        BCHK(basin_realloc((void **)&m->val, (size_t)cap, sizeof(int64_t), "id map"));
    }
    m->cap = cap;
    for (int64_t k = 0; k < cap; ++k)
        m->key[k] = -1;
    for (int64_t i = 0; i < n; ++i)
        map_insert(m->key, m->val, cap, id[i], i);
    return 0;
}

int64_t min_idmap_find(const MinIdMap *m, int64_t id) {
    return m->cap > 0 ? map_find(m->key, m->val, m->cap, id) : -1;
}

void min_idmap_free(MinIdMap *m) {
    free(m->key);
    free(m->val);
    memset(m, 0, sizeof(*m));
}

int min_soft_modes_create(int kmax, MinSoftModes **out) {
    *out = NULL;
    if (kmax < 1 || kmax > MIN_DEFLATE_MAX)
        return basin_error(BASIN_ERR_CONFIG, "minimize", "soft modes", "need 1 <= k <= %d, got %d",
                           MIN_DEFLATE_MAX, kmax);
    MinSoftModes *s = calloc(1, sizeof(*s));
    if (!s) return basin_error(BASIN_ERR_NOMEM, "minimize", NULL, "soft-mode store");
    s->kmax = kmax;
    *out = s;
    return 0;
}

void min_soft_modes_destroy(MinSoftModes **s) {
    if (!s || !*s) return;
    free((*s)->id);
    free((*s)->u);
    free(*s);
    *s = NULL;
}

int min_soft_modes_count(const MinSoftModes *s) {
    return s ? s->k : 0;
}

void min_soft_modes_view(const MinSoftModes *s, int *k, int64_t *n, const int64_t **id,
                         const double **u, int64_t *stride) {
    *k = s ? s->k : 0;
    *n = s ? s->n : 0;
    *id = s ? s->id : NULL;
    *u = s ? s->u : NULL;
    *stride = s ? 3 * s->cap : 0;
}

int min_soft_modes_set(MinSoftModes *s, int k, int64_t n, const int64_t *id, const double *u) {
    if (k < 0 || n < 0)
        return basin_error(BASIN_ERR_CONFIG, "minimize", "soft modes", "%d vectors of %lld atoms",
                           k, (long long)n);
    if (k > s->kmax) k = s->kmax; /* the first (softest after a refresh) ones */
    if (n > s->cap) {
        BCHK(basin_realloc((void **)&s->id, (size_t)n, sizeof(int64_t), "soft modes"));
        BCHK(basin_realloc((void **)&s->u, 3 * (size_t)n * (size_t)s->kmax, sizeof(double),
                           "soft modes"));
        s->cap = n;
    }
    if (n > 0) memcpy(s->id, id, (size_t)n * sizeof(int64_t));
    for (int q = 0; q < k; ++q)
        memcpy(s->u + (size_t)q * 3 * (size_t)s->cap, u + (size_t)q * 3 * (size_t)n,
               3 * (size_t)n * sizeof(double));
    s->n = n;
    s->k = k;
    return 0;
}

int min_rebuild_carry(MinCtx *c, double **vec, int nv, int64_t *cap) {
    Domain *d = c->d;
    if (nv <= 0 || !domain_check_rebuild(d)) return 0;
    const int nl = d->nlocal, nt = d->nlocal + d->nghost, width = 3 * nv;
    double *buf = NULL;
    int64_t *key = NULL, *val = NULL;
    const int64_t mcap = map_cap(nt);
    int rc = BALLOC(buf, (size_t)nt * (size_t)width + 1);
    if (rc == 0) rc = BALLOC(key, mcap);
    if (rc == 0) rc = BALLOC(val, mcap);
    rc = basin_error_agree(rc);
    if (rc == 0) {
        for (int i = 0; i < nl; ++i)
            for (int k = 0; k < nv; ++k)
                memcpy(buf + (size_t)i * (size_t)width + 3 * k, vec[k] + 3 * i, 3 * sizeof(double));
        rc = domain_forward_array(d, buf, width);
    }
    if (rc == 0) {
        for (int64_t q = 0; q < mcap; ++q)
            key[q] = -1;
        for (int i = 0; i < nt; ++i) /* owned first: an owned row wins over ghost images */
            map_insert(key, val, mcap, d->id[i], i);
        rc = domain_rebuild(d);
        ++c->r->rebuilds;
    }
    if (rc == 0 && *cap < d->cap) {
        for (int k = 0; k < nv && rc == 0; ++k) {
            double *t = realloc(vec[k], 3 * (size_t)d->cap * sizeof(double));
            if (t)
                vec[k] = t;
            else
                rc = basin_error(BASIN_ERR_NOMEM, "minimize", NULL, "carry: %d atoms", d->cap);
        }
        if (rc == 0) *cap = d->cap;
    }
    rc = basin_error_agree(rc);
    double missing = 0.0;
    if (rc == 0) {
        for (int i = 0; i < d->nlocal; ++i) {
            const int64_t j = map_find(key, val, mcap, d->id[i]);
            for (int k = 0; k < nv; ++k) {
                if (j < 0)
                    memset(vec[k] + 3 * i, 0, 3 * sizeof(double));
                else
                    memcpy(vec[k] + 3 * i, buf + (size_t)j * (size_t)width + 3 * k,
                           3 * sizeof(double));
            }
            missing += j < 0;
        }
        par_sum_d(&missing, 1);
        if (missing > 0.0) /* cannot happen (see min_priv.h) */
            rc = basin_error(BASIN_ERR_INTERNAL, "minimize", NULL,
                             "%g atoms lost their per-atom state in a rebuild", missing);
    }
    free(buf);
    free(key);
    free(val);
    return rc;
}

static int run(MinCtx *c);

int minimize_run(Domain *d, const MinParams *p, MinResult *r) {
    return minimize_run_guess(d, p, NULL, r);
}

int minimize_run_guess(Domain *d, const MinParams *p, const MinGuess *guess, MinResult *r) {
    BCHK(minimize_params_check(p));
    memset(r, 0, sizeof(*r));
    MinCtx c = {.d = d, .p = p, .r = r};
    int rc = 0;
    if (guess && guess->n > 0 && p->finish == MIN_FINISH_NEWTON) {
        rc = guess_map_build(&c, guess);
    }
    MinDeflate df;
    if (p->finish == MIN_FINISH_NEWTON && p->newton_deflate > 0) {
        min_defl_init(&df, p->newton_deflate_max);
        c.defl = &df;
        if (guess) c.soft = guess->soft;
    }
    rc = basin_error_agree(rc);
    if (rc == 0) rc = run(&c);
    if (rc == 0 && c.soft) rc = basin_error_agree(min_defl_save(&c));
    if (c.defl) min_defl_free(&df);
    free(c.gkey);
    free(c.gval);
    return rc;
}

static int run(MinCtx *cp) {
    MinCtx c = *cp;
    Domain *d = c.d;
    const MinParams *p = c.p;
    MinResult *r = c.r;
    const double t0 = par_wtime();
    const double finish_sw = p->finish == MIN_FINISH_NEWTON ? p->finish_fmax : 0.0;
    MinimizerKind kind = p->kind;
    /* FIRE or the SD flow first, L-BFGS below handover_fmax (docs/inherent.md "Hand-over") */
    int handover = (kind == MIN_FIRE || kind == MIN_FIRE_BITZEK || kind == MIN_RKC) &&
                   p->handover_fmax > finish_sw;
    c.switch_fmax = handover ? p->handover_fmax : finish_sw;
    memset(d->v, 0, 3 * (size_t)d->nlocal * sizeof(double));
    BCHK(min_eval(&c));
    r->status = MIN_CONVERGED;
    for (;;) {
        if (min_converged(&c)) break;
        int outcome = STAGE_DONE;
        if (kind == MIN_SD)
            BCHK(min_sd(&c, &outcome));
        else if (kind == MIN_RKC)
            BCHK(min_rkc(&c, &outcome));
        else if (kind == MIN_LBFGS)
            BCHK(min_lbfgs(&c, &outcome));
        else
            BCHK(min_fire(&c, &outcome));
        if (outcome == STAGE_DONE) break;
        if (handover) {
            /* below handover_fmax: L-BFGS from here on (also after a Newton fallback) */
            handover = 0;
            r->handed_over = 1;
            kind = MIN_LBFGS;
            c.switch_fmax = finish_sw;
            memset(d->v, 0, 3 * (size_t)d->nlocal * sizeof(double));
            min_reduce(&c); /* the switch count for the new threshold */
            continue;
        }
        /* the switch threshold was reached: finish with Newton */
        BCHK(min_newton(&c, &outcome));
        if (outcome == STAGE_DONE) break;
        /* Newton gave up: descend further before trying again, at most three times */
        ++r->fallbacks;
        c.switch_fmax = r->fallbacks >= 3 ? 0.0 : 0.1 * c.switch_fmax;
        memset(d->v, 0, 3 * (size_t)d->nlocal * sizeof(double));
        min_reduce(&c); /* F.v and v.v of the zeroed velocities */
    }
    if (r->status == MIN_CONVERGED && !min_converged(&c)) r->status = MIN_MAX_ITER;
    memset(d->v, 0, 3 * (size_t)d->nlocal * sizeof(double));
    int64_t capped = c.capped_local;
    par_sum_i64(&capped, 1);
    r->capped = capped;
    r->pe = c.g[RED_PE];
    minimize_force_norms(d, &r->fmax, &r->fnorm);
    double dt = par_wtime() - t0;
    par_bcast_d(&dt, 1, 0);
    r->seconds = dt;
    return 0;
}
