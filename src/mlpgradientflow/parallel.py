"""Many training runs: sequentially, on a local process pool, any Executor, or a Dask cluster.

The papers' statistics come from thousands of runs. :func:`train_many` runs one
:func:`~mlpgradientflow.train` per initial point and returns the results in input order,
whatever the order in which they finish. Each task is a pure function of (net, init,
options); the nets (with their data) travel to each worker once: through the process
pool's initializer, or ``Client.scatter(..., broadcast=True)`` on Dask.

With ``outdir`` every finished run is saved at once, atomically
(``outdir/runs/run_00000.npz``, a :class:`~mlpgradientflow.TrainResult` whose ``info``
holds the run's index and options); calling again with the same arguments skips what is
done and computes only the missing runs, so a killed job loses nothing.
``load_results(outdir)`` gathers a sweep back, in order.

Failures are never dropped silently: a run that raises comes back as a :class:`FailedRun`
with its error and traceback (and ``run_00000.failed.json`` in ``outdir``; it is retried
on the next call). A local worker process that dies breaks the pool: its runs and the
ones still queued are reported as FailedRun ("worker process died"). Dask reschedules the
tasks of a lost worker on the others by itself.
"""

from __future__ import annotations

import copy
import json
import os
import sys
import time
import traceback
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from .io import write_json
from .training import DEFAULTS, TrainOptions, load_result, train

__all__ = ["train_many", "load_results", "FailedRun"]


@dataclass
class FailedRun:
    """A run that did not produce a result: its index, the error and the traceback."""

    index: int
    error: str
    traceback: str = ""
    failed: bool = field(default=True, init=False)

    def __repr__(self) -> str:
        return f"FailedRun(index={self.index}, error={self.error!r})"


# -- the task (runs in the worker) ------------------------------------------------------
_NETS: list = []  # a local pool worker's nets, set once by _init_worker


def _init_worker(nets: list, blas_threads: int) -> None:
    from threadpoolctl import threadpool_limits

    global _NETS
    _NETS = nets
    threadpool_limits(limits=blas_threads)


def _run(index: int, net, init, options: TrainOptions, path: str | None):
    """Train one run; save it when ``path`` is given. Never raises: failures come back."""
    if isinstance(net, int):
        net = _NETS[net]
    try:
        res = train(net, init, options)
        res.info["run_index"] = index
        if path:
            res.save(path)
            failed = Path(path).with_suffix(".failed.json")
            if failed.exists():
                failed.unlink()
        return res
    except Exception as err:  # a failing run must not take the sweep down
        out = FailedRun(index, f"{type(err).__name__}: {err}", traceback.format_exc())
        if path:
            write_json(Path(path).with_suffix(".failed.json"), {"index": index, "error": out.error,
                                                                "traceback": out.traceback})
        return out


# -- the driver -----------------------------------------------------------------------------
#: the default options of every run: the package defaults, without progress lines
QUIET = DEFAULTS.replace(verbosity=0)


