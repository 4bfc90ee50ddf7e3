r"""The classical Runge-Kutta method of order 4: adaptive, as OrdinaryDiffEq.jl's ``RK4()``,
or with a fixed step.

One step from :math:`(t_0, y_0)` with step :math:`h` (Butcher tableau
:math:`c = (0, \tfrac12, \tfrac12, 1)`, :math:`a_{21} = a_{32} = \tfrac12`, :math:`a_{43} = 1`,
:math:`b = (\tfrac16, \tfrac13, \tfrac13, \tfrac16)`):

.. math::

    k_1 = f(t_0, y_0),\quad k_2 = f(t_0 + \tfrac h2, y_0 + \tfrac h2 k_1),\quad
    k_3 = f(t_0 + \tfrac h2, y_0 + \tfrac h2 k_2),\quad k_4 = f(t_0 + h, y_0 + h k_3),

    y_1 = y_0 + \tfrac h6 (k_1 + 2k_2 + 2k_3 + k_4),\qquad k_5 = f(t_0 + h, y_1)

(:math:`k_5` is the next step's :math:`k_1`: four new evaluations per fixed step).

**Error estimate (adaptive).** RK4 has no embedded method. OrdinaryDiffEq.jl (the solver
library of MLPGradientFlow.jl, whose ``RK4()`` is adaptive by default) controls instead the
*defect* (residual) of the step's dense output, following Shampine, "Solving ODEs and DDEs
with residual control", Appl. Numer. Math. 52 (2005) 113-127. The dense output is the cubic
Hermite interpolant :math:`p` through :math:`(y_0, k_1)` and :math:`(y_1, k_5)`; with
:math:`\sigma_{1,2} = \tfrac12 \mp \tfrac{\sqrt3}{6}` (where the leading term of the residual,
proportional to :math:`\sigma(1-\sigma)(1-2\sigma)`, has its extrema) and two more
evaluations of :math:`f`,

.. math::

    r_j = h\,\big(f(t_0 + \sigma_j h,\ p(\sigma_j)) - p'(\sigma_j)\big),\qquad
    e_j = \Big(\frac1P \sum_i \Big(\frac{r_{j,i}}{\mathrm{atol} + \mathrm{rtol}\,
          \max(|y_{0,i}|, |y_{1,i}|)}\Big)^2\Big)^{1/2},\qquad
    \mathrm{EEst} = 2.1342\,\max(e_1, e_2),

with :math:`p'(\sigma) = 6\sigma(1-\sigma)(y_1 - y_0)/h + (1 - 4\sigma + 3\sigma^2) k_1 +
(3\sigma^2 - 2\sigma) k_5` (the derivative in :math:`t`). This is OrdinaryDiffEq's
``perform_step!`` for ``RK4`` term for term (points, interpolant, weights, RMS norm and the
constant 2.1342, taken as it is); six new evaluations per step.

How it compares with an embedded estimate (Dormand-Prince ``"rk45"`` estimates the local
error of its order-4 solution at the step's end, :math:`O(h^5)`, and propagates the order-5
one): the defect is :math:`O(h^4)`, one order lower, and bounds the error of the whole
interpolant, not only of :math:`y_1`; the controller then holds about the error per unit
step, and the global error comes out about proportional to the tolerance
(``tests/test_rk4.py`` measures the slope, 1.0). It is more conservative and costs more:
on :math:`y' = -(y - \cos t) - \sin t`, :math:`t \in [0, 10]`, at rtol = atol = 1e-10,
``"rk4"`` makes 7562 evaluations for an error of 2.4e-11, SciPy's RK45 1208 for 4.4e-11
(both slope 1.0 over tolerances 1e-5 to 1e-10).

**Step-size control** is OrdinaryDiffEq's default PI controller for this method (order
:math:`k = 4`: :math:`\beta_1 = 7/(10k)`, :math:`\beta_2 = 2/(5k)`, safety
:math:`\gamma = 0.9`, :math:`q_{min} = 1/5`, :math:`q_{max} = 10`,
:math:`q_{old} = 10^{-4}` at the start): a step is accepted when
:math:`\mathrm{EEst} \le 1`; then :math:`h \leftarrow h/q` with
:math:`q = \mathrm{clip}(\mathrm{EEst}^{\beta_1} q_{old}^{-\beta_2}/\gamma,\ 1/q_{max},\
1/q_{min})` (:math:`q = 1/q_{max}` when EEst = 0) and
:math:`q_{old} = \max(\mathrm{EEst}, 10^{-4})`. A rejected step is retried with
:math:`h / \min(1/q_{min}, \mathrm{EEst}^{\beta_1}/\gamma)`. The first step is
OrdinaryDiffEq's (Hairer's) heuristic with one trial evaluation (HW I, §II.4, exponent
:math:`1/k`). Differences from OrdinaryDiffEq, all on failure paths: a trial whose stage
or residual evaluation is not finite (the network overflowed) is rejected and retried with
:math:`h\,q_{min}`, as the package's Rosenbrock solvers do; more than ``max_rejections``
rejections in a row, or a step below :math:`10^{-14}\max(1, |t|)`, raise
:class:`SolverFailure` (training then ends with ``"failed: solver failure"``, keeping
the best point).

**Fixed step** (``adaptive=False``, the solver ``"rk4_fixed"``): the step ``dt``, or without
one :math:`1/\lambda_{max}` of the Jacobian at the start (well inside RK4's stability
interval, :math:`h\lambda < 2.78` for real eigenvalues); no error control.

Dense output (both modes): the cubic Hermite interpolant :math:`p` (free: :math:`k_5` is
computed anyway).
"""

