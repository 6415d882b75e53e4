/* md: the force kernel.
 *  1. Forces, Phi and the virial on a small glass (and an FCC crystal with random displacements)
 *     agree with a serial all-pairs brute force built on pot_energy_force() (half list + ghost
 *     reverse sum vs owner-only all pairs: basin's analogue of LAMMPS newton on/off).
 *  2. Newton's third law: sum_i F_i = 0 to rounding.
 *  3. F = -grad Phi by central finite differences (h = 1e-5, far below the skin, so the list
 *     stays valid) on a sample of atoms and components, relative 1e-6.
 * Runs on 1, 2, 4 ranks: the distributed result is compared with the serial reference. */
#include <math.h>
#include <stdlib.h>

#include "basin/domain.h"
#include "basin/md.h"
#include "basin/model.h"
#include "basin/util.h"
#include "sysutil.h"
#include "testutil.h"

/* Global Phi of the current positions (ghosts refreshed first). */
static double total_pe(Domain *d) {
    double pe = 0.0;
    TOK(domain_forward(d));
    md_force_kernel(d, &pe, NULL);
    par_sum_d(&pe, 1);
    return pe;
}

static void check_against_brute(const char *label, Domain *d, const TestSystem *sys) {
    const int64_t n = d->natoms;
    double *xg = calloc(3 * n, sizeof(double)), *fg = calloc(3 * n, sizeof(double)),
           *fr = calloc(3 * n, sizeof(double));
    double pe = 0.0, vir = 0.0;
    TOK(md_forces(d, &pe, &vir));
    double sums[2] = {pe, vir};
    par_sum_d(sums, 2);
    TOK(domain_allgather_by_id(d, d->x, 3, xg));
    TOK(domain_allgather_by_id(d, d->f, 3, fg));
    double vir_ref;
    const double pe_ref = su_brute_forces(sys, xg, fr, &vir_ref);
    TCLOSE(sums[0], pe_ref, 1e-12, 0);
    TCLOSE(sums[1], vir_ref, 1e-12, 1e-12);
    double fbig = 0.0, err = 0.0, tot[3] = {0, 0, 0}, fabs_sum = 0.0;
    for (int64_t i = 0; i < 3 * n; ++i) {
        fbig = fmax(fbig, fabs(fr[i]));
        err = fmax(err, fabs(fg[i] - fr[i]));
        tot[i % 3] += fg[i];
        fabs_sum += fabs(fg[i]);
    }
    TCHECK(err <= 1e-12 * fbig, "%s: max |F - F_brute| = %g, max |F| = %g", label, err, fbig);
    const double net = sqrt(tot[0] * tot[0] + tot[1] * tot[1] + tot[2] * tot[2]);
    TCHECK(net <= 1e-13 * fabs_sum, "%s: third law: |sum F| = %g, sum |F| = %g", label, net,
           fabs_sum);
    if (par_rank() == 0)
        printf("%s: N = %lld, Phi/N = %.12f, max|F-F_ref|/max|F| = %.2e, |sum F|/sum|F| = %.2e\n",
               label, (long long)n, pe_ref / n, err / fbig, net / fabs_sum);
    free(xg);
    free(fg);
    free(fr);
}

static void test_glass(void) {
    TestSystem sys;
    Domain *d = NULL;
    const int64_t n = 500;
    TOK(su_build(&sys, MODEL_GLASS, n, 11));
    TOK(su_domain(&sys, sys.x, NULL, 0.3, &d));
    check_against_brute("glass", d, &sys);

    /* finite differences */
    double *fg = calloc(3 * n, sizeof(double));
    TOK(md_forces(d, NULL, NULL));
    TOK(domain_allgather_by_id(d, d->f, 3, fg));
    const double h = 1e-5; /* roundoff of Phi ~ 1e-12 stays below 1e-7 of F; no pair crosses r_c */
    double worst = 0.0;
    for (int64_t id = 3; id < n; id += 37)
        for (int k = 0; k < 3; ++k) {
            int owner = -1;
            for (int i = 0; i < d->nlocal; ++i)
                if (d->id[i] == id) owner = i;
            double e[2];
            for (int s = 0; s < 2; ++s) {
                const double step = s ? -h : h;
                if (owner >= 0) d->x[3 * owner + k] += step;
                e[s] = total_pe(d);
                if (owner >= 0) d->x[3 * owner + k] -= step;
            }
            const double fd = -(e[0] - e[1]) / (2.0 * h);
            const double fa = fg[3 * id + k];
            const double rel = fabs(fd - fa) / fmax(fabs(fa), 1.0);
            worst = fmax(worst, rel);
            TCHECK(rel < 1e-6, "id %lld comp %d: F = %.12g, -dPhi/dx = %.12g", (long long)id, k, fa,
                   fd);
        }
    TOK(domain_forward(d));
    if (par_rank() == 0) printf("glass: finite differences worst relative error %.2e\n", worst);
    free(fg);
    su_free(&sys);
    domain_destroy(&d);
}

static void test_crystal(void) {
    TestSystem sys;
    Domain *d = NULL;
    TOK(su_build(&sys, MODEL_CRYSTAL, 500, 0));
    su_perturb_normal(sys.n, sys.x, 0.05, 3, 0);
    TOK(su_domain(&sys, sys.x, NULL, 0.3, &d));
    check_against_brute("crystal", d, &sys);
    su_free(&sys);
    domain_destroy(&d);
}

int main(int argc, char **argv) {
    tu_init(&argc, &argv);
    test_glass();
    test_crystal();
    return tu_finish();
}
