#!/bin/bash
# The command line: --version, --help, per-command help, unknown command/option, exit codes,
# and that an error prints exactly one line on stderr even with several ranks.
set -u
B=${BASIN_EXE:?}
fail=0
check() { if eval "$2"; then :; else echo "FAIL: $1"; fail=1; fi; }
MPI="mpirun --oversubscribe --allow-run-as-root"

out=$($B --version); rc=$?
check "--version exit 0" '[ $rc -eq 0 ]'
check "--version prints basin X" '[[ "$out" == basin\ * ]]'
out=$($B --help); rc=$?
check "--help exit 0" '[ $rc -eq 0 ]'
check "--help lists run" 'grep -q "^  run" <<<"$out"'
for c in run config eval info modes; do
  out=$($B $c --help); rc=$?
  check "$c --help exit 0" '[ $rc -eq 0 ]'
  check "$c --help shows usage" 'grep -q "^usage: basin $c" <<<"$out"'
done
err=$($B frobnicate 2>&1 >/dev/null); rc=$?
check "unknown command exit 2 (got $rc)" '[ $rc -eq 2 ]'
check "unknown command one line" '[ "$(wc -l <<<"$err")" -eq 1 ]'
check "unknown command message" '[[ "$err" == "basin: error: command line:frobnicate: unknown command"* ]]'
err=$($B run --frob 2>&1 >/dev/null); rc=$?
check "unknown option exit 2" '[ $rc -eq 2 ]'
err=$($MPI -n 2 $B frobnicate 2>&1 >/dev/null); rc=$?
check "2 ranks: exit non-zero ($rc)" '[ $rc -ne 0 ]'
check "2 ranks: exactly one line: $err" '[ "$(grep -c "basin: error" <<<"$err")" -eq 1 ]'
err=$($B config --dump /nonexistent/x.ini 2>&1 >/dev/null); rc=$?
check "missing file exit 1" '[ $rc -eq 1 ]'
check "missing file message: $err" '[[ "$err" == "basin: error: /nonexistent/x.ini:"* ]]'
err=$(SLURM_NTASKS=4 $B --version 2>&1 >/dev/null); rc=$?
check "srun singleton refused ($rc)" '[ $rc -eq 1 ] && grep -q -- "--mpi=pmix" <<<"$err"'
out=$($B config --defaults); rc=$?
check "config --defaults" '[ $rc -eq 0 ] && grep -q "^\[system\]" <<<"$out"'
[ $fail -eq 0 ] && echo "PASS: cli" || exit 1
