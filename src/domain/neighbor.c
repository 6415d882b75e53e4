/* neighbor.c: link cells, the cell sort of owned atoms, and the Verlet list.
 *
 * Cells. The grid covers this rank's sub-box, cut into nsub cells of edge e >= rghost/2 per
 * dimension (e = edge/nsub, so cells tile the sub-box exactly), plus reach + 1 padding cells on
 * each side, reach = ceil(rghost/e) (2 in practice). The padding holds the ghost shell and keeps
 * every stencil of an owned atom inside the grid even when rounding puts an atom at hi into the
 * next cell, so the inner loop has no bounds checks. Cells hold no fixed number of atoms: a
 * counting sort gives each cell a contiguous range (cell_start), so there is nothing to
 * overflow. Half-rghost cells (LAMMPS's default bin size) were measured against thirds
 * (DOMAIN_CELL_DIV = 3 at compile time): thirds scan ~25% fewer candidates but pay more per
 * cell and came out 10-50% slower here.
 *
 * Search. Candidates are copied into cell order (xs, ss, ids), and the stencil is stored as rows
 * of cells that are contiguous along x (15 rows of 5 cells for the half list), so each row is
 * one contiguous run of candidates: 15 short streaming loops per atom instead of 75 cell visits.
 * The loops are branch-free (every candidate is written to the list, the count advances by the
 * 0/1 result of the test): ~3 in 4 candidates fail the distance test at random, which a branch
 * would mispredict. Room for all candidates of an atom is ensured before its scan, so the list
 * grows by doubling without a capacity check in the inner loop. Owned atoms are permuted into
 * cell order at every rebuild (cells_sort_owned), which also keeps x[i] and x[j] of a list close
 * in memory for the force loop.
 *
 * Half list rule. A pair is kept on the rank that owns i iff x_j is lexicographically above x_i
 * (z, then y, then x, then global id), whether j is owned or a ghost. Why not "j > i for owned
 * j" plus a coordinate rule for ghosts: that needs the cell order and the index order to agree,
 * which breaks if the list is rebuilt without a sort; one geometric rule is simpler to prove.
 * It is exactly antisymmetric across ranks: owned positions are in [0, L) at build time, a
 * ghost is the owner's position plus 0 or +-L per dimension, and in any dimension where the
 * shift is nonzero both ranks see a strict inequality of the same sign (x + L >= L > x' for
 * x, x' in [0, L)), while unshifted coordinates are compared bit for bit. Cell indices are
 * monotone in each coordinate, so "above" implies dz >= 0 (the half stencil is the 3 upper
 * z-layers of 5, 75 cells against the ideal 62.5), and every atom of a dz > 0 row is above i
 * without testing: only the 5 dz = 0 rows evaluate the rule. The full list visits all 125
 * cells and keeps every j != i.
 *
 * Cutoff per pair: (rc(s_i, s_j) + skin)^2, so small-small pairs of the glass (rc = 2.03) do not
 * carry the large-large cutoff (2.90) in the list.
 *
 * Cost (glass, rho = 1.015, skin 0.3, one rank, CPU time on a loaded 2-core Zen 5 VM): about
 * 1.0 us per atom for the half list (46 pairs/atom, ~350 candidates) and 1.3-1.5 us for the full
 * list, at N = 4000 and 32000 alike (tests/domain/bench_domain).
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "basin/util.h"
#include "domain_priv.h"

/* Cells per rghost (the cell edge is at least rghost / CELL_DIV). */
#ifndef DOMAIN_CELL_DIV
#define DOMAIN_CELL_DIV 2
#endif

/* Rows of the stencil: for each (dy, dz) with dz >= zmin, the x half-width w of the cells
 * whose closest approach to the home cell is below rghost (a small margin keeps rounding on the
 * safe side); rows with no such cell are dropped. */
