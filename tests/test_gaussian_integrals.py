r"""Gaussian one- and two-point integrals (mlpgradientflow.gaussian) against oracles.

The oracle (``_moments``) integrates the defining integrals
:math:`E_{apkq} = E[f_1^{(a)}(h_1)z_1^p\,f_2^{(k)}(h_2)\zeta^q]` directly: the outer
integral over :math:`z_1` by Gauss–Legendre on pieces split at the kinks (so it is
accurate to ~1e-15 for relu too), the inner one over :math:`z_3` by Gauss–Hermite for
smooth :math:`f_2` and by the textbook conditional formulas for relu; Dirac masses of
:math:`\mathrm{relu}''` by conditioning on the kink. Value, gradient and Hessian follow
from the moments by differentiating under the integral (Stein, Price). Tolerances:
1e-12 for erf/Phi closed forms and the Hermite series of smooth activations; 1e-10 for
relu, whose oracle integrands have boundary layers of width :math:`\sqrt{1-u^2}` next to
the kinks (u up to 0.95 here); finite differences at their own truncation error.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.polynomial.legendre import leggauss
from scipy import stats
from scipy.special import ndtr

from mlpgradientflow.activations import ACTIVATIONS, get_activation
from mlpgradientflow.gaussian import (
    NormalIntegral,
    bvn,
    bvn_cdf,
    closed_forms,
    has_closed_form,
    hermite_rule,
    one_point,
    quadrature,
    two_point,
)

SWAP = [2, 3, 0, 1, 4]
_GL = leggauss(40)


#: jumps of f' at 0 (f'' has the Dirac mass J delta there)
JUMPS = {"relu": 1.0, "selu": 1.0507009873554805 * (1.0 - 1.6732632423543772)}


def _phi(x):
    return np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)


def _pieces(breaks, lo=-14.0, hi=14.0):
    """Gauss–Legendre nodes/weights on [lo, hi] split at the breakpoints (and every 2)."""
    edges = np.unique(np.clip([lo, *breaks, *np.arange(-12.0, 13.0, 2.0), hi], lo, hi))
    xs, ws = [], []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        xs.append(0.5 * (b - a) * _GL[0] + 0.5 * (a + b))
        ws.append(0.5 * (b - a) * _GL[1])
    return np.concatenate(xs), np.concatenate(ws)


def _derivs(name, x, a):
    f = get_activation(name)
    return (f(x), f.deriv(x), f.second_deriv(x))[a]


def _inner(name, k, q, r2, b2, u, z1):
    """E over z3 of f2^(k)(h2) zeta^q given z1 (zeta = u z1 + u' z3), a.e. part only."""
    uc = np.sqrt((1 - u) * (1 + u))
    mu = b2 + r2 * u * z1
    if name != "relu":
        t, w = hermite_rule(600)
        h = mu[:, None] + r2 * uc * t
        z = u * z1[:, None] + uc * t
        return (_derivs(name, h, k) * z**q) @ w
    s2 = 1.0 if r2 >= 0 else -1.0
    tau = abs(r2) * uc
    c = mu / tau
    aa, bb = u * z1, uc * s2  # zeta = aa + bb W, h2 = mu + tau W
    if k == 0:
        return mu * ndtr(c) + tau * _phi(c)
    if k == 1:
        return aa * ndtr(c) + bb * _phi(c) if q else ndtr(c)
    return _phi(c) / tau * (aa - bb * c) ** q  # the Dirac mass at W = -c


def _moments(f1, f2, r1, b1, r2, b2, u):
    """E[a, p, k, q] (see the module docstring) by piecewise quadrature."""
    breaks = []
    if f1 in JUMPS:
        breaks.append(-b1 / r1)
    if f2 == "relu" and u != 0:
        breaks.append(-b2 / (r2 * u))
    z, w = _pieces(breaks)
    w = w * _phi(z)
    e = {}
    for a in range(3):
        for k in range(3):
            for p in range(3 if a == 2 else 2):
                for q in range(k + 1):
                    g = _derivs(f1, r1 * z + b1, a) * z**p
                    e[a, p, k, q] = np.sum(w * g * _inner(f2, k, q, r2, b2, u, z))
                    if f1 in JUMPS and a == 2:  # J delta in f1'': condition on z1 = -b1/r1
                        zeta = -b1 / r1
                        dens = JUMPS[f1] * _phi(b1 / abs(r1)) / abs(r1)
                        inner = _inner(f2, k, q, r2, b2, u, np.array([zeta]))[0]
                        e[a, p, k, q] += dens * zeta**p * inner
    return e


def pair_oracle(f1, f2, r1, b1, r2, b2, u):
    """(value, grad (5,), hess (5, 5)) from the moments."""
    e = _moments(f1, f2, r1, b1, r2, b2, u)
    q, rr = e[1, 0, 1, 0], r1 * r2
    grad = np.array([e[1, 1, 0, 0], e[1, 0, 0, 0], e[0, 0, 1, 1], e[0, 0, 1, 0], rr * q])
    up = {
        (0, 0): e[2, 2, 0, 0], (0, 1): e[2, 1, 0, 0], (0, 2): e[1, 1, 1, 1],
        (0, 3): e[1, 1, 1, 0], (0, 4): r2 * q + rr * e[2, 1, 1, 0], (1, 1): e[2, 0, 0, 0],
        (1, 2): e[1, 0, 1, 1], (1, 3): q, (1, 4): rr * e[2, 0, 1, 0], (2, 2): e[0, 0, 2, 2],
        (2, 3): e[0, 0, 2, 1], (2, 4): r1 * q + rr * e[1, 0, 2, 1], (3, 3): e[0, 0, 2, 0],
        (3, 4): rr * e[1, 0, 2, 0], (4, 4): rr * rr * e[2, 0, 2, 0],
    }
    hess = np.zeros((5, 5))
    for (i, j), v in up.items():
        hess[i, j] = hess[j, i] = v
    return e[0, 0, 0, 0], grad, hess


def one_oracle(name, r, b, squared):
    """E[g(rz + b)] and derivatives, g = f or f^2, by piecewise Gauss–Legendre."""
    z, w = _pieces([-b / r] if name in JUMPS else [])
    w = w * _phi(z)
    y, d1, d2 = (_derivs(name, r * z + b, a) for a in range(3))
    g = (y * y, 2 * y * d1, 2 * (d1 * d1 + y * d2)) if squared else (y, d1, d2)
    val, grad = g[0] @ w, np.array([g[1] @ (w * z), g[1] @ w])
    hess = np.array([[g[2] @ (w * z * z), g[2] @ (w * z)], [g[2] @ (w * z), g[2] @ w]])
    if name in JUMPS and not squared:  # f'' = (a.e. part) + J delta; f(0) = 0 for both
        zeta, dens = -b / r, JUMPS[name] * _phi(b / abs(r)) / abs(r)
        hess += dens * np.array([[zeta * zeta, zeta], [zeta, 1.0]])
    return val, grad, hess


def _fd(fn, x, eps):
    """Central differences of fn(x) -> (value, grad) at x: (gradient of value, Jacobian of
    grad)."""
    x = np.asarray(x, float)
    g, jac = np.zeros(len(x)), np.zeros((len(x), len(x)))
    for i in range(len(x)):
        e = np.zeros(len(x))
        e[i] = eps
        (vp, gp), (vm, gm) = fn(x + e), fn(x - e)
        g[i], jac[i] = (vp - vm) / (2 * eps), (gp - gm) / (2 * eps)
    return g, jac


def _pair_fn(f1, f2, method="auto"):
    def fn(x):
        d = two_point(f1, f2, *x, order=1, method=method)
        return d.value[0], d.grad[0]

    return fn


# ---------------------------------------------------------------- bivariate normal


CORNERS = [-3.0, -1.0, -0.2, 0.0, 0.5, 2.0]
RHOS = [-0.999, -0.6, 0.0, 0.3, 0.9, 0.9999]


def test_bvn_against_scipy():
    h, k, rho = (a.ravel() for a in np.meshgrid(CORNERS, CORNERS, RHOS, indexing="ij"))
    ours = bvn_cdf(h, k, rho)
    for i in range(len(h)):
        cov = [[1.0, rho[i]], [rho[i], 1.0]]
        ref = stats.multivariate_normal(mean=[0, 0], cov=cov).cdf([h[i], k[i]])
        assert abs(ours[i] - ref) < 1e-12, (h[i], k[i], rho[i])


def test_bvn_special_cases():
    phi_ = ndtr
    assert bvn_cdf(0.0, 0.0, 0.5) == pytest.approx(1 / 3, abs=1e-15)
    assert bvn_cdf(0.3, 1.2, 1.0) == phi_(0.3)
    assert bvn_cdf(0.3, 1.2, -1.0) == pytest.approx(phi_(0.3) - phi_(-1.2), abs=1e-16)
    assert bvn_cdf(0.3, -1.2, -1.0) == 0.0
    assert bvn_cdf(np.inf, 0.4, 0.3) == phi_(0.4)
    assert bvn_cdf(0.4, -np.inf, 0.3) == 0.0
    # h or k = 0 against the one-sided limits
    for k in (-1.3, 0.7):
        for rho in (-0.7, 0.2):
            exact = bvn_cdf(0.0, k, rho)
            assert exact == pytest.approx(bvn_cdf(1e-13, k, rho), abs=1e-12)
            assert exact == pytest.approx(bvn_cdf(-1e-13, k, rho), abs=1e-12)
    assert np.all(np.isfinite(bvn(0.3, 0.3, 1.0).hess))
    d = bvn([np.inf, -np.inf], 0.3, 0.5)  # the marginal Phi(k), and 0
    np.testing.assert_allclose(d.grad[0], [0.0, _phi(0.3), 0.0], atol=1e-16)
    assert d.hess[0, 1, 1] == pytest.approx(-0.3 * _phi(0.3), abs=1e-16)
    assert not d.grad[1].any() and not d.hess[1].any()


def test_bvn_near_singular_correlation():
    # h = k with rho -> 1: the conditional limit is formed without cancellation
    rho = 1 - 1e-9
    ref = ndtr(0.3) - 2 * 3.4022159479971e-06  # Phi(h) - 2T(h, (1-rho)/rho'), mpmath
    assert bvn_cdf(0.3, 0.3, rho) == pytest.approx(ref, abs=2e-16)


@settings(max_examples=60, deadline=None)
@given(
    st.floats(-4, 4), st.floats(-4, 4), st.floats(-0.999, 0.999),
)
def test_bvn_identities(h, k, rho):
    assert bvn_cdf(h, k, rho) == pytest.approx(bvn_cdf(k, h, rho), abs=1e-15)
    assert bvn_cdf(h, k, rho) + bvn_cdf(h, -k, -rho) == pytest.approx(ndtr(h), abs=1e-15)


def test_bvn_derivatives_finite_differences():
    for x in [(0.3, -0.5, 0.4), (-1.2, 0.8, -0.7), (0.0, 0.0, 0.95), (1.5, 1.5, 0.2)]:
        d = bvn(*x)
        fd_g, fd_h = _fd(lambda y: (bvn(*y).value, bvn(*y).grad), x, 1e-5)
        np.testing.assert_allclose(d.grad, fd_g, atol=1e-9)
        np.testing.assert_allclose(d.hess, fd_h, atol=1e-9)


# ---------------------------------------------------------------- Gauss–Hermite rules


def test_normal_integral_reference_checks():
    i1, i2 = NormalIntegral(), NormalIntegral(d=2)
    assert (len(i1), len(i2)) == (136, 13448)
    assert i1(np.ones_like) == pytest.approx(1.0, abs=1e-14)
    assert abs(i1(lambda x: x)) < 1e-17
    assert i1(lambda x: x**2) == pytest.approx(1.0, abs=3e-14)
    assert i2(lambda a, b: np.cos(a + b)) == pytest.approx(np.exp(-1), abs=1e-14)
    assert i2(lambda a, b: np.cos(a + b), u=0.5) == pytest.approx(np.exp(-1.5), abs=1e-14)
    i3 = NormalIntegral(N=60, d=3)
    assert i3(lambda a, b, c: np.cos(a + b + c)) == pytest.approx(np.exp(-1.5), abs=1e-13)
    with pytest.raises(ValueError, match="smaller N"):
        NormalIntegral(d=4)


# ---------------------------------------------------------------- closed forms


GRID_R = [-1.3, -0.4, 0.7, 1.8]
GRID_B = [-1.0, 0.0, 0.4, 1.0]
GRID_U = [-0.999, -0.95, -0.3, 0.0, 0.6, 0.95, 0.999]


def _pair_points(rng, n, grid_r=GRID_R):
    """Grid-based points: r (incl. negative), b (incl. 0, +-1), u (incl. signs, near 1)."""
    pts = []
    for _ in range(n):
        pts.append((rng.choice(grid_r), rng.choice(GRID_B), rng.choice(grid_r),
                    rng.choice(GRID_B), rng.choice(GRID_U)))
    return pts


@pytest.mark.parametrize(
    "f1, f2, tol",
    [("normal_cdf", "normal_cdf", 1e-12), ("sigmoid2", "sigmoid2", 1e-12),
     ("sigmoid2", "normal_cdf", 1e-12), ("normal_cdf", "sigmoid2", 1e-12),
     ("relu", "relu", 1e-10)],
)
def test_closed_form_pairs_against_quadrature(f1, f2, tol):
    assert has_closed_form(f1, f2)
    # r = 0 is smooth for erf/Phi (the oracle splits relu at -b/r, so relu's r = 0 is
    # tested against its limits in test_zero_norm_units)
    grid_r = GRID_R if f1 == "relu" else [*GRID_R, 0.0]
    pts = _pair_points(np.random.default_rng(len(f1) + 3 * len(f2)), 16, grid_r)
    d = two_point(f1, f2, *np.array(pts).T)
    for i, x in enumerate(pts):
        val, grad, hess = pair_oracle(f1, f2, *x)
        assert abs(d.value[i] - val) < tol, x
        np.testing.assert_allclose(d.grad[i], grad, atol=tol, err_msg=str(x))
        np.testing.assert_allclose(d.hess[i], hess, atol=tol, err_msg=str(x))


@pytest.mark.parametrize("name", ["relu", "normal_cdf", "sigmoid2"])
@pytest.mark.parametrize("squared", [False, True])
def test_closed_form_one_point_against_quadrature(name, squared):
    for r in GRID_R if name == "relu" else [*GRID_R, 0.0]:
        for b in GRID_B:
            d = one_point(name, r, b, squared=squared)
            val, grad, hess = one_oracle(name, r, b, squared)
            assert abs(d.value[0] - val) < 1e-12
            np.testing.assert_allclose(d.grad[0], grad, atol=1e-12)
            np.testing.assert_allclose(d.hess[0], hess, atol=1e-12)


def test_relu_closed_forms_finite_differences():
    for x in _pair_points(np.random.default_rng(7), 8):
        d = two_point("relu", "relu", *x)
        fd_g, fd_h = _fd(_pair_fn("relu", "relu"), x, 1e-5)
        np.testing.assert_allclose(d.grad[0], fd_g, atol=1e-8)
        np.testing.assert_allclose(d.hess[0], fd_h, atol=1e-7)
    for sq in (False, True):
        for x in [(0.7, 0.4), (-1.3, -1.0), (1.8, 0.0)]:
            d = one_point("relu", *x, squared=sq)
            fd_g, fd_h = _fd(
                lambda y, sq=sq: (one_point("relu", *y, order=1, squared=sq).value[0],
                                  one_point("relu", *y, order=1, squared=sq).grad[0]),
                x, 1e-5)
            np.testing.assert_allclose(d.grad[0], fd_g, atol=1e-8)
            np.testing.assert_allclose(d.hess[0], fd_h, atol=1e-7)


def test_relu_biasless_arccos_kernel():
    r1, r2, u = 1.3, 0.6, np.linspace(-1, 1, 9)
    d = two_point("relu", "relu", r1, 0.0, r2, 0.0, u)
    ref = r1 * r2 / (2 * np.pi) * (np.sqrt(1 - u * u) + (np.pi - np.arccos(u)) * u)
    np.testing.assert_allclose(d.value, ref, atol=1e-15)
    np.testing.assert_allclose(d.grad[:, 4], r1 * r2 * (np.pi - np.arccos(u)) / (2 * np.pi),
                               atol=1e-15)


def test_sigmoid2_biasless_legacy_forms():
    r1, r2, u = 0.8, 1.7, 0.35
    d = two_point("sigmoid2", "sigmoid2", r1, 0.0, r2, 0.0, u)
    n1, n2 = np.sqrt(1 + r1**2), np.sqrt(1 + r2**2)
    assert d.value[0] == pytest.approx(2 / np.pi * np.arcsin(r1 * r2 * u / (n1 * n2)), abs=1e-15)
    s = r1**2 * (1 - r2**2 * (u**2 - 1)) + r2**2 + 1
    assert d.grad[0, 4] == pytest.approx(2 * r1 * r2 / (np.pi * np.sqrt(s)), abs=1e-15)
    g = one_point("sigmoid2", r1, 0.0, squared=True)
    assert g.value[0] == pytest.approx(2 / np.pi * np.arcsin(r1**2 / (1 + r1**2)), abs=1e-15)
    ref = 4 * r1 / (np.pi * (1 + r1**2) * np.sqrt(1 + 2 * r1**2))
    assert g.grad[0, 0] == pytest.approx(ref, abs=1e-15)


# ---------------------------------------------------------------- quadrature paths


@pytest.mark.parametrize(
    "f1, f2", [("softplus", "tanh"), ("gelu", "gelu"), ("relu", "softplus"),
               ("sigmoid", "relu"), ("relu", "sigmoid2"), ("selu", "tanh")],
)
def test_hermite_series_against_quadrature(f1, f2):
    pts = _pair_points(np.random.default_rng(11), 6)
    d = two_point(f1, f2, *np.array(pts).T, method="hermite")
    for i, x in enumerate(pts):
        val, grad, hess = pair_oracle(f1, f2, *x)
        assert abs(d.value[i] - val) < 1e-12
        np.testing.assert_allclose(d.grad[i], grad, atol=1e-12)
        np.testing.assert_allclose(d.hess[i], hess, atol=1e-11)


def test_quadrature_pair_against_oracle_and_finite_differences():
    pts = _pair_points(np.random.default_rng(5), 4)
    d = two_point("softplus", "gelu", *np.array(pts).T, method="quadrature")
    for i, x in enumerate(pts):
        val, grad, hess = pair_oracle("softplus", "gelu", *x)
        assert abs(d.value[i] - val) < 1e-12
        np.testing.assert_allclose(d.grad[i], grad, atol=1e-12)
        np.testing.assert_allclose(d.hess[i], hess, atol=1e-12)
        for method in ("quadrature", "hermite"):
            fd_g, fd_h = _fd(_pair_fn("softplus", "gelu", method), x, 1e-5)
            np.testing.assert_allclose(d.grad[i], fd_g, atol=1e-9)
            np.testing.assert_allclose(d.hess[i], fd_h, atol=1e-8)


@pytest.mark.parametrize("name", ["softplus", "tanh", "gelu"])
def test_quadrature_one_point(name):
    for sq in (False, True):
        for r, b in [(0.7, 0.4), (-1.3, -1.0), (1.8, 0.0)]:
            d = one_point(name, r, b, squared=sq)
            val, grad, hess = one_oracle(name, r, b, sq)
            assert abs(d.value[0] - val) < 1e-12
            np.testing.assert_allclose(d.grad[0], grad, atol=1e-12)
            np.testing.assert_allclose(d.hess[0], hess, atol=1e-12)


def test_kink_dirac_terms():
    # relu by quadrature (Dirac part added) agrees with the closed form to the accuracy
    # of Gauss–Hermite on the kink; without the Dirac part b-b would be off by O(1)
    cf = one_point("relu", 0.9, 0.3)
    q = one_point("relu", 0.9, 0.3, method="quadrature")
    np.testing.assert_allclose(q.hess, cf.hess, atol=1e-12)  # only the Dirac part
    cf = two_point("relu", "relu", 0.9, 0.3, -1.2, 0.5, 0.4)
    q = two_point("relu", "relu", 0.9, 0.3, -1.2, 0.5, 0.4, method="quadrature")
    # the Dirac-carrying blocks (r1, b1) x (r1, b1) and (r2, b2) x (r2, b2) are O(1); the
    # rest is limited by Gauss–Hermite on the steps relu' (about 1e-2 here)
    for blk in ([0, 1], [2, 3]):
        np.testing.assert_allclose(q.hess[0][np.ix_(blk, blk)], cf.hess[0][np.ix_(blk, blk)],
                                   atol=1e-4)
    # selu: the Dirac mass lambda (1 - alpha) delta of selu'' (-0.34 here); the one-point
    # rule is split at the kink, so everything is exact to rounding
    for sq in (False, True):
        d = one_point("selu", 0.8, -0.2, squared=sq)
        val, grad, hess = one_oracle("selu", 0.8, -0.2, sq)
        assert abs(d.value[0] - val) < 1e-12
        np.testing.assert_allclose(d.grad[0], grad, atol=1e-12)
        np.testing.assert_allclose(d.hess[0], hess, atol=1e-12)


def test_auto_falls_back_to_quadrature_for_unconverged_series():
    # tanh at u -> 1: slowly decaying Hermite coefficients; "auto" recomputes those pairs,
    # on the 2-D rule where its a-priori error is negligible (r = 1.2), else by the
    # conditional rule (r = 2.5, beyond the reach of the 136 x 136 nodes); the others keep
    # the series
    x = np.array([[2.5, 0.3, 2.2, -0.2, 1.0], [0.8, 0.3, 0.7, -0.2, 0.4],
                  [1.2, 0.3, 1.1, -0.2, 1.0]]).T
    auto = two_point("tanh", "tanh", *x)
    quad = two_point("tanh", "tanh", *x, method="quadrature")
    cond = two_point("tanh", "tanh", *x, method="conditional")
    herm = two_point("tanh", "tanh", *x, method="hermite")
    for a, q, c, h in zip(auto, quad, cond, herm, strict=True):
        np.testing.assert_array_equal(a[0], c[0])
        np.testing.assert_array_equal(a[1], h[1])
        np.testing.assert_array_equal(a[2], q[2])
        np.testing.assert_allclose(a, c, atol=1e-13)


# ---------------------------------------------------------------- structure


@pytest.mark.parametrize(
    "f1, f2, method",
    [("relu", "relu", "auto"), ("sigmoid2", "normal_cdf", "auto"),
     ("softplus", "relu", "hermite"), ("tanh", "gelu", "quadrature")],
)
def test_swap_symmetry(f1, f2, method):
    x = np.array(_pair_points(np.random.default_rng(3), 5)).T
    d = two_point(f1, f2, *x, method=method)
    s = two_point(f2, f1, x[2], x[3], x[0], x[1], x[4], method=method)
    np.testing.assert_allclose(s.value, d.value, atol=1e-14)
    np.testing.assert_allclose(s.grad, d.grad[:, SWAP], atol=1e-13)
    np.testing.assert_allclose(s.hess, d.hess[:, SWAP][:, :, SWAP], atol=1e-12)
    np.testing.assert_array_equal(d.hess, d.hess.transpose(0, 2, 1))


@pytest.mark.parametrize("f1, f2", [("relu", "relu"), ("sigmoid2", "sigmoid2"),
                                    ("softplus", "tanh")])
def test_orders_and_shapes(f1, f2):
    x = np.array(_pair_points(np.random.default_rng(2), 3)).T
    d0, d1, d2 = (two_point(f1, f2, *x, order=k) for k in range(3))
    assert d0.grad is None and d1.hess is None and d2.hess.shape == (3, 5, 5)
    # (the Hermite series truncates by order, and may route a pair to the 2-D rule at one
    # order and not at another: equal to the accuracy of the methods, not bitwise)
    np.testing.assert_allclose(d0.value, d2.value, rtol=0, atol=1e-13)
    np.testing.assert_allclose(d1.grad, d2.grad, rtol=0, atol=1e-13)
    o = one_point(f1, [0.5, 1.0], 0.1, order=1)
    assert o.grad.shape == (2, 2) and o.hess is None
    e = two_point(f1, f2, [], [], [], [], [])
    assert e.value.shape == (0,) and e.grad.shape == (0, 5) and e.hess.shape == (0, 5, 5)
    with pytest.raises(ValueError):
        two_point(f1, f2, *x, order=3)
    with pytest.raises(ValueError, match="no closed form"):
        two_point("tanh", "relu", *x, method="closed_form")


# ---------------------------------------------------------------- degenerate points


def _all_finite(d):
    return all(np.all(np.isfinite(a)) for a in d if a is not None)


@pytest.mark.parametrize("f1, f2", [("relu", "relu"), ("sigmoid2", "normal_cdf"),
                                    ("softplus", "tanh"), ("relu", "gelu")])
def test_unit_correlation_is_the_one_dimensional_integral(f1, f2):
    """D = 1: u = +-1 for every pair; the value is a 1-D integral, all entries finite."""
    x, w = hermite_rule(600)
    for u in (1.0, -1.0):
        for r1, b1, r2, b2 in [(0.9, 0.3, 1.4, -0.5), (-0.6, 0.0, 0.8, 0.0)]:
            d = two_point(f1, f2, r1, b1, r2, b2, u)
            assert _all_finite(d)
            if "relu" in (f1, f2):
                z, wz = _pieces([-b1 / r1, -b2 / (r2 * u)])
                ref = np.sum(wz * _phi(z) * _derivs(f1, r1 * z + b1, 0)
                             * _derivs(f2, u * r2 * z + b2, 0))
            else:
                ref = w @ (_derivs(f1, r1 * x + b1, 0) * _derivs(f2, u * r2 * x + b2, 0))
            assert abs(d.value[0] - ref) < 1e-12
            near = two_point(f1, f2, r1, b1, r2, b2, u * (1 - 1e-13))
            np.testing.assert_allclose(d.grad, near.grad, atol=1e-6)


@pytest.mark.parametrize("f1, f2", [("relu", "relu"), ("sigmoid2", "sigmoid2"),
                                    ("normal_cdf", "sigmoid2"), ("relu", "softplus")])
def test_zero_norm_units(f1, f2):
    """r = 0 (one or both) with b != 0: smooth; equal to the limit r -> 0."""
    for r1, r2 in [(0.0, 1.1), (0.0, 0.0)]:
        x = np.array([r1, 0.7, r2, -0.4, 0.3])
        d = two_point(f1, f2, *x)
        assert _all_finite(d)
        for sign in (1, -1):
            y = x.copy()
            y[[0, 2]] += sign * 1e-9 * (x[[0, 2]] == 0)
            e = two_point(f1, f2, *y)
            assert abs(d.value[0] - e.value[0]) < 1e-8
            np.testing.assert_allclose(d.grad, e.grad, atol=1e-7)
            np.testing.assert_allclose(d.hess, e.hess, atol=1e-6)
        ref = _derivs(f1, np.array(0.7), 0) * one_point(f2, r2, -0.4).value[0]
        assert abs(d.value[0] - ref) < 1e-14


def test_relu_dead_unit_on_its_kink():
    """r = b = 0: the limit r -> 0+ along b = 0, with the divergent H_bb returned as 0."""
    x = np.array([0.0, 0.0, 1.2, 0.3, 0.6])
    d = two_point("relu", "relu", *x)
    ray = two_point("relu", "relu", 1e-12, 0.0, 1.2, 0.3, 0.6)
    assert _all_finite(d) and d.value[0] == 0.0
    np.testing.assert_allclose(d.grad, ray.grad, atol=1e-11)
    mask = np.ones((5, 5), bool)
    mask[1, 1] = False
    np.testing.assert_allclose(d.hess[0][mask], ray.hess[0][mask], atol=1e-11)
    assert d.hess[0, 1, 1] == 0.0
    for sq in (False, True):
        o, ray1 = one_point("relu", 0.0, 0.0, squared=sq), one_point("relu", 1e-12, 0.0, squared=sq)
        assert _all_finite(o)
        np.testing.assert_allclose(o.grad, ray1.grad, atol=1e-11)
    assert one_point("relu", 0.0, 0.0).hess[0, 1, 1] == 0.0


def test_normal_integral_node_table_matches_the_code():
    """The node counts in the table of :mod:`.quadrature`'s docstring are what it builds."""
    rows = re.findall(r"^(\d+)\s+(\d+)\s+([\d,]+)", quadrature.__doc__, flags=re.MULTILINE)
    assert len(rows) == 6
    for N, d, count in rows:
        assert len(NormalIntegral(N=int(N), d=int(d))) == int(count.replace(",", "")), (N, d)


def test_closed_form_registry_matches_the_declarations():
    """Every activation that declares ``closed_form`` has its one-point forms (E[f] and
    E[f^2]) and its pair with itself registered; nothing else registers."""
    declared = {n for n, a in ACTIVATIONS.items() if a.closed_form}
    reg = closed_forms.registered()
    assert declared == closed_forms.CLOSED_FORM_NAMES == {n for n, _ in reg["one_point"]}
    for name in declared:
        assert closed_forms.find_one_point(name) is not None
        assert closed_forms.find_one_point(name, squared=True) is not None
        assert closed_forms.find_pair(name, name) is not None
    assert {n for pair in reg["pair"] for n in pair} <= declared
    assert reg["coefficients"] <= declared
    with pytest.raises(ValueError, match="does not declare closed_form=True"):
        closed_forms.closed_form_pair("relu", "tanh")(lambda *a: None)
    with pytest.raises(ValueError, match="registered twice"):
        closed_forms.closed_form_one_point("relu")(lambda *a: None)
