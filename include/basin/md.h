/* md: the force loop, velocity Verlet, the Nose-Hoover chain thermostat, the glass/crystal
 * protocols of PHYSICS.md section 2 and the thermo output.
 *
 * Reduced units throughout (sigma_eff = 1, m = 1 for every atom, eps = 1, k_B = 1, time
 * sqrt(m sigma^2 / eps)). Temperatures are energies (k_B = 1).
 *
 * Two temperatures appear and are never mixed up:
 *   T     = (1/3N) sum_i |v_i|^2 = 2K/(3N)         PHYSICS.md section 3 (printed as "T")
 *   T_nf  = 2K / N_f,  N_f = 3N - 3                 (printed as "T_nf")
 * The thermostat targets T_nf, as LAMMPS `fix nvt` with the default `compute temp` does, and
 * velocity initialisation and the quench rescale to T_nf: with the total momentum zeroed only
 * 3N - 3 degrees of freedom carry kinetic energy, so <2K> = N_f T in the canonical ensemble.
 * The printed T therefore sits 1/N below the set temperature (2.5e-4 relative at N = 4000).
 *
 * Parallel model: md/ never calls MPI. Per-atom arrays live in a Domain (basin/domain.h);
 * reductions go through the par_* functions of basin/util.h. "Collective" below means every
 * rank of the current communicator must call the function at the same point.
 *
 * Forces use the half Verlet list of the Domain: each pair appears once globally, force is
 * added to i and subtracted from j (j may be a ghost), and domain_reverse() sums ghost forces
 * into their owners.
 */
#ifndef BASIN_MD_H
#define BASIN_MD_H

#include <stdint.h>
#include <stdio.h>

#include "basin/config.h"
#include "basin/domain.h"
#include "basin/model.h"

/* ---- forces ---- */

/* Not collective. Zero f of owned and ghost atoms, then accumulate the pair forces of the half
 * list of d (positions of owned atoms and ghosts must be current). Ghost entries of f hold
 * partial forces that domain_reverse() must sum into their owners. Returns through pe_local
 * the potential energy of the pairs this rank lists (sum over ranks = Phi) and through
 * virial_local W_local = sum r_ij . f_ij over the same pairs (sum over ranks = W). Either
 * pointer may be NULL. Units: energy eps, force eps/sigma. */
void md_force_kernel(Domain *d, double *pe_local, double *virial_local);

/* Which of the compile-time kernel shapes this build uses (for logs and benchmarks). */
const char *md_kernel_name(void);

/* Collective. md_force_kernel() + domain_reverse(): on return f[0 .. 3*nlocal) holds the total
 * force on every owned atom. pe_local / virial_local as above (NOT reduced: the caller reduces
 * with par_sum_d only when it needs the global value). Used by MD, minimisers and IS tracking. */
int md_forces(Domain *d, double *pe_local, double *virial_local);

/* ---- Nose-Hoover chain (Martyna-Tuckerman-Klein), as LAMMPS fix nvt ----
 * Chain of M thermostats eta_1..eta_M with masses Q_1 = N_f T tdamp^2, Q_k = T tdamp^2.
 * nhc_half_step() advances the chain by dt/2 with the LAMMPS operator splitting (nloop
 * sub-steps, no Suzuki-Yoshida weights, which is LAMMPS's default tchain/tloop scheme) and
 * returns the factor by which all velocities must be scaled. Pure scalar code: no MPI, no
 * atoms, testable alone. */
#define NHC_MAX_CHAIN 10
typedef struct NhcChain {
    int m;                             /* chain length M, 1..NHC_MAX_CHAIN */
    int nloop;                         /* sub-steps per half step (LAMMPS tloop), >= 1 */
    double t_target;                   /* T (energy units) */
    double ndof;                       /* N_f */
    double tdamp;                      /* damping time (time units) */
    double dt;                         /* MD time step */
    double q[NHC_MAX_CHAIN];           /* thermostat masses (energy time^2) */
    double eta[NHC_MAX_CHAIN];         /* thermostat positions (dimensionless) */
    double eta_dot[NHC_MAX_CHAIN + 1]; /* thermostat velocities (1/time); [m] stays 0 */
    double eta_dotdot[NHC_MAX_CHAIN];  /* thermostat accelerations (1/time^2) */
} NhcChain;

