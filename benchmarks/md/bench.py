#!/usr/bin/python3
"""Helpers of benchmarks/md/run.sh: LAMMPS inputs for basin's model, an independent numpy
evaluation of PHYSICS.md Eq. 1, the energy/force cross-check, timing and the RESULTS.md table.

    bench.py inputs WORKDIR                 pair_overlay.in, pair_table.in, glass.table, in.*
    bench.py eq1 DATA OUT.npz               Eq. 1 energy and forces (scipy cKDTree pairs)
    bench.py verify --json OUT DATA ref=OUT.npz lmp_overlay=DUMP,LOG lmp_table=... [basin=FILE]
    bench.py time --jsonl F --label k=v... --parse lammps|wall -- CMD...
    bench.py results --jsonl F --verify J... --md RESULTS.md --cmdline CMD --notes TEXT

The model (PHYSICS.md section 1), recomputed here from its definition rather than taken from
basin, so that the cross-check is independent of basin's code:
    v(r) = (s/r)^12 + (s/rc)^12 (12 r/rc - 13),  rc = 2.5 s,  s = sigma_ab = (s_a + s_b)/2
    sigma_1/sigma_2 = 0.7, x_1 = x_2 = 1/2, sum_ab x_a x_b sigma_ab^3 = 1.
LAMMPS type 1 = basin species 0 = the small particle.
"""
import json
import math
import os
import re
import subprocess
import sys
import time

import numpy as np

RC_FACTOR = 2.5
TABLE_POINTS = 20000


def glass_sigmas():
    """sigma_1, sigma_2 from the ratio and the sigma_eff normalisation (PHYSICS.md)."""
    s = np.array([0.7, 1.0])
    x = np.array([0.5, 0.5])
    sab = 0.5 * (s[:, None] + s[None, :])
    s3 = float(np.sum(x[:, None] * x[None, :] * sab**3))
    s = s / math.cbrt(s3)
    # the documented values are a check of this function, not an input
    assert abs(s[0] - 0.8110916595) < 1e-9 and abs(s[1] - 1.1587023707) < 1e-9
    return s


def pair_sigma():
    s = glass_sigmas()
    return 0.5 * (s[:, None] + s[None, :])


def v_eq1(r, s):
    """Eq. 1 energy and force magnitude -dv/dr (scalar or arrays)."""
    rc = RC_FACTOR * s
    a12 = (s / r) ** 12
    c12 = RC_FACTOR ** -12.0  # (s/rc)^12
    e = a12 + c12 * (12.0 * r / rc - 13.0)
    f = 12.0 * a12 / r - 12.0 * c12 / rc
    return e, f


# ---------------------------------------------------------------------------- LAMMPS inputs


