r"""What every training phase sees: the regularised loss, its derivatives, the flow's
right-hand side, the best point so far and the stopping rules.

The gradient flow is

.. math::

    \frac{d\theta}{dt} = -\tau \odot \nabla L_{\mathrm{reg}}(\theta),
    \qquad L_{\mathrm{reg}} = L + \text{barrier} + \text{merge penalty},

on the **mean** loss :math:`L` (the reference integrates the sum over samples; pass
``tauinv=N`` to reproduce its time axis). Its Jacobian is
:math:`-\mathrm{diag}(\tau)\, \nabla^2 L_{\mathrm{reg}}`. Parameters with
:math:`\tau_i = 0` are frozen: they never move, in any phase.

The best point is the one with the lowest regularised loss among all evaluations
(including the stages of implicit solvers, which are genuine points of parameter space);
its gradient norm is the :math:`\infty`-norm of :math:`\nabla L_{\mathrm{reg}}` over the
free parameters. Near a minimum with :math:`L > 0` the computed loss is noisy, so a point with
:math:`\|\nabla L\| = 10^{-12}` can have a loss slightly *below* the exact critical point;
ranking by loss alone would keep it and the ``min_gnorm`` rule would never fire. A point
therefore replaces the best one when its loss is lower by more than the tie tolerance, or
when it is within that tolerance and its gradient norm is smaller. The tolerance is
:math:`\max(`:data:`LOSS_RTOL` :math:`\cdot |L_{best}|,\ \delta_L)`, with
:math:`\delta_L` the measured noise floor of the loss (:func:`~mlpgradientflow.endstate.noise_floor`):
a few ulps for sample means, far more where large terms cancel (a ``NetI`` loss scatters by
:math:`10^{-14}` at :math:`L \approx 10^{-9}`).

The noise floor is measured lazily, at the best point, whenever the best gradient norm has
dropped tenfold since the last measurement (:meth:`Objective.gradient_floor`); these
evaluations are counted in ``n_noise``, not in ``n_f`` (they do not reset patience).
"""

from __future__ import annotations

import math

import numpy as np

from .._validation import NonFiniteError
from ..endstate.noise import NoiseFloor, noise_floor

__all__ = ["Objective", "LOSS_RTOL", "NonFiniteState"]


class NonFiniteState(NonFiniteError):
    """A solver handed the objective a NaN/Inf state or direction, or the flow's right-hand
    side or Jacobian overflowed (``tauinv`` times the gradient): the phase fails, keeping its
    best point. Not the user's input: that was checked before training started."""

    what = "non-finite state"


def _finite(what: str, *arrays) -> None:
    for a in arrays:
        if not np.isfinite(np.add.reduce(a, axis=None)):  # one reduction per array
            raise NonFiniteState(f"the solver reached a non-finite {what} (NaN or Inf); the "
                                 "flow is exploding or the step was too large")

#: losses closer than this (relative) are ties, broken by the gradient norm: the computed
#: mean loss scatters by about one ulp near a minimum at N = 10^4; 32 ulps leave a margin
LOSS_RTOL = 32 * np.finfo(float).eps


