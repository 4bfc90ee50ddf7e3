r"""Gaussian-input integrals for infinite-data teacher–student networks.

For :math:`x \sim N(0, I_D)` a one-hidden-layer network's squared loss reduces to one- and
two-point expectations of the activations (MLPGradientFlow.jl's ``NetI``):

* :func:`one_point` — :math:`E[f(rz + b)]` and :math:`E[f(rz + b)^2]`, derivatives in
  :math:`(r, b)`;
* :func:`two_point` — :math:`E[f_1(r_1z_1 + b_1) f_2(r_2z_2 + b_2)]` with
  :math:`\operatorname{corr}(z_1, z_2) = u`, derivatives in :math:`(r_1, b_1, r_2, b_2, u)`;

closed forms for ``relu``, ``normal_cdf``, ``sigmoid2`` (and their mixed
``normal_cdf``/``sigmoid2`` pairs), Gauss–Hermite quadrature otherwise
(:class:`NormalIntegral` is the general-purpose rule), and the bivariate normal
distribution function :func:`bvn_cdf` / :func:`bvn` with its derivatives.
"""

from .bvn import Derivs, bvn, bvn_cdf, norm_cdf, norm_pdf
from .closed_forms import ONE_POINT_ORDER, PAIR_ORDER
from .expectations import has_closed_form, one_point, two_point
from .ghnet import gauss_hermite_net
from .neti import NetI
from .quadrature import NormalIntegral, PairRule, hermite_rule

__all__ = [
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
    "norm_pdf",
    "one_point",
    "two_point",
]
