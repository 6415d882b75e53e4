/* Smoke test of FFTW (used for the mode-energy autocorrelations): a real-to-complex transform of
 * x_k = c + a cos(2 pi m k / n) + b sin(2 pi q k / n) has exactly three non-zero outputs,
 * X_0 = n c, X_m = n a / 2 and X_q = -i n b / 2, and the complex-to-real inverse returns n x.
 * Each rank uses its own frequencies, so every rank really runs a different transform. */
/* <complex.h> before <fftw3.h> makes fftw_complex the C99 double complex (FFTW's documented
 * interoperability), so outputs are compared as complex numbers. */
#include <complex.h>

#include <fftw3.h>

#include "testutil.h"

enum { N = 48 }; /* not a power of two: FFTW combines radix-2 and radix-3 codelets */

int main(int argc, char **argv) {
    tu_init(&argc, &argv);
    const int m = 3 + par_rank() % 5, q = m + 4;
    const double c = 0.5, a = 2.0, b = -1.25, pi = acos(-1.0);
    double *x = fftw_alloc_real(N), *back = fftw_alloc_real(N);
    fftw_complex *X = fftw_alloc_complex(N / 2 + 1);
    /* FFTW_ESTIMATE: no timing runs, plans are cheap and deterministic; the planner may
     * overwrite the arrays, so fill them after planning. */
    fftw_plan fwd = fftw_plan_dft_r2c_1d(N, x, X, FFTW_ESTIMATE);
    fftw_plan inv = fftw_plan_dft_c2r_1d(N, X, back, FFTW_ESTIMATE);
    TCHECK(x && back && X && fwd && inv, "FFTW allocation or planning failed");
    if (!(x && back && X && fwd && inv)) return tu_finish();
    for (int k = 0; k < N; ++k)
        x[k] = c + a * cos(2 * pi * m * k / N) + b * sin(2 * pi * q * k / N);
    fftw_execute(fwd);

    const double tol = 1e-12 * N;
    for (int f = 0; f <= N / 2; ++f) {
        double complex want = 0.0;
        if (f == 0) want = N * c;
        if (f == m) want = N * a / 2;
        if (f == q) want = -I * N * b / 2;
        const double complex got = X[f];
        TCHECK(cabs(got - want) < tol, "X[%d] = %g%+gi, expected %g%+gi", f, creal(got), cimag(got),
               creal(want), cimag(want));
    }
    fftw_execute(inv); /* c2r destroys its input, X is not used afterwards */
    double err = 0.0;
    for (int k = 0; k < N; ++k)
        err = fmax(err, fabs(back[k] / N - x[k]));
    TCHECK(err < 1e-14 * N, "round trip error %g", err);

    fftw_destroy_plan(fwd);
    fftw_destroy_plan(inv);
    fftw_free(x);
    fftw_free(back);
    fftw_free(X);
    fftw_cleanup(); /* planner memory, or LeakSanitizer would be right to complain */
    return tu_finish();
}
