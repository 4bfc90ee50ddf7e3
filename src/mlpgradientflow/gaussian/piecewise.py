r"""Accurate one-dimensional Gaussian integrals of activations at any scale.

Gauss–Hermite in :math:`z` resolves :math:`f(rz + b)` only while :math:`f` varies slowly
on the node spacing times :math:`r`; for large :math:`r` the transition of a saturating
activation (tanh, sigmoid, softplus, ...) is a boundary layer of width :math:`1/r` that no
fixed rule sees. Here the integral is split in the variable of the activation,
:math:`y = rt + b`, instead.

Profiles. Each built-in activation with a transition region has a :class:`Profile`:
contiguous *zones* :math:`[y_0, y_1]` with a panel width :math:`h` (in :math:`y`) on which a
16-point Gauss–Legendre rule integrates :math:`f, f', f''` to rounding (set by the nearest
complex singularity, at a Bernstein-ellipse ratio of 3.4 or more, i.e. :math:`3.4^{-32}
\approx 10^{-17}`: tanh :math:`\pm i\pi/2` and :math:`h = 2`, sigmoid/softplus/silu
:math:`\pm i\pi` and :math:`h = 4`, :math:`\sigma(4y)` in ``g`` :math:`\pm i\pi/4` and
:math:`h = 1`), and polynomial *asymptotes*
:math:`f(y) = A_L(y)` for :math:`y < y_L` and :math:`A_R(y)` for :math:`y > y_R`, exact to
about 1e-17 relative beyond the zones (tanh :math:`|y| \ge 20`, sigmoid :math:`|y| \ge 40`,
silu :math:`|y| \ge 46`, gelu :math:`|y| \ge 10`, ...). ``relu`` is its own asymptote (no
zone); ``selu`` has the zone :math:`[-40, 0]` and a Dirac mass :math:`J\delta` in
:math:`f''` at its kink, :math:`J = \lambda(1 - \alpha)`.

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

Hermite coefficients :math:`E[g(rz + b)h_n(z)]` (:func:`hermite_coefficients`) use the
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
from dataclasses import dataclass, replace

import numpy as np
from numpy.polynomial.legendre import leggauss
from scipy import special

from ..activations import ACTIVATIONS, Activation

__all__ = ["Profile", "profile_of", "moments", "hermite_coefficients", "POLY_MOMENT"]

_GL_X, _GL_W = leggauss(16)
#: |t| beyond which the density (times the growth of the integrands) is below 1e-20
T_MAX = 10.0
#: widest panel in t (the density's own scale)
DT_MAX = 1.5
#: E[t^j], j = 0..4
POLY_MOMENT = (1.0, 0.0, 1.0, 0.0, 3.0)
_SELU_LAMBDA = 1.0507009873554804934193349852946
_SELU_ALPHA = 1.6732632423543772848170429916717


@dataclass(frozen=True)
class Profile:
    """Where an activation is not yet its polynomial asymptote, and how finely to sample it.

    ``zones``: contiguous ``(y0, y1, h)`` covering ``[yL, yR]``; ``left`` / ``right``: the
    asymptotes' coefficients ``(c0, c1)`` (:math:`c_0 + c_1 y`) below ``yL`` / above
    ``yR``; ``jump``: the jump of :math:`f'` at 0 (a Dirac mass in :math:`f''`), taken from
    the activation's declaration (``Activation.kink``) by :func:`profile_of`.
    """

    zones: tuple
    left: tuple
    right: tuple
    jump: float = 0.0

    @property
    def lo(self) -> float:
        return self.zones[0][0] if self.zones else 0.0

    @property
    def hi(self) -> float:
        return self.zones[-1][1] if self.zones else 0.0

    @property
    def hmin(self) -> float:
        return min((z[2] for z in self.zones), default=math.inf)


def _sym(c, h):
    """Zones [-c, c] of width h, split at 0."""
    return ((-c, 0.0, h), (0.0, c, h))


_PROFILES = {
    "relu": Profile((), (0.0, 0.0), (0.0, 1.0)),
    "softplus": Profile(_sym(40.0, 4.0), (0.0, 0.0), (0.0, 1.0)),
    "sigmoid": Profile(_sym(40.0, 4.0), (0.0, 0.0), (1.0, 0.0)),
    "tanh": Profile(_sym(20.0, 2.0), (-1.0, 0.0), (1.0, 0.0)),
    "g": Profile(((-40.0, -10.0, 4.0), (-10.0, 0.0, 1.0), (0.0, 10.0, 1.0), (10.0, 40.0, 4.0)),
                 (0.0, 0.0), (1.0, 1.0)),
    "gelu": Profile(_sym(10.0, 2.0), (0.0, 0.0), (0.0, 1.0)),
    "silu": Profile(_sym(46.0, 4.0), (0.0, 0.0), (0.0, 1.0)),
    "selu": Profile(((-40.0, 0.0, 4.0),), (-_SELU_LAMBDA * _SELU_ALPHA, 0.0), (0.0, _SELU_LAMBDA)),
    "sigmoid2": Profile(_sym(10.0, 2.0), (-1.0, 0.0), (1.0, 0.0)),
    "normal_cdf": Profile(_sym(10.0, 2.0), (0.0, 0.0), (1.0, 0.0)),
}


def profile_of(f: Activation) -> Profile | None:
    """The built-in profile of ``f`` (None for polynomials, exp and custom activations)."""
    p = _PROFILES.get(f.name)
    if p is None or ACTIVATIONS.get(f.name) is not f:
        return None
    return replace(p, jump=float(f.kink)) if f.kink else p


# ------------------------------------------------------------------- closed-form tails


def upper_moments(t: np.ndarray, m_max: int) -> list[np.ndarray]:
    r""":math:`U_m(t) = \int_t^\infty s^m\varphi(s)\,ds` for :math:`m \le` ``m_max``."""
    t = np.clip(t, -40.0, 40.0)
    ph = np.exp(-0.5 * t * t) / math.sqrt(2.0 * math.pi)
    out = [special.ndtr(-t), ph]
    for m in range(2, m_max + 1):
        out.append(t ** (m - 1) * ph + (m - 1) * out[m - 2])
    return out[: m_max + 1]


def _asym(c, kind: int, squared: bool):
    """Coefficients (in y, increasing degree) of the asymptote of g for g = f^(kind) or
    (f^2)^(kind), from those (c0, c1) of f."""
    c0, c1 = c
    if not squared:
        return ((c0, c1), (c1,), (0.0,))[kind]
    return ((c0 * c0, 2 * c0 * c1, c1 * c1), (2 * c0 * c1, 2 * c1 * c1), (2 * c1 * c1,))[kind]


def _in_t(coef, r, b):
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

    def __init__(self, prof, r, b, m_max):
        self.r, self.b = r, b
        self.U = {"right": upper_moments((prof.hi - b) / r, m_max),
                  "left": upper_moments(-(prof.lo - b) / r, m_max)}

    def integral(self, left, right, j):
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


def _tails(prof, kind, squared, r, b, j):
    """The closed-form tail integrals of E[g(r t + b) t^j] (r > 0)."""
    tl, tr = (prof.lo - b) / r, (prof.hi - b) / r
    total = np.zeros_like(r)
    for side, tb in (("left", tl), ("right", tr)):
        coef = _in_t(_asym(getattr(prof, side), kind, squared), r, b)
        if not any(np.any(c) for c in coef):
            continue
        if side == "right":
            U = upper_moments(tb, len(coef) + j)
            total += sum(c * U[m + j] for m, c in enumerate(coef))
        else:  # int_{-inf}^{tl} s^k phi = (-1)^k U_k(-tl)
            U = upper_moments(-tb, len(coef) + j)
            total += sum(c * (-1.0) ** (m + j) * U[m + j] for m, c in enumerate(coef))
    return total


# ------------------------------------------------------------------- panels


def panels(lo: np.ndarray, hi: np.ndarray, dt: np.ndarray):
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


def _zone_nodes(prof, r, b, t_max, dt_max):
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


def _evaluate(f, y, order):
    from .quadrature_expectations import evaluate

    return evaluate(f, y, order)


def _g_values(f, y, kinds_needed, squared_needed):
    """Values of f, f', f'' (and of the f^2 kinds) at y, as a dict (kind, squared)."""
    order = max(k for k, _ in kinds_needed) if kinds_needed else 0
    order = max(order, 1 if any(s and k >= 1 for k, s in kinds_needed) else 0)
    order = max(order, 2 if any(s and k >= 2 for k, s in kinds_needed) else 0)
    y0, y1, y2 = _evaluate(f, y, order)
    vals = {(0, False): y0, (1, False): y1, (2, False): y2}
    if squared_needed:
        vals[(0, True)] = y0 * y0
        if order >= 1:
            vals[(1, True)] = 2.0 * y0 * y1
        if order >= 2:
            vals[(2, True)] = 2.0 * (y1 * y1 + y0 * y2)
    return vals


