/* fire.c: the Fast Inertial Relaxation Engine on the distributed Domain.
 *
 * FIRE 2.0 (J. Guenole, W. G. Noehring, A. Vaid, F. Houlle, Z. Xie, A. Prakash, E. Bitzek,
 * Comput. Mater. Sci. 175, 109584 (2020), Algorithm 2 with the semi-implicit Euler integrator),
 * unit masses, per iteration:
 *     P = F(x) . v                                       (one fused reduction, min_eval)
 *     P > 0:  N+ += 1; if N+ > N_delay: dt = min(f_inc dt, dt_max), alpha = f_alpha alpha
 *     P <= 0: N+ = 0; unless (initial delay and iteration < N_delay):
 *                 dt = max(f_dec dt, dt_min), alpha = alpha_start
 *             x -= dt v / 2   ("inertia correction", half step back),  v = 0
 *     v += dt F;  if P > 0: v = (1 - alpha) v + alpha (|v_old| / |F|) F     (mixing)
 *     x += dt v
 * where |v_old|/|F| uses the velocity before the update, as LAMMPS min_fire does (the paper's
 * authors wrote that implementation). After a half step back the forces at the corrected x are
 * evaluated first (as in LAMMPS), and the step from v = 0 is a plain Euler step.
 * The original FIRE (E. Bitzek, P. Koskinen, F. Gaehler, M. Moseler, P. Gumbsch,
 * Phys. Rev. Lett. 97, 170201 (2006)) is the same loop with N_min = 5, alpha_start = 0.1, no
 * half step back and no initial delay (MinParams defaults of MIN_FIRE_BITZEK).
 *
 * Displacement cap (ECOSYSTEM.md section 3, LAMMPS issue #1907): no atom moves more than dmax
 * per iteration. LAMMPS lowers the global dt until the fastest atom obeys dmax (an extra MIN
 * reduction per iteration, and one hot atom slows everyone); here the capped atom's velocity is
 * scaled down instead, which needs no communication and leaves the other atoms' dynamics
 * untouched. The cap acts in bad starts (overlaps) and is idle near a minimum (the count is
 * reported as MinResult.capped).
 */
#include <math.h>
#include <string.h>

#include "basin/util.h"
#include "min_priv.h"

/* Semi-implicit Euler step with mixing and the per-atom cap. Not collective. */
static void fire_move(MinCtx *c, double dt, double s1, double s2) {
    Domain *d = c->d;
    double *restrict x = d->x, *restrict v = d->v;
    const double *restrict f = d->f;
    const double dmax2 = c->p->dmax * c->p->dmax;
    int64_t capped = 0;
    for (int i = 0; i < d->nlocal; ++i) {
        double vi[3], d2 = 0.0;
        for (int k = 0; k < 3; ++k) {
            const double fk = f[3 * i + k];
            vi[k] = s1 * (v[3 * i + k] + dt * fk) + s2 * fk;
            d2 += vi[k] * vi[k];
        }
        d2 *= dt * dt;
        if (d2 > dmax2) {
            const double s = sqrt(dmax2 / d2);
            for (int k = 0; k < 3; ++k)
                vi[k] *= s;
            ++capped;
        }
        for (int k = 0; k < 3; ++k) {
            v[3 * i + k] = vi[k];
            x[3 * i + k] += dt * vi[k];
        }
    }
    c->capped_local += capped;
}

int min_fire(MinCtx *c, int *outcome) {
    const MinParams *p = c->p;
    MinResult *r = c->r;
    Domain *d = c->d;
    double dt = p->dt_start, alpha = p->alpha_start;
    int64_t npos = 0, nneg = 0, k = 0;
    int fresh = c->g[RED_VV] == 0.0; /* v = 0: nothing to adapt on the first step */
    *outcome = STAGE_DONE;
    for (;; ++k) {
        if (!min_next_iter(c, outcome, "fire")) return 0;
        timer_start(TIMER_MINIMIZE);
        const double P = c->g[RED_FV], vv = c->g[RED_VV], ff = c->g[RED_FF];
        double s1 = 1.0, s2 = 0.0;
        if (!fresh && P > 0.0) {
            ++npos;
            nneg = 0;
            if (npos > p->n_delay) {
                dt = fmin(dt * p->f_inc, p->dt_max);
                alpha *= p->f_alpha;
            }
            s1 = 1.0 - alpha;
            s2 = ff > 0.0 ? alpha * sqrt(vv / ff) : 0.0;
        } else if (!fresh) {
            npos = 0;
            ++nneg;
            ++r->resets;
            if (p->n_neg_max > 0 && nneg > p->n_neg_max) {
                timer_stop(TIMER_MINIMIZE);
                r->status = MIN_STUCK;
                return 0;
            }
            if (!(p->initial_delay && k < p->n_delay)) {
                dt = fmax(dt * p->f_dec, p->dt_min);
                alpha = p->alpha_start;
            }
            double *restrict x = d->x, *restrict v = d->v;
            if (p->halfstep_back)
                for (int i = 0; i < 3 * d->nlocal; ++i)
                    x[i] -= 0.5 * dt * v[i];
            memset(v, 0, 3 * (size_t)d->nlocal * sizeof(double));
            fresh = 1;
            if (p->halfstep_back) {
                /* forces at the corrected positions before the next step */
                timer_stop(TIMER_MINIMIZE);
                BCHK(min_eval(c));
                continue;
            }
        }
        fire_move(c, dt, s1, s2);
        fresh = 0;
        timer_stop(TIMER_MINIMIZE);
        BCHK(min_eval(c));
    }
}
