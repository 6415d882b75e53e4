/* analysis: observables of inherent-structure time series and trajectories (PHYSICS.md
 * sections 3, 4 and 8): rearrangement size N_rearr (Eq. 7), the radial profile and far-field
 * exponent of an event's displacement field, the mean-squared displacement, and the
 * rearrangements Yes/No verdict of the paper's table.
 *
 * Data layout: per-atom inputs are this rank's id-block (DESIGN.md "Parallel layouts": rank r
 * of P holds ids [lo, hi) = idblock_range(N, r, P)), 3 doubles per atom (x[3 (id - lo) + k]),
 * as the IS tracker and the H5MD reader provide them. "Collective" functions reduce with the
 * par_* calls of basin/util.h over the util communicator (no MPI here), so they scale with
 * O(N/P) memory per rank; every rank gets the same result. Series functions are not collective
 * (the series is small and identical everywhere).
 *
 * Units: reduced (lengths sigma_eff, energies eps, time sqrt(m sigma^2 / eps)).
 */
#ifndef BASIN_ANALYSIS_H
#define BASIN_ANALYSIS_H

#include <stdint.h>
#include <stdio.h>

/* ---- displacement fields ---- */

/* Not collective. out_i = minimum image of a_i - b_i in a cubic box of edge L (n atoms). */
void analysis_min_image_diff(int64_t n, const double *a, const double *b, double L, double *out);

/* Global statistics of a displacement field d (id-block, n = hi - lo atoms, first id lo). */
typedef struct DispStats {
    double sum2;    /* sum_i |d_i|^2 */
    double sum4;    /* sum_i |d_i|^4 */
    double norm;    /* sqrt(sum2) = |Delta r| */
    double n_rearr; /* sum2^2 / sum4 (Eq. 7); 0 for a zero field */
    double max;     /* max_i |d_i| */
    int64_t max_id; /* id of that atom (the lowest id among equal maxima); -1 for a zero field */
} DispStats;

/* Collective (two small reductions). */
void analysis_disp_stats(int64_t lo, int64_t n, const double *d, DispStats *s);

/* Collective. N_rearr of Eq. 7 alone. */
double analysis_n_rearr(int64_t n, const double *d);

/* Radial profile of an event's displacement field around its most-displaced atom "1":
 * ratio(r) = <|d_i| / |d_1|> over the atoms i != 1 whose minimum-image distance from atom 1
 * (computed with the positions x, e.g. the IS before the event) falls in the bin, nbins equal
 * bins on (0, r_max], r_max = L/2 (the largest sphere inside the periodic box). The far field
 * is fitted as ratio ~ r^-a by least squares of ln(ratio) against ln(r_mean) over the bins
 * with fit_rmin <= r_mean <= fit_rmax (weights 1, bins with no atoms or ratio 0 skipped). */
typedef struct EventProfile {
    int nbins;
    double r_max;   /* L/2 */
    double *r_mean; /* [nbins] mean distance of the atoms in the bin (bin centre when empty) */
    double *ratio;  /* [nbins] mean |d_i|/|d_1| (0 when empty) */
    int64_t *count; /* [nbins] atoms in the bin */
    int64_t center_id;
    double center_disp; /* |d_1| */
    double a;           /* fitted exponent (ratio ~ r^-a); NaN with fewer than 2 bins */
    double a_err;       /* its standard error (NaN with fewer than 3 bins) */
    double fit_rmin, fit_rmax;
    int fit_bins; /* bins used by the fit */
} EventProfile;

/* Collective. x and d are id-block arrays (n atoms starting at id lo); fit_rmin/fit_rmax <= 0
 * select the defaults 2 and L/2. The arrays of *out are allocated here; free them with
 * analysis_event_profile_free(). BASIN_ERR_CONFIG for nbins < 1, BASIN_ERR_PHYSICS for a zero
 * field. */
int analysis_event_profile(int64_t lo, int64_t n, const double *x, const double *d, double L,
                           int nbins, double fit_rmin, double fit_rmax, EventProfile *out);
void analysis_event_profile_free(EventProfile *p);

/* Not collective. Least-squares fit y = c + s t; returns s, *intercept = c, *err = standard
 * error of s (NaN for fewer than 3 points). NaN slope for fewer than 2 points or equal t. */
double analysis_linear_fit(int n, const double *t, const double *y, double *intercept, double *err);

/* ---- mean-squared displacement (PHYSICS.md section 3) ----
 * MSD(k) = < (1/N) sum_i |r_i(t0 + k) - r_i(t0)|^2 >_{t0}, unwrapped positions, averaged over
 * the origins t0 = 0, origin_stride, 2 origin_stride, ... with t0 + k < nframes. frames[f] is
 * the id-block of frame f (3 n doubles, n atoms of this rank), natoms the global N.
 * Collective (one par_sum_d of nframes doubles). msd[k] for k = 0 .. nframes - 1 (lag k in
 * frame units; msd[0] = 0). Cost O(nframes^2 n / origin_stride). */
int analysis_msd(int64_t natoms, int64_t n, int nframes, const double *const *frames,
                 int origin_stride, double *msd);

/* ---- IS time series and the rearrangements verdict ---- */

/* An IS time series in memory (what the tracker produced / the IS file holds). Any pointer
 * but time and dr may be NULL. */
typedef struct IsSeries {
    int64_t n;
    const double *time;
    const double *phi;     /* Phi_IS */
    const double *dr;      /* |Delta r_IS| (0 for the first sample) */
    const double *dphi;    /* |Delta Phi_IS| */
    const double *n_rearr; /* N_rearr */
    const double *dr0;     /* |r_IS(t) - r_IS(0)| */
    const double *dphi0;   /* Phi_IS(t) - Phi_IS(0) */
} IsSeries;

