r"""The Hager–Zhang line search with the approximate Wolfe conditions.

Along a descent direction :math:`d` from :math:`x` the line search looks at
:math:`\phi(\alpha) = L(x + \alpha d)` and :math:`\phi'(\alpha) = \nabla L(x + \alpha d)^\top d`,
with :math:`\phi'(0) < 0`, and accepts a step :math:`\alpha > 0` that satisfies either the
**Wolfe conditions**

.. math::

    \phi(\alpha) - \phi(0) \le \delta\,\alpha\,\phi'(0), \qquad
    \phi'(\alpha) \ge \sigma\,\phi'(0),

or the **approximate Wolfe conditions** (Hager & Zhang 2005, eq. 23)

.. math::

    (2\delta - 1)\,\phi'(0) \ge \phi'(\alpha) \ge \sigma\,\phi'(0), \qquad
    \phi(\alpha) \le \phi(0) + \epsilon\,|\phi(0)|,

with :math:`0 < \delta < 1/2` and :math:`\delta \le \sigma < 1`.

Why the approximate conditions: near a minimum with :math:`L > 0` the decrease
:math:`\phi(\alpha) - \phi(0) \approx \tfrac12\alpha\phi'(0)` falls below the resolution
:math:`\approx 10^{-16} L` of the computed loss once :math:`\|\nabla L\| \approx 10^{-8..-10}`,
and every line search that tests function decrease (Armijo, Moré–Thuente, scipy's
``dcsrch``) stalls there ("precision loss"). The approximate conditions are, for a
quadratic :math:`\phi`, equivalent to sufficient decrease, but they test the *slope*,
which stays accurate down to :math:`\|\nabla L\|_\infty \approx 10^{-16}`; the value
enters only through the loose bound :math:`\phi(\alpha) \le \phi(0) + \epsilon|\phi(0)|`.

The algorithm (Hager & Zhang 2006, Algorithm 851, stages B, S, U and L):

1. *Initial point.* Evaluate :math:`c = \alpha_0`; while :math:`\phi(c)` or
   :math:`\phi'(c)` is NaN/Inf, shrink :math:`c \leftarrow \psi c`.
2. *Bracket* (B0–B3). Expand :math:`c \leftarrow \rho c` while
   :math:`\phi'(c) < 0` and :math:`\phi(c) \le \phi_{\lim} = \phi(0) + \epsilon|\phi(0)|`;
   a point with :math:`\phi'(c) \ge 0` closes the bracket :math:`[a, b]`, a point with
   :math:`\phi(c) > \phi_{\lim}` (or not finite) is bisected towards the last good point
   (U3). The bracket invariants are :math:`\phi'(a) < 0`, :math:`\phi(a) \le \phi_{\lim}`
   and :math:`\phi'(b) \ge 0` (or :math:`b` "too far").
3. *Refine* (L1–L3). Apply the double secant step (secant², S1–S4) with
   :math:`c = (a\phi'(b) - b\phi'(a)) / (\phi'(b) - \phi'(a))` and the interval update
   (U0–U3); when the interval shrinks by less than the factor :math:`\gamma`, bisect it at
   :math:`a + \theta (b - a)`.

Every finite evaluation is tested against both sets of conditions and accepted at once.

References
----------
W. W. Hager and H. Zhang, "A new conjugate gradient method with guaranteed descent and an
efficient line search", SIAM J. Optim. 16 (2005) 170–192.
W. W. Hager and H. Zhang, "Algorithm 851: CG_DESCENT, a conjugate gradient method with
guaranteed descent", ACM Trans. Math. Softw. 32 (2006) 113–137.
LineSearches.jl, ``src/hagerzhang.jl`` (JuliaNLSolvers), a clean implementation of the
same algorithm.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

__all__ = ["LineSearchResult", "hager_zhang", "satisfies_wolfe"]

_EPS = 2.220446049250313e-16


class LineSearchResult(NamedTuple):
    """Outcome of a line search; unpacks as ``alpha, phi, dphi, nevals, success``.

    On failure ``alpha`` is the largest evaluated step known to keep
    :math:`\\phi \\le \\phi_{\\lim}` with :math:`\\phi' < 0` (0 when there is none) and
    ``phi``/``dphi`` are its values.
    """

    alpha: float
    phi: float
    dphi: float
    nevals: int
    success: bool


class _Point(NamedTuple):
    alpha: float
    phi: float
    dphi: float


class _Accept(Exception):
    """Raised inside the search when a point satisfies the (approximate) Wolfe conditions."""

    def __init__(self, point: _Point) -> None:
        super().__init__()
        self.point = point


class _Exhausted(Exception):
    """Raised when the evaluation budget is spent."""


def satisfies_wolfe(
    alpha: float,
    phi: float,
    dphi: float,
    phi0: float,
    dphi0: float,
    *,
    delta: float = 0.1,
    sigma: float = 0.9,
    epsilon: float = 1e-6,
) -> bool:
    r"""Whether :math:`\alpha` satisfies the Wolfe or the approximate Wolfe conditions.

    Wolfe: :math:`\phi(\alpha) - \phi(0) \le \delta\alpha\phi'(0)` and
    :math:`\phi'(\alpha) \ge \sigma\phi'(0)`. Approximate Wolfe:
    :math:`(2\delta-1)\phi'(0) \ge \phi'(\alpha) \ge \sigma\phi'(0)` and
    :math:`\phi(\alpha) \le \phi(0) + \epsilon|\phi(0)|`. NaN values never satisfy them.
    """
    curvature = dphi >= sigma * dphi0
    wolfe = curvature and phi - phi0 <= delta * alpha * dphi0
    approx = curvature and (2 * delta - 1) * dphi0 >= dphi and phi <= phi0 + epsilon * abs(phi0)
    return bool(wolfe or approx)


def _secant(a: _Point, b: _Point) -> float:
    """Zero of the secant of phi' through a and b (may extrapolate); NaN when undefined."""
    den = b.dphi - a.dphi
    if den == 0 or not math.isfinite(den):
        return math.nan
    return (a.alpha * b.dphi - b.alpha * a.dphi) / den


