r"""Accurate one-dimensional Gaussian integrals of activations at any scale.

Gauss–Hermite in :math:`z` resolves :math:`f(rz + b)` only while :math:`f` varies slowly
on the node spacing times :math:`r`; for large :math:`r` the transition of a saturating
activation (tanh, sigmoid, softplus, ...) is a boundary layer of width :math:`1/r` that no
fixed rule sees. Here the integral is split in the variable of the activation,
:math:`y = rt + b`, instead.

Profiles. Each built-in activation with a transition region has a
:class:`~.interface.Profile` (the table is :mod:`.profiles`): contiguous *zones*
:math:`[y_0, y_1]` with a panel width :math:`h` (in :math:`y`) on which a 16-point
Gauss–Legendre rule integrates :math:`f, f', f''` to rounding, and polynomial
*asymptotes* :math:`f(y) = A_L(y)` for :math:`y < y_L` and :math:`A_R(y)` for
:math:`y > y_R`, exact to about 1e-17 relative beyond the zones (tanh :math:`|y| \ge 20`,
sigmoid :math:`|y| \ge 40`, silu :math:`|y| \ge 46`, gelu :math:`|y| \ge 10`, ...).
``relu`` is its own asymptote (no zone); ``selu`` has the zone :math:`[-40, 0]` and a
Dirac mass :math:`J\delta` in :math:`f''` at its kink, :math:`J = \lambda(1 - \alpha)`.

Then, for :math:`g \in \{f, f', f'', f^2, (f^2)', (f^2)''\}` and :math:`j \le 2`
(:func:`moments`),

.. math::

    E[g(rt + b)\,t^j] = \int_{-\infty}^{t_L} A_L(rt + b)\,t^j\varphi\,dt
      + \int_{t_R}^{\infty} A_R(rt + b)\,t^j\varphi\,dt
      + \sum_{\text{zones}} \int_{t_0}^{t_1} g(rt + b)\,t^j\varphi(t)\,dt,

:math:`t_{L,R} = (y_{L,R} - b)/r`: the tails are closed forms in the truncated moments
:math:`U_m(t) = \int_t^\infty s^m\varphi(s)\,ds` (:math:`U_0 = \Phi(-t)`,
:math:`U_1 = \varphi(t)`, :math:`U_m = t^{m-1}\varphi(t) + (m-1)U_{m-2}`), and each zone
is cut (in :math:`t`, clipped to :math:`|t| \le 10`) into equal panels no wider than
:math:`h/r` and 1.5 (the scale of the density). The number of panels per zone is bounded
by :math:`(y_1 - y_0)/h` whatever :math:`r`: a few hundred nodes per unit, accurate to
rounding for every :math:`r` and :math:`b`.

The one-point integrals with their derivatives in :math:`(r, b)` are
:func:`piecewise_one_point` (by Stein's lemma, :math:`\partial_r E[g] = E[g'(rt + b)t]`,
:math:`\partial_b E[g] = E[g']`, and so on). Hermite coefficients
:math:`E[g(rz + b)h_n(z)]` (:func:`hermite_coefficients`) use the
same split, with the tails in closed form through
:math:`\int_t^\infty h_n\varphi = h_{n-1}(t)\varphi(t)/\sqrt n` and panels no wider than
0.4 in :math:`z` (the oscillations of :math:`h_n`, :math:`n \le 300`).

Examples
--------
>>> import numpy as np
>>> from scipy.special import ndtr
>>> m = moments("tanh", np.array([1000.0]), np.array([0.3]), [(0, 0, False), (0, 0, True)])
>>> # E[tanh(1000 z + 0.3)] = 2 Phi(0.3 / 1000) - 1 + O(1e-7), E[tanh^2] = 1 - O(1e-3)
>>> round(float(m[0][0]), 7), round(float(2 * ndtr(0.3e-3) - 1), 7), round(float(m[1][0]), 9)
(0.0002394, 0.0002394, 0.999202116)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.polynomial.legendre import leggauss
from numpy.typing import ArrayLike
from scipy import special

from ..activations import Activation, get_activation
from .interface import Array, Derivs, IntArray, Profile, evaluate, pack_one
from .profiles import profile_of
from .quadrature import hermite_values

__all__ = ["moments", "piecewise_one_point", "hermite_coefficients", "panels", "upper_moments",
           "GL16", "POLY_MOMENT", "T_MAX", "DT_MAX"]

#: the 16-point Gauss–Legendre rule on [-1, 1] of the panels
GL16: tuple[Array, Array] = leggauss(16)
_GL_X, _GL_W = GL16
#: |t| beyond which the density (times the growth of the integrands) is below 1e-20
T_MAX = 10.0
#: widest panel in t (the density's own scale)
DT_MAX = 1.5
#: E[t^j], j = 0..4
POLY_MOMENT = (1.0, 0.0, 1.0, 0.0, 3.0)

#: polynomial coefficients (in y or t, increasing degree)
Coef = Sequence[float]
ArrayCoef = list[Array]


# ------------------------------------------------------------------- closed-form tails


def upper_moments(t: Array, m_max: int) -> list[Array]:
    r""":math:`U_m(t) = \int_t^\infty s^m\varphi(s)\,ds` for :math:`m \le` ``m_max``."""
    t = np.clip(t, -40.0, 40.0)
    ph = np.exp(-0.5 * t * t) / math.sqrt(2.0 * math.pi)
    out = [special.ndtr(-t), ph]
    for m in range(2, m_max + 1):
        out.append(t ** (m - 1) * ph + (m - 1) * out[m - 2])
    return out[: m_max + 1]


def _asym(c: tuple[float, float], kind: int, squared: bool) -> tuple[float, ...]:
    """Coefficients (in y, increasing degree) of the asymptote of g for g = f^(kind) or
    (f^2)^(kind), from those (c0, c1) of f."""
    c0, c1 = c
    if not squared:
        return ((c0, c1), (c1,), (0.0,))[kind]
    return ((c0 * c0, 2 * c0 * c1, c1 * c1), (2 * c0 * c1, 2 * c1 * c1), (2 * c1 * c1,))[kind]


def _in_t(coef: Coef, r: Array, b: Array) -> ArrayCoef:
    """Coefficients in t of P(r t + b), P of degree <= 2 in y (arrays of shape (n,))."""
    while len(coef) > 1 and coef[-1] == 0.0:
        coef = coef[:-1]
    out = [np.zeros_like(r) for _ in coef]
    for k, ck in enumerate(coef):
        if ck == 0.0:
            continue
        for i in range(k + 1):  # (r t + b)^k = sum_i C(k, i) r^i b^(k-i) t^i
            out[i] = out[i] + ck * math.comb(k, i) * r**i * b ** (k - i)
    return out


class _TailMoments:
    """The truncated moments of both tails, computed once for all kinds and powers."""

    def __init__(self, prof: Profile, r: Array, b: Array, m_max: int) -> None:
        self.r, self.b = r, b
        self.U = {"right": upper_moments((prof.hi - b) / r, m_max),
                  "left": upper_moments(-(prof.lo - b) / r, m_max)}

    def integral(self, left: Coef, right: Coef, j: int) -> Array:
        total = np.zeros_like(self.r)
        for side, coef_y in (("left", left), ("right", right)):
            coef = _in_t(coef_y, self.r, self.b)
            U = self.U[side]
            for m, c in enumerate(coef):
                if side == "right":
                    total += c * U[m + j]
                else:  # int_{-inf}^{tl} s^k phi = (-1)^k U_k(-tl)
                    total += c * ((-1.0) ** (m + j) * U[m + j])
        return total


# ------------------------------------------------------------------- panels


def panels(lo: Array, hi: Array, dt: Array) -> tuple[Array, Array]:
    """Gauss–Legendre nodes and weights on [lo, hi] per row, equal panels <= dt wide.

    Rows with ``hi <= lo`` get zero weights. Returns (t, w), each (n, 16 * count).
    """
    width = np.maximum(hi - lo, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        need = np.where(width > 0.0, np.ceil(width / dt), 0.0)
    count = int(max(1.0, need.max(initial=1.0)))
    edges = lo[:, None] + width[:, None] * (np.arange(count + 1) / count)
    a, c = edges[:, :-1, None], edges[:, 1:, None]
    t = (0.5 * (c - a) * _GL_X + 0.5 * (c + a)).reshape(len(lo), -1)
    w = (0.5 * (c - a) * _GL_W).reshape(len(lo), -1)
    return t, w


def _zone_nodes(prof: Profile, r: Array, b: Array, t_max: float,
                dt_max: float) -> list[tuple[IntArray, Array, Array]]:
    """Nodes and weights of every zone, clipped to |t| <= t_max (r > 0), as a list of
    (rows, t, w): only the rows whose clipped zone is not empty, (len(rows), m) each."""
    out = []
    for y0, y1, h in prof.zones:
        lo = np.clip((y0 - b) / r, -t_max, t_max)
        hi = np.clip((y1 - b) / r, -t_max, t_max)
        rows = np.flatnonzero(hi > lo)
        if rows.size:
            t, w = panels(lo[rows], hi[rows], np.minimum(h / r[rows], dt_max))
            out.append((rows, t, w))
    return out


def _g_values(f: Activation, y: Array, kinds_needed: list[tuple[int, bool]],
              squared_needed: bool) -> dict[tuple[int, bool], Array]:
    """Values of f, f', f'' (and of the f^2 kinds) at y, as a dict (kind, squared)."""
    order = max(k for k, _ in kinds_needed) if kinds_needed else 0
    order = max(order, 1 if any(s and k >= 1 for k, s in kinds_needed) else 0)
    order = max(order, 2 if any(s and k >= 2 for k, s in kinds_needed) else 0)
    g = evaluate(f, y, order)
    vals = {(k, False): v for k, v in enumerate(g)}
    if squared_needed:
        vals[(0, True)] = g[0] * g[0]
        if order >= 1:
            vals[(1, True)] = 2.0 * g[0] * g[1]
        if order >= 2:
            vals[(2, True)] = 2.0 * (g[1] * g[1] + g[0] * g[2])
    return vals


