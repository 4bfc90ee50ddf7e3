r"""The gated-linear-unit (GLU) limit of a flat channel (Martinelli et al., NeurIPS 2025).

A one-hidden-layer network computes :math:`f(x) = \sum_k a_k \sigma(w_k \cdot \tilde x) + b`,
with :math:`\tilde x = (x, 1)` when the hidden layer has a bias (so :math:`w_k` is the
neuron's row :math:`[W_1 | b_1]_k` and carries the bias) and :math:`\tilde x = x` otherwise;
:math:`a_k` is column ``k`` of the output weights (shape ``(Dout,)``). For a pair of neurons
:math:`(i, j)` the paper's reparametrisation (its Eq. 3-4) is

.. math::

    w = \tfrac12 (w_i + w_j), \quad \varepsilon = \tfrac12 \|w_i - w_j\|, \quad
    \Delta = \frac{w_i - w_j}{\|w_i - w_j\|}, \quad a = \varepsilon (a_i - a_j), \quad
    c = a_i + a_j, \quad v = a \Delta^\top = \tfrac12 (a_i - a_j)(w_i - w_j)^\top,

with the inverse :math:`a_{i,j} = (c \pm a/\varepsilon)/2`,
:math:`w_{i,j} = w \pm \varepsilon \Delta`. The pair's output is a central finite
difference, so with :math:`(w, \Delta, a, c)` fixed and :math:`z = w\cdot\tilde x`,
:math:`s = \Delta\cdot\tilde x`,

.. math::

    a_i \sigma(w_i\cdot\tilde x) + a_j \sigma(w_j\cdot\tilde x)
    = c\,\sigma(z) + (v \tilde x)\,\sigma'(z) + \varepsilon^2 f_2 + O(\varepsilon^4),
    \qquad f_2 = \tfrac{c}{2} s^2 \sigma''(z) + \tfrac{a}{6} s^3 \sigma'''(z):

the limit :math:`\varepsilon \to 0` is a GLU (a linear unit :math:`v\tilde x` gated by
:math:`\sigma'`), reached at the end of a channel where :math:`|a_i|, |a_j| \to \infty`.

Choices where the paper is silent: ``Dout > 1`` is allowed (``a`` and ``c`` are vectors of
length ``Dout`` and ``v`` is the rank-one ``(Dout, k)`` matrix :math:`a\Delta^\top`); the
output layer must be the identity (the limit is a statement about the network function).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .._validation import check_model, finite_array
from ..activations import Activation, get_activation
from ..records import Record

__all__ = [
    "GLULimit",
    "glu_limit",
    "place_on_channel",
    "jump",
    "glu_forward",
    "limit_forward",
    "limit_loss",
]


# -- structure checks ----------------------------------------------------------------------
def _check_two_layer(net) -> None:
    """Raise unless ``net`` has one hidden layer and an identity output layer."""
    check_model(net)
    layers = getattr(net, "layers", None)
    if layers is None or len(layers) != 2:
        raise ValueError(
            "argument `net` must have exactly one hidden layer (layers = [hidden, output]), "
            f"got {0 if layers is None else len(layers)} layers"
        )
    if layers[1].activation_name != "identity":
        raise ValueError(
            f"argument `net`: the output layer must be 'identity', got {layers[1].activation_name!r}"
        )


def _neuron_activation(net, i: int) -> Activation:
    """The activation of hidden neuron ``i`` (per-neuron activations allowed)."""
    act = net.layers[0].activation
    return act[i] if isinstance(act, tuple) else act


def _check_neuron(net, i, name: str = "i") -> int:
    r = net.layers[0].width
    if isinstance(i, bool) or not isinstance(i, int | np.integer) or not 0 <= i < r:
        raise ValueError(
            f"argument `{name}` must be a hidden-neuron index in 0..{r - 1}, got {i!r}"
        )
    return int(i)


def _check_pair(net, i, j) -> tuple[int, int]:
    _check_two_layer(net)
    i, j = _check_neuron(net, i, "i"), _check_neuron(net, j, "j")
    if i == j:
        raise ValueError(f"arguments `i` and `j` must be two different neurons, got {i} twice")
    if _neuron_activation(net, i) != _neuron_activation(net, j):
        raise ValueError(f"neurons {i} and {j} have different activations: no GLU limit")
    return i, j


def _tilde(X: np.ndarray, k: int, name: str = "X") -> np.ndarray:
    r""":math:`\tilde x`: ``X`` with a column of ones when the gate has ``k = Din + 1`` entries."""
    if k == X.shape[1] + 1:
        return np.column_stack([X, np.ones(len(X))])
    if k != X.shape[1]:
        raise ValueError(
            f"argument `{name}` has {X.shape[1]} columns but the gate has {k} entries "
            "(expected Din, or Din + 1 with a bias)"
        )
    return X


# -- the reparametrisation -------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class GLULimit(Record):
    r"""The GLU parameters of a neuron pair (see the module docstring): gate ``w`` (k,),
    direction ``delta`` (k,), ``eps``, ``a`` and ``c`` (Dout,), ``v = a delta^T``
    (Dout, k). Reads as a mapping too (``glu["w"]``), as the dicts of earlier versions."""

    w: np.ndarray
    delta: np.ndarray
    eps: float
    a: np.ndarray
    c: np.ndarray
    v: np.ndarray


def glu_limit(net, p, i: int, j: int) -> GLULimit:
    r"""The GLU parameters of the neuron pair ``(i, j)``.

    Formulas in the module docstring: :math:`w = (w_i + w_j)/2`,
    :math:`\varepsilon = \|w_i - w_j\|/2`, :math:`\Delta = (w_i - w_j)/\|w_i - w_j\|`,
    :math:`a = \varepsilon(a_i - a_j)`, :math:`c = a_i + a_j`, :math:`v = a\Delta^\top`.

    Parameters
    ----------
    net : Net or NetI
        One hidden layer of width ``r``, identity output.
    p : array (P,)
    i, j : int
        Two hidden neurons with the same activation.

    Returns
    -------
    GLULimit
        ``w`` (k,), ``delta`` (k,), ``eps`` (float), ``a`` (Dout,), ``c`` (Dout,),
        ``v`` (Dout, k), with ``k = Din + bias``.

    Raises
    ------
    ValueError
        When :math:`w_i = w_j` (a point of a saddle line, not of a channel: no direction
        :math:`\Delta`).

    Examples
    --------
    >>> import mlpgradientflow as mgf
    >>> net = mgf.Net([(2, "erf", False), (1, "identity", False)], din=1)
    >>> g = glu_limit(net, [1.1, 0.9, 50.0, -48.0], 0, 1)
    >>> round(g.eps, 12), g.delta.tolist(), g.c.round(12).tolist(), g["a"].round(12).tolist()
    (0.1, [1.0], [2.0], [9.8])
    """
    i, j = _check_pair(net, i, j)
    M1, M2 = net.unflatten(net.check_params(p))
    diff = M1[i] - M1[j]
    dist = float(np.linalg.norm(diff))
    if dist == 0.0:
        raise ValueError(
            f"neurons {i} and {j} have identical incoming vectors: the pair lies on a saddle "
            "line (a duplicated neuron), not in a channel; it has no GLU direction"
        )
    eps, delta = dist / 2, diff / dist
    a = eps * (M2[:, i] - M2[:, j])
    return GLULimit(w=(M1[i] + M1[j]) / 2, delta=delta, eps=eps, a=a, c=M2[:, i] + M2[:, j],
                    v=np.outer(a, delta))


def place_on_channel(net, p, i: int, j: int, glu: GLULimit | Mapping, eps: float) -> np.ndarray:
    r"""Parameters with the pair ``(i, j)`` at distance ``eps`` along the channel of ``glu``.

    The inverse of :func:`glu_limit`: :math:`w_{i,j} = w \pm \varepsilon\Delta`,
    :math:`a_{i,j} = (c \pm a/\varepsilon)/2`; every other parameter is copied from ``p``.

    Parameters
    ----------
    net : Net or NetI
    p : array (P,)
    i, j : int
    glu : dict
        With ``w`` (k,), ``delta`` (k,, unit norm), ``a`` (Dout,), ``c`` (Dout,), as
        returned by :func:`glu_limit` (``eps`` and ``v`` are not read).
    eps : float
        :math:`\varepsilon > 0`.

    Returns
    -------
    array (P,)
        A new parameter vector.

    Examples
    --------
    >>> import mlpgradientflow as mgf
    >>> net = mgf.Net([(2, "erf", False), (1, "identity", False)], din=1)
    >>> glu = {"w": [1.0], "delta": [1.0], "a": [9.8], "c": [2.0]}
    >>> place_on_channel(net, [0.0, 0.0, 0.0, 0.0], 0, 1, glu, 0.1).round(12).tolist()
    [1.1, 0.9, 50.0, -48.0]
    """
    i, j = _check_pair(net, i, j)
    eps = _positive("eps", eps)
    k, dout = net.shapes[0][1], net.shapes[1][0]
    w, delta, a, c = (
        _glu_entry(glu, key, n) for key, n in (("w", k), ("delta", k), ("a", dout), ("c", dout))
    )
    if abs(np.linalg.norm(delta) - 1.0) > 1e-10:
        raise ValueError(
            f"argument `glu`: 'delta' must have unit norm, got norm {np.linalg.norm(delta)}"
        )
    q = np.array(net.check_params(p), dtype=float)
    M1, M2 = net.unflatten(q)
    M1[i], M1[j] = w + eps * delta, w - eps * delta
    M2[:, i], M2[:, j] = (c + a / eps) / 2, (c - a / eps) / 2
    return q


def _glu_entry(glu, key: str, size: int | None = None) -> np.ndarray:
    """Entry ``key`` of a GLU dict as a finite float array (flattened when ``size`` is given)."""
    if not isinstance(glu, Mapping | Record) or key not in glu:
        raise ValueError(f"argument `glu` must be a GLULimit or a dict with key {key!r} "
                         "(see glu_limit)")
    x = finite_array(f"glu[{key!r}]", glu[key], dtype=float)
    if size is not None and x.size != size:
        raise ValueError(f"argument `glu`: {key!r} must have {size} entries, got {x.size}")
    return x if size is None else x.reshape(size)


def _positive(name: str, x) -> float:
    if isinstance(x, bool) or not isinstance(x, int | float | np.number) or not 0 < x < np.inf:
        raise ValueError(f"argument `{name}` must be a finite positive number, got {x!r}")
    return float(x)


def jump(net, p, i: int, j: int, factor: float = 2.0) -> np.ndarray:
    r"""One step of the jump procedure (paper App. C.1): :math:`\varepsilon \to \varepsilon/`
    ``factor`` with :math:`(w, \Delta, a, c)`, hence the GLU limit, kept.

    ``factor > 1`` moves the pair towards the end of the channel (outgoing weights grow
    like :math:`1/\varepsilon`); the loss then changes by
    :math:`h\,\varepsilon^2 (1/\mathrm{factor}^2 - 1) + O(\varepsilon^4)`.

    Parameters
    ----------
    net : Net or NetI
        One hidden layer, identity output.
    p : array, shape (P,)
        A point with neurons ``i``, ``j`` on a channel (:math:`w_i \ne w_j`).
    i, j : int
        The pair, 0-based.
    factor : float, optional
        :math:`\varepsilon` is divided by it (default 2), > 0.

    Returns
    -------
    ndarray, shape (P,)
        The new point (a copy): the pair at :math:`\varepsilon/\mathrm{factor}`, outgoing
        weights rescaled to keep the GLU limit, all other parameters unchanged.

    Examples
    --------
    >>> import mlpgradientflow as mgf
    >>> net = mgf.Net([(2, "erf", False), (1, "identity", False)], din=1)
    >>> jump(net, [1.1, 0.9, 50.0, -48.0], 0, 1, factor=2.0).round(12).tolist()
    [1.05, 0.95, 99.0, -97.0]
    """
    factor = _positive("factor", factor)
    glu = glu_limit(net, p, i, j)
    return place_on_channel(net, p, i, j, glu, glu["eps"] / factor)


# -- the limit function ----------------------------------------------------------------------
def glu_forward(glu: GLULimit | Mapping, X, activation) -> np.ndarray:
    r"""The GLU :math:`c\,\sigma(w\cdot\tilde x) + (v\tilde x)\,\sigma'(w\cdot\tilde x)`.

    Parameters
    ----------
    glu : dict
        ``w`` (k,), ``c`` (Dout,), ``v`` (Dout, k) (as from :func:`glu_limit`).
    X : array (N, Din)
        Inputs; :math:`\tilde x = (x, 1)` when ``k = Din + 1`` (the gate has a bias),
        :math:`\tilde x = x` when ``k = Din``.
    activation : str or Activation

    Returns
    -------
    array (N, Dout)

    Examples
    --------
    >>> import numpy as np
    >>> glu = {"w": [1.0, 0.0], "c": [1.0], "v": [[2.0, 0.0]]}
    >>> glu_forward(glu, np.array([[0.0], [1.0]]), "softplus").round(6).tolist()
    [[0.693147], [2.775379]]
    """
    act = get_activation(activation, "activation")
    if act.name == "softmax":
        raise ValueError("argument `activation`: a GLU's gate is a hidden activation, got softmax")
    X = finite_array("X", X, ndim=2, dtype=float)
    w = _glu_entry(glu, "w").reshape(-1)
    c = _glu_entry(glu, "c").reshape(-1)
    v = _glu_entry(glu, "v", c.size * w.size).reshape(c.size, w.size)
    X = _tilde(X, w.size)
    z = X @ w
    return act(z)[:, None] * c + (X @ v.T) * act.deriv(z)[:, None]


def _check_pairs(net, pairs) -> list[tuple[int, int]]:
    if not isinstance(pairs, Sequence) or not all(
        isinstance(q, Sequence) and len(q) == 2 for q in pairs
    ):
        raise TypeError(f"argument `pairs` must be a sequence of (i, j), got {pairs!r}")
    out = [_check_pair(net, i, j) for i, j in pairs]
    used = [k for q in out for k in q]
    if len(set(used)) != len(used):
        raise ValueError(f"argument `pairs`: a neuron appears in two pairs: {pairs!r}")
    return out


def limit_forward(net, p, pairs, input=None) -> np.ndarray:
    r"""The network's output with each pair of ``pairs`` replaced by its GLU limit.

    :math:`f_0(x) = \sum_{k \notin \text{pairs}} a_k\sigma(w_k\cdot\tilde x) + b
    + \sum_{(i,j)} \mathrm{GLU}_{ij}(x)`: the function at the end of the channels
    (:math:`\varepsilon \to 0`), against which ``net(p, X)`` converges like
    :math:`\varepsilon^2`.

    Parameters
    ----------
    net : Net or NetI
    p : array (P,)
    pairs : sequence of (i, j)
        Disjoint neuron pairs.
    input : array (N, Din), optional
        Default: the net's bound input.

    Returns
    -------
    array (N, Dout)

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> net = mgf.Net([(2, "erf", False), (1, "identity", False)], din=1)
    >>> p = np.array([1.0 + 1e-4, 1.0 - 1e-4, 5e3, -5e3])
    >>> X = np.linspace(-2, 2, 5)[:, None]
    >>> bool(np.allclose(net(p, X), limit_forward(net, p, [(0, 1)], X), atol=1e-6))
    True
    """
    pairs = _check_pairs(net, pairs)
    X = getattr(net, "input", None) if input is None else input
    if X is None:
        raise ValueError("argument `input` is required: no input is bound to this net")
    q = np.array(net.check_params(p), dtype=float)
    M2 = net.unflatten(q)[1]
    for i, j in pairs:
        M2[:, [i, j]] = 0.0
    out = net(q, X)
    for i, j in pairs:
        out += glu_forward(glu_limit(net, p, i, j), X, _neuron_activation(net, i))
    return out


def limit_loss(net, p, pairs) -> float:
    r"""The MSE of :func:`limit_forward` on the net's data: :math:`\ell_0`, the loss at the
    end of the channels, :math:`\frac1N \sum_n w_n \|f_0(x_n) - y_n\|^2` (the net's
    convention: summed over outputs, no 1/2, per-sample weights :math:`w_n`, default 1).

    Parameters
    ----------
    net : Net
        One hidden layer, identity output, MSE, with data bound.
    p : array, shape (P,)
        The point.
    pairs : sequence of (i, j)
        Disjoint neuron pairs on channels.

    Returns
    -------
    float
        :math:`\ell_0`; ``net.loss(p)`` approaches it like :math:`\varepsilon^2`.

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> X = np.linspace(-2, 2, 9)[:, None]
    >>> net = mgf.Net([(2, "erf", False), (1, "identity", False)], input=X, target=np.sin(X))
    >>> p = np.array([1.0 + 1e-5, 1.0 - 1e-5, 5e4, -5e4])
    >>> bool(abs(limit_loss(net, p, [(0, 1)]) - net.loss(p)) < 1e-8)
    True
    """
    if getattr(net, "target", None) is None or getattr(net, "loss_type", "mse") != "mse":
        raise ValueError("argument `net` must be a Net with bound input and target and MSE loss")
    r = limit_forward(net, p, pairs) - net.target
    ell = (r * r).sum(axis=1)
    w = net.weights
    return float((ell if w is None else w * ell).mean())
