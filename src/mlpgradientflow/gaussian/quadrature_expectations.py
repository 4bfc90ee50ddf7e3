r"""One- and two-point expectations with all derivatives by Gauss–Hermite quadrature.

Two-point: :math:`h_1 = r_1z_1 + b_1`, :math:`h_2 = r_2\zeta + b_2` with
:math:`\zeta = uz_1 + u'z_3`, :math:`u' = \sqrt{1-u^2}`, on the rectangle of a
:class:`~.quadrature.PairRule`. Writing :math:`E_{apkq} = E[f_1^{(a)}(h_1)z_1^p\,
f_2^{(k)}(h_2)\zeta^q]`, the derivatives need only :math:`f, f', f''`:

.. math::

    \partial_{b_1} = E_{1000}, \ \partial_{r_1} = E_{1100}, \
    \partial_{b_2} = E_{0010}, \ \partial_{r_2} = E_{0011}, \
    \partial_u = r_1r_2Q, \ Q = E_{1010} \ \text{(Price's theorem)},

    H_{b_1b_1} = E_{2000}, \ H_{r_1b_1} = E_{2100}, \ H_{r_1r_1} = E_{2200}, \
    H_{b_1b_2} = Q, \ H_{r_1b_2} = E_{1110}, \ H_{b_1r_2} = E_{1011}, \
    H_{r_1r_2} = E_{1111},

    H_{b_1u} = r_1r_2E_{2010}, \ H_{r_1u} = r_2Q + r_1r_2E_{2110}, \
    H_{uu} = r_1^2r_2^2E_{2020},

and the mirror images. No term is singular at :math:`|u| = 1` or :math:`r = 0`. The
sum over :math:`z_3` is done first, as a matrix product with the weights
:math:`(w, wz_3, wz_3^2)`, then :math:`\zeta`-moments follow from
:math:`\zeta = uz_1 + u'z_3`; pairs are processed in chunks of about 2^16 nodes.

Kinks. ``relu`` and ``selu`` have a jump :math:`J` in :math:`f'` at 0, so
:math:`f'' = f''_{\mathrm{a.e.}} + J\delta`, while ``second_deriv`` returns only the
a.e. part. The Dirac parts are added exactly by conditioning on the kink:
:math:`E[\delta(h_1)g] = \varphi(\beta_1)/\sigma_1 \cdot E[g \mid h_1 = 0]`, a 1-D
quadrature along the line :math:`z_1 = -b_1/r_1` (and :math:`J_1J_2E[\delta\delta]` in
closed form), with the conventions of :mod:`.closed_forms_relu` at :math:`r = b = 0` and
:math:`|u| = 1`. Values and first derivatives of kinked integrands still converge only
algebraically in the number of nodes (relu: errors of 1e-5 to 1e-2), which is why
:func:`~.expectations.two_point` prefers Mehler's series for them. The one-point rule
(:func:`quad_one_point`) is split at the kink instead and exact to rounding.
"""

from __future__ import annotations

import numpy as np

from ..activations import Activation
from .bvn import Derivs, conditional_limits, norm_pdf
from .closed_forms import pack_one, pack_pair
from .closed_forms_relu import _Std
from .quadrature import PairRule

__all__ = ["assemble_pair", "derivative_jump", "empty_pair", "evaluate", "quad_one_point", "quad_pair"]

#: nodes per chunk of the two-point kernel (512 kB per array: cache-sized)
_CHUNK_NODES = 1 << 16


def derivative_jump(f: Activation) -> float:
    """The jump of f' at 0 (0 for activations with a continuous derivative), as the
    activation declares it (:attr:`Activation.kink <mlpgradientflow.activations.Activation>`)."""
    return float(f.kink)


def evaluate(f: Activation, x: np.ndarray, order: int):
    """(f, f', f'') at ``x`` (None beyond ``order``), constant derivatives filled.

    Evaluated on the flattened array: the compiled kernels take 1-D/2-D layouts only.
    """
    shape = x.shape
    x = np.ascontiguousarray(x).reshape(-1)
    y = np.empty_like(x)
    d1 = np.empty_like(x) if order >= 1 else None
    d2 = np.empty_like(x) if order >= 2 else None
    if d1 is not None and f.d1_const is not None:
        d1.fill(f.d1_const)
    if d2 is not None and f.d2_const is not None:
        d2.fill(f.d2_const)
    with np.errstate(over="ignore", under="ignore"):
        f.fused(x, y, d1, d2)
    return tuple(None if a is None else a.reshape(shape) for a in (y, d1, d2))


