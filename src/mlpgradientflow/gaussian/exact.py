r"""Exact Gaussian integrals of polynomial and exponential activations.

Polynomials (``identity``, ``square``, ``cube``, :class:`~mlpgradientflow.Poly`): a
Gauss–Hermite rule with :math:`n` nodes integrates polynomials of degree :math:`< 2n`
exactly, so :math:`E[g(rz + b)z^j]` for :math:`g = f^{(a)}` or :math:`(f^2)^{(a)}` (degree
at most :math:`2d`, :math:`d = \deg f`) is exact on :math:`d + 3` unpruned nodes, and the
Hermite coefficients :math:`E[f^{(a)}(rz + b)h_n(z)]` vanish for :math:`n > d - a`: Mehler's
series of a polynomial with any partner ends after :math:`d + 1` terms
(:func:`poly_coefficients`), i.e. :math:`E[P(y_1)f(y_2)] = \sum_{n \le d}
c_n^{(P)}c_n^{(f)}u^n` with only low-order coefficients of the partner.

Exponential: :math:`E[e^{rz + b}] = e^{b + r^2/2}`, :math:`E[e^{2(rz + b)}] = e^{2b + 2r^2}`,
and by exponential tilting (:math:`e^{r_1z_1}` shifts the mean of :math:`z_2` by
:math:`ur_1`)

.. math::

    E[e^{r_1z_1 + b_1} f(r_2z_2 + b_2)] = e^{b_1 + r_1^2/2}\,
    \phi_f(r_2,\ b_2 + ur_1r_2), \qquad
    E[e^{y_1}e^{y_2}] = \exp\bigl(b_1 + b_2 + \tfrac12(r_1^2 + 2ur_1r_2 + r_2^2)\bigr),

a one-point expectation of the partner (:func:`exp_pair`); derivatives by the chain rule.
Values beyond the float64 range are ``inf`` (``NetI`` then raises
:class:`~mlpgradientflow.NonFiniteError`), never NaN from ``inf * 0``.

>>> import numpy as np
>>> d = exp_one_point(np.array([30.0]), np.array([0.0]), 2, squared=False)
>>> bool(d.value[0] == np.exp(450.0)), bool(d.grad[0, 0] == 30 * np.exp(450.0))
(True, True)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..activations import ACTIVATIONS, Activation, Poly
from .interface import Array, Derivs, evaluate, is_builtin, pack_one
from .quadrature import hermite_rule, hermite_values
from .quadrature_expectations import quad_one_point

__all__ = ["poly_degree", "is_exp", "poly_one_point", "poly_coefficients", "exp_one_point",
           "exp_pair", "OnePointFn"]

_DEGREES = {"identity": 1, "square": 2, "cube": 3}

#: ``fn(f, r, b, order) -> (Derivs, err)``: the one-point integrals of the partner of exp
OnePointFn = Callable[[Activation, Array, Array, int], tuple[Derivs, Array]]


def poly_degree(f: Activation) -> int | None:
    """The degree of a polynomial activation, None for anything else."""
    if isinstance(f, Poly):
        c = list(f.coeffs)
        while len(c) > 1 and c[-1] == 0.0:
            c.pop()
        return len(c) - 1
    d = _DEGREES.get(f.name)
    return d if d is not None and is_builtin(f) else None


def is_exp(f: Activation) -> bool:
    """True for the built-in ``exp``."""
    return f.name == "exp" and ACTIVATIONS.get("exp") is f


def _degree(f: Activation) -> int:
    d = poly_degree(f)
    if d is None:
        raise ValueError(f"{f.name!r} is not a polynomial activation")
    return d


def _rule(n: int) -> tuple[Array, Array]:
    return hermite_rule(n, 0.0)


def poly_one_point(f: Activation, r: Array, b: Array, order: int, squared: bool) -> Derivs:
    """E[g(rz + b)], g = f or f^2, with derivatives, exactly (polynomial f)."""
    x, w = _rule(_degree(f) + 3)
    return quad_one_point(f, r, b, order, squared, x, w)


def poly_coefficients(f: Activation, r: Array, b: Array, T: int, order: int) -> list[Array]:
    """E[f^(a)(rz + b) h_n(z)] (a <= order, n < T), each (T, K), exactly; zero for
    n > deg - a."""
    d = _degree(f)
    x, w = _rule(d + T + 2)
    vals = evaluate(f, r[:, None] * x + b[:, None], order)
    proj = hermite_values(x, T, w)  # (T, m)
    out = []
    for a in range(order + 1):
        c = proj @ vals[a].T
        c[max(d - a + 1, 0):] = 0.0
        out.append(c)
    return out


def exp_one_point(r: Array, b: Array, order: int, squared: bool) -> Derivs:
    r""":math:`E[e^{k(rz + b)}]`, :math:`k = 1` (or 2 when ``squared``), and derivatives."""
    k = 2.0 if squared else 1.0
    with np.errstate(over="ignore"):
        v = np.exp(k * b + 0.5 * k * k * r * r)
    if order < 1:
        return Derivs(v, None, None)
    gr, gb = k * k * r, k  # d log v
    with np.errstate(over="ignore", invalid="ignore"):
        grad = (v * gr, v * gb)
        if order < 2:
            return pack_one(v, grad, None)
        hess = (v * (gr * gr + k * k), v * gr * gb, v * gb * gb)
    return pack_one(v, grad, hess)


def _safe_mul(a: Array, b: Array) -> Array:
    """a * b with inf * 0 = 0 (an overflowing factor times an exactly vanishing one)."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = a * b
    return np.where(b == 0.0, 0.0, out) if np.ndim(out) else out


