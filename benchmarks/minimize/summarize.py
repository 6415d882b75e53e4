#!/usr/bin/python3
"""Tables of benchmarks/minimize/run.sh: summarize.py WORK N... -- T...

Per (N, T): mean force evaluations and seconds per quench of each basin variant and of LAMMPS
fire/cg over the thermal states, the ratio to LAMMPS fire, and whether every method ended in
the same minimum (Phi_IS agreement to 1e-9 relative, basin's own variants also by position:
max_i |dr_i| column dIS). In-situ: mean evaluations and seconds per tracker sample."""
import glob
import os
import re
import sys


def basin_runs(path):
    out = {}
    for line in open(path):
        m = re.match(r"(\S+)\s+sample (\d+) evals\s+(\d+) .* ([\d.]+) s Phi ([\d.eE+-]+) fmax "
                     r"(\S+) fnorm (\S+) status (\S+) dIS (\S+)", line)
        if m:
            out.setdefault(m.group(1), []).append(
                dict(sample=int(m.group(2)), evals=int(m.group(3)), sec=float(m.group(4)),
                     phi=float(m.group(5)), dis=float(m.group(9)), status=m.group(8)))
    return out


def lammps_run(path):
    if not os.path.exists(path):
        return None
    txt = open(path).read()
    m = re.search(r"Iterations, force evaluations = (\d+) (\d+)", txt)
    t = re.search(r"Loop time of ([\d.]+)", txt)
    p = re.search(r"RESULT pe (\S+) fnorm (\S+)", txt)
    c = re.search(r"Stopping criterion = (.*)", txt)
    if not (m and t and p):
        return None
    return dict(evals=int(m.group(2)), sec=float(t.group(1)), phi=float(p.group(1)),
                fnorm=float(p.group(2)), stop=c.group(1).strip() if c else "?")


def mean(v):
    return sum(v) / len(v) if v else float("nan")


def main():
    work = sys.argv[1]
    k = sys.argv.index("--")
    sizes, temps = sys.argv[2:k], sys.argv[k + 1:]
    print("| N | T | method | force evals / quench (mean; per state) | s / quench | "
          "vs LAMMPS fire (evals) | same IS |")
    print("|---|---|---|---|---|---|---|")
    for n in sizes:
        for t in temps:
            tag = f"n{n}_T{t}"
            blog = os.path.join(work, tag + ".basin.log")
            if not os.path.exists(blog):
                continue
            b = basin_runs(blog)
            nst = max((len(v) for v in b.values()), default=0)
            lmp = {s: [lammps_run(os.path.join(work, f"{tag}_{i}.lmp_{s}.log"))
                       for i in range(nst)] for s in ("fire", "cg")}
            ref = [r["evals"] if r else None for r in lmp["fire"]]
            phi0 = [r["phi"] for r in b.get("fire", [])]
            rows = [(name, [r["evals"] for r in runs], [r["sec"] for r in runs],
                     [r["phi"] for r in runs], [r["dis"] for r in runs])
                    for name, runs in b.items()]
            notes = {}
            for s in ("fire", "cg"):
                rr = [r for r in lmp[s] if r]
                if rr:
                    rows.append(("LAMMPS " + s, [r["evals"] for r in rr], [r["sec"] for r in rr],
                                 [r["phi"] for r in rr], None))
                    bad = [r for r in rr if not r["fnorm"] <= 1.0001e-10]
                    if bad:
                        notes["LAMMPS " + s] = "; stopped early: " + ", ".join(
                            "%s at |F| %.1e" % (r["stop"], r["fnorm"]) for r in bad)
            for name, ev, sec, phi, dis in rows:
                ratio = ("%.2f" % (mean(ev) / mean([x for x in ref if x])) if any(ref) else "-")
                same = all(abs(a - c) <= 1e-9 * abs(c) for a, c in zip(phi, phi0))
                if dis is not None:
                    same = same and all(d < 1e-6 for d in dis)
                    samestr = ("yes" if same else "NO") + " (max dIS %.1e)" % max(dis)
                else:
                    samestr = "yes" if same else "NO (Phi_IS differs)"
                    samestr += notes.get(name, "")
                print(f"| {n} | {t} | {name} | {mean(ev):.0f} ({', '.join(map(str, ev))}) | "
                      f"{mean(sec):.2f} | {ratio} | {samestr} |")
    print()
    print("| N | T | in-situ tracker (every 0.1) | force evals / sample | s / sample | events | "
          "max IS distance to plain FIRE |")
    print("|---|---|---|---|---|---|---|")
    for n in sizes:
        for t in temps:
            p = os.path.join(work, f"n{n}_T{t}.insitu.log")
            if not os.path.exists(p):
                continue
            per = {}
            for line in open(p):
                m = re.match(r"(\S+)\s+t\s+(\S+) evals\s+(\d+) .* ([\d.]+) s Phi_IS (\S+) dr (\S+) "
                             r".* event (\d) conv (\d) dIS (\S+)", line)
                if m:
                    per.setdefault(m.group(1), []).append(
                        dict(evals=int(m.group(3)), sec=float(m.group(4)), event=int(m.group(7)),
                             dis=float(m.group(9))))
            for name, rs in per.items():
                ev = [r["evals"] for r in rs]
                later = ev[1:] if len(ev) > 1 else ev
                print(f"| {n} | {t} | {name} | {mean(ev):.0f} (after the first: "
                      f"{mean(later):.0f}) | {mean([r['sec'] for r in rs]):.2f} | "
                      f"{sum(r['event'] for r in rs)} of {len(rs)} | "
                      f"{max(r['dis'] for r in rs):.1e} |")

if __name__ == "__main__":
    main()