static int stencil_build(const CellGrid *g, const double e2[3], double rg2, int zmin, int **off,
                         int **wid, int *nrow, int *ncells, int *nrow0) {
    const int cap = (2 * g->reach[1] + 1) * (2 * g->reach[2] + 1);
    int *o = NULL, *w = NULL;
    BCHK(BALLOC(o, cap));
    BCHK(BALLOC(w, cap));
    int n = 0, cells = 0;
    *nrow0 = 0;
    /* dz = 0 first, then dz = 1, 2, ..., then the negative dz of the full stencil. */
    for (int q = 0; q <= g->reach[2] - zmin; ++q) {
        const int sz = q <= g->reach[2] ? q : g->reach[2] - q;
        for (int sy = -g->reach[1]; sy <= g->reach[1]; ++sy) {
            int best = -1;
            for (int sx = 0; sx <= g->reach[0]; ++sx) {
                const int a[3] = {sx - 1, abs(sy) - 1, abs(sz) - 1};
                double dmin2 = 0.0;
                for (int k = 0; k < 3; ++k)
                    if (a[k] > 0) dmin2 += a[k] * a[k] * e2[k];
                if (dmin2 < rg2 * (1.0 + 1e-6)) best = sx;
            }
            if (best < 0) continue;
            o[n] = (sz * g->n[1] + sy) * g->n[0];
            w[n] = best;
            cells += 2 * best + 1;
            if (sz == 0) ++*nrow0;
            ++n;
        }
    }
    *off = o;
    *wid = w;
    *nrow = n;
    *ncells = cells;
    return 0;
}

int cells_init(Domain *d) {
    struct DomainComm *c = d->comm;
    CellGrid *g = &c->grid;
    double e2[3];
    for (int k = 0; k < 3; ++k) {
        const double edge = d->hi[k] - d->lo[k];
        int nsub = (int)floor(edge / (d->rghost / DOMAIN_CELL_DIV) * (1.0 - 1e-8));
        if (nsub < 1) nsub = 1;
        if (nsub > 4096) nsub = 4096;
        const double e = edge / nsub;
        g->reach[k] = (int)ceil(d->rghost / e + 1e-9);
        const int pad = g->reach[k] + 1;
        g->n[k] = nsub + 2 * pad;
        g->edge[k] = e;
        g->inv[k] = 1.0 / e;
        g->origin[k] = d->lo[k] - pad * e;
        e2[k] = e * e;
    }
    const int64_t ncell = (int64_t)g->n[0] * g->n[1] * g->n[2];
    if (ncell > INT_MAX / 2)
        return basin_error(BASIN_ERR_NOMEM, "domain", NULL, "too many link cells (%lld)",
                           (long long)ncell);
    g->ncell = (int)ncell;
    BCHK(BALLOC(c->cell_start, g->ncell + 1));
    const double rg2 = d->rghost * d->rghost;
    int unused;
    BCHK(stencil_build(g, e2, rg2, 0, &g->half_off, &g->half_w, &g->nhalf, &g->half_cells,
                       &g->half_rows0));
    BCHK(stencil_build(g, e2, rg2, -g->reach[2], &g->full_off, &g->full_w, &g->nfull,
                       &g->full_cells, &unused));
    return 0;
}

void cells_free(Domain *d) {
    struct DomainComm *c = d->comm;
    free(c->grid.half_off);
    free(c->grid.half_w);
    free(c->grid.full_off);
    free(c->grid.full_w);
    free(c->cell_start);
    free(c->cell_of);
    free(c->cell_atoms);
    free(c->xs);
    free(c->ss);
    free(c->ids);
}

int cells_index(const CellGrid *g, const double *x) {
    int idx[3];
    for (int k = 0; k < 3; ++k) {
        const double u = (x[k] - g->origin[k]) * g->inv[k];
        /* Clamped and monotone in x: the half-list stencil relies on monotonicity only. */
        idx[k] = u < 0.0 ? 0 : (u >= (double)(g->n[k] - 1) ? g->n[k] - 1 : (int)u);
    }
    return (idx[2] * g->n[1] + idx[1]) * g->n[0] + idx[0];
}

/* Counting sort of atoms [0, n) by cell: cell_of[i], cell_start[ncell + 1], and the atoms in
 * cell order in cell_atoms (stable: ascending index within a cell). */
static void cells_bin(Domain *d, int n) {
    struct DomainComm *c = d->comm;
    const CellGrid *g = &c->grid;
    domain_grow((void **)&c->cell_of, &c->cell_of_cap, n, sizeof(int), "cell index");
    domain_grow((void **)&c->cell_atoms, &c->cell_atoms_cap, n, sizeof(int), "cell atoms");
    int *start = c->cell_start, *cell_of = c->cell_of;
    memset(start, 0, (size_t)(g->ncell + 1) * sizeof(int));
    for (int i = 0; i < n; ++i) {
        cell_of[i] = cells_index(g, d->x + 3 * i);
        ++start[cell_of[i] + 1];
    }
    for (int q = 0; q < g->ncell; ++q)
        start[q + 1] += start[q];
    /* Fill with a running cursor per cell, then shift the starts back. */
    for (int i = 0; i < n; ++i)
        c->cell_atoms[start[cell_of[i]]++] = i;
    for (int q = g->ncell; q > 0; --q)
        start[q] = start[q - 1];
    start[0] = 0;
}

