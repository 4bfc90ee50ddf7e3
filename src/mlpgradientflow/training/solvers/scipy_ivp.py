"""SciPy's step-by-step ODE solvers (``scipy.integrate.OdeSolver``) behind the flow interface.

``LSODA`` (ODEPACK, switches between stiff and non-stiff methods), ``BDF`` (variable
order 1-5, NDF), ``Radau`` (implicit Runge-Kutta, order 5) use the exact Jacobian
:math:`-\\tau \\odot \\nabla^2 L`; ``RK45`` and ``DOP853`` are explicit (fine early in a
flow, very slow once it turns stiff near a minimum). Dense output comes from each
solver's own interpolant.
"""

from __future__ import annotations

import numpy as np
from scipy import integrate

from ..._validation import NonFiniteError
from .base import FlowProblem, FlowSolver, SolverFailure

__all__ = ["ScipySolver"]

_METHODS = {
    "lsoda": (integrate.LSODA, True),
    "bdf": (integrate.BDF, True),
    "radau": (integrate.Radau, True),
    "rk45": (integrate.RK45, False),
    "dop853": (integrate.DOP853, False),
}


class ScipySolver(FlowSolver):
    """One of ``"lsoda"``, ``"bdf"``, ``"radau"``, ``"rk45"``, ``"dop853"``."""

    def __init__(self, method: str) -> None:
        key = method.lower()
        if key not in _METHODS:
            raise ValueError(f"unknown SciPy solver {method!r}; known: {', '.join(_METHODS)}")
        self.name = key
        self._cls, self.uses_jacobian = _METHODS[key]

    def start(self, problem: FlowProblem, t0: float, y0: np.ndarray) -> None:
        kw: dict[str, object] = dict(rtol=problem.rtol, atol=problem.atol)
        if problem.dt is not None:
            kw["first_step"] = problem.dt
        if self.uses_jacobian and problem.jac is not None:
            kw["jac"] = problem.jac
        self._s = self._cls(problem.fun, t0, np.array(y0, dtype=float), problem.t_bound, **kw)
        self.t = self.t_prev = float(t0)
        self.y = self._s.y
        self.n_steps = 0

    def step(self) -> None:
        try:
            message = self._s.step()
        except NonFiniteError:  # from our right-hand side: reported as it is
            raise
        except (ValueError, ArithmeticError, np.linalg.LinAlgError) as err:
            # the inputs were checked before the run: an error inside a step is numerical
            # (step size underflow, a NaN from the solver's own arithmetic)
            raise SolverFailure(f"{self.name}: {err}") from err
        if self._s.status == "failed":
            raise SolverFailure(f"{self.name}: {message}")
        self.t_prev, self.t, self.y = float(self._s.t_old), float(self._s.t), self._s.y
        self.n_steps += 1

    def interpolate(self, ts: np.ndarray) -> np.ndarray:
        return self._s.dense_output()(np.asarray(ts, dtype=float)).T

    def __repr__(self) -> str:
        return f"ScipySolver({self.name!r})"
