#!/bin/bash
# `basin modes` on the command line: the run directory of a real `basin run` (configuration
# taken from its trajectory.h5, last frame or --frame K, quenched), final.data alone (needs
# --kind), --no-quench on a glass start ("not a minimum", exit 1, one line), a quench that
# cannot converge, bad options. Every error is one stderr line with the documented exit status.
set -u
B=${BASIN_EXE:?}
MPI="mpirun --oversubscribe --allow-run-as-root"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
cd "$T"
fail=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi; }
attr() { # file, /group/attribute -> its value (h5dump of a scalar attribute)
  h5dump -a "$2" "$1" 2>/dev/null | sed -n 's/^ *(0): *//p' | tr -d '"'
}
# error: exit status, exactly one line on stderr, and its text. Under mpirun only the lines of
# basin count (mpirun adds its own banner about the failed job); rank 0 alone must print one.
one_error() { # description, expected status, expected text, command...
  local what=$1 want=$2 text=$3; shift 3
  local err rc
  err=$("$@" 2>&1 >/dev/null); rc=$?
  [ "$1" = mpirun ] && err=$(grep '^basin' <<<"$err")
  check "$what (exit $rc: $err)" \
    '[ $rc -eq $want ] && [ "$(wc -l <<<"$err")" -eq 1 ] && [[ "$err" == "basin: error: "*"$text"* ]]'
}

cat > c.ini <<EOT
[system]
kind = crystal
natoms = 256
[md]
temperature = 0.02
equil_steps = 100
nve_steps = 200
[output]
dir = run
traj_every = 100
EOT
$MPI -n 2 $B run --quiet c.ini || { echo "FAIL: basin run"; exit 1; }
check "the run wrote trajectory.h5 and final.data" '[ -s run/trajectory.h5 ] && [ -s run/final.data ]'

# RUN_DIR: the configuration comes from trajectory.h5, the last frame is quenched
log=$($MPI -n 2 $B modes run --out m.h5 2>&1); rc=$?
check "modes RUN_DIR on 2 ranks (exit $rc)" '[ $rc -eq 0 ]'
check "configuration from the run" 'grep -q "configuration from run/trajectory.h5:/parameters/config" <<<"$log"'
check "input: the last frame" 'grep -q "run/trajectory.h5 frame 2 (step 300)" <<<"$log"'
check "quench logged" 'grep -qE "quench \(fire \+ newton, fmax 1\.0e-11\) converged in [0-9]+ iterations" <<<"$log" && grep -q "max displacement from the input" <<<"$log"'
check "file: quenched = 1" '[ "$(attr m.h5 /parameters/quenched)" = 1 ]'
check "file: input attribute" '[[ "$(attr m.h5 /parameters/input)" == "run/trajectory.h5 frame 2 (step 300)" ]]'
mf=$(attr m.h5 /parameters/max_force); tol=$(attr m.h5 /parameters/quench_fmax_tol)
check "file: max_force $mf < quench_fmax_tol $tol" "awk -v a=$mf -v b=$tol 'BEGIN{exit !(a > 0 && a < b)}'"
check "the crystal's config was used (kind = crystal stored)" 'h5dump -d /parameters/config m.h5 | grep -q "kind = crystal"'
# the same modes from another frame and on 1 rank: the same crystal minimum
$MPI -n 1 $B modes run --frame 0 --out m0.h5 > log0.txt 2>&1; rc=$?
check "modes RUN_DIR --frame 0 on 1 rank (exit $rc)" '[ $rc -eq 0 ] && grep -q "frame 0 (step 100)" log0.txt'
l1=$(attr m.h5 /modes/lowest_nontranslational_eigenvalue)
l0=$(attr m0.h5 /modes/lowest_nontranslational_eigenvalue)
check "frames 2 (2 ranks) and 0 (1 rank) give the same lowest eigenvalue ($l1, $l0)" \
  "awk -v a=$l1 -v b=$l0 'BEGIN{d=a-b; if(d<0)d=-d; exit !(a > 0 && d <= 1e-8*a)}'"

# a glass start is not a minimum: refused as it is, fine once quenched
cat > g.ini <<EOT
[system]
kind = glass
natoms = 300
[md]
temperature = 0.01
[inherent]
max_iter = 20
EOT
sed 's/max_iter = 20/max_iter = 100000/' g.ini > g2.ini
one_error "--no-quench on a glass start (1 rank)" 1 "modes: not a minimum" $B modes --config g2.ini --no-quench --out x.h5
one_error "--no-quench on a glass start (2 ranks)" 1 "modes: not a minimum" $MPI -n 2 $B modes --config g2.ini --no-quench --out x.h5
$MPI -n 2 $B modes --config g2.ini --out g.h5 > glog.txt 2>&1; rc=$?
check "the same start quenched (exit $rc)" '[ $rc -eq 0 ] && [ "$(attr g.h5 /parameters/quenched)" = 1 ]'
one_error "a quench that cannot converge in inherent.max_iter" 1 \
  "modes: the glass built from the configuration: the quench did not converge (iteration limit) after 20 iterations" \
  $MPI -n 2 $B modes --config g.ini --out x.h5
one_error "--fmax 0" 2 "--fmax: needs a number > 0" $B modes --fmax 0
one_error "--fmax without a value" 2 "--fmax: needs a number > 0" $B modes --fmax

# final.data alone: no stored configuration, --kind needed; --frame refused
rm run/trajectory.h5
one_error "RUN_DIR with final.data only, no --kind" 2 "run: no stored configuration" $B modes run
$MPI -n 2 $B modes run --kind crystal --out f.h5 > flog.txt 2>&1; rc=$?
check "RUN_DIR/final.data with --kind crystal (exit $rc)" '[ $rc -eq 0 ] && [[ "$(attr f.h5 /parameters/input)" == "run/final.data"* ]]'
one_error "--frame with final.data only" 2 "run: --frame 1 given" $B modes run --kind crystal --frame 1
mkdir empty
one_error "a directory that is not a run" 1 "empty: a directory without is.h5" $B modes empty --kind crystal

help=$($B modes --help)
check "--help names --no-quench, --fmax and RUN_DIR" 'grep -q -- "--no-quench" <<<"$help" && grep -q -- "--fmax F" <<<"$help" && grep -q "RUN_DIR" <<<"$help"'
[ $fail -eq 0 ] && echo "PASS: harmonic_modes_cli" || exit 1
