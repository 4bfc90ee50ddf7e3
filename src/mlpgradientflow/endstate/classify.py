r"""Where a run ended: a minimum, a saddle, a flat channel, or nowhere yet.

:func:`end_state` classifies any point of any model (``Net``, ``NetI``, Gauss–Hermite
nets), and every :class:`~mlpgradientflow.TrainResult` carries the classification of its
end point as ``res.end_state``. The rules, in this order:

1. **Channel.** For a network with one hidden layer and an identity output, the criteria of
   :func:`~mlpgradientflow.endstate.channels.find_channels` (neurons with parallel incoming
   vectors, cosine distance below :math:`10^{-3}`, and large outgoing weights of opposite
   signs, summed norm above 100; with a trajectory also: more than 90 % of the late updates
   along the channel). A channel is not a critical point: its loss keeps falling towards the
   loss of the GLU limit, which is reported (:class:`ChannelState`).
2. **Critical point.** The point is critical when
   :math:`\|\nabla L\|_\infty \le g_{tol} = \max(\texttt{min\_gnorm}, \delta_g)`, with
   :math:`\delta_g` the noise floor of the gradient there (:func:`.noise_floor`), or when its
   loss is zero to the resolution of the evaluation (:math:`L \le \max(\texttt{minloss},
   \delta_L)`; a zero-loss point is a global minimum). Then the exact Hessian's eigenvalues
   are counted: an eigenvalue is zero when :math:`|\lambda| \le \texttt{zero\_tol} \cdot
   \max_i|\lambda_i|` (relative to the spectrum; the default :math:`10^{-9}` sits far above
   the :math:`\sim 10^{-16}\max|\lambda|` of exact null directions and below the smallest
   genuine curvatures of the package's test problems, about :math:`10^{-8}\max|\lambda|`).
   Any negative eigenvalue makes it a **saddle**, otherwise a **minimum** (``n_zero > 0``
   then flags a degenerate minimum, where higher orders could still decide).
3. Otherwise **not converged**; Morse counts are ``None``.

Cost: one loss-and-gradient, :data:`~.noise.N_PERTURBATIONS` more for the noise floor, and
at critical points one Hessian plus ``eigvalsh``.
"""

from __future__ import annotations

import enum
import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from .._validation import NonFiniteError
from .channels import find_channels, flip_sign
from .glu import GLULimit, glu_limit, limit_loss
from .morse import MorseCounts, morse_index
from .noise import NoiseFloor, noise_floor

__all__ = ["EndKind", "EndState", "ChannelState", "end_state", "ZERO_TOL"]

#: default relative tolerance for zero Hessian eigenvalues
ZERO_TOL = 1e-9


class EndKind(enum.StrEnum):
    """What a point is: compare with plain strings, ``state.kind == "minimum"``.

    The ``kind`` of the :class:`EndState` returned by :func:`end_state`.

    Examples
    --------
    >>> from mlpgradientflow.endstate import EndKind
    >>> EndKind("saddle"), EndKind.NOT_CONVERGED == "not converged", str(EndKind.CHANNEL)
    (<EndKind.SADDLE: 'saddle'>, True, 'channel')
    """

    MINIMUM = "minimum"
    SADDLE = "saddle"
    CHANNEL = "channel"
    NOT_CONVERGED = "not converged"