def write_inputs(work):
    """Both LAMMPS forms of the model plus the input scripts used by run.sh."""
    sab = pair_sigma()
    rcmax = RC_FACTOR * sab.max()
    g = lambda v: repr(float(v))  # shortest exact decimal: LAMMPS reads the same double
    # (a) exact overlay: eps1 = 1/2 at s gives 2[(s/r)^12 - (s/r)^6]; eps2 = -1 at
    #     s2 = 2^(-1/6) s gives -(s/r)^12 + 2 (s/r)^6. The sum is (s/r)^12; lj/smooth/linear
    #     shifts each term as u(r) - u(rc) - (r - rc) u'(rc), which is linear in u, so the sum
    #     is (s/r)^12 - (s/rc)^12 + 12 (r - rc) s^12/rc^13 = Eq. 1.
    lines = ["# PHYSICS.md Eq. 1 as two overlaid shifted-force LJ terms whose r^-6 parts cancel",
             f"pair_style hybrid/overlay lj/smooth/linear {g(rcmax)} lj/smooth/linear {g(rcmax)}"]
    for a in range(2):
        for b in range(a, 2):
            s, rc = sab[a, b], RC_FACTOR * sab[a, b]
            lines.append(f"pair_coeff {a + 1} {b + 1} lj/smooth/linear 1 0.5 {g(s)} {g(rc)}")
            lines.append(f"pair_coeff {a + 1} {b + 1} lj/smooth/linear 2 -1.0 "
                         f"{g(s * 2.0 ** (-1.0 / 6.0))} {g(rc)}")
    open(os.path.join(work, "pair_overlay.in"), "w").write("\n".join(lines) + "\n")

    # (b) table: N points uniform in r^2 from (s/2)^2 to rc^2 with the RSQ keyword and no
    #     cutoff in pair_coeff (cut = rhi), so LAMMPS's "match" path uses the file's nodes
    #     as its own linear-interpolation nodes (no spline resampling).
    tab = ["# PHYSICS.md Eq. 1, energy and force = -dE/dr at nodes uniform in r^2 (RSQ)"]
    coeff = [f"pair_style table linear {TABLE_POINTS}"]
    n = TABLE_POINTS
    for a in range(2):
        for b in range(a, 2):
            s = sab[a, b]
            rlo, rhi = 0.5 * s, RC_FACTOR * s
            key = f"IPL_{a + 1}{b + 1}"
            i = np.arange(n)
            # the same expression LAMMPS's read_table uses for the RSQ grid
            r = np.sqrt(rlo * rlo + (rhi * rhi - rlo * rlo) * i / (n - 1))
            e, f = v_eq1(r, s)
            e[-1], f[-1] = 0.0, 0.0  # exactly zero at rc (round-off would leave ~1e-17)
            tab += ["", key, f"N {n} RSQ {g(rlo)} {g(rhi)}", ""]
            tab += [f"{k + 1} {r[k]!r} {e[k]!r} {f[k]!r}" for k in range(n)]
            coeff.append(f"pair_coeff {a + 1} {b + 1} glass.table {key}")
    open(os.path.join(work, "glass.table"), "w").write("\n".join(tab) + "\n")
    open(os.path.join(work, "pair_table.in"), "w").write("\n".join(coeff) + "\n")

    common = """units lj
atom_style atomic
boundary p p p
read_data ${data}
include pair_${form}.in
neighbor 0.3 bin
neigh_modify delay 0 every 1 check yes
timestep 0.005
"""
    # cross-check: energy and forces of one configuration, full precision
    open(os.path.join(work, "in.verify"), "w").write(common + """thermo_style custom step pe
thermo_modify norm no
dump d all custom 1 ${dump} id type fx fy fz
dump_modify d sort id format float %.17g
run 0
print "TOTAL_PE $(pe:%.17g)"
""")
    # timed NVE run: the settings of the brief (skin 0.3, check every step, dt 0.005)
    open(os.path.join(work, "in.nve"), "w").write(common + """fix 1 all nve
thermo_modify norm yes
thermo ${steps}
run ${steps}
""")
    # fallback preparation of a glass with LAMMPS while basin cannot yet: a few minimiser steps
    # on the pushed-apart random start (no pair is closer than 0.8 sigma_ab already, so this
    # only takes the edge off; converging it would cost more than the liquid run), liquid at
    # T=1 (NVT, tdamp = 100 dt as basin's default), quench by rescaling, NVT at T=0.01, write
    open(os.path.join(work, "in.prep"), "w").write(common + """thermo 1000
thermo_modify norm yes
minimize 1e-4 1e-4 100 1000
reset_timestep 0
velocity all create 1.0 ${seed} dist gaussian mom yes rot no loop geom
fix 1 all nvt temp 1.0 1.0 0.5
run ${liquid}
unfix 1
velocity all scale 0.01
fix 1 all nvt temp 0.01 0.01 0.5
run ${equil}
write_data ${out} nocoeff
""")


# ---------------------------------------------------------------------------- data files


def read_data(path):
    """Minimal independent LAMMPS data reader (atomic style): ids, types, x, box."""
    with open(path) as fp:
        lines = fp.read().splitlines()
    n = None
    lo = [0.0] * 3
    hi = [0.0] * 3
    i = 1
    while i < len(lines):
        t = lines[i].split("#")[0].split()
        i += 1
        if not t:
            continue
        if t[0] in ("Atoms", "Velocities", "Masses", "Pair", "PairIJ"):
            if t[0] == "Atoms":
                break
            continue
        if t[-1] == "atoms":
            n = int(t[0])
        for k, ax in enumerate("xyz"):
            if t[-2:] == [ax + "lo", ax + "hi"]:
                lo[k], hi[k] = float(t[0]), float(t[1])
    rows = []
    while len(rows) < n:
        t = lines[i].split("#")[0].split()
        i += 1
        if t:
            rows.append(t)
    ids = np.array([int(r[0]) for r in rows])
    order = np.argsort(ids)
    typ = np.array([int(r[1]) for r in rows])[order]
    x = np.array([[float(v) for v in r[2:5]] for r in rows])[order]
    L = hi[0] - lo[0]
    return ids[order], typ, x - np.array(lo), L


