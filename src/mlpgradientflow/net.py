r"""Networks bound to data: a :class:`~mlpgradientflow.layout.Layout` (the layers and the flat
parameter layout), a :class:`~mlpgradientflow.dataset.Dataset` (inputs, targets, sample
weights) and the derivative :class:`~mlpgradientflow.derivatives.engine.Engine` that
evaluates the one on the other.

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

import numpy as np

from ._validation import check_model, finite_array
from .activations import Activation
from .dataset import Dataset
from .derivatives.engine import Engine
from .layout import Layer, Layout, layer_list, parse_layers

__all__ = ["Layer", "Net", "TeacherNet", "params", "params2dict", "parse_layers"]


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

    A Net is three parts: ``net.layout`` (:class:`~mlpgradientflow.layout.Layout`),
    ``net.data`` (:class:`~mlpgradientflow.dataset.Dataset`, None without data) and a private
    derivative engine. :meth:`with_layout`, :meth:`with_data` and :meth:`batch` make new
    nets from them (keeping the sample weights); a batch shares its parent's engine.

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> net = mgf.Net([(2, "relu", True), (1, "identity", False)], input=X, target=X.sum(1))
    >>> net.nparams, net.n_samples, net.loss_type
    (8, 3, 'mse')
    >>> p = mgf.params((np.eye(2), np.zeros(2)), np.ones((1, 2)))   # relu(x1) + relu(x2)
    >>> net(p).ravel(), net.loss(p)                                 # fits exactly
    (array([1., 1., 2.]), 0.0)
    >>> net.gradient(p).shape, net.hessian(p).shape
    ((8,), (8, 8))
    """

    #: of a :func:`~mlpgradientflow.gauss_hermite_net` only: the estimated relative error of
    #: its target's integrals (other nets do not have the attribute)
    quadrature_error: float

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
            layers = [lay.spec() for lay in old.layers]
        layers = layer_list(layers)
        loss_type = _loss_type(layers[-1], loss)
        if input is None:
            if target is not None or weights is not None:
                raise ValueError("arguments `target`/`weights` need an `input` to go with")
            if din is None:
                raise ValueError("argument `din` is required when no `input` is given")
            data = None
        else:
            data = Dataset(input, target, weights, loss=loss_type)
            if din is not None and din != data.din:
                raise ValueError(f"argument `din`={din} but `input` has {data.din} columns")
            din = data.din
        if isinstance(din, bool) or not isinstance(din, int | np.integer) or din < 1:
            raise ValueError(f"argument `din` must be a positive integer, got {din!r}")
        dout = None if data is None else data.dout
        last = layers[-1]
        if loss_type == "nll" and isinstance(last, Sequence) and last[0] is not None:
            dout = last[0]  # a given softmax width wins over the labels seen
        self._assemble(Layout.from_spec(layers, int(din), dout=dout), data)

    def _assemble(self, layout: Layout, data: Dataset | None, engine: Engine | None = None) -> None:
        if data is not None:
            data.check_width(layout.dout)
        self.layout, self.data = layout, data
        self.dtype = np.dtype(np.float64) if data is None else data.dtype
        self._engine = engine if engine is not None else Engine(layout, self.dtype)

    @classmethod
    def _from_parts(cls, layout: Layout, data: Dataset | None, engine: Engine | None = None) -> Net:
        net = cls.__new__(cls)
        net._assemble(layout, data, engine)  # noqa: SLF001 (own class)
        return net

    # the engine holds scratch memory and raw addresses: it never travels (see Engine)
    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_engine"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._engine = Engine(self.layout, self.dtype)

    def __copy__(self) -> Net:  # a copy gets its own scratch (threads must not share it)
        new = Net._from_parts(self.layout, self.data)
        new.__dict__.update({k: v for k, v in self.__dict__.items()
                             if k not in ("layout", "data", "dtype", "_engine")})
        return new

    # -- new nets from this one -------------------------------------------------------------
    def with_layout(self, layout) -> Net:
        """A net with another layout (a :class:`~mlpgradientflow.layout.Layout` or a layer
        spec) bound to the same data, sample weights included; the ``quadrature_error`` of
        a :func:`~mlpgradientflow.gauss_hermite_net` is kept.

        Examples
        --------
        >>> import numpy as np
        >>> import mlpgradientflow as mgf
        >>> X = np.random.default_rng(0).standard_normal((10, 2))
        >>> net = mgf.Net([(3, "tanh", True), (1, "identity", True)], input=X,
        ...               target=X[:, :1], weights=np.arange(10.0))
        >>> wide = net.with_layout(net.layout.with_layer(0, (5, "tanh", True)))
        >>> wide.layers[0].width, bool(np.array_equal(wide.weights, net.weights))
        (5, True)
        """
        if not isinstance(layout, Layout):
            layout = Layout.from_spec(layout, self.din, dout=self.dout)
        if layout.din != self.din:
            raise ValueError(f"argument `layout` has input dimension {layout.din}, the data "
                             f"{self.din}")
        new = Net._from_parts(layout, self.data)
        if hasattr(self, "quadrature_error"):
            new.quadrature_error = self.quadrature_error
        return new

    def with_layers(self, layers) -> Net:
        """:meth:`with_layout` for a layer spec: new ``layers``, the same data and weights."""
        return self.with_layout(layers)

    def with_data(self, input=None, target=None, weights=None) -> Net:
        """The same layout bound to other data (what is not given is kept, except that new
        input drops the old target and weights): ``input`` (M, Din), ``target`` (M, Dout),
        ``weights`` (M,).

        Examples
        --------
        >>> X = np.array([[0.0], [1.0], [2.0]])
        >>> net = Net([(1, "identity", True)], input=X, target=2 * X)   # h = w x + b
        >>> net.with_data(input=[[3.0]], target=[[0.0]]).loss([1.0, 0.0])  # (3 - 0)^2
        9.0
        """
        if self.data is None:
            return Net(self.layers, input=input, target=target, weights=weights, din=self.din)
        return Net._from_parts(self.layout, self.data.replace(input=input, target=target,
                                                              weights=weights))

    def batch(self, idx) -> Net:
        """The net on the samples ``idx`` only (a minibatch): rows copied, weights kept,
        the engine (its workspaces) shared with this net.

        Examples
        --------
        >>> X = np.array([[0.0], [1.0], [2.0]])
        >>> net = Net([(1, "identity", True)], input=X, target=2 * X)   # h = w x + b
        >>> net.batch([0, 2]).loss([1.0, 0.0])                  # mean((0 - 0)^2, (2 - 4)^2)
        2.0
        """
        if self.data is None:
            raise ValueError("no data bound to this net: nothing to take a batch of")
        return Net._from_parts(self.layout, self.data.subset(idx), self._engine)

    # -- layout -------------------------------------------------------------------------
    layers = property(lambda self: self.layout.layers, doc="The layers (tuple of Layer).")
    din = property(lambda self: self.layout.din, doc="Input dimension.")
    dout = property(lambda self: self.layout.dout, doc="Output width.")
    shapes = property(lambda self: self.layout.shapes, doc="Shapes of the M_l.")
    offsets = property(lambda self: self.layout.offsets, doc="Offsets of the M_l in p.")
    nparams = property(lambda self: self.layout.nparams, doc="Number of parameters P.")
    loss_type = property(lambda self: self.layout.loss_type, doc='"mse" or "nll".')
    layerspec = property(lambda self: self.layout.layerspec,
                         doc="The layers as (width, activation name(s), bias), for results.")

    # -- data ---------------------------------------------------------------------------
    @property
    def input(self) -> np.ndarray | None:
        """The bound input, shape (N, Din) (read-only view)."""
        return None if self.data is None else self.data.input

    @property
    def target(self) -> np.ndarray | None:
        """The bound target (read-only view): (N, Dout), or labels (N,) for softmax."""
        return None if self.data is None else self.data.target

    @property
    def weights(self) -> np.ndarray | None:
        """Per-sample weights (N,), or None (read-only view)."""
        return None if self.data is None else self.data.weights

    @property
    def n_samples(self) -> int:
        """Number of bound samples N (0 when no data is bound)."""
        return 0 if self.data is None else self.data.n_samples

    # -- parameters -----------------------------------------------------------------------
    def unflatten(self, p: np.ndarray) -> list[np.ndarray]:
        """Views :math:`M_l = [W_l | b_l]` of shape ``(k_l, k_{l-1} + bias_l)`` into ``p``."""
        if not isinstance(p, np.ndarray):
            p = np.asarray(p, dtype=self.dtype)
        return self.layout.unflatten(p)

    def random_params(self, rng=None, init: str = "glorot_normal") -> np.ndarray:
        r"""Random parameters: Glorot weights, zero biases (see
        :meth:`Layout.random_params <mlpgradientflow.layout.Layout.random_params>`)."""
        return self.layout.random_params(rng, init, self.dtype)

    def check_params(self, p, name: str = "p") -> np.ndarray:
        """``p`` as a finite flat vector of length ``nparams`` in the net's dtype
        (ValueError naming ``name`` otherwise).

        Examples
        --------
        >>> X = np.array([[0.0], [1.0], [2.0]])
        >>> net = Net([(1, "identity", True)], input=X, target=2 * X)   # h = w x + b
        >>> net.check_params([1, 2])
        array([1., 2.])
        """
        return self.layout.check_params(p, self.dtype, name)

    # -- evaluation ----------------------------------------------------------------------
    def __call__(self, p, input=None) -> np.ndarray:
        """Network output for the bound input or for ``input`` (M, Din): a new (M, Dout) array.

        Softmax outputs are probabilities.

        Examples
        --------
        >>> X = np.array([[0.0], [1.0], [2.0]])
        >>> net = Net([(1, "identity", True)], input=X, target=2 * X)   # h = w x + b
        >>> net([2.0, 1.0]).ravel(), net([2.0, 1.0], [[10.0]])        # 2 x + 1
        (array([1., 3., 5.]), array([[21.]]))
        """
        p = self.check_params(p)
        if input is None:
            if self.data is None:
                raise ValueError("no input is bound to this net; pass `input`")
            X = self.data.arrays()[0]
        else:
            X = finite_array("input", input, ndim=2)
            if X.shape[1] != self.din:
                raise ValueError(
                    f"argument `input` must have {self.din} columns (Din), got shape {X.shape}"
                )
            X = np.ascontiguousarray(X, dtype=self.dtype)
        return self._engine.forward(p, X)

    def _derivs(self, p, order, maxnorm, merge, grad_out=None, hess_out=None, names=None):
        return self._engine.evaluate(self.data, self.check_params(p), order, maxnorm, merge,
                                     grad_out, hess_out, names or ("grad_out", "hess_out"))

    def loss(self, p, *, maxnorm: float = math.inf, merge=None) -> float:
        r"""Mean loss at ``p`` (P,) plus the barrier and merge penalty when given.

        :math:`L(p) = \frac1N\sum_n w_n\ell_n(p)`; ``maxnorm`` :math:`= c` adds
        :math:`(\nu - c)^3/3` where :math:`\nu = \|p\|^2/(2P) > c`; ``merge = (layer, (i,
        j), lam)`` adds :math:`\frac\lambda2\|M_l[i] - M_l[j]\|^2`.

        Examples
        --------
        >>> X = np.array([[0.0], [1.0], [2.0]])
        >>> net = Net([(1, "identity", True)], input=X, target=2 * X)   # h = w x + b
        >>> net.loss([1.0, 0.0]), net.loss([1.0, 0.0], maxnorm=0.0)  # 5/3, then + (1/4)^3/3
        (1.6666666666666667, 1.671875)
        """
        return self._derivs(p, 0, maxnorm, merge)[0]

    def gradient(self, p, *, maxnorm: float = math.inf, merge=None, out=None) -> np.ndarray:
        """Gradient of :meth:`loss`, a new array (or ``out``) of length ``nparams``.

        ``out`` (and ``grad_out``/``hess_out`` of :meth:`fg`, :meth:`fgh`) must be a
        writeable C-contiguous array of the net's dtype sharing no memory with ``p``:
        otherwise ValueError.

        Examples
        --------
        >>> X = np.array([[0.0], [1.0], [2.0]])
        >>> net = Net([(1, "identity", True)], input=X, target=2 * X)   # h = w x + b
        >>> net.gradient([1.0, 0.0])              # 2 mean((w - 2) x^2), 2 mean((w - 2) x)
        array([-3.33333333, -2.        ])
        """
        return self._derivs(p, 1, maxnorm, merge, grad_out=out, names=("out", "hess_out"))[1]

    def hessian(self, p, *, maxnorm: float = math.inf, merge=None, out=None) -> np.ndarray:
        """Exact Hessian of :meth:`loss`, a new symmetric (P, P) array (or ``out``).

        Examples
        --------
        >>> X = np.array([[0.0], [1.0], [2.0]])
        >>> net = Net([(1, "identity", True)], input=X, target=2 * X)   # h = w x + b
        >>> net.hessian([1.0, 0.0])               # 2 mean([[x^2, x], [x, 1]])
        array([[3.33333333, 2.        ],
               [2.        , 2.        ]])
        """
        return self._derivs(p, 2, maxnorm, merge, hess_out=out, names=("gradient", "out"))[2]

    def hvp(self, p, v, *, maxnorm: float = math.inf, merge=None, out=None) -> np.ndarray:
        """Exact Hessian-vector product :math:`\\nabla^2 L(p)\\, v` (about two gradients'
        cost, no P x P matrix): for large nets, Krylov solvers and Lanczos spectra.

        Examples
        --------
        >>> X = np.array([[0.0], [1.0], [2.0]])
        >>> net = Net([(1, "identity", True)], input=X, target=2 * X)   # h = w x + b
        >>> net.hvp([1.0, 0.0], [1.0, 0.0])       # the first column of the Hessian
        array([3.33333333, 2.        ])
        """
        p = self.check_params(p)
        v = self.check_params(v, name="v")
        return self._engine.hvp(self.data, p, v, maxnorm, merge, out)

    def fg(self, p, *, maxnorm: float = math.inf, merge=None, grad_out=None):
        """``(loss, gradient)`` from one pass over the data.

        Examples
        --------
        >>> X = np.array([[0.0], [1.0], [2.0]])
        >>> net = Net([(1, "identity", True)], input=X, target=2 * X)   # h = w x + b
        >>> net.fg([1.0, 0.0])
        (1.6666666666666667, array([-3.33333333, -2.        ]))
        """
        return self._derivs(p, 1, maxnorm, merge, grad_out=grad_out)[:2]

    def fgh(self, p, *, maxnorm: float = math.inf, merge=None, grad_out=None, hess_out=None):
        """``(loss, gradient, Hessian)`` from one pass over the data.

        Examples
        --------
        >>> X = np.array([[0.0], [1.0], [2.0]])
        >>> net = Net([(1, "identity", True)], input=X, target=2 * X)   # h = w x + b
        >>> L, g, H = net.fgh([2.0, 0.0])         # the minimum
        >>> L, g, H.shape
        (0.0, array([0., 0.]), (2, 2))
        """
        return self._derivs(p, 2, maxnorm, merge, grad_out, hess_out)

    # -- description ------------------------------------------------------------------------
    def __repr__(self) -> str:
        n = f", N={self.n_samples}" if self.data is not None else ""
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


