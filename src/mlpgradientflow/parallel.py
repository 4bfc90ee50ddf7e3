"""Many training runs: sequentially, on a local process pool, any Executor, or a Dask cluster.

The papers' statistics come from thousands of runs. :func:`train_many` runs one
:func:`~mlpgradientflow.train` per initial point and returns the results in input order,
whatever the order in which they finish. Each task is a pure function of (net, init,
options); the nets (with their data) travel to each worker once: through the process
pool's initializer, or ``Client.scatter(..., broadcast=True)`` on Dask.

With ``outdir`` every finished run is saved at once, atomically, and fingerprinted (what
defines it: the model and its data, the initial point, the options, the package version;
:mod:`mlpgradientflow.storage`). Calling again with the same arguments skips what is done
and computes only the missing runs; a folder written for another call is refused with an
error that says what differs (``overwrite=True`` starts fresh), and a folder another
process is working in is refused too. ``load_results(outdir)`` gathers a sweep back.

Failures are never dropped silently: a run that raises comes back as a :class:`FailedRun`
with its error and traceback (and ``run_00000.failed.json`` in ``outdir``; it is retried on
the next call). A local worker process that dies breaks the pool: its runs and the ones
still queued are reported as FailedRun ("worker process died"). Dask reschedules the tasks
of a lost worker on the others by itself. A run whose file cannot be written (a full or
read-only disk) is still returned; ``res.info["save_error"]`` says why, and a warning lists
the files that were not written.

**Ctrl-C** stops everything, on every executor, within a few seconds: no new run starts,
runs in progress stop at their next step and return their best point marked as
interrupted (``res.interrupted``; saved as ``run_00000.interrupted.npz``, never as finished,
so a resume trains them again), runs that had not started come back as
``FailedRun(..., interrupted=True)``, finished runs are kept, and worker processes that do
not stop within :data:`GRACE` seconds are killed. ``train_many`` then returns what it has
(a second Ctrl-C aborts at once). Worker processes of the local pool ignore SIGINT and
stop through a shared event instead, so that a terminal's Ctrl-C, which reaches every
process of the group, cannot kill an idle worker.
"""

from __future__ import annotations

import copy
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
import uuid
import warnings
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures import TimeoutError as FuturesTimeout
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from .storage import RunFolder, fingerprint, model_fingerprint
from .training import DEFAULTS, TrainOptions, load_result, train

__all__ = ["train_many", "load_results", "FailedRun", "GRACE"]

#: seconds a stopped worker may take to hand back its interrupted run before it is killed
GRACE = 10.0
#: submissions of a Dask task before its run is reported failed (lost workers, lost data)
DASK_ATTEMPTS = 3
#: the default options of every run: the package defaults, without progress lines
QUIET = DEFAULTS.replace(verbosity=0)


@dataclass
class FailedRun:
    """A run that did not produce a result: its index, the error and the traceback;
    ``interrupted`` when Ctrl-C came before it started.

    Returned by :func:`train_many` and :func:`load_results` in place of the run's
    ``TrainResult``; ``r.failed`` tells them apart (a TrainResult has no ``failed``).

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> X = np.array([[1.0], [2.0]])
    >>> net = mgf.Net([(1, "exp", False), (1, "identity", False)], input=X, target=X)
    >>> res = mgf.train_many(net, [[0.0, 1.0], [1000.0, 1.0]], progress=False,
    ...                      maxiterations_ode=10, maxiterations_optim=2)
    >>> [getattr(r, "failed", False) for r in res], res[1].index
    ([False, True], 1)
    >>> res[1].error[:40]
    'NonFiniteError: the loss is not finite a'
    """

    index: int
    error: str
    traceback: str = ""
    interrupted: bool = False
    failed: bool = field(default=True, init=False)

    def __repr__(self) -> str:
        return f"FailedRun(index={self.index}, error={self.error!r})"


# -- the task (runs in the worker) ------------------------------------------------------
_NETS: list = []  # a local pool worker's nets and stop event, set once by _init_worker
_STOP = None


def _init_worker(nets: list, blas_threads: int, stop, pids) -> None:
    from threadpoolctl import threadpool_limits

    global _NETS, _STOP
    _NETS, _STOP = nets, stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the driver stops us through `stop`
    pids.put(os.getpid())
    threadpool_limits(limits=blas_threads)