@dataclass(frozen=True)
class ChannelState:
    r"""A flat channel and its GLU limit (see :mod:`mlpgradientflow.endstate.glu`).

    Made by :func:`end_state` as ``EndState.channel`` when the point lies on a channel.

    Examples
    --------
    A point placed on a channel at :math:`\varepsilon = 10^{-3}`
    (:func:`~mlpgradientflow.endstate.glu.place_on_channel`): the loss is within
    :math:`O(\varepsilon^2)` of the GLU limit's.

    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> from mlpgradientflow.endstate.glu import place_on_channel
    >>> X = np.random.default_rng(0).standard_normal((50, 2))
    >>> net = mgf.Net([(3, "softplus", True), (1, "identity", True)], input=X, target=X[:, :1])
    >>> glu = {"w": [1.0, -0.5, 0.2], "delta": [0.6, 0.8, 0.0], "a": [1.5], "c": [0.3]}
    >>> q = place_on_channel(net, net.random_params(0), 0, 2, glu, 1e-3)
    >>> ch = mgf.end_state(net, q).channel
    >>> ch.neurons, round(ch.eps, 9), bool(0 < ch.loss_gap < 1e-6)
    ((0, 2), 0.001, True)

    Attributes
    ----------
    neurons : tuple of int
        The neurons of the channel (two for a pair, more for a multi-neuron channel).
    pair : tuple of int
        The pair whose limit is reported: the two neurons of a pair; for more neurons, the
        two with the largest outgoing weights of opposite signs.
    signs : tuple of int
        Sign flips of ``neurons`` (odd activations pair :math:`w_i \approx -w_j`).
    direction : ndarray (k,)
        :math:`\Delta`, the unit vector along which the pair's incoming vectors differ.
    eps : float
        :math:`\varepsilon = \|w_i - w_j\|/2`: how far along the channel the point is
        (:math:`\to 0` at its end, where the outgoing weights grow like :math:`1/\varepsilon`).
    glu : GLULimit
        The limit unit :math:`c\,\sigma(w\cdot\tilde x) + (v\tilde x)\,\sigma'(w\cdot\tilde x)`:
        ``w``, ``delta``, ``eps``, ``a``, ``c``, ``v`` as :func:`~.glu.glu_limit` returns.
    limit_loss : float or None
        The loss of the network with the pair replaced by its GLU (the channel's infimum);
        None when the model has no bound data (``NetI``) or the channel has more than two
        neurons.
    loss_gap : float or None
        ``loss - limit_loss``: what is left to gain along the channel (:math:`\propto
        \varepsilon^2`).
    outgoing_norm, cosine_distance : float
        Criteria 1 and 2 of the detection.
    late_update_fraction : float or None
        Criterion 3 (None without a trajectory).
    """

    neurons: tuple[int, ...]
    pair: tuple[int, int]
    signs: tuple[int, ...]
    direction: np.ndarray
    eps: float
    glu: GLULimit
    limit_loss: float | None
    loss_gap: float | None
    outgoing_norm: float
    cosine_distance: float
    late_update_fraction: float | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["direction"] = self.direction.tolist()
        d["glu"] = {k: np.asarray(v).tolist() for k, v in self.glu.items()}
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ChannelState:
        d = dict(d)
        d["direction"] = np.asarray(d["direction"], dtype=float)
        glu: dict[str, Any] = {k: (float(v) if k == "eps" else np.asarray(v, dtype=float))
                               for k, v in d["glu"].items()}
        d["glu"] = GLULimit(**glu)
        for key in ("neurons", "pair", "signs"):
            d[key] = tuple(d[key])
        return cls(**d)


