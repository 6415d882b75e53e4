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
#include <signal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basin/checkpoint.h"
#include "basin/h5md.h"
#include "basin/lammps_data.h"
#include "basin/md.h"
#include "basin/minimize.h"
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

/* Rank 0: keep the header and the rows up to step `last` of an existing thermo.dat (restart),
 * through a temporary file and a rename; then reopen it for appending. */
static int thermo_truncate(ThermoOut *o, const char *path, int64_t last) {
    FILE *in = fopen(path, "r");
    if (!in) return 1; /* none: the caller starts a new one */
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *out = fopen(tmp, "w");
    if (!out) {
        fclose(in);
        return basin_error(BASIN_ERR_IO, tmp, NULL, "cannot open for writing: %s", strerror(errno));
    }
    char line[1024];
    while (fgets(line, sizeof line, in)) {
        if (line[0] != '#') {
            char *end = NULL;
            const long long step = strtoll(line, &end, 10);
            if (end == line || step > last || !strchr(line, '\n')) continue; /* later or torn */
        }
        fputs(line, out);
    }
    fclose(in);
    const int bad = ferror(out);
    if (fclose(out) != 0 || bad || rename(tmp, path) != 0)
        return basin_error(BASIN_ERR_IO, path, NULL, "cannot rewrite for the restart: %s",
                           strerror(errno));
    o->fp = fopen(path, "a");
    if (!o->fp)
        return basin_error(BASIN_ERR_IO, path, NULL, "cannot open for appending: %s",
                           strerror(errno));
    fprintf(o->fp, "# restarted from the checkpoint at step %lld on %d rank(s)\n", (long long)last,
            par_size());
    fflush(o->fp);
    return 0;
}

/* Collective: rank 0 creates <dir>/thermo.dat with its header (restart_step < 0), or keeps an
 * existing one up to restart_step; all ranks agree on success. Called before the system is
 * built, so a bad output.dir fails before any heavy work. */
