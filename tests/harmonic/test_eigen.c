/* Distributed eigen-solution of the Hessian (src/harmonic/modes.c) against LAPACK on the
 * gathered matrix, at a glass inherent structure (N = 300, brute-force FIRE quench) and at the
 * random start it was quenched from (a saddle with many negative eigenvalues: the
 * require_minimum = 0 path and the "not a minimum" refusal). For each solver (ELPA 1-stage,
 * 2-stage, pdsyevd, AUTO), block size (including sizes that split atoms across process rows),
 * grid shape, all or the lowest nev modes, with or without vectors:
 *   - eigenvalues equal LAPACKE dsyevd's to 1e-10 ||H||;
 *   - eigenvectors are orthonormal (Z^T Z = I) and H Z = Z Lambda (pdgemm), to 1e-10;
 *   - exactly three translation modes are flagged, at |lambda| ~ 0 with weight ~ 1;
 *   - the distributed participation ratios and translation weights equal a serial computation
 *     from the gathered eigenvectors. */
#include <lapacke.h>

#include "harmonic_testutil.h"

typedef struct Case {
    HarmonicSolver solver;
    int nb, nev, vectors, grid; /* grid: 0 default, 1 P x 1, 2 1 x P */
    int saddle;                 /* run on the random start instead of the minimum */
} Case;

static double hnorm_ref = 0.0;

/* LAPACK eigenvalues of the gathered Hessian of d, and ||H||_inf into hnorm_ref. */
static void lapack_reference(Domain *d, const PairPotential *pot, int n, double *wref) {
    double *full = malloc((size_t)n * n * sizeof(double));
    LinalgGrid *g = NULL;
    LinalgMatrix *a = NULL;
    TOK(linalg_grid_create(par_comm(), 0, 0, &g));
    TOK(linalg_matrix_create(g, n, n, 32, &a));
    TOK(harmonic_hessian_assemble(d, pot, a, NULL));
    TOK(linalg_matrix_gather(a, full));
    linalg_matrix_destroy(&a);
    linalg_grid_destroy(&g);
    hnorm_ref = 0.0;
    for (int i = 0; i < n; ++i) {
        double rs = 0.0;
        for (int j = 0; j < n; ++j)
            rs += fabs(full[i + (size_t)j * n]);
        hnorm_ref = fmax(hnorm_ref, rs);
    }
    TCHECK(LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'N', 'U', n, full, n, wref) == 0, "dsyevd");
    free(full);
}

static void check_vectors(const HarmonicModes *m, Domain *d, const PairPotential *pot) {
    const int n = m->n, nm = m->nmodes, one = 1;
    const LinalgMatrix *z = m->z;
    LinalgMatrix *h = NULL, *hz = NULL, *ztz = NULL;
    TOK(linalg_matrix_create(m->grid, n, n, m->nb, &h));
    TOK(linalg_matrix_create(m->grid, n, n, m->nb, &hz));
    TOK(linalg_matrix_create(m->grid, n, n, m->nb, &ztz));
    TOK(harmonic_hessian_assemble(d, pot, h, NULL));
    const double alpha = 1.0, beta = 0.0;
    pdgemm_("N", "N", &n, &nm, &n, &alpha, h->data, &one, &one, h->desc, z->data, &one, &one,
            z->desc, &beta, hz->data, &one, &one, hz->desc, 1, 1);
    pdgemm_("T", "N", &nm, &nm, &n, &alpha, z->data, &one, &one, z->desc, z->data, &one, &one,
            z->desc, &beta, ztz->data, &one, &one, ztz->desc, 1, 1);
    double res = 0.0, orth = 0.0;
    for (int lj = 0; lj < z->lcols; ++lj) {
        const int k = linalg_col_l2g(z, lj);
        if (k >= nm) continue;
        for (int li = 0; li < z->lrows; ++li) {
            const size_t off = li + (size_t)lj * z->lld;
            res = fmax(res, fabs(hz->data[off] - m->lambda[k] * z->data[off]));
            const int i = linalg_row_l2g(z, li);
            if (i < nm) orth = fmax(orth, fabs(ztz->data[off] - (i == k)));
        }
    }
    par_max_d(&res, 1);
    par_max_d(&orth, 1);
    TCHECK(res <= 1e-10 * hnorm_ref, "residual |H z - lambda z| = %g", res);
    TCHECK(orth <= 1e-10, "orthonormality |Z^T Z - I| = %g", orth);

    /* Serial PR and translation weights from the gathered vectors. */
    double *full = malloc((size_t)n * n * sizeof(double));
    TOK(linalg_matrix_gather(z, full));
    double epr = 0.0, etw = 0.0;
    for (int k = 0; k < nm; ++k) {
        const double *e = full + (size_t)k * n;
        double s2 = 0.0, s4 = 0.0, t[3] = {0, 0, 0};
        for (int64_t a = 0; a < m->natoms; ++a) {
            double q = 0.0;
            for (int c = 0; c < 3; ++c) {
                q += e[3 * a + c] * e[3 * a + c];
                t[c] += e[3 * a + c];
            }
            s2 += q;
            s4 += q * q;
        }
        const double pr = s2 * s2 / ((double)m->natoms * s4);
        const double tw = (t[0] * t[0] + t[1] * t[1] + t[2] * t[2]) / (double)m->natoms;
        epr = fmax(epr, fabs(pr - m->pr[k]));
        etw = fmax(etw, fabs(tw - m->trans_weight[k]));
        TCHECK(m->pr[k] >= 1.0 / (double)m->natoms - 1e-12 && m->pr[k] <= 1.0 + 1e-12,
               "PR[%d] = %g outside [1/N, 1]", k, m->pr[k]);
    }
    TCHECK(epr <= 1e-12, "distributed PR differs from the serial one by %g", epr);
    TCHECK(etw <= 1e-12, "distributed translation weight differs by %g", etw);
    free(full);
    linalg_matrix_destroy(&h);
    linalg_matrix_destroy(&hz);
    linalg_matrix_destroy(&ztz);
}

