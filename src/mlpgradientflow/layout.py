r"""The parameter layout of a network: its layers and where each parameter lives.

A network with layers :math:`l = 1..L` computes, for a sample :math:`x`,

.. math::

    h_l = W_l a_{l-1} + b_l, \qquad a_l = f_l(h_l), \qquad a_0 = x,

with :math:`W_l \in \mathbb{R}^{k_l \times k_{l-1}}` and an optional bias :math:`b_l`.
Layer :math:`l` owns the matrix :math:`M_l = [W_l \mid b_l]` of shape
``(k_l, k_{l-1} + bias_l)``, stored row-major; layers follow each other in the flat
parameter vector ``p``, so neuron ``i`` of layer ``l`` owns one contiguous slice (its
incoming weights, then its bias). :class:`Layout` is this fact, frozen: the layers, the
input dimension, the shapes and offsets, and what follows from them (``nparams``,
``unflatten``, ``random_params``, ``params2dict``). It knows nothing of data.

Examples
--------
>>> from mlpgradientflow.layout import Layout
>>> lay = Layout.from_spec([(3, "tanh", True), (1, "identity", False)], din=2)
>>> lay.shapes, lay.offsets, lay.nparams
(((3, 3), (1, 3)), (0, 9), 12)
>>> lay.with_layer(0, (5, "tanh", True)).nparams
20
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ._validation import as_params, as_rng
from .activations import Activation, activation_groups, normalize_layer_activation

__all__ = ["Layer", "Layout", "parse_layers"]


@dataclass(frozen=True)
class Layer:
    """One dense layer: ``width`` neurons, their activation(s), with or without bias.

    Made by :func:`parse_layers` (``net.layers`` holds them); it computes
    :math:`a = f(W a_{prev} + b)` with :math:`W` of shape (width, fan-in).

    Examples
    --------
    >>> from mlpgradientflow.layout import parse_layers
    >>> lay = parse_layers([(3, ("relu", "relu", "tanh"), True), (1, "identity", True)])[0]
    >>> lay.width, lay.bias, lay.activation_name
    (3, True, ['relu', 'relu', 'tanh'])
    >>> [(a.name, lo, hi) for a, lo, hi in lay.groups]
    [('relu', 0, 2), ('tanh', 2, 3)]
    """

    width: int
    activation: Activation | tuple[Activation, ...]
    bias: bool

    @property
    def groups(self) -> tuple[tuple[Activation, int, int], ...]:
        """Contiguous runs ``(activation, lo, hi)`` of identical activations."""
        return activation_groups(self.activation, self.width)

    @property
    def activation_name(self) -> str | list[str]:
        if isinstance(self.activation, tuple):
            return [a.name for a in self.activation]
        return self.activation.name

    def spec(self) -> tuple:
        """The layer as ``(width, activation, bias)`` with activation objects."""
        return (self.width, self.activation, self.bias)


def layer_list(layers) -> Sequence:
    """``layers`` as a non-empty sequence of layer entries (TypeError otherwise)."""
    if isinstance(layers, Layer):
        return [layers]
    if not isinstance(layers, Sequence) or isinstance(layers, str) or len(layers) == 0:
        raise TypeError(
            "argument `layers` must be a non-empty sequence of (width, activation, bias), "
            f"got {layers!r}"
        )
    return layers


def parse_layers(layers, *, dout: int | None = None) -> tuple[Layer, ...]:
    """Check a layer spec ``[(width, activation, bias), ...]`` and resolve activations.

    ``width=None`` on the last layer is replaced by ``dout`` (inferred from the target).

    Parameters
    ----------
    layers : sequence of (width, activation, bias) or Layer
        Input to output; per-neuron activation tuples in hidden layers only.
    dout : int, optional
        Output width for ``width=None`` on the last layer.

    Returns
    -------
    tuple of Layer
        One per entry, activations resolved to objects.

    Examples
    --------
    >>> from mlpgradientflow.layout import parse_layers
    >>> [(lay.width, lay.activation_name, lay.bias)
    ...  for lay in parse_layers([(4, "erf", True), (None, "identity", False)], dout=2)]
    [(4, 'sigmoid2', True), (2, 'identity', False)]
    >>> parse_layers([(0, "tanh", True)])
    Traceback (most recent call last):
    ...
    ValueError: layers[0]: width must be a positive integer, got 0
    """
    layers = layer_list(layers)
    out = []
    nl = len(layers)
    for i, spec in enumerate(layers):
        if isinstance(spec, Layer):
            spec = spec.spec()
        if not isinstance(spec, Sequence) or len(spec) != 3:
            raise TypeError(f"layers[{i}] must be a tuple (width, activation, bias), got {spec!r}")
        width, act, bias = spec
        last = i == nl - 1
        if width is None:
            if not last:
                raise ValueError(f"layers[{i}]: width None is allowed on the last layer only")
            if dout is None:
                raise ValueError(
                    f"layers[{i}]: width None needs a target to infer the output width from"
                )
            width = dout
        if isinstance(width, bool) or not isinstance(width, int | np.integer) or width < 1:
            raise ValueError(f"layers[{i}]: width must be a positive integer, got {width!r}")
        if not isinstance(bias, bool | np.bool_):
            raise TypeError(f"layers[{i}]: bias must be True or False, got {bias!r}")
        act = normalize_layer_activation(act, int(width), layer=i, is_output=last)
        out.append(Layer(int(width), act, bool(bias)))
    return tuple(out)


@dataclass(frozen=True)
class Layout:
    """The layers of a network and the flat parameter layout (see the module docstring).

    Attributes
    ----------
    layers : tuple of Layer
    din : int
        Input dimension.
    shapes : tuple of (k, m)
        ``M_l`` of layer ``l`` has shape ``(k_l, k_{l-1} + bias_l)``.
    offsets : tuple of int
        Where ``M_l`` starts in ``p``.
    nparams : int
    dout : int
        Output width.
    loss_type : {"mse", "nll"}
        NLL for a softmax output, MSE otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpgradientflow.layout import Layout
    >>> lay = Layout.from_spec([(2, "tanh", True), (1, "identity", False)], din=1)
    >>> lay.shapes, lay.nparams, lay.loss_type
    (((2, 2), (1, 2)), 6, 'mse')
    >>> [M.tolist() for M in lay.unflatten(np.arange(6.0))]   # M_l = [W_l | b_l], row-major
    [[[0.0, 1.0], [2.0, 3.0]], [[4.0, 5.0]]]
    """

    layers: tuple[Layer, ...]
    din: int
    shapes: tuple[tuple[int, int], ...] = field(init=False)
    offsets: tuple[int, ...] = field(init=False)
    nparams: int = field(init=False)

    def __post_init__(self) -> None:
        if isinstance(self.din, bool) or not isinstance(self.din, int | np.integer) or self.din < 1:
            raise ValueError(f"argument `din` must be a positive integer, got {self.din!r}")
        object.__setattr__(self, "din", int(self.din))
        shapes, offsets, k_prev, off = [], [], self.din, 0
        for lay in self.layers:
            shapes.append((lay.width, k_prev + int(lay.bias)))
            offsets.append(off)
            off += lay.width * (k_prev + int(lay.bias))
            k_prev = lay.width
        object.__setattr__(self, "shapes", tuple(shapes))
        object.__setattr__(self, "offsets", tuple(offsets))
        object.__setattr__(self, "nparams", off)

    @classmethod
    def from_spec(cls, layers, din: int, dout: int | None = None) -> Layout:
        """A layout from a layer spec (``width=None`` on the last layer: ``dout``)."""
        return cls(parse_layers(layers, dout=dout), din)

    @property
    def dout(self) -> int:
        return self.layers[-1].width

    @property
    def loss_type(self) -> str:
        return "nll" if self.layers[-1].activation_name == "softmax" else "mse"

    @property
    def layerspec(self) -> list[tuple]:
        """The layers as ``(width, activation name(s), bias)``, for saving results."""
        return [(lay.width, lay.activation_name, lay.bias) for lay in self.layers]

    # -- the same with a layer changed -----------------------------------------------------
    def with_layers(self, layers) -> Layout:
        """A layout with other ``layers`` and the same input dimension."""
        return Layout.from_spec(layers, self.din, dout=self.dout)

    def with_layer(self, i: int, layer) -> Layout:
        """The same layout with layer ``i`` replaced by ``layer`` (a Layer or a tuple)."""
        if isinstance(i, bool) or not isinstance(i, int | np.integer) or not 0 <= i < len(self.layers):
            raise ValueError(f"argument `i` must be a layer index in 0..{len(self.layers) - 1}, got {i!r}")
        specs = [lay.spec() for lay in self.layers]
        specs[int(i)] = layer.spec() if isinstance(layer, Layer) else layer
        return self.with_layers(specs)

    # -- parameters -------------------------------------------------------------------------
    def check_params(self, p, dtype=np.float64, name: str = "p") -> np.ndarray:
        """``p`` as a finite flat vector of length ``nparams`` in ``dtype``."""
        return as_params(p, self.nparams, np.dtype(dtype), name)

    def unflatten(self, p) -> list[np.ndarray]:
        """Views :math:`M_l = [W_l | b_l]` of shape ``(k_l, k_{l-1} + bias_l)`` into ``p``."""
        p = as_params(p, self.nparams, p.dtype if isinstance(p, np.ndarray) else np.float64)
        return [p[o : o + k * n].reshape(k, n) for (k, n), o in zip(self.shapes, self.offsets)]

    def random_params(self, rng=None, init: str = "glorot_normal", dtype=np.float64) -> np.ndarray:
        r"""Random parameters: Glorot weights, zero biases.

        ``glorot_normal``: :math:`W \sim \mathcal N(0, 2/(k_{l-1} + k_l))`;
        ``glorot_uniform``: :math:`W \sim U(\pm\sqrt{6/(k_{l-1} + k_l)})`. ``rng`` is an
        int seed or a ``numpy.random.Generator``; a seed gives the same parameters on
        every platform.
        """
        if init not in ("glorot_normal", "glorot_uniform"):
            raise ValueError(
                f"argument `init` must be 'glorot_normal' or 'glorot_uniform', got {init!r}"
            )
        rng = as_rng(rng)
        p = np.zeros(self.nparams)
        for lay, M in zip(self.layers, self.unflatten(p)):
            fan_in, fan_out = M.shape[1] - int(lay.bias), M.shape[0]
            if init == "glorot_normal":
                W = rng.standard_normal((fan_out, fan_in)) * math.sqrt(2.0 / (fan_in + fan_out))
            else:
                lim = math.sqrt(6.0 / (fan_in + fan_out))
                W = rng.uniform(-lim, lim, size=(fan_out, fan_in))
            M[:, :fan_in] = W
        return p.astype(dtype, copy=False)

    def params2dict(self, p) -> dict[str, np.ndarray]:
        """``{"w1": M_1, ...}``: copies of the per-layer matrices (the reference's names)."""
        return {f"w{i}": M.copy() for i, M in enumerate(self.unflatten(np.asarray(p)), 1)}
