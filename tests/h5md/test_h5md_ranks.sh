#!/bin/bash
# A trajectory written on 2 ranks reads back bit-exactly on 1 and 4 ranks (also N = 3 < 4 ranks,
# where some id-blocks are empty, and a file without velocities), passes the h5py layout check,
# opens in MDAnalysis with convert_units=False, and h5md_info describes it (rank 0 only).
# Usage: test_h5md_ranks.sh H5MD_TOOL
set -u
TOOL=${1:?usage: $0 H5MD_TOOL}
PY="/usr/bin/python3 -W ignore::DeprecationWarning"
CHECK=${BASIN_SOURCE_ROOT:?}/tests/h5md/check_h5md.py
MPI="mpirun --oversubscribe --allow-run-as-root --bind-to none"
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
fail=0
run() { # description, command...
  local what=$1; shift
  local rc; out=$("$@" 2>&1); rc=$?
  if [ $rc -eq 77 ]; then echo "SKIP: $what ($(tail -1 <<<"$out"))"; return 0; fi
  if [ $rc -ne 0 ]; then echo "FAIL: $what (exit $rc)"; echo "$out" | tail -20; fail=1; return 1; fi
  echo "ok: $what:"; grep -v '^  ' <<<"$out" | sed 's/^/    /' | head -12
}

# (commands joined by "+" share one launch: mpirun start-up dominates these tests)
run "write on 2 ranks (N=30, 5 frames; N=3 without velocities), info" \
  $MPI -n 2 "$TOOL" write "$D/t.h5" 30 5 + write "$D/s.h5" 3 2 --no-velocities + info "$D/t.h5"
info=$out
run "read on 1 rank" $MPI -n 1 "$TOOL" check "$D/t.h5" 30 5 --exact \
  + check "$D/s.h5" 3 2 --exact --no-velocities
run "read on 4 ranks" $MPI -n 4 "$TOOL" check "$D/t.h5" 30 5 --exact \
  + check "$D/s.h5" 3 2 --exact --no-velocities
run "h5py layout and MDAnalysis" $PY "$CHECK" all "$D/t.h5:30:5" "$D/s.h5:3:2:novel"

for want in "H5MD version 1\.1, creator basin test-version, author h5md_tool" \
            "/particles/trajectory: N = 30, 5 frames, steps 7 \.\. 407, time 0\.035 \.\. 2\.035" \
            "edges time-dependent \[3\]\[3\], first frame 10 x 10 x 10" \
            "/particles/trajectory/position/value +float64 \[5\]\[30\]\[3\], chunks \[1\]\[30\]\[3\], extendible" \
            "/particles/trajectory/velocity/step +hard link to /particles/trajectory/position/step" \
            "/observables/pressure/time +hard link to /particles/trajectory/position/time" \
            "units = lj" "nranks = 2" "^  kind = glass"; do
  grep -qE -- "$want" <<<"$info" || { echo "FAIL: info lacks '$want'"; fail=1; }
done
[ "$(grep -c 'H5MD version' <<<"$info")" -eq 1 ] || { echo "FAIL: info printed by more than rank 0"; fail=1; }
[ $fail -ne 0 ] && echo "$info"
[ $fail -eq 0 ] && echo "PASS: h5md_ranks" || exit 1
