# Sourced by the benchmark scripts (minimize/run.sh, minimize/protocol.sh, insitu/run.sh): the
# environment every run needs on a fresh machine, the load line printed next to each timing, and
# the release build the script times. Expects ROOT (the repository) to be set.

# MPI as root (see TOOLCHAIN.md), one BLAS/OpenMP thread per rank, no process launcher daemon;
# and the script's work folder, when it set WORK.
bench_env() {
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_plm=isolated
  export OMPI_MCA_rmaps_base_oversubscribe=1 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
  if [ -n "${WORK:-}" ]; then mkdir -p "$WORK"; fi
}

# 1-, 5- and 15-minute load averages: a timing taken while other jobs ran says so.
bench_load() { cut -d' ' -f1-3 /proc/loadavg; }

# bench_build DIR TARGET...: a release build of the repository in DIR (set up once; warnings do
# not stop a benchmark), then the targets; logs in DIR.setup.log and DIR.log.
bench_build() {
  local dir=$1
  shift
  if [ ! -d "$dir" ]; then
    meson setup "$dir" "$ROOT" --buildtype=release -Dwerror=false > "$dir.setup.log" 2>&1 ||
      { echo "meson setup failed, see $dir.setup.log" >&2; return 1; }
  fi
  meson compile -C "$dir" "$@" > "$dir.log" 2>&1 ||
    { echo "build failed, see $dir.log" >&2; return 1; }
}