/* The owned order after a rebuild is (cell, global id): a function of the positions alone, not
 * of the order the atoms had before. That makes every later sum (forces, ghosts, reductions) a
 * function of the state alone, which is what lets a checkpoint restart continue a trajectory
 * bit for bit (src/md/restart.c rebuilds the list from the positions of the last build). Cells
 * hold ~1 atom on average, so the insertion sort costs nothing measurable. */
void cells_sort_owned(Domain *d) {
    struct DomainComm *c = d->comm;
    const int n = d->nlocal;
    if (n == 0) return;
    cells_bin(d, n);
    int *perm = c->cell_atoms; /* new position m holds old atom perm[m] */
    for (int q = 0; q < c->grid.ncell; ++q)
        for (int a = c->cell_start[q] + 1; a < c->cell_start[q + 1]; ++a) {
            const int key = perm[a];
            int b = a - 1;
            while (b >= c->cell_start[q] && d->id[perm[b]] > d->id[key]) {
                perm[b + 1] = perm[b];
                --b;
            }
            perm[b + 1] = key;
        }
    domain_scratch_reserve(d, 3 * (int64_t)n);
    double *t = c->scratch;
    for (int pass = 0; pass < 2; ++pass) {
        double *a = pass == 0 ? d->x : d->v;
        for (int m = 0; m < n; ++m)
            for (int k = 0; k < 3; ++k)
                t[3 * m + k] = a[3 * perm[m] + k];
        memcpy(a, t, 3 * (size_t)n * sizeof(double));
    }
    int32_t *ti = (int32_t *)c->scratch; /* 3n int32 fit in 3n doubles */
    for (int m = 0; m < n; ++m)
        for (int k = 0; k < 3; ++k)
            ti[3 * m + k] = d->image[3 * perm[m] + k];
    memcpy(d->image, ti, 3 * (size_t)n * sizeof(int32_t));
    int64_t *tl = (int64_t *)c->scratch;
    for (int m = 0; m < n; ++m)
        tl[m] = d->id[perm[m]];
    memcpy(d->id, tl, (size_t)n * sizeof(int64_t));
    int *ts = (int *)c->scratch;
    for (int m = 0; m < n; ++m)
        ts[m] = d->species[perm[m]];
    memcpy(d->species, ts, (size_t)n * sizeof(int));
}

