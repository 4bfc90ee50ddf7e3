r"""Closed forms for ``relu``, with all first and second derivatives.

Notation: :math:`X_i = r_i z_i + b_i` with :math:`\operatorname{corr}(z_1, z_2) = u`,
:math:`\sigma_i = |r_i|`, :math:`s_i = \operatorname{sign} r_i`,
:math:`\beta_i = b_i/\sigma_i`, :math:`\tilde u = s_1 s_2 u`, :math:`u' = \sqrt{1-u^2}`,
:math:`c_{12} = (\beta_2 - \tilde u\beta_1)/u'`, :math:`c_{21} = (\beta_1 - \tilde u
\beta_2)/u'`, :math:`H` the step and :math:`\delta` its derivative. The derivatives
come from Gaussian identities instead of differentiating the value formula:
:math:`\partial_{b_1}E[f_1f_2] = E[f_1'f_2]`, Price's theorem
:math:`\partial_u E[f_1f_2] = r_1r_2E[f_1'f_2']` and Stein's lemma
:math:`\partial_{r_1}E[f_1f_2] = E[z_1f_1'f_2] = r_1E[f_1''f_2] + ur_2E[f_1'f_2']`. They
need the kernels

.. math::

    L &= E[H(X_1)H(X_2)] = \mathrm{BvN}(\beta_1, \beta_2, \tilde u), \qquad
    K_1 = E[H(X_1)X_2^+] = b_2L + s_1ur_2\,d_1 + \sigma_2 d_2, \\
    A_1 &= E[\delta(X_1)X_2^+] = a_1/\sigma_1, \quad
    a_1 = \varphi(\beta_1)\bigl[(b_2 - s_1ur_2\beta_1)\Phi(c_{12})
          + \sigma_2u'\varphi(c_{12})\bigr], \\
    D_1 &= E[\delta(X_1)H(X_2)] = d_1/\sigma_1, \quad d_1 = \varphi(\beta_1)\Phi(c_{12}), \\
    P &= E[\delta(X_1)\delta(X_2)] = p/(\sigma_1\sigma_2), \quad
    p = \varphi(\beta_1)\varphi(c_{12})/u',

(:math:`K_2, A_2, D_2` by symmetry; :math:`E[\delta(X_1)g(X_2)]` is the density of
:math:`X_1` at 0 times :math:`E[g(X_2) \mid X_1 = 0]`). With
:math:`\zeta_i = -b_i/r_i` (the value of :math:`z_i` on the kink):

.. math::

    E[X_1^+X_2^+] &= \sigma_1a_1 + ur_1r_2L + b_1K_1, \\
    \nabla &= (s_1a_1 + ur_2L,\ K_1,\ s_2a_2 + ur_1L,\ K_2,\ r_1r_2L), \\
    H_{r_1r_1} &= \zeta_1^2A_1, \quad H_{r_1b_1} = \zeta_1A_1, \quad H_{b_1b_1} = A_1,
    \quad H_{b_1b_2} = L, \\
    H_{r_1r_2} &= u(L - b_1D_1 - b_2D_2) + r_1r_2u'^2P, \quad
    H_{r_1b_2} = r_1D_1 + ur_2D_2, \\
    H_{r_1u} &= r_2(L - b_1D_1), \quad H_{b_1u} = r_1r_2D_1, \quad
    H_{uu} = r_1^2r_2^2P,

and the rest by symmetry. (:math:`H_{r_1r_1}` and :math:`H_{r_1b_1}` follow from the
degree-1 homogeneity of the integral in :math:`(r_1, b_1)`.) For ``b = 0`` this reduces
to the arc-cosine kernel :math:`r_1r_2(u' + (\pi - \arccos u)u)/(2\pi)`.

Degenerate points (all finite, never NaN):

* :math:`r_i = 0`, :math:`b_i \neq 0`: everything is smooth there; the formulas are
  evaluated at their limits (:math:`\beta_i = \pm\infty`, all
  :math:`\varphi(\beta_i)` terms 0).
* :math:`r_i = 0 = b_i` (a dead neuron on its kink; not differentiable): we return the
  limit :math:`r_i \to 0^+` along :math:`b_i = 0` (the derivatives along growing
  :math:`\|w\|`, :math:`r_i \ge 0` in NetI), i.e. :math:`\beta_i = 0`, :math:`s_i = +1`.
  The only entry without a finite limit there, :math:`H_{b_ib_i} = A_i \sim
  \varphi(0)E[\cdot]/\sigma_i`, is returned as 0 (its value on the line :math:`r_i = 0`,
  :math:`b_i \ne 0`; the Dirac mass of :math:`b \mapsto \mathrm{relu}(b)E[\cdot]` is
  dropped, like ``relu'' = 0``). One-point: likewise, :math:`\partial_b^2 E[f] := 0`.
* :math:`|u| = 1`: :math:`c_{12} = \pm\infty` (0 when :math:`\beta_2 = \tilde u\beta_1`:
  the limit :math:`u \to \pm1` at fixed :math:`r, b`), and :math:`P := 0`. :math:`P` is
  the limit unless the two kinks coincide (:math:`\beta_2 = \tilde u\beta_1`, e.g.
  no biases), where :math:`H_{uu}` diverges like :math:`1/u'`; the loss Hessian is
  still finite there since :math:`H_{uu}` enters multiplied by
  :math:`(\partial u/\partial w)^2 = O(u'^2)`, which is exactly 0 at :math:`|u| = 1`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from .bvn import bvn_value, conditional_limits, norm_pdf
from .closed_forms import closed_form_coefficients, closed_form_one_point, closed_form_pair
from .interface import Array, Derivs, pack_one, pack_pair
from .kinks import Std
from .quadrature import hermite_values

__all__ = ["relu_pair", "relu_phi", "relu_phiphi", "relu_coefficients"]


def _arrays(*xs: ArrayLike) -> tuple[Array, ...]:
    return np.broadcast_arrays(*(np.atleast_1d(np.asarray(x, dtype=float)) for x in xs))


@closed_form_pair("relu", "relu")
def relu_pair(
    r1: ArrayLike, b1: ArrayLike, r2: ArrayLike, b2: ArrayLike, u: ArrayLike, order: int = 2
) -> Derivs:
    r""":math:`E[\mathrm{relu}(r_1z_1 + b_1)\,\mathrm{relu}(r_2z_2 + b_2)]` and its
    derivatives in :math:`(r_1, b_1, r_2, b_2, u)` (see the module docstring)."""
    a1, c1, a2, c2, ua = _arrays(r1, b1, r2, b2, u)
    return _relu_pair(a1, c1, a2, c2, ua, order)


def _relu_pair(r1: Array, b1: Array, r2: Array, b2: Array, u: Array, order: int) -> Derivs:
    u = np.clip(u, -1.0, 1.0)
    x1, x2 = Std(r1, b1), Std(r2, b2)
    ut = x1.s * x2.s * u
    uc = np.sqrt((1.0 - u) * (1.0 + u))
    beta1, beta2 = x1.beta, x2.beta
    # (beta2 - ut beta1)/u' and (beta1 - ut beta2)/u', free of cancellation near |ut| = 1
    c12, c21 = conditional_limits(beta1, beta2, ut, uc)
    big_l = bvn_value(beta1, beta2, ut, uc, c12, c21)
    cdf12, cdf21 = special.ndtr(c12), special.ndtr(c21)
    pdf12, pdf21 = norm_pdf(c12), norm_pdf(c21)
    d1, d2 = x1.phi * cdf12, x2.phi * cdf21
    a1 = x1.phi * ((b2 - x1.s * u * r2 * beta1) * cdf12 + x2.sigma * uc * pdf12)
    a2 = x2.phi * ((b1 - x2.s * u * r1 * beta2) * cdf21 + x1.sigma * uc * pdf21)
    k1 = b2 * big_l + x1.s * u * r2 * d1 + x2.sigma * d2
    k2 = b1 * big_l + x2.s * u * r1 * d2 + x1.sigma * d1
    value = x1.sigma * a1 + u * r1 * r2 * big_l + b1 * k1
    if order < 1:
        return Derivs(value, None, None)
    grad = (x1.s * a1 + u * r2 * big_l, k1, x2.s * a2 + u * r1 * big_l, k2, r1 * r2 * big_l)
    if order < 2:
        return pack_pair(value, grad, None)
    p = np.where(uc > 0.0, x1.phi * pdf12 / np.where(uc > 0.0, uc, 1.0), 0.0)
    big_a1, big_a2 = a1 * x1.inv, a2 * x2.inv
    bd1, bd2 = beta1 * d1, beta2 * d2  # b_i D_i
    ss = x1.s * x2.s
    hess = (
        beta1 * (beta1 * a1) * x1.inv,  # r1r1: zeta1^2 A1
        -x1.s * (beta1 * a1) * x1.inv,  # r1b1: zeta1 A1
        u * (big_l - bd1 - bd2) + ss * (uc * uc) * p,  # r1r2
        x1.s * d1 + u * x2.s * d2,  # r1b2: r1 D1 + u r2 D2
        r2 * (big_l - bd1),  # r1u
        big_a1,  # b1b1
        x2.s * d2 + u * x1.s * d1,  # b1r2
        big_l,  # b1b2
        x1.s * r2 * d1,  # b1u: r1 r2 D1
        beta2 * (beta2 * a2) * x2.inv,  # r2r2
        -x2.s * (beta2 * a2) * x2.inv,  # r2b2
        r1 * (big_l - bd2),  # r2u
        big_a2,  # b2b2
        x2.s * r1 * d2,  # b2u
        x1.sigma * x2.sigma * p,  # uu: r1^2 r2^2 P
    )
    return pack_pair(value, grad, hess)


@closed_form_one_point("relu")
def relu_phi(r: ArrayLike, b: ArrayLike, order: int = 2) -> Derivs:
    r""":math:`E[\mathrm{relu}(rz + b)] = \sigma\varphi(\beta) + b\Phi(\beta)`.

    :math:`\partial_r = s\varphi(\beta)`, :math:`\partial_b = \Phi(\beta)`,
    :math:`\partial_r^2 = \beta^2\varphi(\beta)/\sigma`,
    :math:`\partial_r\partial_b = -s\beta\varphi(\beta)/\sigma`,
    :math:`\partial_b^2 = \varphi(\beta)/\sigma` (0 at :math:`r = b = 0`, see the module
    docstring).
    """
    ra, ba = _arrays(r, b)
    x = Std(ra, ba)
    value = x.sigma * x.phi + ba * x.cdf
    if order < 1:
        return Derivs(value, None, None)
    grad = (x.s * x.phi, x.cdf)
    if order < 2:
        return pack_one(value, grad, None)
    bp = x.beta * x.phi
    hess = (x.beta * bp * x.inv, -x.s * bp * x.inv, x.phi * x.inv)
    return pack_one(value, grad, hess)


@closed_form_one_point("relu", squared=True)
def relu_phiphi(r: ArrayLike, b: ArrayLike, order: int = 2) -> Derivs:
    r""":math:`E[\mathrm{relu}(rz + b)^2] = (r^2 + b^2)\Phi(\beta) + b\sigma\varphi(\beta)`.

    :math:`\partial_r = 2r\Phi`, :math:`\partial_b = 2(b\Phi + \sigma\varphi)`,
    :math:`\partial_r^2 = 2\Phi - 2\beta\varphi`, :math:`\partial_r\partial_b = 2s\varphi`,
    :math:`\partial_b^2 = 2\Phi` (all at :math:`\beta`; finite everywhere).
    """
    ra, ba = _arrays(r, b)
    x = Std(ra, ba)
    value = (ra * ra + ba * ba) * x.cdf + ba * x.sigma * x.phi
    if order < 1:
        return Derivs(value, None, None)
    grad = (2.0 * ra * x.cdf, 2.0 * (ba * x.cdf + x.sigma * x.phi))
    if order < 2:
        return pack_one(value, grad, None)
    hess = (2.0 * (x.cdf - x.beta * x.phi), 2.0 * x.s * x.phi, 2.0 * x.cdf)
    return pack_one(value, grad, hess)


@closed_form_coefficients("relu")
def relu_coefficients(r: Array, b: Array, T: int) -> tuple[Array, Array, Array]:
    r"""The Hermite coefficients :math:`E[f^{(a)}(rz + b)h_n(z)]` (:math:`n < T`) of relu,
    exactly, shape (T, K) each (Gaussian integration by parts,
    :math:`E[g\,\mathrm{He}_n] = E[g^{(n)}]`, :math:`\zeta = -b/r`):

    .. math::

        E[fh_n] = \frac{\sigma h_{n-2}(\zeta)\varphi(\beta)}{\sqrt{n(n-1)}} \ (n \ge 2),
        \quad E[f'h_n] = \frac{s\,h_{n-1}(\zeta)\varphi(\beta)}{\sqrt n} \ (n \ge 1),
        \quad E[f''h_n] = \frac{h_n(\zeta)\varphi(\beta)}{\sigma},

    with :math:`E[f] = \sigma\varphi(\beta) + b\Phi(\beta)`, :math:`E[fh_1] = r\Phi(\beta)`,
    :math:`E[f'] = \Phi(\beta)`; the last is 0 at :math:`r = b = 0` (the module's
    convention).
    """
    st = Std(r, b)
    zeta = np.where(st.phi > 0.0, -st.s * st.beta, 0.0)
    g = hermite_values(zeta, T, st.phi)  # phi(beta) h_n(zeta)
    n = np.arange(T, dtype=float)[:, None]
    c = np.zeros((T, len(r)))
    c[0] = st.sigma * st.phi + b * st.cdf
    if T > 1:
        c[1] = r * st.cdf
    if T > 2:
        c[2:] = st.sigma * g[:-2] / np.sqrt(n[2:] * (n[2:] - 1.0))
    cb = np.empty((T, len(r)))
    cb[0] = st.cdf
    cb[1:] = st.s * g[:-1] / np.sqrt(n[1:])
    cbb = g * st.inv  # 0 at r = b = 0 (the convention of this module)
    return c, cb, cbb
