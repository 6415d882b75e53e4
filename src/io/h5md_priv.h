/* Private to src/io/h5md*.c: HDF5 helpers shared by the trajectory reader/writer (h5md.c) and
 * `basin info` (h5md_info.c). Not collective unless stated. */
#ifndef BASIN_IO_H5MD_PRIV_H
#define BASIN_IO_H5MD_PRIV_H

#include <stddef.h>

#include <hdf5.h>

#define TRAJ "/particles/trajectory"
enum { MAX_PATH = 4096 };

/* Silences HDF5's automatic error-stack printing between on and off (basin prints one line). */
typedef struct H5xQuiet {
    H5E_auto2_t func;
    void *data;
} H5xQuiet;
void h5x_quiet_on(H5xQuiet *q);
void h5x_quiet_off(const H5xQuiet *q);

/* The innermost message of the current HDF5 error stack (which is then cleared). */
const char *h5x_message(void);
/* basin_error(BASIN_ERR_IO, path, obj, "<what> (HDF5: <innermost message>)"). */
int h5x_fail(const char *path, const char *obj, const char *what);

/* "[3][500][3]", "scalar". */
void h5x_fmt_dims(char *buf, size_t n, int rank, const hsize_t *dims);
/* 1 if every link of the absolute path exists. */
int h5x_path_exists(hid_t file, const char *path);
/* H5O_TYPE_* of the object at path, -1 if absent. */
int h5x_obj_type(hid_t file, const char *path);
/* A string identifying the object at path (equal for hard links to one object). */
int h5x_obj_key(hid_t loc, const char *path, char *key, size_t n);
/* Missing file, directory, unreadable, empty, no HDF5 signature: one-line errors. */
int h5x_precheck_file(const char *path);

#endif
