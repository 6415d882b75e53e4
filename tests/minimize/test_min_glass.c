/* minimize on the binary glass (N = 300, the smallest that 4 ranks can hold), 1, 2, 4 ranks:
 *  1. FIRE 2.0 from a random start (push-off 0.8 sigma) converges: max|F_i| < 1e-9 by the
 *     minimiser's own norms and by an independent all-pairs force sum; the reported Phi equals
 *     the all-pairs Phi; no atom is lost.
 *  2. From a thermal-like state near that inherent structure (IS + 0.01 sigma zero-mean Gaussian
 *     noise keyed by id) FIRE 2.0, FIRE + Newton finishing, steepest descent and the SD flow by
 *     RKC steps (alone and + Newton) all return to the same IS: max_i |dr_i| <= 1e-7 (fmax
 *     1e-9) and <= 1e-4 for SD and RKC alone (quenched to fmax 1e-5 only: the flow needs
 *     ~1 / lambda_min of time per decade). The original FIRE is exercised by test_min_fcc and
 *     test_min_badstart.
 *  2b. From IS + 0.1 sigma noise, RKC + Newton (fmax 1e-9) ends in steepest descent's minimum
 *     (fmax 1e-5): max_i |dr_i| <= 1e-3. (Cases where FIRE and SD part are in the benchmark:
 *     docs/inherent.md "Same minimum".)
 *  3. The distributed result equals a one-rank reference computed in-process on rank 0 under
 *     MPI_COMM_SELF from the same state: IS by id <= 1e-8, Phi to 1e-12 relative (FIRE 2.0, and
 *     the RKC flow + Newton).
 *  4. Noise floor: re-quenching the IS perturbed by 1e-4 gives |Delta r| <= 1e-6 (the event
 *     threshold is 1e-2), for FIRE and FIRE + Newton.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/util/parallel.h"
#include "minimize/min_testutil.h"
#include "testutil.h"

#define N 300

static double L;
static Model model;
static double xs[3 * N], xis[3 * N], xn[3 * N], xq[3 * N], xref[3 * N];
static int sp[N];

static void report(const char *what, const MinResult *r, double dmax, double dnorm) {
    if (par_rank() == 0)
        printf("%-24s evals %6lld iters %6lld cg %4lld Phi %.12f fmax %.2e |dr| %.2e "
               "max_i|dr_i| %.2e\n",
               what, (long long)r->force_evals, (long long)r->iterations, (long long)r->cg_iters,
               r->pe, r->fmax, dnorm, dmax);
}

int main(int argc, char **argv) {
    tu_init(&argc, &argv);
    model_init(&model, MODEL_GLASS);
    TOK(model_build_glass(&model, N, 1.015, 11, 0.8, xs, sp, &L));

    /* 1. random start */
    MinParams p;
    minimize_params_default(&p, MIN_FIRE);
    MinResult r;
    TOK(mint_quench(&model, N, L, xs, sp, &p, xis, &r));
    TCHECK(r.status == MIN_CONVERGED, "status %s", minimize_status_name(r.status));
    TCHECK(r.fmax < 1e-9, "fmax %g", r.fmax);
    double phi_brute = 0.0;
    const double fb = mint_brute_fmax(&model, N, xis, sp, L, &phi_brute);
    TCHECK(fb < 2e-9, "all-pairs max|F| at the IS = %g", fb);
    TCLOSE(r.pe, phi_brute, 1e-12, 0.0);
    report("fire random start", &r, 0.0, 0.0);

    /* 2. thermal-like start near the IS: every minimiser returns to it */
    mint_perturb(N, xis, 0.01, 5, 1, xn);
    struct {
        const char *name;
        MinimizerKind kind;
        MinFinish finish;
        double fmax, tol;
    } cases[] = {
        {"fire 2.0", MIN_FIRE, MIN_FINISH_NONE, 1e-9, 1e-7},
        {"fire 2.0 + newton", MIN_FIRE, MIN_FINISH_NEWTON, 1e-9, 1e-7},
        {"steepest descent", MIN_SD, MIN_FINISH_NONE, 1e-5, 1e-4},
        {"sd flow by rkc", MIN_RKC, MIN_FINISH_NONE, 1e-5, 1e-4},
        {"sd flow by rkc + newton", MIN_RKC, MIN_FINISH_NEWTON, 1e-9, 1e-7},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); ++c) {
        minimize_params_default(&p, cases[c].kind);
        p.finish = cases[c].finish;
        p.fmax_tol = cases[c].fmax;
        TOK(mint_quench(&model, N, L, xn, sp, &p, xq, &r));
        TCHECK(r.status == MIN_CONVERGED, "%s: status %s", cases[c].name,
               minimize_status_name(r.status));
        double dmax = 0.0;
        const double dn = mint_dist(N, xq, xis, L, &dmax);
        TCHECK(dmax <= cases[c].tol, "%s: max_i |dr_i| = %g from the IS", cases[c].name, dmax);
        report(cases[c].name, &r, dmax, dn);
        if (cases[c].finish == MIN_FINISH_NEWTON)
            TCHECK(r.newton_steps > 0 && r.cg_iters > 0, "newton stage not used");
    }

    /* 2b. further from the IS the RKC flow still follows steepest descent's path */
    {
        MinParams ps, pr;
        MinResult rs, rr;
        minimize_params_default(&ps, MIN_SD);
        minimize_params_default(&pr, MIN_RKC);
        ps.fmax_tol = 1e-5;
        pr.finish = MIN_FINISH_NEWTON;
        static double xsd[3 * N];
        mint_perturb(N, xis, 0.1, 7, 3, xn);
        TOK(mint_quench(&model, N, L, xn, sp, &ps, xsd, &rs));
        TOK(mint_quench(&model, N, L, xn, sp, &pr, xq, &rr));
        TCHECK(rs.status == MIN_CONVERGED && rr.status == MIN_CONVERGED, "sd %s, rkc %s",
               minimize_status_name(rs.status), minimize_status_name(rr.status));
        double dmax = 0.0;
        const double dn = mint_dist(N, xq, xsd, L, &dmax);
        TCHECK(dmax <= 1e-3, "rkc + newton vs sd from IS + 0.1: max_i |dr_i| = %g", dmax);
        report("sd from IS + 0.1", &rs, 0.0, 0.0);
        report("rkc + newton, same start", &rr, dmax, dn);
    }

    /* 3. one-rank references of the FIRE 2.0 and the RKC + Newton quench from the thermal-like
     * state (RKC: its per-step reductions and step control must not depend on the rank count) */
    for (int c = 0; c < 2; ++c) {
        minimize_params_default(&p, c ? MIN_RKC : MIN_FIRE);
        if (c) p.finish = MIN_FINISH_NEWTON;
        MinResult rd;
        TOK(mint_quench(&model, N, L, xn, sp, &p, xq, &rd));
        double phi_ref = 0.0;
        const int ok = mint_quench_one_rank(&model, N, L, xn, sp, &p, xref, &phi_ref);
        TCHECK(ok, "one-rank reference failed");
        double dmax = 0.0;
        mint_dist(N, xq, xref, L, &dmax);
        TCHECK(dmax <= 1e-8, "%s: %d ranks vs one rank: max_i |dr_i| = %g", c ? "rkc" : "fire",
               par_size(), dmax);
        TCLOSE(rd.pe, phi_ref, 1e-12, 0.0);
        if (par_rank() == 0)
            printf("%s: ranks %d vs 1: max_i |dr_i| = %.2e, dPhi = %.2e\n", c ? "rkc" : "fire",
                   par_size(), dmax, rd.pe - phi_ref);
    }

    /* 4. noise floor of two quenches of the same basin */
    for (int c = 0; c < 2; ++c) {
        minimize_params_default(&p, MIN_FIRE);
        if (c == 1) p.finish = MIN_FINISH_NEWTON;
        mint_perturb(N, xis, 1e-4, 9, 2, xn);
        TOK(mint_quench(&model, N, L, xn, sp, &p, xq, &r));
        double dmax = 0.0;
        const double dn = mint_dist(N, xq, xis, L, &dmax);
        TCHECK(dn <= 1e-6, "noise floor |dr| = %g", dn);
        report(c ? "floor fire + newton" : "floor fire", &r, dmax, dn);
    }
    return tu_finish();
}
