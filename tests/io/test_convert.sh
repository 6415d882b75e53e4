#!/bin/bash
# basin convert and the extended XYZ files, on 1 and 2 ranks, from a short `basin run`:
# data->xyz->data and data->h5->data reproduce every number of the data file bit for bit;
# h5->xyz frames (--frame K, the default last, --all) hold exactly h5py's positions,
# velocities, images, species, ids, step and time; h5->data agrees with h5->xyz->data; the
# multi-frame file has one frame per trajectory frame and opens in MDAnalysis. Bad input (missing
# file, unknown extension, OUT == IN, frame out of range, truncated xyz) gives exactly one line
# `basin: error: ...` and exit status 1, and leaves no output behind.
set -u
B=${BASIN_EXE:?}
PY="/usr/bin/python3 -W ignore::DeprecationWarning"
MPI="mpirun --oversubscribe --allow-run-as-root --bind-to none"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
fail=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi; }
body() { tail -n +2 "$1"; } # a data file without its title line (which names its origin)

cat > a.ini <<EOT
[system]
kind = glass
natoms = 400
[md]
temperature = 0.05
liquid_steps = 50
equil_steps = 50
nve_steps = 100
[output]
dir = a
traj_every = 50
EOT
$MPI -n 2 "$B" run --quiet a.ini || { echo "FAIL: basin run"; exit 1; }

# h5py reads the files and compares bit for bit (the bits of every double, so -0.0 counts).
cat > check.py <<'EOT'
import shlex, sys
import numpy as np
import h5py

def bits(a):
    return np.ascontiguousarray(a, dtype=np.float64).view(np.int64)

def read_xyz(path):
    """Frames of a basin extended XYZ file: (key=value dict of line 2, rows of tokens)."""
    lines = open(path).read().split("\n")
    frames, i = [], 0
    while i < len(lines) and lines[i].strip():
        n = int(lines[i])
        kv = dict(item.split("=", 1) for item in shlex.split(lines[i + 1]))
        frames.append((kv, [l.split() for l in lines[i + 2:i + 2 + n]]))
        i += 2 + n
    return frames

def read_data(path):
    """Atoms and Velocities of a basin LAMMPS data file, in id order."""
    sec, atoms, vel = None, {}, {}
    for l in open(path).read().split("\n")[1:]:
        t = l.split()
        if not t:
            continue
        if t[0] in ("Atoms", "Velocities", "Masses"):
            sec = t[0]
        elif sec == "Atoms":
            atoms[int(t[0])] = t[1:]
        elif sec == "Velocities":
            vel[int(t[0])] = t[1:]
    ids = sorted(atoms)
    assert ids == list(range(1, len(ids) + 1)), "ids are not 1..N"
    sp = np.array([int(atoms[i][0]) - 1 for i in ids])
    x = np.array([[float(s) for s in atoms[i][1:4]] for i in ids])
    im = np.array([[int(s) for s in atoms[i][4:7]] for i in ids])
    v = np.array([[float(s) for s in vel[i]] for i in ids]) if vel else None
    return sp, x, v, im

def traj(path):
    f = h5py.File(path, "r")
    t = f["particles/trajectory"]
    return f, t, min(len(t["position/step"]), t["position/value"].shape[0])

def check_xyz_frame(kv, rows, t, k, what):
    L = t["box/edges/value"][k][0, 0]
    assert kv["Lattice"] == f"{L!r} 0 0 0 {L!r} 0 0 0 {L!r}", f"{what}: Lattice {kv['Lattice']}"
    assert kv["pbc"] == "T T T", what
    assert kv["Properties"] == "species:S:1:pos:R:3:velo:R:3:map_shift:I:3:id:I:1", what
    assert int(kv["Step"]) == t["position/step"][k], f"{what}: Step {kv['Step']}"
    assert float(kv["Time"]) == t["position/time"][k], f"{what}: Time {kv['Time']}"
    n = t["position/value"].shape[1]
    assert len(rows) == n and all(len(r) == 11 for r in rows), f"{what}: atom lines"
    a = np.array(rows)
    assert (a[:, 10].astype(int) == np.arange(1, n + 1)).all(), f"{what}: ids"
    assert (a[:, 0].astype(int) - 1 == t["species"][()]).all(), f"{what}: species"
    assert (bits(a[:, 1:4].astype(float)) == bits(t["position/value"][k])).all(), f"{what}: pos"
    assert (bits(a[:, 4:7].astype(float)) == bits(t["velocity/value"][k])).all(), f"{what}: velo"
    assert (a[:, 7:10].astype(int) == t["image/value"][k]).all(), f"{what}: map_shift"

