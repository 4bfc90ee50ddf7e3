r"""Networks bound to data: layer specs, the flat parameter layout, initialisation.

A network with layers :math:`l = 1..L` computes, for a sample :math:`x` (a row of the
input),

.. math::

    h_l = W_l a_{l-1} + b_l, \qquad a_l = f_l(h_l), \qquad a_0 = x,

with :math:`W_l \in \mathbb{R}^{k_l \times k_{l-1}}` and an optional bias :math:`b_l`.
Layer :math:`l` owns the matrix :math:`M_l = [W_l \mid b_l]` of shape
``(k_l, k_{l-1} + bias_l)``, stored row-major; layers follow each other in the flat
parameter vector ``p``. Neuron ``i`` of layer ``l`` therefore owns one contiguous slice
(its incoming weights, then its bias). ``net.unflatten(p)`` returns the views
:math:`M_l`.

Examples
--------
>>> import numpy as np
>>> import mlpgradientflow as mgf
>>> X = np.random.default_rng(0).standard_normal((100, 2))
>>> teacher = mgf.TeacherNet([(3, "softplus", True), (1, "identity", True)], din=2, rng=1)
>>> net = mgf.Net([(4, "tanh", True), (None, "identity", False)], input=X, target=teacher(X))
>>> net.nparams, net.dout
(16, 1)
>>> p = net.random_params(rng=0)
>>> [m.shape for m in net.unflatten(p)]
[(4, 3), (1, 4)]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ._validation import as_params, as_rng, check_model, finite_array
from .activations import (
    Activation,
    activation_groups,
    normalize_layer_activation,
)

__all__ = ["Layer", "Net", "TeacherNet", "params", "params2dict", "parse_layers"]


@dataclass(frozen=True)
class Layer:
    """One dense layer: ``width`` neurons, their activation(s), with or without bias."""

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


def parse_layers(layers, *, dout: int | None = None) -> tuple[Layer, ...]:
    """Check a layer spec ``[(width, activation, bias), ...]`` and resolve activations.

    ``width=None`` on the last layer is replaced by ``dout`` (inferred from the target).
    """
    layers = _layer_list(layers)
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


def _layer_list(layers) -> Sequence:
    if isinstance(layers, Layer):
        return [layers]
    if not isinstance(layers, Sequence) or isinstance(layers, str) or len(layers) == 0:
        raise TypeError(
            "argument `layers` must be a non-empty sequence of (width, activation, bias), "
            f"got {layers!r}"
        )
    return layers


class Net:
    r"""A multilayer perceptron bound to a data set.

    Parameters
    ----------
    layers : sequence of (width, activation, bias), or a Net
        One entry per layer, input to output. ``width=None`` on the last layer infers the
        output width from the target. ``activation`` is a name, an
        :class:`~mlpgradientflow.activations.Activation`, or in hidden layers a tuple with
        one activation per neuron. Passing a ``Net`` copies its layers and rebinds data
        (see Notes).
    input : array, shape (N, Din), optional
        Samples are rows. Its dtype sets the net's dtype: float32 input gives a float32
        net, anything else float64. It is copied.
    target : array, optional
        ``(N, Dout)`` or ``(N,)`` for one output (MSE). For a softmax output (NLL loss):
        integer class labels ``(N,)`` in ``0..Dout-1`` or probabilities ``(N, Dout)``.
    weights : array, shape (N,), optional
        Non-negative per-sample weights: the loss is :math:`\frac1N \sum_n w_n \ell_n`.
    din : int, optional
        Input dimension, required when no input is bound.
    loss : {"mse", "nll"}, optional
        Checked against the output activation: NLL for softmax outputs, MSE otherwise.

    Notes
    -----
    The loss is the mean over samples of the per-sample loss: MSE
    :math:`\ell_n = \sum_o (a_{L,no} - t_{no})^2` (summed over outputs, no 1/2) or NLL
    :math:`\ell_n = -\sum_o t_{no} \log a_{L,no}`. ``Net(net, input=..., target=...)``
    rebinds data: what is not given is kept, except that new input drops the old target
    and weights (they belong to the old samples).
    """

    def __init__(
        self,
        layers,
        *,
        input=None,
        target=None,
        weights=None,
        din: int | None = None,
        loss: str | None = None,
    ) -> None:
        if isinstance(layers, Net):
            old = layers
            if input is None:
                input = old.input
                target = old.target if target is None else target
                weights = old.weights if weights is None else weights
            din = old.din if din is None else din
            loss = old.loss_type if loss is None else loss
            layers = [(lay.width, lay.activation, lay.bias) for lay in old.layers]
        self._bind(layers, input, target, weights, din, loss)
        self._workspaces: dict = {}

    # Caches hold workspaces and, for the compiled kernels, raw memory addresses: never
    # pickle them (a process that unpickles a net builds its own).
    _CACHES = ("_workspaces", "_small_plan", "_hessian_index")

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in self._CACHES}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._workspaces = {}

    # -- construction -------------------------------------------------------------------
    def _bind(self, layers, input, target, weights, din, loss) -> None:
        if input is not None:
            X = finite_array("input", input, ndim=2)
            if X.shape[0] == 0 or X.shape[1] == 0:
                raise ValueError(
                    f"argument `input` must have at least one sample (row) and one column, "
                    f"got shape {X.shape}"
                )
            dtype = np.dtype(np.float32) if X.dtype == np.float32 else np.dtype(np.float64)
            X = np.ascontiguousarray(X, dtype=dtype).copy()
            if din is not None and din != X.shape[1]:
                raise ValueError(f"argument `din`={din} but `input` has {X.shape[1]} columns")
            din = X.shape[1]
        else:
            X, dtype = None, np.dtype(np.float64)
            if target is not None or weights is not None:
                raise ValueError("arguments `target`/`weights` need an `input` to go with")
            if din is None:
                raise ValueError("argument `din` is required when no `input` is given")
        if isinstance(din, bool) or not isinstance(din, int | np.integer) or din < 1:
            raise ValueError(f"argument `din` must be a positive integer, got {din!r}")
        self.din, self.dtype, self._input = int(din), dtype, X

        layers = _layer_list(layers)
        last = layers[-1]
        if isinstance(last, Sequence) and not isinstance(last, str) and len(last) == 3:
            last_act = last[1]
        else:
            last_act = getattr(last, "activation", None)  # a Layer, or checked below
        is_softmax = _is_softmax(last_act)
        if loss is not None and loss not in ("mse", "nll"):
            raise ValueError(f"argument `loss` must be 'mse' or 'nll', got {loss!r}")
        if loss == "mse" and is_softmax:
            raise ValueError(
                "argument `loss`='mse' with a softmax output: the softmax output needs the "
                "NLL loss (chosen automatically); use an identity output layer for MSE"
            )
        if loss == "nll" and not is_softmax:
            raise ValueError("argument `loss`='nll' needs a softmax output layer")
        self.loss_type = "nll" if is_softmax else "mse"

        t, dout = self._check_target(target, X, is_softmax, last)
        self.layers = parse_layers(layers, dout=dout)
        self.dout = self.layers[-1].width
        if t is not None and self.loss_type == "mse" and t.shape[1] != self.dout:
            raise ValueError(
                f"argument `target` has {t.shape[1]} columns but the output layer has "
                f"{self.dout} neurons"
            )
        if t is not None and self.loss_type == "nll":
            if t.ndim == 1 and (t.min() < 0 or t.max() >= self.dout):
                raise ValueError(
                    f"argument `target`: class labels must lie in 0..{self.dout - 1}, "
                    f"got range {t.min()}..{t.max()}"
                )
            if t.ndim == 2 and t.shape[1] != self.dout:
                raise ValueError(
                    f"argument `target` has {t.shape[1]} columns but the softmax output has "
                    f"{self.dout} classes"
                )
        self._target = t
        self._weights = None
        if weights is not None:
            w = finite_array("weights", weights, ndim=1)
            if X is None or w.shape[0] != X.shape[0]:
                raise ValueError(
                    f"argument `weights` must have shape ({X.shape[0]},), got {w.shape}"
                )
            if (w < 0).any():
                raise ValueError("argument `weights` must be non-negative")
            if not w.any():
                raise ValueError("argument `weights` are all zero: the loss would be 0 everywhere")
            self._weights = np.ascontiguousarray(w, dtype=dtype).copy()

        shapes, offsets, k_prev, off = [], [], self.din, 0
        for lay in self.layers:
            shapes.append((lay.width, k_prev + int(lay.bias)))
            offsets.append(off)
            off += lay.width * (k_prev + int(lay.bias))
            k_prev = lay.width
        self.shapes: tuple[tuple[int, int], ...] = tuple(shapes)
        self.offsets: tuple[int, ...] = tuple(offsets)
        self.nparams: int = off

    def _check_target(self, target, X, is_softmax, last):
        if target is None:
            return None, None
        if is_softmax:
            arr = np.asarray(target)
            if arr.ndim == 1:
                if arr.dtype.kind not in "iu":
                    raise TypeError(
                        "argument `target`: a softmax output needs integer class labels (N,) "
                        f"or probabilities (N, Dout), got a 1-D array of dtype {arr.dtype}"
                    )
                t = finite_array("target", arr, ndim=1).astype(np.intp)
                dout = int(t.max()) + 1 if t.size else None
            else:
                t = finite_array("target", arr, ndim=2).astype(self.dtype)
                if (t < 0).any():
                    raise ValueError("argument `target`: probabilities must be non-negative")
                dout = t.shape[1]
        else:
            t = finite_array("target", target, ndim=(1, 2))
            t = np.ascontiguousarray(t.reshape(t.shape[0], -1), dtype=self.dtype).copy()
            dout = t.shape[1]
        if t.shape[0] != X.shape[0]:
            raise ValueError(
                f"argument `target` has {t.shape[0]} samples but `input` has {X.shape[0]}"
            )
        if isinstance(last, Sequence) and last[0] is not None and is_softmax:
            dout = last[0]
        return t, dout

    def with_layers(self, layers) -> Net:
        """A net with new ``layers`` bound to the same data: input, target, sample weights.

        The way to rebuild a net for a new architecture (neuron surgery, pruning,
        embeddings): building ``Net(layers, input=net.input, target=net.target)`` by hand
        drops the sample weights. The ``quadrature_error`` of a
        :func:`~mlpgradientflow.gauss_hermite_net` (a property of its target) is kept.

        Examples
        --------
        >>> import numpy as np
        >>> import mlpgradientflow as mgf
        >>> X = np.random.default_rng(0).standard_normal((10, 2))
        >>> net = mgf.Net([(3, "tanh", True), (1, "identity", True)], input=X,
        ...               target=X[:, :1], weights=np.arange(10.0))
        >>> wide = net.with_layers([(5, "tanh", True), (1, "identity", True)])
        >>> wide.layers[0].width, bool(np.array_equal(wide.weights, net.weights))
        (5, True)
        """
        new = Net(layers, input=self._input, target=self._target, weights=self._weights,
                  din=self.din)
        if hasattr(self, "quadrature_error"):
            new.quadrature_error = self.quadrature_error
        return new

    # -- data ---------------------------------------------------------------------------
    @property
    def input(self) -> np.ndarray | None:
        """The bound input, shape (N, Din) (read-only view)."""
        return None if self._input is None else _readonly(self._input)

    @property
    def target(self) -> np.ndarray | None:
        """The bound target (read-only view): (N, Dout), or labels (N,) for softmax."""
        return None if self._target is None else _readonly(self._target)

    @property
    def weights(self) -> np.ndarray | None:
        """Per-sample weights (N,), or None (read-only view)."""
        return None if self._weights is None else _readonly(self._weights)

    @property
    def n_samples(self) -> int:
        """Number of bound samples N (0 when no data is bound)."""
        return 0 if self._input is None else self._input.shape[0]

    # -- parameters -----------------------------------------------------------------------
    def unflatten(self, p: np.ndarray) -> list[np.ndarray]:
        """Views :math:`M_l = [W_l | b_l]` of shape ``(k_l, k_{l-1} + bias_l)`` into ``p``."""
        p = as_params(p, self.nparams, p.dtype if isinstance(p, np.ndarray) else self.dtype)
        return [
            p[o : o + k * n].reshape(k, n) for (k, n), o in zip(self.shapes, self.offsets)
        ]

    def random_params(self, rng=None, init: str = "glorot_normal") -> np.ndarray:
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
        return p.astype(self.dtype, copy=False)

    def check_params(self, p, name: str = "p") -> np.ndarray:
        """``p`` as a finite flat vector of length ``nparams`` in the net's dtype."""
        return as_params(p, self.nparams, self.dtype, name)

    # -- evaluation ----------------------------------------------------------------------
    def __call__(self, p, input=None) -> np.ndarray:
        """Network output for the bound input or for ``input`` (M, Din): a new (M, Dout) array.

        Softmax outputs are probabilities.
        """
        from .derivatives.engine import forward_output

        p = self.check_params(p)
        if input is None:
            if self._input is None:
                raise ValueError("no input is bound to this net; pass `input`")
            X = self._input
        else:
            X = finite_array("input", input, ndim=2)
            if X.shape[1] != self.din:
                raise ValueError(
                    f"argument `input` must have {self.din} columns (Din), got shape {X.shape}"
                )
            X = np.ascontiguousarray(X, dtype=self.dtype)
        return forward_output(self, p, X)

    def _derivs(self, p, order, maxnorm, merge, grad_out=None, hess_out=None, names=None):
        from .derivatives.engine import evaluate

        return evaluate(
            self, self.check_params(p), order, maxnorm, merge, grad_out, hess_out,
            names or ("grad_out", "hess_out"),
        )

    def loss(self, p, *, maxnorm: float = math.inf, merge=None) -> float:
        """Mean loss at ``p`` (plus the barrier and merge penalty when given)."""
        return self._derivs(p, 0, maxnorm, merge)[0]

    def gradient(self, p, *, maxnorm: float = math.inf, merge=None, out=None) -> np.ndarray:
        """Gradient of :meth:`loss`, a new array (or ``out``) of length ``nparams``.

        ``out`` (and ``grad_out``/``hess_out`` of :meth:`fg`, :meth:`fgh`) must be a
        writeable C-contiguous array of the net's dtype sharing no memory with ``p``:
        otherwise ValueError.
        """
        return self._derivs(p, 1, maxnorm, merge, grad_out=out, names=("out", "hess_out"))[1]

    def hessian(self, p, *, maxnorm: float = math.inf, merge=None, out=None) -> np.ndarray:
        """Exact Hessian of :meth:`loss`, a new symmetric (P, P) array (or ``out``)."""
        return self._derivs(p, 2, maxnorm, merge, hess_out=out, names=("gradient", "out"))[2]

    def hvp(self, p, v, *, maxnorm: float = math.inf, merge=None, out=None) -> np.ndarray:
        """Exact Hessian-vector product :math:`\\nabla^2 L(p)\\, v` (about two gradients'
        cost, no P x P matrix): for large nets, Krylov solvers and Lanczos spectra."""
        from .derivatives.engine import hessian_vector_product

        p = self.check_params(p)
        v = self.check_params(v, name="v")
        return hessian_vector_product(self, p, v, maxnorm, merge, out)

    def fg(self, p, *, maxnorm: float = math.inf, merge=None, grad_out=None):
        """``(loss, gradient)`` from one pass over the data."""
        return self._derivs(p, 1, maxnorm, merge, grad_out=grad_out)[:2]

    def fgh(self, p, *, maxnorm: float = math.inf, merge=None, grad_out=None, hess_out=None):
        """``(loss, gradient, Hessian)`` from one pass over the data."""
        return self._derivs(p, 2, maxnorm, merge, grad_out, hess_out)

    # -- description ------------------------------------------------------------------------
    @property
    def layerspec(self) -> list[tuple]:
        """The layers as ``(width, activation name(s), bias)``, for saving results."""
        return [(lay.width, lay.activation_name, lay.bias) for lay in self.layers]

    def __repr__(self) -> str:
        n = f", N={self.n_samples}" if self._input is not None else ""
        lines = [
            f"Net({self.nparams} parameters, {self.dtype}, Din={self.din}{n}, "
            f"loss={self.loss_type})"
        ]
        for i, (lay, (k, m)) in enumerate(zip(self.layers, self.shapes), 1):
            act = lay.activation_name
            act = act if isinstance(act, str) else "(" + ", ".join(act) + ")"
            b = "with" if lay.bias else "without"
            lines.append(
                f"  layer {i}: {k} neuron{'s' if k > 1 else ''}, {act}, {b} bias"
                f"  # {k * m} parameters"
            )
        return "\n".join(lines)


