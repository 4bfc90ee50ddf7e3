r"""Phase 1, discrete: gradient descent, momentum, Adam, full batch or minibatches.

A rule is data with two methods (the Optimisers.jl interface): ``init(x) -> state`` and
``apply(state, x, g) -> (state, dx)``; the update is :math:`x \leftarrow x - dx` with
:math:`g = \tau \odot \nabla L_{reg}` on the current batch. Any object with these two
methods can be passed as ``alg``.

Minibatches are reshuffled every epoch (a seeded ``numpy`` generator) and use every
sample: the last batch of an epoch is shorter when ``batchsize`` does not divide N. The
loss, the best point and the stopping rules are evaluated on the full data, once per
epoch (every step for full batches, where it costs nothing). The trajectory holds
log-spaced iterations (the "time" of discrete dynamics is the iteration count).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .flow import PhaseOutcome
from .objective import Objective
from .recorder import TrajectoryRecorder
from .stopping import Stop, StopReason, StopRules

__all__ = ["Descent", "Momentum", "Adam", "discrete_dynamics", "is_rule"]


@dataclass
class Descent:
    r"""Gradient descent, :math:`dx = \eta g`.

    Parameters
    ----------
    eta : float, optional
        Learning rate :math:`\eta` (default 0.1).

    Examples
    --------
    Pass it as ``alg``; on :math:`L(w) = \frac53(w - 2)^2` each step multiplies
    :math:`w - 2` by :math:`1 - \eta\frac{10}{3} = \frac23`:

    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> X = np.array([[0.0], [1.0], [2.0]])
    >>> net = mgf.Net([(1, "identity", False)], input=X, target=2 * X)   # L = 5/3 (w - 2)^2
    >>> res = mgf.train(net, [0.0], alg=mgf.Descent(eta=0.1), maxiterations_ode=20,
    ...                 maxiterations_optim=0, verbosity=0)
    >>> res.x, 2 - 2 * (2 / 3) ** 20
    (array([1.99939854]), 1.9993985426803567)
    """

    eta: float = 0.1

    def init(self, x):
        return None

    def apply(self, state, x, g):
        return state, self.eta * g


@dataclass
class Momentum:
    r"""Heavy ball: :math:`v \leftarrow \rho v + \eta g`, :math:`dx = v`.

    Parameters
    ----------
    eta : float, optional
        Learning rate :math:`\eta` (default 0.01).
    rho : float, optional
        Momentum :math:`\rho` (default 0.9).

    Examples
    --------
    With a constant gradient the steps approach :math:`\eta g/(1 - \rho)`:

    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> rule = mgf.Momentum(eta=0.1, rho=0.5)
    >>> v, steps = rule.init(np.zeros(1)), []
    >>> for _ in range(3):
    ...     v, dx = rule.apply(v, None, np.ones(1))
    ...     steps.append(float(dx[0]))
    >>> steps
    [0.1, 0.15, 0.175]
    """

    eta: float = 0.01
    rho: float = 0.9

    def init(self, x):
        return np.zeros_like(x)

    def apply(self, v, x, g):
        v *= self.rho
        v += self.eta * g
        return v, v.copy()


@dataclass
class Adam:
    r"""Adam (Kingma & Ba 2015): bias-corrected first and second moments,
    :math:`dx = \eta\, \hat m / (\sqrt{\hat v} + \epsilon)`.

    With :math:`m \leftarrow \beta_1 m + (1-\beta_1)g`, :math:`v \leftarrow \beta_2 v +
    (1-\beta_2)g^2`, :math:`\hat m = m/(1-\beta_1^k)`, :math:`\hat v = v/(1-\beta_2^k)` at
    step :math:`k`.

    Parameters
    ----------
    eta : float, optional
        Learning rate :math:`\eta` (default 1e-3).
    beta : (float, float), optional
        :math:`(\beta_1, \beta_2)` (default (0.9, 0.999)).
    eps : float, optional
        :math:`\epsilon` (default 1e-8).

    Examples
    --------
    The first step has size :math:`\eta` in every coordinate, whatever the gradient's scale:

    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> rule = mgf.Adam(eta=1e-3)
    >>> state, dx = rule.apply(rule.init(np.zeros(2)), np.zeros(2), np.array([1.0, -100.0]))
    >>> dx
    array([ 0.001, -0.001])

    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> X = np.array([[0.0], [1.0], [2.0]])
    >>> net = mgf.Net([(1, "identity", False)], input=X, target=2 * X)   # L = 5/3 (w - 2)^2
    >>> res = mgf.train(net, [0.0], alg=mgf.Adam(eta=0.1), maxiterations_ode=200,
    ...                 verbosity=0)                       # then Newton lands on w = 2
    >>> res.x, res.converged
    (array([2.]), True)
    """

    eta: float = 1e-3
    beta: tuple[float, float] = field(default=(0.9, 0.999))
    eps: float = 1e-8

    def init(self, x):
        return (np.zeros_like(x), np.zeros_like(x), 0)

    def apply(self, state, x, g):
        m, v, k = state
        b1, b2 = self.beta
        k += 1
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * g * g
        mhat = m / (1 - b1**k)
        vhat = v / (1 - b2**k)
        return (m, v, k), self.eta * mhat / (np.sqrt(vhat) + self.eps)


def is_rule(alg) -> bool:
    """True for discrete update rules (objects with ``init`` and ``apply``)."""
    return callable(getattr(alg, "init", None)) and callable(getattr(alg, "apply", None))


class _Batches:
    """Minibatches over reshuffled index sets: ``net.batch(idx)`` (rows copied, the data
    never rewritten; the batches share the net's engine and its workspaces)."""

    def __init__(self, net, batchsize: int, rng) -> None:
        if not callable(getattr(net, "batch", None)):
            raise TypeError(f"minibatches need a model with `batch(idx)`, got {type(net).__name__}")
        N = net.n_samples
        if not 1 <= batchsize <= N:
            raise ValueError(f"argument `batchsize` must be in 1..{N}, got {batchsize}")
        self.net, self.bs, self.rng, self.N = net, batchsize, np.random.default_rng(rng), N
        self.order = self.rng.permutation(N)
        self.pos = 0

    def next(self):
        """The next batch net; True as second value when an epoch has just been completed."""
        idx = self.order[self.pos : self.pos + self.bs]
        self.pos += len(idx)
        epoch_done = self.pos >= self.N
        if epoch_done:
            self.order = self.rng.permutation(self.N)
            self.pos = 0
        return self.net.batch(idx), epoch_done


def discrete_dynamics(
    obj: Objective,
    x0: np.ndarray,
    rule,
    stop: StopRules,
    recorder: TrajectoryRecorder,
    *,
    batchsize: int | None = None,
    rng=None,
    progress=None,
) -> PhaseOutcome:
    """Iterate ``x <- x - dx`` with the rule until a stopping rule fires."""
    net = obj.net
    full = batchsize is None or batchsize >= getattr(net, "n_samples", 1)
    batches = None if full or batchsize is None else _Batches(net, int(batchsize), rng)
    x = np.array(x0, dtype=float, copy=True)
    state = rule.init(x)
    it = 0
    while True:
        if batches is None:  # full batch
            _, g = obj.fg(x)
            epoch_done = True
        else:
            bnet, epoch_done = batches.next()
            _, g = bnet.fg(x, maxnorm=obj.maxnorm, merge=obj.merge)
        g *= obj.tau
        state, dx = rule.apply(state, x, g)
        x_prev = x
        x = x - dx
        it += 1
        if not np.isfinite(x).all():
            return PhaseOutcome(x_prev, it - 1, it - 1, Stop(StopReason.FAILED, "diverged (NaN or Inf)"))
        if epoch_done and not full:
            obj.fg(x)  # best point and stopping rules on the full data
        recorder.add_step(it - 1, it, None, x)
        if progress is not None:
            progress.update(it, obj.best_loss, obj.best_gnorm)
        reason = stop.check(obj, it, x=x) if epoch_done else _hard_limits(stop, it)
        if reason is not None:
            if full:
                obj.fg(x)  # the last iterate counts too
            return PhaseOutcome(x, it, it, reason)


def _hard_limits(stop: StopRules, it: int) -> Stop | None:
    """The budgets alone, between epochs (the other rules need the full-data loss)."""
    if stop.elapsed() > stop.maxtime:
        return Stop(StopReason.MAXTIME, f"{stop.maxtime:g}")
    if it >= stop.maxiterations:
        return Stop(StopReason.MAXITERATIONS, str(stop.maxiterations))
    return None