def main(cmd, *args):
    if cmd == "xyz-frames":          # FILE.xyz TRAJ.h5 K...: frame i of the file is frame K_i
        path, h5 = args[0], args[1]
        want = [int(k) for k in args[2:]]
        frames = read_xyz(path)
        _, t, nf = traj(h5)
        want = [k if k >= 0 else nf + k for k in want]
        assert len(frames) == len(want), f"{path}: {len(frames)} frames, expected {len(want)}"
        for (kv, rows), k in zip(frames, want):
            check_xyz_frame(kv, rows, t, k, f"{path} frame of {h5} {k}")
    elif cmd == "data-frame":        # FILE.data TRAJ.h5 K: the data file holds frame K
        sp, x, v, im = read_data(args[0])
        _, t, nf = traj(args[1])
        k = int(args[2])
        k = k if k >= 0 else nf + k
        assert (sp == t["species"][()]).all(), "species"
        assert (bits(x) == bits(t["position/value"][k])).all(), "positions"
        assert v is not None and (bits(v) == bits(t["velocity/value"][k])).all(), "velocities"
        assert (im == t["image/value"][k]).all(), "images"
    elif cmd == "h5-of-data":        # TRAJ.h5 FILE.data: one frame at step 0 holding the file
        sp, x, v, im = read_data(args[1])
        f, t, nf = traj(args[0])
        assert nf == 1 and t["position/step"][0] == 0 and t["position/time"][0] == 0.0, "frame"
        assert (sp == t["species"][()]).all() and (t["id"][()] == np.arange(len(sp))).all()
        assert (bits(x) == bits(t["position/value"][0])).all(), "positions"
        assert (bits(v) == bits(t["velocity/value"][0])).all(), "velocities"
        assert (im == t["image/value"][0]).all(), "images"
        ke = 0.5 * np.sum(v * v)
        T = f["observables/temperature/value"][0]
        assert abs(T - 2 * ke / (3 * len(sp))) <= 1e-12 * T, f"temperature {T}"
        assert np.isnan(f["observables/potential_energy/value"][0]), "potential energy"
    elif cmd == "mda":               # FILE.xyz TRAJ.h5: MDAnalysis reads every frame
        import warnings
        warnings.simplefilter("ignore")  # it cannot guess masses of types "1" and "2"; fine here
        import MDAnalysis as mda
        _, t, nf = traj(args[1])
        u = mda.Universe(args[0])
        assert u.trajectory.n_frames == nf, f"MDAnalysis sees {u.trajectory.n_frames} frames"
        for ts in u.trajectory:
            ref = t["position/value"][ts.frame]
            assert np.allclose(ts.positions, ref, rtol=1e-6, atol=1e-5), f"frame {ts.frame}"
    else:
        sys.exit(f"unknown check {cmd}")

try:
    main(*sys.argv[1:])
except AssertionError as e:
    print(f"check.py {' '.join(sys.argv[1:])}: {e}")
    sys.exit(1)
EOT
nf=$($PY -c "import h5py; print(h5py.File('a/trajectory.h5','r')['particles/trajectory/position/step'].shape[0])")
check "the run wrote 3 frames ($nf)" '[ "$nf" = 3 ]'
all_frames=$(seq 0 $((nf - 1)) | tr '\n' ' ')

for np in 1 2; do
  d=np$np
  mkdir "$d"
  C="$MPI -n $np $B convert"
  $C a/final.data "$d/f.xyz" > /dev/null && $C "$d/f.xyz" "$d/g.data" > /dev/null \
    || { echo "FAIL: $d: data->xyz->data"; fail=1; }
  check "$d: data->xyz->data reproduces final.data" 'cmp -s <(body a/final.data) <(body "$d/g.data")'
  check "$d: data->xyz has one frame of N + 2 lines" '[ "$(wc -l < "$d/f.xyz")" -eq 402 ]'
  $C a/final.data "$d/d.h5" > /dev/null && $C "$d/d.h5" "$d/e.data" > /dev/null \
    || { echo "FAIL: $d: data->h5->data"; fail=1; }
  check "$d: data->h5->data reproduces final.data" 'cmp -s <(body a/final.data) <(body "$d/e.data")'
  check "$d: data->h5 is a one-frame trajectory of the data file" '$PY check.py h5-of-data "$d/d.h5" a/final.data'
  check "$d: basin info reads it" '"$B" info "$d/d.h5" | grep -q "N = 400, 1 frame, steps 0 .. 0"'

  $C a/trajectory.h5 "$d/k1.xyz" --frame 1 > /dev/null \
    && $C a/trajectory.h5 "$d/last.xyz" > /dev/null \
    && $C a/trajectory.h5 "$d/all.xyz" --all > /dev/null \
    && $C a/trajectory.h5 "$d/h1.data" --frame 1 > /dev/null \
    && $C a/trajectory.h5 "$d/hlast.data" > /dev/null \
    && $C "$d/k1.xyz" "$d/k1.data" > /dev/null \
    && $C "$d/all.xyz" "$d/all1.data" --frame 1 > /dev/null \
    || { echo "FAIL: $d: conversions of trajectory.h5"; fail=1; }
  check "$d: h5->xyz --frame 1 = h5py frame 1" '$PY check.py xyz-frames "$d/k1.xyz" a/trajectory.h5 1'
  check "$d: h5->xyz default = the last frame" '$PY check.py xyz-frames "$d/last.xyz" a/trajectory.h5 -1'
  check "$d: h5->xyz --all = every frame ($nf)" '$PY check.py xyz-frames "$d/all.xyz" a/trajectory.h5 $all_frames'
  check "$d: --all writes $nf frames" '[ "$(grep -c "^Lattice=" "$d/all.xyz")" -eq "$nf" ]'
  check "$d: h5->data --frame 1 = h5py frame 1" '$PY check.py data-frame "$d/h1.data" a/trajectory.h5 1'
  check "$d: h5->data = h5->xyz->data" 'cmp -s <(body "$d/h1.data") <(body "$d/k1.data")'
  check "$d: frame 1 of the multi-frame xyz -> data" 'cmp -s <(body "$d/h1.data") <(body "$d/all1.data")'
  check "$d: the last frame is the final state" 'cmp -s <(body a/final.data) <(body "$d/hlast.data")'
