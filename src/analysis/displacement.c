/* displacement.c: displacement fields of inherent structures (PHYSICS.md section 4).
 *
 *   Delta r_i  = minimum image of r_IS,i(t) - r_IS,i(t - Dt)
 *   |Delta r|  = (sum_i |Delta r_i|^2)^(1/2)
 *   N_rearr    = [sum_i |Delta r_i|^2]^2 / sum_i |Delta r_i|^4          (Eq. 7)
 * N_rearr is a participation number: N for a field with all |Delta r_i| equal (a uniform
 * translation, or any field of equal magnitudes), 1 for a single displaced atom.
 *
 * Event profile: ratio(r) = <|Delta r_i| / |Delta r_1|> in radial bins around the most-displaced
 * atom 1. In an elastic continuum the far field of a local (Eshelby-like) rearrangement decays
 * as r^-2 in 3D; the paper reports a ~ 2.5-3 for the glass, which the fit measures. Why bins
 * up to L/2: beyond it a spherical shell leaves the periodic cell and its atoms are images of
 * nearer ones in other directions, which flattens the tail. Why fit ln(mean ratio) against
 * ln(mean r) over whole bins (not per atom): the per-atom values scatter over decades (the
 * field's angular structure), the bin means are what a log-log plot of the paper shows.
 * Default window 2 <= r <= L/2: below ~2 sigma is the core of the rearrangement, not the far
 * field.
 *
 * Parallel: id-block inputs; per-bin sums and the field's moments go through par_sum_d, the
 * maximum through par_max_d/par_min_d (ties broken by the lowest id), and the position of atom
 * 1 reaches every rank as a sum in which only its owner contributes (exact).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "basin/analysis.h"
#include "basin/util.h"

void analysis_min_image_diff(int64_t n, const double *a, const double *b, double L, double *out) {
    for (int64_t k = 0; k < 3 * n; ++k) {
        double dx = a[k] - b[k];
        dx -= L * nearbyint(dx / L);
        out[k] = dx;
    }
}

void analysis_disp_stats(int64_t lo, int64_t n, const double *d, DispStats *s) {
    double m[2] = {0.0, 0.0}, mx = 0.0;
    int64_t imx = -1;
    for (int64_t i = 0; i < n; ++i) {
        const double *di = d + 3 * i;
        const double q = di[0] * di[0] + di[1] * di[1] + di[2] * di[2];
        m[0] += q;
        m[1] += q * q;
        if (q > mx) {
            mx = q;
            imx = lo + i;
        }
    }
    double gmx = mx;
    par_sum_d(m, 2);
    par_max_d(&gmx, 1);
    double id = (gmx > 0.0 && mx == gmx) ? (double)imx : INFINITY;
    par_min_d(&id, 1);
    s->sum2 = m[0];
    s->sum4 = m[1];
    s->norm = sqrt(m[0]);
    s->n_rearr = m[1] > 0.0 ? m[0] * m[0] / m[1] : 0.0;
    s->max = sqrt(gmx);
    s->max_id = gmx > 0.0 ? (int64_t)id : -1;
}

double analysis_n_rearr(int64_t n, const double *d) {
    DispStats s;
    analysis_disp_stats(0, n, d, &s);
    return s.n_rearr;
}

double analysis_linear_fit(int n, const double *t, const double *y, double *intercept,
                           double *err) {
    if (intercept) *intercept = NAN;
    if (err) *err = NAN;
    if (n < 2) return NAN;
    double mt = 0.0, my = 0.0;
    for (int k = 0; k < n; ++k) {
        mt += t[k];
        my += y[k];
    }
    mt /= n;
    my /= n;
    double stt = 0.0, sty = 0.0;
    for (int k = 0; k < n; ++k) {
        stt += (t[k] - mt) * (t[k] - mt);
        sty += (t[k] - mt) * (y[k] - my);
    }
    if (!(stt > 0.0)) return NAN;
    const double s = sty / stt, c = my - s * mt;
    if (intercept) *intercept = c;
    if (err && n > 2) {
        double rss = 0.0;
        for (int k = 0; k < n; ++k) {
            const double e = y[k] - c - s * t[k];
            rss += e * e;
        }
        *err = sqrt(rss / (n - 2) / stt);
    }
    return s;
}

void analysis_event_profile_free(EventProfile *p) {
    if (!p) return;
    free(p->r_mean);
    free(p->ratio);
    free(p->count);
    p->r_mean = p->ratio = NULL;
    p->count = NULL;
}

int analysis_event_profile(int64_t lo, int64_t n, const double *x, const double *d, double L,
                           int nbins, double fit_rmin, double fit_rmax, EventProfile *out) {
    memset(out, 0, sizeof(*out));
    if (nbins < 1)
        return basin_error(BASIN_ERR_CONFIG, "analysis", "nbins", "must be >= 1, got %d", nbins);
    if (!(L > 0.0)) return basin_error(BASIN_ERR_CONFIG, "analysis", "L", "must be > 0, got %g", L);
    DispStats st;
    analysis_disp_stats(lo, n, d, &st);
    if (!(st.max > 0.0))
        return basin_error(BASIN_ERR_PHYSICS, "analysis", NULL,
                           "event profile of a zero displacement field");
    /* position of atom 1 on every rank: only its owner adds it */
    double c[3] = {0.0, 0.0, 0.0};
    if (st.max_id >= lo && st.max_id < lo + n)
        for (int k = 0; k < 3; ++k)
            c[k] = x[3 * (st.max_id - lo) + k];
    par_sum_d(c, 3);

    const double rmax = 0.5 * L, w = rmax / nbins;
    double *acc = NULL; /* per bin: count, sum r, sum ratio */
    BCHK(basin_error_agree(BALLOC(acc, 3 * (size_t)nbins)));
    for (int64_t i = 0; i < n; ++i) {
        if (lo + i == st.max_id) continue;
        double dx[3], r2 = 0.0;
        for (int k = 0; k < 3; ++k) {
            dx[k] = x[3 * i + k] - c[k];
            dx[k] -= L * nearbyint(dx[k] / L);
            r2 += dx[k] * dx[k];
        }
        const double r = sqrt(r2);
        if (!(r > 0.0) || r > rmax) continue;
        int b = (int)(r / w);
        if (b >= nbins) b = nbins - 1;
        const double *di = d + 3 * i;
        acc[3 * b] += 1.0;
        acc[3 * b + 1] += r;
        acc[3 * b + 2] += sqrt(di[0] * di[0] + di[1] * di[1] + di[2] * di[2]) / st.max;
    }
    par_sum_d(acc, 3 * nbins);

    int rc = BALLOC(out->r_mean, nbins);
    if (rc == 0) rc = BALLOC(out->ratio, nbins);
    if (rc == 0) rc = BALLOC(out->count, nbins);
    double *ft = NULL, *fy = NULL;
    if (rc == 0) rc = BALLOC(ft, nbins);
    if (rc == 0) rc = BALLOC(fy, nbins);
    rc = basin_error_agree(rc);
    if (rc) {
        free(acc);
        free(ft);
        free(fy);
        analysis_event_profile_free(out);
        return rc;
    }
    out->nbins = nbins;
    out->r_max = rmax;
    out->center_id = st.max_id;
    out->center_disp = st.max;
    out->fit_rmin = fit_rmin > 0.0 ? fit_rmin : 2.0;
    out->fit_rmax = fit_rmax > 0.0 ? fit_rmax : rmax;
    int nf = 0;
    for (int b = 0; b < nbins; ++b) {
        const double cnt = acc[3 * b];
        out->count[b] = (int64_t)llround(cnt);
        out->r_mean[b] = cnt > 0.0 ? acc[3 * b + 1] / cnt : (b + 0.5) * w;
        out->ratio[b] = cnt > 0.0 ? acc[3 * b + 2] / cnt : 0.0;
        if (cnt > 0.0 && out->ratio[b] > 0.0 && out->r_mean[b] >= out->fit_rmin &&
            out->r_mean[b] <= out->fit_rmax) {
            ft[nf] = log(out->r_mean[b]);
            fy[nf] = log(out->ratio[b]);
            ++nf;
        }
    }
    double err;
    const double slope = analysis_linear_fit(nf, ft, fy, NULL, &err);
    out->a = -slope;
    out->a_err = err;
    out->fit_bins = nf;
    free(acc);
    free(ft);
    free(fy);
    return 0;
}