def _stop_requested(stop):
    """A function telling whether the driver asked to stop (None: never asked)."""
    if stop is None:
        return None
    if isinstance(stop, str):  # a Dask event: a round trip to the scheduler, so poll slowly
        from distributed import Event

        event, last = Event(stop), [0.0]

        def asked() -> bool:
            now = time.monotonic()
            if now - last[0] < 0.5:
                return False
            last[0] = now
            return event.is_set()

        return asked
    return stop.is_set


def _run(index: int, net, init, options: TrainOptions, writer, stop=None):
    """Train one run and save it. Never raises (but for Ctrl-C in this very process):
    failures come back as FailedRun."""
    if isinstance(net, int):
        net, stop = _NETS[net], _STOP
    asked = _stop_requested(stop)
    if asked is not None and asked():
        return FailedRun(index, "not started: interrupted", interrupted=True)

    def callback(info) -> None:  # a stop request ends the run like Ctrl-C
        if asked():
            raise KeyboardInterrupt

    try:
        res = train(net, init, options, callback=None if asked is None else callback)
        res.info["run_index"] = index
    except Exception as err:  # a failing run must not take the sweep down
        res = FailedRun(index, f"{type(err).__name__}: {err}", traceback.format_exc())
    if writer is not None:
        problem = writer.save(res)
        if problem and not isinstance(res, FailedRun):
            res.info["save_error"] = problem
    return res


