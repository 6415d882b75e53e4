/* Smoke test of BLACS + ScaLAPACK + ELPA through basin/linalg.h: a random symmetric matrix,
 * built from a formula of the global (i, j) so that every rank count distributes the same matrix,
 * is diagonalised by ELPA 1-stage, ELPA 2-stage and pdsyevd. Eigenvalues are compared with
 * LAPACK dsyevd on the full matrix (computed on every rank: n is small), eigenvectors are judged
 * by the residual ||A Z - Z diag(w)|| and by ||Z^T Z - I||, never entry by entry (signs and
 * phases are arbitrary). Also checks the grid shape rule, the index maps and that a bad ELPA
 * request comes back as a BASIN_ERR_LIB status with a message instead of an abort. */
#include <stdint.h>
#include <string.h>

#include <cblas.h>
#include <elpa/elpa.h>
#include <lapacke.h>

#include "basin/linalg.h"
#include "testutil.h"

/* n not a multiple of nb, so the last block of rows/columns is partial on some rank; nb = 16 is
 * small enough that a 2 x 2 grid still gets several blocks per process row and column. */
enum { N = 200, NB = 16 };

/* splitmix64: a fixed hash, so the matrix is the same on every rank and every run. */
static uint64_t mix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Symmetric by construction: depends on the unordered pair {i, j}; uniform in [-1, 1). */
static double entry(int i, int j) {
    const uint64_t lo = (uint64_t)(i < j ? i : j), hi = (uint64_t)(i < j ? j : i);
    return 2.0 * (double)(mix(hi * (hi + 1) / 2 + lo) >> 11) * 0x1.0p-53 - 1.0;
}

static void check_grid_shape(void) {
    static const int p[] = {1, 2, 3, 4, 6, 7, 8, 12, 16};
    static const int want_r[] = {1, 2, 3, 2, 3, 7, 4, 4, 4};
    for (size_t k = 0; k < sizeof p / sizeof p[0]; ++k) {
        int r, c;
        linalg_grid_shape(p[k], &r, &c);
        TCHECK(r == want_r[k] && r * c == p[k], "p = %d gave %d x %d", p[k], r, c);
    }
}

/* The 0-based maps must invert each other and agree with numroc's local counts. */
static void check_index_maps(const LinalgMatrix *a) {
    const LinalgGrid *g = a->grid;
    int nrow = 0, bad = 0;
    for (int i = 0; i < a->m; ++i) {
        const int p = linalg_g2p(i, a->nb, g->nprow), l = linalg_g2l(i, a->nb, g->nprow);
        if (linalg_l2g(l, a->nb, p, g->nprow) != i) ++bad;
        if (p == g->myrow) {
            if (linalg_row_l2g(a, l) != i) ++bad;
            ++nrow;
        }
    }
    TCHECK(bad == 0 && nrow == a->lrows, "%d inconsistent maps, %d rows vs numroc %d", bad, nrow,
           a->lrows);
    size_t off = 0;
    int owned = 0;
    for (int j = 0; j < a->n; ++j)
        for (int i = 0; i < a->m; ++i)
            owned += linalg_local_offset(a, i, j, &off);
    TCHECK(owned == a->lrows * a->lcols, "owns %d elements, stores %d", owned, a->lrows * a->lcols);
}

static double max_abs_diff(const double *x, const double *y, int n) {
    double d = 0.0;
    for (int i = 0; i < n; ++i)
        d = fmax(d, fabs(x[i] - y[i]));
    return d;
}

/* Residual and orthonormality of the n eigenpairs (w, Z) of the full matrix a, relative to
 * ||A||_F: both should sit at a small multiple of n * machine epsilon. */
