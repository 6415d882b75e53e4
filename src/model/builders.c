/* model/builders.c: initial configurations, FCC crystal and random binary glass.
 *
 * Both builders fill global, id-ordered arrays (x[3*id + k], species[id]) that are a pure
 * function of their arguments. Every rank runs them redundantly on the whole system and then
 * keeps the atoms of its own sub-box (domain_distribute). That is a deliberate trade-off:
 *   - rank-count independence holds by construction: there is no decomposition, no message and
 *     no reduction in here, so 1, 2 or 1000 ranks get bit-identical arrays (the tests hash the
 *     arrays and compare the hash across ranks);
 *   - the cost is O(N) memory and O(N) work per rank, once, at build time: ~25 MB (arrays and
 *     push-off scratch) and 0.8 s of CPU for a 256000-atom glass (release build), small next
 *     to the equilibration that follows.
 * A distributed push-off would need halo exchanges and would make the result depend on the
 * order in which ranks resolve overlaps near sub-box faces; not worth it for a one-off O(N).
 *
 * FCC: N = 4 k^3 atoms on a k x k x k cubic lattice of conventional cells, lattice constant
 * a = L/k, atom id = 4*cell + basis with cell = (iz*k + iy)*k + ix. The whole lattice is shifted
 * by a/4 along each axis: every atom then sits a/4 away from any plane x_k = j*a/2, which
 * contains the periodic faces and every sub-box face of an even split, so no atom starts on a
 * face where rounding would decide its owner.
 *
 * Glass: positions uniform in [0, L)^3 from the counter-based RNG keyed by (seed,
 * RNG_STREAM_POSITION, id, counter), so atom id gets the same draw on every rank. Species 0 for
 * the first n/2 ids, 1 for the rest. A uniform start at rho = 1.015 has about one pair per
 * atom closer than 0.8 sigma_ab, some of them nearly on top of each other (v ~ r^-12: forces
 * beyond 1e10 on the first MD step), so overlapping pairs are pushed apart first:
 *
 *   repeat (at most PUSH_MAX_SWEEPS sweeps, and stop early if stalled):
 *     bin atoms into link cells of edge >= max d_ab (counting sort in id order);
 *     for each pair i, j closer than d_ab = (1 + PUSH_MARGIN) min_frac sigma_ab (half stencil,
 *     each pair once, in a fixed traversal order), add  +-PUSH_STEP (d_ab - r) n_ij  to the
 *     displacements of i and j, and count the pair as a violation if r < min_frac sigma_ab;
 *     if there is no violation: done (positions are left exactly as checked);
 *     cap each displacement at PUSH_DMAX min(sigma_ab), move all atoms at once, wrap into box.
 *
 * This is a Jacobi (all pushes from the same positions) descent on the capped soft repulsion
 * U = sum (d_ab - r)^2 / 2 over pairs closer than d_ab, with a deliberately long step: with
 * PUSH_STEP = 1 an isolated pair ends at 2 d_ab - r, i.e. it overshoots out of contact instead of
 * creeping towards d_ab, which halves the number of sweeps compared with the exact step 1/2.
 * The cap keeps crowded atoms (many pushes adding up) from jumping through their neighbours.
 * The small margin makes the last violations clear in finitely many sweeps while keeping the
 * soft spheres far from jamming (the push diameters fill 0.28 of space at min_frac = 0.8).
 * Measured at rho = 1.015 (N = 256000): min_frac 0.8: 14 sweeps, 0.9: 23, 1.0: 62 (near
 * jamming); 1.05 and above stall and return an error.
 * Coincident atoms (r = 0, no direction) are split along x by id. Every sum is taken in an order
 * fixed by the positions alone, with the same operations on every rank, hence bitwise
 * reproducible and independent of the rank count. Cost: O(N) per sweep.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "basin/model.h"
#include "basin/util.h"

/* Push distance d_ab = (1 + PUSH_MARGIN) * min_frac * sigma_ab. */
#define PUSH_MARGIN 0.01
/* Fraction of the gap each atom of an overlapping pair moves per sweep (1/2 closes it exactly,
 * 1 overshoots out of contact and converges in about half the sweeps). */
