/* minimize: local minimisation of Phi on the distributed Domain (FIRE 2.0, the original FIRE,
 * steepest descent, an optional Newton-Krylov finishing stage) and the in-situ
 * inherent-structure tracker of `basin run` (PHYSICS.md section 4).
 *
 * Everything runs on the same decomposition, cells, Verlet lists and halo as the MD: after each
 * change of the owned positions the minimisers call domain_check_rebuild() ? domain_rebuild() :
 * domain_forward() and then md_forces(). No MPI here: the global scalars of each iteration go
 * through one par_sum_d() of a small vector (util.h). Method, defaults, measured noise floors
 * and force-evaluation counts are in docs/inherent.md.
 *
 * Reduced units: length sigma_eff, energy eps, force eps/sigma_eff, time sqrt(m sigma^2/eps),
 * mass 1. "Collective" means every rank of the util communicator calls the function at the
 * same point with the same parameters.
 */
#ifndef BASIN_MINIMIZE_H
#define BASIN_MINIMIZE_H

#include <stdint.h>

#include "basin/config.h"
#include "basin/domain.h"
#include "basin/h5md.h"
#include "basin/model.h"

/* ---- minimiser ---- */

/* Second stage after FIRE/SD: none, or Newton-Krylov (preconditioned CG on the linearised
 * system H s = F, Hessian-vector products by forward differences of forces, each counted as a
 * force evaluation), entered once max_i |F_i| < MinParams.finish_fmax. */
typedef enum { MIN_FINISH_NONE = 0, MIN_FINISH_NEWTON = 1 } MinFinish;

/* Preconditioners from the analytic Hessian (src/minimize/precond.c): none, the 3x3 diagonal
 * blocks (block-Jacobi), or symmetric block Gauss-Seidel P = (D + L) D^-1 (D + L)^T over each
 * rank's atoms (pairs to other ranks' atoms dropped, so it depends on the rank count). */
typedef enum MinPrecKind { MIN_PREC_NONE = 0, MIN_PREC_JACOBI = 1, MIN_PREC_SGS = 2 } MinPrecKind;

typedef struct MinParams {
    MinimizerKind kind; /* MIN_FIRE (FIRE 2.0), MIN_FIRE_BITZEK, MIN_SD, MIN_LBFGS, MIN_RKC */

    /* Convergence: every criterion with a tolerance > 0 must hold (at least one must be > 0). */
    double fmax_tol;   /* max_i |F_i| < fmax_tol (eps/sigma); config inherent.fmax */
    double fnorm_tol;  /* ||F||_2 = (sum_i |F_i|^2)^(1/2) < fnorm_tol (LAMMPS's ftol) */
    int64_t max_iter;  /* iterations of FIRE/SD (config inherent.max_iter) */
    int64_t max_evals; /* force evaluations in all (0: no limit) */

    /* Per-iteration displacement cap: no atom moves more than dmax (sigma) in one iteration
     * (FIRE/SD: the atom's step is shortened; Newton: the whole step is scaled). */
    double dmax;

    /* FIRE (Guenole et al. 2020 names; defaults by kind in minimize_params_default) */
    double dt_start, dt_max, dt_min; /* time steps (time units) */
    double alpha_start, f_alpha;     /* mixing */
    double f_inc, f_dec;             /* dt growth / shrink factors */
    int n_delay;                     /* P > 0 steps before dt may grow */
    int64_t n_neg_max;               /* stop after this many consecutive P <= 0 (0: never) */
    int halfstep_back;               /* inertia correction x -= dt v / 2 when P <= 0 */
    int initial_delay;               /* no dt shrink / alpha reset during the first n_delay */

    /* steepest descent x += gamma F, gamma adapted (grows 1.2x, halves on an uphill step) */
    double sd_gamma0, sd_gamma_max; /* sigma^2 / eps */

    /* L-BFGS: memory (pairs), and the inverse-Hessian scale of a step with empty memory (the
     * first step and after a reset: p = lbfgs_h0 F, sigma^2 / eps; ~ 1 / lambda_max) */
    int lbfgs_m;
    double lbfgs_h0;
    /* L-BFGS with H_0 = gamma P^-1 instead of H_0 = gamma I (MinPrecKind; src/minimize/precond.c)
     */
    int lbfgs_precondition;
    /* with MIN_PREC_SGS: block-Jacobi until max|F_i| < lbfgs_sgs_fmax (0: from the start) */
    double lbfgs_sgs_fmax;

    /* steepest-descent flow by Runge-Kutta-Chebyshev steps (MIN_RKC): local error per step,
     * max over atoms (sigma), and the most stages per step (sets the longest stable step) */
    double rkc_tol;
    int rkc_max_stages;

    /* FIRE (either kind) or sd-rkc hands the descent over to L-BFGS once max_i |F_i| <
     * handover_fmax (0: never; must exceed finish_fmax to matter): the first stage chooses the
     * basin in the first, large moves, L-BFGS does the rest of the descent in fewer
     * evaluations. */
    double handover_fmax;

    /* finishing stage */
    MinFinish finish;
    double finish_fmax;      /* switch from FIRE/SD to the finisher below this max |F_i| */
    int newton_max_steps;    /* outer Newton steps before falling back to FIRE */
    int64_t newton_max_cg;   /* CG iterations per Newton step */
    double newton_eta;       /* relative CG residual of the first step (forcing term) */
    double newton_eta0;      /* the first step's own forcing term (0: as the others) */
    int newton_precondition; /* MinPrecKind of the Newton CG */
    double guess_eta;        /* accept a prediction if |F - H s0| < guess_eta |F| */
    /* soft-mode deflation: each Newton CG solve keeps up to newton_deflate converged soft Ritz
     * vectors of the preconditioned Hessian (eigCG) and the later solves of the same quench
     * lift them out of the spectrum (0: off; at most newton_deflate_max in all) */
    int newton_deflate;
    int newton_deflate_max;
    /* preconditioned L-BFGS also uses the recycled soft modes below this max |F_i| (refreshed
     * there; 0: only the Newton stage) */
    double deflate_fmax;
    /* a Ritz pair of a Newton CG solve deflates the later solves of the same quench when its
     * residual is below deflate_resid times its value (0: it is only kept for the next quench) */
    double deflate_resid;

    int log_every; /* log_debug line every log_every iterations (0: none) */
} MinParams;

