#!/bin/bash
# Bad trajectory files give exactly one "basin: error:" line naming the file (and the dataset),
# agreed by 2 ranks, with no HDF5 error stack: missing file, directory, empty file, text file,
# truncated file, no /particles/trajectory, position not [frames][N][3], velocity with another
# N, species with another N; the exit status is 1 (read and info).
# Usage: test_h5md_badfiles.sh H5MD_TOOL
set -u
TOOL=${1:?usage: $0 H5MD_TOOL}
PY="/usr/bin/python3 -W ignore::DeprecationWarning"
CHECK=${BASIN_SOURCE_ROOT:?}/tests/h5md/check_h5md.py
MPI="mpirun --oversubscribe --allow-run-as-root --bind-to none"
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
fail=0

$MPI -n 2 "$TOOL" write "$D/good.h5" 10 3 >/dev/null 2>&1 || { echo "FAIL: writing good.h5"; exit 1; }
mkdir "$D/dir.h5"
: >"$D/empty.h5"
printf 'ITEM: TIMESTEP\n0\nnot an hdf5 file at all\n' >"$D/text.h5"
head -c $(( $(stat -c %s "$D/good.h5") / 2 )) "$D/good.h5" >"$D/trunc.h5"
files=(missing dir empty text trunc)
want=("$D/missing.h5: no such file"
      "$D/dir.h5: is a directory"
      "$D/empty.h5: empty file, not an HDF5 file"
      "$D/text.h5: not an HDF5 file (no HDF5 signature)"
      "$D/trunc.h5: cannot open (truncated or corrupt HDF5 file?) (HDF5: truncated file: eof = ")
kinds="wrong-n species-n no-trajectory position-2d"
if $PY "$CHECK" make-bad "$D/good.h5" "$D" $kinds; then
  files+=($kinds)
  want+=("$D/wrong-n.h5:/particles/trajectory/velocity/value: expected [frames][N][3] with N = 10 (from position), got [3][11][3]"
         "$D/species-n.h5:/particles/trajectory/species: expected [N] with N = 10 (from position), got [9]"
         "$D/no-trajectory.h5:/particles/trajectory: missing (found /particles/all; basin reads the particles group named 'trajectory')"
         "$D/position-2d.h5:/particles/trajectory/position/value: expected [frames][N][3], got [3][30]")
else
  echo "SKIP: h5py cannot make the malformed-layout files"
fi

paths=(); for f in "${files[@]}"; do paths+=("$D/$f.h5"); done
err=$($MPI -n 2 "$TOOL" read-each "${paths[@]}" 2>&1 >/dev/null); rc=$?
if grep -q "HDF5-DIAG" <<<"$err"; then echo "FAIL: HDF5 error stack printed"; echo "$err"; fail=1; fi
[ $rc -eq 0 ] || { echo "FAIL: read-each exit $rc"; fail=1; }
mapfile -t lines < <(grep -E "^(basin: error|ok):" <<<"$err")
[ ${#lines[@]} -eq ${#files[@]} ] || { echo "FAIL: ${#lines[@]} lines for ${#files[@]} files:"; echo "$err"; fail=1; }
for i in "${!files[@]}"; do
  if [[ "${lines[$i]:-}" == "basin: error: ${want[$i]}"* ]]; then
    echo "ok: ${lines[$i]}"
  else
    echo "FAIL: ${files[$i]}: got '${lines[$i]:-}', want 'basin: error: ${want[$i]}...'"; fail=1
  fi
done

# the exit path: one line, status 1 (mpirun adds its own notice about the exit status); info
# goes through the same precheck as the reader
for cmd in info; do
  err=$($MPI -n 2 "$TOOL" $cmd "$D/text.h5" 2>&1 >/dev/null); rc=$?
  if [ $rc -ne 1 ] || [ "$(grep -c "basin: error" <<<"$err")" -ne 1 ]; then
    echo "FAIL: $cmd on a text file: exit $rc: $err"; fail=1
  else
    echo "ok: $cmd exits 1 with one line"
  fi
done

[ $fail -eq 0 ] && echo "PASS: h5md_badfiles" || exit 1
