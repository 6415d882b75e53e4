/* Checkpoint files (basin/checkpoint.h). Layout: root attributes basin_checkpoint_format (int)
 * and nranks (int); one contiguous 1D dataset per entry, float64 / int64 / int32, at the
 * entry's path; strings as fixed-length UTF-8 scalars; per-rank arrays as <name> (the parts
 * concatenated by rank) plus <name>_counts[nranks]. Why HDF5 and not raw MPI-IO: the file
 * then explains itself (h5dump, `basin info`), carries its own format version and types, and
 * every read can be checked for presence, type and length (ECOSYSTEM.md section 3 #9: restart
 * files that their own program could not read back).
 *
 * Writes are collective transfers (ranks with nothing to write select nothing): a checkpoint
 * is written every few thousand steps, so the simplest correct pattern wins over the rank-0
 * independent writes of the trajectory's per-frame scalars.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>
#include <mpi.h>

#include "../util/parallel.h"
#include "basin/checkpoint.h"
#include "basin/util.h"
#include "h5md_priv.h"

struct Ckpt {
    char path[MAX_PATH];  /* final name */
    char fpath[MAX_PATH]; /* the file actually open (path or path.tmp) */
    int writing;
    int nranks; /* ranks that wrote the file */
    hid_t file, dxpl, lcpl;
};

static hid_t h5type(CkptType t) {
    return t == CKPT_F64 ? H5T_NATIVE_DOUBLE : t == CKPT_I64 ? H5T_NATIVE_INT64 : H5T_NATIVE_INT32;
}
static size_t tsize(CkptType t) {
    return t == CKPT_I32 ? 4 : 8;
}
static const char *tname(CkptType t) {
    return t == CKPT_F64 ? "float64" : t == CKPT_I64 ? "int64" : "int32";
}

static void ckpt_free(Ckpt *c) {
    if (!c) return;
    if (c->file >= 0) H5Fclose(c->file);
    if (c->dxpl >= 0) H5Pclose(c->dxpl);
    if (c->lcpl >= 0) H5Pclose(c->lcpl);
    free(c);
}

static Ckpt *ckpt_alloc(const char *path) {
    Ckpt *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    snprintf(c->path, sizeof c->path, "%s", path);
    c->file = H5I_INVALID_HID;
    c->dxpl = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(c->dxpl, H5FD_MPIO_COLLECTIVE);
    c->lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(c->lcpl, 1);
    return c;
}

static int attr_int(hid_t loc, const char *name, int *v, int write) {
    if (write) {
        hid_t sp = H5Screate(H5S_SCALAR);
        hid_t a = H5Acreate2(loc, name, H5T_NATIVE_INT, sp, H5P_DEFAULT, H5P_DEFAULT);
        herr_t st = a < 0 ? -1 : H5Awrite(a, H5T_NATIVE_INT, v);
        if (a >= 0) H5Aclose(a);
        H5Sclose(sp);
        return st < 0 ? -1 : 0;
    }
    if (H5Aexists(loc, name) <= 0) return -1;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    herr_t st = a < 0 ? -1 : H5Aread(a, H5T_NATIVE_INT, v);
    if (a >= 0) H5Aclose(a);
    return st < 0 ? -1 : 0;
}

