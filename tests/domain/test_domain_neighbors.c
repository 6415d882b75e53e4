/* Domain test 2: neighbour lists against the serial truth.
 *   - the set of listed pairs (gathered by global id pairs) equals a brute-force O(N^2)
 *     minimum-image enumeration of pairs within rc(si,sj) + skin on the global arrays, each pair
 *     exactly once (half list), or exactly once per direction (full list);
 *   - a one-rank Domain built inside the same run (MPI_COMM_SELF) lists the same pair set;
 *   - forces and energy from the half list + domain_reverse, and from the full list without
 *     reverse, equal the brute-force pair sum (STYLE.md habit 10: half + reverse == full);
 *   - after moving every atom by less than skin/2 and only calling domain_forward, the old list
 *     still gives the brute-force forces of the moved configuration (the Verlet guarantee).
 * Systems: glass N = 500 and 2000 (model_build_glass), FCC N = 500 and 864.
 * Small boxes (FCC N = 32 and 108, L < 2 (rc + skin), one rank per dimension, so a pair interacts
 * through several periodic images and a swap sends an atom both ways to itself): on a one-rank
 * Domain per rank, listed pairs and forces are compared with an explicit sum over images. */
#include "domain_testutil.h"

static void check_lists(const char *name, ModelKind kind, int64_t n) {
    TestSystem s;
    TOK(su_build(&s, kind, n, 11));
    const int64_t N = s.n;
    int64_t *sure, *edge, nsure, nedge;
    brute_pairs(&s, DT_SKIN, &sure, &nsure, &edge, &nedge);

    double *fref = malloc(3 * (size_t)N * sizeof(double));
    double *fgot = malloc(3 * (size_t)N * sizeof(double));
    const double eref = su_brute_forces(&s, s.x, fref, NULL);
    double fscale = 0.0;
    for (int64_t i = 0; i < 3 * N; ++i)
        fscale = fmax(fscale, fabs(fref[i]));
    /* The perfect crystal has zero net forces: compare with the scale of a pair force too. */
    fscale += 1.0;

    for (int full = 0; full <= 1; ++full) {
        Domain *d = NULL;
        TOK(su_distribute(&s, s.x, NULL, DT_SKIN, &d));
        if (!d) break;
        if (full) domain_set_full_list(d, 1);
        TOK(domain_rebuild(d));
        TCHECK(domain_check_rebuild(d) == 0, "fresh list needs no rebuild");
        int64_t nl;
        int64_t *list = gather_list(d, par_comm(), full, &nl);
        if (!full) {
            const int bad = compare_half(list, nl, sure, nsure, edge, nedge, N, name);
            TCHECK(bad == 0, "%s half list: %d problems (%lld listed, %lld brute + %lld edge)",
                   name, bad, (long long)nl, (long long)nsure, (long long)nedge);
        } else {
            /* Ordered pairs (i, j): each once; unordered, each exactly twice. */
            int dup = 0;
            for (int64_t p = 1; p < nl; ++p)
                dup += list[p] == list[p - 1];
            TCHECK(dup == 0, "%s full list: %d duplicated ordered pairs", name, dup);
            int64_t *un = i64_alloc(nl);
            int asym = 0;
            for (int64_t p = 0; p < nl; ++p) {
                const int64_t a = list[p] / N, b = list[p] % N;
                un[p] = a < b ? a * N + b : b * N + a;
                if (!has_code(list, nl, b * N + a)) ++asym;
            }
            TCHECK(asym == 0, "%s full list: %d pairs listed in one direction only", name, asym);
            qsort(un, (size_t)nl, sizeof(int64_t), cmp_i64);
            int64_t nu = 0;
            for (int64_t p = 0; p < nl; p += 2)
                un[nu++] = un[p];
            const int bad = compare_half(un, nu, sure, nsure, edge, nedge, N, name);
            TCHECK(bad == 0, "%s full list: %d problems", name, bad);
            free(un);
        }
        free(list);

        /* Forces: half + reverse, or full, against the brute force. */
        const double e = list_forces(d, par_comm(), fgot);
        TCLOSE(e, eref, 1e-11, 1e-11);
        double err = 0.0;
        for (int64_t i = 0; i < 3 * N; ++i)
            err = fmax(err, fabs(fgot[i] - fref[i]));
        TCHECK(err <= 1e-10 * fscale, "%s %s list forces: max error %g (scale %g)", name,
               full ? "full" : "half", err, fscale);

        /* Verlet guarantee: move by < skin/2, forward only, same forces as brute force. */
        double *xm = malloc(3 * (size_t)N * sizeof(double));
        memcpy(xm, s.x, 3 * (size_t)N * sizeof(double));
        su_displace(N, xm, 5, 0, 0.499 * DT_SKIN);
        su_displace_owned(d, 5, 0, 0.499 * DT_SKIN);
        TCHECK(domain_check_rebuild(d) == 0, "moves below skin/2 must not trigger a rebuild");
        TOK(domain_forward(d));
        double *fm = malloc(3 * (size_t)N * sizeof(double));
        const double em = su_brute_forces(&s, xm, fm, NULL);
        const double e2 = list_forces(d, par_comm(), fgot);
        TCLOSE(e2, em, 1e-11, 1e-11);
        err = 0.0;
        for (int64_t i = 0; i < 3 * N; ++i)
            err = fmax(err, fabs(fgot[i] - fm[i]));
        TCHECK(err <= 1e-10 * fscale, "%s %s list after moves < skin/2: max force error %g", name,
               full ? "full" : "half", err);
        free(fm);
        free(xm);
        domain_destroy(&d);
    }

    /* The same list from a one-rank Domain inside this run: the serial truth, identical set. */
    {
        Domain *d1 = NULL, *dp = NULL;
        par_push_comm(MPI_COMM_SELF);
        TOK(su_domain(&s, s.x, NULL, DT_SKIN, &d1));
        int64_t n1;
        int64_t *l1 = gather_list(d1, MPI_COMM_SELF, 0, &n1);
        par_pop_comm();
        TOK(su_domain(&s, s.x, NULL, DT_SKIN, &dp));
        int64_t np;
        int64_t *lp = gather_list(dp, par_comm(), 0, &np);
        int same = n1 == np;
        for (int64_t p = 0; same && p < np; ++p)
            same = l1[p] == lp[p];
        TCHECK(same, "%s: %d-rank pair set (%lld) differs from the one-rank set (%lld)", name,
               par_size(), (long long)np, (long long)n1);
        free(l1);
        free(lp);
        domain_destroy(&d1);
        domain_destroy(&dp);
    }
    if (par_rank() == 0)
        printf("%s: N = %lld, %lld pairs within rc+skin (%lld at the edge)\n", name, (long long)N,
               (long long)nsure, (long long)nedge);
    free(sure);
    free(edge);
    free(fref);
    free(fgot);
    su_free(&s);
}

