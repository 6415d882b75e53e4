/* Checkpoint files (src/io/checkpoint.c), every section kind written and read back:
 *  1. global scalars/arrays (float64, int64, int32), id-block arrays, a string and per-rank
 *     arrays written on P ranks read back bit for bit on the same P;
 *  2. the file exists only after the commit (temporary name + rename); a discarded writer
 *     leaves the previous checkpoint untouched and no temporary file;
 *  3. a checkpoint written on one rank (COMM_SELF, rank 0) read on P ranks: id-block arrays are
 *     redistributed to the new blocks, per-rank arrays report "not restored" when P != 1;
 *  4. bad reads: missing dataset, wrong length, wrong type, not a checkpoint -> one error
 *     naming the file and the dataset, the same code on every rank. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/util/parallel.h"
#include "basin/checkpoint.h"
#include "basin/h5md.h"
#include "testutil.h"

enum { NATOMS = 37 };

static double value(int64_t id, int k) {
    return 1.0 / (double)(id + 3) + 0.125 * k - 1e-300 * (double)id;
}

static int write_file(const char *path, int commit) {
    int64_t lo, hi;
    idblock_range(NATOMS, par_rank(), par_size(), &lo, &hi);
    const int64_t nb = hi - lo;
    double *x = calloc(3 * (size_t)nb + 1, sizeof *x);
    int32_t *sp = calloc((size_t)nb + 1, sizeof *sp);
    for (int64_t i = 0; i < nb; ++i) {
        for (int k = 0; k < 3; ++k)
            x[3 * i + k] = value(lo + i, k);
        sp[i] = (int32_t)((lo + i) % 2);
    }
    double g[3] = {3.25, -0.0, 1e-310};
    int64_t gi[2] = {INT64_MAX, -7};
    int32_t g32 = -5;
    Ckpt *c = NULL;
    int rc = ckpt_begin_write(path, &c);
    const CkptEntry e[] = {
        {"a/g", g, CKPT_F64, 3, CKPT_GLOBAL},
        {"a/gi", gi, CKPT_I64, 2, CKPT_GLOBAL},
        {"a/g32", &g32, CKPT_I32, 1, CKPT_GLOBAL},
        {"atoms/x", x, CKPT_F64, 3 * nb, CKPT_BLOCK},
        {"atoms/species", sp, CKPT_I32, nb, CKPT_BLOCK},
    };
    if (!rc) rc = ckpt_io(c, e, 5);
    char *text = "line 1\nline 2 = x\n";
    if (!rc) rc = ckpt_string(c, "meta/text", &text);
    /* rank r holds r + 1 values r * 10 + k */
    int64_t n = par_rank() + 1;
    int64_t *mine = calloc((size_t)n, sizeof *mine);
    for (int64_t k = 0; k < n; ++k)
        mine[k] = par_rank() * 10 + k;
    void *p = mine;
    if (!rc) rc = ckpt_rank_array(c, "r/mine", CKPT_I64, &p, &n, NULL);
    if (!rc && commit) {
        rc = ckpt_commit(&c);
    } else {
        ckpt_discard(&c);
    }
    free(x);
    free(sp);
    free(mine);
    return rc;
}