class _Search:
    """State of one line search: the function, its values at 0, parameters, counters."""

    def __init__(self, phi_dphi, phi0, dphi0, delta, sigma, epsilon, theta, gamma, rho, psi,
                 linesearchmax, maxevals) -> None:
        self.phi_dphi = phi_dphi
        self.p0 = _Point(0.0, phi0, dphi0)
        self.phi_lim = phi0 + epsilon * abs(phi0)
        self.delta, self.sigma, self.epsilon = delta, sigma, epsilon
        self.theta, self.gamma, self.rho, self.psi = theta, gamma, rho, psi
        self.linesearchmax, self.maxevals = linesearchmax, maxevals
        self.nevals = 0
        self.good = self.p0  # largest-alpha point with phi <= phi_lim and dphi < 0

    # -- evaluation ------------------------------------------------------------------------
    def eval(self, alpha: float) -> _Point:
        """Evaluate at ``alpha``; NaN/Inf are mapped to phi=inf, dphi=nan ("too far")."""
        if self.nevals >= self.maxevals:
            raise _Exhausted
        self.nevals += 1
        phi, dphi = self.phi_dphi(alpha)
        phi, dphi = float(phi), float(dphi)
        if not (math.isfinite(phi) and math.isfinite(dphi)):
            return _Point(alpha, math.inf, math.nan)
        pt = _Point(alpha, phi, dphi)
        if satisfies_wolfe(alpha, phi, dphi, self.p0.phi, self.p0.dphi, delta=self.delta,
                           sigma=self.sigma, epsilon=self.epsilon):
            raise _Accept(pt)
        if self.is_lower(pt) and alpha > self.good.alpha:
            self.good = pt
        return pt

    def is_lower(self, pt: _Point) -> bool:
        """Admissible lower end of a bracket: still descending and not too high."""
        return pt.dphi < 0 and pt.phi <= self.phi_lim

    # -- stages ----------------------------------------------------------------------------
    def first(self, alpha: float) -> _Point:
        """Evaluate the initial step, shrinking it by ``psi`` while values are not finite."""
        c = self.eval(alpha)
        for _ in range(60):  # psi**60 underflows any reasonable step
            if math.isfinite(c.phi):
                return c
            c = self.eval(c.alpha * self.psi)
        raise _Exhausted

    def bracket(self, c: _Point) -> tuple[_Point, _Point]:
        """Stages B0–B3: an interval [a, b] with phi'(a) < 0 <= phi'(b) (or b too far)."""
        prev = self.p0
        for _ in range(self.linesearchmax):
            if c.dphi >= 0:  # B1: the slope turned up; prev is the last descending point
                return prev, c
            if not self.is_lower(c):  # B2: crested (or overflowed): bisect towards prev
                return self.bisect(prev, c)
            prev, c = c, self.eval(c.alpha * self.rho)  # B3: still going down, expand
        raise _Exhausted

    def update(self, a: _Point, b: _Point, c: _Point) -> tuple[_Point, _Point]:
        """Stages U0–U3: shrink [a, b] with the point c, keeping the bracket invariants."""
        if not a.alpha < c.alpha < b.alpha:
            return a, b
        if c.dphi >= 0:
            return a, c
        if self.is_lower(c):
            return c, b
        return self.bisect(a, c)

    def bisect(self, a: _Point, b: _Point) -> tuple[_Point, _Point]:
        """Stage U3: phi(b) > phi_lim with phi'(b) < 0 (or b not finite); find a bracket
        inside [a, b] by splitting at a + theta (b - a)."""
        while b.alpha - a.alpha > _EPS * b.alpha:
            d = self.eval(a.alpha + self.theta * (b.alpha - a.alpha))
            if d.dphi >= 0:
                return a, d
            if self.is_lower(d):
                a = d
            else:
                b = d
        return a, b

    def secant2(self, a: _Point, b: _Point) -> tuple[_Point, _Point]:
        """Stages S1–S4: a secant step, then a second one on the side that moved."""
        alpha = _secant(a, b)
        if not a.alpha < alpha < b.alpha:  # only with a non-finite phi'(b)
            alpha = 0.5 * (a.alpha + b.alpha)
        c = self.eval(alpha)
        A, B = self.update(a, b, c)
        if B is c:
            cbar = _secant(b, B)
        elif A is c:
            cbar = _secant(a, A)
        else:
            return A, B
        if A.alpha < cbar < B.alpha:
            return self.update(A, B, self.eval(cbar))
        return A, B

    def refine(self, a: _Point, b: _Point) -> None:
        """Stages L1–L3: secant² steps, bisection when they shrink [a, b] too slowly.

        Returns (without a point satisfying the conditions) when [a, b] collapses to the
        resolution of float64 or after ``linesearchmax`` rounds.
        """
        for _ in range(self.linesearchmax):
            if b.alpha - a.alpha <= _EPS * b.alpha:
                return
            A, B = self.secant2(a, b)
            if B.alpha - A.alpha > self.gamma * (b.alpha - a.alpha):
                mid = self.eval(A.alpha + self.theta * (B.alpha - A.alpha))
                A, B = self.update(A, B, mid)
            a, b = A, B


