"""Flat channels (Martinelli et al. 2025): GLU limit, jump procedure, detection, saddle lines.

Oracles: the reparametrisation's inverse, the Taylor term f2 with the closed-form third
derivative of erf, the exact Hessian of the net with a duplicated neuron, finite
differences of the loss, exact population losses (NetI) against two quadratures, and
trained networks of the paper's toy (methods.md (c.2))."""

import numpy as np
import pytest
from scipy import optimize, special

import mlpgradientflow as mgf
from mlpgradientflow.landscape import morse_index
from mlpgradientflow.theory import channels as ch

SQ2 = np.sqrt(2.0)


def erf_derivs(z):
    """sigma = erf(z/sqrt2) and its first three derivatives (closed forms)."""
    d1 = np.sqrt(2 / np.pi) * np.exp(-z * z / 2)
    return special.erf(z / SQ2), d1, -z * d1, (z * z - 1) * d1


def random_net(act="softplus", bias=True, dout=1, width=4, din=3, n=200, seed=0, weights=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, din))
    Y = np.sin(X @ rng.standard_normal((din, dout)))
    w = rng.uniform(0.5, 2.0, n) if weights else None
    return mgf.Net([(width, act, bias), (dout, "identity", True)], input=X, target=Y, weights=w)


def index_views(net):
    """Per-layer integer views of the flat positions: which entry of p is which."""
    return [m.astype(int) for m in net.unflatten(np.arange(net.nparams, dtype=float))]


def random_glu(net, rng):
    k, dout = net.shapes[0][1], net.dout
    d = rng.standard_normal(k)
    return {
        "w": rng.standard_normal(k),
        "delta": d / np.linalg.norm(d),
        "a": rng.standard_normal(dout),
        "c": rng.standard_normal(dout),
    }


# -- the toy of methods.md (c.2): x ~ N(0, 1), erf, target erf(5x+2.5) + erf(5x-2.5) -------
def toy_target(X):
    return special.erf((5 * X + 2.5) / SQ2) + special.erf((5 * X - 2.5) / SQ2)


@pytest.fixture(scope="module")
def toy():
    return mgf.gauss_hermite_net(toy_target, [(2, "erf", False), (1, "identity", False)], din=1)


def limit_profile(net, w):
    """The toy's limit loss l(w, 0) = min_{c, v} E[(c s(wx) + v x s'(wx) - f)^2]."""
    return ch.glu_readout(net.input, net.target, [w], "erf", weights=net.weights)


@pytest.fixture(scope="module")
def toy_critical(toy):
    """Critical points of l(w, 0) on w > 0: sign changes on a grid, refined."""
    ws = np.linspace(0.05, 6.0, 600)
    L = np.array([limit_profile(toy, w)["loss"] for w in ws])
    turns = np.flatnonzero(np.diff(np.sign(np.diff(L)))) + 1
    out = []
    for t in turns:
        kind = "min" if L[t] < L[t - 1] else "max"
        sgn = 1 if kind == "min" else -1
        w = optimize.minimize_scalar(
            lambda w, s=sgn: s * limit_profile(toy, w)["loss"],
            bounds=(ws[t - 1], ws[t + 1]),
            method="bounded",
            options={"xatol": 1e-10},
        ).x
        out.append((kind, w, limit_profile(toy, w)))
    return out


def toy_h(net, w, c, v):
    """h = <f2 * 2 (f0 - y)> with Delta = 1, a = v (Din = 1, no bias): closed form."""
    x, y, om = net.input[:, 0], net.target[:, 0], net.weights / net.n_samples
    s0, s1, s2, s3 = erf_derivs(w * x)
    f0 = c * s0 + v * x * s1
    f2 = c / 2 * x**2 * s2 + v / 6 * x**3 * s3
    return float(om @ (f2 * 2 * (f0 - y)))


