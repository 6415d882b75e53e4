/* rearr_run.c: `basin rearr RUN_DIR`, the rearrangement analysis of a run (PHYSICS.md
 * sections 3, 4 and 8; docs/inherent.md "Analysis").
 *
 * Input: RUN_DIR/is.h5, written by the in-situ IS tracker of `basin run`: the table /inherent
 * (one row per quench, small, read whole on every rank) and IS snapshots in
 * /particles/trajectory (id-block frames). The verdict and the catalogue need only the table;
 * the displacement field of an event is recomputed from the two snapshots that bracket it (the
 * IS of the sample before the event and the IS after it), so the profile and its exponent come
 * from the positions themselves, not from anything the tracker summarised.
 *
 * Why recompute |dr_IS| and N_rearr from the snapshots when the table has them: the
 * comparison is a check that the snapshot frames really are the ISs of those rows (the frame
 * step is compared with the row's step as well); a mismatch is reported as a warning, since
 * the table is what the run measured.
 *
 * Parallel: per-atom data stay in id-blocks (h5md_read_frame), every reduction goes through
 * par_* (inside analysis_disp_stats / analysis_event_profile / analysis_msd), and the per-atom
 * field file is gathered to rank 0 in fixed chunks of ids with par_sum_d (only the owner of an
 * id contributes a non-zero value, so the sum is exact): O(chunk) memory on every rank whatever
 * N is. No MPI call here.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "basin/analysis.h"
#include "basin/config.h"
#include "basin/h5md.h"
#include "basin/is_format.h"
#include "basin/util.h"

/* ids per gather round of the field file: 4096 x 7 doubles = 229 kB on every rank */
enum { FIELD_CHUNK = 4096, FIELD_COLS = 7 };

static const char *const inherent_group = IS_TABLE_GROUP;

void analysis_rearr_options_default(RearrOptions *o) {
    memset(o, 0, sizeof *o);
    o->threshold = 0.0;
    o->event = 0;
    o->nbins = 40;
    o->fit_rmin = 0.0;
    o->fit_rmax = 0.0;
    o->origin_stride = 1;
}

void analysis_rearr_result_free(RearrResult *r) {
    if (!r) return;
    free(r->event_row);
    analysis_event_profile_free(&r->profile);
    free(r->msd_lag);
    free(r->msd);
    memset(r, 0, sizeof *r);
}

/* The columns of /inherent that the analysis reads (all written by the tracker); Table.c is
 * indexed by IsColumnId, the columns not read stay NULL. */
static const IsColumnId used_cols[] = {
    IS_COL_STEP,  IS_COL_TIME,      IS_COL_INDEX, IS_COL_PHI,      IS_COL_DR,
    IS_COL_DPHI,  IS_COL_NREARR,    IS_COL_DRMAX, IS_COL_DRMAX_ID, IS_COL_DR0,
    IS_COL_DPHI0, IS_COL_CONVERGED, IS_COL_FRAME};
enum { NUSED = sizeof used_cols / sizeof used_cols[0] };

typedef struct Table {
    int64_t n;
    double *c[IS_NCOLS];
} Table;

static void table_free(Table *t) {
    for (int k = 0; k < IS_NCOLS; ++k)
        free(t->c[k]);
    memset(t, 0, sizeof *t);
}

/* Collective. Every column, cut to the shortest one: a run killed between the extension of
 * the columns and the write of the row leaves them one apart (the same rule as H5MD frames). */
static int table_read(H5md *h, const char *path, Table *t) {
    memset(t, 0, sizeof *t);
    int64_t n = INT64_MAX;
    for (int k = 0; k < NUSED; ++k) {
        const IsColumnId col = used_cols[k];
        int64_t nk = 0;
        int rc = h5md_table_read(h, inherent_group, is_columns[col].name, &t->c[col], &nk);
        if (rc && k == 0) {
            /* no step column: there is no table at all; name the likely cause */
            table_free(t);
            return basin_error(BASIN_ERR_IO, path, inherent_group,
                               "no inherent-structure table (run `basin run` with "
                               "inherent.enabled = true)");
        }
        if (rc) {
            table_free(t);
            return rc;
        }
        if (nk < n) n = nk;
    }
    /* optional: inherent.verify = sd columns (absent in files of older versions) */
    for (int k = 0; k < 2; ++k) {
        const IsColumnId col = k ? IS_COL_SD_DR : IS_COL_SD_EVENT;
        int64_t nk = 0;
        if (h5md_table_read(h, inherent_group, is_columns[col].name, &t->c[col], &nk) != 0) {
            basin_error_clear();
            free(t->c[col]);
            t->c[col] = NULL;
        } else if (nk < n) {
            n = nk;
        }
    }
    t->n = n;
    return 0;
}

