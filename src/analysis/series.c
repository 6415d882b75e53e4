/* series.c: the rearrangements verdict and summary of an inherent-structure time series
 * (PHYSICS.md sections 4 and 8; the Yes/No table of the paper).
 *
 * A rearrangement at t is |Delta r_IS(t)| above the threshold (inherent.event_threshold,
 * default 1e-2): far above the quench noise floor (< 1e-6 with the default tolerance,
 * docs/inherent.md) and below the smallest real inter-IS hop (~1e-1). The verdict of a run is
 * "Yes" if any sample is an event. The report also gives the largest sub-threshold value
 * ("floor_dr"), which in a clean run is the noise floor of the quenches and shows how far the
 * threshold is from it, and the basin-exploration quantities |r_IS(t) - r_IS(0)| and
 * Phi_IS(t) - Phi_IS(0) (bounded in all of the paper's runs).
 */
#include <math.h>

#include "basin/analysis.h"
#include "basin/util.h"

int analysis_rearr_verdict(int64_t n, const double *dr, double threshold, int64_t *first,
                           int64_t *count) {
    int64_t f = -1, c = 0;
    for (int64_t k = 0; k < n; ++k)
        if (dr[k] > threshold) {
            if (f < 0) f = k;
            ++c;
        }
    if (first) *first = f;
    if (count) *count = c;
    return c > 0;
}

int analysis_rearr_report(const IsSeries *s, double threshold, RearrReport *o, FILE *fp) {
    if (!(threshold > 0.0))
        return basin_error(BASIN_ERR_CONFIG, "analysis", "event_threshold", "must be > 0, got %g",
                           threshold);
    if (s->n < 0 || (s->n > 0 && (!s->time || !s->dr)))
        return basin_error(BASIN_ERR_CONFIG, "analysis", "series",
                           "need n >= 0 and time/dr arrays (n = %lld)", (long long)s->n);
    o->samples = s->n;
    o->yes = analysis_rearr_verdict(s->n, s->dr, threshold, &o->first_event, &o->events);
    o->first_time = o->first_event >= 0 ? s->time[o->first_event] : NAN;
    o->max_dr = 0.0;
    o->max_dr_time = NAN;
    o->floor_dr = 0.0;
    o->min_event_dr = NAN;
    double sdr = 0.0, sdphi = 0.0, snr = 0.0;
    for (int64_t k = 0; k < s->n; ++k) {
        const double dr = s->dr[k];
        if (dr > o->max_dr || k == 0) {
            o->max_dr = dr;
            o->max_dr_time = s->time[k];
        }
        if (dr > threshold) {
            sdr += dr;
            sdphi += s->dphi ? s->dphi[k] : NAN;
            snr += s->n_rearr ? s->n_rearr[k] : NAN;
            if (!(dr >= o->min_event_dr)) o->min_event_dr = dr;
        } else if (dr > o->floor_dr) {
            o->floor_dr = dr;
        }
    }
    const double ne = (double)o->events;
    o->mean_event_dr = o->events ? sdr / ne : NAN;
    o->mean_event_dphi = o->events ? sdphi / ne : NAN;
    o->mean_event_nrearr = o->events ? snr / ne : NAN;
    o->max_dr0 = NAN;
    o->max_abs_dphi0 = NAN;
    o->final_dr0 = NAN;
    o->returned = 0;
    if (s->dr0 && s->n > 0) {
        o->max_dr0 = 0.0;
        for (int64_t k = 0; k < s->n; ++k)
            o->max_dr0 = fmax(o->max_dr0, s->dr0[k]);
        o->final_dr0 = s->dr0[s->n - 1];
        o->returned = o->yes && o->final_dr0 <= threshold;
    }
    if (s->dphi0 && s->n > 0) {
        o->max_abs_dphi0 = 0.0;
        for (int64_t k = 0; k < s->n; ++k)
            o->max_abs_dphi0 = fmax(o->max_abs_dphi0, fabs(s->dphi0[k]));
    }
    if (fp) {
        fprintf(fp, "rearrangements: %s (%lld of %lld IS samples with |dr_IS| > %g)\n",
                o->yes ? "Yes" : "No", (long long)o->events, (long long)o->samples, threshold);
        if (o->samples > 0)
            fprintf(fp,
                    "  largest |dr_IS| %.6g at t = %.6g; largest sub-threshold value "
                    "(noise floor seen) %.3g\n",
                    o->max_dr, o->max_dr_time, o->floor_dr);
        if (o->yes)
            fprintf(fp,
                    "  first event at t = %.6g; events: |dr_IS| %.4g..%.4g (mean %.4g), "
                    "mean |dPhi_IS| %.4g, mean N_rearr %.4g\n",
                    o->first_time, o->min_event_dr, o->max_dr, o->mean_event_dr, o->mean_event_dphi,
                    o->mean_event_nrearr);
        if (s->dr0 && o->samples > 0)
            fprintf(fp, "  basin exploration: max |r_IS(t) - r_IS(0)| %.4g, final %.4g%s\n",
                    o->max_dr0, o->final_dr0, o->returned ? " (back in the initial IS)" : "");
        if (s->dphi0 && o->samples > 0)
            fprintf(fp, "  max |Phi_IS(t) - Phi_IS(0)| %.6g\n", o->max_abs_dphi0);
    }
    return 0;
}