def moments(f, r, b, spec, *, t_max: float = T_MAX, dt_max: float = DT_MAX) -> list[np.ndarray]:
    r""":math:`E[g(rt + b)\,t^j]` for each ``(kind, j, squared)`` in ``spec``.

    ``g`` is :math:`f^{(kind)}` or, with ``squared``, :math:`(f^2)^{(kind)}`, Dirac parts of
    kinks included; :math:`j \le 2`; ``r`` may be negative or 0. ``f`` needs a
    :class:`Profile` (name or Activation).
    """
    from ..activations import get_activation

    f = get_activation(f)
    prof = profile_of(f)
    if prof is None:
        raise ValueError(f"no profile for activation {f.name!r}")
    r = np.asarray(r, dtype=float)
    b = np.asarray(b, dtype=float)
    r, b = np.broadcast_arrays(r, b)
    r, b = r.reshape(-1), b.reshape(-1)
    sgn = np.where(r < 0.0, -1.0, 1.0)
    ra = np.abs(r)
    live = ra > 0.0
    rs = np.where(live, ra, 1.0)
    kinds = sorted({(k, s) for k, _, s in spec})
    sq = any(s for _, s in kinds)
    jmax = max(j for _, j, _ in spec)
    zones = []
    for rows, t, w in _zone_nodes(prof, rs, b, t_max, dt_max):
        vals = _g_values(f, rs[rows, None] * t + b[rows, None], kinds, sq)
        wj = [w * np.exp(-0.5 * t * t) * (1.0 / math.sqrt(2.0 * math.pi))]
        for _ in range(jmax):
            wj.append(wj[-1] * t)
        zones.append((rows, wj, vals))
    dead = None
    if not live.all():
        dead = _g_values(f, b[~live], kinds, sq)
    tails = _TailMoments(prof, rs, b, 2 * (1 + int(sq)) + 2)
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
                    f0 = float(_evaluate(f, np.zeros(1), 0)[0][0])
                jump *= 2.0 * f0
            if jump:
                zeta = -b / rs
                dens = jump * np.exp(-0.5 * zeta * zeta) / (math.sqrt(2.0 * math.pi) * rs)
                m = m + dens * zeta**j
        if j % 2:
            m = m * sgn
        if dead is not None:
            m = np.where(live, m, 0.0)
            m[~live] = dead[(kind, squared)] * POLY_MOMENT[j]
        out.append(m)
    return out