@dataclass(frozen=True)
class EndState:
    r"""The classification of a point (see the module docstring for the rules).

    Attributes
    ----------
    kind : EndKind
        ``"minimum"``, ``"saddle"``, ``"channel"`` or ``"not converged"``.
    loss : float
        The (regularised) loss at the point.
    gnorm : float
        :math:`\|\nabla L\|_\infty` over the free parameters.
    gtol : float
        The criticality tolerance used, :math:`\max(\texttt{min\_gnorm}, \delta_g)`.
    noise : NoiseFloor
        The noise floor :math:`(\delta_L, \delta_g)` at the point.
    zero_loss : bool
        The loss is zero to the resolution of the evaluation.
    n_negative, n_zero, n_positive : int or None
        Hessian eigenvalue counts; only at critical points (None elsewhere).
    zero_tol : float
        Relative eigenvalue tolerance.
    eig_tol : float or None
        The absolute cut used, ``zero_tol * max|eigenvalue|``.
    min_eigenvalue, max_eigenvalue : float or None
        The extreme Hessian eigenvalues (critical points only).
    channel : ChannelState or None
        The channel, for ``kind == "channel"``.

    Examples
    --------
    Returned by :func:`end_state` and carried by every ``TrainResult`` as ``end_state``:

    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> X = np.linspace(-2, 2, 21)[:, None]
    >>> net = mgf.Net([(1, "tanh", False), (1, "identity", False)], input=X, target=np.tanh(X))
    >>> s = mgf.end_state(net, [1.0, 1.0])            # the teacher itself: zero loss
    >>> s.kind == "minimum", s.critical, s.zero_loss, s.morse
    (True, True, True, MorseCounts(n_negative=0, n_zero=0, n_positive=2))
    >>> mgf.EndState.from_dict(s.to_dict()) == s
    True
    """

    kind: EndKind
    loss: float
    gnorm: float
    gtol: float
    noise: NoiseFloor
    zero_loss: bool = False
    n_negative: int | None = None
    n_zero: int | None = None
    n_positive: int | None = None
    zero_tol: float = ZERO_TOL
    eig_tol: float | None = None
    min_eigenvalue: float | None = None
    max_eigenvalue: float | None = None
    channel: ChannelState | None = field(default=None)

    @property
    def critical(self) -> bool:
        """A minimum or a saddle: critical within the noise floor."""
        return self.kind in (EndKind.MINIMUM, EndKind.SADDLE)

    @property
    def morse(self) -> MorseCounts | None:
        """The Hessian eigenvalue counts at critical points, else None."""
        if self.n_negative is None or self.n_zero is None or self.n_positive is None:
            return None
        return MorseCounts(self.n_negative, self.n_zero, self.n_positive)

    def describe(self) -> str:
        """One line for tables: the kind and what qualifies it."""
        if self.kind == EndKind.CHANNEL:
            ch = self.channel
            assert ch is not None  # a channel end state carries its channel
            gap = "" if ch.loss_gap is None else f", loss - limit {ch.loss_gap:.2g}"
            return f"channel {ch.pair}, eps {ch.eps:.2g}{gap}"
        if self.critical:
            return f"{self.kind} ({self.n_negative}/{self.n_zero}/{self.n_positive})"
        return f"not converged (|g| {self.gnorm:.2g} > {self.gtol:.2g})"

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["kind"] = str(self.kind)
        d["noise"] = self.noise.to_dict()
        d["channel"] = None if self.channel is None else self.channel.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> EndState:
        d = dict(d)
        d["kind"] = EndKind(d["kind"])
        d["noise"] = NoiseFloor(**d["noise"])
        if d.get("channel") is not None:
            d["channel"] = ChannelState.from_dict(d["channel"])
        return cls(**d)


def end_state(
    model,
    p,
    *,
    trajectory=None,
    min_gnorm: float = 1e-15,
    minloss: float = 2e-32,
    zero_tol: float = ZERO_TOL,
    maxnorm: float = math.inf,
    merge=None,
    free: np.ndarray | None = None,
) -> EndState:
    r"""Classify the point ``p`` of ``model``: minimum, saddle, channel or not converged.

    Parameters
    ----------
    model : Model
        A Net, a NetI or any object of the :class:`~mlpgradientflow.Model` protocol.
    p : array (P,)
    trajectory : TrainResult, Trajectory or array (T, P), optional
        The states that led to ``p``: adds the late-update criterion of channels.
    min_gnorm : float
        Requested precision: critical when :math:`\|\nabla L\|_\infty \le
        \max(\texttt{min\_gnorm}, \delta_g)`.
    minloss : float
        Losses up to this (and up to their noise floor) count as zero.
    zero_tol : float
        Relative tolerance for zero Hessian eigenvalues.
    maxnorm, merge
        Regularisers: classify the critical points of the regularised loss.
    free : bool array (P,), optional
        Only these parameters vary (the others are frozen, ``tauinv = 0``): gradient,
        noise floor and Hessian are restricted to them.

    Returns
    -------
    EndState

    Examples
    --------
    A zero-loss point, a point that is not critical, and a symmetry-induced saddle (a
    neuron of a width-1 minimum duplicated with outgoing weights 2a and -a):

    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> X = np.linspace(-2, 2, 41)[:, None]
    >>> net = mgf.Net([(1, "tanh", False), (1, "identity", False)], input=X, target=np.tanh(X))
    >>> mgf.end_state(net, [1.0, 1.0]).kind
    <EndKind.MINIMUM: 'minimum'>
    >>> mgf.end_state(net, [0.5, 1.0]).kind
    <EndKind.NOT_CONVERGED: 'not converged'>
    >>> X2 = np.random.default_rng(0).standard_normal((200, 1))
    >>> one = mgf.Net([(1, "tanh", True), (1, "identity", True)], input=X2, target=np.sin(2 * X2))
    >>> fit = mgf.train(one, [1.0, 0.0, 1.0, 0.0], maxiterations_ode=2000, verbosity=0)
    >>> fit.end_state.kind, fit.end_state.n_negative
    (<EndKind.MINIMUM: 'minimum'>, 0)
    >>> two, q = mgf.landscape.split_neuron(one, fit.x, 0, gamma=2.0)
    >>> s = mgf.end_state(two, q)
    >>> s.kind, s.n_negative > 0
    (<EndKind.SADDLE: 'saddle'>, True)
    """
    p = model.check_params(p) if hasattr(model, "check_params") else np.asarray(p, float)
    free = None if free is None or np.all(free) else np.asarray(free, bool)
    loss, g = model.fg(p, maxnorm=maxnorm, merge=merge)
    gg = g if free is None else g[free]
    gnorm = float(np.abs(gg).max()) if gg.size else 0.0
    try:
        noise = noise_floor(model, p, maxnorm=maxnorm, merge=merge, free=free, base=(loss, g))
    except NonFiniteError:
        noise = NoiseFloor(math.inf, math.inf, 0)
    gtol = max(float(min_gnorm), noise.gradient)
    zero_loss = bool(loss <= max(float(minloss), noise.loss))
    base: dict[str, Any] = dict(loss=float(loss), gnorm=gnorm, gtol=gtol, noise=noise,
                                zero_loss=zero_loss, zero_tol=float(zero_tol))
    channel = _channel(model, p, trajectory, float(loss))
    if channel is not None:
        return EndState(EndKind.CHANNEL, channel=channel, **base)
    if not (gnorm <= gtol or zero_loss):
        return EndState(EndKind.NOT_CONVERGED, **base)
    H = model.fgh(p, maxnorm=maxnorm, merge=merge)[2]
    if free is not None:
        H = H[np.ix_(free, free)]
    ev = np.linalg.eigvalsh(H) if H.size else np.zeros(0)
    scale = float(np.abs(ev).max()) if ev.size else 0.0
    counts = morse_index(ev, zero_tol)
    kind = EndKind.SADDLE if counts.n_negative else EndKind.MINIMUM
    return EndState(kind, **counts, eig_tol=float(zero_tol) * max(scale, np.finfo(float).tiny),
                    min_eigenvalue=float(ev[0]) if ev.size else None,
                    max_eigenvalue=float(ev[-1]) if ev.size else None, **base)


