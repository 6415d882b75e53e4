/* migrate.c: ownership changes at rebuild time.
 *
 * 1. Wrap: owned positions go back into [0, L) and image[] counts the wraps, so x + L*image
 *    stays the unwrapped trajectory. A non-finite coordinate stops here with an error naming the
 *    atom id (the first place that looks at every position after the integrator).
 * 2. Route: normally an atom has moved less than one sub-box since the last rebuild (skin/2 <<
 *    sub-box edge), so it is handed to the adjacent rank dimension by dimension (x, then y, then
 *    z): an atom that left diagonally reaches its owner in two or three hops with six messages
 *    in all, and exactly one rank decides where an atom goes, so none is duplicated or dropped
 *    (HOOMD Communicator's invariant). If any atom is further than one rank away in some
 *    dimension (a first distribution from odd input, a test that displaces atoms by a box
 *    fraction, an exploding system), every rank agrees on that with the same reduction that
 *    agrees on errors, and the step is done by one MPI_Alltoallv straight to the owners instead
 *    of losing the atom. That costs O(P) per rank but only when it is needed.
 * 3. Count: the global number of owned atoms must still be natoms; otherwise a collective
 *    BASIN_ERR_PHYSICS error with the numbers (it would mean a bug, since routing is exact).
 *
 * The migration record is 11 doubles (x, v, image, id, species): image and id are exact as
 * doubles. f is not carried: it is recomputed after every rebuild. Leaving atoms are removed by
 * stable compaction; the cell sort that follows in domain_rebuild() restores locality.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "basin/util.h"
#include "domain_priv.h"
#include "../util/parallel.h"

static inline void atom_pack(const Domain *d, int i, double *b) {
    for (int k = 0; k < 3; ++k) {
        b[k] = d->x[3 * i + k];
        b[3 + k] = d->v[3 * i + k];
        b[6 + k] = (double)d->image[3 * i + k];
    }
    b[9] = (double)d->id[i];
    b[10] = (double)d->species[i];
}

static inline void atom_unpack(Domain *d, int j, const double *b) {
    for (int k = 0; k < 3; ++k) {
        d->x[3 * j + k] = b[k];
        d->v[3 * j + k] = b[3 + k];
        d->image[3 * j + k] = (int32_t)b[6 + k];
        d->f[3 * j + k] = 0.0;
    }
    d->id[j] = (int64_t)b[9];
    d->species[j] = (int)b[10];
}

static inline void atom_move(Domain *d, int from, int to) {
    for (int k = 0; k < 3; ++k) {
        d->x[3 * to + k] = d->x[3 * from + k];
        d->v[3 * to + k] = d->v[3 * from + k];
        d->image[3 * to + k] = d->image[3 * from + k];
    }
    d->id[to] = d->id[from];
    d->species[to] = d->species[from];
}

/* Ring distance from this rank's coordinate to c in dimension k: 0 (here), +1 (upper
 * neighbour), -1 (lower), or 2 (further). With two ranks the neighbour is both; we say +1. */
static inline int ring_step(const Domain *d, int k, int c) {
    const int n = d->dims[k];
    const int delta = ((c - d->coords[k]) % n + n) % n;
    if (delta == 0) return 0;
    if (delta == 1) return 1;
    if (delta == n - 1) return -1;
    return 2;
}

static void migrate_neighbors(Domain *d) {
    struct DomainComm *c = d->comm;
    const int W = DOMAIN_MIGRATE_WIDTH;
    for (int k = 0; k < 3; ++k) {
        if (d->dims[k] == 1) continue;
        int send[2] = {0, 0}, keep = 0;
        for (int i = 0; i < d->nlocal; ++i) {
            const int step = ring_step(d, k, domain_owner_coord(d, k, d->x[3 * i + k]));
            if (step == 0) {
                if (keep != i) atom_move(d, i, keep);
                ++keep;
                continue;
            }
            const int dir = step < 0 ? 0 : 1; /* swap dir 0 goes to the lower neighbour */
            domain_buf_reserve(d, &c->sbuf[dir], (int64_t)(send[dir] + 1) * W);
            atom_pack(d, i, c->sbuf[dir].p + (size_t)send[dir] * W);
            ++send[dir];
        }
        d->nlocal = keep;
        int recv[2];
        halo_exchange_counts(d, k, TAG_MIGRATE_COUNT, send, recv);
        int ns[2] = {send[0] * W, send[1] * W}, nr[2] = {recv[0] * W, recv[1] * W};
        double *sb[2], *rb[2];
        for (int dir = 0; dir < 2; ++dir) {
            domain_buf_reserve(d, &c->rbuf[dir], nr[dir]);
            sb[dir] = c->sbuf[dir].p;
            rb[dir] = c->rbuf[dir].p;
        }
        halo_exchange_dim(d, k, 0, TAG_MIGRATE_DATA, sb, ns, rb, nr);
        if (domain_reserve(d, d->nlocal + recv[0] + recv[1]) != 0)
            basin_abort_local(BASIN_ERR_NOMEM, "domain: %s", basin_error_message());
        for (int dir = 0; dir < 2; ++dir) {
            for (int m = 0; m < recv[dir]; ++m) {
                const int j = d->nlocal++;
                atom_unpack(d, j, rb[dir] + (size_t)m * W);
                if (domain_owner_coord(d, k, d->x[3 * j + k]) != d->coords[k])
                    basin_abort_local(BASIN_ERR_INTERNAL,
                                      "domain: atom %lld routed to the wrong rank in dimension %d",
                                      (long long)d->id[j], k);
            }
        }
    }
}