static void read_back(const char *path, int writer_ranks) {
    int64_t lo, hi;
    idblock_range(NATOMS, par_rank(), par_size(), &lo, &hi);
    const int64_t nb = hi - lo;
    double *x = calloc(3 * (size_t)nb + 1, sizeof *x);
    int32_t *sp = calloc((size_t)nb + 1, sizeof *sp);
    double g[3] = {0};
    int64_t gi[2] = {0};
    int32_t g32 = 0;
    Ckpt *c = NULL;
    TOK(ckpt_begin_read(path, &c));
    if (!c) return;
    TCHECK(ckpt_nranks(c) == writer_ranks, "nranks %d, expected %d", ckpt_nranks(c), writer_ranks);
    CkptEntry e[] = {
        {"a/g", g, CKPT_F64, 3, CKPT_GLOBAL},
        {"a/gi", gi, CKPT_I64, 2, CKPT_GLOBAL},
        {"a/g32", &g32, CKPT_I32, 1, CKPT_GLOBAL},
        {"atoms/x", x, CKPT_F64, 3 * nb, CKPT_BLOCK},
        {"atoms/species", sp, CKPT_I32, nb, CKPT_BLOCK},
    };
    TOK(ckpt_io(c, e, 5));
    const double gw[3] = {3.25, -0.0, 1e-310};
    TCHECK(memcmp(g, gw, sizeof g) == 0, "global doubles not bit-exact");
    TCHECK(gi[0] == INT64_MAX && gi[1] == -7 && g32 == -5, "global integers");
    int bad = 0;
    for (int64_t i = 0; i < nb; ++i) {
        for (int k = 0; k < 3; ++k) {
            const double w = value(lo + i, k);
            bad += memcmp(&x[3 * i + k], &w, sizeof w) != 0;
        }
        bad += sp[i] != (int32_t)((lo + i) % 2);
    }
    TCHECK(bad == 0, "%d id-block values differ", bad);
    char *text = NULL;
    TOK(ckpt_string(c, "meta/text", &text));
    TCHECK(text && !strcmp(text, "line 1\nline 2 = x\n"), "string '%s'", text ? text : "(null)");
    free(text);
    void *p = NULL;
    int64_t n = -1;
    int restored = -1;
    TOK(ckpt_rank_array(c, "r/mine", CKPT_I64, &p, &n, &restored));
    if (writer_ranks == par_size()) {
        TCHECK(restored == 1 && n == par_rank() + 1, "rank array: restored %d n %lld", restored,
               (long long)n);
        for (int64_t k = 0; p && k < n; ++k)
            TCHECK(((int64_t *)p)[k] == par_rank() * 10 + k, "rank array value %lld", (long long)k);
    } else {
        TCHECK(restored == 0 && n == 0 && p == NULL, "rank array from %d ranks on %d: restored %d",
               writer_ranks, par_size(), restored);
    }
    free(p);

    /* bad reads: the same error on every rank, naming the dataset */
    int64_t small[2];
    CkptEntry missing = {"a/nothing", small, CKPT_I64, 1, CKPT_GLOBAL};
    int rc = ckpt_io(c, &missing, 1);
    TCHECK(rc == BASIN_ERR_IO && strstr(basin_error_message(), "a/nothing"), "missing: %d %s", rc,
           basin_error_message());
    CkptEntry len = {"a/gi", small, CKPT_I64, 1, CKPT_GLOBAL};
    rc = ckpt_io(c, &len, 1);
    TCHECK(rc == BASIN_ERR_IO && strstr(basin_error_message(), "holds 2 values"), "length: %s",
           basin_error_message());
    CkptEntry type = {"a/gi", g, CKPT_F64, 2, CKPT_GLOBAL};
    rc = ckpt_io(c, &type, 1);
    TCHECK(rc == BASIN_ERR_IO && strstr(basin_error_message(), "float64"), "type: %s",
           basin_error_message());
    TOK(ckpt_commit(&c)); /* a reader: close */
    free(x);
    free(sp);
}

int main(int argc, char **argv) {
    tu_init(&argc, &argv);
    char dir[64] = "/tmp/basin_ckpt_XXXXXX";
    int ok = par_rank() == 0 ? mkdtemp(dir) != NULL : 1;
    MPI_Bcast(dir, sizeof dir, MPI_CHAR, 0, par_comm());
    MPI_Bcast(&ok, 1, MPI_INT, 0, par_comm());
    TCHECK(ok, "mkdtemp");
    char path[128], tmp[140], path1[128];
    snprintf(path, sizeof path, "%s/c.h5", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    snprintf(path1, sizeof path1, "%s/one.h5", dir);

    /* 1, 2 */
    TOK(write_file(path, 0));
    par_barrier();
    TCHECK(access(path, F_OK) != 0 && access(tmp, F_OK) != 0,
           "a discarded writer leaves neither file");
    TOK(write_file(path, 1));
    par_barrier();
    TCHECK(access(path, F_OK) == 0 && access(tmp, F_OK) != 0, "committed: file, no temporary");
    read_back(path, par_size());
    TOK(write_file(path, 0)); /* a later discarded write keeps the committed file */
    read_back(path, par_size());

    /* 3: written on rank 0 alone */
    if (par_rank() == 0) {
        par_push_comm(MPI_COMM_SELF);
        TOK(write_file(path1, 1));
        par_pop_comm();
    }
    par_barrier();
    read_back(path1, 1);

    /* 4: not a checkpoint */
    char h5md_like[128];
    snprintf(h5md_like, sizeof h5md_like, "%s/not.h5", dir);
    H5md *h = NULL;
    int32_t *sp = calloc(NATOMS, sizeof *sp);
    int64_t lo, hi;
    idblock_range(NATOMS, par_rank(), par_size(), &lo, &hi);
    TOK(h5md_create(h5md_like, NULL, NATOMS, sp, 0, &h));
    TOK(h5md_close(&h));
    free(sp);
    Ckpt *c = NULL;
    int rc = ckpt_begin_read(h5md_like, &c);
    TCHECK(rc == BASIN_ERR_IO && strstr(basin_error_message(), "not a basin checkpoint"), "%s",
           basin_error_message());
    snprintf(h5md_like, sizeof h5md_like, "%s/missing.h5", dir);
    rc = ckpt_begin_read(h5md_like, &c);
    TCHECK(rc == BASIN_ERR_IO, "missing file: %d", rc);

    par_barrier();
    if (par_rank() == 0) {
        char cmd[160];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        TCHECK(system(cmd) == 0, "cleanup");
    }
    return tu_finish();
}
