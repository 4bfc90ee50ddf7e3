r"""MLPGradientFlow.jl's result files read as a :class:`~mlpgradientflow.TrainResult`, and written.

The reference's ``pickle(filename, res)`` writes its result dict with Pickle.jl's
``THsave`` (torch's legacy format, arrays as column-major tensors; :mod:`.torchfile`);
its Python users read it with ``torch.load``. :func:`load_julia` reads such a file (or one
``torch.save`` wrote in either format) without torch and without running anything in it,
:func:`save_julia` writes one, :func:`julia_dict` gives the dict itself. What maps where:

==============================================  ==========================================
file key                                        TrainResult
==============================================  ==========================================
``x``, ``init``, ``ode_x``: ``{"w1": M_1, …}``  ``x``, ``init``, ``ode_x``: our flat
                                                (row-major) vectors, float64; ``shapes``
``loss``, ``ode_loss``, ``gnorm``,              the same names (float)
``gnorm_regularized``, ``total_time``
``converged``                                   ``converged`` (the reference's: patience
                                                only)
``ode_stopped_by``, ``ode_iterations``,         ``ode`` (:class:`~.stopping.PhaseRecord`):
``ode_time_run``; the same for ``optim_``       reason and detail parsed from the string,
                                                ``message`` the string itself
``trajectory``: ``OrderedDict(t => dict)``      ``trajectory``: ``t`` (T,), ``x`` (T, P)
``loss_curve``                                  ``loss_curve`` (T,)
``layerspec``                                   ``info["layerspec"]``: ``[(width,
                                                activation name(s), bias), …]``
``input``, ``target``, ``weights``, and any     ``info["julia"]``: as read, in the
other key                                       reference's layout
==============================================  ==========================================

The reference's layout: ``M_l = [W_l | b_l]`` of shape ``(k_l, k_{l-1} + bias_l)`` as
ours; ``input`` is ``(Din, N)`` with a row of ones appended when the first layer has a
bias, ``target`` ``(Dout, N)`` or class labels ``1..Dout``; times are the reference's (its
flow is on the sum-loss: they equal ours for a run with ``tauinv=N``). The reference writes
``""`` as the stop reason of a flow that reached ``maxT`` (ours: ``"maxT"``). Keys the
reference's ``exclude`` left out read as NaN (numbers and parameters) and are listed in
``info["julia_missing"]``.
"""

from __future__ import annotations

import math
import os
import warnings
from collections import OrderedDict
from collections.abc import Mapping

import numpy as np

from ..training.result import TrainResult, Trajectory
from ..training.stopping import PhaseRecord, StopReason
from .torchfile import TorchFileError, load_torch
from .torchsave import save_torch_legacy

__all__ = ["load_julia", "save_julia", "julia_dict", "net_from_julia"]

#: the keys of the reference's result dict (``result2dict``), in its order
KEYS = ("loss", "converged", "optim_stopped_by", "ode_stopped_by", "total_time", "ode_loss",
        "gnorm", "gnorm_regularized", "init", "x", "ode_x", "ode_time_run", "ode_iterations",
        "optim_time_run", "optim_iterations", "input", "target", "layerspec", "trajectory",
        "loss_curve", "weights")
_DATA = ("input", "target", "weights")
_NUMBERS = ("loss", "ode_loss", "gnorm", "gnorm_regularized", "total_time")


# -- the file's parameters -----------------------------------------------------------------------
def _matrices(d, where: str) -> list[np.ndarray]:
    """``{"w1": M_1, ..., "wL": M_L}`` as the list of matrices (float64), checked."""
    if not isinstance(d, Mapping):
        raise TorchFileError(f"{where} must be a dict {{'w1': M_1, ...}}, got {type(d).__name__}")
    names = [f"w{i}" for i in range(1, len(d) + 1)]
    if sorted(d) != sorted(names):
        raise TorchFileError(f"{where} must have the keys {names}, got {sorted(map(str, d))}")
    out = []
    for name in names:
        M = d[name]
        if not isinstance(M, np.ndarray) or M.ndim != 2 or M.dtype.kind not in "iuf":
            raise TorchFileError(f"{where}[{name!r}] must be a numeric matrix, got "
                                 f"{getattr(M, 'shape', type(M).__name__)}")
        out.append(M.astype(np.float64))
    return out


def _flat(d, where: str, shapes: list[tuple[int, int]]) -> np.ndarray:
    Ms = _matrices(d, where)
    if [M.shape for M in Ms] != shapes:
        raise TorchFileError(f"{where} has shapes {[M.shape for M in Ms]}, `x` has {shapes}")
    return np.concatenate([M.ravel() for M in Ms])


