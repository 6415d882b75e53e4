/* is_tracker.c: in-situ inherent structures along the NVE trajectory (PHYSICS.md section 4).
 *
 * Every inherent.every time units the MD protocol hands its Domain to is_tracker_sample():
 *   1. copy the owned atoms (x, species, id) into the tracker's own Domain, which was created
 *      with the same model, box, skin and communicator and therefore has the same rank grid,
 *      so the copy is local (atoms that drifted out of the sub-box since the MD's last
 *      rebuild are handed on by the first rebuild of the quench). The MD Domain is only read:
 *      its positions, velocities, forces, lists and atom order are untouched, so the MD
 *      trajectory is bitwise identical with tracking on or off (ECOSYSTEM.md section 3 #3: the
 *      quench never touches the MD state, step counter or trajectory file);
 *   2. quench it with minimize_run() (inherent.minimizer, inherent.fmax, inherent.max_iter);
 *   3. move r_IS into id-block order with one idblock_move (x and species);
 *   4. compare with the previous and the first IS, both kept as id-block arrays:
 *        Delta r_i = minimum image (r_IS,i(t) - r_IS,i(t - Dt)), |Delta r_IS|, N_rearr (Eq. 7),
 *        max_i |Delta r_i| and its id, |r_IS(t) - r_IS(0)|, Phi_IS, |Delta Phi_IS|,
 *        Phi_IS(t) - Phi_IS(0), and the event flag |Delta r_IS| > inherent.event_threshold.
 *   5. inherent.verify = sd | sd-rkc: at an event, quench the saved r(t - Dt) and r(t) again by
 *      steepest descent (the definition of the basin, PHYSICS.md section 4; sd-rkc follows the
 *      same path by Runge-Kutta-Chebyshev steps, rkc.c) and record |Delta r| between
 *      those two minima, so a user can tell a rearrangement of the trajectory from a switch of
 *      the fast minimiser's path between two neighbouring minima (docs/inherent.md).
 * Memory per rank: the tracker Domain (like the MD's) plus four id-block arrays of 3 N/P doubles
 * (current, previous, first, displacement): nothing O(N); with verification a copy of the
 * MD's owned atoms of the previous sample and two more id-block arrays.
 *
 * The copy needs room for the MD's owned atoms in the tracker Domain: domain_reserve().
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "basin/analysis.h"
#include "basin/h5md.h"
#include "basin/minimize.h"
#include "basin/util.h"

_Static_assert(sizeof(int) == sizeof(int32_t), "species are moved as int32");

struct IsTracker {
    Domain *d; /* the quench's own domain */
    MinParams mp;
    int64_t natoms;
    double L;
    double event_threshold;
    int64_t lo, hi;                    /* id-block */
    double *cur, *prev, *first, *disp; /* [3 (hi - lo)] */
    int32_t *species;                  /* [hi - lo] */
    int64_t count;                     /* samples taken */
    double phi_prev, phi_first;
    IdblockWork work;
    /* the previous IS in the tracker Domain's layout (owned + ghost atoms), the prediction of
     * the Newton stage for the next sample */
    int use_guess;
    int64_t gn, gcap;
    int64_t *gid;
    double *gx;
    /* soft modes of the Newton CG recycled between quenches (mp.newton_deflate > 0) */
    MinSoftModes *soft;
    /* inherent.verify = sd: the MD's owned atoms of the previous sample (pn of them; pn < 0:
     * none, e.g. right after a restart) and the two SD inherent structures in id-block order */
    int verify;
    MinParams sdp;
    int64_t pn, pcap;
    int64_t *pid;
    int *psp;
    double *px;
    double *sd_a, *sd_b;
};