#define PUSH_STEP 1.0
/* Per-sweep displacement cap, in units of the smallest sigma_ab. */
#define PUSH_DMAX 0.25
/* A sweep costs ~60 ms at N = 256000. A push-off that cannot succeed (min_frac beyond what the
 * density allows: the soft spheres jam) stops once the violation count has not reached a new
 * minimum for PUSH_STALL_SWEEPS sweeps, with an error that says so. */
#define PUSH_MAX_SWEEPS 1000
#define PUSH_STALL_SWEEPS 100

/* Map a coordinate into [0, L). One pass suffices for |x| < 2L (the push-off moves atoms by
 * less than a sigma); the last test catches -tiny + L rounding up to L. */
static double wrap01(double x, double L) {
    if (x >= L)
        x -= L;
    else if (x < 0.0)
        x += L;
    if (x >= L || x < 0.0) x = 0.0;
    return x;
}

int model_build_fcc(int64_t n, double density, double *x, int *species, double *L) {
    if (!(density > 0.0) || !isfinite(density))
        return basin_error(BASIN_ERR_CONFIG, NULL, "system.density", "must be > 0, got %g",
                           density);
    /* k = round(cbrt(n/4)), then fix any floating error of cbrt by integer comparisons. */
    int64_t k = n >= 4 ? (int64_t)llround(cbrt((double)n / 4.0)) : 0;
    while (k > 0 && 4 * k * k * k > n)
        --k;
    while (4 * (k + 1) * (k + 1) * (k + 1) <= n)
        ++k;
    if (k < 1 || 4 * k * k * k != n) {
        const int64_t lo = 4 * k * k * k, hi = 4 * (k + 1) * (k + 1) * (k + 1);
        if (lo < 4)
            return basin_error(BASIN_ERR_CONFIG, NULL, "system.natoms",
                               "crystal needs N = 4k^3 (nearest: %lld), got %lld", (long long)hi,
                               (long long)n);
        return basin_error(BASIN_ERR_CONFIG, NULL, "system.natoms",
                           "crystal needs N = 4k^3 (nearest: %lld or %lld), got %lld",
                           (long long)lo, (long long)hi, (long long)n);
    }
    const double box = model_box_length(n, density);
    const double a = box / (double)k;
    /* Conventional FCC basis, in units of a. */
    static const double basis[4][3] = {
        {0.0, 0.0, 0.0}, {0.5, 0.5, 0.0}, {0.5, 0.0, 0.5}, {0.0, 0.5, 0.5}};
    for (int64_t iz = 0; iz < k; ++iz)
        for (int64_t iy = 0; iy < k; ++iy)
            for (int64_t ix = 0; ix < k; ++ix) {
                const int64_t cell = (iz * k + iy) * k + ix;
                const double c[3] = {(double)ix, (double)iy, (double)iz};
                for (int b = 0; b < 4; ++b) {
                    const int64_t id = 4 * cell + b;
                    for (int d = 0; d < 3; ++d)
                        x[3 * id + d] = wrap01(a * (c[d] + basis[b][d] + 0.25), box);
                    species[id] = 0;
                }
            }
    *L = box;
    return 0;
}

/* Link cells over the whole box, rebuilt every sweep. start[c]..start[c+1] indexes atom[], and
 * atoms within a cell are in increasing id order (stable counting sort), which fixes the order
 * of every neighbour sum. xs/ss are positions and species copied into that sorted order: the
 * neighbour loops then read contiguous memory instead of chasing random ids (about 5x faster
 * at N = 256000, where x no longer fits in cache). */
typedef struct PushCells {
    int nc;         /* cells per edge (>= 3, so the 27 neighbours of a cell are distinct) */
    int64_t ncell;  /* nc^3 */
    int64_t *start; /* ncell + 1 */
    int64_t *atom;  /* n: atom ids sorted by cell */
    int64_t *cell;  /* n: cell of each atom, by id */
    double *xs;     /* 3n: positions in sorted order */
    int *ss;        /* n: species in sorted order */
} PushCells;

