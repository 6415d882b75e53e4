/* The perfect FCC crystal (N = 256 = 4 x 4^3: the smallest 4 k^3 with L > 2 r_c = 5 at
 * rho = 1.015) against an independent lattice-dynamics computation.
 *
 * Lattice dynamics: for a Bravais lattice the Hessian of the periodic box block-diagonalises
 * into plane waves; for wave vector q the 3 x 3 dynamical matrix is
 *     D(q) = sum_{R != 0, |R| < r_c} K(R) (1 - cos q.R),  K(R) = v'' n n^T + (v'/r)(I - n n^T)
 * (K = -H_0R, the sum over the infinite lattice equals the box's because L > 2 r_c). The box
 * allows q = 2 pi / L (n1, n2, n3); two q are equivalent when they differ by a reciprocal
 * lattice vector of FCC, which in these units is k (h, k', l) with h, k', l all even or all odd
 * (BCC). Representatives of the 4 k^3 = N classes: n1, n2 in [0, 2k), n3 in [0, k) (adding
 * k (1, 1, 1) maps n3 in [k, 2k) to [0, k)). Each D(q) is diagonalised with LAPACK's 3 x 3
 * dsyev; the 3N values are sorted and compared with the Hessian spectrum from basin, level by
 * level including degeneracies, for each block size (8, 16, 64) and solver, on 1, 2 and 4 ranks.
 */
#include <lapacke.h>

#include "harmonic_testutil.h"

static int lattice_dynamics(const TestSystem *s, double *w) {
    const int k = (int)lround(cbrt((double)s->n / 4.0));
    const double a = s->L / k, L = s->L;
    const PairParams *p = &s->m.pair[0][0];
    /* Lattice vectors (a/2)(i, j, l), i + j + l even, inside the cutoff. */
    const int imax = (int)ceil(2.0 * p->rc / a) + 1;
    int nR = 0;
    double(*R)[3] =
        malloc(sizeof(double[3]) * (size_t)(2 * imax + 1) * (2 * imax + 1) * (2 * imax + 1));
    for (int i = -imax; i <= imax; ++i)
        for (int j = -imax; j <= imax; ++j)
            for (int l = -imax; l <= imax; ++l) {
                if (((i + j + l) & 1) || (i == 0 && j == 0 && l == 0)) continue;
                const double r[3] = {0.5 * a * i, 0.5 * a * j, 0.5 * a * l};
                if (r[0] * r[0] + r[1] * r[1] + r[2] * r[2] >= p->rc2) continue;
                memcpy(R[nR++], r, sizeof r);
            }
    int nq = 0;
    for (int n1 = 0; n1 < 2 * k; ++n1)
        for (int n2 = 0; n2 < 2 * k; ++n2)
            for (int n3 = 0; n3 < k; ++n3) {
                const double q[3] = {2 * M_PI / L * n1, 2 * M_PI / L * n2, 2 * M_PI / L * n3};
                double D[9] = {0};
                for (int t = 0; t < nR; ++t) {
                    const double r2 = R[t][0] * R[t][0] + R[t][1] * R[t][1] + R[t][2] * R[t][2];
                    const double r = sqrt(r2);
                    double d[4];
                    pot_derivs(p, r, d);
                    const double ph = 1.0 - cos(q[0] * R[t][0] + q[1] * R[t][1] + q[2] * R[t][2]);
                    for (int x = 0; x < 3; ++x)
                        for (int y = 0; y < 3; ++y) {
                            const double nn = R[t][x] * R[t][y] / r2;
                            D[3 * x + y] += ph * (d[2] * nn + d[1] / r * ((x == y) - nn));
                        }
                }
                if (LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'N', 'U', 3, D, 3, w + 3 * nq) != 0) {
                    free(R);
                    return -1;
                }
                ++nq;
            }
    free(R);
    qsort(w, 3 * (size_t)nq, sizeof(double), ht_cmp_double);
    return nq == s->n ? 0 : -1;
}

/* Levels of a sorted spectrum: values closer than tol to their predecessor share a level. */
static int levels(const double *w, int n, double tol, int *mult) {
    int nl = 0;
    for (int k = 0; k < n; ++k) {
        if (k == 0 || w[k] - w[k - 1] > tol) mult[nl++] = 0;
        ++mult[nl - 1];
    }
    return nl;
}

