#!/usr/bin/python3
"""Same minimum, statistically: samemin.py LOG...

Each LOG is the output of `bench_minimize DATA --samples K --gap 2000 ... --variants REF,A,B`
(standalone quenches of K thermal states 10 tau apart, benchmarks/minimize/samemin.sh). The first
variant is the referee (sd-rkc: the steepest-descent path, the paper's definition of the basin).
A variant's quench of a state "agrees" when its IS lies within 1e-2 sigma of the referee's for
every atom (dIS < 1e-2: the event threshold; the floor at max|F_i| < 1e-5 is ~1e-4). nfar (atoms
more than 0.1 from the referee's IS) sizes the region where they part.

Prints one Markdown row per (log, variant): states, agreements, the states where it differs
(with nfar), mean force evaluations; then the totals per variant over all logs, with the paired
comparison against the first compared variant (FIRE 2.0 in the standard run): on how many states
only that one agrees with the referee, on how many only this one, and the exact two-sided McNemar
p of "both agree equally often" (the same states are quenched by both, so the test is paired)."""
import math
import os
import re
import sys

LINE = re.compile(r"(\S+)\s+sample (\d+) evals\s+(\d+) .* dIS (\S+) nfar (\d+)")


def parse(path):
    """{variant: {sample: (evals, dIS, nfar)}} in the log's variant order."""
    out = {}
    for line in open(path):
        m = LINE.match(line)
        if m:
            out.setdefault(m.group(1), {})[int(m.group(2))] = (
                int(m.group(3)), float(m.group(4)), int(m.group(5)))
    return out


def mcnemar_exact(b, c):
    """Two-sided exact McNemar p for b and c discordant pairs (binomial(b + c, 1/2))."""
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1)) / 2.0**n
    return min(1.0, 2.0 * tail)


def main(logs):
    if not logs:
        sys.exit("usage: samemin.py LOG... (bench_minimize standalone logs, referee first)")
    totals = {}
    agree_by = {}  # (log, sample) -> agrees, per variant: for the paired test
    print("| log | variant | states | agree with referee | differs on (nfar) | mean evals |")
    print("|---|---|---|---|---|---|")
    for path in logs:
        runs = parse(path)
        if not runs:
            sys.exit(f"{path}: no 'sample ... dIS ... nfar' lines (standalone bench_minimize log?)")
        names = list(runs)
        ref = names[0]
        for v in names:
            rows = runs[v]
            states = [s for s in sorted(rows) if s in runs[ref]]
            ev = sum(rows[s][0] for s in states) / max(1, len(states))
            if v == ref:
                print(f"| {os.path.basename(path)} | {v} (referee) | {len(states)} | — | — | {ev:.0f} |")
                continue
            bad = [s for s in states if rows[s][1] >= 1e-2]
            agree = len(states) - len(bad)
            t = totals.setdefault(v, [0, 0, 0])
            t[0] += len(states)
            t[1] += agree
            t[2] += sum(rows[s][2] for s in bad)
            for s in states:
                agree_by.setdefault(v, {})[(path, s)] = s not in bad
            where = ", ".join(f"{s} ({rows[s][2]})" for s in bad) or "—"
            print(f"| {os.path.basename(path)} | {v} | {len(states)} | {agree} | {where} | {ev:.0f} |")
    print()
    first = next(iter(totals), None)
    print(f"| variant | states | agree | fraction | atoms > 0.1 from the referee's IS | "
          f"only {first} agrees | only this agrees | McNemar p |")
    print("|---|---|---|---|---|---|---|---|")
    for v, (n, a, far) in totals.items():
        both = [k for k in agree_by[v] if k in agree_by[first]]
        b = sum(agree_by[first][k] and not agree_by[v][k] for k in both)
        c = sum(agree_by[v][k] and not agree_by[first][k] for k in both)
        pv = "—" if v == first else f"{mcnemar_exact(b, c):.3f}"
        bs, cs = ("—", "—") if v == first else (str(b), str(c))
        print(f"| {v} | {n} | {a} | {a / n:.2f} | {far} | {bs} | {cs} | {pv} |")


if __name__ == "__main__":
    main(sys.argv[1:])