int is_tracker_create(const Model *m, double L, double skin, const Config *c, int64_t natoms,
                      IsTracker **out) {
    *out = NULL;
    if (natoms < 1)
        return basin_error(BASIN_ERR_CONFIG, "inherent", NULL, "need natoms >= 1, got %lld",
                           (long long)natoms);
    if (!(c->event_threshold > 0.0))
        return basin_error(BASIN_ERR_CONFIG, c->path, "inherent.event_threshold",
                           "must be > 0, got %g", c->event_threshold);
    IsTracker *t = NULL;
    BCHK(BALLOC(t, 1));
    minimize_params_from_config(&t->mp, c);
    /* Newton finishing with the previous IS as prediction (docs/inherent.md); steepest descent
     * stays the pure reference path. The prediction is a start of Newton's CG, so it needs the
     * Newton stage. */
    if (t->mp.kind != MIN_SD && c->is_finish == IS_FINISH_NEWTON) t->mp.finish = MIN_FINISH_NEWTON;
    t->use_guess = t->mp.finish == MIN_FINISH_NEWTON && c->is_predict;
    t->verify = c->is_verify != IS_VERIFY_NONE;
    t->pn = -1;
    /* the verifying quench: plain steepest descent, or the same path integrated by RKC steps
     * (sd-rkc: SD's minimum on every refereed sample, ~8x fewer evaluations) */
    minimize_params_default(&t->sdp, c->is_verify == IS_VERIFY_RKC ? MIN_RKC : MIN_SD);
    t->sdp.fmax_tol = IS_VERIFY_FMAX;
    t->sdp.max_iter = 10 * c->max_iter; /* SD needs ~2e4 iterations at N = 4000 */
    int rc = minimize_params_check(&t->mp);
    if (rc == 0 && t->mp.finish == MIN_FINISH_NEWTON && t->mp.newton_deflate > 0 &&
        t->mp.newton_deflate_max > 0)
        rc = min_soft_modes_create(t->mp.newton_deflate_max, &t->soft);
    t->natoms = natoms;
    t->L = L;
    t->event_threshold = c->event_threshold;
    idblock_range(natoms, par_rank(), par_size(), &t->lo, &t->hi);
    const int64_t nb = t->hi - t->lo;
    if (rc == 0) rc = BALLOC(t->cur, 3 * nb + 1);
    if (rc == 0) rc = BALLOC(t->prev, 3 * nb + 1);
    if (rc == 0) rc = BALLOC(t->first, 3 * nb + 1);
    if (rc == 0) rc = BALLOC(t->disp, 3 * nb + 1);
    if (rc == 0) rc = BALLOC(t->species, nb + 1);
    if (rc == 0 && t->verify) rc = BALLOC(t->sd_a, 3 * nb + 1);
    if (rc == 0 && t->verify) rc = BALLOC(t->sd_b, 3 * nb + 1);
    rc = basin_error_agree(rc);
    if (rc == 0) rc = domain_create(m, L, skin, &t->d);
    if (rc) {
        is_tracker_destroy(&t);
        return rc;
    }
    *out = t;
    return 0;
}

void is_tracker_destroy(IsTracker **tp) {
    if (!tp || !*tp) return;
    IsTracker *t = *tp;
    domain_destroy(&t->d);
    free(t->cur);
    free(t->prev);
    free(t->first);
    free(t->disp);
    free(t->species);
    free(t->gid);
    free(t->gx);
    min_soft_modes_destroy(&t->soft);
    free(t->pid);
    free(t->psp);
    free(t->px);
    free(t->sd_a);
    free(t->sd_b);
    idblock_work_free(&t->work);
    free(t);
    *tp = NULL;
}

/* Put n owned atoms (x, species, id) into the tracker domain. Collective (agrees on allocation
 * failures). */
static int load_atoms(IsTracker *t, int n, const double *x, const int *species, const int64_t *id) {
    Domain *d = t->d;
    int rc = domain_reserve(d, n > 0 ? n : 1);
    BCHK(basin_error_agree(rc));
    d->natoms = t->natoms;
    d->nlocal = n;
    d->nghost = 0;
    memcpy(d->x, x, 3 * (size_t)n * sizeof(double));
    memset(d->v, 0, 3 * (size_t)n * sizeof(double));
    memset(d->f, 0, 3 * (size_t)n * sizeof(double));
    memset(d->image, 0, 3 * (size_t)n * sizeof(int32_t));
    memcpy(d->species, species, (size_t)n * sizeof(int));
    memcpy(d->id, id, (size_t)n * sizeof(int64_t));
    /* the list and ghosts belong to the previous sample: mark them stale, so the quench's first
     * evaluation migrates, rebuilds borders and lists (domain_set_full_list's documented side
     * effect; the half list stays selected) */
    domain_set_full_list(d, 0);
    return 0;
}

