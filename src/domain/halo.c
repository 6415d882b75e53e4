/* halo.c: ghost atoms. Plimpton's six-swap scheme (LAMMPS Comm::borders / miniMD Comm, HOOMD
 * Communicator): for dimension x, then y, then z, each rank sends the atoms within rghost of its
 * lower face to the lower neighbour and those within rghost of its upper face to the upper
 * neighbour. Atoms received in an earlier dimension are candidates in the later ones, so
 * edge and corner ghosts arrive in two or three hops without any diagonal message: 6 messages per
 * exchange instead of 26. The two swaps of one dimension only read atoms that were present
 * before that dimension started (owned + ghosts of earlier dimensions), so they are independent
 * and are posted together (3 latency-bound rounds instead of 6).
 *
 * borders() records, per swap, the list of sent atoms and the periodic shift (+-L when the
 * message crosses the box boundary, so ghost positions are real images, never wrapped), and the
 * range of ghosts it delivered. Between rebuilds forward() resends positions along the same lists
 * (no search) and reverse() walks the swaps backwards, summing ghost forces into the atoms they
 * came from; a ghost of a ghost is summed into the intermediate ghost first, which is why the
 * reverse order matters. With one rank in a dimension the swap is a local copy with the shift,
 * through the same code (the receive buffer is the send buffer).
 *
 * Habit 2 (STYLE.md): the exchange is written once. Every field (positions with the shift,
 * forces, arbitrary per-atom arrays) is a HaloOps descriptor of four pack/unpack callbacks and a
 * width; halo_forward()/halo_reverse() own the swap loop and the MPI calls. Buffers are per
 * direction, grown by doubling, never shrunk.
 *
 * A single-hop halo needs every sub-box edge >= rghost; domain_create() refuses smaller ones.
 */
#include <string.h>

#include "basin/util.h"
#include "domain_priv.h"

void halo_swaps_init(Domain *d) {
    struct DomainComm *c = d->comm;
    for (int k = 0; k < 3; ++k) {
        for (int dir = 0; dir < 2; ++dir) {
            Swap *sw = &c->swap[2 * k + dir];
            sw->dim = k;
            sw->dir = dir;
            sw->send_rank = dir == 0 ? c->lower[k] : c->upper[k];
            sw->recv_rank = dir == 0 ? c->upper[k] : c->lower[k];
            sw->self = d->dims[k] == 1;
            sw->shift[0] = sw->shift[1] = sw->shift[2] = 0.0;
            if (dir == 0 && d->coords[k] == 0) sw->shift[k] = d->L;
            if (dir == 1 && d->coords[k] == d->dims[k] - 1) sw->shift[k] = -d->L;
        }
    }
}

void halo_exchange_dim(Domain *d, int k, int reverse, int tag, double *const sbuf[2],
                       const int nsend[2], double *rbuf[2], const int nrecv[2]) {
    struct DomainComm *c = d->comm;
    const Swap *sw = &c->swap[2 * k];
    if (sw[0].self) {
        rbuf[0] = sbuf[0];
        rbuf[1] = sbuf[1];
        return;
    }
    MPI_Request req[4];
    int nr = 0;
    for (int dir = 0; dir < 2; ++dir) {
        const int src = reverse ? sw[dir].send_rank : sw[dir].recv_rank;
        MPI_Irecv(rbuf[dir], nrecv[dir], MPI_DOUBLE, src, tag + 2 * k + dir, c->cart, &req[nr++]);
    }
    for (int dir = 0; dir < 2; ++dir) {
        const int dst = reverse ? sw[dir].recv_rank : sw[dir].send_rank;
        MPI_Isend(sbuf[dir], nsend[dir], MPI_DOUBLE, dst, tag + 2 * k + dir, c->cart, &req[nr++]);
    }
    MPI_Waitall(nr, req, MPI_STATUSES_IGNORE);
}

void halo_exchange_counts(Domain *d, int k, int tag, const int send[2], int recv[2]) {
    struct DomainComm *c = d->comm;
    const Swap *sw = &c->swap[2 * k];
    if (sw[0].self) {
        recv[0] = send[0];
        recv[1] = send[1];
        return;
    }
    MPI_Request req[4];
    for (int dir = 0; dir < 2; ++dir)
        MPI_Irecv(&recv[dir], 1, MPI_INT, sw[dir].recv_rank, tag + 2 * k + dir, c->cart, &req[dir]);
    for (int dir = 0; dir < 2; ++dir)
        MPI_Isend(&send[dir], 1, MPI_INT, sw[dir].send_rank, tag + 2 * k + dir, c->cart,
                  &req[2 + dir]);
    MPI_Waitall(4, req, MPI_STATUSES_IGNORE);
}

/* Pointers to the per-direction buffers after making room for the given numbers of doubles. */
static void halo_buffers(Domain *d, const int nsend[2], const int nrecv[2], double *sb[2],
                         double *rb[2]) {
    struct DomainComm *c = d->comm;
    for (int dir = 0; dir < 2; ++dir) {
        domain_buf_reserve(d, &c->sbuf[dir], nsend[dir]);
        domain_buf_reserve(d, &c->rbuf[dir], nrecv[dir]);
        sb[dir] = c->sbuf[dir].p;
        rb[dir] = c->rbuf[dir].p;
    }
}

