#!/usr/bin/python3
"""Checkpoint/restart of `basin run` (issue 4 item 3, issue 5 item 2).

Reference: one uninterrupted 2-rank run A of a small glass with in-situ inherent structures.
Every other run must reproduce A:
  * stopped twice (--stop-at-step in the liquid stage, then inside NVE) and continued by the
    same command: trajectory.h5, is.h5 (table and snapshots), thermo.dat rows, final.data
    bit for bit;
  * stopped by SIGTERM sent to the ranks, and by SIGUSR1 sent to mpirun (forwarded): exit 75,
    then continued: bit for bit;
  * killed with SIGKILL at a random moment: continued from the last periodic checkpoint: bit for
    bit (the trajectory and IS rows written after that checkpoint are dropped and redone);
  * the checkpoint of the NVE stop continued on 1 and on 4 ranks: to round-off;
  * a finished run rerun with a longer md.nve_steps: identical to a longer uninterrupted run;
  * IS tracking on or off: the MD trajectory is bit for bit the same.
Bad input: a checkpoint from another configuration, --restart without a checkpoint, a
truncated or non-HDF5 checkpoint: exit 1, one line `basin: error: ...`, nothing modified.
"""
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

try:
    import h5py
except ImportError:
    print("SKIP: python3-h5py missing")
    sys.exit(77)

EXE = os.environ["BASIN_EXE"]
MPI = ["mpirun", "--oversubscribe", "--allow-run-as-root", "--bind-to", "none"]
FAILS = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        FAILS.append(what)


def config(d, nve=400, enabled="true", temperature="0.05"):
    return f"""[system]
kind = glass
natoms = 300
seed = 3
[md]
temperature = {temperature}
t_liquid = 1.0
liquid_steps = 100
equil_steps = 300
nve_steps = {nve}
[output]
dir = {d}
thermo_every = 50
traj_every = 50
checkpoint_every = 100
[inherent]
enabled = {enabled}
every = 0.5
event_threshold = 0.01
"""


def write_cfg(path, d, **kw):
    with open(path, "w") as f:
        f.write(config(d, **kw))


