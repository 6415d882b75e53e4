/* util: RNG properties and rank independence, error agreement across ranks, the launch check,
 * reductions and the duration formatter. */
#include <math.h>
#include <string.h>

#include "../../src/util/parallel.h"
#include "basin/util.h"
#include "testutil.h"

static void test_philox_known_answer(void) {
    /* Random123 known-answer test for philox4x32-10: key = 0, counter = 0. */
    uint32_t o[4];
    rng_philox4x32(0, 0, 0, o);
    TCHECK(o[0] == 0x6627e8d5u && o[1] == 0xe169c58du && o[2] == 0xbc57ac4cu && o[3] == 0x9b00dbd8u,
           "philox(0,0) = %08x %08x %08x %08x", o[0], o[1], o[2], o[3]);
}

static void test_rng_statistics(void) {
    const int n = 200000;
    double s = 0, s2 = 0, g = 0, g2 = 0, g4 = 0, umin = 1, umax = 0;
    for (int i = 0; i < n; ++i) {
        double u = rng_uniform(42, RNG_STREAM_TEST, (uint64_t)i, 7);
        s += u;
        s2 += u * u;
        umin = fmin(umin, u);
        umax = fmax(umax, u);
        double z[3];
        rng_normal3(42, RNG_STREAM_TEST, (uint64_t)i, 3, z);
        for (int k = 0; k < 3; ++k) {
            g += z[k];
            g2 += z[k] * z[k];
            g4 += z[k] * z[k] * z[k] * z[k];
        }
    }
    TCLOSE(s / n, 0.5, 0, 5e-3);
    TCLOSE(s2 / n - (s / n) * (s / n), 1.0 / 12.0, 0, 2e-3);
    TCHECK(umin > 0 && umax < 1, "uniforms must lie in the open interval: %g %g", umin, umax);
    TCLOSE(g / (3.0 * n), 0.0, 0, 1e-2);
    TCLOSE(g2 / (3.0 * n), 1.0, 0, 1e-2);
    TCLOSE(g4 / (3.0 * n), 3.0, 0, 6e-2);
    /* streams, ids, counters and seeds give different numbers */
    double a = rng_uniform(1, 1, 5, 0);
    TCHECK(a != rng_uniform(1, 2, 5, 0), "stream");
    TCHECK(a != rng_uniform(1, 1, 6, 0), "id");
    TCHECK(a != rng_uniform(1, 1, 5, 1), "counter");
    TCHECK(a != rng_uniform(2, 1, 5, 0), "seed");
    TCHECK(a == rng_uniform(1, 1, 5, 0), "pure function");
}

/* Each rank draws the numbers of the ids it "owns" in a cyclic split; the sum over all ids must
 * equal the serial sum exactly (same values, summed in id order after an allgather-free trick:
 * we compare per-id values through a global max of |difference|). */
static void test_rng_rank_independence(void) {
    const int n = 1000;
    double local_sum = 0, serial_sum = 0;
    for (int i = 0; i < n; ++i) {
        double u = rng_uniform(9, RNG_STREAM_VELOCITY, (uint64_t)i, 2);
        serial_sum += u;
        if (i % par_size() == par_rank()) local_sum += u;
    }
    double tot = local_sum;
    par_sum_d(&tot, 1);
    TCLOSE(tot, serial_sum, 1e-14, 0);
}

static void test_error_agree(void) {
    int p = par_size(), r = par_rank();
    /* No rank fails: 0 everywhere. */
    TCHECK(basin_error_agree(0) == 0, "agree(0)");
    /* The last rank fails: everyone receives its code and its message. */
    int rc = 0;
    if (r == p - 1) rc = basin_error(BASIN_ERR_CONFIG, "f.ini", "md.dt", "must be > 0, got -1");
    int got = basin_error_agree(rc);
    TCHECK(got == BASIN_ERR_CONFIG, "agreed code %d", got);
    TCHECK(!strcmp(basin_error_message(), "f.ini:md.dt: must be > 0, got -1"), "message '%s'",
           basin_error_message());
    /* Two ranks fail differently: the lowest failing rank wins. */
    basin_error_clear();
    rc = r == 0 ? basin_error(BASIN_ERR_IO, "a.h5", NULL, "truncated")
                : basin_error(BASIN_ERR_PHYSICS, NULL, NULL, "NaN");
    got = basin_error_agree(rc);
    TCHECK(got == BASIN_ERR_IO, "lowest rank code %d", got);
    TCHECK(!strcmp(basin_error_message(), "a.h5: truncated"), "message '%s'",
           basin_error_message());
    basin_error_clear();
}

static int bchk_inner(int fail) {
    if (fail) return basin_error(BASIN_ERR_CONFIG, NULL, "k", "bad");
    return 0;
}
static int bchk_outer(int fail) {
    BCHK(bchk_inner(fail));
    return 7;
}

static void test_misc(void) {
    TCHECK(bchk_outer(0) == 7, "BCHK passes success through");
    TCHECK(bchk_outer(1) == BASIN_ERR_CONFIG, "BCHK propagates");
    TCHECK(!strcmp(basin_error_message(), "k: bad"), "message '%s'", basin_error_message());
    basin_error_clear();
    TCHECK(strcmp(basin_strerror(BASIN_ERR_IO), "file error") == 0, "strerror");
    /* launch check */
    TCHECK(basin_check_launch(NULL, 1) == 0, "no slurm");
    TCHECK(basin_check_launch("1", 1) == 0, "one task");
    TCHECK(basin_check_launch("4", 4) == 0, "proper launch");
    TCHECK(basin_check_launch("4", 1) == BASIN_ERR_MPI, "singleton under srun");
    TCHECK(strstr(basin_error_message(), "--mpi=pmix") && strstr(basin_error_message(), "mpirun"),
           "message names the fix: %s", basin_error_message());
    basin_error_clear();
    char b[32];
    TCHECK(!strcmp(fmt_duration(3.21, b, sizeof b), "3.2s"), "%s", b);
    TCHECK(!strcmp(fmt_duration(125, b, sizeof b), "2m05s"), "%s", b);
    TCHECK(!strcmp(fmt_duration(3723, b, sizeof b), "1h02m03s"), "%s", b);
    /* reductions */
    double d[2] = {par_rank() + 1.0, -par_rank()};
    par_sum_d(d, 2);
    int p = par_size();
    TCLOSE(d[0], p * (p + 1) / 2.0, 0, 0);
    double m = par_rank();
    par_max_d(&m, 1);
    TCLOSE(m, p - 1, 0, 0);
    /* a one-rank sub-communicator for serial references */
    par_push_comm(MPI_COMM_SELF);
    TCHECK(par_size() == 1 && par_rank() == 0, "self comm");
    par_pop_comm();
    TCHECK(par_size() == p, "restored comm");
    /* BALLOC zeroes */
    double *z = NULL;
    TOK(BALLOC(z, 10));
    TCHECK(z && z[9] == 0.0, "zeroed");
    free(z);
}

int main(int argc, char **argv) {
    tu_init(&argc, &argv);
    test_philox_known_answer();
    test_rng_statistics();
    test_rng_rank_independence();
    test_error_agree();
    test_misc();
    return tu_finish();
}
