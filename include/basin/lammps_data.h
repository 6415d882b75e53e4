/* io: LAMMPS data files, atomic style, for exchanging configurations with LAMMPS (the
 * benchmark and cross-check peer) and for starting basin from a prepared state.
 *
 * Format written (and the subset read):
 *
 *     <title line>
 *
 *     N atoms
 *     T atom types
 *     0 L xlo xhi          (same for y, z: cubic periodic box only)
 *
 *     Masses
 *
 *     1 1
 *     ...
 *
 *     Atoms # atomic
 *
 *     id type x y z ix iy iz     (ids 1..N, types 1..T; image flags optional when reading)
 *     ...
 *
 *     Velocities                 (optional)
 *
 *     id vx vy vz
 *
 * Mapping to basin: file id i <-> basin id i-1, file type t <-> species t-1, image flags <->
 * image counters (x + L*image is the unwrapped position), the box [xlo, xhi) <-> [0, L): the
 * reader subtracts xlo (ylo, zlo) from the coordinates, the writer writes xlo = 0. Positions are
 * not wrapped by the reader (domain_distribute() wraps and counts the wraps). Numbers are
 * written with %.17g, so a write/read round trip is bit-exact.
 *
 * Refused with BASIN_ERR_IO and "<file>:line N: <what>": a missing or unreadable file,
 * truncated sections, field counts that are neither 5 nor 8 in Atoms (4 in Velocities), more or
 * fewer atom lines than the header announces, a non-cubic or tilted box, duplicate ids or ids
 * outside 1..N, types outside 1..T (T <= MODEL_MAX_SPECIES), masses other than 1, non-finite
 * numbers, atom styles other than atomic, and sections basin has no use for (Bonds, ...). The
 * coefficient sections LAMMPS writes (Pair Coeffs, PairIJ Coeffs) are skipped.
 *
 * Memory: the arrays are global and id-ordered (3N doubles for x, O(N) per rank). That is the
 * layout of the model builders and of domain_distribute(), and fine for start-up and export up
 * to N ~ 10^7; it is not meant for per-step output (trajectories go to H5MD).
 */
#ifndef BASIN_LAMMPS_DATA_H
#define BASIN_LAMMPS_DATA_H

#include <stdint.h>

/* A configuration as global id-ordered arrays (index = basin id = file id - 1). */
typedef struct LammpsData {
    int64_t n;      /* number of atoms */
    int ntypes;     /* "atom types" of the header, 1..MODEL_MAX_SPECIES */
    double L;       /* cubic box edge (length units sigma_eff) */
    double *x;      /* [3n] positions relative to the box origin (xlo, ylo, zlo) */
    double *v;      /* [3n] velocities, NULL when the file has no Velocities section */
    int *species;   /* [n] 0..ntypes-1 */
    int32_t *image; /* [3n] image counters (zeros when the file has no image flags) */
    int has_image;  /* 1 if the Atoms section carried image flags */
} LammpsData;

/* Collective. Rank 0 writes the configuration to `path` (through `path`.tmp and a rename, so
 * an interrupted write never leaves a half file under the final name); every rank returns the
 * same status. Only rank 0's arrays are read; other ranks may pass NULL for every array.
 * x[3n] positions, v[3n] velocities or NULL (no Velocities section), species[n] in
 * 0..ntypes-1, image[3n] or NULL (image flags 0 0 0), L the cubic box edge, ntypes in
 * 1..MODEL_MAX_SPECIES (written as "atom types"; every mass is 1). `title` is the first line
 * (NULL: a default naming basin). */
int lammps_data_write(const char *path, const char *title, int64_t n, int ntypes, double L,
                      const double *x, const double *v, const int *species, const int32_t *image);

/* Collective. Rank 0 reads and checks `path`, the result is broadcast: on success every rank
 * holds the same arrays in *out (freed with lammps_data_free()); on error every rank returns
 * the same code and message and *out holds no memory. */
int lammps_data_read(const char *path, LammpsData *out);

/* Not collective. Frees the arrays of d and zeroes it; safe on a zeroed struct. */
void lammps_data_free(LammpsData *d);

#endif