def _profiled(f: str | Activation) -> tuple[Activation, Profile]:
    act = get_activation(f)
    prof = profile_of(act)
    if prof is None:
        raise ValueError(f"no profile for activation {act.name!r}")
    return act, prof


def moments(f: str | Activation, r: ArrayLike, b: ArrayLike,
            spec: Sequence[tuple[int, int, bool]], *, t_max: float = T_MAX,
            dt_max: float = DT_MAX) -> list[Array]:
    r""":math:`E[g(rt + b)\,t^j]` for each ``(kind, j, squared)`` in ``spec``.

    ``g`` is :math:`f^{(kind)}` or, with ``squared``, :math:`(f^2)^{(kind)}`, Dirac parts of
    kinks included; :math:`j \le 2`; ``r`` may be negative or 0. ``f`` needs a
    :class:`~.interface.Profile` (name or Activation).
    """
    act, prof = _profiled(f)
    rb, bb = np.broadcast_arrays(np.asarray(r, dtype=float), np.asarray(b, dtype=float))
    rf, bf = rb.reshape(-1), bb.reshape(-1)
    sgn = np.where(rf < 0.0, -1.0, 1.0)
    ra = np.abs(rf)
    live = ra > 0.0
    rs = np.where(live, ra, 1.0)
    kinds = sorted({(k, s) for k, _, s in spec})
    sq = any(s for _, s in kinds)
    jmax = max(j for _, j, _ in spec)
    zones = []
    for rows, t, w in _zone_nodes(prof, rs, bf, t_max, dt_max):
        vals = _g_values(act, rs[rows, None] * t + bf[rows, None], kinds, sq)
        wj = [w * np.exp(-0.5 * t * t) * (1.0 / math.sqrt(2.0 * math.pi))]
        for _ in range(jmax):
            wj.append(wj[-1] * t)
        zones.append((rows, wj, vals))
    dead = None
    if not live.all():
        dead = _g_values(act, bf[~live], kinds, sq)
    tails = _TailMoments(prof, rs, bf, 2 * (1 + int(sq)) + 2)
    f0 = None
    out = []
    for kind, j, squared in spec:
        m = tails.integral(_asym(prof.left, kind, squared), _asym(prof.right, kind, squared), j)
        for rows, wj, vals in zones:
            m[rows] += np.einsum("nm,nm->n", vals[(kind, squared)], wj[j])
        if kind == 2 and prof.jump:
            jump = prof.jump
            if squared:
                if f0 is None:
                    f0 = float(evaluate(act, np.zeros(1), 0)[0][0])
                jump *= 2.0 * f0
            if jump:
                zeta = -bf / rs
                dens = jump * np.exp(-0.5 * zeta * zeta) / (math.sqrt(2.0 * math.pi) * rs)
                m = m + dens * zeta**j
        if j % 2:
            m = m * sgn
        if dead is not None:
            m = np.where(live, m, 0.0)
            m[~live] = dead[(kind, squared)] * POLY_MOMENT[j]
        out.append(m)
    return out


