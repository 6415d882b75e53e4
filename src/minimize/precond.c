/* precond.c: the Hessian preconditioners shared by the Newton-Krylov finisher (newton.c) and
 * preconditioned L-BFGS (lbfgs.c).
 *
 * Block-Jacobi (MIN_PREC_JACOBI): P = D, the 3x3 diagonal blocks of the analytic Hessian
 * (PHYSICS.md section 5),
 *     H_ii = sum_j K_ij,   K_ij = v''(r) n n^T + (v'(r)/r) (I - n n^T),   n = (r_i - r_j)/r,
 * accumulated over the half list (j may be a ghost: domain_reverse_array sums them) and
 * inverted per atom. Why: the contacts of the binary glass differ in stiffness by a factor ~3
 * (small-small against large-large), and an atom's local cage stiffness varies further with its
 * environment; D^-1 F is the displacement that would relax each atom in its frozen cage, so it
 * removes that spread from the spectrum the outer method sees. Blocks that are not positive
 * definite (possible away from a minimum, where bonds are stretched past the inflection point
 * or pairs overlap) are replaced by (3 / |trace|) I and counted (MinPrecond.not_pd).
 *
 * Symmetric block Gauss-Seidel (MIN_PREC_SGS): P = (D + L) D^-1 (D + U), L = U^T the strictly
 * lower blocks of H in the Domain's atom order (H_ij = -K_ij). Why: block-Jacobi leaves the
 * whole collective part of the spectrum (kappa(D^-1 H) ~ 1e3 at a glass IS, a dense band of
 * phonons and quasi-localised modes down to 2e-3 that deflating even 256 exact eigenvectors
 * does not remove); one forward and one backward sweep couple every atom to its neighbours, the
 * spectrum of P^-1 H lies in (0, 1] with its lowest eigenvalue ~2.5x higher, and a CG solve
 * at an N = 4000 IS needs 71 instead of 162 iterations (docs/inherent.md "Symmetric block
 * Gauss-Seidel"). P is SPD whenever every D_i is, whatever the off-diagonal blocks, so the
 * same positive-definiteness gate as block-Jacobi suffices. Storage: each pair once, K_ij in
 * single precision (6 floats: the preconditioner's accuracy does not need more, and the sweeps
 * are memory bound) under row min(i, j) with the larger index as column; the forward sweep
 * pushes y_i into the later rows, the backward one pulls from them, so both read only these
 * rows. Pairs with another rank's atoms are dropped (the sweeps are rank-local, a block-Jacobi
 * of Gauss-Seidel blocks over the ranks; P depends on the rank count, the minimum does not);
 * a ghost that is a periodic image of one of this rank's atoms is folded onto that atom, so one
 * rank holds the full coupling.
 *
 * One assembly pass costs less than a force evaluation (no cutoff tables beyond the pair
 * derivatives) and is counted in MinResult.hess_diag_evals, not in force_evals; one SGS
 * application costs about 0.7 force evaluations of time at N = 32000 (two streams over the
 * pair blocks).
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

/* Pass context: the diagonal accumulation, and for SGS the pair list being assembled
 * (own: ghost index -> owned index of the same atom on this rank, or -1). */
typedef struct PairPass {
    double *hd;
    MinPrecond *pc;
    const int *own;
    int nlocal;
    int64_t np;
} PairPass;

/* MinPairFn: the pair's 3x3 block v'' n n^T + (v'/r)(I - n n^T) onto rows i and j of hd, and
 * for SGS the block itself under row min(i, j') (j' = j or its owned original). */
static void add_pair_block(void *ctx, int i, int j, const double dx[3], double r2, double r,
                           const double dv[4]) {
    PairPass *pp = ctx;
    double *hd = pp->hd;
    const double b = dv[1] / r, a = (dv[2] - b) / r2;
    for (int u = 0; u < 3; ++u)
        for (int v = 0; v < 3; ++v) {
            const double e = a * dx[u] * dx[v] + (u == v ? b : 0.0);
            hd[9 * i + 3 * u + v] += e;
            hd[9 * j + 3 * u + v] += e;
        }
    if (!pp->pc) return;
    const int k = j < pp->nlocal ? j : pp->own[j - pp->nlocal];
    if (k < 0 || k == i) return; /* another rank's atom: the sweeps are rank-local */
    MinPrecond *pc = pp->pc;
    const int64_t q = pp->np++;
    pc->trow[q] = i < k ? i : k;
    pc->tcol[q] = i < k ? k : i;
    float *o = pc->tblk + 6 * q;
    o[0] = (float)(a * dx[0] * dx[0] + b);
    o[1] = (float)(a * dx[0] * dx[1]);
    o[2] = (float)(a * dx[0] * dx[2]);
    o[3] = (float)(a * dx[1] * dx[1] + b);
    o[4] = (float)(a * dx[1] * dx[2]);
    o[5] = (float)(a * dx[2] * dx[2] + b);
}

