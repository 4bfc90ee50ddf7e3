r"""Flat channels to infinity (Martinelli, van Meegen, Şimşek, Gerstner, Brea; NeurIPS 2025).

A *channel* is a gradient-flow end state of a one-hidden-layer network in which two (or
more) neurons get ever closer incoming vectors, :math:`w_i - w_j \to 0`, and ever larger
outgoing weights of opposite signs, :math:`|a_i| + |a_j| \to \infty`, :math:`a_i a_j < 0`.
The loss keeps decreasing towards the loss of a network with a gated linear unit (GLU) in
place of the pair; the channel runs parallel to a saddle line of duplicated neurons
(Fukumizu & Amari 2000). This module detects channels (:func:`find_channels`) and decides
the stability of the saddle line a neuron would create (:func:`saddle_line_stability`);
:func:`glu_readout` gives the limit landscape (the best GLU for a given gate). The GLU
reparametrisation, the jump procedure and the limit function live in
:mod:`mlpgradientflow.theory.glu` and are re-exported here.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import orth
from scipy.sparse.csgraph import connected_components

from .._validation import finite_array
from ..activations import Activation, get_activation
from .glu import (
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

__all__ = [
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


def _is_odd(act: Activation) -> bool:
    r"""Whether :math:`\sigma(-z) = -\sigma(z)` (checked on a grid): then neuron
    :math:`(w, a)` equals :math:`(-w, -a)`."""
    z = np.linspace(0.1, 4.0, 14)
    return bool(np.allclose(act(-z), -act(z), rtol=1e-12, atol=1e-14))


def flip_sign(net, p, j: int) -> np.ndarray:
    r"""Replace neuron ``j``'s :math:`(w_j, a_j)` by :math:`(-w_j, -a_j)`: the same network
    for an odd activation (erf, tanh, ...). Channels of odd activations may pair
    :math:`w_i \approx -w_j`; flip ``j`` before :func:`glu_limit`.

    Examples
    --------
    >>> import mlpgradientflow as mgf
    >>> net = mgf.Net([(2, "erf", False), (1, "identity", False)], din=1)
    >>> flip_sign(net, [0.9, -1.1, 50.0, 48.0], 1).tolist()
    [0.9, 1.1, 50.0, -48.0]
    """
    _check_two_layer(net)
    j = _check_neuron(net, j, "j")
    act = _neuron_activation(net, j)
    if not _is_odd(act):
        raise ValueError(f"flip_sign: neuron {j}'s activation {act.name!r} is not odd")
    q = np.array(net.check_params(p), dtype=float)
    M1, M2 = net.unflatten(q)
    M1[j] *= -1
    M2[:, j] *= -1
    return q


def _trajectory_x(res) -> np.ndarray:
    """The (T, P) states of a TrainResult, a Trajectory or an array."""
    x = getattr(getattr(res, "trajectory", res), "x", res)
    return np.asarray(x, dtype=float)


def late_update_fraction(net, trajectory, neurons, *, n_last: int = 50) -> float:
    r"""Mean fraction of the late parameter updates that lies in the channel subspace.

    For the last ``n_last`` steps :math:`\Delta\theta_t = \theta_{t+1} - \theta_t` of the
    saved trajectory, the mean of :math:`\|\Pi\Delta\theta_t\| / \|\Delta\theta_t\|`
    (steps with :math:`\Delta\theta_t = 0` skipped). The projector :math:`\Pi` keeps the
    outgoing weights of ``neurons`` and projects each of their incoming vectors onto
    :math:`\mathrm{span}\{w_k\}_{k \in \text{neurons}}` (the paper's
    :math:`W_c(W_c^\top W_c)^{-1}W_c^\top`, here through an orthonormal basis, which stays
    accurate for nearly parallel :math:`w_k`); it zeroes every other parameter. The span is
    taken at the last saved state (the paper does not say where).

    Parameters
    ----------
    net : Net or NetI
        One hidden layer.
    trajectory : TrainResult, Trajectory or array (T, P)
    neurons : sequence of int
    n_last : int
        Number of late updates (the paper: 50).

    Returns
    -------
    float
        In [0, 1]; NaN when all late updates vanish.

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> net = mgf.Net([(2, "erf", True), (1, "identity", False)], din=2)
    >>> p = net.random_params(0)
    >>> path = np.array([jump(net, p, 0, 1, 2.0**t) for t in range(4)])
    >>> round(late_update_fraction(net, path, [0, 1]), 12)
    1.0
    """
    _check_two_layer(net)
    neurons = [_check_neuron(net, k, "neurons") for k in neurons]
    x = _trajectory_x(trajectory)
    if x.ndim != 2 or x.shape[1] != net.nparams or len(x) < 2:
        raise ValueError(
            f"argument `trajectory` must hold at least 2 states of length {net.nparams}, "
            f"got shape {x.shape}"
        )
    if isinstance(n_last, bool) or not isinstance(n_last, int) or n_last < 1:
        raise ValueError(f"argument `n_last` must be a positive integer, got {n_last!r}")
    d = np.diff(x[-(n_last + 1) :], axis=0)
    k, (dout, m) = net.shapes[0][1], net.shapes[1]
    U = orth(net.unflatten(x[-1])[0][neurons].T)  # (k, rank)
    proj = np.zeros_like(d)
    for n in neurons:
        sl = slice(net.offsets[0] + n * k, net.offsets[0] + (n + 1) * k)
        proj[:, sl] = d[:, sl] @ U @ U.T
    out = net.offsets[1] + np.arange(dout)[:, None] * m + np.asarray(neurons)
    proj[:, out.ravel()] = d[:, out.ravel()]
    norm = np.linalg.norm(d, axis=1)
    moving = norm > 0
    if not moving.any():
        return float("nan")
    return float(np.mean(np.linalg.norm(proj[moving], axis=1) / norm[moving]))


def find_channels(
    net,
    p,
    res=None,
    *,
    min_outgoing_norm: float = 100.0,
    max_cosine_distance: float = 1e-3,
    min_late_fraction: float = 0.9,
    n_last: int = 50,
    signs: bool | None = None,
) -> list[dict]:
    r"""Channels at ``p``, by the three criteria of the paper (App. B.3).

    1. **Large outgoing weights of opposite signs**: :math:`\sum_{k} \|a_k\| >`
       ``min_outgoing_norm`` over the group, and two of its neurons with
       :math:`a_k \cdot a_l < 0`.
    2. **Parallel incoming vectors**: neurons are grouped transitively over the pairs with
       cosine distance :math:`1 - \cos(w_k, w_l) <` ``max_cosine_distance`` (the paper uses
       :math:`10^{-3}` for its statistics, :math:`10^{-2}` in exploratory plots); a group of
       three or more is a multi-neuron channel. The incoming vectors include the bias.
    3. **Late updates along the channel** (only when the training result ``res`` is
       given): :func:`late_update_fraction` over the last ``n_last`` saved steps exceeds
       ``min_late_fraction``. Without ``res`` this criterion is skipped, and a channel is
       any group that meets 1 and 2 (a point cannot tell a channel from a large finite
       minimum; the trajectory can).

    Choices where the paper is silent: criterion 1 thresholds the group's outgoing weights,
    as the channel's definition does; the paper's statistics threshold the weight norm of
    the whole network, :math:`\sum\theta^2/(2P) > 10^3`, reported here as ``weightnorm``.
    For odd activations (``signs=None`` detects them; erf, tanh) neuron :math:`(w, a)`
    equals :math:`(-w, -a)`, so criterion 2 uses :math:`1 - |\cos|` and the outgoing
    weights of neurons with :math:`\cos < 0` are flipped before criterion 1; ``signs`` gives
    the flips, to apply with :func:`flip_sign` before :func:`glu_limit`.

    Parameters
    ----------
    net : Net or NetI
        One hidden layer, identity output.
    p : array (P,)
    res : TrainResult, Trajectory or array (T, P), optional
        The training run that ended at ``p``.

    Returns
    -------
    list of dict
        One per channel, largest outgoing norm first: ``neurons`` (tuple of int),
        ``signs`` (tuple of +1/-1), ``outgoing_norm``, ``cosine_distance`` (largest within
        the group), ``eps`` (half the largest distance between the sign-corrected incoming
        vectors; :math:`\varepsilon` of :func:`glu_limit` for a pair),
        ``late_update_fraction`` (None without ``res``) and ``weightnorm``.

    Examples
    --------
    >>> import mlpgradientflow as mgf
    >>> net = mgf.Net([(3, "softplus", True), (1, "identity", True)], din=2)
    >>> p = net.random_params(0)
    >>> glu = {"w": [1.0, -0.5, 0.2], "delta": [0.6, 0.8, 0.0], "a": [1.5], "c": [0.3]}
    >>> q = place_on_channel(net, p, 0, 2, glu, 1e-3)
    >>> [ch["neurons"] for ch in find_channels(net, q)], find_channels(net, p)
    ([(0, 2)], [])
    """
    _check_two_layer(net)
    for name, val in (
        ("min_outgoing_norm", min_outgoing_norm),
        ("max_cosine_distance", max_cosine_distance),
    ):
        if not (isinstance(val, int | float) and np.isfinite(val) and val >= 0):
            raise ValueError(f"argument `{name}` must be a finite number >= 0, got {val!r}")
    p = net.check_params(p)
    M1, M2 = net.unflatten(p)
    r = net.layers[0].width
    A = M2[:, :r]
    if signs is None:
        signs = all(_is_odd(act) for act, _, _ in net.layers[0].groups)
    norms = np.linalg.norm(M1, axis=1)
    live = norms > 0  # a zero incoming vector has no direction
    U = np.where(live[:, None], M1, 0.0) / np.where(live, norms, 1.0)[:, None]
    C = U @ U.T
    D = 1.0 - (np.abs(C) if signs else C)
    close = (D < max_cosine_distance) & np.outer(live, live)
    np.fill_diagonal(close, False)
    n_groups, label = connected_components(close, directed=False)
    channels = []
    for g in range(n_groups):
        group = np.flatnonzero(label == g)
        if len(group) < 2:
            continue
        s = np.where(C[group[0], group] < 0, -1, 1) if signs else np.ones(len(group), int)
        a_eff = A[:, group] * s
        outgoing = float(np.linalg.norm(a_eff, axis=0).sum())
        opposite = bool(((a_eff.T @ a_eff) < 0).any())
        if outgoing <= min_outgoing_norm or not opposite:
            continue
        late = (
            None if res is None else late_update_fraction(net, res, group.tolist(), n_last=n_last)
        )
        if late is not None and not late > min_late_fraction:
            continue
        W = M1[group] * s[:, None]
        channels.append(
            {
                "neurons": tuple(int(k) for k in group),
                "signs": tuple(int(v) for v in s),
                "outgoing_norm": outgoing,
                "cosine_distance": float(D[np.ix_(group, group)].max()),
                "eps": float(np.linalg.norm(W[:, None] - W[None], axis=2).max() / 2),
                "late_update_fraction": late,
                "weightnorm": float(p @ p / (2 * p.size)),
            }
        )
    return sorted(channels, key=lambda ch: -ch["outgoing_norm"])


def saddle_line_stability(net, p, i: int, *, tol: float = 1e-8) -> dict:
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
    dict
        ``B`` (k, k) with ``k = Din + bias``, its ``eigenvalues`` (ascending), ``verdict``.

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> X = np.linspace(-3, 3, 61)[:, None]
    >>> net = mgf.Net([(1, "tanh", False), (1, "identity", False)], input=X, target=np.sin(X))
    >>> res = mgf.train(net, [1.0, 1.0], maxtime_ode=1, maxtime_optim=1, verbosity=0)
    >>> st = saddle_line_stability(net, res.x, 0)
    >>> st["B"].round(5).tolist(), st["verdict"]
    ([[0.00742]], 'plateau of minima')
    """
    _check_two_layer(net)
    i = _check_neuron(net, i)
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
    return {"B": B, "eigenvalues": ev, "verdict": verdict}


def glu_readout(X, y, w, activation, *, weights=None) -> dict:
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
    dict
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
    act = get_activation(activation)
    Xt = _tilde(X, w.size)
    z = Xt @ w
    F = np.column_stack([act(z), Xt * act.deriv(z)[:, None]])  # features (N, 1 + k)
    sq = np.sqrt(om / len(X))[:, None]
    coef = np.linalg.lstsq(sq * F, sq * y, rcond=None)[0]  # (1 + k, Dout)
    r = F @ coef - y
    return {
        "w": w,
        "c": coef[0],
        "v": coef[1:].T,
        "loss": float((om * (r * r).sum(axis=1)).mean()),
    }
