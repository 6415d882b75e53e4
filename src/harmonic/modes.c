/* Normal modes: solve, check, analyse (basin/harmonic.h, docs/modes.md).
 *
 * Solver choice. On this machine (TOOLCHAIN.md, Debian's ELPA with generic kernels only) ELPA
 * 1-stage is the fastest for all eigenvectors (n = 12000, 2 cores: 125 s, 2-stage 274 s) and
 * 2-stage for eigenvalues only or few vectors (10 % of the vectors: 62 s vs 80 s). A straight
 * line through those two points per solver puts the crossover at ~20 % of the vectors, which
 * is what HARMONIC_SOLVER_AUTO uses. pdsyevd is only the cross-check.
 *
 * Translations. The Hessian is translation invariant by construction (H_ii = -sum_j H_ij, to
 * round-off), so three eigenvalues are zero whatever the configuration. They are identified by
 * their eigenvectors (largest projection on the uniform translations), not by being the three
 * lowest eigenvalues: at a saddle point a negative eigenvalue sorts below them, and that is
 * exactly the case the minimum check must name.
 *
 * Distributed analysis. Everything per mode is a sum over rows of one eigenvector column, so
 * every rank sums its local rows and one reduction along the process column (the ranks that
 * share the column) completes it; no vector is ever gathered. The fourth-power sum of PR needs
 * the per-atom |e_i|^2 = sum over 3 rows, and an atom's 3 rows are split between two process
 * rows when its rows straddle a block boundary (nb not a multiple of 3): those atoms carry
 * their partial |e_i|^2 through the reduction in extra slots and are squared after it. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/parallel.h"
#include "basin/harmonic.h"
#include "basin/util.h"

/* Fraction of the spectrum below which AUTO takes ELPA 2-stage (see the file comment). */
#define AUTO_2STAGE_FRACTION 0.2

static const char *const SOLVER_NAMES[] = {"auto", "elpa1", "elpa2", "pdsyevd"};

const char *harmonic_solver_name(HarmonicSolver s) {
    if ((int)s < 0 || (int)s > (int)HARMONIC_SOLVER_PDSYEVD) return NULL;
    return SOLVER_NAMES[s];
}

int harmonic_solver_parse(const char *name, HarmonicSolver *out) {
    for (int s = 0; s <= (int)HARMONIC_SOLVER_PDSYEVD; ++s)
        if (name && !strcmp(name, SOLVER_NAMES[s])) {
            *out = (HarmonicSolver)s;
            return 0;
        }
    return basin_error(BASIN_ERR_CONFIG, "modes", "solver",
                       "unknown solver '%s' (auto, elpa1, elpa2 or pdsyevd)", name ? name : "");
}

void harmonic_options_default(HarmonicOptions *o) {
    memset(o, 0, sizeof(*o));
    o->nb = 64;
    o->vectors = 1;
    o->solver = HARMONIC_SOLVER_AUTO;
    o->require_minimum = 1;
    o->tol = 1e-9;
    o->vdos_bins = 200;
    o->quench = 1;
    o->quench_fmax = 0.0; /* min(inherent.fmax, HARMONIC_QUENCH_FMAX), resolved by the run */
}

static int parse_int(const char *opt, const char *v, int lo, int *out) {
    char *end = NULL;
    const long x = v ? strtol(v, &end, 10) : 0;
    if (!v || end == v || *end || x < lo || x > INT32_MAX)
        return basin_error(BASIN_ERR_USAGE, "command line", opt, "needs an integer >= %d, got '%s'",
                           lo, v ? v : "");
    *out = (int)x;
    return 0;
}

static int parse_double(const char *opt, const char *v, double *out) {
    char *end = NULL;
    const double x = v ? strtod(v, &end) : 0.0;
    if (!v || end == v || *end || !isfinite(x) || x < 0.0)
        return basin_error(BASIN_ERR_USAGE, "command line", opt, "needs a number >= 0, got '%s'",
                           v ? v : "");
    *out = x;
    return 0;
}

