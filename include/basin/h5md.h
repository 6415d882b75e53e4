/* io/h5md: H5MD 1.1 trajectory files on parallel HDF5, and the id-block data layout they are
 * written in. The file layout (every group, dataset, attribute, dtype, shape and unit) is
 * documented in docs/formats.md; the reasons for each choice are in src/io/h5md.c.
 *
 * Id-blocks (DESIGN.md "Parallel layouts"): rank r of P owns the ids [r N / P, (r+1) N / P).
 * A frame is then one contiguous hyperslab per rank, so every per-atom write and read is a
 * single collective HDF5 transfer, whatever order the domain decomposition keeps atoms in.
 * idblock_move() carries owned per-atom data from the Domain layout (any distribution of ids
 * over ranks, any order) into id-block order with one MPI_Alltoallv.
 *
 * Units: reduced Lennard-Jones units throughout (length sigma_eff, energy epsilon, mass m,
 * time tau = sigma sqrt(m / epsilon), k_B = 1). The file records this in /parameters and
 * carries no H5MD `unit` attributes (MDAnalysis would reject reduced units): open it in
 * MDAnalysis with convert_units=False.
 *
 * Errors follow basin/util.h: every function returns 0 or a negative BASIN_ERR_* code with one
 * line recorded by basin_error(). Every function marked "Collective" returns the same code on
 * every rank (the ranks agree before returning), so callers can branch on it without hanging.
 */
#ifndef BASIN_H5MD_H
#define BASIN_H5MD_H

#include <stddef.h>
#include <stdint.h>

#include "basin/domain.h"

/* ---- id-block layout ---- */

/* Not collective. The id-block [*lo, *hi) of `rank` out of `nranks` for n atoms. */
void idblock_range(int64_t n, int rank, int nranks, int64_t *lo, int64_t *hi);

/* One per-atom array moved by idblock_move(): `width` elements of `elem_size` bytes per atom
 * (e.g. 3 x 8 for positions, 3 x 4 for int32 images, 1 x 4 for int32 species). src holds the
 * n_owned atoms in the caller's order, src[i * width + k]; dst receives the id-block,
 * dst[(id - lo) * width + k], and must hold (hi - lo) * width elements. The bytes are copied
 * as they are (bit-exact). */
typedef struct IdblockField {
    const void *src;
    void *dst;
    int elem_size; /* bytes per element: 1, 2, 4 or 8 */
    int width;     /* elements per atom */
} IdblockField;

/* Scratch buffers of idblock_move(), grown as needed and kept between calls by a caller that
 * moves data every frame. Zero-initialise; release with idblock_work_free(). Not shared
 * between threads. */
typedef struct IdblockWork {
    int *counts;
    char *sbuf, *rbuf, *seen;
    size_t counts_cap, sbuf_cap, rbuf_cap, seen_cap; /* bytes */
} IdblockWork;
void idblock_work_free(IdblockWork *w); /* NULL-safe; leaves *w zeroed */

/* Collective over the util communicator (par_comm()). Moves nfields per-atom arrays of the
 * owned atoms (ids[i] of atom i, each id in [0, natoms) owned by exactly one rank) into
 * id-block order: one MPI_Alltoall of the counts, then one MPI_Alltoallv of packed records
 * {id, field 0, field 1, ...}; atoms already in this rank's block are copied directly.
 * Memory: O(n_owned + block) per rank, nothing O(N). An id out of range, duplicated or missing
 * is BASIN_ERR_INTERNAL on every rank, naming the lowest offending id of the lowest rank that
 * saw one. */
int idblock_move(int64_t natoms, int n_owned, const int64_t *ids, int nfields,
                 const IdblockField *fields);
/* The same with caller-kept buffers (work != NULL), for callers that move every frame. */
int idblock_move_work(int64_t natoms, int n_owned, const int64_t *ids, int nfields,
                      const IdblockField *fields, IdblockWork *work);

/* ---- trajectory files ---- */

/* Observables sampled with every position frame, in this order in the obs[] arguments; the
 * names are the dataset groups under /observables. Totals over the system (not per atom). */
typedef enum {
    H5MD_OBS_TEMPERATURE = 0, /* 2K / 3N (PHYSICS.md section 3), energy units (k_B = 1) */
    H5MD_OBS_POTENTIAL_ENERGY,
    H5MD_OBS_KINETIC_ENERGY,
    H5MD_OBS_TOTAL_ENERGY, /* K + Phi */
    H5MD_OBS_PRESSURE,     /* (2K + W) / 3V, epsilon / sigma^3 */
    H5MD_NOBS
} H5mdObservable;

