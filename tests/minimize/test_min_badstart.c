/* minimize from a bad start (ECOSYSTEM.md section 3, LAMMPS issue #1907): a random glass with
 * overlaps down to 0.2 sigma_ab (forces up to ~1e8) quenched by FIRE 2.0 and by the original
 * FIRE, and by the steepest-descent flow by RKC steps. The per-iteration displacement cap
 * (dmax = 0.1) keeps every step bounded: no atom is lost, the energy stays finite, the quench
 * converges to max|F| < 1e-6 at a normal glass energy (Phi/N within [1.5, 3]; tolerance 1e-6
 * keeps the test short), and the cap was active (MinResult.capped > 0; RKC has no per-atom cap:
 * its first step is 0.1 dmax / max|F| long and a step that would move an atom by more than
 * dmax is cut before it is evaluated). Without the cap the first step alone would move the closest
 * atoms by ~dt^2 F ~ 1e3 sigma. 1, 2 and 4 ranks. */
#include <math.h>
#include <stdio.h>

#include "minimize/min_testutil.h"
#include "testutil.h"

#define N 500

static double xs[3 * N], xq[3 * N];
static int sp[N];

int main(int argc, char **argv) {
    tu_init(&argc, &argv);
    Model m;
    model_init(&m, MODEL_GLASS);
    double L = 0.0;
    TOK(model_build_glass(&m, N, 1.015, 23, 0.2, xs, sp, &L));
    double fmax0 = mint_brute_fmax(&m, N, xs, sp, L, NULL);
    if (par_rank() == 0) printf("bad start: max|F| = %.3g\n", fmax0);
    TCHECK(fmax0 > 1e5, "the start is not bad enough: max|F| = %g", fmax0);
    const MinimizerKind kinds[3] = {MIN_FIRE, MIN_FIRE_BITZEK, MIN_RKC};
    const char *names[3] = {"fire 2.0", "fire bitzek", "sd flow by rkc"};
    for (int c = 0; c < 3; ++c) {
        MinParams p;
        MinResult r;
        minimize_params_default(&p, kinds[c]);
        p.fmax_tol = 1e-6;
        TOK(mint_quench(&m, N, L, xs, sp, &p, xq, &r)); /* checks the atom count */
        TCHECK(r.status == MIN_CONVERGED, "%s", minimize_status_name(r.status));
        TCHECK(isfinite(r.pe) && r.pe / N > 1.5 && r.pe / N < 3.0, "Phi/N = %g", r.pe / N);
        if (kinds[c] != MIN_RKC) TCHECK(r.capped > 0, "the cap never acted");
        double phi = 0.0;
        const double fb = mint_brute_fmax(&m, N, xq, sp, L, &phi);
        TCHECK(fb < 2e-6, "all-pairs max|F| = %g", fb);
        TCLOSE(r.pe, phi, 1e-10, 0.0);
        if (par_rank() == 0)
            printf("%s: evals %lld capped atom-steps %lld Phi/N %.8f fmax %.2e\n", names[c],
                   (long long)r.force_evals, (long long)r.capped, r.pe / N, r.fmax);
    }
    return tu_finish();
}
