r"""Which method computes which Gaussian integral, for which activation or pair: the one place.

The integrators (:mod:`.closed_forms_erf`, :mod:`.closed_forms_relu`, :mod:`.exact`,
:mod:`.piecewise`, :mod:`.quadrature_expectations`, :mod:`.hermite_series`,
:mod:`.conditional`) know how to integrate; the error estimates are :mod:`.accuracy`'s;
this module decides, from an activation's :class:`~.interface.Traits` (:func:`traits`) and
the requested method, which one runs, for

* one-point integrals :math:`E[f(rz + b)]`, :math:`E[f(rz + b)^2]`: :func:`one_point`;
* two-point integrals :math:`E[f_1(r_1z_1 + b_1)f_2(r_2z_2 + b_2)]`: :func:`two_point`,
  including the fallbacks of the pairs whose Mehler series has not converged;
* the Hermite coefficients of a unit for Mehler's series: :func:`unit_coefficients`;
* the methods of the one- and two-point integrals of a :class:`~.neti.NetI`:
  :data:`NETI_METHODS`.

The table of the choices is in :mod:`.expectations`, whose public functions check their
arguments and call these. Importing this module registers every closed form (it imports
the modules that derive them, :data:`CLOSED_FORM_MODULES`).

>>> from mlpgradientflow.activations import get_activation
>>> t = traits(get_activation("relu"))
>>> t.builtin, t.kink, t.degree, t.profile.lo
(True, 1.0, None, 0.0)
>>> traits(get_activation("cube")).degree, traits(get_activation("tanh")).smooth
(3, True)
"""

from __future__ import annotations

import numpy as np

from ..activations import Activation
from . import closed_forms_erf, closed_forms_relu
from .accuracy import GH_FLOOR, gh2_error, gh_error, gh_one_error, mehler_error, scale
from .closed_forms import find_coefficients, find_one_point, find_pair
from .conditional import conditional_pair
from .exact import exp_one_point, exp_pair, is_exp, poly_coefficients, poly_degree, poly_one_point
from .hermite_series import MehlerResult, mehler_pair, projected_coefficients, split_coefficients
from .interface import (
    Array,
    Derivs,
    PairPoints,
    RawCoefficients,
    Traits,
    empty_pair,
    is_builtin,
    swap_pair,
)
from .piecewise import hermite_coefficients, piecewise_one_point
from .profiles import profile_of
from .quadrature import default_pair_rule, hermite_rule
from .quadrature_expectations import quad_one_point, quad_pair

__all__ = [
    "CLOSED_FORM_MODULES",
    "METHODS_ONE",
    "METHODS_PAIR",
    "NETI_METHODS",
    "SERIES_TOL",
    "GH2_TOL",
    "GH_TOL",
    "traits",
    "one_point",
    "two_point",
    "unit_coefficients",
    "has_closed_form",
]

#: the modules whose decorators fill the closed-form registry (:mod:`.closed_forms`)
CLOSED_FORM_MODULES = (closed_forms_erf, closed_forms_relu)
#: the methods of the one-point integrals
METHODS_ONE = ("auto", "closed_form", "quadrature", "piecewise")
#: the methods of the two-point integrals
METHODS_PAIR = ("auto", "closed_form", "hermite", "quadrature", "conditional")
#: NetI's methods: (one-point method, two-point method) of each; ``"hermite"`` is Mehler's
#: series for the pairs (never falling back) with the default one-point integrals
NETI_METHODS = {
    "auto": ("auto", "auto"),
    "closed_form": ("closed_form", "closed_form"),
    "quadrature": ("quadrature", "quadrature"),
    "hermite": ("auto", "hermite"),
}
#: pairs whose Mehler tail estimate exceeds this are recomputed (auto)
SERIES_TOL = 1e-13
#: largest a-priori error accepted for the 2-D Gauss–Hermite fallback
GH2_TOL = 1e-14
#: largest a-priori error accepted for the 1-D Gauss–Hermite fast paths (else piecewise)
GH_TOL = 1e-15


def traits(f: Activation) -> Traits:
    """What the integrators need to know about ``f``, from its declarations."""
    return Traits(name=f.name, builtin=is_builtin(f), kink=float(f.kink), degree=poly_degree(f),
                  exp=is_exp(f), profile=profile_of(f))


def has_closed_form(f1: Activation, f2: Activation | None = None) -> bool:
    """Whether the pair (or, with one activation, its one-point integrals) is closed-form."""
    if f2 is None:
        return is_builtin(f1) and find_one_point(f1.name) is not None
    return is_builtin(f1) and is_builtin(f2) and find_pair(f1.name, f2.name) is not None


def _no_closed_form(*fs: Activation) -> ValueError:
    names = " x ".join(f.name for f in fs)
    return ValueError(f"method='closed_form': no closed form for {names}")


# ------------------------------------------------------------------- one-point


