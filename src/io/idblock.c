/* The id-block layout of DESIGN.md "Parallel layouts": rank r of P owns ids [r N / P,
 * (r+1) N / P). Output and snapshot comparisons use it because a rank's block is one contiguous
 * hyperslab of a global, id-ordered dataset.
 *
 * idblock_move() packs every field of an atom, prefixed by its id, into one fixed-size record,
 * so any number of per-atom arrays (positions, velocities, images, ...) travels in a single
 * MPI_Alltoallv: one latency-bound collective per frame instead of one per array, and the ids
 * arrive with their data, so no second exchange is needed to place them. Records are moved as
 * bytes (a contiguous MPI type of the record size), so doubles and integers arrive bit-exact
 * and counts stay in records, not bytes (no int overflow below 2^31 atoms per pair of ranks).
 *
 * Atoms whose id-block is on their own rank are copied straight to the destination (1/P of
 * them on average, all of them on one rank) instead of through the MPI library. Buffers live in
 * an IdblockWork that a caller moving every frame keeps: fresh multi-megabyte allocations fault
 * their pages in again on every call, which measured as a large share of a frame's write time.
 */
#include <limits.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "../util/parallel.h"
#include "basin/h5md.h"
#include "basin/util.h"

void idblock_range(int64_t n, int rank, int nranks, int64_t *lo, int64_t *hi) {
    /* n * rank fits easily in int64 for any realistic N (< 2^40) and P (< 2^20). */
    *lo = n * rank / nranks;
    *hi = n * (rank + 1) / nranks;
}

/* The rank whose block holds id: the largest r with floor(r n / P) <= id, i.e.
 * r = floor(((id + 1) P - 1) / n). */
static int idblock_owner(int64_t id, int64_t n, int nranks) {
    return (int)(((id + 1) * nranks - 1) / n);
}

/* Grow a workspace buffer to at least n bytes (contents are not kept). */
static int grow(void **p, size_t *cap, size_t n, const char *what) {
    if (n <= *cap && *p) return 0;
    free(*p);
    *p = NULL;
    *cap = 0;
    BCHK(basin_calloc(p, n > 0 ? n : 1, 1, what));
    *cap = n;
    return 0;
}

void idblock_work_free(IdblockWork *w) {
    if (!w) return;
    free(w->counts);
    free(w->sbuf);
    free(w->rbuf);
    free(w->seen);
    memset(w, 0, sizeof *w);
}

/* Copy one record's fields (after the id) to the id-block slot k. */
static void unpack(const char *p, int64_t k, int nfields, const IdblockField *fields) {
    for (int f = 0; f < nfields; ++f) {
        const size_t b = (size_t)fields[f].elem_size * (size_t)fields[f].width;
        memcpy((char *)fields[f].dst + (size_t)k * b, p, b);
        p += b;
    }
}

int idblock_move(int64_t natoms, int n_owned, const int64_t *ids, int nfields,
                 const IdblockField *fields) {
    return idblock_move_work(natoms, n_owned, ids, nfields, fields, NULL);
}

