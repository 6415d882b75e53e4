/* Rank-0 logging and the progress/ETA line. Messages go to stdout (results and progress) while
 * errors go to stderr, so `basin run cfg.ini > log` keeps a clean log and shows errors. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "basin/util.h"

static int log_level = LOG_INFO;

void log_set_level(int level) {
    log_level = level;
}
int log_get_level(void) {
    return log_level;
}

void log_msg(int level, const char *fmt, ...) {
    /* The NULL test also silences a GCC 12 -Wformat-overflow false positive under ASan. */
    if (!fmt || level > log_level || par_rank() != 0) return;
    FILE *out = level <= LOG_WARN ? stderr : stdout;
    if (level == LOG_WARN) fputs("basin: warning: ", out);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
    fflush(out);
}

void log_warn_any(const char *fmt, ...) {
    if (!fmt || log_level < LOG_WARN) return;
    fprintf(stderr, "basin: warning: [rank %d] ", par_rank());
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
}

const char *fmt_duration(double s, char *buf, size_t n) {
    if (s < 0 || s != s) {
        snprintf(buf, n, "?");
    } else if (s < 60) {
        snprintf(buf, n, "%.1fs", s);
    } else if (s < 3600) {
        snprintf(buf, n, "%dm%02ds", (int)(s / 60), (int)s % 60);
    } else {
        long h = (long)(s / 3600);
        snprintf(buf, n, "%ldh%02dm%02ds", h, (int)((s - 3600.0 * h) / 60), (int)s % 60);
    }
    return buf;
}

void progress_start(Progress *p, const char *label, int64_t total, double per_unit,
                    const char *per_name) {
    memset(p, 0, sizeof *p);
    snprintf(p->label, sizeof p->label, "%s", label);
    p->total = total;
    p->per_unit = per_unit;
    p->per_name = per_name;
    p->t0 = p->t_last = par_wtime();
    p->interval = 10.0;
}

static void progress_print(Progress *p, double now) {
    double el = now - p->t0;
    double rate = el > 0 ? (double)p->done / el : 0.0;
    char b1[32], b2[32];
    double eta = rate > 0 ? (double)(p->total - p->done) / rate : -1.0;
    if (p->per_unit > 0 && p->per_name)
        log_info("%s: %lld/%lld (%.1f%%)  %.3g/s  %.3g %s/s  elapsed %s  ETA %s", p->label,
                 (long long)p->done, (long long)p->total,
                 p->total ? 100.0 * (double)p->done / (double)p->total : 100.0, rate,
                 rate * p->per_unit, p->per_name, fmt_duration(el, b1, sizeof b1),
                 fmt_duration(eta, b2, sizeof b2));
    else
        log_info("%s: %lld/%lld (%.1f%%)  %.3g/s  elapsed %s  ETA %s", p->label, (long long)p->done,
                 (long long)p->total, p->total ? 100.0 * (double)p->done / (double)p->total : 100.0,
                 rate, fmt_duration(el, b1, sizeof b1), fmt_duration(eta, b2, sizeof b2));
}

void progress_update(Progress *p, int64_t done) {
    p->done = done;
    if (par_rank() != 0) return;
    double now = par_wtime();
    if (now - p->t_last < p->interval) return;
    p->t_last = now;
    progress_print(p, now);
}

void progress_finish(Progress *p) {
    if (par_rank() != 0) return;
    p->done = p->total;
    progress_print(p, par_wtime());
}