done
check "1 and 2 ranks write identical files" 'cmp -s np1/all.xyz np2/all.xyz && cmp -s <(body np1/g.data) <(body np2/g.data)'
check "MDAnalysis reads the multi-frame xyz" '$PY check.py mda np1/all.xyz a/trajectory.h5'

# --kind: the atom types of the data file, checked against the model
"$B" convert np1/f.xyz kind.data --kind glass > /dev/null
check "--kind glass writes 2 atom types" 'grep -q "^2 atom types" kind.data'

bad() { # description, expected text, convert arguments...
  local what=$1 want=$2
  shift 2
  local err rc
  err=$("$B" convert "$@" 2>&1 > /dev/null)
  rc=$?
  check "$what: exit 1, one line ($rc: $err)" \
    '[ $rc -eq 1 ] && [ "$(wc -l <<<"$err")" -eq 1 ] && [[ "$err" == "basin: error: "*"$want"* ]]'
}
head -n 100 np1/f.xyz > trunc.xyz
{ head -n 50 np1/f.xyz; sed -n 51p np1/f.xyz | cut -c1-20 | tr -d "\n"; } > cut.xyz
ln -s a/final.data link.xyz
bad "missing data file" "nothere.data: cannot open" nothere.data x.xyz
bad "missing trajectory" "nothere.h5: no such file" nothere.h5 x.xyz
bad "missing xyz file" "nothere.xyz: cannot open" nothere.xyz x.data
bad "unknown output extension" "x.foo: unknown file extension '.foo'" a/final.data x.foo
bad "unknown input extension" "a.ini: unknown file extension '.ini'" a.ini x.xyz
bad "no extension" "x: no file extension" a/final.data x
bad "OUT == IN" "a/final.data: is the input file a/final.data" a/final.data a/final.data
bad "OUT is IN through a link" "link.xyz: is the input file" a/final.data link.xyz
bad "frame out of range (h5)" "frame $nf out of range: the file has $nf frame(s)" a/trajectory.h5 x.xyz --frame "$nf"
bad "frame out of range (h5->data)" "frame 99 out of range" a/trajectory.h5 x.data --frame 99
bad "frame out of range (xyz)" "frame $nf out of range: the file has $nf frame(s)" np1/all.xyz x.data --frame "$nf"
bad "frame out of range (data)" "a LAMMPS data file holds one frame" a/final.data x.xyz --frame 1
bad "negative frame" "frame -2 out of range" a/trajectory.h5 x.xyz --frame -2
bad "truncated xyz" "trunc.xyz:line 100: file ends after 98 of 400 atom lines of frame 0 (truncated file?)" trunc.xyz x.data
bad "xyz cut mid-line" "the last line is not terminated (truncated file?)" cut.xyz x.data
bad "unsupported pair" "cannot convert H5MD to H5MD" a/trajectory.h5 x.h5
bad "--kind against the types" "has type 2 but the crystal model has 1 species" a/final.data x.xyz --kind crystal
check "failed conversions left no output" '! ls x x.* x.*.tmp > /dev/null 2>&1 && [ -L link.xyz ] && cmp -s a/final.data link.xyz'
err=$("$B" convert a/final.data 2>&1 > /dev/null)
rc=$?
check "one file only: command-line misuse, exit 2 ($rc: $err)" '[ $rc -eq 2 ] && [[ "$err" == "basin: error: command line:convert: "* ]]'
err=$($MPI -n 2 "$B" convert trunc.xyz x.data 2>&1 > /dev/null)
check "2 ranks: one error line, from rank 0" '[ "$(grep -c "^basin: error:" <<<"$err")" -eq 1 ] && [ ! -e x.data ]'
check "basin convert --help" '"$B" convert --help | grep -q "usage: basin convert IN OUT"'
check "basin --help lists convert" '"$B" --help | grep -q "^  convert "'

[ $fail -eq 0 ] && echo "PASS: convert" || exit 1
