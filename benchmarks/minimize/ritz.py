#!/usr/bin/python3
"""Ritz values of the Newton stage's CG: ritz.py LOG [--step K] [--low N]

LOG: the stderr/stdout of `bench_minimize ... --variants X+newton --log 1` (every CG iteration
logs its alpha and beta, src/minimize/newton.c). The CG coefficients of one Newton step give the
Lanczos tridiagonal T of the block-Jacobi preconditioned Hessian P^-1 H on the Krylov space the
CG explored:
    T[0][0] = 1 / alpha_1,  T[j][j] = 1 / alpha_{j+1} + beta_j / alpha_j,
    T[j][j-1] = sqrt(beta_j) / alpha_j.
Its extreme eigenvalues converge to the extreme eigenvalues of P^-1 H first, so they show what
limits the CG: the condition number lambda_max / lambda_min and how many eigenvalues sit far below
the bulk (what a deflation of k soft modes would remove). Eigenvalues by Sturm bisection (no
numpy on the benchmark machine)."""
import math
import re
import sys

CG = re.compile(r"minimize newton: cg (\d+) .* alpha (\S+) beta (\S+)")


def steps(path):
    """Lists of (alpha, beta) per Newton step, in order."""
    out, cur = [], []
    for line in open(path, errors="replace"):
        m = CG.search(line)
        if not m:
            continue
        it = int(m.group(1))
        if it == 1 and cur:
            out.append(cur)
            cur = []
        cur.append((float(m.group(2)), float(m.group(3))))
    if cur:
        out.append(cur)
    return out


def tridiag(ab):
    k = len(ab)
    diag, off = [0.0] * k, [0.0] * max(0, k - 1)
    for j in range(k):
        a = ab[j][0]
        diag[j] = 1.0 / a + (ab[j - 1][1] / ab[j - 1][0] if j > 0 else 0.0)
        if j > 0:
            off[j - 1] = math.sqrt(ab[j - 1][1]) / ab[j - 1][0]
    return diag, off


def count_below(diag, off, x):
    """Eigenvalues of the symmetric tridiagonal below x (Sturm count)."""
    c, q = 0, 1.0
    for j in range(len(diag)):
        q = diag[j] - x - (off[j - 1] ** 2 / q if j > 0 else 0.0)
        if q == 0.0:
            q = 1e-300
        if q < 0.0:
            c += 1
    return c


def eigenvalues(diag, off):
    k = len(diag)
    r = max(abs(diag[j]) + (abs(off[j - 1]) if j > 0 else 0) + (abs(off[j]) if j < k - 1 else 0)
            for j in range(k))
    vals = []
    for i in range(k):
        lo, hi = -r, r
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if count_below(diag, off, mid) > i:
                hi = mid
            else:
                lo = mid
        vals.append(0.5 * (lo + hi))
    return vals


def main(argv):
    if not argv:
        sys.exit(__doc__)
    path, step, low = argv[0], None, 12
    if "--step" in argv:
        step = int(argv[argv.index("--step") + 1])
    if "--low" in argv:
        low = int(argv[argv.index("--low") + 1])
    all_steps = steps(path)
    if not all_steps:
        sys.exit(f"{path}: no 'minimize newton: cg ... alpha ... beta' lines (run with --log 1)")
    for k, ab in enumerate(all_steps):
        if step is not None and k != step:
            continue
        ev = eigenvalues(*tridiag(ab))
        lmax = ev[-1]
        print(f"Newton step {k}: {len(ab)} CG iterations, Ritz lambda_max {lmax:.4g}, "
              f"lambda_min {ev[0]:.4g}, kappa {lmax / ev[0]:.4g}")
        print("  lowest: " + " ".join(f"{v:.4g}" for v in ev[:low]))
        for frac in (1e-1, 1e-2, 1e-3):
            n = sum(v < frac * lmax for v in ev)
            print(f"  Ritz values below {frac:g} lambda_max: {n}")


if __name__ == "__main__":
    main(sys.argv[1:])
