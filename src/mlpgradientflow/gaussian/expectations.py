r"""One vectorised entry point for the Gaussian one- and two-point expectations.

With :math:`z, z_1, z_2 \sim N(0, 1)` and :math:`\operatorname{corr}(z_1, z_2) = u`:

* :func:`one_point`: :math:`\phi(r, b) = E[f(rz + b)]`, or
  :math:`\phi\phi(r, b) = E[f(rz + b)^2]` with ``squared=True``;
* :func:`two_point`: :math:`\phi\phi(r_1, b_1, r_2, b_2, u) =
  E[f_1(r_1z_1 + b_1)\,f_2(r_2z_2 + b_2)]`.

Both return :class:`~mlpgradientflow.gaussian.bvn.Derivs` ``(value, grad, hess)``:

============  ==========  ================  ===============================================
function      ``value``   ``grad``          ``hess``
============  ==========  ================  ===============================================
one_point     (n,)        (n, 2)            (n, 2, 2); order :math:`(r, b)`
two_point     (n,)        (n, 5)            (n, 5, 5); order :math:`(r_1, b_1, r_2, b_2, u)`
============  ==========  ================  ===============================================

``grad`` is ``None`` for ``order=0`` and ``hess`` is ``None`` for ``order < 2``; Hessians
are symmetric. With ``return_error=True`` they also return per integral an estimate of the
absolute error of the value, of the gradient and of the Hessian entries, shape (n, 3)
(:mod:`.accuracy`).

Methods chosen by ``method="auto"`` (the default), per activation or pair:

==========================================  ============================================
activations                                 method
==========================================  ============================================
relu; normal_cdf, sigmoid2 (erf)            closed forms (:mod:`.closed_forms`), pairs
                                            relu x relu and within {normal_cdf, sigmoid2}
exp                                         closed forms; pairs with exp by exponential
                                            tilting: a one-point integral of the partner
                                            (:mod:`.exact`)
identity, square, cube, Poly                exact Gauss–Hermite (degree :math:`d`, a rule
                                            of :math:`d + 3` nodes); pairs with any partner
                                            by Mehler's series, which ends after
                                            :math:`d + 1` terms (:mod:`.exact`)
softplus, sigmoid, tanh, g, gelu, silu,     one-point: the piecewise rule in the variable
selu (and erf, normal_cdf in mixed pairs)   :math:`y = rz + b` (:mod:`.piecewise`), exact
                                            tails plus Gauss–Legendre panels on the
                                            transition zones; pairs: Mehler's series
                                            (:mod:`.hermite_series`) with accurate unit
                                            coefficients, and for the pairs whose series
                                            has not converged (:math:`|u|` near 1 with
                                            slowly decaying coefficients) the 2-D
                                            Gauss–Hermite rule when its a-priori error is
                                            below 1e-14 (both activations smooth, small
                                            :math:`r`), else the conditional rule
                                            (:mod:`.conditional`), accurate at any scale
custom Activation objects                   Gauss–Hermite and Mehler's series as above,
                                            with a-posteriori error estimates (rules with
                                            ``N`` and ``N // 2`` nodes)
==========================================  ============================================

Explicit methods: ``"closed_form"`` (error if there is none), ``"piecewise"`` (one-point)
and ``"conditional"`` (two-point) for profiled activations, ``"hermite"`` (Mehler's series,
never falling back), ``"quadrature"`` (the reference's Gauss–Hermite rules: 1-D, split at
the kink for relu and selu; 2-D for pairs, Dirac parts of kinks added).

Accuracy (against adaptive quadrature of the defining integrals and exact formulas, see
``tests/test_neti_accuracy.py``), relative to the scale of the integral, for every built-in
activation and pair at :math:`|r|` from 0 to :math:`10^3`, any :math:`b` and :math:`u`:
about 1e-15 on the closed, exact, piecewise and conditional paths, 1e-14 to 3e-14 on the
Gauss–Hermite fast paths (small :math:`r`, their rounding floor, counted in the error
estimates as 5e-14); an error estimate of 0 means "accurate to rounding by construction".
Relative accuracy is with respect to the size of the integrand (an integral that is itself
tiny, e.g. deep in a saturated tail, is accurate in absolute, not relative, terms).

Non-finite arguments are not checked here; :math:`u` is clipped to :math:`[-1, 1]`.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike

from ..activations import ACTIVATIONS, Activation, get_activation
from .accuracy import gh_error
from .bvn import Derivs
from .closed_forms import closed_form_one_point, closed_form_pair
from .conditional import conditional_pair
from .exact import exp_one_point, exp_pair, is_exp, poly_degree, poly_one_point
from .hermite_series import mehler_pair
from .piecewise import moments, profile_of
from .quadrature import default_pair_rule, hermite_rule
from .quadrature_expectations import derivative_jump, empty_pair, quad_one_point, quad_pair

__all__ = ["one_point", "two_point", "has_closed_form"]

#: pairs whose Mehler tail estimate exceeds this are recomputed (auto)
SERIES_TOL = 1e-13
#: largest a-priori error accepted for the 2-D Gauss–Hermite fallback
GH2_TOL = 1e-14
#: rounding floor of the Gauss–Hermite paths, relative to the scale of the integral
#: (measured: 1e-14 to 3e-14 against the piecewise and conditional rules)
GH_FLOOR = 5e-14
_SWAP = [2, 3, 0, 1, 4]


def _builtin(f: Activation) -> bool:
    """True for the registry's own objects (a custom Activation named "relu" is not)."""
    return ACTIVATIONS.get(f.name) is f


