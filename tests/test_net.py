"""Net and TeacherNet: specs, parameter layout, initialisation, forward pass, rebinding."""

from __future__ import annotations

import math

import numpy as np
import pytest

import mlpgradientflow as mgf


def test_output_width_is_inferred_from_the_target():
    X = np.zeros((6, 2))
    assert mgf.Net([(3, "tanh", True), (None, "identity", True)], input=X, target=np.zeros((6, 4))).dout == 4
    assert mgf.Net([(3, "tanh", True), (None, "identity", True)], input=X, target=np.zeros(6)).dout == 1
    labels = np.array([0, 2, 1, 2, 0, 1])
    net = mgf.Net([(3, "tanh", True), (None, "softmax", True)], input=X, target=labels)
    assert net.dout == 3 and net.loss_type == "nll"


def test_parameter_layout_and_views():
    net = mgf.Net([(3, "tanh", True), (2, "relu", False), (1, "identity", True)], din=4)
    assert net.shapes == ((3, 5), (2, 3), (1, 3))
    assert net.nparams == 15 + 6 + 3
    p = np.arange(net.nparams, dtype=float)
    M1, M2, M3 = net.unflatten(p)
    assert np.shares_memory(M1, p) and M1[1, 0] == 5 and M2[0, 0] == 15 and M3[0, 2] == 23
    # neuron i of a layer owns one contiguous slice: its weights, then its bias
    assert list(M1[2]) == [10, 11, 12, 13, 14]


def test_params_and_params2dict_round_trip():
    rng = np.random.default_rng(0)
    W1, b1, W2 = rng.standard_normal((3, 2)), rng.standard_normal(3), rng.standard_normal((1, 3))
    p = mgf.params((W1, b1), (W2, None))
    net = mgf.Net([(3, "tanh", True), (1, "identity", False)], din=2)
    M1, M2 = net.unflatten(p)
    np.testing.assert_array_equal(M1[:, :2], W1)
    np.testing.assert_array_equal(M1[:, 2], b1)
    np.testing.assert_array_equal(M2, W2)
    d = mgf.params2dict(net, p)
    assert list(d) == ["w1", "w2"] and d["w1"].shape == (3, 3)
    # a dict is read in the order of its layer numbers, whatever its own order (reference hazard)
    np.testing.assert_array_equal(mgf.params({"w2": d["w2"], "w1": d["w1"]}), p)
    assert not np.shares_memory(d["w1"], p)
    np.testing.assert_array_equal(mgf.params((W1, True), W2)[[2, 5, 8]], 0.0)  # zero biases


def test_random_params_reproducible_and_glorot():
    net = mgf.Net([(300, "tanh", True), (200, "identity", True)], din=100)
    p1, p2 = net.random_params(0), net.random_params(0)
    np.testing.assert_array_equal(p1, p2)
    assert not np.array_equal(p1, net.random_params(1))
    np.testing.assert_array_equal(p1, net.random_params(np.random.default_rng(0)))
    M1, M2 = net.unflatten(p1)
    assert np.all(M1[:, -1] == 0) and np.all(M2[:, -1] == 0)  # zero biases
    assert M1[:, :-1].var() == pytest.approx(2 / 400, rel=0.03)
    assert M2[:, :-1].var() == pytest.approx(2 / 500, rel=0.03)
    # the documented algorithm, so the same seed gives the same numbers everywhere
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(M1[:, :-1], rng.standard_normal((300, 100)) * math.sqrt(2 / 400))
    pu = net.random_params(0, init="glorot_uniform")
    lim = math.sqrt(6 / 400)
    U1 = net.unflatten(pu)[0][:, :-1]
    assert np.abs(U1).max() <= lim and U1.var() == pytest.approx(lim**2 / 3, rel=0.03)


def test_forward_on_bound_and_new_inputs():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 3))
    net = mgf.Net([(4, "softplus", True), (2, "identity", True)], input=X, target=np.zeros((50, 2)))
    p = net.random_params(0)
    M1, M2 = net.unflatten(p)
    ref = np.logaddexp(0, X @ M1[:, :3].T + M1[:, 3]) @ M2[:, :4].T + M2[:, 4]
    np.testing.assert_allclose(net(p), ref, rtol=1e-14)
    np.testing.assert_allclose(net(p, X[:7]), ref[:7], rtol=1e-14)
    big = rng.standard_normal((9000, 3))  # more rows than one chunk
    np.testing.assert_allclose(net(p, big)[-5:], net(p, big[-5:]), rtol=1e-14)
    assert net(p, np.zeros((0, 3))).shape == (0, 2)


def test_softmax_output_gives_probabilities():
    X = np.random.default_rng(0).standard_normal((5, 2)) * 100
    net = mgf.Net([(3, "tanh", True), (4, "softmax", True)], input=X, target=np.arange(5) % 4)
    P = net(net.random_params(0) * 50)
    assert np.isfinite(P).all() and np.allclose(P.sum(1), 1) and P.shape == (5, 4)


def test_teacher_net():
    t = mgf.TeacherNet([(4, "softplus", True), (2, "identity", True)], din=2, rng=1)
    assert t(np.zeros((7, 2))).shape == (7, 2)
    t1 = mgf.TeacherNet([(1, "softplus", True)], din=3, rng=0)  # reference test 9
    assert t1(np.ones((4, 3))).shape == (4, 1)
    p = t.params.copy()
    t2 = mgf.TeacherNet([(4, "softplus", True), (2, "identity", True)], din=2, params=p)
    np.testing.assert_array_equal(t2(np.ones((3, 2))), t(np.ones((3, 2))))
    p[:] = 0  # the teacher keeps its own copy
    assert np.any(t2.params != 0)
    assert t2.p is t2.params
    assert "Teacher" in repr(t)


def test_rebinding_data():
    rng = np.random.default_rng(0)
    X, y, w = rng.standard_normal((10, 2)), rng.standard_normal((10, 1)), rng.random(10)
    net = mgf.Net([(3, "tanh", True), (1, "identity", True)], input=X, target=y, weights=w)
    same = mgf.Net(net, target=2 * y)  # keeps input and weights
    np.testing.assert_array_equal(same.weights, w)
    np.testing.assert_array_equal(same.target, 2 * y)
    X2 = rng.standard_normal((4, 2))
    other = mgf.Net(net, input=X2, target=y[:4])  # new samples: old weights dropped
    assert other.weights is None and other.n_samples == 4 and other.layers == net.layers
    nodata = mgf.Net(net, input=X2)
    assert nodata.target is None
    with pytest.raises(ValueError, match="no data"):
        nodata.loss(net.random_params(0))


def test_data_is_copied_and_read_only():
    X = np.ones((5, 2))
    net = mgf.Net([(2, "tanh", True), (1, "identity", True)], input=X, target=np.ones(5))
    X[:] = 7
    assert np.all(net.input == 1)
    with pytest.raises(ValueError):
        net.input[0, 0] = 3.0


def test_repr():
    X = np.zeros((10, 2))
    net = mgf.Net([(4, ("relu", "tanh", "tanh", "relu"), True), (1, "identity", False)], input=X, target=np.zeros(10))
    s = repr(net)
    assert "16 parameters" in s and "float64" in s and "N=10" in s
    assert "layer 1: 4 neurons, (relu, tanh, tanh, relu), with bias  # 12 parameters" in s
    assert "layer 2: 1 neuron, identity, without bias  # 4 parameters" in s
    assert net.layerspec == [(4, ["relu", "tanh", "tanh", "relu"], True), (1, "identity", False)]
