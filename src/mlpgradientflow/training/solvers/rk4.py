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
    r"""Classical RK4 with the fixed step ``dt`` (see the module docstring).

    Examples
    --------
    Five steps of :math:`h = 0.15` on :math:`dw/dt = -\frac{10}{3}(w - 2)`: each step
    multiplies :math:`w - 2` by RK4's :math:`R(z) = 1 + z + z^2/2 + z^3/6 + z^4/24` at
    :math:`z = -0.5`, close to the exact flow :math:`2 - 2e^{-10t/3}` at :math:`t = 0.75`:

    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> from mlpgradientflow.training.solvers import RK4
    >>> X = np.array([[0.0], [1.0], [2.0]])
    >>> net = mgf.Net([(1, "identity", False)], input=X, target=2 * X)
    >>> res = mgf.train(net, [0.0], alg=RK4(dt=0.15), maxiterations_ode=5,
    ...                 maxiterations_optim=0, verbosity=0)
    >>> z = -0.5
    >>> res.trajectory.x[-1], 2 - 2 * (1 + z + z**2 / 2 + z**3 / 6 + z**4 / 24) ** 5
    (array([1.83550471]), 1.8355047055824332)
    >>> float(2 - 2 * np.exp(-2.5))
    1.8358300027522023
    """

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
