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
#include "sysutil.h"
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
    TestSystem sys;
    Domain *d = NULL;
    TOK(su_md_system(&sys, MODEL_GLASS, 500, 4, &d));
    TOK(md_velocities_init(d, 1, 0, 0.1));
    MdState *s = NULL;
    TOK(su_md_state(d, 0.005, 0.5, 0.0, &s));
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

    su_md_free(&s, &d, &sys);
}

static void test_overlap(void) {
    TestSystem sys;
    Domain *d = NULL;
    MdState *s = NULL;
    TOK(su_build(&sys, MODEL_GLASS, 500, 4));
    for (int k = 0; k < 3; ++k)
        sys.x[3 * 5 + k] = sys.x[3 * 6 + k]; /* atom 5 on top of atom 6 */
    TOK(su_distribute(&sys, sys.x, NULL, 0.3, &d));
    TOK(su_md_state(d, 0.005, 0.5, 0.0, &s));
    MdThermo th;
    const int rc = md_thermo(s, &th);
    const int64_t bad = strstr(basin_error_message(), "atom id 5 ") ? 5 : 6;
    char idtext[32];
    snprintf(idtext, sizeof(idtext), "atom id %lld", (long long)bad);
    expect_physics_error(rc, "non-finite force", idtext);
    su_md_free(&s, &d, &sys);
}

int main(int argc, char **argv) {
    tu_init(&argc, &argv);
    test_injected();
    test_overlap();
    return tu_finish();
}
