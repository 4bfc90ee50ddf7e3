r"""Gaussian-input integrals for infinite-data teacher–student networks.

For :math:`x \sim N(0, I_D)` a one-hidden-layer network's squared loss reduces to one- and
two-point expectations of the activations (MLPGradientFlow.jl's ``NetI``):

* :func:`one_point` — :math:`E[f(rz + b)]` and :math:`E[f(rz + b)^2]`, derivatives in
  :math:`(r, b)`;
* :func:`two_point` — :math:`E[f_1(r_1z_1 + b_1) f_2(r_2z_2 + b_2)]` with
  :math:`\operatorname{corr}(z_1, z_2) = u`, derivatives in :math:`(r_1, b_1, r_2, b_2, u)`;

accurate at any scale :math:`r` (:mod:`.expectations` has the table of the method per
activation and pair, :mod:`.dispatch` makes the choice, :mod:`.interface` holds the types
the modules exchange): closed forms for ``relu``, ``normal_cdf``, ``sigmoid2`` (:mod:`.closed_forms`),
exact forms for polynomials and ``exp`` (:mod:`.exact`), piecewise rules in the variable of
the activation with exact tails (:mod:`.piecewise`), Mehler's series
(:mod:`.hermite_series`), conditioning on one unit (:mod:`.conditional`), and Gauss–Hermite
quadrature where it is accurate (:class:`NormalIntegral` is the general-purpose rule).
Every integral has an error estimate (:mod:`.accuracy`); :class:`NetI` turns them into
relative error estimates of its loss, gradient and Hessian and warns with
:class:`AccuracyWarning` above its tolerance. The bivariate normal distribution function is
:func:`bvn_cdf` / :func:`bvn` with its derivatives.
"""

from .accuracy import AccuracyWarning
from .bvn import bvn, bvn_cdf, norm_cdf, norm_pdf, owent
from .expectations import has_closed_form, one_point, two_point
from .ghnet import gauss_hermite_net
from .interface import ONE_POINT_ORDER, PAIR_ORDER, Derivs
from .neti import NetI
from .quadrature import NormalIntegral, PairRule, hermite_rule

__all__ = [
    "AccuracyWarning",
    "Derivs",
    "NetI",
    "gauss_hermite_net",
    "NormalIntegral",
    "ONE_POINT_ORDER",
    "PAIR_ORDER",
    "PairRule",
    "bvn",
    "bvn_cdf",
    "has_closed_form",
    "hermite_rule",
    "norm_cdf",
    "owent",
    "norm_pdf",
    "one_point",
    "two_point",
]
