r"""Two-point expectations by conditioning on the first unit: accurate at any scale.

With :math:`z_2 = uz_1 + u'z_3` (:math:`u' = \sqrt{1-u^2}`, :math:`r_1, r_2 \ge 0` after the
sign changes :math:`z_i \to -z_i`),

.. math::

    E_{apkq} = E\bigl[f_1^{(a)}(r_1z_1 + b_1)\,z_1^p\;
      E[f_2^{(k)}(\mu + \rho t)\,\zeta^q \mid z_1]\bigr], \qquad
    \mu = b_2 + r_2uz_1, \ \rho = r_2u', \ \zeta = uz_1 + u't,

the moments from which :func:`~.pair_moments.assemble_pair` forms value, gradient and
Hessian. The inner expectation is one-dimensional: by :func:`.piecewise.moments`
(closed-form asymptotic tails, Gauss–Legendre panels on the activation's zones), or by a
40-node Gauss–Hermite rule when :math:`\rho` is far below the activation's own scale
(:math:`f_2(\mu + \rho t)` is then analytic far beyond the nodes), or exactly at
:math:`\rho = 0` (:math:`|u| = 1`, e.g. :math:`D = 1`). The outer integral over
:math:`|z_1| \le 10` is cut at every place where the integrand changes on a scale finer
than the density: the zones of :math:`f_1` (panels :math:`h_1/r_1`), the zones of
:math:`f_2` seen through :math:`\mu(z_1)` and smoothed by :math:`\rho` (panels
:math:`\max(h_2, \rho)/(r_2|u|)`, and :math:`\rho/(r_2|u|)` within :math:`10\rho` of a
kink or of the ends of the zones), and the kinks themselves. Dirac masses of
:math:`f''` (relu, selu) are added exactly: :math:`E[\delta(h_1)G(z_1)] =
\varphi(\beta_1)G(\zeta_1)/r_1` for the first unit; for the second one inside the inner
integral when :math:`\rho > 0`, and at :math:`z_1 = -b_2/(r_2u)` when :math:`\rho = 0`
(the product of both Dirac masses at :math:`|u| = 1` is dropped, the convention of
:mod:`.closed_forms_relu`).

Cost: a few hundred to a few thousand outer nodes times the inner rule, per pair
(milliseconds to tens of milliseconds); the dispatch (:mod:`.dispatch`) uses it only for
pairs that the Hermite series or the 2-D Gauss–Hermite rule cannot do accurately.
"""

from __future__ import annotations

import math
from typing import cast

import numpy as np
from numpy.typing import ArrayLike

from ..activations import Activation
from .interface import Array, Derivs, PairPoints, Profile, empty_pair, evaluate
from .pair_moments import NEEDED, Moments, assemble_pair
from .piecewise import DT_MAX, GL16, T_MAX, moments
from .profiles import profile_of
from .quadrature import hermite_rule

__all__ = ["conditional_pair"]

_GH_X, _GH_W = hermite_rule(40, 0.0)
_GL_X, _GL_W = GL16
_SQRT2PI = math.sqrt(2.0 * math.pi)

#: the inner moments E[f2^(k)(mu + rho t) zeta^q | z1], keyed by (k, q)
_Inner = dict[tuple[int, int], Array]


def _phi(x: ArrayLike) -> Array:
    return np.exp(-0.5 * np.square(x)) / _SQRT2PI


def _outer_rule(p1: Profile, p2: Profile, r1: float, b1: float, r2: float, b2: float,
                u: float, rho: float) -> tuple[Array, Array]:
    """Nodes and weights (density included) of the outer integral over z1."""
    regions = [(-T_MAX, T_MAX, DT_MAX)]
    points: list[float] = []
    if r1 > 0.0:
        for y0, y1, h in p1.zones:
            regions.append(((y0 - b1) / r1, (y1 - b1) / r1, h / r1))
        points.append(-b1 / r1)
    a = r2 * u
    if a != 0.0:
        mreg = [(y0, y1, max(h, rho)) for y0, y1, h in p2.zones]
        if rho > 0.0:
            mreg += [(p2.lo - 10.0 * rho, p2.lo, rho), (p2.hi, p2.hi + 10.0 * rho, rho)]
            if p2.jump:
                mreg.append((-10.0 * rho, 10.0 * rho, rho))
        for m0, m1, h in mreg:
            z0, z1 = (m0 - b2) / a, (m1 - b2) / a
            regions.append((min(z0, z1), max(z0, z1), h / abs(a)))
        points.append(-b2 / a)
    cuts = [-T_MAX, T_MAX, *points]
    for lo, hi, _ in regions:
        cuts += [lo, hi]
    edges = np.unique(np.clip(np.array(cuts), -T_MAX, T_MAX))
    zs, ws = [], []
    for lo, hi in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
        if hi <= lo:
            continue
        mid = 0.5 * (lo + hi)
        width = min(w for a0, a1, w in regions if a0 <= mid <= a1)
        n = max(1, math.ceil((hi - lo) / width))
        e = lo + (hi - lo) * np.arange(n + 1) / n
        c, d = e[:-1, None], e[1:, None]
        zs.append((0.5 * (d - c) * _GL_X + 0.5 * (d + c)).ravel())
        ws.append((0.5 * (d - c) * _GL_W).ravel())
    z, w = np.concatenate(zs), np.concatenate(ws)
    return z, w * _phi(z)


