/* Symmetric eigen-solvers on block-cyclic matrices: ELPA (production) and ScaLAPACK pdsyevd
 * (cross-check). See basin/linalg.h for the contracts.
 *
 * ELPA's C API reports through an int status per call; each one is checked and turned into a
 * BASIN_ERR_LIB line naming the call and elpa_strerr()'s text. The handle is always deallocated
 * and the library uninitialised on the way out, so a failed solve leaves nothing behind and the
 * next solve starts from a clean elpa_init(). */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <elpa/elpa.h>

#include "basin/linalg.h"
#include "basin/util.h"

/* The API version basin is written against (TOOLCHAIN.md): elpa_init() refuses a library too old
 * for it, which is what we want to hear about before any key has been set. */
enum { LINALG_ELPA_API = 20221109 };

static int elpa_fail(const char *call, int err) {
    return basin_error(BASIN_ERR_LIB, "ELPA", call, "%s (ELPA status %d)", elpa_strerr(err), err);
}

static int same_layout(const LinalgMatrix *a, const LinalgMatrix *z) {
    return a->grid == z->grid && a->m == z->m && a->n == z->n && a->nb == z->nb;
}

/* Checks shared by both solvers; collective in effect, since every input is global. */
static int check_square(const LinalgMatrix *a, const LinalgMatrix *z, const char *who) {
    if (a->m != a->n || a->n < 1)
        return basin_error(BASIN_ERR_INTERNAL, "linalg", who, "matrix is %d x %d, not square", a->m,
                           a->n);
    if (z && !same_layout(a, z))
        return basin_error(BASIN_ERR_INTERNAL, "linalg", who,
                           "eigenvector matrix is %d x %d / nb %d, the matrix %d x %d / nb %d",
                           z->m, z->n, z->nb, a->m, a->n, a->nb);
    return 0;
}

static int elpa_set_int(elpa_t h, const char *key, int value) {
    int err = ELPA_OK;
    elpa_set(h, key, value, &err);
    if (err != ELPA_OK)
        return basin_error(BASIN_ERR_LIB, "ELPA", "elpa_set",
                           "cannot set %s = %d: %s (ELPA status %d)", key, value, elpa_strerr(err),
                           err);
    return 0;
}

/* Everything between allocate and deallocate, so that the caller frees the handle on any
 * return. */
static int elpa_solve(elpa_t h, LinalgMatrix *a, int nev, LinalgElpaSolver solver, int kernel,
                      double *w, LinalgMatrix *z) {
    const LinalgGrid *g = a->grid;
    BCHK(elpa_set_int(h, "na", a->n));
    BCHK(elpa_set_int(h, "nev", nev));
    BCHK(elpa_set_int(h, "local_nrows", a->lrows));
    BCHK(elpa_set_int(h, "local_ncols", a->lcols));
    BCHK(elpa_set_int(h, "nblk", a->nb));
    /* ELPA is Fortran inside: it wants the Fortran handle of the communicator. */
    BCHK(elpa_set_int(h, "mpi_comm_parent", (int)MPI_Comm_c2f(g->comm)));
    BCHK(elpa_set_int(h, "process_row", g->myrow));
    BCHK(elpa_set_int(h, "process_col", g->mycol));
    int err = elpa_setup(h);
    if (err != ELPA_OK) return elpa_fail("elpa_setup", err);
    /* Solver and kernel are run-time tunables: ELPA accepts them only after setup. */
    BCHK(elpa_set_int(h, "solver", (int)solver));
    if (solver == LINALG_ELPA_2STAGE && kernel > 0) {
        int rc = elpa_set_int(h, "real_kernel", kernel);
        if (rc) {
            char why[200];
            snprintf(why, sizeof why, "%s", basin_error_message());
            return basin_error(rc, NULL, NULL,
                               "%s; this ELPA build lacks kernel %d (Debian's has only the "
                               "generic kernels, e.g. ELPA_2STAGE_REAL_GENERIC = %d)",
                               why, kernel, (int)ELPA_2STAGE_REAL_GENERIC);
        }
    }
    /* ELPA lets ELPA_FORCE_<key> environment variables override any elpa_set silently, so a
     * stray ELPA_FORCE_solver in a job script would turn a 1-stage/2-stage comparison into two
     * runs of one solver. Read back what will actually run and say so. */
    int eff = 0;
    elpa_get(h, "solver", &eff, &err);
    if (err == ELPA_OK && eff != (int)solver)
        log_warn("ELPA: solver %d requested, %d will run (ELPA_FORCE_solver is set)", (int)solver,
                 eff);
    if (z) {
        elpa_eigenvectors(h, a->data, w, z->data, &err);
        if (err != ELPA_OK) return elpa_fail("elpa_eigenvectors", err);
    } else {
        elpa_eigenvalues(h, a->data, w, &err);
        if (err != ELPA_OK) return elpa_fail("elpa_eigenvalues", err);
    }
    return 0;
}