def piecewise_one_point(f: Activation, r: Array, b: Array, order: int, squared: bool) -> Derivs:
    r""":math:`E[g(rz + b)]`, :math:`g = f` or :math:`f^2`, with derivatives in
    :math:`(r, b)` from the moments :math:`E[g^{(a)}(rz + b)z^j]` (:func:`moments`)."""
    spec = [(0, 0, squared)]
    if order >= 1:
        spec += [(1, 1, squared), (1, 0, squared)]
    if order >= 2:
        spec += [(2, 2, squared), (2, 1, squared), (2, 0, squared)]
    m = moments(f, r, b, spec)
    if order < 1:
        return Derivs(m[0], None, None)
    return pack_one(m[0], (m[1], m[2]), None if order < 2 else (m[3], m[4], m[5]))


# ------------------------------------------------------------------- Hermite coefficients


def _tail_hermite(coef: ArrayCoef, tb: Array, T: int, side: str) -> Array:
    r"""Tail integrals of :math:`P(t) h_n(t)\varphi(t)`, :math:`P = c_0 + c_1 t` (coefficient
    arrays (n,)), over :math:`[t_b, \infty)` (``right``) or :math:`(-\infty, t_b]`, for
    :math:`n < T`: shape (T, n)."""
    s = -tb if side == "left" else tb
    s = np.clip(s, -60.0, 60.0)
    ph = np.exp(-0.5 * s * s) / math.sqrt(2.0 * math.pi)
    hv = hermite_values(s, T + 1, ph)  # phi(s) h_n(s), n <= T
    n = np.arange(T + 2, dtype=float)[:, None]
    big_i = np.empty((T + 2, len(s)))  # I_n(s) = int_s^inf h_n phi
    big_i[0] = special.ndtr(-s)
    big_i[1:] = hv / np.sqrt(n[1:])
    if side == "left":  # int_{-inf}^{t} h_n phi = (-1)^n I_n(-t)
        big_i = big_i * (-1.0) ** n
    c0, c1 = (coef + [np.zeros_like(tb)] * 2)[:2]
    out = c0 * big_i[:T]
    if np.any(c1):
        down = np.zeros((T, len(s)))
        down[1:] = np.sqrt(n[1:T]) * big_i[: T - 1]
        out = out + c1 * (np.sqrt(n[:T] + 1.0) * big_i[1 : T + 1] + down)
    return out