typedef enum {
    MIN_CONVERGED = 0,
    MIN_MAX_ITER = 1, /* max_iter or max_evals reached */
    MIN_STUCK = 2,    /* FIRE: more than n_neg_max consecutive uphill steps; L-BFGS: two line
                         searches in a row failed from an empty memory */
} MinStatus;

typedef struct MinResult {
    MinStatus status;
    int64_t iterations;      /* FIRE/SD iterations + Newton CG iterations */
    int64_t force_evals;     /* md_forces() calls, finite-difference Hessian products included */
    int64_t hess_diag_evals; /* analytic 3x3 block-diagonal Hessian passes (preconditioner) */
    int64_t newton_steps;    /* accepted outer Newton steps */
    int64_t cg_iters;        /* inner CG iterations (= Hessian-vector products) */
    int64_t rebuilds;        /* neighbour-list rebuilds during the minimisation */
    int64_t resets;          /* FIRE: P <= 0 events (v set to zero); L-BFGS: memory cleared
                                (no descent or a failed line search; not counting rebuilds) */
    int64_t capped;          /* atom-steps shortened by the dmax cap (summed over ranks) */
    int64_t fallbacks;       /* Newton steps rejected (fell back to FIRE) */
    int64_t guess_used;      /* Newton steps that started from the prediction */
    int64_t deflated;        /* soft Ritz vectors taken into the Newton preconditioner */
    int handed_over;         /* 1: FIRE / sd-rkc handed over to L-BFGS (handover_fmax) */
    double pe;               /* Phi at the end (total, eps) */
    double fmax;             /* max_i |F_i| at the end */
    double fnorm;            /* ||F||_2 at the end */
    double seconds;          /* wall time (rank 0's clock) */
} MinResult;

