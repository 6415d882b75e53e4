/* Helpers shared by the md tests: small distributed systems and a serial brute-force reference
 * (all pairs, minimum image, pot_energy_force of basin/model.h) that does not use the domain,
 * the Verlet list or the md force kernel, so comparisons with it are independent checks. */
#ifndef BASIN_TEST_MD_UTIL_H
#define BASIN_TEST_MD_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "basin/domain.h"
#include "basin/md.h"
#include "basin/model.h"
#include "basin/util.h"

/* Global start configuration (identical on every rank), then a domain holding it. */
static inline int mdt_build(const Model *m, int64_t n, uint64_t seed, double skin, double **xg,
                            int **sg, double *L, Domain **d) {
    BCHK(BALLOC(*xg, 3 * n));
    BCHK(BALLOC(*sg, n));
    if (m->kind == MODEL_GLASS)
        BCHK(model_build_glass(m, n, 1.015, seed, 0.8, *xg, *sg, L));
    else
        BCHK(model_build_fcc(n, 1.015, *xg, *sg, L));
    BCHK(domain_create(m, *L, skin, d));
    BCHK(domain_distribute(*d, n, *xg, NULL, *sg, NULL));
    return 0;
}

/* Serial reference: forces f[3n], returns Phi; *vir = sum_pairs fr r^2. */
static inline double mdt_brute_forces(const Model *m, int64_t n, const double *x,
                                      const int *species, double L, double *f, double *vir) {
    double pe = 0.0, w = 0.0;
    memset(f, 0, sizeof(double) * 3 * (size_t)n);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = i + 1; j < n; ++j) {
            double dr[3];
            const double r2 = model_min_image(x + 3 * i, x + 3 * j, L, dr);
            const PairParams *p = &m->pair[species[i]][species[j]];
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

/* Gather owned positions/velocities/forces into id order (every rank gets the arrays). */
static inline int mdt_gather(const Domain *d, const double *a, double *global) {
    return domain_allgather_by_id(d, a, 3, global);
}

/* Max over atoms of the minimum-image distance between two global position arrays. */
static inline double mdt_max_pos_diff(int64_t n, const double *a, const double *b, double L) {
    double mx = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        double dr[3];
        const double r2 = model_min_image(a + 3 * i, b + 3 * i, L, dr);
        if (sqrt(r2) > mx || !isfinite(r2)) mx = isfinite(r2) ? sqrt(r2) : INFINITY;
    }
    return mx;
}

#endif
