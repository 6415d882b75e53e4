/* Timing driver for benchmarks/eigen/run.sh (not a test: performance is measured by scripts,
 * DESIGN.md). Built by meson (tests/harmonic/meson.build) as
 * <build dir>/tests/harmonic/bench_eigen.
 *
 *   mpirun -n P bench_eigen N SOLVER [nb] [nev]
 *     SOLVER = elpa1 | elpa2 | pdsyevd     distributed, through harmonic_modes_compute()
 *            | elpa1-values | elpa2-values  eigenvalues only
 *            | lapack                       LAPACKE_dsyevd on one rank (threads:
 * OPENBLAS_NUM_THREADS) | dgemm                        every rank times cblas_dgemm of order N (the
 * peak)
 *
 * The configuration is the model's random binary-glass start (model_build_glass, seed 1, at
 * rho = 1.015): the solvers' cost does not depend on whether it is a minimum, so the minimum
 * check is off here. Prints one line "RESULT key=value ..." on rank 0 with wall seconds of the
 * assembly, the solve and the analysis (max over ranks), the solve's CPU seconds (summed over
 * ranks; includes MPI progress spinning and OpenBLAS threads), the effective GFLOP/s of the
 * solve (10/3 n^3 for all vectors: 4/3 n^3 for the tridiagonal reduction + 2 n^3 for the back
 * transformation, the count TOOLCHAIN.md uses; 4/3 n^3 + 2 n^2 nev with nev vectors; 4/3 n^3
 * for eigenvalues only) and the peak resident memory (getrusage ru_maxrss) per rank: max and
 * sum over ranks, and the sum before the first matrix is allocated (the baseline). */
#include <cblas.h>
#include <lapacke.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "../../src/util/parallel.h"
#include "basin/domain.h"
#include "basin/harmonic.h"
#include "basin/linalg.h"
#include "basin/model.h"
#include "basin/util.h"

static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void report_memory(double *mx, double *sum) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *mx = *sum = (double)ru.ru_maxrss / 1024.0; /* KiB -> MiB */
    par_max_d(mx, 1);
    par_sum_d(sum, 1);
}

static int bench_dgemm(int n) {
    double *a = malloc((size_t)n * n * sizeof(double)), *b = malloc((size_t)n * n * sizeof(double)),
           *c = malloc((size_t)n * n * sizeof(double));
    if (!a || !b || !c) return BASIN_ERR_NOMEM;
    for (size_t k = 0; k < (size_t)n * n; ++k) {
        a[k] = 1.0 / (1.0 + (double)(k % 97));
        b[k] = 1.0 / (2.0 + (double)(k % 89));
    }
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a, n, b, n, 0.0, c, n);
    double best = 1e30;
    for (int r = 0; r < 3; ++r) {
        par_barrier();
        const double t0 = par_wtime();
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a, n, b, n, 0.0, c, n);
        const double t = par_wtime() - t0;
        best = t < best ? t : best;
    }
    double g = 2.0 * (double)n * n * n / best * 1e-9, gsum = g;
    par_sum_d(&gsum, 1);
    if (par_rank() == 0)
        printf("RESULT kind=dgemm n=%d ranks=%d gflops_per_rank=%.1f gflops_total=%.1f\n", n,
               par_size(), g, gsum);
    free(a);
    free(b);
    free(c);
    return 0;
}

