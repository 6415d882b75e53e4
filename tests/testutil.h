/* Minimal MPI-aware test harness. Each check prints file:line and the rank on failure;
 * tu_finish() sums the failures over ranks, so a test fails as a whole if any rank failed,
 * and every rank exits with the same status (no rank is left in a collective). */
#ifndef BASIN_TESTUTIL_H
#define BASIN_TESTUTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "basin/util.h"

static int tu_failures = 0;
static int tu_checks = 0;

#define TCHECK(cond, ...)                                                                          \
    do {                                                                                           \
        ++tu_checks;                                                                               \
        if (!(cond)) {                                                                             \
            ++tu_failures;                                                                         \
            fprintf(stderr, "[rank %d] %s:%d: check failed: %s: ", par_rank(), __FILE__, __LINE__, \
                    #cond);                                                                        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

/* |a - b| <= atol + rtol |b| */
#define TCLOSE(a, b, rtol, atol)                                                                   \
    do {                                                                                           \
        double tu_a_ = (a), tu_b_ = (b);                                                           \
        TCHECK(fabs(tu_a_ - tu_b_) <= (atol) + (rtol)*fabs(tu_b_), "%s = %.17g, %s = %.17g", #a,   \
               tu_a_, #b, tu_b_);                                                                  \
    } while (0)

/* A call returning a basin status must succeed. */
#define TOK(call)                                                                                  \
    do {                                                                                           \
        int tu_rc_ = (call);                                                                       \
        TCHECK(tu_rc_ == 0, "%s returned %d (%s): %s", #call, tu_rc_, basin_strerror(tu_rc_),      \
               basin_error_message());                                                             \
    } while (0)

static inline void tu_init(int *argc, char ***argv) {
    if (basin_init(argc, argv) != 0) {
        fprintf(stderr, "basin_init failed: %s\n", basin_error_message());
        exit(1);
    }
}

static inline int tu_finish(void) {
    int64_t f[2] = {tu_failures, tu_checks};
    par_sum_i64(f, 2);
    if (par_rank() == 0)
        printf("%s: %lld checks, %lld failed on %d rank(s)\n", f[0] ? "FAIL" : "PASS",
               (long long)f[1], (long long)f[0], par_size());
    basin_finalize();
    return f[0] ? 1 : 0;
}

#endif
