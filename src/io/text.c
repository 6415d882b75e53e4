/* Helpers of the text-format readers (text_priv.h). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <mpi.h>

#include "basin/util.h"
#include "text_priv.h"

int io_parse_i64(const char *s, int64_t *out) {
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE) return -1;
    *out = (int64_t)v;
    return 0;
}

int io_parse_double(const char *s, double *out) {
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

int io_line_error(const char *path, int64_t line, const char *fmt, ...) {
    char what[512], key[32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(key, sizeof key, "line %lld", (long long)line);
    return basin_error(BASIN_ERR_IO, path, line > 0 ? key : NULL, "%s", what);
}

int io_bcast_check(int mpi_rc, const char *what) {
    if (mpi_rc == MPI_SUCCESS) return 0;
    return basin_error(BASIN_ERR_MPI, NULL, NULL, "MPI_Bcast of %s failed (code %d)", what, mpi_rc);
}

int io_getline(IoLines *l) {
    errno = 0;
    const ssize_t len = getline(&l->buf, &l->cap, l->fp);
    if (len < 0) {
        if (ferror(l->fp))
            return io_line_error(l->path, l->line, "read error after this line: %s",
                                 strerror(errno));
        return 0;
    }
    ++l->line;
    if ((size_t)len != strlen(l->buf))
        return io_line_error(l->path, l->line,
                             "NUL byte in a text file (binary or corrupted file?)");
    return 1;
}

void io_tokenize(IoLines *l, char *s, const char *delims) {
    l->ntok = 0;
    char *save = NULL;
    for (char *t = strtok_r(s, delims, &save); t; t = strtok_r(NULL, delims, &save)) {
        if (l->ntok == IO_MAX_TOKENS) {
            l->ntok = IO_MAX_TOKENS + 1;
            return;
        }
        l->tok[l->ntok++] = t;
    }
}
