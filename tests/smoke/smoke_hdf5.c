/* Smoke test of parallel HDF5 (MPI-IO driver). Two datasets are written with collective
 * transfers: "/slab", whose rows are split over the ranks in id-blocks [r n / P, (r+1) n / P)
 * (uneven slabs), and "/root_only", written by rank 0 alone while every other rank takes part
 * with an empty selection, as basin's output does for data one rank holds. Dataset and
 * attribute creation, the attribute write and the close are collective. The file is then
 * reopened and every rank reads all of it back and checks each value, and the attribute. */
#include <stdint.h>
#include <unistd.h>

#include <hdf5.h>
#include <mpi.h>

#include "testutil.h"

enum { NROWS = 37, NCOLS = 3, NROOT = 5 }; /* 37 rows: uneven slabs on 2 or more ranks */

static double value(hsize_t i, hsize_t j) {
    return 1000.0 * (double)i + (double)j + 0.25;
}

/* HDF5 calls return a negative id/status on failure (after printing its error stack). */
#define H5OK(call)                                                                                 \
    do {                                                                                           \
        if ((call) < 0) TCHECK(0, "HDF5 call failed: %s", #call);                                  \
    } while (0)

/* Writes rows [r0, r1) of a dataset with ncols columns from buf, collectively; r0 == r1 is an
 * empty selection: a zero-sized memory space and a "none" file selection, and the rank still
 * joins the write, as MPI-IO collective calls require. */
static void write_rows(hid_t dset, hid_t type, hsize_t ncols, hsize_t r0, hsize_t r1,
                       const void *buf) {
    hid_t fspace = H5Dget_space(dset);
    const hsize_t cnt[2] = {r1 - r0, ncols}, start[2] = {r0, 0};
    hid_t mspace = H5Screate_simple(2, cnt, NULL);
    if (cnt[0] > 0) {
        H5OK(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, cnt, NULL));
    } else {
        H5OK(H5Sselect_none(fspace));
        H5OK(H5Sselect_none(mspace));
    }
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
    H5OK(H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE));
    H5OK(H5Dwrite(dset, type, mspace, fspace, dxpl, buf));
    /* The library may silently fall back to independent I/O; for basin's output path that would
     * be a performance bug, so make sure the collective path was really taken. */
    H5D_mpio_actual_io_mode_t mode = H5D_MPIO_NO_COLLECTIVE;
    H5OK(H5Pget_mpio_actual_io_mode(dxpl, &mode));
    TCHECK(mode != H5D_MPIO_NO_COLLECTIVE, "collective write fell back to independent I/O");
    H5OK(H5Pclose(dxpl));
    H5OK(H5Sclose(mspace));
    H5OK(H5Sclose(fspace));
}

static void write_file(const char *path, int rank, int size) {
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5OK(H5Pset_fapl_mpio(fapl, MPI_COMM_WORLD, MPI_INFO_NULL));
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5OK(file);
    const hsize_t dims[2] = {NROWS, NCOLS}, rdims[2] = {NROOT, 1};
    hid_t fspace = H5Screate_simple(2, dims, NULL), rspace = H5Screate_simple(2, rdims, NULL);
    hid_t dset =
        H5Dcreate2(file, "/slab", H5T_NATIVE_DOUBLE, fspace, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t rset = H5Dcreate2(file, "/root_only", H5T_NATIVE_INT, rspace, H5P_DEFAULT, H5P_DEFAULT,
                            H5P_DEFAULT);
    H5OK(dset);
    H5OK(rset);

    const hsize_t r0 = (hsize_t)rank * NROWS / (hsize_t)size;
    const hsize_t r1 = (hsize_t)(rank + 1) * NROWS / (hsize_t)size;
    double buf[NROWS * NCOLS];
    for (hsize_t i = r0; i < r1; ++i)
        for (hsize_t j = 0; j < NCOLS; ++j)
            buf[(i - r0) * NCOLS + j] = value(i, j);
    write_rows(dset, H5T_NATIVE_DOUBLE, NCOLS, r0, r1, buf);
    int ibuf[NROOT];
    for (int i = 0; i < NROOT; ++i)
        ibuf[i] = 7 * i - 3;
    write_rows(rset, H5T_NATIVE_INT, 1, 0, rank == 0 ? NROOT : 0, ibuf);

    /* Attributes are metadata: created and written collectively, with identical values. */
    hid_t aspace = H5Screate(H5S_SCALAR);
    hid_t attr = H5Acreate2(dset, "nranks", H5T_NATIVE_INT, aspace, H5P_DEFAULT, H5P_DEFAULT);
    H5OK(attr);
    H5OK(H5Awrite(attr, H5T_NATIVE_INT, &size));
    H5OK(H5Aclose(attr));
    H5OK(H5Sclose(aspace));
    H5OK(H5Sclose(rspace));
    H5OK(H5Sclose(fspace));
    H5OK(H5Dclose(rset));
    H5OK(H5Dclose(dset));
    H5OK(H5Fclose(file));
    H5OK(H5Pclose(fapl));
}

static void read_file(const char *path, int size) {
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5OK(H5Pset_fapl_mpio(fapl, MPI_COMM_WORLD, MPI_INFO_NULL));
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    H5OK(file);
    hid_t dset = H5Dopen2(file, "/slab", H5P_DEFAULT);
    H5OK(dset);
    hid_t fspace = H5Dget_space(dset);
    hsize_t dims[2] = {0, 0};
    TCHECK(H5Sget_simple_extent_ndims(fspace) == 2, "dataset rank changed");
    H5OK(H5Sget_simple_extent_dims(fspace, dims, NULL));
    TCHECK(dims[0] == NROWS && dims[1] == NCOLS, "shape %llu x %llu", (unsigned long long)dims[0],
           (unsigned long long)dims[1]);
    double buf[NROWS * NCOLS];
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
    H5OK(H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE));
    H5OK(H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, dxpl, buf));
    int bad = 0;
    for (hsize_t i = 0; i < NROWS; ++i)
        for (hsize_t j = 0; j < NCOLS; ++j)
            bad += buf[i * NCOLS + j] != value(i, j);
    TCHECK(bad == 0, "%d values read back wrong", bad);
    int ibuf[NROOT];
    hid_t rset = H5Dopen2(file, "/root_only", H5P_DEFAULT);
    H5OK(rset);
    H5OK(H5Dread(rset, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, dxpl, ibuf));
    for (int i = 0; i < NROOT; ++i)
        TCHECK(ibuf[i] == 7 * i - 3, "root_only[%d] = %d", i, ibuf[i]);
    H5OK(H5Dclose(rset));

    int nranks = -1;
    hid_t attr = H5Aopen(dset, "nranks", H5P_DEFAULT);
    H5OK(attr);
    H5OK(H5Aread(attr, H5T_NATIVE_INT, &nranks));
    TCHECK(nranks == size, "attribute nranks = %d, expected %d", nranks, size);
    H5OK(H5Aclose(attr));
    H5OK(H5Pclose(dxpl));
    H5OK(H5Sclose(fspace));
    H5OK(H5Dclose(dset));
    H5OK(H5Fclose(file));
    H5OK(H5Pclose(fapl));
}

int main(int argc, char **argv) {
    tu_init(&argc, &argv);
    const int rank = par_rank(), size = par_size();
    /* One name per rank count: the 1-rank test may run beside the others in the build dir. */
    char path[64];
    snprintf(path, sizeof path, "smoke_hdf5_np%d.h5", size);
    write_file(path, rank, size);
    read_file(path, size);
    par_barrier();
    if (rank == 0) unlink(path);
    return tu_finish();
}
