r"""Accuracy bookkeeping of the Gaussian integrals: the warning, a-priori and a-posteriori
error estimates.

Every integral of :func:`~.expectations.one_point` / :func:`~.expectations.two_point`
comes with an estimate of its absolute error (``return_error=True``): per integral, the
largest error of the value, of a gradient entry and of a Hessian entry, shape (n, 3). It
covers what the method truncates or discretises, not rounding (a few units of 1e-16 of the
terms summed):

* closed forms, exact polynomial/exponential forms, the piecewise rules of
  :mod:`.piecewise` and the conditional rule of :mod:`.conditional`: 0 (they are built to be
  accurate to rounding wherever they are used);
* Gauss–Hermite for an activation with a :class:`~.piecewise.Profile` (used only where this
  is below 1e-15): the a-priori bound :func:`gh_error`, from the width :math:`a` of the
  strip around the real axis where :math:`f` is analytic (tanh :math:`\pi/2`,
  sigmoid/softplus/silu :math:`\pi`, :math:`\sigma(4y)` in ``g`` :math:`\pi/4`, about 4
  for gelu and the erf family): the error of the :math:`N`-node rule for
  :math:`f(rz + b)` decays like :math:`\exp(-\kappa a\sqrt{N/600}/|r|)`,
  :math:`\kappa = 34` (fitted on these activations against piecewise references; the
  factor 300 covers the second derivatives);
* Mehler's series: the pessimistic tail estimate of :func:`.hermite_series.mehler_pair`
  times the product of the units' largest coefficients;
* custom activations (no profile): the difference between the rules with ``N`` and
  ``N // 2`` nodes (a posteriori) of the one-point integrals of each unit, relative, times
  the scale of the integral.

:class:`~.neti.NetI` combines them into relative error estimates of its loss, gradient and
Hessian and warns with :class:`AccuracyWarning` above its tolerance.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["AccuracyWarning", "gh_error", "STRIP"]


class AccuracyWarning(UserWarning):
    """A Gaussian integral (or a quadrature net) is less accurate than the tolerance."""


#: half-width of the strip of analyticity around the real axis (in y) per activation
STRIP = {
    "tanh": math.pi / 2,
    "sigmoid": math.pi,
    "softplus": math.pi,
    "silu": math.pi,
    "g": math.pi / 4,
    "gelu": 4.0,
    "sigmoid2": 4.0,
    "normal_cdf": 4.0,
}
_KAPPA = 34.0


def gh_error(f, r, N: int = 600) -> np.ndarray:
    r"""A-priori relative error of Gauss–Hermite with ``N`` nodes for :math:`f(rz + b)`
    (and its first two derivatives): :math:`300\exp(-\kappa a\sqrt{N/600}/|r|)`; 1 for
    activations with a kink or without a known strip."""
    r = np.abs(np.asarray(r, dtype=float))
    a = _strip(f)
    if a is None:
        return np.ones_like(r)
    # r = 0 gives exp(-huge) = 0 without a division warning
    return 300.0 * np.exp((-_KAPPA * a * math.sqrt(N / 600.0)) / np.maximum(r, 1e-300))


def _strip(f):
    from ..activations import ACTIVATIONS

    a = STRIP.get(getattr(f, "name", ""))
    return a if a is not None and ACTIVATIONS.get(f.name) is f else None
