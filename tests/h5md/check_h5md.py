#!/usr/bin/python3
"""Checks of basin trajectory files with the readers users have (tests/h5md/*.sh).

    check_h5md.py layout FILE N FRAMES [--min] [--no-velocities]
        h5py: the H5MD 1.1 layout of docs/formats.md (paths, version, creator, box attributes,
        step/time hard links, no unit attributes, dtypes, shapes, chunking, /parameters) and
        every value of the h5md_tool pattern. --min: at least FRAMES frames (kill test),
        counting min(len(step), len(value)) as basin's reader does.
    check_h5md.py mda FILE N FRAMES [--no-velocities]
        MDAnalysis (Universe(FILE, format='H5MD', convert_units=False)): frames, positions,
        velocities, box, time, step and observables equal the pattern.
    check_h5md.py all FILE:N:FRAMES[:novel] ...
        layout and mda for each file, in one interpreter.
    check_h5md.py make-bad GOOD OUTDIR KIND...
        write broken copies OUTDIR/KIND.h5 of GOOD: wrong-n, species-n, no-trajectory,
        position-2d.

The pattern repeats tests/h5md/h5md_tool.c (keep in sync). Exit 0 ok, 1 failure, 77 when the
Python module needed is not installed.
"""
import shutil
import sys

try:
    import numpy as np
    import h5py
except ImportError as e:  # pragma: no cover
    print(f"SKIP: {e}")
    sys.exit(77)

OBS = ["temperature", "potential_energy", "kinetic_energy", "total_energy", "pressure"]


def pat_step(k):
    return 100 * k + 7


def pat_time(k):
    return float(pat_step(k)) * 0.005


def pat_box(k):
    return 10.0 + 0.25 * k


def pat_x(n, k):
    i = np.arange(n, dtype=np.float64)[:, None]
    c = np.arange(3, dtype=np.float64)[None, :]
    return 0.25 * i + 0.125 * c + 0.5 * k


def pat_v(n, k):
    i = np.arange(n, dtype=np.float64)[:, None]
    c = np.arange(3, dtype=np.float64)[None, :]
    return -0.5 * i + c - 0.0625 * k


def pat_image(n, k):
    i = np.arange(n, dtype=np.int64)[:, None]
    c = np.arange(3, dtype=np.int64)[None, :]
    return (i % 5 - 2 + c + k).astype(np.int32)