static int thermo_open(ThermoOut *o, const Config *c, int64_t restart_step) {
    int rc = 0;
    const double L = model_box_length(c->natoms, c->density);
    o->fp = NULL;
    o->every = c->thermo_every > 0 ? c->thermo_every : 100;
    o->natoms = c->natoms;
    if (par_rank() == 0) {
        char path[4200];
        const char *dir = c->dir[0] ? c->dir : ".";
        rc = make_dirs(dir);
        snprintf(path, sizeof(path), "%s/thermo.dat", dir);
        if (rc == 0 && restart_step >= 0) {
            rc = thermo_truncate(o, path, restart_step);
            if (rc > 0) rc = 0; /* no thermo.dat to keep: write a new one below */
        }
        if (rc == 0 && !o->fp) {
            o->fp = fopen(path, "w");
            if (!o->fp)
                rc = basin_error(BASIN_ERR_IO, path, NULL, "cannot open for writing: %s",
                                 strerror(errno));
            if (o->fp) {
                fprintf(o->fp,
                        "# basin thermo: %s, N = %lld, L = %.10g, rho = %.6g, dt = %g, ranks = "
                        "%d\n"
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

/* ---- the run: stages, in-situ inherent structures, checkpoints, stop requests ---- */

/* How often (steps) the ranks agree on a stop request (signal, stop file, time budget): one
 * small reduction, invisible next to a force evaluation every step. */
enum { STOP_CHECK_EVERY = 20 };

static volatile sig_atomic_t stop_signal = 0;
static void on_stop_signal(int sig) {
    stop_signal = sig;
}

typedef struct Run {
    const Config *c;
    const char *cmdline;
    MdRunOptions opt;
    Model model;
    Domain *d;
    MdState *s;
    ThermoOut out;
    TrajOut traj;
    IsTracker *tr; /* NULL: no in-situ inherent structures */
    IsFile *isf;
    int64_t is_steps; /* MD steps between quenches */
    double is_seconds;
    int64_t is_samples, is_events, is_evals;
    int64_t is_verified, is_confirmed, is_sd_evals; /* inherent.verify = sd */
    Stage stages[3];
    int nst;
    int cur;             /* index into stages[] of the running stage */
    int64_t stage_start; /* MD step at which it began */
    double h0;           /* conserved H at its start (drift report) */
    int64_t last_ckpt;   /* step of the last checkpoint written (-1: none) */
    double ckpt_seconds; /* wall time of the last checkpoint write */
    double t_begin, t_last_check;
    char ckpt_path[4200];
} Run;

static void out_path(const Config *c, const char *name, char *buf, size_t n) {
    snprintf(buf, n, "%s/%s", c->dir[0] ? c->dir : ".", name);
}

static int config_text(const Config *c, char **out) {
    const int need = config_dump(c, NULL, 0) + 1;
    BCHK(BALLOC(*out, need));
    config_dump(c, *out, need);
    return 0;
}

/* Collective. The checkpoint: meta (config, version, stage), MD state, IS tracker. */
/* Collective. The tracker's recycled soft modes (per rank, like the prediction: only restored on
 * the same number of ranks) as is/soft_id (atoms) and is/soft_u (k packed vectors of 3 per
 * atom); a store that is off (NULL) writes nothing. */
static int save_soft_modes(Ckpt *ck, const MinSoftModes *sm) {
    if (!sm) return 0;
    int k = 0;
    int64_t n = 0, stride = 0;
    const int64_t *id = NULL;
    const double *u = NULL;
    min_soft_modes_view(sm, &k, &n, &id, &u, &stride);
    int64_t nu = (int64_t)k * 3 * n;
    double *packed = NULL;
    int rc = basin_error_agree(BALLOC(packed, nu + 1));
    if (rc) return rc;
    for (int q = 0; q < k; ++q)
        memcpy(packed + (size_t)q * 3 * (size_t)n, u + (size_t)q * (size_t)stride,
               3 * (size_t)n * sizeof(double));
    rc = ckpt_rank_array(ck, "is/soft_id", CKPT_I64, (void **)&id, &n, NULL);
    if (!rc) rc = ckpt_rank_array(ck, "is/soft_u", CKPT_F64, (void **)&packed, &nu, NULL);
    free(packed);
    return rc;
}

/* Collective. The reverse of save_soft_modes; checkpoints without them (older, or written with
 * inherent.soft_modes = 0) leave the store empty: the next quench just starts without. */
static int load_soft_modes(Ckpt *ck, MinSoftModes *sm) {
    if (!sm || !ckpt_has(ck, "is/soft_u") || !ckpt_has(ck, "is/soft_id")) return 0;
    void *id = NULL, *u = NULL;
    int64_t n = 0, nu = 0;
    int ok1 = 0, ok2 = 0;
    int rc = ckpt_rank_array(ck, "is/soft_id", CKPT_I64, &id, &n, &ok1);
    if (!rc) rc = ckpt_rank_array(ck, "is/soft_u", CKPT_F64, &u, &nu, &ok2);
    if (!rc && ok1 && ok2 && n > 0 && nu % (3 * n) == 0)
        rc = min_soft_modes_set(sm, (int)(nu / (3 * n)), n, id, u);
    free(id);
    free(u);
    return basin_error_agree(rc);
}

static int checkpoint_write(Run *r) {
    const double t0 = par_wtime();
    timer_start(TIMER_OUTPUT);
    Ckpt *ck = NULL;
    char *cfg = NULL, *ver = (char *)BASIN_VERSION, *cmd = (char *)(r->cmdline ? r->cmdline : "");
    int rc = basin_error_agree(config_text(r->c, &cfg));
    if (!rc) rc = ckpt_begin_write(r->ckpt_path, &ck);
    if (!rc) rc = ckpt_string(ck, "meta/config", &cfg);
    if (!rc) rc = ckpt_string(ck, "meta/basin_version", &ver);
    if (!rc) rc = ckpt_string(ck, "meta/command_line", &cmd);
    int64_t ints[4] = {r->d->natoms, r->stages[r->cur].index, r->stage_start, r->s->step};
    double dbl[2] = {r->d->L, r->h0};
    if (!rc) {
        const CkptEntry e[] = {{"meta/ints", ints, CKPT_I64, 4, CKPT_GLOBAL},
                               {"meta/doubles", dbl, CKPT_F64, 2, CKPT_GLOBAL}};
        rc = ckpt_io(ck, e, 2);
    }
    if (!rc) rc = md_checkpoint_save(ck, r->s);
    if (!rc && r->tr) {
        IsStateEntry is[IS_STATE_MAX_ENTRIES];
        CkptEntry e[IS_STATE_MAX_ENTRIES];
        int n = 0;
        rc = basin_error_agree(is_tracker_state(r->tr, is, IS_STATE_MAX_ENTRIES, &n));
        for (int k = 0; k < n && !rc; ++k)
            e[k] = (CkptEntry){is[k].name, is[k].ptr,
                               is[k].type == IS_STATE_F64   ? CKPT_F64
                               : is[k].type == IS_STATE_I64 ? CKPT_I64
                                                            : CKPT_I32,
                               is[k].count, is[k].per_rank ? CKPT_BLOCK : CKPT_GLOBAL};
        if (!rc) rc = ckpt_io(ck, e, n);
        int64_t gn = 0;
        const int64_t *gid = NULL;
        const double *gx = NULL;
        is_tracker_guess(r->tr, &gn, &gid, &gx);
        int64_t g3 = 3 * gn;
        if (!rc) rc = ckpt_rank_array(ck, "is/guess_id", CKPT_I64, (void **)&gid, &gn, NULL);
        if (!rc) rc = ckpt_rank_array(ck, "is/guess_x", CKPT_F64, (void **)&gx, &g3, NULL);
        if (!rc) rc = save_soft_modes(ck, is_tracker_soft_modes(r->tr));
    }
    if (!rc) {
        rc = ckpt_commit(&ck);
    } else {
        ckpt_discard(&ck);
    }
    free(cfg);
    timer_stop(TIMER_OUTPUT);
    double dt = par_wtime() - t0;
    par_max_d(&dt, 1);
    if (!rc) {
        r->last_ckpt = r->s->step;
        r->ckpt_seconds = dt;
        log_info("checkpoint: %s at step %lld (%.2f s)", r->ckpt_path, (long long)r->s->step, dt);
    }
    return rc;
}

/* The keys a continued run may change: how long the production runs and how often it reports
 * or checkpoints, and where the run directory lives now. Everything else must be identical. */
static int key_may_differ(const char *line) {
    static const char *const keys[] = {"nve_steps", "checkpoint_every", "thermo_every", "dir"};
    for (size_t k = 0; k < sizeof keys / sizeof *keys; ++k) {
        const size_t n = strlen(keys[k]);
        if (!strncmp(line, keys[k], n) && (line[n] == ' ' || line[n] == '=')) return 1;
    }
    return 0;
}

/* Not collective (same inputs everywhere). The first line of the resolved configs that
 * differs, outside the keys a continuation may change: a checkpoint continues only its run. */
static int config_compatible(const char *path, const char *stored, const Config *c) {
    Config old;
    BCHK(config_parse_string(stored, path, &old));
    char *a = NULL, *b = NULL;
    BCHK(config_text(&old, &a));
    int rc = config_text(c, &b);
    const char *sec = "";
    char secbuf[64] = "";
    for (char *p = a, *q = b; !rc && p && q && *p && *q;) {
        char *pe = strchr(p, '\n'), *qe = strchr(q, '\n');
        const size_t pn = pe ? (size_t)(pe - p) : strlen(p), qn = qe ? (size_t)(qe - q) : strlen(q);
        if (p[0] == '[') {
            snprintf(secbuf, sizeof secbuf, "%.*s", (int)(pn > 2 ? pn - 2 : 0), p + 1);
            sec = secbuf;
        }
        if ((pn != qn || strncmp(p, q, pn) != 0) && !key_may_differ(p)) {
            const char *eq = memchr(p, '=', pn), *qeq = memchr(q, '=', qn);
            const int kn = eq ? (int)(eq - p) : (int)pn;
            rc = basin_error(BASIN_ERR_CONFIG, path, "meta/config",
                             "the checkpoint is from another configuration: %s.%.*s is %.*s there "
                             "but %.*s here (a checkpoint continues only the run that wrote it; "
                             "`basin run --fresh` starts over)",
                             sec, kn > 0 && p[kn - 1] == ' ' ? kn - 1 : kn, p,
                             eq ? (int)(pn - (size_t)(eq - p) - 2) : 0, eq ? eq + 2 : "",
                             qeq ? (int)(qn - (size_t)(qeq - q) - 2) : 0, qeq ? qeq + 2 : "");
        }
        p = pe ? pe + 1 : NULL;
        q = qe ? qe + 1 : NULL;
    }
    free(a);
    free(b);
    return rc;
}

static int stage_of_index(const Run *r, int64_t index) {
    for (int k = 0; k < r->nst; ++k)
        if (r->stages[k].index == index) return k;
    return -1;
}

/* Collective. Continue from <dir>/checkpoint.h5: validates it against the config, restores the
 * MD state (and the IS tracker's), positions r->cur / r->stage_start. */
static int restore(Run *r, Ckpt *ck) {
    const Config *c = r->c;
    char *cfg = NULL;
    int rc = ckpt_string(ck, "meta/config", &cfg);
    if (!rc) rc = basin_error_agree(config_compatible(r->ckpt_path, cfg, c));
    free(cfg);
    int64_t ints[4] = {0};
    double dbl[2] = {0};
    if (!rc) {
        const CkptEntry e[] = {{"meta/ints", ints, CKPT_I64, 4, CKPT_GLOBAL},
                               {"meta/doubles", dbl, CKPT_F64, 2, CKPT_GLOBAL}};
        rc = ckpt_io(ck, e, 2);
    }
    if (!rc && ints[0] != c->natoms)
        rc = basin_error(BASIN_ERR_CONFIG, r->ckpt_path, "system.natoms",
                         "the checkpoint holds %lld atoms, the configuration %lld",
                         (long long)ints[0], (long long)c->natoms);
    if (!rc && (r->cur = stage_of_index(r, ints[1])) < 0)
        rc = basin_error(BASIN_ERR_IO, r->ckpt_path, "meta/ints", "unknown stage %lld",
                         (long long)ints[1]);
    if ((rc = basin_error_agree(rc))) return rc;
    r->stage_start = ints[2];
    r->h0 = dbl[1];
    BCHK(domain_create(&r->model, dbl[0], c->skin, &r->d));
    BCHK(md_state_create(r->d, c->dt, c->nhc_chain, c->tdamp, &r->s));
    BCHK(md_checkpoint_load(ck, r->s, c->natoms));
    if (r->s->step != ints[3])
        return basin_error_agree(basin_error(BASIN_ERR_IO, r->ckpt_path, "md/ints",
                                             "step %lld disagrees with meta/ints %lld",
                                             (long long)r->s->step, (long long)ints[3]));
    log_info("restart: %s at step %lld (stage %s, %lld of its %lld steps done), written on %d "
             "rank(s), continuing on %d%s",
             r->ckpt_path, (long long)r->s->step, r->stages[r->cur].name,
             (long long)(r->s->step - r->stage_start), (long long)r->stages[r->cur].steps,
             ckpt_nranks(ck), par_size(),
             ckpt_nranks(ck) == par_size() ? " (bitwise continuation)"
                                           : " (another rank count: agreement to round-off)");
    log_info("restart: `basin run --fresh` would start over instead");
    return 0;
}

/* The quench the tracker runs (is_tracker.c): inherent.minimizer, then Newton finishing unless
 * inherent.finish = none or the minimiser is SD, with the previous-IS prediction if
 * inherent.predict. */
static void describe_quench(const Config *c, char *buf, size_t n) {
    const char *name = c->minimizer == MIN_FIRE          ? "FIRE 2.0"
                       : c->minimizer == MIN_FIRE_BITZEK ? "FIRE (Bitzek 2006)"
                       : c->minimizer == MIN_LBFGS       ? "preconditioned L-BFGS"
                       : c->minimizer == MIN_RKC         ? "steepest-descent flow by RKC steps"
                                                         : "steepest descent";
    const int newton = c->minimizer != MIN_SD && c->is_finish == IS_FINISH_NEWTON;
    snprintf(buf, n, "%s%s%s%s%s", name, newton ? " + Newton finishing" : "",
             newton && c->is_predict ? " + previous-IS prediction" : "",
             newton && c->soft_modes > 0 ? " + recycled soft modes" : "",
             c->is_verify == IS_VERIFY_SD    ? " (events checked by steepest descent)"
             : c->is_verify == IS_VERIFY_RKC ? " (events checked by the steepest-descent flow, "
                                               "RKC steps)"
                                             : "");
}

static void describe_tolerance(const Config *c, char *buf, size_t n) {
    if (c->fmax_tol > 0.0 && c->fnorm_tol > 0.0)
        snprintf(buf, n, "max|F| < %g and ||F|| < %g", c->fmax_tol, c->fnorm_tol);
    else if (c->fmax_tol > 0.0)
        snprintf(buf, n, "max|F| < %g", c->fmax_tol);
    else
        snprintf(buf, n, "||F|| < %g", c->fnorm_tol);
}

/* Collective. Restore the tracker's state after is_tracker_create(). */
static int restore_tracker(Run *r, Ckpt *ck) {
    IsStateEntry is[IS_STATE_MAX_ENTRIES];
    CkptEntry e[IS_STATE_MAX_ENTRIES];
    int n = 0;
    BCHK(basin_error_agree(is_tracker_state(r->tr, is, IS_STATE_MAX_ENTRIES, &n)));
    for (int k = 0; k < n; ++k)
        e[k] = (CkptEntry){is[k].name, is[k].ptr,
                           is[k].type == IS_STATE_F64   ? CKPT_F64
                           : is[k].type == IS_STATE_I64 ? CKPT_I64
                                                        : CKPT_I32,
                           is[k].count, is[k].per_rank ? CKPT_BLOCK : CKPT_GLOBAL};
    BCHK(ckpt_io(ck, e, n));
    BCHK(is_tracker_state_loaded(r->tr));
    void *gid = NULL, *gx = NULL;
    int64_t gn = 0, g3 = 0;
    int ok1 = 0, ok2 = 0;
    int rc = ckpt_rank_array(ck, "is/guess_id", CKPT_I64, &gid, &gn, &ok1);
    if (!rc) rc = ckpt_rank_array(ck, "is/guess_x", CKPT_F64, &gx, &g3, &ok2);
    if (!rc && ok1 && ok2 && g3 == 3 * gn) rc = is_tracker_set_guess(r->tr, gn, gid, gx);
    free(gid);
    free(gx);
    if (!rc) rc = load_soft_modes(ck, is_tracker_soft_modes(r->tr));
    return rc;
}

/* Collective. In-situ IS sample of the current MD state. */
static int is_sample(Run *r) {
    IsRecord rec;
    const double t0 = par_wtime();
    BCHK(is_tracker_sample(r->tr, r->d, r->s->step, (double)r->s->step * r->s->dt, &rec));
    timer_start(TIMER_OUTPUT);
    const int rc = is_file_record(r->isf, r->tr, &rec);
    timer_stop(TIMER_OUTPUT);
    BCHK(rc);
    r->is_seconds += par_wtime() - t0;
    ++r->is_samples;
    r->is_evals += rec.force_evals;
    if (rec.event) {
        ++r->is_events;
        char sd[160] = "";
        if (rec.verified) {
            ++r->is_verified;
            r->is_confirmed += rec.sd_event == 1;
            r->is_sd_evals += rec.sd_evals;
            snprintf(sd, sizeof sd, "; steepest descent: |dr| = %.4g, %s", rec.sd_dr,
                     rec.sd_event == 1 ? "confirmed"
                                       : "NOT confirmed (a switch of the minimiser's path)");
        } else if (r->c->is_verify != IS_VERIFY_NONE) {
            snprintf(sd, sizeof sd, "; not verified (r(t - Dt) is not in the checkpoint)");
        }
        log_info("IS event at t = %.4f (step %lld): |dr_IS| = %.4g, |dPhi_IS| = %.4g, N_rearr = "
                 "%.1f, max displacement %.3g (atom %lld)%s",
                 rec.time, (long long)rec.step, rec.dr, rec.dphi, rec.n_rearr, rec.dr_max,
                 (long long)rec.dr_max_id, sd);
    } else {
        log_debug("IS at t = %.4f: Phi_IS/N = %.12f, |dr_IS| = %.3g, %lld force evaluations",
                  rec.time, rec.phi / (double)r->d->natoms, rec.dr, (long long)rec.force_evals);
    }
    return 0;
}

/* Collective. 1 on every rank when the run should checkpoint and stop now: a signal on any
 * rank, the stop file, the time budget, or --stop-at-step. */
static int stop_requested(Run *r) {
    const MdState *s = r->s;
    if (r->opt.stop_at_step > 0 && s->step >= r->opt.stop_at_step) return 1;
    if (s->step % STOP_CHECK_EVERY != 0) return 0;
    int flag = stop_signal != 0;
    if (par_rank() == 0) {
        char p[4300];
        out_path(r->c, "basin.stop", p, sizeof p);
        struct stat st;
        if (stat(p, &st) == 0) flag = 1;
        const double now = par_wtime();
        /* stop early enough to write the checkpoint: twice the last write (or 10 s) plus the
         * time the next check interval takes */
        const double margin =
            2.0 * (r->ckpt_seconds > 0 ? r->ckpt_seconds : 5.0) + 2.0 * (now - r->t_last_check);
        if (r->opt.walltime > 0 && now - r->t_begin + margin >= r->opt.walltime) flag = 2;
        r->t_last_check = now;
    }
    par_max_i(&flag, 1);
    return flag;
}

static const char *stop_reason(const Run *r) {
    if (r->opt.stop_at_step > 0 && r->s->step >= r->opt.stop_at_step) return "--stop-at-step";
    if (stop_signal == SIGTERM) return "SIGTERM";
    if (stop_signal == SIGUSR1) return "SIGUSR1";
    if (stop_signal) return "a signal";
    return "the stop file or the time budget (--walltime)";
}

/* Collective. Run stage r->cur from step k0 (> 0: resumed from a checkpoint) of its steps.
 * Returns MD_RUN_STOPPED after a stop request (checkpoint written). */
static int run_stage(Run *r, int64_t k0) {
    MdState *s = r->s;
    const Stage *st = &r->stages[r->cur];
    const double n = (double)s->d->natoms;
    const int production = st->index == 2;
    MdThermo th;
    if (k0 == 0) {
        BCHK(md_set_ensemble(s, st->ensemble, st->t));
        r->stage_start = s->step;
        timer_start(TIMER_OUTPUT);
        int rc = md_thermo(s, &th);
        timer_stop(TIMER_OUTPUT);
        BCHK(rc);
        r->h0 = th.conserved;
        log_info("stage %s: %s%s%.6g, %lld steps (t = %.6g), starting at step %lld with T_nf = "
                 "%.6g",
                 st->name, st->ensemble == MD_NVT ? "NVT (Nose-Hoover chain) at " : "NVE",
                 st->ensemble == MD_NVT ? "T = " : ", set T = ", st->t, (long long)st->steps,
                 (double)st->steps * s->dt, (long long)s->step, th.t_nf);
        if (s->step == 0) thermo_emit(&r->out, &th, st->index);
        if (production && r->traj.h5) {
            r->traj.first = s->step;
            BCHK(traj_frame(&r->traj, s));
        }
        if (production && r->tr) BCHK(is_sample(r));
    } else {
        timer_start(TIMER_OUTPUT);
        const int rc = md_thermo(s, &th);
        timer_stop(TIMER_OUTPUT);
        BCHK(rc);
        log_info("stage %s: resuming at step %lld (%lld of %lld steps done)", st->name,
                 (long long)s->step, (long long)k0, (long long)st->steps);
        if (production) r->traj.first = r->stage_start;
    }

    Progress p;
    progress_start(&p, st->name, st->steps - k0, n, "atom-steps");
    for (int64_t k = k0 + 1; k <= st->steps; ++k) {
        BCHK(md_step(s));
        if (s->step % r->out.every == 0 || k == st->steps) {
            timer_start(TIMER_OUTPUT);
            const int rc = md_thermo(s, &th);
            timer_stop(TIMER_OUTPUT);
            BCHK(rc);
            thermo_emit(&r->out, &th, st->index);
        }
        if (production && r->traj.h5 && k % r->traj.every == 0) BCHK(traj_frame(&r->traj, s));
        if (production && r->tr && k % r->is_steps == 0) BCHK(is_sample(r));
        if (r->c->checkpoint_every > 0 && s->step % r->c->checkpoint_every == 0)
            BCHK(checkpoint_write(r));
        progress_update(&p, k - k0);
        if (stop_requested(r)) {
            if (r->last_ckpt != s->step) BCHK(checkpoint_write(r));
            log_info("stopped by %s at step %lld: continue with the same command (the "
                     "checkpoint is picked up automatically)",
                     stop_reason(r), (long long)s->step);
            return MD_RUN_STOPPED;
        }
    }
    progress_finish(&p);
    const double dh = th.conserved - r->h0;
    log_info("stage %s done: T_nf = %.6g; conserved H/N %.12f -> %.12f, drift %.3e per atom "
             "(%.3e of |H|, %.3e of N T); |P_total| = %.3e",
             st->name, th.t_nf, r->h0 / n, th.conserved / n, dh / n,
             r->h0 != 0.0 ? dh / fabs(r->h0) : 0.0, st->t > 0.0 ? dh / (n * st->t) : 0.0,
             sqrt(th.momentum[0] * th.momentum[0] + th.momentum[1] * th.momentum[1] +
                  th.momentum[2] * th.momentum[2]));
    return 0;
}

/* Collective. Open the production outputs: new files at the start of the stage, the existing
 * ones (frames after the checkpoint dropped) when resuming inside it. */
static int production_open(Run *r, int resume, Ckpt *ck) {
    const Config *c = r->c;
    char path[4300];
    if (c->traj_every > 0) {
        if (resume) {
            out_path(c, "trajectory.h5", path, sizeof path);
            r->traj.every = c->traj_every;
            BCHK(h5md_open_append(path, r->s->step, &r->traj.h5));
            log_info("trajectory: %s continued after frame %lld", path,
                     (long long)h5md_nframes(r->traj.h5) - 1);
        } else {
            BCHK(traj_open(&r->traj, c, r->d, r->cmdline));
        }
    }
    if (!c->is_enabled) return 0;
    r->is_steps = llround(c->is_every / c->dt);
    if (r->is_steps < 1) r->is_steps = 1;
    if (fabs((double)r->is_steps * c->dt - c->is_every) > 1e-9 * c->is_every)
        log_warn("inherent.every = %g is not a multiple of md.dt = %g: quenching every %lld steps "
                 "(Delta t = %g)",
                 c->is_every, c->dt, (long long)r->is_steps, (double)r->is_steps * c->dt);
    BCHK(is_tracker_create(&r->model, r->d->L, c->skin, c, r->d->natoms, &r->tr));
    out_path(c, "is.h5", path, sizeof path);
    if (resume) {
        BCHK(restore_tracker(r, ck));
        BCHK(is_file_open_append(path, c, r->d->natoms, r->d->L, r->s->step, &r->isf));
    } else {
        char *text = NULL;
        BCHK(basin_error_agree(config_text(c, &text)));
        const H5mdMeta meta = {
            .basin_version = BASIN_VERSION, .config_text = text, .command_line = r->cmdline};
        const int rc = is_file_create(path, &meta, r->d, c, &r->isf);
        free(text);
        BCHK(rc);
    }
    char quench[192], tol[96];
    describe_quench(c, quench, sizeof quench);
    describe_tolerance(c, tol, sizeof tol);
    log_info("inherent structures: %s, a quench every %lld steps (Delta t = %g) with %s to "
             "%s; event threshold |dr_IS| > %g",
             path, (long long)r->is_steps, (double)r->is_steps * c->dt, quench, tol,
             c->event_threshold);
    return 0;
}

static int file_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

void md_run_options_default(MdRunOptions *o) {
    memset(o, 0, sizeof *o);
    o->restart = MD_RESTART_AUTO;
}

int md_run(const Config *c, const char *command_line, const MdRunOptions *opt) {
    Run run = {0}, *r = &run;
    Ckpt *ck = NULL;
    int rc;
    r->c = c;
    r->cmdline = command_line;
    if (opt) {
        r->opt = *opt;
    } else {
        md_run_options_default(&r->opt);
    }
    r->last_ckpt = -1;
    r->t_begin = r->t_last_check = par_wtime();
    out_path(c, "checkpoint.h5", r->ckpt_path, sizeof r->ckpt_path);

    timer_reset_all();
    timer_start(TIMER_TOTAL);
    model_init(&r->model, c->kind);

    /* A start from a file has no liquid stage: it is already a glass (or a crystal). */
    const int glass = c->kind == MODEL_GLASS && !has_init_file(c);
    const MdEnsemble nvt = c->thermostat == THERMOSTAT_NHC ? MD_NVT : MD_NVE;
    if (glass) r->stages[r->nst++] = (Stage){"liquid", 0, nvt, c->t_liquid, c->liquid_steps};
    r->stages[r->nst++] = (Stage){"equilibration", 1, nvt, c->temperature, c->equil_steps};
    r->stages[r->nst++] = (Stage){"nve", 2, MD_NVE, c->temperature, c->nve_steps};

    /* restart or fresh start: decided on rank 0's view of the run directory */
    int have_ckpt = par_rank() == 0 ? file_exists(r->ckpt_path) : 0;
    par_max_i(&have_ckpt, 1);
    rc = 0;
    if (r->opt.restart == MD_RESTART_REQUIRE && !have_ckpt)
        rc = basin_error(BASIN_ERR_IO, r->ckpt_path, NULL,
                         "--restart: no checkpoint in output.dir = %s", c->dir);
    if ((rc = basin_error_agree(rc))) goto done;
    const int resuming = have_ckpt && r->opt.restart != MD_RESTART_NEVER;
    if (have_ckpt && !resuming) {
        if (par_rank() == 0) unlink(r->ckpt_path); /* --fresh: the old run is not continued */
        log_info("--fresh: removed the checkpoint of the previous run in %s", c->dir);
    }

    int64_t k0 = 0;
    if (resuming) {
        rc = ckpt_begin_read(r->ckpt_path, &ck);
        if (!rc) rc = restore(r, ck);
        if (!rc) rc = thermo_open(&r->out, c, r->s->step);
        if (rc) goto done;
        k0 = r->s->step - r->stage_start;
        r->last_ckpt = r->s->step;
    } else {
        int have_v = 0;
        rc = thermo_open(&r->out, c, -1);
        if (rc == 0) rc = build_system(c, &r->model, &r->d, &have_v);
        if (rc == 0) rc = md_state_create(r->d, c->dt, c->nhc_chain, c->tdamp, &r->s);
        rc = basin_error_agree(rc);
        if (rc != 0) goto done;
        if (!have_v)
            rc = md_velocities_init(r->d, c->seed, 0, glass ? c->t_liquid : c->temperature);
        if (rc == 0) rc = md_setup(r->s);
        if (rc != 0) goto done;
        r->cur = 0;
    }
    const Domain *d = r->d;
    log_info("md: %s, N = %lld, L = %.10g, rho = %.6g, dt = %g, skin = %g, ranks = %d "
             "(grid %d x %d x %d), thermostat %s (chain %d, tdamp %g), force kernel %s",
             config_kind_name(c->kind), (long long)c->natoms, d->L, c->density, c->dt, c->skin,
             par_size(), d->dims[0], d->dims[1], d->dims[2], config_thermostat_name(c->thermostat),
             c->nhc_chain, c->tdamp, md_kernel_name());
    signal(SIGTERM, on_stop_signal);
    signal(SIGUSR1, on_stop_signal);

    /* a stage resumed at its last step is complete: go on with the next one */
    if (resuming && k0 >= r->stages[r->cur].steps && r->cur + 1 < r->nst) {
        ++r->cur;
        k0 = 0;
    }
    for (; r->cur < r->nst && rc == 0; ++r->cur, k0 = 0) {
        const Stage *st = &r->stages[r->cur];
        if (glass && st->index == 1 && k0 == 0) {
            log_info("quench: velocities rescaled from T_nf = %.6g to %.6g at step %lld",
                     2.0 * md_kinetic_energy(r->d) / md_ndof(r->d->natoms), c->temperature,
                     (long long)r->s->step);
            rc = md_rescale_temperature(r->d, c->temperature);
            if (rc != 0) break;
        }
        if (st->index == 2) rc = production_open(r, k0 > 0, ck);
        if (rc == 0) rc = run_stage(r, k0);
        if (rc != 0 || r->cur + 1 == r->nst) break;
    }
    ckpt_discard(&ck);
    if (rc == 0 && r->tr && r->is_samples > 0) {
        const double total = par_wtime() - r->t_begin;
        log_info("inherent structures: %lld quenches, %lld events, %.1f force evaluations per "
                 "quench; %.1f s in quenches (%.1f %% of the run)",
                 (long long)r->is_samples, (long long)r->is_events,
                 (double)r->is_evals / (double)r->is_samples, r->is_seconds,
                 100.0 * r->is_seconds / total);
        if (r->is_verified > 0)
            log_info("steepest-descent check: %lld of %lld events verified, %lld confirmed, %lld "
                     "not confirmed (%lld force evaluations)",
                     (long long)r->is_verified, (long long)r->is_events, (long long)r->is_confirmed,
                     (long long)(r->is_verified - r->is_confirmed), (long long)r->is_sd_evals);
    }
    /* the final state as a checkpoint too: a later run with a larger md.nve_steps extends it */
    if (rc == 0 && r->last_ckpt != r->s->step) rc = checkpoint_write(r);
    if (r->traj.h5) {
        const int rc2 = h5md_close(&r->traj.h5);
        if (rc == 0) rc = rc2;
    }
    {
        const int rc2 = is_file_close(&r->isf);
        if (rc == 0) rc = rc2;
    }
    if (rc == 0 && c->final_data) rc = write_final_data(c, r->d);

done:
    signal(SIGTERM, SIG_DFL);
    signal(SIGUSR1, SIG_DFL);
    ckpt_discard(&ck);
    thermo_close(&r->out);
    timer_stop(TIMER_TOTAL);
    if (rc == 0 || rc == MD_RUN_STOPPED) timer_report("md");
    is_tracker_destroy(&r->tr);
    is_file_close(&r->isf);
    if (r->traj.h5) h5md_close(&r->traj.h5);
    md_state_destroy(&r->s);
    domain_destroy(&r->d);
    return rc;
}

int md_run_config(const Config *c, const char *command_line) {
    MdRunOptions o;
    md_run_options_default(&o);
    o.restart = MD_RESTART_NEVER;
    return md_run(c, command_line, &o);
}
