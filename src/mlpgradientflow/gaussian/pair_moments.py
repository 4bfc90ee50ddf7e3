r"""Two-point value, gradient and Hessian from the moments :math:`E_{apkq}`.

With :math:`h_1 = r_1z_1 + b_1`, :math:`h_2 = r_2\zeta + b_2`,
:math:`\zeta = uz_1 + u'z_3` (:math:`u' = \sqrt{1-u^2}`) and
:math:`E_{apkq} = E[f_1^{(a)}(h_1)z_1^p\,f_2^{(k)}(h_2)\zeta^q]`, the derivatives of
:math:`E[f_1(h_1)f_2(h_2)]` need only :math:`f, f', f''` (Stein's lemma and Price's theorem):

.. math::

    \partial_{b_1} = E_{1000}, \ \partial_{r_1} = E_{1100}, \
    \partial_{b_2} = E_{0010}, \ \partial_{r_2} = E_{0011}, \
    \partial_u = r_1r_2Q, \ Q = E_{1010},

    H_{b_1b_1} = E_{2000}, \ H_{r_1b_1} = E_{2100}, \ H_{r_1r_1} = E_{2200}, \
    H_{b_1b_2} = Q, \ H_{r_1b_2} = E_{1110}, \ H_{b_1r_2} = E_{1011}, \
    H_{r_1r_2} = E_{1111},

    H_{b_1u} = r_1r_2E_{2010}, \ H_{r_1u} = r_2Q + r_1r_2E_{2110}, \
    H_{uu} = r_1^2r_2^2E_{2020},

and the mirror images. No term is singular at :math:`|u| = 1` or :math:`r = 0`. The
2-D Gauss–Hermite rule (:mod:`.quadrature_expectations`) and the conditional rule
(:mod:`.conditional`) compute the moments of :data:`NEEDED` and hand them to
:func:`assemble_pair`.
"""

from __future__ import annotations

from .interface import Array, Derivs, pack_pair

__all__ = ["Moments", "NEEDED", "assemble_pair"]

#: the moments E[f1^(a) z1^p f2^(k) zeta^q], keyed by (a, p, k, q)
Moments = dict[tuple[int, int, int, int], Array]

_FIRST = [(1, 0, 0, 0), (1, 1, 0, 0), (0, 0, 1, 0), (0, 0, 1, 1), (1, 0, 1, 0)]
_SECOND = [(2, 0, 0, 0), (2, 1, 0, 0), (2, 2, 0, 0), (1, 1, 1, 0), (1, 0, 1, 1), (1, 1, 1, 1),
           (0, 0, 2, 0), (0, 0, 2, 1), (0, 0, 2, 2), (2, 0, 1, 0), (2, 1, 1, 0), (1, 0, 2, 0),
           (1, 0, 2, 1), (2, 0, 2, 0)]
#: the moments (keys (a, p, k, q)) each derivative order needs
NEEDED: dict[int, list[tuple[int, int, int, int]]] = {
    0: [(0, 0, 0, 0)], 1: [(0, 0, 0, 0), *_FIRST], 2: [(0, 0, 0, 0), *_FIRST, *_SECOND]}


def assemble_pair(e: Moments, r1: Array, r2: Array, order: int) -> Derivs:
    """Value, gradient and Hessian in (r1, b1, r2, b2, u) from the moments
    ``e[(a, p, k, q)]`` (see the module docstring)."""
    value = e[(0, 0, 0, 0)]
    if order < 1:
        return Derivs(value, None, None)
    q = e[(1, 0, 1, 0)]
    rr = r1 * r2
    grad = (e[(1, 1, 0, 0)], e[(1, 0, 0, 0)], e[(0, 0, 1, 1)], e[(0, 0, 1, 0)], rr * q)
    if order < 2:
        return pack_pair(value, grad, None)
    hess = (
        e[(2, 2, 0, 0)], e[(2, 1, 0, 0)], e[(1, 1, 1, 1)], e[(1, 1, 1, 0)],
        r2 * q + rr * e[(2, 1, 1, 0)],
        e[(2, 0, 0, 0)], e[(1, 0, 1, 1)], q, rr * e[(2, 0, 1, 0)],
        e[(0, 0, 2, 2)], e[(0, 0, 2, 1)], r1 * q + rr * e[(1, 0, 2, 1)],
        e[(0, 0, 2, 0)], rr * e[(1, 0, 2, 0)],
        rr * rr * e[(2, 0, 2, 0)],
    )
    return pack_pair(value, grad, hess)
