/* util: errors, rank-0 logging, progress lines, counter-based RNG, phase timers and the
 * communicator-free reductions that physics modules use.
 *
 * Error convention (STYLE.md habit 4): every fallible function returns int, 0 on success or a
 * negative BASIN_ERR_* code. The function that detects a problem records one human-readable
 * line with basin_error(); callers propagate with BCHK(). Two exits:
 *   - collective errors (every rank reaches the same check point): basin_error_agree() makes all
 *     ranks agree on the first failing rank's message, rank 0 prints it once, every rank returns
 *     from main with a non-zero status. No hang: only call it where all ranks call it.
 *   - local errors (NaN force, lost atom seen by one rank in the middle of a loop):
 *     basin_abort_local() prints one line tagged with the rank and calls MPI_Abort.
 *
 * Nothing in this header needs <mpi.h>; modules md/, minimize/, model/, analysis/ include only
 * this. The communicator behind the par_* reductions is set once by basin_init() (a duplicate of
 * MPI_COMM_WORLD) and may be swapped temporarily by tests through util/parallel.h.
 */
#ifndef BASIN_UTIL_H
#define BASIN_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* ---- errors ---- */
enum {
    BASIN_OK = 0,
    BASIN_ERR_CONFIG = -1,   /* bad input value, unknown key, wrong type */
    BASIN_ERR_IO = -2,       /* missing, unreadable, truncated or malformed file */
    BASIN_ERR_NOMEM = -3,    /* allocation failed */
    BASIN_ERR_MPI = -4,      /* an MPI call failed or the launch is wrong */
    BASIN_ERR_LIB = -5,      /* ScaLAPACK/ELPA/HDF5/LAPACK reported an error */
    BASIN_ERR_PHYSICS = -6,  /* NaN/Inf force, lost atom, overlapping atoms, not a minimum */
    BASIN_ERR_USAGE = -7,    /* command-line misuse */
    BASIN_ERR_RANKS = -8,    /* decomposition impossible with this rank count */
    BASIN_ERR_INTERNAL = -9, /* a broken invariant: a bug in basin */
};

/* Process exit statuses used by the app. */
enum {
    BASIN_EXIT_OK = 0,
    BASIN_EXIT_ERROR = 1,
    BASIN_EXIT_USAGE = 2,
    BASIN_EXIT_CHECKPOINTED = 75
};

const char *basin_strerror(int code);

/* Record the error line "<where>:<key>: <what>" (where/key may be NULL and are then left out)
 * and return code, so that detection reads `return basin_error(BASIN_ERR_CONFIG, file, key,
 * "must be > 0, got %g", x);`. Not collective. */