/* Not collective. 1 ("Yes") if any dr[k] > threshold, else 0; first (may be NULL) receives
 * the first such index or -1, count (may be NULL) the number of such samples. */
int analysis_rearr_verdict(int64_t n, const double *dr, double threshold, int64_t *first,
                           int64_t *count);

typedef struct RearrReport {
    int yes; /* the verdict */
    int64_t samples;
    int64_t events;      /* samples with dr > threshold */
    int64_t first_event; /* index, -1 if none */
    double first_time;   /* NaN if none */
    double max_dr, max_dr_time;
    double floor_dr; /* largest dr at or below the threshold: the noise floor seen */
    double mean_event_dr, mean_event_dphi, mean_event_nrearr; /* over events (NaN if none) */
    double min_event_dr;                                      /* smallest event (NaN if none) */
    double max_dr0;       /* max |r_IS(t) - r_IS(0)| (NaN without dr0) */
    double max_abs_dphi0; /* max |Phi_IS(t) - Phi_IS(0)| (NaN without dphi0) */
    double final_dr0;     /* last dr0 (NaN without dr0) */
    int returned;         /* last dr0 <= threshold after an event: back in the initial IS */
} RearrReport;

/* Not collective. Summarise the series; when fp != NULL also print a short human-readable
 * report (call with fp on one rank only). BASIN_ERR_CONFIG for threshold <= 0 or n < 0,
 * NULL time/dr with n > 0. */
int analysis_rearr_report(const IsSeries *s, double threshold, RearrReport *out, FILE *fp);

/* ---- rearrangement analysis of a run directory (`basin rearr RUN_DIR`) ----
 * Reads RUN_DIR/is.h5 (written by `basin run` with inherent.enabled = true; layout in
 * docs/formats.md): the table /inherent (one row per quench: step, time, index, phi, dr, dphi,
 * n_rearr, dr_max, dr_max_id, dr0, dphi0, converged, frame, ...) and the IS snapshots in
 * /particles/trajectory (the IS before and after every event). Optionally RUN_DIR/trajectory.h5
 * (the NVE trajectory) for the MSD. Collective (h5md reads and par_* reductions; every rank
 * returns the same status); rank 0 prints and writes the files. Method: docs/inherent.md
 * "Analysis". */
typedef struct RearrOptions {
    double threshold;      /* > 0: overrides the file's event_threshold; <= 0: the file's */
    int64_t event;         /* K >= 1: profile of the K-th event (1-based); 0: none */
    int nbins;             /* radial bins of the profile on (0, L/2] */
    double fit_rmin;       /* fit window of the far-field exponent; <= 0: 2 */
    double fit_rmax;       /* <= 0: L/2 */
    const char *field_out; /* with event: per-atom displacement field of event K (NULL: none) */
    const char *out;       /* event catalogue + summary as a text table (NULL: none) */
    int msd;               /* 1: MSD(t) from RUN_DIR/trajectory.h5 */
    int origin_stride;     /* MSD time-origin stride in frames, >= 1 */
    const char *msd_out;   /* MSD table file (NULL: stdout only) */
    int quiet;             /* 1: print nothing on stdout (files are still written) */
} RearrOptions;

/* Not collective. No threshold override, no event, 40 bins, default fit window, no files,
 * no MSD, origin stride 1. */
void analysis_rearr_options_default(RearrOptions *o);

/* What analysis_rearr_run() found; identical on every rank. */
typedef struct RearrResult {
    double threshold;    /* the event threshold used */
    int threshold_from;  /* 0: --threshold, 1: the table attribute, 2: the stored config */
    double every;        /* sampling interval from the file (NaN if absent) */
    int64_t natoms;      /* N of the IS snapshots */
    double L;            /* box edge of the IS snapshots */
    int64_t samples;     /* rows of /inherent */
    int64_t nevents;     /* rows with dr > threshold */
    int64_t *event_row;  /* [nevents] their row indices, in order */
    int64_t unconverged; /* rows with converged == 0 */
    int64_t sd_verified; /* events checked by steepest descent (inherent.verify = sd) */
    int64_t sd_refuted;  /* of those, events SD does not confirm (sd_event == 0) */
    RearrReport report;  /* analysis_rearr_report() of the series */
    /* with RearrOptions.event = K */
    int64_t event;        /* K (0: no profile) */
    int64_t row;          /* row of event K */
    int64_t frame_before; /* snapshot of the IS before (row - 1) and after (row) */
    int64_t frame_after;
    DispStats field;      /* statistics of the field recomputed from the two snapshots */
    EventProfile profile; /* radial profile and exponent of that field */
    /* with RearrOptions.msd */
    int msd_frames;  /* frames of trajectory.h5 used */
    double *msd_lag; /* [msd_frames] lag time */
    double *msd;     /* [msd_frames] MSD at that lag */
} RearrResult;

/* Collective. Analyse the run in run_dir (see above). res may be NULL; otherwise it receives the
 * result (release with analysis_rearr_result_free(), also after an error). Errors (one line,
 * every rank): run_dir or is.h5 missing, no /inherent table, event K out of range, the
 * snapshots of event K missing, trajectory.h5 missing or unequally spaced (with msd), files
 * that cannot be written. */
int analysis_rearr_run(const char *run_dir, const RearrOptions *o, RearrResult *res);
void analysis_rearr_result_free(RearrResult *r); /* NULL-safe; leaves *r zeroed */

#endif
