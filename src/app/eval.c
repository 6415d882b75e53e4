/* `basin eval FILE.data`: potential energy, virial pressure and forces of one configuration.
 * The cross-check entry point against LAMMPS (`run 0`) and independent implementations: the
 * same force kernel and decomposition as `basin run`, on any number of ranks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "basin/domain.h"
#include "basin/lammps_data.h"
#include "basin/md.h"
#include "basin/util.h"

static int eval_forces(const char *file, int kind_opt, double skin, const char *forces_out) {
    LammpsData in = {0};
    BCHK(lammps_data_read(file, &in));
    Model m;
    model_init(&m, kind_opt >= 0 ? (ModelKind)kind_opt
                                 : (in.ntypes >= 2 ? MODEL_GLASS : MODEL_CRYSTAL));
    Domain *d = NULL;
    double *f = NULL;
    int rc = 0;
    for (int64_t i = 0; i < in.n && rc == 0; ++i)
        if (in.species[i] >= m.nspecies)
            rc = basin_error(BASIN_ERR_CONFIG, file, "--kind",
                             "atom %lld has type %d but the %s model has %d species",
                             (long long)i + 1, in.species[i] + 1,
                             m.kind == MODEL_GLASS ? "glass" : "crystal", m.nspecies);
    if (rc == 0 && in.L <= 2.0 * m.rc_max)
        rc = basin_error(BASIN_ERR_CONFIG, file, "box", "box edge %g must exceed 2 r_c = %g", in.L,
                         2.0 * m.rc_max);
    if (rc == 0) rc = domain_create(&m, in.L, skin, &d);
    if (rc == 0) rc = domain_distribute(d, in.n, in.x, NULL, in.species, in.image);
    if (rc == 0) rc = domain_rebuild(d);
    double e[2] = {0.0, 0.0};
    if (rc == 0) rc = md_forces(d, &e[0], &e[1]);
    if (rc == 0) {
        par_sum_d(e, 2);
        const double V = in.L * in.L * in.L;
        if (par_rank() == 0) {
            printf("natoms %lld\nL %.17g\npe %.17g\npe_per_atom %.17g\nvirial %.17g\n"
                   "pressure_virial %.17g\n",
                   (long long)in.n, in.L, e[0], e[0] / (double)in.n, e[1], e[1] / (3.0 * V));
            fflush(stdout);
        }
    }
    if (rc == 0 && forces_out) {
        rc = BALLOC(f, 3 * in.n);
        rc = basin_error_agree(rc);
        if (rc == 0) rc = domain_allgather_by_id(d, d->f, 3, f);
        if (rc == 0 && par_rank() == 0) {
            FILE *fp = fopen(forces_out, "w");
            if (!fp) {
                rc = basin_error(BASIN_ERR_IO, forces_out, NULL, "cannot open for writing");
            } else {
                fprintf(fp, "# id fx fy fz (basin eval of %s; ids 1-based as in the file)\n", file);
                for (int64_t i = 0; i < in.n; ++i)
                    fprintf(fp, "%lld %.17g %.17g %.17g\n", (long long)i + 1, f[3 * i],
                            f[3 * i + 1], f[3 * i + 2]);
                if (fclose(fp) != 0)
                    rc = basin_error(BASIN_ERR_IO, forces_out, NULL, "write failed");
            }
        }
        rc = basin_error_agree(rc);
    }
    free(f);
    domain_destroy(&d);
    lammps_data_free(&in);
    return rc;
}

int app_cmd_eval(int argc, char **argv) {
    const char *file = NULL, *forces = NULL;
    int kind = -1;
    double skin = 0.3;
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--forces") && i + 1 < argc) {
            forces = argv[++i];
        } else if (!strcmp(argv[i], "--kind") && i + 1 < argc) {
            ++i;
            if (!strcmp(argv[i], "glass"))
                kind = MODEL_GLASS;
            else if (!strcmp(argv[i], "crystal"))
                kind = MODEL_CRYSTAL;
            else
                return basin_error(BASIN_ERR_USAGE, "command line", "--kind",
                                   "must be glass or crystal, got '%s'", argv[i]);
        } else if (argv[i][0] == '-') {
            return basin_error(BASIN_ERR_USAGE, "command line", argv[i],
                               "unknown option or missing value (see `basin eval --help`)");
        } else if (!file) {
            file = argv[i];
        } else {
            return basin_error(BASIN_ERR_USAGE, "command line", "eval", "more than one file");
        }
    }
    if (!file)
        return basin_error(BASIN_ERR_USAGE, "command line", "eval",
                           "no data file given (see `basin eval --help`)");
    return eval_forces(file, kind, skin, forces);
}