int basin_error(int code, const char *where, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The recorded line (without the "basin: error: " prefix); "" when none. */
const char *basin_error_message(void);
void basin_error_clear(void);

/* Appends file:line:function to a short back-trace shown with --debug / BASIN_DEBUG=1. */
void basin_error_trace(const char *file, int line, const char *func);

#define BCHK(call)                                                                                 \
    do {                                                                                           \
        int bchk_rc_ = (call);                                                                     \
        if (bchk_rc_ != 0) {                                                                       \
            basin_error_trace(__FILE__, __LINE__, __func__);                                       \
            return bchk_rc_;                                                                       \
        }                                                                                          \
    } while (0)

/* Allocation with the error convention: BALLOC(p, n) allocates n elements of *p, zeroed. */
int basin_calloc(void **p, size_t count, size_t size, const char *what);
#define BALLOC(p, n) basin_calloc((void **)&(p), (size_t)(n), sizeof(*(p)), #p)
int basin_realloc(void **p, size_t count, size_t size, const char *what);
#define BREALLOC(p, n) basin_realloc((void **)&(p), (size_t)(n), sizeof(*(p)), #p)

/* Collective. Every rank passes its own rc; all return the same value: 0 when all ranks had 0,
 * otherwise the code of the lowest failing rank, whose message is copied to every rank. */
int basin_error_agree(int rc);

/* Collective. Agree on rc, print the line from rank 0 ("basin: error: ..."), return the process
 * exit status to use (0, 1 or 2 for BASIN_ERR_USAGE). */
int basin_error_report(int rc);

/* Not collective. Print "basin: error: [rank R] <line>" and MPI_Abort(1). For errors that only
 * one rank sees deep inside a loop, where returning would leave the others blocked. */
_Noreturn void basin_abort_local(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- start-up / shut-down (util/parallel.c) ---- */

/* MPI_Init + communicator set-up + launch check (SLURM_NTASKS > 1 but a one-rank world means
 * srun started singletons without PMI). Returns 0 or BASIN_ERR_MPI with the message set;
 * collective over MPI_COMM_WORLD. */
int basin_init(int *argc, char ***argv);
/* Same check, factored out for tests: slurm_ntasks is the environment string (NULL if unset). */
int basin_check_launch(const char *slurm_ntasks, int world_size);
void basin_finalize(void);

/* ---- communicator-free reductions over the current communicator ---- */
int par_rank(void);
int par_size(void);
void par_sum_d(double *buf, int n); /* in place, all ranks get the result */
void par_max_d(double *buf, int n);
void par_min_d(double *buf, int n);
void par_sum_i64(int64_t *buf, int n);
void par_max_i(int *buf, int n);
void par_bcast_d(double *buf, int n, int root);
void par_barrier(void);
double par_wtime(void);

/* ---- logging (rank 0 only; warnings from any rank go through log_warn_any) ---- */
enum { LOG_QUIET = 0, LOG_ERROR = 1, LOG_WARN = 2, LOG_INFO = 3, LOG_DEBUG = 4 };
void log_set_level(int level);
int log_get_level(void);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
/* Any rank may call; prefixes "[rank R]". */
void log_warn_any(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- progress/ETA line for long loops ----
 * Not collective: rank 0 prints at most every `interval` seconds, others do nothing, so it can
 * sit in any loop without adding synchronisation. */
typedef struct Progress {
    char label[48];
    int64_t total;        /* units of work in the loop (steps, quenches, modes) */
    double per_unit;      /* secondary rate factor, e.g. atoms per step (0: not printed) */
    const char *per_name; /* name of the secondary rate, e.g. "atom-steps" */
    double t0, t_last, interval;
    int64_t done;
} Progress;
void progress_start(Progress *p, const char *label, int64_t total, double per_unit,
                    const char *per_name);
void progress_update(Progress *p, int64_t done);
void progress_finish(Progress *p);
/* Formats seconds as "1h02m03s"/"4m05s"/"6.1s" into buf (>= 16 bytes). */
const char *fmt_duration(double s, char *buf, size_t n);

/* ---- counter-based RNG: Philox4x32-10 ----
 * A draw is a pure function of (seed, stream, id, counter), so the number an atom gets never
 * depends on which rank owns it or in what order atoms are visited. */
enum {
    RNG_STREAM_POSITION = 1,
    RNG_STREAM_VELOCITY = 2,
    RNG_STREAM_SPECIES = 3,
    RNG_STREAM_THERMOSTAT = 4,
    RNG_STREAM_TEST = 99
};
void rng_philox4x32(uint64_t key, uint64_t ctr_hi, uint64_t ctr_lo, uint32_t out[4]);
/* Two independent uniforms in the open interval (0, 1). */
void rng_uniform2(uint64_t seed, uint32_t stream, uint64_t id, uint64_t counter, double u[2]);
double rng_uniform(uint64_t seed, uint32_t stream, uint64_t id, uint64_t counter);
/* Standard normals (Box-Muller on one Philox block). */
void rng_normal2(uint64_t seed, uint32_t stream, uint64_t id, uint64_t counter, double g[2]);
void rng_normal3(uint64_t seed, uint32_t stream, uint64_t id, uint64_t counter, double g[3]);

/* ---- named phase timers (compiled away without -DBASIN_TIMERS) ---- */
typedef enum {
    TIMER_TOTAL = 0,
    TIMER_FORCE,
    TIMER_NEIGH,
    TIMER_COMM,
    TIMER_INTEGRATE,
    TIMER_OUTPUT,
    TIMER_MINIMIZE,
    TIMER_EIGEN,
    TIMER_COUNT
} TimerId;
void timer_reset_all(void);
double timer_elapsed(TimerId t);
#ifdef BASIN_TIMERS
void timer_start(TimerId t);
void timer_stop(TimerId t);
#else
static inline void timer_start(TimerId t) {
    (void)t;
}
static inline void timer_stop(TimerId t) {
    (void)t;
}
#endif
/* Collective: prints per-phase min/avg/max over ranks and the share of TIMER_TOTAL; "other" is
 * the total minus the named phases. */
void timer_report(const char *title);

#endif