/* Collective. Threshold: --threshold, else the table attribute, else the stored config. */
static int pick_threshold(H5md *h, const char *path, const RearrOptions *o, RearrResult *r) {
    if (o->threshold > 0.0) {
        r->threshold = o->threshold;
        r->threshold_from = 0;
        return 0;
    }
    double v = NAN;
    if (h5md_table_attr_read(h, inherent_group, IS_ATTR_EVENT_THRESHOLD, &v) == 0 && v > 0.0) {
        r->threshold = v;
        r->threshold_from = 1;
        return 0;
    }
    basin_error_clear();
    char *text = NULL;
    int rc = h5md_read_config_text(h, &text);
    if (rc == 0) {
        Config c;
        /* parsing is deterministic: every rank gets the same answer from the same text */
        rc = config_parse_string(text, path, &c);
        if (rc == 0) {
            r->threshold = c.event_threshold;
            r->threshold_from = 2;
        }
    }
    free(text);
    if (rc)
        return basin_error(BASIN_ERR_IO, path, "event_threshold",
                           "neither the /inherent table nor the stored configuration gives the "
                           "event threshold; pass --threshold");
    return 0;
}

/* Not collective. The snapshot frame holding MD step `step`, -1 if none. */
static int64_t find_frame(const H5md *h, int64_t step) {
    for (int64_t f = h5md_nframes(h) - 1; f >= 0; --f)
        if (h5md_step(h, f) == step) return f;
    return -1;
}

/* Not collective (every rank has the same table and frame list). The snapshot `frame` exists and
 * is the IS of the row with MD step `step`. Checked before anything is printed, so that a bad
 * --event ends with the error line alone. */
static int check_snapshot(const H5md *h, const char *path, int64_t frame, int64_t step,
                          const char *what, int64_t k_event) {
    if (frame < 0 || frame >= h5md_nframes(h))
        return basin_error(BASIN_ERR_IO, path, "/particles/trajectory",
                           "event %lld: no snapshot of the IS %s the event (frame index %lld, "
                           "%lld frames stored): with inherent.snapshots = events the run "
                           "stores them only for events above its own threshold, with none "
                           "not at all",
                           (long long)k_event, what, (long long)frame, (long long)h5md_nframes(h));
    if (h5md_step(h, frame) != step)
        return basin_error(BASIN_ERR_IO, path, "/particles/trajectory",
                           "event %lld: snapshot frame %lld has step %lld, the table row step %lld",
                           (long long)k_event, (long long)frame, (long long)h5md_step(h, frame),
                           (long long)step);
    return 0;
}

/* Collective. The id-block positions of a snapshot, which must have a cubic box. */
static int read_snapshot(H5md *h, const char *path, int64_t frame, double *x, double *L) {
    double box[3];
    BCHK(h5md_read_frame(h, frame, x, NULL, NULL, box));
    if (box[0] != box[1] || box[0] != box[2] || !(box[0] > 0.0))
        return basin_error(BASIN_ERR_IO, path, "box",
                           "frame %lld: the analysis needs a cubic box, got %g x %g x %g",
                           (long long)frame, box[0], box[1], box[2]);
    *L = box[0];
    return 0;
}

/* Collective. Rank 0 writes id, species, x_before, dx for every atom, gathered chunk by chunk
 * (see the top of the file). */
