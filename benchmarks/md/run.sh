#!/usr/bin/env bash
# MD throughput of basin against LAMMPS on the same model, the same glass and the same settings.
#
#   benchmarks/md/run.sh [--quick] [--sizes "4000 32000"] [--ranks "1 2"] [--reps 3]
#                        [--steps S_small,S_large] [--fresh] [--no-basin] [--record|--no-record]
#
# Steps (each prints what it does; everything lands in benchmarks/md/work/, git-ignored):
#   1. builds basin twice in its own build dirs: generic x86-64 (like Debian's lmp) and
#      -Dnative=true; plus the small make_glass helper linked against libbasin
#   2. LAMMPS inputs of the model: exact overlay (2 x lj/smooth/linear) and
#      `pair_style table linear 20000` (tables from bench.py)
#   3. one glass per N at T = 0.01: `basin run` (liquid at T=1, quench, NVT at 0.01, short NVE)
#      writing <output.dir>/final.data; while basin cannot, the same protocol in LAMMPS from
#      basin's own random start (make_glass), and the report says so. Cached across runs
#      (--fresh rebuilds them)
#   4. cross-check before any timing: LAMMPS overlay and table (`run 0`) and `basin eval` (when
#      the subcommand exists) against an independent numpy/scipy Eq. 1 evaluation of the same
#      file; an exact form that disagrees stops the script
#   5. NVE timings (dt 0.005, skin 0.3, neighbour check every step), N x ranks x {LAMMPS table,
#      LAMMPS overlay, basin generic, basin native}, --reps repeats, minimum reported, with the
#      per-core load during each run; appended to benchmarks/RESULTS.md (full mode; --quick
#      writes work/RESULTS.quick.md unless --record)
#
# basin hooks this script relies on (used as soon as they exist, skipped with a note before):
#   - `basin run CFG` writes <output.dir>/final.data (LAMMPS data, velocities, image flags)
#   - config key $BASIN_INIT_KEY (default system.init_file): start from a data file; with
#     md.liquid_steps = md.equil_steps = 0 and thermostat.kind = none the run is NVE only
#   - `basin eval FILE.data --forces OUT` prints "pe <total>" and writes "id fx fy fz" lines
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=../../jobs/env.sh
source "$ROOT/jobs/env.sh"
basin_mpi_env
PY=/usr/bin/python3 # Debian's, with numpy and scipy (TOOLCHAIN.md)
BENCH="$PY $HERE/bench.py"
WORK=$HERE/work
BASIN_INIT_KEY_SET=${BASIN_INIT_KEY:-}
BASIN_INIT_KEY=${BASIN_INIT_KEY:-system.init_file}

invocation="benchmarks/md/run.sh $*"
[ -n "${PREP_RANKS:-}" ] && invocation="PREP_RANKS=$PREP_RANKS $invocation"
[ -n "${BASIN_INIT_KEY_SET:-}" ] && invocation="BASIN_INIT_KEY=$BASIN_INIT_KEY $invocation"
mode=full sizes="4000 32000" ranks="1 2" reps=3 fresh=0 use_basin=1 record="" steps_override=""
while [ $# -gt 0 ]; do
  case $1 in
    --quick) mode=quick ;;
    --sizes) sizes=$2; shift ;;
    --ranks) ranks=$2; shift ;;
    --reps) reps=$2; shift ;;
    --steps) steps_override=$2; shift ;;
    --fresh) fresh=1 ;;
    --no-basin) use_basin=0 ;;
    --record) record=1 ;;
    --no-record) record=0 ;;
    -h|--help) sed -n '2,/^set -euo/{/^#/p}' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[ -z "$record" ] && { [ $mode = full ] && record=1 || record=0; }

# Glass preparation and timed steps. Full: runs of ~10-20 s per timing on a quiet machine
# (LAMMPS anchors 0.2-0.5 us/atom-step); quick: a smoke test of the whole pipeline.
if [ $mode = quick ]; then
  liquid=300 equil=300 nve_prep=20
  steps_for() { [ "$1" -le 8000 ] && echo 500 || echo 100; }
else
  liquid=5000 equil=5000 nve_prep=100
  steps_for() { [ "$1" -le 8000 ] && echo 5000 || echo 1000; }
