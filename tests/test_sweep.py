"""``mlpgradientflow sweep``: the grid from a TOML file, summary and figures, resume, bad
files, and a real Dask cluster (scheduler and two worker processes) that loses a worker."""

from __future__ import annotations

import csv
import importlib.util
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlpgradientflow import cli, parallel
from mlpgradientflow.sweep import COLUMNS, ConfigError, expand, load_config

FIGURES = ["end_states.png", "loss_vs_width.png", "gnorm_hist.png"]
DETAIL = ["loss_curves.png", "spectra.png", "weights.png"]

SMALL = """
[grid]
widths = [1, 3]
seeds = [0, 1]
activations = ["tanh", "softplus"]
n = [200]
[teacher]
widths = [2]
seeds = [7]
[train]
maxiterations_ode = 400
maxiterations_optim = 50
"""


def _rows(out: Path) -> list[dict]:
    with open(out / "summary.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_sweep_on_a_local_pool_writes_summary_and_figures_and_resumes(tmp_path, monkeypatch, capsys):
    cfg = tmp_path / "sweep.toml"
    cfg.write_text(SMALL)
    out = tmp_path / "out"
    assert cli.main(["sweep", str(cfg), "--out", str(out), "--processes", "2", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert str(out.resolve()) in printed and "summary.csv" in printed
    for name in FIGURES + DETAIL + ["summary.md", "summary.json"]:
        assert name in printed and (out / name).stat().st_size > 1000, name

    rows = _rows(out)
    order = list(itertools.product(["tanh", "softplus"], [1, 3], [0, 1]))
    assert [(r["activation"], int(r["width"]), int(r["seed"])) for r in rows] == order
    assert [int(r["run"]) for r in rows] == list(range(8))
    for r in rows:
        assert list(r) == COLUMNS and r["error"] == ""
        assert (r["din"], r["n"], r["teacher_width"], r["teacher_seed"]) == ("2", "200", "2", "7")
        assert r["end_state"] in ("minimum", "saddle", "channel", "not converged")
        critical = r["end_state"] in ("minimum", "saddle")
        assert critical == (float(r["gnorm"]) <= float(r["gtol"]) or float(r["loss"]) < 1e-30)
        if critical:
            counts = [int(r[k]) for k in ("n_negative", "n_zero", "n_positive")]
            assert sum(counts) == int(r["nparams"]) and (counts[0] > 0) == (r["end_state"] == "saddle")
        else:
            assert r["n_negative"] == r["n_zero"] == r["n_positive"] == ""
        assert (r["channel"] != "") == (r["end_state"] == "channel")
        assert float(r["loss"]) >= 0 and float(r["gnorm"]) >= 0 and float(r["time_s"]) > 0
        assert r["ode_stopped_by"] and r["reproducible"] == "True"
    assert {int(r["nparams"]) for r in rows} == {5, 13}
    runs = sorted((out / "runs").glob("run_*.npz"))
    assert len(runs) == 8

    # the same command again: nothing is trained (train would fail), files unchanged
    stamps = {p: p.stat().st_mtime_ns for p in runs}
    summary = (out / "summary.csv").read_text()

    def no_training(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(parallel, "train", no_training)
    t0 = time.perf_counter()
    assert cli.main(["sweep", str(cfg), "--out", str(out), "--processes", "0", "--quiet"]) == 0
    assert time.perf_counter() - t0 < 15
    assert {p: p.stat().st_mtime_ns for p in runs} == stamps
    assert (out / "summary.csv").read_text() == summary

    # another grid in the same folder is refused
    cfg.write_text(SMALL.replace("seeds = [0, 1]", "seeds = [0, 2]"))
    assert cli.main(["sweep", str(cfg), "--out", str(out), "--quiet"]) == 2
    assert "holds a different sweep" in capsys.readouterr().err
    monkeypatch.undo()
    assert cli.main(["sweep", str(cfg), "--out", str(out), "--processes", "0", "--quiet",
                     "--overwrite"]) == 0  # explicitly: start fresh
    assert [int(r["seed"]) for r in _rows(out)][:2] == [0, 2]


def test_run_is_the_sweep_with_the_embedded_configuration(tmp_path, capsys):
    """``mlpgradientflow run`` (make run) goes through the sweep pipeline: the same files,
    the same end states, and each run equals a plain ``train`` call with the same options."""
    import numpy as np

    import mlpgradientflow as mgf
    from mlpgradientflow.sweep import RUN_TRAIN

    args = ["run", "--out", str(tmp_path), "--name", "t", "--n", "300", "--widths", "1", "3",
            "--seeds", "0", "--maxiterations-ode", "1500", "--maxiterations-optim", "200",
            "--processes", "0", "--quiet"]
    assert cli.main(args) == 0
    printed = capsys.readouterr().out
    out = tmp_path / "t"
    assert "| end state |" in printed and f"written to {out.resolve()}" in printed
    for f in ["summary.md", "summary.csv", "summary.json", *FIGURES, *DETAIL,
              "runs/run_00000.npz", "runs/run_00001.npz"]:
        assert (out / f).exists(), f
    rows = json.loads((out / "summary.json").read_text())["rows"]
    assert [r["width"] for r in rows] == [1, 3]
    assert all(r["end_state"] in ("minimum", "saddle") and r["gnorm"] <= r["gtol"] for r in rows)
    res = mgf.load_results(out)
    _, nets, inits, _ = expand(load_config_of(out))
    for r, net, p0 in zip(res, nets, inits):
        ref = mgf.train(net, p0, RUN_TRAIN, maxiterations_ode=1500, maxiterations_optim=200)
        np.testing.assert_array_equal(r.x, ref.x)
        assert r.end_state.kind == ref.end_state.kind
    assert cli.main(args[:-1] + ["--quiet"]) == 0  # the same command again: resumes, same rows
    assert json.loads((out / "summary.json").read_text())["rows"] == rows
    capsys.readouterr()

    # reading it back: a pandas table with the summary's rows, and `show`
    df = mgf.load_sweep(out)
    assert list(df.columns) == COLUMNS and len(df) == 2 and df.attrs["kind"] == "sweep"
    assert df["loss"].tolist() == [r["loss"] for r in rows]
    assert df["channel"].isna().all() and str(df["n_negative"].dtype) == "Int64"
    assert cli.main(["show", str(out)]) == 0
    shown = capsys.readouterr().out
    kinds = {r["end_state"] for r in rows}
    assert "sweep of 2 runs: " in shown and all(k in shown for k in kinds)
    assert f"mgf.load_sweep({str(out)!r})" in shown
    assert cli.main(["show", str(out / "runs" / "run_00001.npz")]) == 0
    assert f"P = {rows[1]['nparams']}" in capsys.readouterr().out
    (out / "summary.json").unlink()  # as after Ctrl-C before the summary: the saved runs
    assert len(mgf.load_sweep(out)) == 2 and mgf.load_sweep(out).attrs["kind"] == "unfinished sweep"
    assert cli.main(["show", str(tmp_path / "nothing")]) == 2
    assert capsys.readouterr().err.strip().endswith("does not exist")


def load_config_of(out: Path):
    """The SweepConfig a folder was written with."""
    from mlpgradientflow.sweep import SweepConfig
    from mlpgradientflow.training import TrainOptions

    d = json.loads((out / "sweep_config.json").read_text())
    train = TrainOptions.from_json(d.pop("train"))
    return SweepConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()},
                       train=train)


def test_expand_shares_nets_and_data(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text("[grid]\nwidths = [2, 3]\nseeds = [0, 1, 2]\nn = [50, 60]\n"
                    '[teacher]\nwidths = [2]\nseeds = [1, 2]\nactivation = "relu"\n')
    runs, nets, inits, teachers = expand(load_config(path))
    assert len(runs) == 2 * 3 * 2 * 2
    assert len({id(n) for n in nets}) == 2 * 2 * 2  # one net per (n, teacher, width)
    assert len({id(t) for t in teachers}) == 2
    assert {n.input.shape for n in nets} == {(50, 2), (60, 2)}
    assert all(t.net.layers[0].activation.name == "relu" for t in teachers)
    assert all(p.shape == (n.nparams,) for n, p in zip(nets, inits))


BASE = "[grid]\nwidths = [1]\nseeds = [0]\n"


@pytest.mark.parametrize("text, message", [
    (BASE + "widht = [2]\n", "[grid]: unknown key 'widht' (did you mean 'widths'?)"),
    (BASE + "[model]\nx = 1\n", "unknown key 'model'"),
    ("[grid]\nwidths = [1]\nseeds = 3\n", "[grid] seeds must be a non-empty list, got 3"),
    ("[grid]\nwidths = [1]\n", "[grid] seeds is required"),
    ("[grid]\nwidths = [0]\nseeds = [0]\n", "[grid] widths must be a list of integers >= 1"),
    ("[grid]\nwidths = [1.5]\nseeds = [0]\n", "[grid] widths must be a list of integers >= 1"),
    (BASE + "n = []\n", "[grid] n must be a non-empty list"),
    (BASE + 'activations = ["tanh", "tnah"]\n', "[grid] activations[1]: unknown activation 'tnah'"),
    (BASE + 'activations = ["softmax"]\n', "softmax is allowed in the output layer only"),
    (BASE + "[teacher]\nactivation = 3\n", "[teacher] activation must be an activation name"),
    (BASE + "[teacher]\nwidth = [2]\n", "[teacher]: unknown key 'width' (did you mean 'widths'?)"),
    (BASE + '[train]\nmin_gnorm = "5"\n', "[train]: option `min_gnorm` must be a number, got '5'"),
    (BASE + "[train]\nmaxiterations_ode = 1e4\n",
     "[train]: option `maxiterations_ode` must be an integer >= 0, got 10000.0"),
    (BASE + "[train]\nmin_gnorm = true\n", "[train]: option `min_gnorm` must be a number, got True"),
    (BASE + "[train]\nmaxtime = 5\n", "[train]: unknown option 'maxtime'"),
    (BASE + "[train]\nmerge = 1\n", "[train]: option `merge` must be (layer, (i, j), strength), got 1"),
    (BASE + '[train]\nalg = "cvode"\n', "[train]: option `alg`: unknown solver 'cvode'"),
    (BASE + "[train]\ntauinv = -1\n", "[train]: option `tauinv` must be"),
    (BASE + "[train]\nbatchsize = 10\n", "[train]: option `batchsize` needs a discrete rule"),
    ("grid = 3\n", "grid must be a table ([grid])"),
    ("data_seed = -1\n" + BASE, "data_seed must be a list of integers >= 0"),
    ("zero_tol = 2\n" + BASE, "option `zero_tol` must be a number in [0, 1), got 2"),
    ("[grid\n", "invalid TOML"),
])
def test_bad_config_files_name_the_key(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value)


def test_cli_reports_bad_files_and_arguments(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(BASE + "[train]\nmaxtime_od = 5\n")
    assert cli.main(["sweep", str(path), "--out", str(tmp_path / "o")]) == 2
    assert "did you mean 'maxtime_ode'?" in capsys.readouterr().err
    assert cli.main(["sweep", str(tmp_path / "missing.toml"), "--out", str(tmp_path / "o")]) == 2
    assert "cannot read the file" in capsys.readouterr().err
    path.write_text(BASE)
    assert cli.main(["sweep", str(path), "--out", str(tmp_path / "o"), "--processes", "-1"]) == 2
    assert "--processes must be >= 0" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    with pytest.raises(SystemExit):  # argparse: one of --scheduler / --processes
        cli.main(["sweep", str(path), "--out", "o", "--processes", "2", "--scheduler", "tcp://x:1"])


# -- a real Dask cluster ----------------------------------------------------------------------
DASK = """
[grid]
widths = [4, 6]
seeds = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]
n = [500]
[teacher]
widths = [3]
[train]
maxiterations_ode = 300
maxiterations_optim = 30
"""


def _start(args: list[str], log: Path, cwd: Path) -> subprocess.Popen:
    cwd.mkdir(exist_ok=True)
    with open(log, "wb") as f:  # a session of its own: killing the group kills the nanny's child
        return subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT, cwd=cwd,
                                start_new_session=True)


def _wait_for(cond, timeout: float, what: str, logs) -> None:
    """Poll for an event (the timeout only guards against a hang; it decides nothing)."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}\n" + logs())
        time.sleep(0.01)


@pytest.mark.skipif(importlib.util.find_spec("distributed") is None,
                    reason="dask.distributed is not installed (pip install 'mlpgradientflow[dask]')")
def test_sweep_on_a_dask_cluster_survives_a_killed_worker(tmp_path):
    from distributed import Client

    py = sys.executable
    (tmp_path / "sweep.toml").write_text(DASK)
    sched_file = tmp_path / "scheduler.json"
    procs: dict[str, subprocess.Popen] = {}

    def logs() -> str:
        return "".join(f"\n--- {p.name}:\n" + p.read_text(errors="replace")[-3000:]
                       for p in sorted(tmp_path.glob("*.log")))

    try:
        procs["scheduler"] = _start(
            [py, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
             "--no-dashboard", "--scheduler-file", str(sched_file)], tmp_path / "scheduler.log",
            tmp_path / "scheduler")
        _wait_for(lambda: sched_file.exists() and sched_file.stat().st_size > 0, 60, "the scheduler", logs)
        address = json.loads(sched_file.read_text())["address"]
        for w in ("worker1", "worker2"):  # in their own folders: run paths must be absolute
            procs[w] = _start([py, "-m", "distributed.cli.dask_worker", address, "--nworkers", "1",
                               "--nthreads", "1", "--no-dashboard"], tmp_path / f"{w}.log", tmp_path / w)
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)

        procs["sweep"] = _start([py, "-m", "mlpgradientflow", "sweep", "sweep.toml", "--out", "out",
                                 "--scheduler", address, "--quiet"], tmp_path / "sweep.log", tmp_path)
        runs = tmp_path / "out" / "runs"
        n_done = lambda: len(list(runs.glob("run_*.npz"))) if runs.exists() else 0  # noqa: E731
        # kill a worker as soon as the first run is saved: 29 runs of real work remain then
        _wait_for(lambda: n_done() >= 1 or procs["sweep"].poll() is not None, 600, "a run", logs)
        assert procs["sweep"].poll() is None, "the sweep ended before its first run was saved"
        os.killpg(procs["worker1"].pid, signal.SIGKILL)  # the worker and its nanny, at once
        procs["worker1"].wait(10)
        assert n_done() < 30

        assert procs["sweep"].wait(900) == 0, logs()
        rows = _rows(tmp_path / "out")
        assert [(int(r["width"]), int(r["seed"])) for r in rows] == list(
            itertools.product([4, 6], range(15)))
        assert all(r["error"] == "" and r["loss"] != "" for r in rows), logs()
        assert n_done() == 30
        for name in FIGURES:
            assert (tmp_path / "out" / name).exists()
    finally:
        for p in procs.values():
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                pass
