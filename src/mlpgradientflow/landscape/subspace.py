r"""The loss minimised across a 2-D plane of parameter space (the reference's
``LinearSubspace``, ``subspace_minloss``, ``subspace_minloss_on_grid``).

A plane through ``ref`` spanned by two directions, with unit vectors
:math:`\hat v_1, \hat v_2`, has the points :math:`v(a_1, a_2) = \mathrm{ref} + a_1 \hat v_1
+ a_2 \hat v_2`. Let the columns of :math:`B \in \mathbb R^{P \times (P-2)}` be an
orthonormal basis of the plane's orthogonal complement. The *subspace minimum loss* at
plane coordinates :math:`(a_1, a_2)` is

.. math::

    L^*(a_1, a_2) = \min_{x \in \mathbb R^{P-2}} L\bigl(v(a_1, a_2) + B x\bigr),

the loss minimised over every parameter direction orthogonal to the plane: a 2-D
picture of the landscape in which every point is a (local) minimum of the rest. Its
gradient in :math:`x` is :math:`B^\top \nabla L` and its Hessian :math:`B^\top \nabla^2 L
\, B`, both exact.

Differences from the reference, all deliberate:

- ``subspace_minloss(net, (ref, v1, v2), coords)`` works; the reference's convenience
  method ``subspace_minloss(net, ref, v1, v2, a1, a2)`` builds a malformed subspace and
  fails (reference.md §9).
- :meth:`LinearSubspace.coords` returns :math:`(a_1, a_2)` of the projection of a point;
  the reference's ``to_local_coords`` returns :math:`U^\top(\mathrm{ref} - p)` in a
  rotated, sign-flipped orthonormal frame, which is not :math:`(a_1, a_2)` in general.
- Each start is minimised with :func:`~mlpgradientflow.train` (by default its Newton
  phase only, to :math:`\|B^\top\nabla L\|_\infty \le 10^{-15}`), not with L-BFGS under a
  1 s time limit; so far fewer restarts are needed (default 4 instead of
  :math:`3(P-2)`) and the reference's separate fine-tuning step is unnecessary.
- Collinear or zero directions raise ValueError (the reference's SVD silently returns
  a wrong complement).

As in the reference, every parameter outside the plane is free (there is no mask of
frozen coordinates).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .._validation import as_real, as_rng, check_model, check_size, finite_array
from ..training import DEFAULTS, TrainOptions, train

__all__ = ["LinearSubspace", "SubspaceResult", "TRAIN_OPTIONS", "subspace_minloss",
           "subspace_minloss_on_grid", "to_local_coords"]

#: training at each plane point: Newton from every start (no flow), 200 iterations, quiet
TRAIN_OPTIONS = DEFAULTS.replace(maxiterations_ode=0, maxiterations_optim=200, verbosity=0)


class LinearSubspace:
    r"""The affine plane :math:`\mathrm{ref} + a_1 \hat v_1 + a_2 \hat v_2` and the
    orthonormal basis ``b`` of its orthogonal complement.

    Parameters
    ----------
    ref : array (P,)
        A point of the plane (its origin, :math:`a_1 = a_2 = 0`).
    v1, v2 : array (P,)
        Non-zero, non-collinear directions; they are normalised, as in the reference,
        so coordinates measure Euclidean distance along :math:`\hat v_1, \hat v_2`.

    Attributes
    ----------
    ref, v1, v2 : ndarray (P,)
        ``v1``, ``v2`` normalised.
    u : ndarray (P, 2)
        Orthonormal basis of the plane's directions (QR of :math:`[\hat v_1\ \hat v_2]`).
    b : ndarray (P, P-2)
        Orthonormal basis of the complement.

    Examples
    --------
    >>> import numpy as np
    >>> S = LinearSubspace(np.zeros(4), [1.0, 0, 0, 0], [1.0, 1.0, 0, 0])
    >>> S.b.shape, S.dim
    ((4, 2), 2)
    >>> S.coords(S.point(0.5, -2.0) + S.b @ [3.0, 4.0])
    array([ 0.5, -2. ])
    """

    def __init__(self, ref, v1, v2) -> None:
        ref = finite_array("ref", ref, ndim=1, dtype=np.float64)
        vs = [finite_array(n, v, ndim=1, dtype=np.float64) for n, v in (("v1", v1), ("v2", v2))]
        P = ref.shape[0]
        for name, v in zip(("v1", "v2"), vs):
            if v.shape != (P,):
                raise ValueError(
                    f"argument `{name}` must have shape ({P},) like `ref`, got {v.shape}"
                )
            if not np.linalg.norm(v) > 0:
                raise ValueError(f"argument `{name}` must be a non-zero direction")
        if P < 3:
            raise ValueError(f"argument `ref`: a plane needs at least 3 parameters, got {P}")
        check_size(f"LinearSubspace in P = {P} dimensions (a P x P basis)", P * P)
        self.ref = ref.copy()
        self.v1, self.v2 = (v / np.linalg.norm(v) for v in vs)
        Q, R = np.linalg.qr(np.column_stack([self.v1, self.v2]), mode="complete")
        # |R[1, 1]| is the sine of the angle between v1 and v2
        if abs(R[1, 1]) < 1e-12:
            raise ValueError("arguments `v1`, `v2` are collinear: they span no plane")
        self.u, self.b, self._R = Q[:, :2], Q[:, 2:], R[:2]

    @property
    def dim(self) -> int:
        """Dimension :math:`P - 2` of the complement (the reference's ``subspace_dim``)."""
        return self.b.shape[1]

    def point(self, a1: float, a2: float) -> np.ndarray:
        r""":math:`\mathrm{ref} + a_1 \hat v_1 + a_2 \hat v_2`, a new array (P,).

        Examples
        --------
        >>> S = LinearSubspace(np.zeros(3), [2.0, 0.0, 0.0], [0.0, 0.0, 3.0])  # unit v-hats
        >>> S.point(1.0, -1.0)
        array([ 1.,  0., -1.])
        """
        a1, a2 = as_real("a1", a1), as_real("a2", a2)
        return self.ref + a1 * self.v1 + a2 * self.v2

    def coords(self, p) -> np.ndarray:
        r"""Plane coordinates :math:`(a_1, a_2)` of the orthogonal projection of ``p``:
        the solution of :math:`[\hat v_1\ \hat v_2]\, a = U U^\top (p - \mathrm{ref})`.

        Examples
        --------
        >>> S = LinearSubspace(np.zeros(3), [2.0, 0.0, 0.0], [0.0, 0.0, 3.0])
        >>> S.coords([5.0, 7.0, 1.0])                 # the 7 is off the plane
        array([5., 1.])
        """
        p = finite_array("p", p, ndim=1, dtype=np.float64)
        if p.shape != self.ref.shape:
            raise ValueError(f"argument `p` must have shape {self.ref.shape}, got {p.shape}")
        return np.linalg.solve(self._R, self.u.T @ (p - self.ref))

    def __repr__(self) -> str:
        return f"LinearSubspace(P={self.ref.shape[0]}, complement dimension {self.dim})"


def to_local_coords(subspace: LinearSubspace, p) -> np.ndarray:
    r"""Plane coordinates :math:`(a_1, a_2)` of ``p`` (the reference's name): the same as
    :meth:`LinearSubspace.coords`, so that ``subspace.point(*to_local_coords(subspace, p))``
    is the projection of ``p`` onto the plane.

    The reference returns :math:`U_{:, 1:2}^\top(\mathrm{ref} - p)` instead: coordinates in
    a rotated basis of the plane with the opposite sign, not :math:`(a_1, a_2)` in general
    (see ``shared/spec/reference.md``); ported code that relied on that must flip the sign
    and rotate by :math:`U_{:,1:2}^\top[\hat v_1\ \hat v_2]`.

    Parameters
    ----------
    subspace : LinearSubspace
        The plane :math:`\mathrm{ref} + a_1 v_1 + a_2 v_2`.
    p : array, shape (P,)
        A point.

    Returns
    -------
    ndarray, shape (2,)
        :math:`(a_1, a_2)`.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpgradientflow.landscape import LinearSubspace, to_local_coords
    >>> S = LinearSubspace(np.zeros(3), np.array([1.0, 0, 0]), np.array([1.0, 1, 0]))
    >>> to_local_coords(S, S.point(0.5, -2.0)).round(12)
    array([ 0.5, -2. ])
    """
    return subspace.coords(p)


@dataclass(frozen=True)
class SubspaceResult:
    r"""The minimum across the plane at one coordinate pair.

    Returned by :func:`subspace_minloss` (one per point of :func:`subspace_minloss_on_grid`).

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> from mlpgradientflow.landscape import subspace_minloss
    >>> X = np.random.default_rng(0).standard_normal((50, 2))
    >>> net = mgf.Net([(2, "tanh", True), (1, "identity", True)], input=X, target=X[:, :1] ** 2)
    >>> plane = (net.random_params(1), net.random_params(2), net.random_params(3))
    >>> r = subspace_minloss(net, plane, (0.1, 0.0), rng=0)
    >>> (r.a1, r.a2), r.p.shape, r.best_x.shape            # P = 9, complement P - 2
    ((0.1, 0.0), (9,), (7,))

    Attributes
    ----------
    a1, a2 : float
        Plane coordinates.
    loss : float
        :math:`L^*(a_1, a_2)` (without regularisers).
    p : ndarray (P,)
        The minimiser :math:`v + B x^*`.
    best_x : ndarray (P-2,)
        Its complement coordinates :math:`x^*` (warm starts for neighbouring points).
    delta_loss : float
        :math:`L(v) - L^*`: how much the complement lowers the loss at the plane point.
    converged : bool
        The best run stopped at :math:`\|B^\top \nabla L\|_\infty \le` ``min_gnorm`` or at
        ``minloss``.
    """

    a1: float
    a2: float
    loss: float
    p: np.ndarray
    best_x: np.ndarray
    delta_loss: float
    converged: bool


class _Complement:
    """The net restricted to ``v + B x``: the Net interface that ``train`` needs, in x."""

    def __init__(self, net, v: np.ndarray, b: np.ndarray) -> None:
        self.net, self.v, self.b = net, v, b
        self.nparams = b.shape[1]

    def point(self, x) -> np.ndarray:
        return self.v + self.b @ x

    def loss(self, x, **reg) -> float:
        return self.net.loss(self.point(x), **reg)

    def fg(self, p, **reg) -> tuple[float, np.ndarray]:
        loss, g = self.net.fg(self.point(p), **reg)
        return loss, self.b.T @ g

    def fgh(self, p, **reg) -> tuple[float, np.ndarray, np.ndarray]:
        loss, g, H = self.net.fgh(self.point(p), **reg)
        return loss, self.b.T @ g, self.b.T @ H @ self.b


def _as_subspace(subspace) -> LinearSubspace:
    if isinstance(subspace, LinearSubspace):
        return subspace
    if isinstance(subspace, Sequence) and len(subspace) == 3:
        return LinearSubspace(*subspace)
    raise TypeError(
        f"argument `subspace` must be a LinearSubspace or a tuple (ref, v1, v2), got {subspace!r}"
    )


def _coords(name: str, coords) -> tuple[float, float]:
    a = finite_array(name, coords, ndim=1, dtype=np.float64)
    if a.shape != (2,):
        raise ValueError(f"argument `{name}` must be a pair (a1, a2), got shape {a.shape}")
    return float(a[0]), float(a[1])


def _restart_points(S: LinearSubspace, restarts: int, sigma: float, rng) -> list[np.ndarray]:
    """The reference's restarts, alternating "ref" (x = σz: near the plane point) and
    "origin" (x = σz - Bᵀref: the plane point with ref's complement part removed)."""
    z = rng.standard_normal((restarts, S.dim)) * sigma
    origin = S.b.T @ S.ref
    return [z[i] - origin if i % 2 else z[i] for i in range(restarts)]


def subspace_minloss(
    net,
    subspace,
    coords,
    *,
    restarts: int = 4,
    sigma: float = 1e-2,
    starts: Sequence = (),
    rng=None,
    **train_options,
) -> SubspaceResult:
    r"""Minimise the loss over the complement of a plane at fixed plane coordinates.

    Computes :math:`L^*(a_1, a_2) = \min_x L(\mathrm{ref} + a_1 \hat v_1 + a_2 \hat v_2
    + B x)` by running :func:`~mlpgradientflow.train` on :math:`x` from every start and
    keeping the lowest loss. Starts: ``starts`` first, then ``restarts`` random ones
    alternating "ref" (:math:`x = \sigma z`) and "origin" (:math:`x = \sigma z -
    B^\top \mathrm{ref}`), :math:`z \sim \mathcal N(0, I)`, as the reference.

    Parameters
    ----------
    net : Net-like
        A :class:`~mlpgradientflow.Net` or ``NetI`` (``fg``, ``fgh``, ``loss``).
    subspace : LinearSubspace or tuple (ref, v1, v2)
    coords : pair (a1, a2)
    restarts : int
        Random starts (default 4; the reference's 3(P-2) L-BFGS runs are not needed).
    sigma : float
        Scale of the random starts (default 1e-2, the reference's).
    starts : sequence of arrays (P-2,)
        Extra starts in complement coordinates, e.g. ``best_x`` of a neighbouring point.
    rng : None, int or Generator
        Seed of the random starts.
    **train_options
        Passed to :func:`~mlpgradientflow.train`, updating :data:`TRAIN_OPTIONS`
        (``maxiterations_ode=0``: no flow, Newton from the start; ``maxiterations_optim=200``;
        quiet). ``maxnorm``/``merge`` act on the full parameter vector.

    Returns
    -------
    SubspaceResult

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> X = np.random.default_rng(0).standard_normal((50, 2))
    >>> net = mgf.Net([(2, "tanh", True), (1, "identity", True)], input=X, target=X[:, :1] ** 2)
    >>> p = net.random_params(1)
    >>> r = subspace_minloss(net, (p, net.random_params(2), net.random_params(3)), (0.1, 0.0), rng=0)
    >>> r.p.shape, r.best_x.shape, bool(r.delta_loss > 0)
    ((9,), (7,), True)
    """
    check_model(net)
    S = _as_subspace(subspace)
    a1, a2 = _coords("coords", coords)
    if S.ref.shape[0] != net.nparams:
        raise ValueError(
            f"argument `subspace` lives in {S.ref.shape[0]} dimensions but the net has "
            f"{net.nparams} parameters"
        )
    if isinstance(restarts, bool) or not isinstance(restarts, int | np.integer) or restarts < 0:
        raise ValueError(f"argument `restarts` must be an integer >= 0, got {restarts!r}")
    if not (isinstance(sigma, int | float | np.number) and 0 <= sigma < math.inf):
        raise ValueError(f"argument `sigma` must be a finite number >= 0, got {sigma!r}")
    x0s = [finite_array(f"starts[{i}]", x, ndim=1, dtype=np.float64) for i, x in enumerate(starts)]
    for i, x in enumerate(x0s):
        if x.shape != (S.dim,):
            raise ValueError(f"argument `starts[{i}]` must have shape ({S.dim},), got {x.shape}")
    x0s += _restart_points(S, int(restarts), float(sigma), as_rng(rng))
    if not x0s:
        raise ValueError("arguments `restarts`=0 and empty `starts`: nothing to minimise from")
    problem = _Complement(net, S.point(a1, a2), S.b)
    options = TrainOptions.make(TRAIN_OPTIONS, **train_options)
    best = min((train(problem, x0, options) for x0 in x0s), key=lambda r: r.loss)
    return SubspaceResult(
        a1=a1,
        a2=a2,
        loss=best.loss,
        p=problem.point(best.x),
        best_x=best.x,
        delta_loss=net.loss(problem.v) - best.loss,
        converged=bool(best.converged),
    )


def subspace_minloss_on_grid(
    net,
    subspace,
    grid,
    *,
    n: int = 3,
    restarts: int = 2,
    sigma: float = 1e-3,
    reverse_finetune: bool = True,
    rng=None,
    **train_options,
) -> list[SubspaceResult]:
    r""":func:`subspace_minloss` at every row of ``grid``, warm-started from neighbours.

    The grid is swept in order; each point starts from the ``best_x`` of the ``n``
    nearest points already solved (L1 distance in :math:`(a_1, a_2)`, as the
    reference; the first point from :math:`x = 0`, the plane point itself) plus
    ``restarts`` random starts. With ``reverse_finetune`` the grid is
    then swept backwards, each point restarting from its ``n`` nearest other points'
    current ``best_x``; a result is replaced only when the loss decreases. So a minimum
    found anywhere propagates along the grid in both directions. (The reference draws
    its warm starts at random among the neighbours and overwrites each result.)

    Parameters
    ----------
    net : Net-like
    subspace : LinearSubspace or tuple (ref, v1, v2)
    grid : array (M, 2)
        Coordinate pairs, e.g. ``np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)``.
    n : int
        Number of neighbours to warm-start from (default 3, the reference's).
    restarts, sigma, rng, **train_options
        As in :func:`subspace_minloss` (defaults: 2 random restarts, sigma 1e-3).
    reverse_finetune : bool
        Run the backward sweep (default True).

    Returns
    -------
    list of SubspaceResult, in the order of ``grid``

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> X = np.random.default_rng(0).standard_normal((50, 2))
    >>> net = mgf.Net([(2, "tanh", True), (1, "identity", True)], input=X, target=X[:, :1] ** 2)
    >>> p = net.random_params(1)
    >>> S = LinearSubspace(p, net.random_params(2), net.random_params(3))
    >>> res = subspace_minloss_on_grid(net, S, [(0.0, 0.0), (0.1, 0.0)], rng=0)
    >>> [(r.a1, r.a2) for r in res]
    [(0.0, 0.0), (0.1, 0.0)]
    """
    check_model(net)
    S = _as_subspace(subspace)
    G = finite_array("grid", grid, ndim=2, dtype=np.float64)
    if G.shape[1] != 2 or G.shape[0] == 0:
        raise ValueError(f"argument `grid` must have shape (M, 2) with M >= 1, got {G.shape}")
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"argument `n` must be a positive integer, got {n!r}")
    rng = as_rng(rng)
    kw = dict(sigma=sigma, rng=rng, **train_options)
    results: list[SubspaceResult] = []
    for a in G:
        near = _nearest(G[: len(results)], a, n)
        starts = [results[j].best_x for j in near] or [np.zeros(S.dim)]
        results.append(subspace_minloss(net, S, a, restarts=restarts, starts=starts, **kw))
    if reverse_finetune and len(G) > 1:
        for i in reversed(range(len(G))):
            others = np.delete(np.arange(len(G)), i)
            near = others[_nearest(G[others], G[i], n)]
            r = subspace_minloss(
                net, S, G[i], restarts=0, starts=[results[j].best_x for j in near], **kw
            )
            if r.loss < results[i].loss:
                results[i] = r
    return results


def _nearest(points: np.ndarray, a: np.ndarray, n: int) -> np.ndarray:
    """Indices of the (at most) ``n`` rows of ``points`` nearest to ``a`` in L1."""
    d = np.abs(points - a).sum(axis=1)
    return np.argsort(d, kind="stable")[:n]