# ------------------------------------------------------------------- Hermite coefficients


def _tail_hermite(coef, tb, T, side):
    r"""Tail integrals of :math:`P(t) h_n(t)\varphi(t)`, :math:`P = c_0 + c_1 t` (coefficient
    arrays (n,)), over :math:`[t_b, \infty)` (``right``) or :math:`(-\infty, t_b]`, for
    :math:`n < T`: shape (T, n)."""
    from .hermite_series import hermite_values

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


def hermite_coefficients(f, r, b, T: int, order: int):
    r""":math:`E[f^{(a)}(rz + b)\,h_n(z)]` for :math:`a \le` ``order`` and :math:`n < T`,
    each (T, n), Dirac parts of kinks included (orthonormal :math:`h_n`)."""
    from .hermite_series import hermite_values

    prof = profile_of(f)
    r = np.asarray(r, dtype=float).reshape(-1)
    b = np.asarray(b, dtype=float).reshape(-1)
    sgn = np.where(r < 0.0, -1.0, 1.0)
    ra = np.abs(r)
    live = ra > 0.0
    rs = np.where(live, ra, 1.0)
    L = 2.0 * math.sqrt(T) + 8.0
    out = [np.zeros((T, len(r))) for _ in range(order + 1)]
    parts = _zone_nodes(prof, rs, b, L, 0.4)
    if parts:  # one dense (n, m) layout, zero weights where a zone misses a unit
        t = np.zeros((len(r), sum(p[1].shape[1] for p in parts)))
        w = np.zeros_like(t)
        col = 0
        for rows, tz, wz in parts:
            t[rows, col:col + tz.shape[1]] = tz
            w[rows, col:col + tz.shape[1]] = wz
            col += tz.shape[1]
        vals = _evaluate(f, rs[:, None] * t + b[:, None], order)
        wphi = w * np.exp(-0.5 * t * t) / math.sqrt(2.0 * math.pi)
        fw = [vals[a] * wphi for a in range(order + 1)]
        h_prev, h = np.zeros_like(t), np.ones_like(t)
        for n in range(T):
            for a in range(order + 1):
                out[a][n] = np.einsum("km,km->k", fw[a], h)
            h_prev, h = h, (t * h - math.sqrt(n) * h_prev) / math.sqrt(n + 1)
    tl, tr = (prof.lo - b) / rs, (prof.hi - b) / rs
    for a in range(order + 1):
        for side, tb in (("left", tl), ("right", tr)):
            coef = _in_t(_asym(getattr(prof, side), a, False), rs, b)
            if any(np.any(c) for c in coef):
                out[a] += _tail_hermite(coef, tb, T, side)
    if order >= 2 and prof.jump:
        zeta = -b / rs
        dens = np.exp(-0.5 * zeta * zeta) / (math.sqrt(2.0 * math.pi) * rs)
        out[2] += prof.jump * hermite_values(zeta, T, dens)
    # r < 0: E[g(-|r| z + b) h_n(z)] = (-1)^n E[g(|r| z + b) h_n(z)]
    parity = (-1.0) ** np.arange(T)[:, None]
    for a in range(order + 1):
        out[a] = np.where(sgn < 0.0, out[a] * parity, out[a])
        if not live.all():  # r = 0: g(b) delta_{n0}
            dead = _evaluate(f, b[~live], order)[a]
            out[a][:, ~live] = 0.0
            out[a][0, ~live] = dead
    return out