# -- the driver -----------------------------------------------------------------------------
def train_many(
    net,
    inits: Sequence,
    executor=None,
    outdir: str | os.PathLike | None = None,
    *,
    options: TrainOptions | None = None,
    overwrite: bool = False,
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
        Save each run as it finishes, fingerprinted, and skip finished runs of the same call
        when called again (see the module docstring and :mod:`mlpgradientflow.storage`).
    options : TrainOptions, optional
        The options of every :func:`~mlpgradientflow.train` call (default: the package
        defaults with ``verbosity=0``), updated by ``train_options``.
    overwrite : bool
        With ``outdir``: start fresh in a folder written for another call, instead of
        refusing it.
    progress : bool
        A progress bar over runs (tqdm when installed, else a line every few seconds).
    blas_threads : int
        BLAS threads of each local pool worker (default 1).
    **train_options
        Keyword options of :func:`~mlpgradientflow.train`, passed to every call.

    Returns
    -------
    list of TrainResult or FailedRun
        One per initial point, in input order; a run that raised is a :class:`FailedRun`
        (the other runs go on).

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
    folder = None
    if outdir is not None:
        model_fps = [model_fingerprint(n) for n in nets]
        fps = [fingerprint(model_fps[keys[i]], inits[i], options) for i in range(len(inits))]
        folder = RunFolder(outdir, fps, options, overwrite=overwrite)
    results: list = [None] * len(inits)
    with folder or nullcontext():
        for i in range(len(inits)):
            results[i] = None if folder is None else folder.load_done(i)
        todo = [i for i, r in enumerate(results) if r is None]
        bar = _Progress(len(inits), len(inits) - len(todo), progress)
        runner = _Runner(executor, nets, keys, inits, options, folder, blas_threads)
        try:
            for i, res in runner.run(todo):
                results[i] = res
                bar.update(isinstance(res, FailedRun))
        finally:
            bar.close()
    for i in range(len(results)):
        if results[i] is None:
            results[i] = FailedRun(i, "not run: interrupted", interrupted=True)
    _report(results, runner.interrupted)
    return results


def _report(results: list, interrupted: bool) -> None:
    unwritten = [r.info["save_error"] for r in results
                 if not isinstance(r, FailedRun) and "save_error" in r.info]
    if unwritten:
        warnings.warn(f"{len(unwritten)} run files could not be written (the results are "
                      "returned): " + "; ".join(unwritten[:5]) + (" ..." if len(unwritten) > 5 else ""),
                      stacklevel=3)
    if interrupted:
        stopped = sum(getattr(r, "interrupted", False) and not isinstance(r, FailedRun) for r in results)
        never = sum(isinstance(r, FailedRun) and r.interrupted for r in results)
        done = len(results) - stopped - never
        print(f"interrupted: {done} runs finished, {stopped} stopped with their best point "
              f"(marked interrupted), {never} not started; with an output folder the same call "
              "again resumes", file=sys.stderr, flush=True)


def _distinct(net, n: int):
    """The distinct nets and, per run, the index of its net."""
    if isinstance(net, Sequence) and not hasattr(net, "nparams"):
        if len(net) != n:
            raise ValueError(f"argument `net`: {len(net)} nets for {n} initial points")
        nets: list = []
        keys: list[int] = []
        seen: dict[int, int] = {}
        for x in net:
            if id(x) not in seen:
                seen[id(x)] = len(nets)
                nets.append(x)
            keys.append(seen[id(x)])
        return nets, keys
    return [net], [0] * n


class _Runner:
    """Runs the tasks on one executor; ``run`` yields ``(index, result)`` as they finish and
    handles Ctrl-C (``interrupted`` is then True)."""

    def __init__(self, executor, nets, keys, inits, options, folder, blas_threads) -> None:
        self.executor, self.nets, self.keys, self.inits = executor, nets, keys, inits
        self.options, self.folder, self.blas_threads = options, folder, blas_threads
        self.interrupted = False

    def writer(self, i):
        return None if self.folder is None else self.folder.writer(i)

    def run(self, todo):
        ex = self.executor
        if ex is None:
            return self._sequential(todo)
        if _is_dask_client(ex):
            return self._dask(todo)
        if ex == "processes" or isinstance(ex, int) and not isinstance(ex, bool):
            if not isinstance(ex, str) and ex < 1:
                raise ValueError(f"argument `executor`: a number of processes must be >= 1, got {ex}")
            return self._pool(todo, (os.cpu_count() or 1) if ex == "processes" else int(ex))
        if isinstance(ex, Executor):
            return self._executor(todo)
        raise TypeError(
            "argument `executor` must be None, 'processes', an int, a concurrent.futures.Executor "
            f"or a dask.distributed.Client, got {ex!r}"
        )

    def _sequential(self, todo):
        try:
            for i in todo:
                res = _run(i, self.nets[self.keys[i]], self.inits[i], self.options, self.writer(i))
                yield i, res
                if getattr(res, "interrupted", False):  # Ctrl-C inside train
                    self.interrupted = True
                    return
        except KeyboardInterrupt:  # between runs
            self.interrupted = True

    def _pool(self, todo, workers: int):
        ctx = _context()
        stop, pids = ctx.Event(), ctx.SimpleQueue()
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                                   initargs=(self.nets, self.blas_threads, stop, pids))
        futures = {}
        try:
            futures = {pool.submit(_run, i, self.keys[i], self.inits[i], self.options,
                                   self.writer(i)): i for i in todo}
            yield from _collect(futures)
        except KeyboardInterrupt:
            self.interrupted = True
            stop.set()
            yield from _collect(futures, timeout=GRACE)
        finally:
            pool.shutdown(wait=not self.interrupted, cancel_futures=True)
            if self.interrupted:
                _kill_workers(pids)

    def _executor(self, todo):
        # A net's workspaces are scratch memory: threads must not share them. A shallow copy
        # shares the data and drops the caches (see Net.__getstate__).
        stop = threading.Event() if isinstance(self.executor, ThreadPoolExecutor) else None
        futures = {}
        try:
            futures = {self.executor.submit(_run, i, copy.copy(self.nets[self.keys[i]]),
                                            self.inits[i], self.options, self.writer(i), stop): i
                       for i in todo}
            yield from _collect(futures)
        except KeyboardInterrupt:
            self.interrupted = True
            if stop is not None:
                stop.set()
            for f in futures:
                f.cancel()
            yield from _collect(futures, timeout=GRACE)

    def _dask(self, todo):
        from distributed import Event
        from distributed import as_completed as dask_completed

        client = self.executor
        name = f"mgf-stop-{uuid.uuid4().hex}"
        event = Event(name, client=client)
        scattered: list = [None]

        def submit(i):
            if scattered[0] is None:
                # hash=False: a content key would be shared with an earlier call whose
                # release may delete the data under this one ("Could not find data").
                scattered[0] = client.scatter(self.nets, broadcast=True, hash=False)
            return client.submit(_run, i, scattered[0][self.keys[i]], self.inits[i],
                                 self.options, self.writer(i), name, pure=False)

        futures = {submit(i): i for i in todo}
        attempts = dict.fromkeys(todo, 1)
        pending = set(futures)
        stream = dask_completed(list(futures))
        try:
            for fut in stream:
                pending.discard(fut)
                i = futures.pop(fut)
                try:
                    yield i, fut.result()  # our task never raises: an error is the cluster's
                except Exception as err:  # a lost worker took the data or the task along
                    if attempts[i] >= DASK_ATTEMPTS:
                        yield i, FailedRun(i, f"{type(err).__name__}: {err} (after "
                                              f"{attempts[i]} attempts)")
                        continue
                    attempts[i] += 1
                    scattered[0] = None  # scatter the nets again: a replica may be gone
                    new = submit(i)
                    futures[new] = i
                    pending.add(new)
                    stream.add(new)
        except KeyboardInterrupt:
            self.interrupted = True
            event.set()  # running tasks stop at their next check, queued ones do not start
            try:
                for fut in dask_completed(list(pending), timeout=GRACE):
                    pending.discard(fut)
                    yield futures[fut], _dask_result(fut, futures[fut])
            except TimeoutError:
                pass
            client.cancel(list(pending))
        finally:
            event.clear()


