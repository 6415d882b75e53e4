/* H5MD 1.1 trajectories on parallel HDF5 (MPI-IO). The layout is documented field by field in
 * docs/formats.md; the choices and why:
 *
 * - One particles group, /particles/trajectory: MDAnalysis reads only the first group under
 *   /particles and builds its atoms-only topology only for that name (ECOSYSTEM.md 1.3).
 * - Per-atom data in global-id order, written from id-blocks: each rank's part of a frame is
 *   one contiguous hyperslab, so a frame is one collective write per quantity, independent of
 *   the domain decomposition, and a file written on P ranks reads on any other count.
 * - position, velocity, image, box/edges and the observables are time-dependent elements whose
 *   step and time are HDF5 hard links to position's (spec: box/edges and image must share them;
 *   MDAnalysis assumes every element shares them). Observables are sampled exactly on the
 *   position frames and kept flat, because MDAnalysis indexes them by trajectory frame.
 * - box/edges/value is [frames][3][3] (diagonal matrix), not the cuboid 3-vector: both are legal
 *   H5MD, but MDAnalysis < 2.5 (Debian's 2.4.2) passes each row to triclinic_box() and fails on
 *   a 3-vector, while every version (and h5py users) reads the matrix. Our reader accepts both.
 * - No `unit` attributes: the H5MD units module has no reduced LJ system and MDAnalysis rejects
 *   unknown unit strings; /parameters records the unit system instead (use MDAnalysis with
 *   convert_units=False).
 * - Chunks: per-atom values are chunked one frame per chunk ([1][N][3]): an append writes
 *   exactly one new chunk, and a reader of one frame (MDAnalysis, basin lifetimes) touches one
 *   chunk. Above 2^20 atoms a frame is split over several chunks (<= 24 MiB each) to stay well
 *   inside HDF5's 4 GiB chunk limit and MPI-IO's int counts. step, time and observables are
 *   chunked 1024 frames per chunk (8 KiB), box edges 256 frames (18 KiB): one frame per chunk
 *   would cost a chunk-index entry per 8 bytes.
 * - Chunks are allocated when the dataset is extended and never filled (fill time NEVER): each
 *   frame is written once, and a fill pass would double the I/O of every append.
 * - Crash safety (no SWMR with MPI-IO): every append extends, writes, then H5Fflush()es; between
 *   flushes parallel HDF5 keeps the few dirty metadata entries of a frame in its cache, so a
 *   kill leaves the file as of the last flush plus unreferenced bytes at its end. The library
 *   format bounds stay at the default (earliest): the 1.10 superblock v3 would record "open for
 *   writing" and a killed run's file would need h5clear before h5py could open it. Readers trust
 *   min(len(step), len(time), len(value)) frames.
 * - Strings are fixed-length, null-terminated UTF-8 (variable-length data cannot be written by
 *   parallel HDF5 1.10); h5py returns them as bytes.
 *
 * Collectivity: creation of objects, attribute writes, extents, flush and close are collective
 * in parallel HDF5 (TOOLCHAIN.md); every rank therefore runs the same sequence of HDF5 calls
 * with identical arguments (rank 0's strings and scalars are broadcast first), a rank with
 * nothing to write joins each H5Dwrite with an empty selection, and errors are agreed on with
 * basin_error_agree() before any branch that would skip a collective.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <hdf5.h>
#include <mpi.h>

#include "../util/parallel.h"
#include "basin/h5md.h"
#include "basin/util.h"
#include "h5md_priv.h"

enum { FRAME_CHUNK = 1024, EDGES_CHUNK = 256 };
static const hsize_t CHUNK_ATOMS_MAX = (hsize_t)1 << 20;

static const char *const OBS_NAMES[H5MD_NOBS] = {"temperature", "potential_energy",
                                                 "kinetic_energy", "total_energy", "pressure"};

static const char *const UNITS_DESCRIPTION =
    "reduced Lennard-Jones units: length sigma (sigma_eff of the model: sum_ab x_a x_b "
    "sigma_ab^3 = 1), energy epsilon, mass m (every particle), time tau = sigma sqrt(m / "
    "epsilon), velocity sigma / tau, temperature epsilon / k_B (k_B = 1), pressure epsilon / "
    "sigma^3; energies are totals over the system. No H5MD unit attributes are written: open "
    "with MDAnalysis convert_units=False";

enum { MODE_READ = 0, MODE_WRITE = 1 };

struct H5md {
    char path[MAX_PATH];
    int mode;
    int writable;               /* opened for writing (create, open_append) */
    hid_t file, dxpl, dxpl_ind; /* collective (per-atom data) and independent (rank 0) */
    hid_t step, time; /* position/step, position/time (hard-linked everywhere in basin files) */
    int step_fixed;   /* H5MD fixed-interval mode (scalar step): read-only files from others */
    hid_t pos, vel, img, edges, species, id;
    int edges_td;   /* box/edges is a time-dependent element */
    int edges_rank; /* per-frame rank of edges: 1 ([3]) or 2 ([3][3]) */
    hid_t obs[H5MD_NOBS];
    hsize_t obs_len[H5MD_NOBS];
    int64_t natoms, nframes, lo, hi;
    int64_t *steps; /* [cap] step of each frame */
    double *times;  /* [cap] time of each frame (NaN when the file has none) */
    int64_t cap;
    double *xb, *vb; /* writer: id-block frame buffers */
    int32_t *ib, *izero;
    int64_t izero_cap;
    IdblockWork work;        /* idblock_move() buffers, reused every frame */
    struct H5mdTable *table; /* the row table of h5md_table_create/open (NULL: none) */
};

/* ---- HDF5 error plumbing ---- */

/* HDF5 prints its whole error stack by default; basin reports one line instead, built from the
 * innermost HDF5 message (the most specific one, e.g. "truncated file: eof = ..."). */
void h5x_quiet_on(H5xQuiet *q) {
    H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void h5x_quiet_off(const H5xQuiet *q) {
    H5Eset_auto2(H5E_DEFAULT, q->func, q->data);
}

static herr_t walk_cb(unsigned n, const H5E_error2_t *e, void *data) {
    (void)n;
    if (e->desc && *e->desc) snprintf((char *)data, 256, "%s", e->desc);
    return 0;
}

const char *h5x_message(void) {
    static char buf[256];
    buf[0] = '\0';
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk_cb, buf);
    H5Eclear2(H5E_DEFAULT);
    if (!buf[0]) snprintf(buf, sizeof buf, "unknown HDF5 error");
    return buf;
}

int h5x_fail(const char *path, const char *obj, const char *what) {
    return basin_error(BASIN_ERR_IO, path, obj, "%s (HDF5: %s)", what, h5x_message());
}

static void close_id(hid_t *id) {
    if (*id < 0) return;
    switch (H5Iget_type(*id)) {
    case H5I_DATASET:
        H5Dclose(*id);
        break;
    case H5I_GROUP:
        H5Gclose(*id);
        break;
    case H5I_DATASPACE:
        H5Sclose(*id);
        break;
    case H5I_DATATYPE:
        H5Tclose(*id);
        break;
    case H5I_ATTR:
        H5Aclose(*id);
        break;
    case H5I_GENPROP_LST:
        H5Pclose(*id);
        break;
    case H5I_FILE:
        H5Fclose(*id);
        break;
    default:
        break;
    }
    *id = H5I_INVALID_HID;
}

/* ---- small helpers ---- */

static int64_t min64(int64_t a, int64_t b) {
    return a < b ? a : b;
}

void h5x_fmt_dims(char *buf, size_t n, int rank, const hsize_t *dims) {
    size_t k = 0;
    buf[0] = '\0';
    if (rank == 0) snprintf(buf, n, "scalar");
    for (int i = 0; i < rank && k < n; ++i)
        k += (size_t)snprintf(buf + k, n - k, "[%llu]", (unsigned long long)dims[i]);
}

/* Broadcast rank 0's string; *out is malloc'd on every rank ("" for NULL). */
static int bcast_string(const char *s, char **out) {
    MPI_Comm comm = par_comm();
    long len = 0;
    if (par_rank() == 0) len = s ? (long)strlen(s) : 0;
    MPI_Bcast(&len, 1, MPI_LONG, 0, comm);
    char *p = NULL;
    int rc = basin_calloc((void **)&p, (size_t)len + 1, 1, "string");
    rc = basin_error_agree(rc);
    if (rc) {
        free(p);
        return rc;
    }
    if (par_rank() == 0 && len) memcpy(p, s, (size_t)len);
    if (len) MPI_Bcast(p, (int)len, MPI_CHAR, 0, comm);
    *out = p;
    return 0;
}

/* Does the path exist as a link chain from the file root? (H5Lexists needs every parent.) */
int h5x_path_exists(hid_t file, const char *path) {
    char buf[MAX_PATH];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1;; ++p) {
        if (*p == '/' || *p == '\0') {
            const char c = *p;
            *p = '\0';
            if (H5Lexists(file, buf, H5P_DEFAULT) <= 0) return 0;
            if (c == '\0') return 1;
            *p = c;
        }
    }
}

