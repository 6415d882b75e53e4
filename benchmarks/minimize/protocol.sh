#!/usr/bin/env bash
# Quench cost on the study's own configurations: the in-situ tracker of `basin run` against
# LAMMPS `min_style fire` on the same r(t).
#
#   benchmarks/minimize/protocol.sh [--n 4000] [--temps "0.01 0.05"] [--samples 20]
#                                   [--equil 20000] [--seed 1] [--ranks 1] [--no-lammps]
#                                   [--record]
#
# The glass is made as PHYSICS.md section 2 prescribes (random start, liquid T = 1 NVT for
# 20000 steps, instantaneous quench to T, NVT for --equil steps, NVE), by `basin run` itself,
# so the states are those an in-situ study quenches -- not the T = 0.3-annealed glass of
# run.sh, which is deeper in its landscape and cheaper to quench. For each T the same run is
# made three times; only inherent.* differs, and the MD is bitwise the same with any tracker
# settings (test is_tracker), so every variant quenches the same states:
#   default  inherent.minimizer = fire (FIRE 2.0 + Newton finishing + previous-IS prediction)
#   fire     inherent.finish = none (FIRE 2.0 alone: the LAMMPS-equivalent algorithm)
#   lbfgs    inherent.minimizer = lbfgs (L-BFGS + Newton + prediction)
# all to LAMMPS's criterion ||F||_2 < 1e-10 (inherent.fmax = 0, inherent.fnorm = 1e-10), a
# quench every 0.1 (20 steps) for --samples samples, trajectory frames every 20 steps. Every
# frame is then written as a LAMMPS data file (`basin convert`) and quenched by LAMMPS
# (in.min, exact overlay form of Eq. 1, ftol 1e-10). Force evaluations per quench come from
# is.h5 (column force_evals, Newton's Hessian products included) and from LAMMPS's
# "Iterations, force evaluations" line; "same IS" compares Phi_IS with LAMMPS's (1e-9
# relative). basin runs on --ranks ranks (the variants of one T on the same count, so their MD
# is bitwise the same), LAMMPS on 1. Release build in work/build; summary in work/protocol.md
# (--record: appended to benchmarks/RESULTS.md).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK=$HERE/work
PY=/usr/bin/python3
n=4000 temps="0.01 0.05" samples=20 equil=20000 seed=1 ranks=1 lammps=1 record=0
while [ $# -gt 0 ]; do
  case $1 in
    --n) n=$2; shift ;;
    --temps) temps=$2; shift ;;
    --samples) samples=$2; shift ;;
    --equil) equil=$2; shift ;;
    --seed) seed=$2; shift ;;
    --ranks) ranks=$2; shift ;;
    --no-lammps) lammps=0 ;;
    --record) record=1 ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "protocol.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
source "$ROOT/benchmarks/lib.sh"
bench_env
load() { bench_load; }
bench_build "$WORK/build" basin:executable
BASIN=$WORK/build/basin
if [ $lammps = 1 ]; then
  command -v lmp > /dev/null || { echo "protocol.sh: lmp not found (apt-get install lammps, or --no-lammps)" >&2; exit 1; }
  $PY "$ROOT/benchmarks/md/bench.py" inputs "$WORK" > /dev/null
fi

for T in $temps; do
  for variant in default fire lbfgs; do
    d=$WORK/proto_N${n}_T${T}_$variant
    minimizer=fire finish=newton
    [ $variant = fire ] && finish=none
    [ $variant = lbfgs ] && minimizer=lbfgs
    rm -rf "$d"
    mkdir -p "$d"
    cat > "$d/cfg.ini" <<INI
[system]
kind = glass
natoms = $n
seed = $seed
[md]
temperature = $T
liquid_steps = 20000
equil_steps = $equil
nve_steps = $((20 * (samples - 1)))
[output]
dir = $d
traj_every = 20
velocities = false
checkpoint_every = 0
final_data = false
[inherent]
enabled = true
every = 0.1
minimizer = $minimizer
finish = $finish
fmax = 0
fnorm = 1e-10
snapshots = none
INI
    echo "== N=$n T=$T $variant: basin run ($(load))"
    mpirun -n "$ranks" --bind-to none "$BASIN" run --fresh "$d/cfg.ini" > "$d/log" 2>&1 ||
      { echo "protocol.sh: basin run failed, see $d/log" >&2; exit 1; }
    grep -E "inherent structures:" "$d/log" | tail -1 | sed 's/^/   /'
  done
  if [ $lammps = 1 ]; then
    d=$WORK/proto_N${n}_T${T}_default
    echo "== N=$n T=$T: LAMMPS fire on the $samples states ($(load))"
    for ((k = 0; k < samples; ++k)); do
      "$BASIN" convert "$d/trajectory.h5" "$d/state_$k.data" --frame "$k" --kind glass > /dev/null
      (cd "$WORK" && lmp -in "$HERE/in.min" -var data "$d/state_$k.data" -var pair pair_overlay.in \
        -var style fire -var ftol 1e-10 -log none -screen "$d/state_$k.lmp_fire.log" > /dev/null)
    done
  fi
