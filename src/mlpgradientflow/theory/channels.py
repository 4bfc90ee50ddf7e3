r"""Flat channels to infinity (Martinelli, van Meegen, Şimşek, Gerstner, Brea; NeurIPS 2025).

A *channel* is a gradient-flow end state of a one-hidden-layer network in which two (or
more) neurons get ever closer incoming vectors, :math:`w_i - w_j \to 0`, and ever larger
outgoing weights of opposite signs, :math:`|a_i| + |a_j| \to \infty`, :math:`a_i a_j < 0`.
The loss keeps decreasing towards the loss of a network with a gated linear unit (GLU) in
place of the pair; the channel runs parallel to a saddle line of duplicated neurons
(Fukumizu & Amari 2000). This module decides the stability of the saddle line a neuron would
create (:func:`saddle_line_stability`) and gives the limit landscape (:func:`glu_readout`,
the best GLU for a given gate). Detection (:func:`find_channels`), the GLU
reparametrisation, the jump procedure and the limit function sit below training, in
:mod:`mlpgradientflow.endstate` (every training result reports its channel), and are
re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import as_real, finite_array
from ..activations import get_activation
from ..endstate.channels import find_channels, flip_sign, late_update_fraction
from ..endstate.glu import (
    _check_neuron,
    _check_two_layer,
    _neuron_activation,
    _tilde,
    glu_forward,
    glu_limit,
    jump,
    limit_forward,
    limit_loss,
    place_on_channel,
)
from ..records import Record

__all__ = [
    "GLUReadout",
    "SaddleLineStability",
    "find_channels",
    "late_update_fraction",
    "saddle_line_stability",
    "flip_sign",
    "glu_forward",
    "glu_limit",
    "glu_readout",
    "jump",
    "limit_forward",
    "limit_loss",
    "place_on_channel",
]


@dataclass(frozen=True, eq=False)
class SaddleLineStability(Record):
    """The matrix B of a neuron, its eigenvalues and the verdict on its saddle line.

    Returned by :func:`saddle_line_stability`.

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> from mlpgradientflow.theory.channels import saddle_line_stability
    >>> X = np.linspace(-3, 3, 61)[:, None]
    >>> net = mgf.Net([(1, "tanh", False), (1, "identity", False)], input=X, target=np.sin(X))
    >>> res = mgf.train(net, [1.0, 1.0], verbosity=0)
    >>> st = saddle_line_stability(net, res.x, 0)
    >>> list(st), st.B.shape, st.verdict
    (['B', 'eigenvalues', 'verdict'], (1, 1), 'plateau of minima')
    """

    B: np.ndarray
    eigenvalues: np.ndarray
    verdict: str


@dataclass(frozen=True, eq=False)
class GLUReadout(Record):
    """The best output parameters ``c``, ``v`` of one GLU with gate ``w``, and the loss.

    Returned by :func:`glu_readout`; a ``glu`` for :func:`glu_forward`.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpgradientflow.theory.channels import glu_forward, glu_readout
    >>> X = np.linspace(-3, 3, 50)[:, None]
    >>> y = 2 * np.tanh(0.5 * X) + 0.3 * X * (1 - np.tanh(0.5 * X) ** 2)   # a GLU, c = 2, v = 0.3
    >>> r = glu_readout(X, y, [0.5], "tanh")
    >>> list(r), bool(np.allclose(glu_forward(r, X, "tanh"), y))
    (['w', 'c', 'v', 'loss'], True)
    """

    w: np.ndarray
    c: np.ndarray
    v: np.ndarray
    loss: float


def saddle_line_stability(net, p, i: int, *, tol: float = 1e-8) -> SaddleLineStability:
    r"""The matrix :math:`B` of neuron ``i`` and the stability of the saddle line made by
    duplicating it (Fukumizu & Amari 2000, Thm 3; paper App. A.1).

    .. math::

        B = \Big\langle \sigma''(w_i\cdot\tilde x)\, \tilde x\tilde x^\top\,
        a_i \cdot \frac{\partial\ell}{\partial f} \Big\rangle_D,
        \qquad \frac{\partial\ell}{\partial f} = 2(f(x) - y),

    the mean over the net's samples (with its per-sample weights). Duplicating neuron
    ``i`` as :math:`(w_i + (1-\gamma)\delta, \gamma a_i)` and
    :math:`(w_i - \gamma\delta, (1-\gamma) a_i)` changes the loss by
    :math:`\tfrac{\gamma(1-\gamma)}{2}\delta^\top B\delta + O(\|\delta\|^3)`; the line
    :math:`\gamma \in \mathbb R` is a line of critical points when ``p`` is critical. With
    ``p`` a strict local minimum of the narrower net, the verdict reads:

    - ``"plateau of minima"`` (:math:`B \succ 0`): local minima for
      :math:`\gamma \in (0, 1)`, strict saddles outside;
    - ``"strict saddles"`` (:math:`B \prec 0`): strict saddles for
      :math:`\gamma \in (0, 1)`, minima outside :math:`[0, 1]`;
    - ``"indefinite"``: strict saddles for every :math:`\gamma \notin \{0, 1\}`;
    - ``"degenerate"``: an eigenvalue :math:`|\lambda| \le` ``tol`` :math:`\max|\lambda|`
      (and no two of opposite signs); higher orders decide.

    Parameters
    ----------
    net : Net
        One hidden layer, identity output, MSE, with bound data.
    p : array (P,)
        Ideally a critical point.
    i : int
        The neuron to duplicate.
    tol : float
        Relative tolerance for zero eigenvalues.

    Returns
    -------
    SaddleLineStability
        ``B`` (k, k) with ``k = Din + bias``, its ``eigenvalues`` (ascending), ``verdict``.

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> X = np.linspace(-3, 3, 61)[:, None]
    >>> net = mgf.Net([(1, "tanh", False), (1, "identity", False)], input=X, target=np.sin(X))
    >>> res = mgf.train(net, [1.0, 1.0], verbosity=0)
    >>> st = saddle_line_stability(net, res.x, 0)
    >>> st.B.round(5).tolist(), st.verdict
    ([[0.00742]], 'plateau of minima')
    """
    _check_two_layer(net)
    i = _check_neuron(net, i)
    tol = as_real("tol", tol, minimum=0.0)
    if getattr(net, "target", None) is None or getattr(net, "loss_type", None) != "mse":
        raise ValueError("argument `net` must be a Net with bound input and target and MSE loss")
    p = net.check_params(p)
    M1, M2 = net.unflatten(p)
    X = _tilde(np.asarray(net.input, dtype=float), M1.shape[1], "net.input")
    z = X @ M1[i]
    dldf = 2.0 * (net(p) - net.target)  # (N, Dout)
    s = (dldf @ M2[:, i]) * _neuron_activation(net, i).second_deriv(z)
    if net.weights is not None:
        s = s * net.weights
    B = (X * s[:, None]).T @ X / len(X)
    B = (B + B.T) / 2
    ev = np.linalg.eigvalsh(B)
    cut = tol * max(float(np.abs(ev).max()), np.finfo(float).tiny)
    pos, neg = bool((ev > cut).any()), bool((ev < -cut).any())
    if pos and neg:
        verdict = "indefinite"
    elif (np.abs(ev) <= cut).any():
        verdict = "degenerate"
    else:
        verdict = "plateau of minima" if pos else "strict saddles"
    return SaddleLineStability(B=B, eigenvalues=ev, verdict=verdict)


def glu_readout(X, y, w, activation, *, weights=None) -> GLUReadout:
    r"""The best output parameters of one GLU with a fixed gate :math:`w`: linear least
    squares

    .. math::

        (c, v) = \arg\min_{c, v}\ \frac1N \sum_n \omega_n
        \| c\,\sigma(w\cdot\tilde x_n) + (v\tilde x_n)\,\sigma'(w\cdot\tilde x_n) - y_n\|^2 .

    When a network is a single channel (the paper's toy, two neurons), the minimum is the
    limit loss :math:`\ell(w, 0)` of the channels with gate :math:`w`. For ``Dout > 1``
    the optimal ``v`` need not be rank one (a single pair gives :math:`v = a\Delta^\top`).

    Parameters
    ----------
    X : array (N, Din)
    y : array (N,) or (N, Dout)
    w : array (k,)
        The gate; ``k = Din + 1`` means a bias (:math:`\tilde x = (x, 1)`).
    activation : str or Activation
    weights : array (N,), optional
        Per-sample weights :math:`\omega_n` (default 1).

    Returns
    -------
    GLUReadout
        ``c`` (Dout,), ``v`` (Dout, k), ``loss`` (float), and ``w``: a ``glu`` for
        :func:`glu_forward`.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.linspace(-3, 3, 50)[:, None]
    >>> y = 2 * np.tanh(0.5 * X) + 0.3 * X * (1 - np.tanh(0.5 * X) ** 2)
    >>> r = glu_readout(X, y, [0.5], "tanh")
    >>> r["c"].round(10).tolist(), r["v"].round(10).tolist(), bool(r["loss"] < 1e-25)
    ([2.0], [[0.3]], True)
    """
    X = finite_array("X", X, ndim=2, dtype=float)
    y = finite_array("y", y, ndim=(1, 2), dtype=float).reshape(len(y), -1)
    w = finite_array("w", w, ndim=1, dtype=float)
    if len(y) != len(X):
        raise ValueError(f"argument `y` has {len(y)} rows but `X` has {len(X)}")
    om = (
        np.ones(len(X))
        if weights is None
        else finite_array("weights", weights, ndim=1, dtype=float)
    )
    if om.shape != (len(X),) or (om < 0).any():
        raise ValueError(f"argument `weights` must be non-negative with shape ({len(X)},)")
    act = get_activation(activation, "activation")
    if act.name == "softmax":
        raise ValueError("argument `activation`: softmax is not an elementwise gate activation")
    Xt = _tilde(X, w.size)
    z = Xt @ w
    F = np.column_stack([act(z), Xt * act.deriv(z)[:, None]])  # features (N, 1 + k)
    sq = np.sqrt(om / len(X))[:, None]
    coef = np.linalg.lstsq(sq * F, sq * y, rcond=None)[0]  # (1 + k, Dout)
    r = F @ coef - y
    return GLUReadout(w=w, c=coef[0], v=coef[1:].T, loss=float((om * (r * r).sum(axis=1)).mean()))
