r"""Phase 2 of Expand-and-Cluster for one layer: cluster, filter, collapse.

The steps of the paper (Martinelli et al., ICML 2024, Algorithm 1 and Fig. 3) with the
rules of its code (``extraction/layer_reconstruction.py``):

0. **Inactive neurons out.** Every student neuron is one of the kinds of a zero-loss
   overparameterised network (Şimşek et al. 2021, used by the paper): a copy of a teacher
   neuron (alone or duplicated, the copies' outgoing vectors summing to the teacher's), or
   an unused neuron whose contribution vanishes, either because its outgoing vector is 0 or
   because it is constant (incoming weights 0, :math:`a\sigma(b)` merged into the next bias).
   The paper relies on unused neurons being unaligned across students; in low input
   dimension they are not (their incoming vectors stay near where they were when their
   outgoing weight died, or collapse onto the bias axis), so they are removed here. The
   duplicates within each student are merged first (canonical incoming vectors equal
   to :math:`\epsilon` relative: the mean vector and the summed outgoing vector, so that a
   cancelling pair becomes an unused neuron), then a neuron is inactive when
   :math:`\|a_i\| \le \epsilon \max_j \|a_j\|` (maximum over its own student) or
   :math:`\|w_i\| \le \epsilon \|(w_i, b_i)\|`; :math:`\epsilon` = ``inactive_tol``.
1. canonical incoming vectors (:func:`~.canonical.canonicalize`) of the active neurons of
   all :math:`N` students, pairwise Euclidean distances, average-linkage clustering
   (``scipy.cluster.hierarchy.average``);
2. the cut height (:func:`cut_height`): the cut that maximises the number of clusters
   held by :math:`m = \max(\lfloor\gamma N\rfloor, \lfloor N/2\rfloor + 1)` students
   and aligned (step 3), the last
   height of the first run of that maximum (the reference's rule, which counts members
   and all clusters). A student *holds* a cluster when the sum of the outgoing vectors of
   its members there is not negligible (:math:`> \epsilon \max_j \|a_j\|`). Counting
   only aligned clusters stops the cut before stray neurons join a teacher cluster: with
   the reference's rule they do in low input dimension, and the cluster then fails step 3.
   The majority in :math:`m` (the reference has :math:`\lfloor\gamma N\rfloor` alone,
   :math:`\gamma = 0.5`) keeps a teacher neuron from counting twice: the copies of one
   neuron can split into two halves of the tree, and with :math:`m \le N/2` both halves
   pass, at a cut that then has more clusters than any other;
3. keep the clusters held by :math:`\ge m` students whose median
   pairwise cosine distance is at most :math:`1 - \cos\beta` (aligned);
4. collapse each cluster (winner takes all): the best-ranked student holding it gives the
   incoming vector (its member nearest to the cluster's other members: after step 0 a
   student's duplicates are one member); outgoing vectors are **summed** per student;
   the last hidden layer keeps the winner's sum, other layers keep all :math:`N` sums.

Shapes: ``incoming`` (N, k, d) with the bias last, ``outgoing`` (N, k, d_next); the
collapsed layer has ``width`` rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.cluster import hierarchy
from scipy.sparse.csgraph import connected_components
from scipy.spatial.distance import pdist, squareform

from .._validation import as_int, as_real, finite_array
from .canonical import canonicalize, check_symmetry

__all__ = [
    "cut_height",
    "find_clusters",
    "median_cosine_distance",
    "reconstruct_layer",
    "LayerReconstruction",
    "ClusterReport",
]

#: default relative size below which an outgoing vector counts as zero
#: (see :func:`~mlpgradientflow.recovery.expand_and_cluster`, ``inactive_tol``)
INACTIVE_TOL = 1e-6
#: relative distance of incoming vectors below which two neurons of one student are
#: duplicates, and relative size of incoming weights (beside the bias) below which a neuron
#: is constant: at a loss of 1e-20 the copies of a teacher neuron in one student still
#: differ by ~1e-4 (splitting them is a nearly flat direction)
DUPLICATE_TOL = 1e-3


def cut_height(Z: np.ndarray, min_size: int, count=None) -> float:
    r"""The cut height of a linkage matrix that maximises the number of big clusters.

    With :math:`c_k` the number of clusters of size :math:`\ge` ``min_size`` when the tree
    is cut at the :math:`k`-th merge height :math:`h_k` (``fcluster(..., "distance")``),
    return :math:`h_{k^*}` with :math:`k^*` the last index of the first contiguous run of
    :math:`\max_k c_k` (the reference's rule). ``count(labels)`` replaces the size of each
    cluster (default: its number of members); it returns one number per label 1..max.

    Parameters
    ----------
    Z : array, shape (n - 1, 4)
        A scipy linkage matrix (``scipy.cluster.hierarchy.average``).
    min_size : int
        Smallest cluster that counts, :math:`\lfloor\gamma N\rfloor`.

    Returns
    -------
    float
        The cut height :math:`h_{k^*}` (one of ``Z[:, 2]``).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.cluster import hierarchy
    >>> x = np.array([[0.0], [0.1], [5.0], [5.1], [20.0]])
    >>> Z = hierarchy.average(x)
    >>> round(cut_height(Z, 2), 12)  # two pairs of size 2 survive up to the merges at 0.1
    0.1
    """
    count = count or (lambda labels: np.bincount(labels)[1:])
    counts = np.array(
        [int((count(hierarchy.fcluster(Z, h, "distance")) >= min_size).sum()) for h in Z[:, 2]]
    )
    top = np.flatnonzero(counts == counts.max())
    breaks = np.flatnonzero(np.diff(top) != 1)
    last = top[breaks[0]] if breaks.size else top[-1]
    return float(Z[last, 2])


def find_clusters(features, min_size: int, count=None):
    r"""Average-linkage clusters of size :math:`\ge` ``min_size`` at :func:`cut_height`.

    Parameters
    ----------
    features : array (n, d)
        One vector per row.
    min_size : int
        :math:`\lfloor\gamma N\rfloor`.
    count : callable, optional
        Cluster sizes from fcluster labels (see :func:`cut_height`).

    Returns
    -------
    clusters : list of int arrays
        Row indices of each kept cluster (ordered by fcluster label).
    height : float
        The cut height.
    Z : array (n-1, 4)
        The linkage matrix.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[0.0], [0.1], [5.0], [5.1], [20.0]])
    >>> sorted(c.tolist() for c in find_clusters(x, 2)[0])
    [[0, 1], [2, 3]]
    """
    F = finite_array("features", features, dtype=np.float64)
    min_size = as_int("min_size", min_size, 1)
    if F.ndim != 2 or F.shape[0] < 2:
        raise ValueError(f"argument `features` must be 2-D with >= 2 rows, got shape {F.shape}")
    count = count or (lambda labels: np.bincount(labels)[1:])
    Z = hierarchy.average(pdist(F))
    h = cut_height(Z, min_size, count)
    labels = hierarchy.fcluster(Z, h, criterion="distance")
    big = np.flatnonzero(count(labels) >= min_size) + 1
    return [np.flatnonzero(labels == i) for i in big], h, Z


def median_cosine_distance(vectors) -> float:
    r"""Median of :math:`1 - \cos(v_i, v_j)` over the pairs of rows (0 for one row).

    Parameters
    ----------
    vectors : array, shape (n, d)
        Non-zero rows (a cluster's canonical incoming vectors).

    Returns
    -------
    float
        In [0, 2]; phase 2 drops a cluster above :math:`1 - \cos\beta`.

    Examples
    --------
    >>> from mlpgradientflow.recovery import median_cosine_distance
    >>> median_cosine_distance([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    1.0
    """
    V = finite_array("vectors", vectors, ndim=2, dtype=np.float64)
    if V.shape[0] > 1 and not np.linalg.norm(V, axis=1).all():
        raise ValueError("argument `vectors`: a zero row has no cosine distance")
    return float(np.median(pdist(V, "cosine"))) if V.shape[0] > 1 else 0.0


@dataclass(frozen=True)
class ClusterReport:
    """What phase 2 did in one layer.

    Attributes: ``inactive`` (neurons out before clustering: merged duplicates, unused and
    constant neurons); ``cut_height``;
    ``sizes`` (members) and ``students`` (students holding it) of the big clusters (held
    by :math:`\\ge m` students and aligned, one per collapsed
    neuron), their ``median_cosine`` and ``aligned`` (median cosine distance
    :math:`\\le 1-\\cos\\beta`: all True, the cut counts aligned clusters only);
    ``winner`` (the student giving each collapsed neuron); ``width`` (collapsed neurons);
    ``linkage`` (the scipy linkage matrix of the active neurons).

    Returned by :func:`reconstruct_layer` as ``rec.report`` (and kept per layer in
    ``ECResult.clusters``).

    Examples
    --------
    Four students, each with the teacher's two neurons (to 1e-6) and one outlier:

    >>> import numpy as np
    >>> from mlpgradientflow.recovery import reconstruct_layer
    >>> rng = np.random.default_rng(0)
    >>> teacher = rng.standard_normal((2, 3))
    >>> W = np.stack([np.vstack([teacher + 1e-6 * rng.standard_normal((2, 3)),
    ...                          100 * rng.standard_normal((1, 3))]) for _ in range(4)])
    >>> rec = reconstruct_layer(W, np.ones((4, 3, 1)), np.arange(4.0), symmetry="none")
    >>> r = rec.report
    >>> r.sizes, all(r.aligned), r.winner, r.width, r.linkage.shape
    ((4, 4), True, (0, 0), 2, (11, 4))
    """

    cut_height: float
    sizes: tuple[int, ...]
    median_cosine: tuple[float, ...]
    aligned: tuple[bool, ...]
    winner: tuple[int, ...]
    width: int
    linkage: np.ndarray
    students: tuple[int, ...] = ()
    inactive: int = 0


@dataclass(frozen=True)
class LayerReconstruction:
    """The collapsed layer: ``incoming`` (m, d), ``outgoing`` (N, m, d_next) or, for the
    last hidden layer, (m, d_next); and the :class:`ClusterReport`.

    Returned by :func:`reconstruct_layer`.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpgradientflow.recovery import reconstruct_layer
    >>> rng = np.random.default_rng(0)
    >>> teacher = rng.standard_normal((2, 3))
    >>> W = np.stack([np.vstack([teacher + 1e-6 * rng.standard_normal((2, 3)),
    ...                          100 * rng.standard_normal((1, 3))]) for _ in range(4)])
    >>> rec = reconstruct_layer(W, np.ones((4, 3, 1)), np.arange(4.0), symmetry="none")
    >>> rec.incoming.shape, rec.outgoing.shape       # (m, d), last hidden layer: (m, d_next)
    ((2, 3), (2, 1))
    """

    incoming: np.ndarray
    outgoing: np.ndarray
    report: ClusterReport


def check_gamma_beta(gamma, beta) -> tuple[float, float]:
    """The cluster-size fraction ``gamma`` in (0, 1] and the alignment angle ``beta`` in
    [0, pi], checked."""
    gamma, beta = as_real("gamma", gamma), as_real("beta", beta)
    if not 0 < gamma <= 1:
        raise ValueError(
            f"argument `gamma` must lie in (0, 1] (a fraction of the students), got {gamma}"
        )
    if not 0 <= beta <= np.pi:
        raise ValueError(f"argument `beta` must be an angle in [0, pi] (radians), got {beta}")
    return gamma, beta


def reconstruct_layer(
    incoming,
    outgoing,
    losses,
    *,
    symmetry: str,
    gamma: float = 0.5,
    beta: float = np.pi / 6,
    final_layer: bool = True,
    bias: bool = True,
    inactive_tol: float = INACTIVE_TOL,
) -> LayerReconstruction:
    r"""Cluster one hidden layer of :math:`N` students and collapse it (module docstring).

    Parameters
    ----------
    incoming : array (N, k, d)
        Incoming vectors (bias last when ``bias``) of the :math:`k` neurons of each student.
    outgoing : array (N, k, d_next)
        Their outgoing vectors (columns of the next layer's weight matrix).
    losses : array (N,)
        Rank of each student (lower is better; e.g. the final training loss), for the
        winners.
    symmetry : str
        Symmetry class (:func:`~mlpgradientflow.recovery.symmetry_class`).
    gamma : float
        Clusters must be held by :math:`m = \max(\lfloor\gamma N\rfloor, \lfloor N/2
        \rfloor + 1) \ge 2` students.
    beta : float
        Alignment angle: clusters with median cosine distance :math:`> 1-\cos\beta` go.
    final_layer : bool
        Keep only the winner's outgoing sum (last hidden layer) or all :math:`N` sums.
    bias : bool
        Whether the last coordinate of ``incoming`` is a bias (for the constant rule).
    inactive_tol : float
        :math:`\epsilon` of the unused and holding rules (0: only exact zeros).

    Returns
    -------
    LayerReconstruction
        Incoming vectors are canonical (:func:`canonicalize`), outgoing vectors match them.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> teacher = rng.standard_normal((2, 3))
    >>> W = np.stack([np.vstack([teacher + 1e-6 * rng.standard_normal((2, 3)),
    ...                          100 * rng.standard_normal((1, 3))]) for _ in range(4)])
    >>> rec = reconstruct_layer(W, np.ones((4, 3, 1)), np.arange(4.0), symmetry="none")
    >>> rec.incoming.shape, rec.report.students, rec.report.winner
    ((2, 3), (4, 4), (0, 0))
    >>> bool(np.abs(np.sort(rec.incoming, 0) - np.sort(teacher, 0)).max() < 1e-5)
    True
    """
    check_symmetry(symmetry)
    gamma, beta = check_gamma_beta(gamma, beta)
    eps = as_real("inactive_tol", inactive_tol, minimum=0.0)
    W = finite_array("incoming", incoming, ndim=3, dtype=np.float64)
    A = finite_array("outgoing", outgoing, dtype=np.float64)
    losses = finite_array("losses", losses, dtype=np.float64)
    N, k, d = W.shape
    if A.ndim != 3 or A.shape[:2] != (N, k):
        raise ValueError(f"argument `outgoing` must have shape ({N}, {k}, d_next), got {A.shape}")
    if losses.shape != (N,):
        raise ValueError(f"argument `losses` must have shape ({N},), got {losses.shape}")
    # more than half: two halves of one teacher neuron's copies cannot both pass
    min_size = max(int(gamma * N), N // 2 + 1)
    if min_size < 2:
        raise ValueError(
            f"arguments `gamma`={gamma} and N={N}: the minimum number of students holding a "
            "cluster, max(floor(gamma*N), N//2 + 1), must be at least 2"
        )
    canon = canonicalize(W.reshape(N * k, d), symmetry, A.reshape(N * k, -1))
    owner = np.repeat(np.arange(N), k)
    V, out, own = _merge_duplicates(canon.vectors, canon.outgoing, owner, DUPLICATE_TOL)
    # after merging: a cancelling pair's large outgoing weights set no scale
    scale = eps * _per_student_max(np.linalg.norm(out, axis=1), own, N)
    keep = _active(V, out, own, scale, bool(bias))
    V, out, own = V[keep], out[keep], own[keep]
    threshold = 1 - np.cos(beta)
    clusters, height, Z = [], 0.0, np.zeros((0, 4))
    if len(V) >= 2:
        count = _aligned_holders(V, out, own, scale, min_size, threshold)
        clusters, height, Z = find_clusters(V, min_size, count)
    w_out, a_out, winners, holders, medians = [], [], [], [], []
    rank = np.argsort(np.argsort(losses, kind="stable"))
    for members in clusters:
        sums = np.zeros((N, out.shape[1]))
        np.add.at(sums, own[members], out[members])
        held = np.flatnonzero(np.linalg.norm(sums, axis=1) > scale)
        holders.append(len(held))
        medians.append(median_cosine_distance(V[members]))
        winner = int(held[np.argmin(rank[held])])
        winners.append(winner)
        w_out.append(_central(V[members], own[members] == winner))
        a_out.append(sums[winner] if final_layer else sums)
    m = len(w_out)
    W_rec = np.array(w_out).reshape(m, d)
    A_rec = np.array(a_out).reshape((m, A.shape[2]) if final_layer else (m, N, A.shape[2]))
    report = ClusterReport(
        cut_height=height,
        sizes=tuple(len(c) for c in clusters),
        median_cosine=tuple(medians),
        aligned=tuple(md <= threshold for md in medians),
        winner=tuple(winners),
        width=m,
        linkage=Z,
        students=tuple(holders),
        inactive=int(N * k - len(V)),
    )
    return LayerReconstruction(W_rec, A_rec if final_layer else A_rec.transpose(1, 0, 2), report)


def _per_student_max(values: np.ndarray, owner: np.ndarray, N: int) -> np.ndarray:
    """Per student: the largest of its neurons' ``values``."""
    best = np.zeros(N)
    np.maximum.at(best, owner, values)
    return best


def _merge_duplicates(V, out, owner, eps):
    """Within each student, merge neurons whose canonical incoming vectors agree to
    ``eps`` (relative): the mean vector, the summed outgoing vector (duplicates and
    cancelling pairs of one student become one neuron)."""
    vecs, outs, owns = [], [], []
    for s in np.unique(owner):
        idx = np.flatnonzero(owner == s)
        D = squareform(pdist(V[idx]))
        norms = np.linalg.norm(V[idx], axis=1)
        close = D <= eps * np.maximum.outer(norms, norms)
        _, comp = connected_components(close, directed=False)
        for c in range(comp.max() + 1):
            group = idx[comp == c]
            vecs.append(V[group].mean(axis=0))
            outs.append(out[group].sum(axis=0))
            owns.append(s)
    return np.array(vecs), np.array(outs), np.array(owns)


def _active(V, out, own, scale: np.ndarray, bias: bool) -> np.ndarray:
    """Neurons that are neither unused (outgoing vector at most their student's ``scale``)
    nor constant (weights negligible beside their own bias)."""
    w = np.linalg.norm(V[:, : V.shape[1] - int(bias)], axis=1)
    return (np.linalg.norm(out, axis=1) > scale[own]) & (
        w > DUPLICATE_TOL * np.linalg.norm(V, axis=1)
    )


def _aligned_holders(V, out, own, thresholds, min_size, max_cosine):
    """``count(labels)``: per cluster, the students whose summed outgoing vector there is
    above their threshold; 0 for a cluster with enough of them but unaligned."""
    N = len(thresholds)

    def count(labels):
        sums = np.zeros((labels.max() * N, out.shape[1]))
        np.add.at(sums, (labels - 1) * N + own, out)
        norms = np.linalg.norm(sums, axis=1).reshape(-1, N)
        held = (norms > thresholds[None, :]).sum(axis=1)
        for c in np.flatnonzero(held >= min_size):
            if median_cosine_distance(V[labels == c + 1]) > max_cosine:
                held[c] = 0
        return held

    return count


def _central(V, mine):
    """The winner's member nearest to the cluster's members (median Euclidean distance)."""
    D = squareform(pdist(V))[mine]
    return V[mine][np.argmin(np.median(D, axis=1))]