def has_closed_form(f1: str | Activation, f2: str | Activation | None = None) -> bool:
    """Whether :func:`two_point` (or, with one argument, :func:`one_point`) is closed-form.

    >>> has_closed_form("sigmoid2", "normal_cdf"), has_closed_form("relu", "tanh")
    (True, False)
    """
    f1 = get_activation(f1)
    if f2 is None:
        return _builtin(f1) and closed_form_one_point(f1.name) is not None
    f2 = get_activation(f2)
    return _builtin(f1) and _builtin(f2) and closed_form_pair(f1.name, f2.name) is not None


def _vectors(*xs: ArrayLike) -> list[np.ndarray]:
    arrs = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in xs))
    return [np.ascontiguousarray(a.reshape(-1)) for a in arrs]


def _check_order(order: int) -> int:
    if order not in (0, 1, 2):
        raise ValueError(f"`order` must be 0, 1 or 2, got {order!r}")
    return int(order)


_METHODS = ("auto", "closed_form", "hermite", "quadrature", "conditional")
_METHODS_ONE = ("auto", "closed_form", "quadrature", "piecewise")


def _check_method(method: str, one: bool) -> str:
    allowed = _METHODS_ONE if one else _METHODS
    if method not in allowed:
        raise ValueError(f"`method` must be one of {allowed}, got {method!r}")
    return method


def _no_closed_form(*fs: Activation):
    names = " x ".join(f.name for f in fs)
    return ValueError(f"method='closed_form': no closed form for {names}")


def one_point(
    f: str | Activation,
    r: ArrayLike,
    b: ArrayLike,
    order: int = 2,
    *,
    squared: bool = False,
    method: str = "auto",
    N: int = 600,
    return_error: bool = False,
):
    r""":math:`E[f(rz + b)]` (or :math:`E[f(rz + b)^2]`) with derivatives in :math:`(r, b)`.

    Parameters
    ----------
    f : str or Activation
        The activation.
    r, b : array_like
        Scale and offset, broadcast together and flattened to length ``n``. ``r`` may be
        negative or 0.
    order : {0, 1, 2}
        Highest derivative order computed.
    squared : bool
        Integrate :math:`f^2` instead of :math:`f`.
    method : {"auto", "closed_form", "piecewise", "quadrature"}
        See the module docstring.
    N : int
        Size of the Gauss–Hermite rule before pruning (see :mod:`.quadrature`), where one
        is used.
    return_error : bool
        Also return the (n, 3) absolute error estimates (:mod:`.accuracy`).

    Returns
    -------
    Derivs
        ``value`` (n,), ``grad`` (n, 2) as :math:`(\partial_r, \partial_b)`, ``hess``
        (n, 2, 2); with ``return_error``, ``(Derivs, err)``.

    Examples
    --------
    >>> v, g, h = one_point("relu", [1.0, 2.0], 0.0, squared=True)
    >>> v.tolist(), g[:, 0].tolist(), h[:, 0, 0].tolist()  # r^2/2, r, 1
    ([0.5, 2.0], [1.0, 2.0], [1.0, 1.0])
    >>> d, err = one_point("tanh", 1000.0, 0.0, squared=True, return_error=True)
    >>> import math  # E[tanh^2] = 1 - E[sech^2(1000 z)] ~ 1 - 2 phi(0) / 1000
    >>> round(float(d.value[0]), 9), round(1 - 2 / math.sqrt(2 * math.pi) / 1000, 9)
    (0.999202116, 0.999202116)
    >>> float(err.max())  # the piecewise rule: accurate to rounding
    0.0
    """
    order, method = _check_order(order), _check_method(method, True)
    f = get_activation(f)
    r, b = _vectors(r, b)
    d, err = _one_point(f, r, b, order, squared, method, N)
    return (d, err) if return_error else d