void halo_forward(Domain *d, const HaloOps *h) {
    struct DomainComm *c = d->comm;
    for (int k = 0; k < 3; ++k) {
        const Swap *sw = &c->swap[2 * k];
        int ns[2], nr[2];
        double *sb[2], *rb[2];
        for (int dir = 0; dir < 2; ++dir) {
            ns[dir] = sw[dir].nsend * h->width;
            nr[dir] = sw[dir].nrecv * h->width;
        }
        halo_buffers(d, ns, nr, sb, rb);
        for (int dir = 0; dir < 2; ++dir)
            h->pack_list(h, sw[dir].list, sw[dir].nsend, sw[dir].shift, sb[dir]);
        halo_exchange_dim(d, k, 0, TAG_FORWARD, sb, ns, rb, nr);
        for (int dir = 0; dir < 2; ++dir)
            h->unpack_range(h, sw[dir].recv_first, sw[dir].nrecv, rb[dir]);
    }
}

void halo_reverse(Domain *d, const HaloOps *h) {
    struct DomainComm *c = d->comm;
    for (int k = 2; k >= 0; --k) {
        const Swap *sw = &c->swap[2 * k];
        int ns[2], nr[2];
        double *sb[2], *rb[2];
        for (int dir = 0; dir < 2; ++dir) {
            ns[dir] = sw[dir].nrecv * h->width;
            nr[dir] = sw[dir].nsend * h->width;
        }
        halo_buffers(d, ns, nr, sb, rb);
        for (int dir = 0; dir < 2; ++dir)
            h->pack_range(h, sw[dir].recv_first, sw[dir].nrecv, sb[dir]);
        halo_exchange_dim(d, k, 1, TAG_REVERSE, sb, ns, rb, nr);
        /* Fixed order dir 0 then dir 1: sums are bitwise reproducible at a given rank count. */
        for (int dir = 0; dir < 2; ++dir)
            h->unpack_list_add(h, sw[dir].list, sw[dir].nsend, rb[dir]);
    }
}

/* ---- the built-in descriptors: a per-atom array of h->width doubles ---- */

static void pack_list_copy(const HaloOps *h, const int *list, int n, const double shift[3],
                           double *buf) {
    (void)shift;
    const int w = h->width;
    const double *a = h->a;
    if (w == 3) {
        for (int m = 0; m < n; ++m) {
            const double *s = a + 3 * (size_t)list[m];
            buf[3 * m] = s[0];
            buf[3 * m + 1] = s[1];
            buf[3 * m + 2] = s[2];
        }
        return;
    }
    for (int m = 0; m < n; ++m)
        memcpy(buf + (size_t)m * w, a + (size_t)list[m] * w, w * 8);
}

/* Positions: the image a ghost represents is the owner position plus the swap's shift. */
static void pack_list_position(const HaloOps *h, const int *list, int n, const double shift[3],
                               double *buf) {
    const double *a = h->a;
    const double s0 = shift[0], s1 = shift[1], s2 = shift[2];
    for (int m = 0; m < n; ++m) {
        const double *s = a + 3 * (size_t)list[m];
        buf[3 * m] = s[0] + s0;
        buf[3 * m + 1] = s[1] + s1;
        buf[3 * m + 2] = s[2] + s2;
    }
}

static void unpack_range_copy(const HaloOps *h, int first, int n, const double *buf) {
    memcpy(h->a + (size_t)first * h->width, buf, (size_t)n * h->width * sizeof(double));
}

static void pack_range_copy(const HaloOps *h, int first, int n, double *buf) {
    memcpy(buf, h->a + (size_t)first * h->width, (size_t)n * h->width * sizeof(double));
}

static void unpack_list_add(const HaloOps *h, const int *list, int n, const double *buf) {
    const int w = h->width;
    double *a = h->a;
    if (w == 3) {
        for (int m = 0; m < n; ++m) {
            double *t = a + 3 * (size_t)list[m];
            t[0] += buf[3 * m];
            t[1] += buf[3 * m + 1];
            t[2] += buf[3 * m + 2];
        }
        return;
    }
    for (int m = 0; m < n; ++m)
        for (int k = 0; k < w; ++k)
            a[(size_t)list[m] * w + k] += buf[(size_t)m * w + k];
}

static HaloOps array_ops(double *a, int width, int position) {
    HaloOps h = {.width = width,
                 .pack_list = position ? pack_list_position : pack_list_copy,
                 .unpack_range = unpack_range_copy,
                 .pack_range = pack_range_copy,
                 .unpack_list_add = unpack_list_add,
                 .a = a};
    return h;
}

static int halo_check(const Domain *d, int width) {
    if (!d->comm->ghosts_valid)
        return basin_error(BASIN_ERR_INTERNAL, "domain", NULL,
                           "halo exchange before domain_borders()/domain_rebuild()");
    if (width < 1) return basin_error(BASIN_ERR_INTERNAL, "domain", NULL, "width %d", width);
    return 0;
}