def train_many(
    net,
    inits: Sequence,
    executor=None,
    outdir: str | os.PathLike | None = None,
    *,
    options: TrainOptions | None = None,
    progress: bool = True,
    blas_threads: int = 1,
    **train_options,
) -> list:
    """Train from every initial point; results (or :class:`FailedRun`) in input order.

    Parameters
    ----------
    net : Net-like, or a sequence of them
        One net for all runs, or one net per initial point (``(net, init)`` pairs); each
        distinct net is shipped to each worker once.
    inits : sequence of arrays (P,)
        The initial points.
    executor : None, "processes", int, concurrent.futures.Executor, or dask Client
        ``None``: one after the other in this process. ``"processes"`` or an int: a local
        process pool (all cores, or that many), each worker with ``blas_threads`` BLAS
        threads. An Executor: its ``submit``, with a fresh copy of the net per task (nets
        travel with every task; thread pools are safe). A
        ``dask.distributed.Client`` (the ``dask`` extra): nets scattered to all workers once;
        works the same on a laptop's ``LocalCluster`` and on a SLURM cluster through
        dask-jobqueue.
    outdir : path, optional
        Save each run as it finishes and skip finished runs when called again (see the
        module docstring). The call's number of runs and options are written to
        ``outdir/sweep.json``; a different call on the same folder is an error.
    options : TrainOptions, optional
        The options of every :func:`~mlpgradientflow.train` call (default: the package
        defaults with ``verbosity=0``), updated by ``train_options``.
    progress : bool
        A progress bar over runs (tqdm when installed, else a line every few seconds).
    **train_options
        Keyword options of :func:`~mlpgradientflow.train`, passed to every call.

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> X = np.random.default_rng(0).standard_normal((200, 2))
    >>> net = mgf.Net([(2, "tanh", True), (1, "identity", True)], input=X, target=X[:, :1] ** 2)
    >>> res = mgf.train_many(net, [net.random_params(s) for s in range(3)], progress=False,
    ...                      maxiterations_ode=500, maxiterations_optim=100)
    >>> [type(r).__name__ for r in res]
    ['TrainResult', 'TrainResult', 'TrainResult']
    """
    nets, keys = _distinct(net, len(inits))
    options = TrainOptions.make(QUIET if options is None else options, **train_options)
    paths = _prepare_outdir(outdir, len(inits), options)
    results: list = [None] * len(inits)
    todo = []
    for i in range(len(inits)):
        if paths and _done(paths[i]):
            results[i] = load_result(paths[i])
        else:
            todo.append(i)
    bar = _Progress(len(inits), len(inits) - len(todo), progress)
    try:
        for i, res in _execute(executor, nets, keys, inits, todo, options, paths, blas_threads):
            results[i] = res
            bar.update(isinstance(res, FailedRun))
    finally:
        bar.close()
    return results


def _distinct(net, n: int):
    """The distinct nets and, per run, the index of its net."""
    if isinstance(net, Sequence) and not hasattr(net, "nparams"):
        if len(net) != n:
            raise ValueError(f"argument `net`: {len(net)} nets for {n} initial points")
        nets, keys, seen = [], [], {}
        for x in net:
            if id(x) not in seen:
                seen[id(x)] = len(nets)
                nets.append(x)
            keys.append(seen[id(x)])
        return nets, keys
    return [net], [0] * n


def _execute(executor, nets, keys, inits, todo, options, paths, blas_threads):
    """Yield ``(index, result)`` as runs finish."""
    path = (lambda i: str(paths[i])) if paths else (lambda i: None)
    if executor is None:
        for i in todo:
            yield i, _run(i, nets[keys[i]], inits[i], options, path(i))
        return
    if _is_dask_client(executor):
        yield from _dask(executor, nets, keys, inits, todo, options, path)
        return
    if executor == "processes" or isinstance(executor, int) and not isinstance(executor, bool):
        workers = os.cpu_count() if executor == "processes" else int(executor)
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=_context(),
                                   initializer=_init_worker, initargs=(nets, blas_threads))
        with pool:
            futures = {pool.submit(_run, i, keys[i], inits[i], options, path(i)): i for i in todo}
            yield from _collect(futures)
        return
    if isinstance(executor, Executor):
        # A net's workspaces are scratch memory: threads must not share them. A shallow copy
        # shares the data and drops the caches (see Net.__getstate__).
        futures = {executor.submit(_run, i, copy.copy(nets[keys[i]]), inits[i], options,
                                   path(i)): i for i in todo}
        yield from _collect(futures)
        return
    raise TypeError(
        "argument `executor` must be None, 'processes', an int, a concurrent.futures.Executor "
        f"or a dask.distributed.Client, got {executor!r}"
    )


def _context():
    """fork on Linux (scripts need no ``if __name__ == "__main__"`` guard; OpenBLAS resets
    its threads in the child), spawn elsewhere."""
    import multiprocessing

    return multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")


