/* Hessian assembly into the block-cyclic layout (src/harmonic/hessian.c).
 *
 * On a random binary-glass configuration (N = 300: the smallest even N whose box, L = 6.66,
 * splits in two sub-boxes of >= r_c,max + skin, so 1, 2 and 4 ranks all decompose):
 *   - every column of H equals the central finite difference -dF/dx of brute-force O(N^2)
 *     forces, with a step below the smallest |r - r_c| so that no pair crosses the cutoff;
 *   - H equals a dense reference built here from the pair formula, is exactly symmetric and
 *     translation invariant (row sums ~ 0);
 *   - H v from the distributed matrix (local product + reduction) equals a matrix-free pair-sum
 *     H v;
 *   - the assembly is bitwise independent of the block size and process-grid shape (it sums
 *     every entry in the same order), including nb = 1 (a 3 x 3 block on 3 process rows) and
 *     block sizes that are not multiples of 3;
 *   - bad inputs (full list, wrong matrix shape) fail alike on every rank. */
#include "harmonic_testutil.h"

static double max_abs(const double *a, size_t n) {
    double m = 0.0;
    for (size_t k = 0; k < n; ++k)
        m = fabs(a[k]) > m ? fabs(a[k]) : m;
    return m;
}

/* Dense reference from the formula of PHYSICS.md section 5, written out independently. */
static void dense_reference(const TestSystem *s, const double *x, double *H) {
    const size_t n = 3 * (size_t)s->n;
    memset(H, 0, n * n * sizeof(double));
    for (int64_t i = 0; i < s->n; ++i)
        for (int64_t j = 0; j < s->n; ++j) {
            if (i == j) continue;
            double dx[3], r2, r, d[4];
            if (!ht_pair(s, x, i, j, dx, &r2, &r, d)) continue;
            for (int a = 0; a < 3; ++a)
                for (int b = 0; b < 3; ++b) {
                    const double nn = dx[a] * dx[b] / r2;
                    const double hij = -(d[2] * nn + d[1] / r * ((a == b) - nn));
                    H[(3 * i + a) + (3 * j + b) * n] += hij;
                    H[(3 * i + a) + (3 * i + b) * n] -= hij;
                }
        }
}

/* Forces from the pairs of atom i only (the rest cancels in a difference over moves of i). */
static void forces_of_atom(const TestSystem *s, const double *x, int64_t i, double *f) {
    memset(f, 0, 3 * (size_t)s->n * sizeof(double));
    for (int64_t j = 0; j < s->n; ++j) {
        if (j == i) continue;
        double dx[3], r2, r, d[4];
        if (!ht_pair(s, x, i, j, dx, &r2, &r, d)) continue;
        for (int k = 0; k < 3; ++k) {
            f[3 * i + k] -= d[1] * dx[k] / r;
            f[3 * j + k] += d[1] * dx[k] / r;
        }
    }
}

static void test_finite_differences(const TestSystem *s, const double *x, const double *H) {
    const size_t n = 3 * (size_t)s->n;
    const double gap = ht_cutoff_gap(s, x, 0.1);
    const double h = fmin(1e-5, gap / 4.0);
    TCHECK(h > 1e-8, "closest pair to the cutoff is %g from it: pick another seed", gap);
    double *xp = malloc(n * sizeof(double)), *fp = malloc(n * sizeof(double)),
           *fm = malloc(n * sizeof(double));
    memcpy(xp, x, n * sizeof(double));
    const double hmax = max_abs(H, n * n);
    double worst = 0.0;
    for (size_t c = 0; c < n; ++c) {
        const int64_t i = (int64_t)(c / 3);
        xp[c] = x[c] + h;
        forces_of_atom(s, xp, i, fp);
        xp[c] = x[c] - h;
        forces_of_atom(s, xp, i, fm);
        xp[c] = x[c];
        for (size_t r = 0; r < n; ++r) {
            const double fd = -(fp[r] - fm[r]) / (2.0 * h);
            const double e = fabs(fd - H[r + c * n]);
            worst = e > worst ? e : worst;
        }
    }
    /* Truncation O(h^2 v'''') and round-off O(eps F / h) are both far below 1e-6 ||H||. */
    TCHECK(worst <= 1e-6 * hmax, "finite differences: max |dF/dx + H| = %g, max |H| = %g, h = %g",
           worst, hmax, h);
    if (par_rank() == 0)
        printf("FD: step %.3g (closest pair %.3g from r_c), max |FD - H| = %.3g (max |H| %.3g)\n",
               h, gap, worst, hmax);
    free(xp);
    free(fp);
    free(fm);
}

