/* Driver of the H5MD script tests and of benchmarks/io: writes and checks trajectories whose
 * every value is a known function of (atom id, frame), so a file can be checked bit for bit by
 * another process, another rank count, or Python (tests/h5md/check_h5md.py repeats the
 * formulas below; keep them in sync).
 *
 *   h5md_tool write FILE N FRAMES [--no-velocities] [--sleep-ms M] [--progress F] [--pids F]
 *   h5md_tool check FILE N MIN_FRAMES [--exact] [--no-velocities]
 *   h5md_tool read FILE          open and validate only (bad-file tests; exit 1 + one line)
 *   h5md_tool read-each FILE...  open each; one "ok: ..." or "basin: error: ..." line per file
 *   h5md_tool info FILE          h5md_info()
 *   h5md_tool bench N FRAMES DIR [--no-velocities]   write timing (one line, rank 0)
 *
 * Atoms are dealt to ranks in a scrambled order (id -> rank (id * 7919) mod P, reversed in
 * memory), so the writer's id-block exchange is exercised as the domain would exercise it.
 * Several commands may be joined with "+" into one launch. Exit status: 0, or 1 after one
 * "basin: error: ..." line from rank 0.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "basin/h5md.h"
#include "basin/util.h"

/* The pattern. Every value is exactly representable, and time = step * 0.005 is computed the
 * same way in Python. */
static int64_t pat_step(int64_t k) {
    return 100 * k + 7;
}
static double pat_time(int64_t k) {
    return (double)pat_step(k) * 0.005;
}
static double pat_box(int64_t k) {
    return 10.0 + 0.25 * (double)k;
}
static double pat_x(int64_t id, int c, int64_t k) {
    return 0.25 * (double)id + 0.125 * c + 0.5 * (double)k;
}
static double pat_v(int64_t id, int c, int64_t k) {
    return -0.5 * (double)id + c - 0.0625 * (double)k;
}
static int32_t pat_image(int64_t id, int c, int64_t k) {
    return (int32_t)(id % 5) - 2 + c + (int32_t)k;
}
static int32_t pat_species(int64_t id, int64_t n) {
    return id < n / 2 ? 0 : 1;
}
static double pat_obs(int j, int64_t k) {
    return 10.0 * (double)k + j + 0.5;
}

typedef struct Owned {
    int n;
    int64_t *id;
    double *x, *v;
    int32_t *image;
} Owned;

static int owned_make(int64_t n, Owned *o) {
    const int r = par_rank(), p = par_size();
    o->n = 0;
    for (int64_t i = 0; i < n; ++i)
        o->n += (int)((i * 7919) % p == r);
    BCHK(BALLOC(o->id, o->n));
    BCHK(BALLOC(o->x, 3 * o->n));
    BCHK(BALLOC(o->v, 3 * o->n));
    BCHK(BALLOC(o->image, 3 * o->n));
    int j = o->n;
    for (int64_t i = 0; i < n; ++i)
        if ((i * 7919) % p == r) o->id[--j] = i;
    return 0;
}

static void owned_fill(Owned *o, int64_t k) {
    for (int i = 0; i < o->n; ++i)
        for (int c = 0; c < 3; ++c) {
            o->x[3 * i + c] = pat_x(o->id[i], c, k);
            o->v[3 * i + c] = pat_v(o->id[i], c, k);
            o->image[3 * i + c] = pat_image(o->id[i], c, k);
        }
}

static void owned_free(Owned *o) {
    free(o->id);
    free(o->x);
    free(o->v);
    free(o->image);
}