def _kink_density(r: np.ndarray, b: np.ndarray):
    """(dens, zeta, std): density of h = rz + b at 0 and z on the kink, -b/r."""
    st = _Std(r, b)
    dens = st.phi * st.inv
    zeta = np.where(dens > 0.0, -st.s * st.beta, 0.0)
    return dens, zeta, st


_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(20)


def _split_rule(zeta: np.ndarray, half: float = 12.0, pieces: int = 8):
    """Per-unit Gauss–Legendre rule for N(0, 1) on [-12, 12], split at the kink ``zeta``.

    Each side of the kink is cut into ``pieces`` equal intervals of 20 nodes; the weights
    include the density. Returns (z, wz), both (n, 2 * pieces * 20).
    """
    zeta = np.clip(zeta, -half, half)
    t = np.linspace(0.0, 1.0, pieces + 1)
    left = -half + (zeta[:, None] + half) * t  # (n, pieces + 1) edges
    right = zeta[:, None] + (half - zeta[:, None]) * t
    edges = [left, right]
    zs, ws = [], []
    for e in edges:
        lo, hi = e[:, :-1, None], e[:, 1:, None]
        zs.append((0.5 * (hi - lo) * _GL_NODES + 0.5 * (hi + lo)).reshape(len(zeta), -1))
        ws.append((0.5 * (hi - lo) * _GL_WEIGHTS).reshape(len(zeta), -1))
    z, wz = np.concatenate(zs, axis=1), np.concatenate(ws, axis=1)
    return z, wz * norm_pdf(z)


def quad_one_point(
    f: Activation, r: np.ndarray, b: np.ndarray, order: int, squared: bool, x, w
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
    jump = derivative_jump(f)
    if jump:
        _, zeta, _ = _kink_density(r, b)
        x, w = _split_rule(np.where(r == 0.0, 12.0, zeta))
        h = r[:, None] * x + b[:, None]
    else:
        h = r[:, None] * x[None, :] + b[:, None]
    y, d1, d2 = evaluate(f, h, order)
    if squared:
        g0 = y * y
        g1 = None if d1 is None else 2.0 * y * d1
        g2 = None if d2 is None else 2.0 * (d1 * d1 + y * d2)
        jump *= 2.0 * float(evaluate(f, np.zeros(1), 0)[0][0])
    else:
        g0, g1, g2 = y, d1, d2

    def mean(g, wt):  # sum over nodes: shared (m,) or per-unit (n, m) weights
        return np.einsum("nm,nm->n", g, wt) if wt.ndim == 2 else g @ wt

    value = mean(g0, w)
    if order < 1:
        return Derivs(value, None, None)
    wx = w * x
    grad = (mean(g1, wx), mean(g1, w))
    if order < 2:
        return pack_one(value, grad, None)
    rr, rb, bb = mean(g2, wx * x), mean(g2, wx), mean(g2, w)
    if jump:
        dens, zeta, _ = _kink_density(r, b)
        dens = jump * dens
        rr, rb, bb = rr + dens * zeta * zeta, rb + dens * zeta, bb + dens
    return pack_one(value, grad, (rr, rb, bb))


def _moments(f1, f2, r1, b1, r2, b2, u, uc, order, rule: PairRule):
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
            for key in _NEEDED[order]}


_FIRST = [(1, 0, 0, 0), (1, 1, 0, 0), (0, 0, 1, 0), (0, 0, 1, 1), (1, 0, 1, 0)]
_SECOND = [(2, 0, 0, 0), (2, 1, 0, 0), (2, 2, 0, 0), (1, 1, 1, 0), (1, 0, 1, 1), (1, 1, 1, 1),
           (0, 0, 2, 0), (0, 0, 2, 1), (0, 0, 2, 2), (2, 0, 1, 0), (2, 1, 1, 0), (1, 0, 2, 0),
           (1, 0, 2, 1), (2, 0, 2, 0)]
#: the moments E[f1^(a) z1^p f2^(k) zeta^q] (keys (a, p, k, q)) each order needs
_NEEDED = {0: [(0, 0, 0, 0)], 1: [(0, 0, 0, 0), *_FIRST], 2: [(0, 0, 0, 0), *_FIRST, *_SECOND]}


