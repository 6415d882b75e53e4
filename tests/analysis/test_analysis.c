/* analysis: displacement-field statistics, event profile and exponent, MSD, verdict/report,
 * on id-block arrays (1, 2 and 4 ranks; every rank builds only its block of the synthetic
 * data from closed formulas keyed by id, so the checks are independent of the rank count).
 *  1. N_rearr (Eq. 7): a field with all |dr_i| equal (random directions) gives N; a uniform
 *     translation gives N; a single displaced atom gives 1; two atoms with |dr| 1 and 2 give
 *     (1 + 4)^2 / (1 + 16). disp_stats finds the largest displacement and its id (ties: lowest
 *     id).
 *  2. Event profile: atoms on a simple cubic lattice (spacing 1, L = 24), |dr_i| = r^-2.7 / 2
 *     around atom 1 (|dr_1| = 1) in random directions: the fitted far-field exponent is
 *     2.7 +- 0.03 over 2 <= r <= L/2, and the binned ratio matches r^-2.7 / 2 within 5 %.
 *  3. MSD: a ballistic trajectory r_i(t) = r_i(0) + v_i t gives MSD(k) = <|v|^2> k^2 and a
 *     uniform drift c t gives |c|^2 k^2 (1e-12 relative), for all origins and with stride 3.
 *  4. Verdict and report on a synthetic IS series (noise floor, one event, return).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basin/analysis.h"
#include "basin/h5md.h"
#include "basin/util.h"
#include "testutil.h"

static void dir3(uint64_t id, uint64_t ctr, double out[3]) {
    double g[3];
    rng_normal3(42, RNG_STREAM_TEST, id, ctr, g);
    const double n = sqrt(g[0] * g[0] + g[1] * g[1] + g[2] * g[2]);
    for (int k = 0; k < 3; ++k)
        out[k] = g[k] / n;
}

static void test_nrearr(void) {
    const int64_t n = 1000;
    int64_t lo, hi;
    idblock_range(n, par_rank(), par_size(), &lo, &hi);
    const int64_t nb = hi - lo;
    double *d = calloc(3 * (size_t)(nb + 1), sizeof(double));
    for (int64_t i = lo; i < hi; ++i)
        dir3((uint64_t)i, 0, d + 3 * (i - lo));
    TCLOSE(analysis_n_rearr(nb, d), (double)n, 1e-12, 0.0);
    for (int64_t i = lo; i < hi; ++i) {
        d[3 * (i - lo)] = 0.3;
        d[3 * (i - lo) + 1] = -0.1;
        d[3 * (i - lo) + 2] = 0.2;
    }
    TCLOSE(analysis_n_rearr(nb, d), (double)n, 1e-12, 0.0);
    memset(d, 0, 3 * (size_t)nb * sizeof(double));
    if (617 >= lo && 617 < hi) d[3 * (617 - lo) + 1] = 0.5;
    DispStats s;
    analysis_disp_stats(lo, nb, d, &s);
    TCLOSE(s.n_rearr, 1.0, 1e-14, 0.0);
    TCHECK(s.max_id == 617 && s.max == 0.5, "max %g at %lld", s.max, (long long)s.max_id);
    if (900 >= lo && 900 < hi) d[3 * (900 - lo)] = -1.0;
    if (617 >= lo && 617 < hi) d[3 * (617 - lo) + 1] = 2.0;
    if (618 >= lo && 618 < hi) d[3 * (618 - lo) + 2] = 2.0; /* tie: the lower id wins */
    analysis_disp_stats(lo, nb, d, &s);
    TCLOSE(s.n_rearr, 81.0 / 33.0, 1e-14, 0.0);
    TCHECK(s.max_id == 617 && s.max == 2.0, "max %g at %lld", s.max, (long long)s.max_id);
    TCLOSE(s.norm, 3.0, 1e-14, 0.0);
    memset(d, 0, 3 * (size_t)nb * sizeof(double));
    analysis_disp_stats(lo, nb, d, &s);
    TCHECK(s.n_rearr == 0.0 && s.max_id == -1, "zero field: N_rearr %g id %lld", s.n_rearr,
           (long long)s.max_id);
    free(d);
}

static void test_profile(void) {
    const int m = 24;
    const int64_t n = (int64_t)m * m * m;
    const double L = m, a_true = 2.7;
    int64_t lo, hi;
    idblock_range(n, par_rank(), par_size(), &lo, &hi);
    const int64_t nb = hi - lo;
    double *x = calloc(3 * (size_t)(nb + 1), sizeof(double));
    double *d = calloc(3 * (size_t)(nb + 1), sizeof(double));
    const int64_t c = (m / 2 * m + m / 2) * m + m / 2; /* the centre atom */
    const double xc[3] = {m / 2 + 0.25, m / 2 + 0.25, m / 2 + 0.25};
    for (int64_t i = lo; i < hi; ++i) {
        const int64_t ix = i % m, iy = (i / m) % m, iz = i / (m * m);
        double *xi = x + 3 * (i - lo);
        xi[0] = ix + 0.25;
        xi[1] = iy + 0.25;
        xi[2] = iz + 0.25;
        double r2 = 0.0;
        for (int k = 0; k < 3; ++k) {
            double dx = xi[k] - xc[k];
            dx -= L * nearbyint(dx / L);
            r2 += dx * dx;
        }
        const double mag = i == c ? 1.0 : 0.5 * pow(sqrt(r2), -a_true);
        double u[3];
        dir3((uint64_t)i, 1, u);
        for (int k = 0; k < 3; ++k)
            d[3 * (i - lo) + k] = mag * u[k];
    }
    EventProfile p;
    TOK(analysis_event_profile(lo, nb, x, d, L, 40, 0.0, 0.0, &p));
    TCHECK(p.center_id == c, "centre id %lld, expected %lld", (long long)p.center_id, (long long)c);
    TCLOSE(p.center_disp, 1.0, 1e-14, 0.0);
    TCLOSE(p.a, a_true, 0.0, 0.03);
    TCHECK(p.fit_bins >= 20, "fit used %d bins", p.fit_bins);
    int64_t total = 0;
    for (int b = 0; b < p.nbins; ++b) {
        total += p.count[b];
        if (p.count[b] > 0 && p.r_mean[b] >= 2.0)
            TCLOSE(p.ratio[b], 0.5 * pow(p.r_mean[b], -a_true), 0.05, 0.0);
    }
    TCHECK(total > 0 && total < n, "%lld atoms binned", (long long)total);
    if (par_rank() == 0)
        printf("profile: a = %.4f +- %.4f over %d bins (true %.2f)\n", p.a, p.a_err, p.fit_bins,
               a_true);
    analysis_event_profile_free(&p);
    TCHECK(analysis_event_profile(lo, nb, x, d, L, 0, 0.0, 0.0, &p) == BASIN_ERR_CONFIG,
           "nbins = 0 accepted");
    basin_error_clear();
    free(x);
    free(d);
}

