r"""Rosenbrock (linearly implicit Runge-Kutta) solvers with the exact Jacobian: Rodas4, Rodas5.

Near a minimum the gradient flow is stiff (Hessian eigenvalues from ~0 to O(10) and more),
and the exact Hessian is cheap, so a Rosenbrock method fits: one Jacobian and one LU per
step, no Newton iterations (Hairer & Wanner, *Solving ODEs II*, 2nd ed. 1996, §IV.7).

An :math:`s`-stage method in the transformed form of Hairer & Wanner (§IV.7), as in
their RODAS code and OrdinaryDiffEq.jl, computes with :math:`J = \partial f/\partial y(t_0,
y_0)` and one factorisation of :math:`M = I/(\gamma h) - J` the stage increments

.. math::

    M u_i = f\Big(t_0 + c_i h,\; y_0 + \sum_{j<i} a_{ij} u_j\Big)
            + \sum_{j<i} \frac{C_{ij}}{h} u_j + d_i\, h\, \frac{\partial f}{\partial t},
    \qquad i = 1, \dots, s,

the solution :math:`y_1 = y_0 + \sum_i b_i u_i` and the error estimate
:math:`e = \sum_i \tilde b_i u_i` (:math:`\tilde b = b - \hat b`, :math:`\hat b` the embedded
method). In the standard form of HW §IV.7 :math:`k_i = h f(y_0 + \sum_{j<i}\alpha_{ij}k_j) +
hJ\sum_{j\le i}\gamma_{ij}k_j`, :math:`y_1 = y_0 + \sum_i b^{std}_i k_i`, the same method is
:math:`u = \Gamma k`, so :math:`a = \alpha\Gamma^{-1}`, :math:`C = \mathrm{diag}(\gamma^{-1})
- \Gamma^{-1}`, :math:`b = \Gamma^{-T} b^{std}`, :math:`c_i = \sum_j \alpha_{ij}`,
:math:`d_i = \sum_j \gamma_{ij}` (:meth:`RosenbrockTableau.standard_form` inverts this).

Dense output is the methods' own interpolant :math:`y(t_0 + \theta h) = (1-\theta) y_0 +
\theta y_1 + \theta(1-\theta)\sum_r \theta^r \sum_j H_{rj} u_j`.

The package's flows are autonomous; pass ``time_derivative`` for a non-autonomous ``fun``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.linalg import LinAlgWarning, lu_factor
from scipy.linalg.lapack import dgetrs

from ..._validation import NonFiniteError
from .base import FlowProblem, FlowSolver, SolverFailure, hermite_interpolate

__all__ = ["RODAS4", "RODAS5", "Rodas4", "Rodas5", "Rosenbrock", "RosenbrockTableau"]

# a stage evaluation that overflows is a failed trial step (shrink h), not a solver failure
_TRIAL_ERRORS = (NonFiniteError, FloatingPointError)


@dataclass(frozen=True, eq=False)
class RosenbrockTableau:
    r"""Coefficients of an :math:`s`-stage Rosenbrock method in the transformed form.

    Parameters
    ----------
    name : str
    order, embedded_order : int
        Orders of :math:`b` and of the embedded :math:`\hat b = b - \tilde b`.
    gamma : float
        The diagonal :math:`\gamma` (the same for all stages).
    a, C : array (s, s)
        Strictly lower triangular stage coefficients (see the module docstring).
    b, btilde : array (s,)
        Solution weights and error weights :math:`b - \hat b`.
    c, d : array (s,)
        Stage times :math:`c_i = \sum_j \alpha_{ij}` and :math:`d_i = \sum_j \gamma_{ij}`.
    H : array (r, s) or None
        Dense-output coefficients; None means cubic Hermite interpolation.
    """

    name: str
    order: int
    embedded_order: int
    gamma: float
    a: np.ndarray
    C: np.ndarray
    b: np.ndarray
    btilde: np.ndarray
    c: np.ndarray
    d: np.ndarray
    H: np.ndarray | None = None

    def __post_init__(self) -> None:
        s = len(self.b)
        shapes = {"a": (s, s), "C": (s, s), "b": (s,), "btilde": (s,), "c": (s,), "d": (s,)}
        if self.H is not None:
            shapes["H"] = (len(self.H), s)
        for key, shape in shapes.items():
            arr = np.array(getattr(self, key), dtype=float)
            if arr.shape != shape:
                raise ValueError(f"tableau {self.name}: `{key}` must have shape {shape}")
            if key in ("a", "C") and np.triu(arr).any():
                raise ValueError(f"tableau {self.name}: `{key}` must be strictly lower triangular")
            arr.flags.writeable = False
            object.__setattr__(self, key, arr)

    @property
    def stages(self) -> int:
        return len(self.b)

    def standard_form(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(alpha, Gamma, b, bhat) of the standard form (HW §IV.7); Gamma has diagonal gamma."""
        gamma_inv = np.diag(np.full(self.stages, 1 / self.gamma)) - self.C
        Gamma = np.linalg.inv(gamma_inv)
        return self.a @ Gamma, Gamma, Gamma.T @ self.b, Gamma.T @ (self.b - self.btilde)

    def dense_weights(self, theta: np.ndarray) -> np.ndarray:
        """Weights W (len(theta), s) with y(t0 + theta h) = y0 + W @ u."""
        th = np.asarray(theta, dtype=float)[:, None]
        W = th * self.b
        if self.H is not None:
            poly = sum(th**r * self.H[r] for r in range(len(self.H)))
            W = W + th * (1 - th) * poly
        return W


