r"""Query augmentations for reverse-engineering a teacher from few inputs (Beiser, Martinelli,
Gerstner, Brea 2025; the fork ``alexl4123/expand-and-cluster``, ``datagen/``).

With fewer queries than teacher parameters, students fit the queries without aligning
with the teacher. These samplers make new queries from an array of base inputs of any
shape ``(n, ...)`` (images ``(n, H, W)``, say); the outputs keep that shape, float64.
The base inputs are taken as given: normalise them first (the reference normalises MNIST
with mean 0.1307, std 0.3081 before the noise and after the composition).

- :func:`noise_overlay`: a random base input plus i.i.d. uniform noise
  :math:`U[\mathrm{low}, \mathrm{high})` per entry ("biased": e.g. [0, 1) and [-1, 0));
- :func:`composition_sampling`: a grid of tiles, each the same-position crop of a
  different random base input, optionally rotated;
- :func:`composition_noise`: compositions, plus noise overlays of them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._validation import as_int, as_real, as_rng, check_size, finite_array

__all__ = ["noise_overlay", "composition_sampling", "composition_noise", "tile_bounds"]


def _base(base) -> np.ndarray:
    B = finite_array("base", base, dtype=np.float64)
    if B.ndim < 2 or B.shape[0] < 1:
        raise ValueError(f"argument `base` must have shape (n, ...) with n >= 1, got {B.shape}")
    return B


def _count(n, base: np.ndarray, name: str = "n") -> int:
    """A checked number of queries shaped like the rows of ``base``."""
    n = as_int(name, n, 0)
    check_size(f"{n} queries of shape {base.shape[1:]}", n * base[0].size)
    return n


def _grid(grid, B: np.ndarray) -> tuple[int, ...]:
    """Tiles per axis: positive ints, at most one per entry of axes 1, 2, ... of ``B``."""
    if isinstance(grid, str | bytes) or not isinstance(grid, Sequence | np.ndarray):
        raise TypeError(f"argument `grid` must be a sequence of tile counts, got {grid!r}")
    grid = tuple(as_int(f"grid[{a}]", g, 1) for a, g in enumerate(grid))
    if not 1 <= len(grid) <= B.ndim - 1:
        raise ValueError(f"argument `grid` needs 1..{B.ndim - 1} entries, got {grid}")
    for a, g in enumerate(grid):
        if g > B.shape[1 + a]:
            raise ValueError(
                f"argument `grid`: {g} tiles along axis {1 + a} of {B.shape[1 + a]} entries"
            )
    return grid


def noise_overlay(
    base, n: int, low: float = 0.0, high: float = 1.0, *, mode: str = "add", rng=None
) -> np.ndarray:
    r"""``n`` queries :math:`x = B_j + \xi` (``mode="add"``) or :math:`B_j \odot \xi`
    (``"multiply"``), :math:`j` uniform over the base inputs, :math:`\xi_{\cdot} \sim
    U[\mathrm{low}, \mathrm{high})` i.i.d. per entry.

    Parameters
    ----------
    base : array, shape (m, ...)
        Base inputs, one per row of axis 0.
    n : int
        Number of queries.
    low, high : float, optional
        The noise interval, ``low < high`` (default [0, 1)).
    mode : {"add", "multiply"}, optional
        Add the noise or multiply by it.
    rng : None, int or Generator, optional
        Fresh entropy, a seed, or a generator.

    Returns
    -------
    ndarray, shape (n, ...)
        The queries, float64, shaped like the rows of ``base``.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpgradientflow.recovery import noise_overlay
    >>> base = np.zeros((5, 4, 4))
    >>> q = noise_overlay(base, 3, -1.0, 0.0, rng=1)     # zero base: pure noise in [-1, 0)
    >>> q.shape, bool(((-1 <= q) & (q < 0)).all())
    ((3, 4, 4), True)
    """
    B = _base(base)
    n = _count(n, B)
    low, high = as_real("low", low), as_real("high", high)
    if not low < high:
        raise ValueError(f"arguments `low`={low}, `high`={high}: need low < high")
    if mode not in ("add", "multiply"):
        raise ValueError(f"argument `mode` must be 'add' or 'multiply', got {mode!r}")
    rng = as_rng(rng)
    src = B[rng.integers(len(B), size=n)]
    noise = rng.uniform(low, high, src.shape)
    return src + noise if mode == "add" else src * noise


def tile_bounds(size: int, parts: int) -> list[tuple[int, int]]:
    r"""Half-open tile ranges: ``size // parts`` each, the last takes the remainder:
    :math:`[i s, (i+1) s)` with :math:`s = \lfloor \mathrm{size}/\mathrm{parts}\rfloor`,
    the last :math:`[(\mathrm{parts}-1) s, \mathrm{size})`.

    Parameters
    ----------
    size : int
        Entries along the axis, >= 1.
    parts : int
        Number of tiles, 1..size.

    Returns
    -------
    list of (int, int)
        ``(start, stop)`` per tile, covering ``0..size``.

    Examples
    --------
    >>> from mlpgradientflow.recovery import tile_bounds
    >>> tile_bounds(28, 3)
    [(0, 9), (9, 18), (18, 28)]
    """
    size, parts = as_int("size", size, 1), as_int("parts", parts, 1)
    if not parts <= size:
        raise ValueError(f"argument `grid`: {parts} tiles along an axis of {size} entries")
    step = size // parts
    return [(i * step, size if i == parts - 1 else (i + 1) * step) for i in range(parts)]


def composition_sampling(
    base, n: int, grid: Sequence[int] = (3, 3), *, rotation=None, fill: float = 0.0, rng=None
) -> np.ndarray:
    r"""``n`` queries assembled from tiles of different random base inputs.

    Axes ``1 .. len(grid)`` of the base inputs are split into ``grid`` tiles
    (:func:`tile_bounds`); every tile of a query is the same-position crop of an
    independently drawn base input. With ``rotation=(lo, hi)`` (degrees; needs 2 tiled
    axes) each query is then rotated by an angle :math:`U[lo, hi]` about its centre
    (bilinear, ``scipy.ndimage.rotate``), the corners filled with ``fill`` (the
    reference rotates raw MNIST pixels, whose background is 0, before normalising).

    Parameters
    ----------
    base : array, shape (m, ...)
        Base inputs.
    n : int
        Number of queries.
    grid : sequence of int, optional
        Tiles along axes 1, 2, ... (default 3 x 3).
    rotation : (float, float), optional
        Range of rotation angles in degrees (two tiled axes only).
    fill : float, optional
        Value of the corners a rotation uncovers.
    rng : None, int or Generator, optional
        Fresh entropy, a seed, or a generator.

    Returns
    -------
    ndarray, shape (n, ...)
        The queries, float64.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpgradientflow.recovery import composition_sampling
    >>> base = np.arange(2 * 6 * 6, dtype=float).reshape(2, 6, 6)
    >>> q = composition_sampling(base, 4, (3, 3), rng=0)
    >>> q.shape, bool(np.isin(q, base).all())
    ((4, 6, 6), True)
    """
    B = _base(base)
    n, grid = _count(n, B), _grid(grid, B)
    if rotation is not None:
        rotation = _rotation(rotation, len(grid))
    fill = as_real("fill", fill)
    rng = as_rng(rng)
    out = np.empty((n, *B.shape[1:]))
    for tile in np.ndindex(*grid):
        where = tuple(
            slice(*tile_bounds(B.shape[1 + a], g)[t]) for a, (t, g) in enumerate(zip(tile, grid))
        )
        out[(slice(None), *where)] = B[(rng.integers(len(B), size=n), *where)]
    if rotation is not None:
        out = _rotate(out, rotation, fill, rng, len(grid))
    return out


def _rotation(rotation, ntiled: int) -> tuple[float, float]:
    if ntiled != 2:
        raise ValueError("argument `rotation` needs a grid over exactly two axes (images)")
    if isinstance(rotation, str | bytes) or not isinstance(rotation, Sequence | np.ndarray) or (
        len(rotation) != 2
    ):
        raise TypeError(f"argument `rotation` must be a pair (lo, hi) in degrees, got {rotation!r}")
    lo, hi = as_real("rotation[0]", rotation[0]), as_real("rotation[1]", rotation[1])
    if lo > hi:
        raise ValueError(f"argument `rotation`: need lo <= hi, got ({lo}, {hi})")
    return lo, hi


def _rotate(images, rotation, fill, rng, ntiled):
    from scipy.ndimage import rotate

    lo, hi = rotation
    angles = rng.uniform(lo, hi, len(images))
    return np.stack(
        [
            rotate(im, a, axes=(0, 1), reshape=False, order=1, mode="constant", cval=fill)
            for im, a in zip(images, angles)
        ]
    )


def _intervals(intervals) -> list[tuple[float, float]]:
    try:
        pairs = [(as_real("intervals", lo), as_real("intervals", hi)) for lo, hi in intervals]
    except (TypeError, ValueError) as err:
        raise type(err)(
            f"argument `intervals` must be a sequence of pairs (low, high) of finite numbers, "
            f"got {intervals!r}"
        ) from err
    bad = [(lo, hi) for lo, hi in pairs if not lo < hi]
    if bad:
        raise ValueError(f"argument `intervals`: need low < high in each pair, got {bad[0]}")
    return pairs


def composition_noise(
    base,
    n_composition: int,
    n_noise: int,
    intervals: Sequence[tuple[float, float]] = ((0.0, 1.0), (-1.0, 0.0)),
    grid: Sequence[int] = (3, 3),
    *,
    rotation=None,
    rng=None,
) -> np.ndarray:
    r"""Compositions, then noise overlays of those compositions, stacked.

    Returns ``n_composition`` compositions (:func:`composition_sampling`) followed by
    ``n_noise`` overlays (:func:`noise_overlay` of the compositions) per interval; the
    reference's recipe is 3×3 tiles with intervals [0, 1) and [-1, 0), e.g. 60k + 60k + 60k.

    Parameters
    ----------
    base : array, shape (m, ...)
        Base inputs.
    n_composition : int
        Number of compositions (> 0 when ``n_noise > 0``).
    n_noise : int
        Noise overlays per interval.
    intervals : sequence of (low, high), optional
        Noise intervals (default [0, 1) and [-1, 0)).
    grid : sequence of int, optional
        Tiles of the compositions (default 3 x 3).
    rotation : (float, float), optional
        Rotation range of the compositions, degrees.
    rng : None, int or Generator, optional
        Fresh entropy, a seed, or a generator.

    Returns
    -------
    ndarray, shape (n_composition + len(intervals) * n_noise, ...)
        Compositions first, then the overlays interval by interval.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpgradientflow.recovery import composition_noise
    >>> base = np.random.default_rng(0).standard_normal((10, 8, 8))
    >>> composition_noise(base, 20, 10, rng=0).shape
    (40, 8, 8)
    """
    B = _base(base)
    n_composition, n_noise = _count(n_composition, B, "n_composition"), _count(n_noise, B, "n_noise")
    intervals = _intervals(intervals)
    if n_composition == 0 and n_noise > 0:
        raise ValueError("argument `n_composition` must be positive to overlay noise on it")
    rng = as_rng(rng)
    comp = composition_sampling(B, n_composition, grid, rotation=rotation, rng=rng)
    noisy = [noise_overlay(comp, n_noise, lo, hi, rng=rng) for lo, hi in intervals]
    return np.concatenate([comp, *noisy])
