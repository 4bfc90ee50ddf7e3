"""Counting Hessian eigenvalues by sign."""

from __future__ import annotations

import numpy as np

from .._validation import as_real, finite_array

__all__ = ["morse_index"]


def morse_index(evals, tol: float = 1e-9) -> dict[str, int]:
    r"""Numbers of negative, near-zero and positive eigenvalues.

    An eigenvalue counts as zero when :math:`|\lambda| \le \mathrm{tol}\cdot\max_i|\lambda_i|`
    (relative tolerance; the default suits spectra computed in float64 from exact
    Hessians, whose null eigenvalues sit near :math:`10^{-16}\max|\lambda|`).

    Returns
    -------
    dict with keys ``n_negative``, ``n_zero``, ``n_positive``

    Examples
    --------
    >>> morse_index([-2.0, 1e-17, 3.0])
    {'n_negative': 1, 'n_zero': 1, 'n_positive': 1}
    """
    ev = finite_array("evals", evals, ndim=1, dtype=float)
    tol = as_real("tol", tol, minimum=0.0)
    if ev.size == 0:
        return {"n_negative": 0, "n_zero": 0, "n_positive": 0}
    cut = tol * max(float(np.abs(ev).max()), np.finfo(float).tiny)
    return {
        "n_negative": int((ev < -cut).sum()),
        "n_zero": int((np.abs(ev) <= cut).sum()),
        "n_positive": int((ev > cut).sum()),
    }
