r"""One- and two-point expectations with all derivatives by Gauss–Hermite quadrature.

Two-point: :math:`h_1 = r_1z_1 + b_1`, :math:`h_2 = r_2\zeta + b_2` with
:math:`\zeta = uz_1 + u'z_3`, :math:`u' = \sqrt{1-u^2}`, on the rectangle of a
:class:`~.quadrature.PairRule`: the moments
:math:`E_{apkq} = E[f_1^{(a)}(h_1)z_1^p\,f_2^{(k)}(h_2)\zeta^q]` from which
:func:`~.pair_moments.assemble_pair` forms value, gradient and Hessian (Stein's lemma and
Price's theorem, see :mod:`.pair_moments`). The sum over :math:`z_3` is done first, as a
matrix product with the weights :math:`(w, wz_3, wz_3^2)`, then :math:`\zeta`-moments
follow from :math:`\zeta = uz_1 + u'z_3`; pairs are processed in chunks of about 2^16
nodes.

Kinks. ``relu`` and ``selu`` have a jump :math:`J` in :math:`f'` at 0, so
:math:`f'' = f''_{\mathrm{a.e.}} + J\delta`, while ``second_deriv`` returns only the
a.e. part. The Dirac parts are added exactly by conditioning on the kink:
:math:`E[\delta(h_1)g] = \varphi(\beta_1)/\sigma_1 \cdot E[g \mid h_1 = 0]`, a 1-D
quadrature along the line :math:`z_1 = -b_1/r_1` (and :math:`J_1J_2E[\delta\delta]` in
closed form), with the conventions of :mod:`.closed_forms_relu` at :math:`r = b = 0` and
:math:`|u| = 1`. Values and first derivatives of kinked integrands still converge only
algebraically in the number of nodes (relu: errors of 1e-5 to 1e-2), which is why
the dispatch (:mod:`.dispatch`) prefers Mehler's series for them. The one-point rule
(:func:`quad_one_point`) is split at the kink instead (:func:`~.kinks.split_rule`) and
exact to rounding. The jump :math:`J` is the activation's declaration
``Activation.kink``.
"""

from __future__ import annotations

import numpy as np

from ..activations import Activation
from .bvn import conditional_limits, norm_pdf
from .interface import Array, Derivs, PairPoints, empty_pair, evaluate, pack_one
from .kinks import Std, kink_density, split_rule
from .pair_moments import NEEDED, Moments, assemble_pair
from .quadrature import PairRule

__all__ = ["quad_one_point", "quad_pair"]

#: nodes per chunk of the two-point kernel (512 kB per array: cache-sized)
_CHUNK_NODES = 1 << 16


def quad_one_point(
    f: Activation, r: Array, b: Array, order: int, squared: bool, x: Array, w: Array
) -> Derivs:
    r""":math:`E[g(rz + b)]` for :math:`g = f` or :math:`f^2` on the 1-D rule ``(x, w)``.

    :math:`\partial_b = E[g']`, :math:`\partial_r = E[g'z]`, :math:`\partial_b^2 = E[g'']`,
    :math:`\partial_r\partial_b = E[g''z]`, :math:`\partial_r^2 = E[g''z^2]`, with
    :math:`(f^2)' = 2ff'`, :math:`(f^2)'' = 2(f'^2 + ff'')`. For activations with a kink
    (``relu``, ``selu``) Gauss–Hermite converges slowly (errors up to 1e-2 in the
    derivatives), so they use a Gauss–Legendre rule split at the kink
    :math:`z = -b/r` instead (320 nodes per unit, accurate to rounding), plus the exact
    Dirac part.
    """
    jump = float(f.kink)
    if jump:
        _, zeta, _ = kink_density(r, b)
        x, w = split_rule(np.where(r == 0.0, 12.0, zeta))
        h = r[:, None] * x + b[:, None]
    else:
        h = r[:, None] * x[None, :] + b[:, None]
    g = evaluate(f, h, order)  # g = f or f^2: g[kind]
    if squared:
        y = g[0]
        g = [y * y] + ([2.0 * y * g[1]] if order >= 1 else []) + (
            [2.0 * (g[1] * g[1] + y * g[2])] if order >= 2 else [])
        jump *= 2.0 * float(evaluate(f, np.zeros(1), 0)[0][0])

    def mean(gk: Array, wt: Array) -> Array:  # sum over nodes: shared (m,) or per-unit (n, m)
        return np.einsum("nm,nm->n", gk, wt) if wt.ndim == 2 else gk @ wt

    value = mean(g[0], w)
    if order < 1:
        return Derivs(value, None, None)
    wx = w * x
    grad = (mean(g[1], wx), mean(g[1], w))
    if order < 2:
        return pack_one(value, grad, None)
    rr, rb, bb = mean(g[2], wx * x), mean(g[2], wx), mean(g[2], w)
    if jump:
        dens, zeta, _ = kink_density(r, b)
        dens = jump * dens
        rr, rb, bb = rr + dens * zeta * zeta, rb + dens * zeta, bb + dens
    return pack_one(value, grad, (rr, rb, bb))


