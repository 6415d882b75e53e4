/* Pair forces of the shifted-force r^-12 potential over the half Verlet list (PHYSICS.md §1).
 *
 *   v(r)  = s12 / r^12 + lin r + c0,     lin = 12 s12 / rc^13,  c0 = -13 s12 / rc^12
 *   fr    = -v'(r) / r = (12 s12 / r^12 - lin r) / r^2      force on i:  fr (r_i - r_j)
 *   W     = sum_pairs r_ij . f_ij = sum_pairs fr r^2          (virial, for P = (2K + W) / 3V)
 *
 * This is pot_energy_force() of basin/model.h rearranged to cost one square root and one
 * division per pair (rinv = 1/sqrt(r^2); r = r^2 rinv; 1/r^2 = rinv^2) instead of two divisions
 * and a square root; tests compare it with pot_energy_force() pair by pair. Units: energy eps,
 * length sigma_eff, force eps/sigma_eff.
 *
 * Why it looks the way it does. The inner loop is the cost of the whole MD (~46 listed
 * neighbours per atom at rho = 1.015 with skin 0.3, ~33 of them inside the cutoff), so:
 *  - no table and no function pointer: the formula is written out; per-species constants are
 *    hoisted out of the i loop into two-entry arrays selected by a blend on species[j] (the
 *    model has at most two species), which vectorises without gathers from a parameter table;
 *  - the cost per pair is one square root and one division (both on the divider unit) plus
 *    the gather of x_j and the scatter of f_j. The divider only stops being the bottleneck when
 *    the compiler vectorises it, and GCC vectorises sqrt() only under -fno-math-errno (set for
 *    the project by the top-level meson.build; GCC then defines __NO_MATH_ERRNO__). Strict IEEE
 *    forbids vectorising the sums themselves (no -ffast-math), so each i's list is processed in
 *    chunks of KCHUNK with the arithmetic in a loop that stores per-pair results into small
 *    stack arrays and a scalar loop that does the ordered sums on i and the scatter to j;
 *  - three shapes of that chunk, chosen at compile time by what the target vectorises well
 *    (measured on Zen 5, docs/md.md):
 *      MASKED  (AVX-512): one vector loop over all listed pairs (gathers of x_j), pairs beyond
 *              the cutoff (the skin shell, ~30 %) masked to zero, then the scalar scatter;
 *      COMPACT (SSE2/AVX2, where gathers are slow): a scalar gather loop that keeps only pairs
 *              inside the cutoff (branch-free compaction), a vector loop over contiguous
 *              buffers for the arithmetic, then the scatter;
 *      SCALAR  (math-errno builds): one loop with a branch on the cutoff, LAMMPS style;
 *  - all three add the same nonzero terms in the same (list) order, so they give bitwise
 *    identical forces, Phi and W; a run is bitwise reproducible for a given decomposition
 *    (restart promise) while different rank counts agree to rounding.
 */
#include <string.h>

#include "basin/domain.h"
#include "basin/md.h"
#include "basin/util.h"

#define KCHUNK 64

#if defined(__NO_MATH_ERRNO__) && defined(__AVX512F__)
#define MD_KERNEL_MASKED 1
#elif defined(__NO_MATH_ERRNO__)
#define MD_KERNEL_COMPACT 1
#else
#define MD_KERNEL_SCALAR 1
#endif

const char *md_kernel_name(void) {
#if defined(MD_KERNEL_MASKED)
    return "masked vector (AVX-512)";
#elif defined(MD_KERNEL_COMPACT)
    return "compacted vector";
#else
    return "scalar (built with math errno: add -fno-math-errno for the vector kernels)";
#endif
}

/* Constants of the pairs (species_i, 0) and (species_i, 1), hoisted out of the i loop. */
typedef struct PairRow {
    double rc2[2], s12[2], s12x12[2], lin[2], c0[2];
} PairRow;

static void pair_rows(const Model *m, PairRow rows[2]) {
    for (int a = 0; a < 2; ++a)
        for (int b = 0; b < 2; ++b) {
            /* a one-species model uses row/column 0 only; 1 gets a copy of 0 */
            const int aa = a < m->nspecies ? a : 0, bb = b < m->nspecies ? b : 0;
            const PairParams *p = &m->pair[aa][bb];
            rows[a].rc2[b] = p->rc2;
            rows[a].s12[b] = p->s12;
            rows[a].s12x12[b] = 12.0 * p->s12;
            rows[a].lin[b] = p->lin;
            rows[a].c0[b] = p->c0;
        }
}