static void check_eigenpairs(const char *who, double secs, const double *a, const LinalgMatrix *zd,
                             const double *w, double anorm, double *z, double *r) {
    TOK(linalg_matrix_gather(zd, z));
    memcpy(r, z, sizeof(double) * N * N);
    for (int j = 0; j < N; ++j)
        cblas_dscal(N, w[j], r + (size_t)j * N, 1);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1.0, a, N, z, N, -1.0, r, N);
    const double res = LAPACKE_dlange(LAPACK_COL_MAJOR, 'F', N, N, r, N) / anorm;
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, N, N, N, 1.0, z, N, z, N, 0.0, r, N);
    for (int j = 0; j < N; ++j)
        r[j + (size_t)j * N] -= 1.0;
    const double orth = LAPACKE_dlange(LAPACK_COL_MAJOR, 'M', N, N, r, N);
    TCHECK(res < 1e-14 * N, "%s: ||AZ - Z diag(w)||_F / ||A||_F = %.3g", who, res);
    TCHECK(orth < 1e-14 * N, "%s: max |Z^T Z - I| = %.3g", who, orth);
    if (par_rank() == 0)
        printf("%-12s %6.3f s  residual %.2e  orthonormality %.2e\n", who, secs, res, orth);
}

int main(int argc, char **argv) {
    /* ELPA and pdsyevd make hundreds of small collectives. Ranks that busy-poll while a CI box
     * runs other jobs beside them can lose whole time slices per collective (seconds instead of
     * 0.1 s here); Open MPI yields only when it sees more ranks than slots. Yielding costs
     * nothing on idle cores. Set before MPI_Init, unless the caller chose otherwise. */
    setenv("OMPI_MCA_mpi_yield_when_idle", "1", 0);
    tu_init(&argc, &argv);
    check_grid_shape();

    LinalgGrid *g = NULL;
    TOK(linalg_grid_create(MPI_COMM_WORLD, 0, 0, &g));
    if (!g) return tu_finish();
    TCHECK(g->nprow * g->npcol == par_size() && g->nprow >= g->npcol, "grid %d x %d on %d ranks",
           g->nprow, g->npcol, par_size());
    /* A shape that does not match the rank count is refused before BLACS sees it. */
    LinalgGrid *bad = NULL;
    TCHECK(linalg_grid_create(MPI_COMM_WORLD, par_size() + 1, 1, &bad) == BASIN_ERR_RANKS && !bad,
           "wrong grid shape accepted");
    /* A second, differently shaped grid on the same communicator may live beside the first (the
     * BLACS system handle is shared) and be destroyed before it. */
    LinalgGrid *col = NULL;
    TOK(linalg_grid_create(MPI_COMM_WORLD, 1, par_size(), &col));
    TCHECK(col && col->nprow == 1 && col->myrow == 0 && col->mycol == par_rank(),
           "1 x P grid: rank %d at column %d", par_rank(), col ? col->mycol : -1);
    linalg_grid_destroy(&col);

    LinalgMatrix *a = NULL, *work = NULL, *z = NULL;
    TOK(linalg_matrix_create(g, N, N, NB, &a));
    TOK(linalg_matrix_create(g, N, N, NB, &work));
    TOK(linalg_matrix_create(g, N, N, NB, &z));
    /* Small n: full copies on every rank are the point of the test (a LAPACK reference). */
    double *full = malloc(sizeof(double) * N * N), *tmp = malloc(sizeof(double) * N * N);
    double *zf = malloc(sizeof(double) * N * N), *wref = malloc(sizeof(double) * N);
    double *w = malloc(sizeof(double) * N);
    if (!a || !work || !z || !full || !tmp || !zf || !wref || !w) {
        TCHECK(0, "allocation failed");
        return tu_finish();
    }
    check_index_maps(a);

    for (int lj = 0; lj < a->lcols; ++lj)
        for (int li = 0; li < a->lrows; ++li)
            a->data[li + (size_t)lj * a->lld] = entry(linalg_row_l2g(a, li), linalg_col_l2g(a, lj));
    for (int j = 0; j < N; ++j)
        for (int i = 0; i < N; ++i)
            full[i + (size_t)j * N] = entry(i, j);
    TOK(linalg_matrix_gather(a, tmp));
    TCHECK(memcmp(tmp, full, sizeof(double) * N * N) == 0, "gather does not rebuild the matrix");

    const double anorm = LAPACKE_dlange(LAPACK_COL_MAJOR, 'F', N, N, full, N);
    TCHECK(LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'N', 'L', N, tmp, N, wref) == 0, "dsyevd failed");
    /* Eigenvalue errors of a backward-stable solver are ~ eps ||A||_2 <= eps ||A||_F. */
    const double wtol = 1e-13 * anorm;

    static const struct {
        LinalgElpaSolver s;
        const char *name;
    } solvers[] = {{LINALG_ELPA_1STAGE, "ELPA 1-stage"}, {LINALG_ELPA_2STAGE, "ELPA 2-stage"}};
    for (int k = 0; k < 2; ++k) {
        TOK(linalg_matrix_copy(a, work));
        memset(w, 0, sizeof(double) * N);
        double t = par_wtime();
        TOK(linalg_eigh_elpa(work, N, solvers[k].s, 0, w, z));
        const double dw = max_abs_diff(w, wref, N);
        TCHECK(dw < wtol, "%s: max |w - w_lapack| = %.3g", solvers[k].name, dw);
        check_eigenpairs(solvers[k].name, par_wtime() - t, full, z, w, anorm, zf, tmp);
    }

    TOK(linalg_matrix_copy(a, work));
    double tp = par_wtime();
    TOK(linalg_eigh_pdsyevd(work, w, z));
    TCHECK(max_abs_diff(w, wref, N) < wtol, "pdsyevd: max |w - w_lapack| = %.3g",
           max_abs_diff(w, wref, N));
    check_eigenpairs("pdsyevd", par_wtime() - tp, full, z, w, anorm, zf, tmp);

    /* Eigenvalues only (z == NULL), the 2-stage sweet spot: all n values still come back. */
    TOK(linalg_matrix_copy(a, work));
    TOK(linalg_eigh_elpa(work, N / 10, LINALG_ELPA_2STAGE, ELPA_2STAGE_REAL_GENERIC, w, NULL));
    TCHECK(max_abs_diff(w, wref, N) < wtol, "ELPA eigenvalues only: max |w - w_lapack| = %.3g",
           max_abs_diff(w, wref, N));

    /* A library error must come back as a status with ELPA's reason, on every rank alike. Debian
     * builds no AVX-512 kernel, so ELPA refuses it at elpa_set time. */
    TOK(linalg_matrix_copy(a, work));
    int rc = linalg_eigh_elpa(work, N, LINALG_ELPA_2STAGE, ELPA_2STAGE_REAL_AVX512_BLOCK2, w, z);
    TCHECK(rc == BASIN_ERR_LIB && strstr(basin_error_message(), "real_kernel"),
           "unavailable kernel gave %d: %s", rc, basin_error_message());
    if (par_rank() == 0) printf("expected error: %s\n", basin_error_message());
    basin_error_clear();
    TCHECK(linalg_eigh_elpa(work, 0, LINALG_ELPA_1STAGE, 0, w, z) == BASIN_ERR_INTERNAL,
           "nev = 0 accepted");
    basin_error_clear();
    /* A matrix leaving the last process row without a block is refused on every rank. */
    if (g->nprow > 1) {
        LinalgMatrix *tiny = NULL;
        TOK(linalg_matrix_create(g, (g->nprow - 1) * NB, (g->nprow - 1) * NB, NB, &tiny));
        if (tiny)
            TCHECK(linalg_eigh_elpa(tiny, tiny->n, LINALG_ELPA_1STAGE, 0, w, NULL) ==
                       BASIN_ERR_CONFIG,
                   "matrix too small for the grid accepted");
        basin_error_clear();
        linalg_matrix_destroy(&tiny);
    }

    free(full);
    free(tmp);
    free(zf);
    free(wref);
    free(w);
    linalg_matrix_destroy(&a);
    linalg_matrix_destroy(&work);
    linalg_matrix_destroy(&z);
    TCHECK(!a && !z, "destroy does not clear the pointer");
    linalg_grid_destroy(&g);
    return tu_finish();
}