from __future__ import annotations

import math

import numpy as np

from ..._validation import NonFiniteError, as_int, as_real
from .base import FlowProblem, FlowSolver, SolverFailure, hermite_interpolate

__all__ = ["RK4"]

ORDER = 4
_SIGMAS = (0.5 - math.sqrt(3) / 6, 0.5 + math.sqrt(3) / 6)
_DEFECT_SCALE = 2.1342  # OrdinaryDiffEq's constant for RK4's residual estimate
# a trial evaluation that overflows is a rejected step (shrink h), not a solver failure
_TRIAL_ERRORS = (NonFiniteError, FloatingPointError)


class RK4(FlowSolver):
    r"""Classical RK4, adaptive with OrdinaryDiffEq's residual estimate or fixed-step (see the
    module docstring for the method, the estimate and the controller).

    Parameters
    ----------
    dt : float, optional
        Initial step (adaptive) or the fixed step; overrides ``problem.dt``.
    adaptive : bool
        True (``"rk4"``): error control; False (``"rk4_fixed"``): fixed steps.
    beta1, beta2, gamma, qmin, qmax, qoldinit : float
        PI controller constants (defaults: OrdinaryDiffEq's for RK4, 7/40, 1/10, 0.9,
        0.2, 10, 1e-4).
    max_rejections : int
        Consecutive rejections before :class:`SolverFailure`.

    Attributes
    ----------
    h : float
        The next (trial) step.
    n_steps, n_rejected, nfev : int
        Accepted and rejected steps, evaluations of ``fun``.

    Examples
    --------
    >>> prob = FlowProblem(lambda t, y: -y, None, rtol=1e-8, atol=1e-8, t_bound=1.0)
    >>> solver = RK4()
    >>> solver.start(prob, 0.0, np.ones(1))
    >>> while solver.t < 1.0:
    ...     solver.step()
    >>> bool(abs(solver.y[0] - np.exp(-1.0)) < 1e-8), solver.name
    (True, 'rk4')
    >>> solver.nfev == 2 + 6 * (solver.n_steps + solver.n_rejected)  # k1, first-step trial
    True
    """

    uses_jacobian = False

    def __init__(self, dt: float | None = None, *, adaptive: bool = True,
                 beta1: float = 7 / 40, beta2: float = 1 / 10, gamma: float = 0.9,
                 qmin: float = 0.2, qmax: float = 10.0, qoldinit: float = 1e-4,
                 max_rejections: int = 30) -> None:
        if dt is not None:
            dt = as_real("dt", dt, positive=True)
        if not isinstance(adaptive, bool):
            raise TypeError(f"argument `adaptive` must be True or False, got {adaptive!r}")
        consts = dict(beta1=beta1, beta2=beta2, gamma=gamma, qmin=qmin, qmax=qmax,
                      qoldinit=qoldinit)
        ranges = dict(beta1=(0, math.inf), beta2=(0, math.inf), gamma=(0, 1), qmin=(0, 1),
                      qmax=(1, math.inf), qoldinit=(0, math.inf))
        for key, v in consts.items():
            lo, hi = ranges[key]
            ok = isinstance(v, int | float) and not isinstance(v, bool) and lo < v < hi
            if not (ok or (key == "beta2" and v == 0) or (key == "gamma" and v == 1)):
                raise ValueError(f"argument `{key}` must lie in ({lo:g}, {hi:g}), got {v!r}")
        max_rejections = as_int("max_rejections", max_rejections, minimum=1)
        self.dt, self.adaptive = dt, adaptive
        self.name = "rk4" if adaptive else "rk4_fixed"
        self.beta1, self.beta2, self.gamma = beta1, beta2, gamma
        self.qmin, self.qmax, self.qoldinit = qmin, qmax, qoldinit
        self.max_rejections = max_rejections

    def __repr__(self) -> str:
        return f"RK4(dt={self.dt!r}, adaptive={self.adaptive})"

    # -- public interface -------------------------------------------------------------------
    def start(self, problem: FlowProblem, t0: float, y0: np.ndarray) -> None:
        self.problem = problem
        self.t = self.t_prev = float(t0)
        self.y = np.array(y0, dtype=float).ravel()
        self.n_steps = self.n_rejected = self.nfev = 0
        self.k1 = self._fun(self.t, self.y)
        self.qold = self.qoldinit
        self._prev = (self.t, self.y, self.k1)
        h = self.dt if self.dt is not None else problem.dt
        if h is None:
            h = self._initial_step() if self.adaptive else self._stable_step()
        if not h > 0:
            raise SolverFailure(f"{self.name}: the step must be positive, got {h}")
        self.h = float(h)

    def step(self) -> None:
        t, y0, k1 = self.t, self.y, self.k1
        if t >= self.problem.t_bound:
            raise SolverFailure(f"{self.name}: cannot step beyond t_bound = {self.problem.t_bound}")
        if not self.adaptive:
            h, t_new = self._clip(self.h)
            y1, k5 = self._rk4(h, y0, k1)  # an overflow fails the phase (no error control)
            if not (np.isfinite(y1).all() and np.isfinite(k5).all()):
                raise SolverFailure(f"rk4_fixed: non-finite solution at t = {t:g} with the "
                                    f"fixed step {h:g}")
        else:
            h, rejections = self.h, 0
            while True:
                h, t_new = self._clip(h)
                try:
                    y1, k5 = self._rk4(h, y0, k1)
                    est = self._defect(h, y0, y1, k1, k5)
                except _TRIAL_ERRORS:
                    est = math.inf
                if est <= 1:
                    break
                self.n_rejected += 1
                rejections += 1
                if rejections > self.max_rejections:
                    raise SolverFailure(f"rk4: {rejections} consecutive rejected steps at "
                                        f"t = {t:g} (h = {h:g})")
                h /= min(1 / self.qmin, est**self.beta1 / self.gamma)
            self.h = h / self._q(est)
            self.qold = max(est, self.qoldinit)
        self._prev = (t, y0, k1)
        self.t_prev, self.t, self.y, self.k1 = t, t_new, y1, k5
        self.n_steps += 1

    def interpolate(self, ts: np.ndarray) -> np.ndarray:
        t0, y0, f0 = self._prev
        return hermite_interpolate(ts, t0, y0, f0, self.t, self.y, self.k1)

    # -- one step -----------------------------------------------------------------------------
    def _fun(self, t: float, y: np.ndarray) -> np.ndarray:
        self.nfev += 1
        return self.problem.fun(t, y)

    def _rk4(self, h: float, y0: np.ndarray, k1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The RK4 solution y1 and f at it (k5)."""
        t, f = self.t, self._fun
        k2 = f(t + h / 2, y0 + (h / 2) * k1)
        k3 = f(t + h / 2, y0 + (h / 2) * k2)
        k4 = f(t + h, y0 + h * k3)
        y1 = y0 + (h / 6) * (k1 + 2 * (k2 + k3) + k4)
        return y1, f(t + h, y1)

    def _defect(self, h, y0, y1, k1, k5) -> float:
        """EEst: the scaled residual of the Hermite interpolant at the two sample points."""
        p = self.problem
        scale = p.atol + p.rtol * np.maximum(np.abs(y0), np.abs(y1))
        ps = hermite_interpolate(self.t + h * np.asarray(_SIGMAS), self.t, y0, k1,
                                 self.t + h, y1, k5)
        dy = (y1 - y0) / h
        es = []
        for s, ys in zip(_SIGMAS, ps, strict=True):
            dp = 6 * s * (1 - s) * dy + (1 - 4 * s + 3 * s * s) * k1 + (3 * s * s - 2 * s) * k5
            r = h * (self._fun(self.t + s * h, ys) - dp)
            es.append(_rms(r / scale))
        est = _DEFECT_SCALE * max(es)
        return est if all(map(math.isfinite, es)) else math.inf  # NaN too (max skips NaN)

    def _q(self, est: float) -> float:
        """The PI controller's step divisor after an accepted step."""
        if est == 0:
            return 1 / self.qmax
        q = est**self.beta1 / self.qold**self.beta2 / self.gamma
        return max(1 / self.qmax, min(1 / self.qmin, q))

    def _clip(self, h: float) -> tuple[float, float]:
        """Step and end time, never beyond t_bound and leaving no sliver before it."""
        t, t_bound = self.t, self.problem.t_bound
        if t + h * (1 + 1e-3) >= t_bound:
            return t_bound - t, t_bound
        if self.adaptive and h < 1e-14 * max(1.0, abs(t)):
            raise SolverFailure(f"rk4: step size underflow at t = {t:g} (h = {h:g})")
        return h, t + h

    # -- the first step -----------------------------------------------------------------------
    def _initial_step(self) -> float:
        """OrdinaryDiffEq's (Hairer's) first step: one trial Euler step estimates y''."""
        p, y0, f0 = self.problem, self.y, self.k1
        scale = p.atol + p.rtol * np.abs(y0)
        d0, d1 = _rms(y0 / scale), _rms(f0 / scale)
        h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
        h0, f1 = min(h0, p.t_bound - self.t), None
        for _ in range(10):  # the trial overflowed: a smaller trial step
            if not h0 > 1e-14 * max(1.0, abs(self.t)):  # a huge f (tauinv = 1e300, say)
                break
            try:
                f1 = self._fun(self.t + h0, y0 + h0 * f0)
                break
            except _TRIAL_ERRORS:
                h0 /= 10
        if not h0 > 1e-14 * max(1.0, abs(self.t)) or f1 is None:
            raise SolverFailure(f"rk4: no usable initial step (trial step {h0:g})")
        d2 = _rms((f1 - f0) / scale) / h0
        dmax = max(d1, d2)
        h1 = max(1e-6, h0 * 1e-3) if dmax <= 1e-15 else (0.01 / dmax) ** (1 / ORDER)
        return min(100 * h0, h1)

    def _stable_step(self) -> float:
        """1/lambda_max of the Jacobian at the start (the fixed step's default)."""
        if self.problem.jac is None:
            raise SolverFailure("rk4_fixed: give `dt`, or a Jacobian to choose it")
        lam = np.abs(np.linalg.eigvals(self.problem.jac(self.t, self.y))).max()
        return 1.0 / lam if lam > 0 else 1.0


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) if x.size else 0.0
