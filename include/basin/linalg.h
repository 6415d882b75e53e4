/* linalg: thin C wrappers over BLACS, ScaLAPACK and ELPA for the dense distributed matrices of
 * the harmonic and lifetime modules (Hessian, eigenvectors, projections).
 *
 * Layout. Matrices are 2D block-cyclic on a BLACS process grid, square nb x nb blocks, first
 * block on process (0, 0), local storage column-major with leading dimension lld. ELPA needs
 * square blocks and a square matrix; ScaLAPACK accepts the same layout, so one descriptor serves
 * both solvers. All indices in this header are 0-based; the Fortran descriptor itself follows
 * the ScaLAPACK convention.
 *
 * Errors follow util.h: every fallible call returns 0 or a negative BASIN_ERR_* code with one
 * message recorded; failures reported by BLACS/ScaLAPACK/ELPA are BASIN_ERR_LIB and name the
 * library routine and its status. The calls marked "Collective" must be made by every rank of
 * the grid's communicator; a failure may be seen by some ranks only, so callers agree on it
 * with basin_error_agree() before branching on it.
 *
 * This module talks MPI (it owns the grid), so its header includes <mpi.h>; harmonic/ and
 * lifetime/ use it, physics modules that must stay MPI-free do not.
 */
#ifndef BASIN_LINALG_H
#define BASIN_LINALG_H

#include <mpi.h>
#include <stddef.h>

/* ---- raw prototypes: BLACS (C interface) and ScaLAPACK (Fortran) ----
 * Neither library ships a C header. The Fortran routines take every argument by reference and,
 * for each CHARACTER argument, a hidden trailing length (size_t with gfortran >= 8), which is
 * why the prototypes below end in size_t parameters: omitting them is undefined behaviour that
 * has broken C callers of LAPACK once gfortran started to rely on them (sibling-call
 * optimisation). Integers are 32-bit (Debian's LP64 build). Descriptors are int[LINALG_DLEN]. */
enum { LINALG_DLEN = 9 };

void Cblacs_pinfo(int *mypnum, int *nprocs);
void Cblacs_get(int icontxt, int what, int *val);
void Cblacs_gridinit(int *icontxt, const char *order, int nprow, int npcol);
void Cblacs_gridinfo(int icontxt, int *nprow, int *npcol, int *myrow, int *mycol);
void Cblacs_gridexit(int icontxt);
int Csys2blacs_handle(MPI_Comm comm);
void Cfree_blacs_system_handle(int handle);

int numroc_(const int *n, const int *nb, const int *iproc, const int *isrcproc, const int *nprocs);
void descinit_(int *desc, const int *m, const int *n, const int *mb, const int *nb,
               const int *irsrc, const int *icsrc, const int *ictxt, const int *lld, int *info);
void pdsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *ia,
              const int *ja, const int *desca, double *w, double *z, const int *iz, const int *jz,
              const int *descz, double *work, const int *lwork, int *iwork, const int *liwork,
              int *info, size_t jobz_len, size_t uplo_len);
void pdgemm_(const char *transa, const char *transb, const int *m, const int *n, const int *k,
             const double *alpha, const double *a, const int *ia, const int *ja, const int *desca,
             const double *b, const int *ib, const int *jb, const int *descb, const double *beta,
             double *c, const int *ic, const int *jc, const int *descc, size_t transa_len,
             size_t transb_len);

/* ---- process grid ---- */
typedef struct LinalgGrid {
    MPI_Comm comm;  /* communicator the grid spans (not owned: the caller keeps it alive) */
    int ctxt;       /* BLACS context handle of the grid */
    int sys_handle; /* BLACS system handle for comm, released by linalg_grid_destroy */
    int nprow, npcol;
    int myrow, mycol;
} LinalgGrid;

/* Most square factorisation p = nprow * npcol with nprow >= npcol (npcol is the largest divisor
 * of p not above sqrt(p)), the shape ELPA's own tests use. Every rank is used: an idle rank would
 * hold none of a matrix that may be too big for the others, and a prime p still works as a
 * p x 1 grid, only with more communication per flop. Not collective. */
void linalg_grid_shape(int p, int *nprow, int *npcol);

/* Collective over comm. Builds a column-major ("C") BLACS grid over all ranks of comm:
 * nprow/npcol > 0 give the shape (their product must equal the size of comm), 0 and 0 pick
 * linalg_grid_shape(size). *out is owned by the caller and released with linalg_grid_destroy. */
int linalg_grid_create(MPI_Comm comm, int nprow, int npcol, LinalgGrid **out);
/* Collective over the grid's communicator (BLACS frees the context collectively); NULL-safe,
 * sets *g = NULL. Every matrix on the grid must be destroyed first. */
void linalg_grid_destroy(LinalgGrid **g);