def _number(v, what: str, kind=float):
    """``v`` (a number, or a one-element array) as ``kind``; TorchFileError naming ``what``."""
    if isinstance(v, np.ndarray) and v.size == 1:
        v = v.item()
    if isinstance(v, bool) or not isinstance(v, int | float) or (kind is int and not isinstance(v, int)):
        raise TorchFileError(f"{what} must be {'a number' if kind is float else 'an int'}, got {v!r}")
    return kind(v)


def _parse_stop(s: str, ran: bool) -> tuple[StopReason, str]:
    """The reason and detail whose string is ``s`` (an unknown string: ``METHOD_ENDED``)."""
    if s == "":
        return (StopReason.MAXT if ran else StopReason.NOT_RUN), ""
    for reason in StopReason:
        pre, braces, post = reason.value.partition("{}")
        if reason is StopReason.METHOD_ENDED or not pre:
            continue
        if not braces and s == pre:
            return reason, ""
        if braces and s.startswith(pre) and s.endswith(post) and len(s) > len(pre) + len(post):
            return reason, s[len(pre): len(s) - len(post)]
    return StopReason.METHOD_ENDED, s  # NLopt's "converged", "maxeval", ...


def _phase(d: dict, name: str) -> PhaseRecord:
    s = d.get(f"{name}_stopped_by", "")
    if not isinstance(s, str):
        raise TorchFileError(f"'{name}_stopped_by' must be a string, got {s!r}")
    iterations = _number(d.get(f"{name}_iterations", 0), f"'{name}_iterations'", int)
    reason, detail = _parse_stop(s, iterations > 0)
    time = _number(d.get(f"{name}_time_run", math.nan), f"'{name}_time_run'")
    return PhaseRecord(reason, detail, iterations, time=time, message=s)


def _layerspec(spec, shapes) -> list[tuple] | None:
    """The file's layer spec as ``[(width, name(s), bias), ...]``, checked against ``shapes``."""
    if spec is None:
        return None
    if not isinstance(spec, list | tuple) or len(spec) != len(shapes):
        raise TorchFileError(f"'layerspec' must list {len(shapes)} layers, got {spec!r}")
    out, k_prev = [], None
    for (k, m), layer in zip(shapes, spec):
        if not (isinstance(layer, list | tuple) and len(layer) == 3):
            raise TorchFileError(f"a 'layerspec' entry must be (width, activation, bias), got {layer!r}")
        width, act, bias = layer
        width = k if width is None else width
        if not (isinstance(act, str) or isinstance(act, list | tuple) and all(
                isinstance(a, str) for a in act)):
            raise TorchFileError(f"a 'layerspec' activation must be a name or a list of names, "
                                 f"got {act!r}")
        if width != k or not isinstance(bias, bool) or (k_prev is not None and m != k_prev + bias):
            raise TorchFileError(f"'layerspec' entry {layer!r} does not fit the parameters {shapes}")
        out.append((int(width), list(act) if isinstance(act, list | tuple) else act, bias))
        k_prev = k
    return out


def _result(d, path: str) -> TrainResult:
    if not isinstance(d, dict) or "x" not in d:
        raise TorchFileError("not a result dict of MLPGradientFlow.jl (no key 'x')")
    shapes = [M.shape for M in _matrices(d["x"], "'x'")]
    P = sum(k * m for k, m in shapes)
    nan = np.full(P, math.nan)
    init, ode_x = (_flat(d[k], repr(k), shapes) if k in d else nan.copy() for k in ("init", "ode_x"))
    traj = d.get("trajectory", OrderedDict())
    if not isinstance(traj, Mapping):
        raise TorchFileError(f"'trajectory' must be an OrderedDict(t => params), got {type(traj).__name__}")
    t = np.array([_number(k, "a 'trajectory' time") for k in traj], dtype=float)
    X = np.array([_flat(v, f"'trajectory'[{k!r}]", shapes) for k, v in traj.items()]).reshape(-1, P)
    curve = np.asarray(d.get("loss_curve", np.zeros(0)))
    if curve.dtype.kind not in "iuf" or curve.ndim != 1:
        raise TorchFileError(f"'loss_curve' must be a vector of numbers, got {curve!r}")
    ode, optim = _phase(d, "ode"), _phase(d, "optim")
    converged = d.get("converged", False)
    if not isinstance(converged, bool | np.bool_):
        raise TorchFileError(f"'converged' must be a bool, got {converged!r}")
    maxtime = any(r.reason.wall_clock or r.message == "maxtime" for r in (ode, optim))
    return TrainResult(
        x=_flat(d["x"], "'x'", shapes), init=init, ode_x=ode_x, converged=bool(converged),
        **{k: _number(d.get(k, math.nan), repr(k)) for k in _NUMBERS}, trajectory=Trajectory(t, X),
        loss_curve=curve.astype(float), ode=ode, optim=optim, reproducible=not maxtime,
        shapes=shapes,
        info={"source": "MLPGradientFlow.jl", "path": path,
              "layerspec": _layerspec(d.get("layerspec"), shapes),
              "julia": {k: v for k, v in d.items() if k in _DATA or k not in KEYS},
              "julia_missing": [k for k in KEYS if k not in d and k not in _DATA]},
    )


