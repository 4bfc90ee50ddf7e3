"""Checks at the package boundary: every message names the argument, what was expected and
what came. Nothing inside the engine re-checks what passed here."""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = [
    "MAX_VALUES",
    "as_int",
    "as_params",
    "as_real",
    "as_rng",
    "check_finite",
    "check_model",
    "check_out",
    "check_size",
    "finite_array",
]

#: The largest array, in float64 values (8 GB), that a function of the package allocates
#: because of a size the user asked for (``data.grid(1000, 3)``, a Gauss-Hermite rule, a
#: kernel matrix, ...); larger requests raise ValueError before allocating.
MAX_VALUES = 10**9


def _describe(x) -> str:
    if isinstance(x, np.ndarray):
        return f"an array of shape {x.shape} and dtype {x.dtype}"
    return f"{type(x).__name__}"


def check_finite(name: str, x: np.ndarray) -> None:
    """Raise ValueError when ``x`` holds NaN or Inf, with the first offending index."""
    if x.dtype.kind in "fc" and not np.isfinite(x).all():
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(x))[0]) if x.ndim else ()
        where = f" (first at index {idx if len(idx) > 1 else idx[0]})" if idx else ""
        raise ValueError(f"argument `{name}` contains NaN or Inf{where}")


def finite_array(
    name: str, x, *, ndim: int | tuple[int, ...] | None = None, dtype=None
) -> np.ndarray:
    """``x`` as a NumPy array with the given number of dimensions, checked for NaN/Inf."""
    if x is None:
        raise TypeError(f"argument `{name}` is required, got None")
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as err:
        raise TypeError(f"argument `{name}` must be array-like, got {_describe(x)}") from err
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"argument `{name}` must be numeric, got dtype {arr.dtype}")
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
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
            arr = np.asarray(p)
        except (TypeError, ValueError) as err:
            raise TypeError(f"argument `{name}` must be a flat numeric vector") from err
        if arr.dtype.kind not in "iuf":  # booleans, complex numbers, strings, objects
            raise TypeError(
                f"argument `{name}` must be a flat numeric vector of real numbers, got dtype "
                f"{arr.dtype}"
            )
        p = np.ascontiguousarray(arr, dtype=dtype)
    if p.ndim != 1 or p.shape[0] != nparams:
        raise ValueError(
            f"argument `{name}`: expected a flat vector of length {nparams} (net.nparams), "
            f"got shape {p.shape}"
        )
    check_finite(name, p)
    return p


class NonFiniteError(ValueError):
    """A loss, gradient or Hessian came out NaN or Inf (overflow in the network).

    Raised by the derivatives (:func:`~mlpgradientflow.loss`, ``fg``, ``fgh``, ...) and
    so by :func:`~mlpgradientflow.train` at its start; a ``ValueError``.

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> X = np.array([[1.0], [2.0]])
    >>> net = mgf.Net([(1, "exp", False), (1, "identity", False)], input=X, target=X)
    >>> try:
    ...     mgf.loss(net, [1000.0, 1.0])                    # exp(2000) overflows
    ... except mgf.NonFiniteError as err:
    ...     print(str(err)[:55])
    the loss is not finite at these parameters: the network
    """


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
    """``rng`` (None, an int seed, a Generator, SeedSequence or BitGenerator) as a Generator."""
    if rng is None or isinstance(
        rng, np.random.Generator | np.random.SeedSequence | np.random.BitGenerator
    ):
        return np.random.default_rng(rng)
    if isinstance(rng, int | np.integer) and not isinstance(rng, bool) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise TypeError(
        f"argument `rng` must be None, a non-negative int seed or a numpy.random.Generator, "
        f"got {rng!r}"
    )


def as_int(name: str, value, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as an int in ``minimum..maximum``; ValueError naming ``name`` otherwise
    (booleans and floats are not integers)."""
    ok = isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)
    if not ok or (minimum is not None and value < minimum) or (
        maximum is not None and value > maximum
    ):
        if minimum is not None and maximum is not None:
            want = f"an integer in {minimum}..{maximum}"
        elif minimum is not None:
            want = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        else:
            want = "an integer" if maximum is None else f"an integer <= {maximum}"
        raise ValueError(f"argument `{name}` must be {want}, got {value!r}")
    return int(value)


def as_real(
    name: str, value, *, minimum: float | None = None, positive: bool = False,
    finite: bool = True,
) -> float:
    """``value`` as a float: TypeError unless a real number (not a bool), ValueError when
    NaN, infinite (with ``finite``), below ``minimum`` or, with ``positive``, not > 0."""
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        value = value.item()
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(f"argument `{name}` must be a real number, got {value!r}")
    x = float(value)
    if math.isnan(x) or (finite and math.isinf(x)):
        raise ValueError(f"argument `{name}` must be {'finite' if finite else 'a number'}, got {x}")
    if positive and not x > 0:
        raise ValueError(f"argument `{name}` must be > 0, got {x}")
    if minimum is not None and x < minimum:
        raise ValueError(f"argument `{name}` must be >= {minimum}, got {x}")
    return x


def check_size(what: str, n_values: int) -> None:
    """Raise ValueError when ``what`` would allocate more than :data:`MAX_VALUES` float64
    values; ``what`` describes the request, e.g. ``"grid(1000, 3) (1e+09 points)"``."""
    if n_values > MAX_VALUES:
        raise ValueError(
            f"{what} would need {float(n_values):.3g} values ({8 * float(n_values) / 1e9:.3g} "
            f"GB), more than the limit of {MAX_VALUES:.0e} values "
            f"({8 * MAX_VALUES / 1e9:g} GB, mlpgradientflow._validation.MAX_VALUES); "
            "ask for fewer"
        )


def check_model(net, name: str = "net"):
    """``net`` itself when it is a :class:`~mlpgradientflow.Net` or ``NetI``, else TypeError."""
    from .gaussian.neti import NetI
    from .net import Net

    if not isinstance(net, Net | NetI):
        raise TypeError(f"argument `{name}` must be a Net or NetI, got {type(net).__name__}")
    return net


def check_out(name: str, out, shape: tuple, dtype, **inputs) -> np.ndarray:
    """``out`` checked as an output buffer: an ndarray of ``shape`` and ``dtype``,
    C-contiguous, writeable, sharing no memory with the arrays ``inputs`` (name -> array:
    the engine would overwrite its own input while reading it)."""
    if not isinstance(out, np.ndarray) or out.shape != shape or out.dtype != dtype:
        raise ValueError(
            f"argument `{name}` must be an array of shape {shape} and dtype {dtype}, "
            f"got {_describe(out)}"
        )
    if not out.flags.c_contiguous:
        raise ValueError(f"argument `{name}` must be C-contiguous")
    if not out.flags.writeable:
        raise ValueError(f"argument `{name}` must be writeable, got a read-only array")
    for other, x in inputs.items():
        if isinstance(x, np.ndarray) and np.shares_memory(out, x):
            raise ValueError(
                f"argument `{name}` shares memory with `{other}`: the result would overwrite "
                "its own input; pass a separate array"
            )
    return out