static void run_case(const Case *c, Domain *d, const PairPotential *pot, const double *wref) {
    HarmonicOptions o;
    harmonic_options_default(&o);
    o.solver = c->solver;
    o.nb = c->nb;
    o.nev = c->nev;
    o.vectors = c->vectors;
    o.require_minimum = !c->saddle;
    const int P = par_size();
    if (c->grid == 1) {
        o.nprow = P;
        o.npcol = 1;
    } else if (c->grid == 2) {
        o.nprow = 1;
        o.npcol = P;
    }
    HarmonicModes *m = NULL;
    const double t0 = par_wtime();
    TOK(harmonic_modes_compute(d, pot, &o, &m));
    if (!m) return;
    const double dt = par_wtime() - t0;
    double e = 0.0;
    for (int k = 0; k < m->nmodes; ++k)
        e = fmax(e, fabs(m->lambda[k] - wref[k]));
    TCHECK(e <= 1e-10 * hnorm_ref, "%s nb %d nev %d: eigenvalues differ from LAPACK by %g",
           harmonic_solver_name(m->solver), c->nb, m->nmodes, e);
    int nt = 0, nt_expected = 3;
    /* A saddle's lowest nev modes are negative ones: the zero modes lie above them. */
    if (c->saddle && m->nmodes < m->n && wref[m->nmodes - 1] < -1e-9 * hnorm_ref) nt_expected = 0;
    for (int k = 0; k < m->nmodes; ++k)
        if (m->translation[k]) {
            ++nt;
            TCHECK(fabs(m->lambda[k]) <= 1e-9 * m->hnorm, "translation lambda %g", m->lambda[k]);
            TCHECK(m->omega[k] == 0.0, "translation omega %g", m->omega[k]);
            if (m->z)
                TCHECK(m->trans_weight[k] > 1.0 - 1e-8, "translation weight %.12f",
                       m->trans_weight[k]);
        }
    TCHECK(nt == nt_expected, "%d translation modes flagged, expected %d", nt, nt_expected);
    if (c->saddle)
        TCHECK(m->lambda_min_nt < 0.0, "a random configuration should have negative modes");
    else
        TCHECK(m->lambda_min_nt > 0.0, "lowest non-translational eigenvalue %g at a minimum",
               m->lambda_min_nt);
    if (c->solver == HARMONIC_SOLVER_AUTO)
        TCHECK(m->solver ==
                   (c->nev && c->nev <= 0.2 * m->n ? HARMONIC_SOLVER_ELPA2 : HARMONIC_SOLVER_ELPA1),
               "AUTO chose %s", harmonic_solver_name(m->solver));
    if (m->z) check_vectors(m, d, pot);
    if (par_rank() == 0)
        printf("%-6s %-7s grid %d x %d nb %2d nmodes %4d vectors %d: |dlambda| = %.2e "
               "(%.2e ||H||), %.3f s\n",
               c->saddle ? "saddle" : "IS", harmonic_solver_name(m->solver), m->grid->nprow,
               m->grid->npcol, c->nb, m->nmodes, c->vectors, e, e / hnorm_ref, dt);
    harmonic_modes_destroy(&m);
}