/* Name of observable k ("temperature", ...), NULL when out of range. */
const char *h5md_observable_name(int k);

/* Flags of h5md_create(). Positions and images are always written. */
enum { H5MD_VELOCITIES = 1 };

/* Metadata written once into /h5md and /parameters. Every rank passes the same strings (they
 * are written collectively, with rank 0's values). NULL fields are written as "". */
typedef struct H5mdMeta {
    const char *basin_version; /* creator/version and parameters/basin_version (BASIN_VERSION) */
    const char *author;        /* author/name; NULL or "": $USER, else "unknown" */
    const char *config_text;   /* resolved INI text (config_dump) -> /parameters/config */
    const char *command_line;  /* -> /parameters attribute command_line */
} H5mdMeta;

typedef struct H5md H5md; /* an open trajectory file (writer or reader) */

/* One frame in the owner layout, as the domain keeps it. Positions x (sigma) may be any
 * periodic image; unwrapped = x + box * image. v in sigma / tau. box = edges of the cuboid.
 * obs[] and box are global values, identical on every rank (rank 0's are written). */
typedef struct H5mdFrame {
    int64_t step;
    double time; /* tau */
    double box[3];
    int n_owned;
    const int64_t *id;    /* [n_owned] global ids */
    const double *x;      /* [3 n_owned] */
    const double *v;      /* [3 n_owned]; ignored unless the file has velocities */
    const int32_t *image; /* [3 n_owned]; NULL: zeros */
    double obs[H5MD_NOBS];
} H5mdFrame;

/* Collective. Create (truncate) the trajectory file at path for natoms atoms with MPI-IO and
 * write /h5md, /parameters, the time-independent species and id datasets and the empty,
 * extendible time-dependent elements. species_block holds this rank's id-block
 * (idblock_range) of species, int32. flags: H5MD_VELOCITIES. Frees nothing of the caller's. */
int h5md_create(const char *path, const H5mdMeta *meta, int64_t natoms,
                const int32_t *species_block, int flags, H5md **out);

/* Collective. h5md_create() for the atoms of a Domain: species are moved into id-blocks. */
int h5md_create_domain(const char *path, const H5mdMeta *meta, const Domain *d, int flags,
                       H5md **out);

/* Collective. Append one frame: one idblock_move() of {x, v, image}, extend every
 * time-dependent dataset by one, collective hyperslab writes, then H5Fflush, so that a run
 * killed later leaves a file readable up to this frame. step must exceed the previous one. */
int h5md_append(H5md *h, const H5mdFrame *f);

/* Collective. h5md_append() of the owned atoms of d (box = d->L, images from d->image). */
int h5md_append_frame(H5md *h, const Domain *d, int64_t step, double time,
                      const double obs[H5MD_NOBS]);

/* Collective. Reopen an existing basin trajectory for appending (restarts): validates it as
 * h5md_open_read() does, drops every frame whose step is > last_step_to_keep (the datasets are
 * shrunk), and returns a writer positioned after the last kept frame. The velocity flag and N
 * come from the file. */
int h5md_open_append(const char *path, int64_t last_step_to_keep, H5md **out);

/* Collective. Open a trajectory for reading on any number of ranks (independent of the rank
 * count that wrote it) and validate it: missing file, not HDF5, truncated or corrupt, no
 * /particles/trajectory, position/value not [frames][N][3], velocity/image/species/id/box
 * shapes inconsistent with it. The number of frames is the smallest length of the step, time
 * and value datasets (a crash between an extend and the flush cannot make a frame count that
 * is not fully written). */
int h5md_open_read(const char *path, H5md **out);

/* Collective (closes the file). NULL-safe; sets *h = NULL. Errors while closing a writer are
 * reported through the return value. */
int h5md_close(H5md **h);

/* Not collective. Properties of an open file. */
int64_t h5md_natoms(const H5md *h);
int64_t h5md_nframes(const H5md *h);
int h5md_has_velocities(const H5md *h);
int h5md_has_images(const H5md *h);
int h5md_has_species(const H5md *h);
int64_t h5md_step(const H5md *h, int64_t frame); /* -1 when out of range */
double h5md_time(const H5md *h, int64_t frame);  /* NaN when out of range */
/* 1 if the last per-atom transfer of this rank really used collective MPI-IO, 0 if parallel
 * HDF5 fell back to independent I/O (a silent performance bug, checked by the tests), -1 if
 * unknown. */
