/* harmonic: normal modes at a fixed configuration (PHYSICS.md section 5).
 *
 *   H_ij = -[ v''(r) n n^T + (v'(r)/r) (I - n n^T) ],  n = (r_i - r_j)/r,  H_ii = -sum_j H_ij
 *   H e_k = omega_k^2 e_k,  |e_k| = 1,  PR_k = (sum_i |e_k,i|^2)^2 / (N sum_i |e_k,i|^4)
 *
 * (mass 1, reduced units: lambda = omega^2 in eps / (m sigma^2), omega in 1 / tau.)
 *
 * Layout (DESIGN.md "Parallel layouts"). The 3N x 3N Hessian is assembled straight into a 2D
 * block-cyclic LinalgMatrix (row/column 3 id + k for atom id, Cartesian component k): every
 * rank turns the pairs of its half Verlet list into 3 x 3 blocks and sends each block only to
 * the ranks that own some of its entries (one MPI_Alltoall of counts, one MPI_Alltoallv of
 * records). No rank ever holds the whole matrix; memory per rank is the local part of the
 * matrix (9 N^2 / P doubles) plus O(local pairs) for the exchange. Eigenvectors come back in
 * the same layout and are analysed (participation ratios, translation weights) and written to
 * the modes file from it, without a gather. The method, the file layout and the measured solver
 * timings are in docs/modes.md.
 *
 * Errors follow basin/util.h. Every function marked "Collective" returns the same code on every
 * rank (the ranks agree before returning), so callers can branch on it.
 */
#ifndef BASIN_HARMONIC_H
#define BASIN_HARMONIC_H

#include <stdint.h>

#include "basin/config.h"
#include "basin/domain.h"
#include "basin/linalg.h"
#include "basin/model.h"

/* ---- Hessian assembly ---- */

/* What one assembly did on this rank (not reduced over ranks). */
typedef struct HarmonicAssemblyStats {
    int64_t pairs;        /* pairs of the half list inside the exact cutoff r_c */
    int64_t records_sent; /* 3 x 3 block records packed for other ranks and for this one */
    int64_t records_recv; /* records received and scattered into the local part */
    double t_pairs;       /* seconds: pair blocks and packing */
    double t_exchange;    /* seconds: MPI_Alltoall + MPI_Alltoallv */
    double t_zero;        /* seconds: zeroing the local part (for a fresh matrix this is the
                             first touch of its pages, i.e. page faults) */
    double t_scatter;     /* seconds: accumulation into the local block-cyclic part */
} HarmonicAssemblyStats;

/* Collective over par_comm() (the grid of h must span the same ranks). Overwrites h with the
 * Hessian of the atoms of d. Reads the owned and ghost positions, species and ids and the half
 * neighbour list of d, which must be current (as after domain_rebuild(), or domain_forward()
 * while domain_check_rebuild() says 0); only pairs strictly inside the exact cutoff
 * r_c(a, b) of pot are used (the list reaches r_c + skin). h must be 3N x 3N (N = d->natoms)
 * on any grid shape and block size. pot gives v' and v'' (its params must outlive the call;
 * model_potential() for the model, or a test potential). Needs L > 2 max r_c (minimum image)
 * and a half list (d->full_list = 0), else BASIN_ERR_CONFIG. stats may be NULL. */
int harmonic_hessian_assemble(const Domain *d, const PairPotential *pot, LinalgMatrix *h,
                              HarmonicAssemblyStats *stats);

/* Not collective. The 3 x 3 pair block H_ij (row-major, symmetric) for separation vector
 * dx = r_i - r_j of length r and radial derivatives v1 = v'(r), v2 = v''(r). */
static inline void harmonic_pair_block(const double dx[3], double r, double v1, double v2,
                                       double b[9]) {
    const double ir = 1.0 / r;
    const double n[3] = {dx[0] * ir, dx[1] * ir, dx[2] * ir};
    const double t = v1 * ir; /* transverse stiffness v'/r */
    for (int a = 0; a < 3; ++a)
        for (int c = 0; c < 3; ++c)
            b[3 * a + c] = -((v2 - t) * n[a] * n[c] + (a == c ? t : 0.0));
}

