r"""The noise floor of an evaluation: how precisely a computed loss and gradient can be
resolved at a point.

A computed gradient is never exactly zero. Two things set the smallest value it can reach
at a point :math:`p` in float64:

* the spacing of representable parameters: the nearest float vector to an exact critical
  point :math:`p^*` lies up to :math:`\tfrac12\,\mathrm{ulp}(p^*)` away, so its gradient is
  about :math:`|H|\,\mathrm{ulp}(p)`;
* rounding in the evaluation itself, which is large where big terms cancel (a ``NetI``
  loss is a sum of :math:`O(a^2)` expectations whose remainder is the loss; a channel pairs
  two neurons with huge, opposite outgoing weights).

Both show up as scatter: evaluating at :math:`p_k = p + s_k \odot \mathrm{ulp}(p)` with
random signs :math:`s_k \in \{-1, +1\}^P` gives losses and gradients that differ from those
at :math:`p` by exactly this amount. :func:`noise_floor` measures it with ``n`` such
perturbations (signs from a fixed seed, so the estimate is a deterministic function of
:math:`p`) and reports :data:`MARGIN` (4) times the largest deviation:

.. math::

    \delta_L = 4 \max_k |L(p_k) - L(p)|, \qquad
    \delta_g = 4 \max_k \|\nabla L(p_k) - \nabla L(p)\|_\infty .

The margin covers what three draws miss: the largest deviation over all neighbouring floats,
and the scatter between evaluation paths at one point (``fg`` against ``fgh``, one BLAS
thread against two), which differ by rounding of the same size. Measured at ``NetI`` minima
reached by Newton, with a margin of 2: the computed gradient norm at the final point
exceeded the floor by factors of 1.15 and 1.3, so Newton kept iterating at the floor (4,990
iterations in one run), and a run stopped by ``min_gnorm`` in ``fgh`` was classified as not
converged from ``fg``.

A point with :math:`\|\nabla L(p)\|_\infty \le \delta_g` is critical as far as float64 can
tell; two losses closer than :math:`\delta_L` are tied. Parameters that are exactly zero are
not perturbed (their ulp is subnormal, and some models treat zero specially, e.g. a
``NetI`` neuron with a zero incoming vector).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["NoiseFloor", "noise_floor", "N_PERTURBATIONS", "MARGIN"]

#: perturbations per estimate: enough for the magnitude of the scatter (a factor of two),
#: cheap next to one Hessian
N_PERTURBATIONS = 3
#: factor on the largest observed deviation (see the module docstring)
MARGIN = 4
_SEED = 20_251_203  # fixed: the estimate is a function of the point only


@dataclass(frozen=True)
class NoiseFloor:
    """Resolution of the computed loss and gradient at a point (see the module docstring).

    Returned by :func:`noise_floor` (and kept as ``EndState.noise``).

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> from mlpgradientflow.endstate import noise_floor
    >>> X = np.random.default_rng(0).standard_normal((50, 2))
    >>> net = mgf.Net([(3, "tanh", True), (1, "identity", True)], input=X, target=X[:, :1])
    >>> nf = noise_floor(net, net.random_params(0))
    >>> sorted(nf.to_dict()), bool(nf.loss < 1e-14), nf.evaluations
    (['evaluations', 'gradient', 'loss'], True, 4)

    Attributes
    ----------
    loss : float
        :math:`\\delta_L`, the scatter of the computed loss.
    gradient : float
        :math:`\\delta_g`, the scatter of the computed gradient (∞-norm over the free
        parameters).
    evaluations : int
        Loss-and-gradient evaluations spent on the estimate.
    """

    loss: float
    gradient: float
    evaluations: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def noise_floor(
    model,
    p,
    *,
    maxnorm: float = math.inf,
    merge=None,
    free: np.ndarray | None = None,
    n: int = N_PERTURBATIONS,
    base: tuple[float, np.ndarray] | None = None,
) -> NoiseFloor:
    r"""Estimate the noise floor of ``model``'s loss and gradient at ``p``.

    With ``n`` sign patterns :math:`s_k` (fixed seed) and :math:`p_k = p + s_k \odot
    \mathrm{ulp}(p)`: :math:`\delta_L = 4\max_k |L(p_k) - L(p)|`, :math:`\delta_g =
    4\max_k \|\nabla L(p_k) - \nabla L(p)\|_\infty` (see the module docstring).

    Parameters
    ----------
    model : model
        Anything with ``fg(p, maxnorm=..., merge=...)`` (a Net, NetI, Gauss–Hermite net).
    p : array (P,)
    maxnorm, merge
        The regularisers, as in training.
    free : bool array (P,), optional
        Only these parameters are perturbed and enter the gradient norm (frozen
        parameters, ``tauinv = 0``, stay exact).
    n : int
        Number of perturbations.
    base : (loss, gradient), optional
        The values at ``p`` when already known (saves one evaluation).

    Returns
    -------
    NoiseFloor

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> X = np.random.default_rng(0).standard_normal((200, 2))
    >>> net = mgf.Net([(3, "tanh", True), (1, "identity", True)], input=X, target=X[:, :1])
    >>> nf = noise_floor(net, net.random_params(0))
    >>> bool(0 < nf.gradient < 1e-13), nf.evaluations
    (True, 4)
    """
    p = np.array(p, dtype=float)
    spread = np.spacing(np.abs(p)) * (p != 0)
    if free is not None:
        spread = spread * free
    if base is None:
        base = model.fg(p, maxnorm=maxnorm, merge=merge)
        evals = 1
    else:
        evals = 0
    loss0, g0 = float(base[0]), np.asarray(base[1])
    signs = np.random.default_rng(_SEED).integers(0, 2, size=(n, p.size)) * 2.0 - 1.0
    dl, dg = 0.0, 0.0
    for s in signs:
        loss, g = model.fg(p + s * spread, maxnorm=maxnorm, merge=merge)
        diff = g - g0 if free is None else (g - g0)[free]
        dl = max(dl, abs(float(loss) - loss0))
        dg = max(dg, float(np.abs(diff).max()) if diff.size else 0.0)
        evals += 1
    return NoiseFloor(loss=MARGIN * dl, gradient=MARGIN * dg, evaluations=evals)
