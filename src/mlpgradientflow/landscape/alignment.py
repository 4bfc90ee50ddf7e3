"""Matching student neurons to teacher neurons (one hidden layer)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from .._validation import check_model, finite_array
from ..records import Record

__all__ = ["Alignment", "cosine_similarity", "align_to_teacher"]


def cosine_similarity(x, y) -> float:
    r""":math:`x^\top y / (\|x\| \|y\|)` (0 when a vector is zero).

    Parameters
    ----------
    x, y : array, shape (n,)
        Finite vectors of one length.

    Returns
    -------
    float
        In [-1, 1].

    Examples
    --------
    >>> from mlpgradientflow.landscape import cosine_similarity
    >>> cosine_similarity([1.0, 0.0], [1.0, 1.0])
    0.7071067811865475
    """
    x, y = finite_array("x", x, ndim=1, dtype=float), finite_array("y", y, ndim=1, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"arguments `x`, `y` must have the same shape, got {x.shape} and {y.shape}")
    nx, ny = np.linalg.norm(x), np.linalg.norm(y)
    return float(x @ y / (nx * ny)) if nx > 0 and ny > 0 else 0.0


def _incoming(net, p) -> np.ndarray:
    """First-layer incoming weight vectors (rows, bias excluded)."""
    M = net.unflatten(p)[0]
    return M[:, : net.din]


@dataclass(frozen=True, eq=False)
class Alignment(Record):
    """Teacher neurons matched to student neurons (see :func:`align_to_teacher`)."""

    teacher: list
    student: list
    sign: list
    cosine_distance: list
    mean_cosine_distance: float


def align_to_teacher(student_net, p, teacher, *, signs: bool = False) -> Alignment:
    r"""Match each teacher neuron to a distinct student neuron by incoming-vector direction.

    The assignment maximises the summed absolute cosine similarities (or, with
    ``signs=False``, the summed signed similarities) with
    ``scipy.optimize.linear_sum_assignment``. With more student than teacher neurons the
    extra student neurons stay unmatched; with fewer, only as many teacher neurons are
    matched (listed in ``teacher``).

    Parameters
    ----------
    student_net : Net
    p : array, shape (P,)
        Student parameters.
    teacher : TeacherNet
    signs : bool
        Allow sign flips (for odd activations such as tanh, where :math:`w` and
        :math:`-w` are equivalent up to the outgoing sign).

    Returns
    -------
    Alignment
        ``teacher``: the matched teacher neurons (all of them unless the student is
        narrower); ``student``: the matched student neuron of each;
        ``sign``: +1/-1 per match; ``cosine_distance``: :math:`1 - |\cos|` (or
        :math:`1-\cos`) per teacher neuron; ``mean_cosine_distance``.

    Examples
    --------
    A student with the teacher's two directions (one of them flipped and scaled) and one
    extra neuron:

    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> from mlpgradientflow.landscape import align_to_teacher
    >>> teacher = mgf.TeacherNet([(2, "tanh", False), (1, "identity", False)], din=2,
    ...                          params=mgf.params(np.eye(2), np.ones((1, 2))))
    >>> student = mgf.Net([(3, "tanh", False), (1, "identity", False)], din=2)
    >>> p = mgf.params(np.array([[0.0, 2.0], [1.0, 1.0], [-3.0, 0.0]]), np.ones((1, 3)))
    >>> a = align_to_teacher(student, p, teacher, signs=True)
    >>> a.student, a.sign, a.mean_cosine_distance
    ([2, 0], [-1, 1], 0.0)
    """
    from ..net import TeacherNet

    check_model(student_net, "student_net")
    if not isinstance(teacher, TeacherNet):
        raise TypeError(f"argument `teacher` must be a TeacherNet, got {type(teacher).__name__}")
    if teacher.din != student_net.din:
        raise ValueError(
            f"argument `teacher` has input dimension {teacher.din}, the student "
            f"{student_net.din}: their incoming vectors cannot be compared"
        )
    S = _incoming(student_net, student_net.check_params(p))
    T = _incoming(teacher.net, teacher.params)
    sn = S / np.maximum(np.linalg.norm(S, axis=1, keepdims=True), np.finfo(float).tiny)
    tn = T / np.maximum(np.linalg.norm(T, axis=1, keepdims=True), np.finfo(float).tiny)
    C = tn @ sn.T  # (teacher, student)
    score = np.abs(C) if signs else C
    rows, cols = linear_sum_assignment(-score)
    order = np.argsort(rows)
    rows, cols = rows[order], cols[order]
    sign = np.where(C[rows, cols] < 0, -1, 1) if signs else np.ones(len(rows), int)
    dist = 1.0 - score[rows, cols]
    return Alignment(teacher=rows.tolist(), student=cols.tolist(), sign=sign.tolist(),
                     cosine_distance=dist.tolist(),
                     mean_cosine_distance=float(dist.mean()) if dist.size else 0.0)
