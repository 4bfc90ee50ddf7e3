r"""Exact loss, gradient and Hessian of MLP losses (module-level API).

The functions take a :class:`~mlpgradientflow.Net` and a flat parameter vector and return
the mean loss :math:`L(p) = \frac1N\sum_n w_n\ell_n(p)` (plus the optional barrier and merge
penalty), its gradient (P,) and its exact Hessian (P, P).

Examples
--------
>>> import numpy as np
>>> import mlpgradientflow as mgf
>>> X = np.random.default_rng(0).standard_normal((50, 2))
>>> net = mgf.Net([(3, "tanh", True), (1, "identity", True)], input=X, target=X[:, :1] ** 2)
>>> p = net.random_params(rng=1)
>>> H = mgf.hessian(net, p)
>>> H.shape, bool(np.allclose(H, H.T))
((13, 13), True)
>>> evals, evecs = mgf.hessian_spectrum(net, p)
>>> bool(np.all(np.diff(evals) >= 0))
True
"""

from __future__ import annotations

import math

import numpy as np

from .._validation import check_model

__all__ = ["loss", "gradient", "hessian", "hessian_spectrum", "fg", "fgh"]


def loss(net, p, *, maxnorm: float = math.inf, merge=None) -> float:
    """Mean loss of ``net`` at ``p`` (see :meth:`Net.loss`)."""
    return check_model(net).loss(p, maxnorm=maxnorm, merge=merge)


def gradient(net, p, *, maxnorm: float = math.inf, merge=None, out=None) -> np.ndarray:
    """Gradient (P,) of the mean loss (see :meth:`Net.gradient`)."""
    return check_model(net).gradient(p, maxnorm=maxnorm, merge=merge, out=out)


def hessian(net, p, *, maxnorm: float = math.inf, merge=None, out=None) -> np.ndarray:
    """Exact Hessian (P, P) of the mean loss (see :meth:`Net.hessian`)."""
    return check_model(net).hessian(p, maxnorm=maxnorm, merge=merge, out=out)


def fg(net, p, **kwargs):
    """``(loss, gradient)`` in one pass (see :meth:`Net.fg`)."""
    return check_model(net).fg(p, **kwargs)


def fgh(net, p, **kwargs):
    """``(loss, gradient, Hessian)`` in one pass (see :meth:`Net.fgh`)."""
    return check_model(net).fgh(p, **kwargs)


def hessian_spectrum(net, p, *, maxnorm: float = math.inf, merge=None):
    """Eigenvalues (ascending) and eigenvectors (columns) of the exact Hessian.

    Returns
    -------
    evals : ndarray, shape (P,)
    evecs : ndarray, shape (P, P)
        ``evecs[:, i]`` belongs to ``evals[i]``.
    """
    H = hessian(net, p, maxnorm=maxnorm, merge=merge)
    return np.linalg.eigh(H)
