/* io/xyz: extended XYZ files, the text format in which OVITO opens a configuration with its
 * box, periodic images, velocities and ids. basin writes them for looking at configurations
 * (`basin convert`), never as its own input format; the reader reads back exactly what the
 * writer writes, for tests and for `basin convert x.xyz x.data`.
 *
 * One frame, as written (several frames follow each other in one file):
 *
 *     N
 *     Lattice="L 0 0 0 L 0 0 0 L" Properties=species:S:1:pos:R:3:velo:R:3:map_shift:I:3:id:I:1
 *         Time=t Step=s pbc="T T T"                  (one line in the file, two here)
 *     t x y z vx vy vz ix iy iz id                   (N lines, in id order)
 *
 * - species: the LAMMPS atom type as a number, species + 1 ("1" small, "2" large particles of
 *   the glass; "1" for the crystal). OVITO turns numeric tokens into numeric particle types
 *   ("Type 1", "Type 2"), exactly as for the LAMMPS data file of the same configuration, so
 *   colours and radii set in OVITO carry over between the two formats. Names such as "A"/"B"
 *   were rejected: OVITO would give "B" the radius and colour of boron. ASE's reader needs
 *   chemical symbols in this column and refuses numbers (docs/formats.md gives the work-around).
 * - pos: positions (sigma) relative to the box origin, as the caller holds them (any periodic
 *   image); unwrapped = pos + L * map_shift. velo (sigma / tau) only when velocities are given.
 * - map_shift: the periodic image counters (libAtoms' name, which OVITO maps to its "Periodic
 *   Image" property).
 * - id: basin id + 1, the atom id of the LAMMPS data files (OVITO's "Particle Identifier").
 * - Time (tau) and Step: only when the caller knows them (frames of a trajectory).
 * Every real number is written with %.17g, so a write/read round trip is bit-exact.
 *
 * The reader accepts this layout only: one of the two Properties strings above, a cubic
 * Lattice, pbc "T T T" or absent, Origin "0 0 0" or absent, ids 1..N each exactly once (any
 * order), types 1..MODEL_MAX_SPECIES, finite numbers, 32-bit image counters, exactly N atom
 * lines per frame, optional Time and Step; other key=value pairs on line 2 are ignored.
 * Anything else stops it with BASIN_ERR_IO and one line "<file>:line N: <what>".
 *
 * Memory: like the LAMMPS data I/O, frames are global id-ordered arrays (O(N) per rank); rank 0
 * does all file I/O.
 */
#ifndef BASIN_XYZ_H
#define BASIN_XYZ_H

#include <stdint.h>

/* One frame to write: global arrays in id order (index = basin id). Read on rank 0 only; other
 * ranks may pass NULL arrays. */
typedef struct XyzFrame {
    int64_t n;            /* number of atoms, >= 1 */
    double L;             /* cubic box edge (sigma) */
    int64_t step;         /* MD step; < 0: neither Step nor Time is written */
    double time;          /* tau; written with Step */
    const double *x;      /* [3n] positions relative to the box origin */
    const double *v;      /* [3n] velocities, or NULL: no velo column */
    const int *species;   /* [n] 0..MODEL_MAX_SPECIES-1, written as species + 1 */
    const int32_t *image; /* [3n] periodic image counters, or NULL: zeros */
} XyzFrame;

typedef struct XyzWriter XyzWriter;

/* Collective. Rank 0 creates `path` (append = 0, truncating it) or opens it for appending
 * frames (append = 1). Every rank gets a handle and the same status. The file is written in
 * place: callers that must never leave a half-written file under the final name write to a
 * temporary name and rename (xyz_write() and `basin convert` do). */
int xyz_writer_open(const char *path, int append, XyzWriter **out);

/* Collective. Rank 0 checks the frame (n >= 1, L > 0, species range, finite positions and
 * velocities) and appends it; every rank returns the same status. */
int xyz_writer_frame(XyzWriter *w, const XyzFrame *f);

/* Collective. Flushes and closes the file; a failed write (disk full) is reported here if no
 * earlier call reported it. NULL-safe; sets *w = NULL. */
int xyz_writer_close(XyzWriter **w);

/* Collective. One frame: append = 0 writes `path` through `path`.tmp and a rename, so an
 * interrupted write never leaves a half file under the final name; append = 1 adds the frame
 * at the end of `path` (created if missing). */
int xyz_write(const char *path, const XyzFrame *f, int append);

/* One frame read back: global id-ordered arrays, every rank holds the same copy. */
typedef struct XyzData {
    int64_t n;
    double L;       /* cubic box edge */
    int64_t step;   /* -1 when the frame has no Step */
    double time;    /* NaN when the frame has no Time */
    int ntypes;     /* largest type number in the frame (1..MODEL_MAX_SPECIES) */
    double *x;      /* [3n] */
    double *v;      /* [3n], NULL when the file has no velo column */
    int *species;   /* [n] type - 1 */
    int32_t *image; /* [3n] map_shift */
} XyzData;

/* Collective. Rank 0 reads and checks every frame of `path` and keeps frame `frame` (0-based;
 * < 0: the last one); the frame is broadcast. On success every rank holds it in *out (free with
 * xyz_free()) and, if nframes is not NULL, the number of frames of the file. A frame index
 * past the end is BASIN_ERR_CONFIG ("frame K out of range"). On error *out holds no memory. */
int xyz_read(const char *path, int64_t frame, XyzData *out, int64_t *nframes);

/* Not collective. Frees the arrays of d and zeroes it; safe on a zeroed struct. */
void xyz_free(XyzData *d);

#endif