int linalg_eigh_elpa(LinalgMatrix *a, int nev, LinalgElpaSolver solver, int kernel, double *w,
                     LinalgMatrix *z) {
    BCHK(check_square(a, z, "elpa"));
    const LinalgGrid *g = a->grid;
    if (nev < 1 || nev > a->n)
        return basin_error(BASIN_ERR_INTERNAL, "linalg", "elpa", "nev = %d outside [1, %d]", nev,
                           a->n);
    if (solver != LINALG_ELPA_1STAGE && solver != LINALG_ELPA_2STAGE)
        return basin_error(BASIN_ERR_INTERNAL, "linalg", "elpa", "unknown solver %d", (int)solver);
    /* A process row or column without a block makes elpa_setup fail on that rank only
     * ("your provided blacsgrid is not ok"), while the others go on into the solve: a
     * desynchronised error at best. The condition depends only on global sizes, so checking it
     * here fails every rank alike. Only tiny matrices on many ranks hit it. */
    if ((long)(g->nprow - 1) * a->nb >= a->n || (long)(g->npcol - 1) * a->nb >= a->n)
        return basin_error(
            BASIN_ERR_CONFIG, "linalg", "elpa",
            "n = %d is too small for a %d x %d grid with blocks of %d: every process "
            "row and column needs at least one block (use a smaller block size or "
            "fewer ranks)",
            a->n, g->nprow, g->npcol, a->nb);

    if (elpa_init(LINALG_ELPA_API) != ELPA_OK)
        return basin_error(BASIN_ERR_LIB, "ELPA", "elpa_init",
                           "the installed ELPA does not support API version %d (basin needs "
                           "ELPA >= 2022.11)",
                           (int)LINALG_ELPA_API);
    int err = ELPA_OK;
    elpa_t h = elpa_allocate(&err);
    int rc = 0;
    if (err != ELPA_OK || !h) {
        rc = elpa_fail("elpa_allocate", err);
    } else {
        rc = elpa_solve(h, a, nev, solver, kernel, w, z);
        elpa_deallocate(h, &err);
        if (!rc && err != ELPA_OK) rc = elpa_fail("elpa_deallocate", err);
    }
    elpa_uninit(&err);
    if (!rc && err != ELPA_OK) rc = elpa_fail("elpa_uninit", err);
    return rc;
}

int linalg_eigh_pdsyevd(LinalgMatrix *a, double *w, LinalgMatrix *z) {
    BCHK(check_square(a, z, "pdsyevd"));
    if (!z)
        return basin_error(BASIN_ERR_INTERNAL, "linalg", "pdsyevd", "needs an eigenvector matrix");
    const int n = a->n, one = 1, query = -1;
    int info = 0, iwq = 0;
    double wq = 0.0;
    pdsyevd_("V", "L", &n, a->data, &one, &one, a->desc, w, z->data, &one, &one, z->desc, &wq,
             &query, &iwq, &query, &info, 1, 1);
    if (info != 0)
        return basin_error(BASIN_ERR_LIB, "ScaLAPACK", "pdsyevd",
                           "workspace query failed, info = %d", info);
    /* The documented minimum, LWORK >= max(1 + 6n + 2 np nq, 3n + max(nb (np + 1), 3 nb)) + 2n,
     * and LIWORK >= 7n + 8 npcol + 2, guard against the query coming back short, which some
     * ScaLAPACK versions do for pdsyevd. */
    const int64_t np = a->lrows, nq = a->lcols, nb = a->nb;
    int64_t lw = 1 + 6 * (int64_t)n + 2 * np * nq;
    const int64_t tri = 3 * (int64_t)n + (nb * (np + 1) > 3 * nb ? nb * (np + 1) : 3 * nb);
    lw = (lw > tri ? lw : tri) + 2 * (int64_t)n;
    if ((int64_t)wq > lw) lw = (int64_t)wq;
    int64_t liw = 7 * (int64_t)n + 8 * (int64_t)a->grid->npcol + 2;
    if (iwq > liw) liw = iwq;
    if (lw > INT_MAX || liw > INT_MAX)
        return basin_error(BASIN_ERR_LIB, "ScaLAPACK", "pdsyevd",
                           "workspace of %lld doubles exceeds its 32-bit LWORK for n = %d; use "
                           "ELPA or more ranks",
                           (long long)lw, n);
    double *work = NULL;
    int *iwork = NULL;
    int rc = BALLOC(work, lw);
    if (!rc) rc = BALLOC(iwork, liw);
    if (!rc) {
        const int lwork = (int)lw, liwork = (int)liw;
        pdsyevd_("V", "L", &n, a->data, &one, &one, a->desc, w, z->data, &one, &one, z->desc, work,
                 &lwork, iwork, &liwork, &info, 1, 1);
        if (info < 0)
            rc = basin_error(BASIN_ERR_LIB, "ScaLAPACK", "pdsyevd", "illegal argument, info = %d",
                             info);
        else if (info > 0)
            rc =
                basin_error(BASIN_ERR_LIB, "ScaLAPACK", "pdsyevd",
                            "the divide-and-conquer eigensolver did not converge, info = %d", info);
    }
    free(work);
    free(iwork);
    return rc;
}
