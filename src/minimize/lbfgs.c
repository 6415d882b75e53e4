/* lbfgs.c: limited-memory BFGS on the distributed Domain (J. Nocedal, Math. Comp. 35, 773
 * (1980); D. C. Liu, J. Nocedal, Math. Program. 45, 503 (1989); Nocedal & Wright, Numerical
 * Optimization, 2nd ed., Algorithms 7.4 and 7.5).
 *
 * Why: near a glass minimum FIRE converges linearly at a rate set by the condition number of
 * the Hessian (kappa ~ 1e4); L-BFGS builds a low-rank model of the inverse Hessian from the last
 * m steps s_i = x_{i+1} - x_i and force changes y_i = F_i - F_{i+1} (= gradient changes) and on
 * a quadratic with exact line searches it reproduces conjugate gradients. Every force
 * evaluation counts, so the line search is the cheapest one that keeps the method safe.
 *
 * Iteration k at x with forces F (d->f), memory {(s_i, y_i), rho_i = 1 / s_i.y_i}, i = 1..k:
 *   direction  p = H_k F  (two-loop recursion with H_0 = gamma I, gamma = s.y / y.y of the newest
 *              pair, or lbfgs_h0 with empty memory; with lbfgs_precondition H_0 = gamma P^-1,
 *              P a preconditioner of precond.c: block-Jacobi, or symmetric block Gauss-Seidel
 *              once max|F_i| < lbfgs_sgs_fmax; see two_loop_prec)
 *   descent    F.p > 0, else the memory is cleared and p = lbfgs_h0 F
 *   cap        p is scaled as a whole so that max_i |p_i| <= dmax (the direction is kept)
 *   line search: x += alpha p starting at alpha = 1 (the quasi-Newton step, accepted almost
 *              always once the memory is warm); accept when
 *                  Phi(x + alpha p) <= Phi(x) - c1 alpha F.p           (Armijo, c1 = 1e-4)
 *              or, when the change of Phi is below its rounding noise (1e-13 |Phi|, reached
 *              near |F|_2 ~ 1e-6 at N = 4000), when |F(x + alpha p).p| <= F.p (the step did
 *              not overshoot the line minimum by more than a factor 2: this is what a decrease
 *              of Phi means on a quadratic, and slopes stay accurate where energies do not).
 *              Otherwise alpha is cut by the secant of the two slopes (exact on a quadratic),
 *              kept within [0.1, 0.5] alpha, at most 10 times. Every trial is a force
 *              evaluation and is counted.
 *   update     s = alpha p, y = F_old - F_new, s.y = alpha (F_old.p - F_new.p) (both slopes
 *              come from the fused reductions); the pair is stored only if s.y > 0 (curvature
 *              condition; otherwise H would lose positive definiteness).
 *
 * Distributed layout and reductions (no MPI here: par_sum_d / par_max_d). The direction is
 * kept in d->v: min_eval's fused reduction then returns F(x + alpha p).p and p.p with Phi and
 * |F|^2 at no extra cost, and v travels with the atoms through a rebuild, so a backtracking
 * move x += (alpha' - alpha) p stays valid even if the trial evaluation rebuilt the lists.
 * The memory vectors s_i, y_i and F_old are stored in the Domain's atom order, which a rebuild
 * changes (cell sort, migration). A quench from a thermal state rebuilds 7-16 times at N = 4000
 * (skin 0.3), and clearing the memory each time cost ~20 % more evaluations, so the memory is
 * carried through the rebuild instead: before it, the per-atom memory (6k + 3 doubles, k <= m
 * pairs) is sent to the ghosts with domain_forward_array and an id -> index map of owned + ghost
 * atoms is built (min_rebuild_carry, shared with rkc.c); after it every owned atom finds its row
 * there (an atom that changed owner moved less than skin/2 + dmax since the last build, so it was a
 * ghost of its new owner: the same argument as the tracker's prediction). The Gram entries are
 * global scalars and do not change. Cost, per rebuild only: one halo of 6k + 3 doubles per ghost
 * and one extra MAX (the rebuild check is done here before min_eval repeats it).
 *
 * The two-loop recursion written with vectors needs 2m dot products, each depending on the
 * previous one: 2m sequential reductions per iteration. Here it runs on scalars instead
 * ("vector-free" L-BFGS, W. Chen, Z. Wang, J. Zhou, NIPS 2014): every dot product the
 * recursion can need is a combination of the Gram entries s_i.y_j, y_i.y_j, F.s_i, F.y_i and
 * F.F, and when a pair is added only its row/column is new. So one iteration costs
 *   1 force evaluation + min_eval's reduction (RED_N doubles) + the domain's rebuild check,
 *   ONE par_sum_d of at most 5m doubles (new pair's s.y_j, s_j.y, y.y_j; F.s_j, F.y_j),
 *   ONE par_max_d of 1 double (max_i |p_i|^2 for the cap),
 * and ~ (7m + 4) 3 n_local flops of vector work (the Gram row pass and p = sum of 2m + 1
 * vectors), against ~ (4m) 3 n_local for the vector two-loop.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "basin/util.h"
#include "min_priv.h"

#define LBFGS_MMAX 32 /* upper bound of MinParams.lbfgs_m (minimize_params_check) */
/* iterations between recomputations of the preconditioner (besides after every rebuild) */
#define LBFGS_PREC_EVERY 10
/* iterations between recomputations of gamma = s.y / y.P^-1 y with the SGS preconditioner */
#define LBFGS_GAMMA_EVERY 4