/* ---- eigen-solution, checks and analysis ---- */

typedef enum {
    HARMONIC_SOLVER_AUTO = 0,    /* ELPA 1-stage for more than 20 % of the eigenvectors, 2-stage
                                    for fewer or for eigenvalues only (TOOLCHAIN.md timings on
                                    Debian's generic-kernel ELPA; docs/modes.md) */
    HARMONIC_SOLVER_ELPA1 = 1,   /* ELPA 1-stage */
    HARMONIC_SOLVER_ELPA2 = 2,   /* ELPA 2-stage (kernel: HarmonicOptions.elpa_kernel) */
    HARMONIC_SOLVER_PDSYEVD = 3, /* ScaLAPACK pdsyevd: the cross-check (all vectors only) */
} HarmonicSolver;

/* "auto", "elpa1", "elpa2", "pdsyevd"; NULL when out of range. */
const char *harmonic_solver_name(HarmonicSolver s);
/* Not collective. BASIN_ERR_CONFIG naming the value when it is not one of the names above. */
int harmonic_solver_parse(const char *name, HarmonicSolver *out);

typedef struct HarmonicOptions {
    int nb;                /* block size of the block-cyclic layout, >= 1; default 64 */
    int nprow, npcol;      /* BLACS grid; 0, 0 (default): most square (linalg_grid_shape) */
    int nev;               /* number of lowest modes to compute, 0 (default) = all 3N; >= 4 */
    int vectors;           /* 1 (default): eigenvectors, PR and the eigenvector dataset;
                              0: eigenvalues only (vDOS; much cheaper with ELPA 2-stage) */
    HarmonicSolver solver; /* default HARMONIC_SOLVER_AUTO */
    int elpa_kernel;       /* ELPA_2STAGE_REAL_* for the 2-stage solver, 0 (default): ELPA's */
    int require_minimum;   /* 1 (default): a negative non-translational eigenvalue beyond
                              round-off is BASIN_ERR_PHYSICS ("not a minimum: ..."); 0: warn */
    double tol;            /* relative round-off tolerance for eigenvalues, in units of
                              ||H||_inf (largest absolute row sum, >= max |lambda|): translations
                              must have |lambda| <= tol ||H|| and no other eigenvalue may be
                              below -tol ||H||; default 1e-9 */
    int vdos_bins;         /* histogram bins of the vDOS, >= 1; default 200 */
    double vdos_omega_max; /* upper edge of the histogram, 0 (default): the largest omega */
    /* Used by harmonic_modes_run() only: */
    int quench;         /* 1 (default): quench the input to its inherent structure (minimize
                           module, inherent.* keys) before the Hessian; 0: use it as it is
                           (--no-quench; the minimum check still applies) */
    double quench_fmax; /* max |F_i| tolerance of that quench, > 0; 0 (default):
                           min(inherent.fmax, HARMONIC_QUENCH_FMAX) */
} HarmonicOptions;

/* Default tolerance of the quench of `basin modes` (eps/sigma), tighter than the tracker's
 * inherent.fmax = 1e-9: a residual force F leaves the configuration ~F / lambda_soft away from
 * the minimum, which shifts an eigenvalue by ~|Phi'''| F / lambda_soft (first order); the
 * figures that set 1e-11 (shifts, cost, the round-off floor of max |F| ~ lambda_max ulp(L))
 * are in docs/modes.md "Quench". */
#define HARMONIC_QUENCH_FMAX 1e-11

/* Not collective. Fills o with the defaults documented above. */
void harmonic_options_default(HarmonicOptions *o);

/* Command-line options of `basin modes`, for the app: if argv[*i] is one of them, parse it
 * (and its value, argv[*i + 1], advancing *i past it) into o and return 1; return 0 when
 * argv[*i] is not a modes option; BASIN_ERR_USAGE naming the option for a missing or bad
 * value. Not collective (every rank parses the same argv). HARMONIC_OPTIONS_HELP lists them. */
