/* Test scaffolding shared by the domain, md, harmonic and io tests: model systems on global
 * id-ordered arrays (identical on every rank), a Domain over them, a small md state, deterministic
 * perturbations, a serial all-pairs force reference and a scratch directory for file tests.
 * The force reference uses the minimum image on the global arrays (valid because every test box
 * has L > 2 r_c) and pot_energy_force() of basin/model.h only: it never touches the domain, the
 * Verlet list or the md force kernel, so comparisons with it are independent checks. */
#ifndef BASIN_TEST_SYSUTIL_H
#define BASIN_TEST_SYSUTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basin/domain.h"
#include "basin/md.h"
#include "basin/model.h"
#include "basin/util.h"
#include "testutil.h"

#define SU_DENSITY 1.015

/* A configuration on global id-ordered arrays, identical on every rank. */
typedef struct TestSystem {
    Model m;
    int64_t n;
    double L;
    double *x;
    int *species;
} TestSystem;

static inline void su_free(TestSystem *s) {
    free(s->x);
    free(s->species);
    s->x = NULL;
    s->species = NULL;
}

/* The model of `kind` and zeroed arrays for n atoms (L left 0: the caller sets it). */
static inline int su_alloc(TestSystem *s, ModelKind kind, int64_t n) {
    memset(s, 0, sizeof(*s));
    model_init(&s->m, kind);
    s->n = n;
    s->x = calloc(3 * (size_t)n, sizeof(double));
    s->species = calloc((size_t)n, sizeof(int));
    if (!s->x || !s->species) return BASIN_ERR_NOMEM;
    return 0;
}

/* Glass from the model builder (seeded) or FCC (n = 4 k^3, seed unused), at SU_DENSITY. */
static inline int su_build(TestSystem *s, ModelKind kind, int64_t n, uint64_t seed) {
    BCHK(su_alloc(s, kind, n));
    if (kind == MODEL_GLASS)
        return model_build_glass(&s->m, n, SU_DENSITY, seed, 0.8, s->x, s->species, &s->L);
    return model_build_fcc(n, SU_DENSITY, s->x, s->species, &s->L);
}

/* A Domain over the global positions x (and velocities v, or NULL) with the species of s:
 * created and distributed, not rebuilt. */
static inline int su_distribute(const TestSystem *s, const double *x, const double *v, double skin,
                                Domain **d) {
    BCHK(domain_create(&s->m, s->L, skin, d));
    BCHK(domain_distribute(*d, s->n, x, v, s->species, NULL));
    return 0;
}

/* The same, rebuilt (ghosts and list ready). */
static inline int su_domain(const TestSystem *s, const double *x, const double *v, double skin,
                            Domain **d) {
    BCHK(su_distribute(s, x, v, skin, d));
    BCHK(domain_rebuild(*d));
    return 0;
}

/* The md tests' start: s built (su_build) and distributed on a Domain with skin 0.3, not
 * rebuilt (md_setup() builds the list). */
static inline int su_md_system(TestSystem *s, ModelKind kind, int64_t n, uint64_t seed,
                               Domain **d) {
    BCHK(su_build(s, kind, n, seed));
    return su_distribute(s, s->x, NULL, 0.3, d);
}

/* An md state on d (3-link chain, time constant tdamp), set up: NVT at t_nvt when t_nvt > 0,
 * otherwise the ensemble md_state_create() starts with. */
static inline int su_md_state(Domain *d, double dt, double tdamp, double t_nvt, MdState **s) {
    BCHK(md_state_create(d, dt, 3, tdamp, s));
    if (t_nvt > 0.0) BCHK(md_set_ensemble(*s, MD_NVT, t_nvt));
    BCHK(md_setup(*s));
    return 0;
}

static inline void su_md_free(MdState **s, Domain **d, TestSystem *sys) {
    md_state_destroy(s);
    domain_destroy(d);
    su_free(sys);
}

/* A deterministic displacement of atom `id`: a random direction of length len * u, u uniform in
 * [0, 1). */
static inline void su_disp(uint64_t seed, int64_t id, uint64_t counter, double len, double out[3]) {
    double g[3];
    rng_normal3(seed, RNG_STREAM_TEST, (uint64_t)id, counter, g);
    const double nrm = sqrt(g[0] * g[0] + g[1] * g[1] + g[2] * g[2]);
    const double u = rng_uniform(seed, RNG_STREAM_TEST, (uint64_t)id, counter + 1000003);
    for (int k = 0; k < 3; ++k)
        out[k] = g[k] / nrm * len * u;
}

/* su_disp() added to the global id-ordered positions x[3n]. */
static inline void su_displace(int64_t n, double *x, uint64_t seed, uint64_t counter, double len) {
    for (int64_t i = 0; i < n; ++i) {
        double dv[3];
        su_disp(seed, i, counter, len, dv);
        for (int k = 0; k < 3; ++k)
            x[3 * i + k] += dv[k];
    }
}

/* The same displacements added to the atoms d owns (by global id). */
static inline void su_displace_owned(Domain *d, uint64_t seed, uint64_t counter, double len) {
    for (int i = 0; i < d->nlocal; ++i) {
        double dv[3];
        su_disp(seed, d->id[i], counter, len, dv);
        for (int k = 0; k < 3; ++k)
            d->x[3 * i + k] += dv[k];
    }
}

