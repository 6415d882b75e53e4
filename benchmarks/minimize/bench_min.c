/* bench_minimize: force evaluations and seconds per inherent-structure quench, for several
 * minimiser variants on the same thermal states (benchmarks/minimize/run.sh drives it).
 *
 *   bench_minimize DATA [options]
 *     DATA                LAMMPS data file (positions, optionally velocities) of a glass, or
 *                         random:N[:SEED] for a random binary glass start (model_build_glass,
 *                         push-off 0.8 sigma_ab, density 1.015)
 *     --temp T            draw fresh velocities at T (else the file's), NVT for --equil steps
 *     --equil S           NVT steps before the first sample (default 0)
 *     --samples K         thermal states r(t) to quench (default 1)
 *     --gap S             NVE steps between samples (default 2000 = 10 time units)
 *     --variants LIST     comma list of fire, fire+newton, bitzek, sd, fire+newton-noprec,
 *                         lbfgs, lbfgs+newton, lbfgs-m16 (memory 16), fire-ho0.03+newton
 *                         (FIRE hands over to L-BFGS below max|F_i| 0.03; sd-rkc-hoX too),
 *                         lbfgs-nopc (without preconditioner), sd-rkc,
 *                         suffixes -sw<X> (Newton switch), -rtol<X>, -dmax<X>, -eta1, -eta3,
 *                         -jac / -sgs / -lsgs / -nsgs / -sgf<X> (preconditioners, below),
 *                         ... (default fire,fire+newton)
 *     --fmax X            max|F_i| tolerance (default 0: off)
 *     --fnorm X           ||F||_2 tolerance (default 1e-10, the LAMMPS anchor's)
 *     --switch X          Newton switch threshold on max|F_i| (default: finish_fmax of
 *                         minimize_params_default)
 *     --noise A           quench, add A * rng_normal3 per id (mean removed: FIRE conserves the
 *                         centre of mass) to the IS, quench again, print the floor |dr| and
 *                         max_i |dr_i| (per variant; default 0: skip)
 *     --write PREFIX      write r(t) of each sample as PREFIX<k>.data (LAMMPS) and the IS of
 *                         the first variant as PREFIX<k>.is.data
 *     --seed S            velocity seed (default 7)
 *     --nve S             NVE steps after the NVT equilibration, before the first sample
 *     --log K             log_debug line every K minimiser iterations
 *     --dtmax X, --ndelay K   override FIRE's dt_max / N_delay in every variant
 *     --tracker           in-situ mode: one IS tracker per variant (suffix "+pred" turns the
 *                         previous-IS prediction on), is_tracker_sample() every --gap steps for
 *                         --samples samples ("+verify": inherent.verify = sd, events are
 *                         re-quenched by steepest descent; "+verify-rkc": inherent.verify =
 *                         sd-rkc); prints each record and the distance of
 * each variant's IS from the first variant's. Prints one line per (sample, variant): evals,
 * iterations, seconds, Phi_IS, max|F|, ||F||, the largest distance of its IS from the first
 * variant's IS (same basin check, dIS) and, standalone, the number of atoms more than 0.1 from
 * it (nfar).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basin/analysis.h"
#include "basin/config.h"
#include "basin/domain.h"
#include "basin/h5md.h"
#include "basin/lammps_data.h"
#include "basin/md.h"
#include "basin/minimize.h"
#include "basin/model.h"
#include "basin/util.h"

#define MAXV 8

typedef struct Variant {
    char name[64];
    MinParams p;
} Variant;

static int parse_variant(const char *name, double fmax, double fnorm, double sw, Variant *v) {
    snprintf(v->name, sizeof(v->name), "%s", name);
    MinimizerKind k = MIN_FIRE;
    if (strncmp(name, "bitzek", 6) == 0) k = MIN_FIRE_BITZEK;
    if (strncmp(name, "sd", 2) == 0) k = MIN_SD;
    if (strncmp(name, "lbfgs", 5) == 0) k = MIN_LBFGS;
    if (strncmp(name, "sd-rkc", 6) == 0) k = MIN_RKC;
    minimize_params_default(&v->p, k);
    v->p.fmax_tol = fmax;
    v->p.fnorm_tol = fnorm;
    v->p.max_iter = 2000000;
    if (strstr(name, "+newton")) {
        v->p.finish = MIN_FINISH_NEWTON;
        if (sw > 0.0) v->p.finish_fmax = sw;
    }
    if (strstr(name, "-noprec")) v->p.newton_precondition = 0;
    if (strstr(name, "-nopc")) v->p.lbfgs_precondition = 0; /* L-BFGS with H_0 = gamma I */
    /* preconditioners (default: block Gauss-Seidel in L-BFGS below max|F_i| = 0.1 and in
     * Newton's CG): -jac block-Jacobi in both (the behaviour before 2026-11-26 08:00 UTC),
     * -sgs (both Gauss-Seidel), -lsgs, -nsgs (one of them), -sgfX (L-BFGS from X; 0: start) */
    if (strstr(name, "-jac")) v->p.lbfgs_precondition = v->p.newton_precondition = 1;
    if (strstr(name, "-sgs") || strstr(name, "-lsgs")) v->p.lbfgs_precondition = 2;
    if (strstr(name, "-sgs") || strstr(name, "-nsgs")) v->p.newton_precondition = 2;
    const char *sgf = strstr(name, "-sgf"); /* L-BFGS Gauss-Seidel from max|F_i| < X */
    if (sgf) v->p.lbfgs_sgs_fmax = atof(sgf + 4);
    if (strstr(name, "-dt2")) v->p.dt_max = 0.1;
    if (strstr(name, "-dt05")) v->p.dt_max = 0.025;
    if (strstr(name, "-eta1")) v->p.newton_eta = 0.1;
    if (strstr(name, "-eta3")) v->p.newton_eta = 1e-3;
    const char *e0 = strstr(name, "-e0_"); /* first Newton step's forcing: -e0_0.1 */
    if (e0) v->p.newton_eta0 = atof(e0 + 4);
    /* L-BFGS memory: lbfgs-m4, lbfgs-m16+newton, ... */
    const char *mm = strstr(name, "-m");
    if (mm && mm[2] >= '0' && mm[2] <= '9') v->p.lbfgs_m = atoi(mm + 2); /* also a hand-over's */
    /* FIRE or sd-rkc -> L-BFGS hand-over: fire-ho0.03+newton, sd-rkc-ho0.1+newton */
    const char *ho = strstr(name, "-ho");
    if (ho) v->p.handover_fmax = atof(ho + 3);
    /* RKC local error tolerance: sd-rkc-rtol1e-4+newton */
    const char *rt = strstr(name, "-rtol");
    if (rt) v->p.rkc_tol = atof(rt + 5);
    /* displacement cap: ...-dmax0.02 */
    const char *dm = strstr(name, "-dmax");
    if (dm) v->p.dmax = atof(dm + 5);
    /* soft-mode deflation of the Newton CG: lbfgs-def8+newton, -dfmax32 (total cap) */
    const char *df = strstr(name, "-def");
    if (df) v->p.newton_deflate = atoi(df + 4);
    const char *dfm = strstr(name, "-dfmax");
    if (dfm) v->p.newton_deflate_max = atoi(dfm + 6);
    const char *drs = strstr(name, "-dres"); /* Ritz residual bound for use in the quench */
    if (drs) v->p.deflate_resid = atof(drs + 5);
    const char *dff = strstr(name, "-dff"); /* L-BFGS deflation from max|F_i| < X */
    if (dff) v->p.deflate_fmax = atof(dff + 4);
    /* Newton switch threshold per variant: fire-sw0.03+newton+pred */
    const char *swp = strstr(name, "-sw");
    if (swp) v->p.finish_fmax = atof(swp + 3);
    return 0;
}

