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
    RED_NDEFL,   /* atoms with |F_i| >= MinParams.deflate_fmax (L-BFGS deflation start) */
    RED_NSGS,    /* atoms with |F_i| >= MinParams.lbfgs_sgs_fmax (L-BFGS Gauss-Seidel start) */
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
    /* soft modes carried between quenches (NULL: none) and the quench's deflation state
     * (deflate.c; NULL unless newton_deflate > 0) */
    MinSoftModes *soft;
    struct MinDeflate *defl;
} MinCtx;

/* Collective. hp = H p by a forward difference of the md forces at x0 (forces f0 there):
 *     H p ~ (F(x0) - F(x0 + eps p)) / eps,   eps = 1e-7 sqrt(3N) / |p|_2   (p.p = pp, global),
 * an rms displacement of 1e-7 sigma (newton.c explains the choice). One force evaluation,
 * counted; leaves d->x at the displaced point (the caller restores it). */
int min_fd_hess_vec(MinCtx *c, const double *x0, const double *f0, const double *p, double pp,
                    double *hp);

/* Collective. Largest distance of an owned atom from its position at the last list build (the
 * finite-difference Hessian products check it against skin/2: they must not need a rebuild). */
double min_max_drift(const Domain *d);

/* Open-addressing map atom id -> index (the first occurrence of an id wins). Not collective. */
typedef struct MinIdMap {
    int64_t *key, *val;
    int64_t cap;
} MinIdMap;
int min_idmap_build(const int64_t *id, int64_t n, MinIdMap *m);
int64_t min_idmap_find(const MinIdMap *m, int64_t id); /* -1: absent */
void min_idmap_free(MinIdMap *m);

/* The soft-mode store behind the public MinSoftModes: k vectors of 3 n doubles, rows for the
 * atoms id[0 .. n) (the owned atoms of the quench that saved them). */
struct MinSoftModes {
    int k, kmax;
    int64_t n, cap; /* rows, capacity in rows */
    int64_t *id;
    double *u; /* [kmax][3 cap] */
};

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
    /* symmetric block Gauss-Seidel (MIN_PREC_SGS): the off-diagonal pair blocks K_ij of the
     * owned atoms (periodic images on this rank folded onto their owners), row min(i, j), CSR */
    int sgs;      /* the blocks below are valid */
    int *ustart;  /* [natoms + 1] */
    int *ucol;    /* [upairs] the larger index of the pair */
    float *ublk;  /* [6 upairs] K_ij (xx xy xz yy yz zz) */
    int *trow;    /* [ucap] assembly: row of each pair before the counting sort */
    float *tblk;  /* [6 ucap] */
    int *tcol;    /* [ucap] */
    int64_t ucap; /* pairs the arrays hold */
    int64_t scap; /* entries of ustart */
    double *tmp;  /* [tcap] min_precond_mult's work vector */
    int64_t tcap;
} MinPrecond;

/* Collective (one reverse halo of 9 doubles per atom). The blocks at the current positions
 * (ghosts current); grows the arrays as needed. kind MIN_PREC_SGS also stores the pair blocks
 * for the symmetric Gauss-Seidel sweeps. */
int min_block_precond(Domain *d, MinPrecond *pc, int kind);
/* Not collective. z = P^-1 r over pc->natoms atoms (z may not alias r): block-Jacobi, or
 * P = (D + L) D^-1 (D + L)^T with the sweeps over this rank's atoms. */
void min_block_apply(const MinPrecond *pc, const double *r, double *z);
/* Not collective. out = P u (out may not alias u). */
int min_precond_mult(MinPrecond *pc, const double *u, double *out);
void min_precond_free(MinPrecond *pc);

/* eigCG (eigcg.c): the lowest Ritz pairs of the preconditioned Hessian M^-1 H from the Lanczos
 * process of a preconditioned CG, in a window of m vectors (rows in the Domain's atom order, which
 * must not change during the solve). */
#define MIN_EIGCG_MAXM 48
/* soft-mode deflation (deflate.c): at most this many vectors in all, Ritz values below
 * MIN_DEFLATE_MU (of M^-1 H, whose bulk ends near 2.2) */