int ckpt_begin_write(const char *path, Ckpt **out) {
    *out = NULL;
    H5xQuiet q;
    h5x_quiet_on(&q);
    int rc = 0;
    Ckpt *c = ckpt_alloc(path);
    if (!c) rc = basin_error(BASIN_ERR_NOMEM, path, NULL, "no memory for the checkpoint handle");
    if ((rc = basin_error_agree(rc))) goto done;
    c->writing = 1;
    c->nranks = par_size();
    snprintf(c->fpath, sizeof c->fpath, "%s.tmp", path);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_mpio(fapl, par_comm(), MPI_INFO_NULL);
    c->file = H5Fcreate(c->fpath, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (c->file < 0) rc = h5x_fail(c->fpath, NULL, "cannot create the checkpoint");
    int fmt = CKPT_FORMAT_VERSION, np = c->nranks;
    if (!rc && (attr_int(c->file, "basin_checkpoint_format", &fmt, 1) < 0 ||
                attr_int(c->file, "nranks", &np, 1) < 0))
        rc = h5x_fail(c->fpath, "/", "cannot write the format attributes");
    if ((rc = basin_error_agree(rc))) {
        if (c && par_rank() == 0) unlink(c->fpath);
        ckpt_free(c);
        goto done;
    }
    *out = c;
done:
    h5x_quiet_off(&q);
    return rc;
}

int ckpt_begin_read(const char *path, Ckpt **out) {
    *out = NULL;
    H5xQuiet q;
    h5x_quiet_on(&q);
    int rc = 0;
    if (par_rank() == 0) rc = h5x_precheck_file(path);
    Ckpt *c = NULL;
    if (!(rc = basin_error_agree(rc))) {
        c = ckpt_alloc(path);
        if (!c) rc = basin_error(BASIN_ERR_NOMEM, path, NULL, "no memory");
        rc = basin_error_agree(rc);
    }
    if (!rc) {
        snprintf(c->fpath, sizeof c->fpath, "%s", path);
        hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
        H5Pset_fapl_mpio(fapl, par_comm(), MPI_INFO_NULL);
        c->file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
        H5Pclose(fapl);
        if (c->file < 0) rc = h5x_fail(path, NULL, "cannot open (truncated or corrupt HDF5 file?)");
        rc = basin_error_agree(rc);
    }
    if (!rc) {
        int fmt = -1, np = -1;
        if (attr_int(c->file, "basin_checkpoint_format", &fmt, 0) < 0)
            rc = basin_error(BASIN_ERR_IO, path, "basin_checkpoint_format",
                             "not a basin checkpoint (no format attribute)");
        else if (fmt != CKPT_FORMAT_VERSION)
            rc = basin_error(BASIN_ERR_IO, path, "basin_checkpoint_format",
                             "checkpoint format %d, this basin reads format %d", fmt,
                             CKPT_FORMAT_VERSION);
        else if (attr_int(c->file, "nranks", &np, 0) < 0 || np < 1)
            rc = basin_error(BASIN_ERR_IO, path, "nranks", "missing or invalid");
        c->nranks = np;
        rc = basin_error_agree(rc);
    }
    if (rc) {
        ckpt_free(c);
    } else {
        *out = c;
    }
    h5x_quiet_off(&q);
    return rc;
}

int ckpt_nranks(const Ckpt *c) {
    return c->nranks;
}

/* Offset of this rank's part and the global length of a per-rank concatenation. */
static void concat_layout(int64_t count, int64_t *offset, int64_t *total) {
    int64_t off = 0, tot = count;
    MPI_Exscan(&count, &off, 1, MPI_INT64_T, MPI_SUM, par_comm());
    if (par_rank() == 0) off = 0; /* MPI_Exscan leaves rank 0's result undefined */
    MPI_Allreduce(MPI_IN_PLACE, &tot, 1, MPI_INT64_T, MPI_SUM, par_comm());
    *offset = off;
    *total = tot;
}

/* Collective transfer of [offset, offset + count) of a 1D dataset. */
static int xfer(Ckpt *c, hid_t d, hid_t type, int64_t offset, int64_t count, void *buf, int write) {
    hid_t fs = H5Dget_space(d);
    const hsize_t start = (hsize_t)offset, cnt = (hsize_t)count, one = 1;
    hid_t ms;
    if (count > 0) {
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, &start, NULL, &cnt, NULL);
        ms = H5Screate_simple(1, &cnt, NULL);
    } else {
        H5Sselect_none(fs);
        ms = H5Screate_simple(1, &one, NULL);
        H5Sselect_none(ms);
    }
    herr_t st =
        write ? H5Dwrite(d, type, ms, fs, c->dxpl, buf) : H5Dread(d, type, ms, fs, c->dxpl, buf);
    H5Sclose(ms);
    H5Sclose(fs);
    return st < 0 ? -1 : 0;
}

/* Open a dataset for reading and check its class, element size and length. */
static int open_checked(Ckpt *c, const char *name, CkptType type, int64_t want, hid_t *out) {
    *out = H5I_INVALID_HID;
    char p[600];
    snprintf(p, sizeof p, "/%s", name);
    if (h5x_obj_type(c->file, p) != H5O_TYPE_DATASET)
        return basin_error(BASIN_ERR_IO, c->path, name, "missing from the checkpoint");
    hid_t d = H5Dopen2(c->file, p, H5P_DEFAULT);
    if (d < 0) return h5x_fail(c->path, name, "cannot open");
    hid_t t = H5Dget_type(d), sp = H5Dget_space(d);
    const H5T_class_t cls = H5Tget_class(t);
    const size_t sz = H5Tget_size(t);
    hsize_t dim = 0;
    const int nd = H5Sget_simple_extent_ndims(sp);
    if (nd == 1) H5Sget_simple_extent_dims(sp, &dim, NULL);
    H5Tclose(t);
    H5Sclose(sp);
    const H5T_class_t want_cls = type == CKPT_F64 ? H5T_FLOAT : H5T_INTEGER;
    int rc = 0;
    if (cls != want_cls || sz != tsize(type) || nd != 1)
        rc = basin_error(BASIN_ERR_IO, c->path, name, "expected a 1D %s dataset", tname(type));
    else if (want >= 0 && (int64_t)dim != want)
        rc = basin_error(BASIN_ERR_IO, c->path, name, "holds %llu values, expected %lld",
                         (unsigned long long)dim, (long long)want);
    if (rc) {
        H5Dclose(d);
        return rc;
    }
    *out = d;
    return 0;
}