/* Not collective. Defaults of a minimiser kind (docs/inherent.md tabulates them):
 *   FIRE 2.0: dt_start 0.005, dt_max 0.05, dt_min 1e-4, alpha_start 0.25, f_alpha 0.99,
 *     f_inc 1.1, f_dec 0.5, n_delay 20, n_neg_max 2000, halfstep_back 1, initial_delay 1
 *     (LAMMPS min_style fire defaults with dt = 0.005);
 *   FIRE Bitzek 2006: alpha_start 0.1, n_delay 5, halfstep_back 0, initial_delay 0, rest alike;
 *   SD: sd_gamma0 1e-3, sd_gamma_max 5e-3;
 *   L-BFGS: lbfgs_m 8 (1..32), lbfgs_h0 1e-3, lbfgs_precondition MIN_PREC_SGS with
 *     lbfgs_sgs_fmax 0.1 (block-Jacobi above; line search, reductions and preconditioners:
 *     src/minimize/lbfgs.c, precond.c);
 *   SD flow by RKC: rkc_tol 1e-3, rkc_max_stages 200 (src/minimize/rkc.c).
 * All: fmax_tol 1e-9, fnorm_tol 0 (off), max_iter 100000, max_evals 0, dmax 0.1,
 * finish none, finish_fmax 3e-3 (3e-4 for MIN_LBFGS), newton_max_steps 20, newton_max_cg 2000,
 * newton_eta 1e-2, newton_eta0 0.3, newton_precondition MIN_PREC_SGS, guess_eta 0.1,
 * newton_deflate 4,
 * newton_deflate_max 32, deflate_fmax 1e-3 for MIN_LBFGS (0 otherwise), deflate_resid 1,
 * log_every 0. */
void minimize_params_default(MinParams *p, MinimizerKind kind);

/* Not collective. Defaults of c->minimizer, then fmax_tol = inherent.fmax and max_iter =
 * inherent.max_iter. */
void minimize_params_from_config(MinParams *p, const Config *c);

/* Not collective. BASIN_ERR_CONFIG naming the parameter if p is inconsistent. */
int minimize_params_check(const MinParams *p);

/* Collective. Minimise Phi from the owned positions of d (any state: the list is rebuilt
 * first). On return the owned x are the final configuration, f[0, 3 nlocal) the forces there,
 * v is ZERO (v is the FIRE velocity and the workspace that travels with atoms when a rebuild
 * reorders them: a caller that needs its velocities keeps a copy). Not converging within
 * max_iter/max_evals is not an error: r->status says so. Errors (identical on every rank):
 * non-finite forces (BASIN_ERR_PHYSICS), lost atoms, allocation. */
int minimize_run(Domain *d, const MinParams *p, MinResult *r);

/* A predicted minimum for the Newton stage: positions of atoms by global id, in any order and
 * possibly with repeats (e.g. the owned and ghost atoms of the previous inherent structure in
 * a Domain with the same rank grid: every atom this rank owns during the quench must appear,
 * atoms missing from it get no prediction). Only the Newton stage uses it: each Newton step
 * first tries s0 = minimum image (guess - x) as the start of its CG solve of H s = F and keeps
 * it only if the linear residual |F - H s0| is below guess_eta |F| (then the CG refines it to the
 * usual forcing tolerance, so the accepted step is an ordinary inexact Newton step; with a correct
 * prediction no CG iteration is needed). Positions in sigma.
 * Why only in the Newton stage (entered at finish_fmax, when the FIRE descent has decided the
 * basin): further up the residual test cannot tell a neighbouring basin from the predicted one
 * (|F| dominates |H (m' - m)|), and a Newton step pulled towards the previous IS would hide a
 * rearrangement (docs/inherent.md; the event statistics with and without prediction agree). */
typedef struct MinSoftModes MinSoftModes;
typedef struct MinGuess {
    int64_t n;
    const int64_t *id; /* [n] */
    const double *x;   /* [3 n] */
    /* soft modes of the Newton CG carried from the previous quench to this one and updated by
     * it (NULL: none; used only with newton_deflate > 0; n may be 0 then) */
    MinSoftModes *soft;
} MinGuess;

/* Not collective. A store for up to k (1..64) soft-mode vectors, recycled between the quenches
 * of one Domain decomposition (the in-situ tracker keeps one): at the first full CG solve of
 * a quench they are refreshed by one Rayleigh-Ritz step (k Hessian products, counted) and
 * deflate its solves; the quench's own soft Ritz vectors replace them at its end. */
int min_soft_modes_create(int k, MinSoftModes **out);
void min_soft_modes_destroy(MinSoftModes **s); /* NULL-safe; sets *s = NULL */
int min_soft_modes_count(const MinSoftModes *s);
/* Not collective. For checkpoints: k vectors over the n atoms id[0 .. n), vector q at
 * u + q stride (NULL-safe: k = n = 0), and the reverse (u packed, vector q at u + 3 n q; more
 * than the store holds: the first ones are kept). */
