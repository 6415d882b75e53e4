/* Velocity Verlet with an optional Nose-Hoover chain, velocity initialisation, kinetic
 * quantities and the thermo reduction.
 *
 *   v(t + dt/2) = v(t) + dt/2 f(t)          (mass 1)
 *   x(t + dt)   = x(t) + dt v(t + dt/2)
 *   v(t + dt)   = v(t + dt/2) + dt/2 f(t + dt)
 * (Swope, Andersen, Berens, Wilson, J. Chem. Phys. 76, 637 (1982)); with NVT the chain
 * half-steps of nhc.c wrap it as in LAMMPS fix nvt. Units: reduced (sigma_eff, m, eps, k_B).
 *
 * Collectives per step: domain_check_rebuild() (one small reduction, owned by domain/) plus,
 * in NVT only, one par_sum_d of the kinetic energy after the second half-kick (the chain needs
 * the global K; the value is cached and reused by the next step's first chain half-step, as
 * LAMMPS does with t_current). Energies, virial and momentum are reduced only when thermo is
 * due (md_thermo), never every step.
 *
 * Temperature convention (see basin/md.h): the thermostat, the initial velocities and the
 * quench all target T_nf = 2K/N_f with N_f = 3N - 3.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "basin/md.h"
#include "basin/util.h"

static double kinetic_local(const Domain *d) {
    const double *restrict v = d->v;
    double s = 0.0;
    for (int i = 0; i < 3 * d->nlocal; ++i)
        s += v[i] * v[i];
    return 0.5 * s;
}

double md_kinetic_energy(const Domain *d) {
    double k = kinetic_local(d);
    par_sum_d(&k, 1);
    return k;
}

void md_zero_momentum(Domain *d) {
    double p[3] = {0.0, 0.0, 0.0};
    for (int i = 0; i < d->nlocal; ++i)
        for (int k = 0; k < 3; ++k)
            p[k] += d->v[3 * i + k];
    par_sum_d(p, 3);
    for (int k = 0; k < 3; ++k)
        p[k] /= (double)d->natoms;
    for (int i = 0; i < d->nlocal; ++i)
        for (int k = 0; k < 3; ++k)
            d->v[3 * i + k] -= p[k];
}

int md_rescale_temperature(Domain *d, double t) {
    const double ke = md_kinetic_energy(d);
    const double ndof = md_ndof(d->natoms);
    if (!(t >= 0.0) || !isfinite(ke))
        return basin_error(BASIN_ERR_PHYSICS, NULL, NULL,
                           "cannot rescale velocities to T = %g (kinetic energy %g)", t, ke);
    if (ke <= 0.0) {
        if (t == 0.0) return 0;
        return basin_error(BASIN_ERR_PHYSICS, NULL, NULL,
                           "cannot rescale velocities to T = %g: all velocities are zero", t);
    }
    const double s = sqrt(0.5 * t * ndof / ke);
    for (int i = 0; i < 3 * d->nlocal; ++i)
        d->v[i] *= s;
    return 0;
}

int md_velocities_init(Domain *d, uint64_t seed, uint64_t stage, double t) {
    if (d->natoms < 2)
        return basin_error(BASIN_ERR_CONFIG, NULL, "system.natoms",
                           "need at least 2 atoms for a temperature, got %lld",
                           (long long)d->natoms);
    for (int i = 0; i < d->nlocal; ++i)
        rng_normal3(seed, RNG_STREAM_VELOCITY, (uint64_t)d->id[i], stage, &d->v[3 * i]);
    md_zero_momentum(d);
    BCHK(md_rescale_temperature(d, t));
    return 0;
}

/* The first non-finite owned quantity, as an error line; 0 if none. Not collective. */
static int check_finite_local(const Domain *d, int64_t step) {
    static const char *what[3] = {"position", "velocity", "force"};
    const double *arr[3] = {d->x, d->v, d->f};
    for (int i = 0; i < d->nlocal; ++i)
        for (int a = 0; a < 3; ++a) {
            const double *q = arr[a] + 3 * i;
            if (!isfinite(q[0]) || !isfinite(q[1]) || !isfinite(q[2]))
                return basin_error(BASIN_ERR_PHYSICS, NULL, NULL,
                                   "non-finite %s (%g, %g, %g) on atom id %lld at step %lld "
                                   "(overlapping atoms, too large a time step or a blown-up start)",
                                   what[a], q[0], q[1], q[2], (long long)d->id[i], (long long)step);
        }
    return 0;
}

int md_check_finite(const Domain *d, int64_t step) {
    return basin_error_agree(check_finite_local(d, step));
}

