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
* Gauss–Hermite for an activation with a :class:`~.interface.Profile` (used only where this
  is below 1e-15): the a-priori bound :func:`gh_error`, from the width :math:`a` of the
  strip around the real axis where :math:`f` is analytic (``Profile.strip``: tanh
  :math:`\pi/2`, sigmoid/softplus/silu :math:`\pi`, :math:`\sigma(4y)` in ``g``
  :math:`\pi/4`, about 4 for gelu and the erf family): the error of the :math:`N`-node rule
  for :math:`f(rz + b)` decays like :math:`\exp(-\kappa a\sqrt{N/600}/|r|)`,
  :math:`\kappa = 34` (fitted on these activations against piecewise references; the
  factor 300 covers the second derivatives), plus the rounding floor :data:`GH_FLOOR` of
  these paths (:func:`gh_one_error`, :func:`gh2_error`);
* Mehler's series: the pessimistic tail estimate of :func:`.hermite_series.mehler_pair`
  plus the relative errors of the units' coefficients (:func:`unit_error`), times the
  product of the units' largest coefficients (:func:`mehler_error`);
* custom activations (no profile): the difference between the rules with ``N`` and
  ``N // 2`` nodes (a posteriori) of the integrals, or, for the coefficients of the
  series, of the one-point integrals of each unit, relative, times the scale of the
  integral.

Which estimate applies follows from the method that :mod:`.dispatch` chose and from the
activation's :class:`~.interface.Traits`. :class:`~.neti.NetI` combines them into
relative error estimates of its loss, gradient and Hessian and warns with
:class:`AccuracyWarning` above its tolerance.

>>> import numpy as np
>>> from mlpgradientflow.activations import get_activation
>>> gh_error(get_activation("tanh"), np.array([0.5, 10.0])) < 1e-15
array([ True, False])
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from ..activations import Activation
from .interface import Array, Derivs, PairPoints, Traits
from .profiles import profile_of
from .quadrature import default_pair_rule, hermite_rule
from .quadrature_expectations import quad_one_point, quad_pair

__all__ = [
    "AccuracyWarning",
    "GH_FLOOR",
    "gh_error",
    "scale",
    "difference",
    "gh_one_error",
    "gh2_error",
    "unit_error",
    "mehler_error",
]


class AccuracyWarning(UserWarning):
    """A Gaussian integral (or a quadrature net) is less accurate than the tolerance.

    Issued by :class:`~mlpgradientflow.NetI` and
    :func:`~mlpgradientflow.gauss_hermite_net` when their error estimate exceeds ``tol``.

    Examples
    --------
    A 20-node rule cannot integrate :math:`e^{3x}` (weights too large for the node
    spacing):

    >>> import warnings
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     gh = mgf.gauss_hermite_net(lambda X: np.exp(3 * X[:, :1]), [(1, "identity", True)],
    ...                                din=1, N=20)
    >>> [w.category.__name__ for w in caught], f"{gh.quadrature_error:.1e}"
    (['AccuracyWarning'], '3.6e-03')
    """


_KAPPA = 34.0
#: rounding floor of the Gauss–Hermite paths, relative to the scale of the integral
#: (measured: 1e-14 to 3e-14 against the piecewise and conditional rules)
GH_FLOOR = 5e-14


def gh_error(f: Activation, r: ArrayLike, N: int = 600) -> Array:
    r"""A-priori relative error of Gauss–Hermite with ``N`` nodes for :math:`f(rz + b)`
    (and its first two derivatives): :math:`300\exp(-\kappa a\sqrt{N/600}/|r|)`; 1 for
    activations with a kink or without a known strip."""
    ra = np.abs(np.asarray(r, dtype=float))
    prof = profile_of(f)
    a = None if prof is None else prof.strip
    if a is None:
        return np.ones_like(ra)
    # r = 0 gives exp(-huge) = 0 without a division warning
    return 300.0 * np.exp((-_KAPPA * a * math.sqrt(N / 600.0)) / np.maximum(ra, 1e-300))


