r"""Neuron surgery: split, merge, add and remove hidden neurons of a network.

Hidden layer ``layer`` (0-based among the layers of ``net.layers``; the output layer
cannot be operated on) has :math:`k` neurons. Neuron :math:`i` owns the row
:math:`\tilde w_i = (w_i, b_i)` of :math:`M_l = [W_l \mid b_l]` (its incoming vector) and
the column :math:`a_i = W_{l+1}[:, i]` of the next layer (its outgoing vector). Every
function here returns a new network of the new width, bound to the same data (the same
input, target, sample weights and loss; for :class:`~mlpgradientflow.NetI` the same
teacher), and the matching flat parameter vector. Parameters of all other neurons and
layers are copied unchanged.

The operations are the symmetry moves of the landscape (Fukumizu & Amari 2000; Şimşek et
al. 2021): splitting a neuron or adding one with zero outgoing weights keeps the network
function, so a critical point of the narrow network becomes a critical point of the
wide one (a point on a line of critical points for a split).

Examples
--------
>>> import numpy as np
>>> import mlpgradientflow as mgf
>>> from mlpgradientflow.landscape.surgery import merge_neurons, split_neuron
>>> X = np.random.default_rng(0).standard_normal((50, 2))
>>> net = mgf.Net([(3, "tanh", True), (1, "identity", True)], input=X, target=X[:, :1])
>>> p = net.random_params(0)
>>> wide, q = split_neuron(net, p, 1, 0.3)
>>> wide.layers[0].width, bool(np.allclose(wide(q), net(p), rtol=0, atol=1e-15))
(4, True)
>>> narrow, r = merge_neurons(*split_neuron(net, p, 1, 0.5), 1, 2)
>>> bool(np.array_equal(r, p))
True
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

from .._validation import as_rng, check_size
from ..activations import get_activation
from ..gaussian.neti import NetI
from ..net import Net

__all__ = ["split_neuron", "merge_neurons", "grow_net", "shrink_net"]


def split_neuron(net, p, i: int, gamma: float, layer: int = 0, *, j: int | None = None):
    r"""Duplicate neuron ``i`` of a hidden layer, sharing its outgoing weights.

    The copy is inserted at position ``j`` (default ``i + 1``, as the reference's
    ``split_neuron(p, i, γ, j=i+1)``, 0-based here; later neurons move up by one). Both get
    the incoming vector (and bias) and the activation of neuron ``i``; the outgoing
    vector :math:`a_i` is shared as

    .. math::

        a_i \leftarrow \gamma\, a_i, \qquad a_j \leftarrow (1 - \gamma)\, a_i,

    so the network function is unchanged for every real :math:`\gamma`. A critical point
    of ``net`` becomes a critical point of the wider net, for every :math:`\gamma`
    (the saddle line of Fukumizu & Amari 2000).

    Parameters
    ----------
    net : Net or NetI
    p : array, shape (net.nparams,)
    i : int
        Neuron to split, ``0 <= i < width``.
    gamma : float
        Share of the outgoing vector kept by neuron ``i`` (any finite real).
    layer : int
        Hidden layer (0-based).
    j : int, optional
        Position of the copy in the wider layer, ``i < j <= width`` (default ``i + 1``).

    Returns
    -------
    wider_net : Net or NetI
        The layer has one neuron more; same data.
    p_new : ndarray, shape (wider_net.nparams,)

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> net = mgf.Net([(2, "relu", False), (1, "identity", False)], din=1)
    >>> p = np.array([1.0, -1.0, 2.0, 3.0])       # w = (1, -1), a = (2, 3)
    >>> wide, q = split_neuron(net, p, 0, 0.25)
    >>> q
    array([ 1. ,  1. , -1. ,  0.5,  1.5,  3. ])
    >>> split_neuron(net, p, 0, 0.25, j=2)[1]     # the copy last: w = (1, -1, 1)
    array([ 1. , -1. ,  1. ,  0.5,  3. ,  1.5])
    """
    layer, (A_in, A_out, acts) = _hidden(net, p, layer)
    i = _neuron_index("i", i, len(acts))
    if j is None:
        j = i + 1
    elif isinstance(j, bool) or not isinstance(j, int | np.integer) or not i < j <= len(acts):
        raise ValueError(f"argument `j` must be an integer with i < j <= {len(acts)} "
                         f"(i = {i}), got {j!r}")
    gamma = _finite_real("gamma", gamma)
    a = A_out[:, i]
    A_out = np.insert(A_out, j, (1.0 - gamma) * a, axis=1)  # a copy: p stays as it is
    A_out[:, i] = gamma * a  # i < j: column i did not move
    A_in = np.insert(A_in, j, A_in[i], axis=0)
    return _assemble(net, p, layer, A_in, A_out, acts[:j] + [acts[i]] + acts[j:])


def merge_neurons(net, p, i: int, j: int, layer: int = 0):
    r"""Merge neurons ``i`` and ``j`` of a hidden layer into one.

    The merged neuron takes the position ``min(i, j)``; the neuron at ``max(i, j)`` is
    removed (later neurons move down by one). Its incoming vector (with bias) is the
    average and its outgoing vector the sum,

    .. math::

        \tilde w = \tfrac12(\tilde w_i + \tilde w_j), \qquad a = a_i + a_j .

    When :math:`\tilde w_i = \tilde w_j` the network function is unchanged, and
    ``merge_neurons(*split_neuron(net, p, i, gamma), i, i + 1)`` gives back ``p`` (up to
    the rounding of :math:`\gamma a + (1-\gamma) a`; exactly for :math:`\gamma = \frac12`).
    Both neurons must have the same activation.

    Parameters
    ----------
    net : Net or NetI
    p : array, shape (net.nparams,)
    i, j : int
        Two different neurons of the layer.
    layer : int
        Hidden layer (0-based).

    Returns
    -------
    narrower_net : Net or NetI
        The layer has one neuron fewer; same data.
    p_new : ndarray, shape (narrower_net.nparams,)

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> net = mgf.Net([(2, "relu", False), (1, "identity", False)], din=1)
    >>> merge_neurons(net, np.array([1.0, 3.0, 2.0, 5.0]), 1, 0)[1]
    array([2., 7.])
    """
    layer, (A_in, A_out, acts) = _hidden(net, p, layer)
    i = _neuron_index("i", i, len(acts))
    j = _neuron_index("j", j, len(acts))
    if i == j:
        raise ValueError(f"arguments `i` and `j` must be different neurons, got both {i}")
    if acts[i] != acts[j]:
        raise ValueError(
            f"arguments `i`, `j`: neurons {i} and {j} have different activations "
            f"({acts[i].name}, {acts[j].name}); merging them does not define a neuron"
        )
    lo, hi = min(i, j), max(i, j)
    A_in, A_out = A_in.copy(), A_out.copy()
    A_in[lo] = 0.5 * (A_in[i] + A_in[j])
    A_out[:, lo] = A_out[:, i] + A_out[:, j]
    A_in, A_out = np.delete(A_in, hi, axis=0), np.delete(A_out, hi, axis=1)
    return _assemble(net, p, layer, A_in, A_out, acts[:hi] + acts[hi + 1 :])


def grow_net(
    net, p, width: int, rng=None, layer: int = 0, scale: float | None = None, activation=None
):
    r"""Widen a hidden layer to ``width`` neurons without changing the network function.

    The new neurons are appended after the existing ones, with outgoing weights 0,
    random incoming weights :math:`w \sim \mathcal N(0, \mathrm{scale}^2)` and bias 0
    (when the layer has biases). The default scale is the Glorot-normal one of the wider
    layer, :math:`\sqrt{2/(\mathrm{fan\_in} + \mathrm{width})}` (``fan_in``: the width of
    the layer below, or ``net.din``), as :meth:`Net.random_params` draws. The point is not critical in general: the gradient
    with respect to the new outgoing weights is :math:`\langle \sigma(w\cdot x)\,
    \partial\ell/\partial h_{l+1}\rangle`.

    Parameters
    ----------
    net : Net or NetI
    p : array, shape (net.nparams,)
    width : int
        New width of the layer, at least the current one.
    rng : int or numpy.random.Generator, optional
    layer : int
        Hidden layer (0-based).
    scale : float, optional
        Standard deviation of the new incoming weights (non-negative).
    activation : str or Activation, optional
        Activation of the new neurons; default: that of the layer (of its last neuron
        when the layer has per-neuron activations).

    Returns
    -------
    wider_net, p_new

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> X = np.random.default_rng(0).standard_normal((20, 2))
    >>> net = mgf.Net([(2, "softplus", True), (1, "identity", True)], input=X, target=X[:, :1])
    >>> p = net.random_params(0)
    >>> wide, q = grow_net(net, p, 5, rng=1)
    >>> wide.layers[0].width, float(np.abs(wide(q) - net(p)).max())
    (5, 0.0)
    """
    layer, (A_in, A_out, acts) = _hidden(net, p, layer)
    k = len(acts)
    if isinstance(width, bool) or not isinstance(width, numbers.Integral) or width < k:
        raise ValueError(
            f"argument `width` must be an integer >= the current width {k}, got {width!r}"
        )
    n_in = net.din if layer == 0 else net.layers[layer - 1].width
    check_size(f"grow_net to width {width}", int(width) * (A_in.shape[1] + A_out.shape[0]))
    act = acts[-1] if activation is None else get_activation(activation, "activation")
    if act.name == "softmax":
        raise ValueError("argument `activation`: softmax is allowed in the output layer only")
    if scale is None:
        scale = math.sqrt(2.0 / (n_in + int(width)))
    scale = _finite_real("scale", scale)
    if scale < 0:
        raise ValueError(f"argument `scale` must be non-negative, got {scale}")
    new = int(width) - k
    rows = np.zeros((new, A_in.shape[1]))
    rows[:, :n_in] = scale * as_rng(rng).standard_normal((new, n_in))
    return _assemble(
        net,
        p,
        layer,
        np.vstack([A_in, rows]),
        np.hstack([A_out, np.zeros((A_out.shape[0], new))]),
        acts + [act] * new,
    )


def shrink_net(net, p, keep, layer: int = 0):
    r"""Keep only the neurons ``keep`` of a hidden layer, in the order given.

    Neuron ``keep[m]`` becomes neuron ``m``; the others are removed with their incoming
    and outgoing weights. The function is unchanged when the removed neurons have zero
    outgoing weights (``shrink_net`` undoes :func:`grow_net`). A permutation of
    ``range(width)`` reorders the neurons without changing the function (the
    permutation symmetry of the layer).

    Parameters
    ----------
    net : Net or NetI
    p : array, shape (net.nparams,)
    keep : sequence of int
        Distinct neuron indices, at least one.
    layer : int
        Hidden layer (0-based).

    Returns
    -------
    narrower_net : Net or NetI
        The layer with ``len(keep)`` neurons.
    p_new : ndarray, shape (narrower_net.nparams,)
        The kept neurons' incoming and outgoing weights, in the order of ``keep``.

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> net = mgf.Net([(3, "relu", False), (1, "identity", False)], din=1)
    >>> shrink_net(net, np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]), [2, 0])[1]
    array([3., 1., 6., 4.])
    """
    layer, (A_in, A_out, acts) = _hidden(net, p, layer)
    k = len(acts)
    if isinstance(keep, str | bytes) or not isinstance(keep, Sequence | np.ndarray):
        raise TypeError(f"argument `keep` must be a sequence of neuron indices, got {keep!r}")
    idx = [_neuron_index("keep", m, k) for m in keep]
    if not idx or len(set(idx)) != len(idx):
        raise ValueError(f"argument `keep` must list distinct neurons, at least one, got {keep!r}")
    return _assemble(net, p, layer, A_in[idx], A_out[:, idx], [acts[m] for m in idx])


# -- helpers --------------------------------------------------------------------------------


def _hidden(net, p, layer):
    """Checked layer index and the pieces of hidden layer ``layer``: incoming rows
    (k, n_in + bias), outgoing columns (k_next, k), per-neuron activations."""
    if not isinstance(net, Net | NetI):
        raise TypeError(f"argument `net` must be a Net or NetI, got {type(net).__name__}")
    n_hidden = len(net.layers) - 1
    if isinstance(layer, bool) or not isinstance(layer, numbers.Integral):
        raise TypeError(f"argument `layer` must be an integer, got {layer!r}")
    layer = int(layer)
    if n_hidden == 0:
        raise ValueError("argument `net` has no hidden layer")
    if not 0 <= layer < n_hidden:
        raise ValueError(f"argument `layer` must be a hidden layer, 0..{n_hidden - 1}, got {layer}")
    Ms = net.unflatten(net.check_params(p))
    lay = net.layers[layer]
    acts = (
        list(lay.activation) if isinstance(lay.activation, tuple) else [lay.activation] * lay.width
    )
    return int(layer), (Ms[layer], Ms[layer + 1][:, : lay.width], acts)


def _assemble(net, p, layer, A_in, A_out, acts):
    """The net with hidden layer ``layer`` replaced, and its parameters."""
    Ms = net.unflatten(net.check_params(p))
    nxt = Ms[layer + 1]
    Ms = (
        Ms[:layer] + [A_in, np.hstack([A_out, nxt[:, net.layers[layer].width :]])] + Ms[layer + 2 :]
    )
    spec = [lay.spec() for lay in net.layers]
    spec[layer] = (len(acts), tuple(acts), spec[layer][2])
    new = net.with_layers(spec)
    return new, np.concatenate([M.ravel() for M in Ms]).astype(new.dtype)


def _neuron_index(name, i, k) -> int:
    if isinstance(i, bool) or not isinstance(i, numbers.Integral):
        raise TypeError(f"argument `{name}` must be an integer neuron index, got {i!r}")
    if not 0 <= int(i) < k:
        raise ValueError(f"argument `{name}` must be a neuron index in 0..{k - 1}, got {i}")
    return int(i)


def _finite_real(name, x) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"argument `{name}` must be a real number, got {x!r}")
    if not math.isfinite(x):
        raise ValueError(f"argument `{name}` must be finite, got {x}")
    return float(x)