void min_soft_modes_view(const MinSoftModes *s, int *k, int64_t *n, const int64_t **id,
                         const double **u, int64_t *stride);
int min_soft_modes_set(MinSoftModes *s, int k, int64_t n, const int64_t *id, const double *u);

/* Collective. minimize_run() with a predicted minimum (guess may be NULL; ignored unless
 * p->finish == MIN_FINISH_NEWTON). */
int minimize_run_guess(Domain *d, const MinParams *p, const MinGuess *guess, MinResult *r);

/* Collective. max_i |F_i| and ||F||_2 of the forces currently in d->f (owned atoms). */
void minimize_force_norms(const Domain *d, double *fmax, double *fnorm);

const char *minimize_status_name(MinStatus s);

/* ---- in-situ inherent-structure tracker (PHYSICS.md section 4) ----
 *
 * The MD protocol creates one tracker per run and calls is_tracker_sample() every
 * inherent.every time units of the NVE stage. The tracker owns a second Domain with the same
 * rank grid; a sample copies the owned positions of the MD domain into it (the MD state is only
 * read, so the MD trajectory is bitwise the same with tracking on or off), quenches them,
 * moves r_IS into id-block order (one idblock_move) and compares it with the previous and the
 * first inherent structure, which are kept as id-block arrays (O(N/P) memory per rank). */

typedef struct IsTracker IsTracker;

/* One inherent structure and its comparison with the previous one (Delta t = sampling
 * interval) and with the first one. Global values, identical on every rank. */
typedef struct IsRecord {
    int64_t index;      /* 0 for the first sample */
    int64_t step;       /* MD step of r(t) */
    double time;        /* t */
    double phi;         /* Phi_IS(t), total (eps) */
    double dr;          /* |Delta r_IS(t)| = (sum_i |r_IS,i(t) - r_IS,i(t - Dt)|^2)^(1/2);
                           0 for the first sample (minimum-image differences) */
    double dphi;        /* |Phi_IS(t) - Phi_IS(t - Dt)| */
    double n_rearr;     /* Eq. 7 of the Delta r_IS field (0 when dr == 0) */
    double dr_max;      /* max_i |Delta r_IS,i| */
    int64_t dr_max_id;  /* its atom id (-1 for the first sample) */
    double dr0;         /* |r_IS(t) - r_IS(0)| */
    double dphi0;       /* Phi_IS(t) - Phi_IS(0) (signed) */
    int event;          /* dr > inherent.event_threshold */
    int converged;      /* the quench met its tolerance */
    int64_t iterations; /* of this quench */
    int64_t force_evals;
    double fmax;    /* final max_i |F_i| */
    double fnorm;   /* final ||F||_2 */
    double seconds; /* wall time of the sample (copy + quench + id-block move + compare) */
    /* inherent.verify = sd: at an event, r(t - Dt) and r(t) are quenched again by steepest
     * descent (the definition of the basin) and compared */
    int verified;     /* 1: the SD comparison was made (events only; 0 for the first event
                         after a restart, whose r(t - Dt) is not in the checkpoint) */
    double sd_dr;     /* |Delta r| between the two SD inherent structures (-1: not verified) */
    int sd_event;     /* sd_dr > event_threshold (-1: not verified) */
    int64_t sd_evals; /* force evaluations of the two SD quenches */
    int sd_converged; /* both SD quenches met max|F_i| < IS_VERIFY_FMAX */
} IsRecord;

/* max|F_i| tolerance of the verifying SD quenches: their IS lie within ~1e-4 of the minimum
 * (fmax / lambda_min over the soft modes), far below the event threshold */
#define IS_VERIFY_FMAX 1e-5

/* Collective. model, box edge L and skin as for the MD domain (same rank grid follows from the
 * same communicator), minimiser and thresholds from c's [inherent] section, natoms atoms. */
int is_tracker_create(const Model *m, double L, double skin, const Config *c, int64_t natoms,
                      IsTracker **out);

/* Collective. Quench r(t) = the owned positions of md (x, species, id are read; md is not
 * modified) and fill *out. step/time label the sample. Non-convergence is reported in
 * out->converged (and a warning), not as an error. */
int is_tracker_sample(IsTracker *t, const Domain *md, int64_t step, double time, IsRecord *out);

