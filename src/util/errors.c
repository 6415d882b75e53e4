/* Error recording and the two exit paths of STYLE.md habit 4. One message slot per process:
 * basin is single-threaded per rank (MPI ranks, no OpenMP in the physics), so no locking. */
#include <errno.h>
#include <mpi.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basin/util.h"
#include "parallel.h"

enum { MSG_LEN = 1024, TRACE_LEN = 2048 };
static char err_msg[MSG_LEN];
static char err_trace[TRACE_LEN];

const char *basin_strerror(int code) {
    switch (code) {
    case BASIN_OK:
        return "success";
    case BASIN_ERR_CONFIG:
        return "invalid input";
    case BASIN_ERR_IO:
        return "file error";
    case BASIN_ERR_NOMEM:
        return "out of memory";
    case BASIN_ERR_MPI:
        return "MPI error";
    case BASIN_ERR_LIB:
        return "library error";
    case BASIN_ERR_PHYSICS:
        return "physics error";
    case BASIN_ERR_USAGE:
        return "usage error";
    case BASIN_ERR_RANKS:
        return "bad rank count";
    case BASIN_ERR_INTERNAL:
        return "internal error";
    default:
        return "unknown error";
    }
}

int basin_error(int code, const char *where, const char *key, const char *fmt, ...) {
    int n = 0;
    if (where && *where) n = snprintf(err_msg, MSG_LEN, "%s:", where);
    if (key && *key && n < MSG_LEN) n += snprintf(err_msg + n, (size_t)(MSG_LEN - n), "%s:", key);
    if (n > 0 && n < MSG_LEN - 1) err_msg[n++] = ' ';
    if (n < MSG_LEN) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err_msg + n, (size_t)(MSG_LEN - n), fmt, ap);
        va_end(ap);
    }
    err_trace[0] = '\0';
    return code;
}

const char *basin_error_message(void) {
    return err_msg;
}

void basin_error_clear(void) {
    err_msg[0] = '\0';
    err_trace[0] = '\0';
}

void basin_error_trace(const char *file, int line, const char *func) {
    size_t n = strlen(err_trace);
    if (n < TRACE_LEN - 1)
        snprintf(err_trace + n, TRACE_LEN - n, "  at %s:%d (%s)\n", file, line, func);
}

int basin_calloc(void **p, size_t count, size_t size, const char *what) {
    if (count == 0) count = 1; /* keep a valid pointer so that callers need no special case */
    void *q = calloc(count, size);
    if (!q)
        return basin_error(BASIN_ERR_NOMEM, NULL, NULL, "cannot allocate %zu x %zu bytes for %s",
                           count, size, what);
    *p = q;
    return 0;
}

int basin_realloc(void **p, size_t count, size_t size, const char *what) {
    if (count == 0) count = 1;
    if (size && count > SIZE_MAX / size)
        return basin_error(BASIN_ERR_NOMEM, NULL, NULL, "size overflow allocating %s", what);
    void *q = realloc(*p, count * size);
    if (!q)
        return basin_error(BASIN_ERR_NOMEM, NULL, NULL, "cannot grow %s to %zu x %zu bytes", what,
                           count, size);
    *p = q;
    return 0;
}

int basin_error_agree(int rc) {
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    if (!initialized || finalized) return rc;
    MPI_Comm comm = par_comm();
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    /* The lowest failing rank speaks for everyone, so all ranks print/return the same line. */
    int mine = rc != 0 ? rank : size, first = size;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm);
    if (first == size) return 0;
    int code = rc;
    MPI_Bcast(&code, 1, MPI_INT, first, comm);
    MPI_Bcast(err_msg, MSG_LEN, MPI_CHAR, first, comm);
    return code;
}

int basin_error_report(int rc) {
    rc = basin_error_agree(rc);
    if (rc == 0) return BASIN_EXIT_OK;
    if (par_rank() == 0) {
        fprintf(stderr, "basin: error: %s\n", err_msg[0] ? err_msg : basin_strerror(rc));
        const char *dbg = getenv("BASIN_DEBUG");
        if (dbg && *dbg && strcmp(dbg, "0") != 0 && err_trace[0]) fputs(err_trace, stderr);
        fflush(stderr);
    }
    return rc == BASIN_ERR_USAGE ? BASIN_EXIT_USAGE : BASIN_EXIT_ERROR;
}

_Noreturn void basin_abort_local(int code, const char *fmt, ...) {
    char line[MSG_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "basin: error: [rank %d] %s (%s)\n", par_rank(), line, basin_strerror(code));
    fflush(stderr);
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    if (initialized && !finalized) MPI_Abort(MPI_COMM_WORLD, 1);
    exit(1);
}