typedef struct LbfgsWork {
    int64_t cap;                           /* doubles per vector (the smallest capacity of them) */
    double *s[LBFGS_MMAX];                 /* ring of steps */
    double *y[LBFGS_MMAX];                 /* ring of force changes F_old - F_new */
    double *fold;                          /* forces at the start of the iteration */
    int m, k, head;                        /* memory size, pairs stored, ring slot of the oldest */
    double sy[LBFGS_MMAX][LBFGS_MMAX];     /* s_i . y_j (slots) */
    double yy[LBFGS_MMAX][LBFGS_MMAX];     /* y_i . y_j (slots) */
    double fs[LBFGS_MMAX], fy[LBFGS_MMAX]; /* F . s_i, F . y_i at the current x */
    /* preconditioned variant (lbfgs_precondition): P^-1 and the two-loop's work vectors */
    MinPrecond pc;
    int64_t pc_rebuilds; /* r->rebuilds when pc was computed (-1: never) */
    int pc_age;          /* iterations since */
    int sgs_on;          /* the block Gauss-Seidel stage has begun (lbfgs_sgs_fmax) */
    double gamma_last;   /* H_0 scale of the last iteration that computed it */
    int gamma_age;       /* iterations it has been used */
    double *q, *z;       /* [cap] */
} LbfgsWork;

static void work_free(LbfgsWork *w) {
    for (int i = 0; i < LBFGS_MMAX; ++i) {
        free(w->s[i]);
        free(w->y[i]);
    }
    free(w->fold);
    free(w->q);
    free(w->z);
    min_precond_free(&w->pc);
    memset(w, 0, sizeof(*w));
}

/* Not collective. Room for the current nlocal (after a rebuild nlocal may have grown). */
static int work_reserve(LbfgsWork *w, const Domain *d) {
    const int64_t n = 3 * (int64_t)d->nlocal;
    if (n <= w->cap) return 0;
    for (int i = 0; i < w->m; ++i) {
        BCHK(basin_realloc((void **)&w->s[i], (size_t)n, sizeof(double), "lbfgs memory"));
        BCHK(basin_realloc((void **)&w->y[i], (size_t)n, sizeof(double), "lbfgs memory"));
    }
    BCHK(basin_realloc((void **)&w->fold, (size_t)n, sizeof(double), "lbfgs memory"));
    BCHK(basin_realloc((void **)&w->q, (size_t)n, sizeof(double), "lbfgs memory"));
    BCHK(basin_realloc((void **)&w->z, (size_t)n, sizeof(double), "lbfgs memory"));
    w->cap = n;
    return 0;
}

static int slot(const LbfgsWork *w, int age) { /* age 0 = oldest */
    return (w->head + age) % w->m;
}

/* Collective. If the lists must be rebuilt, rebuild with the memory (the k pairs and F_old)
 * carried to the new atom order by min_rebuild_carry (file comment). Afterwards min_eval's own
 * check finds nothing to do. */