int h5x_obj_type(hid_t file, const char *path) {
    if (!h5x_path_exists(file, path)) return -1;
#if H5_VERSION_GE(1, 12, 0)
    H5O_info2_t info;
    if (H5Oget_info_by_name3(file, path, &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) return -1;
#else
    H5O_info_t info;
    if (H5Oget_info_by_name2(file, path, &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) return -1;
#endif
    return (int)info.type;
}

/* A string naming the object a path resolves to (equal strings = the same object, i.e. hard
 * links to one dataset). */
int h5x_obj_key(hid_t loc, const char *path, char *key, size_t n) {
#if H5_VERSION_GE(1, 12, 0)
    H5O_info2_t info;
    if (H5Oget_info_by_name3(loc, path, &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) return -1;
    char *s = NULL;
    if (H5Otoken_to_str(loc, &info.token, &s) < 0) return -1;
    snprintf(key, n, "%s", s);
    H5free_memory(s);
#else
    H5O_info_t info;
    if (H5Oget_info_by_name2(loc, path, &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) return -1;
    snprintf(key, n, "%llx", (unsigned long long)info.addr);
#endif
    return 0;
}

static hid_t string_type(size_t len) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, len + 1);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

/* Attribute writes are collective: every rank passes the same (broadcast) values. */
static int attr_write(hid_t loc, const char *name, hid_t type, int n, const void *val) {
    const hsize_t dim = (hsize_t)n;
    hid_t sp = n > 0 ? H5Screate_simple(1, &dim, NULL) : H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(loc, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
    herr_t st = a < 0 ? -1 : H5Awrite(a, type, val);
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
    return st < 0 ? -1 : 0;
}

static int attr_write_str(hid_t loc, const char *name, const char *s) {
    hid_t t = string_type(strlen(s));
    int st = attr_write(loc, name, t, 0, s);
    H5Tclose(t);
    return st;
}

/* Selections of one transfer. ALL takes the whole extent of the inner dimensions. */
static const hsize_t ALL = (hsize_t)-1;

/* Select, in a time-dependent dataset (td = 1), frame `frame` and, if it has an atom dimension,
 * atoms [a0, a0 + na) (na = ALL: every inner element); in a time-independent one (td = 0),
 * rows [a0, a0 + na) of its first dimension (a scalar: na > 0 selects it). na = 0 selects
 * nothing: the rank still joins the collective transfer. Returns the file space (caller
 * closes) and the matching contiguous memory space in *mspace. */
static hid_t select_rows(hid_t dset, int td, hsize_t frame, hsize_t a0, hsize_t na, hid_t *mspace) {
    *mspace = H5I_INVALID_HID;
    hid_t fs = H5Dget_space(dset);
    if (fs < 0) return fs;
    const int nd = H5Sget_simple_extent_ndims(fs);
    hsize_t dims[H5S_MAX_RANK], start[H5S_MAX_RANK] = {0}, cnt[H5S_MAX_RANK];
    H5Sget_simple_extent_dims(fs, dims, NULL);
    for (int i = 0; i < nd; ++i)
        cnt[i] = dims[i];
    const int adim = td ? 1 : 0; /* the dimension that indexes atoms (rows) */
    if (td) {
        start[0] = frame;
        cnt[0] = 1;
    }
    if (adim < nd && na != ALL) {
        start[adim] = a0;
        cnt[adim] = na;
    }
    hsize_t total = 1;
    for (int i = 0; i < nd; ++i)
        total *= cnt[i];
    if (na == 0) total = 0;
    if (total == 0) {
        const hsize_t one = 1;
        H5Sselect_none(fs);
        *mspace = H5Screate_simple(1, &one, NULL);
        H5Sselect_none(*mspace);
    } else if (nd == 0) {
        H5Sselect_all(fs);
        *mspace = H5Screate(H5S_SCALAR);
    } else {
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, cnt, NULL);
        /* The memory space has the shape of the selection, not a flat [total]: with equal
         * shapes HDF5 maps chunks hyperslab by hyperslab; otherwise it iterates over every
         * element (measured: most of the write time of a 32000-atom frame). */
        *mspace = H5Screate_simple(nd, cnt, NULL);
    }
    return fs;
}

static int transfer_with(hid_t dxpl, int write, hid_t dset, hid_t memtype, int td, hsize_t frame,
                         hsize_t a0, hsize_t na, void *buf) {
    hid_t ms = H5I_INVALID_HID;
    hid_t fs = select_rows(dset, td, frame, a0, na, &ms);
    if (fs < 0 || ms < 0) {
        close_id(&fs);
        close_id(&ms);
        return -1;
    }
    herr_t st = write ? H5Dwrite(dset, memtype, ms, fs, dxpl, buf)
                      : H5Dread(dset, memtype, ms, fs, dxpl, buf);
    H5Sclose(ms);
    H5Sclose(fs);
    return st < 0 ? -1 : 0;
}

/* Collective transfer of the selection made by select_rows(): per-atom data, where every rank
 * has its own hyperslab. */
static int transfer(H5md *h, int write, hid_t dset, hid_t memtype, int td, hsize_t frame,
                    hsize_t a0, hsize_t na, void *buf) {
    return transfer_with(h->dxpl, write, dset, memtype, td, frame, a0, na, buf);
}

/* Per-frame scalars (step, time, box, observables) are written by rank 0 alone with
 * independent I/O: a collective transfer costs several MPI collectives inside HDF5 and ROMIO
 * even when all but one rank select nothing, and eight of them per frame dominated the append
 * time on oversubscribed ranks. Allowed by parallel HDF5 because their chunks already exist
 * (allocated collectively by H5Dset_extent, alloc time EARLY). Not collective. */
static int write_root(H5md *h, hid_t dset, hid_t memtype, hsize_t frame, const void *buf) {
    if (par_rank() != 0) return 0;
    return transfer_with(h->dxpl_ind, 1, dset, memtype, 1, frame, 0, ALL, (void *)buf);
}

/* Collective: rank 0 reads the selection independently and broadcasts `bytes` of it. Every
 * rank returns rank 0's status (the message is rank 0's after basin_error_agree()).
 * Files open for writing are read collectively instead: a rank-0-only read there left the
 * ranks' HDF5 states different enough that the next shrinking H5Dset_extent + H5Fflush
 * deadlocked (ranks disagreed on the end of allocated space in H5FD_truncate). */
static int read_root_bcast(H5md *h, hid_t dset, hid_t memtype, int td, hsize_t frame, hsize_t a0,
                           hsize_t na, void *buf, size_t bytes, const char *obj) {
    if (h->writable)
        return transfer(h, 0, dset, memtype, td, frame, a0, na, buf) < 0
                   ? h5x_fail(h->path, obj, "read")
                   : 0;
    int st = 0;
    if (par_rank() == 0 && transfer_with(h->dxpl_ind, 0, dset, memtype, td, frame, a0, na, buf) < 0)
        st = h5x_fail(h->path, obj, "read");
    MPI_Bcast(&st, 1, MPI_INT, 0, par_comm());
    if (st == 0 && bytes > 0) {
        MPI_Bcast(buf, (int)bytes, MPI_BYTE, 0, par_comm());
    } else if (st != 0 && par_rank() != 0) {
        st = basin_error(st, h->path, obj, "read failed on rank 0");
    }
    return st;
}

/* ---- writer ---- */

/* A time-dependent dataset (value, step or time), empty and extendible along frames. */
static hid_t create_series(hid_t group, const char *name, hid_t type, int nd, const hsize_t *inner,
                           const hsize_t *inner_chunk, hsize_t frame_chunk) {
    hsize_t dims[4] = {0}, maxd[4] = {H5S_UNLIMITED}, chunk[4] = {frame_chunk};
    for (int i = 0; i < nd; ++i) {
        dims[i + 1] = maxd[i + 1] = inner[i];
        chunk[i + 1] = inner_chunk[i];
    }
    hid_t sp = H5Screate_simple(nd + 1, dims, maxd);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, nd + 1, chunk);
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
    H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
    hid_t d = H5Dcreate2(group, name, type, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    H5Sclose(sp);
    return d;
}

/* A time-dependent element group <parent>/<name> whose step and time are hard links to
 * position's (the spec's way to say "sampled together"). */
static hid_t create_element(hid_t file, const char *path) {
    hid_t g = H5Gcreate2(file, path, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) return g;
    if (H5Lcreate_hard(file, TRAJ "/position/step", g, "step", H5P_DEFAULT, H5P_DEFAULT) < 0 ||
        H5Lcreate_hard(file, TRAJ "/position/time", g, "time", H5P_DEFAULT, H5P_DEFAULT) < 0) {
        H5Gclose(g);
        return -1;
    }
    return g;
}

static int alloc_blocks(H5md *h, int velocities) {
    const int64_t nb = h->hi - h->lo;
    int rc = BALLOC(h->xb, 3 * nb);
    if (!rc && velocities) rc = BALLOC(h->vb, 3 * nb);
    if (!rc) rc = BALLOC(h->ib, 3 * nb);
    return rc;
}

static H5md *h5md_alloc(const char *path) {
    H5md *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    snprintf(h->path, sizeof h->path, "%s", path);
    h->file = h->dxpl = h->dxpl_ind = h->step = h->time = H5I_INVALID_HID;
    h->pos = h->vel = h->img = h->edges = h->species = h->id = H5I_INVALID_HID;
    for (int k = 0; k < H5MD_NOBS; ++k)
        h->obs[k] = H5I_INVALID_HID;
    h->dxpl = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(h->dxpl, H5FD_MPIO_COLLECTIVE);
    h->dxpl_ind = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(h->dxpl_ind, H5FD_MPIO_INDEPENDENT);
    return h;
}

static void table_free(H5md *h);

static void h5md_free(H5md *h) {
    if (!h) return;
    hid_t *ids[] = {&h->step, &h->time, &h->pos, &h->vel, &h->img, &h->edges, &h->species, &h->id};
    for (size_t k = 0; k < sizeof ids / sizeof *ids; ++k)
        close_id(ids[k]);
    for (int k = 0; k < H5MD_NOBS; ++k)
        close_id(&h->obs[k]);
    close_id(&h->file);
    close_id(&h->dxpl);
    close_id(&h->dxpl_ind);
    free(h->steps);
    free(h->times);
    free(h->xb);
    free(h->vb);
    free(h->ib);
    free(h->izero);
    idblock_work_free(&h->work);
    table_free(h);
    free(h);
}

/* Writes every object of a new file. Metadata calls are collective and see identical arguments
 * on every rank, so they succeed or fail together; the first failure is recorded. */
static int write_layout(H5md *h, const char *version, const char *author, const char *config,
                        const char *cmdline, const int32_t *species_block, int64_t *ids,
                        int flags) {
    const hid_t f = h->file;
    const char *p = h->path;
    hid_t g = H5I_INVALID_HID, t = H5I_INVALID_HID;
    int rc = 0;
#define LCHK(call, obj, what)                                                                      \
    do {                                                                                           \
        if (!rc && (call) < 0) rc = h5x_fail(p, obj, what);                                        \
    } while (0)

    /* /h5md: spec metadata */
    const int32_t ver[2] = {1, 1};
    LCHK(g = H5Gcreate2(f, "/h5md", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "/h5md", "create");
    LCHK(attr_write(g, "version", H5T_NATIVE_INT32, 2, ver), "/h5md", "attribute version");
    close_id(&g);
    LCHK(g = H5Gcreate2(f, "/h5md/author", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "/h5md/author",
         "create");
    LCHK(attr_write_str(g, "name", author), "/h5md/author", "attribute name");
    close_id(&g);
    LCHK(g = H5Gcreate2(f, "/h5md/creator", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "/h5md/creator",
         "create");
    LCHK(attr_write_str(g, "name", "basin"), "/h5md/creator", "attribute name");
    LCHK(attr_write_str(g, "version", version), "/h5md/creator", "attribute version");
    close_id(&g);

    /* /particles/trajectory */
    LCHK(g = H5Gcreate2(f, "/particles", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "/particles",
         "create");
    close_id(&g);
    LCHK(g = H5Gcreate2(f, TRAJ, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), TRAJ, "create");
    close_id(&g);

    const hsize_t n = (hsize_t)h->natoms;
    const hsize_t nc = n < CHUNK_ATOMS_MAX ? n : CHUNK_ATOMS_MAX;
    const hsize_t inner[2] = {n, 3}, inner_chunk[2] = {nc, 3};
    const hsize_t e33[2] = {3, 3};

    /* position first: it owns the step and time datasets the others link to */
    LCHK(g = H5Gcreate2(f, TRAJ "/position", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
         TRAJ "/position", "create");
    LCHK(h->step = create_series(g, "step", H5T_STD_I64LE, 0, NULL, NULL, FRAME_CHUNK),
         TRAJ "/position/step", "create");
    LCHK(h->time = create_series(g, "time", H5T_IEEE_F64LE, 0, NULL, NULL, FRAME_CHUNK),
         TRAJ "/position/time", "create");
    LCHK(h->pos = create_series(g, "value", H5T_IEEE_F64LE, 2, inner, inner_chunk, 1),
         TRAJ "/position/value", "create");
    close_id(&g);

    /* box: attributes, and edges as a time-dependent element (MDAnalysis reads edges/value) */
    LCHK(g = H5Gcreate2(f, TRAJ "/box", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), TRAJ "/box",
         "create");
    const int32_t three = 3;
    LCHK(attr_write(g, "dimension", H5T_NATIVE_INT32, 0, &three), TRAJ "/box", "dimension");
    const char boundary[3][9] = {"periodic", "periodic", "periodic"};
    t = string_type(8);
    LCHK(attr_write(g, "boundary", t, 3, boundary), TRAJ "/box", "boundary");
    close_id(&t);
    close_id(&g);
    LCHK(g = create_element(f, TRAJ "/box/edges"), TRAJ "/box/edges", "create");
    const hsize_t e33c[2] = {3, 3};
    LCHK(h->edges = create_series(g, "value", H5T_IEEE_F64LE, 2, e33, e33c, EDGES_CHUNK),
         TRAJ "/box/edges/value", "create");
    h->edges_td = 1;
    h->edges_rank = 2;
    close_id(&g);

    if (flags & H5MD_VELOCITIES) {
        LCHK(g = create_element(f, TRAJ "/velocity"), TRAJ "/velocity", "create");
        LCHK(h->vel = create_series(g, "value", H5T_IEEE_F64LE, 2, inner, inner_chunk, 1),
             TRAJ "/velocity/value", "create");
        close_id(&g);
    }
    LCHK(g = create_element(f, TRAJ "/image"), TRAJ "/image", "create");
    LCHK(h->img = create_series(g, "value", H5T_STD_I32LE, 2, inner, inner_chunk, 1),
         TRAJ "/image/value", "create");
    close_id(&g);

    /* time-independent species and id, written once from the id-blocks */
    hid_t sp = H5Screate_simple(1, &n, NULL);
    LCHK(h->species = H5Dcreate2(f, TRAJ "/species", H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT,
                                 H5P_DEFAULT),
         TRAJ "/species", "create");
    LCHK(h->id =
             H5Dcreate2(f, TRAJ "/id", H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
         TRAJ "/id", "create");
    H5Sclose(sp);

    /* /observables: flat, one element per quantity, sampled with position */
    LCHK(g = H5Gcreate2(f, "/observables", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "/observables",
         "create");
    close_id(&g);
    for (int k = 0; k < H5MD_NOBS; ++k) {
        char path[128];
        snprintf(path, sizeof path, "/observables/%s", OBS_NAMES[k]);
        LCHK(g = create_element(f, path), path, "create");
        LCHK(h->obs[k] = create_series(g, "value", H5T_IEEE_F64LE, 0, NULL, NULL, FRAME_CHUNK),
             path, "create value");
        close_id(&g);
    }

    /* /parameters: everything needed to know how the file was made */
    LCHK(g = H5Gcreate2(f, "/parameters", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "/parameters",
         "create");
    LCHK(attr_write_str(g, "units", "lj"), "/parameters", "attribute units");
    LCHK(attr_write_str(g, "units_description", UNITS_DESCRIPTION), "/parameters",
         "attribute units_description");
    const int32_t nranks = par_size();
    LCHK(attr_write(g, "nranks", H5T_NATIVE_INT32, 0, &nranks), "/parameters", "attribute nranks");
    LCHK(attr_write_str(g, "basin_version", version), "/parameters", "attribute basin_version");
    LCHK(attr_write_str(g, "command_line", cmdline), "/parameters", "attribute command_line");
    /* The config can exceed the 64 KiB attribute limit of the default format: a dataset. */
    t = string_type(strlen(config));
    hid_t ssp = H5Screate(H5S_SCALAR), cfg = H5I_INVALID_HID;
    LCHK(cfg = H5Dcreate2(g, "config", t, ssp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
         "/parameters/config", "create");
    H5Sclose(ssp);
#undef LCHK
    /* Metadata above fails identically everywhere; raw writes might fail on one rank only, so
     * agree first and then let every rank make every transfer, recording the first failure. */
    if (!(rc = basin_error_agree(rc))) {
        const int64_t nb = h->hi - h->lo;
        for (int64_t i = 0; i < nb; ++i)
            ids[i] = h->lo + i;
        if (transfer(h, 1, cfg, t, 0, 0, 0, par_rank() == 0 ? 1 : 0, (void *)config) < 0)
            rc = h5x_fail(p, "/parameters/config", "write");
        if (transfer(h, 1, h->id, H5T_NATIVE_INT64, 0, 0, (hsize_t)h->lo, (hsize_t)nb, ids) < 0 &&
            !rc)
            rc = h5x_fail(p, TRAJ "/id", "write");
        if (transfer(h, 1, h->species, H5T_NATIVE_INT32, 0, 0, (hsize_t)h->lo, (hsize_t)nb,
                     (void *)species_block) < 0 &&
            !rc)
            rc = h5x_fail(p, TRAJ "/species", "write");
    }
    close_id(&cfg);
    close_id(&t);
    close_id(&g);
    return rc;
}

int h5md_create(const char *path, const H5mdMeta *meta, int64_t natoms,
                const int32_t *species_block, int flags, H5md **out) {
    *out = NULL;
    H5xQuiet q;
    h5x_quiet_on(&q);
    int rc = 0;
    H5md *h = NULL;
    char *version = NULL, *author = NULL, *config = NULL, *cmdline = NULL;
    int64_t *ids = NULL;
    const H5mdMeta empty = {0};
    if (!meta) meta = &empty;

    if (natoms < 1)
        rc = basin_error(BASIN_ERR_CONFIG, path, NULL, "cannot write a trajectory of %lld atoms",
                         (long long)natoms);
    else if (!(h = h5md_alloc(path)))
        rc = basin_error(BASIN_ERR_NOMEM, path, NULL, "no memory for the file handle");
    if ((rc = basin_error_agree(rc))) goto fail;

    const char *a = meta->author;
    if (!a || !*a) a = getenv("USER");
    if (!a || !*a) a = getenv("LOGNAME");
    if (!a || !*a) a = "unknown";
    if ((rc = bcast_string(meta->basin_version, &version)) || (rc = bcast_string(a, &author)) ||
        (rc = bcast_string(meta->config_text, &config)) ||
        (rc = bcast_string(meta->command_line, &cmdline)))
        goto fail;

    h->mode = MODE_WRITE;
    h->writable = 1;
    h->natoms = natoms;
    idblock_range(natoms, par_rank(), par_size(), &h->lo, &h->hi);
    rc = alloc_blocks(h, flags & H5MD_VELOCITIES);
    if (!rc) rc = BALLOC(ids, h->hi - h->lo);
    if ((rc = basin_error_agree(rc))) goto fail;

    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_mpio(fapl, par_comm(), MPI_INFO_NULL);
    /* Metadata written collectively: fewer small independent writes from rank 0 at flush. */
    H5Pset_coll_metadata_write(fapl, 1);
    h->file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    /* read the HDF5 message before the next API call clears the error stack */
    if (h->file < 0) rc = h5x_fail(path, NULL, "cannot create the file");
    H5Pclose(fapl);
    if ((rc = basin_error_agree(rc))) goto fail;

    rc = write_layout(h, version, author, config, cmdline, species_block, ids, flags);
    if ((rc = basin_error_agree(rc))) goto fail;
    if (H5Fflush(h->file, H5F_SCOPE_GLOBAL) < 0) rc = h5x_fail(path, NULL, "flush");
    if ((rc = basin_error_agree(rc))) goto fail;
    h->cap = 0;
    h->nframes = 0;
    *out = h;
    goto done;
fail:
    h5md_free(h);
done:
    free(ids);
    free(version);
    free(author);
    free(config);
    free(cmdline);
    h5x_quiet_off(&q);
    return rc;
}

int h5md_create_domain(const char *path, const H5mdMeta *meta, const Domain *d, int flags,
                       H5md **out) {
    *out = NULL;
    int64_t lo, hi;
    idblock_range(d->natoms, par_rank(), par_size(), &lo, &hi);
    int32_t *sp = NULL, *sb = NULL;
    int rc = BALLOC(sp, d->nlocal);
    if (!rc) rc = BALLOC(sb, hi - lo);
    if ((rc = basin_error_agree(rc))) goto done;
    /* Domain species are int; the file's are int32. */
    for (int i = 0; i < d->nlocal; ++i)
        sp[i] = (int32_t)d->species[i];
    const IdblockField fld = {sp, sb, (int)sizeof(int32_t), 1};
    if ((rc = idblock_move(d->natoms, d->nlocal, d->id, 1, &fld))) goto done;
    rc = h5md_create(path, meta, d->natoms, sb, flags, out);
done:
    free(sp);
    free(sb);
    return rc;
}

static int push_frame(H5md *h, int64_t step, double time) {
    if (h->nframes >= h->cap) {
        const int64_t cap = h->cap ? 2 * h->cap : 64;
        BCHK(BREALLOC(h->steps, cap));
        BCHK(BREALLOC(h->times, cap));
        h->cap = cap;
    }
    h->steps[h->nframes] = step;
    h->times[h->nframes] = time;
    ++h->nframes;
    for (int k = 0; k < H5MD_NOBS; ++k)
        h->obs_len[k] = (hsize_t)h->nframes;
    return 0;
}

/* Rank 0's frame scalars, so that every rank writes identical metadata and values. */
typedef struct FrameScalars {
    int64_t step;
    double time, box[3], obs[H5MD_NOBS];
} FrameScalars;

int h5md_append(H5md *h, const H5mdFrame *fr) {
    if (!h || h->mode != MODE_WRITE)
        return basin_error(BASIN_ERR_INTERNAL, h ? h->path : NULL, NULL,
                           "h5md_append on a file not open for writing");
    H5xQuiet q;
    h5x_quiet_on(&q);
    int rc = 0;
    const char *p = h->path;
    FrameScalars s = {fr->step, fr->time, {fr->box[0], fr->box[1], fr->box[2]}, {0}};
    memcpy(s.obs, fr->obs, sizeof s.obs);
    MPI_Bcast(&s, (int)sizeof s, MPI_BYTE, 0, par_comm());

    if (h->nframes > 0 && s.step <= h->steps[h->nframes - 1])
        rc = basin_error(BASIN_ERR_INTERNAL, p, TRAJ "/position/step",
                         "step %lld does not follow the last frame's step %lld", (long long)s.step,
                         (long long)h->steps[h->nframes - 1]);
    if (!rc && fr->n_owned > 0 && (!fr->x || !fr->id || (h->vel >= 0 && !fr->v)))
        rc = basin_error(BASIN_ERR_INTERNAL, p, NULL,
                         "h5md_append: missing positions, ids or velocities");
    /* Images default to zero; a scratch array keeps the record layout of idblock_move() the
     * same on every rank whether or not a rank passed images. */
    const int32_t *img = fr->image;
    if (!rc && !img && fr->n_owned > 0) {
        if (h->izero_cap < fr->n_owned) {
            free(h->izero);
            h->izero = NULL;
            h->izero_cap = 0;
            if (!(rc = BALLOC(h->izero, 3 * (int64_t)fr->n_owned))) h->izero_cap = fr->n_owned;
        }
        img = h->izero;
    }
    if ((rc = basin_error_agree(rc))) goto done;

    IdblockField fld[3] = {{fr->x, h->xb, 8, 3}, {img, h->ib, 4, 3}, {fr->v, h->vb, 8, 3}};
    rc = idblock_move_work(h->natoms, fr->n_owned, fr->id, h->vel >= 0 ? 3 : 2, fld, &h->work);
    if (rc) goto done;

#define ACHK(call, obj, what)                                                                      \
    do {                                                                                           \
        if ((call) < 0 && !rc) rc = h5x_fail(p, obj, what);                                        \
    } while (0)
    /* From here every rank runs every call, even after a failure, so none is left alone in a
     * collective; the first failure is recorded and agreed on at the end. */
    const hsize_t k = (hsize_t)h->nframes, n = (hsize_t)h->natoms;
    const hsize_t d1[1] = {k + 1}, d3[3] = {k + 1, n, 3}, de[3] = {k + 1, 3, 3};
    ACHK(H5Dset_extent(h->step, d1), TRAJ "/position/step", "extend");
    ACHK(H5Dset_extent(h->time, d1), TRAJ "/position/time", "extend");
    for (int o = 0; o < H5MD_NOBS; ++o)
        ACHK(H5Dset_extent(h->obs[o], d1), OBS_NAMES[o], "extend");
    ACHK(H5Dset_extent(h->edges, de), TRAJ "/box/edges/value", "extend");
    ACHK(H5Dset_extent(h->pos, d3), TRAJ "/position/value", "extend");
    if (h->vel >= 0) ACHK(H5Dset_extent(h->vel, d3), TRAJ "/velocity/value", "extend");
    ACHK(H5Dset_extent(h->img, d3), TRAJ "/image/value", "extend");

    /* Scalars of the frame: rank 0 alone (write_root). */
    const double edges[9] = {s.box[0], 0, 0, 0, s.box[1], 0, 0, 0, s.box[2]};
    ACHK(write_root(h, h->step, H5T_NATIVE_INT64, k, &s.step), TRAJ "/position/step", "write");
    ACHK(write_root(h, h->time, H5T_NATIVE_DOUBLE, k, &s.time), TRAJ "/position/time", "write");
    for (int o = 0; o < H5MD_NOBS; ++o)
        ACHK(write_root(h, h->obs[o], H5T_NATIVE_DOUBLE, k, &s.obs[o]), OBS_NAMES[o], "write");
    ACHK(write_root(h, h->edges, H5T_NATIVE_DOUBLE, k, edges), TRAJ "/box/edges/value", "write");

    const hsize_t lo = (hsize_t)h->lo, nb = (hsize_t)(h->hi - h->lo);
    ACHK(transfer(h, 1, h->pos, H5T_NATIVE_DOUBLE, 1, k, lo, nb, h->xb), TRAJ "/position/value",
         "write");
    if (h->vel >= 0)
        ACHK(transfer(h, 1, h->vel, H5T_NATIVE_DOUBLE, 1, k, lo, nb, h->vb), TRAJ "/velocity/value",
             "write");
    ACHK(transfer(h, 1, h->img, H5T_NATIVE_INT32, 1, k, lo, nb, h->ib), TRAJ "/image/value",
         "write");
    /* The frame counts as written only once it is on disk (crash safety, see the file top). */
    ACHK(H5Fflush(h->file, H5F_SCOPE_GLOBAL), NULL, "flush");
#undef ACHK
    if (!rc) rc = push_frame(h, s.step, s.time);
    rc = basin_error_agree(rc);
done:
    h5x_quiet_off(&q);
    return rc;
}

int h5md_append_frame(H5md *h, const Domain *d, int64_t step, double time,
                      const double obs[H5MD_NOBS]) {
    H5mdFrame f = {.step = step,
                   .time = time,
                   .box = {d->L, d->L, d->L},
                   .n_owned = d->nlocal,
                   .id = d->id,
                   .x = d->x,
                   .v = d->v,
                   .image = d->image};
    for (int k = 0; k < H5MD_NOBS; ++k)
        f.obs[k] = obs ? obs[k] : NAN;
    return h5md_append(h, &f);
}

/* ---- reader ---- */

/* Rank 0 only: missing file, directory, unreadable, no HDF5 signature. HDF5 looks for its
 * signature at offset 0, 512, 1024, 2048, ... (a user block may precede it). */
int h5x_precheck_file(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0)
        return basin_error(BASIN_ERR_IO, path, NULL, "%s",
                           errno == ENOENT ? "no such file" : strerror(errno));
    if (S_ISDIR(st.st_mode)) return basin_error(BASIN_ERR_IO, path, NULL, "is a directory");
    FILE *fp = fopen(path, "rb");
    if (!fp) return basin_error(BASIN_ERR_IO, path, NULL, "cannot read: %s", strerror(errno));
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    int found = 0;
    for (long off = 0; !found && off + 8 <= (long)st.st_size; off = off ? 2 * off : 512) {
        unsigned char b[8];
        if (fseek(fp, off, SEEK_SET) != 0 || fread(b, 1, 8, fp) != 8) break;
        found = memcmp(b, sig, 8) == 0;
    }
    fclose(fp);
    if (!found)
        return basin_error(BASIN_ERR_IO, path, NULL, "%s",
                           st.st_size == 0 ? "empty file, not an HDF5 file"
                                           : "not an HDF5 file (no HDF5 signature)");
    return 0;
}

static int dataset_shape(hid_t d, int *nd, hsize_t *dims) {
    *nd = 0;
    hid_t s = H5Dget_space(d);
    if (s < 0) return -1;
    *nd = H5Sget_simple_extent_ndims(s);
    if (*nd < 0 || *nd > H5S_MAX_RANK || H5Sget_simple_extent_dims(s, dims, NULL) < 0) {
        H5Sclose(s);
        return -1;
    }
    H5Sclose(s);
    return 0;
}

static int dataset_class(hid_t d) {
    hid_t t = H5Dget_type(d);
    if (t < 0) return -1;
    int c = (int)H5Tget_class(t);
    H5Tclose(t);
    return c;
}

/* Open <path> if it is a dataset; 0 absent, 1 opened, negative (message recorded) otherwise. */
static int open_dataset(H5md *h, const char *obj, hid_t *out) {
    const int ty = h5x_obj_type(h->file, obj);
    if (ty < 0) return 0;
    if (ty != H5O_TYPE_DATASET)
        return basin_error(BASIN_ERR_IO, h->path, obj, "expected a dataset, found a group");
    *out = H5Dopen2(h->file, obj, H5P_DEFAULT);
    if (*out < 0) return h5x_fail(h->path, obj, "cannot open");
    return 1;
}

/* A per-atom time-dependent value: [frames][N][3] with the class wanted; N = 0 learns N. */
static int check_atoms3(H5md *h, const char *obj, hid_t d, int want_class, int64_t *nframes) {
    int nd = 0;
    hsize_t dims[H5S_MAX_RANK] = {0};
    char got[128];
    if (dataset_shape(d, &nd, dims) < 0) return h5x_fail(h->path, obj, "cannot read the shape");
    h5x_fmt_dims(got, sizeof got, nd, dims);
    if (nd != 3 || dims[2] != 3 || dims[1] == 0 ||
        (h->natoms > 0 && dims[1] != (hsize_t)h->natoms)) {
        if (h->natoms > 0)
            return basin_error(BASIN_ERR_IO, h->path, obj,
                               "expected [frames][N][3] with N = %lld (from position), got %s",
                               (long long)h->natoms, got);
        return basin_error(BASIN_ERR_IO, h->path, obj, "expected [frames][N][3], got %s", got);
    }
    const int c = dataset_class(d);
    if (c != want_class)
        return basin_error(BASIN_ERR_IO, h->path, obj, "expected %s values",
                           want_class == H5T_FLOAT ? "floating-point" : "integer");
    if (h->natoms == 0) h->natoms = (int64_t)dims[1];
    *nframes = min64(*nframes, (int64_t)dims[0]);
    return 0;
}

/* A time-independent [N] integer dataset (species, id). */
static int check_atoms1(H5md *h, const char *obj, hid_t d) {
    int nd = 0;
    hsize_t dims[H5S_MAX_RANK] = {0};
    char got[128];
    if (dataset_shape(d, &nd, dims) < 0) return h5x_fail(h->path, obj, "cannot read the shape");
    h5x_fmt_dims(got, sizeof got, nd, dims);
    if (nd != 1 || dims[0] != (hsize_t)h->natoms)
        return basin_error(BASIN_ERR_IO, h->path, obj,
                           "expected [N] with N = %lld (from position), got %s",
                           (long long)h->natoms, got);
    if (dataset_class(d) != H5T_INTEGER)
        return basin_error(BASIN_ERR_IO, h->path, obj, "expected integer values");
    return 0;
}

/* Open and check every object of /particles/trajectory and /observables; sets natoms and
 * nframes. Metadata only: identical on every rank. */
static int validate(H5md *h) {
    const hid_t f = h->file;
    const char *p = h->path;
    if (h5x_obj_type(f, TRAJ) != H5O_TYPE_GROUP) {
        char found[512] = "";
        if (h5x_obj_type(f, "/particles") == H5O_TYPE_GROUP) {
            hid_t g = H5Gopen2(f, "/particles", H5P_DEFAULT);
            H5G_info_t gi;
            if (g >= 0 && H5Gget_info(g, &gi) >= 0) {
                size_t k = 0;
                for (hsize_t i = 0; i < gi.nlinks && i < 8 && k < sizeof found - 64; ++i) {
                    char name[64] = "";
                    H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name,
                                       H5P_DEFAULT);
                    k += (size_t)snprintf(found + k, sizeof found - k, "%s/particles/%s",
                                          k ? ", " : "", name);
                }
            }
            if (g >= 0) H5Gclose(g);
        }
        if (found[0])
            return basin_error(BASIN_ERR_IO, p, TRAJ,
                               "missing (found %s; basin reads the particles group named "
                               "'trajectory')",
                               found);
        return basin_error(BASIN_ERR_IO, p, TRAJ, "missing: not an H5MD trajectory");
    }
    int rc;
    if ((rc = open_dataset(h, TRAJ "/position/value", &h->pos)) < 0) return rc;
    if (rc == 0) return basin_error(BASIN_ERR_IO, p, TRAJ "/position/value", "missing");
    int64_t nf = INT64_MAX;
    BCHK(check_atoms3(h, TRAJ "/position/value", h->pos, H5T_FLOAT, &nf));

    /* step: explicit series [frames] or the fixed-interval scalar of H5MD */
    if ((rc = open_dataset(h, TRAJ "/position/step", &h->step)) < 0) return rc;
    if (rc == 0) return basin_error(BASIN_ERR_IO, p, TRAJ "/position/step", "missing");
    int nd = 0;
    hsize_t dims[H5S_MAX_RANK] = {0};
    char got[128];
    if (dataset_shape(h->step, &nd, dims) < 0 || dataset_class(h->step) != H5T_INTEGER || nd > 1) {
        h5x_fmt_dims(got, sizeof got, nd, dims);
        return basin_error(BASIN_ERR_IO, p, TRAJ "/position/step",
                           "expected an integer [frames] series or scalar, got %s", got);
    }
    h->step_fixed = nd == 0;
    if (nd == 1) nf = min64(nf, (int64_t)dims[0]);
    if ((rc = open_dataset(h, TRAJ "/position/time", &h->time)) < 0) return rc;
    if (rc == 1) {
        if (dataset_shape(h->time, &nd, dims) < 0 || nd != (h->step_fixed ? 0 : 1)) {
            h5x_fmt_dims(got, sizeof got, nd, dims);
            return basin_error(BASIN_ERR_IO, p, TRAJ "/position/time",
                               "expected the shape of step, got %s", got);
        }
        if (nd == 1) nf = min64(nf, (int64_t)dims[0]);
    }

    if (h5x_obj_type(f, TRAJ "/velocity") >= 0) {
        if ((rc = open_dataset(h, TRAJ "/velocity/value", &h->vel)) < 0) return rc;
        if (rc == 0) return basin_error(BASIN_ERR_IO, p, TRAJ "/velocity/value", "missing");
        BCHK(check_atoms3(h, TRAJ "/velocity/value", h->vel, H5T_FLOAT, &nf));
    }
    if (h5x_obj_type(f, TRAJ "/image") >= 0) {
        if ((rc = open_dataset(h, TRAJ "/image/value", &h->img)) < 0) return rc;
        if (rc == 0) return basin_error(BASIN_ERR_IO, p, TRAJ "/image/value", "missing");
        BCHK(check_atoms3(h, TRAJ "/image/value", h->img, H5T_INTEGER, &nf));
    }
    if ((rc = open_dataset(h, TRAJ "/species", &h->species)) < 0) return rc;
    if (rc == 1) BCHK(check_atoms1(h, TRAJ "/species", h->species));
    if ((rc = open_dataset(h, TRAJ "/id", &h->id)) < 0) return rc;
    if (rc == 1) BCHK(check_atoms1(h, TRAJ "/id", h->id));

    /* box/edges: time-dependent [frames][3] or [frames][3][3], or fixed [3] or [3][3] */
    const int et = h5x_obj_type(f, TRAJ "/box/edges");
    if (et >= 0) {
        const char *eo = et == H5O_TYPE_GROUP ? TRAJ "/box/edges/value" : TRAJ "/box/edges";
        if ((rc = open_dataset(h, eo, &h->edges)) < 0) return rc;
        if (rc == 0) return basin_error(BASIN_ERR_IO, p, eo, "missing");
        h->edges_td = et == H5O_TYPE_GROUP;
        if (dataset_shape(h->edges, &nd, dims) < 0) return h5x_fail(p, eo, "cannot read shape");
        const int inner = nd - h->edges_td;
        const hsize_t *in = dims + h->edges_td;
        h5x_fmt_dims(got, sizeof got, nd, dims);
        if (!((inner == 1 && in[0] == 3) || (inner == 2 && in[0] == 3 && in[1] == 3)))
            return basin_error(BASIN_ERR_IO, p, eo, "expected %s, got %s",
                               h->edges_td ? "[frames][3] or [frames][3][3]" : "[3] or [3][3]",
                               got);
        h->edges_rank = inner;
        if (h->edges_td) nf = min64(nf, (int64_t)dims[0]);
    }

    for (int k = 0; k < H5MD_NOBS; ++k) {
        char obj[128];
        snprintf(obj, sizeof obj, "/observables/%s/value", OBS_NAMES[k]);
        if ((rc = open_dataset(h, obj, &h->obs[k])) < 0) return rc;
        if (rc == 0) continue;
        if (dataset_shape(h->obs[k], &nd, dims) < 0 || nd != 1) {
            h5x_fmt_dims(got, sizeof got, nd, dims);
            return basin_error(BASIN_ERR_IO, p, obj, "expected [frames], got %s", got);
        }
        h->obs_len[k] = dims[0];
    }
    h->nframes = nf;
    return 0;
}

/* Collective: every rank reads the step and time series of the first nframes frames. */
static int read_series(H5md *h) {
    const int64_t nf = h->nframes;
    h->cap = nf > 0 ? nf : 1;
    BCHK(BALLOC(h->steps, h->cap));
    BCHK(BALLOC(h->times, h->cap));
    int rc = 0;
    if (h->step_fixed) {
        int64_t inc = 0, off = 0;
        double dt = NAN, t0 = 0.0;
        rc = read_root_bcast(h, h->step, H5T_NATIVE_INT64, 0, 0, 0, 1, &inc, sizeof inc,
                             TRAJ "/position/step");
        if (H5Aexists(h->step, "offset") > 0) {
            hid_t a = H5Aopen(h->step, "offset", H5P_DEFAULT);
            H5Aread(a, H5T_NATIVE_INT64, &off);
            H5Aclose(a);
        }
        if (h->time >= 0) {
            const int r2 = read_root_bcast(h, h->time, H5T_NATIVE_DOUBLE, 0, 0, 0, 1, &dt,
                                           sizeof dt, TRAJ "/position/time");
            if (!rc) rc = r2;
            if (H5Aexists(h->time, "offset") > 0) {
                hid_t a = H5Aopen(h->time, "offset", H5P_DEFAULT);
                H5Aread(a, H5T_NATIVE_DOUBLE, &t0);
                H5Aclose(a);
            }
        }
        for (int64_t i = 0; i < nf; ++i) {
            h->steps[i] = off + i * inc;
            h->times[i] = t0 + (double)i * dt;
        }
        return rc;
    }
    /* Rank 0 reads the series (a few bytes per frame) and broadcasts them. */
    for (int which = 0; which < 2 && !rc; ++which) {
        hid_t d = which ? h->time : h->step;
        if (d < 0) {
            for (int64_t i = 0; i < nf; ++i)
                h->times[i] = NAN;
            continue;
        }
        rc = read_root_bcast(h, d, which ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT64, 0, 0, 0,
                             (hsize_t)nf, which ? (void *)h->times : (void *)h->steps,
                             (size_t)nf * 8, which ? TRAJ "/position/time" : TRAJ "/position/step");
    }
    return rc;
}

static int open_file(const char *path, int writable, H5md **out) {
    *out = NULL;
    int rc = 0;
    if (par_rank() == 0) rc = h5x_precheck_file(path);
    if ((rc = basin_error_agree(rc))) return rc;
    H5md *h = h5md_alloc(path);
    if (!h) rc = basin_error(BASIN_ERR_NOMEM, path, NULL, "no memory for the file handle");
    if ((rc = basin_error_agree(rc))) return rc;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_mpio(fapl, par_comm(), MPI_INFO_NULL);
    if (writable) H5Pset_coll_metadata_write(fapl, 1);
    h->writable = writable;
    h->file = H5Fopen(path, writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl);
    if (h->file < 0) rc = h5x_fail(path, NULL, "cannot open (truncated or corrupt HDF5 file?)");
    H5Pclose(fapl);
    if (!(rc = basin_error_agree(rc))) rc = basin_error_agree(validate(h));
    if (!rc) rc = basin_error_agree(read_series(h));
    if (!rc) idblock_range(h->natoms, par_rank(), par_size(), &h->lo, &h->hi);
    if (rc) {
        h5md_free(h);
        return rc;
    }
    *out = h;
    return 0;
}

int h5md_open_read(const char *path, H5md **out) {
    H5xQuiet q;
    h5x_quiet_on(&q);
    int rc = open_file(path, 0, out);
    if (!rc) (*out)->mode = MODE_READ;
    h5x_quiet_off(&q);
    return rc;
}

/* Appending needs exactly what h5md_create() makes: a basin file. */
static int check_appendable(H5md *h) {
    const char *p = h->path;
    if (h->step_fixed || h->time < 0 || h->img < 0 || h->species < 0 || h->id < 0 || h->edges < 0 ||
        !h->edges_td || h->edges_rank != 2)
        return basin_error(BASIN_ERR_IO, p, TRAJ,
                           "not a basin trajectory (explicit step/time, image, species, id and "
                           "time-dependent [frames][3][3] box edges are needed to append)");
    for (int k = 0; k < H5MD_NOBS; ++k)
        if (h->obs[k] < 0)
            return basin_error(BASIN_ERR_IO, p, "/observables", "missing %s: cannot append",
                               OBS_NAMES[k]);
    char ks[64], kt[64], k2[64];
    if (h5x_obj_key(h->file, TRAJ "/position/step", ks, sizeof ks) < 0 ||
        h5x_obj_key(h->file, TRAJ "/position/time", kt, sizeof kt) < 0)
        return h5x_fail(p, TRAJ "/position", "cannot inspect step/time");
    /* elements 0..2: box/edges, image, velocity; then the observables */
    for (int e = 0; e < 3 + H5MD_NOBS; ++e) {
        char elem[128], path[160];
        if (e == 2 && h->vel < 0) continue;
        if (e < 3)
            snprintf(elem, sizeof elem, TRAJ "/%s",
                     e == 0   ? "box/edges"
                     : e == 1 ? "image"
                              : "velocity");
        else
            snprintf(elem, sizeof elem, "/observables/%s", OBS_NAMES[e - 3]);
        for (int w = 0; w < 2; ++w) {
            snprintf(path, sizeof path, "%s/%s", elem, w ? "time" : "step");
            if (h5x_obj_key(h->file, path, k2, sizeof k2) < 0 || strcmp(k2, w ? kt : ks) != 0)
                return basin_error(BASIN_ERR_IO, p, path,
                                   "not a hard link to position's %s: cannot append",
                                   w ? "time" : "step");
        }
    }
    return 0;
}

int h5md_open_append(const char *path, int64_t last_step_to_keep, H5md **out) {
    H5xQuiet q;
    h5x_quiet_on(&q);
    H5md *h = NULL;
    int rc = open_file(path, 1, &h);
    if (rc) goto done;
    rc = basin_error_agree(check_appendable(h));
    if (rc) goto fail;
    /* Steps increase, so the kept frames are a prefix. */
    int64_t keep = 0;
    while (keep < h->nframes && h->steps[keep] <= last_step_to_keep)
        ++keep;
    h->nframes = keep;
    for (int o = 0; o < H5MD_NOBS; ++o)
        h->obs_len[o] = (hsize_t)keep;
    h->mode = MODE_WRITE;

    /* Shrink everything to the kept frames, also datasets longer than nframes after a crash. */
    const hsize_t n = (hsize_t)h->natoms, k = (hsize_t)keep;
    const hsize_t d1[1] = {k}, d3[3] = {k, n, 3}, de[3] = {k, 3, 3};
    int st = 0;
    st |= H5Dset_extent(h->step, d1) < 0;
    st |= H5Dset_extent(h->time, d1) < 0;
    for (int o = 0; o < H5MD_NOBS; ++o)
        st |= H5Dset_extent(h->obs[o], d1) < 0;
    st |= H5Dset_extent(h->edges, de) < 0;
    st |= H5Dset_extent(h->pos, d3) < 0;
    if (h->vel >= 0) st |= H5Dset_extent(h->vel, d3) < 0;
    st |= H5Dset_extent(h->img, d3) < 0;
    st |= H5Fflush(h->file, H5F_SCOPE_GLOBAL) < 0;
    if (st) rc = h5x_fail(path, NULL, "cannot drop the frames after the restart step");
    if (!rc) rc = alloc_blocks(h, h->vel >= 0);
    if ((rc = basin_error_agree(rc))) goto fail;
    *out = h;
    goto done;
fail:
    h5md_free(h);
done:
    h5x_quiet_off(&q);
    return rc;
}

int h5md_close(H5md **hp) {
    if (!hp || !*hp) return 0;
    H5md *h = *hp;
    *hp = NULL;
    H5xQuiet q;
    h5x_quiet_on(&q);
    int rc = 0;
    if (h->mode == MODE_WRITE && h->file >= 0 && H5Fflush(h->file, H5F_SCOPE_GLOBAL) < 0)
        rc = h5x_fail(h->path, NULL, "flush at close");
    hid_t *ids[] = {&h->step, &h->time, &h->pos, &h->vel, &h->img, &h->edges, &h->species, &h->id};
    for (size_t k = 0; k < sizeof ids / sizeof *ids; ++k)
        close_id(ids[k]);
    for (int k = 0; k < H5MD_NOBS; ++k)
        close_id(&h->obs[k]);
    table_free(h);
    if (h->file >= 0 && H5Fclose(h->file) < 0 && !rc) rc = h5x_fail(h->path, NULL, "close");
    h->file = H5I_INVALID_HID;
    h5md_free(h);
    h5x_quiet_off(&q);
    return basin_error_agree(rc);
}

int64_t h5md_natoms(const H5md *h) {
    return h->natoms;
}
int64_t h5md_nframes(const H5md *h) {
    return h->nframes;
}
int h5md_has_velocities(const H5md *h) {
    return h->vel >= 0;
}
int h5md_has_images(const H5md *h) {
    return h->img >= 0;
}
int h5md_has_species(const H5md *h) {
    return h->species >= 0;
}
int64_t h5md_step(const H5md *h, int64_t i) {
    return i >= 0 && i < h->nframes ? h->steps[i] : -1;
}
double h5md_time(const H5md *h, int64_t i) {
    return i >= 0 && i < h->nframes ? h->times[i] : NAN;
}
int h5md_last_transfer_collective(const H5md *h) {
    H5D_mpio_actual_io_mode_t m = H5D_MPIO_NO_COLLECTIVE;
    if (!h || H5Pget_mpio_actual_io_mode(h->dxpl, &m) < 0) return -1;
    return m != H5D_MPIO_NO_COLLECTIVE && m != H5D_MPIO_CHUNK_INDEPENDENT;
}

void h5md_block(const H5md *h, int64_t *lo, int64_t *hi) {
    *lo = h->lo;
    *hi = h->hi;
}
const char *h5md_observable_name(int k) {
    return k >= 0 && k < H5MD_NOBS ? OBS_NAMES[k] : NULL;
}

static int check_frame(const H5md *h, int64_t frame) {
    if (frame < 0 || frame >= h->nframes)
        return basin_error(BASIN_ERR_USAGE, h->path, NULL, "frame %lld out of range [0, %lld)",
                           (long long)frame, (long long)h->nframes);
    return 0;
}

static int read_box(H5md *h, int64_t frame, double box[3]) {
    box[0] = box[1] = box[2] = NAN;
    if (h->edges < 0) return 0;
    double e[9];
    const hsize_t cnt = h->edges_rank == 2 ? 9 : 3;
    BCHK(read_root_bcast(h, h->edges, H5T_NATIVE_DOUBLE, h->edges_td, (hsize_t)frame, 0, ALL, e,
                         cnt * sizeof(double), TRAJ "/box/edges"));
    for (int k = 0; k < 3; ++k)
        box[k] = cnt == 9 ? e[4 * k] : e[k];
    if (cnt == 9)
        for (int i = 0; i < 3; ++i)
            for (int j = 0; j < 3; ++j)
                if (i != j && e[3 * i + j] != 0.0)
                    return basin_error(BASIN_ERR_IO, h->path, TRAJ "/box/edges",
                                       "triclinic box (off-diagonal edges), basin reads "
                                       "cuboid boxes only");
    return 0;
}

static int read_frame_range(H5md *h, int64_t frame, int64_t lo, int64_t hi, double *x, double *v,
                            int32_t *image, double box[3]) {
    int rc = 0;
    if (!(rc = check_frame(h, frame)) && v && h->vel < 0)
        rc = basin_error(BASIN_ERR_IO, h->path, TRAJ "/velocity", "missing (no velocities)");
    if (rc) return basin_error_agree(rc);
    H5xQuiet q;
    h5x_quiet_on(&q);
    const hsize_t k = (hsize_t)frame, l = (hsize_t)lo, nb = (hsize_t)(hi - lo);
    /* Every rank takes part in every read, whichever pointers it passed (collective I/O). */
    int any[3] = {x != NULL, v != NULL, image != NULL};
    MPI_Allreduce(MPI_IN_PLACE, any, 3, MPI_INT, MPI_MAX, par_comm());
    if (any[0] && transfer(h, 0, h->pos, H5T_NATIVE_DOUBLE, 1, k, l, x ? nb : 0, x) < 0)
        rc = h5x_fail(h->path, TRAJ "/position/value", "read");
    if (any[1] && transfer(h, 0, h->vel, H5T_NATIVE_DOUBLE, 1, k, l, v ? nb : 0, v) < 0 && !rc)
        rc = h5x_fail(h->path, TRAJ "/velocity/value", "read");
    if (any[2] && h->img >= 0 &&
        transfer(h, 0, h->img, H5T_NATIVE_INT32, 1, k, l, image ? nb : 0, image) < 0 && !rc)
        rc = h5x_fail(h->path, TRAJ "/image/value", "read");
    if (image && h->img < 0) memset(image, 0, 3 * nb * sizeof *image);
    const int rb = read_box(h, frame, box); /* collective: every rank reads the edges */
    if (!rc) rc = rb;
    h5x_quiet_off(&q);
    return basin_error_agree(rc);
}

int h5md_read_frame(H5md *h, int64_t frame, double *x, double *v, int32_t *image, double box[3]) {
    double scratch[3];
    return read_frame_range(h, frame, h->lo, h->hi, x, v, image, box ? box : scratch);
}

int h5md_read_frame_global(H5md *h, int64_t frame, double *x, double *v, int32_t *image,
                           int32_t *species, double box[3]) {
    double scratch[3];
    BCHK(read_frame_range(h, frame, 0, h->natoms, x, v, image, box ? box : scratch));
    if (!species) return 0;
    H5xQuiet q;
    h5x_quiet_on(&q);
    int rc = 0;
    if (h->species < 0)
        memset(species, 0, (size_t)h->natoms * sizeof *species);
    else if (transfer(h, 0, h->species, H5T_NATIVE_INT32, 0, 0, 0, (hsize_t)h->natoms, species) < 0)
        rc = h5x_fail(h->path, TRAJ "/species", "read");
    h5x_quiet_off(&q);
    return basin_error_agree(rc);
}

int h5md_read_species(H5md *h, int32_t *species) {
    const hsize_t nb = (hsize_t)(h->hi - h->lo);
    if (h->species < 0) {
        memset(species, 0, nb * sizeof *species);
        return 0;
    }
    H5xQuiet q;
    h5x_quiet_on(&q);
    int rc = 0;
    if (transfer(h, 0, h->species, H5T_NATIVE_INT32, 0, 0, (hsize_t)h->lo, nb, species) < 0)
        rc = h5x_fail(h->path, TRAJ "/species", "read");
    h5x_quiet_off(&q);
    return basin_error_agree(rc);
}

int h5md_read_observables(H5md *h, int64_t frame, double obs[H5MD_NOBS]) {
    BCHK(basin_error_agree(check_frame(h, frame)));
    H5xQuiet q;
    h5x_quiet_on(&q);
    /* Rank 0 reads the five scalars, one broadcast (as for step, time and box). */
    int rc = 0;
    for (int k = 0; k < H5MD_NOBS; ++k) {
        obs[k] = NAN;
        if (par_rank() != 0 || h->obs[k] < 0 || (hsize_t)frame >= h->obs_len[k]) continue;
        if (transfer_with(h->dxpl_ind, 0, h->obs[k], H5T_NATIVE_DOUBLE, 1, (hsize_t)frame, 0, ALL,
                          &obs[k]) < 0 &&
            !rc)
            rc = h5x_fail(h->path, OBS_NAMES[k], "read");
    }
    MPI_Bcast(obs, H5MD_NOBS, MPI_DOUBLE, 0, par_comm());
    h5x_quiet_off(&q);
    return basin_error_agree(rc);
}

/* ---- row tables (h5md_table_*) ----
 *
 * A table is a group of 1D datasets of equal length, one per column, extendible and chunked
 * FRAME_CHUNK rows per chunk, like the observables' step/time series. It holds data that is
 * sampled on its own clock (the inherent-structure series of is.h5 has a row per quench, while
 * its particle frames are only the event snapshots), which H5MD's /observables cannot hold
 * without MDAnalysis misreading it as per-frame data, so tables live outside /observables.
 * Crash safety as for frames: extend, write (rank 0), flush; a reader trusts the shortest
 * column. */
struct H5mdTable {
    hid_t group;
    int ncols;
    hid_t col[H5MD_TABLE_MAX_COLS];
    int type[H5MD_TABLE_MAX_COLS];
    char name[H5MD_TABLE_MAX_COLS][64];
    int64_t rows;
};

static void table_free(H5md *h) {
    struct H5mdTable *t = h->table;
    if (!t) return;
    for (int c = 0; c < t->ncols; ++c)
        close_id(&t->col[c]);
    close_id(&t->group);
    free(t);
    h->table = NULL;
}

static int table_check_cols(const H5md *h, const char *group, int ncols, const H5mdColumn *cols) {
    if (ncols < 1 || ncols > H5MD_TABLE_MAX_COLS || strcmp(cols[0].name, "step") != 0 ||
        cols[0].type != H5MD_COL_I64)
        return basin_error(BASIN_ERR_INTERNAL, h->path, group,
                           "a table needs 1..%d columns, the first an int64 \"step\"",
                           H5MD_TABLE_MAX_COLS);
    for (int c = 0; c < ncols; ++c)
        if (strlen(cols[c].name) >= 64)
            return basin_error(BASIN_ERR_INTERNAL, h->path, group, "column name too long");
    return 0;
}

/* Collective. Check the request and attach an empty table handle to h (for create or open). */
static int table_new(H5md *h, const char *group, int ncols, const H5mdColumn *cols,
                     struct H5mdTable **out) {
    *out = NULL;
    int rc = 0;
    if (!h || h->mode != MODE_WRITE || h->table)
        rc = basin_error(BASIN_ERR_INTERNAL, h ? h->path : NULL, group,
                         "a table needs a file open for writing without one");
    if (!rc) rc = table_check_cols(h, group, ncols, cols);
    struct H5mdTable *t = rc ? NULL : calloc(1, sizeof *t);
    if (!rc && !t) rc = basin_error(BASIN_ERR_NOMEM, h->path, group, "no memory for a table");
    if ((rc = basin_error_agree(rc))) return rc;
    t->ncols = ncols;
    for (int c = 0; c < H5MD_TABLE_MAX_COLS; ++c)
        t->col[c] = H5I_INVALID_HID;
    h->table = t;
    *out = t;
    return 0;
}

static hid_t col_type(int type) {
    return type == H5MD_COL_I64 ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE;
}

int h5md_table_create(H5md *h, const char *group, int ncols, const H5mdColumn *cols) {
    H5xQuiet q;
    h5x_quiet_on(&q);
    struct H5mdTable *t = NULL;
    int rc = table_new(h, group, ncols, cols, &t);
    if (rc) goto done;
    t->group = H5Gcreate2(h->file, group, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (t->group < 0) rc = h5x_fail(h->path, group, "cannot create the group");
    for (int c = 0; c < ncols && !rc; ++c) {
        t->type[c] = cols[c].type;
        snprintf(t->name[c], sizeof t->name[c], "%s", cols[c].name);
        const hsize_t inner = 0;
        t->col[c] = create_series(t->group, cols[c].name, col_type(cols[c].type), 0, &inner, &inner,
                                  FRAME_CHUNK);
        if (t->col[c] < 0) {
            rc = h5x_fail(h->path, cols[c].name, "cannot create the column");
        } else if (cols[c].description &&
                   attr_write_str(t->col[c], "description", cols[c].description) < 0) {
            rc = h5x_fail(h->path, cols[c].name, "cannot write the description");
        }
    }
    if (!rc && H5Fflush(h->file, H5F_SCOPE_GLOBAL) < 0) rc = h5x_fail(h->path, group, "flush");
    rc = basin_error_agree(rc);
    if (rc) table_free(h);
done:
    h5x_quiet_off(&q);
    return rc;
}

/* Number of rows every column holds (the shortest one). */
static int table_length(const H5md *h, const struct H5mdTable *t, int64_t *rows) {
    int64_t n = INT64_MAX;
    for (int c = 0; c < t->ncols; ++c) {
        hid_t sp = H5Dget_space(t->col[c]);
        hsize_t dim = 0;
        const int nd = sp < 0 ? -1 : H5Sget_simple_extent_ndims(sp);
        if (nd == 1) H5Sget_simple_extent_dims(sp, &dim, NULL);
        if (sp >= 0) H5Sclose(sp);
        if (nd != 1)
            return basin_error(BASIN_ERR_IO, h->path, t->name[c], "not a one-dimensional column");
        if ((int64_t)dim < n) n = (int64_t)dim;
    }
    *rows = n;
    return 0;
}

int h5md_table_open(H5md *h, const char *group, int ncols, const H5mdColumn *cols,
                    int64_t last_step_to_keep) {
    H5xQuiet q;
    h5x_quiet_on(&q);
    int64_t *steps = NULL;
    struct H5mdTable *t = NULL;
    int rc = table_new(h, group, ncols, cols, &t);
    if (rc) goto done;
    if (h5x_obj_type(h->file, group) != H5O_TYPE_GROUP)
        rc = basin_error(BASIN_ERR_IO, h->path, group, "no such table group");
    if (!rc && (t->group = H5Gopen2(h->file, group, H5P_DEFAULT)) < 0)
        rc = h5x_fail(h->path, group, "cannot open the group");
    for (int c = 0; c < ncols && !rc; ++c) {
        t->type[c] = cols[c].type;
        snprintf(t->name[c], sizeof t->name[c], "%s", cols[c].name);
        if (H5Lexists(t->group, cols[c].name, H5P_DEFAULT) <= 0)
            rc = basin_error(BASIN_ERR_IO, h->path, group, "column %s is missing", cols[c].name);
        else if ((t->col[c] = H5Dopen2(t->group, cols[c].name, H5P_DEFAULT)) < 0)
            rc = h5x_fail(h->path, cols[c].name, "cannot open the column");
    }
    int64_t n = 0;
    if (!rc) rc = table_length(h, t, &n);
    if ((rc = basin_error_agree(rc))) goto fail;
    rc = BALLOC(steps, n > 0 ? n : 1);
    if ((rc = basin_error_agree(rc))) goto fail;
    /* a writable file: every rank reads, collectively (see read_root_bcast) */
    if (n > 0) {
        hid_t fs = H5Dget_space(t->col[0]);
        const hsize_t start = 0, cnt = (hsize_t)n;
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, &start, NULL, &cnt, NULL);
        hid_t ms = H5Screate_simple(1, &cnt, NULL);
        if (H5Dread(t->col[0], H5T_NATIVE_INT64, ms, fs, h->dxpl, steps) < 0)
            rc = h5x_fail(h->path, "step", "read");
        H5Sclose(ms);
        H5Sclose(fs);
    }
    if ((rc = basin_error_agree(rc))) goto fail;
    int64_t keep = 0;
    while (keep < n && steps[keep] <= last_step_to_keep)
        ++keep;
    int st = 0;
    const hsize_t d1 = (hsize_t)keep;
    for (int c = 0; c < ncols; ++c)
        st |= H5Dset_extent(t->col[c], &d1) < 0;
    st |= H5Fflush(h->file, H5F_SCOPE_GLOBAL) < 0;
    if (st) rc = h5x_fail(h->path, group, "cannot drop the rows after the restart step");
    t->rows = keep;
    if ((rc = basin_error_agree(rc))) goto fail;
    goto done;
fail:
    table_free(h);
done:
    free(steps);
    h5x_quiet_off(&q);
    return rc;
}

int h5md_table_append(H5md *h, const double *row) {
    struct H5mdTable *t = h ? h->table : NULL;
    if (!t || h->mode != MODE_WRITE)
        return basin_error(BASIN_ERR_INTERNAL, h ? h->path : NULL, NULL,
                           "h5md_table_append without an open table");
    H5xQuiet q;
    h5x_quiet_on(&q);
    int rc = 0;
    double v[H5MD_TABLE_MAX_COLS];
    memcpy(v, row, (size_t)t->ncols * sizeof(double));
    MPI_Bcast(v, t->ncols, MPI_DOUBLE, 0, par_comm()); /* rank 0's row everywhere */
    const hsize_t k = (hsize_t)t->rows, d1 = k + 1;
    for (int c = 0; c < t->ncols; ++c)
        if (H5Dset_extent(t->col[c], &d1) < 0 && !rc) rc = h5x_fail(h->path, t->name[c], "extend");
    for (int c = 0; c < t->ncols; ++c) {
        const int64_t iv = (int64_t)v[c];
        const void *p = t->type[c] == H5MD_COL_I64 ? (const void *)&iv : (const void *)&v[c];
        if (write_root(h, t->col[c], col_type(t->type[c]), k, p) < 0 && !rc)
            rc = h5x_fail(h->path, t->name[c], "write");
    }
    if (H5Fflush(h->file, H5F_SCOPE_GLOBAL) < 0 && !rc) rc = h5x_fail(h->path, NULL, "flush");
    if (!rc) ++t->rows;
    h5x_quiet_off(&q);
    return basin_error_agree(rc);
}

int64_t h5md_table_rows(const H5md *h) {
    return h && h->table ? h->table->rows : 0;
}

int h5md_table_read(H5md *h, const char *group, const char *name, double **out, int64_t *n) {
    *out = NULL;
    *n = 0;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", group, name);
    H5xQuiet q;
    h5x_quiet_on(&q);
    int rc = 0;
    hid_t d = H5I_INVALID_HID;
    if (h5x_obj_type(h->file, path) != H5O_TYPE_DATASET)
        rc = basin_error(BASIN_ERR_IO, h->path, path, "no such column");
    else if ((d = H5Dopen2(h->file, path, H5P_DEFAULT)) < 0)
        rc = h5x_fail(h->path, path, "cannot open");
    hsize_t dim = 0;
    if (!rc) {
        hid_t sp = H5Dget_space(d);
        if (H5Sget_simple_extent_ndims(sp) != 1)
            rc = basin_error(BASIN_ERR_IO, h->path, path, "not a one-dimensional column");
        else
            H5Sget_simple_extent_dims(sp, &dim, NULL);
        H5Sclose(sp);
    }
    if (!rc) rc = BALLOC(*out, dim > 0 ? dim : 1);
    if ((rc = basin_error_agree(rc))) goto done;
    if (dim > 0)
        rc = read_root_bcast(h, d, H5T_NATIVE_DOUBLE, 0, 0, 0, ALL, *out, (size_t)dim * 8, path);
    if (!rc) *n = (int64_t)dim;
done:
    close_id(&d);
    if (rc) {
        free(*out);
        *out = NULL;
    }
    h5x_quiet_off(&q);
    return basin_error_agree(rc);
}

int h5md_table_attr_write(H5md *h, const char *name, double value) {
    struct H5mdTable *t = h ? h->table : NULL;
    if (!t)
        return basin_error(BASIN_ERR_INTERNAL, h ? h->path : NULL, name,
                           "h5md_table_attr_write without an open table");
    H5xQuiet q;
    h5x_quiet_on(&q);
    MPI_Bcast(&value, 1, MPI_DOUBLE, 0, par_comm());
    int rc = 0;
    /* a reopened table keeps its attributes: overwrite in place */
    if (H5Aexists(t->group, name) > 0 && H5Adelete(t->group, name) < 0)
        rc = h5x_fail(h->path, name, "cannot replace the attribute");
    if (!rc && attr_write(t->group, name, H5T_NATIVE_DOUBLE, 0, &value) < 0)
        rc = h5x_fail(h->path, name, "cannot write the attribute");
    h5x_quiet_off(&q);
    return basin_error_agree(rc);
}

int h5md_table_attr_read(H5md *h, const char *group, const char *name, double *value) {
    H5xQuiet q;
    h5x_quiet_on(&q);
    int rc = 0;
    *value = NAN;
    if (par_rank() == 0) {
        hid_t g = H5I_INVALID_HID, a = H5I_INVALID_HID;
        if (h5x_obj_type(h->file, group) != H5O_TYPE_GROUP)
            rc = basin_error(BASIN_ERR_IO, h->path, group, "no such table group");
        else if ((g = H5Gopen2(h->file, group, H5P_DEFAULT)) < 0)
            rc = h5x_fail(h->path, group, "cannot open");
        else if (H5Aexists(g, name) <= 0)
            rc = basin_error(BASIN_ERR_IO, h->path, group, "attribute %s is missing", name);
        else if ((a = H5Aopen(g, name, H5P_DEFAULT)) < 0 ||
                 H5Aread(a, H5T_NATIVE_DOUBLE, value) < 0)
            rc = h5x_fail(h->path, name, "cannot read the attribute");
        close_id(&a);
        close_id(&g);
    }
    MPI_Bcast(value, 1, MPI_DOUBLE, 0, par_comm());
    h5x_quiet_off(&q);
    return basin_error_agree(rc);
}

int h5md_read_config_text(H5md *h, char **out) {
    *out = NULL;
    H5xQuiet q;
    h5x_quiet_on(&q);
    int rc = 0;
    char *buf = NULL;
    if (par_rank() == 0) {
        hid_t d = H5I_INVALID_HID, t = H5I_INVALID_HID, mt = H5I_INVALID_HID;
        if (h5x_obj_type(h->file, "/parameters/config") != H5O_TYPE_DATASET)
            rc = basin_error(BASIN_ERR_IO, h->path, "/parameters/config",
                             "no stored configuration (not written by basin?)");
        else if ((d = H5Dopen2(h->file, "/parameters/config", H5P_DEFAULT)) < 0 ||
                 (t = H5Dget_type(d)) < 0 || H5Tget_class(t) != H5T_STRING ||
                 H5Tis_variable_str(t) > 0)
            rc = basin_error(BASIN_ERR_IO, h->path, "/parameters/config",
                             "not a fixed-length string");
        if (!rc) {
            const size_t sz = H5Tget_size(t);
            rc = basin_calloc((void **)&buf, sz + 1, 1, "config text");
            mt = H5Tcopy(H5T_C_S1);
            H5Tset_size(mt, sz + 1);
            H5Tset_cset(mt, H5Tget_cset(t));
            if (!rc && H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
                rc = h5x_fail(h->path, "/parameters/config", "read");
        }
        close_id(&mt);
        close_id(&t);
        close_id(&d);
    }
    h5x_quiet_off(&q);
    rc = basin_error_agree(rc);
    if (!rc) rc = bcast_string(buf, out);
    free(buf);
    return rc;
}