class Rosenbrock(FlowSolver):
    r"""Adaptive Rosenbrock solver defined by a :class:`RosenbrockTableau`.

    Each step evaluates ``problem.jac`` once at the step's start and factorises
    :math:`I/(\gamma h) - J` (:func:`scipy.linalg.lu_factor`) once per trial step; a rejected
    trial refactorises with the new :math:`h` and the same :math:`J`. The step is accepted when

    .. math:: \mathrm{err} = \Big(\frac1P\sum_i \Big(\frac{e_i}{\mathrm{atol} +
              \mathrm{rtol}\max(|y_{0,i}|, |y_{1,i}|)}\Big)^2\Big)^{1/2} \le 1,

    and the next step is :math:`h \min(\mathrm{facmax}, \max(\mathrm{facmin},
    \mathrm{safety}\,\mathrm{err}^{-1/(\hat q + 1)}))`, :math:`\hat q` the embedded order
    (no growth right after a rejection). The first step is ``problem.dt`` or Hairer's
    heuristic (HW I, §II.4) with the exact :math:`y'' = Jf + f_t`.

    Parameters
    ----------
    tableau : RosenbrockTableau, optional
        The method (subclasses set a default).
    time_derivative : callable (t, y) -> (P,), optional
        :math:`\partial f/\partial t`; None treats the problem as autonomous (gradient flows).
    adaptive : bool
        False takes fixed steps ``problem.dt`` with no error control (for convergence tests).
    safety, facmin, facmax : float
        Step-size controller constants; the defaults 0.9, 0.2, 6 are those of RODAS.
    max_rejections : int
        Consecutive rejections before :class:`SolverFailure`.
    predictive : bool
        Also cap the growth by Gustafsson's predictive controller (HW II, §IV.8), as RODAS
        does: :math:`h_{new} \le h\,\mathrm{safety}\,(h/h_{acc})\,(\mathrm{err}_{acc}/
        \mathrm{err}^2)^{1/(\hat q+1)}`, :math:`h_{acc}, \mathrm{err}_{acc}` those of the
        previous accepted step; fewer rejections where the solution changes abruptly.

    Notes
    -----
    Once :math:`1/(\gamma h)` drops below roundoff of :math:`\|J\|` (h beyond ~1e15 for
    O(1) curvature), a singular :math:`J` (degenerate minima, minima at infinity) makes
    :math:`M` singular in floating point: such trials are rejected, so the step size stalls
    there and eventually fails with :class:`SolverFailure`; the flow's stopping rules
    normally end the phase long before.

    Attributes
    ----------
    h : float
        The next (trial) step size.
    n_steps, n_rejected, nfev, njev, nlu : int
        Accepted and rejected steps, evaluations of ``fun`` and ``jac``, LU factorisations.
    """

    tableau: RosenbrockTableau  # the method; subclasses set it on the class
    problem: FlowProblem  # set by start()
    uses_jacobian = True

    def __init__(
        self,
        tableau: RosenbrockTableau | None = None,
        *,
        time_derivative: Callable[[float, np.ndarray], np.ndarray] | None = None,
        adaptive: bool = True,
        safety: float = 0.9,
        facmin: float = 0.2,
        facmax: float = 6.0,
        max_rejections: int = 30,
        predictive: bool = True,
    ) -> None:
        tableau = tableau if tableau is not None else getattr(type(self), "tableau", None)
        if tableau is None:
            raise ValueError("argument `tableau` is required for the generic Rosenbrock solver")
        if not 0 < facmin < 1 < facmax or not 0 < safety <= 1:
            raise ValueError("need 0 < facmin < 1 < facmax and 0 < safety <= 1")
        self.tableau, self.name = tableau, tableau.name
        self.time_derivative, self.adaptive = time_derivative, adaptive
        self.safety, self.facmin, self.facmax = safety, facmin, facmax
        self.max_rejections, self.predictive = max_rejections, predictive

    def __repr__(self) -> str:
        return f"{type(self).__name__}(tableau={self.tableau.name!r}, adaptive={self.adaptive})"

    # -- public interface -------------------------------------------------------------------
    def start(self, problem: FlowProblem, t0: float, y0: np.ndarray) -> None:
        if problem.jac is None:
            raise ValueError("Rosenbrock methods need the Jacobian: `problem.jac` is None")
        if not self.adaptive and problem.dt is None:
            raise ValueError("fixed steps (adaptive=False) need `problem.dt`")
        self.problem = problem
        self.t = self.t_prev = float(t0)
        self.y = self._y_prev = np.array(y0, dtype=float).ravel()
        self.n_steps = self.n_rejected = self.nfev = self.njev = self.nlu = 0
        self._f: np.ndarray | None = None  # f and J at (t, y), evaluated when first needed
        self._J: np.ndarray | None = None
        self._U: np.ndarray | None = None  # stage increments of the last accepted step
        self._f_prev: np.ndarray | None = None
        # last accepted step and error (predictive control)
        self._h_acc: float | None = None
        self._err_acc: float = 0.0
        self.h = float(problem.dt) if problem.dt is not None else self._initial_step()
        if not self.h > 0:
            raise ValueError(f"the initial step must be > 0, got {self.h}")

    def step(self) -> None:
        if getattr(self, "problem", None) is None:
            raise RuntimeError("call start() before step()")
        t, y0 = self.t, self.y
        if t >= self.problem.t_bound:
            raise SolverFailure(f"cannot step beyond t_bound = {self.problem.t_bound}")
        f0, J = self._f_here(), self._jac_here()
        ft = None if self.time_derivative is None else self.time_derivative(t, y0)
        h, rejections = self.h, 0
        while True:
            h, t_new = self._clip(h)
            y1, U, err = self._attempt(h, f0, J, ft)
            if err <= 1 or not self.adaptive:
                break
            self.n_rejected += 1
            rejections += 1
            if rejections > self.max_rejections:
                raise SolverFailure(f"{rejections} consecutive rejected steps at t = {t:g}")
            h *= self._factor(err, self.facmin, 1.0)
        if not self.adaptive:
            if not math.isfinite(err):
                raise SolverFailure(f"non-finite solution at t = {t:g} with fixed step {h:g}")
        else:
            self.h = self._next_step(h, err, rejections)
        self.t_prev, self._y_prev, self._f_prev = t, y0, f0
        self.t, self.y, self._U = t_new, y1, U
        self._f = self._J = None
        self.n_steps += 1

    def interpolate(self, ts: np.ndarray) -> np.ndarray:
        ts = np.atleast_1d(np.asarray(ts, dtype=float))
        h = self.t - self.t_prev
        if self._U is None or h == 0:
            return np.repeat(self.y[None], len(ts), axis=0)
        if self.tableau.H is None:
            return hermite_interpolate(
                ts, self.t_prev, self._y_prev, self._f_prev, self.t, self.y, self._f_here()
            )
        out = self._y_prev + self.tableau.dense_weights((ts - self.t_prev) / h) @ self._U
        out[ts == self.t] = self.y  # exact at the step's end
        return out

    # -- one trial step ---------------------------------------------------------------------
    def _attempt(
        self, h: float, f0: np.ndarray, J: np.ndarray, ft: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray, float]:
        """Stages, solution and scaled error norm (inf when something overflows)."""
        tab, t, y0 = self.tableau, self.t, self.y
        lu = self._lu(J, h)
        U = np.empty((tab.stages, y0.size))
        if not np.all(np.diagonal(lu[0])):
            return y0, U, math.inf  # M singular in floating point: a smaller h shifts it
        try:
            for i in range(tab.stages):
                if i == 0 or (tab.c[i] == 0 and not tab.a[i].any()):
                    fi = f0  # the stage point is (t0, y0): reuse f0
                else:
                    fi = self._fun(t + tab.c[i] * h, y0 + tab.a[i, :i] @ U[:i])
                rhs = fi + (tab.C[i, :i] / h) @ U[:i]
                if ft is not None and tab.d[i] != 0:
                    rhs += (tab.d[i] * h) * ft
                # LAPACK directly: lu_solve's argument handling costs ~10x the solve at small P
                U[i] = dgetrs(*lu, rhs)[0]
                if not np.isfinite(U[i]).all():  # near-singular M or overflow
                    return y0, U, math.inf  # (never evaluate fun at a non-finite point)
        except _TRIAL_ERRORS:
            return y0, U, math.inf
        y1 = y0 + tab.b @ U
        scale = self.problem.atol + self.problem.rtol * np.maximum(np.abs(y0), np.abs(y1))
        return y1, U, _rms((tab.btilde @ U) / scale)

    def _lu(self, J: np.ndarray, h: float):
        # a new array (J is kept for a retry with another h), in Fortran order so that
        # LAPACK factorises it in place
        M = np.negative(J, out=np.empty(J.shape, order="F"))
        M.flat[:: M.shape[0] + 1] += 1 / (self.tableau.gamma * h)
        self.nlu += 1
        with warnings.catch_warnings():  # a singular M is handled as a rejected trial
            warnings.simplefilter("ignore", LinAlgWarning)
            return lu_factor(M, overwrite_a=True, check_finite=False)

    def _next_step(self, h: float, err: float, rejections: int) -> float:
        """The step after an accepted one: the standard controller, capped by Gustafsson's
        predictive one when ``predictive``."""
        fac = self._factor(err, self.facmin, self.facmax if rejections == 0 else 1.0)
        if self.predictive and self._h_acc is not None:
            q1 = self.tableau.embedded_order + 1
            ratio = self._err_acc / max(err, 1e-300) ** 2
            gus = self.safety * (h / self._h_acc) * ratio ** (1 / q1)
            fac = min(fac, self.facmax, max(self.facmin, gus))
        self._h_acc, self._err_acc = h, max(1e-2, err)
        return h * fac

    def _factor(self, err: float, lo: float, hi: float) -> float:
        """Step-size factor safety * err^(-1/(q+1)), clipped to [lo, hi]."""
        if not math.isfinite(err):
            return lo
        if err == 0:
            return hi
        return min(hi, max(lo, self.safety * err ** (-1 / (self.tableau.embedded_order + 1))))

    def _clip(self, h: float) -> tuple[float, float]:
        """Step and end time, never beyond t_bound and leaving no sliver before it."""
        t, t_bound = self.t, self.problem.t_bound
        if t + h * (1 + 1e-3) >= t_bound:
            return t_bound - t, t_bound
        if self.adaptive and h < 1e-14 * max(1.0, abs(t)):
            raise SolverFailure(f"step size underflow at t = {t:g} (h = {h:g})")
        return h, t + h

    # -- evaluations ------------------------------------------------------------------------
    def _fun(self, t: float, y: np.ndarray) -> np.ndarray:
        self.nfev += 1
        return self.problem.fun(t, y)

    def _both_here(self) -> None:
        """f and J at the current point from one pass, when the problem offers it."""
        if self._f is None and self._J is None and self.problem.fun_jac is not None:
            self.nfev += 1
            self.njev += 1
            f, J = self.problem.fun_jac(self.t, self.y)
            if not (np.isfinite(f).all() and np.isfinite(J).all()):
                raise SolverFailure(f"non-finite right-hand side or Jacobian at t = {self.t:g}")
            self._f, self._J = f, np.asarray(J, dtype=float)

    def _f_here(self) -> np.ndarray:
        self._both_here()
        if self._f is None:
            f = self._fun(self.t, self.y)
            if not np.isfinite(f).all():
                raise SolverFailure(f"non-finite right-hand side at t = {self.t:g}")
            self._f = f
        return self._f

    def _jac_here(self) -> np.ndarray:
        self._both_here()
        if self._J is None:
            self.njev += 1
            assert self.problem.jac is not None  # start() checked it
            J = np.asarray(self.problem.jac(self.t, self.y), dtype=float)
            if not np.isfinite(J).all():
                raise SolverFailure(f"non-finite Jacobian at t = {self.t:g}")
            self._J = J
        return self._J

    def _initial_step(self) -> float:
        """Hairer's starting step (HW I, §II.4) with y'' = J f + f_t instead of a trial f."""
        p = self.problem
        f0, J = self._f_here(), self._jac_here()
        ypp = J @ f0
        if self.time_derivative is not None:
            ypp = ypp + self.time_derivative(self.t, self.y)
        scale = p.atol + p.rtol * np.abs(self.y)
        d0, d1, d2 = _rms(self.y / scale), _rms(f0 / scale), _rms(ypp / scale)
        h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
        dmax, q1 = max(d1, d2), self.tableau.order + 1
        h1 = max(1e-6, h0 * 1e-3) if dmax <= 1e-15 else (0.01 / dmax) ** (1 / q1)
        return min(100 * h0, h1)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) if x.size else 0.0