/* Not collective. Room for the SGS assembly (at most one entry per list pair) and the map of
 * this rank's ghosts onto the owned atoms they copy (a periodic image of an owned atom: with
 * few ranks along a dimension most boundary pairs are such images). */
static int sgs_reserve(const Domain *d, MinPrecond *pc, int **own) {
    const int64_t npl = d->nbr_start[d->nlocal];
    if (npl > pc->ucap) {
        const size_t n = (size_t)(npl > 0 ? npl : 1);
        BCHK(basin_realloc((void **)&pc->trow, n, sizeof(int), "preconditioner"));
        BCHK(basin_realloc((void **)&pc->tcol, n, sizeof(int), "preconditioner"));
        BCHK(basin_realloc((void **)&pc->ucol, n, sizeof(int), "preconditioner"));
        BCHK(basin_realloc((void **)&pc->tblk, 6 * n, sizeof(float), "preconditioner"));
        BCHK(basin_realloc((void **)&pc->ublk, 6 * n, sizeof(float), "preconditioner"));
        pc->ucap = npl;
    }
    if (d->nlocal + 1 > pc->scap) {
        BCHK(basin_realloc((void **)&pc->ustart, (size_t)d->nlocal + 1, sizeof(int),
                           "preconditioner"));
        pc->scap = d->nlocal + 1;
    }
    if (3 * (int64_t)d->nlocal > pc->tcap) {
        BCHK(basin_realloc((void **)&pc->tmp, 3 * (size_t)d->nlocal, sizeof(double),
                           "preconditioner"));
        pc->tcap = 3 * (int64_t)d->nlocal;
    }
    int *o = NULL;
    BCHK(BALLOC(o, (size_t)(d->nghost > 0 ? d->nghost : 1)));
    MinIdMap map = {0};
    const int rc = min_idmap_build(d->id, d->nlocal, &map);
    if (rc) {
        free(o);
        return rc;
    }
    for (int g = 0; g < d->nghost; ++g)
        o[g] = (int)min_idmap_find(&map, d->id[d->nlocal + g]);
    min_idmap_free(&map);
    *own = o;
    return 0;
}

/* Counting sort of the np assembled pairs into rows (CSR), stable in list order. */
static void sgs_sort(MinPrecond *pc, int na, int64_t np) {
    int *st = pc->ustart;
    memset(st, 0, ((size_t)na + 1) * sizeof(int));
    for (int64_t q = 0; q < np; ++q)
        ++st[pc->trow[q] + 1];
    for (int i = 0; i < na; ++i)
        st[i + 1] += st[i];
    for (int64_t q = 0; q < np; ++q) {
        const int at = st[pc->trow[q]]++;
        pc->ucol[at] = pc->tcol[q];
        memcpy(pc->ublk + 6 * (int64_t)at, pc->tblk + 6 * q, 6 * sizeof(float));
    }
    for (int i = na; i > 0; --i) /* the fill advanced every start to the next row's */
        st[i] = st[i - 1];
    st[0] = 0;
}

int min_block_precond(Domain *d, MinPrecond *pc, int kind) {
    const int ntot = d->nlocal + d->nghost;
    const int64_t need = 9 * (int64_t)(ntot > 0 ? ntot : 1);
    int rc = 0;
    int *own = NULL;
    if (need > pc->cap) {
        rc = basin_realloc((void **)&pc->hd, (size_t)need, sizeof(double), "preconditioner");
        if (rc == 0)
            rc = basin_realloc((void **)&pc->minv, (size_t)need, sizeof(double), "preconditioner");
        if (rc == 0) pc->cap = need;
    }
    if (rc == 0 && kind == MIN_PREC_SGS) rc = sgs_reserve(d, pc, &own);
    rc = basin_error_agree(rc); /* collective: the halo below needs every rank */
    if (rc) {
        free(own);
        return rc;
    }
    memset(pc->hd, 0, 9 * (size_t)ntot * sizeof(double));
    PairPass pp = {pc->hd, kind == MIN_PREC_SGS ? pc : NULL, own, d->nlocal, 0};
    min_pair_derivs(d, add_pair_block, &pp);
    free(own);
    pc->sgs = kind == MIN_PREC_SGS;
    if (pc->sgs) sgs_sort(pc, d->nlocal, pp.np);
    BCHK(domain_reverse_array(d, pc->hd, 9));
    double bad = 0.0;
    for (int i = 0; i < d->nlocal; ++i)
        if (!block_inverse(pc->hd + 9 * i, pc->minv + 9 * i)) {
            /* the stand-in (|trace| / 3) I replaces the block in P as well, so that P u
             * (min_precond_mult) stays the inverse of the sweeps and P stays SPD */
            const double *mi = pc->minv + 9 * i;
            for (int k = 0; k < 9; ++k)
                pc->hd[9 * i + k] = k % 4 == 0 ? 1.0 / mi[0] : 0.0;
            bad += 1.0;
        }
    par_sum_d(&bad, 1);
    pc->natoms = d->nlocal;
    pc->not_pd = (int64_t)bad;
    return 0;
}

