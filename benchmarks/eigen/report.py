#!/usr/bin/python3
"""Turn the RESULT lines of benchmarks/eigen/run.sh into the "## Eigen" Markdown section.

usage: report.py RESULTS.txt "command line" OPENBLAS_CORETYPE

The N = 32000 extrapolation scales the largest measured run of each solver: time as n^3 at the
measured per-core rate (ideal strong scaling over P ranks: an optimistic bound, since the
tridiagonal reduction is communication-bound at small n/P), memory as the measured ratio of the
summed peak resident memory above the baseline (before the first matrix) to the matrix size,
divided over P ranks.
"""
import datetime
import os
import sys


def parse(path):
    rows = []
    with open(path) as f:
        for line in f:
            if not line.startswith("RESULT"):
                continue
            d = {}
            for tok in line.split()[1:]:
                if "=" in tok:
                    k, v = tok.split("=", 1)
                    d[k] = v
            rows.append(d)
    return rows


def fnum(d, k):
    return float(d[k]) if k in d else float("nan")


def main():
    raw, cmd, coretype = sys.argv[1], sys.argv[2], sys.argv[3]
    rows = parse(raw)
    dgemm = {int(r["ranks"]): fnum(r, "gflops_per_rank") for r in rows if r["kind"] == "dgemm"}
    eig = [r for r in rows if r["kind"] == "eigen"]
    now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    loads = [fnum(r, "load") for r in rows]
    out = []
    out.append(f"## Eigen ({now}): Hessian assembly and full diagonalisation (basin modes)")
    out.append("")
    out.append(f"Command: `{cmd}` (driver `benchmarks/eigen/bench_eigen.c`, release build "
               f"`build-harm-rel`). OPENBLAS_CORETYPE={coretype}. Configuration: the model's "
               "random binary-glass start at rho = 1.015 (solver cost does not depend on it being "
               "a minimum). One OpenBLAS thread per MPI rank; `lapack` = LAPACKE_dsyevd in one "
               "process with as many OpenBLAS threads as the column's cores. Wall seconds; "
               "GFLOP/s = (10/3) n^3 / solve time; 'of peak' = that rate over the DGEMM rate "
               "measured on the same cores in the same session; memory = getrusage peak RSS "
               "(max over ranks, sum over ranks; the sum before the first matrix is allocated "
               "was the 'base').")
    out.append("")
    if loads:
        out.append(f"Machine load (1-min load average before each run, 2 cores): min "
                   f"{min(loads):.1f}, max {max(loads):.1f}. "
                   + ("The machine was shared with other jobs: these are upper bounds, not "
                      "comparable with the TOOLCHAIN.md anchors; rerun the command on a quiet "
                      "machine." if max(loads) > 1.5 else "Quiet machine."))
        out.append("")
    if dgemm:
        out.append("DGEMM (n = 2000) per rank: " + ", ".join(
            f"{p} rank(s): {g:.1f} GFLOP/s each" for p, g in sorted(dgemm.items())))
        out.append("")
    out.append("| N | n | cores | solver | assemble s (pairs / exchange / first touch / scatter) "
               "| solve s | GFLOP/s | of DGEMM peak | analysis s | peak MiB (max/rank, sum, base) "
               "| matrix MiB | load |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in eig:
        cores = int(r["ranks"]) * int(r.get("threads", "1"))
        peak = dgemm.get(cores, dgemm.get(1, float("nan")))
        frac = fnum(r, "gflops") / (peak * cores) if peak == peak else float("nan")
        solver = r["solver"] if r["solver"] != "lapack" else f"lapack dsyevd ({r['threads']} thr)"
        out.append(
            f"| {r['N']} | {r['n']} | {cores} | {solver} | {fnum(r, 'assemble_s'):.3f} "
            f"({fnum(r, 'pairs_s'):.3f} / {fnum(r, 'exchange_s'):.3f} / {fnum(r, 'zero_s'):.3f} / "
            f"{fnum(r, 'scatter_s'):.3f}) | {fnum(r, 'solve_s'):.2f} | {fnum(r, 'gflops'):.1f} | "
            f"{100 * frac:.0f} % | {fnum(r, 'analysis_s'):.3f} | "
            f"{fnum(r, 'maxrss_max_MiB'):.0f}, {fnum(r, 'maxrss_sum_MiB'):.0f}, "
            f"{fnum(r, 'base_sum_MiB'):.0f} | "
            f"{fnum(r, 'matrix_MiB'):.0f} | {r['load']} |")
    out.append("")

    # Extrapolation from the largest n per solver (vectors only).
    best = {}
    for r in eig:
        if r.get("vectors") != "1" or r["solver"] == "lapack":
            continue
        s = r["solver"]
        if s not in best or int(r["n"]) > int(best[s]["n"]) or (
                int(r["n"]) == int(best[s]["n"]) and int(r["ranks"]) * int(r.get("threads", 1))
                > int(best[s]["ranks"]) * int(best[s].get("threads", 1))):
            best[s] = r
    if best:
        n32 = 96000
        mat_gib = n32 * n32 * 8 / 2**30
        out.append(f"Extrapolation to N = 32000 (n = {n32}, matrix {mat_gib:.1f} GiB): time = "
                   "measured time x (96000/n)^3 x cores / P (ideal strong scaling at the measured "
                   "per-core rate: a lower bound on a cluster), memory per rank = measured (summed "
                   "peak above the baseline / matrix) x 68.7 GiB / P. An estimate, not a measurement.")
        out.append("")
        out.append("| solver (from n, cores) | peak/matrix | P = 64: h, GiB/rank | P = 256 | "
                   "P = 1024 |")
        out.append("|---|---|---|---|---|")
        for s, r in sorted(best.items()):
            n = int(r["n"])
            cores = int(r["ranks"]) * int(r.get("threads", "1"))
            t = fnum(r, "solve_s") * (n32 / n) ** 3 * cores
            ratio = (fnum(r, "maxrss_sum_MiB") - fnum(r, "base_sum_MiB")) / fnum(r, "matrix_MiB")
            cells = [f"{t / p / 3600:.1f} h, {ratio * mat_gib / p:.1f} GiB" for p in (64, 256, 1024)]
            out.append(f"| {s} ({n}, {cores}) | {ratio:.1f} | " + " | ".join(cells) + " |")
        out.append("")
    # The same extrapolation anchored on TOOLCHAIN.md's quiet-machine figures (n = 12000, all
    # eigenvectors, 2 cores; peak memory summed over ranks), so that a run on a busy machine
    # still comes with a usable estimate.
    anchors = [("ELPA 1-stage", 125.0, 3.4), ("ELPA 2-stage (generic kernels)", 274.0, 4.0),
               ("pdsyevd", 145.0, 4.5), ("LAPACK dsyevd (one node only)", 125.0, 3.3)]
    mat12 = 12000 * 12000 * 8 / 2**30
    out.append("Anchored on TOOLCHAIN.md (quiet machine, n = 12000, all vectors, 2 cores): "
               "core-hours = 2 x t x 512, per-rank time with ideal scaling and memory = "
               "(peak sum / 1.07 GiB matrix) x 68.7 GiB / P.")
    out.append("")
    out.append("| solver | t(n=12000) | core-hours at n = 96000 | P = 64 | P = 256 | P = 1024 |")
    out.append("|---|---|---|---|---|---|")
    for name, t, peak in anchors:
        ch = 2 * t * 512 / 3600
        ratio = peak / mat12
        cells = [f"{ch / p * 60:.0f} min, {ratio * 68.66 / p:.1f} GiB/rank" for p in (64, 256, 1024)]
        if name.startswith("LAPACK"):
            cells = [f"shared memory: {ratio * 68.66:.0f} GiB on one node", "—", "—"]
        out.append(f"| {name} | {t:.0f} s | {ch:.0f} | " + " | ".join(cells) + " |")
    out.append("")
    out.append("Ideal strong scaling is optimistic: ELPA's tridiagonalisation is latency-bound "
               "when n/sqrt(P) is small (here n/sqrt(P) = 3000 at P = 1024), so expect the "
               "P = 256-1024 times to be 2-4x longer; the memory figures do not depend on it.")
    out.append("")
    print("\n".join(out))


if __name__ == "__main__":
    main()
