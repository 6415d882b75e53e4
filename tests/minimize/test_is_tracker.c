/* In-situ inherent-structure tracker (minimize/is_tracker.c) on 1, 2 and 4 ranks, N = 500
 * glass warmed from its inherent structure to T ~ 0.01, NVE:
 *  1. The MD trajectory is bitwise identical with the tracker sampling every 20 steps and
 *     without it (positions and velocities after 100 steps, gathered by id, memcmp).
 *  2. Records are consistent: sample 0 has dr = 0 and no event; every quench converged to
 *     max|F| < 1e-9; for sample 1, dr0 == dr (the previous IS is the first); N_rearr in [1, N]
 *     whenever dr > 0; event == (dr > threshold); Phi_IS equals the all-pairs Phi of the IS.
 *  3. The tracker's id-block IS (Newton finishing with the previous-IS prediction) equals an
 *     independent plain FIRE 2.0 quench of the gathered r(t) on one rank (MPI_COMM_SELF):
 *     max_i |dr_i| <= 1e-7, Phi to 1e-11 relative; its displacement field equals the minimum
 *     image of the difference of the last two IS.
 *  4. Checkpoint hook: the state table copied into a fresh tracker reproduces the next record
 *     (dr to 1e-7 absolute, Phi_IS, dr0, dphi0).
 *  6. inherent.finish = none, inherent.predict = false and the 2-norm criterion alone
 *     (inherent.fmax = 0, inherent.fnorm = 1e-9): the same MD samples quench to the same IS
 *     (Phi_IS to 1e-11 relative, last IS <= 1e-7 by id), every record meets ||F||_2 < 1e-9,
 *     and the evaluation counts differ from the default's (the options took effect).
 *  7. inherent.verify = sd and = sd-rkc (every sample an "event" via a tiny threshold; sd-rkc
 *     with fewer evaluations than sd): the MD stays bitwise
 *     the same, the first sample is not verified (sd_dr = -1), every later one is re-quenched
 *     by steepest descent from r(t - Dt) and r(t), converges, and |dr| between the two SD
 *     minima stays below 1e-3 (one basin in a quiet run).
 *  5. Noise floor of the tracker: the records of a quiet short run have dr far below the event
 *     threshold (no event expected in 0.5 time units at T = 0.01 for this glass; checked
 *     as dr < 1e-2 or a genuine event with N_rearr < N/2).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../../src/util/parallel.h"
#include "basin/config.h"
#include "basin/h5md.h"
#include "basin/md.h"
#include "minimize/min_testutil.h"
#include "testutil.h"

#define N 500
#define NSTEP 100
#define EVERY 20

static double xs[3 * N], xis[3 * N], xg[3 * N], vg[3 * N], xa[3 * N], va[3 * N], xr[3 * N];
static int sp[N];
static Model model;
static double L;

/* MD from the IS with velocities at T = 0.02 (-> T ~ 0.01 after equipartition). With tr != NULL
 * the tracker samples every EVERY steps (records into rec). Final x, v gathered by id. */
static int run_md(IsTracker *tr, IsRecord *rec, int *nrec, double *xout, double *vout,
                  double *xlast) {
    Domain *d = NULL;
    MdState *s = NULL;
    BCHK(domain_create(&model, L, 0.3, &d));
    BCHK(domain_distribute(d, N, xis, NULL, sp, NULL));
    BCHK(md_velocities_init(d, 77, 0, 0.02));
    BCHK(md_state_create(d, 0.005, 3, 0.5, &s));
    BCHK(md_setup(s));
    *nrec = 0;
    for (int k = 0; k <= NSTEP; ++k) {
        if (tr && k % EVERY == 0) {
            if (k == NSTEP && xlast) BCHK(domain_allgather_by_id(d, d->x, 3, xlast));
            BCHK(is_tracker_sample(tr, d, s->step, (double)s->step * s->dt, &rec[*nrec]));
            ++*nrec;
        }
        if (k < NSTEP) BCHK(md_step(s));
    }
    BCHK(domain_allgather_by_id(d, d->x, 3, xout));
    BCHK(domain_allgather_by_id(d, d->v, 3, vout));
    md_state_destroy(&s);
    domain_destroy(&d);
    return 0;
}

