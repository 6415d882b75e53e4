/* Smoke test of OpenBLAS through CBLAS: dgemm with transposes, alpha and beta on odd shapes
 * (so no kernel gets a convenient multiple of its register block), against a naive triple loop
 * with the same summation, on every rank with rank-dependent data. */
#include <cblas.h>

#include "testutil.h"

enum { M = 37, N = 29, K = 41 };

/* A fixed, rank-dependent pattern in [-1, 1]. */
static double pat(int r, int i, int j, int s) {
    return sin(0.37 * i + 1.3 * j + 0.11 * s + r);
}

int main(int argc, char **argv) {
    tu_init(&argc, &argv);
    const int r = par_rank();
    /* C (M x N) = alpha A^T B + beta C with A stored K x M and B stored K x N, column-major. */
    static double A[K * M], B[K * N], C[M * N], ref[M * N];
    const double alpha = 1.5, beta = -0.5;
    for (int j = 0; j < M; ++j)
        for (int i = 0; i < K; ++i)
            A[i + j * K] = pat(r, i, j, 1);
    for (int j = 0; j < N; ++j)
        for (int i = 0; i < K; ++i)
            B[i + j * K] = pat(r, i, j, 2);
    for (int j = 0; j < N; ++j)
        for (int i = 0; i < M; ++i)
            C[i + j * M] = ref[i + j * M] = pat(r, i, j, 3);

    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, M, N, K, alpha, A, K, B, K, beta, C, M);
    double err = 0.0;
    for (int j = 0; j < N; ++j)
        for (int i = 0; i < M; ++i) {
            double s = 0.0;
            for (int l = 0; l < K; ++l)
                s += A[l + i * K] * B[l + j * K];
            ref[i + j * M] = alpha * s + beta * ref[i + j * M];
            err = fmax(err, fabs(C[i + j * M] - ref[i + j * M]));
        }
    /* Entries are sums of K products of magnitude <= 1: rounding ~ K eps. */
    TCHECK(err < 1e-14 * K, "dgemm differs from the naive loop by %g", err);

    /* Row-major no-transpose path as well (CBLAS swaps operands internally). */
    static double Cr[M * N];
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0, A, K, B, N, 0.0, Cr, N);
    err = 0.0;
    for (int i = 0; i < M; ++i)
        for (int j = 0; j < N; ++j) {
            double s = 0.0;
            for (int l = 0; l < K; ++l)
                s += A[i * K + l] * B[l * N + j];
            err = fmax(err, fabs(Cr[i * N + j] - s));
        }
    TCHECK(err < 1e-14 * K, "row-major dgemm differs from the naive loop by %g", err);
    if (r == 0)
        printf("OpenBLAS: %s, %d thread(s)\n", openblas_get_config(), openblas_get_num_threads());
    return tu_finish();
}
