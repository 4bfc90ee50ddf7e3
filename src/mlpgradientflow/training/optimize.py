r"""Phase 2 of training: land exactly on the critical point,
:math:`\|\nabla L\|_\infty \approx 10^{-15}`.

The default method is our **Newton** with absolute eigenvalues (for up to
:data:`NEWTON_MAX_PARAMS` free parameters): with :math:`H = \sum_i \lambda_i v_i v_i^\top`,

.. math::

    d = -\sum_i \frac{v_i^\top g}{\max(|\lambda_i|, \delta)}\, v_i, \qquad
    \delta = \max\bigl(r\,\max_i|\lambda_i|,\ \delta_{\min}\bigr),

(:math:`r` = ``eig_rtol``, :math:`\delta_{\min}` = ``eig_atol``), followed by the
Hager–Zhang line search (:mod:`.linesearch`) from :math:`\alpha = 1`. Because
:math:`g^\top d = -\sum_i (v_i^\top g)^2 / \max(|\lambda_i|, \delta) < 0`, :math:`d` is a
descent direction at saddles, where it moves *away* along negative curvature (the
"saddle-free Newton" of Dauphin et al. 2014), and it stays bounded at singular Hessians
(overparameterised minima), where plain Newton divides by zero. Near a non-degenerate
minimum it is the Newton step and converges quadratically. The approximate Wolfe
conditions of the line search test slopes rather than loss decrease, so the iteration keeps
converging when loss changes fall below float64 resolution (:math:`\|\nabla L\| \lesssim
10^{-10}` when :math:`L > 0`), where scipy's BFGS ends with "precision loss". When the
line search fails (roundoff in :math:`\phi'` at the noise floor) the full step is still
taken if it lowers :math:`\|\nabla L\|_\infty`; otherwise the run stops with
``"line search failed"``.

The scipy methods ``"trust-exact"``, ``"bfgs"``, ``"l-bfgs-b"`` and ``"slsqp"`` run
:func:`scipy.optimize.minimize` with our exact gradient (and Hessian for trust-exact), its
own tolerances set to zero so that the :class:`~.objective.StopRules` decide, through a
callback that raises ``StopIteration``.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.optimize

from .._validation import NonFiniteError
from .linesearch import hager_zhang
from .objective import Objective
from .options import OPTIM_METHODS as METHODS
from .stopping import Stop, StopReason, StopRules

__all__ = ["METHODS", "NEWTON_MAX_PARAMS", "OptimizeOutcome", "check_newton_options",
           "default_method", "minimize", "newton_direction"]

#: Largest number of free parameters for which :func:`default_method` picks Newton.
#: Measured single-threaded (OpenBLAS, AMD EPYC, N = 10^4 samples, softplus net with one
#: hidden layer): ``eigh`` of the P×P Hessian costs 1.0 gradient evaluations at P = 400
#: (Din = 2), 9.5 at P = 1001 (Din = 2), 15 at P = 997 (Din = 10), 31 at P = 2001 (Din = 2);
#: the Hessian itself costs about 20–25 gradients at P ≈ 1000. Above ~1000 parameters an
#: iteration of L-BFGS-B is two orders of magnitude cheaper than a Newton iteration.
NEWTON_MAX_PARAMS = 1000

_SCIPY_OPTIONS = {
    "bfgs": {"gtol": 0.0, "xrtol": 0.0},
    "l-bfgs-b": {"ftol": 0.0, "gtol": 0.0, "maxfun": np.iinfo(np.int32).max},
    "slsqp": {"ftol": 0.0},
    "trust-exact": {"gtol": 0.0},
}
_BAD_APPROX = "A bad approximation caused failure to predict improvement."
_NEWTON_OPTIONS = {"eig_rtol", "eig_atol"} | {
    name for name, par in inspect.signature(hager_zhang).parameters.items()
    if par.kind is inspect.Parameter.KEYWORD_ONLY
}


@dataclass
class OptimizeOutcome:
    """How a phase-2 run ended.

    Attributes
    ----------
    x : ndarray, shape (P,)
        The last iterate (full parameter vector); the result is ``obj.best_x``.
    stop : Stop
        The rule that fired (:class:`~.stopping.StopReason`: a stopping rule,
        ``LINE_SEARCH_FAILED``, or ``METHOD_ENDED`` with scipy's message).
    iterations : int
        Iterations done.
    message : str
        Details: scipy's message, or what the Newton iteration saw last.
    """

    x: np.ndarray
    stop: Stop
    iterations: int
    message: str

    @property
    def stopped_by(self) -> str:
        """The reference's string of :attr:`stop`."""
        return self.stop.stopped_by


def check_newton_options(options) -> None:
    """Raise a TypeError naming the options Newton does not know."""
    unknown = set(options) - _NEWTON_OPTIONS
    if unknown:
        raise TypeError(f"option `optim_options`: unknown Newton options {sorted(unknown)}; "
                        f"known: {sorted(_NEWTON_OPTIONS)}")


def default_method(P: int) -> str:
    """``"newton"`` for up to :data:`NEWTON_MAX_PARAMS` free parameters, else ``"l-bfgs-b"``."""
    return "newton" if P <= NEWTON_MAX_PARAMS else "l-bfgs-b"


# -- the problem in the free parameters ------------------------------------------------------
class _Problem:
    """``obj`` seen through the free parameters: reduced vectors in, reduced derivatives out.

    """

    def __init__(self, obj: Objective, x0: np.ndarray) -> None:
        self.obj = obj
        self.free = obj.free
        self.x0 = x0.copy()
        frozen_values = getattr(obj, "x0", None)  # the objective imposes its own, if any
        if self.free is not None and frozen_values is not None:
            self.x0[~self.free] = frozen_values[~self.free]

    def expand(self, z: np.ndarray) -> np.ndarray:
        if self.free is None:
            return np.array(z, dtype=float)
        x = self.x0.copy()  # frozen entries: bitwise those of x0
        x[self.free] = z
        return x

    def reduce(self, v: np.ndarray) -> np.ndarray:
        return v if self.free is None else v[self.free]

    def fg(self, z: np.ndarray) -> tuple[float, np.ndarray]:
        loss, g = self.obj.fg(self.expand(z))
        return loss, self.reduce(g)

    def fgh(self, z: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        loss, g, H = self.obj.fgh(self.expand(z))
        if self.free is not None:
            H = H[np.ix_(self.free, self.free)]
        return loss, self.reduce(g), H


# -- Newton ----------------------------------------------------------------------------------
def newton_direction(
    g: np.ndarray, H: np.ndarray, eig_rtol: float = 1e-10, eig_atol: float = 1e-30
) -> np.ndarray:
    r"""The Newton direction with absolute, floored eigenvalues.

    .. math::

        d = -\sum_i \frac{v_i^\top g}{\max(|\lambda_i|, \delta)} v_i,\qquad
        \delta = \max(\texttt{eig\_rtol} \cdot \max_i |\lambda_i|,\ \texttt{eig\_atol}).

    Why ``eig_rtol = 1e-10``: near a singular minimum the computed eigenvalues of the null
    directions are roundoff (:math:`\sim 10^{-16}\max|\lambda|`) and so are the gradient's
    components along them (:math:`\sim 10^{-18}`); :math:`1/\delta` amplifies that noise
    into the step, which then dominates the line search. Too large a floor damps genuine
    small curvatures (:math:`\lambda_{\min}/\lambda_{\max} \approx 10^{-8}` at the
    :math:`L > 0` teacher–student minima of the tests) into gradient steps. Measured on
    the degenerate minimum of a width-6 student of a width-4 teacher (N = 500, 5 starts at
    distance :math:`10^{-3}`), Newton iterations to :math:`\|g\|_\infty \le 10^{-12}`,
    median (worst): 94 (178) for ``1e-12``, 49 (83) for ``1e-10``, 41 (95) for ``1e-9``,
    42 (208) for ``1e-8``; trust-exact and BFGS needed 230 to >300. The floor
    ``eig_atol`` only matters when the Hessian vanishes.
    """
    lam, V = np.linalg.eigh(H)
    scale = float(np.abs(lam).max()) if lam.size else 0.0
    floor = max(eig_rtol * scale, eig_atol)
    return -(V @ ((V.T @ g) / np.maximum(np.abs(lam), floor)))


def _newton_step(prob: _Problem, z, loss, g, H, eig_rtol, eig_atol, ls_options):
    """One Newton iteration from ``z``: the new iterate, or (None, why) when stuck."""
    d = newton_direction(g, H, eig_rtol, eig_atol)
    seen: dict[float, tuple[np.ndarray, np.ndarray]] = {}

    def phi_dphi(alpha: float) -> tuple[float, float]:
        zt = z + alpha * d
        if not np.isfinite(zt).all():
            return math.inf, math.nan
        try:
            lt, gt = prob.fg(zt)
        except NonFiniteError:  # the net overflowed: too far
            return math.inf, math.nan
        seen[alpha] = (zt, gt)
        return lt, float(gt @ d)

    # the value test of the approximate Wolfe conditions must not be finer than the loss's noise
    noise = prob.obj.loss_noise / abs(loss) if loss else 0.0
    ls_options = {**ls_options, "epsilon": max(ls_options.get("epsilon", 1e-6), 2 * noise)}
    res = hager_zhang(phi_dphi, loss, float(g @ d), 1.0, **ls_options)
    if res.success:
        return seen[res.alpha][0], ""
    # Roundoff in phi' at the noise floor: still take the full step if |g| goes down.
    if 1.0 not in seen and res.nevals == 0:
        phi_dphi(1.0)
    if 1.0 in seen and np.abs(seen[1.0][1]).max() < np.abs(g).max():
        return seen[1.0][0], ""
    why = f"no step found after {res.nevals} evaluations (g'd = {float(g @ d):.3g})"
    return None, why


def _newton(prob: _Problem, z, stop: StopRules, eig_rtol: float = 1e-10,
            eig_atol: float = 1e-30, **ls_options) -> OptimizeOutcome:
    """Newton iterations until a stopping rule fires or no step is found."""
    loss, g, H = prob.fgh(z)
    it, message, obj = 0, "", prob.obj
    reason = stop.check(obj, it, x=prob.expand(z))
    while reason is None:
        znew, why = _newton_step(prob, z, loss, g, H, eig_rtol, eig_atol, ls_options)
        if znew is None:
            floor = obj.best_noise().gradient  # stuck: at the noise floor, or really stuck?
            if obj.best_gnorm <= floor:
                reason = Stop(StopReason.NOISE_FLOOR, f"{floor:.2g}")
            else:
                reason, message = Stop(StopReason.LINE_SEARCH_FAILED), why
            break
        z, it = znew, it + 1
        reason = stop.check(obj, it, x=prob.expand(z))
        if reason is None:
            loss, g, H = prob.fgh(z)
    message = message or f"best loss {obj.best_loss:.17g}, |g|inf {obj.best_gnorm:.3g}"
    return OptimizeOutcome(prob.expand(z), reason, it, message)


# -- scipy -----------------------------------------------------------------------------------
def _scipy(prob: _Problem, z, method: str, stop: StopRules, **options) -> OptimizeOutcome:
    """scipy.optimize.minimize under our stopping rules."""
    state: dict[str, Any] = {"it": 0, "reason": None}

    def callback(intermediate_result) -> None:  # the name selects scipy's new interface
        state["it"] += 1
        state["reason"] = stop.check(prob.obj, state["it"], x=prob.expand(getattr(intermediate_result, "x", intermediate_result)))
        if state["reason"] is not None:
            raise StopIteration

    def fun(zz):
        try:
            return prob.fg(zz)
        except NonFiniteError:  # too far: let scipy's line search / trust region back off
            return math.inf, np.full(zz.shape, math.nan)

    opts = dict(_SCIPY_OPTIONS[method])
    opts["maxiter"] = int(min(stop.maxiterations, 10**9)) + 1  # ours fires first
    opts.update(options)
    hess = (lambda zz: prob.fgh(zz)[2]) if method == "trust-exact" else None
    res = scipy.optimize.minimize(fun, z, jac=True, hess=hess, method=method,
                                  callback=callback, options=opts)
    it = max(state["it"], int(getattr(res, "nit", 0) or 0))
    reason = state["reason"] or stop.check(prob.obj, it)
    message = str(res.message)
    if message == _BAD_APPROX:  # trust-exact at the roundoff floor: a normal end
        message += " (normal end: the model predicts no decrease at roundoff level)"
    stopped_by = reason or Stop(StopReason.METHOD_ENDED, message)
    return OptimizeOutcome(prob.expand(np.asarray(res.x)), stopped_by, it, message)


# -- entry point -----------------------------------------------------------------------------
def minimize(
    obj: Objective,
    x0: np.ndarray,
    method: str | None = None,
    stop: StopRules | None = None,
    **options,
) -> OptimizeOutcome:
    """Minimise ``obj`` from ``x0`` until a stopping rule fires or the method ends.

    Parameters
    ----------
    obj : Objective
        Evaluations go through ``obj`` (counted; best point tracked, see module doc).
    x0 : array, shape (P,)
        Start. Frozen parameters (``obj.free`` False) keep their values bitwise.
    method : str, optional
        One of :data:`METHODS` (case-insensitive); default :func:`default_method` of the
        number of free parameters.
    stop : StopRules, optional
        Checked after every iteration (default ``StopRules()``).
    **options
        Newton: ``eig_rtol``, ``eig_atol`` (:func:`newton_direction`) and the keywords of
        :func:`~.linesearch.hager_zhang`. scipy methods: their ``options``, overriding ours.

    Returns
    -------
    OptimizeOutcome
        The result point is ``obj.best_x``; ``outcome.x`` is the last iterate.
    """
    x0 = np.array(x0, dtype=float)
    if x0.shape != (obj.P,):
        raise ValueError(f"argument `x0` must have shape ({obj.P},), got {x0.shape}")
    stop = StopRules() if stop is None else stop
    prob = _Problem(obj, x0)
    z0 = prob.reduce(x0).copy()
    name = default_method(z0.size) if method is None else str(method).lower()
    if name not in METHODS:
        raise ValueError(f"argument `method` must be one of {METHODS}, got {method!r}")
    if z0.size == 0:
        obj.fg(x0)
        reason = stop.check(obj, 0) or Stop(StopReason.NO_FREE_PARAMETERS)
        return OptimizeOutcome(prob.x0, reason, 0, "all parameters are frozen")
    if name == "newton":
        check_newton_options(options)
        return _newton(prob, z0, stop, **options)
    return _scipy(prob, z0, name, stop, **options)
