#!/bin/bash
# basin run writes final.data; basin eval on it reproduces the run's last Phi on 1 and 2 ranks
# with the same forces; a run started from final.data (system.init_file) continues from the
# same energy; bad input to eval gives one error line.
set -u
B=${BASIN_EXE:?}
MPI="mpirun --oversubscribe --allow-run-as-root"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
cd "$T"
fail=0
check() { if eval "$2"; then :; else echo "FAIL: $1"; fail=1; fi; }
cat > a.ini <<EOT
[system]
kind = glass
natoms = 400
[md]
temperature = 0.05
liquid_steps = 200
equil_steps = 200
nve_steps = 200
[output]
dir = a
traj_every = 100
EOT
$MPI -n 2 $B run --quiet a.ini || { echo "FAIL: run"; exit 1; }
check "final.data written" '[ -s a/final.data ]'
info=$($B info a/trajectory.h5); rc=$?
check "trajectory.h5 holds the 3 NVE frames ($rc)" '[ $rc -eq 0 ] && grep -q "N = 400, 3 frames, steps 400 .. 600" <<<"$info"'
last=$(tail -1 a/thermo.dat | awk '{print $6}')
$MPI -n 1 $B eval a/final.data --forces f1.txt > e1.txt || fail=1
$MPI -n 2 $B eval a/final.data --forces f2.txt > e2.txt || fail=1
pe1=$(awk '$1=="pe_per_atom"{print $2}' e1.txt)
pe2=$(awk '$1=="pe_per_atom"{print $2}' e2.txt)
check "eval pe = run pe ($pe1 vs $last)" "awk -v a=$pe1 -v b=$last 'BEGIN{d=a-b; if(d<0)d=-d; exit !(d <= 1e-12*b)}'"
check "eval 1 vs 2 ranks pe ($pe1 vs $pe2)" "awk -v a=$pe1 -v b=$pe2 'BEGIN{d=a-b; if(d<0)d=-d; exit !(d <= 1e-13*b)}'"
maxdf=$(paste f1.txt f2.txt | awk '!/^#/{for(k=2;k<=4;k++){d=$k-$(k+4); if(d<0)d=-d; if(d>m)m=d}} END{print m+0}')
check "eval forces 1 vs 2 ranks (max diff $maxdf)" "awk -v m=$maxdf 'BEGIN{exit !(m < 1e-10)}'"
cat > b.ini <<EOT
[system]
kind = glass
natoms = 400
init_file = a/final.data
[md]
temperature = 0.05
equil_steps = 0
nve_steps = 20
[thermostat]
kind = none
[output]
dir = b
final_data = false
EOT
$MPI -n 2 $B run --quiet b.ini || { echo "FAIL: run from init_file"; fail=1; }
first=$(grep -v '^#' b/thermo.dat | head -1 | awk '{print $6, $7}')
prev=$(tail -1 a/thermo.dat | awk '{print $6, $7}')
# the same state summed in another order (atoms re-sorted into cells): equal to rounding
check "continued run starts where the first ended ($first vs $prev)" "awk -v a='$first' -v b='$prev' 'BEGIN{split(a,x,\" \"); split(b,y,\" \"); for(k=1;k<=2;k++){d=x[k]-y[k]; if(d<0)d=-d; if(d>1e-12*y[k]) exit 1}}'"
check "final_data = false honoured" '[ ! -e b/final.data ]'
sed 's/natoms = 400/natoms = 402/' b.ini > c.ini
err=$($B run c.ini 2>&1 >/dev/null); rc=$?
check "natoms mismatch: exit 1, one line ($rc: $err)" '[ $rc -eq 1 ] && [ "$(wc -l <<<"$err")" -eq 1 ] && [[ "$err" == *"system.natoms"* ]]'
err=$($B eval nonexistent.data 2>&1 >/dev/null); rc=$?
check "eval missing file ($rc: $err)" '[ $rc -eq 1 ] && [[ "$err" == "basin: error: nonexistent.data"* ]]'
[ $fail -eq 0 ] && echo "PASS: eval_final_data" || exit 1