/* Copy the MD's owned atoms (positions only) into the tracker domain. Collective. */
static int load_state(IsTracker *t, const Domain *md) {
    if (md->natoms != t->natoms || md->L != t->L)
        return basin_error_agree(basin_error(BASIN_ERR_INTERNAL, "is_tracker", NULL,
                                             "MD domain has N = %lld, L = %.17g; the tracker was "
                                             "created for N = %lld, L = %.17g",
                                             (long long)md->natoms, md->L, (long long)t->natoms,
                                             t->L));
    return load_atoms(t, md->nlocal, md->x, md->species, md->id);
}

/* Keep the MD's owned atoms of this sample: r(t - Dt) of the next one, for verification.
 * Collective (agrees on allocation failures). */
static int save_md(IsTracker *t, const Domain *md) {
    const int64_t n = md->nlocal;
    int rc = 0;
    if (n + 1 > t->pcap) {
        rc = BREALLOC(t->pid, n + 1);
        if (rc == 0) rc = BREALLOC(t->psp, n + 1);
        if (rc == 0) rc = BREALLOC(t->px, 3 * (n + 1));
        if (rc == 0) t->pcap = n + 1;
    }
    BCHK(basin_error_agree(rc));
    memcpy(t->pid, md->id, (size_t)n * sizeof(int64_t));
    memcpy(t->psp, md->species, (size_t)n * sizeof(int));
    memcpy(t->px, md->x, 3 * (size_t)n * sizeof(double));
    t->pn = n;
    return 0;
}

/* Keep the IS just found (owned and ghost atoms of the tracker Domain: every atom this rank
 * will own at the next sample is among them, atoms move far less than the ghost shell between
 * samples) as the next quench's prediction. Collective (agrees on allocation failures). */
static int save_guess(IsTracker *t) {
    const Domain *d = t->d;
    return is_tracker_set_guess(t, d->nlocal + d->nghost, d->id, d->x);
}

static double wrap(double x, double L) {
    double y = x - L * floor(x / L);
    return y >= L ? y - L : y;
}

/* The tracker domain's positions, wrapped into [0, L), into id-block order (dst[3 (hi - lo)]). */
static int domain_to_block(IsTracker *t, double *dst) {
    Domain *d = t->d;
    for (int i = 0; i < 3 * d->nlocal; ++i)
        d->x[i] = wrap(d->x[i], t->L);
    IdblockField field = {.src = d->x, .dst = dst, .elem_size = (int)sizeof(double), .width = 3};
    return idblock_move_work(t->natoms, d->nlocal, d->id, 1, &field, &t->work);
}

/* inherent.verify = sd | sd-rkc at an event: steepest descent from the saved r(t - Dt) and from
 * r(t), |Delta r| between the two minima. Collective. Runs after the sample's own results and the
 * Newton prediction were taken, so it changes nothing else of the sample. */
static int verify_event(IsTracker *t, const Domain *md, IsRecord *out) {
    if (t->pn < 0) {
        log_debug("event at step %lld not verified: r(t - Dt) is not available (first sample "
                  "after a restart)",
                  (long long)out->step);
        return 0;
    }
    MinResult ra, rb;
    BCHK(load_atoms(t, (int)t->pn, t->px, t->psp, t->pid));
    BCHK(minimize_run(t->d, &t->sdp, &ra));
    BCHK(domain_to_block(t, t->sd_a));
    BCHK(load_state(t, md));
    BCHK(minimize_run(t->d, &t->sdp, &rb));
    BCHK(domain_to_block(t, t->sd_b));
    const int64_t nb = t->hi - t->lo;
    analysis_min_image_diff(nb, t->sd_b, t->sd_a, t->L, t->sd_a);
    DispStats st;
    analysis_disp_stats(t->lo, nb, t->sd_a, &st);
    out->verified = 1;
    out->sd_dr = st.norm;
    out->sd_event = st.norm > t->event_threshold;
    out->sd_evals = ra.force_evals + rb.force_evals;
    out->sd_converged = ra.status == MIN_CONVERGED && rb.status == MIN_CONVERGED;
    log_debug("SD check at step %lld: Phi %.12g -> %.12g, |dr| %.4g, %lld evaluations",
              (long long)out->step, ra.pe, rb.pe, out->sd_dr, (long long)out->sd_evals);
    if (!out->sd_converged)
        log_warn("verifying steepest descent at step %lld did not reach max|F| < %g (%s / %s)",
                 (long long)out->step, IS_VERIFY_FMAX, minimize_status_name(ra.status),
                 minimize_status_name(rb.status));
    return 0;
}