int harmonic_options_parse_arg(int argc, char **argv, int *i, HarmonicOptions *o) {
    const char *a = argv[*i];
    const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (!strcmp(a, "--values-only")) {
        o->vectors = 0;
        return 1;
    }
    if (!strcmp(a, "--allow-saddle")) {
        o->require_minimum = 0;
        return 1;
    }
    if (!strcmp(a, "--no-quench")) {
        o->quench = 0;
        return 1;
    }
    static const char *const with_value[] = {"--solver", "--nev",         "--nb",
                                             "--grid",   "--elpa-kernel", "--tol",
                                             "--bins",   "--omega-max",   "--fmax"};
    int known = 0;
    for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; ++k)
        known |= !strcmp(a, with_value[k]);
    if (!known) return 0;
    int rc = 0;
    if (!strcmp(a, "--solver")) {
        rc = v ? harmonic_solver_parse(v, &o->solver)
               : basin_error(BASIN_ERR_USAGE, "command line", a, "needs a value");
        if (rc) rc = BASIN_ERR_USAGE;
    } else if (!strcmp(a, "--nev")) {
        rc = parse_int(a, v, 0, &o->nev);
    } else if (!strcmp(a, "--nb")) {
        rc = parse_int(a, v, 1, &o->nb);
    } else if (!strcmp(a, "--elpa-kernel")) {
        rc = parse_int(a, v, 0, &o->elpa_kernel);
    } else if (!strcmp(a, "--bins")) {
        rc = parse_int(a, v, 1, &o->vdos_bins);
    } else if (!strcmp(a, "--tol")) {
        rc = parse_double(a, v, &o->tol);
    } else if (!strcmp(a, "--omega-max")) {
        rc = parse_double(a, v, &o->vdos_omega_max);
    } else if (!strcmp(a, "--fmax")) {
        /* 0 would mean "the default" in HarmonicOptions; on the command line it is a mistake */
        char *end = NULL;
        const double x = v ? strtod(v, &end) : 0.0;
        if (!v || end == v || *end || !isfinite(x) || !(x > 0.0))
            rc = basin_error(BASIN_ERR_USAGE, "command line", a, "needs a number > 0, got '%s'",
                             v ? v : "");
        else
            o->quench_fmax = x;
    } else { /* --grid PxQ */
        int p = 0, q = 0, used = 0;
        if (!v || sscanf(v, "%dx%d%n", &p, &q, &used) != 2 || v[used] || p < 1 || q < 1)
            rc = basin_error(BASIN_ERR_USAGE, "command line", a,
                             "needs PxQ with P, Q >= 1 (e.g. 2x1), got '%s'", v ? v : "");
        o->nprow = p;
        o->npcol = q;
    }
    if (rc) return rc;
    ++*i;
    return 1;
}

static int check_options(const HarmonicOptions *o, int n) {
    if (o->nb < 1)
        return basin_error(BASIN_ERR_CONFIG, "modes", "nb", "block size must be >= 1, got %d",
                           o->nb);
    if (o->nprow < 0 || o->npcol < 0 || (o->nprow == 0) != (o->npcol == 0))
        return basin_error(BASIN_ERR_CONFIG, "modes", "grid",
                           "give both process-grid dimensions or neither, got %d x %d", o->nprow,
                           o->npcol);
    if (o->nev != 0 && (o->nev < 4 || o->nev > n))
        return basin_error(BASIN_ERR_CONFIG, "modes", "nev",
                           "must be 0 (all) or in [4, 3N = %d] (the 3 translations and at least "
                           "one mode), got %d",
                           n, o->nev);
    if (o->vectors != 0 && o->vectors != 1)
        return basin_error(BASIN_ERR_CONFIG, "modes", "vectors", "must be 0 or 1, got %d",
                           o->vectors);
    if (!harmonic_solver_name(o->solver))
        return basin_error(BASIN_ERR_CONFIG, "modes", "solver", "unknown solver %d",
                           (int)o->solver);
    if (!(o->tol > 0.0 && o->tol < 1e-2))
        return basin_error(BASIN_ERR_CONFIG, "modes", "tol", "must be in (0, 1e-2), got %g",
                           o->tol);
    if (o->vdos_bins < 1)
        return basin_error(BASIN_ERR_CONFIG, "modes", "vdos_bins", "must be >= 1, got %d",
                           o->vdos_bins);
    if (!(o->vdos_omega_max >= 0.0) || !isfinite(o->vdos_omega_max))
        return basin_error(BASIN_ERR_CONFIG, "modes", "vdos_omega_max", "must be >= 0, got %g",
                           o->vdos_omega_max);
    return 0;
}

