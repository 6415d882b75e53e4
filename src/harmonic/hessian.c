/* Hessian assembly straight into the 2D block-cyclic layout (basin/harmonic.h).
 *
 * Each pair (i, j) of the half list inside the exact cutoff contributes one symmetric 3 x 3
 * block B = H_ij to four places: H_ij, H_ji (= B, since B is symmetric), H_ii and H_jj (both
 * -B). The two diagonal contributions are summed locally per atom first (owned and ghost alike),
 * so a pair costs one record {I, J, 6 doubles} and an atom one diagonal record, instead of four
 * blocks or 36 entries per pair: the exchange volume is ~56 bytes per pair plus ~56 per atom.
 *
 * Ownership. Rows 3I .. 3I+2 may straddle a block boundary when nb is not a multiple of 3
 * (the default nb = 64 is not), so one 3 x 3 block can have up to 4 owners (9 for nb = 1 or 2).
 * A record is sent once to every distinct rank owning any entry of H_IJ or H_JI; the receiver
 * adds whichever entries of the two blocks it owns. No record is ever sent twice to one rank,
 * so nothing is double-counted, whatever nb and grid shape are.
 *
 * Exchange: pass 1 counts the records per destination (only the cutoff test and the owner
 * arithmetic), one MPI_Alltoall of the counts, pass 2 evaluates the blocks and packs them into
 * per-destination buckets, one MPI_Alltoallv moves the records as opaque bytes (a contiguous
 * MPI type of the record size, so counts are in records and stay far below INT_MAX), and the
 * owners scatter-add into their local column-major storage. The whole matrix never exists
 * anywhere; the per-rank buffers are O(local pairs). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "basin/harmonic.h"
#include "basin/util.h"

/* One symmetric 3 x 3 block with its block-row and block-column atom ids. I == J marks a
 * diagonal (self) block, which is added once; otherwise the transposed block H_JI is added
 * too. b = {xx, xy, xz, yy, yz, zz}. */
typedef struct HessRecord {
    int32_t I, J;
    double b[6];
} HessRecord;

static void sym6_from9(const double b9[9], double b6[6]) {
    b6[0] = b9[0];
    b6[1] = b9[1];
    b6[2] = b9[2];
    b6[3] = b9[4];
    b6[4] = b9[5];
    b6[5] = b9[8];
}

static inline double sym6_get(const double b6[6], int a, int c) {
    static const int idx[3][3] = {{0, 1, 2}, {1, 3, 4}, {2, 4, 5}};
    return b6[idx[a][c]];
}

/* The distinct process rows (or columns) holding indices 3I, 3I+1, 3I+2: at most 3. */
static int procs_of_triplet(int I, int nb, int np, int out[3]) {
    int k = 0;
    for (int a = 0; a < 3; ++a) {
        const int p = linalg_g2p(3 * I + a, nb, np);
        int seen = 0;
        for (int q = 0; q < k; ++q)
            seen |= out[q] == p;
        if (!seen) out[k++] = p;
    }
    return k;
}

typedef struct OwnerMap {
    int nb, nprow, npcol;
    int *rank_of; /* [nprow * npcol]: MPI rank in the grid communicator of (prow, pcol) */
} OwnerMap;

/* The distinct ranks owning some entry of H_IJ or H_JI; returns their number (<= 18). */
static int record_dests(const OwnerMap *om, int I, int J, int dest[18]) {
    int rI[3], cI[3], rJ[3], cJ[3];
    const int nrI = procs_of_triplet(I, om->nb, om->nprow, rI);
    const int ncJ = procs_of_triplet(J, om->nb, om->npcol, cJ);
    int k = 0;
    for (int a = 0; a < nrI; ++a)
        for (int c = 0; c < ncJ; ++c)
            dest[k++] = om->rank_of[rI[a] + om->nprow * cJ[c]];
    if (I != J) {
        const int nrJ = procs_of_triplet(J, om->nb, om->nprow, rJ);
        const int ncI = procs_of_triplet(I, om->nb, om->npcol, cI);
        for (int a = 0; a < nrJ; ++a)
            for (int c = 0; c < ncI; ++c) {
                const int r = om->rank_of[rJ[a] + om->nprow * cI[c]];
                int seen = 0;
                for (int q = 0; q < k; ++q)
                    seen |= dest[q] == r;
                if (!seen) dest[k++] = r;
            }
    }
    /* The first product can repeat a rank only if two (prow, pcol) pairs map to one rank,
     * which a grid never does; the transposed part was deduplicated above. */
    return k;
}