class Objective:
    """The regularised mean loss of ``net`` with evaluation counters and best tracking.

    Parameters
    ----------
    net : Net-like
        Anything with ``nparams`` and ``fg``/``fgh`` (or ``loss``/``gradient``/``hessian``)
        accepting ``maxnorm`` and ``merge`` keywords.
    maxnorm, merge
        The regularisers (see :mod:`mlpgradientflow.losses`).
    tauinv : float or array of shape (P,)
        Inverse time scales :math:`\\tau`; zeros freeze parameters.
    x0 : array (P,), optional
        The values of frozen parameters. Every evaluation uses them exactly: solvers may
        let a component whose right-hand side is zero drift by rounding errors (CVODE
        does), and frozen must mean bitwise unchanged.
    """

    def __init__(self, net, maxnorm=math.inf, merge=None, tauinv=1.0, x0=None) -> None:
        self.net = net
        self.P = int(net.nparams)
        self.maxnorm, self.merge = maxnorm, merge
        tau = np.asarray(tauinv, dtype=float)
        if tau.ndim == 0:
            if not math.isfinite(float(tau)) or float(tau) < 0:
                raise ValueError(f"argument `tauinv` must be a finite number >= 0, got {float(tau)}")
            self.tau: float | np.ndarray = float(tau)
            self.free = None if float(tau) > 0 else np.zeros(self.P, bool)
        else:
            if tau.shape != (self.P,):
                raise ValueError(
                    f"argument `tauinv` must be a scalar or have shape ({self.P},), got {tau.shape}"
                )
            if not np.isfinite(tau).all() or (tau < 0).any():
                raise ValueError("argument `tauinv` must be finite and >= 0")
            self.tau = tau.copy()
            self.free = None if (tau > 0).all() else tau > 0
        if self.free is not None:
            if x0 is None:
                raise ValueError("frozen parameters (tauinv = 0) need the initial point `x0`")
            self.x0 = np.array(x0, dtype=float, copy=True)
        self.n_f = self.n_h = self.n_noise = 0
        self.best_x: np.ndarray | None = None
        self.best_loss = math.inf
        self.best_gnorm = math.inf
        self.k_last_best = 0
        self.loss_noise = 0.0  # the loss's noise floor, once measured
        self._floor: NoiseFloor | None = None
        self._floor_at = math.inf  # best gnorm at the last measurement
        self._floor_version = -1  # k_last_best of the last measurement

    # -- evaluations -----------------------------------------------------------------------
    def gnorm(self, g: np.ndarray) -> float:
        """∞-norm of a gradient over the free parameters."""
        gg = g if self.free is None else g[self.free]
        return float(np.abs(gg).max()) if gg.size else 0.0

    def _track(self, x, loss, g) -> None:
        self.n_f += 1
        gnorm = self.gnorm(g)
        if self.best_x is not None:
            tol = max(LOSS_RTOL * abs(self.best_loss), self.loss_noise)
            lower = loss < self.best_loss - tol
            tie_flatter = loss <= self.best_loss + tol and gnorm < self.best_gnorm
            if not (lower or tie_flatter):
                return
        self.best_loss, self.best_gnorm = loss, gnorm
        self.best_x = np.array(x, dtype=float, copy=True)
        self.k_last_best = self.n_f

    def _frozen(self, x: np.ndarray) -> np.ndarray:
        _finite("state", x)
        return x if self.free is None else np.where(self.free, x, self.x0)

    def fg(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """Regularised loss and gradient (a new array); updates the best point."""
        x = self._frozen(x)
        loss, g = self.net.fg(x, maxnorm=self.maxnorm, merge=self.merge)
        self._track(x, loss, g)
        return loss, g

    def fgh(self, x: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """Regularised loss, gradient and Hessian (new arrays); updates the best point."""
        x = self._frozen(x)
        loss, g, H = self.net.fgh(x, maxnorm=self.maxnorm, merge=self.merge)
        self.n_h += 1
        self._track(x, loss, g)
        return loss, g, H

    # -- the flow ------------------------------------------------------------------------------
    def rhs(self, t: float, x: np.ndarray) -> np.ndarray:
        """:math:`-\\tau \\odot \\nabla L_{reg}(x)`, a new array."""
        _, g = self.fg(x)
        g *= -self.tau
        _finite("right-hand side", g)
        return g

    def jac(self, t: float, x: np.ndarray) -> np.ndarray:
        """:math:`-\\mathrm{diag}(\\tau) \\nabla^2 L_{reg}(x)`, a new (P, P) array."""
        _, _, H = self.fgh(x)
        if isinstance(self.tau, float):
            H *= -self.tau
        else:
            H *= -self.tau[:, None]
        _finite("Jacobian", H)
        return H

    def rhs_jac(self, t: float, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`rhs` and :meth:`jac` at one point, from one ``fgh`` pass."""
        _, g, H = self.fgh(x)
        g *= -self.tau
        H *= -self.tau if isinstance(self.tau, float) else -self.tau[:, None]
        _finite("right-hand side", g, H)
        return g, H

    @property
    def has_hvp(self) -> bool:
        return callable(getattr(self.net, "hvp", None))

    def jvp(self, t: float, x: np.ndarray, v: np.ndarray) -> np.ndarray:
        """:math:`-\\tau \\odot (\\nabla^2 L_{reg}(x)\\, v)` (exact, no Hessian matrix)."""
        _finite("direction", v)
        hv = self.net.hvp(self._frozen(x), v, maxnorm=self.maxnorm, merge=self.merge)
        hv *= -self.tau
        _finite("Jacobian-vector product", hv)
        return hv

    # -- the noise floor ---------------------------------------------------------------------
    def best_noise(self) -> NoiseFloor:
        """The noise floor at the current best point (measured once per best point)."""
        if self._floor is None or self._floor_version != self.k_last_best:
            try:
                nf = noise_floor(self.net, self.best_x, maxnorm=self.maxnorm, merge=self.merge,
                                 free=self.free)
            except NonFiniteError:
                nf = NoiseFloor(math.inf, math.inf, 0)
            self.n_noise += nf.evaluations
            self._floor, self._floor_at, self._floor_version = nf, self.best_gnorm, self.k_last_best
            self.loss_noise = nf.loss if math.isfinite(nf.loss) else self.loss_noise
        return self._floor

    def gradient_floor(self) -> float:
        """The gradient's noise floor near the best point, remeasured whenever the best
        gradient norm has dropped tenfold since the last measurement."""
        if self.best_x is None:
            return 0.0
        if self._floor is None or self.best_gnorm < self._floor_at / 10:
            self.best_noise()
        assert self._floor is not None  # best_noise() measured it
        return self._floor.gradient

    def since_best(self) -> int:
        """Evaluations since the best point last improved (the patience counter)."""
        return self.n_f - self.k_last_best