static HarmonicSolver resolve_solver(const HarmonicOptions *o, int nmodes, int n) {
    if (o->solver != HARMONIC_SOLVER_AUTO) return o->solver;
    if (!o->vectors || nmodes <= AUTO_2STAGE_FRACTION * n) return HARMONIC_SOLVER_ELPA2;
    return HARMONIC_SOLVER_ELPA1;
}

void harmonic_modes_destroy(HarmonicModes **mp) {
    if (!mp || !*mp) return;
    HarmonicModes *m = *mp;
    linalg_matrix_destroy(&m->z);
    linalg_grid_destroy(&m->grid);
    free(m->lambda);
    free(m->omega);
    free(m->translation);
    free(m->trans_weight);
    free(m->pr);
    free(m->vdos_edges);
    free(m->vdos);
    free(m);
    *mp = NULL;
}

/* ||H||_inf = max_i sum_j |H_ij|: row sums are completed along process rows. */
static double hessian_inf_norm(const LinalgMatrix *h, MPI_Comm rowcomm) {
    double *rs = NULL;
    if (BALLOC(rs, h->lrows + 1)) return NAN;
    for (int lj = 0; lj < h->lcols; ++lj)
        for (int li = 0; li < h->lrows; ++li)
            rs[li] += fabs(h->data[li + (size_t)lj * h->lld]);
    MPI_Allreduce(MPI_IN_PLACE, rs, h->lrows, MPI_DOUBLE, MPI_SUM, rowcomm);
    double mx = 0.0;
    for (int li = 0; li < h->lrows; ++li)
        mx = rs[li] > mx ? rs[li] : mx;
    free(rs);
    MPI_Allreduce(MPI_IN_PLACE, &mx, 1, MPI_DOUBLE, MPI_MAX, h->grid->comm);
    return mx;
}

/* Local rows grouped by atom: rows [first, first + count) of local storage belong to one atom;
 * slot >= 0 when the atom's other rows live on another process row. */
typedef struct AtomGroup {
    int first, count, slot;
} AtomGroup;

/* Translation weights and participation ratios of the first nmodes columns of z, into the
 * global arrays tw[nmodes] and pr[nmodes] (identical on every rank on return). */