def one_point(f: Activation, r: Array, b: Array, order: int, squared: bool, method: str,
              N: int) -> tuple[Derivs, Array]:
    """:math:`E[f(rz + b)]` (:math:`E[f^2]` when ``squared``) and its (n, 3) error
    estimates, by the method that ``method`` and the traits of ``f`` select (flat float
    arrays ``r``, ``b``; checked ``order`` and ``method``)."""
    tr = traits(f)
    zero = np.zeros((len(r), 3))
    fn = find_one_point(f.name, squared) if tr.builtin else None
    if method == "closed_form" and fn is None:
        raise _no_closed_form(f)
    if method == "quadrature":
        return _gh_one(tr, f, r, b, order, squared, N)
    if method == "piecewise":
        if tr.profile is None:
            raise ValueError(f"method='piecewise': no profile for {f.name}")
        return piecewise_one_point(f, r, b, order, squared), zero
    if fn is not None:
        return fn(r, b, order), zero
    if tr.exp:
        return exp_one_point(r, b, order, squared), zero
    if tr.degree is not None:
        return poly_one_point(f, r, b, order, squared), zero
    if tr.profile is not None:
        return _profiled_one(f, r, b, order, squared, N)
    return _gh_one(tr, f, r, b, order, squared, N)


def _gh_one(tr: Traits, f: Activation, r: Array, b: Array, order: int, squared: bool,
            N: int) -> tuple[Derivs, Array]:
    """The 1-D Gauss–Hermite rule of ``N`` nodes and its error estimate."""
    x, w = hermite_rule(N)
    d = quad_one_point(f, r, b, order, squared, x, w)
    return d, gh_one_error(tr, f, r, b, order, squared, N, d)


def _profiled_one(f: Activation, r: Array, b: Array, order: int, squared: bool,
                  N: int) -> tuple[Derivs, Array]:
    """Gauss–Hermite where its a-priori error is below :data:`GH_TOL` (smooth activations,
    small r: the fast path, accurate to its rounding floor), the piecewise rule elsewhere."""
    e = gh_error(f, r, N)
    pw = e > GH_TOL
    if pw.all():
        return piecewise_one_point(f, r, b, order, squared), np.zeros((len(r), 3))
    x, w = hermite_rule(N)
    d = quad_one_point(f, r, b, order, squared, x, w)
    err = (GH_FLOOR + e) * scale(d)
    if pw.any():
        err[pw] = 0.0
        d.assign(pw, piecewise_one_point(f, r[pw], b[pw], order, squared))
    return d, np.repeat(err[:, None], 3, axis=1)


# ------------------------------------------------------------------- two-point


def two_point(f1: Activation, f2: Activation, pts: PairPoints, order: int, method: str,
              N: int) -> tuple[Derivs, Array]:
    """:math:`E[f_1(r_1z_1 + b_1)f_2(r_2z_2 + b_2)]` and its (n, 3) error estimates, by
    the method that ``method`` and the traits of the pair select (``u`` in [-1, 1];
    checked ``order`` and ``method``)."""
    t1, t2 = traits(f1), traits(f2)
    n = len(pts)
    zero = np.zeros((n, 3))
    fn = find_pair(f1.name, f2.name) if t1.builtin and t2.builtin else None
    if method == "closed_form" and fn is None:
        raise _no_closed_form(f1, f2)
    if n == 0:
        return empty_pair(order), zero
    if fn is not None and method in ("closed_form", "auto"):
        return fn(*pts.arrays(), order), zero
    if method == "quadrature":
        return _gh_pair(t1, t2, f1, f2, pts, order, N)
    if method == "conditional":
        return conditional_pair(f1, f2, pts, order), zero
    if method == "hermite":
        return _series(t1, t2, f1, f2, pts, order, N)
    if t1.exp or t2.exp:
        return _exp_pair(f1, f2, pts, order, N)
    return _auto_pair(t1, t2, f1, f2, pts, order, N)


def _gh_pair(t1: Traits, t2: Traits, f1: Activation, f2: Activation, pts: PairPoints,
             order: int, N: int) -> tuple[Derivs, Array]:
    """The 2-D Gauss–Hermite rule and its error estimate."""
    d = quad_pair(f1, f2, pts, order, default_pair_rule(N))
    return d, gh2_error(t1, t2, f1, f2, pts, d, order, N)


def _exp_pair(f1: Activation, f2: Activation, pts: PairPoints, order: int,
              N: int) -> tuple[Derivs, Array]:
    """Pairs with exp by exponential tilting: a one-point integral of the partner."""
    if not traits(f1).exp:
        d, err = _exp_pair(f2, f1, pts.swapped(), order, N)
        return swap_pair(d), err

    def partner(f: Activation, r: Array, b: Array, o: int) -> tuple[Derivs, Array]:
        return one_point(f, r, b, o, False, "auto", N)

    return exp_pair(f2, *pts.arrays(), order, partner)


