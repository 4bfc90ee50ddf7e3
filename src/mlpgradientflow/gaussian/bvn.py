r"""The standard normal and bivariate normal distribution functions, with derivatives.

:math:`\varphi`, :math:`\Phi` are the standard normal density and distribution
function, and

.. math::

    \mathrm{BvN}(h, k, \rho) = P(X \le h,\ Y \le k), \qquad
    (X, Y) \sim N\!\left(0, \begin{pmatrix} 1 & \rho \\ \rho & 1 \end{pmatrix}\right).

The value is computed with Owen's :math:`T` function (Owen 1956), with
:math:`\rho' = \sqrt{1 - \rho^2}`, :math:`a_h = (k - \rho h)/(h \rho')` and
:math:`a_k = (h - \rho k)/(k \rho')`:

.. math::

    \mathrm{BvN} = \tfrac12\bigl(\Phi(h) + \Phi(k)\bigr) - T(h, a_h) - T(k, a_k) - \delta,

with :math:`\delta = \tfrac12` when exactly one of :math:`h, k` is negative and
:math:`\delta = 0` otherwise. A zero argument is read as
:math:`+0` (then :math:`T(0, a_h) = \operatorname{sign}(k)/4`), :math:`h = k = 0` gives
:math:`\tfrac14 + \arcsin(\rho)/(2\pi)`, :math:`\rho = 1` gives :math:`\Phi(\min(h, k))`,
:math:`\rho = -1` gives :math:`\max(0, \Phi(h) - \Phi(-k))` and infinite arguments give
the marginals. ``scipy.special.owens_t`` is accurate to about 1e-17 in absolute terms over
the whole range (checked against mpmath for :math:`|h| \le 37`, :math:`|a| \le 10^{15}`
and :math:`a = \pm\infty`), so the value is accurate to a few ulp of 1 in absolute terms.

Derivatives (Plackett's identity :math:`\partial_\rho \mathrm{BvN} = p(h, k)`, the
density), with :math:`a = (k - \rho h)/\rho'` and :math:`c = (h - \rho k)/\rho'`:

.. math::

    \partial_h = \varphi(h)\Phi(a), \quad \partial_k = \varphi(k)\Phi(c), \quad
    \partial_\rho = p = \varphi(h)\varphi(a)/\rho',

    \partial_h^2 = -h\,\partial_h - \rho p, \quad \partial_h\partial_k = p, \quad
    \partial_h\partial_\rho = -c\,p/\rho', \quad
    \partial_\rho^2 = (\rho + a c)\,p/\rho'^2,

and the :math:`k` ones by symmetry. At :math:`|\rho| = 1` the distribution is singular;
there we return the limits :math:`\rho \to \pm 1` of the first derivatives in
:math:`h, k` (with :math:`\Phi(0/0) := 1/2`) and 0 for every term carrying the density
:math:`p` (its limit, except on the line :math:`k = \rho h` where it is a Dirac mass).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from .interface import Array, Derivs

__all__ = [
    "BvnParts",
    "norm_pdf",
    "norm_cdf",
    "owent",
    "bvn_cdf",
    "bvn",
    "bvn_value",
    "bvn_parts",
    "bvn_second",
    "conditional_limits",
]

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_INV_2PI = 1.0 / (2.0 * math.pi)


def norm_pdf(x: ArrayLike) -> Array:
    r"""The standard normal density :math:`\varphi(x) = e^{-x^2/2}/\sqrt{2\pi}` (0 at
    :math:`\pm\infty`), elementwise.

    Parameters
    ----------
    x : array_like
        Any shape.

    Returns
    -------
    ndarray
        :math:`\varphi(x)`, the shape of ``x``.

    Examples
    --------
    >>> from mlpgradientflow.gaussian import norm_pdf
    >>> norm_pdf([0.0, 1.0, float("inf")])
    array([0.39894228, 0.24197072, 0.        ])
    """
    xa = np.asarray(x, dtype=float)
    return np.exp(-0.5 * xa * xa) * _INV_SQRT_2PI


def norm_cdf(x: ArrayLike) -> Array:
    r"""The standard normal distribution function
    :math:`\Phi(x) = \int_{-\infty}^x \varphi(t)\,dt`, elementwise, with full relative
    accuracy in the lower tail (``scipy.special.ndtr``).

    Parameters
    ----------
    x : array_like
        Any shape.

    Returns
    -------
    ndarray
        :math:`\Phi(x)`, the shape of ``x``.

    Examples
    --------
    >>> from mlpgradientflow.gaussian import norm_cdf
    >>> norm_cdf([0.0, 1.96]).round(6)
    array([0.5     , 0.975002])
    >>> float(norm_cdf(-30.0))             # not 1 - Phi(30), which rounds to 0
    4.906714e-198
    """
    return special.ndtr(np.asarray(x, dtype=float))


def owent(h: ArrayLike, a: ArrayLike) -> Array:
    r"""Owen's T function (the reference's ``owent``), elementwise with broadcasting:

    .. math::

        T(h, a) = \frac{1}{2\pi} \int_0^a \frac{e^{-h^2(1 + x^2)/2}}{1 + x^2}\, dx,

    the probability of :math:`\{Z_1 > h,\ 0 < Z_2 < aZ_1\}` for independent standard
    normals. ``scipy.special.owens_t`` (accurate to about 1e-17 absolute); NaN inputs give
    NaN, :math:`T(h, \pm\infty)` is finite.

    Parameters
    ----------
    h, a : array_like
        Broadcast against each other.

    Returns
    -------
    ndarray
        :math:`T(h, a)`, the broadcast shape.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpgradientflow.gaussian import norm_cdf, owent
    >>> float(owent(0.0, 1.0)) == 1 / 8, bool(np.isclose(owent(0.5, np.inf), norm_cdf(-0.5) / 2))
    (True, True)
    """
    return special.owens_t(np.asarray(h, dtype=float), np.asarray(a, dtype=float))


def _complement(rho: Array) -> Array:
    """sqrt(1 - rho^2) as sqrt((1 - rho)(1 + rho)), which keeps accuracy near |rho| = 1."""
    return np.sqrt(np.maximum((1.0 - rho) * (1.0 + rho), 0.0))


def _prepare(
    h: ArrayLike, k: ArrayLike, rho: ArrayLike, rho_c: ArrayLike | None
) -> tuple[Array, Array, Array, Array]:
    r"""The arguments as float arrays broadcast together, :math:`\rho'` computed if missing."""
    ha, ka, rhoa = (np.asarray(v, dtype=float) for v in (h, k, rho))
    rca = _complement(rhoa) if rho_c is None else np.asarray(rho_c, dtype=float)
    hb, kb, rhob, rcb = np.broadcast_arrays(ha, ka, rhoa, rca)
    return hb, kb, rhob, rcb


def _ratio(num: Array, den: Array) -> Array:
    """num/den, with the limit sign(num)*inf (0 for num = 0) at den = 0."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        q = num / den
        lim = np.sign(num) * np.inf
    return np.where(den > 0.0, q, np.where(num == 0.0, 0.0, lim))


