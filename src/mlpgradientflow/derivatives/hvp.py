r"""Exact Hessian-vector products :math:`\nabla^2 L\, v` without forming the Hessian.

Pearlmutter's :math:`\mathcal R`-operator: the directional derivative along :math:`v` of the
gradient computation. With :math:`dW_l, db_l` the blocks of :math:`v`, the tangents of the
forward pass are

.. math::

    dh_1 = dW_1 x + db_1, \qquad
    dh_l = dW_l a_{l-1} + db_l + W_l\,(f'_{l-1} \odot dh_{l-1}),

the output delta changes by :math:`d\delta_L = S\, dh_L` (:math:`S = \partial^2\ell/\partial
h_L^2`), and backpropagation of the tangent gives

.. math::

    d\delta_l = (W_{l+1}^\top d\delta_{l+1} + dW_{l+1}^\top \delta_{l+1}) \odot f'_l
              + \delta'_l \odot dh_l, \qquad
    (\nabla^2 L\, v)_{W_l} = d\delta_l\, \tilde a_{l-1}^\top + \delta_l\, (f'_{l-1} \odot dh_{l-1})^\top,

summed over samples (weights are folded into :math:`\delta` and :math:`S`). Cost: about two
gradient evaluations, memory :math:`O(\text{chunk}\cdot\sum_l k_l)`.
"""

from __future__ import annotations

import numpy as np

from ..losses import curvature_apply

__all__ = ["hvp_chunk"]


def hvp_chunk(eng, Wb, dWb, X, ws, n: int, out) -> None:
    """Add one chunk's (summed) Hessian-vector product into the views ``out``.

    Needs the chunk's forward pass, output step and backpropagation at order 2 in ``ws``.
    """
    L = len(eng.layers)
    dh, da = [], []
    prev, dprev = X, None
    for i in range(L):
        (W, _), (dW, db) = Wb[i], dWb[i]
        k = eng.layers[i].width
        t = ws.buffer(("dh", i), (n, k))
        np.matmul(prev, dW.T, out=t)
        if db is not None:
            t += db
        if dprev is not None:
            t += dprev @ W.T
        dh.append(t)
        if i < L - 1:
            dprev = ws.buffer(("da", i), (n, k))
            np.multiply(ws.d1[i][:n], t, out=dprev)
            da.append(dprev)
            prev = ws.y[i][:n]
    dd = ws.buffer(("ddelta", L - 1), (n, eng.dout))
    curvature_apply(eng, ws, n, dh[-1], dd)
    for i in range(L - 1, -1, -1):
        oW, ob = out[i]
        prev = X if i == 0 else ws.y[i - 1][:n]
        oW += dd.T @ prev
        if ob is not None:
            ob += ws.ones[:n] @ dd
        if i == 0:
            break
        delta = ws.delta[i][:n]
        oW += delta.T @ da[i - 1]
        W, dW = Wb[i][0], dWb[i][0]
        nd = ws.buffer(("ddelta", i - 1), (n, eng.layers[i - 1].width))
        np.matmul(dd, W, out=nd)
        nd += delta @ dW
        nd *= ws.d1[i - 1][:n]
        if ws.curved[i - 1]:
            nd += ws.dd[i - 1][:n] * dh[i - 1]
        dd = nd