static int column_stats(const LinalgMatrix *z, int64_t natoms, int nmodes, MPI_Comm colcomm,
                        double *tw, double *pr) {
    const LinalgGrid *g = z->grid;
    const int nb = z->nb, np = g->nprow;
    const int zero = 0;
    const int lcw = numroc_(&nmodes, &nb, &g->mycol, &zero, &g->npcol);

    /* Split atoms get consecutive global slots, so every rank of a process column indexes the
     * reduction buffer alike. With one process row nothing is split. */
    int *slot_of = NULL; /* [natoms] */
    AtomGroup *grp = NULL;
    unsigned char *comp = NULL; /* [lrows]: Cartesian component of each local row */
    double *buf = NULL;
    int rc = BALLOC(slot_of, natoms);
    if (!rc) rc = BALLOC(grp, z->lrows + 1);
    if (!rc) rc = BALLOC(comp, z->lrows + 1);
    rc = basin_error_agree(rc);
    if (rc) goto out;
    int nsplit = 0;
    for (int64_t a = 0; a < natoms; ++a) {
        const int p0 = linalg_g2p((int)(3 * a), nb, np), p1 = linalg_g2p((int)(3 * a + 1), nb, np),
                  p2 = linalg_g2p((int)(3 * a + 2), nb, np);
        slot_of[a] = (p0 == p1 && p1 == p2) ? -1 : nsplit++;
    }
    int ngrp = 0;
    for (int li = 0; li < z->lrows; ++li) {
        comp[li] = (unsigned char)(linalg_row_l2g(z, li) % 3);
        const int a = linalg_row_l2g(z, li) / 3;
        if (ngrp > 0 && linalg_row_l2g(z, grp[ngrp - 1].first) / 3 == a) {
            ++grp[ngrp - 1].count;
        } else {
            grp[ngrp].first = li;
            grp[ngrp].count = 1;
            grp[ngrp].slot = slot_of[a];
            ++ngrp;
        }
    }
    free(slot_of);
    slot_of = NULL;

    /* Per column: [0] sum e^2, [1] sum over whole atoms of |e_a|^4, [2..4] sum of the x, y, z
     * components, [5 + slot] partial |e_a|^2 of split atoms. Columns go through in chunks so
     * the buffer stays ~32 MB whatever N is; every rank of a process column has the same lcw,
     * hence the same number of reductions. */
    const int stride = 5 + nsplit;
    int chunk = (1 << 22) / stride;
    if (chunk < 1) chunk = 1;
    if (chunk > lcw) chunk = lcw > 0 ? lcw : 1;
    rc = basin_error_agree(BALLOC(buf, (size_t)chunk * stride));
    if (rc) goto out;
    for (int j0 = 0; j0 < lcw; j0 += chunk) {
        const int j1 = j0 + chunk < lcw ? j0 + chunk : lcw;
        memset(buf, 0, (size_t)chunk * stride * sizeof(double));
        for (int lj = j0; lj < j1; ++lj) {
            const double *e = z->data + (size_t)lj * z->lld;
            double *b = buf + (size_t)(lj - j0) * stride;
            for (int k = 0; k < ngrp; ++k) {
                double q = 0.0;
                for (int li = grp[k].first; li < grp[k].first + grp[k].count; ++li) {
                    q += e[li] * e[li];
                    b[2 + comp[li]] += e[li];
                }
                b[0] += q;
                if (grp[k].slot < 0)
                    b[1] += q * q;
                else
                    b[5 + grp[k].slot] += q;
            }
        }
        MPI_Allreduce(MPI_IN_PLACE, buf, (j1 - j0) * stride, MPI_DOUBLE, MPI_SUM, colcomm);
        /* Only process row 0 writes into the global arrays, so the grid-wide sum below adds
         * each column exactly once. */
        if (g->myrow == 0)
            for (int lj = j0; lj < j1; ++lj) {
                const double *b = buf + (size_t)(lj - j0) * stride;
                double den = b[1];
                for (int s = 0; s < nsplit; ++s)
                    den += b[5 + s] * b[5 + s];
                const int k = linalg_col_l2g(z, lj);
                pr[k] = b[0] * b[0] / ((double)natoms * den);
                tw[k] = (b[2] * b[2] + b[3] * b[3] + b[4] * b[4]) / (double)natoms;
            }
    }
    MPI_Allreduce(MPI_IN_PLACE, pr, nmodes, MPI_DOUBLE, MPI_SUM, g->comm);
    MPI_Allreduce(MPI_IN_PLACE, tw, nmodes, MPI_DOUBLE, MPI_SUM, g->comm);
out:
    free(slot_of);
    free(grp);
    free(comp);
    free(buf);
    return rc;
}

/* The three translation modes. With vectors: the modes whose projection on the uniform
 * translations exceeds 1/2 (a translation has weight 1 to round-off unless another exact zero
 * mode mixes in), at most three, largest first. Without vectors: the three smallest |lambda|
 * among those within the round-off tolerance. At a saddle point with nev < 3N the translations
 * can lie above the computed modes; fewer than three are then flagged and check_spectrum()
 * decides whether that is acceptable. Returns the number flagged. */
