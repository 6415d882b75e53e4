/* domain.c: the Domain object (create/destroy), the rank grid and sub-box geometry, the initial
 * distribution of global arrays, the rebuild trigger and the rebuild sequence, id-ordered
 * gathers for tests.
 *
 * Rank grid: MPI_Dims_create(P, 3) over the util communicator, periodic MPI_Cart_create without
 * reordering (so Cartesian rank == util rank and rank-0 logging stays rank 0). Every sub-box edge
 * L/dims[k] must be >= rghost = rc_max + skin: the halo is single-hop (each swap talks to the
 * adjacent rank only), which is what keeps it to six messages. Rather than a multi-hop halo we
 * refuse the decomposition with BASIN_ERR_RANKS and name the largest rank count that works; all
 * ranks compute the same answer, so the error is collective without communication.
 *
 * Ownership: sub-box bounds are edges[k][c] = L*c/dims[k], computed once; an atom belongs to the
 * cell c with edges[c] <= x < edges[c+1] (the top edge is exactly L). The owner is found with a
 * floor() guess corrected against these same numbers, so "owned by this rank" and
 * "lo <= x < hi" can never disagree by rounding.
 *
 * Error handling: functions that run on all ranks and can fail locally (allocation, a bad
 * position) agree on the outcome over the domain's communicator before returning, so every rank
 * returns the same code and message. Allocation failures in the middle of an exchange cannot be
 * agreed on without blocking the others, so they abort the job with a one-line message
 * (basin_abort_local); MPI errors on the domain communicator are fatal for the same reason.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "basin/util.h"
#include "domain_priv.h"
#include "../util/parallel.h"

/* Agree on rc over the domain's communicator (which may differ from the util communicator,
 * e.g. when a test builds a one-rank reference under MPI_COMM_SELF). */
static int domain_agree(const Domain *d, int rc) {
    par_push_comm(d->comm->cart);
    rc = basin_error_agree(rc);
    par_pop_comm();
    return rc;
}

void domain_grow(void **p, int64_t *cap, int64_t n, size_t sz, const char *what) {
    if (n <= *cap) return;
    int64_t c = *cap > 0 ? *cap : 16;
    while (c < n)
        c *= 2;
    if (basin_realloc(p, (size_t)c, sz, what) != 0)
        basin_abort_local(BASIN_ERR_NOMEM, "domain: %s", basin_error_message());
    *cap = c;
}

void domain_buf_reserve(Domain *d, Buf *b, int64_t n) {
    int64_t before = b->cap;
    if (n < 1) n = 1; /* never hand a NULL buffer to memcpy or MPI */
    domain_grow((void **)&b->p, &b->cap, n, sizeof(double), "halo buffer");
    d->comm->stats.buf_bytes += (b->cap - before) * (int64_t)sizeof(double);
}

void domain_ibuf_reserve(Domain *d, int64_t n) {
    domain_grow((void **)&d->comm->ibuf, &d->comm->ibuf_cap, n, sizeof(int), "domain scratch");
}

void domain_scratch_reserve(Domain *d, int64_t n) {
    domain_grow((void **)&d->comm->scratch, &d->comm->scratch_cap, n, sizeof(double),
                "domain scratch");
}

int domain_reserve(Domain *d, int n) {
    if (n <= d->cap) return 0;
    int c = d->cap > 0 ? d->cap : 64;
    while (c < n) {
        if (c > (1 << 29))
            return basin_error(BASIN_ERR_NOMEM, NULL, NULL,
                               "domain: more than 2^30 atoms on one rank");
        c *= 2;
    }
    BCHK(BREALLOC(d->x, 3 * (size_t)c));
    BCHK(BREALLOC(d->v, 3 * (size_t)c));
    BCHK(BREALLOC(d->f, 3 * (size_t)c));
    BCHK(BREALLOC(d->x_build, 3 * (size_t)c));
    BCHK(BREALLOC(d->species, (size_t)c));
    BCHK(BREALLOC(d->id, (size_t)c));
    BCHK(BREALLOC(d->image, 3 * (size_t)c));
    /* New entries start defined (zero), so no array ever exposes uninitialised memory. */
    size_t old = (size_t)d->cap, add = (size_t)(c - d->cap);
    memset(d->x + 3 * old, 0, 3 * add * sizeof(double));
    memset(d->v + 3 * old, 0, 3 * add * sizeof(double));
    memset(d->f + 3 * old, 0, 3 * add * sizeof(double));
    memset(d->x_build + 3 * old, 0, 3 * add * sizeof(double));
    memset(d->species + old, 0, add * sizeof(int));
    memset(d->id + old, 0, add * sizeof(int64_t));
    memset(d->image + 3 * old, 0, 3 * add * sizeof(int32_t));
    d->cap = c;
    return 0;
}

