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
are symmetric.

Methods:

* ``"closed_form"``: ``relu`` x ``relu`` and any pair from {``normal_cdf``, ``sigmoid2``}
  (:mod:`.closed_forms`); one-point: ``relu``, ``normal_cdf``, ``sigmoid2``.
* ``"hermite"``: Mehler's series with Gauss–Hermite coefficients per unit
  (:mod:`.hermite_series`); about 50 times faster than the 2-D rule for many pairs.
* ``"quadrature"``: the 2-D Gauss–Hermite rule with the derivative formulas of
  :mod:`.quadrature_expectations` (the reference's method; Dirac parts of kinks added);
  one-point: 1-D Gauss–Hermite (Gauss–Legendre split at the kink for relu, selu).
* ``"auto"`` (default): the closed form if there is one, else ``"hermite"``; for two
  smooth activations, pairs whose series has not converged within ``N // 2`` terms
  (:math:`|u|` near 1 with slowly decaying coefficients, e.g. tanh with
  :math:`r \gtrsim 1.5`) are recomputed with ``"quadrature"``. With a kink (relu, selu)
  the series is kept: Gauss–Hermite across a kink is less accurate still.

Accuracy (against piecewise quadrature of the defining integrals, ``r`` up to 1.8): closed
forms 1e-14; ``"auto"`` for smooth pairs 1e-13 (up to :math:`r = 3` for softplus and gelu,
:math:`r = 2` for tanh, also at :math:`|u| = 1`); relu or selu with a smooth partner 1e-12
for :math:`|u| \le 0.999`, degrading towards :math:`|u| = 1` where kinked coefficients decay
slowly (relu x tanh, :math:`r = 1.8`, :math:`u = 1 - 10^{-6}`: 7e-10 / 2e-7 / 8e-5 in value /
gradient / Hessian; ``N=1200`` gives 5e-13 / 3e-10 / 2e-7).

Non-finite arguments are not checked here; :math:`u` is clipped to :math:`[-1, 1]`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ..activations import ACTIVATIONS, Activation, get_activation
from .bvn import Derivs
from .closed_forms import closed_form_one_point, closed_form_pair
from .hermite_series import mehler_pair
from .quadrature import default_pair_rule, hermite_rule
from .quadrature_expectations import derivative_jump, empty_pair, quad_one_point, quad_pair

__all__ = ["one_point", "two_point", "has_closed_form"]


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


_METHODS = ("auto", "closed_form", "hermite", "quadrature")


def _check_method(method: str, one: bool) -> str:
    allowed = ("auto", "closed_form", "quadrature") if one else _METHODS
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
) -> Derivs:
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
    method : {"auto", "closed_form", "quadrature"}
        ``"auto"``: the closed form when there is one, else 1-D Gauss–Hermite.
    N : int
        Size of the Gauss–Hermite rule before pruning (see :mod:`.quadrature`).

    Returns
    -------
    Derivs
        ``value`` (n,), ``grad`` (n, 2) as :math:`(\partial_r, \partial_b)`, ``hess``
        (n, 2, 2).

    Examples
    --------
    >>> v, g, h = one_point("relu", [1.0, 2.0], 0.0, squared=True)
    >>> v.tolist(), g[:, 0].tolist(), h[:, 0, 0].tolist()  # r^2/2, r, 1
    ([0.5, 2.0], [1.0, 2.0], [1.0, 1.0])
    """
    order, method = _check_order(order), _check_method(method, True)
    f = get_activation(f)
    r, b = _vectors(r, b)
    fn = closed_form_one_point(f.name, squared) if _builtin(f) else None
    if method == "closed_form" and fn is None:
        raise _no_closed_form(f)
    if fn is not None and method != "quadrature":
        return fn(r, b, order)
    x, w = hermite_rule(N)
    return quad_one_point(f, r, b, order, squared, x, w)


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
) -> Derivs:
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
    method : {"auto", "closed_form", "hermite", "quadrature"}
        See the module docstring (``"hermite"`` alone never falls back).
    N : int
        Size of the 1-D Gauss–Hermite rule before pruning (136 nodes for ``N = 600``).
        ``"hermite"`` uses it for the coefficients and keeps up to ``N // 2`` terms;
        ``"quadrature"`` uses its 136 x 136 rectangle.

    Returns
    -------
    Derivs
        ``value`` (n,); ``grad`` (n, 5) and ``hess`` (n, 5, 5) in the order
        :math:`(r_1, b_1, r_2, b_2, u)`. Swapping :math:`(f_1, r_1, b_1)` with
        :math:`(f_2, r_2, b_2)` permutes ``grad`` and ``hess`` by ``[2, 3, 0, 1, 4]``.

    Examples
    --------
    >>> d = two_point("sigmoid2", "sigmoid2", 1.0, 0.0, 1.0, 0.0, 1.0)
    >>> round(float(d.value[0]), 15)  # (2/pi) asin(1/2) = 1/3
    0.333333333333333
    >>> d.grad.shape, d.hess.shape
    ((1, 5), (1, 5, 5))
    """
    order, method = _check_order(order), _check_method(method, False)
    f1, f2 = get_activation(f1), get_activation(f2)
    r1, b1, r2, b2, u = _vectors(r1, b1, r2, b2, u)
    fn = closed_form_pair(f1.name, f2.name) if _builtin(f1) and _builtin(f2) else None
    if method == "closed_form" and fn is None:
        raise _no_closed_form(f1, f2)
    auto = method == "auto"
    if len(u) == 0:
        return empty_pair(order)
    if auto:
        method = "closed_form" if fn is not None else "hermite"
    if method == "closed_form":
        return fn(r1, b1, r2, b2, u, order)
    if method == "hermite":
        return _hermite(f1, f2, r1, b1, r2, b2, u, order, N, fallback=auto)
    return quad_pair(f1, f2, r1, b1, r2, b2, u, order, default_pair_rule(N))


def _hermite(f1, f2, r1, b1, r2, b2, u, order, N, fallback: bool) -> Derivs:
    """Mehler's series; with ``fallback``, pairs whose series has not converged within
    N/2 terms (|u| near 1 with slowly decaying coefficients) are recomputed on the 2-D
    rule if both activations are smooth; across a kink Gauss–Hermite is worse than even
    the truncated series (selu x relu at u = 0.99: errors 1e-4/1e-2/4e-2 in value,
    gradient, Hessian against 6e-8/2e-5/6e-3)."""
    d, bad = mehler_pair(f1, f2, r1, b1, r2, b2, u, order, N)
    if not (fallback and bad.any()) or derivative_jump(f1) or derivative_jump(f2):
        return d
    q = quad_pair(f1, f2, r1[bad], b1[bad], r2[bad], b2[bad], u[bad], order,
                  default_pair_rule(N))
    for mine, theirs in zip(d, q, strict=True):
        if mine is not None:
            mine[bad] = theirs
    return d