def load_julia(path: str | os.PathLike) -> TrainResult:
    """Read a result file of MLPGradientFlow.jl's ``pickle`` (or ``torch.save``) safely.

    Parameters
    ----------
    path : path
        A torch file (legacy or zip) holding the reference's result dict.

    Returns
    -------
    TrainResult
        See the module docstring for what maps where. The file's data and unknown keys
        are in ``res.info["julia"]``; :func:`net_from_julia` rebuilds the network.

    Raises
    ------
    TorchFileError
        (a ValueError) A file that names any other class than tensors, storages and
        ``OrderedDict``, is truncated or inconsistent, or is no result dict.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> X = np.linspace(-1, 1, 8)[:, None]
    >>> net = mgf.Net([(2, "tanh", True), (1, "identity", True)], input=X, target=X**2)
    >>> res = mgf.train(net, net.random_params(0), maxiterations_ode=20,
    ...                 maxiterations_optim=0, verbosity=0)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = save_julia(os.path.join(d, "res.pt"), res, net)
    ...     back = load_julia(path)
    >>> bool(np.array_equal(back.x, res.x)), back.ode_stopped_by
    (True, 'maxiterations ≥ 20')
    >>> back.info["julia"]["input"].shape  # (Din + 1, N): the reference's ones row
    (2, 8)
    """
    d = load_torch(path)
    try:
        return _result(d, os.fspath(path))
    except TorchFileError as err:
        raise TorchFileError(f"{os.fspath(path)}: {err}") from None


# -- writing -------------------------------------------------------------------------------------
def _julia_data(net) -> dict:
    """The net's data in the reference's layout (see the module docstring)."""
    out = {}
    X, T, w = (getattr(net, k, None) for k in _DATA)
    if X is not None:
        X = np.asarray(X).T
        out["input"] = np.vstack([X, np.ones((1, X.shape[1]), X.dtype)]) if net.layers[0].bias else X
    if T is not None:
        T = np.asarray(T)
        out["target"] = T.astype(np.int64) + 1 if T.ndim == 1 else T.T
    if w is not None:
        out["weights"] = np.asarray(w)
    return out


def julia_dict(res: TrainResult, net=None) -> dict:
    """The reference's result dict of ``res``, as its ``pickle`` writes it.

    Parameters
    ----------
    res : TrainResult
    net : Net, optional
        Adds ``input``, ``target`` and ``weights`` in the reference's layout (otherwise
        those of ``res.info["julia"]``, when ``res`` was read by :func:`load_julia`).

    Returns
    -------
    dict
        The keys of the module docstring; parameters as ``{"w1": M_1, ...}``, the
        trajectory as an ``OrderedDict``.

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> X = np.linspace(-1, 1, 8)[:, None]
    >>> net = mgf.Net([(2, "tanh", True), (1, "identity", True)], input=X, target=X**2)
    >>> res = mgf.train(net, net.random_params(0), maxiterations_ode=20,
    ...                 maxiterations_optim=0, verbosity=0)
    >>> d = julia_dict(res, net)
    >>> d["x"]["w1"].shape, d["layerspec"], d["target"].shape
    ((2, 2), ((2, 'tanh', True), (1, 'identity', True)), (1, 8))
    """
    if not isinstance(res, TrainResult):
        raise TypeError(f"argument `res` must be a TrainResult, got {type(res).__name__}")
    shapes = [tuple(s) for s in res.shapes]
    if not shapes:
        raise ValueError("argument `res` has no layer shapes (not the result of a layered net)")
    if net is not None and [tuple(s) for s in getattr(net, "shapes", ())] != shapes:
        raise ValueError(f"argument `net` has shapes {getattr(net, 'shapes', None)}, `res` {shapes}")

    def params(p) -> dict:
        out, o = {}, 0
        for i, (k, m) in enumerate(shapes, 1):
            out[f"w{i}"] = np.array(p[o: o + k * m], dtype=np.float64).reshape(k, m)
            o += k * m
        return out

    def stop(rec: PhaseRecord) -> str:
        return "" if rec.reason in (StopReason.MAXT, StopReason.NOT_RUN) else rec.stopped_by

    spec = net.layerspec if net is not None else res.info.get("layerspec")
    d = {"loss": res.loss, "converged": res.converged, "optim_stopped_by": stop(res.optim),
         "ode_stopped_by": stop(res.ode), "total_time": res.total_time, "ode_loss": res.ode_loss,
         "gnorm": res.gnorm, "gnorm_regularized": res.gnorm_regularized,
         "init": params(res.init), "x": params(res.x), "ode_x": params(res.ode_x),
         "ode_time_run": res.ode.time, "ode_iterations": res.ode.iterations,
         "optim_time_run": res.optim.time, "optim_iterations": res.optim.iterations,
         "layerspec": None if spec is None else tuple(
             (w, list(a) if isinstance(a, list | tuple) else a, b) for w, a, b in spec),
         "trajectory": OrderedDict((float(t), params(x)) for t, x in zip(res.trajectory.t,
                                                                          res.trajectory.x)),
         "loss_curve": np.asarray(res.loss_curve, dtype=np.float64)}
    extra = res.info.get("julia", {})  # what load_julia kept: the data, unknown keys
    d.update({k: v for k, v in extra.items() if net is None or k not in _DATA})
    if net is not None:
        d.update(_julia_data(net))
    missing = res.info.get("julia_missing", ())  # keys the file read did not have stay out
    return {k: v for k, v in d.items() if v is not None and k not in missing}


