/* `basin rearr RUN_DIR`: the rearrangement analysis of a run (event catalogue, Yes/No verdict,
 * the displacement field of one event and its far-field exponent, MSD). Only the command line
 * lives here; the analysis is analysis_rearr_run() (src/analysis/rearr_run.c). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "basin/analysis.h"
#include "basin/util.h"

const char app_rearr_usage[] =
    "usage: basin rearr RUN_DIR [--threshold X] [--out FILE]\n"
    "                   [--event K [--field OUT.dat] [--bins N] [--fit-min R] [--fit-max R]]\n"
    "                   [--msd [--origin-stride S] [--msd-out FILE]]\n"
    "\n"
    "Reads RUN_DIR/is.h5 (written by `basin run` with inherent.enabled = true) and prints the\n"
    "event catalogue (every IS sample with |dr_IS| > threshold: index, time, step, |dr_IS|,\n"
    "|dPhi_IS|, N_rearr, max_i |dr_i| and that atom's id, the snapshot frames before/after)\n"
    "and the summary with the verdict `rearrangements: Yes|No` (docs/inherent.md \"Analysis\").\n"
    "\n"
    "  --threshold X      event threshold (length); default: the run's inherent.event_threshold\n"
    "  --out FILE         also write the catalogue and summary as a table with # comments\n"
    "  --event K          radial profile |dr_i|/|dr_1| around the most-displaced atom of the\n"
    "                     K-th event (1-based), from the IS snapshots before and after it, and\n"
    "                     the fitted far-field exponent a (|dr_i|/|dr_1| ~ r^-a)\n"
    "  --field OUT.dat    with --event: per-atom field (id species x y z dx dy dz)\n"
    "  --bins N           radial bins on (0, L/2] (default 40)\n"
    "  --fit-min R        fit window of a (default 2 .. L/2)\n"
    "  --fit-max R\n"
    "  --msd              MSD(t) over time origins from RUN_DIR/trajectory.h5 (unwrapped)\n"
    "  --origin-stride S  use every S-th frame as a time origin (default 1)\n"
    "  --msd-out FILE     also write the MSD table to FILE (implies --msd)\n"
    "\n"
    "Exit status 0 on success, 1 on any error (missing RUN_DIR or is.h5, no IS table, event out\n"
    "of range, missing snapshots), 2 on command-line misuse.\n";

static int usage(const char *opt, const char *what) {
    return basin_error(BASIN_ERR_USAGE, "command line", opt, "%s (see `basin rearr --help`)", what);
}

static int parse_double(const char *opt, const char *s, double *v) {
    char *end = NULL;
    errno = 0;
    const double x = strtod(s, &end);
    if (!end || end == s || *end || errno || !isfinite(x) || x <= 0.0)
        return usage(opt, "needs a positive number");
    *v = x;
    return 0;
}

static int parse_int(const char *opt, const char *s, long long max, long long *v) {
    char *end = NULL;
    errno = 0;
    const long long x = strtoll(s, &end, 10);
    if (!end || end == s || *end || errno || x < 1 || x > max)
        return usage(opt, "needs a positive integer");
    *v = x;
    return 0;
}

int app_cmd_rearr(int argc, char **argv) {
    RearrOptions o;
    analysis_rearr_options_default(&o);
    const char *dir = NULL;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        const int has = i + 1 < argc;
        long long v = 0;
        if (!strcmp(a, "--msd")) {
            o.msd = 1;
        } else if (a[0] == '-' && !has) {
            return usage(a, "unknown option or missing value");
        } else if (!strcmp(a, "--threshold")) {
            BCHK(parse_double(a, argv[++i], &o.threshold));
        } else if (!strcmp(a, "--out")) {
            o.out = argv[++i];
        } else if (!strcmp(a, "--event")) {
            BCHK(parse_int(a, argv[++i], INT64_MAX, &v));
            o.event = v;
        } else if (!strcmp(a, "--field")) {
            o.field_out = argv[++i];
        } else if (!strcmp(a, "--bins")) {
            BCHK(parse_int(a, argv[++i], 1000000, &v));
            o.nbins = (int)v;
        } else if (!strcmp(a, "--fit-min")) {
            BCHK(parse_double(a, argv[++i], &o.fit_rmin));
        } else if (!strcmp(a, "--fit-max")) {
            BCHK(parse_double(a, argv[++i], &o.fit_rmax));
        } else if (!strcmp(a, "--origin-stride")) {
            BCHK(parse_int(a, argv[++i], 1000000, &v));
            o.origin_stride = (int)v;
        } else if (!strcmp(a, "--msd-out")) {
            o.msd_out = argv[++i];
            o.msd = 1;
        } else if (a[0] == '-') {
            return usage(a, "unknown option");
        } else if (!dir) {
            dir = a;
        } else {
            return usage("rearr", "more than one run directory given");
        }
    }
    if (!dir) return usage("rearr", "no run directory given");
    if (o.field_out && o.event < 1) return usage("--field", "needs --event K");
    if (o.fit_rmin > 0.0 && o.fit_rmax > 0.0 && o.fit_rmin >= o.fit_rmax)
        return usage("--fit-min", "must be below --fit-max");
    return analysis_rearr_run(dir, &o, NULL);
}