int md_state_create(Domain *d, double dt, int nhc_chain, double tdamp, MdState **out) {
    *out = NULL;
    if (!(dt > 0.0) || !isfinite(dt))
        return basin_error(BASIN_ERR_CONFIG, NULL, "md.dt", "must be > 0, got %g", dt);
    MdState *s = NULL;
    BCHK(BALLOC(s, 1));
    s->d = d;
    s->dt = dt;
    s->step = 0;
    s->ensemble = MD_NVE;
    s->nhc_chain = nhc_chain;
    s->tdamp = tdamp;
    s->ke = NAN;
    *out = s;
    return 0;
}

void md_state_destroy(MdState **s) {
    if (!s || !*s) return;
    free(*s);
    *s = NULL;
}

int md_setup(MdState *s) {
    BCHK(domain_rebuild(s->d));
    BCHK(md_forces(s->d, &s->pe_local, &s->virial_local));
    if (s->ensemble == MD_NVT) s->ke = md_kinetic_energy(s->d);
    return 0;
}

int md_set_ensemble(MdState *s, MdEnsemble e, double t) {
    s->ensemble = e;
    s->ke = NAN;
    if (e == MD_NVT) {
        BCHK(nhc_init(&s->nhc, s->nhc_chain, t, md_ndof(s->d->natoms), s->tdamp, s->dt));
        s->ke = md_kinetic_energy(s->d);
    }
    return 0;
}

static void scale_velocities(Domain *d, double sc) {
    double *restrict v = d->v;
    for (int i = 0; i < 3 * d->nlocal; ++i)
        v[i] *= sc;
}

static void half_kick(Domain *d, double hdt) {
    double *restrict v = d->v;
    const double *restrict f = d->f;
    for (int i = 0; i < 3 * d->nlocal; ++i)
        v[i] += hdt * f[i];
}

static void drift(Domain *d, double dt) {
    double *restrict x = d->x;
    const double *restrict v = d->v;
    for (int i = 0; i < 3 * d->nlocal; ++i)
        x[i] += dt * v[i];
}

/* Chain half-step at a named point of the step; s->ke is the global K on entry and exit. */
static void thermostat_half(MdState *s) {
    const double sc = nhc_half_step(&s->nhc, s->ke);
    scale_velocities(s->d, sc);
    s->ke *= sc * sc;
}

int md_step(MdState *s) {
    Domain *d = s->d;
    const double hdt = 0.5 * s->dt;
    const int nvt = s->ensemble == MD_NVT;

    timer_start(TIMER_INTEGRATE);
    if (nvt) thermostat_half(s);
    half_kick(d, hdt);
    drift(d, s->dt);
    timer_stop(TIMER_INTEGRATE);

    /* domain/ times its own phases (migrate/borders/forward/reverse as TIMER_COMM, cell sort
     * and list build as TIMER_NEIGH); the rebuild check (one reduction) is counted here. */
    timer_start(TIMER_NEIGH);
    const int rebuild = domain_check_rebuild(d);
    timer_stop(TIMER_NEIGH);
    BCHK(rebuild ? domain_rebuild(d) : domain_forward(d));

    BCHK(md_forces(d, &s->pe_local, &s->virial_local));

    timer_start(TIMER_INTEGRATE);
    half_kick(d, hdt);
    if (nvt) {
        s->ke = md_kinetic_energy(d);
        thermostat_half(s);
    }
    timer_stop(TIMER_INTEGRATE);
    ++s->step;
    return 0;
}

int md_thermo(const MdState *s, MdThermo *th) {
    const Domain *d = s->d;
    double p[3] = {0.0, 0.0, 0.0};
    for (int i = 0; i < d->nlocal; ++i)
        for (int k = 0; k < 3; ++k)
            p[k] += d->v[3 * i + k];
    double buf[7] = {kinetic_local(d), s->pe_local, s->virial_local, p[0], p[1], p[2],
                     (double)d->nlocal};
    par_sum_d(buf, 7);

    BCHK(md_check_finite(d, s->step));
    const int64_t count = (int64_t)llround(buf[6]);
    if (count != d->natoms)
        return basin_error_agree(basin_error(BASIN_ERR_PHYSICS, NULL, NULL,
                                             "lost atoms: %lld owned in total, expected %lld at "
                                             "step %lld",
                                             (long long)count, (long long)d->natoms,
                                             (long long)s->step));

    const double n = (double)d->natoms;
    const double vol = d->L * d->L * d->L;
    memset(th, 0, sizeof(*th));
    th->step = s->step;
    th->time = (double)s->step * s->dt;
    th->ke = buf[0];
    th->pe = buf[1];
    th->virial = buf[2];
    th->momentum[0] = buf[3];
    th->momentum[1] = buf[4];
    th->momentum[2] = buf[5];
    th->t = 2.0 * th->ke / (3.0 * n);
    th->t_nf = 2.0 * th->ke / md_ndof(d->natoms);
    th->etot = th->ke + th->pe;
    th->conserved = th->etot + (s->ensemble == MD_NVT ? nhc_energy(&s->nhc) : 0.0);
    th->pressure = (2.0 * th->ke + th->virial) / (3.0 * vol);
    return 0;
}
