#!/bin/bash
# Install what is missing, build the sanitizer (address,undefined) test build, run the whole
# test suite (every MPI test on 1, 2 and 4 ranks) and end with "N passed, N failed".
# Usage: jobs/test.sh [meson test arguments, e.g. a test name or --suite np2]
set -u
source "$(dirname "$0")/env.sh"
basin_install_packages "${BASIN_PACKAGES[@]}" || { echo "0 passed, 1 failed"; exit 1; }
basin_mpi_env
export ASAN_OPTIONS=detect_leaks=0
BUILD=${BASIN_TEST_BUILD:-build-test}
if ! basin_build "$BUILD" -Dbuildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false; then
  echo "build failed"; echo "0 passed, 1 failed"; exit 1
fi
log=$(mktemp)
meson test -C "$BASIN_ROOT/$BUILD" --print-errorlogs --num-processes "$(nproc)" "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$log" | tail -1)
expfail=$(sed -n 's/^Expected Fail: *\([0-9]*\).*/\1/p' "$log" | tail -1)
fail=$(sed -n 's/^Fail: *\([0-9]*\).*/\1/p' "$log" | tail -1)
unexp=$(sed -n 's/^Unexpected Pass: *\([0-9]*\).*/\1/p' "$log" | tail -1)
timeout=$(sed -n 's/^Timeout: *\([0-9]*\).*/\1/p' "$log" | tail -1)
rm -f "$log"
passed=$(( ${ok:-0} + ${expfail:-0} ))
failed=$(( ${fail:-0} + ${unexp:-0} + ${timeout:-0} ))
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
