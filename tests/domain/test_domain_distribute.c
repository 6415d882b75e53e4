/* Domain test 1: after distribute + rebuild the global count is N, every id appears exactly once
 * (allgather), and species, positions (wrapped) and velocities travel with their ids, for a glass
 * and an FCC crystal; every owned atom lies in its rank's sub-box. */
#include "domain_testutil.h"

static void check_system(ModelKind kind, int64_t n) {
    TestSystem s;
    TOK(su_build(&s, kind, n, 7));
    double *v = malloc(3 * (size_t)n * sizeof(double));
    for (int64_t i = 0; i < n; ++i)
        for (int k = 0; k < 3; ++k)
            v[3 * i + k] = 0.001 * (double)i + k;
    Domain *d = NULL;
    TOK(su_domain(&s, s.x, v, DT_SKIN, &d));
    if (!d) {
        free(v);
        return;
    }
    TCHECK(domain_count_global(d) == n, "count %lld", (long long)domain_count_global(d));

    /* ids: every id exactly once over all ranks. */
    int *seen = calloc((size_t)n, sizeof(int));
    int bad_id = 0, outside = 0;
    for (int i = 0; i < d->nlocal; ++i) {
        if (d->id[i] < 0 || d->id[i] >= n) {
            ++bad_id;
            continue;
        }
        ++seen[d->id[i]];
        for (int k = 0; k < 3; ++k)
            if (!(d->x[3 * i + k] >= d->lo[k] && d->x[3 * i + k] < d->hi[k])) ++outside;
    }
    MPI_Allreduce(MPI_IN_PLACE, seen, (int)n, MPI_INT, MPI_SUM, par_comm());
    int once = 1;
    for (int64_t i = 0; i < n; ++i)
        if (seen[i] != 1) once = 0;
    TCHECK(bad_id == 0, "%d ids out of range", bad_id);
    TCHECK(once, "some id is not owned exactly once");
    TCHECK(outside == 0, "%d coordinates outside the sub-box", outside);

    /* Per-atom data by id: species, v, x (wrapped builder output is already in [0, L)). */
    const int W = 7;
    double *loc = malloc((size_t)(d->nlocal > 0 ? d->nlocal : 1) * W * sizeof(double));
    double *glob = malloc((size_t)n * W * sizeof(double));
    for (int i = 0; i < d->nlocal; ++i) {
        for (int k = 0; k < 3; ++k) {
            loc[W * i + k] = d->x[3 * i + k];
            loc[W * i + 3 + k] = d->v[3 * i + k];
        }
        loc[W * i + 6] = d->species[i];
    }
    TOK(domain_allgather_by_id(d, loc, W, glob));
    int mism = 0;
    for (int64_t i = 0; i < n; ++i) {
        for (int k = 0; k < 3; ++k) {
            if (glob[W * i + k] != s.x[3 * i + k]) ++mism;
            if (glob[W * i + 3 + k] != v[3 * i + k]) ++mism;
        }
        if (glob[W * i + 6] != s.species[i]) ++mism;
    }
    TCHECK(mism == 0, "%d per-atom values do not match their id", mism);
    /* Images stay zero for positions already in the box. */
    int nz = 0;
    for (int i = 0; i < 3 * d->nlocal; ++i)
        nz += d->image[i] != 0;
    TCHECK(nz == 0, "%d nonzero image counters", nz);

    free(loc);
    free(glob);
    free(seen);
    free(v);
    domain_destroy(&d);
    TCHECK(d == NULL, "destroy nulls the pointer");
    su_free(&s);
}

int main(int argc, char **argv) {
    tu_init(&argc, &argv);
    check_system(MODEL_GLASS, 1000);
    check_system(MODEL_CRYSTAL, 500);
    /* Positions outside the box are wrapped at distribution, counting the wraps. */
    {
        TestSystem s;
        TOK(su_build(&s, MODEL_GLASS, 500, 3));
        for (int64_t i = 0; i < s.n; ++i)
            s.x[3 * i] += (double)(i % 5 - 2) * s.L;
        Domain *d = NULL;
        TOK(su_domain(&s, s.x, NULL, DT_SKIN, &d));
        int bad = 0;
        for (int i = 0; i < d->nlocal; ++i) {
            const int64_t id = d->id[i];
            const double u = d->x[3 * i] + s.L * d->image[3 * i];
            if (fabs(u - s.x[3 * id]) > 1e-9 * s.L) ++bad;
            if (d->image[3 * i] != (int)(id % 5 - 2)) ++bad;
        }
        TCHECK(bad == 0, "%d atoms with a wrong unwrapped position or image", bad);
        domain_destroy(&d);
        su_free(&s);
    }
    return tu_finish();
}