done

$PY - "$WORK" "$n" "$samples" "$lammps" $temps > "$WORK/protocol.md" <<'EOF'
import os, re, sys
import h5py, numpy as np
work, n, samples, lammps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
temps = sys.argv[5:]
print("| N | T | samples | basin default (FIRE 2.0 + Newton + prediction) | basin FIRE 2.0 alone | "
      "basin L-BFGS + Newton + prediction | LAMMPS fire | default / LAMMPS | L-BFGS / LAMMPS | "
      "same IS as LAMMPS (default, fire, lbfgs) | events (default, fire, lbfgs) |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for T in temps:
    tab = {}
    for v in ("default", "fire", "lbfgs"):
        with h5py.File(os.path.join(work, f"proto_N{n}_T{T}_{v}", "is.h5"), "r") as f:
            g = f["inherent"]
            tab[v] = {k: g[k][()] for k in ("step", "phi", "force_evals", "event", "seconds", "converged")}
    steps = tab["default"]["step"]
    for v in tab:
        assert np.array_equal(tab[v]["step"], steps), f"{v}: other sample steps"
    lmp_ev, lmp_pe = [], []
    if lammps:
        d = os.path.join(work, f"proto_N{n}_T{T}_default")
        for k in range(len(steps)):
            txt = open(os.path.join(d, f"state_{k}.lmp_fire.log")).read()
            lmp_ev.append(int(re.search(r"Iterations, force evaluations = (\d+) (\d+)", txt).group(2)))
            lmp_pe.append(float(re.search(r"RESULT pe (\S+)", txt).group(1)))
    def m(v):
        return f"{tab[v]['force_evals'].mean():.0f} ({tab[v]['seconds'].mean():.2f} s)"
    if lammps:
        le, lp = np.array(lmp_ev, float), np.array(lmp_pe)
        same = [int(np.sum(np.abs(tab[v]["phi"] - lp) <= 1e-9 * np.abs(lp))) for v in ("default", "fire", "lbfgs")]
        r1 = tab["default"]["force_evals"].mean() / le.mean()
        r2 = tab["lbfgs"]["force_evals"].mean() / le.mean()
        lcol = f"{le.mean():.0f}"
        rcol, r2col = f"{r1:.2f}", f"{r2:.2f}"
        scol = ", ".join(f"{s}/{len(lp)}" for s in same)
    else:
        lcol = rcol = r2col = scol = "—"
    ev = ", ".join(str(int(tab[v]["event"].sum())) for v in ("default", "fire", "lbfgs"))
    print(f"| {n} | {T} | {len(steps)} | {m('default')} | {m('fire')} | {m('lbfgs')} | {lcol} | {rcol} | {r2col} | {scol} | {ev} |")
    nc = sum(int((tab[v]["converged"] == 0).sum()) for v in tab)
    if nc:
        print(f"\n(T = {T}: {nc} quenches did not converge)\n")
EOF
cat "$WORK/protocol.md"
if [ $record = 1 ]; then
  {
    echo
    echo "### Quenches on the study's configurations, $(date -u '+%Y-%m-%d %H:%M') UTC"
    echo
    echo "Command: \`benchmarks/minimize/protocol.sh --n $n --temps \"$temps\" --samples $samples --equil $equil --seed $seed --ranks $ranks\`; load at the end $(load)."
    echo "Force evaluations per quench (mean over the samples; seconds per quench in brackets), ||F||_2 < 1e-10."
    echo
    cat "$WORK/protocol.md"
  } >> "$ROOT/benchmarks/RESULTS.md"
  echo "appended to benchmarks/RESULTS.md"
fi
