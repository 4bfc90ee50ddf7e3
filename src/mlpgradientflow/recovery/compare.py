r"""Compare a recovered network with its teacher (``compare_with_teacher`` of the E&C code).

For every teacher neuron of a hidden layer, the student neuron with the smallest cosine
distance :math:`1 - \cos(\tilde w_t, \tilde w_s)` of the bias-augmented incoming vectors
is its match; the absolute cosine is used for the odd, even and even-linear classes
(where :math:`\tilde w` and :math:`-\tilde w` are equivalent). Deeper layers are compared
in the teacher's coordinates: the student's incoming weights from its layer-:math:`l`
neuron :math:`m(j)` are multiplied by :math:`D_j = s_j \|\tilde w_{s,m(j)}\| /
\|\tilde w_{t,j}\|` (the scale, and for odd classes the sign :math:`s_j`, by which
that neuron's activity differs from teacher neuron :math:`j`; exact for relu, odd
activations and no symmetry, up to the linear/constant term for the others) and put in
position :math:`j`. Outgoing weights of the last hidden layer compare as
:math:`a_t \approx D_j a_s`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import as_real
from ..net import Net, TeacherNet
from ..records import Record
from .canonical import ODD_CLASSES, check_symmetry, symmetry_class

__all__ = ["LayerMatch", "TeacherComparison", "compare_with_teacher", "plot_distances"]

_ABS = ("odd", "odd_constant", "even", "even_linear", "even_linear_positive_scaling")


def _cosine_distances(T: np.ndarray, S: np.ndarray, absolute: bool) -> np.ndarray:
    """(teacher, student) matrix of 1 - cos (or 1 - |cos|); 1 for a zero vector."""
    nt, ns = np.linalg.norm(T, axis=1), np.linalg.norm(S, axis=1)
    C = (T @ S.T) / np.maximum(np.outer(nt, ns), np.finfo(float).tiny)
    C[(nt == 0)[:, None] | (ns == 0)[None, :]] = 0.0
    return 1.0 - (np.abs(C) if absolute else C)


@dataclass(frozen=True, eq=False)
class LayerMatch(Record):
    """One hidden layer of a comparison: per teacher neuron its matched student neuron, the
    cosine distance and sign, and the student's excess neurons."""

    cosine_distances: list
    match: list
    sign: list
    excess_neurons: int


@dataclass(frozen=True, eq=False)
class TeacherComparison(Record):
    """How well a recovered network matches a teacher (see :func:`compare_with_teacher`)."""

    cosine_distances: list
    layers: list
    outgoing_cosine_distances: list
    outgoing_errors: list
    excess_neurons: int
    widths: tuple
    success: bool


