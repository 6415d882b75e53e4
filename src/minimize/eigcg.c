/* eigcg.c: the soft eigenvectors of the preconditioned Hessian, as a by-product of the Newton
 * stage's conjugate gradients (eigCG of A. Stathopoulos, K. Orginos, SIAM J. Sci. Comput. 32,
 * 439 (2010), Algorithm 3.1, for a preconditioned operator).
 *
 * Why: the CG of a warm N = 32000 glass fights a few dozen soft eigenvalues of M^-1 H down to
 * 1e-4 of the top of the spectrum (benchmarks/RESULTS.md "Ritz values"); once their
 * eigenvectors are known, the next solves can lift them out of the way (newton.c "soft-mode
 * deflation"). The Lanczos process hidden in CG finds exactly those vectors, but its full basis
 * would cost one vector per iteration. eigCG keeps a window of m Lanczos vectors: when it is
 * full, the window is compressed to the nev lowest Ritz vectors of the current and of the
 * previous step (the latter make the restart locally optimal, like LOBPCG), and the Lanczos
 * process goes on. CG itself is untouched (same iterates), the extra cost is the window update.
 *
 * With preconditioned CG (z = M^-1 r, rho_j = r_j.z_j) the Lanczos vectors are
 * v_j = z_j / sqrt(rho_j), orthonormal in the M inner product, and the projected matrix
 * T = V^T H V has, for consecutive Lanczos vectors,
 *     T_jj = 1/alpha_j + beta_(j-1)/alpha_(j-1),   T_j,j+1 = -sqrt(beta_j)/alpha_j.
 * After a restart V <- V Q (Q: m x q), T <- Q^T T Q = diag(Ritz values); the next Lanczos
 * vector couples to the restarted vectors only through the last old one, so its new column is
 * T_(m-1),m times the last row of Q (vector `ell` below). Ritz pairs (mu, y) of T approximate
 * eigenpairs of M^-1 H, y M-orthonormal; the residual norm of a Ritz pair is
 * |t_next (ell . s)| for the coupling t_next to the next Lanczos vector (not stored).
 */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "basin/util.h"
#include "min_priv.h"

void min_eigcg_free(MinEigcg *e) {
    free(e->V);
    free(e->tmp);
    memset(e, 0, sizeof(*e));
}

int min_eigcg_reserve(MinEigcg *e, int m, int nev, int64_t n) {
    if (m > MIN_EIGCG_MAXM) m = MIN_EIGCG_MAXM;
    if (nev < 1 || 2 * nev + 2 > m) {
        e->m = 0; /* off */
        return 0;
    }
    if (n * m > e->cap) {
        const int64_t cap = n * m + 1;
        BCHK(basin_realloc((void **)&e->V, (size_t)cap, sizeof(double), "eigcg window"));
        BCHK(basin_realloc((void **)&e->tmp, (size_t)cap, sizeof(double), "eigcg window"));
        e->cap = cap;
    }
    e->m = m;
    e->nev = nev;
    e->n = n;
    e->cols = 0;
    e->restarts = 0;
    return 0;
}

/* Append v = z / sqrt(rho) as a new column coupled to the previous Lanczos vector by t (t is
 * ignored for the first column). */
static void append(MinEigcg *e, const double *z, double rho, double t) {
    const int c = e->cols, m = e->m;
    double *v = e->V + (size_t)c * (size_t)e->n;
    const double s = 1.0 / sqrt(rho);
    for (int64_t i = 0; i < e->n; ++i)
        v[i] = s * z[i];
    for (int i = 0; i < m; ++i)
        e->T[i + m * c] = e->T[c + m * i] = 0.0;
    if (c > 0)
        for (int i = 0; i < c; ++i)
            e->T[i + m * c] = e->T[c + m * i] = t * e->ell[i];
    for (int i = 0; i < m; ++i)
        e->ell[i] = i == c ? 1.0 : 0.0;
    e->cols = c + 1;
    e->diag_known = 0;
}

void min_eigcg_begin(MinEigcg *e, const double *z, double rho) {
    if (e->m == 0 || !(rho > 0.0)) {
        e->cols = 0;
        return;
    }
    e->cols = 0;
    e->m_off = 0;
    e->prev_ba = 0.0;
    append(e, z, rho, 0.0);
}

int min_small_eigh(const double *a, int lda, int k, double *vec, double *val) {
    for (int j = 0; j < k; ++j)
        for (int i = 0; i < k; ++i)
            vec[i + k * j] = a[i + lda * j];
    const lapack_int info = LAPACKE_dsyev(LAPACK_COL_MAJOR, 'V', 'L', k, vec, k, val);
    return info == 0 ? 0 : -1;
}

