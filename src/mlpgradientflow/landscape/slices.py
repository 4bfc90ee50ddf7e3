r"""1-D and 2-D loss slices, and the directions to slice along.

A slice evaluates the loss on a line or plane through a point :math:`p`:

.. math::

    \ell(t) = L(p + t\,d), \qquad \ell(x, y) = L(p + x\,d_1 + y\,d_2).

Directions: random (optionally filter-normalised, Li et al. 2018), Hessian eigenvectors,
from one point to another, and from a student to the teacher embedded in the student's
width. Every function takes a :class:`~mlpgradientflow.Net` or a ``NetI``. Evaluations
cost one ``net.loss`` call per point; a point where the network overflows gets
:math:`+\infty` (e.g. far out along a direction with exp activations) instead of
stopping the slice.

Examples
--------
>>> import numpy as np
>>> import mlpgradientflow as mgf
>>> X = np.random.default_rng(0).standard_normal((100, 2))
>>> net = mgf.Net([(3, "tanh", True), (1, "identity", True)], input=X, target=X[:, :1])
>>> p = net.random_params(0)
>>> d = random_direction(net, p, rng=1)
>>> loss_slice_2d(net, p, d, point_to_point(p, 0 * p), [-1, 0, 1], [0, 0.5]).shape
(3, 2)
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg

from .._validation import NonFiniteError, as_rng, check_model, finite_array
from ..activations import symmetry
from .alignment import align_to_teacher

__all__ = [
    "loss_slice_1d",
    "loss_slice_2d",
    "random_direction",
    "hessian_directions",
    "point_to_point",
    "teacher_direction",
]


def _vector(net, name: str, v) -> np.ndarray:
    check_model(net)
    v = finite_array(name, v, ndim=1, dtype=np.float64)
    if v.shape != (net.nparams,):
        raise ValueError(
            f"argument `{name}` must have shape ({net.nparams},) (net.nparams), got {v.shape}"
        )
    return v


def _losses(net, points: np.ndarray) -> np.ndarray:
    """The loss at each row of ``points`` (+inf where the network overflows)."""
    out = np.empty(len(points))
    for i, q in enumerate(points.astype(getattr(net, "dtype", np.float64), copy=False)):
        try:
            out[i] = net.loss(q)
        except NonFiniteError:
            out[i] = math.inf
    return out


def loss_slice_1d(net, p, direction, ts) -> np.ndarray:
    r"""The loss along a line: :math:`\ell(t) = L(p + t\,d)` for each ``t`` in ``ts``.

    Parameters
    ----------
    net : Net-like
    p, direction : array (P,)
    ts : array (T,)

    Returns
    -------
    ndarray (T,)

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> net = mgf.Net([(1, "identity", False)], input=np.ones((1, 1)), target=np.zeros(1))
    >>> loss_slice_1d(net, np.zeros(1), np.ones(1), [0.0, 1.0, 2.0])  # L = t²
    array([0., 1., 4.])
    """
    p, d = _vector(net, "p", p), _vector(net, "direction", direction)
    ts = finite_array("ts", ts, ndim=1, dtype=np.float64)
    return _losses(net, p + ts[:, None] * d)


def loss_slice_2d(net, p, d1, d2, xs, ys) -> np.ndarray:
    r"""The loss on a plane: ``out[i, j]`` :math:`= L(p + x_i d_1 + y_j d_2)`.

    The first axis follows ``xs`` (``indexing="ij"``): plot with
    ``plt.contour(xs, ys, out.T)``.

    Parameters
    ----------
    net : Net-like
    p, d1, d2 : array (P,)
    xs : array (X,)
    ys : array (Y,)

    Returns
    -------
    ndarray (X, Y)

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> net = mgf.Net([(1, "identity", False)], input=np.ones((1, 2)), target=np.zeros(1))
    >>> loss_slice_2d(net, np.zeros(2), [1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [0.0, 2.0])  # (x + y)²
    array([[0., 4.],
           [1., 9.]])
    """
    p = _vector(net, "p", p)
    d1, d2 = _vector(net, "d1", d1), _vector(net, "d2", d2)
    xs = finite_array("xs", xs, ndim=1, dtype=np.float64)
    ys = finite_array("ys", ys, ndim=1, dtype=np.float64)
    plane = ys[:, None] * d2  # one row of the grid at a time keeps memory at O(Y P)
    return np.array([_losses(net, p + x * d1 + plane) for x in xs]).reshape(len(xs), len(ys))


def random_direction(net, p, rng=None, normalize: str | None = "filter") -> np.ndarray:
    r"""A Gaussian random direction, filter-normalised by default.

    Draws :math:`d \sim \mathcal N(0, I_P)`. With ``normalize="filter"`` (Li et al.
    2018, "Visualizing the loss landscape of neural nets") every neuron's slice of
    :math:`d` is rescaled to the norm of the same neuron's slice of :math:`p`:

    .. math::

        d_{l,i} \leftarrow \frac{\|p_{l,i}\|}{\|d_{l,i}\|}\, d_{l,i},

    where :math:`p_{l,i}` is row :math:`i` of :math:`M_l = [W_l \mid b_l]`: the neuron's
    incoming weights **and its bias** (the bias is the weight of a constant input 1).
    So a step :math:`t = 1` changes every neuron by its own size, and slices of
    differently scaled (but equivalent) networks compare. Choices where Li et al.'s
    code differs: it sets bias directions to zero; here a neuron whose row in :math:`p`
    is zero gets a zero direction (as in their code). ``normalize=None`` returns the raw
    Gaussian :math:`d` (norm about :math:`\sqrt P`).

    Parameters
    ----------
    net : Net-like
    p : array (P,)
    rng : None, int or Generator
    normalize : {"filter", None}

    Returns
    -------
    ndarray (P,)

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> net = mgf.Net([(2, "tanh", True), (1, "identity", True)], din=3)
    >>> p = net.random_params(0)
    >>> d = random_direction(net, p, rng=1)
    >>> [bool(np.allclose(np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)))
    ...  for a, b in zip(net.unflatten(d), net.unflatten(p))]
    [True, True]
    """
    if normalize not in ("filter", None):
        raise ValueError(f"argument `normalize` must be 'filter' or None, got {normalize!r}")
    p = _vector(net, "p", p)
    d = as_rng(rng).standard_normal(net.nparams)
    if normalize == "filter":
        for D, M in zip(net.unflatten(d), net.unflatten(p)):
            nd = np.linalg.norm(D, axis=1, keepdims=True)
            D *= np.linalg.norm(M, axis=1, keepdims=True) / np.where(nd > 0, nd, 1.0)
    return d


def hessian_directions(
    net, p, k: int = 1, which: str = "smallest"
) -> tuple[np.ndarray, np.ndarray]:
    r"""The ``k`` extreme eigenpairs of the exact Hessian :math:`\nabla^2 L(p)`.

    ``which="smallest"``: the algebraically smallest eigenvalues (most negative first:
    the descent directions at a saddle); ``"largest"``: the largest first (the sharpest
    directions). Near a minimum :math:`p^*`, :math:`L(p^* + t v) \approx L(p^*) +
    \tfrac12 \lambda t^2`. Each eigenvector has unit norm; its sign is fixed so that its
    entry of largest magnitude is positive.

    Parameters
    ----------
    net : Net
        A network with data bound.
    p : array, shape (P,)
        The point.
    k : int, optional
        Number of eigenpairs, 1..P (default 1).
    which : {"smallest", "largest"}, optional
        Which end of the spectrum.

    Returns
    -------
    evals : ndarray (k,)
    directions : ndarray (k, P)
        ``directions[i]`` belongs to ``evals[i]``.

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> net = mgf.Net([(1, "identity", False)], input=np.diag([1.0, 2.0]), target=np.zeros(2))
    >>> hessian_directions(net, np.zeros(2), k=2, which="largest")  # H = diag(1, 4)
    (array([4., 1.]), array([[0., 1.],
           [1., 0.]]))
    """
    if which not in ("smallest", "largest"):
        raise ValueError(f"argument `which` must be 'smallest' or 'largest', got {which!r}")
    p = _vector(net, "p", p)
    P = net.nparams
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= P:
        raise ValueError(f"argument `k` must be an integer in 1..{P} (net.nparams), got {k!r}")
    H = net.hessian(p)
    lo = 0 if which == "smallest" else P - k
    evals, vecs = scipy.linalg.eigh(H, subset_by_index=[lo, lo + k - 1])
    if which == "largest":
        evals, vecs = evals[::-1], vecs[:, ::-1]
    vecs = vecs.T.copy()
    vecs *= np.sign(vecs[np.arange(k), np.abs(vecs).argmax(axis=1)])[:, None]
    return evals, vecs + 0.0  # + 0.0 turns the -0.0 of sign flips into 0.0


def point_to_point(p_a, p_b) -> np.ndarray:
    r"""The direction :math:`d = p_b - p_a`, so that :math:`p_a + t\,d` runs from
    :math:`p_a` (t = 0) to :math:`p_b` (t = 1): e.g. from one minimum to another.

    Parameters
    ----------
    p_a, p_b : array, shape (P,)
        The two points.

    Returns
    -------
    ndarray, shape (P,)
        :math:`p_b - p_a` (not normalised), a direction for :func:`loss_slice_1d`.

    Examples
    --------
    >>> from mlpgradientflow.landscape import point_to_point
    >>> point_to_point([1.0, 2.0], [0.0, 4.0])
    array([-1.,  2.])
    """
    a = finite_array("p_a", p_a, ndim=1, dtype=np.float64)
    b = finite_array("p_b", p_b, ndim=1, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(
            f"arguments `p_a`, `p_b` must have the same shape, got {a.shape} and {b.shape}"
        )
    return b - a


def _check_pair(net, teacher) -> None:
    """Student and teacher: one hidden layer, same input/output, one activation."""
    s, t = net.layers, teacher.net.layers
    if len(s) != 2 or len(t) != 2:
        raise ValueError(
            f"teacher_direction needs one hidden layer in student and teacher, got "
            f"{len(s) - 1} and {len(t) - 1}"
        )
    if net.din != teacher.din or s[1].width != t[1].width:
        raise ValueError(
            f"argument `teacher`: input/output widths {teacher.din}/{t[1].width} differ from "
            f"the student's {net.din}/{s[1].width}"
        )
    if t[0].width > s[0].width:
        raise ValueError(
            f"argument `teacher` has {t[0].width} hidden neurons, more than the student's "
            f"{s[0].width}: it cannot be embedded"
        )
    for i, what in ((0, "hidden"), (1, "output")):
        if s[i].activation_name != t[i].activation_name or isinstance(s[i].activation, tuple):
            raise ValueError(
                f"argument `teacher`: the {what} activations must be one and the same, got "
                f"{t[i].activation_name!r} (teacher) and {s[i].activation_name!r} (student)"
            )
        if t[i].bias and not s[i].bias:
            raise ValueError(f"argument `teacher` has {what} biases that the student lacks")


def teacher_direction(net, p, teacher, *, signs: bool = False) -> np.ndarray:
    r"""The direction from a student point to the teacher embedded in the student's width.

    The teacher (one hidden layer, ``r`` neurons) is written in the student's layout
    (``k >= r`` neurons): :func:`~mlpgradientflow.landscape.align_to_teacher` matches
    each teacher neuron to a distinct student neuron by the direction of the incoming
    weights; the matched neuron gets the teacher neuron's incoming weights, bias and
    outgoing weights. The :math:`k - r` unmatched student neurons keep their incoming
    weights and get **zero outgoing weights**, so they drop out of the function. The
    embedded point :math:`q` computes exactly the teacher's function, and
    :math:`L(p + t\,d)` with :math:`d = q - p` reaches the teacher's loss (0 on data the
    teacher labelled) at :math:`t = 1`. Student biases the teacher lacks are set to 0.

    With ``signs=True`` a teacher neuron may match a student neuron pointing the
    opposite way; it is then embedded as :math:`(-w, -b)` with outgoing :math:`-a`,
    which is the same function only for odd activations (tanh, erf, ...): others raise
    ValueError.

    Parameters
    ----------
    net : Net-like
        The student (one hidden layer, one activation per layer).
    p : array (P,)
        Student parameters.
    teacher : TeacherNet
        Same input and output widths and activations, at most as wide.
    signs : bool
        Allow sign-flipped matches (default False).

    Returns
    -------
    ndarray (P,)
        :math:`d = q - p`.

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> X = np.random.default_rng(0).standard_normal((50, 2))
    >>> teacher = mgf.TeacherNet([(2, "softplus", True), (1, "identity", True)], din=2, rng=1)
    >>> net = mgf.Net([(4, "softplus", True), (1, "identity", True)], input=X, target=teacher(X))
    >>> p = net.random_params(2)
    >>> bool(loss_slice_1d(net, p, teacher_direction(net, p, teacher), [1.0])[0] < 1e-28)
    True
    """
    check_model(net)
    if not hasattr(teacher, "net") or not hasattr(teacher, "params"):
        raise TypeError(f"argument `teacher` must be a TeacherNet, got {type(teacher).__name__}")
    _check_pair(net, teacher)
    p = _vector(net, "p", p)
    if signs and not symmetry(net.layers[0].activation) == "odd":
        raise ValueError(
            f"argument `signs`=True needs an odd hidden activation, got "
            f"{net.layers[0].activation_name!r}"
        )
    match = align_to_teacher(net, p, teacher, signs=signs)
    q = p.copy()
    S1, S2 = net.unflatten(q)
    T1, T2 = teacher.net.unflatten(teacher.params)
    k, din = S1.shape[0], net.din
    S2[:, :k] = 0.0
    if net.layers[1].bias:
        S2[:, k] = T2[:, -1] if teacher.layers[1].bias else 0.0
    for i, (j, s) in enumerate(zip(match["student"], match["sign"])):
        S1[j, :din] = s * T1[i, :din]
        if net.layers[0].bias:
            S1[j, din] = s * T1[i, din] if teacher.layers[0].bias else 0.0
        S2[:, j] = s * T2[:, i]
    return q - p