static void push_cells_bin(PushCells *pc, int64_t n, const double *x, const int *species,
                           double L) {
    const int nc = pc->nc;
    const double inv = (double)nc / L;
    for (int64_t c = 0; c <= pc->ncell; ++c)
        pc->start[c] = 0;
    for (int64_t i = 0; i < n; ++i) {
        int c3[3];
        for (int d = 0; d < 3; ++d) {
            int c = (int)(x[3 * i + d] * inv);
            c3[d] = c < 0 ? 0 : (c >= nc ? nc - 1 : c); /* x in [0, L) but x*inv may round to nc */
        }
        const int64_t c = ((int64_t)c3[2] * nc + c3[1]) * nc + c3[0];
        pc->cell[i] = c;
        ++pc->start[c + 1];
    }
    for (int64_t c = 0; c < pc->ncell; ++c)
        pc->start[c + 1] += pc->start[c];
    /* Scatter in id order with start[c] as the cursor of cell c (keeps ids ascending within a
     * cell); afterwards start[c] holds the old start[c + 1], so shift it back by one. */
    for (int64_t i = 0; i < n; ++i) {
        const int64_t q = pc->start[pc->cell[i]]++;
        pc->atom[q] = i;
        pc->xs[3 * q + 0] = x[3 * i + 0];
        pc->xs[3 * q + 1] = x[3 * i + 1];
        pc->xs[3 * q + 2] = x[3 * i + 2];
        pc->ss[q] = species[i];
    }
    for (int64_t c = pc->ncell; c > 0; --c)
        pc->start[c] = pc->start[c - 1];
    pc->start[0] = 0;
}

/* Minimum image for two coordinates in [0, L): |dx| < L, so the image shift is 0 or +-L. For
 * every pair closer than L/2 this gives bitwise the same vector as model_min_image() (which
 * subtracts L * nearbyint(dx/L) with the same 0 or +-1), so the builder's "no pair closer than
 * min_frac sigma_ab" is exactly what a check with model_min_image() sees, without a libm call
 * in the hot loop. */
static inline double push_min_image(const double *a, const double *b, double L, double hL,
                                    double d[3]) {
    double r2 = 0.0;
    for (int k = 0; k < 3; ++k) {
        double dx = a[k] - b[k];
        if (dx > hL)
            dx -= L;
        else if (dx < -hL)
            dx += L;
        d[k] = dx;
        r2 += dx * dx;
    }
    return r2;
}

/* One sweep over the half stencil (own cell with q_j > q_i, plus 13 of the 26 neighbour cells):
 * accumulates each pair's push into ds[] (sorted order) with opposite signs for the two atoms
 * and returns the number of pairs closer than min_frac sigma_ab. Each pair is seen once, at a
 * point of the traversal fixed by the positions alone, so every displacement is the same sum
 * in the same order on every rank and in every run. */
