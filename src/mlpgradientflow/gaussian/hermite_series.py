r"""Two-point expectations of general activations by Mehler's (Hermite) series.

With the orthonormal Hermite polynomials :math:`h_n = \mathrm{He}_n/\sqrt{n!}` and the
coefficients :math:`c_n(r, b) = E[f(rz + b)\,h_n(z)]` of each *unit*, Mehler's formula
:math:`E[h_m(z_1)h_n(z_2)] = \delta_{mn}u^n` gives

.. math::

    E[f_1(r_1z_1 + b_1)\,f_2(r_2z_2 + b_2)] = \sum_{n \ge 0} c^{(1)}_n c^{(2)}_n u^n .

The derivatives are series of the same kind: :math:`\partial_b c_n = E[f'h_n]`,
:math:`\partial_r c_n = E[f'zh_n] = \sqrt{n+1}\,\partial_bc_{n+1} + \sqrt n\,\partial_bc_{n-1}`
(from :math:`zh_n = \sqrt{n+1}h_{n+1} + \sqrt n h_{n-1}`), likewise
:math:`\partial_r\partial_b c_n`, :math:`\partial_r^2c_n` from :math:`E[f''h_n]`, and
:math:`\partial_u` acts on :math:`u^n`. So the quadrature (Gauss–Hermite, for
:math:`E[f^{(k)}(rz + b)h_n(z)]`) is per unit — :math:`O(K\,T\,m)` for :math:`K` distinct
units, :math:`T` terms and :math:`m` nodes — and each pair costs only :math:`O(T)`, instead
of the :math:`m^2` nodes of the 2-D rule (:mod:`.quadrature_expectations`): about 50 times
faster for a 50 x 50 teacher–student problem, at the same accuracy.

The series is truncated at :math:`T = N/2` terms (300 for ``N = 600``), and each chunk of
pairs (sorted by :math:`|u|`) drops the terms below 1e-17 of the largest. Its convergence
at :math:`|u| \to 1` is set by the decay of :math:`c_n`, i.e. by the smoothness of
:math:`f(rz + b)` on the scale :math:`1/r`, and the :math:`u`-derivatives weigh the tail by
:math:`n` and :math:`n^2`. :func:`mehler_pair` returns a pessimistic estimate of the
truncated tail per pair, and the dispatch (:mod:`.dispatch`) recomputes the pairs where it
exceeds 1e-13 (2-D Gauss–Hermite for small :math:`r`, else the conditional rule of
:mod:`.conditional`). For :math:`|u|` away from 1 the factor :math:`u^n` makes the series
converge fast whatever :math:`r` (e.g. :math:`|u| \le 0.9` within 300 terms), provided the
coefficients are accurate: the Gauss–Hermite projection is used only where its a-priori
error (:func:`~.accuracy.gh_error`) is below 1e-15; otherwise (large :math:`r`) they come
from the piecewise rule of :func:`~.piecewise.hermite_coefficients` (closed-form tails,
panels on the transition zone only), accurate at any :math:`r`. Polynomial units have exact
coefficients that vanish beyond their degree, so the series with them is finite
(:mod:`.exact`).

Where the coefficients come from is the dispatch's choice (:func:`~.dispatch.unit_coefficients`,
handed to :func:`mehler_pair` as ``coefficients``); the rules here are the Gauss–Hermite
projection (:func:`projected_coefficients`) and, for activations with a kink but no
profile, a Gauss–Legendre rule split at the kink (:func:`split_coefficients`). Kinks: for
``relu`` the coefficients are exact (:func:`~.closed_forms_relu.relu_coefficients`), so
relu with a smooth partner is accurate; for ``selu`` they come from the piecewise rule,
whose panels end at the kink, with the Dirac part :math:`J\delta` of :math:`f''` added
exactly (:func:`~.kinks.dirac_coefficients`). Near :math:`|u| = 1` kinked coefficients
decay only algebraically (relu: :math:`n^{-5/4}`), so pairs of two kinked activations
converge slowly there; :func:`mehler_pair` flags unconverged pairs for the caller.

>>> import numpy as np
>>> from mlpgradientflow.activations import get_activation
>>> f = get_activation("tanh")
>>> c, _, _ = projected_coefficients(f, np.array([1.0]), np.array([0.0]), 4, 600, 0)
>>> bool(abs(c[0, 0]) < 1e-16), bool(abs(c[2, 0]) < 1e-16)  # odd: even terms vanish
(True, True)
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from ..activations import Activation
from .interface import (
    Array,
    Derivs,
    IntArray,
    PairPoints,
    RawCoefficients,
    UnitCoefficients,
    evaluate,
    pack_pair,
)
from .kinks import dirac_coefficients, kink_density, split_rule
from .quadrature import hermite_rule, hermite_values

__all__ = ["unit_coefficients", "mehler_pair", "projected_coefficients", "split_coefficients",
           "MehlerResult"]

#: pairs per chunk of the series sums (arrays of chunk x T stay in cache)
_CHUNK_PAIRS = 128


@lru_cache(maxsize=8)
def _projector(N: int, T: int) -> tuple[Array, Array]:
    """(x, P) with P[n, i] = w_i h_n(x_i): coefficients are P @ f(r x + b).

    Not pruned at 1e-18 like the expectation rules: :math:`h_n(x)` grows like
    :math:`e^{x^2/4}`, so the outer nodes matter for high :math:`n` (pruning costs 5e-10
    at n = 23 for tanh(1.7 z)); only weights that underflow are dropped, and the
    recurrence starts from :math:`w_i` so that nothing overflows.
    """
    x, w = hermite_rule(N, 1e-300)
    p = hermite_values(x, T, w)
    p.setflags(write=False)
    return x, p


def split_coefficients(f: Activation, r: Array, b: Array, T: int, N: int,
                       order: int) -> RawCoefficients:
    """E[f^(a)(rz + b) h_n(z)] (a <= order, n < T), each (T, K), for an activation with a
    kink at 0: Gauss–Legendre split at the kink, 32 pieces of 20 nodes per side (dense
    enough for the oscillations of h_n, n <= 300; Gauss–Hermite would converge only
    algebraically across the kink), plus the Dirac part of f''. ``N`` is unused (the
    signature of :class:`~.interface.UnitCoefficients`)."""
    _, zeta, _ = kink_density(r, b)
    z, wz = split_rule(np.where(r == 0.0, 12.0, zeta), pieces=32)
    vals = [v * wz for v in evaluate(f, r[:, None] * z + b[:, None], order)]
    out = [np.empty((T, len(r))) for _ in vals]
    h_prev, h = np.zeros_like(z), np.ones_like(z)
    for n in range(T):
        for o, v in zip(out, vals, strict=True):
            o[n] = np.einsum("km,km->k", v, h)
        h_prev, h = h, (z * h - math.sqrt(n) * h_prev) / math.sqrt(n + 1)
    if order >= 2:
        out[2] = out[2] + dirac_coefficients(float(f.kink), r, b, T)
    return _raw(out)


def _raw(parts: list[Array]) -> RawCoefficients:
    """(c, cb, cbb) from the kinds computed, None beyond them."""
    return parts[0], parts[1] if len(parts) > 1 else None, parts[2] if len(parts) > 2 else None


def projected_coefficients(f: Activation, r: Array, b: Array, T: int, N: int,
                           order: int) -> RawCoefficients:
    """Gauss–Hermite projections of f, f', f'' (None beyond order) on the unpruned rule of
    ``N`` nodes, each (T, K)."""
    x, proj = _projector(N, T)
    vals = evaluate(f, r[:, None] * x + b[:, None], order)
    k = len(r)
    stack = np.concatenate(vals, axis=0)  # (order+1)K x m
    co = proj @ stack.T
    return _raw([co[:, i * k:(i + 1) * k] for i in range(order + 1)])


def unit_coefficients(
    coefficients: UnitCoefficients, f: Activation, r: Array, b: Array, T: int, N: int,
    order: int
) -> dict[str, Array]:
    r"""Hermite coefficients of the units :math:`f(r_kz + b_k)`, each (K, T).

    Keys: ``c`` :math:`E[fh_n]`; with ``order >= 1`` ``b`` :math:`E[f'h_n]`, ``r``
    :math:`E[f'zh_n]`; with ``order >= 2`` ``bb``, ``rb``, ``rr`` (:math:`E[f''h_n]`,
    :math:`E[f''zh_n]`, :math:`E[f''z^2h_n]`, Dirac parts included).

    ``coefficients(f, r, b, T + 2, N, order)`` gives :math:`E[f^{(a)}(rz + b)h_n(z)]`
    (the dispatch's choice per activation, :func:`~.dispatch.unit_coefficients`).
    """
    T2 = T + 2  # the recurrences for r-derivatives reach two orders up
    c, cb, cbb = coefficients(f, r, b, T2, N, order)
    n = np.arange(T, dtype=float)[:, None]
    sq1, sq = np.sqrt(n + 1.0), np.sqrt(n)
    out = {"c": c[:T].T}
    if order >= 1:  # kind "r": E[f' z h_n]
        assert cb is not None  # computed for order >= 1
        out["b"] = cb[:T].T
        out["r"] = (sq1 * cb[1:T + 1] + sq * _down(cb, T, 1)).T
    if order >= 2:
        assert cbb is not None  # computed for order >= 2
        out["bb"] = cbb[:T].T
        out["rb"] = (sq1 * cbb[1:T + 1] + sq * _down(cbb, T, 1)).T
        out["rr"] = (np.sqrt((n + 1.0) * (n + 2.0)) * cbb[2:T + 2] + (2.0 * n + 1.0) * cbb[:T]
                     + np.sqrt(n * np.maximum(n - 1.0, 0.0)) * _down(cbb, T, 2)).T
    return {k: np.ascontiguousarray(v) for k, v in out.items()}


def _down(a: Array, T: int, s: int) -> Array:
    """a[n - s] for n < T, 0 where n < s (its coefficient vanishes there anyway)."""
    out = np.zeros((T, a.shape[1]))
    out[s:] = a[: T - s]
    return out


def _cached_coefficients(coefficients: UnitCoefficients, f: Activation, r: Array, b: Array,
                         T: int, N: int, order: int) -> dict[str, Array]:
    """unit_coefficients, memoised on the exact unit set: a fixed teacher's coefficients
    are computed once, not at every call (read-only results)."""
    return _coefficients_by_bytes(coefficients, f, r.tobytes(), b.tobytes(), T, N, order)


@lru_cache(maxsize=8)
def _coefficients_by_bytes(coefficients: UnitCoefficients, f: Activation, rb: bytes, bb: bytes,
                           T: int, N: int, order: int) -> dict[str, Array]:
    out = unit_coefficients(coefficients, f, np.frombuffer(rb), np.frombuffer(bb), T, N, order)
    for v in out.values():
        v.setflags(write=False)
    return out


def _unique_units(r: Array, b: Array) -> tuple[Array, Array, IntArray]:
    """Distinct (r, b) units and the index of each pair's unit (units repeat across pairs).

    Sorting (r, b) as complex numbers (lexicographic) is ~10x faster than
    ``np.unique(axis=0)``.
    """
    key = np.empty(len(r), dtype=np.complex128)
    key.real, key.imag = r, b
    uniq, inv = np.unique(key, return_inverse=True)
    return uniq.real.copy(), uniq.imag.copy(), inv.reshape(-1)


#: coefficient kinds, in the order of the stacked tables
_KINDS = ("c", "r", "b", "rr", "rb", "bb")
#: series terms below this fraction of the largest are dropped
_TOL = 1e-17


def _term_sizes(c1: Array, c2: Array, order: int) -> Array:
    """max over units and kinds of |c1_n| |c2_n| (n + 1)^order, shape (T,)."""
    n = np.arange(c1.shape[2], dtype=float)
    m1 = np.abs(c1).max(axis=(0, 1))
    m2 = np.abs(c2).max(axis=(0, 1))
    with np.errstate(over="ignore"):  # only for absurd units (density ~ 1/r, r ~ 1e-300)
        return m1 * m2 * (n + 1.0) ** order


def _terms_needed(sizes: Array, umax: float, order: int) -> int:
    """Terms beyond which every series term is below _TOL of the largest, at |u| <= umax."""
    if not np.isfinite(sizes).all():
        return len(sizes)
    n = np.arange(len(sizes), dtype=float)
    with np.errstate(under="ignore", divide="ignore"):
        s = sizes * umax ** np.maximum(n - order, 0.0)
    top = s.max()
    if not top > 0.0:
        return 1
    return int(np.nonzero(s > _TOL * top)[0][-1]) + 1


def _tail_estimate(c1: Array, c2: Array, i1: IntArray, i2: IntArray, u: Array, order: int,
                   leads: tuple[Array, Array]) -> Array:
    """Pessimistic relative size of the truncated tail of each pair's series.

    (largest of the last 16 coefficients of either unit, any kind) x T^(order + 1) x
    |u|^(T - 16), relative to the product of the units' largest coefficients.
    """
    T = c1.shape[2]
    tail1, tail2 = (np.abs(c[:, :, -16:]).max(axis=(1, 2)) for c in (c1, c2))
    lead1, lead2 = leads
    q1 = np.divide(tail1, lead1, out=np.zeros_like(tail1), where=lead1 > 0.0)  # each <= 1
    q2 = np.divide(tail2, lead2, out=np.zeros_like(tail2), where=lead2 > 0.0)
    return q1[i1] * q2[i2] * (float(T) ** (order + 1) * np.abs(u) ** max(T - 16, 0))


class MehlerResult(NamedTuple):
    """What :func:`mehler_pair` returns: the integrals, per pair the pessimistic relative
    size of the truncated tail, and the scale it is relative to."""

    d: Derivs
    est: Array
    scale: Array


def mehler_pair(
    f1: Activation, f2: Activation, pts: PairPoints, order: int,
    coefficients: UnitCoefficients, N: int = 600, T: int | None = None, exact: bool = False,
) -> MehlerResult:
    r""":math:`E[f_1(r_1z_1 + b_1) f_2(r_2z_2 + b_2)]` by Mehler's series, with
    derivatives in :math:`(r_1, b_1, r_2, b_2, u)` (see the module docstring).

    Pairs are sorted by :math:`|u|` and summed in chunks, each truncated at the terms
    its largest :math:`|u|` needs: weakly correlated pairs cost a few terms only. ``T``
    (default ``max(N // 2, 24)``) is the number of terms; ``exact`` says that the series
    ends within them (a polynomial unit: its coefficients vanish beyond its degree).
    ``coefficients`` computes the units' Hermite coefficients
    (:class:`~.interface.UnitCoefficients`).

    Returns
    -------
    MehlerResult
        ``d``, the result; ``est``, per pair the pessimistic relative size of the truncated tail
        (:func:`_tail_estimate`, 0 with ``exact``; slowly decaying coefficients at
        :math:`|u| \to 1`, e.g. tanh with :math:`r \gtrsim 1.5`); ``scale``, what it is
        relative to: the product of the units' largest coefficients (any kind).
    """
    u = np.clip(pts.u, -1.0, 1.0)
    T = max(N // 2, 24) if T is None else int(T)
    ur1, ub1, i1 = _unique_units(pts.r1, pts.b1)
    ur2, ub2, i2 = _unique_units(pts.r2, pts.b2)
    kinds = _KINDS[: (1, 3, 6)[order]]
    d1 = _cached_coefficients(coefficients, f1, ur1, ub1, T, N, order)
    d2 = _cached_coefficients(coefficients, f2, ur2, ub2, T, N, order)
    c1 = np.stack([d1[k] for k in kinds], axis=1)  # (K1, kinds, T)
    c2 = np.stack([d2[k] for k in kinds], axis=1)
    lead1, lead2 = (np.abs(c).max(axis=(1, 2)) for c in (c1, c2))
    scale = lead1[i1] * lead2[i2]
    est = np.zeros(len(u)) if exact else _tail_estimate(c1, c2, i1, i2, u, order,
                                                         (lead1, lead2))
    sizes = _term_sizes(c1, c2, order)
    n = len(u)
    res = np.empty((21, n))
    perm = np.argsort(np.abs(u), kind="stable")
    for lo in range(0, n, _CHUNK_PAIRS):
        idx = perm[lo:lo + _CHUNK_PAIRS]
        uc = u[idx]
        tc = T if exact else _terms_needed(sizes, float(np.abs(uc).max()), order)
        a = np.take(c1[:, :, :tc], i1[idx], axis=0)
        b = np.take(c2[:, :, :tc], i2[idx], axis=0)
        res[:, idx] = _series_chunk(a, b, uc, order)
    value = res[0]
    if order < 1:
        out = Derivs(value, None, None)
    elif order < 2:
        out = pack_pair(value, tuple(res[1:6]), None)
    else:
        out = pack_pair(value, tuple(res[1:6]), tuple(res[6:21]))
    return MehlerResult(out, est, scale)


def _series_chunk(a: Array, b: Array, u: Array, order: int) -> Array:
    r"""The 1 + 5 + 15 series of a chunk, (21, P); a, b are (P, kinds, T) in _KINDS order.

    Sums :math:`\sum_n a_{k,n} b_{l,n} W_n` for all kinds k, l at once as batched
    (kinds x T) @ (T x kinds) products, with :math:`W = u^n, nu^{n-1}, n(n-1)u^{n-2}`.
    """
    P, _, T = a.shape
    w0 = np.empty((P, T))
    w0[:, 0] = 1.0
    if T > 1:
        w0[:, 1:] = u[:, None]
        np.cumprod(w0[:, 1:], axis=1, out=w0[:, 1:])  # u^n
    out = np.zeros((21, P))
    m0 = a @ (b * w0[:, None, :]).transpose(0, 2, 1)  # (P, kinds, kinds)
    out[0] = m0[:, 0, 0]
    if order < 1:
        return out
    nn = np.arange(T, dtype=float)
    w1 = np.zeros((P, T))
    w1[:, 1:] = w0[:, :-1] * nn[1:]  # n u^(n-1)
    m1 = a[:, :3] @ (b[:, 0] * w1)[:, :, None]  # (P, 3, 1): kinds c, r, b of unit 1
    # kinds: 0 c, 1 r, 2 b, 3 rr, 4 rb, 5 bb
    out[1:6] = (m0[:, 1, 0], m0[:, 2, 0], m0[:, 0, 1], m0[:, 0, 2], m1[:, 0, 0])
    if order < 2:
        return out
    w2 = np.zeros((P, T))
    w2[:, 2:] = w0[:, :-2] * (nn[2:] * (nn[2:] - 1.0))  # n (n-1) u^(n-2)
    m1b = np.einsum("pn,pkn->pk", a[:, 0] * w1, b[:, 1:3])  # unit-2 kinds r, b with W1
    out[6:21] = (
        m0[:, 3, 0], m0[:, 4, 0], m0[:, 1, 1], m0[:, 1, 2], m1[:, 1, 0],
        m0[:, 5, 0], m0[:, 2, 1], m0[:, 2, 2], m1[:, 2, 0],
        m0[:, 0, 3], m0[:, 0, 4], m1b[:, 0],
        m0[:, 0, 5], m1b[:, 1],
        np.einsum("pn,pn->p", a[:, 0] * w2, b[:, 0]),
    )
    return out
