#!/bin/bash
# `basin rearr RUN_DIR` on a synthetic run directory written by rearr_tool (the generator of
# test_rearr.c: 8 IS samples, events at samples 3 and 6, exponents 2.7 and 2.2, a ballistic
# trajectory.h5): catalogue, verdict, --event profile and exponent, --field, --out, --msd,
# --threshold, on 1 and 2 ranks; bad input gives exactly one `basin: error:` line on stderr
# with exit 1 (2 for command-line misuse).
set -u
B=${BASIN_EXE:?}
TOOL=$(realpath "${1:?usage: test_rearr.sh REARR_TOOL}") # meson passes it relative to the build dir
MPI="mpirun --oversubscribe --allow-run-as-root"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
cd "$T"
fail=0
check() { if eval "$2"; then :; else echo "FAIL: $1"; fail=1; fi; }
mkdir run empty notraj
$TOOL --write run || { echo "FAIL: writing the synthetic run"; exit 1; }
cp run/is.h5 notraj/

out=$($B rearr run); rc=$?
check "rearr exit 0 ($rc)" '[ $rc -eq 0 ]'
check "verdict Yes" 'grep -q "^rearrangements: Yes (2 of 8 IS samples" <<<"$out"'
check "two catalogue rows (events at samples 3 and 6)" \
  '[ "$(awk "\$1 ~ /^[0-9]+\$/ && NF == 12 {print \$1, \$2}" <<<"$out" | tr "\n" " ")" = "1 3 2 6 " ]'
check "unconverged quench reported" 'grep -q "1 unconverged" <<<"$out"'
check "SD check reported" 'grep -q "2 of 2 event(s) verified, 1 confirmed, 1 not confirmed" <<<"$out"'
check "sd_dr column (0.4, 0.0002)" \
  '[ "$(awk "\$1 ~ /^[0-9]+\$/ && NF == 12 {print \$12}" <<<"$out" | tr "\n" " ")" = "0.4 0.0002 " ]'

out=$($MPI -n 2 $B rearr run --event 1 --field f.dat --out cat.dat); rc=$?
check "--event 1 on 2 ranks exit 0 ($rc)" '[ $rc -eq 0 ]'
a=$(sed -n 's/.*: a = \([0-9.]*\) +-.*/\1/p' <<<"$out")
check "exponent of event 1 = 2.7 +- 0.05 (got '$a')" \
  "[ -n '$a' ] && awk -v a='$a' 'BEGIN{d=a-2.7; if(d<0)d=-d; exit !(d < 0.05)}'"
check "profile table (40 bins)" '[ "$(awk "!/^#/ && NF == 6" <<<"$out" | wc -l)" -eq 40 ]'
check "field file: 8000 atoms" '[ "$(grep -vc "^#" f.dat)" -eq 8000 ]'
check "catalogue file: 2 rows + verdict" \
  '[ "$(grep -vc "^#" cat.dat)" -eq 2 ] && grep -q "^# rearrangements: Yes" cat.dat'
out=$($B rearr run --event 2 --fit-min 3 --fit-max 8); rc=$?
a=$(sed -n 's/.*: a = \([0-9.]*\) +-.*/\1/p' <<<"$out")
check "exponent of event 2 = 2.2 +- 0.05, window 3..8 (got '$a', $rc)" \
  "[ $rc -eq 0 ] && awk -v a='$a' 'BEGIN{d=a-2.2; if(d<0)d=-d; exit !(d < 0.05)}' && grep -q '3 <= r_mean <= 8' <<<\"\$out\""

out=$($B rearr run --threshold 10); rc=$?
check "--threshold 10: verdict No ($rc)" '[ $rc -eq 0 ] && grep -q "^rearrangements: No" <<<"$out"'

out=$($MPI -n 2 $B rearr run --msd --origin-stride 2 --msd-out msd.dat); rc=$?
check "--msd exit 0 ($rc)" '[ $rc -eq 0 ] && grep -q "^# MSD(t)" <<<"$out"'
check "msd file: 6 lags, MSD(0) = 0" \
  '[ "$(grep -vc "^#" msd.dat)" -eq 6 ] && [ "$(grep -v "^#" msd.dat | head -1 | awk "{print \$2+0}")" = "0" ]'

one_error() { # $1 label, $2 expected exit, $3 message part, then the command
  local label=$1 want=$2 part=$3; shift 3
  local err rc
  err=$("$@" 2>&1 >/dev/null); rc=$?
  check "$label: exit $want (got $rc)" "[ $rc -eq $want ]"
  check "$label: one line '$err'" \
    "[ \"\$(wc -l <<<\"\$err\")\" -eq 1 ] && [[ \"\$err\" == 'basin: error: '*'$part'* ]]"
}
one_error "missing RUN_DIR" 1 "no such run directory" $B rearr nonexistent
one_error "no is.h5" 1 "is.h5: no such file" $B rearr empty
one_error "--event out of range" 1 "event 3 out of range" $B rearr run --event 3
one_error "missing snapshots" 1 "no snapshot of the IS" $B rearr run --threshold 1.5e-9 --event 1
one_error "no trajectory for --msd" 1 "trajectory.h5" $B rearr notraj --msd
one_error "bad --event" 2 "--event" $B rearr run --event x
one_error "--field without --event" 2 "--field" $B rearr run --field f.dat
one_error "no RUN_DIR" 2 "no run directory" $B rearr
err=$($MPI -n 2 $B rearr run --event 3 2>&1 >/dev/null); rc=$?
check "2 ranks, event out of range: exit non-zero, one error line ($rc)" \
  '[ $rc -ne 0 ] && [ "$(grep -c "basin: error" <<<"$err")" -eq 1 ]'
out=$($B rearr --help); rc=$?
check "--help" '[ $rc -eq 0 ] && grep -q "^usage: basin rearr RUN_DIR" <<<"$out"'
[ $fail -eq 0 ] && echo "PASS: rearr_cli" || exit 1
