r"""Permutation points and saddles (Brea, Şimşek, Illing & Gerstner 2019, arXiv 1907.02911).

Swapping two neurons :math:`i, j` of a hidden layer maps a minimum :math:`\theta` to an
equivalent one, :math:`P_{ij}\theta`. Paths between the two pass through *permutation
points*, where the two neurons collide: equal incoming vectors and equal outgoing vectors.
Such a point is the narrower network (one neuron fewer) embedded by splitting one neuron
with :math:`\gamma = \frac12`. Built from a critical point of the narrower network it is a
critical point; shifting outgoing weight :math:`\delta` from :math:`j` to :math:`i` leaves
the loss unchanged (one flat direction per unit of the next layer: the *equal-loss
valley*), and some permutation points are first-order saddles (exactly one negative Hessian
eigenvalue).

A *K-th order* permutation point has :math:`K` disjoint colliding pairs in one layer; in a
layer of :math:`n` neurons there are :math:`n!\binom{n-K}{K}/2^K` of them per reduced
critical point (:func:`permutation_point_count`).

Examples
--------
>>> import numpy as np
>>> import mlpgradientflow as mgf
>>> from mlpgradientflow.theory.saddles import permutation_point
>>> X = np.random.default_rng(0).standard_normal((200, 2))
>>> teacher = mgf.TeacherNet([(3, "g", True), (1, "identity", True)], din=2, rng=1)
>>> net = mgf.Net([(3, "g", True), (1, "identity", True)], input=X, target=teacher(X))
>>> p_min = teacher.params                      # a global minimum (zero loss)
>>> pp = permutation_point(net, p_min, 0, 1)
>>> bool(pp.gnorm < 1e-10), pp.loss > 0, pp.morse_index.n_negative >= 1
(True, True, True)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .._validation import as_int, as_real
from ..derivatives import hessian_spectrum
from ..endstate.morse import MorseCounts, morse_index
from ..landscape.surgery import _hidden, _neuron_index, merge_neurons, shrink_net, split_neuron
from ..records import Record
from ..training import DEFAULTS, TrainOptions, TrainResult, train

__all__ = ["PermutationPoint", "permutation_point", "kth_order_point", "permutation_point_count"]

#: the widest layer :func:`permutation_point_count` counts for (width! has 450k digits)
MAX_COUNT_WIDTH = 10**5

#: ``train`` options used to re-optimise the reduced network (the package defaults, quiet,
#: to ``min_gnorm=1e-13``); ``train_options`` update them
DEFAULT_TRAIN_OPTIONS = DEFAULTS.replace(min_gnorm=1e-13, verbosity=0)


@dataclass(frozen=True, eq=False)
class PermutationPoint(Record):
    """A (K-th order) permutation point and its valley.

    Returned by :func:`kth_order_point` and :func:`permutation_point` (the keys are
    explained there).

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> from mlpgradientflow.theory.saddles import permutation_point
    >>> X = np.random.default_rng(0).standard_normal((100, 1))
    >>> net = mgf.Net([(2, "tanh", False), (1, "identity", False)], input=X, target=np.sin(X))
    >>> pp = permutation_point(net, np.array([1.0, -0.5, 1.0, 0.3]), 0, 1)
    >>> list(pp)
    ['p', 'loss', 'gnorm', 'morse_index', 'evals', 'valley', 'gamma', 'pairs', 'reduced',
     'reduced_net']
    >>> M1 = pp.reduced_net.unflatten(pp.reduced.x)[0]     # the merged neuron, split in two
    >>> bool(np.allclose(net.unflatten(pp.p)[0], np.vstack([M1, M1])))
    True
    """

    p: np.ndarray
    loss: float
    gnorm: float
    morse_index: MorseCounts
    evals: np.ndarray
    valley: np.ndarray
    gamma: np.ndarray
    pairs: list
    reduced: TrainResult
    reduced_net: object


def permutation_point(
    net,
    p_min,
    i: int,
    j: int,
    *,
    layer: int = 0,
    gamma: float = 0.5,
    train_options: dict | None = None,
    morse_tol: float = 1e-9,
) -> PermutationPoint:
    r"""The permutation point on the path from ``p_min`` to its copy with ``i``, ``j`` swapped.

    Following Brea et al. (2019): merge neurons ``i`` and ``j`` of ``p_min`` (average the
    incoming vectors, sum the outgoing ones), re-optimise the reduced network to a
    critical point :math:`\theta^*` with :func:`~mlpgradientflow.train`, then split the
    merged neuron back into ``i`` and ``j`` with outgoing weights :math:`\gamma a^*` and
    :math:`(1-\gamma) a^*`. All other neurons keep their positions, so the point lives in
    the parameter space of ``net``. The loss equals the reduced network's loss
    :math:`L(\theta^*)` for every :math:`\gamma`: the point moves along the equal-loss
    valley

    .. math::

        \frac{dp}{d\gamma} = (a^* \text{ at the outgoing weights of } i,
        \; -a^* \text{ at those of } j).

    This is :func:`kth_order_point` with one pair; see there for the returned keys.
    Here ``valley`` has shape ``(P,)``.

    Parameters
    ----------
    net : Net or NetI
        The network.
    p_min : array, shape (P,)
        Usually a minimum of ``net``.
    i, j : int
        The two neurons of hidden layer ``layer`` that collide.
    layer : int, optional
        Hidden layer (0-based).
    gamma : float, optional
        Split ratio (default ½).
    train_options : dict, optional
        :func:`~mlpgradientflow.train` keywords for the reduced network.
    morse_tol : float, optional
        Relative tolerance of the Morse counts.

    Returns
    -------
    PermutationPoint
        As :func:`kth_order_point`, with ``valley`` of shape (P,).

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> X = np.random.default_rng(0).standard_normal((100, 1))
    >>> net = mgf.Net([(2, "tanh", False), (1, "identity", False)], input=X, target=np.sin(X))
    >>> pp = permutation_point(net, np.array([1.0, -0.5, 1.0, 0.3]), 0, 1)
    >>> pp.p.shape, pp.valley.shape, bool(pp.gnorm < 1e-10)
    ((4,), (4,), True)
    """
    out = kth_order_point(
        net,
        p_min,
        [(i, j)],
        layer=layer,
        gamma=gamma,
        train_options=train_options,
        morse_tol=morse_tol,
    )
    return dataclasses.replace(out, valley=out.valley[0])


def kth_order_point(
    net,
    p_min,
    pairs,
    *,
    layer: int = 0,
    gamma=0.5,
    train_options: dict | None = None,
    morse_tol: float = 1e-9,
) -> PermutationPoint:
    r"""A K-th order permutation point: K disjoint pairs of neurons collide.

    Each pair :math:`(i_k, j_k)` of ``p_min`` is merged, the network with :math:`K`
    neurons fewer is re-optimised to a critical point :math:`\theta^*`, and each merged
    neuron is split back into :math:`i_k, j_k` with outgoing weights
    :math:`\gamma_k a^*_k` and :math:`(1-\gamma_k) a^*_k`. The result is a critical point
    of ``net`` (up to the reduced gradient) with loss :math:`L(\theta^*)` along a
    K-dimensional equal-loss valley spanned by the unit vectors

    .. math::

        v_k \propto \partial p / \partial\gamma_k = a^*_k \otimes (e_{i_k} - e_{j_k})

    (non-zero only at the outgoing weights of :math:`i_k` and :math:`j_k`). For every
    :math:`t_k`, the loss at :math:`p + \sum_k t_k v_k` equals :math:`L(\theta^*)`
    (valid for every real :math:`\gamma`, not just :math:`[0, 1]`). When
    :math:`a^*_k = 0`, :math:`\gamma_k` does not move the point and :math:`v_k` is the
    (still flat) shift :math:`e_{i_k} - e_{j_k}` of the first outgoing weight, normalised.

    Parameters
    ----------
    net : Net or NetI
    p_min : array, shape (net.nparams,)
        Usually a minimum of ``net``; any point is accepted.
    pairs : sequence of (int, int)
        K >= 1 disjoint pairs of neurons of hidden layer ``layer``.
    layer : int
        Hidden layer (0-based).
    gamma : float or sequence of K floats
        Split ratios (default ½: the colliding, permutation-symmetric point).
    train_options : dict, optional
        Keyword arguments of :func:`~mlpgradientflow.train` for the reduced network,
        updating :data:`DEFAULT_TRAIN_OPTIONS` (the package's count budgets,
        ``min_gnorm=1e-13``, silent).
    morse_tol : float
        Relative tolerance of :func:`~mlpgradientflow.landscape.morse_index`.

    Returns
    -------
    PermutationPoint
        ``p`` (P,): the point; ``loss``; ``gnorm``: :math:`\|\nabla L(p)\|_\infty`;
        ``morse_index``: counts of negative, near-zero and positive Hessian eigenvalues;
        ``evals``: the Hessian spectrum (ascending); ``valley`` (K, P): orthonormal rows
        :math:`v_k`; ``gamma`` (K,); ``pairs``; ``reduced``: the
        :class:`~mlpgradientflow.TrainResult` of the reduced network; ``reduced_net``.

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> X = np.random.default_rng(0).standard_normal((100, 1))
    >>> net = mgf.Net([(4, "tanh", False), (1, "identity", False)], input=X, target=np.sin(X))
    >>> pp = kth_order_point(net, net.random_params(0), [(0, 2), (1, 3)])
    >>> pp.reduced_net.layers[0].width, pp.valley.shape
    (2, (2, 8))
    """
    layer, (_, _, acts) = _hidden(net, p_min, layer)
    pairs = _check_pairs(pairs, len(acts))
    gammas = _check_gammas(gamma, len(pairs))
    as_real("morse_tol", morse_tol, minimum=0.0)
    if train_options is not None and not isinstance(train_options, Mapping):
        raise TypeError(
            f"argument `train_options` must be a dict of train options, got {train_options!r}"
        )
    options = TrainOptions.make(DEFAULT_TRAIN_OPTIONS, **(train_options or {}))

    # groups[m] lists the neurons of `net` that position m of the current network stands for
    groups = [[m] for m in range(len(acts))]
    reduced_net, q = net, net.check_params(p_min)
    for i, j in pairs:
        a, b = _position(groups, i), _position(groups, j)
        reduced_net, q = merge_neurons(reduced_net, q, a, b, layer)
        groups[min(a, b)] = [i, j]
        del groups[max(a, b)]
    res = train(reduced_net, q, options)

    wide, p = reduced_net, res.x
    for (i, j), g in zip(pairs, gammas):
        m = _position(groups, i)
        wide, p = split_neuron(wide, p, m, g, layer)
        groups[m : m + 1] = [[i], [j]]
    order = [_position(groups, m) for m in range(len(acts))]
    _, p = shrink_net(wide, p, order, layer)

    loss, grad = net.fg(p)
    evals, _ = hessian_spectrum(net, p)
    return PermutationPoint(
        p=p, loss=float(loss), gnorm=float(np.abs(grad).max()),
        morse_index=morse_index(evals, morse_tol), evals=evals,
        valley=np.stack([_valley(net, p, layer, i, j) for i, j in pairs]), gamma=gammas,
        pairs=pairs, reduced=res, reduced_net=reduced_net)


def permutation_point_count(width: int, order: int = 1) -> int:
    r"""Number of K-th order permutation points of one layer per reduced configuration.

    A layer of :math:`n` neurons whose reduced network (:math:`n-K` distinct neurons) is
    fixed has

    .. math::

        n!\, \binom{n-K}{K} \big/ 2^K

    K-th order permutation points: choose the :math:`K` duplicated neurons among the
    :math:`n-K`, then arrange the :math:`n` neurons, :math:`K` pairs of them identical.
    Relative to the :math:`n!` equivalent minima this is the paper's factor
    :math:`\binom{n-K}{K}/2^K` (Brea et al. 2019, one layer).

    Parameters
    ----------
    width : int
        Neurons :math:`n` of the layer (at most :data:`MAX_COUNT_WIDTH`).
    order : int, optional
        :math:`K`, the number of colliding pairs (default 1).

    Returns
    -------
    int
        The exact count (0 when :math:`2K > n`).

    Examples
    --------
    >>> from mlpgradientflow.theory.saddles import permutation_point_count
    >>> permutation_point_count(4), permutation_point_count(4, 2)
    (36, 6)
    """
    width = as_int("width", width, 1, MAX_COUNT_WIDTH)
    order = as_int("order", order, 1)
    return math.factorial(width) * math.comb(width - order, order) // 2**order


# -- helpers --------------------------------------------------------------------------------


def _valley(net, p, layer, i, j) -> np.ndarray:
    v = np.zeros(net.nparams)
    A = net.unflatten(p)[layer + 1]
    V = net.unflatten(v)[layer + 1]
    a_star = A[:, i] + A[:, j]
    if not a_star.any():
        a_star = np.eye(A.shape[0])[0]
    V[:, i], V[:, j] = a_star, -a_star
    return v / np.linalg.norm(v)


def _position(groups, neuron) -> int:
    return next(m for m, g in enumerate(groups) if neuron in g)


def _check_pairs(pairs, k) -> list[tuple[int, int]]:
    if isinstance(pairs, str | bytes) or not isinstance(pairs, Sequence | np.ndarray):
        raise TypeError(f"argument `pairs` must be a sequence of (i, j) pairs, got {pairs!r}")
    out = []
    for pair in pairs:
        if (
            isinstance(pair, str | bytes)
            or not isinstance(pair, Sequence | np.ndarray)
            or len(pair) != 2
        ):
            raise TypeError(f"argument `pairs`: each entry must be a pair (i, j), got {pair!r}")
        out.append((_neuron_index("pairs", pair[0], k), _neuron_index("pairs", pair[1], k)))
    flat = [m for pair in out for m in pair]
    if not out or len(set(flat)) != len(flat):
        raise ValueError(
            f"argument `pairs` must hold at least one pair of neurons, all "
            f"different (disjoint pairs), got {pairs!r}"
        )
    return out


def _check_gammas(gamma, n) -> np.ndarray:
    try:
        g = np.asarray(gamma, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(f"argument `gamma` must be a number or {n} numbers, got {gamma!r}") from err
    if g.ndim > 1 or (g.ndim == 1 and g.shape[0] != n):
        raise ValueError(
            f"argument `gamma` must be a number or {n} numbers (one per pair), got shape {g.shape}"
        )
    if not np.isfinite(g).all():
        raise ValueError(f"argument `gamma` must be finite, got {gamma!r}")
    return np.broadcast_to(g, (n,)).copy()
