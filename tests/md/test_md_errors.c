/* md: faults give clear, collective errors.
 *  1. A non-finite force (or velocity) on one atom, seen by one rank only, makes every rank
 *     return BASIN_ERR_PHYSICS from md_check_finite()/md_thermo() with one message naming the
 *     quantity and the global atom id.
 *  2. Two atoms placed on top of each other give non-finite forces that md_thermo() reports.
 *  3. Rescaling zero velocities to T > 0 is refused.
 * Runs on 1, 2, 4 ranks: no hang, the same code on every rank. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "basin/domain.h"
#include "basin/md.h"
#include "basin/model.h"
#include "basin/util.h"
#include "md/md_testutil.h"
#include "testutil.h"

static int owner_of(const Domain *d, int64_t id) {
    for (int i = 0; i < d->nlocal; ++i)
        if (d->id[i] == id) return i;
    return -1;
}

static void expect_physics_error(int rc, const char *what, const char *idtext) {
    TCHECK(rc == BASIN_ERR_PHYSICS, "expected BASIN_ERR_PHYSICS, got %d", rc);
    const char *msg = basin_error_message();
    TCHECK(strstr(msg, what) != NULL && strstr(msg, idtext) != NULL,
           "message should name '%s' and '%s': %s", what, idtext, msg);
    if (par_rank() == 0) printf("reported: %s\n", msg);
    basin_error_clear();
}

static void test_injected(void) {
    Model m;
    model_init(&m, MODEL_GLASS);
    double *xg = NULL, L = 0;
    int *sg = NULL;
    Domain *d = NULL;
    MdState *s = NULL;
    TOK(mdt_build(&m, 500, 4, 0.3, &xg, &sg, &L, &d));
    TOK(md_velocities_init(d, 1, 0, 0.1));
    TOK(md_state_create(d, 0.005, 3, 0.5, &s));
    TOK(md_setup(s));
    TOK(md_check_finite(d, 0));

    int i = owner_of(d, 123);
    double keep = 0.0;
    if (i >= 0) {
        keep = d->f[3 * i + 1];
        d->f[3 * i + 1] = NAN;
    }
    expect_physics_error(md_check_finite(d, 42), "non-finite force", "atom id 123 at step 42");
    if (i >= 0) d->f[3 * i + 1] = keep;

    i = owner_of(d, 7);
    if (i >= 0) {
        keep = d->v[3 * i];
        d->v[3 * i] = INFINITY;
    }
    MdThermo th;
    expect_physics_error(md_thermo(s, &th), "non-finite velocity", "atom id 7");
    if (i >= 0) d->v[3 * i] = keep;
    TOK(md_thermo(s, &th));

    /* 3. zero velocities cannot be rescaled to T > 0 */
    for (int k = 0; k < 3 * d->nlocal; ++k)
        d->v[k] = 0.0;
    expect_physics_error(md_rescale_temperature(d, 0.5), "velocities are zero", "T = 0.5");

    md_state_destroy(&s);
    domain_destroy(&d);
    free(xg);
    free(sg);
}

static void test_overlap(void) {
    Model m;
    model_init(&m, MODEL_GLASS);
    double *xg = NULL, L = 0;
    int *sg = NULL;
    Domain *d = NULL;
    MdState *s = NULL;
    const int64_t n = 500;
    TOK(BALLOC(xg, 3 * n));
    TOK(BALLOC(sg, n));
    TOK(model_build_glass(&m, n, 1.015, 4, 0.8, xg, sg, &L));
    for (int k = 0; k < 3; ++k)
        xg[3 * 5 + k] = xg[3 * 6 + k]; /* atom 5 on top of atom 6 */
    TOK(domain_create(&m, L, 0.3, &d));
    TOK(domain_distribute(d, n, xg, NULL, sg, NULL));
    TOK(md_state_create(d, 0.005, 3, 0.5, &s));
    TOK(md_setup(s));
    MdThermo th;
    const int rc = md_thermo(s, &th);
    const int64_t bad = strstr(basin_error_message(), "atom id 5 ") ? 5 : 6;
    char idtext[32];
    snprintf(idtext, sizeof(idtext), "atom id %lld", (long long)bad);
    expect_physics_error(rc, "non-finite force", idtext);
    md_state_destroy(&s);
    domain_destroy(&d);
    free(xg);
    free(sg);
}

int main(int argc, char **argv) {
    tu_init(&argc, &argv);
    test_injected();
    test_overlap();
    return tu_finish();
}
