#!/usr/bin/env bash
# Trajectory write bandwidth of basin's H5MD writer (src/io/h5md.c) on parallel HDF5.
#
#   benchmarks/io/run.sh [--sizes "32000"] [--ranks "1 2"] [--frames 200] [--reps 3]
#                        [--dir DIR] [--record]
#
# Each timing appends FRAMES frames of positions + velocities + images (60 bytes per atom per
# frame) to a fresh file through the full path of a run: idblock_move() from a scrambled owner
# layout, extend, collective hyperslab writes, H5Fflush (MPI_File_sync) after every frame. The
# per-frame time is the slowest rank's h5md_append() (ranks synchronised before each frame).
# Reported per (N, ranks): median and best ms/frame over all frames of the best repeat
# (smallest median), MB/s = payload / median, and the load average around the run.
# The file goes to --dir (default benchmarks/io/work, git-ignored) and is deleted afterwards.
# --record appends a section to benchmarks/RESULTS.md; otherwise it only prints.
# Built in build-bench-io (release, no sanitizers); only the h5md_tool target is compiled.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=../../jobs/env.sh
source "$ROOT/jobs/env.sh"
basin_mpi_env

sizes="32000" ranks="1 2" frames=200 reps=3 dir="$HERE/work" record=0
while [ $# -gt 0 ]; do
  case $1 in
    --sizes) sizes=$2; shift ;;
    --ranks) ranks=$2; shift ;;
    --frames) frames=$2; shift ;;
    --reps) reps=$2; shift ;;
    --dir) dir=$2; shift ;;
    --record) record=1 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

BUILD=build-bench-io
if [ ! -f "$ROOT/$BUILD/build.ninja" ]; then
  meson setup "$ROOT/$BUILD" "$ROOT" --buildtype=release >/dev/null
fi
meson compile -C "$ROOT/$BUILD" tests/h5md/h5md_tool >/dev/null
TOOL=$ROOT/$BUILD/tests/h5md/h5md_tool
mkdir -p "$dir"
fs=$(df -T "$dir" | awk 'NR == 2 {print $2}')

# Busy fraction of each core between two /proc/stat samples (the machine is shared: a busy core
# means the timing is an upper bound).
cpu_sample() { grep '^cpu[0-9]' /proc/stat | awk '{idle = $5 + $6; tot = 0; for (i = 2; i <= NF; ++i) tot += $i; print $1, tot, idle}'; }
cpu_busy() { # before-file after-file -> "cpu0 37%, cpu1 52%"
  join "$1" "$2" | awk '{dt = $4 - $2; di = $5 - $3; printf "%s%s %d%%", (NR > 1 ? ", " : ""), $1, (dt > 0 ? 100 * (dt - di) / dt : 0)}'
}

rows=()
for n in $sizes; do
  for np in $ranks; do
    best=""
    all=""
    load0=$(cut -d' ' -f1 /proc/loadavg)
    cpu_sample >"$dir/cpu0"
    for _ in $(seq "$reps"); do
      line=$(mpirun -n "$np" --bind-to none "$TOOL" bench "$n" "$frames" "$dir")
      med=$(sed 's/.*"ms_median": \([0-9.]*\).*/\1/' <<<"$line")
      all="$all $med"
      if [ -z "$best" ] || awk -v a="$med" -v b="$(sed 's/.*"ms_median": \([0-9.]*\).*/\1/' <<<"$best")" 'BEGIN {exit !(a < b)}'; then
        best=$line
      fi
    done
    load1=$(cut -d' ' -f1 /proc/loadavg)
    cpu_sample >"$dir/cpu1"
    busy=$(cpu_busy "$dir/cpu0" "$dir/cpu1")
    rm -f "$dir/cpu0" "$dir/cpu1"
    get() { sed "s/.*\"$1\": \([0-9.]*\).*/\1/" <<<"$best"; }
    row="| $n | $np | $(get mb_per_frame) | $(get ms_median) | $(get ms_best) | $(get ms_p90) | $(get mb_per_s_median) | $(get create_s) | ${all# } | $load0 / $load1 | $busy |"
    echo "$row"
    rows+=("$row")
  done
done

[ "$record" -eq 1 ] || exit 0
RES=$ROOT/benchmarks/RESULTS.md
ver=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)
{
  echo
  echo "## I/O"
  echo
  echo "H5MD trajectory writes (\`benchmarks/io/run.sh --sizes \"$sizes\" --ranks \"$ranks\" --frames $frames --reps $reps --record\`,"
  echo "$(date -u +%Y-%m-%d), basin $ver, release build, HDF5 $(pkg-config --modversion hdf5-openmpi 2>/dev/null || echo '?') (MPI-IO), file on $fs)."
  echo "Per frame: positions + velocities (float64) + images (int32) = 60 bytes/atom, written from"
  echo "a scrambled owner layout through \`idblock_move()\`, extend + collective hyperslab writes +"
  echo "\`H5Fflush\` (which calls \`MPI_File_sync\`, i.e. fsync) after every frame. Time = slowest"
  echo "rank's \`h5md_append()\`; median/best/p90 over $frames frames of the repeat with the smallest median;"
  echo "MB/s = payload / median. Load = 1-min load average before / after the $reps repeats; busy ="
  echo "share of each core not idle during them (this benchmark's own ranks included)."
  echo
  echo "| N | ranks | MB/frame | ms/frame median | best | p90 | MB/s (median) | create s | medians of repeats (ms) | load | busy |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} >>"$RES"
echo "appended to $RES"
