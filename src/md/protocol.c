/* The MD protocols of PHYSICS.md section 2 (Methods II A of the paper) and the thermo output.
 *
 *   glass:   random start (model_build_glass, overlap push-off) -> Gaussian velocities at
 *            md.t_liquid -> NVT md.liquid_steps at md.t_liquid -> instantaneous quench
 *            (velocities rescaled to md.temperature) -> NVT md.equil_steps -> NVE md.nve_steps
 *   crystal: FCC lattice (model_build_fcc) -> velocities at md.temperature -> NVT
 *            md.equil_steps -> NVE md.nve_steps
 * Total momentum is zeroed when velocities are drawn; the integrator conserves it afterwards.
 * Each NVT stage starts its Nose-Hoover chain at rest with the stage's target (a new LAMMPS
 * `fix nvt`), so the conserved quantity H is defined per stage; the log reports its drift per
 * stage, per atom and relative to N T. thermostat.kind = none runs the NVT stages as NVE (the
 * quench rescale still happens).
 *
 * system.init_file replaces the build by a LAMMPS data file (velocities kept when present, else
 * drawn at md.temperature); the liquid stage is then skipped.
 *
 * Output: <output.dir>/trajectory.h5 (H5MD, NVE stage only, a frame every output.traj_every
 * steps with the observables of the same step; docs/formats.md),
 * <output.dir>/thermo.dat (rank 0; flushed after every row) and the same rows in the
 * log every output.thermo_every steps and at the end of every stage; one progress line per
 * stage (steps/s, atom-steps/s, ETA), a timing breakdown at the end, and the final state as a
 * LAMMPS data file <output.dir>/final.data (output.final_data). Units are reduced:
 * energies per atom in eps, time in sqrt(m sigma_eff^2 / eps), pressure in eps / sigma_eff^3.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "basin/h5md.h"
#include "basin/lammps_data.h"
#include "basin/md.h"
#include "basin/util.h"
#include "basin_version.h"

typedef struct Stage {
    const char *name;
    int index; /* the "stage" column of thermo.dat */
    MdEnsemble ensemble;
    double t;
    int64_t steps;
} Stage;

typedef struct ThermoOut {
    FILE *fp;      /* rank 0 only */
    int64_t every; /* output.thermo_every */
    int64_t natoms;
} ThermoOut;

/* mkdir -p; not collective. */
static int make_dirs(const char *path) {
    char buf[4096];
    const size_t n = strlen(path);
    if (n == 0 || n >= sizeof(buf)) return 0;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; ++i) {
        if (buf[i] == '/' || buf[i] == '\0') {
            const char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return basin_error(BASIN_ERR_IO, buf, "output.dir", "cannot create directory: %s",
                                   strerror(errno));
            buf[i] = c;
        }
    }
    return 0;
}

/* Collective: rank 0 creates <dir>/thermo.dat with its header; all ranks agree on success.
 * Called before the system is built, so a bad output.dir fails before any heavy work. */
static int thermo_open(ThermoOut *o, const Config *c) {
    int rc = 0;
    const double L = model_box_length(c->natoms, c->density);
    o->fp = NULL;
    o->every = c->thermo_every > 0 ? c->thermo_every : 100;
    o->natoms = c->natoms;
    if (par_rank() == 0) {
        char path[4200];
        const char *dir = c->dir[0] ? c->dir : ".";
        rc = make_dirs(dir);
        if (rc == 0) {
            snprintf(path, sizeof(path), "%s/thermo.dat", dir);
            o->fp = fopen(path, "w");
            if (!o->fp)
                rc = basin_error(BASIN_ERR_IO, path, NULL, "cannot open for writing: %s",
                                 strerror(errno));
        }
        if (o->fp) {
            fprintf(o->fp,
                    "# basin thermo: %s, N = %lld, L = %.10g, rho = %.6g, dt = %g, ranks = %d\n"
                    "# reduced units: length sigma_eff, mass m, energy eps, k_B = 1, time "
                    "tau = sqrt(m sigma_eff^2/eps)\n"
                    "# T = (1/3N) sum_i v_i^2 (PHYSICS.md 3); T_nf = 2K/(3N-3) is what the "
                    "thermostat targets; H = K + Phi + Nose-Hoover chain energy (per stage)\n"
                    "# stage: 0 = liquid NVT, 1 = equilibration NVT, 2 = NVE production\n"
                    "# step time[tau] stage T[eps] T_nf[eps] pe/N[eps] etot/N[eps] H/N[eps] "
                    "P[eps/sigma^3]\n",
                    config_kind_name(c->kind), (long long)c->natoms, L, c->density, c->dt,
                    par_size());
            fflush(o->fp);
        }
    }
    return basin_error_agree(rc);
}

