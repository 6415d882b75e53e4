/* Named phase timers and the final breakdown table. Timers nest only through TIMER_TOTAL; the
 * "other" row is the total minus the named phases, so unaccounted time is visible. */
#include <stdio.h>

#include "basin/util.h"

static double t_acc[TIMER_COUNT];
static double t_begin[TIMER_COUNT];
static const char *t_name[TIMER_COUNT] = {"total",     "force",  "neighbour", "comm",
                                          "integrate", "output", "minimize",  "eigen"};

void timer_reset_all(void) {
    for (int i = 0; i < TIMER_COUNT; ++i)
        t_acc[i] = t_begin[i] = 0.0;
}

double timer_elapsed(TimerId t) {
    return t_acc[t];
}

#ifdef BASIN_TIMERS
void timer_start(TimerId t) {
    t_begin[t] = par_wtime();
}
void timer_stop(TimerId t) {
    t_acc[t] += par_wtime() - t_begin[t];
}
#endif

void timer_report(const char *title) {
    double mn[TIMER_COUNT + 1], mx[TIMER_COUNT + 1], av[TIMER_COUNT + 1];
    double named = 0.0;
    for (int i = 1; i < TIMER_COUNT; ++i)
        named += t_acc[i];
    for (int i = 0; i < TIMER_COUNT; ++i)
        mn[i] = mx[i] = av[i] = t_acc[i];
    mn[TIMER_COUNT] = mx[TIMER_COUNT] = av[TIMER_COUNT] = t_acc[TIMER_TOTAL] - named;
    par_min_d(mn, TIMER_COUNT + 1);
    par_max_d(mx, TIMER_COUNT + 1);
    par_sum_d(av, TIMER_COUNT + 1);
    int p = par_size();
    double total = av[TIMER_TOTAL] / p;
    log_info("%s timing breakdown over %d rank(s) (seconds; min / avg / max over ranks):", title,
             p);
    log_info("  %-10s %10s %10s %10s %7s", "phase", "min", "avg", "max", "%total");
    for (int i = 1; i <= TIMER_COUNT; ++i) {
        if (mx[i] <= 0.0 && i != TIMER_COUNT) continue;
        log_info("  %-10s %10.3f %10.3f %10.3f %6.1f%%", i == TIMER_COUNT ? "other" : t_name[i],
                 mn[i], av[i] / p, mx[i], total > 0 ? 100.0 * av[i] / p / total : 0.0);
    }
    log_info("  %-10s %10.3f %10.3f %10.3f %6.1f%%", "total", mn[0], total, mx[0], 100.0);
}
