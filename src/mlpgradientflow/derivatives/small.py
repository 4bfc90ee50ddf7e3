"""Loss and gradient of small data sets in one compiled call.

For a few samples the NumPy engine's cost is its per-call overhead (tens of NumPy calls of
about a microsecond each); the compiled kernel ``mgf_mse_fg`` walks the samples one by one
instead. It covers MSE nets whose activations all have compiled kernels, in float64.
"""

from __future__ import annotations

import numpy as np

from .. import _kernels

__all__ = ["SmallPlan", "make_plan", "SMALL_WORK"]

#: use the per-sample kernel when N * (sum of layer widths) is at most this (benchmarked:
#: benchmarks/bench_chunks.py)
SMALL_WORK = 3000


class SmallPlan:
    """The network's description as C arrays (kept alive here) and their addresses."""

    def __init__(self, eng) -> None:
        widths = [eng.din] + [lay.width for lay in eng.layers]
        self.widths = np.array(widths, dtype=np.int64)
        self.bias = np.array([int(lay.bias) for lay in eng.layers], dtype=np.int32)
        kinds = []
        for lay in eng.layers:
            for act, lo, hi in lay.groups:
                kinds += [act.c_kind or 0] * (hi - lo)
        self.kinds = np.array(kinds, dtype=np.int32)
        self.work = np.empty(3 * sum(widths[1:]))
        self.size = sum(widths[1:])
        a = _kernels.address
        self.args = (len(eng.layers), a(self.widths), a(self.bias), a(self.kinds))
        self.work_addr = a(self.work)

    def fg(self, data, p: np.ndarray, g: np.ndarray | None) -> float:
        """Weighted loss sum; adds the gradient of that sum into ``g`` when given."""
        a = _kernels.address
        X, T, w = data.arrays()
        return _kernels.mse_fg(
            self.args, a(p), X.shape[0], a(X), a(T), a(w), a(g), self.work_addr
        )


def make_plan(eng) -> SmallPlan | None:
    """A SmallPlan for the engine, or None when the compiled kernel does not cover its
    network (the engine caches it)."""
    ok = (
        _kernels.available
        and eng.dtype == np.float64
        and eng.loss_type == "mse"
        and all(
            a.c_kind is not None or a.name == "identity"
            for lay in eng.layers
            for a, _, _ in lay.groups
        )
    )
    return SmallPlan(eng) if ok else None
