/* model/potential.c: species tables and the pair-potential vtable (PHYSICS.md §1).
 *
 *   v(r) = eps [ (s/r)^12 + (s/r_c)^12 (12 r/r_c - 13) ],  r < r_c = 2.5 s,  s = sigma_ab
 *   v'   = -12 s^12/r^13 + 12 s^12/r_c^13,  v'' = 156 s^12/r^14,  v''' = -2184 s^12/r^15
 *
 * Reference: the seed paper's Eq. 1 (shifted-force inverse-power-12 binary mixture).
 * Units: reduced, sigma_eff = 1, eps = 1, m = 1, k_B = 1.
 *
 * The glass sigmas are derived from the two defining facts (ratio 0.7, sigma_eff^3 = 1) rather
 * than typed in, so that the documented values 0.8110916595 / 1.1587023707 / 0.9848970151 are
 * a test of this code, not an input to it. The inline functions in model.h are the only copy
 * of the formulas; the vtable below just dispatches to them, so the Hessian/vertex code and the
 * MD force loop cannot drift apart.
 */
#include <math.h>
#include <string.h>

#include "basin/model.h"
#include "basin/util.h"

/* Glass definition (PHYSICS.md §1): size ratio and mole fractions. */
#define GLASS_SIGMA_RATIO 0.7
#define GLASS_X1 0.5

void model_pair_params(PairParams *p, double sigma) {
    const double s2 = sigma * sigma;
    const double s6 = s2 * s2 * s2;
    const double rc = MODEL_RC_FACTOR * sigma;
    p->sigma = sigma;
    p->s12 = s6 * s6;
    p->rc = rc;
    p->rc2 = rc * rc;
    /* s^12/rc^12 = 2.5^-12 exactly in real arithmetic; computing it from s12 and rc keeps the
     * three constants mutually consistent to round-off, which is what v(rc) = v'(rc) = 0 needs. */
    const double rc12 = pow(rc, 12.0);
    p->lin = 12.0 * p->s12 / (rc12 * rc);
    p->c0 = -13.0 * p->s12 / rc12;
}

double model_sigma_eff3(const Model *m, const double *x) {
    double s3 = 0.0;
    for (int a = 0; a < m->nspecies; ++a)
        for (int b = 0; b < m->nspecies; ++b) {
            const double s = m->pair[a][b].sigma;
            s3 += x[a] * x[b] * s * s * s;
        }
    return s3;
}

/* Fill the pair table and rc_max from m->sigma[] (additive mixing rule). */
static void model_fill_pairs(Model *m) {
    m->rc_max = 0.0;
    for (int a = 0; a < m->nspecies; ++a)
        for (int b = 0; b < m->nspecies; ++b) {
            model_pair_params(&m->pair[a][b], 0.5 * (m->sigma[a] + m->sigma[b]));
            if (m->pair[a][b].rc > m->rc_max) m->rc_max = m->pair[a][b].rc;
        }
}

void model_init(Model *m, ModelKind kind) {
    memset(m, 0, sizeof(*m));
    m->kind = kind;
    if (kind == MODEL_CRYSTAL) {
        m->nspecies = 1;
        m->sigma[0] = 1.0;
        model_fill_pairs(m);
        return;
    }
    /* Glass: start from sigma_2 = 1, measure sigma_eff^3 of that mixture, then rescale every
     * length by its cube root so that sigma_eff = 1 by construction. */
    const double x[MODEL_MAX_SPECIES] = {GLASS_X1, 1.0 - GLASS_X1};
    m->nspecies = 2;
    m->sigma[0] = GLASS_SIGMA_RATIO;
    m->sigma[1] = 1.0;
    model_fill_pairs(m);
    const double scale = 1.0 / cbrt(model_sigma_eff3(m, x));
    for (int a = 0; a < m->nspecies; ++a)
        m->sigma[a] *= scale;
    model_fill_pairs(m);
}

double model_box_length(int64_t n, double density) {
    return cbrt((double)n / density);
}

/* vtable entries: params is the Model. */
static int model_vt_derivs(const void *params, int a, int b, double r, double d[4]) {
    const Model *m = params;
    d[0] = d[1] = d[2] = d[3] = 0.0;
    /* A bad species index is a caller bug; answer it loudly instead of reading out of bounds. */
    if (a < 0 || b < 0 || a >= m->nspecies || b >= m->nspecies)
        return basin_error(BASIN_ERR_INTERNAL, NULL, NULL,
                           "model: species pair (%d, %d) out of range [0, %d)", a, b, m->nspecies);
    const PairParams *p = &m->pair[a][b];
    /* Same test as the force loop (r^2 < rc^2 <=> r < rc for r >= 0), so every consumer agrees
     * on which pairs interact. */
    if (!(r * r < p->rc2)) return 0;
    pot_derivs(p, r, d);
    return 1;
}

static double model_vt_cutoff(const void *params, int a, int b) {
    const Model *m = params;
    if (a < 0 || b < 0 || a >= m->nspecies || b >= m->nspecies) return 0.0;
    return m->pair[a][b].rc;
}

PairPotential model_potential(const Model *m) {
    PairPotential pp = {.params = m, .derivs = model_vt_derivs, .cutoff = model_vt_cutoff};
    return pp;
}