def _loss_type(last, loss) -> str:
    """The loss of an output layer entry: NLL for softmax, MSE otherwise (``loss`` checked)."""
    if isinstance(last, Sequence) and not isinstance(last, str) and len(last) == 3:
        last_act = last[1]
    else:
        last_act = getattr(last, "activation", None)  # a Layer, or checked later
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
    return "nll" if is_softmax else "mse"


def _is_softmax(act) -> bool:
    return (isinstance(act, str) and act == "softmax") or (
        isinstance(act, Activation) and act.name == "softmax"
    )


class TeacherNet:
    """A network with fixed parameters, callable on inputs to make targets.

    Parameters
    ----------
    layers : sequence of (width, activation, bias)
        As for :class:`Net`; the last width must be given.
    din : int
        Input dimension (or give ``input``).
    params : array, shape (P,), optional
        Flat parameters; drawn with :meth:`Net.random_params` from ``rng`` when missing.
    rng : int or numpy.random.Generator, optional
    input : array (N, Din), optional
        As the reference's ``TeacherNet(layers=..., input=X)``: gives ``din``, and
        ``teacher.input``/``teacher.target`` hold ``X`` and ``teacher(X)``.

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> t = mgf.TeacherNet([(4, "softplus", True), (1, "identity", True)], din=2, rng=1)
    >>> t(np.zeros((5, 2))).shape
    (5, 1)
    >>> t2 = mgf.TeacherNet([(4, "softplus", True), (1, "identity", True)], input=np.ones((3, 2)))
    >>> t2.din, t2.target.shape
    (2, (3, 1))
    """

    def __init__(self, layers, *, din: int | None = None, params=None, rng=None,
                 input=None) -> None:
        self.input = self.target = None
        if input is not None:
            data = Dataset(input)
            if din is not None and din != data.din:
                raise ValueError(f"argument `din` ({din}) differs from the input's "
                                 f"dimension ({data.din})")
            din = data.din
        if din is None:
            raise TypeError("TeacherNet: give `din` or `input`")
        self.net = Net(layers, din=din)
        self.params = (
            self.net.random_params(rng)
            if params is None
            else self.net.check_params(params, "params")
        ).copy()
        if input is not None:
            self.input = data.input
            self.target = self(self.input)

    @property
    def p(self) -> np.ndarray:
        """Alias of ``params`` (the reference's name)."""
        return self.params

    @property
    def layers(self) -> tuple[Layer, ...]:
        """The teacher's layers (tuple of Layer)."""
        return self.net.layers

    @property
    def din(self) -> int:
        """Input dimension."""
        return self.net.din

    def __call__(self, input) -> np.ndarray:
        """Teacher output for ``input`` (M, Din): a new (M, Dout) array."""
        return self.net(self.params, input)

    def __repr__(self) -> str:
        return "Teacher" + repr(self.net)