def _is_softmax(act) -> bool:
    return (isinstance(act, str) and act == "softmax") or (
        isinstance(act, Activation) and act.name == "softmax"
    )


def _readonly(a: np.ndarray) -> np.ndarray:
    v = a.view()
    v.flags.writeable = False
    return v


class TeacherNet:
    """A network with fixed parameters, callable on inputs to make targets.

    Parameters
    ----------
    layers : sequence of (width, activation, bias)
        As for :class:`Net`; the last width must be given.
    din : int
        Input dimension.
    params : array, optional
        Flat parameters; drawn with :meth:`Net.random_params` from ``rng`` when missing.
    rng : int or numpy.random.Generator, optional

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> t = mgf.TeacherNet([(4, "softplus", True), (1, "identity", True)], din=2, rng=1)
    >>> t(np.zeros((5, 2))).shape
    (5, 1)
    """

    def __init__(self, layers, *, din: int, params=None, rng=None) -> None:
        self.net = Net(layers, din=din)
        self.params = (
            self.net.random_params(rng)
            if params is None
            else self.net.check_params(params, "params")
        ).copy()

    @property
    def p(self) -> np.ndarray:
        """Alias of ``params`` (the reference's name)."""
        return self.params

    @property
    def layers(self) -> tuple[Layer, ...]:
        return self.net.layers

    @property
    def din(self) -> int:
        return self.net.din

    def __call__(self, input) -> np.ndarray:
        """Teacher output for ``input`` (M, Din): a new (M, Dout) array."""
        return self.net(self.params, input)

    def __repr__(self) -> str:
        return "Teacher" + repr(self.net)


