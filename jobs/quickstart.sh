#!/bin/bash
# Install what is missing, build basin (release), and run the main job on the built-in default
# configuration (a small glass: liquid -> quench -> NVT -> NVE) on 2 MPI ranks.
# Usage: jobs/quickstart.sh [RANKS] ; output in ./quickstart-run/
set -eu
source "$(dirname "$0")/env.sh"
basin_install_packages "${BASIN_PACKAGES[@]}"
basin_mpi_env
basin_build build -Dbuildtype=release
ranks=${1:-2}
out=${BASIN_QUICKSTART_DIR:-quickstart-run}
mkdir -p "$out"
"$BASIN_ROOT/build/basin" config --defaults | sed "s|^dir = .*|dir = $out|" > "$out/config.ini"
echo "basin: running the default job on $ranks rank(s); config in $out/config.ini"
mpirun -n "$ranks" --bind-to none "$BASIN_ROOT/build/basin" run --fresh "$out/config.ini"
echo "basin: done; results in $out/ (thermo.dat)"