static int64_t push_sweep(const PushCells *pc, double L, const double push2[2][2],
                          const double tgt2[2][2], const double push[2][2], double *ds) {
    /* Forward half of the 26 neighbour offsets: (dz, dy, dx) lexicographically > (0, 0, 0). */
    static const int off[13][3] = {{0, 0, 1},  {0, 1, -1}, {0, 1, 0},  {0, 1, 1}, {1, -1, -1},
                                   {1, -1, 0}, {1, -1, 1}, {1, 0, -1}, {1, 0, 0}, {1, 0, 1},
                                   {1, 1, -1}, {1, 1, 0},  {1, 1, 1}};
    const int nc = pc->nc;
    const double hL = 0.5 * L;
    int64_t nviol = 0;
    for (int cz = 0; cz < nc; ++cz)
        for (int cy = 0; cy < nc; ++cy)
            for (int cx = 0; cx < nc; ++cx) {
                const int64_t ci = ((int64_t)cz * nc + cy) * nc + cx;
                if (pc->start[ci] == pc->start[ci + 1]) continue;
                int64_t nb[14];
                nb[0] = ci;
                for (int k = 0; k < 13; ++k)
                    nb[k + 1] =
                        ((int64_t)((cz + off[k][0] + nc) % nc) * nc + (cy + off[k][1] + nc) % nc) *
                            nc +
                        (cx + off[k][2] + nc) % nc;
                for (int64_t qi = pc->start[ci]; qi < pc->start[ci + 1]; ++qi) {
                    const double *xi = &pc->xs[3 * qi];
                    const int si = pc->ss[qi];
                    for (int k = 0; k < 14; ++k) {
                        const int64_t q0 = k == 0 ? qi + 1 : pc->start[nb[k]];
                        for (int64_t qj = q0; qj < pc->start[nb[k] + 1]; ++qj) {
                            const int sj = pc->ss[qj];
                            double d[3];
                            const double r2 = push_min_image(xi, &pc->xs[3 * qj], L, hL, d);
                            if (r2 >= push2[si][sj]) continue;
                            nviol += r2 < tgt2[si][sj];
                            if (r2 > 0.0) {
                                const double r = sqrt(r2);
                                const double s = PUSH_STEP * (push[si][sj] - r) / r;
                                for (int c = 0; c < 3; ++c) {
                                    ds[3 * qi + c] += s * d[c];
                                    ds[3 * qj + c] -= s * d[c];
                                }
                            } else {
                                /* Coincident: no direction; the lower id goes to -x. */
                                const double s =
                                    (pc->atom[qi] < pc->atom[qj] ? -PUSH_STEP : PUSH_STEP) *
                                    push[si][sj];
                                ds[3 * qi] += s;
                                ds[3 * qj] -= s;
                            }
                        }
                    }
                }
            }
    return nviol;
}

/* Smallest even n (>= 2) whose box is larger than 2 rc_max at this density. */
static int64_t glass_min_n(double rc_max, double density) {
    int64_t n = (int64_t)floor(density * pow(2.0 * rc_max, 3.0));
    n = n < 2 ? 2 : n - n % 2;
    while (!(model_box_length(n, density) > 2.0 * rc_max))
        n += 2;
    while (n > 2 && model_box_length(n - 2, density) > 2.0 * rc_max)
        n -= 2;
    return n;
}