static void migrate_alltoall(Domain *d) {
    struct DomainComm *c = d->comm;
    const int W = DOMAIN_MIGRATE_WIDTH, P = c->size;
    int *cnt = NULL;
    if (BALLOC(cnt, 4 * (size_t)P) != 0)
        basin_abort_local(BASIN_ERR_NOMEM, "domain: %s", basin_error_message());
    int *scnt = cnt, *sdis = cnt + P, *rcnt = cnt + 2 * P, *rdis = cnt + 3 * P;
    domain_ibuf_reserve(d, d->nlocal);
    int *dest = c->ibuf, nleave = 0;
    for (int i = 0; i < d->nlocal; ++i) {
        int cc[3];
        for (int k = 0; k < 3; ++k)
            cc[k] = domain_owner_coord(d, k, d->x[3 * i + k]);
        MPI_Cart_rank(c->cart, cc, &dest[i]);
        if (dest[i] != c->rank) {
            scnt[dest[i]] += W;
            ++nleave;
        }
    }
    for (int r = 0, off = 0; r < P; ++r) {
        sdis[r] = off;
        off += scnt[r];
    }
    domain_buf_reserve(d, &c->sbuf[0], (int64_t)nleave * W);
    int *fill = rdis; /* reused as running offsets before the counts exchange */
    memcpy(fill, sdis, P * sizeof(int));
    int keep = 0;
    for (int i = 0; i < d->nlocal; ++i) {
        if (dest[i] == c->rank) {
            if (keep != i) atom_move(d, i, keep);
            ++keep;
        } else {
            atom_pack(d, i, c->sbuf[0].p + fill[dest[i]]);
            fill[dest[i]] += W;
        }
    }
    d->nlocal = keep;
    MPI_Alltoall(scnt, 1, MPI_INT, rcnt, 1, MPI_INT, c->cart);
    int64_t total = 0;
    for (int r = 0; r < P; ++r) {
        rdis[r] = (int)total;
        total += rcnt[r];
    }
    domain_buf_reserve(d, &c->rbuf[0], total);
    MPI_Alltoallv(c->sbuf[0].p, scnt, sdis, MPI_DOUBLE, c->rbuf[0].p, rcnt, rdis, MPI_DOUBLE,
                  c->cart);
    const int nin = (int)(total / W);
    if (domain_reserve(d, d->nlocal + nin) != 0)
        basin_abort_local(BASIN_ERR_NOMEM, "domain: %s", basin_error_message());
    for (int m = 0; m < nin; ++m)
        atom_unpack(d, d->nlocal++, c->rbuf[0].p + (size_t)m * W);
    free(cnt);
}

int domain_migrate(Domain *d) {
    struct DomainComm *c = d->comm;
    timer_start(TIMER_COMM);
    c->stats.nmigrations++;
    d->nghost = 0;
    c->ghosts_valid = 0;
    c->list_valid = 0;
    int rc = domain_wrap_owned(d);
    int far = 0;
    for (int k = 0; k < 3 && rc == 0 && !far; ++k) {
        if (d->dims[k] <= 3) continue; /* every other rank is adjacent */
        for (int i = 0; i < d->nlocal; ++i)
            if (ring_step(d, k, domain_owner_coord(d, k, d->x[3 * i + k])) == 2) {
                far = 1;
                break;
            }
    }
    /* One reduction agrees on both "someone failed" and "someone needs the all-to-all". */
    int flags[2] = {rc != 0, far};
    MPI_Allreduce(MPI_IN_PLACE, flags, 2, MPI_INT, MPI_MAX, c->cart);
    if (flags[0]) {
        par_push_comm(c->cart);
        rc = basin_error_agree(rc);
        par_pop_comm();
        timer_stop(TIMER_COMM);
        return rc;
    }
    if (flags[1]) {
        c->stats.nalltoall++;
        migrate_alltoall(d);
    } else {
        migrate_neighbors(d);
    }
    int64_t total = d->nlocal;
    MPI_Allreduce(MPI_IN_PLACE, &total, 1, MPI_INT64_T, MPI_SUM, c->cart);
    timer_stop(TIMER_COMM);
    if (total != d->natoms)
        return basin_error(BASIN_ERR_PHYSICS, "domain", NULL,
                           "lost atoms: %lld of %lld atoms are owned after migration (%lld %s)",
                           (long long)total, (long long)d->natoms,
                           (long long)llabs(d->natoms - total),
                           total < d->natoms ? "lost" : "duplicated");
    if (d->nlocal > c->stats.max_nlocal) c->stats.max_nlocal = d->nlocal;
    return 0;
}
