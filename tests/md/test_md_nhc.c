/* md: the Nose-Hoover chain on its own (no atoms, no domain, no MPI in the code under test).
 *  1. One half-step of a one-link chain against the closed form of the LAMMPS splitting.
 *  2. N_f independent harmonic oscillators (frequencies spread over [0.5, 2]) thermostatted by
 *     a 3-link chain with velocity Verlet: the extended energy H = K + U + nhc_energy() is
 *     conserved (this checks the chain energy against the dynamics), a hot start relaxes to
 *     the target and the window mean of 2K/N_f holds T within 2 %.
 *  3. Bad parameters are refused with BASIN_ERR_CONFIG.
 * Every rank runs the same serial computation. */
#include <math.h>
#include <stdlib.h>

#include "basin/md.h"
#include "basin/util.h"
#include "testutil.h"

static void test_one_link_closed_form(void) {
    NhcChain c;
    const double t = 0.7, ndof = 30.0, tdamp = 0.5, dt = 0.005, ke = 14.0;
    TOK(nhc_init(&c, 1, t, ndof, tdamp, dt));
    const double q = ndof * t * tdamp * tdamp;
    TCLOSE(c.q[0], q, 1e-15, 0);
    /* xi += a dt/4; s = exp(-dt/2 xi); a' = (2 K s^2 - N_f T)/Q; xi += a' dt/4 */
    double xi = (2.0 * ke - ndof * t) / q * dt / 4.0;
    const double s = exp(-0.5 * dt * xi);
    const double eta = 0.5 * dt * xi;
    xi += (2.0 * ke * s * s - ndof * t) / q * dt / 4.0;
    const double sc = nhc_half_step(&c, ke);
    TCLOSE(sc, s, 1e-15, 0);
    TCLOSE(c.eta_dot[0], xi, 1e-14, 0);
    TCLOSE(c.eta[0], eta, 1e-14, 0);
    TCLOSE(nhc_energy(&c), ndof * t * eta + 0.5 * q * xi * xi, 1e-14, 0);
}

/* K, U of the oscillators */
static void osc_energy(int n, const double *x, const double *v, const double *w2, double *k,
                       double *u) {
    double a = 0.0, b = 0.0;
    for (int i = 0; i < n; ++i) {
        a += 0.5 * v[i] * v[i];
        b += 0.5 * w2[i] * x[i] * x[i];
    }
    *k = a;
    *u = b;
}

static void test_oscillators(void) {
    const int n = 300;
    const double t = 1.0, dt = 0.01, tdamp = 0.5;
    const int nsteps = 20000, nwin = 10000;
    double *x = calloc(n, sizeof(double)), *v = calloc(n, sizeof(double)),
           *w2 = calloc(n, sizeof(double));
    for (int i = 0; i < n; ++i) {
        const double w = 0.5 + 1.5 * i / (n - 1.0);
        w2[i] = w * w;
        double g[2];
        rng_normal2(5, RNG_STREAM_TEST, (uint64_t)i, 0, g);
        const double thot = 3.0; /* hot start: 3 T */
        x[i] = g[0] * sqrt(thot) / w;
        v[i] = g[1] * sqrt(thot);
    }
    NhcChain c;
    TOK(nhc_init(&c, 3, t, (double)n, tdamp, dt));
    double k, u;
    osc_energy(n, x, v, w2, &k, &u);
    const double h0 = k + u;
    double hmax = 0.0, tsum = 0.0;
    for (int s = 0; s < nsteps; ++s) {
        double sc = nhc_half_step(&c, k);
        for (int i = 0; i < n; ++i)
            v[i] = v[i] * sc - 0.5 * dt * w2[i] * x[i];
        for (int i = 0; i < n; ++i)
            x[i] += dt * v[i];
        for (int i = 0; i < n; ++i)
            v[i] -= 0.5 * dt * w2[i] * x[i];
        osc_energy(n, x, v, w2, &k, &u);
        sc = nhc_half_step(&c, k);
        for (int i = 0; i < n; ++i)
            v[i] *= sc;
        k *= sc * sc;
        const double h = k + u + nhc_energy(&c);
        hmax = fmax(hmax, fabs(h - h0));
        if (s >= nsteps - nwin) tsum += 2.0 * k / n;
    }
    const double tmean = tsum / nwin;
    /* O(dt^2) shadow-energy wobble: (w dt)^2 / 8 of the oscillator energy at most */
    TCHECK(hmax < 1e-3 * n * t, "extended energy not conserved: max |H - H0| = %g (N T = %g)", hmax,
           n * t);
    TCHECK(fabs(tmean / t - 1.0) < 0.02, "chain does not hold T: window mean %g, target %g", tmean,
           t);
    if (par_rank() == 0)
        printf("oscillators: max|H-H0|/(N T) = %.3e, window <2K/N_f>/T = %.5f\n", hmax / (n * t),
               tmean / t);
    free(x);
    free(v);
    free(w2);
}

static void test_bad_parameters(void) {
    NhcChain c;
    TCHECK(nhc_init(&c, 0, 1, 10, 0.5, 0.005) == BASIN_ERR_CONFIG, "chain 0 accepted");
    TCHECK(nhc_init(&c, NHC_MAX_CHAIN + 1, 1, 10, 0.5, 0.005) == BASIN_ERR_CONFIG,
           "chain too long accepted");
    TCHECK(nhc_init(&c, 3, -1, 10, 0.5, 0.005) == BASIN_ERR_CONFIG, "T < 0 accepted");
    TCHECK(nhc_init(&c, 3, 1, 10, 0.0, 0.005) == BASIN_ERR_CONFIG, "tdamp = 0 accepted");
    basin_error_clear();
}

int main(int argc, char **argv) {
    tu_init(&argc, &argv);
    test_one_link_closed_form();
    test_oscillators();
    test_bad_parameters();
    return tu_finish();
}
