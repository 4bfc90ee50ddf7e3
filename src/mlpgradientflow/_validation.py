"""Checks at the package boundary: every message names the argument, what was expected and
what came. Nothing inside the engine re-checks what passed here."""

from __future__ import annotations

import numpy as np

__all__ = ["finite_array", "check_finite", "as_params"]


def _describe(x) -> str:
    if isinstance(x, np.ndarray):
        return f"an array of shape {x.shape} and dtype {x.dtype}"
    return f"{type(x).__name__}"


def check_finite(name: str, x: np.ndarray) -> None:
    """Raise ValueError when ``x`` holds NaN or Inf, with the first offending index."""
    if x.dtype.kind in "fc" and not np.isfinite(x).all():
        bad = np.argwhere(~np.isfinite(x))[0]
        idx = tuple(int(i) for i in bad)
        raise ValueError(
            f"argument `{name}` contains NaN or Inf (first at index {idx if len(idx) > 1 else idx[0]})"
        )


def finite_array(
    name: str, x, *, ndim: int | tuple[int, ...] | None = None, dtype=None
) -> np.ndarray:
    """``x`` as a NumPy array with the given number of dimensions, checked for NaN/Inf."""
    if x is None:
        raise TypeError(f"argument `{name}` is required, got None")
    try:
        arr = np.asarray(x) if dtype is None else np.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as err:
        raise TypeError(f"argument `{name}` must be array-like, got {_describe(x)}") from err
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"argument `{name}` must be numeric, got dtype {arr.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if arr.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(f"argument `{name}` must be {want}, got shape {arr.shape}")
    check_finite(name, arr)
    return arr


def as_params(p, nparams: int, dtype, name: str = "p") -> np.ndarray:
    """A flat, finite parameter vector of length ``nparams`` in the net's dtype.

    Returns ``p`` itself when it already has the right dtype and is contiguous.
    """
    if not isinstance(p, np.ndarray) or p.dtype != dtype or not p.flags.c_contiguous:
        try:
            p = np.ascontiguousarray(p, dtype=dtype)
        except (TypeError, ValueError) as err:
            raise TypeError(f"argument `{name}` must be a flat numeric vector") from err
    if p.ndim != 1 or p.shape[0] != nparams:
        raise ValueError(
            f"argument `{name}`: expected a flat vector of length {nparams} (net.nparams), "
            f"got shape {p.shape}"
        )
    check_finite(name, p)
    return p


class NonFiniteError(ValueError):
    """A loss, gradient or Hessian came out NaN or Inf (overflow in the network)."""


def check_finite_result(loss: float, g, H) -> None:
    """Raise :class:`NonFiniteError` when an engine result is not finite."""
    for what, x in (("loss", loss), ("gradient", g), ("Hessian", H)):
        # one reduction: a NaN or Inf entry makes the sum NaN or Inf
        if x is not None and not np.isfinite(np.add.reduce(x, axis=None)):
            raise NonFiniteError(
                f"the {what} is not finite at these parameters: the network overflows "
                "(e.g. exp or cube activations with large pre-activations); "
                "check the parameters or use the `maxnorm` barrier"
            )


def as_rng(rng) -> np.random.Generator:
    """``rng`` (None, an int seed or a Generator) as a Generator."""
    if rng is None or isinstance(rng, np.random.Generator):
        return np.random.default_rng(rng)
    if isinstance(rng, int | np.integer) and not isinstance(rng, bool) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise TypeError(
        f"argument `rng` must be None, a non-negative int seed or a numpy.random.Generator, "
        f"got {rng!r}"
    )