def _dask_result(fut, i):
    try:
        return fut.result()
    except Exception as err:  # e.g. KilledWorker after too many lost workers
        return FailedRun(i, f"{type(err).__name__}: {err}")


def _collect(futures: dict, timeout: float | None = None):
    """Yield ``(index, result)`` as futures finish; after ``timeout`` seconds the rest come
    back as FailedRun (their workers are killed by the caller)."""
    live = {f: i for f, i in futures.items() if not f.cancelled()}
    try:
        for fut in as_completed(live, timeout=timeout):
            i = live.pop(fut)
            try:
                yield i, fut.result()
            except Exception as err:  # the worker died (BrokenProcessPool) or the pool broke
                yield i, FailedRun(i, f"worker process died: {type(err).__name__}: {err}")
    except FuturesTimeout:
        for i in live.values():
            yield i, FailedRun(i, f"interrupted: did not stop within {GRACE:g} s; its worker "
                               "was stopped", interrupted=True)


def _kill_workers(pids) -> None:
    """Kill the pool's workers that are still alive (after an interrupt's grace period)."""
    while not pids.empty():
        pid = pids.get()
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _context():
    """fork on Linux (scripts need no ``if __name__ == "__main__"`` guard; OpenBLAS resets
    its threads in the child), spawn elsewhere."""
    return multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")


def _is_dask_client(x) -> bool:
    return type(x).__name__ == "Client" and type(x).__module__.startswith("distributed")


# -- reading a folder back -------------------------------------------------------------------
def load_results(outdir: str | os.PathLike) -> list:
    """The results of a sweep saved by :func:`train_many`, in order: TrainResult, or
    :class:`FailedRun` for a run that failed, was interrupted or is missing.

    Parameters
    ----------
    outdir : str or PathLike
        The ``outdir`` of :func:`train_many` (holds ``sweep.json`` and ``runs/``).

    Returns
    -------
    list of TrainResult or FailedRun
        One per initial point, in input order.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> X = np.array([[1.0], [2.0]])
    >>> net = mgf.Net([(1, "exp", False), (1, "identity", False)], input=X, target=X)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = mgf.train_many(net, [[0.0, 1.0], [1000.0, 1.0]], outdir=d, progress=False,
    ...                        maxiterations_ode=10, maxiterations_optim=2)
    ...     back = mgf.load_results(d)
    >>> [type(r).__name__ for r in back], back[0].ode_stopped_by
    (['TrainResult', 'FailedRun'], 'maxiterations ≥ 10')
    """
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
        elif path.with_suffix(".interrupted.npz").exists():
            results.append(FailedRun(i, "interrupted: its best point is in "
                                     f"{path.with_suffix('.interrupted.npz').name}",
                                     interrupted=True))
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
