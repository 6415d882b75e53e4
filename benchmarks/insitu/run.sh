#!/usr/bin/env bash
# In-situ inherent structures inside `basin run`: what tracking costs relative to the MD itself.
#
#   benchmarks/insitu/run.sh [--n 4000] [--temps "0.01 0.05"] [--steps 2000] [--every 0.1]
#                            [--ranks "1 2"] [--minimizer fire] [--record]
#
# For each temperature: the same glass (benchmarks/minimize/work/ann<N>.is.data when present,
# an IS of a glass annealed at T = 0.3, else a quickly quenched random glass built by basin) is
# equilibrated 2000 NVT steps at T and run --steps NVE steps twice, with inherent.enabled false
# and true (a quench every --every time units, FIRE 2.0 + Newton finishing + previous-IS
# prediction, inherent.fmax 1e-9). Reported from the run logs: NVE seconds without and with
# tracking, the overhead factor (with / without), quenches, force evaluations per quench, and
# events. --minimizer sets inherent.minimizer (fire, the default, or lbfgs, sd-rkc, ...).
# Release build in work/build; results to work/summary.md (--record: RESULTS.md).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK=$HERE/work
n=4000 temps="0.01 0.05" steps=2000 every=0.1 ranks="1 2" record=0 minimizer=fire
while [ $# -gt 0 ]; do
  case $1 in
    --n) n=$2; shift ;;
    --temps) temps=$2; shift ;;
    --steps) steps=$2; shift ;;
    --every) every=$2; shift ;;
    --ranks) ranks=$2; shift ;;
    --minimizer) minimizer=$2; shift ;;
    --record) record=1 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
source "$ROOT/benchmarks/lib.sh"
bench_env
load() { bench_load; }
bench_build "$WORK/build" basin:executable
BASIN=$WORK/build/basin
start=$ROOT/benchmarks/minimize/work/ann$n.is.data
init="none"
[ -f "$start" ] && init=$start
out=$WORK/summary.md
{
  echo "### In-situ inherent structures, $(date -u '+%Y-%m-%d %H:%M') UTC"
  echo
  echo "Command: \`benchmarks/insitu/run.sh --n $n --temps \"$temps\" --steps $steps --every $every --ranks \"$ranks\" --minimizer $minimizer\`"
  echo "Start: ${init/#$ROOT\//}; NVE $steps steps (dt 0.005), a quench every $every."
  echo
  echo "| T | ranks | NVE s, no IS | NVE s, with IS | overhead (with/without) | quenches | force evals / quench | events | load (1/5/15 min) |"
  echo "|---|---|---|---|---|---|---|---|---|"
} > "$out"
for T in $temps; do
  for P in $ranks; do
    for on in false true; do
      d=$WORK/T${T}_P${P}_$on
      rm -rf "$d"; mkdir -p "$d"
      cat > "$d/cfg.ini" <<INI
[system]
kind = glass
natoms = $n
init_file = $init
[md]
temperature = $T
liquid_steps = 20000
equil_steps = 2000
nve_steps = $steps
[output]
dir = $d
traj_every = 0
checkpoint_every = 0
final_data = false
[inherent]
enabled = $on
every = $every
minimizer = $minimizer
INI
      mpirun -n "$P" --bind-to none "$BASIN" run "$d/cfg.ini" > "$d/log" 2>&1
    done
    # NVE seconds = steps / (the final progress line's steps per second)
    nve() { grep "nve: $steps/$steps (100.0%)" "$1/log" | tail -1 |
      awk -v s="$steps" '{ for (i = 1; i <= NF; ++i) if ($i ~ /\/s$/ && $i !~ /atom/) { sub("/s", "", $i); printf "%.2f", s / $i; exit } }'; }
    t0=$(nve "$WORK/T${T}_P${P}_false"); t1=$(nve "$WORK/T${T}_P${P}_true")
    q=$(grep -o "inherent structures: [0-9]* quenches, [0-9]* events, [0-9.]* force evaluations per quench" "$WORK/T${T}_P${P}_true/log" || true)
    nq=$(echo "$q" | awk '{print $3}'); ne=$(echo "$q" | awk '{print $5}'); fe=$(echo "$q" | awk '{print $7}')
    ov=$(awk -v a="$t1" -v b="$t0" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "?" }')
    echo "| $T | $P | $t0 | $t1 | $ov | $nq | $fe | $ne | $(load) |" | tee -a "$out"
  done
done
echo >> "$out"
if [ $record -eq 1 ]; then cat "$out" >> "$ROOT/benchmarks/RESULTS.md"; fi
echo "summary: $out"