static int write_dataset(Ckpt *c, const char *name, CkptType type, int64_t total, int64_t offset,
                         int64_t count, const void *buf) {
    const hsize_t dim = (hsize_t)total;
    hid_t sp = H5Screate_simple(1, &dim, NULL);
    hid_t d = H5Dcreate2(c->file, name, h5type(type), sp, c->lcpl, H5P_DEFAULT, H5P_DEFAULT);
    H5Sclose(sp);
    if (d < 0) return h5x_fail(c->fpath, name, "cannot create");
    int rc = xfer(c, d, h5type(type), offset, count, (void *)buf, 1) < 0
                 ? h5x_fail(c->fpath, name, "write")
                 : 0;
    H5Dclose(d);
    return rc;
}

int ckpt_io(Ckpt *c, const CkptEntry *e, int n) {
    H5xQuiet q;
    h5x_quiet_on(&q);
    int rc = 0;
    for (int k = 0; k < n && !rc; ++k) {
        int64_t off = 0, total = e[k].count;
        if (e[k].kind == CKPT_BLOCK) concat_layout(e[k].count, &off, &total);
        if (c->writing) {
            const int root = par_rank() == 0;
            rc = write_dataset(c, e[k].name, e[k].type, total, off,
                               e[k].kind == CKPT_GLOBAL ? (root ? e[k].count : 0) : e[k].count,
                               e[k].ptr);
        } else {
            hid_t d = H5I_INVALID_HID;
            rc = basin_error_agree(open_checked(c, e[k].name, e[k].type, total, &d));
            if (!rc && xfer(c, d, h5type(e[k].type), off, e[k].count, e[k].ptr, 0) < 0)
                rc = h5x_fail(c->path, e[k].name, "read");
            if (d >= 0) H5Dclose(d);
        }
        rc = basin_error_agree(rc);
    }
    h5x_quiet_off(&q);
    return rc;
}

int ckpt_has(const Ckpt *c, const char *name) {
    char p[600];
    snprintf(p, sizeof p, "/%s", name);
    return h5x_obj_type(c->file, p) == H5O_TYPE_DATASET;
}

int ckpt_string(Ckpt *c, const char *name, char **s) {
    H5xQuiet q;
    h5x_quiet_on(&q);
    int rc = 0;
    if (c->writing) {
        /* rank 0's string, as a CKPT_GLOBAL array of bytes: no HDF5 string type subtleties
         * in parallel, and the length is exact */
        long len = par_rank() == 0 && *s ? (long)strlen(*s) : 0;
        MPI_Bcast(&len, 1, MPI_LONG, 0, par_comm());
        const hsize_t dim = (hsize_t)len + 1;
        hid_t sp = H5Screate_simple(1, &dim, NULL);
        hid_t d = H5Dcreate2(c->file, name, H5T_NATIVE_CHAR, sp, c->lcpl, H5P_DEFAULT, H5P_DEFAULT);
        H5Sclose(sp);
        if (d < 0) {
            rc = h5x_fail(c->fpath, name, "cannot create");
        } else {
            hid_t fs = H5Dget_space(d), ms = H5Screate_simple(1, &dim, NULL);
            if (par_rank() != 0) {
                H5Sselect_none(fs);
                H5Sselect_none(ms);
            }
            /* the terminating NUL is part of the dataset: rank 0 writes len + 1 bytes */
            const char *buf = par_rank() == 0 && *s ? *s : "";
            if (H5Dwrite(d, H5T_NATIVE_CHAR, ms, fs, c->dxpl, buf) < 0)
                rc = h5x_fail(c->fpath, name, "write");
            H5Sclose(ms);
            H5Sclose(fs);
            H5Dclose(d);
        }
    } else {
        *s = NULL;
        char p[600];
        snprintf(p, sizeof p, "/%s", name);
        hid_t d = H5I_INVALID_HID;
        hsize_t dim = 0;
        if (h5x_obj_type(c->file, p) != H5O_TYPE_DATASET)
            rc = basin_error(BASIN_ERR_IO, c->path, name, "missing from the checkpoint");
        else if ((d = H5Dopen2(c->file, p, H5P_DEFAULT)) < 0)
            rc = h5x_fail(c->path, name, "cannot open");
        if (!rc) {
            hid_t sp = H5Dget_space(d);
            if (H5Sget_simple_extent_ndims(sp) == 1) H5Sget_simple_extent_dims(sp, &dim, NULL);
            H5Sclose(sp);
            if (dim < 1) rc = basin_error(BASIN_ERR_IO, c->path, name, "empty string dataset");
        }
        if (!rc) rc = basin_calloc((void **)s, (size_t)dim + 1, 1, "checkpoint string");
        rc = basin_error_agree(rc);
        if (!rc && H5Dread(d, H5T_NATIVE_CHAR, H5S_ALL, H5S_ALL, c->dxpl, *s) < 0)
            rc = h5x_fail(c->path, name, "read");
        if (d >= 0) H5Dclose(d);
        if ((rc = basin_error_agree(rc))) {
            free(*s);
            *s = NULL;
        }
    }
    h5x_quiet_off(&q);
    return basin_error_agree(rc);
}