static int create(const char *path, int64_t n, int flags, H5md **h) {
    int64_t lo, hi;
    idblock_range(n, par_rank(), par_size(), &lo, &hi);
    int32_t *sp = NULL;
    BCHK(BALLOC(sp, hi - lo));
    for (int64_t i = lo; i < hi; ++i)
        sp[i - lo] = pat_species(i, n);
    const H5mdMeta meta = {.basin_version = "test-version",
                           .author = "h5md_tool",
                           .config_text = "[system]\nkind = glass\nnatoms = 0\n",
                           .command_line = "h5md_tool write"};
    const int rc = h5md_create(path, &meta, n, sp, flags, h);
    free(sp);
    return rc;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int cmd_write(const char *path, int64_t n, int64_t frames, int vel, int sleep,
                     const char *progress, const char *pids) {
    if (pids) {
        /* The kill test SIGKILLs every rank: it needs their process ids. */
        const int p = par_size();
        double *all = calloc((size_t)p, sizeof *all);
        if (!all) return basin_error(BASIN_ERR_NOMEM, NULL, NULL, "pids");
        all[par_rank()] = (double)getpid();
        par_sum_d(all, p);
        if (par_rank() == 0) {
            FILE *f = fopen(pids, "w");
            for (int r = 0; f && r < p; ++r)
                fprintf(f, "%.0f\n", all[r]);
            if (f) fclose(f);
        }
        free(all);
    }
    Owned o = {0};
    BCHK(owned_make(n, &o));
    H5md *h = NULL;
    int rc = create(path, n, vel ? H5MD_VELOCITIES : 0, &h);
    for (int64_t k = 0; k < frames && !rc; ++k) {
        owned_fill(&o, k);
        H5mdFrame f = {.step = pat_step(k),
                       .time = pat_time(k),
                       .box = {pat_box(k), pat_box(k), pat_box(k)},
                       .n_owned = o.n,
                       .id = o.id,
                       .x = o.x,
                       .v = o.v,
                       .image = o.image};
        for (int j = 0; j < H5MD_NOBS; ++j)
            f.obs[j] = pat_obs(j, k);
        rc = h5md_append(h, &f);
        if (!rc && progress && par_rank() == 0) {
            /* Written only after the append returned, i.e. after the flush. */
            FILE *pf = fopen(progress, "a");
            if (pf) {
                fprintf(pf, "%lld\n", (long long)k + 1);
                fclose(pf);
            }
        }
        if (sleep > 0) sleep_ms(sleep);
    }
    const int rc2 = h5md_close(&h);
    owned_free(&o);
    return rc ? rc : rc2;
}

static int mismatch(const char *what, int64_t id, int64_t k, double got, double want) {
    return basin_error(BASIN_ERR_INTERNAL, what, NULL,
                       "frame %lld atom %lld: got %.17g, want %.17g", (long long)k, (long long)id,
                       got, want);
}

static int cmd_check(const char *path, int64_t n, int64_t min_frames, int exact, int vel) {
    H5md *h = NULL;
    BCHK(h5md_open_read(path, &h));
    int rc = 0;
    const int64_t nf = h5md_nframes(h);
    if (h5md_natoms(h) != n)
        rc = basin_error(BASIN_ERR_INTERNAL, path, NULL, "N = %lld, want %lld",
                         (long long)h5md_natoms(h), (long long)n);
    else if (nf < min_frames || (exact && nf != min_frames))
        rc = basin_error(BASIN_ERR_INTERNAL, path, NULL, "%lld frames, want %s%lld", (long long)nf,
                         exact ? "" : ">= ", (long long)min_frames);
    else if (h5md_has_velocities(h) != vel)
        rc = basin_error(BASIN_ERR_INTERNAL, path, NULL, "velocities %d, want %d",
                         h5md_has_velocities(h), vel);
    rc = basin_error_agree(rc);
    int64_t lo, hi;
    h5md_block(h, &lo, &hi);
    const int64_t nb = hi - lo;
    double *x = NULL, *v = NULL, *gx = NULL;
    int32_t *im = NULL, *sp = NULL, *gsp = NULL;
    if (!rc) {
        int a = BALLOC(x, 3 * nb);
        if (!a) a = BALLOC(v, 3 * nb);
        if (!a) a = BALLOC(im, 3 * nb);
        if (!a) a = BALLOC(sp, nb);
        if (!a) a = BALLOC(gx, 3 * n);
        if (!a) a = BALLOC(gsp, n);
        rc = basin_error_agree(a);
    }
    if (!rc) rc = h5md_read_species(h, sp);
    for (int64_t i = lo; i < hi && !rc; ++i)
        if (sp[i - lo] != pat_species(i, n))
            rc = mismatch("species", i, 0, sp[i - lo], pat_species(i, n));
    rc = basin_error_agree(rc);
    for (int64_t k = 0; k < nf && !rc; ++k) {
        double box[3], obs[H5MD_NOBS];
        rc = h5md_read_frame(h, k, x, vel ? v : NULL, im, box);
        if (!rc) rc = h5md_read_observables(h, k, obs);
        if (!rc) rc = h5md_read_frame_global(h, k, gx, NULL, NULL, gsp, NULL);
        if (rc) break;
        if (h5md_step(h, k) != pat_step(k) || h5md_time(h, k) != pat_time(k))
            rc = mismatch("step/time", -1, k, (double)h5md_step(h, k), (double)pat_step(k));
        for (int c = 0; c < 3 && !rc; ++c)
            if (box[c] != pat_box(k)) rc = mismatch("box", -1, k, box[c], pat_box(k));
        for (int j = 0; j < H5MD_NOBS && !rc; ++j)
            if (obs[j] != pat_obs(j, k))
                rc = mismatch(h5md_observable_name(j), -1, k, obs[j], pat_obs(j, k));
        for (int64_t i = lo; i < hi && !rc; ++i)
            for (int c = 0; c < 3 && !rc; ++c) {
                const int64_t b = 3 * (i - lo) + c;
                if (x[b] != pat_x(i, c, k))
                    rc = mismatch("position", i, k, x[b], pat_x(i, c, k));
                else if (vel && v[b] != pat_v(i, c, k))
                    rc = mismatch("velocity", i, k, v[b], pat_v(i, c, k));
                else if (im[b] != pat_image(i, c, k))
                    rc = mismatch("image", i, k, im[b], pat_image(i, c, k));
            }
        for (int64_t i = 0; i < n && !rc; ++i) {
            if (gsp[i] != pat_species(i, n))
                rc = mismatch("global species", i, k, gsp[i], pat_species(i, n));
            for (int c = 0; c < 3 && !rc; ++c)
                if (gx[3 * i + c] != pat_x(i, c, k))
                    rc = mismatch("global position", i, k, gx[3 * i + c], pat_x(i, c, k));
        }
        rc = basin_error_agree(rc);
    }
    if (!rc && par_rank() == 0)
        printf("checked %lld frames of %lld atoms on %d rank(s)\n", (long long)nf, (long long)n,
               par_size());
    free(x);
    free(v);
    free(im);
    free(sp);
    free(gx);
    free(gsp);
    const int rc2 = h5md_close(&h);
    return rc ? rc : rc2;
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Times every append (the slowest rank's time, after a barrier so frames do not overlap) and
 * prints one JSON line on rank 0: bytes per frame counted as the per-atom payload written. */
static int cmd_bench(int64_t n, int64_t frames, const char *dir, int vel) {
    char path[4096];
    snprintf(path, sizeof path, "%s/bench_h5md_np%d.h5", dir, par_size());
    Owned o = {0};
    BCHK(owned_make(n, &o));
    double *t = NULL;
    BCHK(BALLOC(t, frames));
    H5md *h = NULL;
    double t_create = par_wtime();
    int rc = create(path, n, vel ? H5MD_VELOCITIES : 0, &h);
    t_create = par_wtime() - t_create;
    double total = 0.0;
    for (int64_t k = 0; k < frames && !rc; ++k) {
        owned_fill(&o, k);
        H5mdFrame f = {.step = pat_step(k),
                       .time = pat_time(k),
                       .box = {10, 10, 10},
                       .n_owned = o.n,
                       .id = o.id,
                       .x = o.x,
                       .v = o.v,
                       .image = o.image};
        par_barrier();
        double tk = par_wtime();
        rc = h5md_append(h, &f);
        tk = par_wtime() - tk;
        par_max_d(&tk, 1);
        t[k] = tk;
        total += tk;
    }
    double t_close = par_wtime();
    const int rc2 = h5md_close(&h);
    t_close = par_wtime() - t_close;
    owned_free(&o);
    if (!rc && !rc2 && par_rank() == 0) {
        const double mb = (double)n * (vel ? 60.0 : 36.0) / 1e6; /* 24 x + 24 v + 12 image */
        qsort(t, (size_t)frames, sizeof *t, cmp_double);
        const double mean = total / (double)frames, med = t[frames / 2], best = t[0];
        const double p90 = t[(frames * 9) / 10 < frames ? (frames * 9) / 10 : frames - 1];
        printf("{\"ranks\": %d, \"natoms\": %lld, \"frames\": %lld, \"velocities\": %s, "
               "\"mb_per_frame\": %.4f, \"ms_median\": %.3f, \"ms_mean\": %.3f, "
               "\"ms_best\": %.3f, \"ms_p90\": %.3f, \"mb_per_s_median\": %.1f, "
               "\"mb_per_s_mean\": %.1f, \"create_s\": %.4f, \"close_s\": %.4f}\n",
               par_size(), (long long)n, (long long)frames, vel ? "true" : "false", mb, 1e3 * med,
               1e3 * mean, 1e3 * best, 1e3 * p90, mb / med, mb / mean, t_create, t_close);
        fflush(stdout);
        unlink(path);
    }
    free(t);
    return rc ? rc : rc2;
}

static int usage(void) {
    return basin_error(BASIN_ERR_USAGE, "h5md_tool", NULL,
                       "usage: write FILE N FRAMES [opts] | check FILE N MIN_FRAMES [--exact] | "
                       "read FILE | read-each FILE... | info FILE | bench N FRAMES DIR, joined "
                       "by +");
}

/* Reads each file in turn and prints one line per file on rank 0: "ok: ..." or the agreed
 * "basin: error: ..." line (the bad-file test checks many files in one launch). */
static int cmd_read_each(int nfiles, char **files) {
    for (int i = 0; i < nfiles; ++i) {
        H5md *h = NULL;
        int rc = h5md_open_read(files[i], &h);
        if (par_rank() == 0) {
            if (rc)
                fprintf(stderr, "basin: error: %s\n", basin_error_message());
            else
                fprintf(stderr, "ok: %s: %lld frames of %lld atoms\n", files[i],
                        (long long)h5md_nframes(h), (long long)h5md_natoms(h));
            fflush(stderr);
        }
        basin_error_clear();
        BCHK(h5md_close(&h));
    }
    return 0;
}

/* One command: argv[0..argc) up to the next "+". */
static int run_command(int argc, char **argv) {
    int vel = 1, exact = 0, sleep = 0;
    const char *progress = NULL, *pids = NULL;
    int npos = 0;
    char *pos[64] = {0};
    for (int i = 0; i < argc; ++i) {
        if (strcmp(argv[i], "--no-velocities") == 0)
            vel = 0;
        else if (strcmp(argv[i], "--exact") == 0)
            exact = 1;
        else if (strcmp(argv[i], "--sleep-ms") == 0 && i + 1 < argc)
            sleep = atoi(argv[++i]);
        else if (strcmp(argv[i], "--progress") == 0 && i + 1 < argc)
            progress = argv[++i];
        else if (strcmp(argv[i], "--pids") == 0 && i + 1 < argc)
            pids = argv[++i];
        else if (npos < 64)
            pos[npos++] = argv[i];
    }
    const char *cmd = npos > 0 ? pos[0] : "";
    if (strcmp(cmd, "write") == 0 && npos == 4)
        return cmd_write(pos[1], atoll(pos[2]), atoll(pos[3]), vel, sleep, progress, pids);
    if (strcmp(cmd, "check") == 0 && npos == 4)
        return cmd_check(pos[1], atoll(pos[2]), atoll(pos[3]), exact, vel);
    if (strcmp(cmd, "read") == 0 && npos == 2) {
        H5md *h = NULL;
        int rc = h5md_open_read(pos[1], &h);
        if (!rc && par_rank() == 0)
            printf("%lld frames of %lld atoms\n", (long long)h5md_nframes(h),
                   (long long)h5md_natoms(h));
        const int rc2 = h5md_close(&h);
        return rc ? rc : rc2;
    }
    if (strcmp(cmd, "read-each") == 0 && npos >= 2) return cmd_read_each(npos - 1, pos + 1);
    if (strcmp(cmd, "info") == 0 && npos == 2) return h5md_info(pos[1]);
    if (strcmp(cmd, "bench") == 0 && npos == 4)
        return cmd_bench(atoll(pos[1]), atoll(pos[2]), pos[3], vel);
    return usage();
}

int main(int argc, char **argv) {
    if (basin_init(&argc, &argv) != 0) {
        fprintf(stderr, "basin: error: %s\n", basin_error_message());
        return 1;
    }
    /* Commands separated by "+" run in one launch (mpirun start-up dominates the tests). */
    int rc = 0;
    for (int first = 1; first < argc && !rc;) {
        int end = first;
        while (end < argc && strcmp(argv[end], "+") != 0)
            ++end;
        rc = run_command(end - first, argv + first);
        first = end + 1;
    }
    if (argc < 2) rc = usage();
    const int status = basin_error_report(rc);
    basin_finalize();
    return status;
}
