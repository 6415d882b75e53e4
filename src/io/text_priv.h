/* Private to src/io: helpers shared by the text-format readers (LAMMPS data, extended XYZ).
 * Not collective. */
#ifndef BASIN_IO_TEXT_PRIV_H
#define BASIN_IO_TEXT_PRIV_H

#include <stdint.h>
#include <stdio.h>

/* Whole-token number parsers: "1.5x" or "" are errors (-1), not 1.5 or 0. Doubles must be
 * finite; ERANGE on underflow still yields the subnormal or zero the text stood for. */
int io_parse_i64(const char *s, int64_t *out);
int io_parse_double(const char *s, double *out);

/* basin_error(BASIN_ERR_IO, path, "line N", ...): the one-line "<file>:line N: <what>" of
 * every text reader (line 0: the file as a whole, no line key). */
int io_line_error(const char *path, int64_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* 0, or BASIN_ERR_MPI naming what an MPI_Bcast of the parsed data failed on. */
int io_bcast_check(int mpi_rc, const char *what);

/* A text file read line by line (getline buffer, 1-based line number for error lines) and the
 * tokens of the current line, shared by the LAMMPS data and extended-XYZ readers. */
enum { IO_MAX_TOKENS = 16 };
typedef struct IoLines {
    const char *path;
    FILE *fp;
    char *buf; /* current line (getline buffer), tokenised in place */
    size_t cap;
    int64_t line; /* 1-based number of the line in buf */
    char *tok[IO_MAX_TOKENS];
    int ntok; /* IO_MAX_TOKENS + 1: more than IO_MAX_TOKENS (callers check exact counts) */
} IoLines;

/* The next line into l->buf, with its line end. 1: a line, 0: end of file, < 0: a read error
 * or a NUL byte (binary or corrupted file), reported with io_line_error(). */
int io_getline(IoLines *l);
/* Split s (inside l->buf) into l->tok at the characters of delims. */
void io_tokenize(IoLines *l, char *s, const char *delims);

#endif
