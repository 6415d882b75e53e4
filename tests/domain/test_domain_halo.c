/* Domain test 3: the halo.
 *   - the ghost set is exactly the set of periodic images (id, shift) whose position lies in
 *     this rank's sub-box grown by rghost in every dimension (and not the owned atom itself),
 *     each once, by brute force over the global arrays and the 27 image shifts;
 *   - forward: every ghost is its owner's position plus a multiple of L, and stays so (with the
 *     same multiple) after the owners move and domain_forward() runs; domain_forward_array()
 *     copies an arbitrary function of id to the ghosts;
 *   - reverse: with ghost f = (1, id, 2) and owned f = 0, domain_reverse() leaves on each owner
 *     the number of ghost images of that atom (over all ranks) times (1, id, 2), and zeroes
 *     the ghosts; domain_reverse_array() likewise for width 1. */
#include "domain_testutil.h"

static void check_halo(const char *name, ModelKind kind, int64_t n) {
    TestSystem s;
    TOK(su_build(&s, kind, n, 21));
    const int64_t N = s.n;
    const double L = s.L;
    Domain *d = NULL;
    TOK(su_domain(&s, s.x, NULL, DT_SKIN, &d));
    if (!d) return;
    const double rg = d->rghost;

    /* Expected ghosts: images in the grown box, outside the own box (or shifted). A band of
     * 1e-9 around the grown faces is skipped (rounding decides there). */
    int64_t expect = 0, found = 0;
    int missing = 0, unexpected = 0, dup = 0, badshift = 0;
    int *have = calloc((size_t)N * 27, sizeof(int));
    for (int g = d->nlocal; g < d->nlocal + d->nghost; ++g) {
        const int64_t id = d->id[g];
        int sh[3], ok = 1;
        for (int k = 0; k < 3; ++k) {
            const double q = (d->x[3 * g + k] - s.x[3 * id + k]) / L;
            sh[k] = (int)lround(q);
            if (fabs(q - sh[k]) > 1e-12 || abs(sh[k]) > 1) ok = 0;
        }
        if (!ok || d->species[g] != s.species[id]) {
            ++badshift;
            continue;
        }
        const int code = (sh[2] + 1) * 9 + (sh[1] + 1) * 3 + (sh[0] + 1);
        if (have[id * 27 + code]++) ++dup;
    }
    for (int64_t id = 0; id < N; ++id)
        for (int code = 0; code < 27; ++code) {
            const int sh[3] = {code % 3 - 1, (code / 3) % 3 - 1, code / 9 - 1};
            int inside = 1, ambiguous = 0, own = 1;
            for (int k = 0; k < 3; ++k) {
                const double y = s.x[3 * id + k] + sh[k] * L;
                if (!(y >= d->lo[k] - rg && y < d->hi[k] + rg)) inside = 0;
                if (fabs(y - (d->lo[k] - rg)) < 1e-9 || fabs(y - (d->hi[k] + rg)) < 1e-9)
                    ambiguous = 1;
                if (!(y >= d->lo[k] && y < d->hi[k])) own = 0;
            }
            if (ambiguous || own) continue;
            if (inside) {
                ++expect;
                if (!have[id * 27 + code]) ++missing;
            } else if (have[id * 27 + code]) {
                ++unexpected;
            }
            found += have[id * 27 + code] > 0;
        }
    TCHECK(badshift == 0, "%s: %d ghosts are not owner images", name, badshift);
    TCHECK(dup == 0, "%s: %d duplicated ghosts", name, dup);
    TCHECK(missing == 0, "%s: %d of %lld expected ghosts missing", name, missing,
           (long long)expect);
    TCHECK(unexpected == 0, "%s: %d ghosts outside the ghost shell", name, unexpected);

    /* Forward after moving the owners: same shift, new owner position. */
    su_displace_owned(d, 9, 0, 0.1);
    TOK(domain_forward(d));
    double *xg = malloc(3 * (size_t)N * sizeof(double));
    TOK(domain_allgather_by_id(d, d->x, 3, xg));
    int badfwd = 0;
    for (int g = d->nlocal; g < d->nlocal + d->nghost; ++g) {
        const int64_t id = d->id[g];
        for (int k = 0; k < 3; ++k) {
            const double q0 = (d->x[3 * g + k] - xg[3 * id + k]) / L;
            if (fabs(q0 - lround(q0)) > 1e-12) ++badfwd;
        }
    }
    TCHECK(badfwd == 0, "%s: %d ghost coordinates not an owner image after forward", name, badfwd);
    /* The multiple of L is the one recorded at borders: compare with the original images. */
    int badkeep = 0;
    for (int g = d->nlocal; g < d->nlocal + d->nghost; ++g) {
        const int64_t id = d->id[g];
        double dv[3];
        su_disp(9, id, 0, 0.1, dv);
        for (int k = 0; k < 3; ++k) {
            const double orig = d->x[3 * g + k] - dv[k];
            const double q = (orig - s.x[3 * id + k]) / L;
            if (fabs(q - lround(q)) > 1e-9) ++badkeep;
        }
    }
    TCHECK(badkeep == 0, "%s: %d ghosts changed image on forward", name, badkeep);

    /* forward_array: a function of id. */
    const int ntot = d->nlocal + d->nghost;
    double *a = malloc(2 * (size_t)ntot * sizeof(double));
    for (int i = 0; i < ntot; ++i) {
        a[2 * i] = i < d->nlocal ? (double)d->id[i] : -1.0;
        a[2 * i + 1] = i < d->nlocal ? 0.5 * (double)d->id[i] + 1.0 : -1.0;
    }
    TOK(domain_forward_array(d, a, 2));
    int badarr = 0;
    for (int g = d->nlocal; g < ntot; ++g)
        if (a[2 * g] != (double)d->id[g] || a[2 * g + 1] != 0.5 * (double)d->id[g] + 1.0) ++badarr;
    TCHECK(badarr == 0, "%s: forward_array wrong on %d ghosts", name, badarr);

    /* Reverse: ghost images counted on their owners. */
    int *nimg = calloc((size_t)N, sizeof(int));
    for (int g = d->nlocal; g < ntot; ++g)
        ++nimg[d->id[g]];
    MPI_Allreduce(MPI_IN_PLACE, nimg, (int)N, MPI_INT, MPI_SUM, par_comm());
    for (int i = 0; i < ntot; ++i) {
        const int gh = i >= d->nlocal;
        d->f[3 * i] = gh ? 1.0 : 0.0;
        d->f[3 * i + 1] = gh ? (double)d->id[i] : 0.0;
        d->f[3 * i + 2] = gh ? 2.0 : 0.0;
    }
    TOK(domain_reverse(d));
    int badrev = 0, notzero = 0;
    for (int i = 0; i < d->nlocal; ++i) {
        const double c = nimg[d->id[i]];
        if (d->f[3 * i] != c || d->f[3 * i + 1] != c * (double)d->id[i] || d->f[3 * i + 2] != 2 * c)
            ++badrev;
    }
    for (int i = 3 * d->nlocal; i < 3 * ntot; ++i)
        notzero += d->f[i] != 0.0;
    TCHECK(badrev == 0, "%s: reverse sums wrong on %d owners", name, badrev);
    TCHECK(notzero == 0, "%s: %d ghost force entries not zeroed", name, notzero);
    double *b = malloc((size_t)ntot * sizeof(double));
    for (int i = 0; i < ntot; ++i)
        b[i] = i >= d->nlocal ? 0.25 : 0.0;
    TOK(domain_reverse_array(d, b, 1));
    int badrev1 = 0;
    for (int i = 0; i < d->nlocal; ++i)
        badrev1 += b[i] != 0.25 * nimg[d->id[i]];
    TCHECK(badrev1 == 0, "%s: reverse_array wrong on %d owners", name, badrev1);
    int64_t tot = 0;
    for (int64_t i = 0; i < N; ++i)
        tot += nimg[i];
    if (par_rank() == 0)
        printf("%s: N = %lld, %lld ghosts in total over %d rank(s)\n", name, (long long)N,
               (long long)tot, par_size());
    (void)found;
    free(b);
    free(nimg);
    free(a);
    free(xg);
    free(have);
    domain_destroy(&d);
    su_free(&s);
}

int main(int argc, char **argv) {
    tu_init(&argc, &argv);
    check_halo("glass1000", MODEL_GLASS, 1000);
    check_halo("fcc500", MODEL_CRYSTAL, 500);
    return tu_finish();
}