/* Not collective. Initialise a chain at rest (eta = eta_dot = 0). Returns BASIN_ERR_CONFIG
 * for m outside [1, NHC_MAX_CHAIN] or non-positive t_target, ndof, tdamp, dt. */
int nhc_init(NhcChain *c, int m, double t_target, double ndof, double tdamp, double dt);

/* Not collective. Advance the chain by dt/2 given the current total kinetic energy ke
 * (= sum_i |v_i|^2 / 2 over all atoms); returns the velocity scale factor s > 0. The new
 * kinetic energy is s^2 ke (the caller scales the velocities). */
double nhc_half_step(NhcChain *c, double ke);

/* Not collective. Thermostat energy that makes H = K + Phi + nhc_energy() conserved:
 * N_f T eta_1 + sum_{k>1} T eta_k + sum_k Q_k eta_dot_k^2 / 2. */
double nhc_energy(const NhcChain *c);

/* ---- velocities and kinetic quantities (all collective) ---- */

/* N_f = 3N - 3 for N global atoms (total momentum removed). */
static inline double md_ndof(int64_t natoms) {
    return 3.0 * (double)natoms - 3.0;
}

/* Total kinetic energy K = sum |v|^2 / 2 over all owned atoms of all ranks (mass 1). */
double md_kinetic_energy(const Domain *d);

/* Subtract the mean velocity of all atoms (total momentum becomes zero to rounding). */
void md_zero_momentum(Domain *d);

/* Scale all velocities so that 2K/N_f = t (t >= 0). With K = 0 and t > 0: BASIN_ERR_PHYSICS. */
int md_rescale_temperature(Domain *d, double t);

/* Gaussian velocities v_i = g_i from rng_normal3(seed, RNG_STREAM_VELOCITY, id_i, stage) (so
 * they do not depend on the rank count or on the atom order), then zero total momentum, then
 * rescale to 2K/N_f = t exactly. */
int md_velocities_init(Domain *d, uint64_t seed, uint64_t stage, double t);

/* Collective. Check positions, velocities and forces of owned atoms for non-finite values.
 * On a hit every rank returns BASIN_ERR_PHYSICS with the message of the lowest rank that saw
 * one, naming the global atom id, the quantity and the step. */
int md_check_finite(const Domain *d, int64_t step);

/* ---- integrator state ---- */

typedef enum { MD_NVE = 0, MD_NVT = 1 } MdEnsemble;

typedef struct MdThermo {
    int64_t step;
    double time;        /* step * dt */
    double ke;          /* K, total */
    double pe;          /* Phi, total */
    double virial;      /* W = sum_pairs r_ij . f_ij, total */
    double t;           /* 2K / 3N (PHYSICS.md section 3) */
    double t_nf;        /* 2K / N_f (thermostat target) */
    double etot;        /* K + Phi */
    double conserved;   /* K + Phi + thermostat energy (NVT), K + Phi (NVE) */
    double pressure;    /* (2K + W) / (3V) */
    double momentum[3]; /* total momentum */
} MdThermo;

typedef struct MdState {
    Domain *d;           /* not owned */
    double dt;           /* time step */
    int64_t step;        /* global step counter (continues across stages) */
    MdEnsemble ensemble; /* of the current stage */
    NhcChain nhc;        /* valid while ensemble == MD_NVT */
    int nhc_chain;       /* configured chain length */
    double tdamp;        /* configured damping time */
    double ke;           /* cached global K after the last step (NVT only; NaN when unknown) */
    double pe_local;     /* from the last force evaluation (this rank's pairs) */
    double virial_local; /* idem */
} MdState;

/* Not collective. Allocate a state for domain d (which must outlive it). Forces are not
 * computed here: call md_setup() once positions and velocities are in place. */
int md_state_create(Domain *d, double dt, int nhc_chain, double tdamp, MdState **out);
void md_state_destroy(MdState **s);

