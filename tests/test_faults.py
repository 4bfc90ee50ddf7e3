"""Fault injection: Ctrl-C at random points of many runs on every executor, a second sweep
into a busy folder, stale locks, resumes with altered data or files, a full disk, failing
flows. Every fault ends in a result that says what happened, never in someone else's or a
half-finished result handed back as done."""

from __future__ import annotations

import errno
import os
import re
import signal
import stat
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import mlpgradientflow as mgf
from mlpgradientflow.storage import FolderLocked, ResumeError

OPTS = dict(maxiterations_ode=600, maxiterations_optim=50)
SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import mlpgradientflow as mgf

    def problem():
        X = np.random.default_rng(0).standard_normal((3000, 2))
        t = mgf.TeacherNet([(4, "softplus", True), (1, "identity", True)], din=2, rng=1)
        net = mgf.Net([(6, "softplus", True), (1, "identity", True)], input=X, target=t(X))
        return net, [net.random_params(s) for s in range(6)]

    if __name__ == "__main__":
        out, where = sys.argv[1], sys.argv[2]
        net, inits = problem()
        opts = dict(maxiterations_ode=600, maxiterations_optim=50)
        if where == "dask":
            from distributed import Client, LocalCluster
            with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                              dashboard_address=None) as cluster, Client(cluster) as client:
                print("ready", flush=True)
                res = mgf.train_many(net, inits, client, out, progress=False, **opts)
        else:
            print("ready", flush=True)
            res = mgf.train_many(net, inits, None if where == "none" else 2, out,
                                 progress=False, **opts)
        kinds = ["failed" if isinstance(r, mgf.FailedRun) else
                 "interrupted" if r.interrupted else "done" for r in res]
        print("RESULT " + " ".join(kinds), flush=True)
""")


@pytest.fixture(scope="module")
def script(tmp_path_factory):
    path = tmp_path_factory.mktemp("faults") / "many.py"
    path.write_text(SCRIPT)
    return path


@pytest.fixture(scope="module")
def reference(script):
    """The uninterrupted results (any executor gives the same bits)."""
    sys.path.insert(0, str(script.parent))
    try:
        import many
    finally:
        sys.path.pop(0)
    net, inits = many.problem()
    return net, inits, mgf.train_many(net, inits, progress=False, **OPTS)


def _wait(cond, what: str, timeout: float = 600) -> None:
    """Await an event (the timeout only guards against a hang)."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


@pytest.mark.parametrize("where, delay", [("none", 0.0), ("none", 0.7), ("processes", 0.0),
                                          ("processes", 0.4), ("dask", 0.2)])
def test_ctrl_c_stops_everything_and_a_resume_finishes_the_same(script, reference, tmp_path,
                                                                where, delay):
    if where == "dask":
        pytest.importorskip("distributed")
    net, inits, ref = reference
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, str(script), str(out), where],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    runs = out / "runs"
    _wait(lambda: runs.exists() and any(runs.glob("run_*.npz")) or proc.poll() is not None,
          "a first finished run")
    time.sleep(delay)  # a random point of the sweep; every point must be handled
    proc.send_signal(signal.SIGINT)
    t0 = time.monotonic()
    stdout, stderr = proc.communicate(timeout=120)
    assert time.monotonic() - t0 < 30, "Ctrl-C took too long to stop the runs"
    assert proc.returncode == 0, stderr
    kinds = stdout.split("RESULT ")[1].split()
    # runs take ~1 s: the signal lands while at least three of the six remain
    assert len(kinds) == 6 and "done" in kinds and kinds.count("done") <= 4, kinds
    assert "interrupted:" in stderr
    for i, k in enumerate(kinds):
        finished = (runs / f"run_{i:05d}.npz").exists()
        assert finished == (k == "done"), (i, k)  # an interrupted run is never saved as done
        assert (runs / f"run_{i:05d}.interrupted.npz").exists() == (k == "interrupted")
        if k == "done":  # what was saved is the uninterrupted result
            assert mgf.load_result(runs / f"run_{i:05d}.npz").x.tobytes() == ref[i].x.tobytes()
    assert not (out / ".lock").exists() and not list(out.rglob(".*.tmp"))
    resumed = mgf.train_many(net, inits, outdir=out, progress=False, **OPTS)
    for a, b in zip(resumed, ref):
        assert a.x.tobytes() == b.x.tobytes() and not a.interrupted