int ckpt_rank_array(Ckpt *c, const char *name, CkptType type, void **data, int64_t *count,
                    int *restored) {
    char cname[600];
    snprintf(cname, sizeof cname, "%s_counts", name);
    const int np = par_size();
    int64_t *counts = NULL;
    BCHK(basin_error_agree(BALLOC(counts, np)));
    int rc = 0;
    if (c->writing) {
        MPI_Allgather(count, 1, MPI_INT64_T, counts, 1, MPI_INT64_T, par_comm());
        const CkptEntry e = {cname, counts, CKPT_I64, np, CKPT_GLOBAL};
        rc = ckpt_io(c, &e, 1);
        if (!rc) {
            const CkptEntry d = {name, *data, type, *count, CKPT_BLOCK};
            rc = ckpt_io(c, &d, 1);
        }
        if (restored) *restored = 1;
    } else {
        *data = NULL;
        *count = 0;
        *restored = 0;
        if (c->nranks == np) {
            const CkptEntry e = {cname, counts, CKPT_I64, np, CKPT_GLOBAL};
            rc = ckpt_io(c, &e, 1);
            if (!rc) {
                *count = counts[par_rank()];
                rc = basin_error_agree(
                    basin_calloc(data, (size_t)(*count > 0 ? *count : 1), tsize(type), name));
            }
            if (!rc) {
                const CkptEntry d = {name, *data, type, *count, CKPT_BLOCK};
                rc = ckpt_io(c, &d, 1);
            }
            if (rc) {
                free(*data);
                *data = NULL;
                *count = 0;
            } else {
                *restored = 1;
            }
        }
    }
    free(counts);
    return rc;
}

/* fsync a file or directory by path (rank 0). */
static int sync_path(const char *p) {
    int fd = open(p, O_RDONLY);
    if (fd < 0) return -1;
    const int st = fsync(fd);
    close(fd);
    return st;
}

int ckpt_commit(Ckpt **cp) {
    if (!cp || !*cp) return 0;
    Ckpt *c = *cp;
    *cp = NULL;
    H5xQuiet q;
    h5x_quiet_on(&q);
    int rc = 0;
    if (H5Fclose(c->file) < 0) rc = h5x_fail(c->fpath, NULL, "close");
    c->file = H5I_INVALID_HID;
    rc = basin_error_agree(rc);
    if (c->writing) {
        if (!rc && par_rank() == 0) {
            char dir[MAX_PATH];
            snprintf(dir, sizeof dir, "%s", c->path);
            if (sync_path(c->fpath) != 0)
                rc = basin_error(BASIN_ERR_IO, c->fpath, NULL, "fsync: %s", strerror(errno));
            else if (rename(c->fpath, c->path) != 0)
                rc = basin_error(BASIN_ERR_IO, c->path, NULL, "cannot rename %s into place: %s",
                                 c->fpath, strerror(errno));
            else
                sync_path(dirname(dir)); /* the rename itself durable; best effort */
        }
        rc = basin_error_agree(rc);
        if (rc && par_rank() == 0) unlink(c->fpath);
    }
    ckpt_free(c);
    h5x_quiet_off(&q);
    return rc;
}

void ckpt_discard(Ckpt **cp) {
    if (!cp || !*cp) return;
    Ckpt *c = *cp;
    *cp = NULL;
    H5xQuiet q;
    h5x_quiet_on(&q);
    if (c->file >= 0) H5Fclose(c->file);
    c->file = H5I_INVALID_HID;
    MPI_Barrier(par_comm());
    if (c->writing && par_rank() == 0) unlink(c->fpath);
    ckpt_free(c);
    h5x_quiet_off(&q);
}