def _stiffly_accurate(name, order, gamma, a_rows, C_rows, c, d, H) -> RosenbrockTableau:
    """A stiffly accurate tableau: y1 is the last stage point plus u_s, the error is u_s."""
    s = len(a_rows)
    a, C = np.zeros((s, s)), np.zeros((s, s))
    for i, (ai, Ci) in enumerate(zip(a_rows, C_rows, strict=True)):
        a[i, : len(ai)], C[i, : len(Ci)] = ai, Ci
    b = np.append(a[-1, :-1], 1.0)
    btilde = np.eye(s)[-1]
    return RosenbrockTableau(name, order, order - 1, gamma, a, C, b, btilde, c, d, H)


# Hairer & Wanner's RODAS (rodas.f, METH=1; also OrdinaryDiffEq.jl Rodas4Tableau); verified
# against the order conditions in tests/test_rosenbrock.py.
RODAS4 = _stiffly_accurate(
    "rodas4", 4, 0.25,
    [[], [1.544], [0.9466785280815826, 0.2557011698983284],
     [3.314825187068521, 2.896124015972201, 0.9986419139977817],
     [1.221224509226641, 6.019134481288629, 12.53708332932087, -0.687886036105895],
     [1.221224509226641, 6.019134481288629, 12.53708332932087, -0.687886036105895, 1.0]],
    [[], [-5.6688], [-2.430093356833875, -0.2063599157091915],
     [-0.1073529058151375, -9.594562251023355, -20.47028614809616],
     [7.496443313967647, -10.24680431464352, -33.99990352819905, 11.7089089320616],
     [8.083246795921522, -7.981132988064893, -31.52159432874371, 16.31930543123136,
      -6.058818238834054]],
    [0.0, 0.386, 0.21, 0.63, 1.0, 1.0], [0.25, -0.1043, 0.1035, -0.0362, 0.0, 0.0],
    [[10.12623508344586, -7.487995877610167, -34.80091861555747, -7.992771707568823,
      1.025137723295662, 0.0],
     [-0.6762803392801253, 6.087714651680015, 16.43084320892478, 24.76722511418386,
      -6.594389125716872, 0.0]],
)  # fmt: skip