# -- the reparametrisation ----------------------------------------------------------------------
@pytest.mark.parametrize("act,bias,dout", [("softplus", True, 1), ("tanh", False, 2)])
def test_glu_limit_and_place_on_channel_are_inverse(act, bias, dout):
    net = random_net(act, bias, dout)
    rng = np.random.default_rng(1)
    p = net.random_params(2)
    g = ch.glu_limit(net, p, 1, 3)
    np.testing.assert_allclose(ch.place_on_channel(net, p, 1, 3, g, g["eps"]), p, atol=1e-14)
    glu, eps = random_glu(net, rng), 0.037
    q = ch.place_on_channel(net, p, 0, 2, glu, eps)
    back = ch.glu_limit(net, q, 0, 2)
    for key in ("w", "delta", "a", "c"):
        np.testing.assert_allclose(back[key], glu[key], rtol=1e-12, atol=1e-14)
    assert back["eps"] == pytest.approx(eps, rel=1e-13)
    M1, M2 = net.unflatten(q)
    np.testing.assert_allclose(back["v"], 0.5 * np.outer(M2[:, 0] - M2[:, 2], M1[0] - M1[2]))
    others = np.ones(net.nparams, bool)
    ix1, ix2 = index_views(net)
    others[ix1[[0, 2]].ravel()] = False
    others[ix2[:, [0, 2]].ravel()] = False
    np.testing.assert_array_equal(q[others], p[others])


def test_bad_input_raises():
    net = random_net()
    p = net.random_params(0)
    glu = ch.glu_limit(net, p, 0, 1)
    dup = p.copy()
    net.unflatten(dup)[0][1] = net.unflatten(dup)[0][0]
    with pytest.raises(ValueError, match="identical incoming"):
        ch.glu_limit(net, dup, 0, 1)
    with pytest.raises(ValueError, match="`j`"):
        ch.glu_limit(net, p, 0, 4)
    with pytest.raises(ValueError, match="two different"):
        ch.jump(net, p, 2, 2)
    with pytest.raises(ValueError, match="`eps`"):
        ch.place_on_channel(net, p, 0, 1, glu, -1.0)
    with pytest.raises(ValueError, match="unit norm"):
        ch.place_on_channel(net, p, 0, 1, {**glu, "delta": 2 * glu["delta"]}, 0.1)
    with pytest.raises(ValueError, match="'c'"):
        ch.place_on_channel(net, p, 0, 1, {**glu, "c": [1.0, 2.0]}, 0.1)
    with pytest.raises(ValueError, match="`factor`"):
        ch.jump(net, p, 0, 1, factor=0)
    with pytest.raises(ValueError, match="not odd"):
        ch.flip_sign(net, p, 0)
    deep = mgf.Net([(3, "tanh", True), (2, "tanh", True), (1, "identity", True)], din=2)
    with pytest.raises(ValueError, match="one hidden layer"):
        ch.find_channels(deep, deep.random_params(0))
    with pytest.raises(ValueError, match="bound input"):
        ch.limit_loss(
            mgf.Net([(2, "tanh", True), (1, "identity", True)], din=2), np.ones(9), [(0, 1)]
        )
    with pytest.raises(ValueError, match="columns"):
        ch.glu_forward(
            {"w": [1.0, 2.0, 3.0], "c": [1.0], "v": [[1.0, 1.0, 1.0]]}, np.ones((4, 1)), "erf"
        )