def _line_means(f, r, b, mean, uc, x, w):
    """E_t[f^(a)(r (mean + uc t) + b)], a = 0, 1, 2: along a kink line of the partner."""
    zz = mean[:, None] + uc[:, None] * x[None, :]
    return [g @ w for g in evaluate(f, r[:, None] * zz + b[:, None], 2)]


def _dirac_terms(e, f1, f2, r1, b1, r2, b2, u, uc, rule: PairRule) -> None:
    """Add the Dirac parts of f1'' and f2'' to the moments ``e`` (in place)."""
    j1, j2 = derivative_jump(f1), derivative_jump(f2)
    x, w = rule.x, rule.w
    # every a = 2 moment has q = 0 and every k = 2 moment has p = 0
    if j1:
        dens, zeta1, _ = _kink_density(r1, b1)
        g = _line_means(f2, r2, b2, u * zeta1, uc, x, w)
        for (a, p, k, q), base in list(e.items()):
            if a == 2:
                e[(a, p, k, q)] = base + j1 * dens * zeta1**p * g[k]
    if j2:
        dens, zeta2, _ = _kink_density(r2, b2)
        g = _line_means(f1, r1, b1, u * zeta2, uc, x, w)
        for (a, p, k, q), base in list(e.items()):
            if k == 2:
                e[(a, p, k, q)] = base + j2 * dens * zeta2**q * g[a]
    if j1 and j2:
        s1, s2 = _Std(r1, b1), _Std(r2, b2)
        ut = s1.s * s2.s * u
        c12, _ = conditional_limits(s1.beta, s2.beta, ut, uc)
        p = np.where(uc > 0.0, s1.phi * norm_pdf(c12) / np.where(uc > 0.0, uc, 1.0), 0.0)
        e[(2, 0, 2, 0)] = e[(2, 0, 2, 0)] + j1 * j2 * p * s1.inv * s2.inv


def quad_pair(
    f1: Activation, f2: Activation, r1, b1, r2, b2, u, order: int, rule: PairRule
) -> Derivs:
    r""":math:`E[f_1(r_1z_1 + b_1) f_2(r_2z_2 + b_2)]`, :math:`\operatorname{corr} = u`,
    with derivatives in :math:`(r_1, b_1, r_2, b_2, u)` (see the module docstring)."""
    n = len(r1)
    if n == 0:
        return empty_pair(order)
    u = np.clip(u, -1.0, 1.0)
    uc = np.sqrt((1.0 - u) * (1.0 + u))
    step = max(1, _CHUNK_NODES // len(rule))
    parts = []
    for lo in range(0, n, step):
        sl = slice(lo, lo + step)
        parts.append(_moments(f1, f2, r1[sl], b1[sl], r2[sl], b2[sl], u[sl], uc[sl], order, rule))
    e = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    if order >= 2:
        _dirac_terms(e, f1, f2, r1, b1, r2, b2, u, uc, rule)
    return assemble_pair(e, r1, r2, order)


def assemble_pair(e, r1, r2, order: int) -> Derivs:
    """Value, gradient and Hessian in (r1, b1, r2, b2, u) from the moments
    ``e[(a, p, k, q)]`` (see the module docstring)."""
    value = e[(0, 0, 0, 0)]
    if order < 1:
        return Derivs(value, None, None)
    q = e[(1, 0, 1, 0)]
    rr = r1 * r2
    grad = (e[(1, 1, 0, 0)], e[(1, 0, 0, 0)], e[(0, 0, 1, 1)], e[(0, 0, 1, 0)], rr * q)
    if order < 2:
        return pack_pair(value, grad, None)
    hess = (
        e[(2, 2, 0, 0)], e[(2, 1, 0, 0)], e[(1, 1, 1, 1)], e[(1, 1, 1, 0)],
        r2 * q + rr * e[(2, 1, 1, 0)],
        e[(2, 0, 0, 0)], e[(1, 0, 1, 1)], q, rr * e[(2, 0, 1, 0)],
        e[(0, 0, 2, 2)], e[(0, 0, 2, 1)], r1 * q + rr * e[(1, 0, 2, 1)],
        e[(0, 0, 2, 0)], rr * e[(1, 0, 2, 0)],
        rr * rr * e[(2, 0, 2, 0)],
    )
    return pack_pair(value, grad, hess)


def empty_pair(order: int) -> Derivs:
    """The result for zero pairs."""
    z = np.zeros(0)
    return Derivs(z, np.zeros((0, 5)) if order >= 1 else None,
                  np.zeros((0, 5, 5)) if order >= 2 else None)

