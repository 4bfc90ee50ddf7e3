r"""MLPGradientFlow.jl's flat parameter order and ours, and the same for Hessian indices.

Both packages give layer :math:`l` the matrix :math:`M_l = [W_l \mid b_l]` of shape
:math:`(k_l, m_l)`, :math:`m_l = k_{l-1} + \text{bias}_l`, and put the layers one after
the other at the same offsets :math:`o_l`. Inside a block we store :math:`M_l` row-major
(neuron :math:`i` owns one contiguous slice), the reference column-major (Julia's
``vec(M_l)``: the weight columns, then the bias column). With 0-based :math:`i, j`,

.. math::

    p[o_l + i\,m_l + j] = M_l[i, j] = v[o_l + i + j\,k_l],

so :math:`p = v[\pi]` with :math:`\pi(o_l + i m_l + j) = o_l + i + j k_l` (the reference's
1-based index is :math:`\pi + 1`), and a Hessian in the reference's order becomes ours as
:math:`H = H_{\text{jl}}[\pi][:, \pi]`. :func:`julia_index` is :math:`\pi`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["julia_index", "from_julia_params", "to_julia_params", "from_julia_hessian",
           "to_julia_hessian"]


def _shapes(net) -> list[tuple[int, int]]:
    """The per-layer shapes of ``net`` (a Net, NetI, Layout or TrainResult)."""
    shapes = getattr(net, "shapes", None) or ()
    ok = isinstance(shapes, Sequence) and len(shapes) > 0 and all(
        isinstance(s, Sequence) and len(s) == 2 and all(
            isinstance(n, int | np.integer) and not isinstance(n, bool) and n > 0 for n in s)
        for s in shapes)
    if not ok:
        raise TypeError("argument `net` must be a Net, NetI, Layout or TrainResult (anything "
                        f"with per-layer `shapes`), got {type(net).__name__}")
    return [(int(k), int(m)) for k, m in shapes]


def julia_index(net) -> np.ndarray:
    """:math:`\\pi`: for each position of our flat vector, the reference's (0-based) position.

    Parameters
    ----------
    net : Net, NetI, Layout or TrainResult
        What gives the per-layer shapes :math:`(k_l, m_l)`.

    Returns
    -------
    ndarray of int64, shape (P,)
        A permutation: ``p == v[julia_index(net)]`` for the reference's vector ``v``.

    Examples
    --------
    >>> from mlpgradientflow.layout import Layout
    >>> net = Layout.from_spec([(2, "tanh", True), (1, "identity", False)], din=1)
    >>> julia_index(net)  # w1 = [[a, b], [c, d]]: ours a b c d, the reference's a c b d
    array([0, 2, 1, 3, 4, 5])
    """
    parts, o = [], 0
    for k, m in _shapes(net):
        parts.append(o + np.arange(k * m).reshape((k, m), order="F").ravel())
        o += k * m
    return np.concatenate(parts)


def _inverse(index: np.ndarray) -> np.ndarray:
    inv = np.empty_like(index)
    inv[index] = np.arange(index.size)
    return inv


def _vectors(name: str, v, P: int) -> np.ndarray:
    """``v`` as a (P,) vector or a (T, P) stack of vectors (ValueError naming ``name``)."""
    arr = np.asarray(v)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"argument `{name}` must be a numeric vector, got dtype {arr.dtype}")
    if arr.ndim not in (1, 2) or arr.shape[-1] != P:
        raise ValueError(f"argument `{name}` must have shape ({P},) or (T, {P}) for `net` with "
                         f"{P} parameters, got shape {arr.shape}")
    return arr


def _square(name: str, H, P: int) -> np.ndarray:
    arr = np.asarray(H)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"argument `{name}` must be a numeric matrix, got dtype {arr.dtype}")
    if arr.shape != (P, P):
        raise ValueError(f"argument `{name}` must have shape ({P}, {P}) for `net` with {P} "
                         f"parameters, got shape {arr.shape}")
    return arr


def from_julia_params(v, net) -> np.ndarray:
    r"""The reference's flat parameters (column-major ``vec(M_l)`` blocks) in our order:
    :math:`p = v[\pi]` with :math:`\pi(o_l + i\,m_l + j) = o_l + i + j\,k_l`
    (:func:`julia_index`).

    Parameters
    ----------
    v : array_like, shape (P,) or (T, P)
        One vector, or one per row (a trajectory).
    net : Net, NetI, Layout or TrainResult

    Returns
    -------
    ndarray, shape of ``v``
        ``v[..., julia_index(net)]``, a new array of ``v``'s dtype.

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> net = mgf.Net([(2, "tanh", True), (1, "identity", False)], input=np.ones((3, 1)),
    ...               target=np.ones(3))
    >>> from_julia_params([1.0, 3.0, 2.0, 4.0, 5.0, 6.0], net)  # w1 = [1 2; 3 4]
    array([1., 2., 3., 4., 5., 6.])
    """
    index = julia_index(net)
    return _vectors("v", v, index.size)[..., index]


def to_julia_params(p, net) -> np.ndarray:
    r"""Our flat parameters in the reference's order (the inverse of :func:`from_julia_params`):
    :math:`v[\pi] = p`.

    Parameters
    ----------
    p : array_like, shape (P,) or (T, P)
    net : Net, NetI, Layout or TrainResult

    Returns
    -------
    ndarray, shape of ``p``

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> net = mgf.Net([(2, "tanh", True), (1, "identity", False)], input=np.ones((3, 1)),
    ...               target=np.ones(3))
    >>> to_julia_params(np.arange(6.0), net)
    array([0., 2., 1., 3., 4., 5.])
    """
    index = julia_index(net)
    return _vectors("p", p, index.size)[..., _inverse(index)]


def from_julia_hessian(H, net) -> np.ndarray:
    """A Hessian with rows and columns in the reference's order, in ours:
    :math:`H_{\\text{jl}}[\\pi][:, \\pi]`.

    Parameters
    ----------
    H : array_like, shape (P, P)
    net : Net, NetI, Layout or TrainResult

    Returns
    -------
    ndarray, shape (P, P)

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> net = mgf.Net([(2, "tanh", True), (1, "identity", False)], input=np.ones((3, 1)),
    ...               target=np.ones(3))
    >>> p = net.random_params(0)
    >>> H_jl = to_julia_hessian(net.hessian(p), net)
    >>> bool(np.array_equal(from_julia_hessian(H_jl, net), net.hessian(p)))
    True
    """
    index = julia_index(net)
    return _square("H", H, index.size)[np.ix_(index, index)]


def to_julia_hessian(H, net) -> np.ndarray:
    r"""Our Hessian with rows and columns in the reference's order (inverse of
    :func:`from_julia_hessian`): :math:`H_{jl}[\pi][:, \pi] = H`.

    Parameters
    ----------
    H : array_like, shape (P, P)
    net : Net, NetI, Layout or TrainResult

    Returns
    -------
    ndarray, shape (P, P)

    Examples
    --------
    >>> import numpy as np
    >>> from mlpgradientflow.layout import Layout
    >>> net = Layout.from_spec([(2, "tanh", False)], din=2)
    >>> to_julia_hessian(np.diag([1.0, 2.0, 3.0, 4.0]), net).diagonal()
    array([1., 3., 2., 4.])
    """
    inv = _inverse(julia_index(net))
    return _square("H", H, inv.size)[np.ix_(inv, inv)]
