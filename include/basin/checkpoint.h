/* io/checkpoint: self-describing checkpoint files on parallel HDF5 (docs/formats.md
 * "checkpoint.h5").
 *
 * A checkpoint is a flat set of named 1D datasets. The caller describes its state once, as a
 * table of entries (STYLE.md habit 12: one routine serves save and restore, so the two cannot
 * drift apart), and passes the same table to ckpt_io() for writing and for reading:
 *
 *   CKPT_GLOBAL  the same values on every rank (scalars, thermostat chain, counters); rank 0's
 *                are written; on reading every rank receives them. count is the exact length.
 *   CKPT_BLOCK   per-atom data in id-block order (rank r holds ids [lo, hi) of idblock_range):
 *                each rank its `count` elements, concatenated by rank in the file, so the file
 *                does not depend on the rank count and reads back on any other.
 *   per-rank     per-rank data of variable length that only means something on the same rank
 *                count (the IS tracker's Newton prediction in its own decomposition):
 *                ckpt_rank_array() writes each rank's part plus a count per rank, and restores
 *                it only when the rank count matches.
 *
 * Atomicity: ckpt_begin_write() creates "<path>.tmp"; ckpt_commit() closes it, fsyncs it,
 * renames it over <path> and fsyncs the directory, so <path> is always either the previous
 * complete checkpoint or the new complete one, whatever moment a crash hits. A reader validates
 * the format version, every dataset's presence, type and length, and reports the first problem
 * in one line naming the file and the dataset.
 *
 * Every function is collective over the util communicator and returns the same code on every
 * rank.
 */
#ifndef BASIN_CHECKPOINT_H
#define BASIN_CHECKPOINT_H

#include <stdint.h>

enum { CKPT_FORMAT_VERSION = 1 };

typedef enum { CKPT_F64 = 0, CKPT_I64 = 1, CKPT_I32 = 2 } CkptType;
typedef enum { CKPT_GLOBAL = 0, CKPT_BLOCK = 1 } CkptKind;

typedef struct CkptEntry {
    const char *name; /* dataset path below the root, e.g. "md/nhc_eta" (groups are created) */
    void *ptr;        /* count elements of type; written from / read into */
    CkptType type;
    int64_t count; /* elements on this rank */
    CkptKind kind;
} CkptEntry;

typedef struct Ckpt Ckpt;

/* Create <path>.tmp for writing (truncating a stale one). */
int ckpt_begin_write(const char *path, Ckpt **out);
/* Open <path> for reading: missing, not HDF5, truncated, or without the basin checkpoint
 * format attribute -> BASIN_ERR_IO naming the file. */
int ckpt_begin_read(const char *path, Ckpt **out);
/* Write (writer) or read and validate (reader) the n entries. */
int ckpt_io(Ckpt *c, const CkptEntry *e, int n);
/* Not collective (same answer on every rank): the file holds dataset name (for entries newer
 * than some checkpoints, e.g. is/soft_u). */
int ckpt_has(const Ckpt *c, const char *name);
/* A string (config text, version): written from *s; read into a new *s (free()). */
int ckpt_string(Ckpt *c, const char *name, char **s);
/* Per-rank variable-length array ("per-rank" above). Writer: *data and *count are this rank's.
 * Reader: if the file was written on the same number of ranks, *data receives a new array
 * (free()) of *count elements and *restored = 1; otherwise *data = NULL, *count = 0,
 * *restored = 0 (not an error). */
int ckpt_rank_array(Ckpt *c, const char *name, CkptType type, void **data, int64_t *count,
                    int *restored);
/* Number of ranks that wrote the file (reader) or that write it (writer). */
int ckpt_nranks(const Ckpt *c);
/* Writer: close, fsync, rename <path>.tmp -> <path>, fsync the directory. Reader: close.
 * Frees the handle (NULL-safe; *c = NULL). On a writer error the temporary file is removed and
 * <path> is left as it was. */
int ckpt_commit(Ckpt **c);
/* Close without committing (a writer's temporary file is removed). NULL-safe. */
void ckpt_discard(Ckpt **c);

#endif