def compare_with_teacher(
    result, teacher: TeacherNet, *, tol: float = 1e-3, symmetry: str | None = None
) -> TeacherComparison:
    r"""Match the recovered neurons to the teacher's, layer by layer.

    Parameters
    ----------
    result : ECResult or (Net, params)
        The recovered network.
    teacher : TeacherNet
    tol : float
        Success threshold on every teacher neuron's cosine distance (default 1e-3, the
        target of the spec's end-to-end test; the paper's figures use a log axis down to
        1e-6).
    symmetry : str, optional
        Default: ``result.symmetry``, else the class of the first hidden activation.

    Returns
    -------
    TeacherComparison
        ``cosine_distances`` (all hidden layers' teacher neurons, in order),
        ``layers`` (per hidden layer: ``cosine_distances``, ``match`` (student index per
        teacher neuron), ``sign``, ``excess_neurons`` (unmatched student neurons)),
        ``outgoing_cosine_distances`` and ``outgoing_errors``
        (:math:`\|a_t - D_j a_s\| / \|a_t\|`) of the last hidden layer,
        ``excess_neurons`` (total), ``widths`` (student, teacher) and ``success``
        (same widths everywhere and every distance :math:`\le` ``tol``).

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> t = mgf.TeacherNet([(2, "tanh", True), (1, "identity", True)], din=2, rng=0)
    >>> M1, M2 = (m.copy() for m in t.net.unflatten(t.params))
    >>> M1[0] *= -1; M2[:, 0] *= -1  # the same function (tanh is odd)
    >>> out = compare_with_teacher((t.net, np.concatenate([M1.ravel(), M2.ravel()])), t)
    >>> out.success, out.layers[0].sign
    (True, [-1, 1])
    """
    if hasattr(result, "net"):
        net, p = result.net, result.params
    elif isinstance(result, tuple | list) and len(result) == 2:
        net, p = result
    else:
        net, p = None, None
    if not isinstance(net, Net) or not isinstance(teacher, TeacherNet):
        raise TypeError(
            "arguments: `result` must be an ECResult or (Net, params), "
            f"`teacher` a TeacherNet; got {type(net).__name__}, {type(teacher).__name__}"
        )
    if (
        net.din != teacher.din
        or len(net.layers) != len(teacher.layers)
        or net.dout != teacher.net.dout
    ):
        raise ValueError(
            "arguments `result` and `teacher` differ in input size, depth or output size: "
            f"{net.din}/{len(net.layers)}/{net.dout} and {teacher.din}/{len(teacher.layers)}/"
            f"{teacher.net.dout}"
        )
    tol = as_real("tol", tol, minimum=0.0)
    sym = check_symmetry(
        symmetry or getattr(result, "symmetry", None) or symmetry_class(net.layers[0].activation)
    )
    S_mats = net.unflatten(net.check_params(p, "result params"))
    T_mats = teacher.net.unflatten(teacher.params)
    layers, D, match = [], None, None
    for li in range(len(net.layers) - 1):
        S, T = S_mats[li].copy(), T_mats[li]
        if li > 0:
            S = _in_teacher_coords(S, match, D, net.layers[li - 1].width, net.layers[li].bias)
        dist = _cosine_distances(T, S, sym in _ABS)
        match = dist.argmin(axis=1)
        sign = np.where(np.sum(T * S[match], axis=1) < 0, -1, 1)
        D = np.linalg.norm(S[match], axis=1) / np.linalg.norm(T, axis=1)
        if sym in ODD_CLASSES:  # elsewhere a flip leaves the outgoing sign alone
            D = D * sign
        layers.append(LayerMatch(cosine_distances=dist[np.arange(len(T)), match].tolist(),
                                 match=match.tolist(), sign=sign.tolist(),
                                 excess_neurons=int(S.shape[0] - len(set(match.tolist())))))
    k_s, k_t = net.layers[-2].width, teacher.layers[-2].width
    a_t = T_mats[-1][:, :k_t].T
    a_s = S_mats[-1][:, :k_s].T[match] * D[:, None]
    widths = ([lay.width for lay in net.layers[:-1]], [lay.width for lay in teacher.layers[:-1]])
    every = [d for lay in layers for d in lay.cosine_distances]
    return TeacherComparison(
        cosine_distances=every, layers=layers,
        outgoing_cosine_distances=np.diag(_cosine_distances(a_t, a_s, False)).tolist(),
        outgoing_errors=(np.linalg.norm(a_t - a_s, axis=1) / np.linalg.norm(a_t, axis=1)).tolist(),
        excess_neurons=sum(lay.excess_neurons for lay in layers), widths=widths,
        success=bool(widths[0] == widths[1] and max(every) <= tol))


def _in_teacher_coords(S, match, D, k_prev, bias):
    """Student incoming rows over the teacher's previous-layer neurons (then the bias)."""
    cols = S[:, :k_prev][:, match] * D[None, :]
    return np.column_stack([cols, S[:, k_prev:]]) if bias else cols


def plot_distances(comparisons, ax=None, labels=None):
    """Distribution of the per-teacher-neuron cosine distances (log axis 1e-16 .. 1).

    ``comparisons`` is one :func:`compare_with_teacher` dict or a list of them (one
    strip of points per dict). Needs matplotlib (the ``plot`` extra). Returns the axes.
    """
    import matplotlib.pyplot as plt

    if isinstance(comparisons, dict):
        comparisons = [comparisons]
    if ax is None:
        ax = plt.figure(figsize=(5, 3)).gca()
    rng = np.random.default_rng(0)  # jitter only spreads the points
    for i, c in enumerate(comparisons):
        d = np.clip(c["cosine_distances"], 1e-16, 1.0)
        color = "tab:blue" if c["success"] else "tab:red"
        ax.scatter(i + rng.uniform(-0.2, 0.2, len(d)), d, s=10, color=color)
    ax.set_yscale("log")
    ax.set_ylim(1e-16, 2.0)
    ax.set_xticks(range(len(comparisons)))
    ax.set_xticklabels(labels if labels is not None else range(len(comparisons)))
    ax.set_ylabel("cosine distance to teacher neuron")
    return ax