static int flag_translations(HarmonicModes *m, int have_vectors, double tol) {
    int nt = 0;
    for (int t = 0; t < 3; ++t) {
        int best = -1;
        for (int k = 0; k < m->nmodes; ++k) {
            if (m->translation[k]) continue;
            const int ok = have_vectors ? m->trans_weight[k] > 0.5 : fabs(m->lambda[k]) <= tol;
            if (!ok) continue;
            const int better =
                best < 0 || (have_vectors ? m->trans_weight[k] > m->trans_weight[best]
                                          : fabs(m->lambda[k]) < fabs(m->lambda[best]));
            if (better) best = k;
        }
        if (best < 0) break;
        m->translation[best] = 1;
        ++nt;
    }
    return nt;
}

static int build_vdos(HarmonicModes *m, const HarmonicOptions *o) {
    m->vdos_bins = o->vdos_bins;
    BCHK(BALLOC(m->vdos_edges, m->vdos_bins + 1));
    BCHK(BALLOC(m->vdos, m->vdos_bins));
    double wmax = o->vdos_omega_max;
    if (wmax == 0.0)
        for (int k = 0; k < m->nmodes; ++k)
            if (!m->translation[k] && m->omega[k] > wmax) wmax = m->omega[k];
    /* The largest frequency must land inside the last bin, not on its upper edge. */
    if (o->vdos_omega_max == 0.0) wmax *= 1.0 + 1e-12;
    if (!(wmax > 0.0)) wmax = 1.0;
    const double dw = wmax / m->vdos_bins;
    for (int b = 0; b <= m->vdos_bins; ++b)
        m->vdos_edges[b] = b * dw;
    int64_t counted = 0;
    for (int k = 0; k < m->nmodes; ++k) {
        if (m->translation[k]) continue;
        /* Round-off negatives (allowed by the minimum check) count as omega = 0. */
        const double w = m->omega[k] > 0.0 ? m->omega[k] : 0.0;
        const int b = (int)(w / dw);
        if (b >= m->vdos_bins) continue;
        m->vdos[b] += 1.0;
        ++counted;
    }
    for (int b = 0; b < m->vdos_bins; ++b)
        m->vdos[b] = counted ? m->vdos[b] / ((double)counted * dw) : 0.0;
    return 0;
}

/* Eigenvalue checks: minimum first (a saddle is the likely user error), then the translations
 * (exact zero modes by construction: failing that is a bug). */
static int check_spectrum(HarmonicModes *m, const HarmonicOptions *o, int nt) {
    const double tol = o->tol * m->hnorm;
    m->lambda_min_nt = INFINITY;
    m->lambda_max = 0.0;
    double worst_t = 0.0, tw_sum = 0.0;
    for (int k = 0; k < m->nmodes; ++k) {
        if (fabs(m->lambda[k]) > m->lambda_max) m->lambda_max = fabs(m->lambda[k]);
        if (m->translation[k]) {
            if (fabs(m->lambda[k]) > worst_t) worst_t = fabs(m->lambda[k]);
            tw_sum += m->trans_weight[k];
        } else if (m->lambda[k] < m->lambda_min_nt) {
            m->lambda_min_nt = m->lambda[k];
        }
    }
    const int saddle = m->lambda_min_nt < -tol;
    if (saddle) {
        if (o->require_minimum)
            return basin_error(BASIN_ERR_PHYSICS, "modes", NULL,
                               "not a minimum: lowest non-translational eigenvalue %.6g "
                               "(round-off tolerance -%.3g = -tol ||H||); quench the "
                               "configuration to its inherent structure first",
                               m->lambda_min_nt, tol);
        log_warn("modes: not a minimum: lowest non-translational eigenvalue %.6g "
                 "(tolerance -%.3g); continuing because the minimum check is off",
                 m->lambda_min_nt, tol);
    }
    if (nt < 3) {
        /* Below a saddle's negative modes the lowest nev need not reach the zero modes. */
        if (saddle && m->nmodes < m->n)
            log_warn("modes: only %d of the 3 translations are among the %d lowest modes (the "
                     "configuration has negative modes)",
                     nt, m->nmodes);
        else
            return basin_error(BASIN_ERR_INTERNAL, "modes", NULL,
                               "found %d translation modes instead of 3 (round-off tolerance "
                               "%.3g): the Hessian is not translation invariant",
                               nt, tol);
    }
    if (worst_t > tol)
        return basin_error(BASIN_ERR_INTERNAL, "modes", NULL,
                           "a translation mode has eigenvalue %.6g, beyond the round-off "
                           "tolerance %.3g: the Hessian is not translation invariant",
                           worst_t, tol);
    if (nt == 3 && isfinite(tw_sum) && tw_sum < 3.0 * (1.0 - 1e-6))
        log_warn("modes: the three translation modes carry %.9f of the 3 translations: another "
                 "zero mode (a rattler or floppy mode) mixes with them",
                 tw_sum);
    return 0;
}