int h5md_last_transfer_collective(const H5md *h);
/* This rank's id-block [lo, hi) for the arrays of h5md_read_frame(). */
void h5md_block(const H5md *h, int64_t *lo, int64_t *hi);

/* Collective. Read frame `frame` into this rank's id-block arrays (3 (hi - lo) entries each;
 * NULL skips a quantity). image reads zeros if the file has none; v errors if it has none.
 * box (may be NULL) receives the cuboid edges of that frame. */
int h5md_read_frame(H5md *h, int64_t frame, double *x, double *v, int32_t *image, double box[3]);

/* Collective. The observables of a frame (NaN for any the file lacks). */
int h5md_read_observables(H5md *h, int64_t frame, double obs[H5MD_NOBS]);

/* Collective. This rank's id-block of species (zeros if the file has none). */
int h5md_read_species(H5md *h, int32_t *species);

/* Collective. Every rank reads the whole frame in global id order (x[3N], v[3N], image[3N],
 * species[N]; NULL skips). O(N) per rank: for tests and small-N tools only. */
int h5md_read_frame_global(H5md *h, int64_t frame, double *x, double *v, int32_t *image,
                           int32_t *species, double box[3]);

/* Collective. Print on rank 0 what an HDF5 file holds: H5MD version, creator, author; for each
 * /particles group N, frames, step and time span, box; every dataset with shape and dtype (hard
 * links to an already listed dataset are named as such); observables; /parameters and the
 * stored config text. Works on any H5MD file (basin, MDAnalysis, LAMMPS). Missing file / not
 * HDF5 give the same one-line errors as h5md_open_read(). For `basin info FILE.h5`. */
int h5md_info(const char *path);

/* ---- row tables ----
 * A group of equal-length 1D columns (float64 or int64), one row appended at a time, for series
 * sampled on their own clock (the inherent-structure series of is.h5: a row per quench, while
 * the particle frames hold only snapshots). The first column must be the int64 "step" (rows in
 * increasing step), which h5md_table_open() uses to drop rows after a restart step. One table
 * per open file. Layout: docs/formats.md. */
enum { H5MD_COL_F64 = 0, H5MD_COL_I64 = 1, H5MD_TABLE_MAX_COLS = 32 };
typedef struct H5mdColumn {
    const char *name;        /* dataset name in the group (< 64 characters) */
    int type;                /* H5MD_COL_F64 or H5MD_COL_I64 */
    const char *description; /* written as the attribute "description" (may be NULL) */
} H5mdColumn;
/* Collective. Create the table group (absolute path, e.g. "/inherent") in a file open for
 * writing (h5md_create or h5md_open_append), with ncols empty columns. */
int h5md_table_create(H5md *h, const char *group, int ncols, const H5mdColumn *cols);
/* Collective. Open the existing table of a file reopened with h5md_open_append() and drop the
 * rows whose step exceeds last_step_to_keep (and any partial row of a crash). */
int h5md_table_open(H5md *h, const char *group, int ncols, const H5mdColumn *cols,
                    int64_t last_step_to_keep);
/* Collective. Append one row (ncols values as double; int64 columns take the value converted,
 * so they must be integers below 2^53). Rank 0's row is written; then the file is flushed. */
int h5md_table_append(H5md *h, const double *row);
/* Not collective. Rows of the open table (0 without one). */
int64_t h5md_table_rows(const H5md *h);
/* Collective. Read a whole column "<group>/<name>" of any open file (reader or writer) as
 * doubles into a new array on every rank (free() it); *n = its length. A missing column is
 * BASIN_ERR_IO naming it. */
int h5md_table_read(H5md *h, const char *group, const char *name, double **out, int64_t *n);
/* Collective. A float64 scalar attribute of the open table's group (written with rank 0's
 * value, replaced if present), and its reader for any open file (NaN + BASIN_ERR_IO if absent). */
int h5md_table_attr_write(H5md *h, const char *name, double value);
int h5md_table_attr_read(H5md *h, const char *group, const char *name, double *value);
/* Collective. The resolved configuration text stored in /parameters/config by basin (a new
 * string on every rank, free() it); BASIN_ERR_IO if the file has none. */
int h5md_read_config_text(H5md *h, char **out);
#endif
