"""The result of :func:`~mlpgradientflow.train`, its files, and the reference's result dict.

``res.save(path)`` writes one ``.npz`` file: the arrays, plus the scalars, strings and
options as a JSON document (entry ``meta``), written to a temporary file and renamed, so
an interrupted run never leaves half a file. ``load_result(path)`` reads it back exactly
(floats go through JSON as ``repr``, which round-trips).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from ..endstate import EndState
from ..io import atomic_write
from .stopping import PhaseRecord, StopReason

__all__ = ["TrainResult", "Trajectory", "load_result", "STATUS"]

_ARRAYS = ("x", "init", "ode_x", "loss_curve", "jac")
#: version of the file layout written by :meth:`TrainResult.save`
FORMAT = 2
#: the reference's result keys that are views of the phase records
_VIEWS = ("ode_stopped_by", "optim_stopped_by", "ode_iterations", "optim_iterations",
          "ode_time_run", "optim_time_run")
#: scipy's :class:`~scipy.optimize.OptimizeResult` names that are views of the result
_SCIPY = ("fun", "success", "status", "message", "nit", "nfev", "njev", "nhev")

#: ``res.status`` codes (scipy's habit: 0 is success) and what they mean
STATUS = {
    0: "converged: a critical point (minimum or saddle) to the requested precision",
    1: "budget exhausted before a critical point (iterations, patience, maxT or a wall cap)",
    2: "in a flat channel: the optimum lies at infinity (see res.end_state.channel)",
    3: "failed: the network overflowed or a solver could not go on (best point kept)",
    4: "stopped early: Ctrl-C or the callback (best point so far)",
}


@dataclass
class Trajectory:
    r"""Recorded states: ``t`` (T,) flow times (iterations for discrete rules), ``x`` (T, P).

    Returned by :func:`~mlpgradientflow.train` as ``res.trajectory``: the
    ``n_samples_trajectory`` log-spaced states of :math:`\theta(t)` (and phase 2's final
    point, when phase 2 moved it).

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> X = np.linspace(-1, 1, 20)[:, None]
    >>> net = mgf.Net([(1, "tanh", True), (1, "identity", True)], input=X, target=np.tanh(2 * X))
    >>> res = mgf.train(net, [1.0, 0.0, 1.0, 0.0], maxiterations_ode=500, verbosity=0)
    >>> len(res.trajectory), res.trajectory.x.shape, float(res.trajectory.t[0])
    (101, (101, 4), 0.0)
    >>> bool(np.array_equal(res.trajectory.x[0], res.init))
    True
    """

    t: np.ndarray
    x: np.ndarray

    def __len__(self) -> int:
        return len(self.t)


@dataclass
class TrainResult:
    """What :func:`~mlpgradientflow.train` returns; attribute and ``res["key"]`` access.

    Attributes
    ----------
    x : ndarray (P,)
        The best point over all phases (lowest regularised loss; ties within the loss's
        noise floor go to the smaller gradient).
    loss : float
        Mean loss at ``x`` without barrier and merge penalty.
    gnorm, gnorm_regularized : float
        :math:`\\|\\nabla L(x)\\|_\\infty` without / with the regularisers (all parameters).
    init, ode_x : ndarray (P,)
        The initial point and the best point of phase 1.
    ode_loss : float
        The best regularised loss of phase 1.
    converged : bool
        True exactly when ``x`` is critical to the requested precision: its gradient is at
        most ``min_gnorm`` or at most its noise floor, or its loss is zero to the resolution
        of the evaluation (``end_state.kind`` is ``"minimum"`` or ``"saddle"``). A channel
        is not converged: its optimum lies at infinity.
    trajectory : Trajectory
        ``n_samples_trajectory`` log-spaced times of phase 1 and their states; when phase 2
        moved the point, its final point closes the trajectory at the last flow time + 1
        (as the reference; ``info["trajectory_ends_after_optim"]``).
    loss_curve : ndarray (T,)
        Mean loss (no regularisers) along the trajectory.
    ode, optim : PhaseRecord
        How each phase ended: ``reason`` (a :class:`~.stopping.StopReason`), ``detail``,
        ``iterations``, ``n_gradients``, ``n_hessians``, ``time``, ``message``.
    end_state : EndState or None
        Where the run ended (:func:`~mlpgradientflow.end_state`): ``kind`` in
        {"minimum", "saddle", "channel", "not converged"}, Morse counts at critical points,
        the channel and its GLU limit. None with ``end_state=False``.
    reproducible : bool
        False when a wall-clock cap (``maxtime_*``) ended a phase: the same call can end
        elsewhere on another machine or under other load.
    total_time : float
        Wall-clock seconds.
    n_gradients, n_hessians : int
        Evaluations of (loss, gradient) and of Hessians (noise-floor estimates included).
    shapes : list of (k, m)
        The per-layer parameter shapes, to convert to the reference's dicts.
    options : dict
        The options of the run as flat JSON keywords (:meth:`TrainOptions.to_json`).
    info : dict
        Everything else worth keeping: solver names, layer spec.
    jac : ndarray (P,)
        :math:`\\nabla L_{reg}(x)`, the gradient of the objective that training minimised
        (the mean loss plus barrier and merge penalty when set; ``gnorm_regularized`` is
        its ∞-norm). None in files of older versions.

    scipy's :class:`~scipy.optimize.OptimizeResult` names are read-only views: ``fun``
    (= ``loss``), ``success`` (= ``converged``), ``status`` (an int, :data:`STATUS`),
    ``message`` (the end state and both stop reasons), ``nit`` (flow steps plus optimiser
    iterations), ``nfev`` = ``njev`` (= ``n_gradients``: every evaluation gives loss and
    gradient together) and ``nhev`` (= ``n_hessians``).

    The reference's keys ``ode_stopped_by``, ``optim_stopped_by`` (strings such as
    ``"maxiterations ≥ 100"``), ``ode_iterations``, ``optim_iterations``, ``ode_time_run``,
    ``optim_time_run`` are read-only views of the phase records.

    Examples
    --------
    Fitting :math:`\\tanh(2x)` with one tanh neuron reaches the global minimum
    :math:`(w, b, a, c) = (2, 0, 1, 0)`:

    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> X = np.linspace(-1, 1, 20)[:, None]
    >>> net = mgf.Net([(1, "tanh", True), (1, "identity", True)], input=X, target=np.tanh(2 * X))
    >>> res = mgf.train(net, [1.0, 0.0, 1.0, 0.0], maxiterations_ode=500, verbosity=0)
    >>> res.success, res.status, res.end_state.kind, res.x.round(6) + 0.0
    (True, 0, <EndKind.MINIMUM: 'minimum'>, array([2., 0., 1., 0.]))
    >>> res.message.startswith("minimum: flow stopped by "), res.ode.reason.converged
    (True, True)

    (The flow stops at ``min_gnorm`` or at the noise floor, whichever is larger there: a
    value set by rounding, so it is not printed here.)
    """

    x: np.ndarray
    loss: float
    gnorm: float
    gnorm_regularized: float
    init: np.ndarray
    ode_x: np.ndarray
    ode_loss: float
    converged: bool
    trajectory: Trajectory
    loss_curve: np.ndarray
    ode: PhaseRecord = field(default_factory=PhaseRecord)
    optim: PhaseRecord = field(default_factory=PhaseRecord)
    end_state: EndState | None = None
    reproducible: bool = True
    total_time: float = 0.0
    n_gradients: int = 0
    n_hessians: int = 0
    shapes: list = field(default_factory=list)
    options: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    jac: np.ndarray | None = None

    @property
    def interrupted(self) -> bool:
        """Ctrl-C (or a stop request) ended a phase: ``x`` is the best point so far, not an
        end state of the run."""
        return StopReason.INTERRUPTED in (self.ode.reason, self.optim.reason)

    @property
    def ode_stopped_by(self) -> str:
        """The reference's stop string of phase 1, e.g. ``"maxiterations ≥ 100"``."""
        return self.ode.stopped_by

    @property
    def optim_stopped_by(self) -> str:
        """The reference's stop string of phase 2."""
        return self.optim.stopped_by

    @property
    def ode_iterations(self) -> int:
        """Accepted flow steps (or rule iterations) of phase 1."""
        return self.ode.iterations

    @property
    def optim_iterations(self) -> int:
        """Optimiser iterations of phase 2."""
        return self.optim.iterations

    @property
    def ode_time_run(self) -> float:
        """Wall-clock seconds of phase 1 (reported only)."""
        return self.ode.time

    @property
    def optim_time_run(self) -> float:
        """Wall-clock seconds of phase 2 (reported only)."""
        return self.optim.time

    # -- scipy.optimize.OptimizeResult's names ---------------------------------------------
    @property
    def fun(self) -> float:
        """scipy's name of ``loss``."""
        return self.loss

    @property
    def success(self) -> bool:
        """scipy's name of ``converged``."""
        return self.converged

    @property
    def status(self) -> int:
        """0 converged, 1 budget exhausted, 2 channel, 3 failed, 4 stopped early (:data:`STATUS`).

        Examples
        --------
        >>> import numpy as np
        >>> import mlpgradientflow as mgf
        >>> X = np.array([[0.0], [1.0], [2.0]])
        >>> net = mgf.Net([(1, "identity", False)], input=X, target=2 * X)
        >>> res = mgf.train(net, [0.0], maxiterations_ode=50, verbosity=0)
        >>> res.status, STATUS[res.status][:10]
        (0, 'converged:')
        """
        reasons = (self.ode.reason, self.optim.reason)
        if self.converged:
            return 0
        if StopReason.FAILED in reasons or StopReason.SOLVER_FAILURE in reasons:
            return 3
        if StopReason.INTERRUPTED in reasons or StopReason.CALLBACK in reasons:
            return 4
        kind = None if self.end_state is None else str(self.end_state.kind)
        if kind == "channel" or StopReason.CHANNEL in reasons:
            return 2
        return 1

    @property
    def message(self) -> str:
        """The end state and the stop reason of each phase that ran, in words."""
        kind = "not classified" if self.end_state is None else str(self.end_state.kind)
        parts = [f"{name} stopped by {rec.stopped_by}" for name, rec in
                 (("flow", self.ode), ("optimiser", self.optim))
                 if rec.reason is not StopReason.NOT_RUN]
        return f"{kind}: " + ("; ".join(parts) or "no phase ran")

    @property
    def nit(self) -> int:
        """Flow steps plus optimiser iterations."""
        return self.ode.iterations + self.optim.iterations

    @property
    def nfev(self) -> int:
        """Loss evaluations, ``n_gradients`` (each one gives the gradient too)."""
        return self.n_gradients

    @property
    def njev(self) -> int:
        """Gradient evaluations, ``n_gradients``."""
        return self.n_gradients

    @property
    def nhev(self) -> int:
        """Hessian evaluations, ``n_hessians``."""
        return self.n_hessians

    def __getitem__(self, key: str) -> Any:
        if key not in self.keys():
            hidden = key in self.info.get("hidden_keys", ())
            raise KeyError(f"{key!r} (left out by include/exclude)" if hidden else key)
        return getattr(self, key)

    def keys(self) -> list[str]:
        """The result's keys (the reference's and scipy's names; ``include``/``exclude``
        of :func:`~mlpgradientflow.train` leave some out).

        Examples
        --------
        >>> import numpy as np
        >>> import mlpgradientflow as mgf
        >>> X = np.array([[0.0], [1.0], [2.0]])
        >>> net = mgf.Net([(1, "identity", False)], input=X, target=2 * X)
        >>> res = mgf.train(net, [0.0], maxiterations_ode=50, verbosity=0)
        >>> res.keys()[:3], "nfev" in res.keys(), res["nfev"] == res.n_gradients
        (['x', 'loss', 'gnorm'], True, True)
        """
        hidden = set(self.info.get("hidden_keys", ()))
        return [k for k in [f.name for f in fields(self)] + list(_VIEWS) + list(_SCIPY)
                if k not in hidden]

    def __repr__(self) -> str:
        kind = "" if self.end_state is None else f"end_state={str(self.end_state.kind)!r}, "
        return (
            f"TrainResult({kind}loss={self.loss:.6g}, gnorm={self.gnorm:.3g}, "
            f"converged={self.converged}, ode_stopped_by={self.ode_stopped_by!r}, "
            f"optim_stopped_by={self.optim_stopped_by!r}, P={self.x.size}, "
            f"total_time={self.total_time:.3g}s)"
        )

    # -- files ---------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Write the result to ``path`` (a ``.npz`` file), atomically; :func:`load_result`
        reads it back.

        Examples
        --------
        >>> import os, tempfile
        >>> import numpy as np
        >>> import mlpgradientflow as mgf
        >>> X = np.array([[0.0], [1.0], [2.0]])
        >>> net = mgf.Net([(1, "identity", False)], input=X, target=2 * X)
        >>> res = mgf.train(net, [0.0], maxiterations_ode=50, verbosity=0)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     res.save(os.path.join(d, "res.npz"))
        ...     back = load_result(os.path.join(d, "res.npz"))
        >>> back.x, back.ode_stopped_by
        (array([2.]), 'maxiterations ≥ 50')
        """
        arrays: dict[str, Any] = {k: np.asarray(getattr(self, k)) for k in _ARRAYS
                                  if getattr(self, k) is not None}
        arrays["trajectory_t"] = self.trajectory.t
        arrays["trajectory_x"] = self.trajectory.x
        meta = {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in _ARRAYS and f.name != "trajectory"}
        meta["ode"], meta["optim"] = self.ode.to_dict(), self.optim.to_dict()
        meta["end_state"] = None if self.end_state is None else self.end_state.to_dict()
        meta["format"] = FORMAT
        arrays["meta"] = np.array(json.dumps(meta, default=_jsonable))
        atomic_write(path, lambda f: np.savez(f, **arrays))

    # -- the reference's format ------------------------------------------------------------------
    def to_reference_dict(self, net=None) -> dict:
        """The result as MLPGradientFlow.jl's result dict (:func:`mlpgradientflow.io.julia_dict`).

        Parameters are ``{"w1": M_1, ...}`` with ``M_l = [W_l | b_l]`` as in the reference;
        ``input``/``target``/``weights`` are added in its layout when ``net`` is given.
        ``mgf.io.save_julia(path, res, net)`` writes it as the reference's ``pickle``.

        Examples
        --------
        >>> import numpy as np
        >>> import mlpgradientflow as mgf
        >>> X = np.array([[0.0], [1.0], [2.0]])
        >>> net = mgf.Net([(1, "identity", False)], input=X, target=2 * X)
        >>> res = mgf.train(net, [0.0], maxiterations_ode=50, verbosity=0)
        >>> d = res.to_reference_dict(net)
        >>> d["x"], d["input"].shape, d["ode_stopped_by"]             # input (Din, N)
        ({'w1': array([[2.]])}, (1, 3), 'maxiterations ≥ 50')
        """
        from ..io.julia import julia_dict  # the bridge sits above training

        hidden = set(self.info.get("hidden_keys", ()))
        return {k: v for k, v in julia_dict(self, net).items() if k not in hidden}

    def params2dict(self, p=None) -> dict:
        """``{"w1": M_1, ...}`` of ``p`` (default: ``x``) in the run's layer shapes.

        Examples
        --------
        >>> import numpy as np
        >>> import mlpgradientflow as mgf
        >>> X = np.array([[0.0], [1.0], [2.0]])
        >>> net = mgf.Net([(1, "identity", False)], input=X, target=2 * X)
        >>> res = mgf.train(net, [0.0], maxiterations_ode=50, verbosity=0)
        >>> res.params2dict(), res.params2dict([5.0])
        ({'w1': array([[2.]])}, {'w1': array([[5.]])})
        """
        p = self.x if p is None else p
        out, o = {}, 0
        for i, (k, m) in enumerate(self.shapes, 1):
            out[f"w{i}"] = np.array(p[o : o + k * m]).reshape(k, m)
            o += k * m
        return out


def _jsonable(v):
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, tuple):
        return list(v)
    return repr(v)


def load_result(path: str | os.PathLike) -> TrainResult:
    """Read a result written by :meth:`TrainResult.save`.

    Parameters
    ----------
    path : str or PathLike
        A ``.npz`` file written by :meth:`TrainResult.save` (of this file format).

    Returns
    -------
    TrainResult
        Equal to the saved one: arrays bit for bit, floats through their ``repr``.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> X = np.linspace(-1, 1, 20)[:, None]
    >>> net = mgf.Net([(1, "tanh", True), (1, "identity", True)], input=X, target=np.tanh(2 * X))
    >>> res = mgf.train(net, [1.0, 0.0, 1.0, 0.0], maxiterations_ode=500, verbosity=0)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     res.save(os.path.join(d, "res.npz"))
    ...     back = mgf.load_result(os.path.join(d, "res.npz"))
    >>> bool(np.array_equal(back.x, res.x)), back.end_state == res.end_state, back.nit == res.nit
    (True, True, True)
    """
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        arrays = {k: z[k] for k in _ARRAYS if k in z.files}
        traj = Trajectory(z["trajectory_t"], z["trajectory_x"])
    if meta.pop("format", None) != FORMAT:
        raise ValueError(f"{os.fspath(path)}: not a result file of this version of "
                         f"mlpgradientflow (file format {FORMAT} expected)")
    meta["shapes"] = [tuple(s) for s in meta.get("shapes", [])]
    meta["ode"], meta["optim"] = PhaseRecord.from_dict(meta["ode"]), PhaseRecord.from_dict(meta["optim"])
    if meta.get("end_state") is not None:
        meta["end_state"] = EndState.from_dict(meta["end_state"])
    return TrainResult(trajectory=traj, **arrays, **meta)
