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
>>> spec = mgf.hessian_spectrum(net, p)            # as Julia's Eigen
>>> bool(np.array_equal(spec.values, evals)), spec.vectors.shape
(True, (13, 13))
>>> X2 = np.ones((4, 2))                               # the same net on other data
>>> bool(mgf.loss(net, p, input=X2, target=np.zeros((4, 1)), reduction="sum")
...      == 4 * mgf.loss(net, p, input=X2, target=np.zeros((4, 1))))
True
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .._validation import check_model

__all__ = ["loss", "gradient", "hessian", "hessian_spectrum", "fg", "fgh", "Eigen"]


class Eigen(NamedTuple):
    """The spectrum of a symmetric matrix, as Julia's ``Eigen``: ``values`` (P,) ascending,
    ``vectors`` (P, P) with ``vectors[:, i]`` belonging to ``values[i]``; unpacks as
    ``values, vectors = ...``. Returned by :func:`hessian_spectrum`.

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> net = mgf.Net([(1, "identity", False)], input=np.diag([1.0, 2.0]), target=np.zeros(2))
    >>> spec = mgf.hessian_spectrum(net, np.zeros(2))       # H = diag(1, 4)
    >>> spec.values, spec.vectors.shape
    (array([1., 4.]), (2, 2))
    >>> evals, evecs = spec
    >>> bool(np.allclose(net.hessian(np.zeros(2)) @ evecs, evecs * evals))
    True
    """

    values: np.ndarray
    vectors: np.ndarray


def _bound(net, input, target, weights):
    """``net`` on other data when ``input``/``target``/``weights`` are given (the
    reference's keywords); the net itself otherwise."""
    check_model(net)
    if input is None and target is None and weights is None:
        return net
    if not hasattr(net, "with_data"):
        raise TypeError(f"keywords `input`/`target`/`weights` need a Net with data, got "
                        f"{type(net).__name__}")
    if input is None:
        input = net.input
        target = net.target if target is None else target
        weights = net.weights if weights is None else weights
    return net.with_data(input=input, target=target, weights=weights)


def _scale(reduction: str, net) -> float:
    """1 for the mean loss, N for the sum (the reference's in-place ``gradient!``/``hessian!``)."""
    if reduction == "mean":
        return 1.0
    if reduction == "sum":
        return float(getattr(net, "n_samples", 1))
    raise ValueError(f"argument `reduction` must be 'mean' or 'sum', got {reduction!r}")


def loss(net, p, *, maxnorm: float = math.inf, merge=None, input=None, target=None,
         weights=None, reduction: str = "mean") -> float:
    r"""Loss of ``net`` at ``p``: the mean :math:`\frac1N\sum_n w_n\ell_n` (see :meth:`Net.loss`).

    ``input``/``target``/``weights`` evaluate it on other data (the reference's keywords;
    ``input`` alone keeps nothing else); ``reduction="sum"`` gives :math:`N` times the mean
    (the reference's sum-loss, with :math:`N` barrier and merge terms).

    Parameters
    ----------
    net : Net
        A network with data bound (or any :class:`~mlpgradientflow.Model`).
    p : array, shape (P,)
        Flat parameter vector (``P = net.nparams``).
    maxnorm : float, optional
        Barrier level :math:`c`: adds :math:`(\nu - c)^3/3` when
        :math:`\nu = \|p\|^2/(2P) > c` (default ``inf``: off).
    merge : (layer, (i, j), lam), optional
        Adds :math:`\frac\lambda2\|M_l[i] - M_l[j]\|^2`, pulling neurons ``i`` and ``j`` of
        weight matrix ``layer`` together (0-based).
    input, target, weights : array, optional
        Other data to evaluate on, shapes (N, Din), (N, Dout) and (N,) (the reference's
        keywords; ``input`` alone keeps nothing else).
    reduction : {"mean", "sum"}, optional
        ``"sum"`` multiplies by :math:`N` (the reference's sum-loss).

    Returns
    -------
    float
        :math:`L(p) = \frac1N\sum_n w_n\ell_n(p)` (+ barrier and merge terms), with
        :math:`\ell_n = \sum_o (a_{L,no} - t_{no})^2` for MSE.

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> X = np.array([[0.0], [1.0], [2.0]])
    >>> net = mgf.Net([(1, "identity", False)], input=X, target=2 * X)
    >>> mgf.loss(net, [1.0])                    # mean of (x - 2x)^2 = (0 + 1 + 4) / 3
    1.6666666666666667
    >>> mgf.loss(net, [1.0], reduction="sum")
    5.0
    """
    net = _bound(net, input, target, weights)
    return _scale(reduction, net) * net.loss(p, maxnorm=maxnorm, merge=merge)


