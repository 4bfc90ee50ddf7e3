r"""Why a phase ended: the stopping rules, the reasons as an enum, and the per-phase record.

The rules are checked after every accepted step or iteration, in the reference's order:
patience, wall time (only when a cap is set), :math:`t > 10^{300}`, the step budget,
``minloss``, ``min_gnorm``; then two of ours: the **noise floor** (the best point's gradient
is at the resolution of the evaluation, :func:`~mlpgradientflow.endstate.noise_floor`: it is
critical as far as float64 can tell, even if above ``min_gnorm``) and the **channel** rule
(the state is established in a flat channel, when ``stop_on_channel`` is set).

``minloss`` fires only for a loss that is resolved at that level: a loss at or below its
noise floor (a ``NetI`` loss that came out negative by round-off, say) is not evidence of a
zero-loss solution.

Each phase ends with a :class:`PhaseRecord`: the :class:`StopReason`, its detail, the
iterations, the evaluations and the time. ``record.stopped_by`` is the reference's string
(``"maxiterations ≥ 100"``, ``"min_gnorm ≤ 1e-15"``, ...), kept for
``res.ode_stopped_by``/``res.optim_stopped_by``.
"""

from __future__ import annotations

import enum
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..endstate.channels import ChannelWatch

__all__ = ["StopReason", "PhaseRecord", "StopRules", "Stop", "StepInfo"]


class StopReason(enum.Enum):
    """Why a phase ended; ``value`` is a template of the reference's string.

    The ``reason`` of the :class:`PhaseRecord` of each phase (``res.ode``, ``res.optim``)
    returned by :func:`~mlpgradientflow.train`.

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> X = np.linspace(-1, 1, 20)[:, None]
    >>> net = mgf.Net([(1, "tanh", True), (1, "identity", True)], input=X, target=np.tanh(2 * X))
    >>> res = mgf.train(net, [1.0, 0.0, 1.0, 0.0], maxiterations_ode=5, verbosity=0)
    >>> res.ode.reason, res.ode.reason.converged, res.ode_stopped_by
    (<StopReason.MAXITERATIONS: 'maxiterations ≥ {}'>, False, 'maxiterations ≥ 5')
    >>> res.optim.reason.converged  # Newton went on to the minimum
    True
    """

    NOT_RUN = ""
    PATIENCE = "patience ({})"
    MAXTIME = "maxtime > {}s"
    T_INFINITE = "t > 1e300"
    MAXITERATIONS = "maxiterations ≥ {}"
    MINLOSS = "minloss ≤ {}"
    MIN_GNORM = "min_gnorm ≤ {}"
    NOISE_FLOOR = "noise floor ({})"
    MAXT = "maxT"
    CHANNEL = "channel {}"
    CALLBACK = "callback"
    LINE_SEARCH_FAILED = "line search failed"
    METHOD_ENDED = "{}"  # a scipy method ended by itself: its message
    SOLVER_FAILURE = "solver failure"
    FAILED = "failed: {}"
    INTERRUPTED = "interrupted"
    NO_FREE_PARAMETERS = "no free parameters"

    @property
    def converged(self) -> bool:
        """The phase ended at a critical point (to the requested precision or the floor)."""
        return self in (StopReason.MIN_GNORM, StopReason.NOISE_FLOOR, StopReason.MINLOSS)

    @property
    def wall_clock(self) -> bool:
        """The phase was ended by a wall-clock cap: the result depends on the machine."""
        return self is StopReason.MAXTIME


@dataclass(frozen=True)
class Stop:
    """A stopping rule that fired: the reason and the detail that completes its string."""

    reason: StopReason
    detail: str = ""

    @property
    def stopped_by(self) -> str:
        return self.reason.value.format(self.detail) if "{}" in self.reason.value else self.reason.value