static int write_field(const char *file, const char *is_path, int64_t k_event, const RearrResult *r,
                       int64_t natoms, int64_t lo, int64_t hi, const int32_t *species,
                       const double *x, const double *d) {
    double *buf = NULL;
    BCHK(basin_error_agree(BALLOC(buf, (size_t)FIELD_CHUNK * FIELD_COLS)));
    FILE *fp = NULL;
    int rc = 0;
    if (par_rank() == 0) {
        fp = fopen(file, "w");
        if (!fp)
            rc = basin_error(BASIN_ERR_IO, file, NULL, "cannot open for writing: %s",
                             strerror(errno));
        else
            fprintf(fp,
                    "# displacement field of event %lld of %s: table row %lld, IS frames "
                    "%lld -> %lld\n"
                    "# |dr_IS| = %.10g, N_rearr = %.10g, most-displaced atom id %lld "
                    "(|dr_1| = %.10g); ids 0-based as in the file\n"
                    "# id species x y z (IS before the event, wrapped into [0, L), L = %.17g) "
                    "dx dy dz (minimum image of after - before)\n",
                    (long long)k_event, is_path, (long long)r->row, (long long)r->frame_before,
                    (long long)r->frame_after, r->field.norm, r->field.n_rearr,
                    (long long)r->field.max_id, r->field.max, r->L);
    }
    /* every rank runs every chunk (the sums are collective) even after rank 0 failed to open */
    rc = basin_error_agree(rc);
    for (int64_t s = 0; s < natoms && rc == 0; s += FIELD_CHUNK) {
        const int64_t e = s + FIELD_CHUNK < natoms ? s + FIELD_CHUNK : natoms;
        memset(buf, 0, (size_t)(e - s) * FIELD_COLS * sizeof *buf);
        const int64_t a = s > lo ? s : lo, b = e < hi ? e : hi;
        for (int64_t id = a; id < b; ++id) {
            double *q = buf + (id - s) * FIELD_COLS;
            q[0] = species[id - lo];
            for (int k = 0; k < 3; ++k) {
                q[1 + k] = x[3 * (id - lo) + k];
                q[4 + k] = d[3 * (id - lo) + k];
            }
        }
        par_sum_d(buf, (int)((e - s) * FIELD_COLS));
        if (fp)
            for (int64_t id = s; id < e; ++id) {
                const double *q = buf + (id - s) * FIELD_COLS;
                fprintf(fp, "%lld %d %.12g %.12g %.12g %.12g %.12g %.12g\n", (long long)id,
                        (int)q[0], q[1], q[2], q[3], q[4], q[5], q[6]);
            }
    }
    if (fp && fclose(fp) != 0 && rc == 0)
        rc = basin_error(BASIN_ERR_IO, file, NULL, "write failed: %s", strerror(errno));
    free(buf);
    return basin_error_agree(rc);
}

/* Collective. MSD(t) from the unwrapped positions x + L image of every frame of traj_path. */
static int run_msd(const char *traj_path, int origin_stride, RearrResult *r) {
    H5md *h = NULL;
    BCHK(h5md_open_read(traj_path, &h));
    const int64_t nf64 = h5md_nframes(h), natoms = h5md_natoms(h);
    int rc = 0;
    if (nf64 < 1)
        rc = basin_error(BASIN_ERR_IO, traj_path, NULL, "no frames");
    else if (nf64 > 1000000)
        rc = basin_error(BASIN_ERR_CONFIG, traj_path, NULL, "%lld frames: too many for the MSD",
                         (long long)nf64);
    /* MSD(k) averages pairs of frames k apart: that is a time lag only with equal spacing */
    for (int64_t f = 2; f < nf64 && rc == 0; ++f)
        if (h5md_step(h, f) - h5md_step(h, 0) != f * (h5md_step(h, 1) - h5md_step(h, 0)))
            rc = basin_error(BASIN_ERR_IO, traj_path, NULL,
                             "frames are not equally spaced (frame %lld at step %lld, frame 1 at "
                             "step %lld): the MSD over time origins needs a constant interval",
                             (long long)f, (long long)h5md_step(h, f), (long long)h5md_step(h, 1));
    rc = basin_error_agree(rc);
    const int nf = rc ? 0 : (int)nf64;
    int64_t lo, hi;
    h5md_block(h, &lo, &hi);
    const int64_t n = hi - lo;
    double **frames = NULL;
    int32_t *img = NULL;
    if (rc == 0) rc = BALLOC(frames, nf);
    if (rc == 0) rc = BALLOC(img, 3 * n);
    if (rc == 0) rc = BALLOC(r->msd, nf);
    if (rc == 0) rc = BALLOC(r->msd_lag, nf);
    for (int f = 0; f < nf && rc == 0; ++f)
        rc = BALLOC(frames[f], 3 * n);
    rc = basin_error_agree(rc);
    for (int f = 0; f < nf && rc == 0; ++f) {
        double box[3];
        rc = h5md_read_frame(h, f, frames[f], NULL, img, box);
        if (rc) break;
        for (int64_t i = 0; i < n; ++i)
            for (int k = 0; k < 3; ++k)
                frames[f][3 * i + k] += box[k] * img[3 * i + k];
        r->msd_lag[f] = h5md_time(h, f) - h5md_time(h, 0);
    }
    if (rc == 0)
        rc = analysis_msd(natoms, n, nf, (const double *const *)frames, origin_stride, r->msd);
    if (rc == 0) r->msd_frames = nf;
    for (int f = 0; frames && f < nf; ++f)
        free(frames[f]);
    free(frames);
    free(img);
    const int rc2 = h5md_close(&h);
    return rc ? rc : rc2;
}