def test_ctrl_c_in_a_sweep_exits_130_and_the_rerun_completes(tmp_path):
    cfg = tmp_path / "sweep.toml"
    cfg.write_text("[grid]\nwidths = [4, 6]\nseeds = [0, 1, 2]\nn = [3000]\n"
                   "[train]\nmaxiterations_ode = 600\nmaxiterations_optim = 50\n")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "mlpgradientflow", "sweep", str(cfg), "--out", str(out),
           "--processes", "0", "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    runs = out / "runs"
    _wait(lambda: runs.exists() and any(runs.glob("run_*.npz")) or proc.poll() is not None,
          "a first run")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "the same command again resumes" in err, err
    assert not (out / "summary.csv").exists()
    assert subprocess.run(cmd, capture_output=True, text=True, timeout=600).returncode == 0
    assert len(list(runs.glob("run_*.npz"))) == 6 and (out / "summary.csv").exists()


# -- the folder: locks and fingerprints ----------------------------------------------------
@pytest.fixture
def small():
    X = np.random.default_rng(0).standard_normal((200, 2))
    teacher = mgf.TeacherNet([(2, "tanh", True), (1, "identity", True)], din=2, rng=1)
    net = mgf.Net([(2, "tanh", True), (1, "identity", True)], input=X, target=teacher(X),
                  weights=np.linspace(0.5, 1.5, 200))
    return net, [net.random_params(s) for s in range(3)]


QUICK = dict(maxiterations_ode=100, maxiterations_optim=10, progress=False)