/* In-situ mode (see --tracker). */
static int run_tracker(const Model *m, Domain *md, MdState *s, double L, Variant *var, int nv,
                       int samples, int64_t gap, double fmax_tol) {
    Config cfg;
    config_defaults(&cfg);
    cfg.fmax_tol = fmax_tol > 0.0 ? fmax_tol : 1e-9;
    IsTracker *tr[MAXV] = {0};
    int rc = 0;
    for (int v = 0; v < nv && rc == 0; ++v) {
        cfg.is_verify = strstr(var[v].name, "+verify-rkc") ? IS_VERIFY_RKC
                        : strstr(var[v].name, "+verify")   ? IS_VERIFY_SD
                                                           : IS_VERIFY_NONE;
        rc = is_tracker_create(m, L, 0.3, &cfg, md->natoms, &tr[v]);
        if (rc) break;
        *is_tracker_params(tr[v]) = var[v].p;
        is_tracker_set_prediction(tr[v], strstr(var[v].name, "+pred") != NULL);
    }
    int64_t lo, hi;
    idblock_range(md->natoms, par_rank(), par_size(), &lo, &hi);
    double tot_evals[MAXV] = {0}, tot_sec[MAXV] = {0}, max_dis[MAXV] = {0};
    int64_t events[MAXV] = {0};
    for (int k = 0; k < samples && rc == 0; ++k) {
        for (int64_t q = 0; q < (k ? gap : 0) && rc == 0; ++q)
            rc = md_step(s);
        for (int v = 0; v < nv && rc == 0; ++v) {
            IsRecord rec;
            rc = is_tracker_sample(tr[v], md, s->step, (double)s->step * s->dt, &rec);
            if (rc) break;
            double dmax = 0.0;
            if (v > 0) {
                const double *a = is_tracker_positions(tr[v]), *b = is_tracker_positions(tr[0]);
                for (int64_t i = 0; i < hi - lo; ++i) {
                    double dd[3];
                    dmax = fmax(dmax, model_min_image(a + 3 * i, b + 3 * i, L, dd));
                }
                par_max_d(&dmax, 1);
                dmax = sqrt(dmax);
            }
            tot_evals[v] += (double)rec.force_evals;
            max_dis[v] = fmax(max_dis[v], dmax);
            tot_sec[v] += rec.seconds;
            events[v] += rec.event;
            if (par_rank() == 0)
                printf("%-22s t %8.2f evals %5lld iters %5lld %7.3f s Phi_IS %.10f dr %.3e "
                       "N_rearr %7.2f dr0 %.3e fmax %.2e event %d conv %d dIS %.2e\n",
                       var[v].name, rec.time, (long long)rec.force_evals, (long long)rec.iterations,
                       rec.seconds, rec.phi, rec.dr, rec.n_rearr, rec.dr0, rec.fmax, rec.event,
                       rec.converged, dmax);
            if (par_rank() == 0 && rec.verified)
                printf("%-22s   verified by SD: sd_dr %.3e sd_event %d sd_evals %lld conv %d\n",
                       var[v].name, rec.sd_dr, rec.sd_event, (long long)rec.sd_evals,
                       rec.sd_converged);
        }
        fflush(stdout);
    }
    for (int v = 0; v < nv && rc == 0; ++v)
        if (par_rank() == 0)
            printf("# %-20s mean evals/quench %.1f, mean s/quench %.3f, events %lld of %d\n",
                   var[v].name, tot_evals[v] / samples, tot_sec[v] / samples, (long long)events[v],
                   samples);
    for (int v = 0; v < nv; ++v)
        is_tracker_destroy(&tr[v]);
    return rc;
}

