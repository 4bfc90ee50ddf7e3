r"""Symmetry-induced critical subspaces of two-layer networks (Şimşek et al., ICML 2021).

A width-:math:`r` network :math:`f(x) = \sum_{j<r} a_j\,\sigma(w_j\cdot x + b_j) + c` with
distinct, nonzero neurons (irreducible) is embedded into width :math:`m \ge r` by giving each
of the :math:`m` neurons a label:

* a **source** :math:`j \in \{0, \dots, r-1\}`: the neuron copies :math:`(w_j, b_j)` and
  receives a share of :math:`a_j`; the shares of the copies of :math:`j` sum to :math:`a_j`;
* **zero-type** (:data:`ZERO` = -1): outgoing weight 0, incoming vector and bias free;
* **inactive** (:data:`INACTIVE` = -2): incoming vector and outgoing weight 0 (the bias 0,
  or free when the next layer has a bias).

Every source must be used, so the wide network computes the same function. One labeling is
one affine subspace of the wide parameter space; labelings are counted as they are (neuron
positions are distinguishable), which is the convention of the paper's counts.

* :math:`T(r^*, m)`: the subspaces forming the manifold of global minima of a zero-loss
  width-:math:`r^*` point. Zero-type neurons are allowed (at zero loss the residual
  vanishes, so a free incoming vector costs nothing):
  :math:`T(r^*, m) = \sum_{k=r^*}^{m} \binom{m}{k}\, r^*!\, S(k, r^*) = r^*!\, S(m+1, r^*+1)`.
* :math:`G(r, m)`: the symmetry-induced critical subspaces from a critical point of width
  :math:`r < r^*` (loss > 0). A zero-type neuron is not critical there
  (:math:`\partial L/\partial a = E[\text{res}\,\sigma(w\cdot x + b)] \neq 0` for generic
  :math:`w`), so only replications and permutations remain:
  :math:`G(r, m) = r!\, S(m, r)`, the surjections from :math:`m` neurons onto :math:`r`.

:math:`S` is the Stirling number of the second kind. Convention choices (spec/methods.md
(d), where the paper body could not be read): :math:`G` excludes zero-type neurons (with
them it would be :math:`r!\,S(m+1, r+1) = T(r, m)`); checks: :math:`T(r^*, r^*+1) =
(r^*+2)!/2` and :math:`G(n-1, n) = n!(n-1)/2`, the count of first-order permutation points
(Brea et al. 2019).

**All symmetry-induced critical subspaces** (:func:`n_critical_subspaces`). :math:`G`
undercounts for many activations: an inactive neuron is critical at *every* critical point
when :math:`\sigma(0) = 0` (tanh, relu, erf, ...): the neuron's output is 0, so
:math:`\partial L/\partial a = E[\text{res}\,\sigma(0)] = 0`, and every other derivative
through it carries the factor :math:`a = 0`. With a bias in the next layer it is critical
for any :math:`\sigma` and any bias :math:`b` of its own: :math:`\partial L/\partial a =
\sigma(b)\,E[\text{res}] = 0` because the next layer's bias is itself critical. Labels
in :math:`\{\text{inactive}, 0, \dots, r-1\}` using every source count
:math:`r!\,S(m+1, r+1)` subspaces (for tanh, :math:`r = 2`, :math:`m = 4`: 50 where
:math:`G = 14`). Each hidden layer is expanded independently, so for several hidden layers
the count is the product over the layers (same assumptions per layer: the point is
irreducible in every layer).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from functools import lru_cache

import numpy as np

from .._validation import as_rng
from ..activations import get_activation
from ..gaussian.neti import NetI
from ..net import Net

__all__ = [
    "ZERO",
    "stirling2",
    "n_global_min_subspaces",
    "n_saddle_subspaces",
    "n_critical_subspaces",
    "inactive_neurons_critical",
    "enumerate_subspaces",
    "expand",
    "INACTIVE",
]

#: label of a zero-type neuron in an assignment (outgoing weight 0, incoming vector free)
ZERO = -1
#: label of an inactive neuron (incoming vector and outgoing weight 0)
INACTIVE = -2
#: the most big-integer additions a Stirling number may cost, ``n * min(n, k)`` (about 1 s)
MAX_STIRLING_WORK = 2 * 10**6


def _count(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"argument `{name}` must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"argument `{name}` must be >= {minimum}, got {value}")
    return int(value)


def stirling2(n: int, k: int) -> int:
    r"""Stirling number of the second kind :math:`S(n, k)`, exact.

    The number of partitions of :math:`n` labelled items into :math:`k` non-empty blocks,
    from :math:`S(n, k) = k\,S(n-1, k) + S(n-1, k-1)`, :math:`S(0, 0) = 1`.

    Parameters
    ----------
    n, k : int
        Non-negative.

    Returns
    -------
    int
        A Python int (no overflow).

    Examples
    --------
    >>> stirling2(5, 2), stirling2(10, 5), stirling2(3, 0)
    (15, 42525, 0)
    """
    n, k = _count("n", n, 0), _count("k", k, 0)
    return _stirling2(n, k, f"stirling2({n}, {k})")


@lru_cache(maxsize=4096)
def _stirling2(n: int, k: int, call: str = "") -> int:
    """S(n, k); ``call`` names the public call in the error for too large arguments."""
    if k > n:
        return 0
    if n * min(n, k) > MAX_STIRLING_WORK:
        raise ValueError(
            f"{call} needs S({n}, {k}), about {n * min(n, k):.2g} big-integer additions (more "
            f"than MAX_STIRLING_WORK = {MAX_STIRLING_WORK:.0e}, about a second): a number with "
            "thousands of digits; ask for smaller widths"
        )
    row = [1] + [0] * k  # S(0, j) for j = 0..k, then updated in place row by row
    for i in range(1, n + 1):
        for j in range(min(i, k), 0, -1):
            row[j] = j * row[j] + row[j - 1]
        row[0] = 0
    return row[k]


def n_global_min_subspaces(r_star: int, m: int) -> int:
    r"""Number :math:`T(r^*, m)` of affine subspaces forming the global-minimum manifold.

    .. math::

        T(r^*, m) = \sum_{k=r^*}^{m} \binom{m}{k}\, r^*!\, S(k, r^*) = r^*!\, S(m+1, r^*+1)

    (choose the :math:`m - k` zero-type neurons, map the other :math:`k` onto the
    :math:`r^*` sources). 0 when :math:`m < r^*`.

    Parameters
    ----------
    r_star : int
        Minimal width reaching zero loss (>= 1).
    m : int
        Width of the overparameterised network (>= 1).

    Returns
    -------
    int

    Examples
    --------
    >>> n_global_min_subspaces(1, 2), n_global_min_subspaces(2, 3), n_global_min_subspaces(3, 3)
    (3, 12, 6)
    """
    r_star, m = _count("r_star", r_star, 1), _count("m", m, 1)
    s = _stirling2(m + 1, r_star + 1, f"n_global_min_subspaces({r_star}, {m})")
    return math.factorial(r_star) * s


def n_saddle_subspaces(r: int, m: int) -> int:
    r"""Number :math:`G(r, m) = r!\, S(m, r)` of symmetry-induced critical subspaces.

    The subspaces of width :math:`m` that contain a critical point of width :math:`r`
    (replications and permutations, no zero-type neuron; see the module notes). 0 when
    :math:`m < r`.

    Parameters
    ----------
    r : int
        Width of the critical point (>= 1).
    m : int
        Width of the network (>= 1).

    Returns
    -------
    int

    Examples
    --------
    >>> n_saddle_subspaces(1, 4), n_saddle_subspaces(2, 3), n_saddle_subspaces(3, 4)
    (1, 6, 36)
    """
    r, m = _count("r", r, 1), _count("m", m, 1)
    return math.factorial(r) * _stirling2(m, r, f"n_saddle_subspaces({r}, {m})")


def n_critical_subspaces(r, m, *, inactive: bool = True) -> int:
    r"""Number of all symmetry-induced critical subspaces of width ``m`` from a critical
    point of width ``r`` (loss > 0), inactive neurons included.

    .. math::

        \#(r, m) = r!\, S(m+1, r+1) \quad\text{(inactive neurons critical)}, \qquad
        r!\, S(m, r) = G(r, m) \quad\text{(not)}

    (labels in {inactive, 0..r-1} using every source; see the module notes for when an
    inactive neuron is critical: :func:`inactive_neurons_critical`). For several hidden
    layers give ``r`` and ``m`` as sequences, one entry per hidden layer: the count is the
    product of the layers' counts.

    Parameters
    ----------
    r, m : int or sequence of int
        Width(s) of the critical point and of the expanded network.
    inactive : bool
        Whether inactive neurons are critical for this network (True for
        :math:`\sigma(0) = 0` or a bias in the next layer).

    Returns
    -------
    int

    Examples
    --------
    >>> n_critical_subspaces(2, 4), n_critical_subspaces(2, 4, inactive=False)
    (50, 14)
    >>> n_critical_subspaces((2, 1), (3, 2))    # two hidden layers: 12 * 3
    36
    """
    rs = [r] if isinstance(r, int | np.integer) else list(r)
    ms = [m] if isinstance(m, int | np.integer) else list(m)
    if len(rs) != len(ms) or not rs:
        raise ValueError(f"arguments `r` and `m` need one width per hidden layer, got {r!r} "
                         f"and {m!r}")
    total = 1
    for rl, ml in zip(rs, ms):
        rl, ml = _count("r", rl, 1), _count("m", ml, 1)
        total *= (math.factorial(rl) * _stirling2(ml + 1, rl + 1, "n_critical_subspaces")
                  if inactive else n_saddle_subspaces(rl, ml))
    return total


def inactive_neurons_critical(net, layer: int = 0) -> bool:
    r"""Whether an inactive neuron of hidden layer ``layer`` keeps every critical point of
    ``net`` critical: :math:`\sigma(0) = 0` for the layer's activation(s), or the next
    layer has a bias (see the module notes).

    Parameters
    ----------
    net : Net or NetI
        The network.
    layer : int, optional
        A hidden layer, 0-based (default 0).

    Returns
    -------
    bool
        True when the gradient of an inactive neuron's outgoing weights,
        :math:`\sigma(b)\,E[\partial\ell/\partial h_{next}]`, vanishes at every critical
        point: :math:`\sigma(0) = 0` (with :math:`b = 0`), or a next-layer bias, whose own
        criticality makes :math:`E[\partial\ell/\partial h_{next}] = 0`.

    Examples
    --------
    >>> import mlpgradientflow as mgf
    >>> from mlpgradientflow.theory.symmetry import inactive_neurons_critical
    >>> inactive_neurons_critical(mgf.Net([(2, "tanh", False), (1, "identity", False)], din=1))
    True
    >>> inactive_neurons_critical(mgf.Net([(2, "softplus", False), (1, "identity", False)], din=1))
    False
    """
    if not isinstance(net, Net | NetI) or not 0 <= layer < len(net.layers) - 1:
        raise ValueError(f"argument `layer` must be a hidden layer of `net`, got {layer!r}")
    if net.layers[layer + 1].bias:
        return True
    act = net.layers[layer].activation
    acts = act if isinstance(act, tuple) else (act,)
    return all(float(np.asarray(get_activation(a)(np.zeros(1))).ravel()[0]) == 0.0 for a in acts)


def enumerate_subspaces(r: int, m: int, *, zero_neurons: bool = True,
                        inactive: bool = False) -> Iterator[tuple[int, ...]]:
    r"""Every affine subspace of width ``m`` built from an irreducible width-``r`` point.

    Each subspace is yielded as an **assignment**: a tuple of ``m`` labels, entry ``i``
    being the source neuron (``0..r-1``) that neuron ``i`` copies, or :data:`ZERO` (-1) for
    a zero-type neuron. Every source appears at least once. The outgoing weights of the
    copies of source :math:`j` range over :math:`\{\sum_{i: s_i = j} a_i = a_j\}` (see
    :func:`expand`). Lexicographic order, zero-type first.

    Parameters
    ----------
    r : int
        Width of the source point (>= 1).
    m : int
        Width of the expanded network (>= 1).
    zero_neurons : bool
        Allow zero-type neurons: True gives the :math:`T(r, m)` subspaces of a zero-loss
        point (:func:`n_global_min_subspaces`), False the :math:`G(r, m)` subspaces of a
        critical point with loss > 0 (:func:`n_saddle_subspaces`).
    inactive : bool
        Allow inactive neurons (:data:`INACTIVE`, label -2; with ``zero_neurons=False``:
        the :func:`n_critical_subspaces` subspaces).

    Yields
    ------
    tuple of int, length m

    Examples
    --------
    >>> list(enumerate_subspaces(1, 2))
    [(-1, 0), (0, -1), (0, 0)]
    >>> list(enumerate_subspaces(2, 3, zero_neurons=False))[:3]
    [(0, 0, 1), (0, 1, 0), (0, 1, 1)]
    >>> list(enumerate_subspaces(1, 2, zero_neurons=False, inactive=True))
    [(-2, 0), (0, -2), (0, 0)]
    """
    r, m = _count("r", r, 1), _count("m", m, 1)
    labels = [INACTIVE] * inactive + [ZERO] * zero_neurons + list(range(r))
    return _assignments(r, m, labels)


def _assignments(r: int, m: int, labels: list[int]) -> Iterator[tuple[int, ...]]:
    """Depth-first, without recursion (any ``m``): every length-``m`` tuple over ``labels``
    using each source ``0..r-1`` at least once, in lexicographic order of ``labels``."""
    counts = [0] * r
    prefix: list[int] = []
    tried = [0]  # per depth: the position in `labels` to try next
    uncovered = r  # sources not used yet

    def undo() -> None:
        nonlocal uncovered
        s = prefix.pop()
        if s >= 0:
            counts[s] -= 1
            uncovered += counts[s] == 0

    while tried:
        if len(prefix) == m:
            yield tuple(prefix)
            tried.pop()
            undo()
            continue
        left, pos = m - len(prefix), tried[-1]
        while pos < len(labels) and (
            uncovered - (labels[pos] >= 0 and counts[labels[pos]] == 0) > left - 1
        ):  # too few positions left to use every source
            pos += 1
        if pos == len(labels):
            tried.pop()
            if prefix:
                undo()
            continue
        tried[-1] = pos + 1
        s = labels[pos]
        prefix.append(s)
        if s >= 0:
            uncovered -= counts[s] == 0
            counts[s] += 1
        tried.append(0)


def expand(net, p, m: int, assignment: Sequence[int], rng=None, *, layer: int = 0):
    r"""Place a width-``m`` network on the subspace ``assignment`` of a width-``r`` point.

    For hidden layer ``layer`` with incoming rows :math:`\tilde w_j = (w_j, b_j)` and
    outgoing columns :math:`a_j \in \mathbb{R}^{D_{out}}`, neuron :math:`i` of the wide
    net gets

    .. math::

        \tilde w_i = \tilde w_{s_i},\quad a_i = \gamma_i\, a_{s_i}
        \quad (s_i \ge 0), \qquad
        \tilde w_i \sim N(0, I),\quad a_i = 0 \quad (s_i = -1), \qquad
        w_i = 0,\quad a_i = 0 \quad (s_i = -2),

    with split fractions :math:`\gamma_i \in \mathbb{R}` summing to 1 over the copies of
    each source: :math:`\gamma_i = 1/n_j + z_i - \bar z`, :math:`z_i \sim N(0, 1)`, over
    the :math:`n_j` copies of source :math:`j` (a single copy gets :math:`\gamma = 1`).
    One fraction for all of a copy's outgoing weights: fractions per next-layer neuron
    would keep the function but not criticality (the copy's incoming gradient is then
    :math:`\sum_k \gamma_{ik} a_{kj} E[\delta_k \sigma' x]`, not :math:`\gamma_i` times
    the source's, which is 0) once the next layer has more than one neuron. An inactive neuron's bias is 0, or drawn from
    :math:`N(0, 1)` when the next layer has a bias (then it is free). The next layer's bias
    is kept. The wide net computes the same function as ``net``, so it has the same loss;
    it is a critical point when ``p`` is one and the assignment has no zero-type neuron
    (unless ``p`` has zero loss) and inactive neurons only where
    :func:`inactive_neurons_critical`. The counts of the module assume ``p`` irreducible;
    that is not checked.

    Parameters
    ----------
    net : Net or NetI
        Any number of hidden layers (one activation for the expanded layer).
    p : array (net.nparams,)
        The width-``r`` point.
    m : int
        Width of the expanded network (>= r).
    assignment : sequence of int, length m
        Source label of each new neuron (see :func:`enumerate_subspaces`); every source
        ``0..r-1`` must appear.
    rng : int or numpy.random.Generator, optional
        Draws the free parameters (split fractions, zero-type incoming vectors).
    layer : int
        The hidden layer to expand (0-based).

    Returns
    -------
    wide_net : Net or NetI
        Same kind, activation, biases and data (or teacher) as ``net``, width ``m``.
    p_wide : array (wide_net.nparams,)

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> X = np.random.default_rng(0).standard_normal((50, 2))
    >>> net = mgf.Net([(2, "tanh", True), (1, "identity", True)], input=X, target=X[:, :1])
    >>> p = net.random_params(rng=1)
    >>> wide, pw = expand(net, p, 4, (1, -1, 0, 1), rng=2)
    >>> wide.nparams, bool(np.allclose(wide(pw), net(p), rtol=0, atol=1e-14))
    (17, True)
    """
    hidden, out = _check_net(net, layer)
    r = hidden.width
    m = _count("m", m, r)
    s = _check_assignment(assignment, r, m)
    Ms = net.unflatten(net.check_params(p))
    M1, M2 = Ms[layer], Ms[layer + 1]
    rng = as_rng(rng)

    W1 = np.zeros((m, M1.shape[1]))
    W2 = np.zeros((M2.shape[0], m + int(out.bias)))
    W2[:, m:] = M2[:, r:]
    zero = np.flatnonzero(s == ZERO)
    W1[zero] = rng.standard_normal((zero.size, M1.shape[1]))
    off = np.flatnonzero(s == INACTIVE)
    if hidden.bias and out.bias:  # the inactive neuron's bias is free
        W1[off, -1] = rng.standard_normal(off.size)
    for j in range(r):
        copies = np.flatnonzero(s == j)
        z = rng.standard_normal((copies.size, 1))
        gamma = 1.0 / copies.size + z - z.mean(axis=0)
        W1[copies] = M1[j]
        W2[:, copies] = (gamma * M2[:, j]).T

    layers = [lay.spec() for lay in net.layers]
    layers[layer] = (m, hidden.activation, hidden.bias)
    blocks = Ms[:layer] + [W1, W2] + Ms[layer + 2:]
    return net.with_layers(layers), np.concatenate([B.ravel() for B in blocks])


def _check_net(net, layer: int = 0):
    if not isinstance(net, Net | NetI):
        raise TypeError(f"argument `net` must be a Net or NetI, got {type(net).__name__}")
    n_hidden = len(net.layers) - 1
    if n_hidden < 1:
        raise ValueError("argument `net`: expand needs a hidden layer, got none")
    if isinstance(layer, bool) or not isinstance(layer, int | np.integer) or not 0 <= layer < n_hidden:
        raise ValueError(f"argument `layer` must be a hidden layer, 0..{n_hidden - 1}, got {layer!r}")
    if isinstance(net.layers[layer].activation, tuple):
        raise ValueError("argument `net`: per-neuron activations are not supported by expand")
    return net.layers[layer], net.layers[layer + 1]


def _check_assignment(assignment, r: int, m: int) -> np.ndarray:
    s = np.asarray(assignment)
    if s.ndim != 1 or s.shape[0] != m or s.dtype.kind not in "iu":
        raise ValueError(
            f"argument `assignment` must be {m} integer labels (one per neuron), got {assignment!r}"
        )
    bad = s[(s < INACTIVE) | (s >= r)]
    if bad.size:
        raise ValueError(
            f"argument `assignment`: labels must lie in -2..{r - 1} (-1: zero-type, "
            f"-2: inactive), got {bad.tolist()}"
        )
    missing = sorted(set(range(r)) - set(s.tolist()))
    if missing:
        raise ValueError(
            f"argument `assignment` must use every source neuron 0..{r - 1} (else the "
            f"function changes); missing {missing}"
        )
    return s.astype(int)
