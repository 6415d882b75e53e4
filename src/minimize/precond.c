/* precond.c: the block-Jacobi preconditioner shared by the Newton-Krylov finisher (newton.c)
 * and preconditioned L-BFGS (lbfgs.c).
 *
 * P = the 3x3 diagonal blocks of the analytic Hessian (PHYSICS.md section 5),
 *     H_ii = sum_j [ v''(r) n n^T + (v'(r)/r) (I - n n^T) ],   n = (r_i - r_j)/r,
 * accumulated over the half list (j may be a ghost: domain_reverse_array sums them) and
 * inverted per atom. Why: the contacts of the binary glass differ in stiffness by a factor ~3
 * (small-small against large-large), and an atom's local cage stiffness varies further with its
 * environment; P^-1 F is the displacement that would relax each atom in its frozen cage, so it
 * removes that spread from the spectrum the outer method sees. One pass costs less than a force
 * evaluation (no cutoff tables beyond the pair derivatives) and is counted in
 * MinResult.hess_diag_evals. Blocks that are not positive definite (possible away from a
 * minimum, where bonds are stretched past the inflection point or pairs overlap) are replaced
 * by (3 / |trace|) I and counted (MinPrecond.not_pd).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "basin/util.h"
#include "min_priv.h"

/* Inverse of the symmetric 3x3 block a (row major) into out; if a is not positive definite
 * (leading minors), out = (3 / |trace|) I, or I for a zero trace, and 0 is returned. */
static int block_inverse(const double *a, double *out) {
    const double m1 = a[0];
    const double m2 = a[0] * a[4] - a[1] * a[3];
    const double c00 = a[4] * a[8] - a[5] * a[7];
    const double c01 = a[5] * a[6] - a[3] * a[8];
    const double c02 = a[3] * a[7] - a[4] * a[6];
    const double det = a[0] * c00 + a[1] * c01 + a[2] * c02;
    if (m1 > 0.0 && m2 > 0.0 && det > 0.0 && isfinite(det)) {
        const double id = 1.0 / det;
        out[0] = c00 * id;
        out[1] = (a[2] * a[7] - a[1] * a[8]) * id;
        out[2] = (a[1] * a[5] - a[2] * a[4]) * id;
        out[3] = c01 * id;
        out[4] = (a[0] * a[8] - a[2] * a[6]) * id;
        out[5] = (a[2] * a[3] - a[0] * a[5]) * id;
        out[6] = c02 * id;
        out[7] = (a[1] * a[6] - a[0] * a[7]) * id;
        out[8] = (a[0] * a[4] - a[1] * a[3]) * id;
        return 1;
    }
    const double tr = fabs(a[0] + a[4] + a[8]);
    const double s = tr > 0.0 && isfinite(tr) ? 3.0 / tr : 1.0;
    for (int k = 0; k < 9; ++k)
        out[k] = (k % 4 == 0) ? s : 0.0;
    return 0;
}

/* MinPairFn: the pair's 3x3 block v'' n n^T + (v'/r)(I - n n^T) onto rows i and j of hd. */
static void add_pair_block(void *ctx, int i, int j, const double dx[3], double r2, double r,
                           const double dv[4]) {
    double *hd = ctx;
    const double b = dv[1] / r, a = (dv[2] - b) / r2;
    for (int u = 0; u < 3; ++u)
        for (int v = 0; v < 3; ++v) {
            const double e = a * dx[u] * dx[v] + (u == v ? b : 0.0);
            hd[9 * i + 3 * u + v] += e;
            hd[9 * j + 3 * u + v] += e;
        }
}

int min_block_precond(Domain *d, MinPrecond *pc) {
    const int ntot = d->nlocal + d->nghost;
    const int64_t need = 9 * (int64_t)(ntot > 0 ? ntot : 1);
    int rc = 0;
    if (need > pc->cap) {
        rc = basin_realloc((void **)&pc->hd, (size_t)need, sizeof(double), "preconditioner");
        if (rc == 0)
            rc = basin_realloc((void **)&pc->minv, (size_t)need, sizeof(double), "preconditioner");
        if (rc == 0) pc->cap = need;
    }
    BCHK(basin_error_agree(rc)); /* collective: the halo below needs every rank */
    memset(pc->hd, 0, 9 * (size_t)ntot * sizeof(double));
    min_pair_derivs(d, add_pair_block, pc->hd);
    BCHK(domain_reverse_array(d, pc->hd, 9));
    double bad = 0.0;
    for (int i = 0; i < d->nlocal; ++i)
        bad += !block_inverse(pc->hd + 9 * i, pc->minv + 9 * i);
    par_sum_d(&bad, 1);
    pc->natoms = d->nlocal;
    pc->not_pd = (int64_t)bad;
    return 0;
}

void min_block_apply(const MinPrecond *pc, const double *r, double *z) {
    for (int i = 0; i < pc->natoms; ++i) {
        const double *a = pc->minv + 9 * i, *ri = r + 3 * i;
        for (int u = 0; u < 3; ++u)
            z[3 * i + u] = a[3 * u] * ri[0] + a[3 * u + 1] * ri[1] + a[3 * u + 2] * ri[2];
    }
}

void min_precond_free(MinPrecond *pc) {
    free(pc->hd);
    free(pc->minv);
    memset(pc, 0, sizeof(*pc));
}