/* V <- V Q (Q: cols x q column-major), T <- diag(val), ell <- last row of Q. */
static void compress(MinEigcg *e, const double *q, int nq, const double *val) {
    const int64_t n = e->n;
    const int c = e->cols, m = e->m;
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)n, nq, c, 1.0, e->V, (int)n, q, c,
                0.0, e->tmp, (int)n);
    double *t = e->V; /* the compressed basis is the new window */
    e->V = e->tmp;
    e->tmp = t;
    for (int i = 0; i < m * m; ++i)
        e->T[i] = 0.0;
    for (int j = 0; j < nq; ++j) {
        e->T[j + m * j] = val[j];
        e->ell[j] = q[(c - 1) + c * j];
    }
    for (int j = nq; j < m; ++j)
        e->ell[j] = 0.0;
    e->cols = nq;
    ++e->restarts;
}

/* The window is full: keep the nev lowest Ritz vectors of T and of its leading (m-1) block. */
static void restart(MinEigcg *e) {
    const int m = e->m, c = e->cols, nev = e->nev;
    double y[MIN_EIGCG_MAXM * MIN_EIGCG_MAXM], y1[MIN_EIGCG_MAXM * MIN_EIGCG_MAXM];
    double val[MIN_EIGCG_MAXM], q[MIN_EIGCG_MAXM * MIN_EIGCG_MAXM];
    if (min_small_eigh(e->T, m, c, y, val) || min_small_eigh(e->T, m, c - 1, y1, val)) {
        e->cols = 0; /* cannot happen for a finite T; stop collecting for this solve */
        e->m_off = 1;
        return;
    }
    /* Q = orth([Y(:, 1:nev), [Y1(:, 1:nev); 0]]) by modified Gram-Schmidt (twice) */
    int nq = 0;
    for (int j = 0; j < 2 * nev; ++j) {
        double *qj = q + c * nq;
        for (int i = 0; i < c; ++i)
            qj[i] = j < nev ? y[i + c * j] : (i < c - 1 ? y1[i + (c - 1) * (j - nev)] : 0.0);
        for (int pass = 0; pass < 2; ++pass)
            for (int k = 0; k < nq; ++k) {
                double d = 0.0;
                for (int i = 0; i < c; ++i)
                    d += q[i + c * k] * qj[i];
                for (int i = 0; i < c; ++i)
                    qj[i] -= d * q[i + c * k];
            }
        double nrm = 0.0;
        for (int i = 0; i < c; ++i)
            nrm += qj[i] * qj[i];
        nrm = sqrt(nrm);
        if (nrm < 1e-8) continue; /* dependent: the two sets share a vector */
        for (int i = 0; i < c; ++i)
            qj[i] /= nrm;
        ++nq;
    }
    /* H = Q^T T Q, its eigenvectors Z; the new basis is Q Z with T = diag */
    double tq[MIN_EIGCG_MAXM * MIN_EIGCG_MAXM], h[MIN_EIGCG_MAXM * MIN_EIGCG_MAXM];
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, c, nq, c, 1.0, e->T, m, q, c, 0.0, tq,
                c);
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, nq, nq, c, 1.0, q, c, tq, c, 0.0, h, nq);
    double z[MIN_EIGCG_MAXM * MIN_EIGCG_MAXM];
    if (min_small_eigh(h, nq, nq, z, val)) {
        e->cols = 0;
        e->m_off = 1;
        return;
    }
    double qz[MIN_EIGCG_MAXM * MIN_EIGCG_MAXM];
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, c, nq, nq, 1.0, q, c, z, nq, 0.0, qz, c);
    compress(e, qz, nq, val);
}

void min_eigcg_step(MinEigcg *e, double alpha, double beta, const double *z, double rho, int last) {
    if (e->m == 0 || e->m_off || e->cols == 0) return;
    const int c = e->cols - 1, m = e->m;
    e->T[c + m * c] = 1.0 / alpha + e->prev_ba;
    e->diag_known = 1;
    e->prev_ba = beta / alpha;
    e->t_next = -sqrt(beta) / alpha;
    if (last || !(rho > 0.0)) return;
    if (e->cols == m) restart(e);
    if (e->m_off || e->cols == 0) return;
    append(e, z, rho, e->t_next);
}

int min_eigcg_ritz(MinEigcg *e, int k, double **vecs, double *mu, double *resid) {
    /* after a break at negative curvature the last column has no diagonal: nothing is kept
     * (the Newton step is cut short there anyway) */
    if (e->m == 0 || e->m_off || !e->diag_known) return 0;
    const int c = e->cols, m = e->m;
    if (c < 2) return 0;
    if (k > c) k = c;
    double y[MIN_EIGCG_MAXM * MIN_EIGCG_MAXM], val[MIN_EIGCG_MAXM];
    if (min_small_eigh(e->T, m, c, y, val)) return 0;
    const int64_t n = e->n;
    for (int j = 0; j < k; ++j) {
        cblas_dgemv(CblasColMajor, CblasNoTrans, (int)n, c, 1.0, e->V, (int)n, y + c * j, 1, 0.0,
                    vecs[j], 1);
        double l = 0.0;
        for (int q = 0; q < c; ++q)
            l += e->ell[q] * y[q + c * j];
        mu[j] = val[j];
        resid[j] = fabs(e->t_next * l); /* M^-1-weighted residual |M^-1 H y - mu y|_M */
    }
    return k;
}
