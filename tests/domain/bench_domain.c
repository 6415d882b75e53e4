/* Timing of the domain verbs on a glass (not a test; performance belongs in benchmarks/, see
 * DESIGN.md): bench_domain N [reps] [full]. Prints per-call times of domain_rebuild(), of the
 * list build alone, of domain_forward() and domain_reverse(), and the list build per atom.
 * Times are CPU seconds of each rank (max over ranks), robust on a loaded machine; the
 * forward/reverse figures include MPI progress spinning, so read them as upper bounds. The
 * halo is also timed in wall seconds, fastest call of the repetitions.
 * Run: mpirun -n P build-domain-rel/tests/bench_domain 32000 20 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "domain_testutil.h"

/* CPU time of this process: on a shared machine wall time measures the neighbours' load. */
static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv) {
    tu_init(&argc, &argv);
    const int64_t n = argc > 1 ? atoll(argv[1]) : 32000;
    const int reps = argc > 2 ? atoi(argv[2]) : 20;
    const int full = argc > 3 ? atoi(argv[3]) : 0;
    TestSystem s;
    if (su_build(&s, MODEL_GLASS, n, 1) != 0) {
        fprintf(stderr, "build: %s\n", basin_error_message());
        return 1;
    }
    Domain *d = NULL;
    if (su_distribute(&s, s.x, NULL, DT_SKIN, &d) != 0) {
        if (par_rank() == 0) fprintf(stderr, "%s\n", basin_error_message());
        basin_finalize();
        return 1;
    }
    domain_set_full_list(d, full);
    TOK(domain_rebuild(d));
    double t[4] = {0, 0, 0, 0}, w[2] = {1e30, 1e30};
    for (int r = 0; r < reps; ++r) {
        par_barrier();
        double w0 = par_wtime();
        TOK(domain_forward(d));
        double w1 = par_wtime();
        TOK(domain_reverse(d));
        double w2 = par_wtime();
        /* Fastest call: robust against being descheduled on a shared machine. */
        w[0] = fmin(w[0], w1 - w0);
        w[1] = fmin(w[1], w2 - w1);
        par_barrier();
        double t0 = cpu_now();
        TOK(domain_rebuild(d));
        double t1 = cpu_now();
        TOK(domain_build_neighbors(d));
        double t2 = cpu_now();
        par_barrier();
        double t3 = cpu_now();
        TOK(domain_forward(d));
        double t4 = cpu_now();
        TOK(domain_reverse(d));
        double t5 = cpu_now();
        t[0] += t1 - t0;
        t[1] += t2 - t1;
        t[2] += t4 - t3;
        t[3] += t5 - t4;
    }
    par_max_d(t, 4);
    par_max_d(w, 2);
    int64_t pairs = d->nbr_start[d->nlocal], gh = d->nghost;
    int64_t c[2] = {pairs, gh};
    par_sum_i64(c, 2);
    DomainStats st;
    domain_stats(d, &st);
    if (par_rank() == 0) {
        const double per = 1e9 / (double)n * par_size(); /* ns per atom per rank */
        printf("N=%lld P=%d grid %dx%dx%d %s list: %lld pairs (%.1f/atom), %lld ghosts, cells "
               "%dx%dx%d edge %.3f, stencil %d\n",
               (long long)n, par_size(), d->dims[0], d->dims[1], d->dims[2], full ? "full" : "half",
               (long long)c[0], (double)c[0] / n, (long long)c[1], st.ncell[0], st.ncell[1],
               st.ncell[2], st.cell_edge[0], st.nstencil);
        printf("  rebuild  %8.3f ms  (%.0f ns/atom per rank)\n", 1e3 * t[0] / reps,
               per * t[0] / reps);
        printf("  list     %8.3f ms  (%.0f ns/atom per rank)\n", 1e3 * t[1] / reps,
               per * t[1] / reps);
        printf("  forward  %8.3f ms  (%.1f ns/atom per rank)\n", 1e3 * t[2] / reps,
               per * t[2] / reps);
        printf("  reverse  %8.3f ms  (%.1f ns/atom per rank)\n", 1e3 * t[3] / reps,
               per * t[3] / reps);
        printf("  fastest call (wall): forward %.3f ms, reverse %.3f ms\n", 1e3 * w[0], 1e3 * w[1]);
    }
    domain_destroy(&d);
    su_free(&s);
    return tu_finish();
}