def eq1_forces(path):
    """Total Eq. 1 energy (math.fsum of pair terms) and forces, id-ordered."""
    from scipy.spatial import cKDTree

    ids, typ, x, L = read_data(path)
    sab = pair_sigma()
    x = np.mod(x, L)
    x[x >= L] -= L  # np.mod can round a tiny negative up to L
    tree = cKDTree(x, boxsize=L)
    pairs = tree.query_pairs(r=RC_FACTOR * sab.max(), output_type="ndarray")
    i, j = pairs[:, 0], pairs[:, 1]
    d = x[i] - x[j]
    d -= L * np.round(d / L)
    r = np.sqrt(np.einsum("ij,ij->i", d, d))
    s = sab[typ[i] - 1, typ[j] - 1]
    keep = r < RC_FACTOR * s
    i, j, d, r, s = i[keep], j[keep], d[keep], r[keep], s[keep]
    e, fmag = v_eq1(r, s)
    fv = (fmag / r)[:, None] * d
    n = len(ids)
    f = np.zeros((n, 3))
    for k in range(3):
        f[:, k] = np.bincount(i, fv[:, k], n) - np.bincount(j, fv[:, k], n)
    return math.fsum(e.tolist()), f, len(r), ids


def read_dump_forces(path):
    """id fx fy fz from a LAMMPS custom dump (id type fx fy fz) or basin's `id fx fy fz`."""
    with open(path) as fp:
        lines = fp.read().splitlines()
    if lines and lines[0].startswith("ITEM: TIMESTEP"):
        k = next(k for k, l in enumerate(lines) if l.startswith("ITEM: ATOMS"))
        cols = lines[k].split()[2:]
        rows = np.array([[float(v) for v in l.split()] for l in lines[k + 1:] if l.strip()])
        ids = rows[:, cols.index("id")].astype(int)
        f = rows[:, [cols.index("fx"), cols.index("fy"), cols.index("fz")]]
    else:
        rows = np.array([[float(v) for v in l.split()] for l in lines
                         if l.strip() and not l.lstrip().startswith("#")])
        ids, f = rows[:, 0].astype(int), rows[:, 1:4]
    order = np.argsort(ids)
    return ids[order], f[order]


def read_pe(path, pattern):
    pe = None
    with open(path) as fp:
        for line in fp:
            m = re.match(pattern, line.strip())
            if m:
                pe = float(m.group(1))
    if pe is None:
        raise SystemExit(f"bench.py: no energy line matching {pattern!r} in {path}")
    return pe


def cmd_eq1(args):
    pe, f, npairs, ids = eq1_forces(args[0])
    np.savez(args[1], pe=pe, f=f, ids=ids, npairs=npairs)
    print(f"eq1 {args[0]}: N={len(ids)} pairs={npairs} PE={pe!r} PE/N={pe / len(ids):.12f}")


def cmd_verify(args):
    """Compare every candidate with the numpy reference; exit 1 if an exact form disagrees."""
    out = args[args.index("--json") + 1]
    args = [a for a in args if a not in ("--json", out)]
    data = args[0]
    spec = dict(a.split("=", 1) for a in args[1:])
    ref = np.load(spec.pop("ref"))
    pe0, f0, ids0 = float(ref["pe"]), ref["f"], ref["ids"]
    fnorm = np.sqrt(np.einsum("ij,ij->i", f0, f0))
    frms, fmax = float(np.sqrt(np.mean(fnorm**2))), float(fnorm.max())
    # exact forms must agree to round-off, the table to its interpolation error
    tol = {"lmp_overlay": (1e-12, 1e-10), "basin": (1e-12, 1e-10), "lmp_table": (1e-5, 1e-4)}
    res = {"data": data, "N": int(len(ids0)), "pairs": int(ref["npairs"]), "pe_ref": pe0,
           "f_rms": frms, "f_max": fmax, "checks": {}}
    ok = True
    for name, files in spec.items():
        dump, log = files.split(",")
        # LAMMPS: the print line of in.verify; basin eval: "pe <value>" (or "pe = ", "pe: ")
        num = r"([-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?)$"
        pat = r"TOTAL_PE\s+" + num if name.startswith("lmp") else r"pe\s*(?:[=:]\s*|\s+)" + num
        pe = read_pe(log, pat)
        ids, f = read_dump_forces(dump)
        if len(ids) != len(ids0) or (ids != ids0).any():
            raise SystemExit(f"bench.py: {dump}: atom ids differ from {data}")
        df = np.sqrt(np.einsum("ij,ij->i", f - f0, f - f0))
        c = {"pe": pe, "pe_rel": abs(pe - pe0) / abs(pe0),
             "f_maxdiff_over_rms": float(df.max()) / frms,
             "f_rmsdiff_over_rms": float(np.sqrt(np.mean(df**2))) / frms}
        ptol, ftol = tol.get(name, (1e-12, 1e-10))
        c["pass"] = bool(c["pe_rel"] <= ptol and c["f_maxdiff_over_rms"] <= ftol)
        c["tolerance"] = [ptol, ftol]
        res["checks"][name] = c
        ok &= c["pass"]
        print(f"  {name:12s} PE {pe!r:>24}  |dPE|/|PE| {c['pe_rel']:.2e}  "
              f"max|dF|/rms|F| {c['f_maxdiff_over_rms']:.2e}  rms|dF|/rms|F| "
              f"{c['f_rmsdiff_over_rms']:.2e}  {'ok' if c['pass'] else 'FAIL'} "
              f"(tol {ptol:g}, {ftol:g})")
    res["pass"] = bool(ok)
    json.dump(res, open(out, "w"), indent=1)
    print(f"  reference   PE {pe0!r:>24}  (numpy/scipy Eq. 1, {res['pairs']} pairs, "
          f"rms|F| {frms:.4g}, max|F| {fmax:.4g})")
    sys.exit(0 if ok else 1)


