"""The classical fixed-step Runge-Kutta method of order 4.

Without ``dt`` the step is :math:`1/\\lambda_{max}` of the Jacobian at the start (well
inside RK4's stability interval, :math:`h\\lambda < 2.78` for real eigenvalues). Dense
output: cubic Hermite interpolation (the step-end derivative is the next step's first
stage, so it costs nothing).
"""

from __future__ import annotations

import numpy as np

from .base import FlowProblem, FlowSolver, SolverFailure, hermite_interpolate

__all__ = ["RK4"]


class RK4(FlowSolver):
    name = "rk4"
    uses_jacobian = False

    def __init__(self, dt: float | None = None) -> None:
        self.dt = dt

    def start(self, problem: FlowProblem, t0: float, y0: np.ndarray) -> None:
        self.f = problem.fun
        self.t_bound = problem.t_bound
        self.t = self.t_prev = float(t0)
        self.y = np.array(y0, dtype=float)
        self.k1 = self.f(self.t, self.y)
        h = self.dt if self.dt is not None else problem.dt
        if h is None:
            if problem.jac is None:
                raise SolverFailure("rk4: give `dt`, or a Jacobian to choose it")
            lam = np.abs(np.linalg.eigvals(problem.jac(self.t, self.y))).max()
            h = 1.0 / lam if lam > 0 else 1.0
        if not h > 0:
            raise SolverFailure(f"rk4: the step must be positive, got {h}")
        self.h = float(h)
        self.n_steps = 0

    def step(self) -> None:
        h = min(self.h, self.t_bound - self.t)
        t, y, f, k1 = self.t, self.y, self.f, self.k1
        k2 = f(t + h / 2, y + (h / 2) * k1)
        k3 = f(t + h / 2, y + (h / 2) * k2)
        k4 = f(t + h, y + h * k3)
        y_new = y + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4)
        self._prev = (t, y, k1)
        self.t_prev, self.t, self.y = t, t + h, y_new
        self.k1 = f(self.t, self.y)
        self.n_steps += 1

    def interpolate(self, ts: np.ndarray) -> np.ndarray:
        t0, y0, f0 = self._prev
        return hermite_interpolate(ts, t0, y0, f0, self.t, self.y, self.k1)