static int bench_solver(int64_t natoms, const char *solver, int nb, int nev) {
    Model m;
    model_init(&m, MODEL_GLASS);
    double *x = malloc(3 * (size_t)natoms * sizeof(double));
    int *sp = malloc((size_t)natoms * sizeof(int));
    double L;
    BCHK(model_build_glass(&m, natoms, 1.015, 1, 0.8, x, sp, &L));
    Domain *d = NULL;
    BCHK(domain_create(&m, L, 0.3, &d));
    BCHK(domain_distribute(d, natoms, x, NULL, sp, NULL));
    BCHK(domain_rebuild(d));
    free(x);
    free(sp);
    const PairPotential pot = model_potential(&m);
    const int n = 3 * (int)natoms;
    /* Resident memory before any matrix exists: MPI, libraries, the domain. The increase over
     * it is what the Hessian, the eigenvectors and the solver's workspace cost. */
    double base_mx, base_sum;
    report_memory(&base_mx, &base_sum);
    double ta = 0, ts = 0, tn = 0, cpu = 0;
    HarmonicAssemblyStats st = {0};
    int vectors = 1, nmodes = nev ? nev : n;

    if (!strcmp(solver, "lapack")) {
        if (par_size() != 1)
            return basin_error(BASIN_ERR_USAGE, "bench_eigen", "lapack", "runs on one rank");
        LinalgGrid *g = NULL;
        LinalgMatrix *h = NULL;
        BCHK(linalg_grid_create(par_comm(), 1, 1, &g));
        BCHK(linalg_matrix_create(g, n, n, nb, &h));
        double t0 = par_wtime();
        BCHK(harmonic_hessian_assemble(d, &pot, h, &st));
        ta = par_wtime() - t0;
        double *w = malloc((size_t)n * sizeof(double));
        t0 = par_wtime();
        const double c0 = cpu_now();
        /* On one rank the local block-cyclic array is the whole column-major matrix. */
        const int info = LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'U', n, h->data, h->lld, w);
        cpu = cpu_now() - c0;
        ts = par_wtime() - t0;
        if (info) return basin_error(BASIN_ERR_LIB, "LAPACK", "dsyevd", "info = %d", info);
        free(w);
        linalg_matrix_destroy(&h);
        linalg_grid_destroy(&g);
    } else {
        HarmonicOptions o;
        harmonic_options_default(&o);
        o.nb = nb;
        o.nev = nev;
        o.require_minimum = 0;
        o.vectors = strstr(solver, "-values") == NULL;
        vectors = o.vectors;
        if (!strncmp(solver, "elpa1", 5))
            o.solver = HARMONIC_SOLVER_ELPA1;
        else if (!strncmp(solver, "elpa2", 5))
            o.solver = HARMONIC_SOLVER_ELPA2;
        else if (!strcmp(solver, "pdsyevd"))
            o.solver = HARMONIC_SOLVER_PDSYEVD;
        else
            return basin_error(BASIN_ERR_USAGE, "bench_eigen", "solver", "unknown '%s'", solver);
        log_set_level(LOG_ERROR); /* a random start is no minimum: no warning lines here */
        HarmonicModes *hm = NULL;
        const double c0 = cpu_now();
        BCHK(harmonic_modes_compute(d, &pot, &o, &hm));
        cpu = cpu_now() - c0;
        par_sum_d(&cpu, 1);
        ta = hm->t_assemble;
        ts = hm->t_solve;
        tn = hm->t_analysis;
        st = hm->assembly;
        harmonic_modes_destroy(&hm);
    }
    const double nn = (double)n;
    const double flops =
        vectors ? 4.0 / 3.0 * nn * nn * nn + 2.0 * nn * nn * nmodes : 4.0 / 3.0 * nn * nn * nn;
    double mx, sum;
    report_memory(&mx, &sum);
    double tpar[4] = {st.t_pairs, st.t_exchange, st.t_zero, st.t_scatter};
    par_max_d(tpar, 4);
    if (par_rank() == 0)
        printf("RESULT kind=eigen N=%lld n=%d ranks=%d solver=%s nb=%d nmodes=%d vectors=%d "
               "assemble_s=%.3f pairs_s=%.3f exchange_s=%.3f zero_s=%.3f scatter_s=%.3f "
               "solve_s=%.3f analysis_s=%.3f solve_cpu_s=%.3f gflops=%.1f "
               "maxrss_max_MiB=%.0f maxrss_sum_MiB=%.0f base_sum_MiB=%.0f matrix_MiB=%.0f\n",
               (long long)natoms, n, par_size(), solver, nb, nmodes, vectors, ta, tpar[0], tpar[1],
               tpar[2], tpar[3], ts, tn, cpu, flops / ts * 1e-9, mx, sum, base_sum,
               nn * nn * 8.0 / 1048576.0);
    domain_destroy(&d);
    return 0;
}

int main(int argc, char **argv) {
    int rc = basin_init(&argc, &argv);
    if (rc) {
        fprintf(stderr, "basin_init: %s\n", basin_error_message());
        return 1;
    }
    if (argc < 3) {
        if (par_rank() == 0)
            fprintf(stderr, "usage: bench_eigen N SOLVER [nb] [nev]  (see the file comment)\n");
        basin_finalize();
        return 2;
    }
    const int64_t n = atoll(argv[1]);
    const char *solver = argv[2];
    const int nb = argc > 3 ? atoi(argv[3]) : 64;
    const int nev = argc > 4 ? atoi(argv[4]) : 0;
    if (!strcmp(solver, "dgemm"))
        rc = bench_dgemm((int)n);
    else
        rc = bench_solver(n, solver, nb, nev);
    const int status = basin_error_report(rc);
    basin_finalize();
    return status;
}