static void print_catalogue(FILE *fp, const H5md *h, const char *is_path, const Table *t,
                            const RearrResult *r) {
    static const char *const from[3] = {"--threshold", "is.h5 /inherent", "stored config"};
    fprintf(fp,
            "# rearrangement catalogue of %s: %lld IS samples, every %.6g, N = %lld, L = %.10g\n"
            "# event threshold |dr_IS| > %g (%s); %lld event(s); %lld unconverged quench(es)\n",
            is_path, (long long)r->samples, r->every, (long long)r->natoms, r->L, r->threshold,
            from[r->threshold_from], (long long)r->nevents, (long long)r->unconverged);
    fprintf(fp, "# %5s %7s %12s %11s %12s %12s %10s %12s %9s %6s %6s %12s\n", "event", "index",
            "time", "step", "dr_IS", "dPhi_IS", "N_rearr", "dr_max", "atom_id", "before", "after",
            "sd_dr");
    for (int64_t e = 0; e < r->nevents; ++e) {
        const int64_t k = r->event_row[e];
        /* sd_dr: |dr| between the steepest-descent minima, -1 where not verified */
        const double sd = t->c[IS_COL_SD_DR] ? t->c[IS_COL_SD_DR][k] : -1.0;
        fprintf(fp,
                "%7lld %7lld %12.6g %11lld %12.6g %12.6g %10.5g %12.6g %9lld %6lld %6lld %12.6g\n",
                (long long)(e + 1), (long long)t->c[IS_COL_INDEX][k], t->c[IS_COL_TIME][k],
                (long long)t->c[IS_COL_STEP][k], t->c[IS_COL_DR][k], t->c[IS_COL_DPHI][k],
                t->c[IS_COL_NREARR][k], t->c[IS_COL_DRMAX][k], (long long)t->c[IS_COL_DRMAX_ID][k],
                k > 0 ? (long long)find_frame(h, (int64_t)t->c[IS_COL_STEP][k - 1]) : -1LL,
                (long long)find_frame(h, (int64_t)t->c[IS_COL_STEP][k]), sd);
    }
}

/* Rank 0: print text with every line prefixed (the summary as comments of the table file). */
static void print_prefixed(FILE *fp, const char *text, const char *prefix) {
    const char *p = text;
    while (*p) {
        const char *e = strchr(p, '\n');
        const size_t len = e ? (size_t)(e - p) : strlen(p);
        fprintf(fp, "%s%.*s\n", prefix, (int)len, p);
        p += len + (e ? 1 : 0);
    }
}

static void print_profile_head(FILE *fp, const char *prefix, const Table *t, const RearrResult *r) {
    const EventProfile *p = &r->profile;
    const int64_t k = r->row;
    fprintf(fp,
            "%sevent %lld (sample index %lld, t = %.6g, step %lld), IS frames %lld -> %lld\n"
            "%sfrom the snapshots: |dr_IS| = %.6g, N_rearr = %.6g; most-displaced atom id %lld, "
            "|dr_1| = %.6g\n"
            "%sfar field |dr_i|/|dr_1| ~ r^-a: a = %.4f +- %.4f (fit over %d bins, "
            "%.4g <= r_mean <= %.4g; r_max = L/2 = %.4g)\n",
            prefix, (long long)r->event, (long long)t->c[IS_COL_INDEX][k], t->c[IS_COL_TIME][k],
            (long long)t->c[IS_COL_STEP][k], (long long)r->frame_before, (long long)r->frame_after,
            prefix, r->field.norm, r->field.n_rearr, (long long)p->center_id, p->center_disp,
            prefix, p->a, p->a_err, p->fit_bins, p->fit_rmin, p->fit_rmax, p->r_max);
}