/* Collective. Rebuild the neighbour list and compute forces (start of a run or after the
 * caller changed positions). */
int md_setup(MdState *s);

/* Collective. Select the ensemble of the next steps. MD_NVT (re)initialises the chain at rest
 * with target t; MD_NVE ignores t. */
int md_set_ensemble(MdState *s, MdEnsemble e, double t);

/* Collective. One velocity Verlet step (habit 7):
 *   [NHC dt/2] half-kick, drift, (rebuild | forward), force, reverse, half-kick, [NHC dt/2]
 * Only NVT performs a global reduction (the kinetic energy for the chain). */
int md_step(MdState *s);

/* Collective. Global thermodynamic quantities of the current state (one reduction). Also
 * checks finiteness and the atom count (lost atoms): returns BASIN_ERR_PHYSICS on a problem. */
int md_thermo(const MdState *s, MdThermo *th);

/* ---- checkpoints (src/md/restart.c; the file: docs/formats.md "checkpoint.h5") ---- */

typedef struct Ckpt Ckpt; /* basin/checkpoint.h */

/* Collective. Write the atoms (x, x at the last list build, v, image flags, species; id-block
 * order) and the integrator state (step, ensemble, kinetic energy cache, Nose-Hoover chain). */
int md_checkpoint_save(Ckpt *c, MdState *s);
/* Collective. Restore the n atoms into s, whose Domain was created empty with the checkpoint's
 * box: replays
 * the last list build and recomputes the forces, so that the next md_step() is bitwise the
 * uninterrupted run's on the same number of ranks (to round-off on another). */
int md_checkpoint_load(Ckpt *c, MdState *s, int64_t n);

/* ---- protocols ---- */

/* What `basin run` does about an existing checkpoint in output.dir. */
typedef enum {
    MD_RESTART_AUTO = 0,    /* continue from <output.dir>/checkpoint.h5 if present (default) */
    MD_RESTART_REQUIRE = 1, /* --restart: continue; error if there is no checkpoint */
    MD_RESTART_NEVER = 2,   /* --fresh: remove it and start over */
} MdRestartMode;

typedef struct MdRunOptions {
    MdRestartMode restart;
    int64_t stop_at_step; /* > 0: checkpoint and stop once this MD step is done */
    double walltime;      /* > 0: seconds; checkpoint and stop before this much time passed */
} MdRunOptions;

/* Positive return of md_run(): stopped on request (SIGTERM, SIGUSR1, <output.dir>/basin.stop,
 * --walltime, --stop-at-step) after writing a checkpoint; the same command continues the run.
 * `basin run` exits with this status (EX_TEMPFAIL: "try again"), for SLURM requeue scripts. */
#define MD_RUN_STOPPED 75

void md_run_options_default(MdRunOptions *o);

/* Collective. The full protocol (below) with checkpoints: <output.dir>/checkpoint.h5 every
 * output.checkpoint_every steps, at the end, and on a stop request; in-situ inherent structures
 * during NVE when inherent.enabled (<output.dir>/is.h5). Returns 0, MD_RUN_STOPPED or an
 * error code. */
int md_run(const Config *c, const char *command_line, const MdRunOptions *o);

/* Collective. Run the full protocol of the config (PHYSICS.md section 2):
 *   glass:   model_build_glass -> NVT at md.t_liquid for md.liquid_steps -> rescale to
 *            md.temperature -> NVT md.equil_steps -> NVE md.nve_steps
 *   crystal: model_build_fcc -> velocities at md.temperature -> NVT md.equil_steps -> NVE
 * (thermostat.kind = none turns the NVT stages into NVE). Writes <output.dir>/thermo.dat
 * (rank 0), the NVE trajectory <output.dir>/trajectory.h5 (H5MD, every output.traj_every
 * steps; none when 0), <output.dir>/final.data (output.final_data), logs stage transitions, a
 * progress line and a timing breakdown. command_line (may be NULL) is recorded in the
 * trajectory's /parameters. */
int md_run_config(const Config *c, const char *command_line); /* md_run(), --fresh */

#endif