static void thermo_close(ThermoOut *o) {
    if (o->fp) fclose(o->fp);
    o->fp = NULL;
}

static void thermo_emit(ThermoOut *o, const MdThermo *th, int stage) {
    const double n = (double)o->natoms;
    timer_start(TIMER_OUTPUT);
    log_info("%10lld %10.3f %2d T %.6e Tnf %.6e pe/N %.12f E/N %.12f H/N %.12f P %.6f",
             (long long)th->step, th->time, stage, th->t, th->t_nf, th->pe / n, th->etot / n,
             th->conserved / n, th->pressure);
    if (o->fp) {
        fprintf(o->fp, "%lld %.6f %d %.10e %.10e %.15e %.15e %.15e %.10e\n", (long long)th->step,
                th->time, stage, th->t, th->t_nf, th->pe / n, th->etot / n, th->conserved / n,
                th->pressure);
        fflush(o->fp);
    }
    timer_stop(TIMER_OUTPUT);
}

/* The NVE trajectory: H5MD frames every traj_every steps of the production stage. */
typedef struct TrajOut {
    H5md *h5;      /* NULL: no trajectory */
    int64_t every; /* output.traj_every */
    int64_t first; /* MD step at which production starts (frame 0) */
} TrajOut;

/* Collective. One frame with the observables of the same step (MDAnalysis indexes
 * /observables by position frame, so they must be sampled together). */
static int traj_frame(TrajOut *t, const MdState *s) {
    MdThermo th;
    BCHK(md_thermo(s, &th));
    const double obs[H5MD_NOBS] = {
        [H5MD_OBS_TEMPERATURE] = th.t,     [H5MD_OBS_POTENTIAL_ENERGY] = th.pe,
        [H5MD_OBS_KINETIC_ENERGY] = th.ke, [H5MD_OBS_TOTAL_ENERGY] = th.etot,
        [H5MD_OBS_PRESSURE] = th.pressure,
    };
    timer_start(TIMER_OUTPUT);
    int rc = h5md_append_frame(t->h5, s->d, s->step, th.time, obs);
    timer_stop(TIMER_OUTPUT);
    return rc;
}

/* Collective. Create <dir>/trajectory.h5 for the production stage. */
static int traj_open(TrajOut *t, const Config *c, const Domain *d, const char *command_line) {
    t->h5 = NULL;
    t->every = c->traj_every;
    if (c->traj_every <= 0) return 0;
    int need = config_dump(c, NULL, 0) + 1;
    char *text = NULL;
    BCHK(BALLOC(text, need));
    config_dump(c, text, need);
    char path[4200];
    snprintf(path, sizeof path, "%s/trajectory.h5", c->dir[0] ? c->dir : ".");
    const H5mdMeta meta = {.basin_version = BASIN_VERSION,
                           .author = NULL,
                           .config_text = text,
                           .command_line = command_line};
    int rc = h5md_create_domain(path, &meta, d, c->write_velocities ? H5MD_VELOCITIES : 0, &t->h5);
    free(text);
    if (rc == 0) log_info("trajectory: %s, a frame every %lld steps", path, (long long)t->every);
    return rc;
}

/* Collective. Run one stage; writes thermo rows at multiples of o->every and at the end, and
 * trajectory frames (t may be NULL) at multiples of t->every counted from the stage start. */
static int run_stage(MdState *s, const Stage *st, ThermoOut *o, TrajOut *t) {
    const double n = (double)s->d->natoms;
    BCHK(md_set_ensemble(s, st->ensemble, st->t));
    MdThermo th0, th;
    timer_start(TIMER_OUTPUT);
    int rc = md_thermo(s, &th0);
    timer_stop(TIMER_OUTPUT);
    BCHK(rc);
    log_info("stage %s: %s%s%.6g, %lld steps (t = %.6g), starting at step %lld with T_nf = %.6g",
             st->name, st->ensemble == MD_NVT ? "NVT (Nose-Hoover chain) at " : "NVE",
             st->ensemble == MD_NVT ? "T = " : ", set T = ", st->t, (long long)st->steps,
             (double)st->steps * s->dt, (long long)s->step, th0.t_nf);
    if (s->step == 0) thermo_emit(o, &th0, st->index);
    if (t && t->h5) {
        t->first = s->step;
        BCHK(traj_frame(t, s));
    }

    Progress p;
    progress_start(&p, st->name, st->steps, n, "atom-steps");
    th = th0;
    for (int64_t k = 1; k <= st->steps; ++k) {
        BCHK(md_step(s));
        if (s->step % o->every == 0 || k == st->steps) {
            timer_start(TIMER_OUTPUT);
            rc = md_thermo(s, &th);
            timer_stop(TIMER_OUTPUT);
            BCHK(rc);
            thermo_emit(o, &th, st->index);
        }
        if (t && t->h5 && k % t->every == 0) BCHK(traj_frame(t, s));
        progress_update(&p, k);
    }
    progress_finish(&p);
    const double dh = th.conserved - th0.conserved;
    log_info("stage %s done: T_nf = %.6g; conserved H/N %.12f -> %.12f, drift %.3e per atom "
             "(%.3e of |H|, %.3e of N T); |P_total| = %.3e",
             st->name, th.t_nf, th0.conserved / n, th.conserved / n, dh / n,
             th0.conserved != 0.0 ? dh / fabs(th0.conserved) : 0.0,
             st->t > 0.0 ? dh / (n * st->t) : 0.0,
             sqrt(th.momentum[0] * th.momentum[0] + th.momentum[1] * th.momentum[1] +
                  th.momentum[2] * th.momentum[2]));
    return 0;
}

