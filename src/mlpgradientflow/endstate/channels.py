r"""Detecting flat channels to infinity (Martinelli, van Meegen, Şimşek, Gerstner, Brea;
NeurIPS 2025) from a point and, optionally, the trajectory that led to it.

A *channel* is a gradient-flow end state of a one-hidden-layer network in which two (or
more) neurons get ever closer incoming vectors, :math:`w_i - w_j \to 0`, and ever larger
outgoing weights of opposite signs, :math:`|a_i| + |a_j| \to \infty`, :math:`a_i a_j < 0`.
The loss keeps decreasing towards the loss of a network with a gated linear unit (GLU) in
place of the pair (:mod:`.glu`). :func:`find_channels` applies the paper's three criteria;
the end-state classification (:mod:`.classify`) and the training loop's channel stop use
it. The theory around it (saddle-line stability, the best GLU for a gate) lives in
:mod:`mlpgradientflow.theory.channels`, which re-exports these functions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import orth
from scipy.sparse.csgraph import connected_components

from ..activations import Activation, symmetry
from ..records import Record
from .glu import _check_neuron, _check_two_layer, _neuron_activation

__all__ = ["Candidate", "ChannelWatch", "find_channels", "late_update_fraction", "flip_sign", "is_odd"]


def is_odd(act: Activation) -> bool:
    r"""Whether :math:`\sigma(-z) = -\sigma(z)` (the activation's declared symmetry): then
    neuron :math:`(w, a)` equals :math:`(-w, -a)`.

    Parameters
    ----------
    act : str or Activation
        The activation.

    Returns
    -------
    bool
        True for the ``"odd"`` symmetry class (identity, tanh, erf, cube, odd polynomials).

    Examples
    --------
    >>> from mlpgradientflow.endstate import is_odd
    >>> is_odd("erf"), is_odd("tanh"), is_odd("softplus"), is_odd("sigmoid")
    (True, True, False, False)
    """
    return symmetry(act) == "odd"


def flip_sign(net, p, j: int) -> np.ndarray:
    r"""Replace neuron ``j``'s :math:`(w_j, a_j)` by :math:`(-w_j, -a_j)`: the same network
    for an odd activation (erf, tanh, ...). Channels of odd activations may pair
    :math:`w_i \approx -w_j`; flip ``j`` before :func:`glu_limit`.

    Parameters
    ----------
    net : Net
        One hidden layer; neuron ``j`` must have an odd activation.
    p : array, shape (P,)
        Flat parameters (not changed).
    j : int
        The hidden neuron, 0-based.

    Returns
    -------
    ndarray, shape (P,)
        A copy of ``p`` with row ``j`` of :math:`M_1` and column ``j`` of :math:`M_2`
        negated.

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
    if not is_odd(act):
        raise ValueError(f"flip_sign: neuron {j}'s activation {act.name!r} is not odd")
    q = np.array(net.check_params(p), dtype=float)
    M1, M2 = net.unflatten(q)
    M1[j] *= -1
    M2[:, j] *= -1
    return q


def _trajectory_x(res) -> np.ndarray:
    """The (T, P) states of a TrainResult, a Trajectory, a ``(t, x)`` pair or an array."""
    x = getattr(getattr(res, "trajectory", res), "x", res)
    if isinstance(x, tuple) and len(x) == 2 and np.ndim(x[1]) == 2:
        x = x[1]  # (times, states)
    try:
        return np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise TypeError("argument `trajectory` must be a TrainResult, a Trajectory, a (t, x) "
                        f"pair or an array (T, P), got {type(res).__name__}") from None


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
    >>> from mlpgradientflow.endstate.glu import jump
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
) -> list[Candidate]:
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
    min_outgoing_norm : float, optional
        Criterion 1 threshold on :math:`\sum_k \|a_k\|` (default 100).
    max_cosine_distance : float, optional
        Criterion 2 threshold (default :math:`10^{-3}`).
    min_late_fraction : float, optional
        Criterion 3 threshold (default 0.9).
    n_last : int, optional
        Saved steps criterion 3 looks at (default 50).
    signs : bool or None, optional
        Pair :math:`w` with :math:`-w` (odd activations); None detects it.

    Returns
    -------
    list of Candidate
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
    >>> from mlpgradientflow.endstate.glu import place_on_channel
    >>> q = place_on_channel(net, p, 0, 2, glu, 1e-3)
    >>> [ch.neurons for ch in find_channels(net, q)], find_channels(net, p)
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
        signs = all(is_odd(act) for act, _, _ in net.layers[0].groups)
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
        channels.append(Candidate(
            neurons=tuple(int(k) for k in group), signs=tuple(int(v) for v in s),
            outgoing_norm=outgoing, cosine_distance=float(D[np.ix_(group, group)].max()),
            eps=float(np.linalg.norm(W[:, None] - W[None], axis=2).max() / 2),
            late_update_fraction=late, weightnorm=float(p @ p / (2 * p.size))))
    return sorted(channels, key=lambda ch: -ch.outgoing_norm)


