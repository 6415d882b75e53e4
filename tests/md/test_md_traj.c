/* md: the integrator on 1, 2 and 4 ranks against a serial reference.
 *  1. Initial velocities do not depend on the rank count: the gathered velocities equal the
 *     serial construction (rng_normal3 per id, mean removed, rescaled to 2K/N_f = T).
 *  2. A glass (N = 400) is warmed up with NVT; its state (positions, velocities, chain) is
 *     gathered and handed to a serial all-pairs velocity Verlet + Nose-Hoover chain, and both
 *     advance 150 NVT + 50 NVE steps. Positions agree to 1e-10, velocities to 1e-9 (chaos
 *     amplifies rounding differences of the different summation orders; measured ~1e-13).
 *  3. The same md code run by rank 0 alone on a one-rank communicator (par_push_comm with
 *     MPI_COMM_SELF) from the same gathered state agrees with the distributed run likewise.
 *  4. Total momentum stays zero; the thermo Phi equals the brute-force Phi.
 * The reference never touches the domain, the Verlet list or the md kernel, so the test does
 * not depend on the order in which the np1/np2/np4 runs happen. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/util/parallel.h"
#include "basin/domain.h"
#include "basin/md.h"
#include "basin/model.h"
#include "basin/util.h"
#include "sysutil.h"
#include "testutil.h"

typedef struct Ref {
    const TestSystem *sys; /* model, n, L, species */
    double dt, ke;
    double *x, *v, *f;
    NhcChain nhc;
} Ref;

static void ref_step(Ref *r, int nvt) {
    const int64_t n3 = 3 * r->sys->n;
    const double h = 0.5 * r->dt;
    if (nvt) {
        const double sc = nhc_half_step(&r->nhc, r->ke);
        for (int64_t i = 0; i < n3; ++i)
            r->v[i] *= sc;
        r->ke *= sc * sc;
    }
    for (int64_t i = 0; i < n3; ++i)
        r->v[i] += h * r->f[i];
    for (int64_t i = 0; i < n3; ++i)
        r->x[i] += r->dt * r->v[i];
    su_brute_forces(r->sys, r->x, r->f, NULL);
    for (int64_t i = 0; i < n3; ++i)
        r->v[i] += h * r->f[i];
    if (nvt) {
        double k = 0.0;
        for (int64_t i = 0; i < n3; ++i)
            k += r->v[i] * r->v[i];
        r->ke = 0.5 * k;
        const double sc = nhc_half_step(&r->nhc, r->ke);
        for (int64_t i = 0; i < n3; ++i)
            r->v[i] *= sc;
        r->ke *= sc * sc;
    }
}

/* The md code itself on one rank (MPI_COMM_SELF), from the gathered state; rank 0 only. */
static void one_rank_reference(const Ref *r0, int nnvt, int nnve, double *xout) {
    par_push_comm(MPI_COMM_SELF);
    Domain *d = NULL;
    MdState *s = NULL;
    TOK(su_distribute(r0->sys, r0->x, r0->v, 0.3, &d));
    TOK(md_state_create(d, r0->dt, r0->nhc.m, r0->nhc.tdamp, &s));
    s->ensemble = MD_NVT;
    s->nhc = r0->nhc;
    TOK(md_setup(s));
    s->ke = r0->ke;
    for (int k = 0; k < nnvt; ++k)
        TOK(md_step(s));
    TOK(md_set_ensemble(s, MD_NVE, 0.0));
    for (int k = 0; k < nnve; ++k)
        TOK(md_step(s));
    TOK(domain_allgather_by_id(d, d->x, 3, xout));
    md_state_destroy(&s);
    domain_destroy(&d);
    par_pop_comm();
}

