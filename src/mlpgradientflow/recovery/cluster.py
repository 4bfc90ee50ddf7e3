r"""Phase 2 of Expand-and-Cluster for one layer: cluster, filter, collapse.

The rules follow the reference code (``extraction/layer_reconstruction.py`` of
``flavio-martinelli/expand-and-cluster``):

1. pairwise Euclidean distances of the canonical incoming vectors of all :math:`N`
   students; average-linkage clustering (``scipy.cluster.hierarchy.average``);
2. the cut height (:func:`cut_height`): for each merge height :math:`h_k`, count the
   clusters of size :math:`\ge \lfloor\gamma N\rfloor`; cut at the *last* height of the
   first contiguous run where this count is maximal; keep the clusters of that size;
3. drop a cluster whose median pairwise cosine distance exceeds :math:`1 - \cos\beta`;
4. collapse each cluster (winner takes all): among the 5 students with the lowest loss,
   the best one with a neuron in the cluster gives the incoming vector (the mean of its
   members when it holds duplicates); a cluster with no member among those 5 is dropped
   (as in the reference). Outgoing vectors are **summed** per student (merging
   duplicates); the last hidden layer keeps the winner's sum, other layers keep all
   :math:`N` sums.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.cluster import hierarchy
from scipy.spatial.distance import pdist

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

_N_BEST = 5  # students considered for the winner-take-all collapse (reference value)


def cut_height(Z: np.ndarray, min_size: int) -> float:
    r"""The reference's cut height of a linkage matrix.

    With :math:`c_k` the number of clusters of size :math:`\ge` ``min_size`` when the tree
    is cut at the :math:`k`-th merge height :math:`h_k` (``fcluster(..., "distance")``),
    return :math:`h_{k^*}` with :math:`k^*` the last index of the first contiguous run of
    :math:`\max_k c_k`.

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
    counts = np.array(
        [_n_big(hierarchy.fcluster(Z, h, criterion="distance"), min_size) for h in Z[:, 2]]
    )
    top = np.flatnonzero(counts == counts.max())
    breaks = np.flatnonzero(np.diff(top) != 1)
    last = top[breaks[0]] if breaks.size else top[-1]
    return float(Z[last, 2])


def _n_big(labels: np.ndarray, min_size: int) -> int:
    return int((np.bincount(labels) >= min_size).sum())


def find_clusters(features, min_size: int) -> tuple[list[np.ndarray], float, np.ndarray]:
    r"""Average-linkage clusters of size :math:`\ge` ``min_size`` at :func:`cut_height`.

    Parameters
    ----------
    features : array (n, d)
        One vector per row.
    min_size : int
        :math:`\lfloor\gamma N\rfloor`.

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
    Z = hierarchy.average(pdist(F))
    h = cut_height(Z, min_size)
    labels = hierarchy.fcluster(Z, h, criterion="distance")
    ids, sizes = np.unique(labels, return_counts=True)
    return [np.flatnonzero(labels == i) for i in ids[sizes >= min_size]], h, Z


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

    Attributes: ``cut_height``; ``sizes`` and ``median_cosine`` of the big clusters
    (size :math:`\\ge \\lfloor\\gamma N\\rfloor`); ``aligned`` (median cosine distance
    :math:`\\le 1-\\cos\\beta`); ``winner`` (the student giving each collapsed neuron,
    -1 for an aligned cluster dropped because none of the 5 best students is in it);
    ``width`` (collapsed neurons); ``linkage`` (the scipy linkage matrix).

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
) -> LayerReconstruction:
    r"""Cluster one hidden layer of :math:`N` students and collapse it (module docstring).

    Parameters
    ----------
    incoming : array (N, k, d)
        Incoming vectors (bias last) of the :math:`k` neurons of each student.
    outgoing : array (N, k, d_next)
        Their outgoing vectors (columns of the next layer's weight matrix).
    losses : array (N,)
        Final training loss of each student (ranks the winners).
    symmetry : str
        Symmetry class (:func:`~mlpgradientflow.recovery.symmetry_class`).
    gamma : float
        Clusters need :math:`\ge \lfloor\gamma N\rfloor \ge 2` members.
    beta : float
        Alignment angle: clusters with median cosine distance :math:`> 1-\cos\beta` go.
    final_layer : bool
        Keep only the winner's outgoing sum (last hidden layer) or all :math:`N` sums.

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
    >>> rec.incoming.shape, rec.report.sizes, rec.report.winner
    ((2, 3), (4, 4), (0, 0))
    >>> bool(np.abs(np.sort(rec.incoming, 0) - np.sort(teacher, 0)).max() < 1e-5)
    True
    """
    check_symmetry(symmetry)
    gamma, beta = check_gamma_beta(gamma, beta)
    W = finite_array("incoming", incoming, ndim=3, dtype=np.float64)
    A = finite_array("outgoing", outgoing, dtype=np.float64)
    losses = finite_array("losses", losses, dtype=np.float64)
    N, k, d = W.shape
    if A.ndim != 3 or A.shape[:2] != (N, k):
        raise ValueError(f"argument `outgoing` must have shape ({N}, {k}, d_next), got {A.shape}")
    if losses.shape != (N,):
        raise ValueError(f"argument `losses` must have shape ({N},), got {losses.shape}")
    min_size = int(gamma * N)
    if min_size < 2:
        raise ValueError(
            f"arguments `gamma`={gamma} and N={N}: the minimum cluster size floor(gamma*N) "
            "must be at least 2"
        )
    canon = canonicalize(W.reshape(N * k, d), symmetry, A.reshape(N * k, -1))
    assert canon.outgoing is not None  # outgoing weights were given
    clusters, height, Z = find_clusters(canon.vectors, min_size)
    medians = [median_cosine_distance(canon.vectors[c]) for c in clusters]
    aligned = [m <= 1 - np.cos(beta) for m in medians]
    student = np.repeat(np.arange(N), k)
    best = np.argsort(losses, kind="stable")[:_N_BEST]
    w_out, a_out, winners = [], [], []
    for members, ok in zip(clusters, aligned):
        owners = student[members]
        winner = next((int(s) for s in best if s in owners), -1)
        winners.append(winner if ok else -1)
        if not ok or winner < 0:
            continue
        w_out.append(canon.vectors[members[owners == winner]].mean(axis=0))
        sums = np.zeros((N, A.shape[2]))
        np.add.at(sums, owners, canon.outgoing[members])
        a_out.append(sums[winner] if final_layer else sums)
    m = len(w_out)
    W_rec = np.array(w_out).reshape(m, d)
    A_rec = np.array(a_out).reshape((m, A.shape[2]) if final_layer else (m, N, A.shape[2]))
    report = ClusterReport(
        cut_height=height,
        sizes=tuple(len(c) for c in clusters),
        median_cosine=tuple(medians),
        aligned=tuple(aligned),
        winner=tuple(winners),
        width=m,
        linkage=Z,
    )
    return LayerReconstruction(W_rec, A_rec if final_layer else A_rec.transpose(1, 0, 2), report)
