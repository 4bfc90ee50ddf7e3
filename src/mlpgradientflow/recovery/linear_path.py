r"""The covert linear path of Expand-and-Cluster, embedded in an ordinary :class:`Net`.

For relu-type and even-linear activations, :math:`\sigma(z) - \sigma(-z)` is linear in
:math:`z`, so canonicalised neurons leave a linear residual behind. The reference fits
:math:`y - f(x) \approx \theta^\top [x, 1]` by least squares and fine-tunes the network
plus the parallel path :math:`x \mapsto \theta_w^\top x` together.

The package's networks have no skip connections, so the path is carried through every
hidden layer by :math:`D_{in}` extra ``identity`` neurons ("carriers") whose incoming
weights are frozen to the identity (and their cross weights to zero) with ``tauinv``
zeros; only the output weights of the last carriers (:math:`\theta_w`) are free. The
function is exactly :math:`f(x) + \theta_w^\top x`, with the path's constant absorbed in the
output bias.
"""

from __future__ import annotations

import numpy as np

from ..net import Net

__all__ = ["with_linear_path", "split_linear_path", "fit_linear_path"]


def fit_linear_path(X: np.ndarray, residual: np.ndarray, bias: bool) -> np.ndarray:
    r"""Least-squares :math:`\theta` of :math:`r \approx [x, 1]\,\theta` (shape (Din + bias, Dout)).

    >>> import numpy as np
    >>> X = np.arange(8.0).reshape(4, 2) ** 1.5
    >>> fit_linear_path(X, X @ [[1.0], [-2.0]] + 3.0, bias=True).round(10).ravel().tolist()
    [1.0, -2.0, 3.0]
    """
    F = np.column_stack([X, np.ones(len(X))]) if bias else X
    return np.linalg.lstsq(F, residual, rcond=None)[0]


def with_linear_path(net: Net, mats: list[np.ndarray], theta: np.ndarray):
    """The carrier net, its parameters and the ``tauinv`` mask (1 free, 0 frozen).

    ``mats`` are the per-layer matrices :math:`[W_l | b_l]` of ``net``; ``theta`` is
    (Din + output bias, Dout) from :func:`fit_linear_path`.
    """
    din, L = net.din, len(net.layers)
    layers, blocks, masks = [], [], []
    prev = din
    for i, (lay, M) in enumerate(zip(net.layers, mats)):
        k, b = lay.width, int(lay.bias)
        if i == L - 1:
            out = np.column_stack([M[:, :prev], theta[:din].T, M[:, prev:]])
            if b:
                out[:, -1] += theta[din]
            layers.append(lay.spec())
            blocks.append(out)
            masks.append(np.ones_like(out))
            break
        extra = 0 if i == 0 else din  # carrier columns coming from the previous layer
        B = np.zeros((k + din, prev + extra + b))
        B[:k, :prev] = M[:, :prev]
        B[:k, prev + extra :] = M[:, prev:]
        B[k:, prev if i else 0 : (prev if i else 0) + din] = np.eye(din)
        mask = np.zeros_like(B)
        mask[:k, :prev] = 1.0
        mask[:k, prev + extra :] = 1.0
        act = lay.activation
        layers.append((k + din, (act,) * k + ("identity",) * din, lay.bias))
        blocks.append(B)
        masks.append(mask)
        prev = k
    carrier = net.with_layers(layers)
    return carrier, _flat(blocks), _flat(masks)


def split_linear_path(net: Net, carrier: Net, p: np.ndarray):
    """Back from carrier parameters ``p``: ``(params of net, theta_w (Din, Dout))``."""
    din, mats = net.din, carrier.unflatten(np.asarray(p, dtype=np.float64))
    blocks, prev = [], din
    for i, (lay, B) in enumerate(zip(net.layers, mats)):
        k, b = lay.width, int(lay.bias)
        if i == len(net.layers) - 1:
            theta = B[:, prev : prev + din].T.copy()
            blocks.append(np.column_stack([B[:, :prev], B[:, prev + din :]]))
            break
        extra = 0 if i == 0 else din
        blocks.append(np.column_stack([B[:k, :prev], B[:k, prev + extra : prev + extra + b]]))
        prev = k
    return _flat(blocks), theta


def _flat(blocks) -> np.ndarray:
    return np.concatenate([B.ravel() for B in blocks])