/* Collective (frees the tracker's Domain). NULL-safe; sets *t = NULL. */
void is_tracker_destroy(IsTracker **t);

/* Not collective. This rank's id-block [lo, hi) (idblock_range of natoms). */
void is_tracker_block(const IsTracker *t, int64_t *lo, int64_t *hi);

/* Not collective. Id-block arrays owned by the tracker (3 (hi - lo) doubles; NULL before the
 * first sample): the current IS, the previous IS, the first IS, and the current displacement
 * field Delta r_IS,i = minimum image of r_IS,i(t) - r_IS,i(t - Dt) (zeros for the first
 * sample). Valid until the next sample; positions are wrapped into [0, L). */
const double *is_tracker_positions(const IsTracker *t);
const double *is_tracker_prev_positions(const IsTracker *t);
const double *is_tracker_first_positions(const IsTracker *t);
const double *is_tracker_displacements(const IsTracker *t);
/* Species of the id-block (int32, hi - lo entries; NULL before the first sample). */
const int32_t *is_tracker_species(const IsTracker *t);
/* The tracker's quench parameters (may be changed between samples, e.g. by tests). */
MinParams *is_tracker_params(IsTracker *t);
/* Use the previous IS as the Newton stage's prediction (default 1; docs/inherent.md). */
void is_tracker_set_prediction(IsTracker *t, int on);
/* Samples taken so far. */
int64_t is_tracker_count(const IsTracker *t);

/* Checkpoint hook (STYLE.md habit 12): the tracker state as a table of entries that one
 * routine walks for writing and reading. Entry pointers point into the tracker; a reader
 * fills them in place (count elements of type each), then calls is_tracker_state_loaded(). */
typedef enum { IS_STATE_F64 = 0, IS_STATE_I64 = 1, IS_STATE_I32 = 2 } IsStateType;
typedef struct IsStateEntry {
    const char *name; /* e.g. "is/prev_positions" */
    void *ptr;
    IsStateType type;
    int64_t count; /* elements on this rank (id-block arrays: per rank; scalars: 1) */
    int per_rank;  /* 1: id-block array (each rank its block), 0: same value on every rank */
} IsStateEntry;
#define IS_STATE_MAX_ENTRIES 16
/* Not collective. Fills e[0 .. *n). Before the first sample the arrays are allocated (zeros)
 * so that a reader can restore into them. */
int is_tracker_state(IsTracker *t, IsStateEntry *e, int max_entries, int *n);
/* Collective. Call after restoring the entries (validates the count and the positions; every
 * rank returns the same code). */
int is_tracker_state_loaded(IsTracker *t);

/* The Newton prediction of the next quench (the previous IS in the tracker Domain's layout:
 * per-rank, only meaningful on the same rank count and decomposition). For checkpoints:
 * is_tracker_guess() exposes it (n atoms: ids, positions; n = 0 before the first sample);
 * is_tracker_set_guess() copies one in (collective: agrees on allocation failures). */
void is_tracker_guess(const IsTracker *t, int64_t *n, const int64_t **id, const double **x);
int is_tracker_set_guess(IsTracker *t, int64_t n, const int64_t *id, const double *x);
/* The soft modes recycled between the tracker's quenches (MinParams.newton_deflate > 0; NULL
 * otherwise): per-rank, like the prediction; for checkpoints (min_soft_modes_view / _set). */
MinSoftModes *is_tracker_soft_modes(IsTracker *t);

/* ---- <output.dir>/is.h5 (docs/formats.md) ----
 * An H5MD file whose /particles/trajectory frames are IS snapshots (config inherent.snapshots)
 * and whose table /inherent has one row per quench. All collective. */
typedef struct IsFile IsFile;
/* Create (truncate) path for the atoms of the MD domain md (species, N, box). */
int is_file_create(const char *path, const H5mdMeta *meta, const Domain *md, const Config *c,
                   IsFile **out);
/* Reopen for a restart at MD step last_step: frames and rows after it are dropped. */
int is_file_open_append(const char *path, const Config *c, int64_t natoms, double L,
                        int64_t last_step, IsFile **out);
/* Record sample r of tracker t (call right after is_tracker_sample): the table row and the
 * snapshots the policy asks for. */
int is_file_record(IsFile *f, const IsTracker *t, const IsRecord *r);
/* NULL-safe; sets *f = NULL. */
int is_file_close(IsFile **f);

#endif
