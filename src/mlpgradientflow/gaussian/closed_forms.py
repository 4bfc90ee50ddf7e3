r"""Closed-form Gaussian integrals: the registry and the shared array plumbing.

The closed forms themselves live in :mod:`.closed_forms_erf` (``normal_cdf``,
``sigmoid2`` and their mixed pairs, through the bivariate normal distribution) and
:mod:`.closed_forms_relu` (``relu``). Every function here returns
:class:`~mlpgradientflow.gaussian.bvn.Derivs`:

* one-point functions of ``(r, b)``: ``value`` (n,), ``grad`` (n, 2) in the order
  :math:`(\partial_r, \partial_b)`, ``hess`` (n, 2, 2);
* two-point functions of ``(r1, b1, r2, b2, u)``: ``value`` (n,), ``grad`` (n, 5) in the
  order :math:`(\partial_{r_1}, \partial_{b_1}, \partial_{r_2}, \partial_{b_2},
  \partial_u)`, ``hess`` (n, 5, 5), symmetric, same order.

Entries that ``order`` does not ask for are ``None``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..activations import ACTIVATIONS
from .bvn import Derivs

__all__ = [
    "PAIR_ORDER",
    "ONE_POINT_ORDER",
    "pack_pair",
    "pack_one",
    "fold_diagonal",
    "closed_form_pair",
    "closed_form_one_point",
    "CLOSED_FORM_NAMES",
]

#: argument order of the two-point gradient and Hessian
PAIR_ORDER = ("r1", "b1", "r2", "b2", "u")
#: argument order of the one-point gradient and Hessian
ONE_POINT_ORDER = ("r", "b")

#: the upper triangle of a 5 x 5 matrix, row by row: the order of ``hess`` entries
#: handed to :func:`pack_pair`
_UPPER5 = [(i, j) for i in range(5) for j in range(i, 5)]
#: for each of the 25 entries of the 5 x 5 matrix (row-major), its index in _UPPER5
_FULL5 = np.array([_UPPER5.index((min(i, j), max(i, j))) for i in range(5) for j in range(5)])


def pack_pair(
    value: np.ndarray,
    grad: Sequence[np.ndarray] | None,
    hess: Sequence[np.ndarray] | None,
) -> Derivs:
    """Stack 5 gradient entries and 15 upper-triangular Hessian entries into arrays.

    ``hess`` lists ``(r1r1, r1b1, r1r2, r1b2, r1u, b1b1, b1r2, b1b2, b1u, r2r2, r2b2,
    r2u, b2b2, b2u, uu)``. Both come back C-contiguous, (n, 5) and (n, 5, 5).
    """
    n = value.shape[0]
    g = None if grad is None else np.stack(grad, axis=1)
    h = None
    if hess is not None:
        # one gather (15 -> 25 rows) and one transpose instead of 25 strided writes
        upper = np.stack(hess)
        h = np.ascontiguousarray(upper[_FULL5].T).reshape(n, 5, 5)
    return Derivs(value, g, h)


def pack_one(value, grad, hess) -> Derivs:
    """Stack ``(dr, db)`` and ``(rr, rb, bb)`` into (n, 2) and (n, 2, 2) arrays."""
    g = None if grad is None else np.stack(grad, axis=1)
    h = None
    if hess is not None:
        rr, rb, bb = hess
        h = np.stack([np.stack([rr, rb], axis=1), np.stack([rb, bb], axis=1)], axis=1)
    return Derivs(value, g, h)


def fold_diagonal(d: Derivs) -> Derivs:
    r"""One-point derivatives of :math:`F(r, b, r, b, 1)` from those of a pair function.

    With :math:`r_1 = r_2 = r`, :math:`b_1 = b_2 = b` and :math:`u = 1` fixed:
    :math:`\partial_r = \partial_{r_1} + \partial_{r_2}`,
    :math:`\partial_r^2 = H_{r_1r_1} + 2H_{r_1r_2} + H_{r_2r_2}`, and so on.
    """
    g = h = None
    if d.grad is not None:
        g = np.stack([d.grad[:, 0] + d.grad[:, 2], d.grad[:, 1] + d.grad[:, 3]], axis=1)
    if d.hess is not None:
        # rows/cols (r1, r2) and (b1, b2) summed: S^T H S with S the 5 x 2 selector
        s = np.zeros((5, 2))
        s[0, 0] = s[2, 0] = s[1, 1] = s[3, 1] = 1.0
        h = np.einsum("ia,nij,jb->nab", s, d.hess, s)
    return Derivs(d.value, g, h)


PairFn = Callable[..., Derivs]
OneFn = Callable[..., Derivs]


def _registry():
    from . import closed_forms_erf as ce
    from . import closed_forms_relu as cr

    pairs: dict[tuple[str, str], PairFn] = {("relu", "relu"): cr.relu_pair}
    ones: dict[str, tuple[OneFn, OneFn]] = {"relu": (cr.relu_phi, cr.relu_phiphi)}
    for n1 in ce.ERF_FAMILY:
        ones[n1] = (ce.family_phi(n1), ce.family_phiphi(n1))
        for n2 in ce.ERF_FAMILY:
            pairs[(n1, n2)] = ce.family_pair(n1, n2)
    return pairs, ones


_TABLES: list = []  # filled on first use: the closed-form modules import this one
#: activation names with closed forms
#: the activations that declare closed forms (``Activation.closed_form``)
CLOSED_FORM_NAMES = frozenset(n for n, a in ACTIVATIONS.items() if a.closed_form)


def _tables():
    if not _TABLES:
        _TABLES.extend(_registry())
    return _TABLES


def closed_form_pair(name1: str, name2: str) -> PairFn | None:
    """The closed form ``fn(r1, b1, r2, b2, u, order) -> Derivs`` for a pair, or None."""
    return _tables()[0].get((name1, name2))


def closed_form_one_point(name: str, squared: bool = False) -> OneFn | None:
    r"""The closed form ``fn(r, b, order) -> Derivs`` of :math:`E[f]`
    (:math:`E[f^2]` when ``squared``), or None."""
    fns = _tables()[1].get(name)
    return None if fns is None else fns[int(squared)]