# Di Marzo (1993), coefficients and dense output as in OrdinaryDiffEq.jl's Rodas5.
_R5_A6 = [-14.09640773051259, 6.925207756232704, -41.47510893210728, 2.343771018586405,
          24.13215229196062]  # fmt: skip
RODAS5 = _stiffly_accurate(
    "rodas5", 5, 0.19,
    [[], [2.0], [3.040894194418781, 1.041747909077569],
     [2.576417536461461, 1.62208306077664, -0.9089668560264532],
     [2.760842080225597, 1.446624659844071, -0.3036980084553738, 0.2877498600325443],
     _R5_A6, _R5_A6 + [1.0], _R5_A6 + [1.0, 1.0]],
    [[], [-10.31323885133993], [-21.04823117650003, -7.234992135176716],
     [32.22751541853323, -4.943732386540191, 19.44922031041879],
     [-20.69865579590063, -8.816374604402768, 1.260436877740897, -0.7495647613787146],
     [-46.22004352711257, -17.49534862857472, -289.6389582892057, 93.60855400400906,
      318.3822534212147],
     [34.20013733472935, -14.1553540271769, 57.823356409884, 25.83362985412365,
      1.408950972071624, -6.551835421242162],
     [42.57076742291101, -13.80770672017997, 93.98938432427124, 18.77919633714503,
      -31.5835918722337, -6.685968952921985, -5.810979938412932]],
    [0.0, 0.38, 0.3878509998321533, 0.483971893787384, 0.457047700881958, 1.0, 1.0, 1.0],
    [0.19, -0.1823079225333714636, -0.319231832186874912, 0.3449828624725343,
     -0.377417564392089818, 0.0, 0.0, 0.0],
    [[27.354592673333357, -6.925207756232857, 26.40037733258859, 0.5635230501052979,
      -4.699151156849391, -1.6008677469422725, -1.5306074446748028, -1.3929872940716344],
     [44.19024239501722, 1.3677947663381929e-13, 202.93261852171622, -35.5669339789154,
      -181.91095152160645, 3.4116351403665033, 2.5793540257308067, 2.2435122582734066],
     [-44.0988150021747, -5.755396159656812e-13, -181.26175034586677, 56.99302194811676,
      183.21182741427398, -7.480257918273637, -5.792426076169686, -5.32503859794143]],
)  # fmt: skip


class Rodas4(Rosenbrock):
    """Rodas4 (Hairer & Wanner): 6 stages, order 4(3), L-stable, stiffly accurate, dense
    output of order 3. See :class:`Rosenbrock` for the arguments.

    Examples
    --------
    >>> prob = FlowProblem(lambda t, y: -y, lambda t, y: -np.eye(1), rtol=1e-8, atol=1e-8,
    ...                    t_bound=1.0)
    >>> solver = Rodas4()
    >>> solver.start(prob, 0.0, np.ones(1))
    >>> while solver.t < 1.0:
    ...     solver.step()
    >>> bool(abs(solver.y[0] - np.exp(-1.0)) < 1e-8), solver.name
    (True, 'rodas4')
    """

    name = "rodas4"
    tableau = RODAS4


class Rodas5(Rosenbrock):
    """Rodas5 (Di Marzo 1993): 8 stages, order 5(4), L-stable, stiffly accurate, dense
    output of order 4. See :class:`Rosenbrock` for the arguments."""

    name = "rodas5"
    tableau = RODAS5