static int split_comms(const LinalgGrid *g, MPI_Comm *rowcomm, MPI_Comm *colcomm) {
    if (MPI_Comm_split(g->comm, g->myrow, g->mycol, rowcomm) != MPI_SUCCESS ||
        MPI_Comm_split(g->comm, g->mycol, g->myrow, colcomm) != MPI_SUCCESS)
        return basin_error(BASIN_ERR_MPI, "modes", "grid", "MPI_Comm_split failed");
    return 0;
}

/* Everything after the grid exists; the caller owns the cleanup of m and the communicators. */
static int modes_compute(Domain *d, const PairPotential *pot, const HarmonicOptions *o,
                         HarmonicModes *m, MPI_Comm rowcomm, MPI_Comm colcomm) {
    const int n = m->n;
    LinalgMatrix *h = NULL;
    double *w = NULL;

    double t0 = par_wtime();
    int rc = linalg_matrix_create(m->grid, n, n, o->nb, &h);
    rc = basin_error_agree(rc);
    if (rc) return rc;
    rc = harmonic_hessian_assemble(d, pot, h, &m->assembly);
    if (!rc) {
        m->hnorm = hessian_inf_norm(h, rowcomm);
        if (!isfinite(m->hnorm))
            rc = basin_error(BASIN_ERR_PHYSICS, "modes", "hessian",
                             "the Hessian has non-finite entries (overlapping atoms?)");
        rc = basin_error_agree(rc);
    }
    m->t_assemble = par_wtime() - t0;

    /* Solve. ELPA and pdsyevd overwrite h; it is released right after, so the peak is h, z and
     * the solver's workspace, and the analysis runs with z alone. */
    t0 = par_wtime();
    const int need_z = o->vectors || m->solver == HARMONIC_SOLVER_PDSYEVD;
    if (!rc) {
        rc = BALLOC(w, n);
        if (!rc && need_z) rc = linalg_matrix_create(m->grid, n, n, o->nb, &m->z);
        rc = basin_error_agree(rc);
    }
    if (!rc) {
        log_info("modes: diagonalising %d x %d with %s on a %d x %d grid, nb = %d, %d modes%s", n,
                 n, harmonic_solver_name(m->solver), m->grid->nprow, m->grid->npcol, o->nb,
                 m->nmodes, need_z ? " with vectors" : ", eigenvalues only");
        timer_start(TIMER_EIGEN);
        if (m->solver == HARMONIC_SOLVER_PDSYEVD)
            rc = linalg_eigh_pdsyevd(h, w, m->z);
        else
            rc = linalg_eigh_elpa(h, m->nmodes,
                                  m->solver == HARMONIC_SOLVER_ELPA1 ? LINALG_ELPA_1STAGE
                                                                     : LINALG_ELPA_2STAGE,
                                  o->elpa_kernel, w, need_z ? m->z : NULL);
        timer_stop(TIMER_EIGEN);
        rc = basin_error_agree(rc);
    }
    linalg_matrix_destroy(&h);
    if (!o->vectors) linalg_matrix_destroy(&m->z);
    m->t_solve = par_wtime() - t0;

    /* Rank 0's eigenvalues are the reference: the solvers return them on every rank, and a
     * bitwise-identical copy everywhere keeps every later branch collective. */
    t0 = par_wtime();
    if (!rc) {
        par_bcast_d(w, m->nmodes, 0);
        memcpy(m->lambda, w, (size_t)m->nmodes * sizeof(double));
        if (m->z) {
            memset(m->trans_weight, 0, (size_t)m->nmodes * sizeof(double));
            memset(m->pr, 0, (size_t)m->nmodes * sizeof(double));
            rc = column_stats(m->z, m->natoms, m->nmodes, colcomm, m->trans_weight, m->pr);
        } else {
            for (int k = 0; k < m->nmodes; ++k)
                m->trans_weight[k] = m->pr[k] = NAN;
        }
    }
    if (!rc) {
        const int nt = flag_translations(m, m->z != NULL, o->tol * m->hnorm);
        for (int k = 0; k < m->nmodes; ++k)
            m->omega[k] =
                m->translation[k] ? 0.0 : copysign(sqrt(fabs(m->lambda[k])), m->lambda[k]);
        rc = check_spectrum(m, o, nt);
    }
    if (!rc) rc = basin_error_agree(build_vdos(m, o));
    m->t_analysis = par_wtime() - t0;
    free(w);
    return rc;
}