fi
if [ -n "$steps_override" ]; then # "S_small,S_large": timed steps for N <= 8000 and above
  steps_for() { [ "$1" -le 8000 ] && echo "${steps_override%,*}" || echo "${steps_override#*,}"; }
fi
PREP_RANKS=${PREP_RANKS:-2}

mkdir -p "$WORK"
cd "$WORK"
JSONL=$WORK/timings.$mode.jsonl
: >"$JSONL"
notes=()
note() { echo "run.sh: $*"; notes+=("- $*"); }
mpi() { local n=$1; shift; mpirun -n "$n" --bind-to core -x OMP_NUM_THREADS=1 -x OPENBLAS_NUM_THREADS=1 "$@"; }

# ---- 1. builds --------------------------------------------------------------------------
GEN=build-bench-generic NAT=build-bench-native
BASIN_GEN="" BASIN_NAT=""
build_one() { # dir, meson options...
  local dir=$1; shift
  if [ ! -f "$ROOT/$dir/build.ninja" ]; then
    meson setup "$ROOT/$dir" "$ROOT" -Dbuildtype=release "$@" >"$WORK/$dir.setup.log" 2>&1 ||
      { echo "run.sh: meson setup $dir failed (see work/$dir.setup.log)"; return 1; }
  fi
  # the library first: make_glass needs only it, and the basin link may lag behind
  ninja -C "$ROOT/$dir" libbasin.a >"$WORK/$dir.build.log" 2>&1 || return 1
  ninja -C "$ROOT/$dir" basin >>"$WORK/$dir.build.log" 2>&1 || return 2
}
echo "== 1. building basin (generic x86-64 and native)"
rc=0; build_one $GEN -Dnative=false -Dc_args=-march=x86-64 || rc=$?
have_lib=1
[ $rc = 1 ] && have_lib=0 && note "libbasin (generic) does not build (work/$GEN.build.log): basin runs skipped"
if [ $use_basin = 1 ]; then
  [ $rc = 0 ] && BASIN_GEN=$ROOT/$GEN/basin
  [ $rc = 2 ] && note "basin (generic) did not link (work/$GEN.build.log): basin runs skipped"
  rc=0; build_one $NAT -Dnative=true || rc=$?
  [ $rc = 0 ] && BASIN_NAT=$ROOT/$NAT/basin
  [ $rc != 0 ] && note "basin (native) did not build (work/$NAT.build.log): native runs skipped"
fi
# make_glass needs only util, model and io/lammps_data: link the library when it builds, else
# compile those sources directly so that the LAMMPS side still runs while other modules are
# mid-edit
mg_src=("$ROOT/$GEN/libbasin.a")
[ $have_lib = 0 ] && mg_src=("$ROOT"/src/util/{errors,parallel,log,rng,timer}.c
  "$ROOT"/src/model/{potential,builders}.c "$ROOT/src/io/lammps_data.c")
mpicc -std=c17 -O2 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
  -I"$ROOT/include" -I"$ROOT/$GEN" "$HERE/make_glass.c" "${mg_src[@]}" -lm -o "$WORK/make_glass"

basin_has_run_export() { # does `basin run` write final.data? A 500-atom, 30-step probe says
  [ -n "$BASIN_GEN" ] || return 1
  [ -n "${run_export_probe:-}" ] && return "$run_export_probe"
  local d=$WORK/probe_run
  rm -rf "$d" && mkdir -p "$d"
  printf '[system]\nkind = glass\nnatoms = 500\n[md]\ntemperature = 0.01\nliquid_steps = 10\nequil_steps = 10\nnve_steps = 10\n[output]\ndir = %s\ntraj_every = 0\ncheckpoint_every = 0\n' \
    "$d" >"$d/probe.ini"
  run_export_probe=1
  mpi 1 "$BASIN_GEN" run --quiet --fresh "$d/probe.ini" >"$d/log" 2>&1 && [ -s "$d/final.data" ] && run_export_probe=0
  [ $run_export_probe = 1 ] && note "\`basin run\` does not write final.data yet (probe: work/probe_run/log): glasses prepared with LAMMPS"
  return $run_export_probe
}
init_block() { # the INI lines that make basin start from the glass of N=$1
  printf '[%s]\n%s = %s\n' "${BASIN_INIT_KEY%%.*}" "${BASIN_INIT_KEY#*.}" "${GLASS[$1]}"
}
basin_has_init() {
  [ -n "$BASIN_GEN" ] || return 1
  printf '[system]\nkind = glass\nnatoms = %s\n%s\n[md]\ntemperature = 0.01\n' "${sizes%% *}" \
    "$(init_block "${sizes%% *}")" \
    >"$WORK/probe.ini"
  "$BASIN_GEN" config --dump "$WORK/probe.ini" >/dev/null 2>&1
}
basin_has_eval() { [ -n "$BASIN_GEN" ] && "$BASIN_GEN" eval --help >/dev/null 2>&1; }