/* x_i += amp g_i with g_i = rng_normal3(seed, RNG_STREAM_TEST, i, counter) (mean not removed). */
static inline void su_perturb_normal(int64_t n, double *x, double amp, uint64_t seed,
                                     uint64_t counter) {
    for (int64_t i = 0; i < n; ++i) {
        double g[3];
        rng_normal3(seed, RNG_STREAM_TEST, (uint64_t)i, counter, g);
        for (int k = 0; k < 3; ++k)
            x[3 * i + k] += amp * g[k];
    }
}

/* Serial reference over all pairs on global positions x of s: forces f[3n], returns Phi;
 * *vir = sum_pairs fr r^2 (vir may be NULL). */
static inline double su_brute_forces(const TestSystem *s, const double *x, double *f, double *vir) {
    double pe = 0.0, w = 0.0;
    memset(f, 0, 3 * (size_t)s->n * sizeof(double));
    for (int64_t i = 0; i < s->n; ++i)
        for (int64_t j = i + 1; j < s->n; ++j) {
            double dr[3];
            const double r2 = model_min_image(x + 3 * i, x + 3 * j, s->L, dr);
            const PairParams *p = &s->m.pair[s->species[i]][s->species[j]];
            if (r2 >= p->rc2) continue;
            double v, fr;
            pot_energy_force(p, r2, &v, &fr);
            pe += v;
            w += fr * r2;
            for (int k = 0; k < 3; ++k) {
                f[3 * i + k] += fr * dr[k];
                f[3 * j + k] -= fr * dr[k];
            }
        }
    if (vir) *vir = w;
    return pe;
}

/* Max over atoms of the minimum-image distance between two global position arrays. */
static inline double su_max_pos_diff(int64_t n, const double *a, const double *b, double L) {
    double mx = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        double dr[3];
        const double r2 = model_min_image(a + 3 * i, b + 3 * i, L, dr);
        if (sqrt(r2) > mx || !isfinite(r2)) mx = isfinite(r2) ? sqrt(r2) : INFINITY;
    }
    return mx;
}

/* ---- files ---- */

static char su_tmpdir[64];

/* One scratch directory per run (prefix_PID), named by rank 0 and shared with the others. */
static inline void su_make_tmpdir(const char *prefix) {
    double pid = 0;
    if (par_rank() == 0) pid = (double)getpid();
    par_bcast_d(&pid, 1, 0);
    snprintf(su_tmpdir, sizeof su_tmpdir, "%s_%.0f", prefix, pid);
    if (par_rank() == 0) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "mkdir -p %s", su_tmpdir);
        TCHECK(system(cmd) == 0, "cannot create %s", su_tmpdir);
    }
    par_barrier();
}

static inline void su_remove_tmpdir(void) {
    par_barrier();
    if (par_rank() == 0) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf %s", su_tmpdir);
        TCHECK(system(cmd) == 0, "cannot remove %s", su_tmpdir);
    }
}

static inline void su_path_in_tmp(char *out, size_t n, const char *name) {
    snprintf(out, n, "%s/%s", su_tmpdir, name);
}

/* Rank 0 writes text as a file (the bad-file fixtures). */
static inline void su_write_text(const char *path, const char *text) {
    if (par_rank() == 0) {
        FILE *fp = fopen(path, "w");
        TCHECK(fp != NULL, "cannot write fixture %s", path);
        if (fp) {
            fputs(text, fp);
            fclose(fp);
        }
    }
    par_barrier();
}

/* Values that a %.10g writer or a float parser would not reproduce: thirds, subnormals,
 * negative zero, numbers at the ends of the exponent range, large image counters. n atoms in a
 * box of L = model_box_length(n, SU_DENSITY): positions L u and velocities (u - 0.5) / 3 with
 * u = rng_uniform(seed, RNG_STREAM_TEST, i, k), image counters (i stride + k) % mod - mod / 2,
 * species alternating 0, 1; then the extreme values on the first atoms. */
typedef struct TrickyArrays {
    int64_t n;
    double L;
    double *x, *v;
    int *sp;
    int32_t *im;
} TrickyArrays;

static inline void su_tricky_free(TrickyArrays *t) {
    free(t->x);
    free(t->v);
    free(t->sp);
    free(t->im);
    memset(t, 0, sizeof(*t));
}

static inline int su_tricky_arrays(TrickyArrays *t, int64_t n, uint64_t seed, int64_t stride,
                                   int64_t mod) {
    memset(t, 0, sizeof(*t));
    t->n = n;
    t->L = model_box_length(n, SU_DENSITY);
    BCHK(BALLOC(t->x, 3 * n));
    BCHK(BALLOC(t->v, 3 * n));
    BCHK(BALLOC(t->sp, n));
    BCHK(BALLOC(t->im, 3 * n));
    double *x = t->x, *v = t->v;
    int32_t *im = t->im;
    for (int64_t i = 0; i < n; ++i) {
        for (int k = 0; k < 3; ++k) {
            double u = rng_uniform(seed, RNG_STREAM_TEST, (uint64_t)i, (uint64_t)k);
            x[3 * i + k] = t->L * u;
            v[3 * i + k] = (u - 0.5) / 3.0;
            im[3 * i + k] = (int32_t)((i * stride + k) % mod) - (int32_t)(mod / 2);
        }
        t->sp[i] = (int)(i % 2);
    }
    x[0] = 0.0;
    x[1] = 1.0 / 3.0;
    x[2] = nextafter(t->L, 0.0);
    v[0] = -0.0;
    v[1] = 4.9406564584124654e-324; /* smallest subnormal */
    v[2] = 1.7976931348623157e308;
    v[3] = -2.2250738585072014e-308;
    im[0] = INT32_MAX;
    im[1] = INT32_MIN;
    return 0;
}

#endif
