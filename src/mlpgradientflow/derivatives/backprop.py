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

__all__ = ["forward", "backward"]


def _split(M: np.ndarray, bias: bool):
    kin = M.shape[1] - int(bias)
    return M[:, :kin], (M[:, kin] if bias else None)


def forward(net, Ms, X: np.ndarray, ws, n: int, order: int) -> None:
    """Pre-activations ``ws.h``, activations ``ws.y`` and (by ``order``) ``ws.d1``/``ws.d2``.

    The softmax output is left to the loss (it is not elementwise).
    """
    prev = X
    last = len(net.layers) - 1
    for i, (lay, M) in enumerate(zip(net.layers, Ms)):
        W, b = _split(M, lay.bias)
        h = ws.h[i][:n]
        np.matmul(prev, W.T, out=h)
        if b is not None:
            h += b
        y = ws.y[i][:n]
        if i == last and net.loss_type == "nll":
            prev = y
            continue
        d1 = ws.d1[i][:n] if order >= 1 else None
        d2 = ws.d2[i][:n] if order >= 2 else None
        s1, s2 = ws.scratch(n, lay.width)
        groups = lay.groups
        if len(groups) == 1:
            groups[0][0].fused(h, y, d1, d2, s1, s2)
        else:
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


def backward(net, Ms, X: np.ndarray, ws, n: int, order: int, g_blocks) -> None:
    """Backpropagate ``ws.delta[-1]``; add this chunk's gradient into ``g_blocks``.

    ``g_blocks[l]`` is the (k_l, k_{l-1} + bias_l) view of layer l in the gradient vector.
    For ``order == 2`` also writes :math:`\\Delta'_l` into ``ws.dd`` for hidden layers.
    """
    L = len(net.layers)
    for i in range(L - 1, -1, -1):
        lay, M = net.layers[i], Ms[i]
        W, _ = _split(M, lay.bias)
        delta = ws.delta[i][:n]
        prev = X if i == 0 else ws.y[i - 1][:n]
        gW = ws.gW[i]
        np.matmul(delta.T, prev, out=gW)
        g_blocks[i][:, : W.shape[1]] += gW
        if lay.bias:
            np.sum(delta, axis=0, out=ws.gb[i])
            g_blocks[i][:, -1] += ws.gb[i]
        if i == 0:
            break
        k = W.shape[1]
        ga = ws.ga[: n * k].reshape(n, k)
        np.matmul(delta, W, out=ga)
        np.multiply(ga, ws.d1[i - 1][:n], out=ws.delta[i - 1][:n])
        if order >= 2 and ws.curved[i - 1]:
            np.multiply(ga, ws.d2[i - 1][:n], out=ws.dd[i - 1][:n])