# -- the limit function and the rate eps^2 -------------------------------------------------------
def test_network_converges_to_glu_limit_like_eps_squared():
    """(f_eps - f_0) / eps^2 -> f2 = c/2 s^2 sigma'' + a/6 s^3 sigma''' (erf, closed form)."""
    net = random_net("erf", True, dout=2, width=3, din=2)
    rng = np.random.default_rng(3)
    p, glu = net.random_params(4), random_glu(net, rng)
    X = rng.standard_normal((300, 2))
    Xt = np.column_stack([X, np.ones(len(X))])
    _, _, s2, s3 = erf_derivs(Xt @ glu["w"])
    s = Xt @ glu["delta"]
    f2 = np.outer(s**2 * s2 / 2, glu["c"]) + np.outer(s**3 * s3 / 6, glu["a"])
    errs, remainders = [], []
    for eps in 0.2 / 2.0 ** np.arange(5):
        q = ch.place_on_channel(net, p, 0, 2, glu, eps)
        diff = net(q, X) - ch.limit_forward(net, q, [(0, 2)], X)
        errs.append(np.abs(diff).max())
        remainders.append(np.abs(diff / eps**2 - f2).max())
    slope = np.polyfit(np.log(0.2 / 2.0 ** np.arange(5)), np.log(errs), 1)[0]
    assert slope == pytest.approx(2.0, abs=0.02)
    # the remainder is O(eps^2): it shrinks fourfold per halving
    np.testing.assert_allclose(np.array(remainders[:-1]) / remainders[1:], 4.0, rtol=0.05)


def test_limit_forward_and_limit_loss_match_direct_formulas():
    net = random_net("softplus", True, dout=1, width=4, din=2, weights=True)
    p = net.random_params(5)
    q = ch.place_on_channel(net, p, 1, 3, random_glu(net, np.random.default_rng(6)), 0.3)
    g = ch.glu_limit(net, q, 1, 3)
    M1, M2 = net.unflatten(q)
    Xt = np.column_stack([net.input, np.ones(net.n_samples)])
    sp = mgf.activations.get_activation("softplus")
    z = Xt @ M1.T
    f0 = sp(z[:, [0, 2]]) @ M2[:, [0, 2]].T + M2[:, -1]
    zg = Xt @ g["w"]
    f0 += np.outer(sp(zg), g["c"]) + np.outer((Xt @ g["delta"]) * sp.deriv(zg), g["a"])
    np.testing.assert_allclose(ch.limit_forward(net, q, [(1, 3)]), f0, rtol=1e-12, atol=1e-13)
    direct = np.mean(net.weights * ((f0 - net.target) ** 2).sum(axis=1))
    assert ch.limit_loss(net, q, [(1, 3)]) == pytest.approx(direct, rel=1e-12)


def test_glu_readout_is_least_squares():
    rng = np.random.default_rng(7)
    X, w = rng.standard_normal((80, 2)), np.array([0.7, -0.4, 0.2])
    true = {"w": w, "c": [0.5, -1.0], "v": [[1.0, 2.0, -0.5], [0.3, 0.0, 1.0]]}
    Y = ch.glu_forward(true, X, "gelu")
    fit = ch.glu_readout(X, Y, w, "gelu")
    np.testing.assert_allclose(fit["c"], true["c"], atol=1e-10)
    np.testing.assert_allclose(fit["v"], true["v"], atol=1e-10)
    noisy = Y + 0.1 * rng.standard_normal(Y.shape)
    fit = ch.glu_readout(X, noisy, w, "gelu")
    base = fit["loss"]
    for _ in range(5):  # any other readout is worse
        other = {"w": w, "c": fit["c"] + 0.01 * rng.standard_normal(2), "v": fit["v"]}
        assert np.mean(((ch.glu_forward(other, X, "gelu") - noisy) ** 2).sum(1)) > base


