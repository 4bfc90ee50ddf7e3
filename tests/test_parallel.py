"""train_many: the same results on every executor, in input order; files, resume, failures."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import mlpgradientflow as mgf

# count budgets (the defaults have no wall-time limits), so results compare bit for bit
OPTS = dict(maxiterations_ode=60, maxiterations_optim=15)


class ExitingNet(mgf.Net):
    """A net whose process dies when evaluated at a marked point (first entry 123.0)."""

    def fg(self, p, **kw):
        if p[0] == 123.0:
            os._exit(3)
        return super().fg(p, **kw)


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 2))
    teacher = mgf.TeacherNet([(3, "softplus", True), (1, "identity", True)], din=2, rng=1)
    net = mgf.Net([(3, "softplus", True), (1, "identity", True)], input=X, target=teacher(X),
                  weights=rng.random(300) + 0.5)
    return net, [net.random_params(s) for s in range(6)]


def _same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert isinstance(x, mgf.TrainResult) and isinstance(y, mgf.TrainResult)
        np.testing.assert_array_equal(x.x, y.x)
        np.testing.assert_array_equal(x.init, y.init)
        assert x.loss == y.loss


def test_process_pool_equals_sequential(problem):
    net, inits = problem
    seq = mgf.train_many(net, inits, progress=False, **OPTS)
    for r, p0 in zip(seq, inits):  # input order
        np.testing.assert_array_equal(r.init, p0)
        assert r.options["maxiterations_ode"] == 60 and r.options["verbosity"] == 0
    _same(mgf.train_many(net, inits, executor=2, progress=False, **OPTS), seq)
    with ThreadPoolExecutor(2) as ex:
        _same(mgf.train_many(net, inits, executor=ex, progress=False, **OPTS), seq)


def test_dask_local_cluster_equals_sequential(problem):
    distributed = pytest.importorskip("distributed")
    net, inits = problem
    seq = mgf.train_many(net, inits, progress=False, **OPTS)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        for _ in range(3):  # repeated calls on one client (scattered data keys must not clash)
            _same(mgf.train_many(net, inits, executor=client, progress=False, **OPTS), seq)


def test_several_nets_and_weights_survive_the_trip(problem):
    net, inits = problem
    other = mgf.Net(net, weights=np.ones(net.n_samples))  # same data, other weights
    nets = [net, other, net, other]
    seq = mgf.train_many(nets, inits[:4], progress=False, **OPTS)
    _same(mgf.train_many(nets, inits[:4], executor=2, progress=False, **OPTS), seq)
    assert seq[0].loss != seq[1].loss or not np.array_equal(seq[0].x, seq[1].x)
    with pytest.raises(ValueError, match="3 nets for 4"):
        mgf.train_many(nets[:3], inits[:4], progress=False)


def test_outdir_saves_and_resumes(problem, tmp_path):
    net, inits = problem
    first = mgf.train_many(net, inits, outdir=tmp_path, progress=False, **OPTS)
    files = sorted((tmp_path / "runs").glob("run_*.npz"))
    assert len(files) == 6 and not list(tmp_path.rglob(".*tmp"))
    stamps = {f.name: f.stat().st_mtime_ns for f in files}
    for i in (1, 4):
        (tmp_path / "runs" / f"run_{i:05d}.npz").unlink()
    again = mgf.train_many(net, inits, outdir=tmp_path, progress=False, **OPTS)
    _same(again, first)
    for f in sorted((tmp_path / "runs").glob("run_*.npz")):
        redone = f.name in ("run_00001.npz", "run_00004.npz")
        assert (f.stat().st_mtime_ns != stamps.get(f.name)) == redone, f.name
    _same(mgf.load_results(tmp_path), first)
    with pytest.raises(ValueError, match="holds runs of another call: 6 runs there, 3 in this"):
        mgf.train_many(net, inits[:3], outdir=tmp_path, progress=False, **OPTS)


def test_a_failing_run_is_reported_and_the_others_finish(problem, tmp_path):
    net, inits = problem
    bad = [inits[0], np.zeros(5), inits[1]]
    for executor in (None, 2):
        res = mgf.train_many(net, bad, executor=executor, outdir=tmp_path / str(executor),
                             progress=False, **OPTS)
        assert isinstance(res[0], mgf.TrainResult) and isinstance(res[2], mgf.TrainResult)
        assert isinstance(res[1], mgf.FailedRun) and "length 13" in res[1].error
        loaded = mgf.load_results(tmp_path / str(executor))
        assert isinstance(loaded[1], mgf.FailedRun) and "length 13" in loaded[1].error


def test_a_dying_worker_is_reported_never_dropped(problem):
    net, inits = problem
    dying = ExitingNet(net)
    marked = inits[2].copy()
    marked[0] = 123.0
    res = mgf.train_many(dying, [inits[0], inits[1], marked, inits[3]], executor=2,
                         progress=False, **OPTS)
    assert len(res) == 4 and all(r is not None for r in res)
    assert isinstance(res[2], mgf.FailedRun) and "worker process died" in res[2].error


def test_bad_executor(problem):
    net, inits = problem
    with pytest.raises(TypeError, match="executor"):
        mgf.train_many(net, inits[:1], executor="threads", progress=False)
    with pytest.raises(ValueError, match="no sweep"):
        mgf.load_results(os.devnull + "_nowhere")
