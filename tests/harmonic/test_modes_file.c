/* The modes file and the `basin modes` pipeline (src/harmonic/modes_file.c, run.c).
 *
 * A small glass (N = 300) is quenched to its inherent structure with a brute-force FIRE on the
 * global arrays (identical on every rank), so the minimum check must pass. Its modes are
 * written collectively and read back with serial HDF5 on every rank:
 *   - per-mode arrays equal the in-memory ones bit for bit; exactly 3 translations;
 *   - the [nmodes][3N] eigenvector dataset written from the block-cyclic layout equals the
 *     gathered eigenvector matrix bit for bit (nb = 64 and nb = 7 with nev < 3N, so blocks are
 *     partial and atoms straddle process rows);
 *   - the vDOS integrates to 1; positions, species, box and the config text are stored;
 *   - harmonic_modes_run() works from the FCC builder, from a LAMMPS data file and from an H5MD
 *     trajectory frame of the quenched glass, and refuses an unquenched glass (--no-quench)
 *     with "not a minimum" and a frame the file does not have (the quench itself:
 *     test_modes_quench.c). */
#include <hdf5.h>
#include <unistd.h>

#include "basin/config.h"
#include "basin/h5md.h"
#include "basin/lammps_data.h"
#include "harmonic_testutil.h"

static char path_buf[256];

static const char *tmp_path(const char *tag) {
    snprintf(path_buf, sizeof path_buf, "harmonic_test_%s_np%d.h5", tag, par_size());
    return path_buf;
}

static int read_dset(hid_t f, const char *name, hid_t type, void *buf, hsize_t *dims) {
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0) return -1;
    hid_t sp = H5Dget_space(d);
    if (dims) H5Sget_simple_extent_dims(sp, dims, NULL);
    herr_t st = buf ? H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) : 0;
    H5Sclose(sp);
    H5Dclose(d);
    return st < 0 ? -1 : 0;
}

static void check_file(const char *path, const HarmonicModes *m, const TestSystem *s,
                       const double *x, const char *cfg) {
    const int n = m->n, nm = m->nmodes;
    double *full = malloc((size_t)n * n * sizeof(double));
    TOK(linalg_matrix_gather(m->z, full));
    par_barrier();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    TCHECK(f >= 0, "cannot open %s", path);
    if (f < 0) {
        free(full);
        return;
    }
    double *buf = malloc((size_t)n * nm * sizeof(double));
    int *ibuf = malloc((size_t)nm * sizeof(int));
    hsize_t dims[2] = {0, 0};
    TCHECK(read_dset(f, "/modes/omega", H5T_NATIVE_DOUBLE, buf, dims) == 0 &&
               dims[0] == (hsize_t)nm,
           "omega shape %llu", (unsigned long long)dims[0]);
    TCHECK(!memcmp(buf, m->omega, nm * sizeof(double)), "omega differs");
    TCHECK(read_dset(f, "/modes/eigenvalue", H5T_NATIVE_DOUBLE, buf, NULL) == 0 &&
               !memcmp(buf, m->lambda, nm * sizeof(double)),
           "eigenvalue differs");
    TCHECK(read_dset(f, "/modes/participation_ratio", H5T_NATIVE_DOUBLE, buf, NULL) == 0 &&
               !memcmp(buf, m->pr, nm * sizeof(double)),
           "PR differs");
    TCHECK(read_dset(f, "/modes/translation", H5T_NATIVE_INT, ibuf, NULL) == 0, "translation");
    int nt = 0;
    for (int k = 0; k < nm; ++k)
        nt += ibuf[k];
    TCHECK(nt == 3, "%d translations in the file", nt);

    TCHECK(read_dset(f, "/modes/eigenvectors", H5T_NATIVE_DOUBLE, buf, dims) == 0 &&
               dims[0] == (hsize_t)nm && dims[1] == (hsize_t)n,
           "eigenvectors shape %llu x %llu", (unsigned long long)dims[0],
           (unsigned long long)dims[1]);
    double e = 0.0;
    for (int k = 0; k < nm; ++k)
        for (int r = 0; r < n; ++r)
            e = fmax(e, fabs(buf[(size_t)k * n + r] - full[r + (size_t)k * n]));
    TCHECK(e == 0.0, "eigenvector dataset differs from the gathered matrix by %g", e);

    hsize_t vd[1];
    double edges[4096], g[4096];
    TCHECK(read_dset(f, "/vdos/g", H5T_NATIVE_DOUBLE, NULL, vd) == 0 && vd[0] < 4096, "vdos");
    read_dset(f, "/vdos/g", H5T_NATIVE_DOUBLE, g, NULL);
    read_dset(f, "/vdos/omega_edges", H5T_NATIVE_DOUBLE, edges, NULL);
    double norm = 0.0;
    for (hsize_t b = 0; b < vd[0]; ++b)
        norm += g[b] * (edges[b + 1] - edges[b]);
    TCLOSE(norm, 1.0, 1e-12, 0.0);

    double *pos = malloc(3 * (size_t)s->n * sizeof(double));
    int *sp = malloc((size_t)s->n * sizeof(int));
    double box[3];
    TCHECK(read_dset(f, "/structure/position", H5T_NATIVE_DOUBLE, pos, NULL) == 0, "position");
    TCHECK(read_dset(f, "/structure/species", H5T_NATIVE_INT, sp, NULL) == 0, "species");
    TCHECK(read_dset(f, "/structure/box", H5T_NATIVE_DOUBLE, box, NULL) == 0 && box[0] == s->L,
           "box");
    double dp = 0.0;
    int bad_sp = 0;
    for (int64_t i = 0; i < s->n; ++i) {
        double dx[3];
        dp = fmax(dp, sqrt(model_min_image(pos + 3 * i, x + 3 * i, s->L, dx)));
        bad_sp += sp[i] != s->species[i];
    }
    TCHECK(dp < 1e-12 && bad_sp == 0, "positions differ by %g, %d species", dp, bad_sp);

    hid_t dc = H5Dopen2(f, "/parameters/config", H5P_DEFAULT);
    TCHECK(dc >= 0, "no /parameters/config");
    if (dc >= 0) {
        hid_t t = H5Dget_type(dc);
        const size_t len = H5Tget_size(t);
        char *txt = calloc(len + 1, 1);
        H5Dread(dc, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, txt);
        TCHECK(!strcmp(txt, cfg), "config text '%s'", txt);
        free(txt);
        H5Tclose(t);
        H5Dclose(dc);
    }
    H5Fclose(f);
    free(pos);
    free(sp);
    free(buf);
    free(ibuf);
    free(full);
    par_barrier();
    if (par_rank() == 0) unlink(path);
}