# -- the toy (methods.md c.2) --------------------------------------------------------------------
def test_toy_population_loss_three_ways(toy):
    """Gauss-Hermite net, the paper's 200 001-point trapezoid and the exact NetI agree."""
    teacher = mgf.TeacherNet(
        [(2, "erf", True), (1, "identity", False)], din=1, params=[5, 2.5, 5, -2.5, 1, 1]
    )
    neti = mgf.NetI(teacher, [(2, "erf", False), (1, "identity", False)])
    x = np.linspace(-12, 12, 200_001)
    # the step is 24/200000 exactly (x[1] - x[0] carries a 1e-11 rounding error)
    w = np.full(x.size, 24 / (x.size - 1)) * np.exp(-x * x / 2) / np.sqrt(2 * np.pi)
    w[[0, -1]] /= 2
    trap = mgf.Net(toy.layers, input=x[:, None], target=toy_target(x[:, None]), weights=w * x.size)
    for p in (np.array([0.7, -1.3, 0.4, 2.2]), np.array([3.1, 3.2, 80.0, -79.0])):
        reference = trap.loss(p)  # agrees with a 30-digit mpmath quadrature to 1e-16
        assert toy.loss(p) == pytest.approx(reference, rel=1e-12)
        # NetI sums O(a^2) expectations that cancel: ~1e-12 relative at |a| = 80
        assert neti.loss(p) == pytest.approx(reference, rel=3e-12)


def test_toy_limit_loss_has_three_critical_points(toy, toy_critical):
    """Two minima (channel 1, channel 2) around the single-neuron maximum (v = 0); channel 2
    is the global infimum; h > 0 at both minima; the best single neuron is the maximum
    and its duplication line is a plateau of minima (B > 0)."""
    assert [k for k, _, _ in toy_critical] == ["min", "max", "min"]
    (_, w1, ch1), (_, wm, top), (_, w2, ch2) = toy_critical
    assert abs(top["v"][0, 0]) < 1e-6
    assert ch2["loss"] < ch1["loss"] < top["loss"]
    for w, r in ((w1, ch1), (w2, ch2)):
        assert toy_h(toy, w, r["c"][0], r["v"][0, 0]) > 0
    one = mgf.gauss_hermite_net(toy_target, [(1, "erf", False), (1, "identity", False)], din=1)
    runs = [
        mgf.train(one, one.random_params(k), verbosity=0)
        for k in range(3)
    ]
    best = min(runs, key=lambda r: r.loss)
    assert abs(best.x[0]) == pytest.approx(wm, abs=1e-6)
    assert best.loss == pytest.approx(top["loss"], rel=1e-10)
    st = ch.saddle_line_stability(one, best.x, 0)
    assert st["verdict"] == "plateau of minima" and st["B"][0, 0] > 0


def channel_point(toy, critical, index, eps):
    _, w, r = critical[index]
    glu = {"w": [w], "delta": [1.0], "a": r["v"][0], "c": r["c"]}
    return ch.place_on_channel(toy, np.zeros(4), 0, 1, glu, eps), r["loss"], w, r


def test_jump_keeps_the_limit_and_scales_loss_and_sharpness(toy, toy_critical):
    """Along the channel-2 line: l - l0 ~ h eps^2 and lambda_max ~ 1/eps^2 (methods.md c.2)."""
    p, l0, w, r = channel_point(toy, toy_critical, 2, 0.1)
    g0, f0 = ch.glu_limit(toy, p, 0, 1), ch.limit_forward(toy, p, [(0, 1)])
    assert ch.limit_loss(toy, p, [(0, 1)]) == pytest.approx(l0, rel=1e-12)
    eps, gap, sharp = [], [], []
    for _ in range(8):
        p = ch.jump(toy, p, 0, 1, 2.0)
        g = ch.glu_limit(toy, p, 0, 1)
        # w_i - w_j is stored to ulp(w) ~ 4e-16, so eps and a carry ~1e-15/eps relative error
        tol = 1e-14 / g["eps"]
        for key in ("w", "delta", "a", "c"):
            np.testing.assert_allclose(g[key], g0[key], rtol=tol)
        np.testing.assert_allclose(ch.limit_forward(toy, p, [(0, 1)]), f0, rtol=tol, atol=tol)
        eps.append(g["eps"])
        gap.append(toy.loss(p) - l0)
        sharp.append(np.linalg.eigvalsh(toy.hessian(p))[-1])
    np.testing.assert_allclose(eps, 0.1 / 2.0 ** np.arange(1, 9), rtol=1e-12)
    small = slice(2, None)
    assert np.polyfit(np.log(eps[small]), np.log(gap[small]), 1)[0] == pytest.approx(2, abs=0.01)
    assert np.polyfit(np.log(eps[small]), np.log(sharp[small]), 1)[0] == pytest.approx(-2, abs=0.01)
    h = toy_h(toy, w, r["c"][0], r["v"][0, 0])
    assert gap[-1] / eps[-1] ** 2 == pytest.approx(h, rel=1e-3)