int domain_owner_coord(const Domain *d, int k, double xk) {
    const int n = d->dims[k];
    const double *e = d->comm->edges[k];
    int c = (int)(xk * n / d->L);
    if (c < 0) c = 0;
    if (c > n - 1) c = n - 1;
    while (c > 0 && xk < e[c])
        --c;
    while (c < n - 1 && xk >= e[c + 1])
        ++c;
    return c;
}

int domain_max_ranks(double L, double rghost) {
    if (!(rghost > 0.0) || !(L >= rghost)) return 0;
    double q = floor(L / rghost); /* most ranks per dimension */
    if (q > 1290.0) q = 1290.0;   /* q^3 stays an int */
    int per = (int)q;
    while (per > 1 && L / per < rghost)
        --per; /* guard against rounding of the division */
    for (int p = per * per * per; p > 1; --p) {
        int dims[3] = {0, 0, 0};
        MPI_Dims_create(p, 3, dims);
        if (dims[0] <= per && dims[1] <= per && dims[2] <= per) return p;
    }
    return 1;
}

static void domain_free_arrays(Domain *d) {
    free(d->x);
    free(d->v);
    free(d->f);
    free(d->x_build);
    free(d->species);
    free(d->id);
    free(d->image);
    free(d->nbr_start);
    free(d->nbr);
}

void domain_destroy(Domain **dp) {
    if (!dp || !*dp) return;
    Domain *d = *dp;
    struct DomainComm *c = d->comm;
    if (c) {
        cells_free(d);
        for (int s = 0; s < 6; ++s)
            free(c->swap[s].list);
        for (int k = 0; k < 3; ++k)
            free(c->edges[k]);
        for (int i = 0; i < 2; ++i) {
            free(c->sbuf[i].p);
            free(c->rbuf[i].p);
        }
        free(c->ibuf);
        free(c->scratch);
        if (c->cart != MPI_COMM_NULL) MPI_Comm_free(&c->cart);
        free(c);
    }
    domain_free_arrays(d);
    free(d);
    *dp = NULL;
}

int domain_create(const Model *m, double L, double skin, Domain **out) {
    *out = NULL;
    if (!m) return basin_error(BASIN_ERR_INTERNAL, "domain", NULL, "no model");
    if (!(L > 0.0) || !isfinite(L))
        return basin_error(BASIN_ERR_CONFIG, "domain", "L", "box edge must be > 0, got %g", L);
    if (!(skin >= 0.0) || !isfinite(skin))
        return basin_error(BASIN_ERR_CONFIG, "domain", "skin", "must be >= 0, got %g", skin);
    const double rghost = m->rc_max + skin;

    MPI_Comm parent = par_comm();
    int size = 1;
    MPI_Comm_size(parent, &size);
    int dims[3] = {0, 0, 0};
    MPI_Dims_create(size, 3, dims);
    for (int k = 0; k < 3; ++k) {
        if (L / dims[k] >= rghost) continue;
        int pmax = domain_max_ranks(L, rghost);
        if (pmax == 0)
            return basin_error(BASIN_ERR_RANKS, "domain", NULL,
                               "box edge L = %g is smaller than r_ghost = rc_max + skin = %g + %g: "
                               "the box cannot be decomposed (it must be larger than 2 rc_max "
                               "anyway)",
                               L, m->rc_max, skin);
        return basin_error(BASIN_ERR_RANKS, "domain", NULL,
                           "too many ranks for the box: %d ranks give a %dx%dx%d grid whose "
                           "sub-box edge %g is smaller than r_ghost = rc_max + skin = %g; at most "
                           "%d ranks can be used (at most %d per dimension)",
                           size, dims[0], dims[1], dims[2], L / dims[k], rghost, pmax,
                           (int)floor(L / rghost));
    }

    Domain *d = NULL;
    int rc = BALLOC(d, 1);
    if (rc == 0) rc = BALLOC(d->comm, 1);
    rc = basin_error_agree(rc); /* over the parent communicator: no Cartesian one yet */
    if (rc != 0) {
        if (d) free(d->comm);
        free(d);
        return rc;
    }
    struct DomainComm *c = d->comm;
    c->cart = MPI_COMM_NULL;
    d->L = L;
    d->model = m;
    d->rc_max = m->rc_max;
    d->skin = skin;
    d->rghost = rghost;
    int periods[3] = {1, 1, 1};
    MPI_Cart_create(parent, 3, dims, periods, 0, &c->cart);
    /* A failure in the middle of a halo exchange cannot be returned without leaving the
     * partner blocked: let MPI abort the job instead. */
    MPI_Comm_set_errhandler(c->cart, MPI_ERRORS_ARE_FATAL);
    MPI_Comm_rank(c->cart, &c->rank);
    MPI_Comm_size(c->cart, &c->size);
    MPI_Cart_coords(c->cart, c->rank, 3, d->coords);
    for (int k = 0; k < 3; ++k) {
        d->dims[k] = dims[k];
        MPI_Cart_shift(c->cart, k, 1, &c->lower[k], &c->upper[k]);
    }
    for (int k = 0; k < 3 && rc == 0; ++k) {
        rc = BALLOC(c->edges[k], dims[k] + 1);
        if (rc) break;
        for (int i = 0; i < dims[k]; ++i)
            c->edges[k][i] = L * i / dims[k];
        c->edges[k][dims[k]] = L;
        d->lo[k] = c->edges[k][d->coords[k]];
        d->hi[k] = c->edges[k][d->coords[k] + 1];
    }
    if (rc == 0) rc = domain_reserve(d, 64);
    if (rc == 0) rc = BALLOC(d->nbr_start, 1);
    if (rc == 0) rc = cells_init(d);
    if (rc == 0) halo_swaps_init(d);
    rc = domain_agree(d, rc);
    if (rc != 0) {
        domain_destroy(&d);
        return rc;
    }
    *out = d;
    return 0;
}

