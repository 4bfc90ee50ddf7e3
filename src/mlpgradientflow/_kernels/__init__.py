"""Optional compiled kernels (built from ``activations.c`` by the package's build hook).

``activation(kind, x, y, d1, d2)`` runs the C kernel on float64 arrays that share one 2-D
layout (rows with a common stride, unit column stride) and returns True; it returns False
(the caller then uses the NumPy kernels) when the library is missing, disabled with the
environment variable ``MLPGRADIENTFLOW_NO_C=1`` (any value but empty or ``0``), or the arrays
do not fit.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path
from typing import overload

import numpy as np

__all__ = ["available", "activation", "activation_at", "address", "kind", "mse_fg", "outer_rows"]

def _load():
    if os.environ.get("MLPGRADIENTFLOW_NO_C", "").strip() not in ("", "0"):
        return None, None, None, None
    path = Path(__file__).with_name("_activations.so")
    try:
        lib = ctypes.CDLL(str(path))
    except OSError:
        return None, None, None, None
    act = lib.mgf_activation
    act.restype = ctypes.c_int
    act.argtypes = [ctypes.c_int, ctypes.c_long, ctypes.c_long, ctypes.c_long] + [ctypes.c_void_p] * 4
    fg = lib.mgf_mse_fg
    fg.restype = ctypes.c_double
    fg.argtypes = [ctypes.c_int] + [ctypes.c_void_p] * 4 + [ctypes.c_long] + [ctypes.c_void_p] * 5
    outer = lib.mgf_outer_rows
    outer.restype = None
    L, P = ctypes.c_long, ctypes.c_void_p
    outer.argtypes = [L, L, L, P, L, P, L, P, L]
    kind = getattr(lib, "mgf_kind", None)  # a library built before the table had none
    if kind is None:
        return None, None, None, None
    kind.restype, kind.argtypes = ctypes.c_int, [ctypes.c_char_p]
    return act, fg, outer, kind


_fn, _fg, _outer, _kind = _load()
available: bool = _fn is not None


def kind(name: str | None) -> int | None:
    """The compiled kernel's id for an activation's ``c_kernel`` name (None: no such kernel,
    or no compiled library)."""
    if name is None or _kind is None:
        return None
    k = _kind(name.encode())
    return k or None


@overload
def address(a: np.ndarray) -> int: ...
@overload
def address(a: None) -> None: ...
def address(a: np.ndarray | None) -> int | None:
    """The address of ``a``'s first element (None for None)."""
    return None if a is None else a.__array_interface__["data"][0]


def activation_at(kind: int, rows: int, cols: int, ld: int, x: int, y: int, d1, d2) -> None:
    """The C kernel on raw addresses (float64, row stride ``ld``); the engine caches the
    addresses of its workspaces, since taking them from arrays costs about a microsecond."""
    _fn(kind, rows, cols, ld, x, y, d1, d2)


def mse_fg(plan, p: int, N: int, X: int, T: int, w, grad, work: int) -> float:
    """Weighted sum of squared errors (and its gradient, added into address ``grad``)
    sample by sample; ``plan`` holds the addresses of (widths, bias, kinds) arrays."""
    return _fg(plan[0], plan[1], plan[2], plan[3], p, N, X, T, w, grad, work)


def outer_rows(out: np.ndarray, u: np.ndarray, v: np.ndarray) -> bool:
    """``out[s, a, i] = u[s, a] * v[s, i]`` with the C kernel when the layouts allow."""
    if _outer is None or out.dtype != np.float64 or u.dtype != out.dtype or v.dtype != out.dtype:
        return False
    n, k, m = out.shape
    if out.strides[1:] != (8 * m, 8) or u.strides[1] != 8 or v.strides[1] != 8:
        return False
    _outer(n, k, m, address(u), u.strides[0] // 8, address(v), v.strides[0] // 8,
           address(out), out.strides[0] // 8)
    return True


def activation(kind: int, x: np.ndarray, y: np.ndarray, d1, d2) -> bool:
    """Fill y = f(x), d1 = f'(x), d2 = f''(x) (d1/d2 may be None) with the C kernel."""
    if _fn is None or x.dtype != np.float64 or not 1 <= x.ndim <= 2 or x.size == 0:
        return False
    st = x.strides
    if st[-1] != 8 or any(
        a is not None and (a.strides != st or a.shape != x.shape or a.dtype != x.dtype)
        for a in (y, d1, d2)
    ):
        return False
    rows, cols = x.shape if x.ndim == 2 else (1, x.shape[0])
    ld = st[0] // 8 if x.ndim == 2 and rows > 1 else cols
    return _fn(kind, rows, cols, ld, address(x), address(y), address(d1), address(d2)) == 0