def scale(d: Derivs) -> Array:
    """The size of each integral: its largest |value|, |gradient entry|, |Hessian entry|."""
    s = np.abs(d.value)
    for a in (d.grad, d.hess):
        if a is not None:
            s = np.maximum(s, np.abs(a).reshape(len(s), -1).max(axis=1))
    return s


def difference(d: Derivs, d2: Derivs) -> Array:
    """(n, 3) largest differences of value, gradient and Hessian entries (inf for NaN)."""
    n = len(d.value)
    out = np.zeros((n, 3))
    with np.errstate(invalid="ignore"):
        out[:, 0] = np.abs(d.value - d2.value)
        if d.grad is not None:
            out[:, 1] = np.abs(d.grad - d2.gradient).reshape(n, -1).max(axis=1)
        if d.hess is not None:
            out[:, 2] = np.abs(d.hess - d2.hessian).reshape(n, -1).max(axis=1)
    return np.where(np.isnan(out), np.inf, out)


def gh_one_error(tr: Traits, f: Activation, r: Array, b: Array, order: int, squared: bool,
                 N: int, d: Derivs) -> Array:
    """Error estimates of ``d``, the 1-D Gauss–Hermite rule of ``N`` nodes
    (:func:`~.quadrature_expectations.quad_one_point`): a priori for profiled activations,
    0 where it splits at a kink (exact to rounding), else the difference to the rule of
    N // 2 nodes."""
    if tr.profile is not None and tr.smooth:
        e = gh_error(f, r, N)
        s = scale(d)
        return np.stack([e * s] * 3, axis=1)
    if not tr.smooth:  # split at the kink: exact to rounding
        return np.zeros((len(r), 3))
    x2, w2 = hermite_rule(max(N // 2, 8))
    d2 = quad_one_point(f, r, b, order, squared, x2, w2)
    return difference(d, d2)


def gh2_error(t1: Traits, t2: Traits, f1: Activation, f2: Activation, pts: PairPoints,
              d: Derivs, order: int, N: int) -> Array:
    """Error estimates of ``d``, the 2-D Gauss–Hermite rule
    (:func:`~.quadrature_expectations.quad_pair`): a priori for profiled and polynomial
    activations, else the difference to the rule of N // 2 nodes."""
    if all(t.profile is not None or t.degree is not None for t in (t1, t2)):
        est = GH_FLOOR + sum(np.zeros_like(r) if t.degree is not None else gh_error(f, r, N)
                             for t, f, r in ((t1, f1, pts.r1), (t2, f2, pts.r2)))
        return np.stack([est * scale(d)] * 3, axis=1)
    q = quad_pair(f1, f2, pts, order, default_pair_rule(max(N // 2, 16)))
    return difference(d, q)


def unit_error(tr: Traits, f: Activation, r: Array, b: Array, N: int) -> Array | float:
    """Relative error of a unit's Hermite coefficients: 0 where they are exact or
    piecewise (polynomials, exp, kinks), a priori where the Gauss–Hermite projection is
    used (profiled activations, below 1e-15, plus its rounding floor), a posteriori for
    custom activations."""
    if tr.degree is not None or tr.exp or not tr.smooth:
        return 0.0
    if tr.profile is not None:
        e = gh_error(f, r, N)
        e += GH_FLOOR
        e[e > 1e-15 + GH_FLOOR] = 0.0
        return e
    x, w = hermite_rule(N)
    x2, w2 = hermite_rule(max(N // 2, 8))
    d = quad_one_point(f, r, b, 0, True, x, w)
    d2 = quad_one_point(f, r, b, 0, True, x2, w2)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.abs(d.value - d2.value) / np.maximum(np.abs(d.value), 1e-300)
    return np.where(np.isnan(rel), np.inf, rel)


def mehler_error(t1: Traits, t2: Traits, f1: Activation, f2: Activation, pts: PairPoints,
                 est: Array, size: Array, N: int) -> Array:
    """(n, 3) error estimates of Mehler's series: the tail estimate ``est`` plus the
    units' coefficient errors, times ``size`` (the product of their largest
    coefficients)."""
    e = (est + unit_error(t1, f1, pts.r1, pts.b1, N) + unit_error(t2, f2, pts.r2, pts.b2, N)
         ) * size
    return np.repeat(e[:, None], 3, axis=1)
