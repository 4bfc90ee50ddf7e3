"""Distance between two training trajectories (the reference's greedy monotone matching)."""

from __future__ import annotations

import warnings

import numpy as np

from .._validation import finite_array

__all__ = ["trajectory_distance"]


def _trajectory(name: str, obj):
    """Checked times (T,) and states (T, P) of a TrainResult, Trajectory or (t, x)."""
    if hasattr(obj, "trajectory"):
        obj = obj.trajectory
    if hasattr(obj, "t") and hasattr(obj, "x"):
        t, x = obj.t, obj.x
    elif isinstance(obj, tuple | list) and len(obj) == 2:
        t, x = obj
    else:
        raise TypeError(
            f"argument `{name}` must be a TrainResult, a Trajectory or a pair (t, x), got "
            f"{type(obj).__name__}"
        )
    t = finite_array(f"{name} t", t, ndim=1, dtype=float)
    x = finite_array(f"{name} x", x, ndim=2, dtype=float)
    if len(t) != len(x) or len(x) == 0:
        raise ValueError(
            f"argument `{name}`: needs as many times as states, at least one, got {len(t)} "
            f"times and {len(x)} states"
        )
    return t, x


def trajectory_distance(trajectory, reference):
    r"""Distance of each point of ``trajectory`` to a monotonically matched point of ``reference``.

    MLPGradientFlow.jl's semantics: the points of ``trajectory`` are visited in order;
    for each, the search walks forward along ``reference`` from the previous match while
    the distance does not increase, and keeps the minimum. The distance is the reference's
    ``weightnorm`` of the difference, :math:`\|x - x_{ref}\|^2 / (2P)` (half the mean
    square), not the Euclidean norm. When a point is matched to the last point of the
    reference (the trajectory went further than the reference), the comparison stops there
    with a warning, as in the reference: the returned arrays are then shorter than the
    trajectory.

    Parameters
    ----------
    trajectory, reference : TrainResult, Trajectory or (t, x)
        ``x`` of shape (T, P).

    Returns
    -------
    dists : ndarray (T,)
    times : ndarray (T,)
        Reference times of the matches.
    indices : ndarray (T,) of int
        Indices of the matches in the reference.

    Examples
    --------
    >>> import numpy as np
    >>> ref = (np.arange(5.0), np.arange(5.0)[:, None] * np.ones((1, 2)))
    >>> d, t, i = trajectory_distance((np.arange(3.0), np.array([[0, 0], [2, 2], [3.1, 3.1]])), ref)
    >>> i.tolist(), t.tolist()
    ([0, 2, 3], [0.0, 2.0, 3.0])
    """
    _, xs = _trajectory("trajectory", trajectory)
    tr, xr = _trajectory("reference", reference)
    P = xr.shape[1]
    if xs.shape[1] != P:
        raise ValueError(
            f"arguments `trajectory`, `reference` have {xs.shape[1]} and {P} parameters"
        )
    dists, idx = np.empty(len(xs)), np.empty(len(xs), dtype=int)
    j = 0
    for k, x in enumerate(xs):
        d = float(((xr[j] - x) ** 2).sum()) / (2 * P)
        while j + 1 < len(xr):
            dn = float(((xr[j + 1] - x) ** 2).sum()) / (2 * P)
            if dn > d:
                break
            j, d = j + 1, dn
        dists[k], idx[k] = d, j
        if j == len(xr) - 1 and k < len(xs) - 1:
            warnings.warn("trajectory_distance: reached end of reference", stacklevel=2)
            dists, idx = dists[: k + 1], idx[: k + 1]
            break
    return dists, tr[idx], idx
