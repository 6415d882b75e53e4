/* model: the shifted-force inverse-power-12 pair potential of PHYSICS.md §1, species tables and
 * the system builders (random binary glass start with overlap push-off, FCC crystal).
 *
 *   v(r) = eps [ (s/r)^12 + (s/r_c)^12 (12 r/r_c - 13) ],  r < r_c = 2.5 s,  s = sigma_ab
 *
 * so that v(r_c) = v'(r_c) = 0. Reduced units: sigma_eff = 1, m = 1, eps = 1, k_B = 1.
 * The force loop of md/ uses the inline pot_* functions below (no function pointer in the inner
 * loop); Hessian and vertex code use pot_derivs() or the PairPotential vtable, which tests can
 * replace by a harmonic spring with analytic answers (STYLE.md habit 8).
 * Not collective, no MPI.
 */
#ifndef BASIN_MODEL_H
#define BASIN_MODEL_H

#include <math.h>
#include <stdint.h>

#define MODEL_MAX_SPECIES 2
#define MODEL_RC_FACTOR 2.5

/* Per species pair constants, precomputed so the force loop does no divisions by sigma. */
typedef struct PairParams {
    double sigma; /* sigma_ab */
    double s12;   /* sigma_ab^12 */
    double rc;    /* 2.5 sigma_ab */
    double rc2;   /* rc^2 */
    double lin;   /* 12 s12 / rc^13: the constant slope of the shift term */
    double c0;    /* -13 s12 / rc^12: the constant of the shift term */
} PairParams;

typedef enum { MODEL_GLASS = 0, MODEL_CRYSTAL = 1 } ModelKind;

typedef struct Model {
    ModelKind kind;
    int nspecies;
    double sigma[MODEL_MAX_SPECIES]; /* per-species sigma_a */
    PairParams pair[MODEL_MAX_SPECIES][MODEL_MAX_SPECIES];
    double rc_max; /* largest pair cutoff */
} Model;

/* Glass: 50:50 mixture, sigma_1/sigma_2 = 0.7, normalised so that
 * sigma_eff^3 = sum_ab x_a x_b sigma_ab^3 = 1 (computed, not typed in).
 * Crystal: one species, sigma = 1. */
void model_init(Model *m, ModelKind kind);
/* sigma_eff^3 of a model with mole fractions x (length nspecies); = 1 for both built-ins. */
double model_sigma_eff3(const Model *m, const double *x);
void model_pair_params(PairParams *p, double sigma);

/* v and -v'(r)/r from r^2: the force on i from j is fr * (r_i - r_j). */
static inline void pot_energy_force(const PairParams *p, double r2, double *v, double *fr) {
    const double inv2 = 1.0 / r2;
    const double inv6 = inv2 * inv2 * inv2;
    const double rep = p->s12 * inv6 * inv6; /* s^12 / r^12 */
    const double r = sqrt(r2);
    *v = rep + p->lin * r + p->c0;
    *fr = 12.0 * rep * inv2 - p->lin / r;
}

static inline double pot_energy(const PairParams *p, double r) {
    const double ir = 1.0 / r;
    const double ir2 = ir * ir, ir6 = ir2 * ir2 * ir2;
    return p->s12 * ir6 * ir6 + p->lin * r + p->c0;
}

/* d[0..3] = v, v', v'', v''' at r (r < rc; the caller checks the cutoff). */
static inline void pot_derivs(const PairParams *p, double r, double d[4]) {
    const double ir = 1.0 / r;
    const double ir2 = ir * ir, ir6 = ir2 * ir2 * ir2;
    const double rep = p->s12 * ir6 * ir6; /* s^12/r^12 */
    d[0] = rep + p->lin * r + p->c0;
    d[1] = -12.0 * rep * ir + p->lin;
    d[2] = 156.0 * rep * ir2;
    d[3] = -2184.0 * rep * ir2 * ir;
}

/* Vtable form for code that is not the MD inner loop (Hessian, vertex, tests). */
typedef struct PairPotential {
    const void *params;
    /* derivatives of the pair (a, b) at r: returns 1 inside the cutoff (r < rc, d[] = v, v',
     * v'', v'''), 0 beyond it (d[] = 0), BASIN_ERR_INTERNAL for a species index out of range. */
    int (*derivs)(const void *params, int a, int b, double r, double d[4]);
    double (*cutoff)(const void *params, int a, int b);
} PairPotential;
/* The vtable of a Model (params points at m, which must outlive the vtable). */
PairPotential model_potential(const Model *m);

/* ---- builders ----
 * Both fill global arrays in id order (x[3*id+k], species[id]) that are a pure function of
 * (kind, n, density, seed): every rank computes the same arrays, then keeps the atoms of its
 * sub-box. O(N) memory per rank for the duration of the build only (6 MB at N = 256000). */

/* Box edge L = (n/density)^(1/3). */
double model_box_length(int64_t n, double density);

/* FCC: n must be 4 k^3 (error naming the nearest valid sizes otherwise). Lattice constant
 * a = L/k, atom id = 4*(cell index) + basis index, cell index = (iz*k + iy)*k + ix. The lattice
 * is shifted by a/4 along each axis so that no atom sits on a box or sub-box face. Species 0. */
int model_build_fcc(int64_t n, double density, double *x, int *species, double *L);

/* Random binary glass start: uniform positions from the counter-based RNG keyed by (seed, id),
 * species 0 for the first n/2 ids, 1 for the rest (exactly 50:50 for even n; n must be even),
 * then a deterministic push-off of overlapping pairs until no pair is closer than
 * `min_frac` sigma_ab (default 0.8 is what the app uses), so the first MD step is finite.
 * Returns BASIN_ERR_CONFIG if L <= 2 rc_max (minimum image would break; the message names the
 * smallest valid n), for odd n, and if the push-off cannot reach min_frac at this density
 * (min_frac >~ 1.05 at rho = 1.015). The push-off is serial and O(N) per sweep; the algorithm is
 * described at the top of src/model/builders.c. */
int model_build_glass(const Model *m, int64_t n, double density, uint64_t seed, double min_frac,
                      double *x, int *species, double *L);

/* Minimum-image distance squared over a cubic box of edge L (d[] receives the vector). */
static inline double model_min_image(const double *a, const double *b, double L, double d[3]) {
    double r2 = 0.0;
    for (int k = 0; k < 3; ++k) {
        double dx = a[k] - b[k];
        dx -= L * nearbyint(dx / L);
        d[k] = dx;
        r2 += dx * dx;
    }
    return r2;
}

#endif