def save_julia(path: str | os.PathLike, res: TrainResult, net=None, *, exclude=()) -> os.PathLike:
    """Write ``res`` as MLPGradientFlow.jl's ``pickle(path, res)`` does, atomically.

    The file is torch's legacy format with column-major tensors (:mod:`.torchsave`):
    ``torch.load(path)`` (also with ``weights_only=True``) and the reference's
    ``unpickle(path)`` read it, and :func:`load_julia` reads it back.

    Parameters
    ----------
    path : path
    res : TrainResult
    net : Net, optional
        Adds the data (``input``, ``target``, ``weights``), as the reference does.
    exclude : sequence of str
        Keys to leave out (the reference's ``exclude``); unknown keys warn, as there.

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> from mlpgradientflow.io import load_torch, save_julia
    >>> X = np.linspace(-1, 1, 8)[:, None]
    >>> net = mgf.Net([(2, "tanh", True), (1, "identity", True)], input=X, target=X**2)
    >>> res = mgf.train(net, net.random_params(0), maxiterations_ode=5,
    ...                 maxiterations_optim=0, verbosity=0)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = save_julia(os.path.join(d, "res.pt"), res, net, exclude=["trajectory"])
    ...     raw = load_torch(path)
    >>> "trajectory" in raw, raw["x"]["w1"].shape       # column-major M_l, as Julia's
    (False, (2, 2))
    """
    d = julia_dict(res, net)
    if isinstance(exclude, str):
        exclude = [exclude]
    for key in exclude:
        if key not in d:
            warnings.warn(f"save_julia: exclude names {key!r}, which is not a key of the "
                          f"result dict ({sorted(d)})", stacklevel=2)
    return save_torch_legacy(path, {k: v for k, v in d.items() if k not in exclude})


def net_from_julia(res: TrainResult):
    """The network of a result read by :func:`load_julia`: its layer spec and data.

    The reference's ``input`` loses its row of ones and is transposed to (N, Din), the
    target to (N, Dout) (class labels shifted to ``0..Dout-1``).

    Parameters
    ----------
    res : TrainResult
        With ``info["layerspec"]`` and ``info["julia"]["input"]`` (a file written with
        the data).

    Returns
    -------
    Net
        Layers ``info["layerspec"]``, input (N, Din), target (N, Dout) or labels (N,),
        and the sample weights when saved.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> from mlpgradientflow.io import load_julia, net_from_julia, save_julia
    >>> X = np.linspace(-1, 1, 8)[:, None]
    >>> net = mgf.Net([(2, "tanh", True), (1, "identity", True)], input=X, target=X**2)
    >>> res = mgf.train(net, net.random_params(0), maxiterations_ode=5,
    ...                 maxiterations_optim=0, verbosity=0)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     back = net_from_julia(load_julia(save_julia(os.path.join(d, "r.pt"), res, net)))
    >>> back.input.shape, bool(np.array_equal(back.target, net.target))
    ((8, 1), True)
    >>> back.loss(res.x) == res.loss
    True
    """
    from ..net import Net

    spec, data = res.info.get("layerspec"), res.info.get("julia", {})
    if spec is None or "input" not in data or "target" not in data:
        raise ValueError("argument `res` holds no layer spec and data (a file written "
                         "without `layerspec`, `input` or `target`)")
    X, T = np.asarray(data["input"]), np.asarray(data["target"])
    X = X[:-1] if spec[0][2] else X
    T = T - 1 if T.ndim == 1 else T.T
    return Net(spec, input=X.T, target=T, weights=data.get("weights"))
