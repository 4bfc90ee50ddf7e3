r"""Gaussian integrals across a kink of the activation at 0 (``relu``, ``selu``).

For :math:`h = rz + b`, :math:`z \sim N(0, 1)`: :math:`\sigma = |r|`,
:math:`s = \operatorname{sign} r` (+1 at 0), :math:`\beta = b/\sigma` (:class:`Std`); the
kink is at :math:`z = \zeta = -b/r`, where the density of :math:`h` is
:math:`\varphi(\beta)/\sigma` (:func:`kink_density`), which is how the Dirac mass
:math:`J\delta` of :math:`f''` enters every integral
(:math:`E[\delta(h)g(z)] = \varphi(\beta)g(\zeta)/\sigma`). Rules that integrate across a
kink split there (:func:`split_rule`): Gauss–Hermite converges only algebraically across
it.

At :math:`r = 0` the standardisation uses the limits :math:`\beta = \pm\infty` (stood in
for by :math:`\pm 10^{100}`, whose density is 0), :math:`1/\sigma := 0`, and at
:math:`r = b = 0` :math:`\beta = 0`, :math:`s = +1` (the conventions of
:mod:`.closed_forms_relu`).

>>> import numpy as np
>>> st = Std(np.array([2.0, 0.0]), np.array([1.0, 1.0]))
>>> st.beta.tolist(), st.inv.tolist(), float(st.phi[1])
([0.5, 1e+100], [0.5, 0.0], 0.0)
"""

from __future__ import annotations

import numpy as np
from scipy import special

from .bvn import norm_pdf
from .interface import Array
from .quadrature import hermite_values

__all__ = ["Std", "kink_density", "split_rule", "dirac_coefficients"]

#: stands in for |beta| = inf at r = 0: phi(_BIG) == 0 and _BIG**2 is finite
_BIG = 1e100
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(20)


class Std:
    r"""sigma = |r|, s = sign r (+1 at 0), inv = 1/sigma (0 at 0), beta = b/sigma, and
    phi, cdf: :math:`\varphi(\beta)`, :math:`\Phi(\beta)`."""

    __slots__ = ("sigma", "s", "inv", "beta", "phi", "cdf")

    def __init__(self, r: Array, b: Array) -> None:
        self.sigma: Array = np.abs(r)
        self.s: Array = np.where(r < 0.0, -1.0, 1.0)
        live = self.sigma > 0.0
        self.inv: Array = np.where(live, 1.0 / np.where(live, self.sigma, 1.0), 0.0)
        self.beta: Array = np.clip(np.where(live, b * self.inv, np.sign(b) * _BIG), -_BIG, _BIG)
        self.phi: Array = norm_pdf(self.beta)
        self.cdf: Array = special.ndtr(self.beta)


def kink_density(r: Array, b: Array) -> tuple[Array, Array, Std]:
    """(dens, zeta, std): density of h = rz + b at 0 and z on the kink, -b/r."""
    st = Std(r, b)
    dens = st.phi * st.inv
    zeta = np.where(dens > 0.0, -st.s * st.beta, 0.0)
    return dens, zeta, st


def split_rule(zeta: Array, half: float = 12.0, pieces: int = 8) -> tuple[Array, Array]:
    """Per-unit Gauss–Legendre rule for N(0, 1) on [-12, 12], split at the kink ``zeta``.

    Each side of the kink is cut into ``pieces`` equal intervals of 20 nodes; the weights
    include the density. Returns (z, wz), both (n, 2 * pieces * 20).
    """
    zeta = np.clip(zeta, -half, half)
    t = np.linspace(0.0, 1.0, pieces + 1)
    left = -half + (zeta[:, None] + half) * t  # (n, pieces + 1) edges
    right = zeta[:, None] + (half - zeta[:, None]) * t
    zs, ws = [], []
    for e in (left, right):
        lo, hi = e[:, :-1, None], e[:, 1:, None]
        zs.append((0.5 * (hi - lo) * _GL_NODES + 0.5 * (hi + lo)).reshape(len(zeta), -1))
        ws.append((0.5 * (hi - lo) * _GL_WEIGHTS).reshape(len(zeta), -1))
    z, wz = np.concatenate(zs, axis=1), np.concatenate(ws, axis=1)
    return z, wz * norm_pdf(z)


def dirac_coefficients(jump: float, r: Array, b: Array, T: int) -> Array:
    r""":math:`J\,E[\delta(rz + b)h_n(z)] = J h_n(\zeta)\varphi(\beta)/\sigma`
    (:math:`n < T`), shape (T, K): the Dirac part of the Hermite coefficients of
    :math:`f''` for a jump ``jump`` of :math:`f'` at 0."""
    st = Std(r, b)
    zeta = np.where(st.phi > 0.0, -st.s * st.beta, 0.0)
    return jump * hermite_values(zeta, T, st.phi * st.inv)
