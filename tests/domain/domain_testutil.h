/* Helpers of the domain tests (systems, brute-force forces and displacements: ../sysutil.h):
 * brute-force O(N^2) pair references on the global arrays, and gathers of the distributed
 * neighbour list by global id pairs. The brute force uses the minimum image on the global
 * id-ordered arrays (valid because every test box has L > 2 (rc_max + skin)); it is the one-rank
 * truth that 1, 2 and 4 ranks are compared with. */
#ifndef BASIN_DOMAIN_TESTUTIL_H
#define BASIN_DOMAIN_TESTUTIL_H

#include <mpi.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/util/parallel.h"
#include "../sysutil.h"
#include "../testutil.h"
#include "basin/domain.h"
#include "basin/model.h"
#include "basin/util.h"

#define DT_SKIN 0.3

static inline int64_t *i64_alloc(int64_t n) {
    return malloc((size_t)(n > 0 ? n : 1) * 8);
}

static int cmp_i64(const void *a, const void *b) {
    const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Gather the list over comm as codes a*N + b of global ids. ordered = 0: a = min, b = max
 * (half list); ordered = 1: a = id_i, b = id_j as listed (full list). Returned sorted, on
 * every rank; *np = total. Only pairs closer than rc(si,sj) + rc_extra are kept (rc_extra =
 * skin keeps everything listed). */
static inline int64_t *gather_list(const Domain *d, MPI_Comm comm, int ordered, int64_t *np) {
    const int64_t N = d->natoms;
    int64_t nl = d->nbr_start[d->nlocal];
    int64_t *mine = i64_alloc(nl);
    for (int i = 0; i < d->nlocal; ++i)
        for (int p = d->nbr_start[i]; p < d->nbr_start[i + 1]; ++p) {
            int64_t a = d->id[i], b = d->id[d->nbr[p]];
            if (!ordered && a > b) {
                const int64_t t = a;
                a = b;
                b = t;
            }
            mine[p] = a * N + b;
        }
    int size;
    MPI_Comm_size(comm, &size);
    int *cnt = malloc(size * sizeof(int)), *dis = malloc(size * sizeof(int));
    int nmine = (int)nl;
    MPI_Allgather(&nmine, 1, MPI_INT, cnt, 1, MPI_INT, comm);
    int64_t tot = 0;
    for (int r = 0; r < size; ++r) {
        dis[r] = (int)tot;
        tot += cnt[r];
    }
    int64_t *all = i64_alloc(tot);
    MPI_Allgatherv(mine, nmine, MPI_INT64_T, all, cnt, dis, MPI_INT64_T, comm);
    qsort(all, (size_t)tot, sizeof(int64_t), cmp_i64);
    free(mine);
    free(cnt);
    free(dis);
    *np = tot;
    return all;
}

/* Brute force over all i < j with the minimum image: pairs with r^2 < (rc_ab + extra)^2.
 * "sure" pairs are clearly inside, "edge" pairs within a relative 1e-10 of the cutoff (the
 * list may or may not have them: rounding of the image shift). Codes i*N + j, i < j, sorted. */
static inline void brute_pairs(const TestSystem *s, double extra, int64_t **sure, int64_t *nsure,
                               int64_t **edge, int64_t *nedge) {
    int64_t cs = 1024, ce = 16, ns = 0, ne = 0;
    int64_t *a = i64_alloc(cs), *b = i64_alloc(ce);
    for (int64_t i = 0; i < s->n; ++i)
        for (int64_t j = i + 1; j < s->n; ++j) {
            double dv[3];
            const double r2 = model_min_image(s->x + 3 * i, s->x + 3 * j, s->L, dv);
            const double rc = s->m.pair[s->species[i]][s->species[j]].rc + extra;
            const double c2 = rc * rc;
            if (r2 < c2 * (1.0 - 1e-10)) {
                if (ns == cs) a = realloc(a, (size_t)(cs *= 2) * 8);
                a[ns++] = i * s->n + j;
            } else if (r2 < c2 * (1.0 + 1e-10)) {
                if (ne == ce) b = realloc(b, (size_t)(ce *= 2) * 8);
                b[ne++] = i * s->n + j;
            }
        }
    *sure = a;
    *nsure = ns;
    *edge = b;
    *nedge = ne;
}

static inline int has_code(const int64_t *v, int64_t n, int64_t code) {
    return bsearch(&code, v, (size_t)n, sizeof(int64_t), cmp_i64) != NULL;
}

/* Compare a gathered half list (unordered codes, sorted) with the brute force: no duplicates,
 * every sure pair present, every listed pair sure or edge. Returns the number of problems and
 * prints the first few. */
static inline int compare_half(const int64_t *list, int64_t nlist, const int64_t *sure,
                               int64_t nsure, const int64_t *edge, int64_t nedge, int64_t N,
                               const char *what) {
    int bad = 0;
    for (int64_t p = 1; p < nlist; ++p)
        if (list[p] == list[p - 1] && bad++ < 5)
            fprintf(stderr, "%s: pair (%lld, %lld) listed twice\n", what, (long long)(list[p] / N),
                    (long long)(list[p] % N));
    for (int64_t p = 0; p < nsure; ++p)
        if (!has_code(list, nlist, sure[p]) && bad++ < 5)
            fprintf(stderr, "%s: pair (%lld, %lld) missing\n", what, (long long)(sure[p] / N),
                    (long long)(sure[p] % N));
    for (int64_t p = 0; p < nlist; ++p)
        if (!has_code(sure, nsure, list[p]) && !has_code(edge, nedge, list[p]) && bad++ < 5)
            fprintf(stderr, "%s: pair (%lld, %lld) listed but beyond the cutoff\n", what,
                    (long long)(list[p] / N), (long long)(list[p] % N));
    return bad;
}

/* Pair forces and energy with the list in d (half or full), reverse-summed for the half list,
 * gathered by id into fglob[3N]; returns the total energy (collective over d's communicator). */
static inline double list_forces(Domain *d, MPI_Comm comm, double *fglob) {
    const int ntot = d->nlocal + d->nghost;
    memset(d->f, 0, 3 * (size_t)ntot * sizeof(double));
    double e = 0.0;
    for (int i = 0; i < d->nlocal; ++i) {
        for (int p = d->nbr_start[i]; p < d->nbr_start[i + 1]; ++p) {
            const int j = d->nbr[p];
            const PairParams *pp = &d->model->pair[d->species[i]][d->species[j]];
            double dv[3], r2 = 0.0;
            for (int k = 0; k < 3; ++k) {
                dv[k] = d->x[3 * i + k] - d->x[3 * j + k];
                r2 += dv[k] * dv[k];
            }
            if (r2 >= pp->rc2) continue;
            double v, fr;
            pot_energy_force(pp, r2, &v, &fr);
            e += d->full_list ? 0.5 * v : v;
            for (int k = 0; k < 3; ++k) {
                d->f[3 * i + k] += fr * dv[k];
                if (!d->full_list) d->f[3 * j + k] -= fr * dv[k];
            }
        }
    }
    if (!d->full_list) domain_reverse(d);
    MPI_Allreduce(MPI_IN_PLACE, &e, 1, MPI_DOUBLE, MPI_SUM, comm);
    domain_allgather_by_id(d, d->f, 3, fglob);
    return e;
}

#endif
