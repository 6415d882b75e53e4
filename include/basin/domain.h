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
 * Lifecycle:
 *   domain_create()         collective: rank grid, sub-box, refuses too many ranks
 *   domain_distribute()     collective: keep the atoms of the global id-ordered arrays that fall
 *                           in this rank's sub-box
 *   domain_rebuild()        collective: migrate + borders + neighbour list (at start and
 *                           whenever domain_check_rebuild() says so)
 *   each MD step: domain_check_rebuild() ? domain_rebuild() : domain_forward();
 *                 compute forces into f[] (owned and ghost entries); domain_reverse()
 *   domain_destroy()
 */
#ifndef BASIN_DOMAIN_H
#define BASIN_DOMAIN_H

#include <stdint.h>

#include "basin/model.h"

struct DomainComm; /* MPI state: Cartesian communicator, send lists, buffers (src/domain) */

typedef struct Domain {
    /* geometry (reduced length units) */
    double L;              /* cubic box edge */
    int dims[3];           /* ranks per dimension */
    int coords[3];         /* this rank's position in the grid */
    double lo[3], hi[3];   /* owned sub-box [lo, hi) */
    double rc_max;         /* largest pair cutoff of the model */
    double skin;           /* Verlet skin */
    double rghost;         /* rc_max + skin: ghost shell thickness */
    int64_t natoms;        /* global number of atoms */

    /* atoms */
    int nlocal, nghost;    /* owned, ghost */
    int cap;               /* allocated entries of every per-atom array */
    double *x;             /* [3*cap] positions */
    double *v;             /* [3*cap] velocities (owned entries meaningful) */
    double *f;             /* [3*cap] forces (owned + ghost entries; ghosts summed back) */
    int *species;          /* [cap] 0 or 1 */
    int64_t *id;           /* [cap] global id 0..natoms-1 */
    int32_t *image;        /* [3*cap] periodic wraps of owned atoms */

    /* half Verlet list in CSR form: for owned i, neighbours j in nbr[nbr_start[i] ..
     * nbr_start[i+1]); each interacting pair appears once globally (j may be a ghost).
     * Pairs are listed within rc(species_i, species_j) + skin. */
    int *nbr_start;        /* [nlocal + 1] */
    int *nbr;              /* [nbr_cap] */
    int64_t nbr_cap;
    double *x_build;       /* [3*cap] owned positions at the last list build */
    int64_t nbuilds;       /* number of list builds so far (diagnostic) */

    const Model *model;
    struct DomainComm *comm;
} Domain;

/* Collective. Chooses the rank grid with MPI_Dims_create over all ranks; a sub-box edge must
 * be >= rc_max + skin: otherwise BASIN_ERR_RANKS with a message naming the largest usable rank
 * count. skin >= 0. */
int domain_create(const Model *m, double L, double skin, Domain **out);
void domain_destroy(Domain **d);

/* Collective. x[3n], species[n] are global arrays in id order, identical on every rank; v and
 * image may be NULL (zeros). Each rank keeps the atoms inside its sub-box (positions are wrapped
 * into [0, L) first, and the wraps are added to image). */
int domain_distribute(Domain *d, int64_t n, const double *x, const double *v, const int *species,
                      const int32_t *image);

/* Collective. Returns 1 on every rank if any owned atom moved more than skin/2 since the last
 * list build (or the list was never built), else 0. */
int domain_check_rebuild(Domain *d);

/* Collective. migrate + borders + neighbour list build; may reorder owned atoms (cell sort),
 * so callers must not keep indices across it. Detects lost atoms (global count changes) and
 * non-finite positions with a clear error. */
int domain_rebuild(Domain *d);

/* The four communication verbs (collective). */
int domain_migrate(Domain *d);  /* wrap into the box, hand atoms to the rank that owns them */
int domain_borders(Domain *d);  /* build ghost send lists and receive ghosts (x, species, id) */
int domain_forward(Domain *d);  /* refresh ghost positions along the current ghost lists */
int domain_reverse(Domain *d);  /* add ghost forces into their owners' f and zero ghost f */

/* Generic halo: the same six-swap code moves any per-atom data of `width` doubles along the
 * ghost lists (forward: owner -> ghosts; reverse: ghosts summed into owners). Used for
 * positions/forces above and, later, for IS displacements and Hessian-vector products. */
int domain_forward_array(Domain *d, double *a, int width);
int domain_reverse_array(Domain *d, double *a, int width);

/* Build the neighbour list only (positions and ghosts must be current). */
int domain_build_neighbors(Domain *d);

/* Global sums (collective) over owned atoms. */
int64_t domain_count_global(const Domain *d);

/* Collective. Gather owned per-atom data (width doubles per atom) into a global id-ordered
 * array on every rank (O(N) per rank: for tests and small-N tools only, never in the MD loop). */
int domain_allgather_by_id(const Domain *d, const double *a, int width, double *global);

#endif