/* Wrap one coordinate into [0, L), counting the wraps. Exact at the upper edge: a value that
 * rounds to L after the shift is mapped to 0 with one more wrap. */
static inline void wrap_coord(double L, double *x, int32_t *img) {
    if (*x >= 0.0 && *x < L) return;
    double s = floor(*x / L);
    *x -= s * L;
    *img += (int32_t)s;
    if (*x >= L) {
        *x -= L;
        *img += 1;
    }
    if (*x < 0.0) {
        *x += L;
        *img -= 1;
    }
}

int domain_wrap_owned(Domain *d) {
    int bad = -1;
    for (int i = 0; i < d->nlocal; ++i) {
        double *xi = d->x + 3 * i;
        if (!isfinite(xi[0]) || !isfinite(xi[1]) || !isfinite(xi[2])) {
            bad = i;
            break;
        }
        for (int k = 0; k < 3; ++k)
            wrap_coord(d->L, xi + k, d->image + 3 * i + k);
    }
    if (bad < 0) return 0;
    const double *xb = d->x + 3 * bad;
    return basin_error(BASIN_ERR_PHYSICS, "domain", NULL,
                       "non-finite position of atom %lld (x = %g %g %g): the integration blew up "
                       "(time step too large, or overlapping atoms?)",
                       (long long)d->id[bad], xb[0], xb[1], xb[2]);
}

int domain_distribute(Domain *d, int64_t n, const double *x, const double *v, const int *species,
                      const int32_t *image) {
    struct DomainComm *c = d->comm;
    /* Validation first: every rank reads the same arrays, so every rank reaches the same
     * verdict and the error is collective without communication. */
    if (n < 1)
        return basin_error(BASIN_ERR_CONFIG, "domain", "natoms", "must be >= 1, got %lld",
                           (long long)n);
    if (n > (int64_t)1 << 52)
        return basin_error(BASIN_ERR_CONFIG, "domain", "natoms", "too many atoms (%lld)",
                           (long long)n);
    for (int64_t i = 0; i < n; ++i) {
        const double *xi = x + 3 * i;
        if (!isfinite(xi[0]) || !isfinite(xi[1]) || !isfinite(xi[2]))
            return basin_error(BASIN_ERR_PHYSICS, "domain", NULL,
                               "non-finite position of atom %lld (x = %g %g %g)", (long long)i,
                               xi[0], xi[1], xi[2]);
        if (species[i] < 0 || species[i] >= d->model->nspecies)
            return basin_error(BASIN_ERR_CONFIG, "domain", NULL,
                               "atom %lld has species %d, the model has %d", (long long)i,
                               species[i], d->model->nspecies);
    }
    d->natoms = n;
    d->nlocal = 0;
    d->nghost = 0;
    int rc = 0;
    for (int64_t i = 0; i < n && rc == 0; ++i) {
        double xi[3];
        int32_t im[3];
        int mine = 1;
        for (int k = 0; k < 3; ++k) {
            xi[k] = x[3 * i + k];
            im[k] = image ? image[3 * i + k] : 0;
            wrap_coord(d->L, xi + k, im + k);
            if (domain_owner_coord(d, k, xi[k]) != d->coords[k]) mine = 0;
        }
        if (!mine) continue;
        if (d->nlocal + 1 > d->cap) rc = domain_reserve(d, d->nlocal + 1);
        if (rc) break;
        const int j = d->nlocal++;
        for (int k = 0; k < 3; ++k) {
            d->x[3 * j + k] = xi[k];
            d->v[3 * j + k] = v ? v[3 * i + k] : 0.0;
            d->f[3 * j + k] = 0.0;
            d->image[3 * j + k] = im[k];
        }
        d->species[j] = species[i];
        d->id[j] = i;
    }
    rc = domain_agree(d, rc);
    if (rc) return rc;
    int64_t total = d->nlocal;
    MPI_Allreduce(MPI_IN_PLACE, &total, 1, MPI_INT64_T, MPI_SUM, c->cart);
    if (total != n)
        return basin_error(BASIN_ERR_INTERNAL, "domain", NULL, "distribute kept %lld of %lld atoms",
                           (long long)total, (long long)n);
    if (d->nlocal > c->stats.max_nlocal) c->stats.max_nlocal = d->nlocal;
    c->list_valid = 0;
    c->ghosts_valid = 0;
    return 0;
}