int harmonic_modes_compute(Domain *d, const PairPotential *pot, const HarmonicOptions *o,
                           HarmonicModes **out) {
    *out = NULL;
    const int64_t n3 = 3 * d->natoms;
    if (n3 > INT32_MAX)
        return basin_error(BASIN_ERR_CONFIG, "modes", "natoms", "3N = %lld exceeds 2^31 - 1",
                           (long long)n3);
    BCHK(check_options(o, (int)n3));
    if (domain_check_rebuild(d)) BCHK(domain_rebuild(d));

    HarmonicModes *m = NULL;
    int rc = BALLOC(m, 1);
    rc = basin_error_agree(rc);
    if (rc) return rc;
    m->natoms = d->natoms;
    m->n = (int)n3;
    m->nmodes = o->nev ? o->nev : m->n;
    m->nb = o->nb;
    m->solver = resolve_solver(o, m->nmodes, m->n);
    rc = BALLOC(m->lambda, m->nmodes);
    if (!rc) rc = BALLOC(m->omega, m->nmodes);
    if (!rc) rc = BALLOC(m->translation, m->nmodes);
    if (!rc) rc = BALLOC(m->trans_weight, m->nmodes);
    if (!rc) rc = BALLOC(m->pr, m->nmodes);
    rc = basin_error_agree(rc);
    if (!rc) rc = linalg_grid_create(par_comm(), o->nprow, o->npcol, &m->grid);
    rc = basin_error_agree(rc);
    MPI_Comm rowcomm = MPI_COMM_NULL, colcomm = MPI_COMM_NULL;
    if (!rc) rc = basin_error_agree(split_comms(m->grid, &rowcomm, &colcomm));
    if (!rc) rc = modes_compute(d, pot, o, m, rowcomm, colcomm);
    if (rowcomm != MPI_COMM_NULL) MPI_Comm_free(&rowcomm);
    if (colcomm != MPI_COMM_NULL) MPI_Comm_free(&colcomm);
    if (rc) {
        harmonic_modes_destroy(&m);
        return rc;
    }
    par_max_d(&m->t_assemble, 1);
    par_max_d(&m->t_solve, 1);
    par_max_d(&m->t_analysis, 1);
    *out = m;
    return 0;
}
