#!/usr/bin/env python3
"""Why symmetric block Gauss-Seidel: PCG iterations on the exact sparse Hessian of a glass IS.

    python3 benchmarks/minimize/precond_study.py PREFIX [--eig K]

PREFIX0.data (a thermal state) and PREFIX0.is.data (its inherent structure), LAMMPS data files
as `bench_minimize DATA --samples 1 --variants lbfgs+newton --write PREFIX` writes them. Builds
H (PHYSICS.md section 1 potential, independent of basin's C code), solves H s = H d (d = the
thermal displacement from the IS, translation removed) to 1e-6 by PCG with: block-Jacobi,
block-Jacobi + exact deflation of the K lowest eigenvectors of D^-1 H (--eig K > 0; shift-invert
eigsh, minutes at N = 4000), two-level additive corrections with cubic aggregates (translations
or affine fields), block SSOR (omega 1, 1.3, 1.6) and ILUT. Needs numpy and scipy (Debian:
python3-scipy). Results: benchmarks/RESULTS.md "Symmetric block Gauss-Seidel".
"""
import sys

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spl
from scipy.spatial import cKDTree

S1, S2 = 0.8110916595, 1.1587023707
SIG = np.array([[S1, (S1 + S2) / 2], [(S1 + S2) / 2, S2]])


def read(fn):
    lines = open(fn).read().split('\n')
    L = None
    for k, l in enumerate(lines):
        if 'xlo xhi' in l:
            L = float(l.split()[1])
        if l.startswith('Atoms'):
            start = k + 2
            break
    x, spc = [], []
    for l in lines[start:]:
        t = l.split()
        if len(t) < 5:
            if x:
                break
            continue
        spc.append(int(t[1]) - 1)
        x.append([float(t[2]), float(t[3]), float(t[4])])
    return np.array(x) % L, np.array(spc), L


def hessian(x, spc, L):
    tree = cKDTree(x, boxsize=L)
    pr = tree.query_pairs(2.5 * S2, output_type='ndarray')
    i, j = pr[:, 0], pr[:, 1]
    d = x[j] - x[i]
    d -= L * np.round(d / L)
    r = np.linalg.norm(d, axis=1)
    sg = SIG[spc[i], spc[j]]
    rc = 2.5 * sg
    m = r < rc
    i, j, d, r, sg, rc = i[m], j[m], d[m], r[m], sg[m], rc[m]
    s12 = sg ** 12
    v1 = -12 * s12 / r ** 13 + 12 * s12 / rc ** 13
    v2 = 156 * s12 / r ** 14
    n = d / r[:, None]
    K = (v2 - v1 / r)[:, None, None] * n[:, :, None] * n[:, None, :] + \
        (v1 / r)[:, None, None] * np.eye(3)[None]
    N = len(x)
    a = np.arange(3)
    rows, cols, vals = [], [], []
    for p, q, sgn in ((i, j, -1), (j, i, -1), (i, i, 1), (j, j, 1)):
        rows.append((3 * p[:, None, None] + a[None, :, None]).repeat(3, 2).ravel())
        cols.append((3 * q[:, None, None] + a[None, None, :]).repeat(3, 1).ravel())
        vals.append((sgn * K).ravel())
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(3 * N, 3 * N))


def pcg(H, b, M, proj, tol=1e-6, maxit=3000):
    x = np.zeros_like(b)
    r = b.copy()
    z = proj(M(r))
    p = z.copy()
    rz = r @ z
    nb = np.linalg.norm(b)
    for k in range(maxit):
        Hp = H @ p
        a = rz / (p @ Hp)
        x += a * p
        r -= a * Hp
        if np.linalg.norm(r) < tol * nb:
            return k + 1
        z = proj(M(r))
        rzn = r @ z
        p = z + (rzn / rz) * p
        rz = rzn
    return maxit


