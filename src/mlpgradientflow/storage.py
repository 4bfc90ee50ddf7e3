r"""The output folder of many runs: fingerprinted run files, a lock, honest resume.

A folder written by :func:`~mlpgradientflow.train_many` holds

* ``sweep.json``: the manifest, with the number of runs, the package version and one
  **fingerprint** per run;
* ``runs/run_00000.npz``, ...: finished runs (a :class:`~mlpgradientflow.TrainResult` whose
  ``info["fingerprint"]`` repeats its fingerprint); ``run_00000.failed.json`` for a run that
  raised; ``run_00000.interrupted.npz`` for the best point of a run stopped by Ctrl-C (never
  counted as finished: a resume trains it again);
* ``.lock`` while a process works in it.

A run's fingerprint is what defines it: the model (its type, layer spec and input
dimension, and a SHA-256 of its data: input, target, sample weights; for other models,
of their pickled state), a SHA-256 of the initial point, of the options
(:meth:`~mlpgradientflow.TrainOptions.to_json`) and the package version. A resume reuses a
file only when its fingerprint is the call's; a folder written for something else is
refused with a :class:`ResumeError` that says what differs (``overwrite=True`` starts
fresh instead). Two processes cannot work in one folder: the lock is created atomically
(``O_CREAT | O_EXCL``) and names its owner (host, process id, start time, command); a lock
whose owner is dead (same host, no such process) is stale and taken over with a warning.

Files are written atomically with the user's umask (:mod:`mlpgradientflow.io`). A run whose
file cannot be written (full or read-only disk) is still returned; the failure is reported,
not raised.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import socket
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from ._version import __version__
from .io import write_json
from .training import TrainOptions, TrainResult, load_result

__all__ = ["RunFolder", "RunWriter", "FolderLock", "ResumeError", "FolderLocked",
           "fingerprint", "model_fingerprint"]


class ResumeError(ValueError):
    """The folder holds runs of another call; the message says what differs.

    Raised by :class:`RunFolder` (and so by :func:`~mlpgradientflow.train_many` with
    ``outdir``); a ``ValueError``.

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> from mlpgradientflow.storage import fingerprint, model_fingerprint
    >>> X = np.array([[0.0], [1.0], [2.0]])
    >>> net = mgf.Net([(1, "identity", False)], input=X, target=2 * X)
    >>> import tempfile
    >>> from mlpgradientflow.storage import RunFolder
    >>> opts = mgf.TrainOptions.make(maxiterations_ode=50, verbosity=0)
    >>> fp = fingerprint(model_fingerprint(net), [0.0], opts)
    >>> d = tempfile.TemporaryDirectory()
    >>> with RunFolder(d.name, [fp], opts):
    ...     pass                                               # claims the folder
    >>> other = fingerprint(model_fingerprint(net), [1.0], opts)  # another initial point
    >>> try:
    ...     RunFolder(d.name, [other], opts).__enter__()
    ... except ResumeError as err:
    ...     print(str(err).split(": ", 1)[1])
    run 0: initial point differ (use a new folder, or overwrite=True to start fresh)
    >>> d.cleanup()
    """


class FolderLocked(RuntimeError):
    """Another process works in the folder (its lock names the owner).

    Raised by :class:`FolderLock` (and so by :func:`~mlpgradientflow.train_many` and
    :func:`~mlpgradientflow.sweep.run_sweep`).

    Examples
    --------
    A lock file of a live process (here, written by hand for this one):

    >>> import json, os, socket, tempfile
    >>> from mlpgradientflow.storage import FolderLock, FolderLocked
    >>> with tempfile.TemporaryDirectory() as d:
    ...     owner = {"host": socket.gethostname(), "pid": os.getpid(), "started": 0}
    ...     _ = open(os.path.join(d, ".lock"), "w").write(json.dumps(owner))
    ...     try:
    ...         FolderLock(d).__enter__()
    ...     except FolderLocked as err:
    ...         message = str(err).split(" on ")[0].replace(d, "DIR")
    ...         print(message == f"DIR is in use by process {os.getpid()}")
    True
    """


def _sha(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        if a is None:
            h.update(b"none")
            continue
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def model_fingerprint(model) -> dict:
    """What defines a model: type, layers, input dimension and a hash of its data.

    Parameters
    ----------
    model : Net or Model
        A net with data (its input, target and weights are hashed), or any model (its
        pickled state is hashed).

    Returns
    -------
    dict
        ``type``, ``layers`` (the layer spec), ``din``, ``data`` (a SHA-256 hex digest).

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> from mlpgradientflow.storage import fingerprint, model_fingerprint
    >>> X = np.array([[0.0], [1.0], [2.0]])
    >>> net = mgf.Net([(1, "identity", False)], input=X, target=2 * X)
    >>> fp = model_fingerprint(net)
    >>> sorted(fp), fp["layers"], fp["din"]
    (['data', 'din', 'layers', 'type'], [[1, 'identity', False]], 1)
    >>> model_fingerprint(mgf.Net(net)) == fp, model_fingerprint(mgf.Net(net, target=3 * X)) == fp
    (True, False)
    """
    spec = {"type": type(model).__qualname__,
            "layers": json.loads(json.dumps(getattr(model, "layerspec", None), default=str)),
            "din": getattr(model, "din", None)}
    if hasattr(model, "input") and hasattr(model, "target"):
        data = _sha(model.input, model.target, getattr(model, "weights", None))
    else:  # NetI, Gauss–Hermite constructions, user models: their state
        data = hashlib.sha256(pickle.dumps(model, protocol=4)).hexdigest()
    return {**spec, "data": data}


def fingerprint(model_fp: dict, init, options: TrainOptions) -> dict:
    """The fingerprint of one run (see the module docstring).

    Parameters
    ----------
    model_fp : dict
        :func:`model_fingerprint` of the run's model.
    init : array, shape (P,)
        The initial point.
    options : TrainOptions
        The run's options.

    Returns
    -------
    dict
        ``version``, ``model``, ``init`` and ``options`` (SHA-256 hex digests of the last
        two).

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> from mlpgradientflow.storage import fingerprint, model_fingerprint
    >>> X = np.array([[0.0], [1.0], [2.0]])
    >>> net = mgf.Net([(1, "identity", False)], input=X, target=2 * X)
    >>> opts = mgf.TrainOptions.make(maxiterations_ode=50)
    >>> fp = fingerprint(model_fingerprint(net), [0.0], opts)
    >>> sorted(fp), fp == fingerprint(model_fingerprint(net), np.zeros(1), opts)
    (['init', 'model', 'options', 'version'], True)
    >>> fp == fingerprint(model_fingerprint(net), [0.0], opts.replace(maxiterations_ode=51))
    False
    """
    opts = json.dumps(options.to_json(), sort_keys=True, default=str)
    return {"version": __version__, "model": model_fp,
            "init": _sha(np.asarray(init, dtype=float)),
            "options": hashlib.sha256(opts.encode()).hexdigest()}


def _differences(old: dict, new: dict) -> list[str]:
    """What differs between two run fingerprints, in words."""
    out = []
    if old.get("version") != new["version"]:
        out.append(f"package version {old.get('version')} vs {new['version']}")
    om, nm = old.get("model", {}), new["model"]
    for key, word in (("type", "model type"), ("layers", "architecture"), ("din", "input "
                      "dimension"), ("data", "data (input, target or sample weights)")):
        if om.get(key) != nm.get(key):
            out.append(f"{word} differ" if key == "data" else f"{word}: {om.get(key)} vs {nm.get(key)}")
    for key, word in (("init", "initial point"), ("options", "training options")):
        if old.get(key) != new[key]:
            out.append(f"{word} differ")
    return out


class RunFolder:
    """One output folder, claimed by this process for one call (see the module docstring).

    Parameters
    ----------
    path : path
    fingerprints : list of dict
        One per run, in order.
    options : TrainOptions
        Written to the manifest, for people reading it.
    overwrite : bool
        Start fresh in a folder written for another call instead of refusing it.

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> from mlpgradientflow.storage import fingerprint, model_fingerprint
    >>> X = np.array([[0.0], [1.0], [2.0]])
    >>> net = mgf.Net([(1, "identity", False)], input=X, target=2 * X)
    >>> import tempfile
    >>> from mlpgradientflow.storage import RunFolder
    >>> opts = mgf.TrainOptions.make(maxiterations_ode=50, verbosity=0)
    >>> fp = fingerprint(model_fingerprint(net), [0.0], opts)
    >>> d = tempfile.TemporaryDirectory()
    >>> with RunFolder(d.name, [fp], opts) as folder:
    ...     before = folder.load_done(0)                     # nothing saved yet
    ...     res = mgf.train(net, [0.0], opts)
    ...     error = folder.writer(0).save(res)
    ...     after = folder.load_done(0)
    >>> before, error, after.x
    (None, None, array([2.]))
    >>> d.cleanup()
    """

    def __init__(self, path, fingerprints: list[dict], options: TrainOptions,
                 overwrite: bool = False) -> None:
        self.path = Path(path).resolve()  # absolute: Dask workers write the run files
        self.fingerprints = fingerprints
        self.options, self.overwrite = options, overwrite
        self.unwritten: list[str] = []

    # -- paths --------------------------------------------------------------------------------
    def run_path(self, i: int) -> Path:
        """The file of finished run ``i``, ``runs/run_{i:05d}.npz``."""
        return self.path / "runs" / f"run_{i:05d}.npz"

    def writer(self, i: int) -> RunWriter:
        """What a worker needs to save run ``i`` (picklable)."""
        return RunWriter(str(self.run_path(i)), self.fingerprints[i])

    # -- claiming -----------------------------------------------------------------------------
    def __enter__(self) -> RunFolder:
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock = FolderLock(self.path)
        self._lock.__enter__()
        try:
            self._check_manifest()
        except BaseException:
            self._lock.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._lock.__exit__()

    def _check_manifest(self) -> None:
        mpath = self.path / "sweep.json"
        manifest = {"n_runs": len(self.fingerprints), "version": __version__,
                    "options": self.options.to_json(), "fingerprints": self.fingerprints}
        old = _read_json(mpath) if mpath.exists() else None
        if mpath.exists() and old is None:
            raise ResumeError(f"{mpath} is unreadable: not a folder of train_many")
        if old is not None and not self.overwrite:
            why = self._why_different(old)
            if why:
                raise ResumeError(f"{self.path} holds runs of another call: " + "; ".join(why)
                                  + " (use a new folder, or overwrite=True to start fresh)")
        if old is not None and self.overwrite and self._why_different(old):
            for f in (self.path / "runs").glob("run_*"):
                f.unlink()
            old = None
        if old is None:
            write_json(mpath, {**manifest, "created": time.strftime("%Y-%m-%d %H:%M:%S")})
        (self.path / "runs").mkdir(exist_ok=True)

    def _why_different(self, old: dict) -> list[str]:
        if old.get("n_runs") != len(self.fingerprints):
            return [f"{old.get('n_runs')} runs there, {len(self.fingerprints)} in this call"]
        for i, (a, b) in enumerate(zip(old.get("fingerprints", []), self.fingerprints)):
            diff = _differences(a, b)
            if diff:
                return [f"run {i}: " + ", ".join(diff)]
        if "fingerprints" not in old:
            return ["the folder has no fingerprints (written by an older version)"]
        return []

    # -- runs -----------------------------------------------------------------------------------
    def load_done(self, i: int) -> TrainResult | None:
        """Run ``i`` when it is finished and belongs to this call; None when it must be
        trained (missing, damaged, or only an interrupted best point)."""
        path = self.run_path(i)
        if not path.exists():
            return None
        try:
            res = load_result(path)
        except Exception:  # damaged: trained again (writes are atomic, so this is rare)
            return None
        diff = _differences(res.info.get("fingerprint", {}), self.fingerprints[i])
        if diff:
            raise ResumeError(f"{path} does not belong to this call ({', '.join(diff)}); it was "
                              "altered or copied in (use overwrite=True to retrain it)")
        return res


class FolderLock:
    """The lock of a folder (see the module docstring); re-entrant within one process, so
    that a sweep and the train_many call inside it share it.

    Parameters
    ----------
    path : str or PathLike
        The folder (made when missing); the lock is ``path/.lock``.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from mlpgradientflow.storage import FolderLock
    >>> with tempfile.TemporaryDirectory() as d, FolderLock(d), FolderLock(d):
    ...     print(sorted(p.name for p in Path(d).iterdir()))
    ['.lock']
    """

    _held: dict[Path, int] = {}

    def __init__(self, path) -> None:
        self.path = Path(path).resolve()
        self.file = self.path / ".lock"

    def __enter__(self) -> FolderLock:
        if self._held.get(self.path):
            self._held[self.path] += 1
            return self
        self.path.mkdir(parents=True, exist_ok=True)
        me = {"host": socket.gethostname(), "pid": os.getpid(), "started": time.time(),
              "command": " ".join(sys.argv)[:500]}
        for _ in range(3):
            try:
                fd = os.open(self.file, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
            except FileExistsError:
                owner = _read_json(self.file)
                if owner is not None and not _stale(owner):
                    started = time.strftime("%Y-%m-%d %H:%M:%S",
                                            time.localtime(owner.get("started", 0)))
                    raise FolderLocked(
                        f"{self.path} is in use by process {owner.get('pid')} on "
                        f"{owner.get('host')} since {started} ({owner.get('command', '')!r}); "
                        f"wait for it, or remove {self.file} if that process is gone") from None
                warnings.warn(f"{self.file}: taking over a stale lock ({owner})", stacklevel=2)
                self.file.unlink(missing_ok=True)
                continue
            with os.fdopen(fd, "w") as f:
                json.dump(me, f)
            self._held[self.path] = 1
            return self
        raise FolderLocked(f"{self.path}: cannot claim the folder (its lock keeps changing)")

    def __exit__(self, *exc) -> None:
        self._held[self.path] -= 1
        if not self._held[self.path]:
            del self._held[self.path]
            self.file.unlink(missing_ok=True)


class RunWriter:
    """Saves one run where it belongs: finished, interrupted or failed (runs in workers).

    Made by :meth:`RunFolder.writer`; picklable, so that workers save their own runs.

    Parameters
    ----------
    path : str
        The run's ``.npz`` file.
    fp : dict
        Its fingerprint, stored as ``res.info["fingerprint"]``.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> from mlpgradientflow.parallel import FailedRun
    >>> from mlpgradientflow.storage import RunWriter
    >>> X = np.array([[0.0], [1.0], [2.0]])
    >>> net = mgf.Net([(1, "identity", False)], input=X, target=2 * X)
    >>> res = mgf.train(net, [0.0], maxiterations_ode=50, verbosity=0)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     RunWriter(os.path.join(d, "run_00000.npz"), {"tag": 1}).save(res)
    ...     RunWriter(os.path.join(d, "run_00001.npz"), {}).save(FailedRun(1, "ValueError: x"))
    ...     names = sorted(os.listdir(d))
    ...     fp = mgf.load_result(os.path.join(d, "run_00000.npz")).info["fingerprint"]
    >>> names, fp
    (['run_00000.npz', 'run_00001.failed.json'], {'tag': 1})
    """

    def __init__(self, path: str, fp: dict) -> None:
        self.path, self.fp = path, fp

    def save(self, res) -> str | None:
        """Write ``res``; return an error message instead of raising when the disk refuses."""
        path = Path(self.path)
        try:
            if isinstance(res, TrainResult):
                res.info["fingerprint"] = self.fp
                target = path.with_suffix(".interrupted.npz") if res.interrupted else path
                res.save(target)
                if not res.interrupted:
                    path.with_suffix(".interrupted.npz").unlink(missing_ok=True)
                    path.with_suffix(".failed.json").unlink(missing_ok=True)
            else:
                write_json(path.with_suffix(".failed.json"),
                           {"index": res.index, "error": res.error, "traceback": res.traceback})
        except OSError as err:
            return f"{path}: {err.strerror or err}"
        return None


def _read_json(path: Path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def _stale(owner: dict) -> bool:
    """A lock of a process that is gone (only decidable on the same host)."""
    if owner.get("host") != socket.gethostname():
        return False
    try:
        os.kill(int(owner["pid"]), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, KeyError, ValueError, TypeError):
        return False
    return False