def _one_point(f, r, b, order, squared, method, N):
    n = len(r)
    zero = np.zeros((n, 3))
    fn = closed_form_one_point(f.name, squared) if _builtin(f) else None
    if method == "closed_form" and fn is None:
        raise _no_closed_form(f)
    if method == "quadrature":
        x, w = hermite_rule(N)
        return quad_one_point(f, r, b, order, squared, x, w), _gh_one_error(f, r, b, order,
                                                                             squared, N)
    prof = profile_of(f)
    if method == "piecewise":
        if prof is None:
            raise ValueError(f"method='piecewise': no profile for {f.name}")
        return _piecewise_one(f, r, b, order, squared), zero
    if fn is not None:
        return fn(r, b, order), zero
    if is_exp(f):
        return exp_one_point(r, b, order, squared), zero
    if poly_degree(f) is not None:
        return poly_one_point(f, r, b, order, squared), zero
    if prof is not None:
        return _profiled_one(f, r, b, order, squared, N)
    x, w = hermite_rule(N)
    return quad_one_point(f, r, b, order, squared, x, w), _gh_one_error(f, r, b, order,
                                                                         squared, N)


def _profiled_one(f, r, b, order, squared, N):
    """Gauss–Hermite where its a-priori error is below 1e-15 (smooth activations, small
    r: the fast path, accurate to its rounding floor), the piecewise rule elsewhere."""
    e = gh_error(f, r, N)
    pw = e > 1e-15
    if pw.all():
        return _piecewise_one(f, r, b, order, squared), np.zeros((len(r), 3))
    x, w = hermite_rule(N)
    d = quad_one_point(f, r, b, order, squared, x, w)
    err = (GH_FLOOR + e) * _scale(d)
    if pw.any():
        err[pw] = 0.0
        q = _piecewise_one(f, r[pw], b[pw], order, squared)
        for mine, theirs in zip(d, q, strict=True):
            if mine is not None:
                mine[pw] = theirs
    return d, np.broadcast_to(err[:, None], (len(r), 3))


def _piecewise_one(f, r, b, order, squared) -> Derivs:
    from .closed_forms import pack_one

    spec = [(0, 0, squared)]
    if order >= 1:
        spec += [(1, 1, squared), (1, 0, squared)]
    if order >= 2:
        spec += [(2, 2, squared), (2, 1, squared), (2, 0, squared)]
    m = moments(f, r, b, spec)
    if order < 1:
        return Derivs(m[0], None, None)
    return pack_one(m[0], (m[1], m[2]), None if order < 2 else (m[3], m[4], m[5]))