def _inner(f2: Activation, p2: Profile, mu: Array, rho: float, uc: float, U: float, z: Array,
           kq: list[tuple[int, int]], order: int) -> _Inner:
    """E[f2^(k)(mu + rho t) zeta^q | z1] for (k, q) in kq, zeta = U z + uc t."""
    js = sorted({(k, j) for k, q in kq for j in range(q + 1)})
    M: _Inner
    if rho == 0.0:
        vals = evaluate(f2, mu, order)
        M = {(k, j): (vals[k] if j != 1 else np.zeros_like(mu)) for k, j in js}
    elif not p2.jump and p2.zones and rho * 16.0 <= p2.hmin:
        vals = evaluate(f2, mu[:, None] + rho * _GH_X, order)
        M = {(k, j): vals[k] @ (_GH_W * _GH_X**j) for k, j in js}
    else:
        out = moments(f2, np.full(mu.shape, rho), mu, [(k, j, False) for k, j in js])
        M = dict(zip(js, out, strict=True))
    uz = U * z
    res: _Inner = {}
    for k, q in kq:
        # a sum of q + 1 >= 1 arrays
        res[(k, q)] = cast(Array, sum(math.comb(q, j) * uz ** (q - j) * uc**j * M[(k, j)]
                                      for j in range(q + 1)))
    return res


def _pair_moments(f1: Activation, f2: Activation, p1: Profile, p2: Profile, r1: float,
                  b1: float, r2: float, b2: float, u: float, order: int) -> dict[tuple, float]:
    keys = NEEDED[order]
    uc = math.sqrt(max(0.0, (1.0 - u) * (1.0 + u)))
    rho = r2 * uc
    z, w = _outer_rule(p1, p2, r1, b1, r2, b2, u, rho)
    kq = sorted({(k, q) for _, _, k, q in keys})
    F1 = evaluate(f1, r1 * z + b1, order)
    inner = _inner(f2, p2, b2 + r2 * u * z, rho, uc, u, z, kq, order)
    zp = [np.ones_like(z), z, z * z]
    e = {key: float(np.dot(w * F1[key[0]] * zp[key[1]], inner[key[2:]])) for key in keys}
    if order >= 2 and p1.jump and r1 > 0.0:
        zeta = -b1 / r1
        dens = p1.jump * float(_phi(zeta)) / r1
        zz = np.array([zeta])
        at = _inner(f2, p2, b2 + r2 * u * zz, rho, uc, u, zz, kq, order)
        for key in keys:
            if key[0] == 2:
                e[key] += dens * zeta ** key[1] * float(at[key[2:]][0])
    if order >= 2 and p2.jump and rho == 0.0 and r2 * u != 0.0:
        zeta = -b2 / (r2 * u)
        dens = p2.jump * float(_phi(zeta)) / abs(r2 * u)
        g1 = evaluate(f1, np.array([r1 * zeta + b1]), order)
        for key in keys:
            if key[2] == 2:
                e[key] += dens * float(g1[key[0]][0]) * zeta ** key[1] * (u * zeta) ** key[3]
    return e


def conditional_pair(f1: Activation, f2: Activation, pts: PairPoints, order: int) -> Derivs:
    r""":math:`E[f_1(r_1z_1 + b_1) f_2(r_2z_2 + b_2)]`, :math:`\operatorname{corr} = u`, and
    its derivatives in :math:`(r_1, b_1, r_2, b_2, u)`, for activations with a
    :class:`~.interface.Profile` (see the module docstring)."""
    n = len(pts)
    r1, b1, r2, b2, u = pts.arrays()
    if n == 0:
        return empty_pair(order)
    p1, p2 = profile_of(f1), profile_of(f2)
    if p1 is None or p2 is None:
        raise ValueError("conditional_pair needs activations with a profile")
    s1, s2 = np.where(r1 < 0.0, -1.0, 1.0), np.where(r2 < 0.0, -1.0, 1.0)
    R1, R2 = np.abs(r1), np.abs(r2)
    U = np.clip(s1 * s2 * u, -1.0, 1.0)
    keys = NEEDED[order]
    e: Moments = {key: np.empty(n) for key in keys}
    for i in range(n):
        m = _pair_moments(f1, f2, p1, p2, float(R1[i]), float(b1[i]), float(R2[i]),
                          float(b2[i]), float(U[i]), order)
        for key in keys:
            e[key][i] = m[key]
    d = assemble_pair(e, R1, R2, order)
    if not ((s1 < 0.0) | (s2 < 0.0)).any():
        return d
    D = np.stack([s1, np.ones(n), s2, np.ones(n), s1 * s2], axis=1)
    g = None if d.grad is None else d.grad * D
    h = None if d.hess is None else d.hess * D[:, :, None] * D[:, None, :]
    return Derivs(d.value, g, h)
