/* Private to src/minimize: the state shared by the driver (minimize.c) and the stages (fire.c,
 * sd.c, newton.c). */
#ifndef BASIN_MIN_PRIV_H
#define BASIN_MIN_PRIV_H

#include "basin/minimize.h"

/* Slots of the fused per-iteration reduction (one par_sum_d). */
enum {
    RED_PE = 0,  /* Phi */
    RED_FF,      /* F . F */
    RED_FV,      /* F . v (FIRE power P; SD: F_new . F_old) */
    RED_VV,      /* v . v */
    RED_NTOL,    /* atoms with |F_i| >= fmax_tol (0 <=> max |F_i| < fmax_tol) */
    RED_NSWITCH, /* atoms with |F_i| >= the current switch threshold */
    RED_N
};

/* What a stage returns to the driver. */
enum { STAGE_DONE = 0, STAGE_SWITCH = 1 };

typedef struct MinCtx {
    Domain *d;
    const MinParams *p;
    MinResult *r;
    double g[RED_N];      /* the last fused reduction (global values) */
    double pe_local;      /* this rank's share of Phi at the last evaluation */
    double switch_fmax;   /* current switch threshold for the finisher (0: none) */
    int64_t capped_local; /* this rank's capped atom-steps */
    /* prediction for the Newton stage (minimize_run_guess): open-addressing map id -> index
     * into guess->x; NULL when there is none */
    const MinGuess *guess;
    int64_t *gkey; /* [gcap] ids, -1 = empty */
    int64_t *gval; /* [gcap] */
    int64_t gcap;  /* power of two */
} MinCtx;

/* Not collective: the predicted position of global id, NULL if none. */
const double *min_guess_lookup(const MinCtx *c, int64_t id);

/* Collective. The owned positions changed: rebuild or refresh ghosts, compute forces, then the
 * fused reduction over owned atoms (using d->v for F.v and v.v). BASIN_ERR_PHYSICS on every
 * rank for a non-finite force sum. */
int min_eval(MinCtx *c);

/* Same reduction without a force evaluation (after v changed). Collective. */
void min_reduce(MinCtx *c);

/* Not collective (uses c->g): all enabled force criteria hold. */
int min_converged(const MinCtx *c);

/* Collective. If the lists must be rebuilt now, rebuild them and carry nv per-atom 3-vectors
 * vec[k] (owned rows in the Domain's atom order; each array may be reallocated to 3 d->cap
 * doubles, *cap is their capacity in atoms) to the new atom order; otherwise do nothing. An atom
 * that changes owner moved less than skin/2 since the last build, so it is a ghost of its new
 * owner before the rebuild: a halo of the vectors and an id map suffice, no other message.
 * Afterwards min_eval finds nothing to rebuild. */
int min_rebuild_carry(MinCtx *c, double **vec, int nv, int64_t *cap);

/* Not collective: the iteration/evaluation budget is spent (sets r->status). */
int min_budget_spent(MinCtx *c);

/* Stages (collective). Each returns 0 or an error code and sets *outcome to STAGE_DONE
 * (converged, budget spent or stuck: r->status says which) or STAGE_SWITCH (the switch
 * threshold was reached; the driver starts the finisher). */
int min_fire(MinCtx *c, int *outcome);
int min_sd(MinCtx *c, int *outcome);
/* L-BFGS (lbfgs.c); uses d->v for the search direction. */
int min_lbfgs(MinCtx *c, int *outcome);
/* Runge-Kutta-Chebyshev integration of the steepest-descent flow (rkc.c); uses d->v for the
 * stage displacement. */
int min_rkc(MinCtx *c, int *outcome);
/* The Newton-Krylov finisher: *outcome = STAGE_DONE when converged or budget spent,
 * STAGE_SWITCH when it gave up (negative curvature, no decrease) and FIRE must go on. */
int min_newton(MinCtx *c, int *outcome);

/* Not collective (uses c->g). The head of every stage's iteration: returns 0 when the stage
 * must stop — converged (r->status), the switch threshold reached (*outcome = STAGE_SWITCH) or
 * the budget spent — else counts the iteration, logs it every log_every under `stage`, and
 * returns 1. */
int min_next_iter(MinCtx *c, int *outcome, const char *stage);

/* Not collective. Calls fn(ctx, i, j, dx, r2, r, dv) for every pair (i owned, j owned or
 * ghost) of the half list within the cutoff: dx = x_i - x_j, r2 = |dx|^2, r = sqrt(r2),
 * dv = pot_derivs (v, v', v'', v''') at r. For the analytic Hessian passes (precond.c, rkc.c),
 * which need the current list and ghosts and sum onto j with a reverse halo afterwards. */
typedef void (*MinPairFn)(void *ctx, int i, int j, const double dx[3], double r2, double r,
                          const double dv[4]);
void min_pair_derivs(const Domain *d, MinPairFn fn, void *ctx);

/* Block-Jacobi preconditioner (precond.c): the inverse 3x3 diagonal blocks of the analytic
 * Hessian, rows in the Domain's current atom order (recompute after a rebuild). */
typedef struct MinPrecond {
    double *hd;     /* [9 (nlocal + nghost)] accumulation of the blocks */
    double *minv;   /* [9 nlocal] inverse blocks */
    int64_t cap;    /* doubles in hd and minv */
    int natoms;     /* owned atoms the blocks were computed for */
    int64_t not_pd; /* blocks (all ranks) that were not positive definite */
} MinPrecond;

/* Collective (one reverse halo of 9 doubles per atom). The blocks at the current positions
 * (ghosts current); grows the arrays as needed. */
int min_block_precond(Domain *d, MinPrecond *pc);
/* Not collective. z = P^-1 r over pc->natoms atoms (z may not alias r). */
void min_block_apply(const MinPrecond *pc, const double *r, double *z);
void min_precond_free(MinPrecond *pc);

#endif
