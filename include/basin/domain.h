/* domain: spatial decomposition of the cubic periodic box over a 3D Cartesian grid of ranks,
 * link cells, Verlet neighbour lists with a skin, ghost (halo) exchange and atom migration.
 * It is the only module that talks MPI about particles (STYLE.md habit 1): md/, minimize/ and
 * analysis/ see plain arrays and call the four verbs below.
 *
 * Storage: owned atoms occupy [0, nlocal), ghosts [nlocal, nlocal + nghost). Arrays are
 * AoS xyz (x[3*i + k]). Owned positions are kept inside [0, L) by domain_migrate(), which
 * counts the wraps in image[] so that x + L*image is the unwrapped position (for MSD).
 * Ghost positions are owner positions shifted by the periodic image they represent.
 *
 * Pointers: domain_rebuild(), domain_migrate(), domain_borders() and domain_distribute() may
 * grow the per-atom arrays (realloc) and reorder owned atoms, so re-read d->x, d->v, ... after
 * them and never keep atom indices across them. forward/reverse/build_neighbors never move
 * memory except the neighbour list itself (d->nbr may move in domain_build_neighbors()).
 * f[] is not carried by migration or the cell sort: after a rebuild it is zero and must be
 * recomputed; v[], species[], id[] and image[] travel with their atoms.
 *
 * Lifecycle:
 *   domain_create()         collective: rank grid, sub-box, refuses too many ranks
 *   domain_distribute()     collective: keep the atoms of the global id-ordered arrays that fall
 *                           in this rank's sub-box
 *   domain_rebuild()        collective: migrate + cell sort + borders + neighbour list (at start
 *                           and whenever domain_check_rebuild() says so)
 *   each MD step: domain_check_rebuild() ? domain_rebuild() : domain_forward();
 *                 compute forces into f[] (owned and ghost entries); domain_reverse()
 *   domain_destroy()
 *
 * Timers: the verbs time themselves (TIMER_COMM for migrate/borders/forward/reverse,
 * TIMER_NEIGH for the cell sort and the list build); callers should not wrap them in these
 * timers again.
 */
#ifndef BASIN_DOMAIN_H
#define BASIN_DOMAIN_H

#include <stdint.h>

#include "basin/model.h"

struct DomainComm; /* MPI state: Cartesian communicator, send lists, buffers (src/domain) */

typedef struct Domain {
    /* geometry (reduced length units) */
    double L;            /* cubic box edge */
    int dims[3];         /* ranks per dimension */
    int coords[3];       /* this rank's position in the grid */
    double lo[3], hi[3]; /* owned sub-box [lo, hi) */
    double rc_max;       /* largest pair cutoff of the model */
    double skin;         /* Verlet skin */
    double rghost;       /* rc_max + skin: ghost shell thickness */
    int64_t natoms;      /* global number of atoms */

    /* atoms */
    int nlocal, nghost; /* owned, ghost */
    int cap;            /* allocated entries of every per-atom array */
    double *x;          /* [3*cap] positions */
    double *v;          /* [3*cap] velocities (owned entries meaningful) */
    double *f;          /* [3*cap] forces (owned + ghost entries; ghosts summed back) */
    int *species;       /* [cap] 0 or 1 */
    int64_t *id;        /* [cap] global id 0..natoms-1 */
    int32_t *image;     /* [3*cap] periodic wraps of owned atoms */

    /* half Verlet list in CSR form: for owned i, neighbours j in nbr[nbr_start[i] ..
     * nbr_start[i+1]); each interacting pair appears once globally (j may be a ghost).
     * Pairs are listed within rc(species_i, species_j) + skin (strictly closer).
     * Half-list rule (LAMMPS newton-on analogue, but purely geometric): the pair (i, j) is kept
     * on the rank owning i iff x_j is lexicographically above x_i, comparing z, then y, then x,
     * then the global id; owned and ghost j are treated alike. Because owned positions are in
     * [0, L) at build time, the rule is exactly antisymmetric between the two ranks (or two
     * images) that see the pair, so every pair is counted once globally.
     * With full_list = 1 every owned i lists all its neighbours (each owned-owned pair twice,
     * each owned-ghost pair once from each owning side); forces then go to i only and
     * domain_reverse() is not needed (it stays harmless: ghost f are zero). */
    int *nbr_start;  /* [nlocal + 1] */
    int *nbr;        /* [nbr_cap] */
    int64_t nbr_cap; /* capacity of nbr (grown by doubling; also the high-water mark) */
    double *x_build; /* [3*cap] owned positions at the last list build */
    int64_t nbuilds; /* number of list builds so far (diagnostic) */
    int full_list;   /* 0: half list (default), 1: full list; set with domain_set_full_list() */

    const Model *model;
    struct DomainComm *comm;
} Domain;

/* Collective. Chooses the rank grid with MPI_Dims_create over all ranks of the util
 * communicator; a sub-box edge must be >= rc_max + skin: otherwise BASIN_ERR_RANKS with a
 * message naming the largest usable rank count. skin >= 0, L > 0 (BASIN_ERR_CONFIG otherwise).
 * The Model must outlive the Domain. */