static int rebuild_carry(MinCtx *c, LbfgsWork *w) {
    MinDeflate *df = min_defl_active(c) ? c->defl : NULL;
    if (w->k == 0 && !df) return 0;
    double *vec[2 * LBFGS_MMAX + 1 + MIN_DEFLATE_MAX];
    int nv = 0;
    for (int u = 0; u < w->k; ++u) {
        vec[nv++] = w->s[slot(w, u)];
        vec[nv++] = w->y[slot(w, u)];
    }
    vec[nv++] = w->fold;
    /* the deflation vectors travel too (deflate.c) */
    const int nd = df ? df->nw : 0;
    for (int u = 0; u < nd; ++u)
        vec[nv++] = df->w[u];
    /* capacity in atoms; the carried vectors may grow to the Domain's capacity, then
     * work_reserve grows the others (the new pair's slot is written before the next iteration) */
    int64_t cap_atoms = w->cap / 3;
    if (df && df->cap_atoms < cap_atoms) cap_atoms = df->cap_atoms;
    const int64_t cap0 = cap_atoms, nb = c->r->rebuilds;
    BCHK(min_rebuild_carry(c, vec, nv, &cap_atoms));
    nv = 0;
    for (int u = 0; u < w->k; ++u) {
        w->s[slot(w, u)] = vec[nv++];
        w->y[slot(w, u)] = vec[nv++];
    }
    w->fold = vec[nv++];
    if (df) {
        for (int u = 0; u < nd; ++u)
            df->w[u] = vec[nv++];
        if (c->r->rebuilds != nb) {
            df->nb = c->r->rebuilds;
            df->nlocal = c->d->nlocal;
        }
        /* all carried vectors were grown to cap_atoms, or none was */
        if (cap_atoms != cap0) {
            for (int u = nd; u < MIN_DEFLATE_MAX; ++u) { /* unused ones: free, regrown on use */
                free(df->w[u]);
                df->w[u] = NULL;
            }
            df->cap_atoms = cap_atoms;
        }
    }
    return basin_error_agree(work_reserve(w, c->d));
}

/* Not collective. p = H F in coefficients of the basis {F, s_i, y_i}:
 * p = cf F + sum_i cs[i] s_i + sum_i cy[i] y_i (slots). Returns F.p (ff = F.F). */
static double two_loop(const LbfgsWork *w, double h0, double ff, double *cf, double *cs,
                       double *cy) {
    double a[LBFGS_MMAX];
    for (int i = 0; i < w->m; ++i)
        cs[i] = cy[i] = 0.0;
    if (w->k == 0) {
        *cf = h0;
        return h0 * ff;
    }
    /* loop 1, newest to oldest: q = F - sum_{j newer} a_j y_j; a_i = rho_i s_i . q */
    for (int t = w->k - 1; t >= 0; --t) {
        const int i = slot(w, t);
        double sq = w->fs[i];
        for (int u = t + 1; u < w->k; ++u) {
            const int j = slot(w, u);
            sq -= a[j] * w->sy[i][j];
        }
        a[i] = sq / w->sy[i][i];
    }
    const int nw = slot(w, w->k - 1);
    const double gamma = w->sy[nw][nw] / w->yy[nw][nw];
    /* r = gamma q = gamma F - gamma sum_j a_j y_j; loop 2, oldest to newest:
     * b_i = rho_i y_i . r;  r += (a_i - b_i) s_i */
    *cf = gamma;
    for (int t = 0; t < w->k; ++t) {
        const int j = slot(w, t);
        cy[j] = -gamma * a[j];
    }
    for (int t = 0; t < w->k; ++t) {
        const int i = slot(w, t);
        double yr = gamma * w->fy[i];
        for (int u = 0; u < w->k; ++u) {
            const int j = slot(w, u);
            yr += cy[j] * w->yy[i][j];
        }
        for (int u = 0; u < t; ++u) {
            const int l = slot(w, u);
            yr += cs[l] * w->sy[l][i];
        }
        const double b = yr / w->sy[i][i];
        cs[i] = a[i] - b;
    }
    double fp = gamma * ff;
    for (int t = 0; t < w->k; ++t) {
        const int j = slot(w, t);
        fp += cs[j] * w->fs[j] + cy[j] * w->fy[j];
    }
    return fp;
}

/* Collective. The Gram entries that changed at the new x: with add = 1 the newest pair (slot
 * nw, already stored) gets its row/column s_nw.y_j, s_j.y_nw, y_nw.y_j; always F.s_j, F.y_j.
 * One par_sum_d. */