#define MIN_DEFLATE_MAX 64
#define MIN_DEFLATE_MU 0.25
typedef struct MinDeflate {
    int nw, wmax;      /* vectors held, most allowed */
    int nlocal;        /* rows (owned atoms) they were made for */
    int64_t nb;        /* r->rebuilds then (a rebuild that does not carry them voids them) */
    int64_t cap_atoms; /* capacity of every allocated w[k], in atoms */
    int refreshed;     /* the recycled soft modes were refreshed in this quench */
    double *w[MIN_DEFLATE_MAX]; /* [3 cap_atoms] each, the Domain's atom order */
    double wc[MIN_DEFLATE_MAX]; /* 1/theta - 1 (0: a candidate for the next quench only) */
    double wd[MIN_DEFLATE_MAX]; /* work: w_k . r */
} MinDeflate;
int min_defl_init(MinDeflate *df, int wmax);
void min_defl_free(MinDeflate *df);
/* Not collective (same answer on every rank). The vectors are valid for the current atom
 * order (else they are dropped) and there are some. */
int min_defl_active(MinCtx *c);
/* Not collective. w[0 .. nvec) allocated with room for nlocal atoms. */
int min_defl_reserve(MinDeflate *df, int nvec, int nlocal);
/* Collective. z += sum_k wc_k w_k (w_k . r). */
void min_defl_apply(MinDeflate *df, int nlocal, const double *r, double *z);
/* Collective. Rayleigh-Ritz refresh of the recycled soft modes c->soft at the current x (forces
 * in d->f; x, f and the ghosts are restored), P from pc's forward blocks; counts the Hessian
 * products as force evaluations. Marks the quench refreshed even when it could not run. */
int min_defl_refresh(MinCtx *c, MinPrecond *pc);
/* Not collective. The quench's vectors (if valid) into c->soft for the next quench. */
int min_defl_save(MinCtx *c);
typedef struct MinEigcg {
    int m, nev;       /* window (0: off) and Ritz vectors kept per restart (2 nev + 2 <= m) */
    int64_t n;        /* doubles per vector */
    int64_t cap;      /* doubles in V and tmp */
    int cols;         /* Lanczos / restarted vectors in V */
    int diag_known;   /* the last column's diagonal entry of T is set */
    int m_off;        /* a small eigen-solve failed: nothing more this solve */
    int64_t restarts; /* window compressions this solve */
    double *V, *tmp;  /* [m][n] */
    double T[MIN_EIGCG_MAXM * MIN_EIGCG_MAXM]; /* V^T H V, column-major, leading dimension m */
    double ell[MIN_EIGCG_MAXM];                /* coordinates of the last Lanczos vector in V */
    double prev_ba;                            /* beta_(j-1) / alpha_(j-1) */
    double t_next; /* coupling of the last column to the next Lanczos vector */
} MinEigcg;
/* Not collective. Window m (capped at MIN_EIGCG_MAXM), nev, n doubles per vector; m = 0 or an
 * nev that does not fit turns it off. */
int min_eigcg_reserve(MinEigcg *e, int m, int nev, int64_t n);
/* Not collective. Start a solve: z_0 = M^-1 r_0, rho_0 = r_0.z_0 (global). */
void min_eigcg_begin(MinEigcg *e, const double *z, double rho);
/* Not collective. After CG iteration j: its alpha_j, beta_j = rho_(j+1)/rho_j, the new
 * z_(j+1) and rho_(j+1); last = 1 when the CG stops after this iteration. */
void min_eigcg_step(MinEigcg *e, double alpha, double beta, const double *z, double rho, int last);
/* Not collective. The k lowest Ritz pairs: vecs[j] (n doubles, M-orthonormal), mu[j] ascending,
 * resid[j] = |M^-1 H y_j - mu_j y_j|_M. Returns how many (0: none available). */
int min_eigcg_ritz(MinEigcg *e, int k, double **vecs, double *mu, double *resid);
void min_eigcg_free(MinEigcg *e);
/* Not collective. Eigen-decomposition (LAPACK dsyev, ascending) of the leading k x k block of
 * the symmetric column-major a (leading dimension lda) into vec (k x k) and val; 0 or -1. */
int min_small_eigh(const double *a, int lda, int k, double *vec, double *val);

#endif