def run(np_, cfg, *args, timeout=600):
    p = subprocess.run(MPI + ["-n", str(np_), EXE, "run", cfg, "--quiet", *args],
                       capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def basin_lines(err):
    return [l for l in err.splitlines() if l.startswith("basin:")]


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def traj_arrays(path):
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and obj.ndim > 0 and not name.startswith("parameters"):
                if name.endswith("seconds"):
                    return  # wall time of a quench: the one column that may differ
                out[name] = obj[()]
        f.visititems(visit)
    return out


def same_arrays(a, b):
    if sorted(a) != sorted(b):
        return False, f"datasets differ: {sorted(set(a) ^ set(b))}"
    for k in a:
        if a[k].shape != b[k].shape or a[k].tobytes() != b[k].tobytes():
            return False, f"{k} differs (shapes {a[k].shape} vs {b[k].shape})"
    return True, f"{len(a)} datasets bitwise equal"


def thermo_rows(d):
    with open(os.path.join(d, "thermo.dat")) as f:
        return [l for l in f if not l.startswith("#")]


def compare_bitwise(ref, d, label):
    for name in ("trajectory.h5", "is.h5"):
        ok, why = same_arrays(traj_arrays(os.path.join(ref, name)),
                              traj_arrays(os.path.join(d, name)))
        check(ok, f"{label}: {name}: {why}")
    check(thermo_rows(ref) == thermo_rows(d), f"{label}: thermo.dat rows identical")
    check(digest(os.path.join(ref, "final.data")) == digest(os.path.join(d, "final.data")),
          f"{label}: final.data identical")


def final_positions(d):
    with h5py.File(os.path.join(d, "trajectory.h5"), "r") as f:
        x = f["particles/trajectory/position/value"][-1]
        img = f["particles/trajectory/image/value"][-1]
        L = f["particles/trajectory/box/edges/value"][-1][0, 0]
    return x + L * img


def wait_for(pred, timeout=300):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if pred():
            return True
        time.sleep(0.05)
    return False


def last_step(d):
    try:
        rows = thermo_rows(d)
        return int(rows[-1].split()[0]) if rows else -1
    except (OSError, ValueError, IndexError):
        return -1


def rank_pids(d):
    """pids of the basin processes of run directory d (the mpirun children)."""
    out = subprocess.run(["pgrep", "-f", f"^{EXE} run {d}/cfg.ini"], capture_output=True,
                         text=True).stdout.split()
    return [int(p) for p in out]


def main():
    top = tempfile.mkdtemp(prefix="basin_restart_")
    try:
        dirs = {}
        for name in ("A", "B", "S", "U", "K", "N", "L", "X"):
            d = os.path.join(top, name)
            os.makedirs(d)
            write_cfg(os.path.join(d, "cfg.ini"), d)
            dirs[name] = d
        A = dirs["A"]
        rc, _, err = run(2, f"{A}/cfg.ini", "--fresh")
        check(rc == 0, f"A: uninterrupted run (rc {rc}) {err[-300:] if rc else ''}")
        with h5py.File(f"{A}/is.h5", "r") as f:
            nq = f["inherent/step"].shape[0]
            nev = int(f["inherent/event"][()].sum())
            nfr = f["particles/trajectory/position/value"].shape[0]
        print(f"A: {nq} quenches, {nev} events, {nfr} IS snapshots")
        check(nq == 5, f"A: 5 quenches in 400 NVE steps every 100 (got {nq})")
        check(os.path.exists(f"{A}/checkpoint.h5"), "A: final checkpoint written")

        # --- `basin rearr` on the real run directory agrees with its is.h5
        with h5py.File(f"{A}/is.h5", "r") as f:
            ev = f["inherent/event"][()]
            dr = f["inherent/dr"][()]
        p = subprocess.run(MPI + ["-n", "2", EXE, "rearr", A], capture_output=True, text=True)
        verdict = [l for l in p.stdout.splitlines() if l.startswith("rearrangements:")]
        want = "Yes" if ev.any() else "No"
        check(p.returncode == 0 and len(verdict) == 1 and verdict[0].split()[1] == want,
              f"rearr: verdict {verdict} (is.h5 has {int(ev.sum())} events)")
        if ev.any():
            k = int(np.nonzero(ev)[0][0])
            p = subprocess.run(MPI + ["-n", "2", EXE, "rearr", A, "--event", "1"],
                               capture_output=True, text=True)
            line = [l for l in p.stdout.splitlines() if l.startswith("from the snapshots:")]
            got = float(line[0].split("|dr_IS| = ")[1].split(",")[0]) if line else float("nan")
            check(p.returncode == 0 and abs(got - dr[k]) <= 1e-5 * dr[k],
                  f"rearr --event 1: |dr_IS| from the snapshots {got} vs table {dr[k]:.6g}")

        # --- `basin modes RUN_DIR` takes the last IS of is.h5
        p = subprocess.run(MPI + ["-n", "2", EXE, "modes", A, "--out", f"{A}/modes.h5"],
                           capture_output=True, text=True)
        check(p.returncode == 0 and os.path.exists(f"{A}/modes.h5") and "is.h5" in p.stdout,
              f"modes RUN_DIR from is.h5 (rc {p.returncode}) {basin_lines(p.stderr)}")

        # --- stopped twice by --stop-at-step, continued by the same command
        B = dirs["B"]
        rc1, _, e1 = run(2, f"{B}/cfg.ini", "--stop-at-step", "150")
        rc2, _, e2 = run(2, f"{B}/cfg.ini", "--stop-at-step", "700")
        check(rc1 == 75 and rc2 == 75, f"B: stops exit 75 (got {rc1}, {rc2}) {e1[-200:]}{e2[-200:]}")
        for n in (1, 4):
            c = os.path.join(top, f"C{n}")
            shutil.copytree(B, c)
            write_cfg(os.path.join(c, "cfg.ini"), c)
        rc, _, err = run(2, f"{B}/cfg.ini")
        check(rc == 0, f"B: continued to the end (rc {rc}) {err[-300:] if rc else ''}")
        compare_bitwise(A, B, "B (2 stops, same ranks)")

        # --- other rank counts: agreement to round-off
        xa = final_positions(A)
        for n in (1, 4):
            c = os.path.join(top, f"C{n}")
            rc, _, err = run(n, f"{c}/cfg.ini")
            check(rc == 0, f"C{n}: continued on {n} rank(s) (rc {rc}) {err[-300:] if rc else ''}")
            if rc == 0:
                dx = np.abs(final_positions(c) - xa).max()
                check(dx < 1e-8, f"C{n}: final positions vs A: max |dx| = {dx:.2e} (< 1e-8)")
                with h5py.File(f"{A}/is.h5", "r") as fa, h5py.File(f"{c}/is.h5", "r") as fc:
                    sa, sc = fa["inherent/step"][()], fc["inherent/step"][()]
                    pa, pc = fa["inherent/phi"][()], fc["inherent/phi"][()]
                    ea, ec = fa["inherent/event"][()], fc["inherent/event"][()]
                check(np.array_equal(sa, sc) and np.array_equal(ea, ec),
                      f"C{n}: same IS samples and events")
                if np.array_equal(sa, sc):
                    dphi = np.abs(pa - pc).max() / np.abs(pa).max()
                    check(dphi < 1e-9, f"C{n}: Phi_IS vs A: max rel diff {dphi:.1e} (< 1e-9)")

        # --- signals: SIGTERM to the ranks, SIGUSR1 to mpirun
        for name, sig, to_mpirun in (("S", signal.SIGTERM, False), ("U", signal.SIGUSR1, True)):
            d = dirs[name]
            p = subprocess.Popen(MPI + ["-n", "2", EXE, "run", f"{d}/cfg.ini", "--quiet"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            reached = wait_for(lambda: last_step(d) >= 600 or p.poll() is not None)
            if p.poll() is None and reached:
                if to_mpirun:
                    p.send_signal(sig)
                else:
                    for pid in rank_pids(d):
                        os.kill(pid, sig)
            out, err = p.communicate(timeout=600)
            check(p.returncode == 75,
                  f"{name}: {signal.Signals(sig).name} -> exit 75 (got {p.returncode}) {err[-300:]}")
            rc, _, err = run(2, f"{d}/cfg.ini")
            check(rc == 0, f"{name}: continued (rc {rc}) {err[-300:] if rc else ''}")
            compare_bitwise(A, d, f"{name} ({signal.Signals(sig).name})")

        # --- the SLURM job script: SIGUSR1 to the batch shell is forwarded, basin stops with
        # 75 (no SLURM here, so no requeue), and a second start completes the run
        Q = os.path.join(top, "Q")
        os.makedirs(Q)
        write_cfg(f"{Q}/cfg.ini", Q)
        script = os.path.join(os.environ.get("BASIN_SOURCE_ROOT", "."), "jobs/slurm/run.sbatch")
        env = dict(os.environ, BASIN=EXE)
        env.pop("SLURM_JOB_ID", None)
        env["OMPI_MCA_rmaps_base_oversubscribe"] = "1"
        p = subprocess.Popen(["bash", script, f"{Q}/cfg.ini"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        reached = wait_for(lambda: last_step(Q) >= 600 or p.poll() is not None)
        if reached and p.poll() is None:
            p.send_signal(signal.SIGUSR1)
        out, _ = p.communicate(timeout=600)
        check(p.returncode == 75 and "basin exited with 75" in out,
              f"Q: jobs/slurm/run.sbatch forwards SIGUSR1 -> exit 75 (got {p.returncode})"
              + ("" if p.returncode == 75 else out[-400:]))
        p = subprocess.run(["bash", script, f"{Q}/cfg.ini"], env=env, capture_output=True,
                           text=True, timeout=600)
        check(p.returncode == 0, f"Q: second start of the job script completes (rc {p.returncode})")
        if p.returncode == 0:
            dx = np.abs(final_positions(Q) - final_positions(A)).max()
            check(dx < 1e-8, f"Q: final positions vs A: max |dx| = {dx:.2e}")

        # --- --walltime: stops itself with a checkpoint well before the budget is spent
        W = os.path.join(top, "W")
        os.makedirs(W)
        write_cfg(f"{W}/cfg.ini", W)
        t0 = time.time()
        rc, _, err = run(2, f"{W}/cfg.ini", "--walltime", "0:06")
        spent = time.time() - t0
        check(rc == 75 and os.path.exists(f"{W}/checkpoint.h5") and spent < 6 + 5,
              f"W: --walltime 0:06 -> exit 75 after {spent:.1f} s with a checkpoint (rc {rc})")
        rc, _, err = run(2, f"{W}/cfg.ini")
        check(rc == 0, f"W: continued (rc {rc})")
        compare_bitwise(A, W, "W (--walltime)")

        # --- SIGKILL at some moment after the NVE stage began
        K = dirs["K"]
        p = subprocess.Popen(MPI + ["-n", "2", EXE, "run", f"{K}/cfg.ini", "--quiet"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: last_step(K) >= 650 or p.poll() is not None)
        killed_at = last_step(K)
        for pid in rank_pids(K):
            os.kill(pid, signal.SIGKILL)
        p.kill()
        p.wait()
        print(f"K: killed after step {killed_at}")
        # a kill in the middle of a checkpoint write leaves a partial temporary file next to
        # the last complete checkpoint: the restart must ignore it (and later replace it)
        with open(f"{K}/checkpoint.h5.tmp", "wb") as f:
            f.write(b"\x89HDF\r\n\x1a\n partial write")
        rc, _, err = run(2, f"{K}/cfg.ini")
        check(rc == 0, f"K: continued after kill -9 (rc {rc}) {err[-300:] if rc else ''}")
        compare_bitwise(A, K, "K (kill -9)")

        # --- IS tracking off: same MD trajectory
        N = dirs["N"]
        write_cfg(f"{N}/cfg.ini", N, enabled="false")
        rc, _, err = run(2, f"{N}/cfg.ini")
        check(rc == 0, f"N: run without IS tracking (rc {rc})")
        ta, tn = traj_arrays(f"{A}/trajectory.h5"), traj_arrays(f"{N}/trajectory.h5")
        ok, why = same_arrays(ta, tn)
        check(ok, f"N: MD trajectory with IS tracking off vs on: {why}")
        check(not os.path.exists(f"{N}/is.h5"), "N: no is.h5 without tracking")

        # --- inherent.verify = sd: same MD and IS; every "event" (a threshold of 1e-300 makes
        # every sample after the first one) is re-quenched by steepest descent
        V = os.path.join(top, "V")
        os.makedirs(V)
        with open(f"{V}/cfg.ini", "w") as f:
            f.write(config(V).replace("event_threshold = 0.01", "event_threshold = 1e-300")
                    + "verify = sd\n")
        rc, _, err = run(2, f"{V}/cfg.ini")
        check(rc == 0, f"V: run with inherent.verify = sd (rc {rc}) {err[-300:] if rc else ''}")
        ok, why = same_arrays(traj_arrays(f"{A}/trajectory.h5"), traj_arrays(f"{V}/trajectory.h5"))
        check(ok, f"V: MD trajectory with verification vs A: {why}")
        with h5py.File(f"{A}/is.h5", "r") as fa, h5py.File(f"{V}/is.h5", "r") as fv:
            g = fv["inherent"]
            ev, sdd, sde, sdn = (g[k][()] for k in ("event", "sd_dr", "sd_event", "sd_evals"))
            same_phi = np.array_equal(fa["inherent/phi"][()], g["phi"][()])
            na = fa["inherent/sd_event"][()]
        check(same_phi, "V: Phi_IS column equals A's")
        check(bool(np.all(na == -1)), "V: A (verify off) has sd_event = -1 everywhere")
        check(ev[0] == 0 and sde[0] == -1 and sdd[0] == -1.0 and sdn[0] == 0,
              f"V: first sample not verified ({ev[0]}, {sde[0]}, {sdd[0]}, {sdn[0]})")
        check(bool(np.all(ev[1:] == 1) and np.all(sde[1:] == 1) and np.all(sdd[1:] > 0)
                   and np.all(sdn[1:] > 0)),
              f"V: every later sample verified (sd_event {sde.tolist()}, sd_evals {sdn.tolist()})")

        # --- extend a finished run: equals a longer uninterrupted run
        L = dirs["L"]
        write_cfg(f"{L}/cfg.ini", L, nve=500)
        rc, _, _ = run(2, f"{L}/cfg.ini")
        E = os.path.join(top, "E")
        shutil.copytree(A, E)
        write_cfg(f"{E}/cfg.ini", E, nve=500)
        rc2, _, err = run(2, f"{E}/cfg.ini")
        check(rc == 0 and rc2 == 0, f"E: finished run extended to 500 NVE steps (rc {rc}, {rc2}) {err[-300:]}")
        compare_bitwise(L, E, "E (extended finished run)")
        # rerunning a finished run changes nothing
        before = traj_arrays(f"{A}/trajectory.h5")
        rc, _, _ = run(2, f"{A}/cfg.ini")
        ok, why = same_arrays(before, traj_arrays(f"{A}/trajectory.h5"))
        check(rc == 0 and ok, f"A rerun: nothing to do, trajectory unchanged ({why})")

        # --- a crystal without thermostat (the chain never runs): stop + continue, bitwise
        cr = {}
        for name, stop in (("CR0", None), ("CR1", "150")):
            d = os.path.join(top, name)
            os.makedirs(d)
            with open(f"{d}/cfg.ini", "w") as f:
                f.write(f"[system]\nkind = crystal\nnatoms = 256\n[md]\ntemperature = 0.02\n"
                        f"equil_steps = 100\nnve_steps = 200\n[thermostat]\nkind = none\n"
                        f"[output]\ndir = {d}\ntraj_every = 50\ncheckpoint_every = 0\n")
            if stop:
                rc, _, err = run(2, f"{d}/cfg.ini", "--stop-at-step", stop)
                check(rc == 75, f"{name}: crystal, thermostat none: stop (rc {rc}) {err[-200:]}")
            rc, _, err = run(2, f"{d}/cfg.ini")
            check(rc == 0, f"{name}: crystal, thermostat none: run (rc {rc}) {err[-300:]}")
            cr[name] = d
        ok, why = same_arrays(traj_arrays(f"{cr['CR0']}/trajectory.h5"),
                              traj_arrays(f"{cr['CR1']}/trajectory.h5"))
        check(ok and digest(f"{cr['CR0']}/final.data") == digest(f"{cr['CR1']}/final.data"),
              f"CR: crystal NVE-only restart bitwise: {why}")

        # --- bad input: nothing modified, one line, exit 1
        X = dirs["X"]
        shutil.copy(f"{B}/cfg.ini", f"{X}/cfg.ini")
        write_cfg(f"{X}/cfg.ini", X)
        rc, _, _ = run(2, f"{X}/cfg.ini", "--stop-at-step", "700")
        check(rc == 75, "X: stopped run for the bad-input cases")
        snap = {f: digest(f"{X}/{f}") for f in ("checkpoint.h5", "trajectory.h5", "is.h5",
                                                  "thermo.dat")}
        write_cfg(f"{X}/other.ini", X, temperature="0.06")
        rc, _, err = run(2, f"{X}/other.ini")
        lines = basin_lines(err)
        check(rc == 1 and len(lines) == 1 and "another configuration" in lines[0]
              and "md.temperature" in lines[0], f"X: other config refused: {lines}")
        check(snap == {f: digest(f"{X}/{f}") for f in snap}, "X: nothing modified by the refusal")
        empty = os.path.join(top, "empty")
        os.makedirs(empty)
        write_cfg(f"{empty}/cfg.ini", empty)
        rc, _, err = run(2, f"{empty}/cfg.ini", "--restart")
        lines = basin_lines(err)
        check(rc == 1 and len(lines) == 1 and "no checkpoint" in lines[0],
              f"--restart without checkpoint: {lines}")
        for what, data in (("truncated", None), ("not HDF5", b"this is not an HDF5 file\n" * 10)):
            shutil.copy(f"{X}/checkpoint.h5", f"{X}/good.h5")
            if data is None:
                with open(f"{X}/checkpoint.h5", "r+b") as f:
                    f.truncate(os.path.getsize(f"{X}/checkpoint.h5") // 2)
            else:
                with open(f"{X}/checkpoint.h5", "wb") as f:
                    f.write(data)
            bad = digest(f"{X}/checkpoint.h5")
            rc, _, err = run(2, f"{X}/cfg.ini")
            lines = basin_lines(err)
            check(rc == 1 and len(lines) == 1 and "checkpoint.h5" in lines[0],
                  f"{what} checkpoint: {lines}")
            check(bad == digest(f"{X}/checkpoint.h5") and
                  snap["trajectory.h5"] == digest(f"{X}/trajectory.h5"),
                  f"{what} checkpoint: nothing modified")
            shutil.move(f"{X}/good.h5", f"{X}/checkpoint.h5")
    finally:
        shutil.rmtree(top, ignore_errors=True)
    print(f"{'FAIL' if FAILS else 'PASS'}: md_restart ({len(FAILS)} failed checks)")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
