/* io: the id-block layout and idblock_move() on 1, 2 and 4 ranks.
 *  1. idblock_range tiles [0, N) in order for N < P, N = P and uneven N.
 *  2. Atoms dealt to ranks in a scrambled order (and reversed in memory) arrive in id-block
 *     order bit-exactly, for doubles (width 3), int32 (width 3) and int32 (width 1) in one
 *     exchange; also when N < P (empty blocks and ranks owning nothing).
 *  3. A duplicated id, a missing id and an id out of range give BASIN_ERR_INTERNAL on every
 *     rank (no hang), naming the id.
 */
#include <string.h>

#include "basin/h5md.h"
#include "basin/util.h"
#include "testutil.h"

/* Values whose bits matter: not representable in fewer digits, negative zero, NaN payloads are
 * avoided only because NaN != NaN would complicate the comparison. */
static double val_d(int64_t id, int c) {
    return (double)id / 3.0 - 1e-300 * c + (c == 2 ? -0.0 : 0);
}
static int32_t val_i(int64_t id, int c) {
    return (int32_t)(id * 2654435761u) ^ (c << 29);
}

static void check_tiling(void) {
    const int64_t ns[] = {1, 3, 4, 7, 1000, 1001};
    for (size_t t = 0; t < sizeof ns / sizeof *ns; ++t)
        for (int p = 1; p <= 8; ++p) {
            int64_t prev = 0, lo, hi;
            for (int r = 0; r < p; ++r) {
                idblock_range(ns[t], r, p, &lo, &hi);
                TCHECK(lo == prev && hi >= lo, "N=%lld P=%d r=%d: [%lld, %lld)", (long long)ns[t],
                       p, r, (long long)lo, (long long)hi);
                prev = hi;
            }
            TCHECK(prev == ns[t], "N=%lld P=%d: blocks end at %lld", (long long)ns[t], p,
                   (long long)prev);
        }
}

/* Rank r owns the ids i with (i * 7919 + shift) % P == r, stored in reverse order. */
static int deal(int64_t n, int shift, int64_t **ids) {
    const int r = par_rank(), p = par_size();
    int cnt = 0;
    for (int64_t i = 0; i < n; ++i)
        cnt += (int)((i * 7919 + shift) % p == r);
    *ids = malloc((size_t)(cnt > 0 ? cnt : 1) * sizeof **ids);
    int j = cnt;
    for (int64_t i = 0; i < n; ++i)
        if ((i * 7919 + shift) % p == r) (*ids)[--j] = i;
    return cnt;
}

static void check_move(int64_t n) {
    int64_t *ids = NULL;
    const int m = deal(n, 3, &ids);
    double *x = malloc(3 * (size_t)(m + 1) * sizeof *x);
    int32_t *im = malloc(3 * (size_t)(m + 1) * sizeof *im), *sp = malloc((size_t)(m + 1) * 4);
    for (int i = 0; i < m; ++i) {
        for (int c = 0; c < 3; ++c) {
            x[3 * i + c] = val_d(ids[i], c);
            im[3 * i + c] = val_i(ids[i], c);
        }
        sp[i] = (int32_t)(ids[i] % 2);
    }
    int64_t lo, hi;
    idblock_range(n, par_rank(), par_size(), &lo, &hi);
    const int64_t nb = hi - lo;
    double *xb = calloc(3 * (size_t)(nb + 1), sizeof *xb);
    int32_t *ib = calloc(3 * (size_t)(nb + 1), sizeof *ib), *sb = calloc((size_t)(nb + 1), 4);
    const IdblockField f[3] = {{x, xb, 8, 3}, {im, ib, 4, 3}, {sp, sb, 4, 1}};
    /* twice through one workspace: the second call reuses (and must not corrupt) the buffers */
    IdblockWork w = {0};
    TOK(idblock_move_work(n, m, ids, 3, f, &w));
    memset(xb, 0, 3 * (size_t)(nb + 1) * sizeof *xb);
    TOK(idblock_move_work(n, m, ids, 3, f, &w));
    idblock_work_free(&w);
    int bad = 0;
    for (int64_t i = lo; i < hi; ++i) {
        const int64_t k = i - lo;
        for (int c = 0; c < 3; ++c) {
            const double want = val_d(i, c);
            bad += memcmp(&xb[3 * k + c], &want, sizeof want) != 0;
            bad += ib[3 * k + c] != val_i(i, c);
        }
        bad += sb[k] != (int32_t)(i % 2);
    }
    TCHECK(bad == 0, "N=%lld: %d values differ after idblock_move", (long long)n, bad);
    free(ids);
    free(x);
    free(im);
    free(sp);
    free(xb);
    free(ib);
    free(sb);
}

/* Broken distributions: every rank must get the same error. */
static void check_errors(int64_t n) {
    int64_t *ids = NULL;
    int m = deal(n, 0, &ids);
    double *x = calloc(3 * (size_t)(m + 2), sizeof *x);
    int64_t lo, hi;
    idblock_range(n, par_rank(), par_size(), &lo, &hi);
    double *xb = calloc(3 * (size_t)(hi - lo + 1), sizeof *xb);
    const IdblockField f = {x, xb, 8, 3};

    /* rank 0 claims id 5 a second time (rank 0 owns id 0, which it keeps) */
    int64_t *dup = malloc((size_t)(m + 1) * sizeof *dup);
    memcpy(dup, ids, (size_t)m * sizeof *dup);
    const int md = m + (par_rank() == 0);
    if (par_rank() == 0) dup[m] = 5;
    int rc = idblock_move(n, md, dup, 1, &f);
    TCHECK(rc == BASIN_ERR_INTERNAL && strstr(basin_error_message(), "atom id 5 is owned by more"),
           "duplicate: rc %d, '%s'", rc, basin_error_message());

    /* the last rank drops its first atom */
    const int last = par_rank() == par_size() - 1 && m > 0;
    const int64_t dropped = last ? ids[0] : -1;
    rc = idblock_move(n, m - last, ids + last, 1, &f);
    TCHECK(rc == BASIN_ERR_INTERNAL && strstr(basin_error_message(), "is owned by no rank"),
           "missing (id %lld): rc %d, '%s'", (long long)dropped, rc, basin_error_message());

    /* an id out of range on rank 0 */
    if (par_rank() == 0 && m > 0) dup[0] = n + 3;
    rc = idblock_move(n, m, dup, 1, &f);
    TCHECK(rc == BASIN_ERR_INTERNAL && strstr(basin_error_message(), "out of range"),
           "out of range: rc %d, '%s'", rc, basin_error_message());
    basin_error_clear();
    free(dup);
    free(ids);
    free(x);
    free(xb);
}

int main(int argc, char **argv) {
    tu_init(&argc, &argv);
    check_tiling();
    check_move(1);
    check_move(3);
    check_move(1001);
    check_errors(50);
    return tu_finish();
}
