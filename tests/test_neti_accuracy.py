r"""NetI and its Gaussian integrals at any weight scale, against independent references.

References (none uses the package's integration code; they integrate the defining
integrals with the activations' own f, f', f''):

* D = 1 (every cosine is +-1): loss, gradient and Hessian of a one-neuron student and
  teacher as one vector-valued adaptive integral over x ~ N(0, 1)
  (``scipy.integrate.quad_vec``, breakpoints at the kinks and at the edges of the
  activations' transition regions, each group scaled to O(1) so the tolerance applies to
  each; Dirac masses of relu'' and selu'' by conditioning on the kink);
* two-point expectations at |u| < 1 (the D >= 2 case): the moments
  E[f1^(a)(y1) z1^p f2^(k)(y2) zeta^q] by an adaptive outer integral over z1 and a dense
  composite Gauss–Legendre inner integral over z3, split where f2 changes;
* exact formulas: E[e^{rz+b}] = e^{b + r^2/2} (exp at w = 30 is finite and exact) and
  E[e^{y1}e^{y2}];
* D = 100: the same problem embedded in a random 2-D subspace (rotation invariance), and
  Monte Carlo with error bars; and finite differences of the loss at large weights.

Errors are relative to the size of each quantity, ||err||_inf / ||ref||_inf, for the loss,
the gradient and the Hessian separately; the target is 1e-10 (measured: about 1e-13 or
better, see benchmarks/results/neti.md). A case may instead raise an AccuracyWarning:
NetI's own error estimate then says it could not reach its tolerance.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from numpy.polynomial.legendre import leggauss
from scipy import integrate

import mlpgradientflow as mgf
from mlpgradientflow.activations import get_activation
from mlpgradientflow.gaussian import AccuracyWarning, one_point, two_point

TOL = 1e-10
POLY = mgf.Poly(0.2, -0.5, 0.3)
ACTS = ["identity", "relu", "softplus", "sigmoid", "tanh", "g", "gelu", "silu", "selu",
        "square", "cube", "exp", "sigmoid2", "normal_cdf", POLY]
WS = [0.1, 1.0, 3.0, 10.0, 30.0, 100.0, 1000.0]
JUMPS = {"relu": 1.0, "selu": 1.0507009873554805 * (1.0 - 1.6732632423543772)}
_GX, _GW = leggauss(20)


def _name(act):
    return act if isinstance(act, str) else act.name


def _phi(x):
    return np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def _fv(act, y):
    f = get_activation(act)
    y = np.asarray(y, dtype=float)
    with np.errstate(all="ignore"):
        return f(y), f.deriv(y), f.second_deriv(y)


def _breaks(w, b, lo, hi):
    """z where w z + b crosses 0 and the edges of the transition regions."""
    if w == 0:
        return []
    c = [(-b + s * e) / w for s in (-1, 1) for e in (0.0, 1.0, 5.0, 20.0, 46.0)]
    return [float(x) for x in c if lo < x < hi]


def _rel(mine, ref):
    mine, ref = np.asarray(mine, dtype=float), np.asarray(ref, dtype=float)
    return float(np.abs(mine - ref).max() / max(np.abs(ref).max(), 1e-300))


# ----------------------------------------------------------------- D = 1, the whole NetI


def _problem_1d(act, tact, w, sign=1.0):
    tl = [(1, tact, True), (1, "identity", True)]
    teacher = mgf.TeacherNet(tl, din=1, params=np.array([sign * 1.1 * w, 0.3, 0.8, 0.2]))
    neti = mgf.NetI(teacher, [(1, act, True), (1, "identity", True)])
    return neti, teacher, np.array([w, -0.4, 1.2, -0.1])


def _reference_1d(neti, teacher, p, scales):
    """(loss, gradient, Hessian) of E[(s(x) - t(x))^2], x ~ N(0, 1), by quad_vec; the
    parameter order of a 1-1 net with biases is (w, b, a, c)."""
    w, b, a, c = p
    wt, bt, at, ct = teacher.params
    f, ft = neti.f, teacher.net.layers[0].activation
    s0, s1, s2 = scales

    def integrand(x):
        # every term is a product of two factors: scale each by sqrt(phi(x)), which keeps
        # e^{w x} sqrt(phi) finite where e^{w x} alone overflows
        sq = math.sqrt(_phi(x))
        F, F1, F2 = (v * sq for v in _fv(f, w * x + b))
        e = a * F + (c - ct) * sq - at * _fv(ft, wt * x + bt)[0] * sq
        ds = np.array([a * F1 * x, a * F1, F, sq])
        d2 = np.zeros((4, 4))
        d2[0, 0], d2[0, 1], d2[1, 1] = a * F2 * x * x, a * F2 * x, a * F2
        d2[0, 2], d2[1, 2] = F1 * x, F1
        d2 = np.triu(d2) + np.triu(d2, 1).T
        H = 2 * (np.outer(ds, ds) + e * d2)
        return np.concatenate([[e * e / s0], 2 * e * ds / s1, H.ravel() / s2])

    lo, hi = -12.0, 12.0
    if "exp" in (_name(f), _name(ft)):  # e^{2 w x} phi(x) peaks at x = 2 w
        hi += 2 * max(abs(w), abs(wt))
        lo -= 2 * max(abs(w), abs(wt))
    pts = sorted(set(_breaks(w, b, lo, hi) + _breaks(wt, bt, lo, hi)
                     + ([2 * w, 2 * wt, w + wt] if "exp" in (_name(f), _name(ft)) else [])))
    pts = [x for x in pts if lo < x < hi]
    v, _ = integrate.quad_vec(integrand, lo, hi, points=pts or None, epsabs=1e-300,
                              epsrel=1e-14, limit=4000, norm="max")
    L, g, H = v[0] * s0, v[1:5] * s1, v[5:].reshape(4, 4) * s2
    if _name(f) in JUMPS and w != 0:  # J delta(w x + b) in f''
        x0 = -b / w
        dens = JUMPS[_name(f)] * _phi(x0) / abs(w)
        e0 = a * _fv(f, w * x0 + b)[0] + c - (at * _fv(ft, wt * x0 + bt)[0] + ct)
        m = 2 * e0 * a * dens
        H[0, 0] += m * x0 * x0
        H[0, 1] += m * x0
        H[1, 0] += m * x0
        H[1, 1] += m
    return L, g, H


def _check_against(neti, p, ref_fn, tol=TOL):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        L, g, H = neti.fgh(p)
    warned = any(issubclass(x.category, AccuracyWarning) for x in caught)
    scales = tuple(max(np.abs(x).max(), 1e-300) for x in (L, g, H))
    ref = ref_fn(scales)
    errs = [_rel(m, r) for m, r in zip((L, g, H), ref, strict=True)]
    if max(errs) > 1e-8:  # beyond NetI's default tolerance it must have said so
        assert warned, f"error {errs} without an AccuracyWarning"
    if not warned:
        assert max(errs) <= tol, f"loss/gradient/Hessian errors {errs}"
    return errs, warned


CASES_1D = [(act, act, w) for act in ACTS for w in WS
            if not (_name(act) == "exp" and w > 10)]  # E[e^{2y}] overflows beyond w ~ 18
MIXED = [("tanh", "relu"), ("softplus", "sigmoid2"), ("gelu", "exp"), ("cube", "tanh"),
         ("selu", "silu"), ("g", "normal_cdf"), (POLY, "softplus"), ("identity", "g"),
         ("relu", "selu"), ("exp", "sigmoid")]
CASES_1D += [(a, t, w) for a, t in MIXED for w in (1.0, 30.0, 1000.0)
             if not ("exp" in (a, t) and w > 10)]
CASES_1D += [("gelu", "exp", 10.0), ("exp", "sigmoid", 10.0)]


@pytest.mark.parametrize("act, tact, w", CASES_1D,
                         ids=[f"{_name(a)}-{_name(t)}-{w:g}" for a, t, w in CASES_1D])
def test_d1_loss_gradient_hessian_against_adaptive_quadrature(act, tact, w):
    sign = -1.0 if (len(_name(act)) + int(w)) % 2 else 1.0  # u = +1 and u = -1 both occur
    neti, teacher, p = _problem_1d(act, tact, w, sign)
    _check_against(neti, p, lambda s: _reference_1d(neti, teacher, p, s))


# ----------------------------------------------------------------- two-point, |u| < 1

_KEYS = [(0, 0, 0, 0), (1, 0, 0, 0), (1, 1, 0, 0), (0, 0, 1, 0), (0, 0, 1, 1), (1, 0, 1, 0),
         (2, 0, 0, 0), (2, 1, 0, 0), (2, 2, 0, 0), (1, 1, 1, 0), (1, 0, 1, 1), (1, 1, 1, 1),
         (0, 0, 2, 0), (0, 0, 2, 1), (0, 0, 2, 2), (2, 0, 1, 0), (2, 1, 1, 0), (1, 0, 2, 0),
         (1, 0, 2, 1), (2, 0, 2, 0)]


def _composite(edges, n):
    xs, ws = [], []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        if b > a:
            e = np.linspace(a, b, n + 1)
            c, d = e[:-1, None], e[1:, None]
            xs.append((0.5 * (d - c) * _GX + 0.5 * (d + c)).ravel())
            ws.append((0.5 * (d - c) * _GW).ravel())
    return np.concatenate(xs), np.concatenate(ws)


def _pair_reference(f1, f2, r1, b1, r2, b2, u):
    """(value, grad, hess) in (r1, b1, r2, b2, u), r1, r2 > 0, |u| < 1."""
    uc = math.sqrt((1 - u) * (1 + u))
    rho = r2 * uc

    def inner(z1):
        mu = b2 + r2 * u * z1
        cand = [(-mu + s * c) / rho for s in (-1, 1) for c in (0.0, 1.0, 5.0, 46.0)]
        t, w = _composite(np.unique(np.clip([-13.0, 13.0, *cand], -13.0, 13.0)), 60)
        w = w * _phi(t)
        zeta = u * z1 + uc * t
        out = {(k, q): np.dot(w, g * zeta**q) for k, g in enumerate(_fv(f2, mu + rho * t))
               for q in range(3)}
        if f2 in JUMPS:
            tz, dens = -mu / rho, JUMPS[f2] * _phi(mu / rho) / rho
            for q in range(3):
                out[(2, q)] += dens * (u * z1 + uc * tz) ** q
        return out

    def integrand(z1):
        F = _fv(f1, np.array([r1 * z1 + b1]))
        m = inner(z1)
        return np.array([F[a][0] * z1**p * m[(k, q)] for a, p, k, q in _KEYS]) * _phi(z1)

    pts = _breaks(r1, b1, -12, 12)
    pts += [(-b2 + s * c * max(rho, 1.0)) / (r2 * u) for s in (-1, 1)
            for c in (0.0, 1.0, 5.0, 46.0)]
    pts = sorted({x for x in pts if -12 < x < 12})
    e, _ = integrate.quad_vec(integrand, -12, 12, points=pts, epsabs=1e-300, epsrel=1e-13,
                              limit=4000)
    E = dict(zip(_KEYS, e, strict=True))
    if f1 in JUMPS:
        zeta, dens = -b1 / r1, JUMPS[f1] * _phi(b1 / r1) / r1
        m = inner(zeta)
        for a, p, k, q in _KEYS:
            if a == 2:
                E[(a, p, k, q)] += dens * zeta**p * m[(k, q)]
    q, rr = E[1, 0, 1, 0], r1 * r2
    grad = [E[1, 1, 0, 0], E[1, 0, 0, 0], E[0, 0, 1, 1], E[0, 0, 1, 0], rr * q]
    up = {(0, 0): E[2, 2, 0, 0], (0, 1): E[2, 1, 0, 0], (0, 2): E[1, 1, 1, 1],
          (0, 3): E[1, 1, 1, 0], (0, 4): r2 * q + rr * E[2, 1, 1, 0], (1, 1): E[2, 0, 0, 0],
          (1, 2): E[1, 0, 1, 1], (1, 3): q, (1, 4): rr * E[2, 0, 1, 0], (2, 2): E[0, 0, 2, 2],
          (2, 3): E[0, 0, 2, 1], (2, 4): r1 * q + rr * E[1, 0, 2, 1], (3, 3): E[0, 0, 2, 0],
          (3, 4): rr * E[1, 0, 2, 0], (4, 4): rr * rr * E[2, 0, 2, 0]}
    H = np.zeros((5, 5))
    for (i, j), v in up.items():
        H[i, j] = H[j, i] = v
    return E[0, 0, 0, 0], np.array(grad), H


PAIRS = [
    ("tanh", "tanh", 10.0, 0.4, 12.0, 1.0, 0.95),
    ("tanh", "tanh", 100.0, 0.4, 120.0, 1.0, 0.3),
    ("sigmoid", "silu", 30.0, 2.0, 20.0, -1.0, 0.999),
    ("softplus", "gelu", 3.0, 0.4, 1000.0, 1.0, 0.6),
    ("relu", "tanh", 1000.0, 0.3, 2.0, -0.5, 0.9999),
    ("selu", "softplus", 3.0, -0.3, 100.0, 0.5, -0.97),
    ("g", "tanh", 1000.0, 0.3, 800.0, -0.2, 0.99999),
    ("gelu", "sigmoid2", 30.0, 0.3, 10.0, -0.2, -0.7),
    ("cube", "sigmoid", 30.0, 0.3, 100.0, -0.2, 0.97),
    ("silu", "silu", 0.1, 0.3, 1.0, -0.2, 0.99),
]


@pytest.mark.parametrize("case", PAIRS, ids=[f"{c[0]}-{c[1]}-{c[2]:g}-{c[6]:g}" for c in PAIRS])
def test_two_point_against_adaptive_quadrature(case):
    d, err = two_point(*case, return_error=True)
    v, g, H = _pair_reference(*case)
    scale = max(abs(v), np.abs(g).max(), np.abs(H).max())
    for mine, ref in ((d.value[0], v), (d.grad[0], g), (d.hess[0], H)):
        assert np.abs(mine - ref).max() <= TOL * scale
    assert err.max() <= 1e-12 * scale  # and it knows


@pytest.mark.parametrize("act", ["softplus", "sigmoid", "tanh", "g", "gelu", "silu", "selu"])
def test_one_point_large_scale_exact_tails(act):
    """E[f(rz + b)] at r = 1e3: the activation is its asymptote except within |y| < 46, so
    E[f] = E[A(y)] + O(46/r) corrections; compare with adaptive quadrature in y."""
    r, b = 1000.0, 0.7
    d = one_point(act, r, b, squared=True)

    def integrand(y):
        F, F1, F2 = _fv(act, y)
        z = (y - b) / r
        g0, g1, g2 = F * F, 2 * F * F1, 2 * (F1 * F1 + F * F2)
        return np.array([g0, g1 * z, g1, g2 * z * z, g2 * z, g2]) * _phi(z) / r

    pts = [-46.0, -20.0, -5.0, 0.0, 5.0, 20.0, 46.0, b]
    v, _ = integrate.quad_vec(integrand, b - 12 * r, b + 12 * r, points=pts, epsabs=1e-300,
                              epsrel=1e-14, limit=2000, norm="max")
    mine = [d.value[0], d.grad[0, 0], d.grad[0, 1], d.hess[0, 0, 0], d.hess[0, 0, 1],
            d.hess[0, 1, 1]]
    assert _rel(mine, v) <= TOL


# ----------------------------------------------------------------- exp, overflow


def test_exp_is_exact_and_finite_at_w_30():
    d = one_point("exp", 30.0, 0.0)
    assert d.value[0] == math.exp(450.0) and np.isfinite(d.hess).all()
    assert d.grad[0, 0] == pytest.approx(30 * math.exp(450.0), rel=1e-15)
    e = two_point("exp", "exp", 30.0, 0.5, 20.0, -0.5, -0.7)
    S = 0.5 * (900 + 400 - 2 * 0.7 * 600)
    assert e.value[0] == pytest.approx(math.exp(S), rel=1e-14)
    assert e.grad[0, 4] == pytest.approx(600 * math.exp(S), rel=1e-14)
    # exp x tanh by tilting: e^{r^2/2} E[tanh(r2 z + b2 + u r1 r2)]
    t = two_point("exp", "tanh", 30.0, 0.0, 2.0, 0.1, 0.5)
    ref = math.exp(450.0) * one_point("tanh", 2.0, 0.1 + 30.0).value[0]
    assert t.value[0] == pytest.approx(ref, rel=1e-14)


def test_exp_neti_large_but_finite_and_overflow():
    teacher = mgf.TeacherNet([(1, "exp", False), (1, "identity", False)], din=1,
                             params=np.array([9.0, 0.5]))
    neti = mgf.NetI(teacher, [(1, "exp", False), (1, "identity", False)])
    p = np.array([18.0, 0.3])
    L, g, H = neti.fgh(p)
    # E[(a e^{wx} - a* e^{w* x})^2] = a^2 e^{2w^2} - 2 a a* e^{(w + w*)^2/2} + a*^2 e^{2 w*^2}
    ref = 0.09 * math.exp(648.0) - 0.3 * math.exp(364.5) + 0.25 * math.exp(162.0)
    assert L == pytest.approx(ref, rel=1e-13) and np.isfinite(H).all()
    assert g[1] == pytest.approx(2 * 0.3 * math.exp(648.0) - 0.5 * math.exp(364.5), rel=1e-13)
    with pytest.raises(mgf.NonFiniteError, match="float64"):
        neti.loss(np.array([30.0, 0.3]))  # E[e^{60 x}] = e^{1800}: beyond float64


# ----------------------------------------------------------------- D = 2 and D = 100


def _net(act, tact, din, k, m, scale, seed):
    rng = np.random.default_rng(seed)
    tl = [(m, tact, True), (1, "identity", True)]
    teacher = mgf.TeacherNet(tl, din=din, params=rng.standard_normal(mgf.Net(tl, din=din).nparams))
    Wt = teacher.net.unflatten(teacher.params)[0]
    Wt[:, :din] *= scale / np.linalg.norm(Wt[:, :din], axis=1, keepdims=True)
    neti = mgf.NetI(teacher, [(k, act, True), (1, "identity", True)])
    p = neti.random_params(rng)
    W = neti.unflatten(p)[0]
    W[:, :din] *= scale * rng.uniform(0.5, 1.5, (k, 1)) / np.linalg.norm(W[:, :din], axis=1,
                                                                         keepdims=True)
    return neti, teacher, p


@pytest.mark.parametrize("act, scale", [("tanh", 30.0), ("softplus", 100.0), ("gelu", 10.0)])
def test_gradient_and_hessian_match_finite_differences_at_large_weights(act, scale):
    neti, _, p = _net(act, act, 2, 2, 2, scale, 3)
    g, H = neti.gradient(p), neti.hessian(p)
    h = 1e-6 * np.maximum(1.0, np.abs(p))
    fd_g = np.array([(neti.loss(p + h[i] * e) - neti.loss(p - h[i] * e)) / (2 * h[i])
                     for i, e in enumerate(np.eye(len(p)))])
    fd_H = np.array([(neti.gradient(p + h[i] * e) - neti.gradient(p - h[i] * e)) / (2 * h[i])
                     for i, e in enumerate(np.eye(len(p)))])
    assert _rel(g, fd_g) < 1e-6 and _rel(H, fd_H) < 1e-6


def test_d2_loss_against_two_dimensional_quadrature():
    """One student and one teacher neuron in D = 2 at |w| = 50, |cos| = 0.9."""
    teacher = mgf.TeacherNet([(1, "tanh", True), (1, "identity", True)], din=2,
                             params=np.array([50 * 0.9, 50 * math.sqrt(0.19), 0.3, 0.8, 0.2]))
    neti = mgf.NetI(teacher, [(1, "softplus", True), (1, "identity", True)])
    p = np.array([40.0, 0.0, -0.4, 1.2, -0.1])

    def inner(x1):  # the teacher depends on x2, the student does not
        s = 1.2 * _fv("softplus", 40 * x1 - 0.4)[0] - 0.1
        pts = _breaks(50 * math.sqrt(0.19), 45 * x1 + 0.3, -12, 12)
        val, _ = integrate.quad(lambda x2: (s - 0.8 * math.tanh(45 * x1 + 50 * math.sqrt(0.19)
                                                                     * x2 + 0.3) - 0.2) ** 2
                                * _phi(x2), -12, 12, points=pts or None, epsabs=0,
                                epsrel=1e-13, limit=500)
        return val * _phi(x1)

    ref, _ = integrate.quad(inner, -12, 12, points=_breaks(40, -0.4, -12, 12), epsabs=0,
                            epsrel=1e-12, limit=500)
    assert neti.loss(p) == pytest.approx(ref, rel=TOL)


def test_d100_embedding_and_monte_carlo():
    """A D = 100 problem whose weights span a random 2-D subspace equals the D = 2 problem
    (loss, gradient rotated back, Hessian in the subspace); a random D = 100 problem agrees
    with Monte Carlo within its error bars."""
    neti2, teacher2, p2 = _net("tanh", "gelu", 2, 2, 2, 30.0, 5)
    Q = np.linalg.qr(np.random.default_rng(0).standard_normal((100, 2)))[0]  # 100 x 2

    def embed(net, p):  # linear in p
        big = mgf.Net([(net.layers[0].width, net.layers[0].activation, True),
                       (1, "identity", True)], din=100)
        out = np.zeros(big.nparams)
        M1, M2 = net.unflatten(np.asarray(p, dtype=float))
        B1, B2 = big.unflatten(out)
        B1[:, :100], B1[:, 100], B2[...] = M1[:, :2] @ Q.T, M1[:, 2], M2
        return out

    tp = embed(teacher2.net, teacher2.params)
    teacher = mgf.TeacherNet([(2, "gelu", True), (1, "identity", True)], din=100, params=tp)
    neti = mgf.NetI(teacher, [(2, "tanh", True), (1, "identity", True)])
    p = embed(neti2.student, p2)
    L2, g2, H2 = neti2.fgh(p2)
    L, g, H = neti.fgh(p)
    assert L == pytest.approx(L2, rel=1e-12)
    # gradient: the w-blocks rotate with Q, the scalars are the same
    M1, M2 = neti.unflatten(g)
    N1, N2 = neti2.unflatten(g2)
    assert _rel(M1[:, :100] @ Q, N1[:, :2]) < 1e-12 and _rel(M1[:, 100], N1[:, 2]) < 1e-12
    assert _rel(M2, N2) < 1e-12
    assert np.linalg.norm(M1[:, :100] - M1[:, :100] @ Q @ Q.T) < 1e-12 * np.abs(g).max()
    # Hessian: the quadratic form along embedded directions is the D = 2 form
    V2 = np.random.default_rng(1).standard_normal((len(p2), 3))
    V = np.column_stack([embed(neti2.student, v) for v in V2.T])
    assert _rel(V.T @ H @ V, V2.T @ H2 @ V2) < 1e-11
    # random directions in D = 100: Monte Carlo
    neti, teacher, p = _net("softplus", "softplus", 100, 3, 2, 3.0, 7)
    X = np.random.default_rng(2).standard_normal((200_000, 100))
    net = mgf.Net([(3, "softplus", True), (1, "identity", True)], din=100)
    e2 = (net(p, X)[:, 0] - teacher(X)[:, 0]) ** 2
    assert abs(neti.loss(p) - e2.mean()) < 5 * e2.std() / math.sqrt(len(e2))


# ----------------------------------------------------------------- honesty


def test_custom_activation_at_large_scale_warns():
    """An activation without a profile is integrated by Gauss–Hermite, which cannot see a
    transition of width 1/30: NetI estimates its error (rules of N and N/2 nodes) and
    warns."""
    mytanh = mgf.Activation(np.tanh, lambda x: 1 / np.cosh(x) ** 2,
                            lambda x: -2 * np.tanh(x) / np.cosh(x) ** 2, name="mytanh")
    teacher = mgf.TeacherNet([(1, mytanh, True), (1, "identity", True)], din=1,
                             params=np.array([33.0, 0.3, 0.8, 0.2]))
    neti = mgf.NetI(teacher, [(1, mytanh, True), (1, "identity", True)])
    with pytest.warns(AccuracyWarning, match="estimated relative error"):
        neti.fgh(np.array([30.0, -0.4, 1.2, -0.1]))
    assert neti.last_error_estimate["loss"] > 1e-8
    # at small weights the same activation is fine, and says so
    teacher = mgf.TeacherNet([(1, mytanh, True), (1, "identity", True)], din=1,
                             params=np.array([1.1, 0.3, 0.8, 0.2]))
    neti = mgf.NetI(teacher, [(1, mytanh, True), (1, "identity", True)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        neti.fgh(np.array([1.0, -0.4, 1.2, -0.1]))
    assert neti.last_error_estimate["hessian"] < 1e-10


def test_error_estimate_and_tolerance():
    neti, _, p = _net("tanh", "tanh", 3, 3, 2, 1.0, 0)
    neti.fgh(p)
    est = neti.last_error_estimate
    assert set(est) >= {"loss", "gradient", "hessian"} and max(est.values()) < 1e-10
    strict = mgf.NetI(neti.teacher, [(3, "tanh", True), (1, "identity", True)], tol=1e-30)
    with pytest.warns(AccuracyWarning):  # Gauss–Hermite's rounding floor is above 1e-30
        strict.loss(p)
    with pytest.raises(ValueError, match="tol"):
        mgf.NetI(neti.teacher, [(3, "tanh", True), (1, "identity", True)], tol=0)


def test_gauss_hermite_net_warns_beyond_its_resolution():
    teacher = mgf.TeacherNet([(2, "tanh", True), (1, "identity", True)], din=1,
                             params=np.array([10.0, -12.0, 0.3, 0.1, 0.8, -0.5, 0.2]))
    with pytest.warns(AccuracyWarning, match="gauss_hermite_net"):
        gh = mgf.gauss_hermite_net(teacher, [(2, "tanh", True), (1, "identity", True)], din=1)
    assert gh.quadrature_error > 1e-8
    small = mgf.TeacherNet([(2, "tanh", True), (1, "identity", True)], din=1,
                           params=np.array([1.0, -1.2, 0.3, 0.1, 0.8, -0.5, 0.2]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gh = mgf.gauss_hermite_net(small, [(2, "tanh", True), (1, "identity", True)], din=1)
    assert gh.quadrature_error < 1e-12