int domain_forward(Domain *d) {
    BCHK(halo_check(d, 3));
    timer_start(TIMER_COMM);
    HaloOps h = array_ops(d->x, 3, 1);
    halo_forward(d, &h);
    timer_stop(TIMER_COMM);
    return 0;
}

int domain_reverse(Domain *d) {
    return domain_reverse_array(d, d->f, 3);
}

int domain_forward_array(Domain *d, double *a, int width) {
    BCHK(halo_check(d, width));
    timer_start(TIMER_COMM);
    HaloOps h = array_ops(a, width, 0);
    halo_forward(d, &h);
    timer_stop(TIMER_COMM);
    return 0;
}

int domain_reverse_array(Domain *d, double *a, int width) {
    BCHK(halo_check(d, width));
    timer_start(TIMER_COMM);
    HaloOps h = array_ops(a, width, 0);
    halo_reverse(d, &h);
    memset(a + (size_t)d->nlocal * width, 0, (size_t)d->nghost * width * sizeof(double));
    timer_stop(TIMER_COMM);
    return 0;
}

/* ---- borders: search the send lists, move x, species and id of the new ghosts ---- */

int domain_borders(Domain *d) {
    struct DomainComm *c = d->comm;
    timer_start(TIMER_COMM);
    d->nghost = 0;
    for (int k = 0; k < 3; ++k) {
        const int nfirst = d->nlocal + d->nghost;
        c->nfirst[k] = nfirst;
        Swap *sw = &c->swap[2 * k];
        const double below = d->lo[k] + d->rghost; /* dir 0 sends x < below */
        const double above = d->hi[k] - d->rghost; /* dir 1 sends x >= above */
        for (int dir = 0; dir < 2; ++dir) {
            domain_grow((void **)&sw[dir].list, &sw[dir].list_cap, nfirst, sizeof(int),
                        "ghost send list");
            int *list = sw[dir].list, n = 0;
            const double *x = d->x;
            if (dir == 0) {
                for (int i = 0; i < nfirst; ++i)
                    if (x[3 * i + k] < below) list[n++] = i;
            } else {
                for (int i = 0; i < nfirst; ++i)
                    if (x[3 * i + k] >= above) list[n++] = i;
            }
            sw[dir].nsend = n;
        }
        const int send[2] = {sw[0].nsend, sw[1].nsend};
        int recv[2];
        halo_exchange_counts(d, k, TAG_BORDER_COUNT, send, recv);
        const int need = nfirst + recv[0] + recv[1];
        if (need < nfirst) basin_abort_local(BASIN_ERR_NOMEM, "domain: ghost count overflow");
        if (domain_reserve(d, need) != 0)
            basin_abort_local(BASIN_ERR_NOMEM, "domain: %s", basin_error_message());

        const int W = DOMAIN_BORDER_WIDTH;
        int ns[2], nr[2];
        double *sb[2], *rb[2];
        for (int dir = 0; dir < 2; ++dir) {
            ns[dir] = send[dir] * W;
            nr[dir] = recv[dir] * W;
        }
        halo_buffers(d, ns, nr, sb, rb);
        for (int dir = 0; dir < 2; ++dir) {
            const int *list = sw[dir].list;
            const double *sh = sw[dir].shift;
            double *b = sb[dir];
            for (int m = 0; m < send[dir]; ++m) {
                const int i = list[m];
                b[W * m] = d->x[3 * i] + sh[0];
                b[W * m + 1] = d->x[3 * i + 1] + sh[1];
                b[W * m + 2] = d->x[3 * i + 2] + sh[2];
                b[W * m + 3] = (double)d->species[i];
                b[W * m + 4] = (double)d->id[i];
            }
        }
        halo_exchange_dim(d, k, 0, TAG_BORDER_DATA, sb, ns, rb, nr);
        int first = nfirst;
        for (int dir = 0; dir < 2; ++dir) {
            sw[dir].recv_first = first;
            sw[dir].nrecv = recv[dir];
            const double *b = rb[dir];
            for (int m = 0; m < recv[dir]; ++m) {
                const int j = first + m;
                d->x[3 * j] = b[W * m];
                d->x[3 * j + 1] = b[W * m + 1];
                d->x[3 * j + 2] = b[W * m + 2];
                d->species[j] = (int)b[W * m + 3];
                d->id[j] = (int64_t)b[W * m + 4];
                d->f[3 * j] = d->f[3 * j + 1] = d->f[3 * j + 2] = 0.0;
                d->image[3 * j] = d->image[3 * j + 1] = d->image[3 * j + 2] = 0;
            }
            first += recv[dir];
        }
        d->nghost = first - d->nlocal;
    }
    if (d->nghost > c->stats.max_nghost) c->stats.max_nghost = d->nghost;
    c->ghosts_valid = 1;
    c->list_valid = 0;
    timer_stop(TIMER_COMM);
    return 0;
}
