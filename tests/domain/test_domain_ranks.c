/* Domain test 5: too many ranks for the box. A sub-box edge below rghost = rc_max + skin is
 * refused on every rank with BASIN_ERR_RANKS and a message naming the largest usable rank
 * count; a box below rghost is refused even on one rank; a bad skin is a config error. */
#include "domain_testutil.h"

int main(int argc, char **argv) {
    tu_init(&argc, &argv);
    Model m;
    model_init(&m, MODEL_GLASS);
    const double rg = m.rc_max + DT_SKIN;
    const int P = par_size();

    TCHECK(domain_max_ranks(1.5 * rg, rg) == 1, "1.5 rghost: %d", domain_max_ranks(1.5 * rg, rg));
    TCHECK(domain_max_ranks(2.5 * rg, rg) == 8, "2.5 rghost: %d", domain_max_ranks(2.5 * rg, rg));
    TCHECK(domain_max_ranks(3.2 * rg, rg) == 27, "3.2 rghost: %d", domain_max_ranks(3.2 * rg, rg));
    TCHECK(domain_max_ranks(0.9 * rg, rg) == 0, "0.9 rghost: %d", domain_max_ranks(0.9 * rg, rg));

    /* One rank per dimension at most. */
    Domain *d = NULL;
    int rc = domain_create(&m, 1.5 * rg, DT_SKIN, &d);
    if (P == 1) {
        TCHECK(rc == 0 && d != NULL, "one rank must fit: %s", basin_error_message());
    } else {
        TCHECK(rc == BASIN_ERR_RANKS, "rc = %d", rc);
        TCHECK(d == NULL, "no domain on error");
        TCHECK(strstr(basin_error_message(), "at most 1 ranks") != NULL, "message: %s",
               basin_error_message());
        if (par_rank() == 0) printf("message: %s\n", basin_error_message());
    }
    domain_destroy(&d);
    basin_error_clear();

    /* Smaller than rghost: no decomposition at all. */
    rc = domain_create(&m, 0.9 * rg, DT_SKIN, &d);
    TCHECK(rc == BASIN_ERR_RANKS && d == NULL, "rc = %d", rc);
    TCHECK(strstr(basin_error_message(), "cannot be decomposed") != NULL, "message: %s",
           basin_error_message());
    basin_error_clear();

    /* Two per dimension: 1, 2, 4 (and 8) ranks fit. */
    rc = domain_create(&m, 2.5 * rg, DT_SKIN, &d);
    TCHECK(rc == 0 && d != NULL, "2.5 rghost on %d ranks: %s", P, basin_error_message());
    if (d) TCHECK(d->dims[0] * d->dims[1] * d->dims[2] == P, "grid covers all ranks");
    domain_destroy(&d);
    basin_error_clear();

    rc = domain_create(&m, 10.0, -0.1, &d);
    TCHECK(rc == BASIN_ERR_CONFIG && d == NULL, "negative skin: rc = %d", rc);
    TCHECK(strstr(basin_error_message(), "skin") != NULL, "message: %s", basin_error_message());
    basin_error_clear();
    return tu_finish();
}