int model_build_glass(const Model *m, int64_t n, double density, uint64_t seed, double min_frac,
                      double *x, int *species, double *L) {
    if (!(density > 0.0) || !isfinite(density))
        return basin_error(BASIN_ERR_CONFIG, NULL, "system.density", "must be > 0, got %g",
                           density);
    if (!(min_frac > 0.0) || !isfinite(min_frac))
        return basin_error(BASIN_ERR_CONFIG, NULL, "system.overlap_min", "must be > 0, got %g",
                           min_frac);
    if (m->nspecies < 1 || m->nspecies > 2)
        return basin_error(BASIN_ERR_INTERNAL, NULL, NULL, "glass builder: %d species",
                           m->nspecies);
    if (n < 2 || (m->nspecies == 2 && n % 2 != 0))
        return basin_error(BASIN_ERR_CONFIG, NULL, "system.natoms",
                           "the glass needs an even N >= 2 (50:50 mixture), got %lld",
                           (long long)n);
    const double box = model_box_length(n, density);
    if (!(box > 2.0 * m->rc_max))
        return basin_error(BASIN_ERR_CONFIG, NULL, "system.natoms",
                           "box L = %.6g must exceed 2 r_c,max = %.6g for the minimum image; "
                           "at density %g the smallest valid N is %lld, got %lld",
                           box, 2.0 * m->rc_max, density,
                           (long long)glass_min_n(m->rc_max, density), (long long)n);

    for (int64_t id = 0; id < n; ++id) {
        double u[4];
        rng_uniform2(seed, RNG_STREAM_POSITION, (uint64_t)id, 0, &u[0]);
        rng_uniform2(seed, RNG_STREAM_POSITION, (uint64_t)id, 1, &u[2]);
        for (int d = 0; d < 3; ++d)
            x[3 * id + d] = wrap01(box * u[d], box);
        species[id] = (m->nspecies == 2 && id >= n / 2) ? 1 : 0;
    }

    /* Push-off tables, indexed by species pair. */
    double push[2][2] = {{0}}, push2[2][2] = {{0}}, tgt2[2][2] = {{0}};
    double dcell = 0.0, smin = INFINITY;
    for (int a = 0; a < m->nspecies; ++a)
        for (int b = 0; b < m->nspecies; ++b) {
            const double s = m->pair[a][b].sigma;
            const double t = min_frac * s;
            push[a][b] = (1.0 + PUSH_MARGIN) * t;
            push2[a][b] = push[a][b] * push[a][b];
            tgt2[a][b] = t * t;
            dcell = push[a][b] > dcell ? push[a][b] : dcell;
            smin = s < smin ? s : smin;
        }
    const double dmax = PUSH_DMAX * smin;

    PushCells pc = {0};
    pc.nc = (int)floor(box / dcell);
    /* Cells may be larger than d_max, never smaller; at very low density keep about one atom per
     * cell at most so the cell arrays stay O(N) instead of O(L^3). */
    while (pc.nc > 3 && (int64_t)pc.nc * pc.nc * pc.nc > 2 * n)
        --pc.nc;
    if (pc.nc < 3)
        return basin_error(BASIN_ERR_CONFIG, NULL, "system.overlap_min",
                           "push-off distance %.4g is more than a third of the box %.4g; "
                           "got %g",
                           dcell, box, min_frac);
    pc.ncell = (int64_t)pc.nc * pc.nc * pc.nc;
    double *ds = NULL;
    int rc = BALLOC(pc.start, pc.ncell + 1);
    if (!rc) rc = BALLOC(pc.atom, n);
    if (!rc) rc = BALLOC(pc.cell, n);
    if (!rc) rc = BALLOC(pc.xs, 3 * n);
    if (!rc) rc = BALLOC(pc.ss, n);
    if (!rc) rc = BALLOC(ds, 3 * n);

    int64_t nviol = -1, best = INT64_MAX;
    int sweep = 0, best_sweep = 0;
    for (; !rc; ++sweep) {
        push_cells_bin(&pc, n, x, species, box);
        for (int64_t q = 0; q < 3 * n; ++q)
            ds[q] = 0.0;
        nviol = push_sweep(&pc, box, push2, tgt2, push, ds);
        if (nviol == 0) break;
        if (nviol < best) {
            best = nviol;
            best_sweep = sweep;
        }
        if (sweep + 1 >= PUSH_MAX_SWEEPS || sweep - best_sweep >= PUSH_STALL_SWEEPS) {
            rc = basin_error(BASIN_ERR_CONFIG, NULL, "system.overlap_min",
                             "glass push-off failed after %d sweeps: %lld pairs still closer "
                             "than %g sigma_ab at density %g (min_frac too large for this "
                             "density; 0.8 is the default)",
                             sweep + 1, (long long)nviol, min_frac, density);
            break;
        }
        /* Cap, then move every atom at once (Jacobi: all pushes came from the same positions). */
        for (int64_t q = 0; q < n; ++q) {
            double *dq = &ds[3 * q];
            const double len2 = dq[0] * dq[0] + dq[1] * dq[1] + dq[2] * dq[2];
            const double f = len2 > dmax * dmax ? dmax / sqrt(len2) : 1.0;
            const int64_t i = pc.atom[q];
            for (int c = 0; c < 3; ++c)
                x[3 * i + c] = wrap01(pc.xs[3 * q + c] + f * dq[c], box);
        }
    }
    if (!rc)
        log_debug("glass push-off: N = %lld, min_frac = %g, %d sweeps", (long long)n, min_frac,
                  sweep);
    free(pc.start);
    free(pc.atom);
    free(pc.cell);
    free(pc.xs);
    free(pc.ss);
    free(ds);
    if (rc) return rc;
    *L = box;
    return 0;
}
