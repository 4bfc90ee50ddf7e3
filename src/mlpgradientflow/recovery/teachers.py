r"""The queries of the synthetic Expand-and-Cluster problems.

From the fork ``alexl4123/expand-and-cluster`` (``datagen/data_points_test.py``): queries
are uniform on :math:`[-\sqrt3, \sqrt3]^{D_{in}}` (unit variance), as many as a multiple
of the student's parameter count. The teachers of these problems are
:func:`mlpgradientflow.data.ec_teacher`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .._validation import as_int, as_real
from ..data import uniform

__all__ = ["student_nparams", "teacher_aware_uniform"]


def _check_widths(widths) -> list[int]:
    if (
        not isinstance(widths, Sequence)
        or not widths
        or not all(
            isinstance(w, int | np.integer) and not isinstance(w, bool) and w >= 1 for w in widths
        )
    ):
        raise ValueError(
            f"argument `widths` must be a non-empty list of positive ints, got {widths!r}"
        )
    return [int(w) for w in widths]


def _check_din(din) -> int:
    return as_int("din", din, 1)


def student_nparams(din: int, widths: Sequence[int], rho: float = 1.0, dout: int = 1) -> int:
    r"""The fork's parameter count of the student with hidden widths :math:`\rho\,k_l`.

    :math:`P = \sum_{l=1}^{L-1} (\rho k_{l-1} + 1)\rho k_l + (k_{L-1} + 1) D_{out}` with
    :math:`\rho k_0 := D_{in}`. The output term uses the *teacher's* last width
    :math:`k_{L-1}`, exactly as ``compute_parameters_student_with_overparameterization``
    of the fork does (so the query counts match its experiments).

    Parameters
    ----------
    din : int
        Input dimension.
    widths : sequence of int
        The teacher's hidden widths :math:`k_1, \dots, k_{L-1}`.
    rho : float, optional
        Overparameterisation factor of the student (default 1).
    dout : int, optional
        Output width (default 1).

    Returns
    -------
    int
        :math:`P`.

    Examples
    --------
    >>> from mlpgradientflow.recovery import student_nparams
    >>> student_nparams(2, [3], rho=4)  # (2 + 1) * 12 + (3 + 1) * 1
    40
    """
    din, widths = _check_din(din), _check_widths(widths)
    rho, dout = as_real("rho", rho, positive=True), as_int("dout", dout, 1)
    sizes = [din] + [rho * k for k in widths]
    hidden = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
    return int(hidden + (widths[-1] + 1) * dout)


def teacher_aware_uniform(
    din: int, widths: Sequence[int], rho: float = 4.0, factor: float = 1.0, rng=None
) -> np.ndarray:
    r"""Queries uniform on :math:`[-\sqrt3, \sqrt3]^{D_{in}}`, ``factor`` times the student's
    parameter count (:func:`student_nparams`) of them, at least 2.

    The count is rounded down for ``factor`` :math:`\le 1` and up above (as the fork's
    ``teacher_aware_uniform_datapoints_tests_o<rho>_p<factor>`` samplers; factors used:
    0.5, 1.0, 1.1, 5.0).

    Parameters
    ----------
    din : int
        Input dimension.
    widths : sequence of int
        The teacher's hidden widths.
    rho : float, optional
        Student overparameterisation (default 4).
    factor : float, optional
        Queries per student parameter (default 1).
    rng : None, int or Generator, optional
        Fresh entropy, a seed, or a generator.

    Returns
    -------
    ndarray, shape (n, din)
        The queries: :math:`n = \max(2, \lfloor \mathrm{factor}\cdot P\rfloor)` for
        ``factor`` :math:`\le 1`, :math:`\max(2, \lceil \mathrm{factor}\cdot P\rceil)` above,
        with :math:`P` from :func:`student_nparams`.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpgradientflow.recovery import teacher_aware_uniform
    >>> X = teacher_aware_uniform(2, [3], rho=4, factor=1.1, rng=0)
    >>> X.shape, bool(np.abs(X).max() <= np.sqrt(3))
    ((44, 2), True)
    """
    factor = as_real("factor", factor, positive=True)
    n = student_nparams(din, widths, rho) * factor
    n = max(2, math.floor(n) if factor <= 1 else math.ceil(n))
    return uniform(n, din, rng)