def test_a_second_process_cannot_work_in_a_busy_folder(small, tmp_path):
    net, inits = small
    lock = tmp_path / ".lock"
    holder = subprocess.Popen([sys.executable, "-c",
                               f"import os, json, time; open({str(lock)!r}, 'x').write(json.dumps("
                               "{'host': os.uname().nodename, 'pid': os.getpid(), 'started': "
                               "time.time(), 'command': 'holder'})); print('held', flush=True); "
                               "time.sleep(600)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(FolderLocked, match=f"in use by process {holder.pid} .*'holder'"):
            mgf.train_many(net, inits, outdir=tmp_path, **QUICK)
    finally:
        holder.kill()
        holder.wait()
    with pytest.warns(UserWarning, match="stale lock"):  # its owner is gone now
        res = mgf.train_many(net, inits, outdir=tmp_path, **QUICK)
    assert all(isinstance(r, mgf.TrainResult) for r in res) and not lock.exists()


@pytest.mark.parametrize("change, message", [
    ("target", "data (input, target or sample weights) differ"),
    ("weights", "data (input, target or sample weights) differ"),
    ("layers", "architecture"),
    ("init", "initial point differ"),
    ("options", "training options differ"),
])
def test_a_resume_with_altered_data_is_refused_with_what_differs(small, tmp_path, change, message):
    net, inits = small
    mgf.train_many(net, inits, outdir=tmp_path, **QUICK)
    kw = dict(QUICK)
    if change == "target":
        net = mgf.Net(net, target=net.target + 1e-12)
    elif change == "weights":
        net = mgf.Net(net, weights=net.weights[::-1])
    elif change == "layers":
        net = mgf.Net([(2, "softplus", True), (1, "identity", True)], input=net.input,
                      target=net.target, weights=net.weights)
    elif change == "init":
        inits = [inits[0], inits[1] + 1e-9, inits[2]]
    else:
        kw["maxiterations_ode"] = 101
    with pytest.raises(ResumeError, match=re.escape(message)):
        mgf.train_many(net, inits, outdir=tmp_path, **kw)
    fresh = mgf.train_many(net, inits, outdir=tmp_path, overwrite=True, **kw)
    assert all(isinstance(r, mgf.TrainResult) for r in fresh)
    again = mgf.train_many(net, inits, outdir=tmp_path, **kw)  # the folder is now this call's
    assert [r.x.tobytes() for r in again] == [r.x.tobytes() for r in fresh]


def test_a_run_file_copied_in_from_another_run_is_refused(small, tmp_path):
    net, inits = small
    mgf.train_many(net, inits, outdir=tmp_path, **QUICK)
    runs = tmp_path / "runs"
    (runs / "run_00002.npz").write_bytes((runs / "run_00001.npz").read_bytes())
    with pytest.raises(ResumeError, match="run_00002.npz does not belong to this call"):
        mgf.train_many(net, inits, outdir=tmp_path, **QUICK)


def test_a_damaged_run_file_is_trained_again(small, tmp_path):
    net, inits = small
    first = mgf.train_many(net, inits, outdir=tmp_path, **QUICK)
    (tmp_path / "runs" / "run_00001.npz").write_bytes(b"garbage")
    again = mgf.train_many(net, inits, outdir=tmp_path, **QUICK)
    assert again[1].x.tobytes() == first[1].x.tobytes()


def test_files_follow_the_umask(small, tmp_path):
    net, inits = small
    old = os.umask(0o027)
    try:
        mgf.train_many(net, inits[:1], outdir=tmp_path, **QUICK)
    finally:
        os.umask(old)
    for f in [tmp_path / "sweep.json", *sorted((tmp_path / "runs").iterdir())]:
        assert stat.S_IMODE(f.stat().st_mode) == 0o640, f


def test_a_full_disk_keeps_the_results_in_memory_and_says_which_files(small, tmp_path,
                                                                      monkeypatch):
    net, inits = small
    from mlpgradientflow.training import result

    def full(path, write):
        raise OSError(errno.ENOSPC, "No space left on device")

    ref = mgf.train_many(net, inits, **QUICK)
    mgf.train_many(net, inits[:0], outdir=tmp_path, **QUICK)  # the folder itself is writable
    monkeypatch.setattr(result, "atomic_write", full)
    with pytest.warns(UserWarning, match="3 run files could not be written .*No space left"):
        res = mgf.train_many(net, inits, outdir=tmp_path / "full", **QUICK)
    assert [r.x.tobytes() for r in res] == [r.x.tobytes() for r in ref]
    assert all("No space left on device" in r.info["save_error"] for r in res)
    assert not list((tmp_path / "full" / "runs").glob("run_*"))


def test_the_sweep_reports_files_it_could_not_write(tmp_path, monkeypatch, capsys):
    from mlpgradientflow import cli
    from mlpgradientflow.sweep import run as sweep_run

    def full(path, text):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sweep_run, "write_text", full)
    cfg = tmp_path / "s.toml"
    cfg.write_text("[grid]\nwidths = [1]\nseeds = [0]\nn = [100]\n[train]\nmaxiterations_ode = 50\n")
    assert cli.main(["sweep", str(cfg), "--out", str(tmp_path / "o"), "--processes", "0",
                     "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "3 files could not be written" in err and "summary.csv: No space left" in err


# -- failing flows ------------------------------------------------------------------------
@pytest.mark.parametrize("kw", [dict(alg="radau", tauinv=1e300), dict(tauinv=1e300),
                                dict(alg=mgf.training.solvers.RK4(dt=1e3, adaptive=False)),
                                dict(alg="rk4", tauinv=1e300),
                                dict(alg=mgf.Descent(1e3))])
def test_a_failing_flow_ends_as_failed_with_the_best_finite_point(small, kw, capfd):
    net, _ = small
    p0 = net.random_params(0)
    res = mgf.train(net, p0, maxiterations_ode=50, maxiterations_optim=0, verbosity=0, **kw)
    assert res.ode_stopped_by.startswith("failed: ") and res.ode.message, res.ode
    assert np.isfinite(res.x).all() and res.loss <= net.loss(p0)
    assert capfd.readouterr().out == ""  # nothing raw on the terminal


def test_cvode_failure_lines_are_captured_into_the_record(capfd):
    """CVODE prints its failures; they land in the phase's message, not on stdout."""
    X = np.random.default_rng(0).standard_normal((2000, 2))
    teacher = mgf.TeacherNet([(4, "softplus", True), (1, "identity", True)], din=2,
                             params=np.random.default_rng(100).standard_normal(17))
    net = mgf.Net([(4, "softplus", True), (1, "identity", True)], input=X, target=teacher(X))
    res = mgf.train(net, net.random_params(1), min_gnorm=0.0, maxiterations_optim=0,
                    verbosity=0, stop_on_channel=False)
    assert capfd.readouterr().out == ""
    if res.ode_stopped_by == "solver failure":
        assert "cvode" in res.ode.message and "Error" in res.ode.message