static void print_profile_table(FILE *fp, const RearrResult *r) {
    const EventProfile *p = &r->profile;
    const double w = p->r_max / p->nbins;
    fprintf(fp, "# %8s %10s %10s %8s %12s %4s\n", "r_lo", "r_hi", "r_mean", "count", "ratio",
            "fit");
    for (int b = 0; b < p->nbins; ++b) {
        const int in = p->count[b] > 0 && p->ratio[b] > 0.0 && p->r_mean[b] >= p->fit_rmin &&
                       p->r_mean[b] <= p->fit_rmax;
        fprintf(fp, "%10.4f %10.4f %10.4f %8lld %12.5e %4d\n", b * w, (b + 1) * w, p->r_mean[b],
                (long long)p->count[b], p->ratio[b], in);
    }
}

static void print_msd(FILE *fp, const char *traj_path, int stride, const RearrResult *r) {
    fprintf(fp,
            "# MSD(t) = < (1/N) sum_i |r_i(t0 + t) - r_i(t0)|^2 >_t0 of %s (unwrapped positions, "
            "%d frames, origin stride %d)\n# %12s %14s %8s\n",
            traj_path, r->msd_frames, stride, "lag_time", "msd", "origins");
    for (int k = 0; k < r->msd_frames; ++k)
        fprintf(fp, "%14.8g %14.8e %8d\n", r->msd_lag[k], r->msd[k],
                (r->msd_frames - 1 - k) / stride + 1);
}

/* Rank 0: open a file for writing and run the printer; the status is agreed by the caller. */
static int write_text(const char *file, void (*fn)(FILE *, const void *), const void *arg) {
    FILE *fp = fopen(file, "w");
    if (!fp)
        return basin_error(BASIN_ERR_IO, file, NULL, "cannot open for writing: %s",
                           strerror(errno));
    fn(fp, arg);
    if (fclose(fp) != 0) return basin_error(BASIN_ERR_IO, file, NULL, "write failed");
    return 0;
}

typedef struct OutArgs {
    const H5md *h;
    const char *is_path;
    const Table *t;
    const RearrResult *r;
    const char *summary;
} OutArgs;

static void out_file(FILE *fp, const void *arg) {
    const OutArgs *a = arg;
    print_catalogue(fp, a->h, a->is_path, a->t, a->r);
    print_prefixed(fp, a->summary, "# ");
    if (a->r->event > 0) print_profile_head(fp, "# ", a->t, a->r);
}

typedef struct MsdArgs {
    const char *traj_path;
    int stride;
    const RearrResult *r;
} MsdArgs;

static void msd_file(FILE *fp, const void *arg) {
    const MsdArgs *a = arg;
    print_msd(fp, a->traj_path, a->stride, a->r);
}

/* Rank 0: the report of analysis_rearr_report() as a string (printed twice, once prefixed). */
static int report_text(const IsSeries *s, double threshold, RearrReport *rep, char **text) {
    size_t len = 0;
    FILE *mf = open_memstream(text, &len);
    if (!mf) return basin_error(BASIN_ERR_NOMEM, NULL, NULL, "cannot open a memory stream");
    const int rc = analysis_rearr_report(s, threshold, rep, mf);
    fclose(mf);
    return rc;
}