int is_tracker_sample(IsTracker *t, const Domain *md, int64_t step, double time, IsRecord *out) {
    const double t0 = par_wtime();
    memset(out, 0, sizeof(*out));
    BCHK(load_state(t, md));
    MinResult mr;
    if (t->mp.finish == MIN_FINISH_NEWTON && t->mp.newton_deflate > 0 && !t->soft &&
        t->mp.newton_deflate_max > 0)
        BCHK(min_soft_modes_create(t->mp.newton_deflate_max, &t->soft));
    const MinGuess guess = {
        .n = t->use_guess ? t->gn : 0, .id = t->gid, .x = t->gx, .soft = t->soft};
    BCHK(minimize_run_guess(t->d, &t->mp, guess.n > 0 || guess.soft ? &guess : NULL, &mr));
    BCHK(save_guess(t));

    /* r_IS into id-block order: the previous IS stays in t->prev, t->cur is overwritten */
    Domain *d = t->d;
    for (int i = 0; i < 3 * d->nlocal; ++i)
        d->x[i] = wrap(d->x[i], t->L);
    IdblockField fields[2] = {
        {.src = d->x, .dst = t->cur, .elem_size = (int)sizeof(double), .width = 3},
        {.src = d->species, .dst = t->species, .elem_size = (int)sizeof(int32_t), .width = 1},
    };
    BCHK(idblock_move_work(t->natoms, d->nlocal, d->id, 2, fields, &t->work));

    const int64_t nb = t->hi - t->lo;
    out->index = t->count;
    out->step = step;
    out->time = time;
    out->phi = mr.pe;
    out->iterations = mr.iterations;
    out->force_evals = mr.force_evals;
    out->fmax = mr.fmax;
    out->fnorm = mr.fnorm;
    out->converged = mr.status == MIN_CONVERGED;
    out->dr_max_id = -1;
    if (t->count == 0) {
        memcpy(t->first, t->cur, 3 * (size_t)nb * sizeof(double));
        memset(t->disp, 0, 3 * (size_t)nb * sizeof(double));
        t->phi_first = mr.pe;
    } else {
        analysis_min_image_diff(nb, t->cur, t->prev, t->L, t->disp);
        DispStats st;
        analysis_disp_stats(t->lo, nb, t->disp, &st);
        out->dr = st.norm;
        out->n_rearr = st.n_rearr;
        out->dr_max = st.max;
        out->dr_max_id = st.max_id;
        out->dphi = fabs(mr.pe - t->phi_prev);
        double s0 = 0.0;
        for (int64_t k = 0; k < 3 * nb; ++k) {
            double dx = t->cur[k] - t->first[k];
            dx -= t->L * nearbyint(dx / t->L);
            s0 += dx * dx;
        }
        par_sum_d(&s0, 1);
        out->dr0 = sqrt(s0);
        out->dphi0 = mr.pe - t->phi_first;
        out->event = out->dr > t->event_threshold;
    }
    /* the current IS becomes the previous one: swap the buffers */
    double *tmp = t->prev;
    t->prev = t->cur;
    t->cur = tmp;
    t->phi_prev = mr.pe;
    ++t->count;
    if (!out->converged)
        log_warn("inherent structure at step %lld not converged (%s): max|F| = %.3g after %lld "
                 "iterations",
                 (long long)step, minimize_status_name(mr.status), mr.fmax,
                 (long long)mr.iterations);
    out->sd_dr = -1.0;
    out->sd_event = -1;
    if (t->verify) {
        if (out->event) BCHK(verify_event(t, md, out));
        BCHK(save_md(t, md));
    }
    double dt = par_wtime() - t0;
    par_bcast_d(&dt, 1, 0);
    out->seconds = dt;
    return 0;
}

