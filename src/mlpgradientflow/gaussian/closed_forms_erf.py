r"""Closed forms for ``normal_cdf`` (:math:`\Phi`) and ``sigmoid2`` (:math:`2\Phi - 1`).

Both activations are affine in :math:`\Phi`, :math:`f = A\Phi + B`, with
:math:`(A, B) = (1, 0)` for ``normal_cdf`` and :math:`(2, -1)` for ``sigmoid2``
(:math:`\mathrm{erf}(x/\sqrt2) = 2\Phi(x) - 1`). With :math:`n_i = \sqrt{1 + r_i^2}`,
:math:`h = b_1/n_1`, :math:`k = b_2/n_2` and
:math:`\rho = u r_1 r_2/(n_1 n_2)` (:math:`\Phi(rz + b) = P(W \le rz + b)` for an
independent :math:`W`, so :math:`E[\Phi(rz + b)] = \Phi(b/n)`):

.. math::

    E[\Phi(r z + b)] = \Phi(h), \qquad
    E[\Phi(r_1 z_1 + b_1)\,\Phi(r_2 z_2 + b_2)] = \mathrm{BvN}(h, k, \rho),

so every pair is :math:`F(h, k, \rho) = \alpha\,\mathrm{BvN} + \beta_1\Phi(h) +
\beta_2\Phi(k) + \gamma` with :math:`\alpha = A_1A_2`, :math:`\beta_1 = A_1B_2`,
:math:`\beta_2 = B_1A_2`, :math:`\gamma = B_1B_2`, and all derivatives follow by the chain
rule through :math:`(h, k, \rho)`:

.. math::

    \partial_{r}h = -\frac{b r}{n^3}, \quad \partial_b h = \frac1n, \quad
    \partial_r^2 h = \frac{b(2r^2 - 1)}{n^5}, \quad \partial_r\partial_b h = -\frac{r}{n^3},

    g_i = r_i/n_i, \quad g_i' = n_i^{-3}, \quad g_i'' = -3r_i n_i^{-5}, \qquad
    \rho = u g_1 g_2.

The one-point square is the pair at :math:`(r, b, r, b, 1)`
(:func:`~.interface.fold_diagonal`). Since
:math:`1 - \rho^2 = (1 + r_1^2 + r_2^2 + r_1^2 r_2^2 (1 - u^2))/(n_1 n_2)^2 > 0` for finite
:math:`r_i`, nothing is singular: :math:`r = 0`, :math:`|u| = 1` and :math:`D = 1` need no
special case. :math:`\rho'` and the conditional limits :math:`a, c` are formed from
:math:`(r_i, b_i, u)` directly, without cancellation.

Every member of the family and every pair within it is registered with the decorators of
:mod:`.closed_forms` when this module is imported.

>>> from mlpgradientflow.gaussian.closed_forms import find_pair
>>> d = find_pair("sigmoid2", "normal_cdf")(1.0, 0.0, 1.0, 0.0, 1.0, order=0)
>>> round(float(d.value[0]), 15)  # E[erf(z/sqrt 2) Phi(z)] = 2 BvN(0, 0, 1/2) - 1/2
0.166666666666667
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from .bvn import bvn_value, norm_pdf
from .closed_forms import closed_form_one_point, closed_form_pair
from .interface import Array, Derivs, OneFn, PairFn, fold_diagonal, pack_one, pack_pair

__all__ = ["ERF_FAMILY", "family_pair", "family_phi", "family_phiphi", "bvn_family_pair"]

#: f = A Phi + B
_AFFINE = {"normal_cdf": (1.0, 0.0), "sigmoid2": (2.0, -1.0)}
ERF_FAMILY = tuple(_AFFINE)


class _Inner:
    r"""h = b/n and g = r/n with their derivatives in (r, b), n = sqrt(1 + r^2)."""

    def __init__(self, r: Array, b: Array) -> None:
        inv_s = 1.0 / (1.0 + r * r)
        inv_n = np.sqrt(inv_s)
        self.inv_n = inv_n
        self.h = b * inv_n
        self.g = r * inv_n
        self.gp = inv_n * inv_s
        self.gpp = -3.0 * r * inv_s * self.gp
        self.h_r = -self.h * r * inv_s
        self.h_b = inv_n
        self.h_rr = self.h * (2.0 * r * r - 1.0) * inv_s * inv_s
        self.h_rb = -r * self.gp


def _arrays(*xs: ArrayLike) -> tuple[Array, ...]:
    return np.broadcast_arrays(*(np.atleast_1d(np.asarray(x, dtype=float)) for x in xs))


def _limit_numerator(b_own: Array, b_other: Array, r_own: Array, r_other: Array,
                     u: Array) -> Array:
    """n_own^2 b_other - u r_own r_other b_own, free of cancellation near u = +-1."""
    rr = r_own * r_other * b_own
    return np.where(
        u >= 0.0,
        b_other + r_own * (r_own * b_other - r_other * b_own) + rr * (1.0 - u),
        b_other + r_own * (r_own * b_other + r_other * b_own) - rr * (1.0 + u),
    )


def bvn_family_pair(
    r1: ArrayLike,
    b1: ArrayLike,
    r2: ArrayLike,
    b2: ArrayLike,
    u: ArrayLike,
    coef: tuple[float, float, float, float],
    order: int = 2,
) -> Derivs:
    r""":math:`\alpha\,\mathrm{BvN}(h, k, \rho) + \beta_1\Phi(h) + \beta_2\Phi(k) + \gamma`
    with its derivatives in :math:`(r_1, b_1, r_2, b_2, u)`.

    ``coef`` is :math:`(\alpha, \beta_1, \beta_2, \gamma)`; see the module docstring.
    """
    a1, c1, a2, c2, ua = _arrays(r1, b1, r2, b2, u)
    return _family_pair(a1, c1, a2, c2, ua, coef, order)


def _family_pair(r1: Array, b1: Array, r2: Array, b2: Array, u: Array,
                 coef: tuple[float, float, float, float], order: int) -> Derivs:
    """:func:`bvn_family_pair` on float arrays of one shape."""
    alpha, beta1, beta2, gamma = coef
    u = np.clip(u, -1.0, 1.0)
    i1, i2 = _Inner(r1, b1), _Inner(r2, b2)
    h, k = i1.h, i2.h
    rho = u * i1.g * i2.g
    sqd = np.sqrt(1.0 + r1 * r1 + r2 * r2 + (r1 * r2) ** 2 * ((1.0 - u) * (1.0 + u)))
    rc = sqd * i1.inv_n * i2.inv_n
    inv_sqd = 1.0 / sqd
    a = _limit_numerator(b1, b2, r1, r2, u) * i1.inv_n * inv_sqd
    c = _limit_numerator(b2, b1, r2, r1, u) * i2.inv_n * inv_sqd
    value = alpha * bvn_value(h, k, rho, rc, a, c) + gamma
    if beta1:
        value += beta1 * special.ndtr(h)
    if beta2:
        value += beta2 * special.ndtr(k)
    if order < 1:
        return Derivs(value, None, None)
    ph, pk = norm_pdf(h), norm_pdf(k)
    inv = 1.0 / rc
    fh = alpha * ph * special.ndtr(a) + beta1 * ph
    fk = alpha * pk * special.ndtr(c) + beta2 * pk
    fr = alpha * ph * norm_pdf(a) * inv  # alpha times the density
    rho_r1, rho_r2, rho_u = u * i1.gp * i2.g, u * i1.g * i2.gp, i1.g * i2.g
    grad = (
        fh * i1.h_r + fr * rho_r1,
        fh * i1.h_b,
        fk * i2.h_r + fr * rho_r2,
        fk * i2.h_b,
        fr * rho_u,
    )
    if order < 2:
        return pack_pair(value, grad, None)
    fhh = -h * fh - rho * fr
    fkk = -k * fk - rho * fr
    fhr = -c * fr * inv
    fkr = -a * fr * inv
    frr = (rho + a * c) * fr * inv * inv
    outer = (fh, fk, fr, fhh, fr, fhr, fkk, fkr, frr)  # F_hk is the density fr as well
    hess = _chain_hessian(i1, i2, u, outer, rho_r1, rho_r2, rho_u)
    return pack_pair(value, grad, hess)


def _chain_hessian(i1: _Inner, i2: _Inner, u: Array, fd: tuple[Array, ...], rho_r1: Array,
                   rho_r2: Array, rho_u: Array) -> tuple[Array, ...]:
    """The 15 Hessian entries of F(h(r1, b1), k(r2, b2), rho(r1, r2, u))."""
    fh, fk, fr, fhh, fhk, fhr, fkk, fkr, frr = fd
    h_r1, h_b1, k_r2, k_b2 = i1.h_r, i1.h_b, i2.h_r, i2.h_b
    rho_r1r1 = u * i1.gpp * i2.g
    rho_r2r2 = u * i1.g * i2.gpp
    rho_r1r2 = u * i1.gp * i2.gp
    rho_r1u, rho_r2u = i1.gp * i2.g, i1.g * i2.gp
    hr_r1 = fhh * h_r1 + fhr * rho_r1  # d(F_h)/dr1 restricted to the h, rho paths
    kr_r2 = fkk * k_r2 + fkr * rho_r2
    return (
        hr_r1 * h_r1 + (fhr * h_r1 + frr * rho_r1) * rho_r1 + fh * i1.h_rr + fr * rho_r1r1,
        hr_r1 * h_b1 + fh * i1.h_rb,
        fhk * h_r1 * k_r2 + fhr * h_r1 * rho_r2 + fkr * rho_r1 * k_r2
        + frr * rho_r1 * rho_r2 + fr * rho_r1r2,
        (fhk * h_r1 + fkr * rho_r1) * k_b2,
        (fhr * h_r1 + frr * rho_r1) * rho_u + fr * rho_r1u,
        fhh * h_b1 * h_b1,
        (fhk * k_r2 + fhr * rho_r2) * h_b1,
        fhk * h_b1 * k_b2,
        fhr * h_b1 * rho_u,
        kr_r2 * k_r2 + (fkr * k_r2 + frr * rho_r2) * rho_r2 + fk * i2.h_rr + fr * rho_r2r2,
        kr_r2 * k_b2 + fk * i2.h_rb,
        (fkr * k_r2 + frr * rho_r2) * rho_u + fr * rho_r2u,
        fkk * k_b2 * k_b2,
        fkr * k_b2 * rho_u,
        frr * rho_u * rho_u,
    )


def _coef(name1: str, name2: str) -> tuple[float, float, float, float]:
    (a1, c1), (a2, c2) = _AFFINE[name1], _AFFINE[name2]
    return a1 * a2, a1 * c2, c1 * a2, c1 * c2


def family_pair(name1: str, name2: str) -> PairFn:
    r"""The two-point closed form :math:`E[f_1(r_1z_1 + b_1) f_2(r_2z_2 + b_2)]`."""
    coef = _coef(name1, name2)

    def pair(r1: ArrayLike, b1: ArrayLike, r2: ArrayLike, b2: ArrayLike, u: ArrayLike,
             order: int = 2) -> Derivs:
        return bvn_family_pair(r1, b1, r2, b2, u, coef, order)

    pair.__name__ = f"{name1}_{name2}_pair"
    return pair


def family_phi(name: str) -> OneFn:
    r"""The one-point closed form :math:`E[f(rz + b)] = A\Phi(h) + B`."""
    amp, off = _AFFINE[name]

    def phi(r: ArrayLike, b: ArrayLike, order: int = 2) -> Derivs:
        i = _Inner(*_arrays(r, b))
        value = amp * special.ndtr(i.h) + off
        if order < 1:
            return Derivs(value, None, None)
        d = amp * norm_pdf(i.h)
        grad = (d * i.h_r, d * i.h_b)
        if order < 2:
            return pack_one(value, grad, None)
        dd = -i.h * d  # A phi'(h)
        hess = (
            dd * i.h_r * i.h_r + d * i.h_rr,
            dd * i.h_r * i.h_b + d * i.h_rb,
            dd * i.h_b * i.h_b,
        )
        return pack_one(value, grad, hess)

    phi.__name__ = f"{name}_phi"
    return phi


def family_phiphi(name: str) -> OneFn:
    r"""The one-point closed form :math:`E[f(rz + b)^2]`: the pair at :math:`(r, b, r, b, 1)`."""
    coef = _coef(name, name)

    def phiphi(r: ArrayLike, b: ArrayLike, order: int = 2) -> Derivs:
        ra, ba = _arrays(r, b)
        return fold_diagonal(_family_pair(ra, ba, ra, ba, np.ones_like(ra), coef, order))

    phiphi.__name__ = f"{name}_phiphi"
    return phiphi


# every member of the family, and every pair within it, has its closed forms
for _n1 in ERF_FAMILY:
    closed_form_one_point(_n1)(family_phi(_n1))
    closed_form_one_point(_n1, squared=True)(family_phiphi(_n1))
    for _n2 in ERF_FAMILY:
        closed_form_pair(_n1, _n2)(family_pair(_n1, _n2))