/* Add the entries of record rec that this rank owns. */
static void scatter_record(LinalgMatrix *h, const HessRecord *rec) {
    for (int pass = 0; pass < (rec->I == rec->J ? 1 : 2); ++pass) {
        const int R = pass ? rec->J : rec->I, C = pass ? rec->I : rec->J;
        for (int a = 0; a < 3; ++a)
            for (int c = 0; c < 3; ++c) {
                size_t off;
                if (linalg_local_offset(h, 3 * R + a, 3 * C + c, &off))
                    h->data[off] += sym6_get(rec->b, a, c);
            }
    }
}

/* Checks that depend only on global data, so every rank reaches the same verdict. */
static int check_inputs(const Domain *d, const PairPotential *pot, const LinalgMatrix *h,
                        int grid_size) {
    const int64_t n3 = 3 * d->natoms;
    if (d->natoms < 2 || n3 > INT32_MAX)
        return basin_error(BASIN_ERR_CONFIG, "harmonic", "natoms",
                           "a Hessian needs 2 <= N <= %d atoms, got %lld", INT32_MAX / 3,
                           (long long)d->natoms);
    if (h->m != n3 || h->n != n3)
        return basin_error(BASIN_ERR_INTERNAL, "harmonic", "hessian",
                           "matrix is %d x %d, the system needs %lld x %lld", h->m, h->n,
                           (long long)n3, (long long)n3);
    if (d->full_list)
        return basin_error(BASIN_ERR_CONFIG, "harmonic", "hessian",
                           "the domain has a full neighbour list; the assembly counts every "
                           "pair once and needs the half list");
    if (grid_size != par_size())
        return basin_error(BASIN_ERR_INTERNAL, "harmonic", "hessian",
                           "the grid spans %d ranks, the domain %d", grid_size, par_size());
    const Model *m = d->model;
    double rcmax = 0.0;
    for (int a = 0; a < m->nspecies; ++a)
        for (int b = 0; b < m->nspecies; ++b) {
            const double rc = pot->cutoff(pot->params, a, b);
            if (rc > rcmax) rcmax = rc;
        }
    /* A pair within r_c of two periodic images of one partner would make the 3 x 3 block a sum
     * over images; the minimum image (one block per pair) needs L > 2 r_c. */
    if (!(d->L > 2.0 * rcmax))
        return basin_error(BASIN_ERR_CONFIG, "harmonic", "box",
                           "box edge L = %g must exceed 2 r_c = %g for the minimum image", d->L,
                           2.0 * rcmax);
    if (rcmax > d->rc_max + d->skin)
        return basin_error(BASIN_ERR_CONFIG, "harmonic", "cutoff",
                           "the potential's cutoff %g exceeds the neighbour list reach %g", rcmax,
                           d->rc_max + d->skin);
    return 0;
}

static int build_owner_map(const LinalgMatrix *h, OwnerMap *om) {
    const LinalgGrid *g = h->grid;
    om->nb = h->nb;
    om->nprow = g->nprow;
    om->npcol = g->npcol;
    om->rank_of = NULL;
    int size;
    MPI_Comm_size(g->comm, &size);
    int *coords = NULL;
    int rc = BALLOC(coords, 2 * size);
    if (!rc) rc = BALLOC(om->rank_of, g->nprow * g->npcol);
    rc = basin_error_agree(rc);
    if (rc) {
        free(coords);
        free(om->rank_of);
        om->rank_of = NULL;
        return rc;
    }
    /* BLACS numbers a "C"-ordered grid column-major, but reading the coordinates back keeps
     * this independent of how BLACS maps communicator ranks to grid positions. */
    const int mine[2] = {g->myrow, g->mycol};
    MPI_Allgather(mine, 2, MPI_INT, coords, 2, MPI_INT, g->comm);
    for (int r = 0; r < size; ++r)
        om->rank_of[coords[2 * r] + g->nprow * coords[2 * r + 1]] = r;
    free(coords);
    return 0;
}