static void test_matrix(const TestSystem *s, const double *x, Domain *d) {
    const int n = 3 * (int)s->n;
    const size_t nn = (size_t)n * n;
    const PairPotential pot = model_potential(&s->m);
    double *ref = malloc(nn * sizeof(double)), *H = malloc(nn * sizeof(double)),
           *H2 = malloc(nn * sizeof(double));
    dense_reference(s, x, ref);

    const int P = par_size();
    /* Grid shapes to try: the default and, where P allows, the two degenerate ones. */
    int shapes[3][2] = {{0, 0}, {P, 1}, {1, P}};
    const int nshape = P == 1 ? 1 : 3;
    const int nbs[] = {64, 16, 8, 7, 3, 1};
    int first = 1;
    for (int sh = 0; sh < nshape; ++sh) {
        LinalgGrid *g = NULL;
        TOK(linalg_grid_create(par_comm(), shapes[sh][0], shapes[sh][1], &g));
        if (!g) continue;
        for (size_t b = 0; b < sizeof nbs / sizeof nbs[0]; ++b) {
            LinalgMatrix *a = NULL;
            TOK(linalg_matrix_create(g, n, n, nbs[b], &a));
            if (!a) continue;
            HarmonicAssemblyStats st;
            TOK(harmonic_hessian_assemble(d, &pot, a, &st));
            TOK(linalg_matrix_gather(a, first ? H : H2));
            if (first) {
                double e = 0.0, asym = 0.0, rowsum = 0.0;
                for (size_t k = 0; k < nn; ++k)
                    e = fmax(e, fabs(H[k] - ref[k]));
                for (int i = 0; i < n; ++i) {
                    /* sum_J H_IJ = 0: the row sums over the columns of each component vanish
                     * (a uniform translation along that component costs nothing). */
                    double rs[3] = {0.0, 0.0, 0.0};
                    for (int j = 0; j < n; ++j) {
                        asym = fmax(asym, fabs(H[i + (size_t)j * n] - H[j + (size_t)i * n]));
                        rs[j % 3] += H[i + (size_t)j * n];
                    }
                    for (int c = 0; c < 3; ++c)
                        rowsum = fmax(rowsum, fabs(rs[c]));
                }
                const double hmax = max_abs(ref, nn);
                TCHECK(e <= 1e-12 * hmax, "H vs dense reference: %g (max |H| %g)", e, hmax);
                TCHECK(asym == 0.0, "H is not exactly symmetric: %g", asym);
                TCHECK(rowsum <= 1e-12 * hmax, "translation row sums %g", rowsum);
                int64_t pairs = st.pairs;
                par_sum_i64(&pairs, 1);
                if (par_rank() == 0)
                    printf("assembly: %lld pairs, |H - ref| = %.3g, row sums %.3g\n",
                           (long long)pairs, e, rowsum);
                test_finite_differences(s, x, H);

                /* H v: distributed product vs matrix-free. */
                double *v = malloc((size_t)n * sizeof(double)),
                       *y = malloc((size_t)n * sizeof(double)),
                       *yr = malloc((size_t)n * sizeof(double));
                for (int k = 0; k < n; ++k)
                    v[k] = rng_uniform(7, RNG_STREAM_TEST, (uint64_t)k, 0) - 0.5;
                ht_matvec(a, v, y);
                ht_hessian_times(s, x, v, yr);
                double ey = 0.0;
                for (int k = 0; k < n; ++k)
                    ey = fmax(ey, fabs(y[k] - yr[k]));
                TCHECK(ey <= 1e-11 * hmax * sqrt((double)n), "H v vs matrix-free: %g", ey);
                free(v);
                free(y);
                free(yr);
                first = 0;
            } else {
                double e = 0.0;
                for (size_t k = 0; k < nn; ++k)
                    e = fmax(e, fabs(H2[k] - H[k]));
                TCHECK(e == 0.0, "grid %d x %d, nb = %d differs from the first assembly by %g",
                       g->nprow, g->npcol, nbs[b], e);
            }
            linalg_matrix_destroy(&a);
        }
        linalg_grid_destroy(&g);
    }
    free(ref);
    free(H);
    free(H2);
}

static void test_errors(const TestSystem *s, Domain *d) {
    const PairPotential pot = model_potential(&s->m);
    LinalgGrid *g = NULL;
    TOK(linalg_grid_create(par_comm(), 0, 0, &g));
    LinalgMatrix *a = NULL;
    TOK(linalg_matrix_create(g, 3 * (int)s->n - 3, 3 * (int)s->n - 3, 16, &a));
    int rc = harmonic_hessian_assemble(d, &pot, a, NULL);
    TCHECK(rc == BASIN_ERR_INTERNAL, "wrong shape accepted: %d", rc);
    linalg_matrix_destroy(&a);
    TOK(linalg_matrix_create(g, 3 * (int)s->n, 3 * (int)s->n, 16, &a));
    domain_set_full_list(d, 1);
    TOK(domain_rebuild(d));
    rc = harmonic_hessian_assemble(d, &pot, a, NULL);
    TCHECK(rc == BASIN_ERR_CONFIG && strstr(basin_error_message(), "half list"),
           "full list accepted: %d %s", rc, basin_error_message());
    domain_set_full_list(d, 0);
    TOK(domain_rebuild(d));
    linalg_matrix_destroy(&a);
    linalg_grid_destroy(&g);
}

int main(int argc, char **argv) {
    tu_init(&argc, &argv);
    TestSystem s;
    TOK(su_build(&s, MODEL_GLASS, 300, 11));
    Domain *d = NULL;
    TOK(su_domain(&s, s.x, NULL, 0.2, &d));
    /* The domain wraps positions into [0, L); the references use the minimum image, so the
     * unwrapped builder arrays are equivalent. */
    test_matrix(&s, s.x, d);
    test_errors(&s, d);
    domain_destroy(&d);
    su_free(&s);
    return tu_finish();
}
