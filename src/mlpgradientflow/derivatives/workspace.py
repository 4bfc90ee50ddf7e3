"""Buffers for one chunk of samples, allocated once per (engine, order) and reused.

Reusing buffers matters: glibc returns large freed blocks to the OS, and page faults on
fresh temporaries then cost more than the arithmetic (spec/performance.md §3b). Every
array is sized for the largest chunk; a shorter last chunk uses leading ``[:n]`` views,
which keeps them contiguous.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _kernels

__all__ = ["Workspace", "get_workspace", "chunk_rows", "CHUNK_ELEMENTS"]

#: entries of one (chunk, width) buffer, by derivative order: the forward/backward buffers
#: of a chunk should stay in the L2 cache (elementwise work is memory-bound otherwise);
#: the Hessian's (chunk, P) rows want enough rows for an efficient SYRK.
#: Chosen by benchmark (benchmarks/bench_chunks.py).
CHUNK_ELEMENTS = {0: 1 << 17, 1: 1 << 17, 2: 1 << 18}
MIN_ROWS, MAX_ROWS = 64, 4096


def chunk_rows(eng, order: int) -> int:
    """Samples per chunk for ``eng`` at derivative ``order``."""
    width = eng.nparams if order == 2 else max(lay.width for lay in eng.layers)
    return max(MIN_ROWS, min(MAX_ROWS, CHUNK_ELEMENTS[order] // width))


class Workspace:
    """Per-layer forward/backward buffers and, for order 2, the Hessian kernel's buffers."""

    def __init__(self, eng, n: int, order: int) -> None:
        dt = eng.dtype
        widths = [lay.width for lay in eng.layers]
        kmax = max(widths)
        self.n, self.order = n, order
        self.h = [np.empty((n, k), dt) for k in widths]
        self.y = [np.empty((n, k), dt) for k in widths]
        self._s = np.empty((2, n * kmax), dt)
        dout = eng.dout
        self.e = np.empty((n, dout), dt)
        self.e2 = np.empty((n, dout), dt)
        self.d1 = self.d2 = self.delta = self.dd = None
        self.tmp: dict = {}
        self.views: dict = {}
        if order >= 1:
            self.d1 = [self._const(eng, n, i, "d1_const") for i in range(len(widths))]
            self.delta = [np.empty((n, k), dt) for k in widths]
            self.ga = np.empty(n * kmax, dt)
            self.gW = [
                np.empty((k, m - int(lay.bias)), dt)
                for lay, (k, m) in zip(eng.layers, eng.shapes)
            ]
            self.gb = [np.empty(k, dt) for k in widths]
            self.ones = np.ones(n, dt)
        if order >= 2:
            self.d2 = [self._const(eng, n, i, "d2_const") for i in range(len(widths))]
            self.dd = [np.empty((n, k), dt) for k in widths[:-1]]
            self.curved = [
                any(a.d2_const != 0.0 for a, _, _ in lay.groups) for lay in eng.layers
            ]
            # the inputs of each layer with their ones column: (n, k_{l-1} + bias_l)
            self.at = []
            for lay, (_, m) in zip(eng.layers, eng.shapes):
                a = np.empty((n, m), dt)
                if lay.bias:
                    a[:, -1] = 1.0
                self.at.append(a)
            self.r = self.r_pos = dout
        # addresses of the activation buffers, for the compiled kernels
        self.c_ok = _kernels.available and dt == np.float64
        if self.c_ok:
            addr = _kernels.address
            self.addr = [
                (addr(self.h[i]), addr(self.y[i]),
                 addr(self.d1[i]) if self.d1 else None, addr(self.d2[i]) if self.d2 else None)
                for i in range(len(widths))
            ]

    @staticmethod
    def _const(eng, n, i, attr):
        lay = eng.layers[i]
        buf = np.empty((n, lay.width), eng.dtype)
        for act, lo, hi in lay.groups:
            c = getattr(act, attr)
            if c is not None:
                buf[:, lo:hi] = c
        return buf

    def scratch(self, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Two contiguous (n, k) scratch arrays."""
        return self._s[0, : n * k].reshape(n, k), self._s[1, : n * k].reshape(n, k)

    def buffer(self, key, shape) -> np.ndarray:
        """A named contiguous scratch array, allocated on first use and reused.

        The view is contiguous for any ``shape`` (a leading-axis slice of a fixed
        (r, n_max, k) array would not be, once a shorter last chunk comes).
        """
        view = self.views.get((key, shape))
        if view is not None:
            return view
        size = math.prod(shape)
        buf = self.tmp.get(key)
        if buf is None or buf.size < size:
            buf = self.tmp[key] = np.empty(size, self.y[0].dtype)
            self.views = {k: v for k, v in self.views.items() if k[0] != key}
        view = self.views[(key, shape)] = buf[:size].reshape(shape)
        return view


def get_workspace(eng, n_needed: int, order: int) -> Workspace:
    """The engine's cached workspace for ``order``, large enough for one chunk
    (``ws.n`` rows: the chunk size to use)."""
    n = max(1, min(n_needed, chunk_rows(eng, order)))
    ws = eng.workspaces.get(order)
    if ws is None or ws.n < n:
        ws = eng.workspaces[order] = Workspace(eng, n, order)
    return ws