def params(*layers, dtype=np.float64) -> np.ndarray:
    r"""Flat parameter vector from per-layer ``(W, b)`` pairs (``b=None``: no bias).

    A bare matrix ``W`` means no bias; a mapping ``{"w1": M_1, "w2": M_2, ...}`` (the
    reference's names, ``M_l = [W_l | b_l]``) is read in the order of its layer numbers.

    Parameters
    ----------
    *layers : (W, b), W, or one mapping {"w1": M_1, ...}
        Per layer, ``W`` of shape (k_l, k_{l-1}) and ``b`` of shape (k_l,), ``None`` (no
        bias) or ``True`` (zero bias).
    dtype : numpy dtype, optional
        Of the result (default float64).

    Returns
    -------
    ndarray, shape (P,)
        The rows of :math:`M_l = [W_l \mid b_l]` one after the other, layer after layer.

    Examples
    --------
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


def params2dict(net, p=None) -> dict[str, np.ndarray]:
    """``{"w1": M_1, ...}``: copies of the per-layer matrices ``[W_l | b_l]`` (reference names).

    ``params2dict(net, p)``; ``params2dict(res)`` for a TrainResult (its ``x`` and layer
    shapes: the reference's ``params2dict(p)`` of a ComponentArray). A bare flat vector
    does not know its layer shapes: pass the net.

    Parameters
    ----------
    net : Net or TrainResult
        Gives the layer shapes (a TrainResult also gives ``p``).
    p : array, shape (P,), optional
        Flat parameters; required with a Net.

    Returns
    -------
    dict of str to ndarray
        ``"w{l}"`` -> :math:`M_l` of shape ``(k_l, k_{l-1} + bias_l)`` (a copy).

    Examples
    --------
    >>> import numpy as np, mlpgradientflow as mgf
    >>> net = mgf.Net([(2, "tanh", True), (1, "identity", False)], din=1)
    >>> {k: v.shape for k, v in params2dict(net, np.arange(6.0)).items()}
    {'w1': (2, 2), 'w2': (1, 2)}
    """
    if p is None:
        if isinstance(net, Net) or not callable(getattr(net, "params2dict", None)):
            raise TypeError("params2dict: a flat vector does not know its layer shapes; "
                            "call params2dict(net, p) or net.params2dict(p)")
        return net.params2dict()  # a TrainResult: its x in its layer shapes
    check_model(net)
    return {f"w{i}": M.copy() for i, M in enumerate(net.unflatten(net.check_params(p)), 1)}