int domain_build_neighbors(Domain *d) {
    struct DomainComm *c = d->comm;
    if (!c->ghosts_valid)
        return basin_error(BASIN_ERR_INTERNAL, "domain", NULL,
                           "neighbour list build before domain_borders()");
    const CellGrid *g = &c->grid;
    const int nlocal = d->nlocal, n = d->nlocal + d->nghost;
    /* The stencil of an owned atom stays inside the padded grid only if the atom is within
     * half a cell of its sub-box (migrate puts it inside). */
    for (int i = 0; i < nlocal; ++i)
        for (int k = 0; k < 3; ++k) {
            const double xk = d->x[3 * i + k], h = 0.5 * g->edge[k];
            if (!(xk >= d->lo[k] - h && xk < d->hi[k] + h))
                return basin_error(BASIN_ERR_INTERNAL, "domain", NULL,
                                   "neighbour list build with atom %lld outside its sub-box "
                                   "(x[%d] = %g, sub-box [%g, %g)): call domain_migrate() first",
                                   (long long)d->id[i], k, xk, d->lo[k], d->hi[k]);
        }
    timer_start(TIMER_NEIGH);
    cells_bin(d, n);
    if (n > c->xs_cap) { /* xs, ss and ids share one capacity (atoms) */
        int64_t cap = c->xs_cap;
        domain_grow((void **)&c->ids, &cap, n, sizeof(int64_t), "cell ids");
        if (BREALLOC(c->xs, 3 * (size_t)cap) != 0 || BREALLOC(c->ss, (size_t)cap) != 0)
            basin_abort_local(BASIN_ERR_NOMEM, "domain: %s", basin_error_message());
        c->xs_cap = cap;
    }
    const int *ca = c->cell_atoms, *start = c->cell_start, *cell_of = c->cell_of;
    double *xs = c->xs;
    int *ss = c->ss;
    int64_t *ids = c->ids;
    for (int m = 0; m < n; ++m) {
        const int j = ca[m];
        xs[3 * m] = d->x[3 * j];
        xs[3 * m + 1] = d->x[3 * j + 1];
        xs[3 * m + 2] = d->x[3 * j + 2];
        ss[m] = d->species[j];
        ids[m] = d->id[j];
    }

    int rc = BREALLOC(d->nbr_start, (size_t)nlocal + 1);
    /* The inner loop selects the cutoff of the pair with a blend on species 0/1. */
    _Static_assert(MODEL_MAX_SPECIES == 2, "neighbour search assumes at most two species");
    double cut2[MODEL_MAX_SPECIES][MODEL_MAX_SPECIES];
    for (int a = 0; a < MODEL_MAX_SPECIES; ++a)
        for (int b = 0; b < MODEL_MAX_SPECIES; ++b) {
            const double r = d->model->pair[a][b].rc + d->skin;
            cut2[a][b] = r * r;
        }
    const int *roff = d->full_list ? g->full_off : g->half_off;
    const int *rw = d->full_list ? g->full_w : g->half_w;
    const int nrow = d->full_list ? g->nfull : g->nhalf;
    /* Rows that need the ordering test: the dz = 0 rows of the half stencil (they come first).
     * In rows with dz > 0 every atom has a larger z bin, hence (monotone binning) a larger z,
     * so it is above i without testing. The full list needs only j != i, in the home row. */
    const int nrule = d->full_list ? 0 : g->half_rows0;
    int64_t np = 0;
    for (int i = 0; i < nlocal && rc == 0; ++i) {
        const int ci = cell_of[i];
        int64_t bound = 0;
        for (int r = 0; r < nrow; ++r)
            bound += start[ci + roff[r] + rw[r] + 1] - start[ci + roff[r] - rw[r]];
        if (np + bound > d->nbr_cap) {
            if (np + bound > INT_MAX) {
                rc = basin_error(BASIN_ERR_NOMEM, "domain", NULL,
                                 "neighbour list exceeds 2^31 entries on one rank");
                break;
            }
            int64_t cap = d->nbr_cap > 0 ? d->nbr_cap : 1024;
            while (cap < np + bound)
                cap *= 2;
            if (cap > INT_MAX) cap = INT_MAX;
            rc = BREALLOC(d->nbr, (size_t)cap);
            if (rc) break;
            d->nbr_cap = cap;
        }
        d->nbr_start[i] = (int)np;
        int *restrict nb = d->nbr;
        const double xi0 = d->x[3 * i], xi1 = d->x[3 * i + 1], xi2 = d->x[3 * i + 2];
        const int64_t idi = d->id[i];
        const double c0 = cut2[d->species[i]][0], c1 = cut2[d->species[i]][1];
        /* Branch-free scans: every candidate is written, the count advances only if it is kept
         * (room for all candidates was ensured above). The distance test rejects ~3 of 4
         * candidates at random, which a branch would mispredict. */
        for (int r = 0; r < nrule; ++r) {
            const int m0 = start[ci + roff[r] - rw[r]], m1 = start[ci + roff[r] + rw[r] + 1];
            for (int m = m0; m < m1; ++m) {
                const double xj = xs[3 * m], yj = xs[3 * m + 1], zj = xs[3 * m + 2];
                const double dx = xj - xi0, dy = yj - xi1, dz = zj - xi2;
                const double r2 = dx * dx + dy * dy + dz * dz;
                const double cut = ss[m] ? c1 : c0;
                /* above(): z, then y, then x, then id. Equal coordinates compare equal in both
                 * orders, so the rule is antisymmetric (and false for j = i). */
                const int up =
                    (zj > xi2) |
                    ((zj == xi2) &
                     ((yj > xi1) | ((yj == xi1) & ((xj > xi0) | ((xj == xi0) & (ids[m] > idi))))));
                nb[np] = ca[m];
                np += (r2 < cut) & up;
            }
        }
        for (int r = nrule; r < nrow; ++r) {
            const int m0 = start[ci + roff[r] - rw[r]], m1 = start[ci + roff[r] + rw[r] + 1];
            for (int m = m0; m < m1; ++m) {
                const double dx = xs[3 * m] - xi0, dy = xs[3 * m + 1] - xi1,
                             dz = xs[3 * m + 2] - xi2;
                const double r2 = dx * dx + dy * dy + dz * dz;
                const double cut = ss[m] ? c1 : c0;
                const int j = ca[m];
                nb[np] = j;
                np += (r2 < cut) & (j != i);
            }
        }
    }
    if (rc == 0) {
        d->nbr_start[nlocal] = (int)np;
        memcpy(d->x_build, d->x, 3 * (size_t)nlocal * sizeof(double));
        d->nbuilds++;
        c->list_valid = 1;
        if (np > c->stats.max_pairs) c->stats.max_pairs = np;
    }
    timer_stop(TIMER_NEIGH);
    return rc;
}