def _collect(futures: dict):
    for fut in as_completed(futures):
        i = futures[fut]
        try:
            yield i, fut.result()
        except Exception as err:  # the worker died (BrokenProcessPool) or the pool broke
            yield i, FailedRun(i, f"worker process died: {type(err).__name__}: {err}")


def _is_dask_client(x) -> bool:
    return type(x).__name__ == "Client" and type(x).__module__.startswith("distributed")


def _dask(client, nets, keys, inits, todo, options, path):
    from distributed import as_completed as dask_completed

    # hash=False: a content key would be shared with an earlier call whose release may
    # delete the data under this one ("Could not find data").
    scattered = client.scatter(nets, broadcast=True, hash=False)
    futures = {client.submit(_run, i, scattered[keys[i]], inits[i], options, path(i), pure=False): i
               for i in todo}
    for fut in dask_completed(list(futures)):
        i = futures[fut]
        try:
            yield i, fut.result()
        except Exception as err:  # e.g. KilledWorker after too many lost workers
            yield i, FailedRun(i, f"{type(err).__name__}: {err}")


# -- files ------------------------------------------------------------------------------------
def _prepare_outdir(outdir, n: int, options: TrainOptions):
    if outdir is None:
        return None
    out = Path(outdir)
    manifest = {"n_runs": n, "options": options.to_json()}
    mpath = out / "sweep.json"
    if mpath.exists():
        old = json.loads(mpath.read_text())
        if {k: old.get(k) for k in manifest} != manifest:
            raise ValueError(
                f"argument `outdir`: {out} holds a different sweep ({old.get('n_runs')} runs, "
                f"options {old.get('options')}); use a new folder"
            )
    else:
        write_json(mpath, {**manifest, "created": time.strftime("%Y-%m-%d %H:%M:%S")})
    (out / "runs").mkdir(parents=True, exist_ok=True)
    return [out / "runs" / f"run_{i:05d}.npz" for i in range(n)]


def _done(path: Path) -> bool:
    if not path.exists():
        return False
    try:
        load_result(path)
        return True
    except Exception:  # a damaged file (should not happen: writes are atomic) is redone
        return False


def load_results(outdir: str | os.PathLike) -> list:
    """The results of a sweep saved by :func:`train_many`, in order: TrainResult, or
    :class:`FailedRun` for a run that failed or is missing."""
    out = Path(outdir)
    mpath = out / "sweep.json"
    if not mpath.exists():
        raise ValueError(f"argument `outdir`: {out} holds no sweep (no sweep.json)")
    n = json.loads(mpath.read_text())["n_runs"]
    results: list = []
    for i in range(n):
        path = out / "runs" / f"run_{i:05d}.npz"
        failed = path.with_suffix(".failed.json")
        if path.exists():
            results.append(load_result(path))
        elif failed.exists():
            info = json.loads(failed.read_text())
            results.append(FailedRun(i, info["error"], info.get("traceback", "")))
        else:
            results.append(FailedRun(i, "missing: the run has not finished"))
    return results


class _Progress:
    """Runs done out of the total: tqdm when installed, else a line every 5 s (stderr)."""

    def __init__(self, total: int, done: int, active: bool) -> None:
        self.total, self.done, self.failed = total, done, 0
        self.active = active and total > 0
        self.bar, self.last = None, time.perf_counter()
        if self.active:
            try:
                from tqdm import tqdm

                self.bar = tqdm(total=total, initial=done, desc="runs", file=sys.stderr)
            except ImportError:
                pass

    def update(self, failed: bool) -> None:
        self.done += 1
        self.failed += failed
        if not self.active:
            return
        if self.bar is not None:
            self.bar.update(1)
            if self.failed:
                self.bar.set_postfix(failed=self.failed)
        elif time.perf_counter() - self.last > 5 or self.done == self.total:
            self.last = time.perf_counter()
            print(f"runs {self.done}/{self.total} ({self.failed} failed)", file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