int harmonic_options_parse_arg(int argc, char **argv, int *i, HarmonicOptions *o);
#define HARMONIC_OPTIONS_HELP                                                                      \
    "  --solver auto|elpa1|elpa2|pdsyevd  eigen-solver (default auto: ELPA 1-stage for > 20 %\n"   \
    "                                     of the vectors, 2-stage below; pdsyevd cross-check)\n"   \
    "  --nev K          compute the K lowest modes only (default: all 3N)\n"                       \
    "  --values-only    eigenvalues only: vDOS without eigenvectors or PR\n"                       \
    "  --nb NB          block size of the block-cyclic layout (default 64)\n"                      \
    "  --grid PxQ       BLACS process grid (default: most square)\n"                               \
    "  --elpa-kernel K  ELPA 2-stage real kernel id (default: ELPA's choice)\n"                    \
    "  --tol T          eigenvalue round-off tolerance, relative to ||H||_inf (default 1e-9)\n"    \
    "  --allow-saddle   warn instead of failing when the input is not a minimum\n"                 \
    "  --no-quench      use the input as it is (default: quench it to its inherent structure\n"    \
    "                   with inherent.minimizer first; the minimum check applies either way)\n"    \
    "  --fmax F         max |F_i| tolerance of that quench (default: the smaller of\n"             \
    "                   inherent.fmax and 1e-11)\n"                                                \
    "  --bins B         vDOS histogram bins (default 200)\n"                                       \
    "  --omega-max W    upper edge of the vDOS histogram (default: the largest omega)\n"

/* The normal modes of one configuration. Arrays of length nmodes are identical on every rank
 * and ascending in lambda; the eigenvectors stay distributed. */
typedef struct HarmonicModes {
    int64_t natoms;       /* N */
    int n;                /* 3N */
    int nmodes;           /* modes kept: nev, or 3N */
    LinalgGrid *grid;     /* owned */
    LinalgMatrix *z;      /* n x n on grid, eigenvector k in column k < nmodes (columns beyond
                             nmodes are unspecified); NULL when vectors = 0 */
    double *lambda;       /* [nmodes] eigenvalues omega^2 */
    double *omega;        /* [nmodes] sign(lambda) sqrt(|lambda|); exactly 0 for the three
                             translations */
    int *translation;     /* [nmodes] 1 for the three translation modes, else 0 */
    double *trans_weight; /* [nmodes] sum_k (sum_i e_{k,i alpha})^2 / N: projection on the
                             uniform translations (1 for a translation, ~0 otherwise); NaN
                             without vectors */
    double *pr;           /* [nmodes] participation ratio; NaN without vectors */
    int vdos_bins;
    double *vdos_edges;    /* [vdos_bins + 1] omega bin edges */
    double *vdos;          /* [vdos_bins] g(omega) of the non-translational modes, sum g dw = 1 */
    double hnorm;          /* ||H||_inf, the scale of tol */
    double lambda_max;     /* largest |lambda| computed */
    double lambda_min_nt;  /* lowest non-translational eigenvalue */
    HarmonicSolver solver; /* the solver that ran (AUTO resolved) */
    int nb;
    double t_assemble, t_solve, t_analysis; /* seconds, max over ranks */
    HarmonicAssemblyStats assembly;         /* this rank's */
} HarmonicModes;

/* Collective over par_comm(). Rebuilds d's list if it is stale (domain_check_rebuild), creates
 * the grid, assembles the Hessian, diagonalises it with the chosen solver, identifies the three
 * translations (translation weight > 1/2 with vectors, the smallest |lambda| within the
 * tolerance without), checks them (three of them, |lambda| <= tol ||H||_inf, else
 * BASIN_ERR_INTERNAL; at a saddle with nev < 3N they may lie above the computed modes, which
 * is then only a warning) and the minimum condition (see
 * require_minimum), computes omega, PR (distributed: per-column partial sums over local rows,
 * reduced along process columns) and the vDOS. Options out of range are BASIN_ERR_CONFIG.
 * Memory per rank: two 9 N^2 / P matrices (Hessian and eigenvectors) plus the solver's
 * workspace (docs/modes.md has measured peaks). *out is released with harmonic_modes_destroy
 * (collective, because of the grid). */