void is_tracker_block(const IsTracker *t, int64_t *lo, int64_t *hi) {
    *lo = t->lo;
    *hi = t->hi;
}

/* After a sample the current IS lives in t->prev (buffers are swapped at the end of a
 * sample); t->cur then holds the IS before it. */
const double *is_tracker_positions(const IsTracker *t) {
    return t->count ? t->prev : NULL;
}
const double *is_tracker_prev_positions(const IsTracker *t) {
    return t->count > 1 ? t->cur : NULL;
}
const double *is_tracker_first_positions(const IsTracker *t) {
    return t->count ? t->first : NULL;
}
const double *is_tracker_displacements(const IsTracker *t) {
    return t->count ? t->disp : NULL;
}
const int32_t *is_tracker_species(const IsTracker *t) {
    return t->count ? t->species : NULL;
}
MinParams *is_tracker_params(IsTracker *t) {
    return &t->mp;
}
int64_t is_tracker_count(const IsTracker *t) {
    return t->count;
}
void is_tracker_set_prediction(IsTracker *t, int on) {
    t->use_guess = on ? 1 : 0;
}

int is_tracker_state(IsTracker *t, IsStateEntry *e, int max_entries, int *n) {
    const int64_t nb = t->hi - t->lo;
    const IsStateEntry all[] = {
        {"is/count", &t->count, IS_STATE_I64, 1, 0},
        {"is/phi_last", &t->phi_prev, IS_STATE_F64, 1, 0},
        {"is/phi_first", &t->phi_first, IS_STATE_F64, 1, 0},
        /* the last IS (t->prev after a sample) and the first IS, id-block per rank */
        {"is/last_positions", t->prev, IS_STATE_F64, 3 * nb, 1},
        {"is/first_positions", t->first, IS_STATE_F64, 3 * nb, 1},
        {"is/species", t->species, IS_STATE_I32, nb, 1},
    };
    const int na = (int)(sizeof(all) / sizeof(all[0]));
    if (max_entries < na)
        return basin_error(BASIN_ERR_INTERNAL, "is_tracker", NULL,
                           "state table needs %d entries, got room for %d", na, max_entries);
    memcpy(e, all, sizeof(all));
    *n = na;
    return 0;
}

static int check_loaded(const IsTracker *t) {
    if (t->count < 0)
        return basin_error(BASIN_ERR_IO, "is_tracker", "is/count", "negative sample count %lld",
                           (long long)t->count);
    const int64_t nb = t->hi - t->lo;
    for (int64_t k = 0; k < 3 * nb; ++k)
        if (!isfinite(t->prev[k]) || !isfinite(t->first[k]))
            return basin_error(BASIN_ERR_IO, "is_tracker", "is/last_positions",
                               "non-finite restored position at id %lld",
                               (long long)(t->lo + k / 3));
    return 0;
}

int is_tracker_state_loaded(IsTracker *t) {
    return basin_error_agree(check_loaded(t));
}

void is_tracker_guess(const IsTracker *t, int64_t *n, const int64_t **id, const double **x) {
    *n = t->gn;
    *id = t->gid;
    *x = t->gx;
}

MinSoftModes *is_tracker_soft_modes(IsTracker *t) {
    return t->soft;
}

int is_tracker_set_guess(IsTracker *t, int64_t n, const int64_t *id, const double *x) {
    int rc = 0;
    if (n > t->gcap) {
        rc = BREALLOC(t->gid, n);
        if (rc == 0) rc = BREALLOC(t->gx, 3 * n);
        if (rc == 0) t->gcap = n;
    }
    BCHK(basin_error_agree(rc));
    if (n > 0) {
        memcpy(t->gid, id, (size_t)n * sizeof(int64_t));
        memcpy(t->gx, x, 3 * (size_t)n * sizeof(double));
    }
    t->gn = n;
    return 0;
}
