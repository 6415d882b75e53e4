# Shared by jobs/*.sh and benchmarks: Debian packages, MPI-as-root settings, build helpers.
# Sourced, not executed.

BASIN_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Build and run dependencies (DESIGN.md, TOOLCHAIN.md). python3-h5py/mdanalysis are the
# independent readers used by the tests.
BASIN_PACKAGES=(build-essential gfortran pkgconf meson ninja-build git
  libopenmpi-dev openmpi-bin libscalapack-openmpi-dev libelpa-dev
  libhdf5-openmpi-dev hdf5-tools libopenblas-dev liblapacke-dev libfftw3-dev libinih-dev
  python3-numpy python3-h5py python3-matplotlib python3-mdanalysis clang-format)

# Install whatever is missing; a no-op (one dpkg-query) when everything is present.
basin_install_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "basin: installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -q || return 1
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# Open MPI refuses root and more ranks than cores unless told; containers often lack ssh.
basin_mpi_env() {
  if [ "$(id -u)" -eq 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  fi
  export OMPI_MCA_rmaps_base_oversubscribe=1
  command -v ssh >/dev/null 2>&1 || export OMPI_MCA_plm=isolated
  export OMPI_MCA_btl_vader_single_copy_mechanism=none
  export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
}

# basin_build DIR [meson options...]: configure once, then (re)compile.
basin_build() {
  local dir=$1; shift
  if [ ! -f "$BASIN_ROOT/$dir/build.ninja" ]; then
    meson setup "$BASIN_ROOT/$dir" "$BASIN_ROOT" "$@" || return 1
  fi
  meson compile -C "$BASIN_ROOT/$dir"
}