static void gram_update(LbfgsWork *w, const Domain *d, int add) {
    const int n = 3 * d->nlocal, k = w->k;
    const int nw = slot(w, k - 1);
    double buf[5 * LBFGS_MMAX];
    memset(buf, 0, sizeof(buf));
    const double *restrict f = d->f;
    for (int u = 0; u < k; ++u) {
        const int j = slot(w, u);
        const double *restrict sj = w->s[j], *restrict yj = w->y[j];
        double fs = 0.0, fy = 0.0;
        for (int i = 0; i < n; ++i) {
            fs += f[i] * sj[i];
            fy += f[i] * yj[i];
        }
        buf[u] = fs;
        buf[k + u] = fy;
        if (add) {
            const double *restrict sn = w->s[nw], *restrict yn = w->y[nw];
            double a = 0.0, b = 0.0, c = 0.0;
            for (int i = 0; i < n; ++i) {
                a += sn[i] * yj[i];
                b += sj[i] * yn[i];
                c += yn[i] * yj[i];
            }
            buf[2 * k + u] = a;
            buf[3 * k + u] = b;
            buf[4 * k + u] = c;
        }
    }
    par_sum_d(buf, (add ? 5 : 2) * k);
    for (int u = 0; u < k; ++u) {
        const int j = slot(w, u);
        w->fs[j] = buf[u];
        w->fy[j] = buf[k + u];
        if (add) {
            w->sy[nw][j] = buf[2 * k + u];
            w->sy[j][nw] = buf[3 * k + u];
            w->yy[nw][j] = w->yy[j][nw] = buf[4 * k + u];
        }
    }
}

/* Collective. The preconditioned direction p = H_k F into d->v, with H_0 = gamma P^-1,
 * gamma = s.y / (y.P^-1 y) of the newest pair (1 with empty memory: P^-1 F is the step that
 * relaxes every atom in its frozen cage). The Gram shortcut of two_loop() would need
 * y_i.P^-1 y_j, which changes whenever P is recomputed, so this is the vector two-loop
 * (Nocedal & Wright Algorithm 7.4): 2k + 2 sequential reductions of one double. Returns F.p. */
/* Collective: the global a.b over n local doubles. */
static double gdot(const double *restrict a, const double *restrict b, int n) {
    double s = 0.0;
    for (int u = 0; u < n; ++u)
        s += a[u] * b[u];
    par_sum_d(&s, 1);
    return s;
}

static double two_loop_prec(LbfgsWork *w, const Domain *d, MinDeflate *df) {
    const int n = 3 * d->nlocal;
    double a[LBFGS_MMAX];
    double *restrict q = w->q, *restrict z = w->z;
    memcpy(q, d->f, (size_t)n * sizeof(double));
    for (int t = w->k - 1; t >= 0; --t) {
        const int i = slot(w, t);
        const double *restrict yi = w->y[i];
        a[i] = gdot(w->s[i], q, n) / w->sy[i][i];
        for (int u = 0; u < n; ++u)
            q[u] -= a[i] * yi[u];
    }
    double gamma = 1.0;
    if (w->k == 0) {
        w->gamma_age = LBFGS_GAMMA_EVERY;
    } else if (w->pc.sgs && w->gamma_age < LBFGS_GAMMA_EVERY && w->pc_age > 1) {
        /* an SGS application costs ~0.7 force evaluations of time: gamma (any positive scale
         * keeps H_0 = gamma P^-1 valid) is refreshed every LBFGS_GAMMA_EVERY iterations and
         * with every new P; recomputing it every iteration saved only ~1 % of the evaluations
         * (N = 4000, T = 0.05) for twice the applications */
        gamma = w->gamma_last;
        ++w->gamma_age;
    } else {
        const int nw = slot(w, w->k - 1);
        min_block_apply(&w->pc, w->y[nw], z);
        if (df) min_defl_apply(df, d->nlocal, w->y[nw], z);
        const double ypy = gdot(w->y[nw], z, n);
        if (ypy > 0.0 && isfinite(ypy)) gamma = w->sy[nw][nw] / ypy;
        w->gamma_last = gamma;
        w->gamma_age = 1;
    }
    min_block_apply(&w->pc, q, z);
    if (df) min_defl_apply(df, d->nlocal, q, z);
    for (int u = 0; u < n; ++u)
        z[u] *= gamma;
    for (int t = 0; t < w->k; ++t) {
        const int i = slot(w, t);
        const double *restrict si = w->s[i];
        const double b = gdot(w->y[i], z, n) / w->sy[i][i];
        for (int u = 0; u < n; ++u)
            z[u] += (a[i] - b) * si[u];
    }
    /* P^-1 does not map sum_i F_i = 0 to a translation-free step: remove the mean, as FIRE
     * and SD conserve the centre of mass (otherwise the whole IS drifts; F.p is unchanged) */
    double red[4] = {0.0, 0.0, 0.0, 0.0};
    for (int i = 0; i < d->nlocal; ++i)
        for (int k = 0; k < 3; ++k)
            red[k] += z[3 * i + k];
    par_sum_d(red, 3);
    for (int k = 0; k < 3; ++k)
        red[k] /= (double)d->natoms;
    const double *restrict f = d->f;
    for (int i = 0; i < d->nlocal; ++i)
        for (int k = 0; k < 3; ++k) {
            z[3 * i + k] -= red[k];
            red[3] += f[3 * i + k] * z[3 * i + k];
        }
    par_sum_d(red + 3, 1);
    memcpy(d->v, z, (size_t)n * sizeof(double));
    return red[3];
}