void domain_set_full_list(Domain *d, int full) {
    d->full_list = full ? 1 : 0;
    d->comm->list_valid = 0;
}

int domain_check_rebuild(Domain *d) {
    int flag = d->comm->list_valid ? 0 : 1;
    if (!flag) {
        const double lim2 = 0.25 * d->skin * d->skin;
        const double *x = d->x, *xb = d->x_build;
        for (int i = 0; i < d->nlocal; ++i) {
            const double dx = x[3 * i] - xb[3 * i], dy = x[3 * i + 1] - xb[3 * i + 1],
                         dz = x[3 * i + 2] - xb[3 * i + 2];
            if (dx * dx + dy * dy + dz * dz > lim2) {
                flag = 1;
                break;
            }
        }
    }
    MPI_Allreduce(MPI_IN_PLACE, &flag, 1, MPI_INT, MPI_MAX, d->comm->cart);
    return flag;
}

int domain_rebuild(Domain *d) {
    BCHK(domain_migrate(d));
    timer_start(TIMER_NEIGH);
    cells_sort_owned(d);
    timer_stop(TIMER_NEIGH);
    BCHK(domain_borders(d));
    BCHK(domain_agree(d, domain_build_neighbors(d)));
    memset(d->f, 0, 3 * (size_t)(d->nlocal + d->nghost) * sizeof(double));
    return 0;
}

int64_t domain_count_global(const Domain *d) {
    int64_t n = d->nlocal;
    MPI_Allreduce(MPI_IN_PLACE, &n, 1, MPI_INT64_T, MPI_SUM, d->comm->cart);
    return n;
}

int domain_allgather_by_id(const Domain *d, const double *a, int width, double *global) {
    struct DomainComm *c = d->comm;
    if (width < 1) return basin_error(BASIN_ERR_INTERNAL, "domain", NULL, "width %d", width);
    const int rec = width + 1;
    int *counts = NULL, *displs = NULL;
    double *mine = NULL, *all = NULL;
    int rc = BALLOC(counts, c->size);
    if (rc == 0) rc = BALLOC(displs, c->size);
    if (rc == 0) rc = BALLOC(mine, (size_t)d->nlocal * rec);
    if (rc == 0) rc = BALLOC(all, (size_t)d->natoms * rec);
    rc = domain_agree(d, rc);
    if (rc == 0) {
        for (int i = 0; i < d->nlocal; ++i) {
            mine[(size_t)i * rec] = (double)d->id[i];
            memcpy(mine + (size_t)i * rec + 1, a + (size_t)i * width, width * sizeof(double));
        }
        int nmine = d->nlocal * rec;
        MPI_Allgather(&nmine, 1, MPI_INT, counts, 1, MPI_INT, c->cart);
        int64_t off = 0;
        for (int r = 0; r < c->size; ++r) {
            displs[r] = (int)off;
            off += counts[r];
        }
        if (off != d->natoms * rec) {
            rc = basin_error(BASIN_ERR_INTERNAL, "domain", NULL,
                             "allgather: %lld atoms owned in total, expected %lld",
                             (long long)(off / rec), (long long)d->natoms);
        } else {
            MPI_Allgatherv(mine, nmine, MPI_DOUBLE, all, counts, displs, MPI_DOUBLE, c->cart);
            for (int64_t i = 0; i < d->natoms; ++i) {
                const double *r = all + i * rec;
                const int64_t id = (int64_t)r[0];
                memcpy(global + id * width, r + 1, width * sizeof(double));
            }
        }
    }
    free(counts);
    free(displs);
    free(mine);
    free(all);
    return rc;
}

void domain_stats(const Domain *d, DomainStats *s) {
    *s = d->comm->stats;
    const CellGrid *g = &d->comm->grid;
    for (int k = 0; k < 3; ++k) {
        s->ncell[k] = g->n[k];
        s->cell_edge[k] = g->edge[k];
    }
    s->nstencil = d->full_list ? g->full_cells : g->half_cells;
    s->nbr_cap = d->nbr_cap;
    s->atom_cap = d->cap;
}
