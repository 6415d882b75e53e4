/* Benchmark helper linked against libbasin (built by benchmarks/md/run.sh, not by meson):
 *
 *   make_glass OUT.data N SEED   random 50:50 glass start from model_build_glass (density
 *                                1.015, overlaps pushed apart to 0.8 sigma_ab), written with
 *                                lammps_data_write: the same start basin's own protocol uses
 *   make_glass --check IN.data   read IN.data with lammps_data_read (e.g. a file LAMMPS's
 *                                write_data produced), print a summary, write it back to
 *                                IN.data.basin and read that again: exercises the reader on
 *                                real LAMMPS output and the writer/reader round trip at size
 *
 * Exit status 0 on success, 1 with a one-line "make_glass: error: ..." otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basin/lammps_data.h"
#include "basin/model.h"
#include "basin/util.h"

static int build(const char *out, long long n, unsigned long long seed) {
    Model m;
    model_init(&m, MODEL_GLASS);
    double *x = NULL, L = 0;
    int *species = NULL;
    BCHK(BALLOC(x, 3 * n));
    BCHK(BALLOC(species, n));
    int rc = model_build_glass(&m, n, 1.015, seed, 0.8, x, species, &L);
    if (!rc) {
        char title[160];
        snprintf(title, sizeof title,
                 "basin glass start N=%lld seed=%llu density=1.015 (model_build_glass, min "
                 "0.8 sigma_ab)",
                 n, seed);
        rc = lammps_data_write(out, title, n, 2, L, x, NULL, species, NULL);
    }
    if (!rc && par_rank() == 0) printf("wrote %s: N=%lld L=%.17g\n", out, n, L);
    free(x);
    free(species);
    return rc;
}

static int check(const char *in) {
    LammpsData d;
    BCHK(lammps_data_read(in, &d));
    double lo = 1e300, hi = -1e300;
    long long nspec[2] = {0, 0};
    for (int64_t i = 0; i < d.n; ++i) {
        for (int k = 0; k < 3; ++k) {
            lo = d.x[3 * i + k] < lo ? d.x[3 * i + k] : lo;
            hi = d.x[3 * i + k] > hi ? d.x[3 * i + k] : hi;
        }
        nspec[d.species[i] > 0]++;
    }
    if (par_rank() == 0)
        printf("read %s: N=%lld types=%d L=%.17g x in [%.6g, %.6g] species %lld/%lld "
               "velocities=%s image flags=%s\n",
               in, (long long)d.n, d.ntypes, d.L, lo, hi, nspec[0], nspec[1], d.v ? "yes" : "no",
               d.has_image ? "yes" : "no");
    char out[4200];
    snprintf(out, sizeof out, "%s.basin", in);
    int rc = lammps_data_write(out, "round trip through basin", d.n, d.ntypes, d.L, d.x, d.v,
                               d.species, d.image);
    LammpsData e;
    if (!rc) rc = lammps_data_read(out, &e);
    if (!rc) {
        size_t n3 = 3 * (size_t)d.n;
        int same = e.n == d.n && e.L == d.L && !memcmp(e.x, d.x, n3 * sizeof(double)) &&
                   !memcmp(e.image, d.image, n3 * sizeof(int32_t)) &&
                   !memcmp(e.species, d.species, (size_t)d.n * sizeof(int)) &&
                   (!d.v || (e.v && !memcmp(e.v, d.v, n3 * sizeof(double))));
        if (!same)
            rc = basin_error(BASIN_ERR_INTERNAL, out, NULL, "round trip is not bit-exact");
        else if (par_rank() == 0)
            printf("round trip through %s: bit-exact\n", out);
        lammps_data_free(&e);
    }
    lammps_data_free(&d);
    return rc;
}

int main(int argc, char **argv) {
    if (basin_init(&argc, &argv) != 0) {
        fprintf(stderr, "make_glass: error: %s\n", basin_error_message());
        return 1;
    }
    int rc;
    if (argc == 3 && !strcmp(argv[1], "--check")) {
        rc = check(argv[2]);
    } else if (argc == 4) {
        rc = build(argv[1], atoll(argv[2]), strtoull(argv[3], NULL, 10));
    } else {
        rc = basin_error(BASIN_ERR_USAGE, NULL, NULL,
                         "usage: make_glass OUT.data N SEED | make_glass --check IN.data");
    }
    rc = basin_error_agree(rc);
    if (rc && par_rank() == 0) fprintf(stderr, "make_glass: error: %s\n", basin_error_message());
    basin_finalize();
    return rc ? 1 : 0;
}