def gradient(net, p, *, maxnorm: float = math.inf, merge=None, out=None, input=None,
             target=None, weights=None, reduction: str = "mean") -> np.ndarray:
    r"""Gradient (P,) of :func:`loss`: :math:`\nabla L(p) = \frac1N\sum_n w_n\nabla\ell_n(p)`
    (same keywords; ``out`` receives it).

    Parameters
    ----------
    net : Net
        A network with data bound (or any :class:`~mlpgradientflow.Model`).
    p : array, shape (P,)
        Flat parameter vector (``P = net.nparams``).
    maxnorm : float, optional
        Barrier level :math:`c`: adds :math:`(\nu - c)^3/3` when
        :math:`\nu = \|p\|^2/(2P) > c` (default ``inf``: off).
    merge : (layer, (i, j), lam), optional
        Adds :math:`\frac\lambda2\|M_l[i] - M_l[j]\|^2`, pulling neurons ``i`` and ``j`` of
        weight matrix ``layer`` together (0-based).
    input, target, weights : array, optional
        Other data to evaluate on, shapes (N, Din), (N, Dout) and (N,) (the reference's
        keywords; ``input`` alone keeps nothing else).
    reduction : {"mean", "sum"}, optional
        ``"sum"`` multiplies by :math:`N` (the reference's sum-loss).
    out : array, shape (P,), optional
        Receives the result (writeable, C-contiguous, the net's dtype).

    Returns
    -------
    array, shape (P,)
        The gradient (``out`` when given).

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> X = np.array([[0.0], [1.0], [2.0]])
    >>> net = mgf.Net([(1, "identity", False)], input=X, target=2 * X)
    >>> mgf.gradient(net, [1.0])                # d/dw mean((w - 2)^2 x^2) = 2 (w - 2) 5/3
    array([-3.33333333])
    """
    net = _bound(net, input, target, weights)
    scale = _scale(reduction, net)
    g = net.gradient(p, maxnorm=maxnorm, merge=merge, out=out)
    if scale != 1.0:
        g *= scale
    return g


def hessian(net, p, *, maxnorm: float = math.inf, merge=None, out=None, input=None,
            target=None, weights=None, reduction: str = "mean") -> np.ndarray:
    r"""Exact Hessian (P, P) of :func:`loss`: :math:`H_{ij} = \partial^2 L/\partial p_i\partial p_j`
    (same keywords; ``out`` receives it).

    Parameters
    ----------
    net : Net
        A network with data bound (or any :class:`~mlpgradientflow.Model`).
    p : array, shape (P,)
        Flat parameter vector (``P = net.nparams``).
    maxnorm : float, optional
        Barrier level :math:`c`: adds :math:`(\nu - c)^3/3` when
        :math:`\nu = \|p\|^2/(2P) > c` (default ``inf``: off).
    merge : (layer, (i, j), lam), optional
        Adds :math:`\frac\lambda2\|M_l[i] - M_l[j]\|^2`, pulling neurons ``i`` and ``j`` of
        weight matrix ``layer`` together (0-based).
    input, target, weights : array, optional
        Other data to evaluate on, shapes (N, Din), (N, Dout) and (N,) (the reference's
        keywords; ``input`` alone keeps nothing else).
    reduction : {"mean", "sum"}, optional
        ``"sum"`` multiplies by :math:`N` (the reference's sum-loss).
    out : array, shape (P, P), optional
        Receives the result (writeable, C-contiguous, the net's dtype).

    Returns
    -------
    array, shape (P, P)
        The symmetric Hessian (``out`` when given).

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> X = np.array([[0.0], [1.0], [2.0]])
    >>> net = mgf.Net([(1, "identity", True)], input=X, target=2 * X)
    >>> mgf.hessian(net, [1.0, 0.0])          # 2 mean([x^2, x; x, 1])
    array([[3.33333333, 2.        ],
           [2.        , 2.        ]])
    """
    net = _bound(net, input, target, weights)
    scale = _scale(reduction, net)
    H = net.hessian(p, maxnorm=maxnorm, merge=merge, out=out)
    if scale != 1.0:
        H *= scale
    return H