/* ---- block-cyclic matrices ---- */
typedef struct LinalgMatrix {
    const LinalgGrid *grid; /* not owned */
    int m, n;               /* global rows, columns */
    int nb;                 /* block size, rows and columns */
    int lrows, lcols;       /* local rows and columns on this rank (may be 0) */
    int lld;                /* local leading dimension, max(1, lrows) as ScaLAPACK requires */
    int desc[LINALG_DLEN];  /* ScaLAPACK array descriptor */
    double *data;           /* lld * lcols doubles, column-major, zeroed at creation */
} LinalgMatrix;

/* Collective over the grid (descinit is local, but a bad size must fail on every rank alike).
 * Creates an m x n matrix in nb x nb blocks on grid, zeroed. Memory: about m n / P doubles per
 * rank. Released with linalg_matrix_destroy. */
int linalg_matrix_create(const LinalgGrid *grid, int m, int n, int nb, LinalgMatrix **out);
/* Not collective; NULL-safe, sets *a = NULL. */
void linalg_matrix_destroy(LinalgMatrix **a);
/* Not collective. Copies the local part of src into dst; both must have the same global shape,
 * block size and grid (checked). */
int linalg_matrix_copy(const LinalgMatrix *src, LinalgMatrix *dst);

/* Index maps for one dimension of a block-cyclic distribution with first block on process 0
 * (ScaLAPACK's INDXG2P / INDXG2L / INDXL2G, 0-based). `p` is the process coordinate along that
 * dimension (myrow or mycol), `np` the number of processes along it. */
static inline int linalg_g2p(int ig, int nb, int np) {
    return (ig / nb) % np;
}
static inline int linalg_g2l(int ig, int nb, int np) {
    return (ig / (nb * np)) * nb + ig % nb;
}
static inline int linalg_l2g(int il, int nb, int p, int np) {
    return (il / nb) * nb * np + p * nb + il % nb;
}

/* Global row / column of local row li / local column lj of a. Not collective. */
static inline int linalg_row_l2g(const LinalgMatrix *a, int li) {
    return linalg_l2g(li, a->nb, a->grid->myrow, a->grid->nprow);
}
static inline int linalg_col_l2g(const LinalgMatrix *a, int lj) {
    return linalg_l2g(lj, a->nb, a->grid->mycol, a->grid->npcol);
}
/* 1 if this rank stores global element (i, j) of a, then *off (if not NULL) is its offset in
 * a->data; 0 otherwise. Not collective. */
static inline int linalg_local_offset(const LinalgMatrix *a, int i, int j, size_t *off) {
    if (linalg_g2p(i, a->nb, a->grid->nprow) != a->grid->myrow ||
        linalg_g2p(j, a->nb, a->grid->npcol) != a->grid->mycol)
        return 0;
    if (off)
        *off = (size_t)linalg_g2l(i, a->nb, a->grid->nprow) +
               (size_t)linalg_g2l(j, a->nb, a->grid->npcol) * (size_t)a->lld;
    return 1;
}

/* Collective. Assembles the whole m x n matrix, column-major with leading dimension m, on every
 * rank (full: m n doubles, caller-owned). For tests and small matrices only: it costs m n
 * doubles per rank, which is exactly what the distributed layout exists to avoid. */
int linalg_matrix_gather(const LinalgMatrix *a, double *full);

/* ---- symmetric eigen-solvers ---- */
typedef enum {
    LINALG_ELPA_1STAGE = 1, /* ELPA_SOLVER_1STAGE: fastest for all eigenvectors with Debian's
                               generic kernels (TOOLCHAIN.md) */
    LINALG_ELPA_2STAGE = 2, /* ELPA_SOLVER_2STAGE: fastest for eigenvalues only or few vectors */
} LinalgElpaSolver;

/* Collective over a's grid. Eigen-decomposition of the real symmetric n x n matrix a with ELPA
 * (API version 20221109). The full matrix must be stored (both triangles: unlike ScaLAPACK,
 * ELPA reads both) and is destroyed. w receives all n eigenvalues in ascending order (w has n
 * entries on every rank even when nev < n). z, if not NULL, must have a's shape, block size and
 * grid and receives the first nev eigenvectors in its first nev columns; z == NULL computes
 * eigenvalues only. kernel selects the 2-stage real kernel (ELPA_2STAGE_REAL_*), 0 keeps ELPA's
 * default; it is ignored by 1-stage. */
int linalg_eigh_elpa(LinalgMatrix *a, int nev, LinalgElpaSolver solver, int kernel, double *w,
                     LinalgMatrix *z);

/* Collective over a's grid. All eigenvalues (ascending, into w[n]) and eigenvectors (into z,
 * same layout as a) of the symmetric matrix a with ScaLAPACK pdsyevd: the cross-check for
 * ELPA. Only the lower triangle of a is read; a is destroyed. */
int linalg_eigh_pdsyevd(LinalgMatrix *a, double *w, LinalgMatrix *z);

#endif
