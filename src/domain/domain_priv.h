/* Private state of the domain module: the MPI side of a Domain (Cartesian communicator, the six
 * swap descriptors, message buffers) and the link-cell grid. Only src/domain/ includes this. */
#ifndef BASIN_DOMAIN_PRIV_H
#define BASIN_DOMAIN_PRIV_H

#include <mpi.h>
#include <stdint.h>

#include "basin/domain.h"

/* Doubles per atom in the messages of borders (x, species, id) and migrate
 * (x, v, image, id, species). ids travel as doubles: exact up to 2^53 atoms. */
#define DOMAIN_BORDER_WIDTH 5
#define DOMAIN_MIGRATE_WIDTH 11

/* Message tags: one per phase and swap, so that the two directions to the same rank (two
 * ranks in a dimension) and successive phases can never be confused. */
enum {
    TAG_BORDER_COUNT = 100,
    TAG_BORDER_DATA = 110,
    TAG_FORWARD = 120,
    TAG_REVERSE = 130,
    TAG_MIGRATE_COUNT = 140,
    TAG_MIGRATE_DATA = 150,
};

/* One of the six swaps s = 2*dim + dir. dir 0 sends the atoms within rghost of the lower face
 * to the lower neighbour (they arrive there above its hi face), dir 1 the atoms near the upper
 * face to the upper neighbour. The forward message of swap s goes to send_rank and comes from
 * recv_rank; the reverse message goes the other way. */
typedef struct Swap {
    int dim, dir;
    int send_rank, recv_rank; /* equal to the own rank when dims[dim] == 1 */
    int self;                 /* 1: dims[dim] == 1, the swap is a local copy */
    double shift[3];          /* periodic shift added to positions on the way out (0 or +-L) */
    int *list;                /* indices of the atoms sent (owned or earlier ghosts) */
    int nsend;
    int64_t list_cap;
    int recv_first, nrecv; /* the ghosts this swap delivered: [recv_first, recv_first + nrecv) */
} Swap;

/* A message buffer grown by doubling (never shrunk). */
typedef struct Buf {
    double *p;
    int64_t cap; /* doubles */
} Buf;

/* Pack/unpack descriptor of the generic halo (STYLE.md habit 2): forward packs the atoms of a
 * swap's send list and unpacks into its ghost range; reverse packs the ghost range and adds
 * into the send list. `shift` is the swap's periodic shift, used only by position fields. */
typedef struct HaloOps {
    int width; /* doubles per atom in the message */
    void (*pack_list)(const struct HaloOps *h, const int *list, int n, const double shift[3],
                      double *buf);
    void (*unpack_range)(const struct HaloOps *h, int first, int n, const double *buf);
    void (*pack_range)(const struct HaloOps *h, int first, int n, double *buf);
    void (*unpack_list_add)(const struct HaloOps *h, const int *list, int n, const double *buf);
    double *a; /* the per-atom array of the built-in array ops */
} HaloOps;

/* Link-cell grid over this rank's sub-box plus a padding of (reach + 1) cells on each side.
 * Cells are at least rghost/2 wide; reach = cells a pair within rghost can span. */
typedef struct CellGrid {
    int n[3];     /* cells per dimension (padding included) */
    int reach[3]; /* stencil half-width per dimension */
    double origin[3];
    double edge[3];
    double inv[3]; /* 1 / edge */
    int ncell;     /* n[0] * n[1] * n[2] */
    /* Stencils as rows of cells contiguous along x: row r covers the cells
     * c + off[r] - w[r] ... c + off[r] + w[r] around the home cell c, whose atoms are one
     * contiguous range in cell order. Half: dz >= 0; full: all dz. */
    int *half_off, *half_w;
    int nhalf; /* rows */
    int *full_off, *full_w;
    int nfull;
    int half_rows0;             /* leading rows of the half stencil with dz = 0 */
    int half_cells, full_cells; /* cells visited (for the stats) */
} CellGrid;

struct DomainComm {
    MPI_Comm cart;
    int rank, size;
    int lower[3], upper[3]; /* neighbour ranks per dimension */
    double *edges[3];       /* edges[k][c] = L*c/dims[k], c = 0..dims[k]: exact sub-box bounds */
    Swap swap[6];
    int nfirst[3];        /* atoms (owned + ghosts) present when dimension k's swaps started */
    Buf sbuf[2], rbuf[2]; /* per direction; migration reuses them */
    int *ibuf;            /* scratch ints (all-to-all migration destinations) */
    int64_t ibuf_cap;
    double *scratch; /* scratch doubles for the cell sort */
    int64_t scratch_cap;

    CellGrid grid;
    int *cell_of; /* [cap] cell of each atom (owned + ghost) */
    int64_t cell_of_cap;
    int *cell_start; /* [ncell + 1] */
    int *cell_atoms; /* [n] atom indices in cell order */
    int64_t cell_atoms_cap;
    double *xs;     /* [3n] positions in cell order */
    int *ss;        /* [n] species in cell order */
    int64_t *ids;   /* [n] ids in cell order (half-list tie-break) */
    int64_t xs_cap; /* atoms (xs holds 3 doubles per atom) */

    int list_valid;   /* 0 after distribute/migrate/set_full_list: check_rebuild returns 1 */
    int ghosts_valid; /* 1 after borders, 0 after migrate */

    DomainStats stats;
};

/* domain.c */
int domain_owner_coord(const Domain *d, int k, double xk);
/* Wrap owned positions into [0, L) (image[] counts the wraps); BASIN_ERR_PHYSICS naming the
 * first atom with a non-finite position. Not collective. */
int domain_wrap_owned(Domain *d);
/* Grow every per-atom array to hold at least n atoms (doubling). 0 or BASIN_ERR_NOMEM. */
int domain_reserve(Domain *d, int n);
/* Grow a buffer to hold n doubles; aborts the job on failure (called mid-exchange, where a
 * local return would leave the other ranks blocked). */
void domain_buf_reserve(Domain *d, Buf *b, int64_t n);
void domain_ibuf_reserve(Domain *d, int64_t n);
void domain_scratch_reserve(Domain *d, int64_t n);
/* Generic growth for private arrays: *p to at least n elements of size sz, *cap updated
 * (doubling). Aborts on failure (see above). */
void domain_grow(void **p, int64_t *cap, int64_t n, size_t sz, const char *what);

/* halo.c */
void halo_swaps_init(Domain *d);
void halo_forward(Domain *d, const HaloOps *h);
void halo_reverse(Domain *d, const HaloOps *h);
/* Exchange of dimension k: the two swaps' messages at once (forward or reverse direction).
 * nsend/nrecv in doubles; rbuf[dir] may come back aliased to sbuf[dir] for a self swap. */
void halo_exchange_dim(Domain *d, int k, int reverse, int tag, double *const sbuf[2],
                       const int nsend[2], double *rbuf[2], const int nrecv[2]);
/* Exchange two ints per dimension (counts) along the forward directions of dimension k. */
void halo_exchange_counts(Domain *d, int k, int tag, const int send[2], int recv[2]);

/* neighbor.c */
int cells_init(Domain *d);
void cells_free(Domain *d);
/* Cell of a position (clamped to the grid; monotone in each coordinate). */
int cells_index(const CellGrid *g, const double *x);
/* Sort owned atoms by cell (permutes x, v, species, id, image together). */
void cells_sort_owned(Domain *d);

#endif