def fg(net, p, **kwargs):
    r"""``(loss, gradient)`` in one pass, :math:`(L(p), \nabla L(p))` (see :meth:`Net.fg`).

    Parameters
    ----------
    net : Net
        A network with data bound (or any :class:`~mlpgradientflow.Model`).
    p : array, shape (P,)
        Flat parameter vector.
    **kwargs
        ``maxnorm``, ``merge`` (as in :func:`loss`) and ``grad_out`` (receives the gradient).

    Returns
    -------
    loss : float
        As :func:`loss`.
    gradient : array, shape (P,)
        As :func:`gradient`.

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> X = np.array([[0.0], [1.0], [2.0]])
    >>> net = mgf.Net([(1, "identity", False)], input=X, target=2 * X)
    >>> mgf.fg(net, [1.0])
    (1.6666666666666667, array([-3.33333333]))
    """
    return check_model(net).fg(p, **kwargs)


def fgh(net, p, **kwargs):
    r"""``(loss, gradient, Hessian)`` in one pass, :math:`(L(p), \nabla L(p), \nabla^2 L(p))`
    (see :meth:`Net.fgh`).

    Parameters
    ----------
    net : Net
        A network with data bound (or any :class:`~mlpgradientflow.Model`).
    p : array, shape (P,)
        Flat parameter vector.
    **kwargs
        ``maxnorm``, ``merge`` (as in :func:`loss`), ``grad_out`` and ``hess_out``.

    Returns
    -------
    loss : float
        As :func:`loss`.
    gradient : array, shape (P,)
        As :func:`gradient`.
    hessian : array, shape (P, P)
        As :func:`hessian`.

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> X = np.array([[0.0], [1.0], [2.0]])
    >>> net = mgf.Net([(1, "identity", False)], input=X, target=2 * X)
    >>> mgf.fgh(net, [2.0])                     # at the minimum w = 2
    (0.0, array([0.]), array([[3.33333333]]))
    """
    return check_model(net).fgh(p, **kwargs)


def hessian_spectrum(net, p, *, maxnorm: float = math.inf, merge=None, **data) -> Eigen:
    r"""Eigenvalues (ascending) and eigenvectors (columns) of the exact Hessian:
    :math:`\nabla^2 L(p) = V \operatorname{diag}(\lambda) V^\top`, :math:`\lambda_1 \le
    \dots \le \lambda_P`, :math:`V^\top V = I` (``numpy.linalg.eigh``).

    Parameters
    ----------
    net : Net
        A network with data bound.
    p : array, shape (P,)
        Flat parameter vector.
    maxnorm, merge, **data
        As in :func:`hessian` (``input``, ``target``, ``weights``, ``reduction``).

    Returns
    -------
    Eigen
        ``values`` (P,) and ``vectors`` (P, P), ``vectors[:, i]`` belonging to
        ``values[i]``; unpacks as ``evals, evecs``.

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> X = np.array([[0.0], [1.0], [2.0]])
    >>> net = mgf.Net([(1, "identity", True)], input=X, target=2 * X)
    >>> evals, evecs = mgf.hessian_spectrum(net, [2.0, 0.0])
    >>> evals.round(4), evecs.shape              # (8 -+ sqrt(40)) / 3
    (array([0.5585, 4.7749]), (2, 2))
    """
    H = hessian(net, p, maxnorm=maxnorm, merge=merge, **data)
    return Eigen(*np.linalg.eigh(H))