def _moments(f1: Activation, f2: Activation, r1: Array, b1: Array, r2: Array, b2: Array,
             u: Array, uc: Array, order: int, rule: PairRule) -> Moments:
    """E[a, p, k, q] for the needed (a, p, k, q), as a dict, for one chunk of pairs."""
    x, w, inner = rule.x, rule.w, rule.inner
    c, m = len(r1), len(x)
    f1v = evaluate(f1, r1[:, None] * x + b1[:, None], order)
    # h2[c, i, j] = b2 + r2 (u x_i + uc x_j), formed in one broadcast pass
    along = (b2[:, None] + (r2 * u)[:, None] * x)[:, :, None]
    across = ((r2 * uc)[:, None] * x)[:, None, :]
    f2v = evaluate(f2, along + across, order)
    uz = u[:, None] * x[None, :]
    ucol = uc[:, None]
    t = []  # t[k][q] (c, m): the sum over z3 of w_j f2^(k) zeta^q, given z1 = x_i
    for k in range(order + 1):
        # matrix-vector products: a skinny multi-threaded GEMM is far slower here
        mat = f2v[k].reshape(c * m, m)
        s = [(mat @ inner[:, q]).reshape(c, m) for q in range(k + 1)]
        tk = [s[0]]
        if k >= 1:
            tk.append(uz * s[0] + ucol * s[1])
        if k >= 2:
            tk.append(uz * uz * s[0] + 2.0 * uz * ucol * s[1] + ucol * ucol * s[2])
        t.append(tk)
    wp = [w, w * x, w * x * x]
    return {key: np.einsum("ci,ci->c", f1v[key[0]] * wp[key[1]], t[key[2]][key[3]])
            for key in NEEDED[order]}


def _line_means(f: Activation, r: Array, b: Array, mean: Array, uc: Array, x: Array,
                w: Array) -> list[Array]:
    """E_t[f^(a)(r (mean + uc t) + b)], a = 0, 1, 2: along a kink line of the partner."""
    zz = mean[:, None] + uc[:, None] * x[None, :]
    return [g @ w for g in evaluate(f, r[:, None] * zz + b[:, None], 2)]


def _dirac_terms(e: Moments, f1: Activation, f2: Activation, pts: PairPoints, uc: Array,
                 rule: PairRule) -> None:
    """Add the Dirac parts of f1'' and f2'' to the moments ``e`` (in place)."""
    r1, b1, r2, b2, u = pts.arrays()
    j1, j2 = float(f1.kink), float(f2.kink)
    x, w = rule.x, rule.w
    # every a = 2 moment has q = 0 and every k = 2 moment has p = 0
    if j1:
        dens, zeta1, _ = kink_density(r1, b1)
        g = _line_means(f2, r2, b2, u * zeta1, uc, x, w)
        for (a, p, k, q), base in list(e.items()):
            if a == 2:
                e[(a, p, k, q)] = base + j1 * dens * zeta1**p * g[k]
    if j2:
        dens, zeta2, _ = kink_density(r2, b2)
        g = _line_means(f1, r1, b1, u * zeta2, uc, x, w)
        for (a, p, k, q), base in list(e.items()):
            if k == 2:
                e[(a, p, k, q)] = base + j2 * dens * zeta2**q * g[a]
    if j1 and j2:
        s1, s2 = Std(r1, b1), Std(r2, b2)
        ut = s1.s * s2.s * u
        c12, _ = conditional_limits(s1.beta, s2.beta, ut, uc)
        both = np.where(uc > 0.0, s1.phi * norm_pdf(c12) / np.where(uc > 0.0, uc, 1.0), 0.0)
        e[(2, 0, 2, 0)] = e[(2, 0, 2, 0)] + j1 * j2 * both * s1.inv * s2.inv


def quad_pair(f1: Activation, f2: Activation, pts: PairPoints, order: int,
              rule: PairRule) -> Derivs:
    r""":math:`E[f_1(r_1z_1 + b_1) f_2(r_2z_2 + b_2)]`, :math:`\operatorname{corr} = u`,
    with derivatives in :math:`(r_1, b_1, r_2, b_2, u)` (see the module docstring)."""
    n = len(pts)
    if n == 0:
        return empty_pair(order)
    r1, b1, r2, b2 = pts.r1, pts.b1, pts.r2, pts.b2
    u = np.clip(pts.u, -1.0, 1.0)
    uc = np.sqrt((1.0 - u) * (1.0 + u))
    step = max(1, _CHUNK_NODES // len(rule))
    parts = []
    for lo in range(0, n, step):
        sl = slice(lo, lo + step)
        parts.append(_moments(f1, f2, r1[sl], b1[sl], r2[sl], b2[sl], u[sl], uc[sl], order, rule))
    e = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    if order >= 2:
        _dirac_terms(e, f1, f2, PairPoints(r1, b1, r2, b2, u), uc, rule)
    return assemble_pair(e, r1, r2, order)