def test_gradient_flow_drifts_into_a_channel(toy, toy_critical):
    """From a seed of the toy, gradient flow runs into channel 2: found with the trajectory
    criterion, GLU gate at the channel-2 minimum, loss above its limit (nothing below it)."""
    p0 = np.random.default_rng(0).standard_normal((4, 4))[3] * np.array([2, 2, 1, 1])
    res = mgf.train(toy, p0, maxiterations_ode=1000, maxiterations_optim=0, verbosity=0,
                    stop_on_channel=False)  # follow the channel to the end of the budget
    assert res.ode_stopped_by == "maxiterations ≥ 1000" and res.end_state.kind == "channel"
    assert res.end_state.channel.limit_loss == pytest.approx(toy_critical[2][2]["loss"], rel=1e-3)
    found = ch.find_channels(toy, res.x, res)
    assert [c["neurons"] for c in found] == [(0, 1)]
    assert found[0]["late_update_fraction"] > 0.9
    p = res.x if found[0]["signs"][1] == 1 else ch.flip_sign(toy, res.x, 1)
    np.testing.assert_allclose(toy(p), toy(res.x), atol=1e-12)
    g = ch.glu_limit(toy, p, 0, 1)
    _, w2, ch2 = toy_critical[2]
    assert abs(g["w"][0]) == pytest.approx(w2, rel=1e-2)
    assert ch2["loss"] < res.loss < ch2["loss"] * (1 + 1e-3)


# -- detection ---------------------------------------------------------------------------------
def test_find_channels_planted_generic_and_saddle_line():
    net = random_net("softplus", True, dout=1, width=5, din=3)
    p = net.random_params(8)
    assert ch.find_channels(net, p) == []
    glu = random_glu(net, np.random.default_rng(9))
    q = ch.place_on_channel(net, p, 1, 3, glu, 1e-3)
    (found,) = ch.find_channels(net, q)
    assert found["neurons"] == (1, 3) and found["signs"] == (1, 1)
    assert found["eps"] == pytest.approx(1e-3, rel=1e-10)
    assert found["late_update_fraction"] is None
    M2 = net.unflatten(q)[1]
    assert found["outgoing_norm"] == pytest.approx(abs(M2[0, 1]) + abs(M2[0, 3]))
    assert ch.find_channels(net, q, min_outgoing_norm=2 * found["outgoing_norm"]) == []
    # a duplicated neuron with split outgoing weight (a saddle line): not a channel
    dup = p.copy()
    M1, M2 = net.unflatten(dup)
    M1[3], M2[0, 1], M2[0, 3] = M1[1], 0.3 * M2[0, 1], 0.7 * M2[0, 1]
    assert ch.find_channels(net, dup) == []
    M2[0, 1], M2[0, 3] = 300.0, 200.0  # large but of one sign: not a channel either
    assert ch.find_channels(net, dup) == []
    M2[0, 3] = -200.0
    assert [c["neurons"] for c in ch.find_channels(net, dup)] == [(1, 3)]


