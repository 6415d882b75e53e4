/* io: H5MD write/read round trip through a real Domain, on 1, 2 and 4 ranks.
 *  1. A glass (N = 500) is distributed with velocities and images; three frames are appended
 *     with h5md_append_frame(), and between frames every atom is translated by 1.3 sigma and
 *     domain_rebuild() migrates and reorders them (and wraps, so images change). The file read
 *     back (id-blocks and whole frames) equals the gathered domain state bit for bit:
 *     positions, velocities, images, species, box, steps, times, observables.
 *  2. h5md_open_append() keeping the frames with step <= 1000 drops the last one; one more
 *     frame appended after it reads back, the kept ones unchanged.
 *  3. A file without velocities reports so, and reading velocities from it is one clear error;
 *     a step that does not increase is refused on every rank; h5md_info() runs; per-atom
 *     writes really are collective MPI-IO (parallel HDF5 may fall back silently).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "basin/domain.h"
#include "basin/h5md.h"
#include "basin/model.h"
#include "basin/util.h"
#include "testutil.h"

enum { N = 500, NFRAMES = 3 };

typedef struct Expect {
    double x[3 * N], v[3 * N], image[3 * N];
    double L;
} Expect;

static void snapshot(const Domain *d, Expect *e) {
    double *im = malloc(3 * (size_t)(d->nlocal + 1) * sizeof *im);
    for (int i = 0; i < 3 * d->nlocal; ++i)
        im[i] = d->image[i];
    TOK(domain_allgather_by_id(d, d->x, 3, e->x));
    TOK(domain_allgather_by_id(d, d->v, 3, e->v));
    TOK(domain_allgather_by_id(d, im, 3, e->image));
    e->L = d->L;
    free(im);
}

static void translate(Domain *d, double dx) {
    for (int i = 0; i < d->nlocal; ++i) {
        d->x[3 * i] += dx;
        d->x[3 * i + 1] += 0.5 * dx;
    }
    TOK(domain_rebuild(d));
}

static double obs_of(int k, int j) {
    return 1.5 * k - 0.25 * j;
}

/* Compare frame k of the open file with e, through both read paths. */
static void check_frame(H5md *h, int64_t k, const Expect *e, const int *species, int vel) {
    int64_t lo, hi;
    h5md_block(h, &lo, &hi);
    const int64_t nb = hi - lo;
    double *x = calloc(3 * (size_t)(nb + 1), sizeof *x), *v = calloc(3 * (size_t)(nb + 1), 8);
    int32_t *im = calloc(3 * (size_t)(nb + 1), 4), *sp = calloc((size_t)(nb + 1), 4);
    double box[3] = {0, 0, 0}, obs[H5MD_NOBS];
    TOK(h5md_read_frame(h, k, x, vel ? v : NULL, im, box));
    TOK(h5md_read_species(h, sp));
    int bad = 0;
    for (int64_t i = lo; i < hi; ++i)
        for (int c = 0; c < 3; ++c) {
            const int64_t b = 3 * (i - lo) + c;
            bad += memcmp(&x[b], &e->x[3 * i + c], 8) != 0;
            bad += vel && memcmp(&v[b], &e->v[3 * i + c], 8) != 0;
            bad += im[b] != (int32_t)e->image[3 * i + c];
            bad += c == 0 && sp[i - lo] != species[i];
        }
    TCHECK(bad == 0, "frame %lld: %d id-block values differ", (long long)k, bad);
    for (int c = 0; c < 3; ++c)
        TCHECK(box[c] == e->L, "frame %lld box %g", (long long)k, box[c]);
    TOK(h5md_read_observables(h, k, obs));
    for (int j = 0; j < H5MD_NOBS; ++j)
        TCHECK(obs[j] == obs_of((int)k, j), "frame %lld obs %d = %g", (long long)k, j, obs[j]);

    double *gx = calloc(3 * N, 8), *gv = calloc(3 * N, 8);
    int32_t *gi = calloc(3 * N, 4), *gs = calloc(N, 4);
    TOK(h5md_read_frame_global(h, k, gx, vel ? gv : NULL, gi, gs, NULL));
    bad = memcmp(gx, e->x, sizeof e->x) != 0;
    bad += vel && memcmp(gv, e->v, sizeof e->v) != 0;
    for (int i = 0; i < 3 * N; ++i)
        bad += gi[i] != (int32_t)e->image[i];
    for (int i = 0; i < N; ++i)
        bad += gs[i] != species[i];
    TCHECK(bad == 0, "frame %lld: whole-frame read differs", (long long)k);
    free(x);
    free(v);
    free(im);
    free(sp);
    free(gx);
    free(gv);
    free(gi);
    free(gs);
}

