/* is_file.c: <output.dir>/is.h5, the inherent-structure record of a run (docs/formats.md).
 *
 * One H5MD file: its /particles/trajectory frames are IS snapshots (so MDAnalysis, OVITO via
 * `basin convert`, or `basin modes RUN_DIR` open them like any trajectory), and the table
 * /inherent holds one row per quench (IsRecord plus the snapshot frame of that sample).
 * Snapshot policy (inherent.snapshots): "events" stores the first IS and, at every event, the
 * IS before it (unless already stored) and the IS after it, so each event's displacement field
 * is the difference of two stored frames; "all" stores every IS; "none" only the table.
 * Frames keep increasing steps because the IS before an event is the previous sample's.
 *
 * Restart: the file is reopened with h5md_open_append()/h5md_table_open(), which drop frames
 * and rows after the checkpoint step; what the next sample needs about the previous one (its
 * step, time and snapshot frame) is read back from the last kept row.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "basin/h5md.h"
#include "basin/is_format.h"
#include "basin/minimize.h"
#include "basin/util.h"

struct IsFile {
    H5md *h;
    int snapshots;     /* IS_SNAPSHOTS_* */
    int have_prev;     /* a previous sample exists */
    int64_t prev_step; /* its step, time, Phi_IS and snapshot frame (-1: none) */
    double prev_time, prev_phi;
    int64_t prev_frame;
    int64_t lo, hi;
    int64_t *ids; /* [hi - lo]: lo, lo + 1, ... (snapshots are written from id-blocks) */
    double L;
};

static int alloc_ids(IsFile *f, int64_t natoms) {
    idblock_range(natoms, par_rank(), par_size(), &f->lo, &f->hi);
    BCHK(BALLOC(f->ids, f->hi - f->lo + 1));
    for (int64_t i = f->lo; i < f->hi; ++i)
        f->ids[i - f->lo] = i;
    return 0;
}

static int write_attrs(IsFile *f, const Config *c) {
    BCHK(h5md_table_attr_write(f->h, IS_ATTR_EVENT_THRESHOLD, c->event_threshold));
    BCHK(h5md_table_attr_write(f->h, IS_ATTR_EVERY, c->is_every));
    BCHK(h5md_table_attr_write(f->h, IS_ATTR_FMAX_TOL, c->fmax_tol));
    BCHK(h5md_table_attr_write(f->h, IS_ATTR_FNORM_TOL, c->fnorm_tol));
    return 0;
}

int is_file_create(const char *path, const H5mdMeta *meta, const Domain *md, const Config *c,
                   IsFile **out) {
    *out = NULL;
    IsFile *f = NULL;
    int rc = BALLOC(f, 1);
    if (!rc) rc = alloc_ids(f, md->natoms);
    if ((rc = basin_error_agree(rc))) goto fail;
    f->snapshots = c->is_snapshots;
    f->prev_frame = -1;
    f->L = md->L;
    if ((rc = h5md_create_domain(path, meta, md, 0, &f->h))) goto fail;
    if ((rc = h5md_table_create(f->h, IS_TABLE_GROUP, IS_NCOLS, is_columns))) goto fail;
    if ((rc = write_attrs(f, c))) goto fail;
    *out = f;
    return 0;
fail:
    is_file_close(&f);
    return rc;
}

int is_file_open_append(const char *path, const Config *c, int64_t natoms, double L,
                        int64_t last_step, IsFile **out) {
    *out = NULL;
    IsFile *f = NULL;
    double *step = NULL, *time = NULL, *phi = NULL, *frame = NULL;
    int64_t n = 0, n2 = 0;
    int rc = BALLOC(f, 1);
    if (!rc) rc = alloc_ids(f, natoms);
    if ((rc = basin_error_agree(rc))) goto fail;
    f->snapshots = c->is_snapshots;
    f->prev_frame = -1;
    f->L = L;
    if ((rc = h5md_open_append(path, last_step, &f->h))) goto fail;
    if (h5md_natoms(f->h) != natoms) {
        rc = basin_error_agree(basin_error(BASIN_ERR_IO, path, "N",
                                           "holds %lld atoms, the run has %lld",
                                           (long long)h5md_natoms(f->h), (long long)natoms));
        goto fail;
    }
    if ((rc = h5md_table_open(f->h, IS_TABLE_GROUP, IS_NCOLS, is_columns, last_step))) goto fail;
    if ((rc = write_attrs(f, c))) goto fail;
    /* the previous sample, as the next one needs it */
    rc = h5md_table_read(f->h, IS_TABLE_GROUP, is_columns[IS_COL_STEP].name, &step, &n);
    if (!rc) rc = h5md_table_read(f->h, IS_TABLE_GROUP, is_columns[IS_COL_TIME].name, &time, &n2);
    if (!rc) rc = h5md_table_read(f->h, IS_TABLE_GROUP, is_columns[IS_COL_PHI].name, &phi, &n2);
    if (!rc) rc = h5md_table_read(f->h, IS_TABLE_GROUP, is_columns[IS_COL_FRAME].name, &frame, &n2);
    if (rc) goto fail;
    if (n > 0) {
        f->have_prev = 1;
        f->prev_step = (int64_t)step[n - 1];
        f->prev_time = time[n - 1];
        f->prev_phi = phi[n - 1];
        f->prev_frame = (int64_t)frame[n - 1];
    }
    free(step);
    free(time);
    free(phi);
    free(frame);
    *out = f;
    return 0;
fail:
    free(step);
    free(time);
    free(phi);
    free(frame);
    is_file_close(&f);
    return rc;
}

