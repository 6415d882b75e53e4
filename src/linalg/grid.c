/* BLACS process grids and block-cyclic matrices (see basin/linalg.h).
 *
 * BLACS reports misuse by printing and aborting rather than by a status, so the checks that can
 * fail cleanly (shape, sizes, descinit's info) are done here before BLACS is involved, and the
 * grid BLACS actually built is read back with Cblacs_gridinfo and compared with the request. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "basin/linalg.h"
#include "basin/util.h"

void linalg_grid_shape(int p, int *nprow, int *npcol) {
    int c = 1;
    for (int d = 1; (long)d * d <= p; ++d)
        if (p % d == 0) c = d;
    *npcol = c;
    *nprow = p / c;
}

int linalg_grid_create(MPI_Comm comm, int nprow, int npcol, LinalgGrid **out) {
    *out = NULL;
    int size, rank;
    if (MPI_Comm_size(comm, &size) != MPI_SUCCESS || MPI_Comm_rank(comm, &rank) != MPI_SUCCESS)
        return basin_error(BASIN_ERR_MPI, "linalg", "grid", "invalid communicator");
    if (nprow == 0 && npcol == 0) {
        linalg_grid_shape(size, &nprow, &npcol);
    } else if (nprow <= 0 || npcol <= 0 || (long)nprow * npcol != size) {
        return basin_error(BASIN_ERR_RANKS, "linalg", "grid",
                           "a %d x %d process grid needs %ld ranks, the run has %d", nprow, npcol,
                           (long)nprow * npcol, size);
    }

    LinalgGrid *g = NULL;
    BCHK(BALLOC(g, 1));
    g->comm = comm;
    /* Cblacs_pinfo initialises BLACS' view of MPI_COMM_WORLD on first use; the grid itself is
     * built on a system handle for comm, so a duplicated or split communicator works too. */
    int bl_rank, bl_size;
    Cblacs_pinfo(&bl_rank, &bl_size);
    g->sys_handle = Csys2blacs_handle(comm);
    g->ctxt = g->sys_handle;
    /* Column-major rank order ("C") and nprow >= npcol, the layout ELPA's own tests use, so
     * that basin runs ELPA on the configuration its developers exercise. */
    Cblacs_gridinit(&g->ctxt, "C", nprow, npcol);
    int r = -1, c = -1;
    Cblacs_gridinfo(g->ctxt, &r, &c, &g->myrow, &g->mycol);
    g->nprow = nprow;
    g->npcol = npcol;
    if (r != nprow || c != npcol || g->myrow < 0 || g->myrow >= nprow || g->mycol < 0 ||
        g->mycol >= npcol) {
        int rc = basin_error(BASIN_ERR_LIB, "BLACS", "Cblacs_gridinit",
                             "asked for a %d x %d grid, got %d x %d with rank %d at (%d, %d)",
                             nprow, npcol, r, c, rank, g->myrow, g->mycol);
        Cfree_blacs_system_handle(g->sys_handle);
        free(g);
        return rc;
    }
    *out = g;
    return 0;
}

void linalg_grid_destroy(LinalgGrid **g) {
    if (!g || !*g) return;
    /* Cblacs_exit is deliberately never called: it would tear down BLACS for the whole process
     * (and, with argument 0, MPI), while other grids may still live. */
    Cblacs_gridexit((*g)->ctxt);
    Cfree_blacs_system_handle((*g)->sys_handle);
    free(*g);
    *g = NULL;
}

int linalg_matrix_create(const LinalgGrid *grid, int m, int n, int nb, LinalgMatrix **out) {
    *out = NULL;
    if (m < 0 || n < 0 || nb < 1)
        return basin_error(BASIN_ERR_INTERNAL, "linalg", "matrix",
                           "bad shape %d x %d in blocks of %d", m, n, nb);
    LinalgMatrix *a = NULL;
    BCHK(BALLOC(a, 1));
    const int zero = 0;
    a->grid = grid;
    a->m = m;
    a->n = n;
    a->nb = nb;
    a->lrows = numroc_(&m, &nb, &grid->myrow, &zero, &grid->nprow);
    a->lcols = numroc_(&n, &nb, &grid->mycol, &zero, &grid->npcol);
    a->lld = a->lrows > 1 ? a->lrows : 1;
    int info = 0;
    descinit_(a->desc, &m, &n, &nb, &nb, &zero, &zero, &grid->ctxt, &a->lld, &info);
    if (info != 0) {
        int rc = basin_error(BASIN_ERR_LIB, "ScaLAPACK", "descinit",
                             "info = %d for a %d x %d matrix, nb = %d, lld = %d", info, m, n, nb,
                             a->lld);
        free(a);
        return rc;
    }
    int rc = basin_calloc((void **)&a->data, (size_t)a->lld * (size_t)a->lcols, sizeof(double),
                          "block-cyclic matrix");
    if (rc) {
        free(a);
        return rc;
    }
    *out = a;
    return 0;
}

void linalg_matrix_destroy(LinalgMatrix **a) {
    if (!a || !*a) return;
    free((*a)->data);
    free(*a);
    *a = NULL;
}

int linalg_matrix_copy(const LinalgMatrix *src, LinalgMatrix *dst) {
    if (src->grid != dst->grid || src->m != dst->m || src->n != dst->n || src->nb != dst->nb)
        return basin_error(BASIN_ERR_INTERNAL, "linalg", "copy",
                           "layouts differ: %d x %d / nb %d vs %d x %d / nb %d", src->m, src->n,
                           src->nb, dst->m, dst->n, dst->nb);
    memcpy(dst->data, src->data, (size_t)src->lld * (size_t)src->lcols * sizeof(double));
    return 0;
}

int linalg_matrix_gather(const LinalgMatrix *a, double *full) {
    const size_t m = (size_t)a->m, total = (size_t)a->m * (size_t)a->n;
    memset(full, 0, total * sizeof(double));
    for (int lj = 0; lj < a->lcols; ++lj) {
        const size_t j = (size_t)linalg_col_l2g(a, lj);
        for (int li = 0; li < a->lrows; ++li)
            full[(size_t)linalg_row_l2g(a, li) + j * m] = a->data[li + (size_t)lj * a->lld];
    }
    /* Every element has exactly one owner and zeros elsewhere, so the sum is exact. MPI counts
     * are int: reduce in chunks. */
    for (size_t off = 0; off < total; off += INT_MAX / 2) {
        const size_t cnt = total - off < INT_MAX / 2 ? total - off : INT_MAX / 2;
        if (MPI_Allreduce(MPI_IN_PLACE, full + off, (int)cnt, MPI_DOUBLE, MPI_SUM, a->grid->comm) !=
            MPI_SUCCESS)
            return basin_error(BASIN_ERR_MPI, "linalg", "gather", "MPI_Allreduce failed");
    }
    return 0;
}