static void test_msd(void) {
    const int64_t n = 777;
    const int nf = 12;
    int64_t lo, hi;
    idblock_range(n, par_rank(), par_size(), &lo, &hi);
    const int64_t nb = hi - lo;
    double *fr[12], msd[12];
    double v2 = 0.0; /* <|v|^2> from the same formula on every rank */
    for (int64_t i = 0; i < n; ++i) {
        double v[3];
        rng_normal3(5, RNG_STREAM_TEST, (uint64_t)i, 7, v);
        v2 += v[0] * v[0] + v[1] * v[1] + v[2] * v[2];
    }
    v2 /= (double)n;
    for (int t = 0; t < nf; ++t) {
        fr[t] = calloc(3 * (size_t)(nb + 1), sizeof(double));
        for (int64_t i = lo; i < hi; ++i) {
            double v[3], x0[3];
            rng_normal3(5, RNG_STREAM_TEST, (uint64_t)i, 7, v);
            rng_normal3(5, RNG_STREAM_TEST, (uint64_t)i, 8, x0);
            for (int k = 0; k < 3; ++k)
                fr[t][3 * (i - lo) + k] = 10.0 * x0[k] + v[k] * t;
        }
    }
    for (int stride = 1; stride <= 3; stride += 2) {
        TOK(analysis_msd(n, nb, nf, (const double *const *)fr, stride, msd));
        TCHECK(msd[0] == 0.0, "msd[0] = %g", msd[0]);
        for (int k = 1; k < nf; ++k)
            TCLOSE(msd[k], v2 * k * k, 1e-12, 0.0);
    }
    const double cdrift[3] = {0.1, -0.2, 0.05};
    for (int t = 0; t < nf; ++t)
        for (int64_t i = lo; i < hi; ++i)
            for (int k = 0; k < 3; ++k)
                fr[t][3 * (i - lo) + k] = (double)i + cdrift[k] * t;
    TOK(analysis_msd(n, nb, nf, (const double *const *)fr, 1, msd));
    for (int k = 1; k < nf; ++k)
        TCLOSE(msd[k], 0.0525 * k * k, 1e-12, 0.0);
    for (int t = 0; t < nf; ++t)
        free(fr[t]);
}

static void test_series(void) {
    const double t[6] = {0.0, 0.1, 0.2, 0.3, 0.4, 0.5};
    const double dr[6] = {0.0, 1e-7, 2e-7, 0.31, 1e-7, 0.0};
    const double dphi[6] = {0.0, 1e-12, 1e-12, 0.02, 1e-12, 0.0};
    const double nr[6] = {0.0, 400.0, 300.0, 37.0, 500.0, 0.0};
    const double dr0[6] = {0.0, 1e-7, 2e-7, 0.31, 0.31, 0.31};
    const double dphi0[6] = {0.0, 0.0, 0.0, -0.02, -0.02, -0.02};
    int64_t first = 0, count = 0;
    TCHECK(analysis_rearr_verdict(6, dr, 1e-2, &first, &count) == 1 && first == 3 && count == 1,
           "verdict first %lld count %lld", (long long)first, (long long)count);
    TCHECK(analysis_rearr_verdict(3, dr, 1e-2, &first, &count) == 0 && first == -1 && count == 0,
           "quiet series");
    IsSeries s = {
        .n = 6, .time = t, .dr = dr, .dphi = dphi, .n_rearr = nr, .dr0 = dr0, .dphi0 = dphi0};
    RearrReport rep;
    TOK(analysis_rearr_report(&s, 1e-2, &rep, par_rank() == 0 ? stdout : NULL));
    TCHECK(rep.yes && rep.events == 1 && rep.first_event == 3, "report verdict");
    TCLOSE(rep.first_time, 0.3, 1e-15, 0.0);
    TCLOSE(rep.floor_dr, 2e-7, 1e-15, 0.0);
    TCLOSE(rep.mean_event_nrearr, 37.0, 1e-15, 0.0);
    TCLOSE(rep.max_dr0, 0.31, 1e-15, 0.0);
    TCLOSE(rep.max_abs_dphi0, 0.02, 1e-15, 0.0);
    TCHECK(!rep.returned, "did not return to the initial IS");
    TCHECK(analysis_rearr_report(&s, 0.0, &rep, NULL) == BASIN_ERR_CONFIG, "threshold 0 taken");
    basin_error_clear();
}

int main(int argc, char **argv) {
    tu_init(&argc, &argv);
    test_nrearr();
    test_profile();
    test_msd();
    test_series();
    return tu_finish();
}
