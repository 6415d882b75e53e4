/* minimize on the FCC crystal (N = 500), 1, 2 and 4 ranks:
 *  1. The perfect lattice is a minimum: FIRE 2.0 stops at once (max|F| < 1e-9).
 *  2. Thermal-like disorder (0.02 sigma zero-mean Gaussian displacements keyed by id) quenches
 *     back to the perfect lattice with FIRE 2.0, the original FIRE, FIRE + Newton and steepest
 *     descent: max_i |r_i - r_i,lattice| <= 1e-8 (SD: <= 1e-6 at its looser tolerance), and
 *     max|F| below the tolerance by an independent all-pairs force sum. The perturbation has
 *     zero mean because every minimiser conserves the centre of mass (forces sum to zero), so
 *     the lattice is recovered without a translation.
 *  3. The same quench on one rank (MPI_COMM_SELF, in-process) gives the same positions by id.
 */
#include <math.h>
#include <stdio.h>

#include "../../src/util/parallel.h"
#include "minimize/min_testutil.h"
#include "testutil.h"

#define N 500

static double xl[3 * N], xn[3 * N], xq[3 * N], xr[3 * N];
static int sp[N];

int main(int argc, char **argv) {
    tu_init(&argc, &argv);
    Model m;
    model_init(&m, MODEL_CRYSTAL);
    double L = 0.0;
    TOK(model_build_fcc(N, 1.015, xl, sp, &L));

    MinParams p;
    MinResult r;
    minimize_params_default(&p, MIN_FIRE);
    TOK(mint_quench(&m, N, L, xl, sp, &p, xq, &r));
    TCHECK(r.status == MIN_CONVERGED && r.fmax < 1e-9, "lattice: %s fmax %g",
           minimize_status_name(r.status), r.fmax);
    TCHECK(r.force_evals == 1, "lattice needed %lld force evaluations", (long long)r.force_evals);

    mint_perturb(N, xl, 0.02, 3, 1, xn);
    struct {
        const char *name;
        MinimizerKind kind;
        MinFinish finish;
        double fmax, tol;
    } cases[] = {
        {"fire 2.0", MIN_FIRE, MIN_FINISH_NONE, 1e-9, 1e-8},
        {"fire bitzek", MIN_FIRE_BITZEK, MIN_FINISH_NONE, 1e-9, 1e-8},
        {"fire 2.0 + newton", MIN_FIRE, MIN_FINISH_NEWTON, 1e-9, 1e-8},
        {"steepest descent", MIN_SD, MIN_FINISH_NONE, 1e-7, 1e-6},
        {"sd flow by rkc", MIN_RKC, MIN_FINISH_NONE, 1e-9, 1e-8},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); ++c) {
        minimize_params_default(&p, cases[c].kind);
        p.finish = cases[c].finish;
        p.fmax_tol = cases[c].fmax;
        TOK(mint_quench(&m, N, L, xn, sp, &p, xq, &r));
        TCHECK(r.status == MIN_CONVERGED, "%s: %s", cases[c].name, minimize_status_name(r.status));
        double dmax = 0.0;
        const double dn = mint_dist(N, xq, xl, L, &dmax);
        TCHECK(dmax <= cases[c].tol, "%s: max_i |r_i - lattice| = %g", cases[c].name, dmax);
        const double fb = mint_brute_fmax(&m, N, xq, sp, L, NULL);
        TCHECK(fb < 2.0 * cases[c].fmax, "%s: all-pairs max|F| = %g", cases[c].name, fb);
        if (par_rank() == 0)
            printf("%-20s evals %5lld |dr| %.2e max_i|dr_i| %.2e fmax %.2e Phi/N %.12f\n",
                   cases[c].name, (long long)r.force_evals, dn, dmax, r.fmax, r.pe / N);
        if (c == 0) {
            /* one-rank reference of the FIRE 2.0 quench */
            int ok = 1;
            if (par_rank() == 0) {
                par_push_comm(MPI_COMM_SELF);
                MinResult r1;
                ok = mint_quench(&m, N, L, xn, sp, &p, xr, &r1) == 0;
                par_pop_comm();
            }
            par_bcast_d(xr, 3 * N, 0);
            mint_dist(N, xq, xr, L, &dmax);
            TCHECK(ok && dmax <= 1e-10, "%d ranks vs one rank: max_i |dr_i| = %g", par_size(),
                   dmax);
        }
    }
    return tu_finish();
}
