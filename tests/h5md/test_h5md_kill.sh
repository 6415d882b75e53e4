#!/bin/bash
# Crash safety: a 2-rank writer appends frames (flush after each) until both ranks are killed
# with SIGKILL; the file must then open with basin's reader and with h5py, hold at least every
# frame the writer had reported as written, and every readable frame must be exactly right.
# Usage: test_h5md_kill.sh H5MD_TOOL
set -u
TOOL=${1:?usage: $0 H5MD_TOOL}
PY="/usr/bin/python3 -W ignore::DeprecationWarning"
CHECK=${BASIN_SOURCE_ROOT:?}/tests/h5md/check_h5md.py
MPI="mpirun --oversubscribe --allow-run-as-root --bind-to none"
N=200
WANT=6
D=$(mktemp -d)
mpid=
cleanup() { [ -n "$mpid" ] && kill -9 "$mpid" 2>/dev/null; rm -rf "$D"; }
trap cleanup EXIT
fail=0

# The sleep stands for the MD steps between two frames; the kill lands anywhere in the loop.
$MPI -n 2 "$TOOL" write "$D/k.h5" $N 100000 --sleep-ms 15 --progress "$D/progress" \
  --pids "$D/pids" >"$D/log" 2>&1 &
mpid=$!
for _ in $(seq 600); do
  [ -s "$D/progress" ] && [ "$(wc -l <"$D/progress")" -ge $WANT ] && break
  kill -0 $mpid 2>/dev/null || break
  sleep 0.1
done
done_frames=$(wc -l <"$D/progress" 2>/dev/null || echo 0)
if [ "$done_frames" -lt $WANT ] || [ ! -s "$D/pids" ]; then
  echo "FAIL: writer did not reach $WANT frames"; cat "$D/log"; exit 1
fi
# both ranks at once; these are the writer's own processes (the ids it reported)
kill -9 $(cat "$D/pids")
wait $mpid 2>/dev/null
mpid=
done_frames=$(wc -l <"$D/progress")
echo "killed after $done_frames reported frames"

out=$($MPI -n 2 "$TOOL" check "$D/k.h5" $N "$done_frames" 2>&1); rc=$?
echo "basin reader: $(tail -1 <<<"$out")"
[ $rc -eq 0 ] || { echo "FAIL: the killed file does not read back correctly"; echo "$out"; fail=1; }
out=$($PY "$CHECK" layout "$D/k.h5" $N "$done_frames" --min 2>&1); rc=$?
echo "$out" | tail -3
[ $rc -eq 0 ] || [ $rc -eq 77 ] || { echo "FAIL: h5py check of the killed file"; fail=1; }

[ $fail -eq 0 ] && echo "PASS: h5md_kill" || exit 1