def main():
    pre = sys.argv[1]
    K = int(sys.argv[sys.argv.index('--eig') + 1]) if '--eig' in sys.argv else 0
    xt, spc, L = read(pre + '0.data')
    xi, _, _ = read(pre + '0.is.data')
    N = len(xi)
    H = hessian(xi, spc, L).tocsr()
    Hc = H.tocoo()
    ai, aj = Hc.row // 3, Hc.col // 3

    def part(mask):
        return sp.csr_matrix((Hc.data[mask], (Hc.row[mask], Hc.col[mask])), shape=H.shape)
    Lw, Uw, D = part(ai > aj), part(ai < aj), part(ai == aj)
    Dinv = np.linalg.inv(np.stack([D[3 * k:3 * k + 3, 3 * k:3 * k + 3].toarray()
                                   for k in range(N)]))

    def jac(r):
        return np.einsum('nab,nb->na', Dinv, r.reshape(N, 3)).ravel()

    def proj(z):
        z = z.reshape(N, 3)
        return (z - z.mean(0)).ravel()
    d = xt - xi
    d -= L * np.round(d / L)
    d -= d.mean(0)
    b = H @ d.ravel()
    print(f'N {N}: PCG iterations to 1e-6 on H s = H d (d: thermal displacement)')
    print('block-Jacobi', pcg(H, b, jac, proj), flush=True)
    if K > 0:
        Dm = sp.block_diag([np.linalg.inv(Dinv[k]) for k in range(N)], format='csc')
        th, W = spl.eigsh(H.tocsc(), k=K + 3, M=Dm, sigma=-1e-4, which='LM')
        o = np.argsort(th)
        th, W = th[o][3:], W[:, o][:, 3:]
        print('lowest eigenvalues of D^-1 H', th[:6], 'below 1e-2:', (th < 1e-2).sum(),
              'below 3e-2:', (th < 3e-2).sum())
        for k in (8, 16, 32, 64, 128, 256):
            if k > K:
                break
            Wk, tk = W[:, :k], th[:k]
            print('block-Jacobi + deflation of', k, 'exact eigenvectors',
                  pcg(H, b, lambda r: jac(r) + Wk @ ((1 / tk - 1) * (Wk.T @ r)), proj), flush=True)
    for na in (4, 6, 8, 10):
        c = np.floor(xi / L * na).astype(int) % na
        agg = (c[:, 0] * na + c[:, 1]) * na + c[:, 2]
        for affine in (False, True):
            if not affine:
                R = sp.csr_matrix((np.ones(3 * N), (np.arange(3 * N),
                                   3 * np.repeat(agg, 3) + np.tile(np.arange(3), N))),
                                  shape=(3 * N, 3 * na ** 3))
            else:
                dx = xi - (c + 0.5) * L / na
                dx -= L * np.round(dx / L)
                rows, cols, vals = [], [], []
                for a in range(3):
                    rows.append(3 * np.arange(N) + a)
                    cols.append(12 * agg + a)
                    vals.append(np.ones(N))
                    for k in range(3):
                        rows.append(3 * np.arange(N) + a)
                        cols.append(12 * agg + 3 + 3 * a + k)
                        vals.append(dx[:, k])
                R = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows),
                                   np.concatenate(cols))), shape=(3 * N, 12 * na ** 3))
            Ac = (R.T @ H @ R).toarray()
            w, V = np.linalg.eigh(Ac)
            keep = w > 1e-8 * w.max()
            Acinv = (V * np.where(keep, 1 / np.where(keep, w, 1), 0)) @ V.T
            print(f'two-level, {na}^3 aggregates, {"affine" if affine else "translations"}, '
                  f'{Ac.shape[0]} coarse unknowns:',
                  pcg(H, b, lambda r: jac(r) + R @ (Acinv @ (R.T @ r)), proj), flush=True)
    for om in (1.0, 1.3, 1.6):
        l1 = spl.splu((D / om + Lw).tocsc(), permc_spec='NATURAL', diag_pivot_thresh=0)
        l2 = spl.splu((D / om + Uw).tocsc(), permc_spec='NATURAL', diag_pivot_thresh=0)
        sc = (2 - om) / om
        print('block SSOR omega', om, pcg(H, b, lambda r: l2.solve(sc * (D @ l1.solve(r))), proj),
              flush=True)
    for dt, ff in ((1e-2, 2), (1e-3, 4)):
        il = spl.spilu((H + 1e-8 * sp.identity(3 * N)).tocsc(), drop_tol=dt, fill_factor=ff)
        print('ILUT drop', dt, 'fill', ff, 'nnz(L+U)/nnz(H)', round((il.L.nnz + il.U.nnz) / H.nnz, 2),
              pcg(H, b, il.solve, proj), flush=True)


if __name__ == '__main__':
    main()