def hermite_coefficients(f: Activation, r: ArrayLike, b: ArrayLike, T: int,
                         order: int) -> list[Array]:
    r""":math:`E[f^{(a)}(rz + b)\,h_n(z)]` for :math:`a \le` ``order`` and :math:`n < T`,
    each (T, n), Dirac parts of kinks included (orthonormal :math:`h_n`). ``f`` needs a
    :class:`~.interface.Profile`."""
    f, prof = _profiled(f)
    rf = np.asarray(r, dtype=float).reshape(-1)
    bf = np.asarray(b, dtype=float).reshape(-1)
    sgn = np.where(rf < 0.0, -1.0, 1.0)
    ra = np.abs(rf)
    live = ra > 0.0
    rs = np.where(live, ra, 1.0)
    L = 2.0 * math.sqrt(T) + 8.0
    out = [np.zeros((T, len(rf))) for _ in range(order + 1)]
    parts = _zone_nodes(prof, rs, bf, L, 0.4)
    if parts:  # one dense (n, m) layout, zero weights where a zone misses a unit
        t = np.zeros((len(rf), sum(p[1].shape[1] for p in parts)))
        w = np.zeros_like(t)
        col = 0
        for rows, tz, wz in parts:
            t[rows, col:col + tz.shape[1]] = tz
            w[rows, col:col + tz.shape[1]] = wz
            col += tz.shape[1]
        vals = evaluate(f, rs[:, None] * t + bf[:, None], order)
        wphi = w * np.exp(-0.5 * t * t) / math.sqrt(2.0 * math.pi)
        fw = [vals[a] * wphi for a in range(order + 1)]
        h_prev, h = np.zeros_like(t), np.ones_like(t)
        for n in range(T):
            for a in range(order + 1):
                out[a][n] = np.einsum("km,km->k", fw[a], h)
            h_prev, h = h, (t * h - math.sqrt(n) * h_prev) / math.sqrt(n + 1)
    tl, tr = (prof.lo - bf) / rs, (prof.hi - bf) / rs
    for a in range(order + 1):
        for side, tb, asym in (("left", tl, prof.left), ("right", tr, prof.right)):
            coef = _in_t(_asym(asym, a, False), rs, bf)
            if any(np.any(c) for c in coef):
                out[a] += _tail_hermite(coef, tb, T, side)
    if order >= 2 and prof.jump:
        zeta = -bf / rs
        dens = np.exp(-0.5 * zeta * zeta) / (math.sqrt(2.0 * math.pi) * rs)
        out[2] += prof.jump * hermite_values(zeta, T, dens)
    # r < 0: E[g(-|r| z + b) h_n(z)] = (-1)^n E[g(|r| z + b) h_n(z)]
    parity = (-1.0) ** np.arange(T)[:, None]
    for a in range(order + 1):
        out[a] = np.where(sgn < 0.0, out[a] * parity, out[a])
        if not live.all():  # r = 0: g(b) delta_{n0}
            dead = evaluate(f, bf[~live], order)[a]
            out[a][:, ~live] = 0.0
            out[a][0, ~live] = dead
    return out
