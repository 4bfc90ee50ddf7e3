r"""Networks on Gauss–Hermite nodes: the population loss of any architecture, by quadrature.

Accuracy. The rule integrates :math:`E[g(x)]` exactly for polynomials of degree below
:math:`2N` per coordinate and, for smooth :math:`g`, with an error that decays like
:math:`\exp(-c\,a\sqrt N)` where :math:`a` is the width of the strip of analyticity of
:math:`g` in units of the input: a unit :math:`f(w\cdot x + b)` with a transition of width
:math:`\delta` in :math:`y` (tanh: :math:`\delta \approx \pi/2`) has :math:`a \approx
\delta/\|w\|`, so the error grows fast with the weight norms (a tanh teacher of two
neurons, ``N = 600``, relative error of :math:`E[t^2]`: 1e-15 at :math:`\|w\| = 2`, 2e-11
at 3, 1e-8 at 4, 3e-4 at 10; derivatives in the weights are less accurate still); relu
and other kinks converge only algebraically (about 1e-5). For accurate population losses at large
weights use :class:`~mlpgradientflow.NetI` (one hidden layer).

Honesty. At construction the target is integrated with the rule and with a second one of
``1.5 N`` nodes (``N // 2`` for :math:`D \ge 3`, where a larger tensor rule is too big:
then the estimate is that of the smaller rule, pessimistic); the larger relative difference
of :math:`E[t]` and :math:`E[t^2]` (relative to :math:`E[|t|]`, :math:`E[t^2]`) is
stored as ``net.quadrature_error`` (an estimate for the teacher's side of the loss), and an
:class:`~mlpgradientflow.gaussian.AccuracyWarning` is issued above ``tol``. The student's
weights are not known then: its terms are as accurate as the target's while its weight
norms stay at or below the teacher's (same activation), and degrade as above when they
grow beyond.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np

from .._validation import as_int, as_real
from ..net import Net
from .accuracy import AccuracyWarning
from .quadrature import NormalIntegral

__all__ = ["gauss_hermite_net"]


def gauss_hermite_net(target, layers, din: int | None = None, *, N: int = 600, prune: bool = True,
                      threshold: float = 1e-18, verbosity: int = 1, tol: float = 1e-8) -> Net:
    r"""A :class:`~mlpgradientflow.Net` on the nodes of a Gauss–Hermite rule for
    :math:`N(0, I_{D})`, weighted so that its loss is the quadrature estimate of the
    population loss :math:`E_x[(\mathrm{net}(x) - \mathrm{target}(x))^2]`.

    The input is the (M, D) node matrix, the target ``target(nodes)`` and the per-sample
    weights :math:`M w_m` (normalised weights times the node count), so that the engine's
    :math:`\frac1M\sum_m M w_m \ell_m = \sum_m w_m \ell_m`. Exact to rounding for
    polynomial integrands of low degree; for smooth activations within about 1e-14 at
    the default rule (``N = 600``, pruned: 136 nodes for D = 1, 13 448 for D = 2, about
    1.03 million for D = 3, with a message when it is large) while the weight norms stay
    small (see the module docstring: the error grows quickly with them).

    Parameters
    ----------
    target : TeacherNet or callable
        The function to fit, called on the (M, D) node matrix.
    layers : layer spec or Net
        The student, as for :class:`~mlpgradientflow.Net` (any architecture); a Net gives
        its layers and input dimension (the reference's ``gauss_hermite_net(target, net)``).
    din : int
        Input dimension D (optional when ``layers`` is a Net).
    N : int, optional
        Nodes per dimension of the 1-D rule before pruning (default 600).
    prune : bool, optional
        Prune the rule as the reference does (default True; see
        :class:`~mlpgradientflow.gaussian.NormalIntegral`).
    threshold : float, optional
        Smallest weight kept when pruning (default 1e-18).
    verbosity : int, optional
        1: a message on stderr when the rule is large (D >= 3); 0: silent.
    tol : float
        Relative error of the target's integrals above which an
        :class:`~mlpgradientflow.gaussian.AccuracyWarning` is issued.

    Returns
    -------
    Net
        With the attribute ``quadrature_error``: the estimated relative error of
        :math:`E[t]` and :math:`E[t^2]` (see the module docstring).

    Examples
    --------
    >>> import mlpgradientflow as mgf
    >>> teacher = mgf.TeacherNet([(2, "erf", True), (1, "identity", True)], din=1, rng=0)
    >>> gh = mgf.gauss_hermite_net(teacher, [(3, "erf", True), (1, "identity", True)], din=1)
    >>> gh.n_samples, bool(gh.quadrature_error < 1e-12)
    (136, True)
    >>> student = mgf.Net([(3, "erf", True), (1, "identity", True)], din=1)
    >>> mgf.gauss_hermite_net(teacher, student).n_samples    # the reference's form
    136
    """
    if isinstance(layers, Net):
        if din is not None and din != layers.din:
            raise ValueError(f"argument `din` ({din}) differs from the net's input dimension "
                             f"({layers.din})")
        layers, din = layers.layers, layers.din
    if din is None:
        raise TypeError("gauss_hermite_net: give `din` (or a Net as `layers`)")
    din, tol = as_int("din", din, 1), as_real("tol", tol, positive=True, finite=False)
    if not callable(target):
        raise TypeError("argument `target` must be a TeacherNet or a callable on (M, D) inputs")
    try:
        rule = NormalIntegral(N=N, d=din, prune=prune, threshold=threshold)
    except ValueError as err:
        if "tensor grid" not in str(err):
            raise
        raise ValueError(f"gauss_hermite_net(N={N}, din={din}): {err}") from None
    M = len(rule)
    if verbosity >= 1 and din >= 3:
        print(f"gauss_hermite_net: {M:,} quadrature nodes in {din} dimensions", file=sys.stderr)
    y = target(rule.x)
    net = Net(layers, input=rule.x, target=y, weights=rule.w * M)
    net.quadrature_error = _target_error(target, y, rule, N, din, prune, threshold)
    if net.quadrature_error > tol:
        warnings.warn(
            f"gauss_hermite_net: the {M}-node rule integrates the target only to about "
            f"{net.quadrature_error:.1e} relative (against a rule of another size): its "
            "weights are too large for the node spacing; use a larger N or, for one hidden "
            "layer, mgf.NetI", AccuracyWarning, stacklevel=2)
    return net


def _target_error(target, y, rule, N, din, prune, threshold) -> float:
    other = int(1.5 * N) if din <= 2 else max(N // 2, 8)  # D = 3: a larger rule is too big
    coarse = NormalIntegral(N=other, d=din, prune=prune, threshold=threshold)
    y2 = np.asarray(target(coarse.x), dtype=float).reshape(len(coarse), -1)
    y = np.asarray(y, dtype=float).reshape(len(rule), -1)
    err = 0.0
    for g, g2 in ((y, y2), (y * y, y2 * y2)):
        a, b = rule.w @ g, coarse.w @ g2
        scale = max(float(np.abs(rule.w @ np.abs(g)).max()), 1e-300)
        err = max(err, float(np.abs(a - b).max()) / scale)
    return err if np.isfinite(err) else float("inf")