static int has_init_file(const Config *c) {
    return strcmp(c->init_file, "none") != 0;
}

/* Collective. Build the global start configuration (identical on every rank) and distribute it;
 * or read it from system.init_file. *have_v tells whether velocities came with it. */
static int build_system(const Config *c, const Model *m, Domain **dom, int *have_v) {
    *have_v = 0;
    if (has_init_file(c)) {
        LammpsData in = {0};
        BCHK(lammps_data_read(c->init_file, &in));
        int rc = 0;
        if (in.n != c->natoms)
            rc = basin_error(BASIN_ERR_CONFIG, c->init_file, "system.natoms",
                             "the file holds %lld atoms but system.natoms = %lld", (long long)in.n,
                             (long long)c->natoms);
        for (int64_t i = 0; i < in.n && rc == 0; ++i)
            if (in.species[i] >= m->nspecies)
                rc = basin_error(BASIN_ERR_CONFIG, c->init_file, "system.kind",
                                 "atom %lld has type %d but a %s has %d species", (long long)i + 1,
                                 in.species[i] + 1, config_kind_name(c->kind), m->nspecies);
        if (rc == 0 && in.L <= 2.0 * m->rc_max)
            rc = basin_error(BASIN_ERR_CONFIG, c->init_file, "box",
                             "box edge %g must exceed 2 r_c = %g (minimum image)", in.L,
                             2.0 * m->rc_max);
        if (rc == 0) {
            log_info("start: %s (N = %lld, L = %.10g, rho = %.6g%s)", c->init_file, (long long)in.n,
                     in.L, (double)in.n / (in.L * in.L * in.L), in.v ? ", with velocities" : "");
            rc = domain_create(m, in.L, c->skin, dom);
        }
        if (rc == 0) rc = domain_distribute(*dom, in.n, in.x, in.v, in.species, in.image);
        *have_v = in.v != NULL;
        lammps_data_free(&in);
        return rc;
    }
    double *x = NULL, L = 0.0;
    int *species = NULL;
    int rc = BALLOC(x, 3 * c->natoms);
    if (rc == 0) rc = BALLOC(species, c->natoms);
    if (rc == 0) {
        if (c->kind == MODEL_GLASS)
            rc = model_build_glass(m, c->natoms, c->density, c->seed, c->overlap, x, species, &L);
        else
            rc = model_build_fcc(c->natoms, c->density, x, species, &L);
    }
    rc = basin_error_agree(rc);
    if (rc == 0) rc = domain_create(m, L, c->skin, dom);
    if (rc == 0) rc = domain_distribute(*dom, c->natoms, x, NULL, species, NULL);
    free(x);
    free(species);
    return rc;
}

/* Collective. Gathers the final state by id (O(N) per rank, once per run) and writes
 * <dir>/final.data for LAMMPS, OVITO or a later `system.init_file`. */