int main(int argc, char **argv) {
    tu_init(&argc, &argv);
    model_init(&model, MODEL_GLASS);
    TOK(model_build_glass(&model, N, 1.015, 31, 0.8, xs, sp, &L));
    MinParams p;
    MinResult r;
    minimize_params_default(&p, MIN_FIRE);
    TOK(mint_quench(&model, N, L, xs, sp, &p, xis, &r));

    Config c;
    config_defaults(&c);
    c.fmax_tol = 1e-9;
    c.event_threshold = 1e-2;
    IsTracker *tr = NULL;
    TOK(is_tracker_create(&model, L, 0.3, &c, N, &tr));
    IsRecord rec[NSTEP / EVERY + 1];
    int nrec = 0, nrec0 = 0;

    /* 1. bitwise identical MD with and without tracking */
    TOK(run_md(tr, rec, &nrec, xa, va, xr));
    TOK(run_md(NULL, NULL, &nrec0, xg, vg, NULL));
    TCHECK(memcmp(xa, xg, sizeof(xa)) == 0, "positions differ with tracking on");
    TCHECK(memcmp(va, vg, sizeof(va)) == 0, "velocities differ with tracking on");
    TCHECK(nrec == NSTEP / EVERY + 1, "%d records", nrec);

    /* 2. record consistency */
    TCHECK(rec[0].dr == 0.0 && !rec[0].event && rec[0].dr_max_id == -1 && rec[0].index == 0,
           "first record dr %g event %d", rec[0].dr, rec[0].event);
    if (nrec > 1) TCHECK(rec[1].dr0 == rec[1].dr, "dr0 %g vs dr %g", rec[1].dr0, rec[1].dr);
    for (int k = 0; k < nrec; ++k) {
        const IsRecord *q = &rec[k];
        TCHECK(q->converged && q->fmax < 1e-9, "sample %d: converged %d fmax %g", k, q->converged,
               q->fmax);
        TCHECK(q->event == (q->dr > c.event_threshold), "sample %d: event flag", k);
        if (q->dr > 0.0)
            TCHECK(q->n_rearr >= 1.0 - 1e-9 && q->n_rearr <= N + 1e-9, "N_rearr %g", q->n_rearr);
        TCHECK(q->dr < c.event_threshold || q->n_rearr < N / 2,
               "sample %d: dr %g with N_rearr %g is not a local rearrangement", k, q->dr,
               q->n_rearr);
        if (par_rank() == 0)
            printf("sample %d step %lld Phi_IS %.12f dr %.3e dPhi %.3e N_rearr %.1f dr0 %.3e "
                   "evals %lld event %d\n",
                   k, (long long)q->step, q->phi, q->dr, q->dphi, q->n_rearr, q->dr0,
                   (long long)q->force_evals, q->event);
    }

    /* 3. the last IS against an independent FIRE quench of the same r(t) on one rank */
    int64_t lo, hi;
    is_tracker_block(tr, &lo, &hi);
    const double *cur = is_tracker_positions(tr), *prev = is_tracker_prev_positions(tr);
    const double *disp = is_tracker_displacements(tr);
    const int32_t *spb = is_tracker_species(tr);
    TCHECK(cur && prev && disp && spb, "accessors returned NULL");
    double phi1 = 0.0;
    const int ok = mint_quench_one_rank(&model, N, L, xr, sp, &p, xr, &phi1);
    TCHECK(ok, "one-rank reference failed");
    double dmax = 0.0, emax = 0.0;
    for (int64_t i = lo; i < hi; ++i) {
        double dd[3];
        dmax = fmax(dmax, sqrt(model_min_image(cur + 3 * (i - lo), xr + 3 * i, L, dd)));
        for (int k = 0; k < 3; ++k) {
            double e = cur[3 * (i - lo) + k] - prev[3 * (i - lo) + k];
            e -= L * nearbyint(e / L);
            emax = fmax(emax, fabs(e - disp[3 * (i - lo) + k]));
        }
        TCHECK(spb[i - lo] == sp[i], "species of id %lld", (long long)i);
        TCHECK(cur[3 * (i - lo)] >= 0.0 && cur[3 * (i - lo)] < L, "IS not wrapped");
    }
    par_max_d(&dmax, 1);
    par_max_d(&emax, 1);
    TCHECK(dmax <= 1e-7, "tracker IS vs one-rank FIRE: max_i |dr_i| = %g", dmax);
    TCHECK(emax <= 1e-14, "displacement field vs IS difference: %g", emax);
    TCLOSE(rec[nrec - 1].phi, phi1, 1e-11, 0.0);
    double phib = 0.0;
    mint_brute_fmax(&model, N, xr, sp, L, &phib);
    TCLOSE(rec[nrec - 1].phi, phib, 1e-11, 0.0);
    if (par_rank() == 0) printf("tracker IS vs one-rank FIRE: max_i |dr_i| = %.2e\n", dmax);

    /* 4. checkpoint hook: copy the state into a fresh tracker, both sample the same state */
    IsStateEntry e1[IS_STATE_MAX_ENTRIES], e2[IS_STATE_MAX_ENTRIES];
    int n1 = 0, n2 = 0;
    IsTracker *tr2 = NULL;
    TOK(is_tracker_create(&model, L, 0.3, &c, N, &tr2));
    TOK(is_tracker_state(tr, e1, IS_STATE_MAX_ENTRIES, &n1));
    TOK(is_tracker_state(tr2, e2, IS_STATE_MAX_ENTRIES, &n2));
    TCHECK(n1 == n2 && n1 > 0, "state tables %d / %d entries", n1, n2);
    for (int k = 0; k < n1 && n1 == n2; ++k) {
        TCHECK(!strcmp(e1[k].name, e2[k].name) && e1[k].count == e2[k].count &&
                   e1[k].type == e2[k].type,
               "entry %d: %s / %s", k, e1[k].name, e2[k].name);
        const size_t sz = e1[k].type == IS_STATE_I32 ? 4 : 8;
        memcpy(e2[k].ptr, e1[k].ptr, sz * (size_t)e1[k].count);
    }
    TOK(is_tracker_state_loaded(tr2));
    TCHECK(is_tracker_count(tr2) == nrec, "restored count %lld", (long long)is_tracker_count(tr2));
    {
        Domain *d = NULL;
        TOK(domain_create(&model, L, 0.3, &d));
        TOK(domain_distribute(d, N, xa, NULL, sp, NULL));
        IsRecord a, b;
        TOK(is_tracker_sample(tr, d, 999, 1.0, &a));
        TOK(is_tracker_sample(tr2, d, 999, 1.0, &b));
        TCLOSE(b.dr, a.dr, 0.0, 1e-7);
        TCLOSE(b.dr0, a.dr0, 0.0, 1e-7);
        TCLOSE(b.phi, a.phi, 1e-11, 0.0);
        TCLOSE(b.dphi0, a.dphi0, 0.0, 1e-8);
        TCHECK(a.index == b.index && a.event == b.event, "index %lld/%lld", (long long)a.index,
               (long long)b.index);
        domain_destroy(&d);
    }
    is_tracker_destroy(&tr2);

    /* 6. plain FIRE to ||F||_2 < 1e-9: same samples, same IS */
    {
        Config c3 = c;
        c3.fmax_tol = 0.0;
        c3.fnorm_tol = 1e-9;
        c3.is_finish = IS_FINISH_NONE;
        c3.is_predict = 0;
        IsTracker *tr3 = NULL;
        TOK(is_tracker_create(&model, L, 0.3, &c3, N, &tr3));
        IsRecord rec3[NSTEP / EVERY + 1];
        int nrec3 = 0;
        TOK(run_md(tr3, rec3, &nrec3, xg, vg, NULL));
        TCHECK(nrec3 == nrec, "%d records with finish = none, %d by default", nrec3, nrec);
        long long ev = 0, ev3 = 0;
        for (int k = 0; k < nrec3 && nrec3 == nrec; ++k) {
            TCHECK(rec3[k].converged && rec3[k].fnorm < 1e-9, "sample %d: ||F|| %g", k,
                   rec3[k].fnorm);
            TCLOSE(rec3[k].phi, rec[k].phi, 1e-11, 0.0);
            TCHECK(rec3[k].event == rec[k].event, "sample %d: event %d vs %d", k, rec3[k].event,
                   rec[k].event);
            ev += rec[k].force_evals;
            ev3 += rec3[k].force_evals;
        }
        TCHECK(ev != ev3, "same evaluation count %lld with and without Newton", ev);
        const double *c3x = is_tracker_positions(tr3);
        double d3 = 0.0;
        for (int64_t i = lo; i < hi; ++i) {
            double dd[3];
            d3 = fmax(d3, sqrt(model_min_image(cur + 3 * (i - lo), c3x + 3 * (i - lo), L, dd)));
        }
        par_max_d(&d3, 1);
        TCHECK(d3 <= 1e-7, "finish = none vs default: max_i |dr_i| = %g", d3);
        if (par_rank() == 0)
            printf("finish = none, fnorm 1e-9: %lld evaluations against %lld by default, IS "
                   "distance %.2e\n",
                   ev3, ev, d3);
        is_tracker_destroy(&tr3);
    }
    /* 7. inherent.verify = sd and sd-rkc with a threshold that makes every sample after the
     * first an "event": each is re-quenched from r(t - Dt) and r(t) by steepest descent, or by
     * the same flow integrated with RKC steps, which must cost fewer evaluations */
    int64_t verify_evals[2] = {0, 0};
    for (int vk = 0; vk < 2; ++vk) {
        const char *vname = vk ? "sd-rkc" : "sd";
        Config c4 = c;
        c4.is_verify = vk ? IS_VERIFY_RKC : IS_VERIFY_SD;
        c4.event_threshold = 1e-300;
        IsTracker *tr4 = NULL;
        TOK(is_tracker_create(&model, L, 0.3, &c4, N, &tr4));
        IsRecord rec4[NSTEP / EVERY + 1];
        int nrec4 = 0;
        static double x4[3 * N], v4[3 * N];
        TOK(run_md(tr4, rec4, &nrec4, x4, v4, NULL));
        TCHECK(memcmp(x4, xg, sizeof(x4)) == 0 && memcmp(v4, vg, sizeof(v4)) == 0,
               "%s: MD differs with verification on", vname);
        TCHECK(nrec4 == nrec, "%s: %d records with verification", vname, nrec4);
        TCHECK(!rec4[0].verified && rec4[0].sd_dr == -1.0 && rec4[0].sd_event == -1,
               "%s: first sample: verified %d sd_dr %g", vname, rec4[0].verified, rec4[0].sd_dr);
        for (int k = 1; k < nrec4; ++k) {
            const IsRecord *q = &rec4[k];
            TCLOSE(q->phi, rec[k].phi, 1e-11, 0.0);
            TCHECK(q->event && q->verified && q->sd_converged && q->sd_evals > 0,
                   "%s sample %d: event %d verified %d converged %d evals %lld", vname, k, q->event,
                   q->verified, q->sd_converged, (long long)q->sd_evals);
            /* a quiet run stays in one steepest-descent basin: only the SD tolerance is seen */
            TCHECK(q->sd_dr >= 0.0 && q->sd_dr < 1e-3, "%s sample %d: SD |dr| = %g", vname, k,
                   q->sd_dr);
            verify_evals[vk] += q->sd_evals;
            if (par_rank() == 0)
                printf("verify %s sample %d: dr %.2e sd_dr %.2e sd_evals %lld\n", vname, k, q->dr,
                       q->sd_dr, (long long)q->sd_evals);
        }
        is_tracker_destroy(&tr4);
    }
    TCHECK(verify_evals[1] < verify_evals[0], "verification by sd-rkc: %lld evaluations, sd %lld",
           (long long)verify_evals[1], (long long)verify_evals[0]);
    is_tracker_destroy(&tr);
    TCHECK(tr == NULL, "destroy did not clear the pointer");
    return tu_finish();
}