int idblock_move_work(int64_t natoms, int n_owned, const int64_t *ids, int nfields,
                      const IdblockField *fields, IdblockWork *work) {
    MPI_Comm comm = par_comm();
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    int64_t lo, hi;
    idblock_range(natoms, rank, size, &lo, &hi);
    const int64_t nblock = hi - lo;
    IdblockWork tmp = {0};
    IdblockWork *w = work ? work : &tmp;

    size_t rec = sizeof(int64_t);
    int rc = 0;
    for (int f = 0; f < nfields; ++f) {
        const int es = fields[f].elem_size;
        if ((es != 1 && es != 2 && es != 4 && es != 8) || fields[f].width < 1)
            rc = basin_error(BASIN_ERR_INTERNAL, "idblock_move", NULL,
                             "field %d: elem_size %d, width %d", f, es, fields[f].width);
        rec += (size_t)es * (size_t)fields[f].width;
    }
    if (n_owned < 0 || natoms < 1 || nblock > INT_MAX)
        rc = basin_error(BASIN_ERR_INTERNAL, "idblock_move", NULL,
                         "n_owned = %d, natoms = %lld, block of %lld atoms", n_owned,
                         (long long)natoms, (long long)nblock);
    for (int i = 0; i < n_owned && rc == 0; ++i)
        if (ids[i] < 0 || ids[i] >= natoms)
            rc = basin_error(BASIN_ERR_INTERNAL, "idblock_move", NULL,
                             "atom id %lld out of range [0, %lld)", (long long)ids[i],
                             (long long)natoms);
    /* counts: scount, rcount, sdispl, rdispl, fill (size ints each) */
    if (!rc)
        rc = grow((void **)&w->counts, &w->counts_cap, 5 * (size_t)size * sizeof(int),
                  "idblock counts");
    if (!rc) rc = grow((void **)&w->sbuf, &w->sbuf_cap, (size_t)n_owned * rec, "idblock sends");
    if (!rc) rc = grow((void **)&w->seen, &w->seen_cap, (size_t)nblock, "idblock seen flags");
    /* Agree before every collective, so that a rank that failed never leaves the others
     * waiting in MPI_Alltoall. */
    if ((rc = basin_error_agree(rc))) goto done;

    int *scount = w->counts, *rcount = scount + size, *sdispl = rcount + size;
    int *rdispl = sdispl + size, *fill = rdispl + size;
    char *seen = w->seen;
    memset(scount, 0, (size_t)size * sizeof(int));
    memset(seen, 0, (size_t)nblock);
    int64_t bad_id = INT64_MAX;

    /* Own block: straight copy. Others: count per destination. */
    for (int i = 0; i < n_owned; ++i) {
        const int r = idblock_owner(ids[i], natoms, size);
        if (r != rank) {
            ++scount[r];
            continue;
        }
        const int64_t k = ids[i] - lo;
        if (seen[k] && ids[i] < bad_id) bad_id = ids[i];
        seen[k] = 1;
        for (int f = 0; f < nfields; ++f) {
            const size_t b = (size_t)fields[f].elem_size * (size_t)fields[f].width;
            memcpy((char *)fields[f].dst + (size_t)k * b, (const char *)fields[f].src + i * b, b);
        }
    }
    sdispl[0] = 0;
    for (int r = 1; r < size; ++r)
        sdispl[r] = sdispl[r - 1] + scount[r - 1];
    /* Pack: a counting sort by destination rank; atoms keep their relative order. */
    memcpy(fill, sdispl, (size_t)size * sizeof(int));
    for (int i = 0; i < n_owned; ++i) {
        const int r = idblock_owner(ids[i], natoms, size);
        if (r == rank) continue;
        char *p = w->sbuf + (size_t)fill[r]++ * rec;
        memcpy(p, &ids[i], sizeof(int64_t));
        p += sizeof(int64_t);
        for (int f = 0; f < nfields; ++f) {
            const size_t b = (size_t)fields[f].elem_size * (size_t)fields[f].width;
            memcpy(p, (const char *)fields[f].src + (size_t)i * b, b);
            p += b;
        }
    }

    MPI_Alltoall(scount, 1, MPI_INT, rcount, 1, MPI_INT, comm);
    int64_t nrecv = 0;
    for (int r = 0; r < size; ++r) {
        rdispl[r] = nrecv <= INT_MAX ? (int)nrecv : INT_MAX;
        nrecv += rcount[r];
    }
    /* A correct distribution delivers exactly the rest of the block; more than an int can
     * count means duplicates, reported like any other duplicate below. */
    if (nrecv > INT_MAX)
        rc = basin_error(BASIN_ERR_INTERNAL, "idblock_move", NULL,
                         "%lld atoms sent to the block of rank %d: ids owned twice",
                         (long long)nrecv, rank);
    if (!rc) rc = grow((void **)&w->rbuf, &w->rbuf_cap, (size_t)nrecv * rec, "idblock receives");
    if ((rc = basin_error_agree(rc))) goto done;
    MPI_Datatype rtype;
    MPI_Type_contiguous((int)rec, MPI_BYTE, &rtype);
    MPI_Type_commit(&rtype);
    MPI_Alltoallv(w->sbuf, scount, sdispl, rtype, w->rbuf, rcount, rdispl, rtype, comm);
    MPI_Type_free(&rtype);

    for (int64_t j = 0; j < nrecv; ++j) {
        const char *p = w->rbuf + (size_t)j * rec;
        int64_t id;
        memcpy(&id, p, sizeof id);
        const int64_t k = id - lo;
        if (seen[k]) {
            if (id < bad_id) bad_id = id;
            continue;
        }
        seen[k] = 1;
        unpack(p + sizeof id, k, nfields, fields);
    }
    if (bad_id != INT64_MAX) {
        rc = basin_error(BASIN_ERR_INTERNAL, "idblock_move", NULL,
                         "atom id %lld is owned by more than one rank", (long long)bad_id);
    } else {
        for (int64_t k = 0; k < nblock; ++k)
            if (!seen[k]) {
                rc = basin_error(BASIN_ERR_INTERNAL, "idblock_move", NULL,
                                 "atom id %lld is owned by no rank", (long long)(lo + k));
                break;
            }
    }
    rc = basin_error_agree(rc);

done:
    idblock_work_free(&tmp);
    return rc;
}