# ---------------------------------------------------------------------------- timing


def cpu_times():
    """Per-CPU (busy, total) jiffies from /proc/stat."""
    out = []
    with open("/proc/stat") as fp:
        for line in fp:
            if re.match(r"cpu\d+ ", line):
                v = [int(x) for x in line.split()[1:]]
                idle = v[3] + v[4]
                out.append((sum(v) - idle, sum(v)))
    return out


def cmd_time(args):
    """Run CMD once, append {labels, wall, loop, cpu busy fractions} to the JSONL file."""
    k = args.index("--")
    opts, cmd = args[:k], args[k + 1:]
    jsonl = opts[opts.index("--jsonl") + 1]
    parse = opts[opts.index("--parse") + 1]
    labels = dict(a.split("=", 1) for a in opts[opts.index("--label") + 1:]
                  if "=" in a and not a.startswith("--"))
    log = opts[opts.index("--log") + 1] if "--log" in opts else None
    c0, t0 = cpu_times(), time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wall = time.perf_counter() - t0
    c1 = cpu_times()
    if log:
        open(log, "w").write(p.stdout)
    if p.returncode != 0:
        sys.stderr.write(p.stdout[-4000:])
        raise SystemExit(f"bench.py: command failed ({p.returncode}): {' '.join(cmd)}")
    busy = [round((b1 - b0) / max(1, (a1 - a0)), 3) for (b0, a0), (b1, a1) in zip(c0, c1)]
    rec = dict(labels, wall=wall, cmd=" ".join(cmd), cpu_busy=busy,
               loadavg=open("/proc/loadavg").read().split()[:3])
    if parse == "lammps":
        m = re.search(r"Loop time of (\S+) on (\d+) procs for (\d+) steps with (\d+) atoms",
                      p.stdout)
        if not m:
            raise SystemExit("bench.py: no 'Loop time' line in the LAMMPS output")
        rec.update(loop=float(m.group(1)), steps=int(m.group(3)), natoms=int(m.group(4)))
        nb = re.search(r"Neighbor list builds = (\d+)", p.stdout)
        rec["neigh_builds"] = int(nb.group(1)) if nb else None
    with open(jsonl, "a") as fp:
        fp.write(json.dumps(rec) + "\n")
    extra = f" loop {rec['loop']:.3f} s" if "loop" in rec else ""
    print(f"  {labels} wall {wall:.3f} s{extra} cpu busy {busy}")


def summarize(jsonl):
    """Min over repeats of us/atom-step per (code, form, N, ranks)."""
    recs = [json.loads(l) for l in open(jsonl) if l.strip()]
    groups = {}
    for r in recs:
        groups.setdefault((r["code"], r["form"], int(r["N"]), int(r["ranks"])), []).append(r)
    rows = {}
    for key, rs in groups.items():
        code, form, n, ranks = key
        if code == "lammps":
            us = [r["loop"] / (n * r["steps"]) * 1e6 for r in rs]
        else:
            # basin: wall(S steps) - wall(0 steps), both minima, so start-up and file I/O cancel
            full = [r for r in rs if int(r["steps"]) > 0]
            zero = [r for r in rs if int(r["steps"]) == 0]
            if not full or not zero:
                continue
            s = int(full[0]["steps"])
            us = [(r["wall"] - min(z["wall"] for z in zero)) / (n * s) * 1e6 for r in full]
            rs = full
        best = int(np.argmin(us))
        rows[key] = {"us": us[best], "all": us, "busy": rs[best]["cpu_busy"],
                     "load": rs[best]["loadavg"], "cmd": rs[best]["cmd"],
                     "steps": int(rs[best]["steps"]), "builds": rs[best].get("neigh_builds")}
    return rows