def test_find_channels_groups_three_neurons_and_odd_signs():
    net = random_net("tanh", False, dout=1, width=5, din=3)
    p = net.random_params(10)
    M1, M2 = net.unflatten(p)
    w = np.array([1.0, -0.5, 0.8])
    M1[0], M1[2], M1[4] = w, w + [1e-3, 0, 0], w + [0, 2e-3, 0]
    M2[0, [0, 2, 4]] = [400.0, -300.0, -100.0]
    (found,) = ch.find_channels(net, p)
    assert found["neurons"] == (0, 2, 4) and found["outgoing_norm"] == pytest.approx(800.0)
    q = ch.flip_sign(net, p, 2)  # tanh is odd: the same network, neuron 2 at -w
    np.testing.assert_allclose(net(q), net(p), atol=1e-12)
    (found,) = ch.find_channels(net, q)
    assert found["neurons"] == (0, 2, 4) and found["signs"] == (1, -1, 1)
    # without the sign symmetry neuron 2 (now at -w) drops out of the group
    assert [c["neurons"] for c in ch.find_channels(net, q, signs=False)] == [(0, 4)]


def test_late_update_fraction_measures_the_angle_to_the_channel_subspace():
    net = random_net("softplus", True, dout=2, width=4, din=3)
    p = ch.place_on_channel(
        net, net.random_params(11), 0, 1, random_glu(net, np.random.default_rng(12)), 1e-3
    )
    ix = index_views(net)
    M1 = net.unflatten(p)[0]
    # subspace of neurons (2, 3): their outgoing weights, and w_2 moving along w_3
    inside = np.zeros(net.nparams)
    inside[ix[1][:, [2, 3]].ravel()] = [1.0, -2.0, 0.5, 1.5]
    inside[ix[0][2]] = 0.3 * M1[3]
    # outside: neuron 0's outgoing weight, and w_3 along a normal of span{w_2, w_3}
    outside = np.zeros(net.nparams)
    outside[ix[1][0, 0]] = 1.0
    outside[ix[0][3]] = np.linalg.svd(M1[[2, 3]])[2][-1]
    inside, outside = inside / np.linalg.norm(inside), outside / np.linalg.norm(outside)
    for phi in (0.0, 0.4, 1.2):
        step = 1e-8 * (np.cos(phi) * inside + np.sin(phi) * outside)
        path = p + np.arange(60)[:, None] * step
        frac = ch.late_update_fraction(net, path, [2, 3])
        assert frac == pytest.approx(np.cos(phi), abs=1e-6)
    # the planted channel (0, 1) whose late updates move other neurons: rejected with `res`
    others = np.zeros(net.nparams)
    others[ix[0][3]], others[ix[1][:, 2]] = 1.0, -1.0
    late_out = p + np.arange(60)[:, None] * 1e-6 * others
    assert ch.late_update_fraction(net, late_out, [0, 1]) == 0.0
    assert ch.find_channels(net, late_out[-1], late_out) == []
    assert [c["neurons"] for c in ch.find_channels(net, late_out[-1])] == [(0, 1)]


# -- saddle lines --------------------------------------------------------------------------------
def split(net, p, i, gamma, delta):
    """The width r+1 net and its parameters with neuron i duplicated (copy appended):
    (w + (1-gamma) delta, gamma a) and (w - gamma delta, (1-gamma) a)."""
    (r, act, b1), out = net.layers[0].spec(), net.layers[1].spec()
    wide = mgf.Net([(r + 1, act, b1), out], input=net.input, target=net.target, weights=net.weights)
    M1, M2 = (m.copy() for m in net.unflatten(p))
    W = np.vstack([M1, M1[i] - gamma * delta])
    W[i] += (1 - gamma) * delta
    A = np.insert(M2, r, (1 - gamma) * M2[:, i], axis=1)
    A[:, i] *= gamma
    return wide, np.concatenate([W.ravel(), A.ravel()])