static void test_velocities(Domain *d, uint64_t seed, double t) {
    const int64_t n = d->natoms;
    double *vg = calloc(3 * n, sizeof(double)), *vr = calloc(3 * n, sizeof(double));
    TOK(md_velocities_init(d, seed, 0, t));
    TOK(domain_allgather_by_id(d, d->v, 3, vg));
    double p[3] = {0, 0, 0}, k = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        rng_normal3(seed, RNG_STREAM_VELOCITY, (uint64_t)i, 0, vr + 3 * i);
        for (int c = 0; c < 3; ++c)
            p[c] += vr[3 * i + c];
    }
    for (int64_t i = 0; i < 3 * n; ++i) {
        vr[i] -= p[i % 3] / n;
        k += 0.5 * vr[i] * vr[i];
    }
    const double sc = sqrt(0.5 * t * md_ndof(n) / k);
    double err = 0.0;
    for (int64_t i = 0; i < 3 * n; ++i)
        err = fmax(err, fabs(vg[i] - vr[i] * sc));
    TCHECK(err < 1e-13, "velocities depend on the decomposition: max diff %g", err);
    TCLOSE(2.0 * md_kinetic_energy(d) / md_ndof(n), t, 1e-13, 0);
    free(vg);
    free(vr);
}

static void test_trajectory(void) {
    const int64_t n = 400;
    TestSystem sys;
    Domain *d = NULL;
    TOK(su_md_system(&sys, MODEL_GLASS, n, 21, &d));
    const double L = sys.L, t = 0.5, dt = 0.005;
    test_velocities(d, 77, t);
    MdState *s = NULL;
    TOK(su_md_state(d, dt, 0.5, t, &s));
    for (int k = 0; k < 100; ++k)
        TOK(md_step(s));

    Ref r = {.sys = &sys, .dt = dt, .ke = s->ke, .nhc = s->nhc};
    r.x = calloc(3 * n, sizeof(double));
    r.v = calloc(3 * n, sizeof(double));
    r.f = calloc(3 * n, sizeof(double));
    TOK(domain_allgather_by_id(d, d->x, 3, r.x));
    TOK(domain_allgather_by_id(d, d->v, 3, r.v));
    su_brute_forces(&sys, r.x, r.f, NULL);

    const int nnvt = 150, nnve = 50;
    for (int k = 0; k < nnvt; ++k)
        TOK(md_step(s));
    TOK(md_set_ensemble(s, MD_NVE, 0.0));
    for (int k = 0; k < nnve; ++k)
        TOK(md_step(s));
    MdThermo th;
    TOK(md_thermo(s, &th));

    double *x1 = calloc(3 * n, sizeof(double));
    if (par_rank() == 0) {
        one_rank_reference(&r, nnvt, nnve, x1);
        for (int k = 0; k < nnvt; ++k)
            ref_step(&r, 1);
        for (int k = 0; k < nnve; ++k)
            ref_step(&r, 0);
    }
    double *xd = calloc(3 * n, sizeof(double)), *vd = calloc(3 * n, sizeof(double));
    TOK(domain_allgather_by_id(d, d->x, 3, xd));
    TOK(domain_allgather_by_id(d, d->v, 3, vd));
    if (par_rank() == 0) {
        const double dx = su_max_pos_diff(n, xd, r.x, L);
        double dv = 0.0;
        for (int64_t i = 0; i < 3 * n; ++i)
            dv = fmax(dv, fabs(vd[i] - r.v[i]));
        const double dx1 = su_max_pos_diff(n, xd, x1, L);
        TCHECK(dx <= 1e-10, "positions differ from the serial reference by %g", dx);
        TCHECK(dx1 <= 1e-10, "positions differ from the one-rank md run by %g", dx1);
        TCHECK(dv <= 1e-9, "velocities differ from the serial reference by %g", dv);
        const double pe_ref = su_brute_forces(&sys, r.x, r.f, NULL);
        TCLOSE(th.pe, pe_ref, 1e-10, 0);
        printf("trajectory: %d ranks after %d steps: vs all-pairs serial max |dx| = %.2e, "
               "|dv| = %.2e; vs one-rank md max |dx| = %.2e; T_nf = %.4f\n",
               par_size(), nnvt + nnve, dx, dv, dx1, th.t_nf);
    }
    const double pabs = sqrt(th.momentum[0] * th.momentum[0] + th.momentum[1] * th.momentum[1] +
                             th.momentum[2] * th.momentum[2]);
    TCHECK(pabs < 1e-11, "total momentum not conserved: |P| = %g", pabs);
    TCHECK(s->step == 100 + nnvt + nnve, "step counter %lld", (long long)s->step);

    free(x1);
    free(xd);
    free(vd);
    free(r.x);
    free(r.v);
    free(r.f);
    su_md_free(&s, &d, &sys);
}

int main(int argc, char **argv) {
    tu_init(&argc, &argv);
    test_trajectory();
    return tu_finish();
}
