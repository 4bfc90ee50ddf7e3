"""Counting Hessian eigenvalues by sign (the Morse counts of an end state; re-exported by
:mod:`mlpgradientflow.landscape`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import as_real, finite_array
from ..records import Record

__all__ = ["MorseCounts", "morse_index"]


@dataclass(frozen=True, eq=False)
class MorseCounts(Record):
    """Hessian eigenvalues by sign (negative, near zero, positive).

    Returned by :func:`morse_index` (and ``EndState.morse``); a
    :class:`~mlpgradientflow.records.Record`, so it also reads as a mapping.

    Examples
    --------
    >>> from mlpgradientflow.endstate import morse_index
    >>> m = morse_index([-3.0, -1.0, 0.0, 2.0])
    >>> m.n_negative, m["n_positive"], dict(m)
    (2, 1, {'n_negative': 2, 'n_zero': 1, 'n_positive': 1})
    """

    n_negative: int
    n_zero: int
    n_positive: int

    def __repr__(self) -> str:
        return (f"MorseCounts(n_negative={self.n_negative}, n_zero={self.n_zero}, "
                f"n_positive={self.n_positive})")


def morse_index(evals, tol: float = 1e-9) -> MorseCounts:
    r"""Numbers of negative, near-zero and positive eigenvalues.

    An eigenvalue counts as zero when :math:`|\lambda| \le \mathrm{tol}\cdot\max_i|\lambda_i|`
    (relative tolerance; the default suits spectra computed in float64 from exact
    Hessians, whose null eigenvalues sit near :math:`10^{-16}\max|\lambda|`).

    Parameters
    ----------
    evals : array, shape (P,)
        Eigenvalues (any order), e.g. ``mgf.hessian_spectrum(net, p).values``.
    tol : float, optional
        Relative tolerance for zero, >= 0 (default :math:`10^{-9}`).

    Returns
    -------
    MorseCounts
        ``n_negative``, ``n_zero``, ``n_positive`` (also as ``m["n_negative"]``).

    Examples
    --------
    >>> morse_index([-2.0, 1e-17, 3.0])
    MorseCounts(n_negative=1, n_zero=1, n_positive=1)
    >>> morse_index([-2.0, 1e-17, 3.0])["n_zero"]
    1
    """
    ev = finite_array("evals", evals, ndim=1, dtype=float)
    tol = as_real("tol", tol, minimum=0.0)
    if ev.size == 0:
        return MorseCounts(0, 0, 0)
    cut = tol * max(float(np.abs(ev).max()), np.finfo(float).tiny)
    return MorseCounts(int((ev < -cut).sum()), int((np.abs(ev) <= cut).sum()),
                       int((ev > cut).sum()))