# ---- 2. LAMMPS inputs (the fallback preparation of step 3 needs them) -------------------
echo "== 2. LAMMPS inputs (overlay form; table form, 20000 points per pair)"
$BENCH inputs "$WORK"

# ---- 3. glasses ---------------------------------------------------------------------------
echo "== 3. glasses at T = 0.01 (liquid $liquid, equil $equil steps)"
declare -A GLASS
for n in $sizes; do
  g=$WORK/glass_${n}_$mode
  mkdir -p "$g"
  if [ $fresh = 0 ] && [ -s "$g/final.data" ] && [ -f "$g/source" ]; then
    echo "  N=$n: reusing $g/final.data ($(cat "$g/source"))"
  else
    rm -f "$g/final.data" "$g/source"
    if basin_has_run_export; then
      cat >"$g/glass.ini" <<EOF
[system]
kind = glass
natoms = $n
seed = 1
[md]
temperature = 0.01
liquid_steps = $liquid
equil_steps = $equil
nve_steps = $nve_prep
[output]
dir = $g
thermo_every = 1000
traj_every = 0
checkpoint_every = 0
EOF
      if mpi "$PREP_RANKS" "$BASIN_GEN" run --fresh "$g/glass.ini" >"$g/basin_run.log" 2>&1 && [ -s "$g/final.data" ]; then
        echo "basin run (liquid $liquid, NVT $equil at T=0.01, NVE $nve_prep), seed 1" >"$g/source"
      else
        note "N=$n: \`basin run\` gave no final.data (see work/glass_${n}_$mode/basin_run.log): glass prepared with LAMMPS instead"
      fi
    fi
    if [ ! -s "$g/final.data" ]; then
      ./make_glass "$g/start.data" "$n" 1 >/dev/null
      mpi "$PREP_RANKS" lmp -nocite -screen none -log "$g/prep.log" -in in.prep -var data "$g/start.data" \
        -var form table -var seed 4711 -var liquid $liquid -var equil $equil -var out "$g/final.data"
      echo "LAMMPS in.prep from basin's make_glass start (minimise, NVT T=1 $liquid, rescale, NVT T=0.01 $equil), table form" >"$g/source"
    fi
    echo "  N=$n: $(cat "$g/source")"
  fi
  GLASS[$n]=$g/final.data
  note "N=$n glass: $(cat "$g/source")"
  ./make_glass --check "$g/final.data" | sed 's/^/  /' # basin's reader on this exact file
done

# ---- 4. cross-check -------------------------------------------------------------------------
echo "== 4. cross-check: energy and forces vs numpy Eq. 1"
VERIFY=()
have_eval=0; basin_has_eval && have_eval=1
[ $have_eval = 0 ] && note "\`basin eval\` not available yet: basin not in the cross-check"
for n in $sizes; do
  d=${GLASS[$n]} v=$WORK/verify_${n}_$mode
  mkdir -p "$v"
  $BENCH eq1 "$d" "$v/ref.npz"
  args=("ref=$v/ref.npz")
  for form in overlay table; do
    mpi 1 lmp -nocite -screen none -log "$v/lmp_$form.log" -in in.verify -var data "$d" \
      -var form $form -var dump "$v/lmp_$form.dump"
    args+=("lmp_$form=$v/lmp_$form.dump,$v/lmp_$form.log")
  done
  if [ $have_eval = 1 ]; then
    mpi 2 "$BASIN_GEN" eval "$d" --forces "$v/basin.forces" >"$v/basin.log" 2>&1
    args+=("basin=$v/basin.forces,$v/basin.log")
  fi
  echo "  N=$n ($d)"
  $BENCH verify --json "$v/verify.json" "$d" "${args[@]}" ||
    { echo "run.sh: cross-check FAILED for N=$n: no timings taken" >&2; exit 1; }
  VERIFY+=("$v/verify.json")