static int rearr_body(const char *run_dir, const RearrOptions *o, RearrResult *r, H5md **hp,
                      Table *t, char *is_path, size_t is_path_len) {
    /* the directory first: "no such file .../is.h5" would hide a mistyped RUN_DIR */
    struct stat st;
    int rc = 0;
    if (stat(run_dir, &st) != 0)
        rc = basin_error(BASIN_ERR_IO, run_dir, NULL, "no such run directory");
    else if (!S_ISDIR(st.st_mode))
        rc = basin_error(BASIN_ERR_IO, run_dir, NULL,
                         "not a directory (give the run's output.dir, which holds is.h5)");
    BCHK(basin_error_agree(rc));
    snprintf(is_path, is_path_len, "%s/is.h5", run_dir);
    BCHK(h5md_open_read(is_path, hp));
    H5md *h = *hp;
    BCHK(table_read(h, is_path, t));
    BCHK(pick_threshold(h, is_path, o, r));
    double every = NAN;
    if (h5md_table_attr_read(h, inherent_group, IS_ATTR_EVERY, &every) != 0) basin_error_clear();
    r->every = every;
    r->natoms = h5md_natoms(h);
    r->samples = t->n;
    if (h5md_nframes(h) > 0) {
        double box[3];
        BCHK(h5md_read_frame(h, 0, NULL, NULL, NULL, box));
        r->L = box[0];
    } else {
        r->L = NAN;
    }

    /* the catalogue: rows above the threshold; rows never differ between ranks */
    int64_t nev = 0;
    analysis_rearr_verdict(t->n, t->c[IS_COL_DR], r->threshold, NULL, &nev);
    BCHK(basin_error_agree(BALLOC(r->event_row, nev)));
    for (int64_t k = 0; k < t->n; ++k) {
        if (t->c[IS_COL_DR][k] > r->threshold) r->event_row[r->nevents++] = k;
        if (t->c[IS_COL_CONVERGED][k] == 0.0) ++r->unconverged;
    }
    for (int64_t e = 0; t->c[IS_COL_SD_EVENT] && e < r->nevents; ++e) {
        const double v = t->c[IS_COL_SD_EVENT][r->event_row[e]];
        r->sd_verified += v >= 0.0;
        r->sd_refuted += v == 0.0;
    }
    const IsSeries s = {.n = t->n,
                        .time = t->c[IS_COL_TIME],
                        .phi = t->c[IS_COL_PHI],
                        .dr = t->c[IS_COL_DR],
                        .dphi = t->c[IS_COL_DPHI],
                        .n_rearr = t->c[IS_COL_NREARR],
                        .dr0 = t->c[IS_COL_DR0],
                        .dphi0 = t->c[IS_COL_DPHI0]};
    char *summary = NULL;
    rc = 0;
    if (par_rank() == 0)
        rc = report_text(&s, r->threshold, &r->report, &summary);
    else
        rc = analysis_rearr_report(&s, r->threshold, &r->report, NULL);
    rc = basin_error_agree(rc);

    /* event K: its row and the two snapshots that bracket it */
    if (rc == 0 && o->event != 0 && (o->event < 1 || o->event > r->nevents))
        rc = basin_error(BASIN_ERR_CONFIG, is_path, "--event",
                         "event %lld out of range: the run has %lld event(s) above %g",
                         (long long)o->event, (long long)r->nevents, r->threshold);
    if (rc == 0 && o->event > 0) {
        const int64_t k = r->event_row[o->event - 1];
        r->event = o->event;
        r->row = k;
        /* The IS before an event is stored when the event is found, after the previous row
         * was written: that row's frame column may say -1 although its snapshot exists. Frames
         * are identified by their MD step instead (steps are unique and increasing). */
        r->frame_before = k > 0 ? find_frame(h, (int64_t)t->c[IS_COL_STEP][k - 1]) : -1;
        r->frame_after = find_frame(h, (int64_t)t->c[IS_COL_STEP][k]);
        rc = check_snapshot(h, is_path, r->frame_before,
                            k > 0 ? (int64_t)t->c[IS_COL_STEP][k - 1] : -1, "before", o->event);
        if (rc == 0)
            rc = check_snapshot(h, is_path, r->frame_after, (int64_t)t->c[IS_COL_STEP][k], "after",
                                o->event);
        rc = basin_error_agree(rc);
    }

    FILE *out = par_rank() == 0 && !o->quiet ? stdout : NULL;
    if (rc == 0 && out) {
        print_catalogue(out, h, is_path, t, r);
        fputs(summary, out);
        if (r->unconverged > 0)
            fprintf(out,
                    "  warning: %lld quench(es) did not converge (an event there may be "
                    "an artefact)\n",
                    (long long)r->unconverged);
        if (r->sd_verified > 0)
            fprintf(out,
                    "  steepest-descent check (inherent.verify = sd): %lld of %lld event(s) "
                    "verified, %lld confirmed, %lld not confirmed (switches of the "
                    "minimiser's path, not of the trajectory)\n",
                    (long long)r->sd_verified, (long long)r->nevents,
                    (long long)(r->sd_verified - r->sd_refuted), (long long)r->sd_refuted);
        fflush(out);
    }

    /* event K: the field between its two snapshots */
    int64_t lo = 0, hi = 0;
    h5md_block(h, &lo, &hi);
    const int64_t nb = hi - lo;
    double *xb = NULL, *xa = NULL, *d = NULL;
    int32_t *species = NULL;
    if (rc == 0 && r->event > 0) {
        const int64_t k = r->row;
        rc = BALLOC(xb, 3 * nb);
        if (rc == 0) rc = BALLOC(xa, 3 * nb);
        if (rc == 0) rc = BALLOC(d, 3 * nb);
        if (rc == 0) rc = BALLOC(species, nb);
        rc = basin_error_agree(rc);
        double Lb = 0.0, La = 0.0;
        if (rc == 0) rc = read_snapshot(h, is_path, r->frame_before, xb, &Lb);
        if (rc == 0) rc = read_snapshot(h, is_path, r->frame_after, xa, &La);
        if (rc == 0 && Lb != La)
            rc = basin_error(BASIN_ERR_IO, is_path, "box",
                             "event %lld: the box changed between the snapshots (%.17g, %.17g)",
                             (long long)o->event, Lb, La);
        if (rc == 0) {
            r->L = Lb;
            analysis_min_image_diff(nb, xa, xb, Lb, d);
            analysis_disp_stats(lo, nb, d, &r->field);
            const double dr = t->c[IS_COL_DR][k];
            if (fabs(r->field.norm - dr) > 1e-6 * fmax(1.0, dr))
                log_warn("%s: event %lld: |dr_IS| from the snapshots %.10g differs from the "
                         "table's %.10g",
                         is_path, (long long)o->event, r->field.norm, dr);
            rc = analysis_event_profile(lo, nb, xb, d, Lb, o->nbins, o->fit_rmin, o->fit_rmax,
                                        &r->profile);
        }
        if (rc == 0 && out) {
            fputc('\n', out);
            print_profile_head(out, "", t, r);
            print_profile_table(out, r);
            fflush(out);
        }
        if (rc == 0 && o->field_out) {
            rc = h5md_read_species(h, species);
            if (rc == 0)
                rc = write_field(o->field_out, is_path, o->event, r, r->natoms, lo, hi, species, xb,
                                 d);
        }
    }
    free(xb);
    free(xa);
    free(d);
    free(species);

    if (rc == 0 && o->out) {
        const OutArgs a = {h, is_path, t, r, summary ? summary : ""};
        if (par_rank() == 0) rc = write_text(o->out, out_file, &a);
        rc = basin_error_agree(rc);
    }
    free(summary);

    if (rc == 0 && o->msd) {
        char traj[4200];
        snprintf(traj, sizeof traj, "%s/trajectory.h5", run_dir);
        rc = run_msd(traj, o->origin_stride, r);
        if (rc == 0 && out) {
            fputc('\n', out);
            print_msd(out, traj, o->origin_stride, r);
            fflush(out);
        }
        if (rc == 0 && o->msd_out) {
            const MsdArgs a = {traj, o->origin_stride, r};
            if (par_rank() == 0) rc = write_text(o->msd_out, msd_file, &a);
            rc = basin_error_agree(rc);
        }
    }
    return rc;
}

int analysis_rearr_run(const char *run_dir, const RearrOptions *o, RearrResult *res) {
    RearrResult local;
    RearrResult *r = res ? res : &local;
    memset(r, 0, sizeof *r);
    if (o->nbins < 1 || o->origin_stride < 1 || (o->field_out && o->event < 1))
        return basin_error(BASIN_ERR_CONFIG, "rearr", NULL,
                           "need nbins >= 1, origin_stride >= 1 and an event for the field file "
                           "(got %d, %d, %lld)",
                           o->nbins, o->origin_stride, (long long)o->event);
    if (strlen(run_dir) > 4000)
        return basin_error(BASIN_ERR_CONFIG, "rearr", NULL, "run directory path too long");
    H5md *h = NULL;
    Table t = {0};
    char is_path[4100];
    int rc = rearr_body(run_dir, o, r, &h, &t, is_path, sizeof is_path);
    const int rc2 = h5md_close(&h);
    if (rc == 0) rc = rc2;
    table_free(&t);
    if (!res) analysis_rearr_result_free(r);
    return rc;
}