static int append_snapshot(IsFile *f, int64_t step, double time, double phi, const double *x,
                           int64_t *frame) {
    H5mdFrame fr = {.step = step,
                    .time = time,
                    .box = {f->L, f->L, f->L},
                    .n_owned = (int)(f->hi - f->lo),
                    .id = f->ids,
                    .x = x,
                    .v = NULL,
                    .image = NULL};
    fr.obs[H5MD_OBS_TEMPERATURE] = 0.0;
    fr.obs[H5MD_OBS_POTENTIAL_ENERGY] = phi;
    fr.obs[H5MD_OBS_KINETIC_ENERGY] = 0.0;
    fr.obs[H5MD_OBS_TOTAL_ENERGY] = phi;
    fr.obs[H5MD_OBS_PRESSURE] = NAN; /* not computed by the quench */
    *frame = h5md_nframes(f->h);
    return h5md_append(f->h, &fr);
}

int is_file_record(IsFile *f, const IsTracker *t, const IsRecord *r) {
    int64_t frame = -1;
    const int store = f->snapshots == IS_SNAPSHOTS_ALL ||
                      (f->snapshots == IS_SNAPSHOTS_EVENTS && (!f->have_prev || r->event));
    if (store && r->event && f->have_prev && f->prev_frame < 0) {
        /* the IS before the event is the previous sample's: store it first */
        const double *prev = is_tracker_prev_positions(t);
        if (!prev)
            return basin_error(BASIN_ERR_INTERNAL, "is.h5", NULL,
                               "the IS before the event at step %lld is not available",
                               (long long)r->step);
        int64_t pf = -1;
        BCHK(append_snapshot(f, f->prev_step, f->prev_time, f->prev_phi, prev, &pf));
    }
    if (store) BCHK(append_snapshot(f, r->step, r->time, r->phi, is_tracker_positions(t), &frame));
    double row[IS_NCOLS] = {
        [IS_COL_STEP] = (double)r->step,
        [IS_COL_TIME] = r->time,
        [IS_COL_INDEX] = (double)r->index,
        [IS_COL_PHI] = r->phi,
        [IS_COL_DR] = r->dr,
        [IS_COL_DPHI] = r->dphi,
        [IS_COL_NREARR] = r->n_rearr,
        [IS_COL_DRMAX] = r->dr_max,
        [IS_COL_DRMAX_ID] = (double)r->dr_max_id,
        [IS_COL_DR0] = r->dr0,
        [IS_COL_DPHI0] = r->dphi0,
        [IS_COL_EVENT] = r->event,
        [IS_COL_CONVERGED] = r->converged,
        [IS_COL_ITER] = (double)r->iterations,
        [IS_COL_EVALS] = (double)r->force_evals,
        [IS_COL_FMAX] = r->fmax,
        [IS_COL_FNORM] = r->fnorm,
        [IS_COL_SECONDS] = r->seconds,
        [IS_COL_FRAME] = (double)frame,
        [IS_COL_SD_DR] = r->verified ? r->sd_dr : -1.0,
        [IS_COL_SD_EVENT] = r->verified ? r->sd_event : -1.0,
        [IS_COL_SD_EVALS] = (double)r->sd_evals,
    };
    BCHK(h5md_table_append(f->h, row));
    f->have_prev = 1;
    f->prev_step = r->step;
    f->prev_time = r->time;
    f->prev_phi = r->phi;
    f->prev_frame = frame;
    return 0;
}

int is_file_close(IsFile **fp) {
    if (!fp || !*fp) return 0;
    IsFile *f = *fp;
    *fp = NULL;
    const int rc = h5md_close(&f->h);
    free(f->ids);
    free(f);
    return rc;
}