void md_force_kernel(Domain *d, double *pe_local, double *virial_local) {
    const int nlocal = d->nlocal;
    const int ntot = d->nlocal + d->nghost;
    const double *restrict x = d->x;
    double *restrict f = d->f;
    const int *restrict species = d->species;
    const int *restrict nstart = d->nbr_start;
    const int *restrict nbr = d->nbr;
    PairRow rows[2];
    pair_rows(d->model, rows);

    memset(f, 0, sizeof(double) * 3 * (size_t)ntot);
    double pe = 0.0, vir = 0.0;
#if !defined(MD_KERNEL_SCALAR)
    double bdx[KCHUNK], bdy[KCHUNK], bdz[KCHUNK], br2[KCHUNK], bfr[KCHUNK], bv[KCHUNK];
#endif
#if defined(MD_KERNEL_COMPACT)
    int bj[KCHUNK], bs[KCHUNK];
#endif

    for (int i = 0; i < nlocal; ++i) {
        const double xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2];
        const PairRow *restrict row = &rows[species[i] & 1];
        const double rc2_0 = row->rc2[0], rc2_1 = row->rc2[1];
        const double s12_0 = row->s12[0], s12_1 = row->s12[1];
        const double a_0 = row->s12x12[0], a_1 = row->s12x12[1];
        const double lin_0 = row->lin[0], lin_1 = row->lin[1];
        const double c0_0 = row->c0[0], c0_1 = row->c0[1];
        double fxi = 0.0, fyi = 0.0, fzi = 0.0;
        const int kend = nstart[i + 1];
#if defined(MD_KERNEL_SCALAR)
        for (int k = nstart[i]; k < kend; ++k) {
            const int j = nbr[k];
            const double dx = xi - x[3 * j], dy = yi - x[3 * j + 1], dz = zi - x[3 * j + 2];
            const double r2 = dx * dx + dy * dy + dz * dz;
            const int sj = species[j];
            if (r2 >= (sj ? rc2_1 : rc2_0)) continue;
            const double lin = sj ? lin_1 : lin_0;
            const double rinv = 1.0 / sqrt(r2);
            const double inv2 = rinv * rinv, inv6 = inv2 * inv2 * inv2, inv12 = inv6 * inv6;
            const double r = r2 * rinv;
            const double fr = ((sj ? a_1 : a_0) * inv12 - lin * r) * inv2;
            const double fx = fr * dx, fy = fr * dy, fz = fr * dz;
            fxi += fx;
            fyi += fy;
            fzi += fz;
            f[3 * j] -= fx;
            f[3 * j + 1] -= fy;
            f[3 * j + 2] -= fz;
            pe += (sj ? s12_1 : s12_0) * inv12 + lin * r + (sj ? c0_1 : c0_0);
            vir += fr * r2;
        }
#else
        for (int k0 = nstart[i]; k0 < kend; k0 += KCHUNK) {
            const int n = kend - k0 < KCHUNK ? kend - k0 : KCHUNK;
            const int *restrict jl = nbr + k0;
#if defined(MD_KERNEL_MASKED)
            const int m = n;
            for (int k = 0; k < n; ++k) {
                const int j = jl[k];
                const int sj = species[j];
                const double dx = xi - x[3 * j], dy = yi - x[3 * j + 1], dz = zi - x[3 * j + 2];
                const double r2 = dx * dx + dy * dy + dz * dz;
                const double rinv = 1.0 / sqrt(r2);
                const double inv2 = rinv * rinv, inv6 = inv2 * inv2 * inv2, inv12 = inv6 * inv6;
                const double r = r2 * rinv;
                const double s12 = sj ? s12_1 : s12_0, a = sj ? a_1 : a_0;
                const double lin = sj ? lin_1 : lin_0, c0 = sj ? c0_1 : c0_0;
                const double rc2 = sj ? rc2_1 : rc2_0;
                const double v = s12 * inv12 + lin * r + c0;
                const double fr = (a * inv12 - lin * r) * inv2;
                const int in = r2 < rc2;
                bdx[k] = dx;
                bdy[k] = dy;
                bdz[k] = dz;
                br2[k] = r2;
                bfr[k] = in ? fr : 0.0;
                bv[k] = in ? v : 0.0;
            }
#define PAIR_J(k) jl[k]
#else
            int m = 0;
            for (int k = 0; k < n; ++k) {
                const int j = jl[k];
                const int sj = species[j];
                const double dx = xi - x[3 * j], dy = yi - x[3 * j + 1], dz = zi - x[3 * j + 2];
                const double r2 = dx * dx + dy * dy + dz * dz;
                bdx[m] = dx;
                bdy[m] = dy;
                bdz[m] = dz;
                br2[m] = r2;
                bj[m] = j;
                bs[m] = sj;
                m += r2 < (sj ? rc2_1 : rc2_0);
            }
            for (int k = 0; k < m; ++k) {
                const int sj = bs[k];
                const double r2 = br2[k];
                const double s12 = sj ? s12_1 : s12_0, a = sj ? a_1 : a_0;
                const double lin = sj ? lin_1 : lin_0, c0 = sj ? c0_1 : c0_0;
                const double rinv = 1.0 / sqrt(r2);
                const double inv2 = rinv * rinv, inv6 = inv2 * inv2 * inv2, inv12 = inv6 * inv6;
                const double r = r2 * rinv;
                bv[k] = s12 * inv12 + lin * r + c0;
                bfr[k] = (a * inv12 - lin * r) * inv2;
            }
#define PAIR_J(k) bj[k]
#endif
            for (int k = 0; k < m; ++k) {
                const int j = PAIR_J(k);
                const double fr = bfr[k];
                const double fx = fr * bdx[k], fy = fr * bdy[k], fz = fr * bdz[k];
                fxi += fx;
                fyi += fy;
                fzi += fz;
                f[3 * j] -= fx;
                f[3 * j + 1] -= fy;
                f[3 * j + 2] -= fz;
                pe += bv[k];
                vir += fr * br2[k];
            }
#undef PAIR_J
        }
#endif
        f[3 * i] += fxi;
        f[3 * i + 1] += fyi;
        f[3 * i + 2] += fzi;
    }
    if (pe_local) *pe_local = pe;
    if (virial_local) *virial_local = vir;
}

int md_forces(Domain *d, double *pe_local, double *virial_local) {
    timer_start(TIMER_FORCE);
    md_force_kernel(d, pe_local, virial_local);
    timer_stop(TIMER_FORCE);
    BCHK(domain_reverse(d)); /* timed as TIMER_COMM inside domain/ */
    return 0;
}