@pytest.mark.parametrize("weights", [False, True])
def test_B_against_hessian_and_finite_differences(weights):
    net = random_net("softplus", True, dout=2, width=2, din=2, weights=weights)
    p = net.random_params(13)
    B = ch.saddle_line_stability(net, p, 1)["B"]
    rng = np.random.default_rng(14)
    for gamma in (0.3, 1.7, -0.6):
        delta = rng.standard_normal(3)
        wide, q = split(net, p, 1, gamma, 0 * delta)
        _, q1 = split(net, p, 1, gamma, delta)
        u = q1 - q
        expect = gamma * (1 - gamma) * delta @ B @ delta
        assert u @ wide.hessian(q) @ u == pytest.approx(expect, rel=1e-10)
        t = 1e-3
        fd = (wide.loss(q + t * u) + wide.loss(q - t * u) - 2 * wide.loss(q)) / t**2
        assert fd == pytest.approx(expect, rel=1e-4)


def critical_point(B_target):
    """A width-1 net at a critical point whose B is ``B_target``: the residual y - f is the
    least-norm solution of J^T r = 0 (criticality) and 2a <r sigma'' x x^T> = B_target."""
    rng = np.random.default_rng(15)
    X = rng.standard_normal((400, 2))
    net0 = mgf.Net([(1, "softplus", True), (1, "identity", True)], din=2)
    p = np.array([0.8, -0.5, 0.3, 1.2, 0.1])
    Xt = np.column_stack([X, np.ones(len(X))])
    sp = mgf.activations.get_activation("softplus")
    z, a = Xt @ p[:3], p[3]
    J = np.column_stack([a * sp.deriv(z)[:, None] * Xt, sp(z), np.ones(len(X))])
    iu = np.triu_indices(3)
    L = 2 * a / len(X) * sp.second_deriv(z)[:, None, None] * Xt[:, :, None] * Xt[:, None, :]
    A = np.vstack([J.T, L[:, iu[0], iu[1]].T])
    rhs = np.concatenate([np.zeros(J.shape[1]), B_target[iu]])
    resid = np.linalg.lstsq(A, rhs, rcond=None)[0]
    return mgf.Net(net0, input=X, target=net0(p, X)[:, 0] - resid), p


@pytest.mark.parametrize(
    "diag,verdict",
    [
        ((1.0, 2.0, 0.5), "plateau of minima"),
        ((-1.0, -0.5, -2.0), "strict saddles"),
        ((1.0, -1.0, 0.5), "indefinite"),
    ],
)
def test_saddle_line_verdicts_match_hessians_of_the_split_net(diag, verdict):
    rot = np.linalg.qr(np.random.default_rng(16).standard_normal((3, 3)))[0]
    B_target = 3e-4 * rot @ np.diag(diag) @ rot.T  # small: the narrow net stays a minimum
    net, p = critical_point(B_target)
    assert np.abs(net.gradient(p)).max() < 1e-14
    assert np.linalg.eigvalsh(net.hessian(p))[0] > 0  # a strict local minimum
    st = ch.saddle_line_stability(net, p, 0)
    np.testing.assert_allclose(st["B"], B_target, atol=1e-14)
    assert st["verdict"] == verdict
    negative = {}
    for gamma in (0.5, 1.5):
        wide, q = split(net, p, 0, gamma, np.zeros(3))
        assert np.abs(wide.gradient(q)).max() < 1e-13  # the line is critical
        negative[gamma] = morse_index(np.linalg.eigvalsh(wide.hessian(q)))["n_negative"]
    expected = {"plateau of minima": (0, 1), "strict saddles": (1, 0), "indefinite": (1, 1)}
    assert (min(negative[0.5], 1), min(negative[1.5], 1)) == expected[verdict]


def test_saddle_line_degenerate_when_B_vanishes():
    X = np.linspace(-1, 1, 11)[:, None]
    net = mgf.Net([(1, "relu", True), (1, "identity", False)], input=X, target=X**2)
    assert ch.saddle_line_stability(net, [1.0, 0.5, 1.0], 0)["verdict"] == "degenerate"
