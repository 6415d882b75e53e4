/* The modes file (layout in docs/modes.md), written collectively with the MPI-IO driver.
 *
 * - Eigenvectors are a [nmodes][3N] dataset: mode k is row k, contiguous on disk, so a reader
 *   that wants a few modes (lifetime projections, plots, h5py `f["modes/eigenvectors"][k]`)
 *   reads contiguous bytes, and the 3N components are in atom-id order (3 id + alpha).
 * - Each rank writes its local block-cyclic part in place: the set of global rows a rank owns
 *   is a regular pattern (start p nb, stride P nb, block nb) plus possibly one shorter last
 *   block, so its part of a column range is the union of at most 4 regular 2D hyperslabs. The
 *   local storage is column-major with columns = modes, which read as a row-major
 *   [local cols][lld] array is exactly mode-major order: a memory hyperslab of that shape
 *   matches the file selection element by element (both are traversed in increasing mode,
 *   then increasing row, because local-to-global index maps are increasing).
 * - Columns go in rounds of whole block cycles (multiples of nb * npcol), sized so that no
 *   rank moves more than ~512 MiB in one H5Dwrite (HDF5 1.10 and MPI-IO count in int); every
 *   rank makes the same number of collective calls, with an empty selection when it has
 *   nothing in a round.
 * - Per-mode arrays and the vDOS are identical on every rank; rank 0 writes them, the others
 *   join each collective H5Dwrite with an empty selection.
 * - Positions and species go through the id-block layout (idblock_move), one hyperslab each.
 * - Strings are fixed-length, null-terminated (parallel HDF5 1.10 cannot write variable-length
 *   data collectively), as in the trajectory files. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "../util/parallel.h"
#include "basin/h5md.h"
#include "basin/harmonic.h"
#include "basin/util.h"
#include "basin_version.h"

#define MODES_FORMAT_VERSION 1

static const char *const UNITS =
    "reduced Lennard-Jones units: length sigma (sigma_eff), energy epsilon, mass m (every "
    "particle), time tau = sigma sqrt(m / epsilon); eigenvalue in epsilon / (m sigma^2), omega "
    "in 1 / tau; eigenvectors are mass-weighted = Cartesian (m = 1), unit norm";

typedef struct Writer {
    const char *path;
    hid_t file, dxpl;
    int failed; /* first failing HDF5 call recorded with basin_error, later calls still made so
                   that every rank runs the same collective sequence */
} Writer;

static void fail(Writer *wr, const char *obj, const char *what) {
    if (!wr->failed) basin_error(BASIN_ERR_IO, wr->path, obj, "HDF5 could not %s", what);
    wr->failed = 1;
}

static hid_t string_type(size_t len) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, len + 1);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

/* Attribute writes are collective: every rank passes the same values. */
static void attr(Writer *wr, hid_t loc, const char *name, hid_t type, int n, const void *v) {
    const hsize_t dim = (hsize_t)n;
    hid_t sp = n > 0 ? H5Screate_simple(1, &dim, NULL) : H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(loc, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, type, v) < 0) fail(wr, name, "write an attribute");
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
}

static void attr_str(Writer *wr, hid_t loc, const char *name, const char *s) {
    if (!s) s = "";
    hid_t t = string_type(strlen(s));
    attr(wr, loc, name, t, 0, s);
    H5Tclose(t);
}

static void attr_int(Writer *wr, hid_t loc, const char *name, int64_t v) {
    attr(wr, loc, name, H5T_NATIVE_INT64, 0, &v);
}

static void attr_dbl(Writer *wr, hid_t loc, const char *name, double v) {
    attr(wr, loc, name, H5T_NATIVE_DOUBLE, 0, &v);
}

static hid_t group(Writer *wr, const char *path) {
    hid_t g = H5Gcreate2(wr->file, path, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) fail(wr, path, "create the group");
    return g;
}