def conditional_limits(h: Array, k: Array, rho: Array, rho_c: Array) -> tuple[Array, Array]:
    r""":math:`a = (k - \rho h)/\rho'` and :math:`c = (h - \rho k)/\rho'`.

    :math:`k - \rho h` is evaluated as :math:`(k - h) + (1 - \rho) h` for
    :math:`\rho \ge 0` (and :math:`(k + h) - (1 + \rho) h` for :math:`\rho < 0`): near
    :math:`h = \pm k`, :math:`|\rho| \to 1` the direct form loses
    :math:`\log_{10}(1/(1-|\rho|))` digits, the dominant error of BvN there. At
    :math:`\rho' = 0` the limits :math:`\pm\infty` (0 for a zero numerator) are returned.
    """
    pos = rho >= 0.0
    num_a = np.where(pos, (k - h) + (1.0 - rho) * h, (k + h) - (1.0 + rho) * h)
    num_c = np.where(pos, (h - k) + (1.0 - rho) * k, (h + k) - (1.0 + rho) * k)
    return _ratio(num_a, rho_c), _ratio(num_c, rho_c)


def _owen_half(h: Array, a: Array) -> Array:
    """T(h, a/h), with h = 0 read as +0 (T(0, sign(a) inf) = sign(a)/4)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ah = np.where(h == 0.0, 0.0, a / np.where(h == 0.0, 1.0, h))
    return np.where(h == 0.0, 0.25 * np.sign(a), special.owens_t(h, ah))


def bvn_value(h: Array, k: Array, rho: Array, rc: Array, a: Array, c: Array) -> Array:
    """BvN from precomputed ``rc`` = rho', ``a``, ``c`` (:func:`conditional_limits`).

    The closed forms call this with ``a``, ``c`` computed from their own arguments
    without cancellation.
    """
    fin = np.isfinite(h) & np.isfinite(k)
    regular = fin & (rc > 0.0)
    if regular.all() and np.all(h != 0.0) and np.all(k != 0.0) and not np.isnan(rho).any():
        # the common case, without the special-case masks
        delta = np.where((h < 0.0) != (k < 0.0), 0.5, 0.0)
        with np.errstate(over="ignore"):  # a/h = +-inf for tiny h is T's right limit
            t = special.owens_t(h, a / h) + special.owens_t(k, c / k)
        return np.clip(0.5 * (special.ndtr(h) + special.ndtr(k)) - t - delta, 0.0, 1.0)
    hf, kf = np.where(fin, h, 0.0), np.where(fin, k, 0.0)
    af, cf = np.where(regular, a, 1.0), np.where(regular, c, 1.0)
    # delta = 1/2 when exactly one limit is negative (0 read as +0); signs, not the
    # product h k, which underflows for tiny arguments
    delta = np.where((hf < 0.0) != (kf < 0.0), 0.5, 0.0)
    out = 0.5 * (special.ndtr(hf) + special.ndtr(kf)) - _owen_half(hf, af) - _owen_half(kf, cf)
    out -= delta
    rcs = np.where(regular, rc, 1.0)
    out = np.where((hf == 0.0) & (kf == 0.0), 0.25 + np.arctan2(rho, rcs) * _INV_2PI, out)
    # singular correlation: Y = +-X
    plus = special.ndtr(np.minimum(hf, kf))
    minus = np.where(hf + kf > 0.0, special.ndtr(hf) - special.ndtr(-kf), 0.0)
    out = np.where(regular, out, np.where(rho > 0.0, plus, minus))
    # infinite limits: the marginals
    out = np.where(h == np.inf, special.ndtr(k), out)
    out = np.where(k == np.inf, special.ndtr(h), out)
    out = np.where((h == -np.inf) | (k == -np.inf), 0.0, out)
    out = np.where(np.isnan(h) | np.isnan(k) | np.isnan(rho), np.nan, out)
    return np.clip(out, 0.0, 1.0)


def bvn_cdf(
    h: ArrayLike, k: ArrayLike, rho: ArrayLike, rho_c: ArrayLike | None = None
) -> Array:
    r"""The standard bivariate normal distribution function :math:`\mathrm{BvN}(h, k, \rho)`.

    Parameters
    ----------
    h, k : array_like
        Upper limits (may be :math:`\pm\infty`).
    rho : array_like
        Correlation in :math:`[-1, 1]`.
    rho_c : array_like, optional
        :math:`\sqrt{1-\rho^2}` when the caller knows it more accurately than it follows
        from ``rho`` (near :math:`|\rho| = 1`); ``rho_c == 0`` selects the singular cases.

    Returns
    -------
    ndarray
        :math:`P(X \le h, Y \le k)`, broadcast over the arguments.

    Examples
    --------
    >>> float(bvn_cdf(0.0, 0.0, 0.5))  # 1/4 + asin(1/2)/(2 pi) = 1/3
    0.3333333333333333
    >>> float(bvn_cdf(1.0, 2.0, 1.0)), float(norm_cdf(1.0))
    (0.8413447460685429, 0.8413447460685429)
    """
    ha, ka, rhoa, rc = _prepare(h, k, rho, rho_c)
    with np.errstate(invalid="ignore"):
        a, c = conditional_limits(ha, ka, rhoa, rc)
    return bvn_value(ha, ka, rhoa, rc, a, c)


class BvnParts(NamedTuple):
    r"""Building blocks of the BvN derivatives (see the module docstring).

    ``dh`` :math:`=\varphi(h)\Phi(a)`, ``dk`` :math:`=\varphi(k)\Phi(c)`, ``p`` the
    density, ``a``, ``c`` the conditional standardised limits, ``inv_rc``
    :math:`=1/\rho'` (``a``, ``c``, ``p``, ``inv_rc`` are 0 where :math:`\rho' = 0`).
    """

    dh: Array
    dk: Array
    p: Array
    a: Array
    c: Array
    inv_rc: Array


def bvn_parts(h: Array, k: Array, rc: Array, a: Array, c: Array) -> BvnParts:
    """The first derivatives and the density of BvN, for finite ``h``, ``k``."""
    ph = norm_pdf(h)
    dh = ph * special.ndtr(a)
    dk = norm_pdf(k) * special.ndtr(c)
    reg = rc > 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.where(reg, 1.0 / np.where(reg, rc, 1.0), 0.0)
    p = ph * norm_pdf(np.where(reg, a, 0.0)) * inv
    return BvnParts(dh, dk, p, np.where(reg, a, 0.0), np.where(reg, c, 0.0), inv)


def bvn_second(
    h: Array, k: Array, rho: Array, parts: BvnParts
) -> tuple[Array, Array, Array, Array, Array, Array]:
    """(hh, hk, hr, kk, kr, rr): the six second derivatives of BvN from its parts."""
    dh, dk, p, a, c, inv = parts
    hh = -h * dh - rho * p
    kk = -k * dk - rho * p
    hr = -c * p * inv
    kr = -a * p * inv
    rr = (rho + a * c) * p * inv * inv
    return hh, p, hr, kk, kr, rr


def bvn(
    h: ArrayLike,
    k: ArrayLike,
    rho: ArrayLike,
    order: int = 2,
    rho_c: ArrayLike | None = None,
) -> Derivs:
    r"""BvN with its gradient and Hessian in :math:`(h, k, \rho)`.

    Parameters
    ----------
    h, k, rho : array_like
        Limits (may be :math:`\pm\infty`: then the derivatives of the marginal) and the
        correlation, broadcast to a common shape ``S``.
    order : {0, 1, 2}
        The highest derivative order computed.
    rho_c : array_like, optional
        :math:`\sqrt{1-\rho^2}`, see :func:`bvn_cdf`.

    Returns
    -------
    Derivs
        ``value`` (S), ``grad`` (S + (3,)) in the order :math:`(h, k, \rho)`, ``hess``
        (S + (3, 3)), symmetric.

    Examples
    --------
    >>> d = bvn(0.0, 0.0, 0.0)
    >>> float(d.value), d.grad.tolist()  # phi(0)/2 and the density 1/(2 pi)
    (0.25, [0.19947114020071635, 0.19947114020071635, 0.15915494309189535])
    """
    h_, k_, rho_, rc = _prepare(h, k, rho, rho_c)
    return _bvn_derivs(h_, k_, rho_, rc, order)


def _bvn_derivs(h: Array, k: Array, rho: Array, rc: Array, order: int) -> Derivs:
    """:func:`bvn` on prepared arguments."""
    with np.errstate(invalid="ignore"):
        a, c = conditional_limits(h, k, rho, rc)
    value = bvn_value(h, k, rho, rc, a, c)
    if order < 1:
        return Derivs(value, None, None)
    # infinite limits: derivatives of the marginal Phi(k) (h = +inf), Phi(h) (k = +inf)
    # or of 0; evaluated on finite stand-ins, then replaced
    fin = np.isfinite(h) & np.isfinite(k)
    hf, kf = np.where(fin, h, 0.0), np.where(fin, k, 0.0)
    a, c = np.where(fin, a, 0.0), np.where(fin, c, 0.0)
    parts = bvn_parts(hf, kf, rc, a, c)
    only_k, only_h = (h == np.inf) & ~np.isnan(k), (k == np.inf) & ~np.isnan(h)
    zero = ~fin & ~only_k & ~only_h
    dh = np.where(only_h, norm_pdf(np.where(only_h, h, 0.0)), np.where(fin, parts.dh, 0.0))
    dk = np.where(only_k, norm_pdf(np.where(only_k, k, 0.0)), np.where(fin, parts.dk, 0.0))
    dh, dk = np.where(zero, 0.0, dh), np.where(zero, 0.0, dk)
    grad = np.stack([dh, dk, np.where(fin, parts.p, 0.0)], axis=-1)
    if order < 2:
        return Derivs(value, grad, None)
    hh, hk, hr, kk, kr, rr = (np.where(fin, v, 0.0) for v in bvn_second(hf, kf, rho, parts))
    with np.errstate(invalid="ignore"):  # -inf * 0 where the marginal is Phi(+-inf)
        hh = np.where(only_h & np.isfinite(h), -h * dh, hh)
        kk = np.where(only_k & np.isfinite(k), -k * dk, kk)
    hess = np.stack(
        [np.stack(row, axis=-1) for row in ((hh, hk, hr), (hk, kk, kr), (hr, kr, rr))], axis=-2
    )
    return Derivs(value, grad, hess)