int domain_create(const Model *m, double L, double skin, Domain **out);
/* Collective (frees the Cartesian communicator). NULL-safe, sets *d = NULL. */
void domain_destroy(Domain **d);

/* Not collective. The largest rank count P for which MPI_Dims_create(P, 3) gives a grid whose
 * sub-box edges are all >= rghost in a box of edge L (0 if even one rank cannot hold the
 * box, i.e. L < rghost). Used for the BASIN_ERR_RANKS message. */
int domain_max_ranks(double L, double rghost);

/* Collective. x[3n], species[n] are global arrays in id order, identical on every rank; v and
 * image may be NULL (zeros). Each rank keeps the atoms inside its sub-box (positions are wrapped
 * into [0, L) first, and the wraps are added to image). Non-finite positions and species out of
 * [0, model->nspecies) are BASIN_ERR_PHYSICS / BASIN_ERR_CONFIG naming the atom id, on every
 * rank. The ghost set and the list are invalid until the next domain_rebuild(). */
int domain_distribute(Domain *d, int64_t n, const double *x, const double *v, const int *species,
                      const int32_t *image);

/* Collective. Returns 1 on every rank if any owned atom moved more than skin/2 since the last
 * list build (or the list was never built / was invalidated), else 0. One MAX reduction. */
int domain_check_rebuild(Domain *d);

/* Collective. migrate + cell sort + borders + neighbour list build; reorders owned atoms, so
 * callers must not keep indices across it. Detects lost atoms (global count changes) and
 * non-finite positions with a clear error, returned identically on every rank. */
int domain_rebuild(Domain *d);

/* The four communication verbs (collective).
 * domain_migrate: wrap owned positions into [0, L) (updating image[]), hand atoms that left
 *   the sub-box to their new owner (neighbour exchange, dimension by dimension; an all-to-all
 *   fallback when some atom jumped further than one sub-box), check the global count and
 *   finite positions. Drops the ghosts and invalidates the list.
 * domain_borders: rebuild the six swap send lists from the current owned positions and receive
 *   the ghosts (x, species, id). Owned positions must lie in [lo, hi) (as after migrate).
 * domain_forward: refresh ghost positions along the current lists (owner x + periodic shift).
 * domain_reverse: add ghost forces into their owners' f and zero the ghost f. */
int domain_migrate(Domain *d);
int domain_borders(Domain *d);
int domain_forward(Domain *d);
int domain_reverse(Domain *d);

/* Generic halo: the same six-swap code moves any per-atom data of `width` doubles along the
 * ghost lists (forward: owner -> ghosts, no periodic shift; reverse: ghosts summed into owners,
 * ghost entries zeroed afterwards). a has (nlocal + nghost) * width entries. Collective. */
int domain_forward_array(Domain *d, double *a, int width);
int domain_reverse_array(Domain *d, double *a, int width);

/* Not collective. Make room for at least n atoms (owned + ghost) in every per-atom array,
 * keeping the contents; pointers may move. For callers that load owned atoms themselves (the
 * inherent-structure tracker copies the MD's owned atoms into its own Domain). */
int domain_reserve(Domain *d, int n);

/* Not collective. Build the neighbour list only (owned positions in [0, L), ghosts current, as
 * right after domain_borders()); records x_build. */
int domain_build_neighbors(Domain *d);

/* Not collective. Select the half (0, default) or full (1) list; takes effect at the next list
 * build (the current list is marked stale, so domain_check_rebuild() returns 1). */
void domain_set_full_list(Domain *d, int full);

/* Global sums (collective) over owned atoms. */
int64_t domain_count_global(const Domain *d);

/* Collective. Gather owned per-atom data (width doubles per atom, a[i*width + k] for
 * i < nlocal) into a global id-ordered array global[id*width + k] on every rank (O(N) per
 * rank: for tests and small-N tools only, never in the MD loop). */
int domain_allgather_by_id(const Domain *d, const double *a, int width, double *global);

/* Not collective. Sizes and high-water marks of this rank's storage, for logs and benchmarks. */
typedef struct DomainStats {
    int ncell[3];        /* link cells per dimension (owned region + padding) */
    double cell_edge[3]; /* their edges (>= rghost/2) */
    int nstencil;        /* cells visited per owned atom (half or full stencil) */
    int max_nlocal;      /* high-water marks since create */
    int max_nghost;
    int64_t max_pairs;   /* largest list (pairs on this rank) */
    int64_t nbr_cap;     /* current list capacity (entries) */
    int atom_cap;        /* current per-atom capacity */
    int64_t buf_bytes;   /* communication buffers held */
    int64_t nmigrations; /* migrate calls */
    int64_t nalltoall;   /* of which needed the all-to-all fallback */
} DomainStats;
void domain_stats(const Domain *d, DomainStats *s);

#endif