def cmd_results(args):
    jsonl = args[args.index("--jsonl") + 1]
    md = args[args.index("--md") + 1]
    cmdline = args[args.index("--cmdline") + 1]
    notes = args[args.index("--notes") + 1] if "--notes" in args else ""
    verify = []
    if "--verify" in args:
        k = args.index("--verify") + 1
        while k < len(args) and not args[k].startswith("--"):
            verify.append(json.load(open(args[k])))
            k += 1
    rows = summarize(jsonl)
    out = [f"\n## {time.strftime('%Y-%m-%d %H:%M %Z')} — `{cmdline}`\n"]
    if notes:
        out.append(notes.strip() + "\n")
    if verify:
        out.append("Cross-check before timing (`run 0` / `basin eval` vs an independent "
                   "numpy/scipy evaluation of Eq. 1 on the same data file):\n")
        out.append("| N | form | PE | abs(dPE)/abs(PE) | max abs(dF)/rms F | rms abs(dF)/rms F "
                   "| tol (PE, F) | |")
        out.append("|---|---|---|---|---|---|---|---|")
        for v in verify:
            out.append(f"| {v['N']} | numpy reference | {v['pe_ref']:.12f} | | | | | "
                       f"rms F = {v['f_rms']:.4g} |")
            for name, c in v["checks"].items():
                out.append(f"| {v['N']} | {name} | {c['pe']:.12f} | {c['pe_rel']:.1e} | "
                           f"{c['f_maxdiff_over_rms']:.1e} | {c['f_rmsdiff_over_rms']:.1e} | "
                           f"{c['tolerance'][0]:g}, {c['tolerance'][1]:g} | "
                           f"{'ok' if c['pass'] else '**FAIL**'} |")
        out.append("")
    out.append("µs per atom-step (wall / (N × steps)), minimum of the repeats (every repeat in the "
               "repeats column); CPU busy = fraction of each core busy during the best repeat "
               "(includes the run itself).\n")
    out.append("| code / form | N | ranks | µs/atom-step | repeats | steps | neigh builds "
               "| CPU busy (cpu0, cpu1) | load avg |")
    out.append("|---|---|---|---|---|---|---|---|---|")
    order = {"lammps": 0, "basin": 1}
    for key in sorted(rows, key=lambda k: (k[2], k[3], order.get(k[0], 2), k[1])):
        r = rows[key]
        code, form, n, ranks = key
        out.append(f"| {code} {form} | {n} | {ranks} | **{r['us']:.3f}** | "
                   f"{', '.join(f'{u:.3f}' for u in r['all'])} | {r['steps']} | "
                   f"{r['builds'] if r['builds'] is not None else ''} | "
                   f"{', '.join(f'{b:.2f}' for b in r['busy'])} | {' '.join(r['load'])} |")
    ratios = []
    for (code, form, n, ranks), r in rows.items():
        if code != "basin":
            continue
        for peer in ("table", "overlay"):
            p = rows.get(("lammps", peer, n, ranks))
            if p:
                ratios.append(f"| basin {form} / LAMMPS {peer} | {n} | {ranks} | "
                              f"{r['us'] / p['us']:.3f} |")
    if ratios:
        out += ["", "Ratios (< 1: basin faster):", "",
                "| ratio | N | ranks | basin / LAMMPS |", "|---|---|---|---|"] + sorted(ratios)
    out.append("\nCommands (best repeat of each row; run in benchmarks/md/work/, where run.sh "
               "writes in.nve, pair_*.in and glass.table):\n")
    out.append("```")
    for key in sorted(rows, key=lambda k: (k[2], k[3], order.get(k[0], 2), k[1])):
        out.append(rows[key]["cmd"])
    out.append("```\n")
    text = "\n".join(out) + "\n"
    with open(md, "a") as fp:
        fp.write(text)
    print(text)


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "inputs":
        write_inputs(args[0])
    elif cmd == "eq1":
        cmd_eq1(args)
    elif cmd == "verify":
        cmd_verify(args)
    elif cmd == "time":
        cmd_time(args)
    elif cmd == "results":
        cmd_results(args)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