int harmonic_modes_compute(Domain *d, const PairPotential *pot, const HarmonicOptions *o,
                           HarmonicModes **out);

/* Collective. NULL-safe; sets *m = NULL. */
void harmonic_modes_destroy(HarmonicModes **m);

/* How the configuration of the modes was obtained from the input (harmonic_modes_run). Global
 * values, identical on every rank. */
typedef struct HarmonicQuench {
    int quenched;            /* 1: quenched by harmonic_modes_run, 0: the input as it was */
    const char *minimizer;   /* e.g. "fire + newton" ("" without quench) */
    double fmax_tol;         /* the quench's max |F_i| tolerance (NaN without quench) */
    int64_t iterations;      /* of the quench (0 without) */
    int64_t force_evals;     /* of the quench (0 without) */
    double phi_input;        /* Phi of the input configuration (total, eps) */
    double fmax_input;       /* max_i |F_i| of the input */
    double phi;              /* Phi of the configuration of the modes (Phi_IS when quenched) */
    double fmax;             /* max_i |F_i| there */
    double max_displacement; /* max_i |r_i - r_i,input| (minimum image, sigma; 0 without) */
} HarmonicQuench;

/* Metadata recorded in the modes file. NULL fields are written as "". */
typedef struct HarmonicFileMeta {
    const char *config_text; /* resolved INI text (config_dump) */
    const char *input;       /* where the configuration came from */
    const char *command_line;
    const HarmonicQuench *quench; /* written as /parameters attributes; NULL: not recorded */
} HarmonicFileMeta;

/* Collective. Write the modes file at path (truncated) with the MPI-IO driver: omega, lambda,
 * translation flags and weights, PR, the vDOS, the eigenvectors as a [nmodes][3N] dataset
 * written from the block-cyclic layout (each rank writes its local blocks as hyperslabs), the
 * positions, species (in id order, from id-blocks), box, and the metadata. Layout:
 * docs/modes.md. d must hold the configuration m was computed from. */
int harmonic_modes_write(const HarmonicModes *m, const Domain *d, const HarmonicFileMeta *meta,
                         const char *path);

/* Collective. The `basin modes` pipeline. The configuration comes from `input`:
 *   - a run directory (output.dir of `basin run`): RUN_DIR/is.h5 if it has particle frames
 *     (inherent-structure snapshots), else RUN_DIR/trajectory.h5, each frame `frame` (negative
 *     = last), else RUN_DIR/final.data (then frame must be negative);
 *   - an H5MD trajectory frame `frame` when the name ends in .h5/.h5md/.hdf5;
 *   - else a LAMMPS data file;
 *   - NULL: the builder of c (FCC crystal: an exact minimum; a glass start is not).
 * Unless o->quench is 0 the configuration is first quenched to its inherent structure with the
 * minimize module (minimize_params_from_config(c): inherent.minimizer, inherent.max_iter;
 * FIRE kinds with the Newton finishing stage, as the tracker; tolerance o->quench_fmax): a
 * quench that does not converge is BASIN_ERR_PHYSICS naming the input, the iterations and the
 * final max |F|. The modes, the positions and the metadata written are those of the quenched
 * configuration. Either way the eigenvalues are checked (o->require_minimum). c gives the
 * model kind, the skin of the neighbour list, the [inherent] keys and the config text stored in
 * the file. Writes out_path and logs a summary with timings. */
int harmonic_modes_run(const Config *c, const char *input, int64_t frame, const HarmonicOptions *o,
                       const char *out_path);

/* Collective. For `basin modes RUN_DIR` without --config: when input names a directory, parse
 * the resolved configuration that `basin run` stored in RUN_DIR/is.h5 or RUN_DIR/trajectory.h5
 * (dataset /parameters/config; the first of the two that has one) into c and set *loaded = 1.
 * Otherwise c is left alone and *loaded = 0 when input is not a directory (or NULL), -1 when
 * it is a directory without a stored configuration (e.g. only final.data: the caller then needs
 * the model kind from elsewhere). Errors (identical on every rank): a stored config text that
 * does not parse (its message names the file). */
int harmonic_modes_input_config(const char *input, Config *c, int *loaded);

#endif
