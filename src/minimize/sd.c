/* sd.c: steepest descent, the reference path that defines "the basin" of a configuration
 * (PHYSICS.md section 4: FIRE and SD must agree from thermal states near an inherent structure).
 *
 *     x_{n+1} = x_n + gamma_n F(x_n)      (each atom's step capped at dmax)
 *
 * gamma adapts without line searches: after each step the fused reduction gives
 * P = F(x_{n+1}) . F(x_n) (the slope along the step: P > 0 means the step stayed on the
 * downhill side of the line minimum) and Phi(x_{n+1}).
 *   P > 0:                   accept, gamma = min(1.2 gamma, gamma_max)
 *   P <= 0, Phi decreased:   accept, gamma = gamma / 2    (overshot the line minimum)
 *   P <= 0, Phi increased:   reject: undo the step, gamma = gamma / 2, evaluate again
 * Stable steps need gamma < 2 / lambda_max of the Hessian (~1e-3 for this model), so SD takes
 * O(lambda_max / lambda_min) iterations per decade of |F|: it is a reference, not a production
 * quench. F(x_n) is kept in d->v (the array that travels with atoms through a rebuild), so
 * the undo is x -= cap(gamma F_old) with the same arithmetic as the step.
 */
#include <math.h>
#include <string.h>

#include "basin/util.h"
#include "min_priv.h"

/* x += sign * cap(gamma v) per owned atom. Not collective. */
static int64_t sd_move(Domain *d, double gamma, double sign, double dmax) {
    double *restrict x = d->x;
    const double *restrict v = d->v;
    const double dmax2 = dmax * dmax;
    int64_t capped = 0;
    for (int i = 0; i < d->nlocal; ++i) {
        double s = gamma;
        const double d2 =
            gamma * gamma *
            (v[3 * i] * v[3 * i] + v[3 * i + 1] * v[3 * i + 1] + v[3 * i + 2] * v[3 * i + 2]);
        if (d2 > dmax2) {
            s *= sqrt(dmax2 / d2);
            ++capped;
        }
        for (int k = 0; k < 3; ++k)
            x[3 * i + k] += sign * s * v[3 * i + k];
    }
    return capped;
}

int min_sd(MinCtx *c, int *outcome) {
    const MinParams *p = c->p;
    MinResult *r = c->r;
    Domain *d = c->d;
    double gamma = p->sd_gamma0;
    *outcome = STAGE_DONE;
    for (;;) {
        if (!min_next_iter(c, outcome, "sd")) return 0;
        const double pe_old = c->g[RED_PE];
        timer_start(TIMER_MINIMIZE);
        memcpy(d->v, d->f, 3 * (size_t)d->nlocal * sizeof(double));
        c->capped_local += sd_move(d, gamma, 1.0, p->dmax);
        timer_stop(TIMER_MINIMIZE);
        BCHK(min_eval(c));
        if (c->g[RED_FV] > 0.0) {
            gamma = fmin(1.2 * gamma, p->sd_gamma_max);
        } else if (c->g[RED_PE] <= pe_old) {
            gamma *= 0.5;
        } else {
            sd_move(d, gamma, -1.0, p->dmax);
            gamma *= 0.5;
            ++r->resets;
            BCHK(min_eval(c));
        }
    }
}
