/* Domain test 4: migration.
 * Random positions (no forces involved) are displaced by deterministic per-id vectors: first by
 * up to 0.6 L per component (atoms cross the periodic boundary and, on 5 ranks, jump over a
 * whole rank: the all-to-all path), then several times by small steps (the neighbour path).
 * After each domain_rebuild(): the global count, every id once, each owned atom inside its
 * rank's sub-box [lo, hi), x + L*image equal to the unwrapped displaced position, and v and
 * species carried with the id. Also: a NaN position stops the rebuild on every rank with an
 * error naming the atom. Run on 1, 2, 4 and 5 ranks (5 = a 5x1x1 grid, where far jumps exist). */
#include "domain_testutil.h"

#define NM 5000
#define LM 17.0

static void check_state(Domain *d, const double *u, const double *v, const int *sp,
                        const char *when) {
    const int64_t n = d->natoms;
    TCHECK(domain_count_global(d) == n, "%s: count", when);
    int *seen = calloc((size_t)n, sizeof(int));
    int outside = 0, badu = 0, badv = 0;
    for (int i = 0; i < d->nlocal; ++i) {
        const int64_t id = d->id[i];
        ++seen[id];
        for (int k = 0; k < 3; ++k) {
            const double x = d->x[3 * i + k];
            if (!(x >= d->lo[k] && x < d->hi[k])) ++outside;
            const double un = x + d->L * d->image[3 * i + k];
            if (fabs(un - u[3 * id + k]) > 1e-9 * d->L) ++badu;
            if (d->v[3 * i + k] != v[3 * id + k]) ++badv;
        }
        if (d->species[i] != sp[id]) ++badv;
    }
    MPI_Allreduce(MPI_IN_PLACE, seen, (int)n, MPI_INT, MPI_SUM, par_comm());
    int notonce = 0;
    for (int64_t i = 0; i < n; ++i)
        notonce += seen[i] != 1;
    TCHECK(notonce == 0, "%s: %d ids not owned exactly once", when, notonce);
    TCHECK(outside == 0, "%s: %d coordinates outside the sub-box", when, outside);
    TCHECK(badu == 0, "%s: %d coordinates with x + L*image != unwrapped", when, badu);
    TCHECK(badv == 0, "%s: %d velocities/species not carried", when, badv);
    free(seen);
}

int main(int argc, char **argv) {
    tu_init(&argc, &argv);
    TestSystem s;
    TOK(su_alloc(&s, MODEL_GLASS, NM));
    s.L = LM;
    double *u = malloc(3 * NM * sizeof(double));
    double *v = malloc(3 * NM * sizeof(double));
    const int *sp = s.species;
    for (int64_t i = 0; i < NM; ++i) {
        for (int k = 0; k < 3; ++k) {
            s.x[3 * i + k] = LM * rng_uniform(17, RNG_STREAM_TEST, (uint64_t)i, (uint64_t)k);
            u[3 * i + k] = s.x[3 * i + k];
            v[3 * i + k] = (double)i + 0.25 * k;
        }
        s.species[i] = (int)(i % 2);
    }
    Domain *d = NULL;
    TOK(su_domain(&s, s.x, v, DT_SKIN, &d));
    if (!d) return tu_finish();
    check_state(d, u, v, sp, "start");

    /* Large jumps: up to 0.6 L per component. */
    for (int i = 0; i < d->nlocal; ++i) {
        const int64_t id = d->id[i];
        for (int k = 0; k < 3; ++k) {
            const double du =
                (2.0 * rng_uniform(17, RNG_STREAM_TEST, (uint64_t)id, 10 + (uint64_t)k) - 1.0) *
                0.6 * LM;
            d->x[3 * i + k] += du;
        }
    }
    for (int64_t id = 0; id < NM; ++id)
        for (int k = 0; k < 3; ++k)
            u[3 * id + k] +=
                (2.0 * rng_uniform(17, RNG_STREAM_TEST, (uint64_t)id, 10 + (uint64_t)k) - 1.0) *
                0.6 * LM;
    TOK(domain_rebuild(d));
    check_state(d, u, v, sp, "after jumps of up to 0.6 L");
    DomainStats st;
    domain_stats(d, &st);
    if (d->dims[0] >= 4 || d->dims[1] >= 4 || d->dims[2] >= 4)
        TCHECK(st.nalltoall >= 1, "far jumps must use the all-to-all path");

    /* Many small steps: neighbour path, images accumulate. */
    for (int step = 0; step < 20; ++step) {
        su_displace_owned(d, 23, (uint64_t)step, 1.5);
        su_displace(NM, u, 23, (uint64_t)step, 1.5);
        TOK(domain_rebuild(d));
    }
    check_state(d, u, v, sp, "after 20 small steps");
    DomainStats st2;
    domain_stats(d, &st2);
    TCHECK(st2.nalltoall == st.nalltoall, "small steps must use the neighbour path");

    /* A NaN position: every rank gets the same error naming the atom. */
    for (int i = 0; i < d->nlocal; ++i)
        if (d->id[i] == 1234) d->x[3 * i + 1] = NAN;
    const int rc = domain_rebuild(d);
    TCHECK(rc == BASIN_ERR_PHYSICS, "NaN position: rc = %d", rc);
    TCHECK(strstr(basin_error_message(), "atom 1234") != NULL, "message: %s",
           basin_error_message());
    if (par_rank() == 0) printf("NaN message: %s\n", basin_error_message());
    basin_error_clear();
    domain_destroy(&d);
    free(u);
    free(v);
    su_free(&s);
    return tu_finish();
}