def pat_species(n):
    return (np.arange(n) >= n // 2).astype(np.int32)


def pat_obs(j, k):
    return 10.0 * k + j + 0.5


failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print(f"FAIL: {msg}")


def text(a):
    return a.decode() if isinstance(a, bytes) else str(a)


def layout(path, n, frames, at_least, vel):
    with h5py.File(path, "r") as f:
        check(list(f["h5md"].attrs["version"]) == [1, 1], "h5md version != [1, 1]")
        check(text(f["h5md/creator"].attrs["name"]) == "basin", "creator name != basin")
        check(len(text(f["h5md/creator"].attrs["version"])) > 0, "creator version empty")
        check(len(text(f["h5md/author"].attrs["name"])) > 0, "author name empty")
        check(list(f["particles"]) == ["trajectory"], f"particles groups {list(f['particles'])}")
        t = f["particles/trajectory"]
        want = {"box", "position", "image", "species", "id"} | ({"velocity"} if vel else set())
        check(set(t) == want, f"trajectory elements {sorted(t)}")
        box = t["box"]
        check(int(box.attrs["dimension"]) == 3, "box dimension != 3")
        check([text(b) for b in box.attrs["boundary"]] == ["periodic"] * 3, "box boundary")
        check(isinstance(box["edges"], h5py.Group), "box/edges is not a time-dependent group")

        pos = t["position"]
        nf = min(len(pos["step"]), len(pos["time"]), pos["value"].shape[0])
        if at_least:
            check(nf >= frames, f"{nf} readable frames, expected at least {frames}")
        else:
            check(nf == frames, f"{nf} frames, expected {frames}")
        step, time = pos["step"], pos["time"]
        check(step.dtype == np.int64 and step.ndim == 1 and step.maxshape == (None,), "step")
        check(time.dtype == np.float64 and time.ndim == 1 and time.maxshape == (None,), "time")
        per_atom = [("position", np.float64), ("image", np.int32)]
        if vel:
            per_atom.append(("velocity", np.float64))
        for name, dt in per_atom:
            v = t[name]["value"]
            check(v.dtype == dt, f"{name} dtype {v.dtype}")
            check(v.ndim == 3 and v.shape[1:] == (n, 3), f"{name} shape {v.shape}")
            check(v.maxshape == (None, n, 3), f"{name} maxshape {v.maxshape}")
            check(v.chunks == (1, n, 3), f"{name} chunks {v.chunks}")
        ev = box["edges/value"]
        check(ev.dtype == np.float64 and ev.shape[1:] == (3, 3), f"edges {ev.shape}")
        # step/time shared by hard links (the spec requires it for box and image)
        others = [box["edges"], t["image"]] + ([t["velocity"]] if vel else [])
        others += [f["observables"][o] for o in OBS]
        for g in others:
            check(g["step"] == pos["step"], f"{g.name}/step is not a hard link to position/step")
            check(g["time"] == pos["time"], f"{g.name}/time is not a hard link to position/time")
        sp, ids = t["species"], t["id"]
        check(isinstance(sp, h5py.Dataset) and sp.shape == (n,) and sp.dtype == np.int32,
              f"species {sp}")
        check(isinstance(ids, h5py.Dataset) and ids.shape == (n,) and ids.dtype == np.int64,
              f"id {ids}")
        check(np.array_equal(ids[()], np.arange(n)), "id != 0..N-1")
        check(np.array_equal(sp[()], pat_species(n)), "species values")

        # no unit attributes anywhere (MDAnalysis would reject reduced units)
        units = []
        f.visititems(lambda name, obj: units.append(name) if "unit" in obj.attrs else None)
        check(not units, f"unit attributes on {units}")

        check(sorted(f["observables"]) == sorted(OBS), f"observables {sorted(f['observables'])}")
        for o in OBS:
            g = f["observables"][o]
            check(isinstance(g, h5py.Group) and g["value"].ndim == 1, f"observable {o} not flat")
        p = f["parameters"]
        check(text(p.attrs["units"]) == "lj", "parameters units != lj")
        for a in ("units_description", "basin_version", "command_line", "nranks"):
            check(a in p.attrs, f"parameters attribute {a} missing")
        check(int(p.attrs["nranks"]) >= 1, "nranks")
        check("config" in p and "[system]" in text(p["config"][()]), "parameters/config")

        for k in range(nf):
            check(step[k] == pat_step(k) and time[k] == pat_time(k), f"frame {k} step/time")
            e = ev[k]
            check(np.array_equal(e, np.diag([pat_box(k)] * 3)), f"frame {k} edges {e}")
            check(np.array_equal(pos["value"][k], pat_x(n, k)), f"frame {k} positions")
            check(np.array_equal(t["image/value"][k], pat_image(n, k)), f"frame {k} images")
            if vel:
                check(np.array_equal(t["velocity/value"][k], pat_v(n, k)), f"frame {k} velocities")
            for j, o in enumerate(OBS):
                check(f["observables"][o]["value"][k] == pat_obs(j, k), f"frame {k} {o}")
    return nf


def mda(path, n, frames, vel):
    try:
        import warnings
        warnings.simplefilter("ignore")
        import MDAnalysis
    except ImportError as e:
        print(f"SKIP: {e}")
        return
    # MDAnalysis 2.4.2 cannot build its minimal topology by itself here: with format='H5MD' it
    # guesses the topology format from the extension (".h5" is unknown), and for ".h5md" it
    # passes convert_units on to parse_n_atoms() (TypeError). Naming the MINIMAL topology and
    # N works in every version; docs/formats.md gives this form.
    try:
        MDAnalysis.Universe(path, format="H5MD", convert_units=False)
        print("note: Universe(path, format='H5MD', convert_units=False) works here")
    except (ValueError, TypeError) as e:
        print(f"note: Universe(path, format='H5MD', convert_units=False) fails in MDAnalysis "
              f"{MDAnalysis.__version__}: {str(e).splitlines()[0]}")
    u = MDAnalysis.Universe(path, format="H5MD", topology_format="MINIMAL", n_atoms=n,
                            convert_units=False)
    check(u.atoms.n_atoms == n, f"MDAnalysis n_atoms {u.atoms.n_atoms}")
    check(u.trajectory.n_frames == frames, f"MDAnalysis n_frames {u.trajectory.n_frames}")
    for ts in u.trajectory:
        k = ts.frame
        # MDAnalysis holds float32: compare with the pattern rounded the same way
        check(np.array_equal(ts.positions, pat_x(n, k).astype(np.float32)),
              f"MDAnalysis frame {k} positions")
        if vel:
            check(np.array_equal(ts.velocities, pat_v(n, k).astype(np.float32)),
                  f"MDAnalysis frame {k} velocities")
        dims = np.array([pat_box(k)] * 3 + [90.0] * 3, dtype=np.float32)
        check(np.allclose(ts.dimensions, dims, rtol=1e-6, atol=1e-4),
              f"MDAnalysis frame {k} dimensions {ts.dimensions}")
        check(ts.time == pat_time(k), f"MDAnalysis frame {k} time {ts.time}")
        check(ts.data["step"] == pat_step(k), f"MDAnalysis frame {k} step {ts.data['step']}")
        for j, o in enumerate(OBS):
            check(ts.data[o] == pat_obs(j, k), f"MDAnalysis frame {k} {o} = {ts.data.get(o)}")
    print(f"MDAnalysis {MDAnalysis.__version__}: {u.trajectory.n_frames} frames of "
          f"{u.atoms.n_atoms} atoms match")


def make_bad(kind, good, out):
    shutil.copyfile(good, out)
    with h5py.File(out, "r+") as f:
        t = f["particles/trajectory"]
        if kind == "wrong-n":
            v = t["velocity/value"]
            shape = (v.shape[0], v.shape[1] + 1, 3)
            del t["velocity/value"]
            t["velocity"].create_dataset("value", shape=shape, dtype="f8")
        elif kind == "species-n":
            n = t["species"].shape[0]
            del t["species"]
            t.create_dataset("species", data=np.zeros(n - 1, dtype=np.int32))
        elif kind == "no-trajectory":
            f.move("particles/trajectory", "particles/all")
        elif kind == "position-2d":
            v = t["position/value"]
            shape = (v.shape[0], v.shape[1] * 3)
            del t["position/value"]
            t["position"].create_dataset("value", shape=shape, dtype="f8")
        else:
            raise SystemExit(f"unknown kind {kind}")


def main(argv):
    vel = "--no-velocities" not in argv
    args = [a for a in argv[1:] if not a.startswith("--")]
    if args[0] == "all":
        # all FILE:N:FRAMES[:novel] ...: layout and MDAnalysis checks of several files at once
        # (one interpreter start: importing MDAnalysis takes seconds)
        for spec in args[1:]:
            p = spec.split(":")
            v = not (len(p) > 3 and p[3] == "novel")
            nf = layout(p[0], int(p[1]), int(p[2]), False, v)
            print(f"h5py {h5py.__version__}: {p[0]}: layout and {nf} frames match")
        for spec in args[1:]:
            p = spec.split(":")
            mda(p[0], int(p[1]), int(p[2]), not (len(p) > 3 and p[3] == "novel"))
    elif args[0] == "layout":
        nf = layout(args[1], int(args[2]), int(args[3]), "--min" in argv, vel)
        if not failures:
            print(f"h5py {h5py.__version__}: layout and {nf} frames of {args[2]} atoms match")
    elif args[0] == "mda":
        mda(args[1], int(args[2]), int(args[3]), vel)
    elif args[0] == "make-bad":
        # make-bad GOOD OUTDIR KIND...: OUTDIR/KIND.h5 for each kind
        for kind in args[3:]:
            make_bad(kind, args[1], f"{args[2]}/{kind}.h5")
    else:
        raise SystemExit(__doc__)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
