r"""Expand-and-Cluster (Martinelli, Şimşek, Gerstner, Brea; ICML 2024): recover a teacher
network's architecture and weights from queries.

1. **Expand.** Train :math:`N` overparameterised students (hidden widths :math:`\rho`
   times the teacher's; :math:`\rho = 4` in the paper) on :math:`(x, \mathrm{teacher}(x))`
   with :func:`~mlpgradientflow.train_many` to convergence (gradient flow, then Newton; the
   reference uses Adam), with count budgets. Every student's end state
   (``TrainResult.end_state``) is kept. The paper clusters students trained to (near)
   zero loss, where its identifiability argument holds; students that end in a flat
   channel, at a local minimum or unconverged hold approximations of teacher neurons
   (split, shifted, or missing) that can pass the filters as extra neurons or keep a real
   one below the :math:`\gamma` threshold. So phase 2 clusters the :math:`N_0` students
   at zero loss (``end_state.zero_loss``: the loss at ``minloss`` or at the noise floor of
   the evaluation) and :math:`\gamma` is a fraction of them, when
   :math:`N_0 \ge 3`; otherwise (no student reaches zero loss, as
   for a teacher that the students cannot fit exactly) all students, as the reference.
   :attr:`ECResult.clustered` says which; converged students rank before unconverged
   ones when a cluster's winner is chosen.
2. **Cluster**, layer by layer (:func:`~mlpgradientflow.recovery.reconstruct_layer`):
   remove inactive neurons, canonicalise the incoming vectors :math:`(w, b)` for the
   activation's symmetry (read from the activation registry), cluster them, drop clusters
   held by fewer than :math:`\lfloor\gamma N\rfloor` students and unaligned clusters
   (median cosine distance :math:`> 1 - \cos\beta`), collapse each cluster (duplicates
   merged: their outgoing vectors add up). The collapsed layer is written into all
   students; below the last hidden layer the layers above are then retrained with the
   collapsed layers frozen (``tauinv`` zeros).
3. **Fine-tune** the one collapsed network: align the output bias (add the mean residual),
   and for relu / even-linear activations fit and keep the covert linear path
   (:mod:`~mlpgradientflow.recovery.linear_path`), then :func:`~mlpgradientflow.train`
   all parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from .._validation import as_int, as_real, as_rng, finite_array
from ..net import Net, TeacherNet
from ..parallel import FailedRun, train_many
from ..training import DEFAULTS, TrainOptions, TrainResult, train
from .canonical import LINEAR_CLASSES, check_symmetry, symmetry_class
from .cluster import INACTIVE_TOL, ClusterReport, check_gamma_beta, reconstruct_layer
from .compare import TeacherComparison, compare_with_teacher
from .linear_path import fit_linear_path, split_linear_path, with_linear_path

__all__ = ["expand_and_cluster", "ECResult", "kaiming_params"]

#: phase 1 defaults (per student): the package defaults, quiet; ``train_options`` updates them
TRAIN_DEFAULTS = DEFAULTS.replace(verbosity=0)
#: retraining of the upper layers and final fine-tuning; ``finetune_options`` updates them
FINETUNE_DEFAULTS = DEFAULTS.replace(verbosity=0)


@dataclass
class ECResult:
    """The outcome of Expand-and-Cluster, returned by :func:`expand_and_cluster`.

    Attributes
    ----------
    net : Net
        The recovered architecture, bound to the queries.
    params : array
        Its fine-tuned parameters.
    widths : tuple of int
        Recovered hidden widths.
    clusters : list of ClusterReport
        Phase 2, one report per hidden layer.
    history : list of TrainResult
        Phase 3 fine-tuning (the carrier net's run when a linear path is used); its end
        state says whether the recovered network is a converged critical point.
    students : list of TrainResult
        Phase 1 (failed runs removed), each with its ``end_state``.
    symmetry : str
        The symmetry class used.
    linear : array (Din, Dout) or None
        Weights of the covert linear path: the prediction is
        ``net(params, X) + X @ linear``.
    retraining : list of list of TrainResult
        Upper-layer retraining after each hidden layer but the last.
    clustered : tuple of int
        The students (indices into ``students``) that phase 2 clustered: those at zero
        loss (``end_state.zero_loss``) when there are enough of them, else all.
    comparison : TeacherComparison or None
        :func:`compare_with_teacher` against ``query`` when it is a
        :class:`~mlpgradientflow.TeacherNet` (cosine distances per teacher neuron,
        outgoing-weight errors, ``success``).
    """

    net: Net
    params: np.ndarray
    widths: tuple[int, ...]
    clusters: list[ClusterReport]
    history: list[TrainResult]
    students: list[TrainResult]
    symmetry: str
    linear: np.ndarray | None = None
    retraining: list[list[TrainResult]] = field(default_factory=list)
    comparison: TeacherComparison | None = None
    clustered: tuple[int, ...] = ()

    def predict(self, X) -> np.ndarray:
        """The recovered function at ``X`` (M, Din): (M, Dout)."""
        out = self.net(self.params, X)
        return out if self.linear is None else out + np.asarray(X, float) @ self.linear

    @property
    def loss(self) -> float:
        """MSE of :meth:`predict` on the queries (the package's loss convention)."""
        return float(np.mean(np.sum((self.predict(self.net.input) - self.net.target) ** 2, 1)))

    @property
    def n_converged(self) -> int:
        """Students whose end state is a critical point (minimum or saddle)."""
        return sum(bool(s.converged) for s in self.students)

    @property
    def converged(self) -> bool:
        """Whether the fine-tuned network ended at a critical point."""
        return bool(self.history[-1].converged)

    def _runs(self) -> list[TrainResult]:
        return [*self.students, *(r for rs in self.retraining for r in rs), *self.history]

    @property
    def n_gradients(self) -> int:
        """Cost: (loss, gradient) evaluations of all phases, summed over students."""
        return sum(r.n_gradients for r in self._runs())

    @property
    def n_hessians(self) -> int:
        """Cost: Hessian evaluations of all phases, summed over students."""
        return sum(r.n_hessians for r in self._runs())


def expand_and_cluster(
    query: Callable[[np.ndarray], np.ndarray] | np.ndarray,
    X,
    student_layers,
    n_students: int = 10,
    gamma: float = 0.5,
    beta: float = np.pi / 6,
    executor=None,
    rng=None,
    train_options: dict | None = None,
    *,
    finetune_options: dict | None = None,
    symmetry: str | None = None,
    inactive_tol: float = INACTIVE_TOL,
) -> ECResult:
    r"""Recover a network from queries with Expand-and-Cluster (module docstring).

    Parameters
    ----------
    query : callable or array
        The black-box teacher :math:`X \mapsto Y` ((M, Din) to (M, Dout) or (M,)), or the
        array of its answers at ``X``. A :class:`~mlpgradientflow.TeacherNet` is also
        compared with the result (:attr:`ECResult.comparison`).
    X : array (N_q, Din)
        The queries.
    student_layers : sequence of (width, activation, bias)
        The overparameterised student (width = :math:`\rho` times the expected width), one
        activation per hidden layer, an ``identity`` output layer (MSE regression).
    n_students : int
        :math:`N` (default 10, as the reference).
    gamma, beta : float
        Clusters must be held by :math:`\ge \lfloor\gamma N_0\rfloor` students and by
        more than half of them (:math:`N_0` the clustered students, see
        :mod:`~mlpgradientflow.recovery.cluster`); alignment angle. Defaults 0.5 and
        :math:`\pi/6`, the reference's ``ExtractionHparams`` (its follow-up: 0.75 and
        :math:`\pi/3`).
    executor
        Passed to :func:`~mlpgradientflow.train_many` (None, "processes", an int, an
        Executor, a dask Client). The bits do not depend on it.
    rng : int or Generator, optional
        Seeds the students' initialisations (:func:`kaiming_params`, as the reference).
    train_options : dict, optional
        Phase-1 :func:`~mlpgradientflow.train` options on top of :data:`TRAIN_DEFAULTS`
        (count budgets: ``maxiterations_ode``, ``maxiterations_optim``).
    finetune_options : dict, optional
        Options of the upper-layer retraining and of the final fine-tuning, on top of
        :data:`FINETUNE_DEFAULTS`.
    symmetry : str, optional
        Override the symmetry class of the hidden activation (:func:`symmetry_class`).
    inactive_tol : float
        :math:`\epsilon` of :func:`~mlpgradientflow.recovery.reconstruct_layer`: neurons
        whose outgoing vector or incoming weights are below :math:`\epsilon` times the
        largest of their student are inactive (default 1e-6: at zero loss unused neurons
        keep outgoing weights near the square root of the loss, while a teacher neuron's
        outgoing weight can be 1e-3 of the largest, as in one of the benchmark's teachers).

    Returns
    -------
    ECResult

    Notes
    -----
    Choices where the reference is silent or does otherwise: students that fail (an
    exception) are dropped and :math:`N` counts the rest; inactive neurons are removed
    before clustering and a cluster counts its students, not its members (see
    :mod:`~mlpgradientflow.recovery.cluster`); the winner is the best-ranked holder of
    the cluster (the reference looks at the 5 best students only); the output bias after
    collapsing is the students' mean, then aligned; the covert linear path is
    input-to-output for any depth and its constant lives in the output bias.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpgradientflow.data import ec_teacher
    >>> from mlpgradientflow.recovery import expand_and_cluster
    >>> teacher = ec_teacher(1, [1], rng=0)
    >>> X = np.linspace(-1.7, 1.7, 40)[:, None]
    >>> res = expand_and_cluster(teacher, X, [(2, "g", True), (1, "identity", True)],
    ...                          n_students=4, rng=0,
    ...                          train_options=dict(maxiterations_ode=2000, maxiterations_optim=200),
    ...                          finetune_options=dict(maxiterations_ode=2000, maxiterations_optim=200))
    >>> res.widths, res.comparison.success
    ((1,), True)
    """
    X = finite_array("X", X, ndim=2, dtype=np.float64)
    Y = query(X) if callable(query) else query
    Y = finite_array("query", Y, ndim=(1, 2), dtype=np.float64).reshape(len(Y), -1)
    if Y.shape[0] != X.shape[0]:
        raise ValueError(f"argument `query`: {Y.shape[0]} answers for {X.shape[0]} queries")
    try:
        net = Net(student_layers, input=X, target=Y)
    except (TypeError, ValueError) as err:
        raise type(err)(f"argument `student_layers` (with the answers of `query`): {err}") from err
    sym = _check_architecture(net, symmetry)
    n_students = as_int("n_students", n_students, 2)
    gamma, beta = check_gamma_beta(gamma, beta)
    if int(gamma * n_students) < 2:
        raise ValueError(f"argument `gamma`={gamma}: floor(gamma * n_students) must be >= 2")
    eps = as_real("inactive_tol", inactive_tol, minimum=0.0)
    for name, opts in (("train_options", train_options), ("finetune_options", finetune_options)):
        if opts is not None and not isinstance(opts, Mapping):
            raise TypeError(f"argument `{name}` must be a dict of train options, got {opts!r}")
    tune = TrainOptions.make(FINETUNE_DEFAULTS, **(finetune_options or {}))
    first = TrainOptions.make(TRAIN_DEFAULTS, **(train_options or {}))

    seeds = as_rng(rng).integers(2**63, size=n_students)
    runs = train_many(
        net, [kaiming_params(net, int(s)) for s in seeds], executor, progress=False, options=first
    )
    students = [r for r in runs if not isinstance(r, FailedRun)]
    if int(gamma * len(students)) < 2:
        raise RuntimeError(f"only {len(students)} of {n_students} students trained: {runs}")
    clustered = _clustered(students)
    chosen = [students[i] for i in clustered]
    # converged students first, then by loss: the order in which winners are chosen
    order = np.lexsort(([r.loss for r in chosen], [not r.converged for r in chosen]))
    ranks = np.argsort(order).astype(float)
    mats = [[M.copy() for M in net.unflatten(r.x)] for r in chosen]

    widths = [lay.width for lay in net.layers[:-1]]
    reports, retraining = [], []
    for li in range(len(widths)):
        final = li == len(widths) - 1
        rec = _cluster_layer(mats, li, ranks, sym, gamma, beta, final,
                             net.layers[li].bias, eps)
        reports.append(rec.report)
        widths[li] = rec.report.width
        if widths[li] == 0:
            rep = rec.report
            raise RuntimeError(
                f"hidden layer {li + 1}: no cluster survived (big clusters held by "
                f"{rep.students} students, median cosine distances "
                f"{[round(m, 3) for m in rep.median_cosine]})"
            )
        if not final:
            mats, runs = _retrain_upper(net, widths, mats, li, executor, tune)
            retraining.append(runs)

    common = [mats[0][li] for li in range(len(widths))]
    out = np.mean([m[-1] for m in mats], axis=0)  # same weights; biases averaged
    rnet = Net(
        [(w, lay.activation, lay.bias) for w, lay in zip(widths, net.layers)]
        + [net.layers[-1].spec()],
        input=X,
        target=Y,
    )
    params, linear, history = _finetune(rnet, [*common, out], sym, tune)
    res = ECResult(
        rnet, params, tuple(widths), reports, history, students, sym, linear, retraining,
        clustered=clustered,
    )
    if isinstance(query, TeacherNet) and _comparable(rnet, query):
        res.comparison = compare_with_teacher(res, query)
    return res


def _clustered(students: list[TrainResult]) -> tuple[int, ...]:
    """The students that ended at zero loss, when at least 3 did (a majority of them is
    then 2 or more); else all of them."""
    zero = [i for i, r in enumerate(students) if r.end_state is not None and r.end_state.zero_loss]
    return tuple(zero) if len(zero) >= 3 else tuple(range(len(students)))


def _comparable(net: Net, teacher: TeacherNet) -> bool:
    return net.din == teacher.din and len(net.layers) == len(teacher.layers)


def kaiming_params(net: Net, rng=None) -> np.ndarray:
    r"""The reference's student initialisation: Kaiming-normal weights
    :math:`W \sim \mathcal N(0, 2/k_{l-1})` and PyTorch's default biases
    :math:`b \sim U(\pm 1/\sqrt{k_{l-1}})`.

    Random biases matter: with zero biases all unused neurons of low-dimensional students
    start (and, with zero outgoing weight, stay) on the plane :math:`b = 0`, where they form
    spurious clusters.

    >>> import mlpgradientflow as mgf
    >>> net = mgf.Net([(3, "g", True), (1, "identity", True)], din=2)
    >>> kaiming_params(net, 0).shape
    (13,)
    """
    rng = np.random.default_rng(rng)
    blocks = []
    for lay, (k, n) in zip(net.layers, net.shapes):
        fan_in = n - int(lay.bias)
        W = rng.standard_normal((k, fan_in)) * np.sqrt(2.0 / fan_in)
        b = rng.uniform(-1, 1, (k, int(lay.bias))) / np.sqrt(fan_in)
        blocks.append(np.column_stack([W, b]))
    return np.concatenate([B.ravel() for B in blocks])


def _check_architecture(net: Net, symmetry: str | None) -> str:
    if len(net.layers) < 2:
        raise ValueError("argument `student_layers` needs at least one hidden layer")
    out = net.layers[-1].activation
    if isinstance(out, tuple) or out.name != "identity":
        raise ValueError(
            f"argument `student_layers`: the output layer must be 'identity' (regression on the "
            f"teacher's outputs), got {out!r}"
        )
    classes = {symmetry_class(lay.activation) for lay in net.layers[:-1]}
    if symmetry is not None:
        return check_symmetry(symmetry)
    if len(classes) > 1:
        raise ValueError(
            f"argument `student_layers`: hidden layers of different symmetry classes {classes}; "
            "pass `symmetry`"
        )
    return classes.pop()


def _cluster_layer(mats, li, ranks, sym, gamma, beta, final, bias, eps):
    """Collapse hidden layer ``li`` of every student (in place in ``mats``)."""
    k = mats[0][li].shape[0]
    W = np.stack([m[li] for m in mats])
    nxt = np.stack([m[li + 1] for m in mats])
    rec = reconstruct_layer(
        W,
        nxt[:, :, :k].transpose(0, 2, 1),
        ranks,
        symmetry=sym,
        gamma=gamma,
        beta=beta,
        final_layer=final,
        bias=bias,
        inactive_tol=eps,
    )
    for s, m in enumerate(mats):
        a = rec.outgoing if final else rec.outgoing[s]
        m[li] = rec.incoming.copy()
        m[li + 1] = np.column_stack([a.T, nxt[s][:, k:]])
    return rec


def _retrain_upper(net, widths, mats, li, executor, tune):
    """Retrain layers above ``li`` of every student, the collapsed layers frozen."""
    layers = [(w, lay.activation, lay.bias) for w, lay in zip(widths, net.layers)]
    unet = net.with_layers(layers + [net.layers[-1].spec()])
    tau = np.concatenate([np.full(m.size, float(i > li)) for i, m in enumerate(mats[0])])
    runs = train_many(
        unet,
        [np.concatenate([M.ravel() for M in m]) for m in mats],
        executor,
        progress=False,
        options=tune,
        tauinv=tau,
    )
    new = [
        [M.copy() for M in unet.unflatten(r.x)] if not isinstance(r, FailedRun) else m
        for r, m in zip(runs, mats)
    ]
    return new, [r for r in runs if not isinstance(r, FailedRun)]


def _finetune(rnet: Net, mats, sym: str, tune: TrainOptions):
    """Phase 3: bias alignment or the covert linear path, then training of everything."""
    p = np.concatenate([M.ravel() for M in mats])
    X, Y = rnet.input, rnet.target
    assert X is not None and Y is not None  # the reduced net keeps the data
    out_bias = rnet.layers[-1].bias
    if sym in LINEAR_CLASSES:
        theta = fit_linear_path(X, Y - rnet(p), out_bias)
        carrier, q, mask = with_linear_path(rnet, mats, theta)
        res = train(carrier, q, tune, tauinv=mask)
        params, linear = split_linear_path(rnet, carrier, res.x)
        return params, linear, [res]
    if out_bias:
        rnet.unflatten(p)[-1][:, -1] += np.mean(Y - rnet(p), axis=0)
    res = train(rnet, p, tune)
    return res.x, None, [res]