static inline void mul3(const double *a, const double *x, double *y) {
    y[0] = a[0] * x[0] + a[1] * x[1] + a[2] * x[2];
    y[1] = a[3] * x[0] + a[4] * x[1] + a[5] * x[2];
    y[2] = a[6] * x[0] + a[7] * x[1] + a[8] * x[2];
}

/* y += K x for the symmetric pair block k (6 floats) */
static inline void sym_addmul(const float *restrict k, const double *restrict x,
                              double *restrict y) {
    y[0] += k[0] * x[0] + k[1] * x[1] + k[2] * x[2];
    y[1] += k[1] * x[0] + k[3] * x[1] + k[4] * x[2];
    y[2] += k[2] * x[0] + k[4] * x[1] + k[5] * x[2];
}

/* P^-1 r for P = (D + L) D^-1 (D + U), U = L^T, with H_ij = -K_ij off the diagonal:
 *   forward  (D + L) y = r:  y_i = D_i^-1 (r_i + sum_{j<i} K_ij y_j)   (pushed to the rows j > i)
 *   backward (D + U) z = D y: z_i = y_i + D_i^-1 sum_{j>i} K_ij z_j
 * SPD whenever every D_i is (D + L is then invertible), whatever the off-diagonal blocks. */
static void sgs_apply(const MinPrecond *pc, const double *r, double *z) {
    const int na = pc->natoms;
    const int *st = pc->ustart, *col = pc->ucol;
    const float *blk = pc->ublk;
    memcpy(z, r, 3 * (size_t)na * sizeof(double));
    for (int i = 0; i < na; ++i) {
        double y[3];
        mul3(pc->minv + 9 * i, z + 3 * i, y);
        z[3 * i] = y[0], z[3 * i + 1] = y[1], z[3 * i + 2] = y[2];
        for (int q = st[i]; q < st[i + 1]; ++q)
            sym_addmul(blk + 6 * (int64_t)q, y, z + 3 * col[q]);
    }
    for (int i = na - 1; i >= 0; --i) {
        double s[3] = {0.0, 0.0, 0.0}, t[3];
        for (int q = st[i]; q < st[i + 1]; ++q)
            sym_addmul(blk + 6 * (int64_t)q, z + 3 * col[q], s);
        mul3(pc->minv + 9 * i, s, t);
        z[3 * i] += t[0], z[3 * i + 1] += t[1], z[3 * i + 2] += t[2];
    }
}

void min_block_apply(const MinPrecond *pc, const double *r, double *z) {
    if (pc->sgs) {
        sgs_apply(pc, r, z);
        return;
    }
    for (int i = 0; i < pc->natoms; ++i)
        mul3(pc->minv + 9 * i, r + 3 * i, z + 3 * i);
}

/* P u: block-Jacobi D u; SGS (D + L) D^-1 (D + U) u:
 *   t_i = D_i u_i - sum_{j>i} K_ij u_j,  s = D^-1 t,  out_i = t_i - sum_{j<i} K_ij s_j */
int min_precond_mult(MinPrecond *pc, const double *u, double *out) {
    const int na = pc->natoms;
    if (!pc->sgs) {
        for (int i = 0; i < na; ++i)
            mul3(pc->hd + 9 * i, u + 3 * i, out + 3 * i);
        return 0;
    }
    const int *st = pc->ustart, *col = pc->ucol;
    const float *blk = pc->ublk;
    double *s = pc->tmp;
    for (int i = 0; i < na; ++i) {
        double t[3], m[3] = {0.0, 0.0, 0.0};
        mul3(pc->hd + 9 * i, u + 3 * i, t);
        for (int q = st[i]; q < st[i + 1]; ++q)
            sym_addmul(blk + 6 * (int64_t)q, u + 3 * col[q], m);
        for (int a = 0; a < 3; ++a)
            out[3 * i + a] = t[a] - m[a];
        mul3(pc->minv + 9 * i, out + 3 * i, s + 3 * i);
    }
    for (int i = 0; i < na; ++i) {
        const double ms[3] = {-s[3 * i], -s[3 * i + 1], -s[3 * i + 2]};
        for (int q = st[i]; q < st[i + 1]; ++q)
            sym_addmul(blk + 6 * (int64_t)q, ms, out + 3 * col[q]);
    }
    return 0;
}

void min_precond_free(MinPrecond *pc) {
    free(pc->hd);
    free(pc->minv);
    free(pc->ustart);
    free(pc->ucol);
    free(pc->ublk);
    free(pc->trow);
    free(pc->tcol);
    free(pc->tblk);
    free(pc->tmp);
    memset(pc, 0, sizeof(*pc));
}
