/* config: the INI input file of `basin run`, parsed with libinih into a typed, validated struct.
 *
 * Every key has a default (listed by `basin config --dump FILE` and documented in
 * docs/usage.md) except where marked "required". Unknown sections or keys, values of the wrong
 * type, out-of-range values and missing required keys are errors: config_load() returns
 * BASIN_ERR_CONFIG with the one-line message "<file>:<section.key>: <what>" recorded through
 * basin_error(), so the app prints "basin: error: <file>:<section.key>: <what>".
 *
 * config_load() is collective: rank 0 reads the file, the text is broadcast, and every rank
 * parses the same bytes (so all ranks agree on success or on the same error).
 */
#ifndef BASIN_CONFIG_H
#define BASIN_CONFIG_H

#include <stdint.h>

#include "basin/model.h"

typedef enum { THERMOSTAT_NHC = 0, THERMOSTAT_NONE = 1 } ThermostatKind;
typedef enum {
    MIN_FIRE = 0,
    MIN_FIRE_BITZEK = 1,
    MIN_SD = 2,
    MIN_LBFGS = 3,
    MIN_RKC = 4 /* the steepest-descent flow by Runge-Kutta-Chebyshev steps (minimize/rkc.c) */
} MinimizerKind;
/* which inherent structures is.h5 stores as particle frames (docs/formats.md) */
typedef enum { IS_SNAPSHOTS_EVENTS = 0, IS_SNAPSHOTS_ALL = 1, IS_SNAPSHOTS_NONE = 2 } IsSnapshots;
/* the tracker's finishing stage (docs/inherent.md "Newton-Krylov finishing") */
typedef enum { IS_FINISH_NEWTON = 0, IS_FINISH_NONE = 1 } IsFinish;
/* check of every event by steepest descent (docs/inherent.md "Same minimum") */
typedef enum { IS_VERIFY_NONE = 0, IS_VERIFY_SD = 1, IS_VERIFY_RKC = 2 } IsVerify;

typedef struct Config {
    char path[4096]; /* the file it came from ("" for built-in defaults) */

    /* [system] */
    ModelKind kind; /* system.kind = glass | crystal            (required) */
    int64_t natoms; /* system.natoms, >= 2; crystal: 4 k^3; glass: even (required) */
    double density; /* system.density > 0, default 1.015 */
    uint64_t seed;  /* system.seed, default 1 */
    double overlap; /* system.overlap_min in (0, 1.2], default 0.8 (glass push-off, sigma_ab) */
    char init_file[4096]; /* system.init_file: LAMMPS data file to start from, "none" (default):
                             build the system from kind/natoms/density/seed */

    /* [md] */
    double dt;            /* md.dt > 0, default 5e-3 */
    double skin;          /* md.skin >= 0, default 0.3 */
    double temperature;   /* md.temperature > 0: target T of equilibration and NVE (required) */
    double t_liquid;      /* md.t_liquid > 0, default 1.0 (glass only) */
    int64_t liquid_steps; /* md.liquid_steps >= 0, default 20000 (glass only) */
    int64_t equil_steps;  /* md.equil_steps >= 0, default 20000 */
    int64_t nve_steps;    /* md.nve_steps >= 0, default 20000 */

    /* [thermostat] */
    ThermostatKind thermostat; /* thermostat.kind = nhc | none, default nhc */
    int nhc_chain;             /* thermostat.chain in [1, 10], default 3 */
    double tdamp;              /* thermostat.tdamp > 0 (time units), default 100 dt = 0.5 */

    /* [output] */
    char dir[4096];       /* output.dir, default "." */
    int64_t thermo_every; /* output.thermo_every >= 1, default 100 */
    int64_t traj_every;   /* output.traj_every >= 0 (0 = no trajectory), default 1000 */
    int write_velocities; /* output.velocities = true|false, default true */
    int64_t
        checkpoint_every; /* output.checkpoint_every >= 0 (0 = only at end/signal), default 10000 */
    int final_data;       /* output.final_data = true|false, default true: final.data (LAMMPS) */

    /* [inherent] */
    int is_enabled;           /* inherent.enabled = true|false, default false */
    double is_every;          /* inherent.every (time units) > 0, default 0.1 */
    MinimizerKind minimizer;  /* inherent.minimizer = fire|fire-bitzek|sd|lbfgs, default fire */
    double fmax_tol;          /* inherent.fmax >= 0 (0 = off), default 1e-9 */
    double fnorm_tol;         /* inherent.fnorm >= 0 (0 = off), default 0; fmax or fnorm > 0 */
    IsFinish is_finish;       /* inherent.finish = newton | none, default newton (not for sd) */
    int is_predict;           /* inherent.predict = true|false, default true (needs newton) */
    int64_t soft_modes;       /* inherent.soft_modes 0..64 (0 = off), default 32 (needs newton) */
    IsVerify is_verify;       /* inherent.verify = none | sd | sd-rkc, default none */
    double event_threshold;   /* inherent.event_threshold > 0, default 1e-2 */
    int64_t max_iter;         /* inherent.max_iter >= 1, default 100000 */
    IsSnapshots is_snapshots; /* inherent.snapshots = events | all | none, default events */
} Config;

/* Fill c with the built-in defaults (a small N = 500 glass at T = 0.01: the quickstart job);
 * the "required" keys get these values too. */
void config_defaults(Config *c);

/* Collective. Parse the INI file at path into c (defaults first, then the file's keys). */
int config_load(const char *path, Config *c);

/* Parse INI text (not collective); `name` is used in messages in place of the file name. */
int config_parse_string(const char *text, const char *name, Config *c);

/* Cross-key checks (crystal N = 4k^3, L > 2 r_c, ...). Called by config_load/parse_string. */
int config_validate(Config *c);

/* Write the fully resolved config as INI text (every key, defaults included) into buf of size n;
 * returns the number of characters that the full text needs (like snprintf). */
int config_dump(const Config *c, char *buf, int n);

/* Names used in the file and in messages. */
const char *config_kind_name(ModelKind k);
const char *config_thermostat_name(ThermostatKind k);
const char *config_minimizer_name(MinimizerKind k);

#endif