static int write_final_data(const Config *c, const Domain *d) {
    const int64_t n = d->natoms;
    double *own = NULL, *x = NULL, *v = NULL, *aux = NULL;
    int *species = NULL;
    int32_t *image = NULL;
    int rc = BALLOC(own, 4 * (size_t)(d->nlocal > 0 ? d->nlocal : 1));
    if (rc == 0) rc = BALLOC(x, 3 * n);
    if (rc == 0) rc = BALLOC(v, 3 * n);
    if (rc == 0) rc = BALLOC(aux, 4 * n);
    if (rc == 0) rc = BALLOC(species, n);
    if (rc == 0) rc = BALLOC(image, 3 * n);
    rc = basin_error_agree(rc);
    if (rc == 0) {
        /* species and image counters travel as doubles: exact for these small integers */
        for (int i = 0; i < d->nlocal; ++i) {
            own[4 * i] = d->species[i];
            for (int k = 0; k < 3; ++k)
                own[4 * i + 1 + k] = d->image[3 * i + k];
        }
        rc = domain_allgather_by_id(d, d->x, 3, x);
        if (rc == 0) rc = domain_allgather_by_id(d, d->v, 3, v);
        if (rc == 0) rc = domain_allgather_by_id(d, own, 4, aux);
    }
    if (rc == 0) {
        for (int64_t i = 0; i < n; ++i) {
            species[i] = (int)aux[4 * i];
            for (int k = 0; k < 3; ++k)
                image[3 * i + k] = (int32_t)aux[4 * i + 1 + k];
        }
        char path[4200];
        snprintf(path, sizeof path, "%s/final.data", c->dir[0] ? c->dir : ".");
        char title[128];
        snprintf(title, sizeof title, "basin final state: %s N = %lld T = %g",
                 config_kind_name(c->kind), (long long)n, c->temperature);
        timer_start(TIMER_OUTPUT);
        rc = lammps_data_write(path, title, n, d->model->nspecies, d->L, x, v, species, image);
        timer_stop(TIMER_OUTPUT);
        if (rc == 0) log_info("final state written to %s", path);
    }
    free(own);
    free(x);
    free(v);
    free(aux);
    free(species);
    free(image);
    return rc;
}

int md_run_config(const Config *c, const char *command_line) {
    Model model;
    Domain *d = NULL;
    MdState *s = NULL;
    ThermoOut out = {0};
    TrajOut traj = {0};
    int rc;

    timer_reset_all();
    timer_start(TIMER_TOTAL);
    model_init(&model, c->kind);

    int have_v = 0;
    rc = thermo_open(&out, c);
    if (rc == 0) rc = build_system(c, &model, &d, &have_v);
    if (rc == 0) rc = md_state_create(d, c->dt, c->nhc_chain, c->tdamp, &s);
    rc = basin_error_agree(rc);
    if (rc != 0) goto done;
    log_info("md: %s, N = %lld, L = %.10g, rho = %.6g, dt = %g, skin = %g, ranks = %d "
             "(grid %d x %d x %d), thermostat %s (chain %d, tdamp %g), force kernel %s",
             config_kind_name(c->kind), (long long)c->natoms, d->L, c->density, c->dt, c->skin,
             par_size(), d->dims[0], d->dims[1], d->dims[2], config_thermostat_name(c->thermostat),
             c->nhc_chain, c->tdamp, md_kernel_name());

    /* A start from a file has no liquid stage: it is already a glass (or a crystal). */
    const int glass = c->kind == MODEL_GLASS && !has_init_file(c);
    const MdEnsemble nvt = c->thermostat == THERMOSTAT_NHC ? MD_NVT : MD_NVE;
    const double t0 = glass ? c->t_liquid : c->temperature;
    if (!have_v) rc = md_velocities_init(d, c->seed, 0, t0);
    if (rc == 0) rc = md_setup(s);
    if (rc != 0) goto done;

    Stage stages[3];
    int nst = 0;
    if (glass) stages[nst++] = (Stage){"liquid", 0, nvt, c->t_liquid, c->liquid_steps};
    stages[nst++] = (Stage){"equilibration", 1, nvt, c->temperature, c->equil_steps};
    stages[nst++] = (Stage){"nve", 2, MD_NVE, c->temperature, c->nve_steps};
    for (int k = 0; k < nst && rc == 0; ++k) {
        if (glass && k == 1) {
            log_info("quench: velocities rescaled from T_nf = %.6g to %.6g at step %lld",
                     2.0 * md_kinetic_energy(d) / md_ndof(d->natoms), c->temperature,
                     (long long)s->step);
            rc = md_rescale_temperature(d, c->temperature);
            if (rc != 0) break;
        }
        const int production = stages[k].index == 2;
        if (production) rc = traj_open(&traj, c, d, command_line);
        if (rc == 0) rc = run_stage(s, &stages[k], &out, production ? &traj : NULL);
    }
    if (traj.h5) {
        const int rc2 = h5md_close(&traj.h5);
        if (rc == 0) rc = rc2;
    }
    if (rc == 0 && c->final_data) rc = write_final_data(c, d);

done:
    thermo_close(&out);
    timer_stop(TIMER_TOTAL);
    if (rc == 0) timer_report("md");
    md_state_destroy(&s);
    domain_destroy(&d);
    return rc;
}