int main(int argc, char **argv) {
    tu_init(&argc, &argv);
    TestSystem s;
    TOK(su_build(&s, MODEL_GLASS, 300, 3));
    TCHECK(ht_fire(&s, s.x, 1e-10, 200000) == 0, "FIRE did not converge");

    Domain *d = NULL;
    TOK(su_domain(&s, s.x, NULL, 0.3, &d));
    const PairPotential pot = model_potential(&s.m);
    const char *cfg = "[system]\nkind = glass\nnatoms = 300\n";
    const HarmonicFileMeta meta = {.config_text = cfg, .input = "test", .command_line = "test"};

    HarmonicOptions o;
    harmonic_options_default(&o);
    HarmonicModes *m = NULL;
    TOK(harmonic_modes_compute(d, &pot, &o, &m));
    if (m) {
        if (par_rank() == 0)
            printf("glass IS: lowest omega %.6f, highest %.6f, PR range of the lowest 10 modes:",
                   m->omega[3], m->omega[m->nmodes - 1]);
        for (int k = 3; k < 13 && par_rank() == 0; ++k)
            printf(" %.3f", m->pr[k]);
        if (par_rank() == 0) printf("\n");
        TOK(harmonic_modes_write(m, d, &meta, tmp_path("all")));
        check_file(tmp_path("all"), m, &s, s.x, cfg);
        harmonic_modes_destroy(&m);
    }

    o.nb = 7;
    o.nev = 100;
    TOK(harmonic_modes_compute(d, &pot, &o, &m));
    if (m) {
        TOK(harmonic_modes_write(m, d, &meta, tmp_path("nev")));
        check_file(tmp_path("nev"), m, &s, s.x, cfg);
        const int rc = harmonic_modes_write(m, d, &meta, "/nonexistent/dir/modes.h5");
        TCHECK(rc == BASIN_ERR_IO && strstr(basin_error_message(), "/nonexistent/dir/modes.h5"),
               "write to a missing directory: %d '%s'", rc, basin_error_message());
        basin_error_clear();
        harmonic_modes_destroy(&m);
    }

    /* The pipeline. */
    Config c;
    config_defaults(&c);
    c.kind = MODEL_CRYSTAL;
    c.natoms = 256;
    harmonic_options_default(&o);
    TOK(harmonic_modes_run(&c, NULL, 0, &o, tmp_path("fcc")));
    par_barrier();
    if (par_rank() == 0) {
        TCHECK(access(tmp_path("fcc"), R_OK) == 0, "no FCC modes file");
        unlink(tmp_path("fcc"));
    }
    c.kind = MODEL_GLASS;
    c.natoms = 300;
    const char *data = "harmonic_test_glass.data";
    char dpath[64];
    snprintf(dpath, sizeof dpath, "np%d_%s", par_size(), data);
    TOK(lammps_data_write(dpath, NULL, s.n, 2, s.L, s.x, NULL, s.species, NULL));
    TOK(harmonic_modes_run(&c, dpath, 0, &o, tmp_path("data")));
    par_barrier();
    if (par_rank() == 0) {
        unlink(tmp_path("data"));
        unlink(dpath);
    }
    /* From the last frame of an H5MD trajectory holding the inherent structure. */
    char tpath[64];
    snprintf(tpath, sizeof tpath, "np%d_harmonic_test_traj.h5", par_size());
    const H5mdMeta tmeta = {.basin_version = "test", .config_text = cfg};
    H5md *traj = NULL;
    TOK(h5md_create_domain(tpath, &tmeta, d, 0, &traj));
    const double obs[H5MD_NOBS] = {0};
    TOK(h5md_append_frame(traj, d, 0, 0.0, obs));
    TOK(h5md_close(&traj));
    TOK(harmonic_modes_run(&c, tpath, -1, &o, tmp_path("traj")));
    TCHECK(harmonic_modes_run(&c, tpath, 5, &o, tmp_path("traj")) == BASIN_ERR_CONFIG &&
               strstr(basin_error_message(), "frame 5 requested"),
           "a missing frame: '%s'", basin_error_message());
    basin_error_clear();
    par_barrier();
    if (par_rank() == 0) {
        unlink(tmp_path("traj"));
        unlink(tpath);
    }

    o.quench = 0; /* the check itself; with the default quench this start succeeds */
    const int rc = harmonic_modes_run(&c, NULL, 0, &o, tmp_path("start"));
    TCHECK(rc == BASIN_ERR_PHYSICS && strstr(basin_error_message(), "not a minimum"),
           "an unquenched glass start: rc %d '%s'", rc, basin_error_message());
    basin_error_clear();

    domain_destroy(&d);
    su_free(&s);
    return tu_finish();
}