@dataclass(frozen=True)
class PhaseRecord:
    """How one phase of training went.

    Attributes
    ----------
    reason : StopReason
        Why it ended (``NOT_RUN`` when it did not run).
    detail : str
        What completes the reason (the budget, the threshold, the channel's neurons, the
        error type of a failure).
    iterations : int
        Accepted steps (flow) or iterations (optimiser).
    n_gradients, n_hessians : int
        Loss-and-gradient and Hessian evaluations of the phase.
    time : float
        Wall-clock seconds (reported, never used to decide anything unless a cap is set).
    message : str
        The solver's or optimiser's own words (failures, scipy's message).

    Examples
    --------
    Returned by :func:`~mlpgradientflow.train` as ``res.ode`` and ``res.optim``:

    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> X = np.linspace(-1, 1, 20)[:, None]
    >>> net = mgf.Net([(1, "tanh", True), (1, "identity", True)], input=X, target=np.tanh(2 * X))
    >>> res = mgf.train(net, [1.0, 0.0, 1.0, 0.0], maxiterations_ode=20, verbosity=0)
    >>> res.ode.reason, res.ode.iterations, res.ode.stopped_by       # budget spent
    (<StopReason.MAXITERATIONS: 'maxiterations ≥ {}'>, 20, 'maxiterations ≥ 20')
    >>> res.optim.reason.converged                                   # Newton finished it
    True
    """

    reason: StopReason = StopReason.NOT_RUN
    detail: str = ""
    iterations: int = 0
    n_gradients: int = 0
    n_hessians: int = 0
    time: float = 0.0
    message: str = ""

    @property
    def stopped_by(self) -> str:
        """The reference's stop string, e.g. ``"maxiterations ≥ 100"`` ("" when not run)."""
        return Stop(self.reason, self.detail).stopped_by

    def to_dict(self) -> dict:
        d = asdict(self)
        d["reason"] = self.reason.name
        return d

    @classmethod
    def from_dict(cls, d: dict) -> PhaseRecord:
        return cls(**{**d, "reason": StopReason[d["reason"]]})


@dataclass(frozen=True)
class StepInfo:
    """What a ``callback`` of :func:`~mlpgradientflow.train` sees after each accepted step.

    Attributes
    ----------
    phase : str
        ``"flow"`` or ``"optim"``.
    iteration : int
        Steps (flow) or iterations (optimiser) of the phase so far.
    t : float or None
        Flow time (iterations for discrete rules; None in phase 2).
    x : ndarray (P,)
        The current state (read-only; copy it to keep it).
    best_loss, best_gnorm : float
        The best point so far: its regularised loss and gradient norm.
    """

    phase: str
    iteration: int
    t: float | None
    x: object
    best_loss: float
    best_gnorm: float


@dataclass
class StopRules:
    """The stopping rules of a phase (see the module docstring).

    ``channels`` is a :class:`~mlpgradientflow.endstate.channels.ChannelWatch` fed with
    every checked state; with ``stop_on_channel`` the phase ends once it reports a channel.
    ``callback(StepInfo)`` is called last, after every step; a true return value ends the
    phase (``CALLBACK``), and a KeyboardInterrupt raised by it ends it as interrupted.
    """

    maxtime: float = math.inf
    maxiterations: int = 10**6
    patience: int = 10**6
    minloss: float = 2e-32
    min_gnorm: float = 1e-15
    channels: ChannelWatch | None = None
    stop_on_channel: bool = False
    callback: Callable[[StepInfo], object] | None = None
    phase: str = ""

    def __post_init__(self) -> None:
        self.start = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def check(self, obj, iterations: int, t: float | None = None, x=None) -> Stop | None:
        """The first rule that fires for the objective's best point, or None."""
        if obj.since_best() > self.patience:
            return Stop(StopReason.PATIENCE, str(self.patience))
        if self.maxtime < math.inf and self.elapsed() > self.maxtime:
            return Stop(StopReason.MAXTIME, f"{self.maxtime:g}")
        if t is not None and t > 1e300:
            return Stop(StopReason.T_INFINITE)
        if iterations >= self.maxiterations:
            return Stop(StopReason.MAXITERATIONS, str(self.maxiterations))
        if 0.0 <= obj.best_loss <= self.minloss and obj.best_noise().loss <= self.minloss:
            return Stop(StopReason.MINLOSS, f"{self.minloss:g}")
        if obj.best_gnorm <= self.min_gnorm:
            return Stop(StopReason.MIN_GNORM, f"{self.min_gnorm:g}")
        if obj.best_gnorm <= 2 * obj.gradient_floor():  # near the (lazily measured) floor:
            floor = obj.best_noise().gradient  # decide with the floor at the point itself,
            if obj.best_gnorm <= floor:  # exactly as its end state will
                return Stop(StopReason.NOISE_FLOOR, f"{floor:.2g}")
        if self.channels is not None and x is not None:
            found = self.channels.update(x)
            if found is not None and self.stop_on_channel:
                return Stop(StopReason.CHANNEL, str(found))
        if self.callback is not None and x is not None:
            view = x.view()
            view.flags.writeable = False
            if self.callback(StepInfo(self.phase, iterations, t, view, obj.best_loss,
                                      obj.best_gnorm)):
                return Stop(StopReason.CALLBACK)
        return None
