"""The interface every gradient-flow solver implements: one accepted step at a time.

The flow loop (``train/flow.py``) calls :meth:`FlowSolver.start` once, then
:meth:`FlowSolver.step` until a stopping rule fires, and asks
:meth:`FlowSolver.interpolate` for states inside the last step (the trajectory is
recorded from this dense output). Stopping rules are checked after every step, so no
solver needs events or root finding.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["FlowProblem", "FlowSolver", "SolverFailure", "hermite_interpolate"]


class SolverFailure(RuntimeError):
    """The solver could not take a step (step size underflow, repeated failures, ...)."""


@dataclass
class FlowProblem:
    """dy/dt = fun(t, y) with Jacobian jac(t, y), as the solvers see it.

    ``fun`` returns a new (P,) array, ``jac`` a new (P, P) array (d fun_i / d y_j), ``jvp``
    (optional) the product ``jac(t, y) @ v`` without forming the matrix, ``fun_jac``
    (optional) both ``fun`` and ``jac`` at one point from one pass (the engine's ``fgh``).
    ``dt`` is the initial step (adaptive solvers) or the fixed step (``"rk4_fixed"``); None
    lets the solver choose. ``t_bound`` is the end of the time interval (may be inf).
    """

    fun: Callable[[float, np.ndarray], np.ndarray]
    jac: Callable[[float, np.ndarray], np.ndarray] | None
    jvp: Callable[[float, np.ndarray, np.ndarray], np.ndarray] | None = None
    fun_jac: Callable[[float, np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None
    rtol: float = 1e-6
    atol: float = 1e-6
    dt: float | None = None
    t_bound: float = math.inf


class FlowSolver:
    r"""Base class: subclasses set ``name`` and ``uses_jacobian`` and implement
    ``start``, ``step`` and ``interpolate``.

    After ``start``, ``t`` and ``y`` hold the current state; after each ``step``,
    ``t_prev`` is the start of the step just taken. ``n_steps`` counts accepted steps.
    Training keeps the best point among the points where ``problem.fun`` was evaluated, so a
    solver should evaluate it at the end of each step (as the next step's first stage).

    Examples
    --------
    Explicit Euler, :math:`y \leftarrow y + h\,f(t, y)`, as a solver of
    :func:`~mlpgradientflow.train`; on :math:`L = \frac53(w - 2)^2` with :math:`h = 0.15`
    each step halves :math:`w - 2`:

    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> from mlpgradientflow.training import FlowSolver
    >>> class Euler(FlowSolver):
    ...     name = "euler"
    ...     def __init__(self, h):
    ...         self.h = h
    ...     def start(self, problem, t0, y0):
    ...         self.f, self.t, self.t_prev, self.n_steps = problem.fun, t0, t0, 0
    ...         self.y = self.y_prev = np.array(y0, dtype=float)
    ...         self.dy = self.f(self.t, self.y)
    ...     def step(self):
    ...         self.t_prev, self.y_prev = self.t, self.y
    ...         self.t, self.y = self.t + self.h, self.y + self.h * self.dy
    ...         self.dy = self.f(self.t, self.y)
    ...         self.n_steps += 1
    ...     def interpolate(self, ts):
    ...         s = (np.asarray(ts) - self.t_prev) / (self.t - self.t_prev)
    ...         return self.y_prev + s[:, None] * (self.y - self.y_prev)
    >>> X = np.array([[0.0], [1.0], [2.0]])
    >>> net = mgf.Net([(1, "identity", False)], input=X, target=2 * X)  # L = 5/3 (w - 2)^2
    >>> res = mgf.train(net, [0.0], alg=Euler(0.15), maxiterations_ode=20,
    ...                 maxiterations_optim=0, verbosity=0)
    >>> res.x, 2 - 2 * 0.5**20
    (array([1.99999809]), 1.9999980926513672)
    """

    name: str = "solver"
    uses_jacobian: bool = False

    t: float
    t_prev: float
    y: np.ndarray
    n_steps: int = 0

    def start(self, problem: FlowProblem, t0: float, y0: np.ndarray) -> None:
        """Begin at ``(t0, y0)`` on ``problem``; ``t``, ``y`` then hold the state."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance by one accepted step; raise :class:`SolverFailure` when impossible."""
        raise NotImplementedError

    def interpolate(self, ts: np.ndarray) -> np.ndarray:
        """States at times ``ts`` within ``[t_prev, t]``, shape (len(ts), P)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def hermite_interpolate(ts, t0, y0, f0, t1, y1, f1) -> np.ndarray:
    """Cubic Hermite interpolation between (t0, y0, y0' = f0) and (t1, y1, f1).

    Third-order dense output for one-step methods without a native interpolant.
    """
    ts = np.asarray(ts, dtype=float)
    h = t1 - t0
    if h == 0:
        return np.repeat(y1[None], len(ts), axis=0)
    s = ((ts - t0) / h)[:, None]
    h00 = (1 + 2 * s) * (1 - s) ** 2
    h10 = s * (1 - s) ** 2
    h01 = s * s * (3 - 2 * s)
    h11 = s * s * (s - 1)
    return h00 * y0 + h10 * h * f0 + h01 * y1 + h11 * h * f1
