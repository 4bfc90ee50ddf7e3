r"""One vectorised entry point for the Gaussian one- and two-point expectations.

With :math:`z, z_1, z_2 \sim N(0, 1)` and :math:`\operatorname{corr}(z_1, z_2) = u`:

* :func:`one_point`: :math:`\phi(r, b) = E[f(rz + b)]`, or
  :math:`\phi\phi(r, b) = E[f(rz + b)^2]` with ``squared=True``;
* :func:`two_point`: :math:`\phi\phi(r_1, b_1, r_2, b_2, u) =
  E[f_1(r_1z_1 + b_1)\,f_2(r_2z_2 + b_2)]`.

Both return :class:`~mlpgradientflow.gaussian.Derivs` ``(value, grad, hess)``:

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
the kink for relu and selu; 2-D for pairs, Dirac parts of kinks added). The choices are
made in one place, :mod:`.dispatch`; this module checks the arguments.

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

from typing import Literal, overload

import numpy as np
from numpy.typing import ArrayLike

from ..activations import Activation, get_activation
from . import dispatch
from .interface import Array, Derivs, PairPoints

__all__ = ["one_point", "two_point", "has_closed_form"]


def has_closed_form(f1: str | Activation, f2: str | Activation | None = None) -> bool:
    """Whether :func:`two_point` (or, with one argument, :func:`one_point`) is closed-form.

    Parameters
    ----------
    f1 : str or Activation
        The (first) activation.
    f2 : str or Activation, optional
        The second activation of a pair; omitted for :func:`one_point`.

    Returns
    -------
    bool
        True when the expectations come from a closed form, not a rule: relu,
        normal_cdf and sigmoid2 alone; the pair relu–relu and pairs of normal_cdf and
        sigmoid2 (not relu with either).

    Examples
    --------
    >>> from mlpgradientflow.gaussian import has_closed_form
    >>> has_closed_form("relu"), has_closed_form("relu", "sigmoid2")
    (True, False)
    >>> has_closed_form("sigmoid2", "normal_cdf"), has_closed_form("relu", "tanh")
    (True, False)
    """
    return dispatch.has_closed_form(get_activation(f1),
                                    None if f2 is None else get_activation(f2))


def _vectors(*xs: ArrayLike) -> list[Array]:
    arrs = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in xs))
    return [np.ascontiguousarray(a.reshape(-1)) for a in arrs]


def _check_order(order: int) -> int:
    if order not in (0, 1, 2):
        raise ValueError(f"`order` must be 0, 1 or 2, got {order!r}")
    return int(order)


def _check_method(method: str, allowed: tuple[str, ...]) -> str:
    if method not in allowed:
        raise ValueError(f"`method` must be one of {allowed}, got {method!r}")
    return method


@overload
def one_point(f: str | Activation, r: ArrayLike, b: ArrayLike, order: int = ..., *,
              squared: bool = ..., method: str = ..., N: int = ...,
              return_error: Literal[False] = ...) -> Derivs: ...


@overload
def one_point(f: str | Activation, r: ArrayLike, b: ArrayLike, order: int = ..., *,
              squared: bool = ..., method: str = ..., N: int = ...,
              return_error: Literal[True]) -> tuple[Derivs, Array]: ...


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
) -> Derivs | tuple[Derivs, Array]:
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
    order = _check_order(order)
    method = _check_method(method, dispatch.METHODS_ONE)
    ra, ba = _vectors(r, b)
    d, err = dispatch.one_point(get_activation(f), ra, ba, order, squared, method, N)
    return (d, err) if return_error else d


@overload
def two_point(f1: str | Activation, f2: str | Activation, r1: ArrayLike, b1: ArrayLike,
              r2: ArrayLike, b2: ArrayLike, u: ArrayLike, order: int = ..., *,
              method: str = ..., N: int = ..., return_error: Literal[False] = ...) -> Derivs: ...


@overload
def two_point(f1: str | Activation, f2: str | Activation, r1: ArrayLike, b1: ArrayLike,
              r2: ArrayLike, b2: ArrayLike, u: ArrayLike, order: int = ..., *,
              method: str = ..., N: int = ...,
              return_error: Literal[True]) -> tuple[Derivs, Array]: ...


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
) -> Derivs | tuple[Derivs, Array]:
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
    order = _check_order(order)
    method = _check_method(method, dispatch.METHODS_PAIR)
    g1, g2 = get_activation(f1), get_activation(f2)
    a1, c1, a2, c2, ua = _vectors(r1, b1, r2, b2, u)
    pts = PairPoints(a1, c1, a2, c2, np.clip(ua, -1.0, 1.0))
    d, err = dispatch.two_point(g1, g2, pts, order, method, N)
    return (d, err) if return_error else d
