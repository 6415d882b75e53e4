/* md: the protocols end to end through md_run_config() (the entry point of `basin run`).
 *  1. A small glass (liquid NVT -> quench -> NVT -> NVE) and a small FCC crystal (NVT -> NVE)
 *     run; <output.dir>/thermo.dat has the documented header (column names with units), one
 *     row every output.thermo_every steps plus stage ends, the stage column, finite values,
 *     and the NVE rows conserve E to the O(dt^2) level.
 *  2. An output directory that cannot be created is a collective BASIN_ERR_IO naming it.
 * Runs on 1, 2, 4 ranks; each rank count writes its own directory. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basin/config.h"
#include "basin/md.h"
#include "basin/util.h"
#include "testutil.h"

/* Rank 0: parse and check thermo.dat; returns the number of data rows. */
static int check_thermo(const char *dir, int64_t expect_rows, int nstages_expected) {
    char path[4200], line[1024];
    snprintf(path, sizeof(path), "%s/thermo.dat", dir);
    FILE *fp = fopen(path, "r");
    TCHECK(fp != NULL, "cannot open %s", path);
    if (!fp) return 0;
    int rows = 0, header_ok = 0, seen_stage[3] = {0, 0, 0};
    double e_nve_first = NAN, e_nve_last = NAN;
    long long last_step = -1;
    while (fgets(line, sizeof(line), fp)) {
        if (line[0] == '#') {
            if (strstr(line,
                       "step time[tau] stage T[eps] T_nf[eps] pe/N[eps] etot/N[eps] H/N[eps]") &&
                strstr(line, "P[eps/sigma^3]"))
                header_ok = 1;
            continue;
        }
        long long step;
        int stage;
        double t, tt, tnf, pe, et, h, p;
        const int nf = sscanf(line, "%lld %lf %d %lf %lf %lf %lf %lf %lf", &step, &t, &stage, &tt,
                              &tnf, &pe, &et, &h, &p);
        TCHECK(nf == 9, "bad row: %s", line);
        TCHECK(isfinite(tt) && isfinite(pe) && isfinite(et) && isfinite(h) && isfinite(p),
               "non-finite row: %s", line);
        TCHECK(step > last_step, "steps not increasing at %lld", step);
        last_step = step;
        if (stage >= 0 && stage < 3) seen_stage[stage] = 1;
        if (stage == 2) {
            if (isnan(e_nve_first)) e_nve_first = et;
            e_nve_last = et;
        }
        ++rows;
    }
    fclose(fp);
    TCHECK(header_ok, "thermo.dat header line with column names and units missing");
    TCHECK(rows == expect_rows, "%d rows, expected %lld", rows, (long long)expect_rows);
    TCHECK(seen_stage[0] + seen_stage[1] + seen_stage[2] == nstages_expected,
           "stages seen %d %d %d", seen_stage[0], seen_stage[1], seen_stage[2]);
    TCHECK(fabs(e_nve_last - e_nve_first) < 1e-4 * fabs(e_nve_first),
           "NVE energy per atom moved from %.12g to %.12g", e_nve_first, e_nve_last);
    return rows;
}

static void test_run(ModelKind kind, int64_t n, const char *tag) {
    Config c;
    config_defaults(&c);
    c.kind = kind;
    c.natoms = n;
    c.temperature = 0.05;
    c.liquid_steps = kind == MODEL_GLASS ? 60 : 0;
    c.equil_steps = 60;
    c.nve_steps = 60;
    c.thermo_every = 20;
    c.traj_every = 0;
    snprintf(c.dir, sizeof(c.dir), "md_protocol_%s_np%d/out", tag, par_size());
    TOK(config_validate(&c));
    TOK(md_run_config(&c, NULL));
    if (par_rank() == 0) {
        /* rows: step 0 plus every 20 steps over 180 (glass) or 120 (crystal) steps */
        const int64_t total = c.liquid_steps + c.equil_steps + c.nve_steps;
        check_thermo(c.dir, 1 + total / c.thermo_every, kind == MODEL_GLASS ? 3 : 2);
    }
}

static void test_bad_dir(void) {
    Config c;
    config_defaults(&c);
    c.natoms = 500;
    c.liquid_steps = c.equil_steps = c.nve_steps = 1;
    snprintf(c.dir, sizeof(c.dir), "/proc/basin-no-such-dir/x");
    const int rc = md_run_config(&c, NULL);
    TCHECK(rc == BASIN_ERR_IO, "unwritable output.dir gave %d", rc);
    TCHECK(strstr(basin_error_message(), "/proc/basin-no-such-dir") != NULL, "message: %s",
           basin_error_message());
    if (par_rank() == 0) printf("reported: %s\n", basin_error_message());
    basin_error_clear();
}

int main(int argc, char **argv) {
    tu_init(&argc, &argv);
    test_run(MODEL_GLASS, 500, "glass");
    test_run(MODEL_CRYSTAL, 256, "crystal");
    test_bad_dir();
    return tu_finish();
}