def _series(t1: Traits, t2: Traits, f1: Activation, f2: Activation, pts: PairPoints,
            order: int, N: int) -> tuple[Derivs, Array]:
    """Mehler's series with its error estimate; finite for a polynomial unit."""
    m = _mehler(t1, t2, f1, f2, pts, order, N)
    return m.d, mehler_error(t1, t2, f1, f2, pts, m.est, m.scale, N)


def _mehler(t1: Traits, t2: Traits, f1: Activation, f2: Activation, pts: PairPoints,
            order: int, N: int) -> MehlerResult:
    degs = [t.degree for t in (t1, t2) if t.degree is not None]
    if degs:  # the series ends after deg + 1 terms
        return mehler_pair(f1, f2, pts, order, unit_coefficients, N, T=min(degs) + 1,
                           exact=True)
    return mehler_pair(f1, f2, pts, order, unit_coefficients, N)


def _auto_pair(t1: Traits, t2: Traits, f1: Activation, f2: Activation, pts: PairPoints,
               order: int, N: int) -> tuple[Derivs, Array]:
    """Mehler's series; the pairs whose tail estimate exceeds :data:`SERIES_TOL` again by
    the 2-D Gauss–Hermite rule where its a-priori error is below :data:`GH2_TOL` (both
    smooth, small r), else by the conditional rule (both profiled) or, for custom smooth
    activations, by whichever of series and 2-D rule has the smaller error estimate."""
    m = _mehler(t1, t2, f1, f2, pts, order, N)
    d = m.d
    err = mehler_error(t1, t2, f1, f2, pts, m.est, m.scale, N)
    idx = np.flatnonzero(m.est > SERIES_TOL)
    if not idx.size:
        return d, err
    smooth = t1.smooth and t2.smooth
    if smooth:
        gh2 = (gh_error(f1, pts.r1[idx], N) + gh_error(f2, pts.r2[idx], N)) <= GH2_TOL
    else:
        gh2 = np.zeros(len(idx), bool)
    parts = []
    if gh2.any():
        k = idx[gh2]
        parts.append((k, *_gh_pair(t1, t2, f1, f2, pts.take(k), order, N)))
    rest = idx[~gh2]
    if rest.size and t1.profile is not None and t2.profile is not None:
        q = conditional_pair(f1, f2, pts.take(rest), order)
        parts.append((rest, q, np.zeros((rest.size, 3))))
    elif rest.size and smooth:  # custom activations: the better of series and 2-D rule
        q, e2 = _gh_pair(t1, t2, f1, f2, pts.take(rest), order, N)
        take = e2.max(axis=1) < err[rest].max(axis=1)
        parts.append((rest[take], q.take(take), e2[take]))
    for k, q, e in parts:
        d.assign(k, q)
        err[k] = e
    return d, err


# ------------------------------------------------------------------- unit coefficients


def unit_coefficients(f: Activation, r: Array, b: Array, T: int, N: int,
                      order: int) -> RawCoefficients:
    r""":math:`E[f^{(a)}(rz + b)h_n(z)]`, :math:`a = 0, 1, 2` (None beyond ``order``),
    :math:`n < T`, each (T, K), for Mehler's series
    (:class:`~.interface.UnitCoefficients`).

    Per activation: the registered closed form (relu); exact for polynomials; for
    activations with a profile the Gauss–Hermite projection where its a-priori error
    (:func:`~.accuracy.gh_error`) is below :data:`GH_TOL`, else the piecewise rule of
    :func:`~.piecewise.hermite_coefficients` (accurate at any :math:`r`); a Gauss–Legendre
    rule split at the kink for other kinked activations; the Gauss–Hermite projection for
    the rest (custom activations, exp).
    """
    tr = traits(f)
    exact = find_coefficients(f.name) if tr.builtin else None
    if exact is not None:
        return exact(r, b, T)
    if tr.degree is not None:
        return _pad(poly_coefficients(f, r, b, T, order))
    if tr.profile is not None:
        return _profiled_coefficients(f, r, b, T, N, order)
    if not tr.smooth:
        return split_coefficients(f, r, b, T, N, order)
    return projected_coefficients(f, r, b, T, N, order)


def _pad(parts: list[Array]) -> RawCoefficients:
    return parts[0], parts[1] if len(parts) > 1 else None, parts[2] if len(parts) > 2 else None


def _profiled_coefficients(f: Activation, r: Array, b: Array, T: int, N: int,
                           order: int) -> RawCoefficients:
    """The Gauss–Hermite projection where it is accurate, the piecewise rule elsewhere."""
    pw = gh_error(f, r, N) > GH_TOL
    if pw.all():
        return _pad(hermite_coefficients(f, r, b, T, order))
    out = [np.empty((T, len(r))) for _ in range(order + 1)]
    if pw.any():
        for a, v in enumerate(hermite_coefficients(f, r[pw], b[pw], T, order)):
            out[a][:, pw] = v
    gh = ~pw
    for a, c in enumerate(projected_coefficients(f, r[gh], b[gh], T, N, order)):
        if c is not None:
            out[a][:, gh] = c
    return _pad(out)