def _gh_one_error(f, r, b, order, squared, N):
    """Error estimates of the 1-D Gauss–Hermite rule: a priori for profiled activations,
    else the difference to the rule of N // 2 nodes."""
    n = len(r)
    x, w = hermite_rule(N)
    d = quad_one_point(f, r, b, order, squared, x, w)
    if profile_of(f) is not None and not derivative_jump(f):
        e = gh_error(f, r, N)
        scale = _scale(d)
        return np.stack([e * scale] * 3, axis=1)
    if derivative_jump(f):  # split at the kink: exact to rounding
        return np.zeros((n, 3))
    x2, w2 = hermite_rule(max(N // 2, 8))
    d2 = quad_one_point(f, r, b, order, squared, x2, w2)
    return _difference(d, d2)


def _scale(d: Derivs) -> np.ndarray:
    s = np.abs(d.value)
    for a in (d.grad, d.hess):
        if a is not None:
            s = np.maximum(s, np.abs(a).reshape(len(s), -1).max(axis=1))
    return s


def _difference(d, d2) -> np.ndarray:
    n = len(d.value)
    out = np.zeros((n, 3))
    with np.errstate(invalid="ignore"):
        out[:, 0] = np.abs(d.value - d2.value)
        if d.grad is not None:
            out[:, 1] = np.abs(d.grad - d2.grad).reshape(n, -1).max(axis=1)
        if d.hess is not None:
            out[:, 2] = np.abs(d.hess - d2.hess).reshape(n, -1).max(axis=1)
    return np.where(np.isnan(out), np.inf, out)


def two_point(
    f1: str | Activation,
    f2: str | Activation,
    r1: ArrayLike,
    b1: ArrayLike,
    r2: ArrayLike,
    b2: ArrayLike,
    u: ArrayLike,
    order: int = 2,
    *,
    method: str = "auto",
    N: int = 600,
    return_error: bool = False,
):
    r""":math:`E[f_1(r_1z_1 + b_1)\,f_2(r_2z_2 + b_2)]`, :math:`\operatorname{corr}(z_1, z_2)
    = u`, with derivatives in :math:`(r_1, b_1, r_2, b_2, u)`.

    Parameters
    ----------
    f1, f2 : str or Activation
        The activations of the first and the second unit.
    r1, b1, r2, b2, u : array_like
        Broadcast together and flattened to length ``n``; :math:`u` is clipped to
        :math:`[-1, 1]`. Degenerate points (:math:`r_i = 0`, :math:`|u| = 1`) are allowed.
    order : {0, 1, 2}
        Highest derivative order computed.
    method : {"auto", "closed_form", "hermite", "quadrature", "conditional"}
        See the module docstring (``"hermite"`` alone never falls back).
    N : int
        Size of the 1-D Gauss–Hermite rule before pruning (136 nodes for ``N = 600``).
        ``"hermite"`` uses it for the coefficients and keeps up to ``N // 2`` terms;
        ``"quadrature"`` uses its 136 x 136 rectangle.
    return_error : bool
        Also return the (n, 3) absolute error estimates (:mod:`.accuracy`).

    Returns
    -------
    Derivs
        ``value`` (n,); ``grad`` (n, 5) and ``hess`` (n, 5, 5) in the order
        :math:`(r_1, b_1, r_2, b_2, u)`. Swapping :math:`(f_1, r_1, b_1)` with
        :math:`(f_2, r_2, b_2)` permutes ``grad`` and ``hess`` by ``[2, 3, 0, 1, 4]``.
        With ``return_error``, ``(Derivs, err)``.

    Examples
    --------
    >>> d = two_point("sigmoid2", "sigmoid2", 1.0, 0.0, 1.0, 0.0, 1.0)
    >>> round(float(d.value[0]), 15)  # (2/pi) asin(1/2) = 1/3
    0.333333333333333
    >>> d.grad.shape, d.hess.shape
    ((1, 5), (1, 5, 5))
    >>> d = two_point("exp", "exp", 30.0, 0.0, 30.0, 0.0, -1.0)  # E[e^{30z} e^{-30z}] = 1
    >>> float(d.value[0])
    1.0
    """
    order, method = _check_order(order), _check_method(method, False)
    f1, f2 = get_activation(f1), get_activation(f2)
    r1, b1, r2, b2, u = _vectors(r1, b1, r2, b2, u)
    d, err = _two_point(f1, f2, r1, b1, r2, b2, np.clip(u, -1.0, 1.0), order, method, N)
    return (d, err) if return_error else d


def _swap(d: Derivs) -> Derivs:
    g = None if d.grad is None else np.ascontiguousarray(d.grad[:, _SWAP])
    h = None if d.hess is None else np.ascontiguousarray(d.hess[:, _SWAP][:, :, _SWAP])
    return Derivs(d.value, g, h)


def _two_point(f1, f2, r1, b1, r2, b2, u, order, method, N):
    n = len(u)
    zero = np.zeros((n, 3))
    fn = closed_form_pair(f1.name, f2.name) if _builtin(f1) and _builtin(f2) else None
    if method == "closed_form" and fn is None:
        raise _no_closed_form(f1, f2)
    if n == 0:
        return empty_pair(order), zero
    if method == "closed_form":
        return fn(r1, b1, r2, b2, u, order), zero
    if method == "quadrature":
        d = quad_pair(f1, f2, r1, b1, r2, b2, u, order, default_pair_rule(N))
        return d, _gh2_error(f1, f2, r1, b1, r2, b2, u, d, order, N)
    if method == "conditional":
        return conditional_pair(f1, f2, r1, b1, r2, b2, u, order), zero
    if method == "hermite":
        d, est, scale = _mehler(f1, f2, r1, b1, r2, b2, u, order, N)
        return d, _mehler_error(f1, f2, r1, b1, r2, b2, est, scale, N)
    # auto
    if fn is not None:
        return fn(r1, b1, r2, b2, u, order), zero
    if is_exp(f1) or is_exp(f2):
        if not is_exp(f1):
            d, err = _two_point(f2, f1, r2, b2, r1, b1, u, order, method, N)
            return _swap(d), err
        return exp_pair(f2, r1, b1, r2, b2, u, order,
                        lambda f, r, b, o: _one_point(f, r, b, o, False, "auto", N))
    d, est, scale = _mehler(f1, f2, r1, b1, r2, b2, u, order, N)
    err = _mehler_error(f1, f2, r1, b1, r2, b2, est, scale, N)
    bad = est > SERIES_TOL
    if not bad.any():
        return d, err
    idx = np.flatnonzero(bad)
    smooth = not derivative_jump(f1) and not derivative_jump(f2)
    gh2 = (gh_error(f1, r1[idx], N) + gh_error(f2, r2[idx], N)) <= GH2_TOL if smooth else \
        np.zeros(len(idx), bool)
    profiled = profile_of(f1) is not None and profile_of(f2) is not None
    parts = []
    if gh2.any():
        k = idx[gh2]
        q = quad_pair(f1, f2, r1[k], b1[k], r2[k], b2[k], u[k], order, default_pair_rule(N))
        parts.append((k, q, _gh2_error(f1, f2, r1[k], b1[k], r2[k], b2[k], u[k], q, order, N)))
    rest = idx[~gh2]
    if rest.size and profiled:
        q = conditional_pair(f1, f2, r1[rest], b1[rest], r2[rest], b2[rest], u[rest], order)
        parts.append((rest, q, np.zeros((rest.size, 3))))
    elif rest.size and smooth:  # custom activations: the better of series and 2-D rule
        q = quad_pair(f1, f2, r1[rest], b1[rest], r2[rest], b2[rest], u[rest], order,
                      default_pair_rule(N))
        e2 = _gh2_error(f1, f2, r1[rest], b1[rest], r2[rest], b2[rest], u[rest], q, order, N)
        take = e2.max(axis=1) < err[rest].max(axis=1)
        parts.append((rest[take], _take(q, take), e2[take]))
    for k, q, e in parts:
        for mine, theirs in zip(d, q, strict=True):
            if mine is not None:
                mine[k] = theirs
        err[k] = e
    return d, err


def _take(d: Derivs, sel) -> Derivs:
    return Derivs(*(None if a is None else a[sel] for a in d))


def _mehler(f1, f2, r1, b1, r2, b2, u, order, N):
    deg = [poly_degree(f) for f in (f1, f2)]
    degs = [x for x in deg if x is not None]
    if degs:  # the series ends after deg + 1 terms
        return mehler_pair(f1, f2, r1, b1, r2, b2, u, order, N, T=min(degs) + 1, exact=True)
    return mehler_pair(f1, f2, r1, b1, r2, b2, u, order, N)


@lru_cache(maxsize=64)
def _kind(f) -> str:
    """How the unit coefficients of ``f`` are computed: exact, profiled or custom."""
    if poly_degree(f) is not None or is_exp(f) or derivative_jump(f):
        return "exact"
    return "profiled" if profile_of(f) is not None else "custom"


def _unit_error(f, r, b, N):
    """Relative error of a unit's Hermite coefficients: 0 where they are exact or
    piecewise, a priori where the Gauss–Hermite projection is used (profiled activations,
    below 1e-15, plus its rounding floor), a posteriori for custom activations."""
    kind = _kind(f)
    if kind == "exact":
        return 0.0
    if kind == "profiled":
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


def _mehler_error(f1, f2, r1, b1, r2, b2, est, scale, N):
    e = (est + _unit_error(f1, r1, b1, N) + _unit_error(f2, r2, b2, N)) * scale
    return np.repeat(e[:, None], 3, axis=1)


def _gh2_error(f1, f2, r1, b1, r2, b2, u, d, order, N):
    """Error estimates of the 2-D Gauss–Hermite rule: a priori for profiled and
    polynomial activations, else the difference to the rule of N // 2 nodes."""
    known = [profile_of(f) is not None or poly_degree(f) is not None for f in (f1, f2)]
    if all(known):
        est = GH_FLOOR + sum(np.zeros_like(r) if poly_degree(f) is not None else
                             gh_error(f, r, N) for f, r in ((f1, r1), (f2, r2)))
        return np.stack([est * _scale(d)] * 3, axis=1)
    q = quad_pair(f1, f2, r1, b1, r2, b2, u, order, default_pair_rule(max(N // 2, 16)))
    return _difference(d, q)