def params(*layers, dtype=np.float64) -> np.ndarray:
    """Flat parameter vector from per-layer ``(W, b)`` pairs (``b=None``: no bias).

    A bare matrix ``W`` means no bias; a mapping ``{"w1": M_1, "w2": M_2, ...}`` (the
    reference's names, ``M_l = [W_l | b_l]``) is read in the order of its layer numbers.

    >>> import numpy as np
    >>> from mlpgradientflow import params
    >>> params((np.ones((2, 3)), np.zeros(2)), (np.ones((1, 2)), None))
    array([1., 1., 1., 0., 1., 1., 1., 0., 1., 1.])
    """
    if not layers:
        raise TypeError("params: give at least one layer, (W, b), W or {'w1': M_1, ...}")
    if len(layers) == 1 and isinstance(layers[0], Mapping):
        d = layers[0]
        keys = sorted(d, key=_layer_number)
        if not keys or [_layer_number(k) for k in keys] != list(range(1, len(keys) + 1)):
            raise ValueError(f"params: keys must be 'w1', 'w2', ... without gaps, got {keys}")
        return np.concatenate([finite_array(k, d[k], ndim=2, dtype=dtype).ravel() for k in keys])
    blocks = []
    for i, item in enumerate(layers):
        if isinstance(item, tuple | list) and len(item) == 2:
            W, b = item
        else:
            W, b = item, None
        W = finite_array(f"layers[{i}] W", W, ndim=2, dtype=dtype)
        if b is None or b is False:
            blocks.append(W)
            continue
        b = np.zeros(W.shape[0], dtype) if b is True else finite_array(
            f"layers[{i}] b", b, ndim=1, dtype=dtype
        )
        if b.shape[0] != W.shape[0]:
            raise ValueError(f"layers[{i}]: bias has {b.shape[0]} entries for {W.shape[0]} rows")
        blocks.append(np.column_stack([W, b]))
    return np.concatenate([B.ravel() for B in blocks])


def _layer_number(key: str) -> int:
    if not (isinstance(key, str) and key.startswith("w") and key[1:].isdigit()):
        raise ValueError(f"params: keys must be 'w1', 'w2', ..., got {key!r}")
    return int(key[1:])


def params2dict(net: Net, p) -> dict[str, np.ndarray]:
    """``{"w1": M_1, ...}``: copies of the per-layer matrices ``[W_l | b_l]`` (reference names)."""
    check_model(net)
    return {f"w{i}": M.copy() for i, M in enumerate(net.unflatten(net.check_params(p)), 1)}
