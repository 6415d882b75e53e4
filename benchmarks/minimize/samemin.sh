#!/usr/bin/env bash
# Same minimum, statistically: do the fast minimisers end in the steepest-descent basin (the
# paper's definition of the inherent structure, PHYSICS.md section 4)?
#
#   benchmarks/minimize/samemin.sh [--states K] [--big-states K] [--variants LIST] [--ranks R]
#
# For each set of thermal states below, K states 2000 steps (10 tau) apart are quenched to
# max|F_i| < 1e-5 by the referee sd-rkc (the steepest-descent flow by RKC steps, which ended in
# plain SD's minimum on 48 of 48 refereed samples, benchmarks/RESULTS.md) and by the variants
# (default fire,lbfgs); samemin.py then counts, per variant, the states whose IS lies within
# 1e-2 of the referee's and compares the variants pairwise (McNemar). Start files (in
# benchmarks/minimize/work/, git-ignored), a set is skipped with a note when its file is missing:
#   study glass N = 4000, T = 0.01 / 0.05: protostart_T$T/final.data, the end of the NVT stage of
#       benchmarks/minimize/protocol.sh's glass (`basin run` with md.nve_steps = 0 and
#       output.final_data = true in a copy of protocol.sh's cfg.ini)
#   annealed glass N = 4000: ann4000.is.data (benchmarks/minimize/run.sh), warmed to T
#   study glass N = 32000, T = 0.01 / 0.05: proto_N32000_T${T}_default/state_0.data
#       (benchmarks/minimize/protocol.sh --n 32000), re-thermalised at T for 200 steps
# Logs: work/samemin_<set>.log; the tables: work/samemin.md.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK=$HERE/work
states=20 big=6 variants=fire,lbfgs ranks=1
while [ $# -gt 0 ]; do
  case $1 in
    --states) states=$2; shift ;;
    --big-states) big=$2; shift ;;
    --variants) variants=$2; shift ;;
    --ranks) ranks=$2; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "samemin.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
source "$ROOT/benchmarks/lib.sh"
bench_env
bench_build "$WORK/build" bench_minimize
BM="$WORK/build/tests/minimize/bench_minimize"
logs=()
# one set: TAG FILE SAMPLES [bench options]
set_run() {
  local tag=$1 file=$2 k=$3
  shift 3
  [ "$k" -gt 0 ] || return 0
  if [ ! -f "$WORK/$file" ]; then
    echo "skip $tag: $WORK/$file missing (see --help for how it is made)"
    return 0
  fi
  echo "== $tag: $k states from $file (load $(bench_load))"
  (cd "$WORK" && mpirun -n "$ranks" --bind-to none "$BM" "$file" "$@" --samples "$k" \
    --gap 2000 --fmax 1e-5 --fnorm 0 --variants "sd-rkc,$variants") > "$WORK/samemin_$tag.log"
  logs+=("$WORK/samemin_$tag.log")
}
set_run study4000_T0.01 protostart_T0.01/final.data "$states"
set_run study4000_T0.05 protostart_T0.05/final.data "$states"
set_run ann4000_T0.01 ann4000.is.data "$states" --temp 0.02 --nve 2000
set_run ann4000_T0.05 ann4000.is.data "$states" --temp 0.1 --nve 2000
set_run study32000_T0.01 proto_N32000_T0.01_default/state_0.data "$big" --temp 0.01 --equil 200
set_run study32000_T0.05 proto_N32000_T0.05_default/state_0.data "$big" --temp 0.05 --equil 200
if [ ${#logs[@]} -eq 0 ]; then
  echo "samemin.sh: no start file found in $WORK (see --help)" >&2
  exit 1
fi
/usr/bin/python3 "$HERE/samemin.py" "${logs[@]}" | tee "$WORK/samemin.md"