int main(int argc, char **argv) {
    if (basin_init(&argc, &argv) != 0) return 1;
    int rc = 0;
    const char *data = NULL, *prefix = NULL, *vlist = "fire,fire+newton";
    double temp = 0.0, fmax_tol = 0.0, fnorm = 1e-10, sw = 0.0, noise = 0.0;
    int64_t equil = 0, gap = 2000, nve_equil = 0;
    int log_every = 0, tracker = 0, ndelay = -1;
    double dtmax = 0.0;
    int samples = 1;
    uint64_t seed = 7;
    for (int a = 1; a < argc; ++a) {
        const char *o = argv[a];
        const char *val = a + 1 < argc ? argv[a + 1] : "";
        if (!strcmp(o, "--temp"))
            temp = atof(val), ++a;
        else if (!strcmp(o, "--equil"))
            equil = atoll(val), ++a;
        else if (!strcmp(o, "--samples"))
            samples = atoi(val), ++a;
        else if (!strcmp(o, "--gap"))
            gap = atoll(val), ++a;
        else if (!strcmp(o, "--variants"))
            vlist = val, ++a;
        else if (!strcmp(o, "--fmax"))
            fmax_tol = atof(val), ++a;
        else if (!strcmp(o, "--fnorm"))
            fnorm = atof(val), ++a;
        else if (!strcmp(o, "--switch"))
            sw = atof(val), ++a;
        else if (!strcmp(o, "--noise"))
            noise = atof(val), ++a;
        else if (!strcmp(o, "--write"))
            prefix = val, ++a;
        else if (!strcmp(o, "--seed"))
            seed = (uint64_t)atoll(val), ++a;
        else if (!strcmp(o, "--nve"))
            nve_equil = atoll(val), ++a;
        else if (!strcmp(o, "--log"))
            log_every = atoi(val), ++a;
        else if (!strcmp(o, "--tracker"))
            tracker = 1;
        else if (!strcmp(o, "--dtmax"))
            dtmax = atof(val), ++a;
        else if (!strcmp(o, "--ndelay"))
            ndelay = atoi(val), ++a;
        else if (o[0] != '-')
            data = o;
        else {
            if (par_rank() == 0) fprintf(stderr, "bench_minimize: unknown option %s\n", o);
            basin_finalize();
            return 2;
        }
    }
    if (!data) {
        if (par_rank() == 0) fprintf(stderr, "usage: bench_minimize DATA [options]\n");
        basin_finalize();
        return 2;
    }
    Variant var[MAXV];
    int nv = 0;
    {
        char buf[512];
        snprintf(buf, sizeof(buf), "%s", vlist);
        for (char *tok = strtok(buf, ","); tok && nv < MAXV; tok = strtok(NULL, ","))
            parse_variant(tok, fmax_tol, fnorm, sw, &var[nv++]);
        for (int k = 0; k < nv; ++k) {
            var[k].p.log_every = log_every;
            if (dtmax > 0.0) var[k].p.dt_max = dtmax;
            if (ndelay >= 0) var[k].p.n_delay = ndelay;
        }
        if (log_every > 0) log_set_level(LOG_DEBUG);
    }

    LammpsData ld = {0};
    Model m;
    Domain *md = NULL, *q = NULL;
    MdState *s = NULL;
    double *xg = NULL, *xis0 = NULL, *xis = NULL;
    if (!strncmp(data, "random:", 7)) {
        Model mg;
        model_init(&mg, MODEL_GLASS);
        ld.n = atoll(data + 7);
        const char *sd = strchr(data + 7, ':');
        ld.ntypes = 2;
        rc = BALLOC(ld.x, 3 * ld.n);
        if (rc == 0) rc = BALLOC(ld.species, ld.n);
        if (rc == 0)
            rc = model_build_glass(&mg, ld.n, 1.015, sd ? (uint64_t)atoll(sd + 1) : 1, 0.8, ld.x,
                                   ld.species, &ld.L);
    } else {
        rc = lammps_data_read(data, &ld);
    }
    if (rc == 0) {
        model_init(&m, ld.ntypes == 1 ? MODEL_CRYSTAL : MODEL_GLASS);
        rc = domain_create(&m, ld.L, 0.3, &md);
    }
    if (rc == 0) rc = domain_distribute(md, ld.n, ld.x, ld.v, ld.species, ld.image);
    if (rc == 0) rc = domain_create(&m, ld.L, 0.3, &q);
    if (rc == 0) rc = md_state_create(md, 0.005, 3, 0.5, &s);
    if (rc == 0 && temp > 0.0) rc = md_velocities_init(md, seed, 0, temp);
    if (rc == 0 && equil > 0) rc = md_set_ensemble(s, MD_NVT, temp > 0.0 ? temp : 0.01);
    if (rc == 0) rc = md_setup(s);
    for (int64_t k = 0; rc == 0 && k < equil; ++k)
        rc = md_step(s);
    if (rc == 0) rc = md_set_ensemble(s, MD_NVE, 0.0);
    for (int64_t k = 0; rc == 0 && k < nve_equil; ++k)
        rc = md_step(s);
    const int64_t n = ld.n;
    if (rc == 0) rc = BALLOC(xg, 3 * n);
    if (rc == 0) rc = BALLOC(xis0, 3 * n);
    if (rc == 0) rc = BALLOC(xis, 3 * n);
    if (rc == 0 && par_rank() == 0)
        printf("# N %lld L %.6f ranks %d file %s temp %g fnorm_tol %g fmax_tol %g switch %g\n",
               (long long)n, ld.L, par_size(), data, temp, fnorm, fmax_tol, sw);
    if (rc == 0 && tracker) {
        rc = run_tracker(&m, md, s, ld.L, var, nv, samples, gap, fmax_tol);
        samples = 0;
    }
    for (int smp = 0; rc == 0 && smp < samples; ++smp) {
        if (smp > 0)
            for (int64_t k = 0; rc == 0 && k < gap; ++k)
                rc = md_step(s);
        MdThermo th;
        if (rc == 0) rc = md_thermo(s, &th);
        if (rc == 0) rc = domain_allgather_by_id(md, md->x, 3, xg);
        if (rc) break;
        if (par_rank() == 0)
            printf("# sample %d step %lld T %.5f Phi/N %.8f\n", smp, (long long)s->step, th.t,
                   th.pe / (double)n);
        if (prefix) {
            char path[1024];
            snprintf(path, sizeof(path), "%s%d.data", prefix, smp);
            rc = lammps_data_write(path, "bench_minimize thermal state", n, ld.ntypes, ld.L, xg,
                                   NULL, ld.species, NULL);
        }
        for (int iv = 0; rc == 0 && iv < nv; ++iv) {
            MinResult r;
            rc = domain_distribute(q, n, xg, NULL, ld.species, NULL);
            if (rc == 0) rc = minimize_run(q, &var[iv].p, &r);
            if (rc == 0) rc = domain_allgather_by_id(q, q->x, 3, iv == 0 ? xis0 : xis);
            if (rc) break;
            /* same basin check: the largest distance from the first variant's IS, and how many
             * atoms sit more than 0.1 sigma from it (the size of the region where they part) */
            double dmax = 0.0;
            int64_t nfar = 0;
            if (iv > 0)
                for (int64_t i = 0; i < n; ++i) {
                    double dd[3];
                    const double di = sqrt(model_min_image(xis + 3 * i, xis0 + 3 * i, ld.L, dd));
                    dmax = fmax(dmax, di);
                    nfar += di > 0.1;
                }
            if (par_rank() == 0)
                printf("%-22s sample %d evals %6lld iters %6lld cg %5lld newton %2lld fb %lld "
                       "resets %4lld capped %lld rb %lld P %lld %8.3f s Phi %.12f fmax %.3e "
                       "fnorm %.3e status %s dIS %.3e nfar %lld\n",
                       var[iv].name, smp, (long long)r.force_evals, (long long)r.iterations,
                       (long long)r.cg_iters, (long long)r.newton_steps, (long long)r.fallbacks,
                       (long long)r.resets, (long long)r.capped, (long long)r.rebuilds,
                       (long long)r.hess_diag_evals, r.seconds, r.pe, r.fmax, r.fnorm,
                       minimize_status_name(r.status), dmax, (long long)nfar);
            if (rc == 0 && prefix && iv == 0) {
                char path[1024];
                snprintf(path, sizeof(path), "%s%d.is.data", prefix, smp);
                rc = lammps_data_write(path, "bench_minimize IS", n, ld.ntypes, ld.L, xis0, NULL,
                                       ld.species, NULL);
            }
            if (rc == 0 && noise > 0.0) {
                /* noise floor: perturb the IS by noise * N(0,1) per id, quench again */
                double *xp = iv == 0 ? xis0 : xis;
                double *xn = NULL;
                rc = BALLOC(xn, 3 * n);
                double mean[3] = {0.0, 0.0, 0.0};
                for (int64_t i = 0; rc == 0 && i < n; ++i) {
                    double g[3];
                    rng_normal3(seed, RNG_STREAM_TEST, (uint64_t)i, 1000 + (uint64_t)smp, g);
                    for (int k = 0; k < 3; ++k) {
                        xn[3 * i + k] = xp[3 * i + k] + noise * g[k];
                        mean[k] += noise * g[k] / (double)n;
                    }
                }
                for (int64_t i = 0; rc == 0 && i < n; ++i)
                    for (int k = 0; k < 3; ++k)
                        xn[3 * i + k] -= mean[k];
                MinResult r2;
                if (rc == 0) rc = domain_distribute(q, n, xn, NULL, ld.species, NULL);
                if (rc == 0) rc = minimize_run(q, &var[iv].p, &r2);
                if (rc == 0) rc = domain_allgather_by_id(q, q->x, 3, xn);
                double mx = 0.0, s2 = 0.0;
                for (int64_t i = 0; rc == 0 && i < n; ++i) {
                    double dd[3];
                    const double q2 = model_min_image(xn + 3 * i, xp + 3 * i, ld.L, dd);
                    s2 += q2;
                    mx = fmax(mx, sqrt(q2));
                }
                if (rc == 0 && par_rank() == 0)
                    printf("%-22s sample %d noise %.1e: requench evals %lld, floor |dr| %.3e "
                           "max_i|dr_i| %.3e dPhi %.3e\n",
                           var[iv].name, smp, noise, (long long)r2.force_evals, sqrt(s2), mx,
                           r2.pe - r.pe);
                free(xn);
            }
            fflush(stdout);
        }
    }
    if (rc) {
        if (par_rank() == 0) fprintf(stderr, "bench_minimize: %s\n", basin_error_message());
    }
    free(xg);
    free(xis0);
    free(xis);
    md_state_destroy(&s);
    domain_destroy(&q);
    domain_destroy(&md);
    lammps_data_free(&ld);
    basin_finalize();
    return rc ? 1 : 0;
}
