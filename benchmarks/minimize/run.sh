#!/usr/bin/env bash
# Inherent-structure quenches: force evaluations and seconds per quench, basin against LAMMPS
# (min_style fire and cg) on the same configurations and the same force tolerance.
#
#   benchmarks/minimize/run.sh [--sizes "4000 32000"] [--temps "0.01 0.05"] [--states 3]
#                              [--anneal STEPS] [--insitu SAMPLES] [--ranks 1] [--no-lammps]
#                              [--record]
#
# Steps (everything lands in benchmarks/minimize/work/, git-ignored; glasses are cached):
#   1. builds bench_minimize (tests/minimize) in work/build (release, -Dwerror=false)
#   2. LAMMPS pair inputs with benchmarks/md/bench.py (exact overlay form: two
#      lj/smooth/linear whose r^-6 terms cancel, TOOLCHAIN.md)
#   3. one annealed glass per N: random start (benchmarks/md/work/glass_N_full/start.data when
#      present, else model_build_glass seed 1) -> NVT T = 1 for 4000 steps -> IS -> NVT
#      T = 0.3 (above T_g ~ 0.2) for --anneal steps (default 50000 = 250 tau) -> its IS
#   4. thermal states: from that IS, velocities at 2T, NVE 2000 steps (equipartition gives ~T),
#      then --states states 2000 steps (10 tau) apart, written as LAMMPS data files
#   5. every state quenched to ||F||_2 < 1e-10 (LAMMPS's ftol, 2-norm) by basin FIRE 2.0,
#      FIRE (Bitzek 2006), FIRE 2.0 + Newton finishing, L-BFGS, L-BFGS + Newton, and LAMMPS
#      fire and cg (overlay)
#   6. in-situ: the IS tracker every 20 steps (Delta t = 0.1) for --insitu samples from the
#      same thermal start, plain FIRE 2.0, FIRE 2.0 + Newton + previous-IS prediction, plain
#      L-BFGS and L-BFGS + Newton + prediction
#   7. tables to work/summary.md; --record appends them to benchmarks/RESULTS.md
# The machine load is printed with each block (the 2 cores are shared).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK=$HERE/work
PY=/usr/bin/python3
sizes="4000 32000" temps="0.01 0.05" states=3 anneal=50000 insitu=30 ranks=1 lammps=1 record=0
while [ $# -gt 0 ]; do
  case $1 in
    --sizes) sizes=$2; shift ;;
    --temps) temps=$2; shift ;;
    --states) states=$2; shift ;;
    --anneal) anneal=$2; shift ;;
    --insitu) insitu=$2; shift ;;
    --ranks) ranks=$2; shift ;;
    --no-lammps) lammps=0 ;;
    --record) record=1 ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
source "$ROOT/benchmarks/lib.sh"
bench_env
load() { echo "load: $(bench_load) on $(nproc) cores"; }

echo "== 1. build"
bench_build "$WORK/build" bench_minimize
BM="$WORK/build/tests/minimize/bench_minimize"
run() { mpirun -n "$ranks" --bind-to none "$BM" "$@"; }

echo "== 2. LAMMPS inputs"
$PY "$ROOT/benchmarks/md/bench.py" inputs "$WORK" > /dev/null

for n in $sizes; do
  echo "== 3. annealed glass N=$n ($(load))"
  if [ ! -f "$WORK/ann$n.is.data" ]; then
    start="$ROOT/benchmarks/md/work/glass_${n}_full/start.data"
    [ -f "$start" ] || start="random:$n:1"
    run "$start" --temp 1.0 --equil 4000 --variants bitzek --fnorm 1e-6 \
      --write "$WORK/liq${n}_" > "$WORK/liq$n.log"
    run "$WORK/liq${n}_0.is.data" --temp 0.3 --equil "$anneal" --variants bitzek \
      --write "$WORK/ann${n}_" > "$WORK/ann$n.log"
    cp "$WORK/ann${n}_0.is.data" "$WORK/ann$n.is.data"
  fi
  for t in $temps; do
    t2=$($PY -c "print(2*$t)")
    tag="n${n}_T$t"
    echo "== 4-5. N=$n T=$t: $states states, basin quenches ($(load))"
    run "$WORK/ann$n.is.data" --temp "$t2" --nve 2000 --samples "$states" --gap 2000 \
      --variants fire,bitzek,fire+newton,lbfgs,lbfgs+newton --write "$WORK/${tag}_" | tee "$WORK/$tag.basin.log"
    if [ $lammps = 1 ]; then
      for ((k = 0; k < states; ++k)); do
        for style in fire cg; do
          echo "   LAMMPS $style state $k ($(load))"
          (cd "$WORK" && mpirun -n "$ranks" --bind-to none lmp -in "$HERE/in.min" \
            -var data "$WORK/${tag}_$k.data" -var pair pair_overlay.in -var style $style \
            -var ftol 1e-10 -log none -screen "$WORK/${tag}_$k.lmp_$style.log" > /dev/null)
          grep -E "Iterations, force|Loop time|^RESULT" "$WORK/${tag}_$k.lmp_$style.log" | sed 's/^/     /'
        done
      done
    fi
    if [ "$insitu" -gt 0 ]; then
      echo "== 6. N=$n T=$t: in-situ tracker, $insitu samples every 20 steps ($(load))"
      run "$WORK/ann$n.is.data" --temp "$t2" --nve 2000 --tracker --samples "$insitu" --gap 20 \
        --variants fire,fire+newton+pred,lbfgs,lbfgs+newton+pred | tee "$WORK/$tag.insitu.log" | grep "^#"
    fi
  done
done
echo "== 7. summary"
$PY "$HERE/summarize.py" "$WORK" $sizes -- $temps > "$WORK/summary.md"
cat "$WORK/summary.md"
if [ $record = 1 ]; then
  { echo; cat "$WORK/summary.md"; } >> "$ROOT/benchmarks/RESULTS.md"
  echo "appended to benchmarks/RESULTS.md"
fi