int main(int argc, char **argv) {
    tu_init(&argc, &argv);
    TestSystem s;
    TOK(su_build(&s, MODEL_GLASS, 300, 5));
    const int n = 3 * (int)s.n;
    double *xis = malloc((size_t)n * sizeof(double));
    memcpy(xis, s.x, (size_t)n * sizeof(double));
    TCHECK(ht_fire(&s, xis, 1e-10, 200000) == 0, "FIRE did not converge");
    Domain *dis = NULL, *dsad = NULL;
    TOK(su_domain(&s, xis, NULL, 0.2, &dis));
    TOK(su_domain(&s, s.x, NULL, 0.2, &dsad));
    const PairPotential pot = model_potential(&s.m);
    double *wis = malloc(n * sizeof(double)), *wsad = malloc(n * sizeof(double));
    lapack_reference(dsad, &pot, n, wsad);
    const double hn_sad = hnorm_ref;
    lapack_reference(dis, &pot, n, wis);
    const double hn_is = hnorm_ref;

    const Case cases[] = {
        {HARMONIC_SOLVER_ELPA1, 64, 0, 1, 0, 0},   {HARMONIC_SOLVER_ELPA2, 16, 0, 1, 0, 0},
        {HARMONIC_SOLVER_PDSYEVD, 64, 0, 1, 0, 0}, {HARMONIC_SOLVER_ELPA1, 7, 150, 1, 0, 0},
        {HARMONIC_SOLVER_ELPA2, 16, 100, 1, 0, 0}, {HARMONIC_SOLVER_ELPA2, 64, 0, 0, 0, 0},
        {HARMONIC_SOLVER_ELPA2, 64, 100, 0, 0, 0}, {HARMONIC_SOLVER_AUTO, 32, 100, 1, 0, 0},
        {HARMONIC_SOLVER_AUTO, 32, 0, 1, 0, 0},    {HARMONIC_SOLVER_ELPA1, 16, 0, 1, 1, 0},
        {HARMONIC_SOLVER_ELPA1, 16, 300, 1, 2, 0}, {HARMONIC_SOLVER_ELPA1, 64, 0, 1, 0, 1},
        {HARMONIC_SOLVER_ELPA2, 16, 150, 1, 0, 1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; ++k) {
        if (cases[k].grid && par_size() == 1) continue;
        hnorm_ref = cases[k].saddle ? hn_sad : hn_is;
        run_case(&cases[k], cases[k].saddle ? dsad : dis, &pot, cases[k].saddle ? wsad : wis);
    }

    /* The minimum check: the random start must be refused with the documented message, on
     * every rank. */
    HarmonicOptions o;
    harmonic_options_default(&o);
    HarmonicModes *m = NULL;
    const int rc = harmonic_modes_compute(dsad, &pot, &o, &m);
    TCHECK(
        rc == BASIN_ERR_PHYSICS && m == NULL &&
            strstr(basin_error_message(), "not a minimum: lowest non-translational eigenvalue -"),
        "rc %d, message '%s'", rc, basin_error_message());
    basin_error_clear();

    /* Option validation fails alike everywhere. */
    o.nev = 2;
    TCHECK(harmonic_modes_compute(dis, &pot, &o, &m) == BASIN_ERR_CONFIG, "nev = 2 accepted");
    o.nev = 0;
    o.nb = 0;
    TCHECK(harmonic_modes_compute(dis, &pot, &o, &m) == BASIN_ERR_CONFIG, "nb = 0 accepted");
    HarmonicSolver sv;
    TCHECK(harmonic_solver_parse("elpa2", &sv) == 0 && sv == HARMONIC_SOLVER_ELPA2, "parse");
    TCHECK(harmonic_solver_parse("magma", &sv) == BASIN_ERR_CONFIG, "bad solver name accepted");
    basin_error_clear();

    /* Command-line options of `basin modes`. */
    char *args[] = {"modes",          "--nb",          "16",    "--grid",     "2x1",   "--solver",
                    "pdsyevd",        "--values-only", "--nev", "10",         "--tol", "1e-8",
                    "--allow-saddle", "--bins",        "50",    "input.data", "--nb",  "x",
                    "--grid",         "2by1"};
    const int nargs = (int)(sizeof args / sizeof args[0]);
    harmonic_options_default(&o);
    int i = 1, consumed = 0;
    while (i < 15) {
        const int r = harmonic_options_parse_arg(nargs, args, &i, &o);
        TCHECK(r == 1, "option %s: %d %s", args[i], r, basin_error_message());
        if (r != 1) break;
        ++consumed;
        ++i;
    }
    TCHECK(consumed == 8 && o.nb == 16 && o.nprow == 2 && o.npcol == 1 &&
               o.solver == HARMONIC_SOLVER_PDSYEVD && o.vectors == 0 && o.nev == 10 &&
               o.tol == 1e-8 && o.require_minimum == 0 && o.vdos_bins == 50,
           "parsed options");
    i = 15;
    TCHECK(harmonic_options_parse_arg(nargs, args, &i, &o) == 0 && i == 15, "non-option eaten");
    i = 16;
    TCHECK(harmonic_options_parse_arg(nargs, args, &i, &o) == BASIN_ERR_USAGE, "--nb x");
    i = 18;
    TCHECK(harmonic_options_parse_arg(nargs, args, &i, &o) == BASIN_ERR_USAGE, "--grid 2by1");
    i = nargs - 1;
    args[i] = "--nev";
    TCHECK(harmonic_options_parse_arg(nargs, args, &i, &o) == BASIN_ERR_USAGE, "--nev at end");
    basin_error_clear();

    free(xis);
    free(wis);
    free(wsad);
    domain_destroy(&dis);
    domain_destroy(&dsad);
    su_free(&s);
    return tu_finish();
}