/* The pair (i, j) of the list, if inside the cutoff: separation and v', v''. Returns 1 inside,
 * 0 outside, < 0 on a potential error. */
static int pair_eval(const Domain *d, const PairPotential *pot, int i, int j, double dx[3],
                     double *r, double dv[4]) {
    double r2 = 0.0;
    for (int k = 0; k < 3; ++k) {
        dx[k] = d->x[3 * i + k] - d->x[3 * j + k];
        r2 += dx[k] * dx[k];
    }
    *r = sqrt(r2);
    return pot->derivs(pot->params, d->species[i], d->species[j], *r, dv);
}

int harmonic_hessian_assemble(const Domain *d, const PairPotential *pot, LinalgMatrix *h,
                              HarmonicAssemblyStats *stats) {
    HarmonicAssemblyStats st = {0};
    MPI_Comm comm = h->grid->comm;
    int size;
    MPI_Comm_size(comm, &size);
    BCHK(check_inputs(d, pot, h, size));
    OwnerMap om;
    BCHK(build_owner_map(h, &om));

    const double t0 = par_wtime();
    const int nall = d->nlocal + d->nghost;
    double *diag = NULL; /* [nall * 6]: summed diagonal contributions, owned and ghost */
    int *touched = NULL; /* [nall]: atom got a diagonal contribution */
    int *scount = NULL, *rcount = NULL, *sdisp = NULL, *rdisp = NULL, *fill = NULL;
    HessRecord *sbuf = NULL, *rbuf = NULL;
    MPI_Datatype rtype = MPI_DATATYPE_NULL;
    int rc = BALLOC(diag, (size_t)nall * 6 + 1);
    if (!rc) rc = BALLOC(touched, nall + 1);
    if (!rc) rc = BALLOC(scount, size);
    if (!rc) rc = BALLOC(rcount, size);
    if (!rc) rc = BALLOC(sdisp, size + 1);
    if (!rc) rc = BALLOC(rdisp, size + 1);
    if (!rc) rc = BALLOC(fill, size);

    /* Pass 1: count records per destination. */
    int dest[18];
    for (int i = 0; i < d->nlocal && !rc; ++i) {
        const int I = (int)d->id[i];
        for (int p = d->nbr_start[i]; p < d->nbr_start[i + 1]; ++p) {
            const int j = d->nbr[p];
            double dx[3], r, dv[4];
            const int in = pair_eval(d, pot, i, j, dx, &r, dv);
            if (in < 0) {
                rc = in;
                break;
            }
            if (!in) continue;
            const int J = (int)d->id[j];
            if (I == J) {
                rc = basin_error(BASIN_ERR_INTERNAL, "harmonic", "hessian",
                                 "atom %d interacts with its own periodic image", I);
                break;
            }
            ++st.pairs;
            touched[i] = touched[j] = 1;
            const int nd = record_dests(&om, I, J, dest);
            for (int q = 0; q < nd; ++q)
                ++scount[dest[q]];
        }
    }
    for (int a = 0; a < nall && !rc; ++a)
        if (touched[a]) {
            const int I = (int)d->id[a];
            const int nd = record_dests(&om, I, I, dest);
            for (int q = 0; q < nd; ++q)
                ++scount[dest[q]];
        }
    for (int r = 0; r < size; ++r)
        sdisp[r + 1] = sdisp[r] + scount[r];
    if (!rc) rc = BALLOC(sbuf, sdisp[size] + 1);
    rc = basin_error_agree(rc);

    /* Pass 2: evaluate and pack. */
    if (!rc) {
        memcpy(fill, sdisp, (size_t)size * sizeof(int));
        for (int i = 0; i < d->nlocal; ++i) {
            const int I = (int)d->id[i];
            for (int p = d->nbr_start[i]; p < d->nbr_start[i + 1]; ++p) {
                const int j = d->nbr[p];
                double dx[3], r, dv[4], b9[9];
                if (pair_eval(d, pot, i, j, dx, &r, dv) <= 0) continue;
                harmonic_pair_block(dx, r, dv[1], dv[2], b9);
                HessRecord rec = {.I = I, .J = (int)d->id[j]};
                sym6_from9(b9, rec.b);
                for (int k = 0; k < 6; ++k) {
                    diag[6 * i + k] -= rec.b[k];
                    diag[6 * j + k] -= rec.b[k];
                }
                const int nd = record_dests(&om, rec.I, rec.J, dest);
                for (int q = 0; q < nd; ++q)
                    sbuf[fill[dest[q]]++] = rec;
            }
        }
        for (int a = 0; a < nall; ++a)
            if (touched[a]) {
                HessRecord rec = {.I = (int)d->id[a], .J = (int)d->id[a]};
                memcpy(rec.b, diag + 6 * a, sizeof rec.b);
                const int nd = record_dests(&om, rec.I, rec.I, dest);
                for (int q = 0; q < nd; ++q)
                    sbuf[fill[dest[q]]++] = rec;
            }
        for (int r = 0; r < size && !rc; ++r)
            if (fill[r] != sdisp[r + 1])
                rc = basin_error(BASIN_ERR_INTERNAL, "harmonic", "hessian",
                                 "pass 2 packed %d records for rank %d, pass 1 counted %d",
                                 fill[r] - sdisp[r], r, scount[r]);
        rc = basin_error_agree(rc);
    }
    st.records_sent = sdisp[size];
    const double t1 = par_wtime();

    /* Exchange. */
    if (!rc) {
        MPI_Alltoall(scount, 1, MPI_INT, rcount, 1, MPI_INT, comm);
        int64_t total = 0;
        for (int r = 0; r < size; ++r)
            total += rcount[r];
        if (total > INT32_MAX)
            rc = basin_error(BASIN_ERR_INTERNAL, "harmonic", "hessian",
                             "%lld records to receive exceed MPI's int counts; use more ranks",
                             (long long)total);
        for (int r = 0; r < size; ++r)
            rdisp[r + 1] = rdisp[r] + rcount[r];
        if (!rc) rc = BALLOC(rbuf, total + 1);
        rc = basin_error_agree(rc);
    }
    if (!rc) {
        MPI_Type_contiguous((int)sizeof(HessRecord), MPI_BYTE, &rtype);
        MPI_Type_commit(&rtype);
        if (MPI_Alltoallv(sbuf, scount, sdisp, rtype, rbuf, rcount, rdisp, rtype, comm) !=
            MPI_SUCCESS)
            rc = basin_error(BASIN_ERR_MPI, "harmonic", "hessian", "MPI_Alltoallv failed");
        MPI_Type_free(&rtype);
        rc = basin_error_agree(rc);
    }
    const double t2 = par_wtime();

    /* Accumulate. */
    if (!rc) memset(h->data, 0, (size_t)h->lld * (size_t)h->lcols * sizeof(double));
    const double t3 = par_wtime();
    if (!rc) {
        for (int k = 0; k < rdisp[size]; ++k)
            scatter_record(h, &rbuf[k]);
        st.records_recv = rdisp[size];
    }
    const double t4 = par_wtime();
    st.t_pairs = t1 - t0;
    st.t_exchange = t2 - t1;
    st.t_zero = t3 - t2;
    st.t_scatter = t4 - t3;
    if (stats) *stats = st;

    free(diag);
    free(touched);
    free(scount);
    free(rcount);
    free(sdisp);
    free(rdisp);
    free(fill);
    free(sbuf);
    free(rbuf);
    free(om.rank_of);
    return rc;
}