def exp_pair(f2: Activation, r1: Array, b1: Array, r2: Array, b2: Array, u: Array, order: int,
             one_point_fn: OnePointFn) -> tuple[Derivs, Array]:
    r""":math:`E[e^{r_1z_1 + b_1}f_2(r_2z_2 + b_2)]` and derivatives in
    :math:`(r_1, b_1, r_2, b_2, u)` by tilting (``one_point_fn(f2, r, b, order)`` gives
    the partner's one-point :class:`Derivs` and error estimates)."""
    n = len(r1)
    if is_exp(f2):  # everything in the exponent S
        S = b1 + b2 + 0.5 * (r1 * r1 + 2.0 * u * r1 * r2 + r2 * r2)
        with np.errstate(over="ignore"):
            V = np.exp(S)
        err = np.zeros((n, 3))
        if order < 1:
            return Derivs(V, None, None), err
        gS = np.stack([r1 + u * r2, np.ones(n), r2 + u * r1, np.ones(n), r1 * r2], axis=1)
        with np.errstate(over="ignore", invalid="ignore"):
            grad = V[:, None] * gS
            if order < 2:
                return Derivs(V, grad, None), err
            HS = np.zeros((n, 5, 5))
            HS[:, 0, 0] = HS[:, 2, 2] = 1.0
            HS[:, 0, 2] = HS[:, 2, 0] = u
            HS[:, 0, 4] = HS[:, 4, 0] = r2
            HS[:, 2, 4] = HS[:, 4, 2] = r1
            hess = V[:, None, None] * (gS[:, :, None] * gS[:, None, :] + HS)
        return Derivs(V, grad, hess), err
    beta = b2 + u * r1 * r2
    F, ferr = one_point_fn(f2, r2, beta, order)
    with np.errstate(over="ignore"):
        A = np.exp(b1 + 0.5 * r1 * r1)
    V = _safe_mul(A, F.value)
    err = np.zeros((n, 3))
    err[:, 0] = _safe_mul(A, ferr[:, 0])
    if order < 1:
        return Derivs(V, None, None), err
    z = np.zeros(n)
    # m(x) = (r2, beta): Jacobian rows and the Hessian of beta
    m0 = np.stack([z, z, z + 1.0, z, z], axis=1)
    m1 = np.stack([u * r2, z, u * r1, z + 1.0, r1 * r2], axis=1)
    gA = np.stack([r1, z + 1.0, z, z, z], axis=1)  # grad log A
    Fr, Fb = F.gradient[:, 0], F.gradient[:, 1]
    gG = Fr[:, None] * m0 + Fb[:, None] * m1
    grad = _safe_mul(A[:, None], gA * F.value[:, None] + gG)
    scale = 1.0 + np.abs(r1) + np.abs(r2) + np.abs(r1 * r2)
    err[:, 1] = _safe_mul(A, (ferr[:, 0] + ferr[:, 1]) * scale)
    if order < 2:
        return Derivs(V, grad, None), err
    Frr, Frb, Fbb = F.hessian[:, 0, 0], F.hessian[:, 0, 1], F.hessian[:, 1, 1]

    def out(a: Array, c: Array) -> Array:  # batched outer products
        return a[:, :, None] * c[:, None, :]

    HG = (Frr[:, None, None] * out(m0, m0) + Frb[:, None, None] * (out(m0, m1) + out(m1, m0))
          + Fbb[:, None, None] * out(m1, m1))
    Hb = np.zeros((n, 5, 5))  # Hessian of beta
    Hb[:, 0, 2] = Hb[:, 2, 0] = u
    Hb[:, 0, 4] = Hb[:, 4, 0] = r2
    Hb[:, 2, 4] = Hb[:, 4, 2] = r1
    HG = HG + Fb[:, None, None] * Hb
    HA = out(gA, gA)  # Hessian of A over A
    HA[:, 0, 0] += 1.0
    hess = (HA * F.value[:, None, None] + out(gA, gG) + out(gG, gA) + HG)
    hess = _safe_mul(A[:, None, None], hess)
    err[:, 2] = _safe_mul(A, (ferr[:, 0] + ferr[:, 1] + ferr[:, 2]) * scale * scale)
    return Derivs(V, grad, hess), err