/* A contiguous dataset of the given shape; the caller writes it. */
static hid_t dataset(Writer *wr, hid_t loc, const char *name, hid_t type, int nd,
                     const hsize_t *dims) {
    hid_t sp = H5Screate_simple(nd, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    /* Every element is written exactly once; a fill pass would double the I/O. */
    H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
    hid_t d = H5Dcreate2(loc, name, type, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    H5Sclose(sp);
    if (d < 0) fail(wr, name, "create the dataset");
    return d;
}

/* A 1D array identical on every rank: rank 0 writes it, the others take part with nothing. */
static void write_replicated(Writer *wr, hid_t loc, const char *name, hid_t type, hsize_t n,
                             const void *buf) {
    hid_t d = dataset(wr, loc, name, type, 1, &n);
    if (d < 0) return;
    hid_t fs = H5Dget_space(d);
    hid_t ms = H5Screate_simple(1, &n, NULL);
    if (par_rank() != 0 || n == 0) {
        H5Sselect_none(fs);
        H5Sselect_none(ms);
    }
    if (H5Dwrite(d, type, ms, fs, wr->dxpl, buf) < 0) fail(wr, name, "write the dataset");
    H5Sclose(ms);
    H5Sclose(fs);
    H5Dclose(d);
}

/* A fixed-length string dataset (scalar), for the config text (too long for a comfortable
 * attribute: attributes above 64 KiB need dense attribute storage). */
static void write_string(Writer *wr, hid_t loc, const char *name, const char *s) {
    if (!s) s = "";
    hid_t t = string_type(strlen(s));
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t d = H5Dcreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (d < 0) {
        fail(wr, name, "create the dataset");
    } else {
        hid_t fs = H5Dget_space(d), ms = H5Screate(H5S_SCALAR);
        if (par_rank() != 0) {
            H5Sselect_none(fs);
            H5Sselect_none(ms);
        }
        if (H5Dwrite(d, t, ms, fs, wr->dxpl, s) < 0) fail(wr, name, "write the dataset");
        H5Sclose(fs);
        H5Sclose(ms);
        H5Dclose(d);
    }
    H5Sclose(sp);
    H5Tclose(t);
}

/* The global indices in [lo, hi) that process p of np owns in blocks of nb, lo a multiple of
 * nb * np: a regular pattern of full blocks and at most one partial block. */
typedef struct Pattern {
    hsize_t start, stride, count, block;
} Pattern;

static int owned_patterns(int64_t lo, int64_t hi, int nb, int p, int np, Pattern out[2]) {
    int k = 0;
    const int64_t first = lo + (int64_t)p * nb, step = (int64_t)nb * np;
    if (first >= hi) return 0;
    const int64_t nfull = first + nb <= hi ? (hi - first - nb) / step + 1 : 0;
    if (nfull > 0) out[k++] = (Pattern){(hsize_t)first, (hsize_t)step, (hsize_t)nfull, (hsize_t)nb};
    const int64_t next = first + nfull * step;
    if (next < hi) out[k++] = (Pattern){(hsize_t)next, 1, 1, (hsize_t)(hi - next)};
    return k;
}

static void write_eigenvectors(Writer *wr, hid_t loc, const HarmonicModes *m) {
    const LinalgMatrix *z = m->z;
    const LinalgGrid *g = z->grid;
    const hsize_t dims[2] = {(hsize_t)m->nmodes, (hsize_t)m->n};
    hid_t d = dataset(wr, loc, "eigenvectors", H5T_NATIVE_DOUBLE, 2, dims);
    if (d < 0) return;
    attr_str(wr, d, "layout",
             "[mode k][3 id + alpha]: row k is eigenvector k (unit norm), components in atom-id "
             "order, alpha = x, y, z");

    /* Round width: whole block cycles, at most ~64 Mi doubles per rank per write. */
    double lmax = z->lrows;
    par_max_d(&lmax, 1);
    const int64_t cycle = (int64_t)z->nb * g->npcol;
    int64_t cycles = (int64_t)((64.0 * 1024 * 1024) / ((lmax > 1 ? lmax : 1) * z->nb));
    if (cycles < 1) cycles = 1;
    const int64_t width = cycles * cycle;
    const int zero = 0;
    Pattern rp[2];
    const int nrp = owned_patterns(0, m->n, z->nb, g->myrow, g->nprow, rp);

    hid_t fs = H5Dget_space(d);
    const hsize_t mdims[2] = {(hsize_t)(z->lcols > 0 ? z->lcols : 1), (hsize_t)z->lld};
    hid_t ms = H5Screate_simple(2, mdims, NULL);
    for (int64_t c0 = 0; c0 < m->nmodes; c0 += width) {
        const int64_t c1 = c0 + width < m->nmodes ? c0 + width : m->nmodes;
        Pattern cp[2];
        const int ncp = owned_patterns(c0, c1, z->nb, g->mycol, g->npcol, cp);
        /* Local columns of this round: a contiguous range, because rounds are whole cycles. */
        const int ic0 = (int)c0, ic1 = (int)c1;
        const int lc0 = numroc_(&ic0, &z->nb, &g->mycol, &zero, &g->npcol);
        const int lc1 = numroc_(&ic1, &z->nb, &g->mycol, &zero, &g->npcol);
        H5Sselect_none(fs);
        H5Sselect_none(ms);
        if (lc1 > lc0 && z->lrows > 0) {
            for (int a = 0; a < ncp; ++a)
                for (int b = 0; b < nrp; ++b) {
                    const hsize_t start[2] = {cp[a].start, rp[b].start};
                    const hsize_t stride[2] = {cp[a].stride, rp[b].stride};
                    const hsize_t count[2] = {cp[a].count, rp[b].count};
                    const hsize_t block[2] = {cp[a].block, rp[b].block};
                    H5Sselect_hyperslab(fs, H5S_SELECT_OR, start, stride, count, block);
                }
            const hsize_t mstart[2] = {(hsize_t)lc0, 0};
            const hsize_t mcount[2] = {(hsize_t)(lc1 - lc0), (hsize_t)z->lrows};
            H5Sselect_hyperslab(ms, H5S_SELECT_SET, mstart, NULL, mcount, NULL);
        }
        if (H5Sget_select_npoints(fs) != H5Sget_select_npoints(ms)) {
            fail(wr, "eigenvectors", "match the block-cyclic selection (a basin bug)");
            H5Sselect_none(fs);
            H5Sselect_none(ms);
        }
        /* A rank without local columns has no storage; HDF5 still wants a buffer address. */
        static double dummy;
        if (H5Dwrite(d, H5T_NATIVE_DOUBLE, ms, fs, wr->dxpl, z->data ? z->data : &dummy) < 0)
            fail(wr, "eigenvectors", "write the dataset");
    }
    H5Sclose(ms);
    H5Sclose(fs);
    H5Dclose(d);
}

static void write_structure(Writer *wr, const Domain *d, double *xb, int32_t *sb, int64_t lo,
                            int64_t hi) {
    hid_t g = group(wr, "/structure");
    if (g < 0) return;
    const double box[3] = {d->L, d->L, d->L};
    const hsize_t three = 3;
    write_replicated(wr, g, "box", H5T_NATIVE_DOUBLE, three, box);
    const hsize_t pdims[2] = {(hsize_t)d->natoms, 3};
    hid_t dp = dataset(wr, g, "position", H5T_NATIVE_DOUBLE, 2, pdims);
    const hsize_t sdims[1] = {(hsize_t)d->natoms};
    hid_t ds = dataset(wr, g, "species", H5T_NATIVE_INT32, 1, sdims);
    if (dp >= 0 && ds >= 0) {
        attr_str(wr, dp, "layout", "[id][alpha], wrapped into [0, L)");
        const hsize_t nblk = (hsize_t)(hi - lo);
        hid_t fs = H5Dget_space(dp);
        const hsize_t st[2] = {(hsize_t)lo, 0}, ct[2] = {nblk, 3};
        const hsize_t mcount = 3 * (nblk ? nblk : 1);
        hid_t ms = H5Screate_simple(1, &mcount, NULL);
        if (nblk) {
            H5Sselect_hyperslab(fs, H5S_SELECT_SET, st, NULL, ct, NULL);
        } else {
            H5Sselect_none(fs);
            H5Sselect_none(ms);
        }
        if (H5Dwrite(dp, H5T_NATIVE_DOUBLE, ms, fs, wr->dxpl, xb) < 0)
            fail(wr, "position", "write the dataset");
        H5Sclose(ms);
        H5Sclose(fs);
        fs = H5Dget_space(ds);
        const hsize_t one = nblk ? nblk : 1;
        ms = H5Screate_simple(1, &one, NULL);
        const hsize_t st1 = (hsize_t)lo;
        if (nblk) {
            H5Sselect_hyperslab(fs, H5S_SELECT_SET, &st1, NULL, &nblk, NULL);
        } else {
            H5Sselect_none(fs);
            H5Sselect_none(ms);
        }
        if (H5Dwrite(ds, H5T_NATIVE_INT32, ms, fs, wr->dxpl, sb) < 0)
            fail(wr, "species", "write the dataset");
        H5Sclose(ms);
        H5Sclose(fs);
    }
    if (dp >= 0) H5Dclose(dp);
    if (ds >= 0) H5Dclose(ds);
    attr_int(wr, g, "natoms", d->natoms);
    H5Gclose(g);
}

static void write_modes_group(Writer *wr, const HarmonicModes *m) {
    hid_t g = group(wr, "/modes");
    if (g < 0) return;
    const hsize_t nm = (hsize_t)m->nmodes;
    write_replicated(wr, g, "omega", H5T_NATIVE_DOUBLE, nm, m->omega);
    write_replicated(wr, g, "eigenvalue", H5T_NATIVE_DOUBLE, nm, m->lambda);
    write_replicated(wr, g, "translation", H5T_NATIVE_INT, nm, m->translation);
    write_replicated(wr, g, "translation_weight", H5T_NATIVE_DOUBLE, nm, m->trans_weight);
    write_replicated(wr, g, "participation_ratio", H5T_NATIVE_DOUBLE, nm, m->pr);
    if (m->z) write_eigenvectors(wr, g, m);
    attr_int(wr, g, "natoms", m->natoms);
    attr_int(wr, g, "ndof", m->n);
    attr_int(wr, g, "nmodes", m->nmodes);
    attr_int(wr, g, "has_eigenvectors", m->z != NULL);
    attr_dbl(wr, g, "hessian_inf_norm", m->hnorm);
    attr_dbl(wr, g, "lowest_nontranslational_eigenvalue", m->lambda_min_nt);
    H5Gclose(g);

    g = group(wr, "/vdos");
    if (g < 0) return;
    write_replicated(wr, g, "omega_edges", H5T_NATIVE_DOUBLE, (hsize_t)m->vdos_bins + 1,
                     m->vdos_edges);
    write_replicated(wr, g, "g", H5T_NATIVE_DOUBLE, (hsize_t)m->vdos_bins, m->vdos);
    attr_str(wr, g, "normalisation",
             "sum_b g[b] (omega_edges[b+1] - omega_edges[b]) = 1 over the non-translational "
             "modes of /modes inside the histogram range");
    H5Gclose(g);
}

static void write_parameters(Writer *wr, const HarmonicModes *m, const HarmonicFileMeta *meta) {
    hid_t g = group(wr, "/parameters");
    if (g < 0) return;
    write_string(wr, g, "config", meta ? meta->config_text : NULL);
    attr_str(wr, g, "basin_version", BASIN_VERSION);
    attr_int(wr, g, "format_version", MODES_FORMAT_VERSION);
    attr_str(wr, g, "units", UNITS);
    attr_str(wr, g, "input", meta ? meta->input : NULL);
    attr_str(wr, g, "command_line", meta ? meta->command_line : NULL);
    attr_int(wr, g, "nranks", par_size());
    attr_str(wr, g, "solver", harmonic_solver_name(m->solver));
    attr_int(wr, g, "block_size", m->nb);
    const int64_t grid[2] = {m->grid->nprow, m->grid->npcol};
    attr(wr, g, "process_grid", H5T_NATIVE_INT64, 2, grid);
    const double t[3] = {m->t_assemble, m->t_solve, m->t_analysis};
    attr(wr, g, "seconds_assemble_solve_analyse", H5T_NATIVE_DOUBLE, 3, t);
    const HarmonicQuench *q = meta ? meta->quench : NULL;
    if (q) {
        /* Whether /structure/position is the input or its quench, and how close to a minimum
         * it is: what a reader needs to judge the eigenvalues (docs/modes.md "Quench"). */
        attr_int(wr, g, "quenched", q->quenched);
        attr_str(wr, g, "quench_minimizer", q->minimizer);
        attr_dbl(wr, g, "quench_fmax_tol", q->fmax_tol);
        attr_int(wr, g, "quench_iterations", q->iterations);
        attr_int(wr, g, "quench_force_evals", q->force_evals);
        attr_dbl(wr, g, "quench_max_displacement", q->max_displacement);
        attr_dbl(wr, g, "phi_input", q->phi_input);
        attr_dbl(wr, g, "max_force_input", q->fmax_input);
        attr_dbl(wr, g, "phi", q->phi);
        attr_dbl(wr, g, "max_force", q->fmax);
    }
    H5Gclose(g);
}

int harmonic_modes_write(const HarmonicModes *m, const Domain *d, const HarmonicFileMeta *meta,
                         const char *path) {
    if (d->natoms != m->natoms)
        return basin_error(BASIN_ERR_INTERNAL, path, NULL, "modes of %lld atoms, domain of %lld",
                           (long long)m->natoms, (long long)d->natoms);
    /* Positions and species in id-blocks first: idblock_move is collective over par_comm. */
    int64_t lo, hi;
    idblock_range(d->natoms, par_rank(), par_size(), &lo, &hi);
    double *xb = NULL;
    int32_t *sb = NULL, *sown = NULL;
    int rc = BALLOC(xb, 3 * (hi - lo) + 1);
    if (!rc) rc = BALLOC(sb, hi - lo + 1);
    if (!rc) rc = BALLOC(sown, d->nlocal + 1);
    rc = basin_error_agree(rc);
    if (!rc) {
        for (int i = 0; i < d->nlocal; ++i)
            sown[i] = d->species[i];
        const IdblockField f[2] = {{d->x, xb, 8, 3}, {sown, sb, 4, 1}};
        rc = idblock_move(d->natoms, d->nlocal, d->id, 2, f);
    }
    if (rc) {
        free(xb);
        free(sb);
        free(sown);
        return rc;
    }

    Writer wr = {.path = path, .file = H5I_INVALID_HID, .dxpl = H5I_INVALID_HID};
    H5E_auto2_t efunc;
    void *edata;
    H5Eget_auto2(H5E_DEFAULT, &efunc, &edata);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_mpio(fapl, par_comm(), MPI_INFO_NULL);
    wr.file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (wr.file < 0)
        rc = basin_error(BASIN_ERR_IO, path, NULL,
                         "cannot create the modes file (missing directory or no permission?)");
    rc = basin_error_agree(rc);
    if (!rc) {
        wr.dxpl = H5Pcreate(H5P_DATASET_XFER);
        H5Pset_dxpl_mpio(wr.dxpl, H5FD_MPIO_COLLECTIVE);
        hid_t root = H5Gopen2(wr.file, "/", H5P_DEFAULT);
        attr_str(&wr, root, "creator", "basin modes");
        attr_str(&wr, root, "basin_version", BASIN_VERSION);
        H5Gclose(root);
        write_modes_group(&wr, m);
        write_structure(&wr, d, xb, sb, lo, hi);
        write_parameters(&wr, m, meta);
        H5Pclose(wr.dxpl);
        if (H5Fclose(wr.file) < 0) fail(&wr, NULL, "close the file");
        rc = basin_error_agree(wr.failed ? BASIN_ERR_IO : 0);
    }
    H5Eset_auto2(H5E_DEFAULT, efunc, edata);
    free(xb);
    free(sb);
    free(sown);
    return rc;
}