@dataclass(frozen=True, eq=False)
class Candidate(Record):
    """A group of neurons that meets the channel criteria (see :func:`find_channels`)."""

    neurons: tuple[int, ...]
    signs: tuple[int, ...]
    outgoing_norm: float
    cosine_distance: float
    eps: float
    late_update_fraction: float | None
    weightnorm: float


class ChannelWatch:
    """Watch a run's states for a channel, cheaply, as they come (the training loop's
    detector).

    Every ``every``-th state, criteria 1 and 2 of :func:`find_channels` are tested on the
    weights (a few small matrix products); when they hold, criterion 3 is tested on the last
    ``window`` updates. :meth:`update` returns the channel's neurons once all three hold
    (the channel is *established*), else None. :meth:`states` gives the recent states, the
    trajectory with which the end state is classified.

    A model that cannot have channels in this sense (more than one hidden layer, a
    non-identity output) is never reported.

    Parameters
    ----------
    model : Net or NetI
        The model being trained.
    window : int, optional
        Number of recent updates criterion 3 looks at (default 50).
    every : int, optional
        Test every ``every``-th state (default 10).

    Examples
    --------
    A path that jumps along a channel (:func:`~mlpgradientflow.endstate.glu.jump`) is
    reported once ``window`` updates are seen:

    >>> import mlpgradientflow as mgf
    >>> from mlpgradientflow.endstate import ChannelWatch
    >>> from mlpgradientflow.endstate.glu import jump, place_on_channel
    >>> net = mgf.Net([(3, "softplus", True), (1, "identity", True)], din=2)
    >>> glu = {"w": [1.0, -0.5, 0.2], "delta": [0.6, 0.8, 0.0], "a": [1.5], "c": [0.3]}
    >>> x = place_on_channel(net, net.random_params(0), 0, 2, glu, 1e-3)
    >>> watch, found = ChannelWatch(net, window=3, every=1), []
    >>> for _ in range(5):
    ...     found.append(watch.update(x))
    ...     x = jump(net, x, 0, 2, 2.0)
    >>> found, watch.states().shape
    ([None, None, None, (0, 2), (0, 2)], (4, 13))
    """

    def __init__(self, model, *, window: int = 50, every: int = 10) -> None:
        layers = getattr(model, "layers", None)
        self.active = (layers is not None and len(layers) == 2
                       and layers[1].activation_name == "identity")
        self.model, self.window, self.every = model, int(window), int(every)
        self._states: list[np.ndarray] = []
        self._count = 0

    def update(self, x) -> tuple[int, ...] | None:
        """Record the state ``x`` (P,); the channel's neurons once it is established, else None."""
        if not self.active:
            return None
        self._states.append(np.array(x, dtype=float, copy=True))
        if len(self._states) > self.window + 1:
            del self._states[0]
        self._count += 1
        if self._count % self.every or len(self._states) < self.window + 1:
            return None
        found = find_channels(self.model, self._states[-1], np.array(self._states),
                              n_last=self.window)
        return found[0].neurons if found else None

    def states(self) -> np.ndarray | None:
        """The last ``window + 1`` states (None before two were seen)."""
        return np.array(self._states) if len(self._states) >= 2 else None