int main(int argc, char **argv) {
    tu_init(&argc, &argv);
    TestSystem s;
    TOK(su_build(&s, MODEL_CRYSTAL, 256, 1));
    const int n = 3 * (int)s.n;
    double *wld = malloc(n * sizeof(double));
    TCHECK(lattice_dynamics(&s, wld) == 0, "lattice dynamics q-point set");
    const double lmax = wld[n - 1];
    int *mld = malloc(n * sizeof(int)), *mh = malloc(n * sizeof(int));
    const int nlev = levels(wld, n, 1e-8 * lmax, mld);
    int maxmult = 0;
    for (int l = 0; l < nlev; ++l)
        maxmult = mld[l] > maxmult ? mld[l] : maxmult;
    if (par_rank() == 0)
        printf("lattice dynamics: %d frequencies in %d levels (the zero level and %d non-zero; "
               "largest multiplet %d), omega_max = %.10f\n",
               n, nlev, nlev - 1, maxmult, sqrt(lmax));
    /* PHYSICS.md section 9: "N = 256: 47 levels, up to 24-fold", counting the non-zero
     * frequencies (the triple zero of the translations is one more level). */
    TCHECK(nlev == 48 && mld[0] == 3 && maxmult == 24,
           "%d levels (zero level %d-fold), largest multiplet %d", nlev, mld[0], maxmult);

    Domain *d = NULL;
    TOK(su_domain(&s, s.x, NULL, 0.3, &d));
    const PairPotential pot = model_potential(&s.m);
    const struct {
        HarmonicSolver solver;
        int nb;
    } cases[] = {{HARMONIC_SOLVER_ELPA1, 8},  {HARMONIC_SOLVER_ELPA1, 16},
                 {HARMONIC_SOLVER_ELPA1, 64}, {HARMONIC_SOLVER_ELPA2, 16},
                 {HARMONIC_SOLVER_ELPA2, 64}, {HARMONIC_SOLVER_PDSYEVD, 64}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; ++c) {
        HarmonicOptions o;
        harmonic_options_default(&o);
        o.solver = cases[c].solver;
        o.nb = cases[c].nb;
        HarmonicModes *m = NULL;
        TOK(harmonic_modes_compute(d, &pot, &o, &m)); /* the crystal is a minimum */
        if (!m) continue;
        double worst = 0.0;
        for (int k = 0; k < n; ++k) {
            const double scale = wld[k] > 1e-6 * lmax ? wld[k] : lmax;
            worst = fmax(worst, fabs(m->lambda[k] - wld[k]) / scale);
        }
        TCHECK(worst <= 1e-10, "%s nb %d: relative eigenvalue error %g",
               harmonic_solver_name(o.solver), o.nb, worst);
        const int nh = levels(m->lambda, n, 1e-8 * lmax, mh);
        int same = nh == nlev;
        for (int l = 0; same && l < nlev; ++l)
            same = mh[l] == mld[l];
        TCHECK(same, "%s nb %d: %d levels, lattice dynamics %d (or multiplicities differ)",
               harmonic_solver_name(o.solver), o.nb, nh, nlev);
        int nt = 0;
        for (int k = 0; k < n; ++k)
            nt += m->translation[k];
        TCHECK(nt == 3 && m->translation[0] + m->translation[1] + m->translation[2] == 3,
               "translations: %d flagged, not the three lowest", nt);
        TCHECK(m->lambda_min_nt > 0.0, "lowest non-translational %g", m->lambda_min_nt);
        double norm = 0.0;
        for (int b = 0; b < m->vdos_bins; ++b)
            norm += m->vdos[b] * (m->vdos_edges[b + 1] - m->vdos_edges[b]);
        TCLOSE(norm, 1.0, 1e-12, 0.0);
        if (par_rank() == 0)
            printf("%-7s nb %2d grid %d x %d: max relative |lambda - LD| = %.2e, %d levels, "
                   "lowest omega %.10f, highest %.10f\n",
                   harmonic_solver_name(o.solver), o.nb, m->grid->nprow, m->grid->npcol, worst, nh,
                   m->omega[3], m->omega[n - 1]);
        harmonic_modes_destroy(&m);
    }
    free(wld);
    free(mld);
    free(mh);
    domain_destroy(&d);
    su_free(&s);
    return tu_finish();
}
