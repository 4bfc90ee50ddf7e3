"""Neuron surgery: split, merge, grow, shrink keep the network function and map critical
points to critical points."""

from __future__ import annotations

import numpy as np
import pytest

import mlpgradientflow as mgf
from mlpgradientflow.landscape.surgery import grow_net, merge_neurons, shrink_net, split_neuron


def make_net(hidden, bias, out="mse", seed=0, n=40, din=2):
    """A net with the given hidden layers [(width, act), ...], random data and parameters
    moved off the Glorot draw (random biases)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, din))
    if out == "nll":
        layers = [(k, a, bias) for k, a in hidden] + [(3, "softmax", bias)]
        y = rng.integers(0, 3, n)
    else:
        layers = [(k, a, bias) for k, a in hidden] + [(2, "identity", bias)]
        y = rng.standard_normal((n, 2))
    net = mgf.Net(layers, input=X, target=y, weights=rng.random(n) + 0.5)
    p = net.random_params(rng) + 0.3 * rng.standard_normal(net.nparams)
    return net, p


ARCHS = [
    [(3, "softplus")],
    [(3, "tanh"), (2, "g")],
    [(2, "relu"), (3, "sigmoid2"), (2, "gelu")],
    [(3, ("tanh", "softplus", "tanh")), (2, "silu")],
]


@pytest.mark.parametrize("hidden", ARCHS, ids=lambda h: "-".join(map(str, (k for k, _ in h))))
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("out", ["mse", "nll"])
def test_split_keeps_function_and_moves_weights(hidden, bias, out):
    net, p = make_net(hidden, bias, out)
    Ms = net.unflatten(p)
    for layer, (k, _) in enumerate(hidden):
        for i, gamma in [(0, 0.3), (k - 1, -1.7)]:
            wide, q = split_neuron(net, p, i, gamma, layer)
            assert wide.layers[layer].width == k + 1
            np.testing.assert_allclose(wide(q), net(p), rtol=1e-14, atol=1e-15)
            assert wide.loss(q) == pytest.approx(net.loss(p), rel=1e-13)
            # the layout, written out by hand
            N = wide.unflatten(q)
            np.testing.assert_array_equal(N[layer], np.insert(Ms[layer], i + 1, Ms[layer][i], 0))
            a = Ms[layer + 1][:, i]
            np.testing.assert_array_equal(N[layer + 1][:, i], gamma * a)
            np.testing.assert_array_equal(N[layer + 1][:, i + 1], (1 - gamma) * a)
            np.testing.assert_array_equal(
                np.delete(N[layer + 1], [i, i + 1], 1), np.delete(Ms[layer + 1], i, 1)
            )
            for m in set(range(len(Ms))) - {layer, layer + 1}:
                np.testing.assert_array_equal(N[m], Ms[m])
            np.testing.assert_array_equal(wide.input, net.input)
            np.testing.assert_array_equal(wide.target, net.target)
            np.testing.assert_array_equal(wide.weights, net.weights)
            assert wide.loss_type == net.loss_type


def test_split_copy_keeps_its_activation():
    net, p = make_net([(3, ("relu", "tanh", "softplus"))], True)
    wide, _ = split_neuron(net, p, 1, 0.5)
    assert [a.name for a in wide.layers[0].activation] == ["relu", "tanh", "tanh", "softplus"]
    wide, _ = split_neuron(net, p, 2, 0.5)
    assert [a.name for a in wide.layers[0].activation] == ["relu", "tanh", "softplus", "softplus"]


@pytest.mark.parametrize("hidden", ARCHS[1:3], ids=["2layers", "3layers"])
def test_split_gradient_map(hidden):
    """At any point, the wide gradient is the narrow one with the split neuron's incoming
    gradient shared as gamma, 1 - gamma and its outgoing gradient copied."""
    net, p = make_net(hidden, True)
    g = net.gradient(p)
    for layer in range(len(hidden)):
        gamma = 0.8
        wide, q = split_neuron(net, p, 1, gamma, layer)
        G, Gn = wide.unflatten(wide.gradient(q)), net.unflatten(g)
        scale = np.abs(g).max()
        expect_in = np.insert(Gn[layer], 2, (1 - gamma) * Gn[layer][1], 0)
        expect_in[1] *= gamma
        np.testing.assert_allclose(G[layer], expect_in, rtol=0, atol=1e-13 * scale)
        np.testing.assert_allclose(
            G[layer + 1],
            np.insert(Gn[layer + 1], 2, Gn[layer + 1][:, 1], 1),
            rtol=0,
            atol=1e-13 * scale,
        )


@pytest.fixture(scope="module")
def critical_point():
    X = np.random.default_rng(3).standard_normal((100, 2))
    teacher = mgf.TeacherNet([(3, "softplus", True), (1, "identity", True)], din=2, rng=4)
    net = mgf.Net([(2, "softplus", True), (1, "identity", True)], input=X, target=teacher(X))
    res = mgf.train(
        net,
        net.random_params(2),
        optim_solver="newton",
        min_gnorm=1e-14,
        verbosity=0,
    )
    assert res.gnorm < 1e-10 and res.loss > 1e-8  # a critical point with positive loss
    return net, res


@pytest.mark.parametrize("gamma", [0.5, 0.2, -0.7, 1.8])
def test_split_of_critical_point_is_critical(critical_point, gamma):
    net, res = critical_point
    wide, q = split_neuron(net, res.x, 0, gamma)
    g = wide.gradient(q)
    assert np.abs(g).max() <= max(1, abs(gamma), abs(1 - gamma)) * res.gnorm + 1e-15
    assert wide.loss(q) == pytest.approx(res.loss, rel=1e-13)
    # the split direction is flat: moving gamma keeps the loss
    wide2, q2 = split_neuron(net, res.x, 0, gamma + 0.37)
    assert wide2.loss(q2) == pytest.approx(res.loss, rel=1e-13)


@pytest.mark.parametrize("gamma", [0.5, 0.3, -2.0])
def test_merge_inverts_split(gamma):
    net, p = make_net([(3, "tanh"), (3, "g")], True)
    for layer in (0, 1):
        for i in (0, 2):
            wide, q = split_neuron(net, p, i, gamma, layer)
            back, r = merge_neurons(wide, q, i + 1, i, layer)
            assert back.layerspec == net.layerspec
            if gamma == 0.5:
                np.testing.assert_array_equal(r, p)
            np.testing.assert_allclose(r, p, rtol=1e-15, atol=4e-16 * abs(gamma) * np.abs(p).max())


def test_merge_formula_and_position():
    net, p = make_net([(4, "softplus"), (2, "tanh")], True)
    M1, M2 = net.unflatten(p)[:2]
    narrow, q = merge_neurons(net, p, 3, 1, layer=0)
    N1, N2 = narrow.unflatten(q)[:2]
    np.testing.assert_array_equal(N1[[0, 2]], M1[[0, 2]])
    np.testing.assert_allclose(N1[1], (M1[1] + M1[3]) / 2, rtol=1e-15)
    np.testing.assert_allclose(N2[:, 1], M2[:, 1] + M2[:, 3], rtol=1e-15)
    np.testing.assert_array_equal(N2[:, [0, 2, 3]], M2[:, [0, 2, 4]])  # bias column last
    # colliding incoming vectors: the function is kept
    M1[3] = M1[1]
    narrow, q = merge_neurons(net, p, 1, 3)
    np.testing.assert_allclose(narrow(q), net(p), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("hidden", ARCHS, ids=lambda h: "-".join(map(str, (k for k, _ in h))))
@pytest.mark.parametrize("bias", [True, False])
def test_grow_keeps_function_and_shrink_undoes_it(hidden, bias):
    net, p = make_net(hidden, bias)
    for layer, (k, _) in enumerate(hidden):
        wide, q = grow_net(net, p, k + 3, rng=1, layer=layer)
        assert wide.layers[layer].width == k + 3
        np.testing.assert_allclose(wide(q), net(p), rtol=1e-14, atol=1e-15)
        assert wide.loss(q) == pytest.approx(net.loss(p), rel=1e-13)
        W = wide.unflatten(q)
        assert not W[layer + 1][:, k : k + 3].any()
        assert np.abs(W[layer][k:, : W[layer].shape[1] - bias]).min() > 0  # random incoming
        back, r = shrink_net(wide, q, list(range(k)), layer)
        assert back.layerspec == net.layerspec
        np.testing.assert_array_equal(r, p)


def test_grow_scale_and_activation():
    net, p = make_net([(2, "tanh")], True, din=3)
    wide, q = grow_net(net, p, 2002, rng=0, scale=0.5, activation="relu")
    w = wide.unflatten(q)[0][2:, :3]
    assert np.std(w) == pytest.approx(0.5, rel=0.03)  # 6000 draws: sd of the estimate 1 %
    assert [a.name for a in wide.layers[0].activation[:3]] == ["tanh", "tanh", "relu"]
    # default: Glorot normal of the wider layer, sd sqrt(2 / (3 + 2002)); zero biases
    wide, q = grow_net(net, p, 2002, rng=0)
    M = wide.unflatten(q)[0][2:]
    assert np.std(M[:, :3]) == pytest.approx(np.sqrt(2 / 2005), rel=0.03)
    assert not M[:, 3].any()


def test_shrink_permutation_keeps_function():
    net, p = make_net([(4, ("tanh", "relu", "g", "g")), (3, "softplus")], True)
    perm = [2, 0, 3, 1]
    same, q = shrink_net(net, p, perm)
    assert [a.name for a in same.layers[0].activation] == ["g", "tanh", "g", "relu"]
    np.testing.assert_allclose(same(q), net(p), rtol=1e-14, atol=1e-15)
    assert same.loss(q) == pytest.approx(net.loss(p), rel=1e-14)
    M1, N1 = net.unflatten(p)[0], same.unflatten(q)[0]
    np.testing.assert_array_equal(N1, M1[perm])


def test_neti_surgery():
    teacher = mgf.TeacherNet([(2, "erf", True), (1, "identity", True)], din=3, rng=0)
    neti = mgf.NetI(teacher, [(3, "erf", True), (1, "identity", True)])
    p = neti.random_params(1) + 0.1
    wide, q = split_neuron(neti, p, 1, 0.3)
    assert isinstance(wide, mgf.NetI) and wide.nparams == neti.nparams + 5
    assert wide.loss(q) == pytest.approx(neti.loss(p), rel=1e-12)
    narrow, r = merge_neurons(wide, q, 1, 2)
    np.testing.assert_allclose(r, p, rtol=1e-15, atol=1e-16)
    big, s = grow_net(neti, p, 5, rng=2)
    assert big.loss(s) == pytest.approx(neti.loss(p), rel=1e-12)


def test_net_without_data():
    net = mgf.Net([(2, "tanh", True), (1, "identity", True)], din=2)
    p = net.random_params(0)
    wide, q = split_neuron(net, p, 0, 0.5)
    X = np.random.default_rng(0).standard_normal((5, 2))
    assert wide.n_samples == 0
    np.testing.assert_allclose(wide(q, X), net(p, X), rtol=1e-14, atol=1e-15)


def test_errors():
    net, p = make_net([(3, ("tanh", "tanh", "relu")), (2, "g")], True)
    with pytest.raises(ValueError, match="`i`.*0..2"):
        split_neuron(net, p, 3, 0.5)
    with pytest.raises(ValueError, match="`i`"):
        split_neuron(net, p, -1, 0.5)
    with pytest.raises(TypeError, match="`i`"):
        split_neuron(net, p, 1.0, 0.5)
    with pytest.raises(TypeError, match="`gamma`"):
        split_neuron(net, p, 0, "half")
    with pytest.raises(ValueError, match="`gamma`.*finite"):
        split_neuron(net, p, 0, np.nan)
    with pytest.raises(ValueError, match="`layer`.*hidden layer, 0..1"):
        split_neuron(net, p, 0, 0.5, layer=2)
    with pytest.raises(TypeError, match="`layer`"):
        split_neuron(net, p, 0, 0.5, layer=True)
    with pytest.raises(ValueError, match="length|nparams|entries"):
        split_neuron(net, p[:-1], 0, 0.5)
    with pytest.raises(TypeError, match="`net`"):
        split_neuron("net", p, 0, 0.5)
    with pytest.raises(ValueError, match="different neurons"):
        merge_neurons(net, p, 1, 1)
    with pytest.raises(ValueError, match="`j`"):
        merge_neurons(net, p, 0, 5)
    with pytest.raises(ValueError, match="different activations"):
        merge_neurons(net, p, 0, 2)
    with pytest.raises(ValueError, match="`width`"):
        grow_net(net, p, 2)
    with pytest.raises(ValueError, match="`scale`"):
        grow_net(net, p, 4, scale=-1.0)
    with pytest.raises(ValueError, match="`keep`.*distinct"):
        shrink_net(net, p, [0, 0])
    with pytest.raises(ValueError, match="`keep`.*distinct"):
        shrink_net(net, p, [])
    with pytest.raises(TypeError, match="`keep`"):
        shrink_net(net, p, 1)
    with pytest.raises(ValueError, match="no hidden layer"):
        lin = mgf.Net([(1, "identity", True)], din=2)
        split_neuron(lin, lin.random_params(0), 0, 0.5)