def _channel(model, p, trajectory, loss: float) -> ChannelState | None:
    """The strongest channel at ``p``, or None (also for models that cannot have one)."""
    if not _one_hidden_layer(model):
        return None
    if trajectory is not None and _n_states(trajectory) < 2:
        trajectory = None
    found = find_channels(model, p, trajectory)
    for ch in found:
        if ch.eps == 0.0:  # identical incoming vectors: a saddle line, not a channel
            continue
        q = np.array(p, dtype=float)
        for k, s in zip(ch.neurons, ch.signs):
            if s < 0:
                q = flip_sign(model, q, k)
        i, j = _pair(model, q, ch.neurons)
        glu = glu_limit(model, q, i, j)
        limit = None
        if len(ch.neurons) == 2 and getattr(model, "target", None) is not None:
            limit = limit_loss(model, q, [(i, j)])
        return ChannelState(
            neurons=ch.neurons, pair=(i, j), signs=ch.signs, direction=glu.delta,
            eps=float(glu.eps), glu=glu, limit_loss=limit,
            loss_gap=None if limit is None else loss - limit,
            outgoing_norm=ch.outgoing_norm, cosine_distance=ch.cosine_distance,
            late_update_fraction=ch.late_update_fraction,
        )
    return None


def _pair(model, q, neurons) -> tuple[int, int]:
    """The two neurons of a group with the largest outgoing weights of opposite signs."""
    if len(neurons) == 2:
        return int(neurons[0]), int(neurons[1])
    A = model.unflatten(q)[1][:, : model.layers[0].width]
    best, pair = -1.0, (int(neurons[0]), int(neurons[1]))
    for x in neurons:
        for y in neurons:
            if x < y and float(A[:, x] @ A[:, y]) < 0:
                size = float(np.linalg.norm(A[:, x]) + np.linalg.norm(A[:, y]))
                if size > best:
                    best, pair = size, (int(x), int(y))
    return pair


def _one_hidden_layer(model) -> bool:
    layers = getattr(model, "layers", None)
    return (layers is not None and len(layers) == 2
            and layers[1].activation_name == "identity" and hasattr(model, "unflatten"))


def _n_states(trajectory) -> int:
    x = getattr(getattr(trajectory, "trajectory", trajectory), "x", trajectory)
    return len(np.asarray(x))