/* Not collective without the preconditioner, collective with it. The direction p = H_k F into
 * d->v; returns F.p. */
static double direction(LbfgsWork *w, MinCtx *c, int use_pc) {
    const Domain *d = c->d;
    if (use_pc) return two_loop_prec(w, d, min_defl_active(c) ? c->defl : NULL);
    double cf, cs[LBFGS_MMAX], cy[LBFGS_MMAX];
    const double fp = two_loop(w, c->p->lbfgs_h0, c->g[RED_FF], &cf, cs, cy);
    const int n = 3 * d->nlocal;
    double *restrict v = d->v;
    const double *restrict f = d->f;
    for (int i = 0; i < n; ++i)
        v[i] = cf * f[i];
    for (int t = 0; t < w->k; ++t) {
        const int j = slot(w, t);
        const double *restrict sj = w->s[j], *restrict yj = w->y[j];
        const double a = cs[j], b = cy[j];
        for (int i = 0; i < n; ++i)
            v[i] += a * sj[i] + b * yj[i];
    }
    return fp;
}

int min_lbfgs(MinCtx *c, int *outcome) {
    const MinParams *p = c->p;
    MinResult *r = c->r;
    Domain *d = c->d;
    LbfgsWork w;
    memset(&w, 0, sizeof(w));
    w.m = p->lbfgs_m;
    w.pc_rebuilds = -1;
    int rc = 0, fails = 0;
    *outcome = STAGE_DONE;
    const double c1 = 1e-4;
    for (;;) {
        if (!min_next_iter(c, outcome, "lbfgs")) break;
        rc = basin_error_agree(work_reserve(&w, d)); /* collective: no rank may leave alone */
        if (rc) break;
        timer_start(TIMER_MINIMIZE);
        const int n = 3 * d->nlocal;
        if (p->lbfgs_precondition) {
            /* block Gauss-Seidel only near the minimum (below lbfgs_sgs_fmax): further up its
             * longer steps can change the basin */
            int kind = p->lbfgs_precondition;
            if (kind == MIN_PREC_SGS && !w.sgs_on) {
                if (c->g[RED_NSGS] == 0.0)
                    w.sgs_on = 1, w.pc_age = LBFGS_PREC_EVERY;
                else
                    kind = MIN_PREC_JACOBI;
            }
            /* P after every rebuild (new atom order) and every LBFGS_PREC_EVERY iterations */
            if (w.pc_rebuilds != r->rebuilds || w.pc_age >= LBFGS_PREC_EVERY || w.pc.minv == NULL) {
                timer_stop(TIMER_MINIMIZE);
                rc = min_block_precond(d, &w.pc, kind);
                if (rc) break;
                timer_start(TIMER_MINIMIZE);
                ++r->hess_diag_evals;
                w.pc_rebuilds = r->rebuilds;
                w.pc_age = 0;
                if (p->log_every > 0)
                    log_debug("minimize lbfgs: preconditioner, %lld blocks not positive definite",
                              (long long)w.pc.not_pd);
            }
            ++w.pc_age;
        }
        const int use_pc = p->lbfgs_precondition && w.pc.not_pd == 0;
        if (use_pc && c->defl && c->soft && !c->defl->refreshed && p->deflate_fmax > 0.0 &&
            c->g[RED_NDEFL] == 0.0) {
            /* near enough to the minimum for the last quench's soft modes to describe this
             * Hessian: refresh them (deflate.c) and precondition with them from here on */
            timer_stop(TIMER_MINIMIZE);
            rc = min_defl_refresh(c, &w.pc);
            if (rc) break;
            timer_start(TIMER_MINIMIZE);
        }
        double fp = direction(&w, c, use_pc);
        if (!(fp > 0.0) && w.k > 0) { /* not a descent direction (rounding): forget */
            w.k = 0;
            ++r->resets;
            fp = direction(&w, c, use_pc);
        }
        double *restrict v = d->v;
        const double *restrict f = d->f;
        /* max_i |p_i|^2 for the cap */
        double pmax = 0.0;
        for (int i = 0; i < d->nlocal; ++i) {
            const double *vi = v + 3 * i;
            const double q = vi[0] * vi[0] + vi[1] * vi[1] + vi[2] * vi[2];
            if (q > pmax) pmax = q;
        }
        par_max_d(&pmax, 1);
        pmax = sqrt(pmax);
        if (pmax > p->dmax) {
            const double sc = p->dmax / pmax;
            for (int i = 0; i < n; ++i)
                v[i] *= sc;
            fp *= sc;
            if (par_rank() == 0) ++c->capped_local; /* one whole-step cap: counted once */
        }
        memcpy(w.fold, f, (size_t)n * sizeof(double));
        const double pe0 = c->g[RED_PE], slope0 = fp;
        const double noise = 1e-13 * fabs(pe0);
        const int64_t nb = r->rebuilds;
        /* fold must travel with the memory too: with an empty memory rebuild_carry does
         * nothing, a rebuild then happens in min_eval and the pair is skipped */
        double alpha = 1.0;
        double *restrict x = d->x;
        for (int i = 0; i < n; ++i)
            x[i] += v[i];
        timer_stop(TIMER_MINIMIZE);
        /* line search along v; v travels with the atoms through a rebuild */
        int accepted = 0;
        for (int trial = 0;; ++trial) {
            rc = rebuild_carry(c, &w);
            if (rc == 0) rc = min_eval(c);
            if (rc) break;
            const double dphi = c->g[RED_PE] - pe0, slope1 = c->g[RED_FV];
            if (dphi <= -c1 * alpha * slope0 || (dphi <= noise && fabs(slope1) <= slope0)) {
                accepted = 1;
                break;
            }
            if (trial >= 10 || min_budget_spent(c)) break;
            double an = 0.5 * alpha;
            if (slope1 < 0.0) { /* overshot: secant of the slopes, exact on a quadratic */
                an = alpha * slope0 / (slope0 - slope1);
                an = fmin(fmax(an, 0.1 * alpha), 0.5 * alpha);
            }
            x = d->x; /* a rebuild may have moved the arrays */
            for (int i = 0; i < 3 * d->nlocal; ++i)
                x[i] += (an - alpha) * d->v[i];
            alpha = an;
        }
        if (rc) break;
        if (!accepted) {
            /* no acceptable step: keep the (short) trial point, forget the curvature pairs,
             * and give up after two such failures in a row from a fresh memory */
            ++r->resets;
            fails = w.k == 0 ? fails + 1 : 0;
            w.k = 0;
            if (fails >= 2) {
                r->status = MIN_STUCK;
                break;
            }
            continue;
        }
        fails = 0;
        if (r->rebuilds != nb && w.k == 0) {
            /* rebuilt without a memory to carry: fold is in the old atom order */
            w.k = 0;
            continue;
        }
        /* s.y = alpha (F_old.p - F_new.p): both slopes from the reductions */
        const double sy = alpha * (slope0 - c->g[RED_FV]);
        int add = 0;
        if (sy > 0.0 && isfinite(sy)) {
            int nw;
            if (w.k < w.m) {
                nw = slot(&w, w.k);
                ++w.k;
            } else {
                nw = w.head;
                w.head = (w.head + 1) % w.m;
            }
            timer_start(TIMER_MINIMIZE);
            double *restrict sn = w.s[nw], *restrict yn = w.y[nw];
            const double *restrict fo = w.fold, *restrict fn = d->f, *restrict vv = d->v;
            for (int i = 0; i < 3 * d->nlocal; ++i) { /* nlocal may have changed */
                sn[i] = alpha * vv[i];
                yn[i] = fo[i] - fn[i];
            }
            timer_stop(TIMER_MINIMIZE);
            add = 1;
        }
        if (w.k > 0) {
            timer_start(TIMER_MINIMIZE);
            gram_update(&w, d, add);
            timer_stop(TIMER_MINIMIZE);
            /* the pair's own s.y from the Gram pass (more accurate than the slope difference
             * once |F| is small); a pair whose y.y underflowed is useless */
            const int nw = slot(&w, w.k - 1);
            if (add && !(w.sy[nw][nw] > 0.0 && w.yy[nw][nw] > 0.0)) w.k = 0;
        }
    }
    work_free(&w);
    return rc;
}