def hager_zhang(
    phi_dphi: Callable[[float], tuple[float, float]],
    phi0: float,
    dphi0: float,
    alpha: float = 1.0,
    *,
    delta: float = 0.1,
    sigma: float = 0.9,
    epsilon: float = 1e-6,
    theta: float = 0.5,
    gamma: float = 0.66,
    rho: float = 5.0,
    psi: float = 0.1,
    linesearchmax: int = 50,
    maxevals: int = 200,
) -> LineSearchResult:
    r"""Find a step satisfying the (approximate) Wolfe conditions (Hager & Zhang).

    Parameters
    ----------
    phi_dphi : callable
        ``phi_dphi(alpha) -> (phi(alpha), phi'(alpha))``. NaN or Inf results mean "too
        far": the step is shrunk.
    phi0, dphi0 : float
        :math:`\phi(0)` and :math:`\phi'(0)`; the search needs :math:`\phi'(0) < 0`.
    alpha : float
        Initial step (1 for Newton directions).
    delta, sigma : float
        Sufficient-decrease and curvature constants, :math:`0 < \delta < 1/2`,
        :math:`\delta \le \sigma < 1`.
    epsilon : float
        Relative tolerance :math:`\epsilon` of the value test in the approximate conditions.
    theta : float
        Bisection point :math:`a + \theta(b - a)` in stage U3 and L2.
    gamma : float
        Required shrink factor of the bracket per secant² round before bisecting.
    rho : float
        Expansion factor of the bracketing stage.
    psi : float
        Shrink factor of the initial step while its values are not finite.
    linesearchmax : int
        Most bracket expansions and, separately, most secant² rounds.
    maxevals : int
        Most evaluations of ``phi_dphi`` in all.

    Returns
    -------
    LineSearchResult
        ``(alpha, phi, dphi, nevals, success)``. ``success`` is False when
        :math:`\phi'(0) \ge 0` or a value at 0 is not finite (nothing is evaluated), when
        the bracket collapses to float resolution (typically roundoff in
        :math:`\phi'`), or when the budget is spent; ``alpha`` is then the largest
        evaluated step still descending below :math:`\phi_{\lim}` (possibly 0).

    Examples
    --------
    On a quadratic the secant step is exact; ``sigma=0.1`` rejects the initial step 1:

    >>> f = lambda a: ((a - 2.0) ** 2, 2 * (a - 2.0))
    >>> hager_zhang(f, 4.0, -4.0, 1.0, sigma=0.1)
    LineSearchResult(alpha=2.0, phi=0.0, dphi=0.0, nevals=3, success=True)
    """
    if not (0 < delta < 0.5 and delta <= sigma < 1):
        raise ValueError(f"need 0 < delta < 1/2 and delta <= sigma < 1, got {delta}, {sigma}")
    if not (math.isfinite(alpha) and alpha > 0):
        raise ValueError(f"argument `alpha` must be finite and > 0, got {alpha}")
    phi0, dphi0 = float(phi0), float(dphi0)
    if not (math.isfinite(phi0) and math.isfinite(dphi0)) or not dphi0 < 0:
        return LineSearchResult(0.0, phi0, dphi0, 0, False)  # not a descent direction
    s = _Search(phi_dphi, phi0, dphi0, delta, sigma, epsilon, theta, gamma, rho, psi,
                linesearchmax, maxevals)
    try:
        a, b = s.bracket(s.first(alpha))
        s.refine(a, b)
    except _Accept as acc:
        pt = acc.point
        return LineSearchResult(pt.alpha, pt.phi, pt.dphi, s.nevals, True)
    except _Exhausted:
        pass
    return LineSearchResult(s.good.alpha, s.good.phi, s.good.dphi, s.nevals, False)