int main(int argc, char **argv) {
    tu_init(&argc, &argv);
    char path[64];
    /* one name per rank count: np1, np2, np4 may run at the same time in the build dir */
    snprintf(path, sizeof path, "h5md_roundtrip_np%d.h5", par_size());

    Model m;
    model_init(&m, MODEL_GLASS);
    double *x = malloc(3 * N * sizeof *x), *v = malloc(3 * N * sizeof *v), L = 0;
    int *species = malloc(N * sizeof *species);
    int32_t *image = malloc(3 * N * sizeof *image);
    TOK(model_build_glass(&m, N, 1.015, 7, 0.8, x, species, &L));
    for (int i = 0; i < N; ++i) {
        rng_normal3(11, RNG_STREAM_TEST, (uint64_t)i, 0, &v[3 * i]);
        for (int c = 0; c < 3; ++c)
            image[3 * i + c] = (int32_t)((i * 31 + c) % 7) - 3;
    }
    Domain *d = NULL;
    TOK(domain_create(&m, L, 0.3, &d));
    TOK(domain_distribute(d, N, x, v, species, image));
    TOK(domain_rebuild(d));

    static Expect e[NFRAMES + 1];
    H5md *h = NULL;
    const H5mdMeta meta = {.basin_version = "roundtrip", .config_text = "[md]\ndt = 0.005\n"};
    TOK(h5md_create_domain(path, &meta, d, H5MD_VELOCITIES, &h));
    for (int k = 0; k < NFRAMES; ++k) {
        snapshot(d, &e[k]);
        double obs[H5MD_NOBS];
        for (int j = 0; j < H5MD_NOBS; ++j)
            obs[j] = obs_of(k, j);
        TOK(h5md_append_frame(h, d, 1000 * k, 5.0 * k, obs));
        TCHECK(h5md_last_transfer_collective(h) == 1,
               "frame %d: per-atom write fell back to independent I/O", k);
        translate(d, 1.3);
    }
    /* steps must increase: refused on every rank, the file stays usable */
    int rc = h5md_append_frame(h, d, 2000, 0.0, NULL);
    TCHECK(rc == BASIN_ERR_INTERNAL && strstr(basin_error_message(), "does not follow"),
           "non-increasing step accepted: rc %d '%s'", rc, basin_error_message());
    TOK(h5md_close(&h));
    TCHECK(h == NULL, "close must null the handle");

    /* images really changed between frames (the wraps are part of the test) */
    int changed = 0;
    for (int i = 0; i < 3 * N; ++i)
        changed += e[0].image[i] != e[NFRAMES - 1].image[i];
    TCHECK(changed > N / 10, "only %d image entries changed", changed);

    TOK(h5md_open_read(path, &h));
    if (h) {
        TCHECK(h5md_natoms(h) == N, "N = %lld", (long long)h5md_natoms(h));
        TCHECK(h5md_nframes(h) == NFRAMES, "frames = %lld", (long long)h5md_nframes(h));
        TCHECK(h5md_has_velocities(h) && h5md_has_images(h) && h5md_has_species(h), "elements");
        for (int k = 0; k < NFRAMES; ++k) {
            TCHECK(h5md_step(h, k) == 1000 * k, "step %lld", (long long)h5md_step(h, k));
            TCHECK(h5md_time(h, k) == 5.0 * k, "time %g", h5md_time(h, k));
            check_frame(h, k, &e[k], species, 1);
        }
        rc = h5md_read_frame(h, NFRAMES, NULL, NULL, NULL, NULL);
        TCHECK(rc == BASIN_ERR_USAGE, "frame out of range: rc %d", rc);
        TOK(h5md_close(&h));
    }

    /* restart: keep steps <= 1000, append a new frame 1 step later than the file's last */
    TOK(h5md_open_append(path, 1000, &h));
    if (h) {
        TCHECK(h5md_nframes(h) == 2, "kept %lld frames", (long long)h5md_nframes(h));
        snapshot(d, &e[NFRAMES]);
        double obs[H5MD_NOBS];
        for (int j = 0; j < H5MD_NOBS; ++j)
            obs[j] = obs_of(2, j);
        TOK(h5md_append_frame(h, d, 1500, 10.0, obs));
        TOK(h5md_close(&h));
    }
    TOK(h5md_open_read(path, &h));
    if (h) {
        TCHECK(h5md_nframes(h) == 3, "after append: %lld frames", (long long)h5md_nframes(h));
        TCHECK(h5md_step(h, 2) == 1500, "appended step %lld", (long long)h5md_step(h, 2));
        check_frame(h, 0, &e[0], species, 1);
        check_frame(h, 1, &e[1], species, 1);
        check_frame(h, 2, &e[NFRAMES], species, 1);
        TOK(h5md_close(&h));
    }
    TOK(h5md_info(path));

    /* positions only */
    TOK(h5md_create_domain(path, &meta, d, 0, &h));
    TOK(h5md_append_frame(h, d, 0, 0.0, NULL));
    TOK(h5md_close(&h));
    TOK(h5md_open_read(path, &h));
    if (h) {
        TCHECK(!h5md_has_velocities(h), "velocities reported in a file without them");
        double *vb = calloc(3 * N, 8);
        rc = h5md_read_frame(h, 0, NULL, vb, NULL, NULL);
        TCHECK(rc == BASIN_ERR_IO &&
                   strstr(basin_error_message(), "/particles/trajectory/velocity"),
               "velocity read: rc %d '%s'", rc, basin_error_message());
        free(vb);
        TOK(h5md_close(&h));
    }

    par_barrier();
    if (par_rank() == 0) unlink(path);
    domain_destroy(&d);
    free(x);
    free(v);
    free(species);
    free(image);
    return tu_finish();
}
