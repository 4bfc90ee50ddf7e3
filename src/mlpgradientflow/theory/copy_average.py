r"""Copy-average critical points of erf networks (Şimşek, Bendjeddou, Gerstner, Brea,
NeurIPS 2023).

Setting (spec/methods.md (f)): inputs :math:`x \sim N(0, I_d)`, activation
:math:`\sigma(z) = \mathrm{erf}(z/\sqrt2)` (``"erf"``, alias of ``"sigmoid2"``), no biases,
a teacher :math:`f^*(x) = \sum_{j<k} a^*_j\,\sigma(v_j\cdot x)` with orthonormal
:math:`v_j` (rows of ``V``; the paper: :math:`a^*_j = 1`), a student
:math:`f(x) = \sum_{i<n} a_i\,\sigma(w_i\cdot x)` and the population loss
:math:`L = E[(f - f^*)^2]` (no 1/2), which is :class:`~mlpgradientflow.NetI`'s loss. The
kernel is :math:`E[\sigma(u\cdot x)\sigma(u'\cdot x)] = \frac2\pi
\arcsin\big(u\cdot u'/\sqrt{(1+|u|^2)(1+|u'|^2)}\big)`.

A **copy-average (CA) point** partitions the teacher neurons into groups :math:`G_i`, one
per student neuron, with :math:`w_i = c_i \sum_{j\in G_i} v_j`. Groups are orthogonal and
:math:`\sigma` is odd, so the loss is a sum over groups; with :math:`p = |G_i|` the optimal
scale and output weight are

.. math::

    c^* = \frac{1}{\sqrt{p(2p-1)}}, \qquad a_i = \sum_{j\in G_i} a^*_j,

where both kernel arguments equal :math:`1/(2p)`. A group of one (:math:`p = 1`) is an
exact copy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from .._validation import as_int, check_size, finite_array

__all__ = ["CopyAverage", "loss_erf", "ca_point", "optimal_ca"]


def loss_erf(p):
    r"""Loss of one optimal averaging neuron on a group of ``p`` unit teacher neurons.

    .. math::

        L(p) = \frac p3 - \frac{2p^2}{\pi}\arcsin\frac{1}{2p}

    :math:`L(1) = 0` (a copy); :math:`L(p) = p(\frac13 - \frac1\pi) - \frac{1}{24\pi p}
    + O(p^{-3})`. :math:`L` is strictly concave on :math:`p \ge 1/2`: with :math:`x =
    1/(2p)`, :math:`p^2\arcsin x = \sum_{n\ge0} c_n 2^{-2n-1} p^{1-2n}` with
    :math:`c_n > 0`, a linear term plus convex powers.

    Parameters
    ----------
    p : int or array of int
        Group sizes, >= 1.

    Returns
    -------
    float or ndarray
        Same shape as ``p``.

    Examples
    --------
    >>> float(loss_erf(1)), round(float(loss_erf(2)), 6)
    (0.0, 0.023222)
    >>> loss_erf([1, 3]).round(6)
    array([0.      , 0.040593])
    """
    q = finite_array("p", p)
    if q.dtype.kind == "b":
        raise TypeError(f"argument `p`: group sizes must be integers >= 1, got booleans {p!r}")
    if np.any(q < 1) or np.any(q != np.round(q)):
        raise ValueError(f"argument `p`: group sizes must be integers >= 1, got {p!r}")
    q = q.astype(float)
    # a loss is >= 0; at p = 1 the two terms cancel to a rounding error of either sign
    out = np.maximum(q / 3 - (2 / math.pi) * q**2 * np.arcsin(1 / (2 * q)), 0.0)
    return float(out) if out.ndim == 0 else out


def ca_point(V, a, groups: Sequence[Sequence[int]]) -> np.ndarray:
    r"""Flat parameters of the copy-average point of ``groups``.

    Student neuron :math:`i` gets :math:`w_i = c^*_i \sum_{j\in G_i} v_j` with
    :math:`c^*_i = 1/\sqrt{p_i(2p_i-1)}`, :math:`p_i = |G_i|`, and :math:`a_i =
    \sum_{j\in G_i} a^*_j`, the optimal scale and output weight along that direction.
    The loss is

    .. math::

        L = \sum_i \Big[\frac13 \sum_{j\in G_i} a^{*2}_j
            - \frac2\pi \arcsin\frac{1}{2p_i} \Big(\sum_{j\in G_i} a^*_j\Big)^2\Big],

    which is :math:`\sum_i L(p_i)` (:func:`loss_erf`) for unit teacher weights. The point
    is critical when the teacher weights are equal within each group (the first-order
    terms between groups cancel at :math:`c^*`); otherwise the neuron would tilt toward
    the larger weights and the point is only optimal along the averaging direction.

    Parameters
    ----------
    V : array (k, d)
        Teacher incoming vectors, orthonormal rows.
    a : array (k,)
        Teacher outgoing weights.
    groups : sequence of n sequences of int
        A partition of ``0..k-1``, one non-empty group per student neuron.

    Returns
    -------
    array (n*d + n,)
        Parameters of the student ``[(n, "erf", False), (1, "identity", False)]``:
        :math:`W` row-major, then :math:`a`.

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> V, a = np.eye(3, 4), np.ones(3)
    >>> p = ca_point(V, a, [[0], [1, 2]])
    >>> p[:8].reshape(2, 4).round(4), p[8:]
    (array([[1.    , 0.    , 0.    , 0.    ],
           [0.    , 0.4082, 0.4082, 0.    ]]), array([1., 2.]))
    >>> teacher = mgf.TeacherNet([(3, "erf", False), (1, "identity", False)], din=4,
    ...                          params=mgf.params(V, a[None]))
    >>> neti = mgf.NetI(teacher, [(2, "erf", False), (1, "identity", False)])
    >>> bool(abs(neti.loss(p) - loss_erf(2)) < 1e-12), bool(np.abs(neti.gradient(p)).max() < 1e-12)
    (True, True)
    """
    V = finite_array("V", V, ndim=2, dtype=float)
    k = V.shape[0]
    if np.abs(V @ V.T - np.eye(k)).max() > 1e-10:
        raise ValueError("argument `V`: teacher vectors (rows) must be orthonormal")
    a = finite_array("a", a, ndim=1, dtype=float)
    if a.shape[0] != k:
        raise ValueError(f"argument `a` must have {k} entries (one per row of V), got {a.shape[0]}")
    groups = _check_partition(groups, k)
    sizes = np.array([len(g) for g in groups], float)
    W = np.stack([V[g].sum(axis=0) for g in groups]) / np.sqrt(sizes * (2 * sizes - 1))[:, None]
    return np.concatenate([W.ravel(), [a[g].sum() for g in groups]])


class CopyAverage(NamedTuple):
    """The optimal copy-average configuration: ``groups`` (a partition of the teacher
    neurons, one group per student neuron) and its ``loss``.

    Returned by :func:`optimal_ca`.

    Examples
    --------
    >>> from mlpgradientflow.theory.copy_average import loss_erf, optimal_ca
    >>> ca = optimal_ca(4, 2)              # one copy, one average of the other three
    >>> ca.groups, ca.loss == loss_erf(3)
    ([[0], [1, 2, 3]], True)
    """

    groups: list[list[int]]
    loss: float


def optimal_ca(k: int, n: int) -> CopyAverage:
    r"""The copy-average point of lowest loss for ``k`` unit teacher neurons, ``n`` students.

    The loss :math:`\sum_i L(p_i)` of a partition depends only on the group sizes, with
    :math:`\sum_i p_i = k`, :math:`p_i \ge 1`. :math:`L` is strictly concave
    (:func:`loss_erf`), so the minimum sits at a vertex of that polytope: :math:`n-1`
    students copy one teacher neuron each and the last averages the other
    :math:`k-n+1`,

    .. math::

        L_{CA}(n, k) = L(k - n + 1),

    unique up to permutations of teacher and student neurons (spec/methods.md (f)).

    Parameters
    ----------
    k : int
        Number of teacher neurons (>= 1).
    n : int
        Number of student neurons, ``1 <= n <= k`` (``n = k`` copies all: loss 0).

    Returns
    -------
    CopyAverage
        ``groups = [[0], [1], ..., [n-2], [n-1, ..., k-1]]`` and ``loss``.

    Examples
    --------
    >>> ca = optimal_ca(4, 3)
    >>> ca.groups, round(ca.loss, 6)
    ([[0], [1], [2, 3]], 0.023222)
    """
    k, n = as_int("k", k, 1), as_int("n", n, 1)
    check_size(f"optimal_ca({k}, {n}) (a list of the {k} teacher neurons)", k)
    if n > k:
        raise ValueError(f"argument `n` must be <= k = {k} (a copy-average point), got {n}")
    groups = [[j] for j in range(n - 1)] + [list(range(n - 1, k))]
    return CopyAverage(groups, loss_erf(k - n + 1))


def _check_partition(groups, k: int) -> list[list[int]]:
    if isinstance(groups, str | bytes) or not isinstance(groups, Sequence) or not groups:
        raise TypeError(
            f"argument `groups` must be a non-empty list of index lists, got {groups!r}"
        )
    out = []
    for i, g in enumerate(groups):
        g = np.asarray(g)
        if g.ndim != 1 or g.size == 0 or g.dtype.kind not in "iu":
            raise ValueError(
                f"argument `groups`: group {i} must be a non-empty list of ints, got {groups[i]!r}"
            )
        out.append(g.tolist())
    flat = sorted(j for g in out for j in g)
    if flat != list(range(k)):
        raise ValueError(
            f"argument `groups` must partition the teacher neurons 0..{k - 1} (each exactly once), got {groups!r}"
        )
    return out