/* Brute force over explicit periodic images n in {-2..2}^3 (the minimum image is not enough
 * when L < 2 rc): pair count within rc + skin (each unordered image pair once), forces and
 * energy within rc. */
static double image_forces(const TestSystem *s, double *f, int64_t *npairs) {
    memset(f, 0, 3 * (size_t)s->n * sizeof(double));
    double e = 0.0;
    int64_t cnt = 0;
    for (int64_t i = 0; i < s->n; ++i)
        for (int64_t j = 0; j < s->n; ++j)
            for (int code = 0; code < 125; ++code) {
                const int sh[3] = {code % 5 - 2, (code / 5) % 5 - 2, code / 25 - 2};
                if (i == j && sh[0] == 0 && sh[1] == 0 && sh[2] == 0) continue;
                double dv[3], r2 = 0.0;
                for (int k = 0; k < 3; ++k) {
                    dv[k] = s->x[3 * i + k] - s->x[3 * j + k] - sh[k] * s->L;
                    r2 += dv[k] * dv[k];
                }
                const PairParams *pp = &s->m.pair[s->species[i]][s->species[j]];
                const double rl = pp->rc + DT_SKIN;
                cnt += r2 < rl * rl;
                if (r2 >= pp->rc2) continue;
                double v, fr;
                pot_energy_force(pp, r2, &v, &fr);
                e += 0.5 * v;
                for (int k = 0; k < 3; ++k)
                    f[3 * i + k] += fr * dv[k];
            }
    *npairs = cnt / 2;
    return e;
}

static void check_small_box(const char *name, int64_t n) {
    par_push_comm(MPI_COMM_SELF);
    TestSystem s;
    TOK(su_build(&s, MODEL_CRYSTAL, n, 1));
    /* Perturb the lattice so that forces are not zero by symmetry. */
    su_displace(n, s.x, 13, 0, 0.1);
    double *fref = malloc(3 * (size_t)n * sizeof(double)), *fgot = malloc(3 * (size_t)n * 8);
    int64_t npref;
    const double eref = image_forces(&s, fref, &npref);
    for (int full = 0; full <= 1; ++full) {
        Domain *d = NULL;
        TOK(su_distribute(&s, s.x, NULL, DT_SKIN, &d));
        if (!d) break;
        domain_set_full_list(d, full);
        TOK(domain_rebuild(d));
        const int64_t np = d->nbr_start[d->nlocal];
        TCHECK(np == (full ? 2 : 1) * npref, "%s %s: %lld pairs listed, %lld image pairs", name,
               full ? "full" : "half", (long long)np, (long long)npref);
        const double e = list_forces(d, MPI_COMM_SELF, fgot);
        TCLOSE(e, eref, 1e-11, 1e-11);
        double err = 0.0, sc = 1.0;
        for (int64_t i = 0; i < 3 * n; ++i) {
            err = fmax(err, fabs(fgot[i] - fref[i]));
            sc = fmax(sc, fabs(fref[i]));
        }
        TCHECK(err <= 1e-10 * sc, "%s %s: force error %g", name, full ? "full" : "half", err);
        domain_destroy(&d);
    }
    free(fref);
    free(fgot);
    su_free(&s);
    par_pop_comm();
}

int main(int argc, char **argv) {
    tu_init(&argc, &argv);
    check_lists("glass500", MODEL_GLASS, 500);
    check_lists("glass2000", MODEL_GLASS, 2000);
    check_lists("fcc500", MODEL_CRYSTAL, 500);
    check_lists("fcc864", MODEL_CRYSTAL, 864);
    check_small_box("fcc32", 32);
    check_small_box("fcc108", 108);
    return tu_finish();
}