done

# ---- 5. timings -----------------------------------------------------------------------------
echo "== 5. NVE timings ($reps repeats; load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
have_init=0; basin_has_init && have_init=1
[ -n "$BASIN_GEN" ] && [ $have_init = 0 ] &&
  note "basin has no \`$BASIN_INIT_KEY\` key yet: basin NVE timings skipped"
basin_cfg() { # N steps -> config path; NVE only, from the glass, no output besides the end
  local n=$1 s=$2 c=$WORK/bench_${1}_${2}.ini
  cat >"$c" <<EOF
[system]
kind = glass
natoms = $n
[md]
temperature = 0.01
liquid_steps = 0
equil_steps = 0
nve_steps = $s
skin = 0.3
dt = 0.005
[thermostat]
kind = none
[output]
dir = $WORK/basin_bench_out
thermo_every = $((s > 0 ? s : 1))
traj_every = 0
checkpoint_every = 0
$(init_block "$n")
EOF
  echo "$c"
}
for n in $sizes; do
  steps=$(steps_for "$n")
  for p in $ranks; do
    for rep in $(seq "$reps"); do
      for form in table overlay; do
        $BENCH time --jsonl "$JSONL" --parse lammps --log "$WORK/nve_${n}_${p}_$form.log" \
          --label code=lammps form=$form N=$n ranks=$p rep=$rep -- \
          mpirun -n "$p" --bind-to core -x OMP_NUM_THREADS=1 lmp -nocite -log none \
          -in in.nve -var data "${GLASS[$n]}" -var form $form -var steps "$steps"
      done
      if [ $have_init = 1 ]; then
        for variant in generic native; do
          exe=$BASIN_GEN; [ $variant = native ] && exe=$BASIN_NAT
          [ -n "$exe" ] || continue
          for s in "$steps" 0; do
            $BENCH time --jsonl "$JSONL" --parse wall --log "$WORK/basin_${n}_${p}_${variant}_$s.log" \
              --label code=basin form=$variant N=$n ranks=$p rep=$rep steps=$s -- \
              mpirun -n "$p" --bind-to core -x OMP_NUM_THREADS=1 -x OPENBLAS_NUM_THREADS=1 \
              "$exe" run --quiet --fresh "$(basin_cfg "$n" "$s")"
          done
        done
      fi
    done
  done
done

# ---- report ---------------------------------------------------------------------------------
lmp_version=$(lmp -h | sed -n 's/^Large-scale[^-]* - //p' | head -1)
cflags_gen=$(meson introspect --buildoptions "$ROOT/$GEN" 2>/dev/null |
  $PY -c 'import json,sys; o={x["name"]:x["value"] for x in json.load(sys.stdin)}; print(o["buildtype"], o["c_args"], "native=%s" % o["native"], "timers=%s" % o["timers"])' 2>/dev/null || echo "?")
notes+=("- machine: $(getconf _NPROCESSORS_ONLN) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r); $(gcc --version | head -1); $(mpirun --version | head -1); LAMMPS $lmp_version (Debian \`lmp\`)")
notes+=("- environment: OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset} OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE:-unset} OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1; \`mpirun -n P --bind-to core\`")
notes+=("- basin builds: generic \`$GEN\` ($cflags_gen), native \`$NAT\` (-Dnative=true: -march=native, which gcc 12 reports as znver3 + the CPU's AVX-512 flags)")
notes+=("- LAMMPS figure = its \"Loop time\" (setup excluded) / (N x steps); basin figure = (wall(S steps) - min wall(0 steps)) / (N x S), so start-up and file I/O cancel")
notes+=("- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)")
out=$ROOT/benchmarks/RESULTS.md
[ $record = 0 ] && out=$WORK/RESULTS.$mode.md
$BENCH results --jsonl "$JSONL" --md "$out" --cmdline "$invocation" --notes "$(printf '%s\n' "${notes[@]}")" \
  --verify "${VERIFY[@]}"
echo "run.sh: results appended to $out"
