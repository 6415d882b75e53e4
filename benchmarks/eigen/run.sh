#!/usr/bin/env bash
# Hessian assembly and dense eigen-decomposition timings (basin modes), one command:
#
#   benchmarks/eigen/run.sh [--sizes "1000 2000"] [--ranks "1 2"] [--nb 64]
#                           [--solvers "elpa1 elpa2 pdsyevd lapack"] [--values]
#                           [--coretype preset|auto] [--record]
#
# N = atoms (the matrix is n = 3N); the default sizes are the ones that do not monopolise a
# shared 2-core machine; add 4000 (n = 12000, ~2-5 min per solver on 2 quiet cores) when the
# machine is quiet. For each N and rank count it times, with build-harm-rel/tests/harmonic/
# bench_eigen (benchmarks/eigen/bench_eigen.c):
#   - the Hessian assembly (pairs, exchange, first touch of the matrix, scatter),
#   - the full diagonalisation (all eigenvectors) with ELPA 1-stage, ELPA 2-stage, ScaLAPACK
#     pdsyevd (P MPI ranks, one OpenBLAS thread each) and LAPACK dsyevd (one rank with P
#     OpenBLAS threads: the shared-memory peer on the same cores),
#   - with --values also eigenvalues only (ELPA 1-/2-stage),
#   - peak resident memory per rank (getrusage), effective GFLOP/s of the solve (10/3 n^3) and
#     its fraction of the DGEMM rate measured here on the same cores.
# Every run records the 1-minute load average before it. Results go to
# benchmarks/eigen/work/ (git-ignored) as raw RESULT lines and a Markdown section; --record
# appends that section ("## Eigen ...") to benchmarks/RESULTS.md, with an extrapolation to
# N = 32000. --coretype auto unsets OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE (AVX-512 kernels,
# TOOLCHAIN.md "Fair benchmarks"); the default keeps the preset and says which was used.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=../../jobs/env.sh
source "$ROOT/jobs/env.sh"
basin_mpi_env
PY=/usr/bin/python3 # Debian's (TOOLCHAIN.md)
WORK=$HERE/work
BUILD=build-harm-rel

sizes="1000 2000" ranks="1 2" nb=64 solvers="elpa1 elpa2 pdsyevd lapack" values=0 record=0
coretype=preset
while [ $# -gt 0 ]; do
  case $1 in
    --sizes) sizes=$2; shift ;;
    --ranks) ranks=$2; shift ;;
    --nb) nb=$2; shift ;;
    --solvers) solvers=$2; shift ;;
    --values) values=1 ;;
    --coretype) coretype=$2; shift ;;
    --record) record=1 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ "$coretype" = auto ]; then
  unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
elif [ "$coretype" != preset ]; then
  echo "run.sh: --coretype must be preset or auto" >&2; exit 2
fi

mkdir -p "$WORK"
RAW=$WORK/results.txt
: >"$RAW"
echo "== building $BUILD (release)"
if [ ! -f "$ROOT/$BUILD/build.ninja" ]; then
  meson setup "$ROOT/$BUILD" "$ROOT" -Dbuildtype=release >"$WORK/setup.log" 2>&1 ||
    { echo "run.sh: meson setup failed (work/setup.log)"; exit 1; }
fi
ninja -C "$ROOT/$BUILD" tests/harmonic/bench_eigen >"$WORK/build.log" 2>&1 ||
  { echo "run.sh: build failed (work/build.log)"; exit 1; }
BENCH=$ROOT/$BUILD/tests/harmonic/bench_eigen

load() { cut -d' ' -f1 /proc/loadavg; }
# run LABEL RANKS THREADS BIND ARGS...: one timing, its RESULT line tagged with the load.
run() {
  local label=$1 np=$2 thr=$3 bind=$4; shift 4
  local l0 out
  l0=$(load)
  echo "-- $label: N=$1 $2 ranks=$np threads=$thr (load $l0)"
  if out=$(mpirun -n "$np" --bind-to "$bind" -x OPENBLAS_NUM_THREADS="$thr" -x OMP_NUM_THREADS="$thr" \
    "$BENCH" "$@" 2>&1); then
    echo "$out" | grep '^RESULT' | sed "s/\$/ threads=$thr load=$l0 label=$label/" | tee -a "$RAW"
  else
    echo "$out" | tail -5
    echo "run.sh: $label failed" >&2
  fi
}

echo "== DGEMM rate on these cores (OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset})"
for np in $ranks; do run dgemm "$np" 1 core 2000 dgemm; done

for N in $sizes; do
  for np in $ranks; do
    for s in $solvers; do
      if [ "$s" = lapack ]; then
        # the shared-memory peer: one process, np OpenBLAS threads on np cores
        run "lapack" 1 "$np" none "$N" lapack "$nb"
      else
        run "$s" "$np" 1 core "$N" "$s" "$nb"
      fi
    done
    if [ $values = 1 ]; then
      run elpa1-values "$np" 1 core "$N" elpa1-values "$nb"
      run elpa2-values "$np" 1 core "$N" elpa2-values "$nb"
    fi
  done
done

CMD="benchmarks/eigen/run.sh --sizes \"$sizes\" --ranks \"$ranks\" --nb $nb --solvers \"$solvers\""
[ $values = 1 ] && CMD="$CMD --values"
[ "$coretype" = auto ] && CMD="$CMD --coretype auto"
"$PY" "$HERE/report.py" "$RAW" "$CMD" "${OPENBLAS_CORETYPE:-unset}" >"$WORK/section.md"
echo "== section written to benchmarks/eigen/work/section.md"
cat "$WORK/section.md"
if [ $record = 1 ]; then
  { echo; cat "$WORK/section.md"; } >>"$ROOT/benchmarks/RESULTS.md"
  echo "== appended to benchmarks/RESULTS.md"
fi
