r"""Forward pass and first-order backpropagation over one chunk of samples.

For a chunk of :math:`n` samples (rows), layer :math:`l` computes
:math:`H_l = A_{l-1} W_l^\top + 1 b_l^\top` (one GEMM) and :math:`A_l = f_l(H_l)` with
:math:`f_l', f_l''` in the same pass. Backpropagation of
:math:`\Delta_l = \partial(\sum_s w_s\ell_s)/\partial H_l`:

.. math::

    G_l = \Delta_{l+1} W_{l+1}, \qquad \Delta_l = G_l \odot f_l'(H_l), \qquad
    \Delta'_l = G_l \odot f_l''(H_l),

and :math:`\partial/\partial W_l = \Delta_l^\top A_{l-1}`,
:math:`\partial/\partial b_l = \Delta_l^\top 1`. :math:`\Delta'_l` feeds the Hessian.
"""

from __future__ import annotations

import numpy as np

from .. import _kernels

__all__ = ["weight_views", "forward", "backward"]


def weight_views(eng, p: np.ndarray) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """Per layer, the views ``(W_l, b_l)`` into the flat vector ``p`` (``b_l`` None: no bias)."""
    views: list[tuple[np.ndarray, np.ndarray | None]] = []
    for lay, (k, m), o in zip(eng.layers, eng.shapes, eng.offsets):
        M = p[o : o + k * m].reshape(k, m)
        views.append((M[:, : m - 1], M[:, m - 1]) if lay.bias else (M, None))
    return views


def forward(eng, Wb, X: np.ndarray, ws, n: int, order: int) -> None:
    """Pre-activations ``ws.h``, activations ``ws.y`` and (by ``order``) ``ws.d1``/``ws.d2``.

    The softmax output is left to the loss (it is not elementwise).
    """
    prev = X
    last = len(eng.layers) - 1
    for i, (lay, (W, b)) in enumerate(zip(eng.layers, Wb)):
        h = ws.h[i][:n]
        np.matmul(prev, W.T, out=h)
        if b is not None:
            h += b
        y = ws.y[i][:n]
        if i == last and eng.loss_type == "nll":
            prev = y
            continue
        d1 = ws.d1[i][:n] if order >= 1 else None
        d2 = ws.d2[i][:n] if order >= 2 else None
        groups = lay.groups
        if ws.c_ok and all(a.c_kind is not None for a, _, _ in groups):
            _compiled_activations(ws, i, n, order, groups, lay.width)
        elif len(groups) == 1:
            s1, s2 = ws.scratch(n, lay.width)
            groups[0][0].fused(h, y, d1, d2, s1, s2)
        else:
            s1, s2 = ws.scratch(n, lay.width)
            for act, lo, hi in groups:
                sl = slice(lo, hi)
                act.fused(
                    h[:, sl],
                    y[:, sl],
                    None if d1 is None else d1[:, sl],
                    None if d2 is None else d2[:, sl],
                    s1[:, sl],
                    s2[:, sl],
                )
        prev = y


def _compiled_activations(ws, i, n, order, groups, k) -> None:
    ph, py, p1, p2 = ws.addr[i]
    for act, lo, hi in groups:
        o = 8 * lo
        q1 = p1 + o if order >= 1 and act.d1_const is None else None
        q2 = p2 + o if order >= 2 and act.d2_const is None else None
        _kernels.activation_at(act.c_kind, n, hi - lo, k, ph + o, py + o, q1, q2)


def backward(eng, Wb, X: np.ndarray, ws, n: int, order: int, gWb) -> None:
    """Backpropagate ``ws.delta[-1]``; add this chunk's gradient into the views ``gWb``
    (None: deltas only).

    For ``order == 2`` also writes :math:`\\Delta'_l` into ``ws.dd`` for hidden layers.
    """
    for i in range(len(eng.layers) - 1, -1, -1):
        W = Wb[i][0]
        delta = ws.delta[i][:n]
        if gWb is not None:
            gW, gb = gWb[i]
            prev = X if i == 0 else ws.y[i - 1][:n]
            np.matmul(delta.T, prev, out=ws.gW[i])
            gW += ws.gW[i]
            if gb is not None:  # column sums as a GEMV: add.reduce over axis 0 is 10x slower
                np.matmul(ws.ones[:n], delta, out=ws.gb[i])
                gb += ws.gb[i]
        if i == 0:
            break
        k = W.shape[1]
        ga = ws.ga[: n * k].reshape(n, k)
        np.matmul(delta, W, out=ga)
        np.multiply(ga, ws.d1[i - 1][:n], out=ws.delta[i - 1][:n])
        if order >= 2 and ws.curved[i - 1]:
            np.multiply(ga, ws.d2[i - 1][:n], out=ws.dd[i - 1][:n])
