"""Permutation points and saddles (Brea et al. 2019): criticality, the equal-loss valley,
Morse indices, the Fukumizu-Amari curvature on the split line, K-th order points, counts."""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pytest

import mlpgradientflow as mgf
from mlpgradientflow.landscape.surgery import shrink_net
from mlpgradientflow.theory.saddles import (
    kth_order_point,
    permutation_point,
    permutation_point_count,
)


@pytest.fixture(scope="module")
def toy():
    """methods.md (e.2): 2-D input, 4 hidden g-neurons with biases, scalar output, trained
    to a minimum with positive loss (the teacher has 6 neurons)."""
    X = np.random.default_rng(0).standard_normal((200, 2))
    teacher = mgf.TeacherNet([(6, "g", True), (1, "identity", True)], din=2, rng=1)
    net = mgf.Net([(4, "g", True), (1, "identity", True)], input=X, target=teacher(X))
    res = mgf.train(
        net, net.random_params(1), min_gnorm=1e-14, verbosity=0
    )
    assert res.gnorm < 1e-13 and res.loss > 1e-8
    assert mgf.landscape.morse_index(mgf.hessian_spectrum(net, res.x)[0])["n_negative"] == 0
    return net, res.x, res.loss


@pytest.fixture(scope="module")
def saddle(toy):
    net, p_min, _ = toy
    return permutation_point(net, p_min, 0, 1)


def incoming(net, p):
    return net.unflatten(p)[0]


def outgoing(net, p):
    return net.unflatten(p)[1][:, :4]


def test_permutation_point_is_critical_and_collides(toy, saddle):
    net, p_min, loss_min = toy
    p = saddle["p"]
    assert saddle["gnorm"] < 1e-10
    assert saddle["gnorm"] == pytest.approx(np.abs(net.gradient(p)).max(), rel=1e-12)
    assert saddle["loss"] == pytest.approx(net.loss(p), rel=1e-14)
    assert saddle["loss"] == pytest.approx(saddle["reduced"].loss, rel=1e-12)
    assert saddle["loss"] > loss_min
    W, A = incoming(net, p), outgoing(net, p)
    np.testing.assert_array_equal(W[0], W[1])
    np.testing.assert_array_equal(A[:, 0], A[:, 1])
    # gamma = 1/2: the point is its own image under the swap of the pair
    _, swapped = shrink_net(net, p, [1, 0, 2, 3])
    np.testing.assert_array_equal(swapped, p)


def test_valley_is_flat(toy, saddle):
    net, _, _ = toy
    p, v, L = saddle["p"], saddle["valley"], saddle["loss"]
    assert v.shape == (net.nparams,)
    assert np.linalg.norm(v) == pytest.approx(1.0, rel=1e-15)
    for t in [-3.0, -0.4, 0.1, 0.9, 2.5]:
        assert net.loss(p + t * v) == pytest.approx(L, rel=1e-12)
    # not flat in a generic direction (the test above can fail)
    u = np.random.default_rng(0).standard_normal(net.nparams)
    assert abs(net.loss(p + 0.5 * u / np.linalg.norm(u)) - L) > 1e-3 * L
    H = net.hessian(p)
    assert np.abs(H @ v).max() < 1e-10 * np.abs(H).max()


def test_valley_is_the_gamma_direction(toy, saddle):
    """The valley is dp/dgamma: a finite difference over gamma (same reduced point)."""
    net, p_min, _ = toy
    h = 1e-3
    other = permutation_point(net, p_min, 0, 1, gamma=0.5 + h)
    assert other["loss"] == pytest.approx(saddle["loss"], rel=1e-12)
    d = (other["p"] - saddle["p"]) / h
    np.testing.assert_allclose(d / np.linalg.norm(d), saddle["valley"], rtol=0, atol=1e-9)


def test_morse_index_first_order_saddle(toy, saddle):
    """methods.md (e.2): >= n_{k+1} = 1 zero eigenvalue; here exactly one negative one
    (a first-order permutation saddle), confirmed by the loss going down along it."""
    net, _, _ = toy
    mi, ev = saddle["morse_index"], saddle["evals"]
    np.testing.assert_allclose(ev, np.linalg.eigvalsh(net.hessian(saddle["p"])), atol=1e-14)
    assert mi["n_zero"] >= 1 and np.sort(np.abs(ev))[0] < 1e-8 * np.abs(ev).max()
    assert mi == {"n_negative": 1, "n_zero": 1, "n_positive": net.nparams - 2}
    _, U = np.linalg.eigh(net.hessian(saddle["p"]))
    eps = 1e-3
    for s in (1, -1):
        drop = net.loss(saddle["p"] + s * eps * U[:, 0]) - saddle["loss"]
        assert drop == pytest.approx(0.5 * ev[0] * eps**2, rel=1e-2)


def g_second_derivative(z):
    """g(z) = sigmoid(4z) + softplus(z), written out independently of the package."""
    s4, s1 = 1 / (1 + np.exp(-4 * z)), 1 / (1 + np.exp(-z))
    return 16 * s4 * (1 - s4) * (1 - 2 * s4) + s1 * (1 - s1)


@pytest.mark.parametrize("gamma", [0.5, 0.2, 1.7])
def test_split_curvature_matches_fukumizu_amari(toy, gamma):
    r"""On the split line, moving the incoming vectors as w + (1-gamma) delta, w - gamma delta
    has curvature gamma(1-gamma) delta^T B delta with
    B = < a* sigma''(w.x) x x^T 2(f - y) >, so the Morse index is at least B's number of
    negative eigenvalues for gamma in (0, 1)."""
    net, p_min, _ = toy
    pp = permutation_point(net, p_min, 0, 1, gamma=gamma)
    p = pp["p"]
    X1 = np.column_stack([net.input, np.ones(net.n_samples)])  # bias as a constant input
    w = incoming(net, p)[0]
    a_star = outgoing(net, p)[0, :2].sum()
    r = 2 * (net(p) - net.target)[:, 0]
    B = (X1.T * (a_star * g_second_derivative(X1 @ w) * r)) @ X1 / net.n_samples
    H = net.hessian(p)
    for delta in np.linalg.eigh(B)[1].T:
        d = np.zeros(net.nparams)
        D = incoming(net, d)
        D[0], D[1] = (1 - gamma) * delta, -gamma * delta
        assert d @ H @ d == pytest.approx(
            gamma * (1 - gamma) * delta @ B @ delta, rel=1e-8, abs=1e-15
        )
    n_neg_B = int((np.linalg.eigvalsh(B) < 0).sum())
    assert n_neg_B >= 1
    if 0 < gamma < 1:
        assert pp["morse_index"]["n_negative"] >= n_neg_B
    else:  # outside [0, 1] the sign of the curvature flips: B's positive directions descend
        assert pp["morse_index"]["n_negative"] >= 3 - n_neg_B


def test_pair_positions(toy):
    """Any pair, in any order: the pair collides at its own positions, others untouched."""
    net, p_min, _ = toy
    pp = permutation_point(net, p_min, 3, 1)
    W, A = incoming(net, pp["p"]), outgoing(net, pp["p"])
    np.testing.assert_array_equal(W[1], W[3])
    np.testing.assert_array_equal(A[:, 1], A[:, 3])
    assert pp["gnorm"] < 1e-10
    v = outgoing(net, pp["valley"])
    assert v[0, 3] == -v[0, 1] != 0 and not v[0, [0, 2]].any()
    # the neurons that stayed are close to where the minimum had them
    Wm = incoming(net, p_min)
    assert np.abs(W[[0, 2]] - Wm[[0, 2]]).max() < np.abs(Wm).max()


def test_kth_order_point(toy):
    net, p_min, loss_min = toy
    pp = kth_order_point(net, p_min, [(0, 2), (3, 1)], gamma=[0.5, 0.3])
    p, V, L = pp["p"], pp["valley"], pp["loss"]
    assert pp["reduced_net"].layers[0].width == 2
    assert pp["gnorm"] < 1e-10 and L > loss_min
    assert L == pytest.approx(pp["reduced"].loss, rel=1e-12)
    W, A = incoming(net, p), outgoing(net, p)
    np.testing.assert_array_equal(W[0], W[2])
    np.testing.assert_array_equal(W[1], W[3])
    np.testing.assert_allclose(A[0, 0], A[0, 2], rtol=1e-15)
    np.testing.assert_allclose(A[0, 3] / (A[0, 3] + A[0, 1]), 0.3, rtol=1e-13)
    np.testing.assert_allclose(V @ V.T, np.eye(2), atol=1e-15)
    for t1, t2 in [(0.7, -1.2), (-2.0, 0.4), (1.5, 1.5)]:
        assert net.loss(p + t1 * V[0] + t2 * V[1]) == pytest.approx(L, rel=1e-12)
    assert pp["morse_index"]["n_zero"] >= 2
    np.testing.assert_array_equal(pp["gamma"], [0.5, 0.3])


def test_valley_when_outgoing_weights_cancel(toy):
    """a_i = -a_j: the merged neuron has a* = 0, gamma does not move the point, and the valley
    is the (still flat) shift of outgoing weight between i and j."""
    net, p_min, _ = toy
    p = p_min.copy()
    outgoing(net, p)[0, 3] = -outgoing(net, p)[0, 2]
    frozen = dict(maxiterations_ode=0, maxiterations_optim=0)  # keep the merged point
    pp = permutation_point(net, p, 2, 3, train_options=frozen)
    expect = np.zeros(net.nparams)
    outgoing(net, expect)[0, 2:] = [2**-0.5, -(2**-0.5)]
    np.testing.assert_allclose(pp["valley"], expect, rtol=0, atol=1e-15)
    for t in (-1.0, 2.0):
        assert net.loss(pp["p"] + t * pp["valley"]) == pytest.approx(pp["loss"], rel=1e-12)


def test_neti_permutation_point():
    teacher = mgf.TeacherNet([(3, "erf", False), (1, "identity", False)], din=2, rng=0)
    neti = mgf.NetI(teacher, [(3, "erf", False), (1, "identity", False)])
    pp = permutation_point(neti, teacher.params, 0, 2)
    assert pp["gnorm"] < 1e-10 and pp["loss"] > 1e-10  # the minimum has L = 0 (+- 1e-16)
    for t in (-1.0, 0.5, 2.0):
        assert neti.loss(pp["p"] + t * pp["valley"]) == pytest.approx(pp["loss"], rel=1e-12)


def brute_force_count(n, K):
    """Sequences of n neurons drawn from n - K distinct ones, exactly K of them twice."""
    return sum(
        sorted(Counter(s).values()) == [1] * (n - 2 * K) + [2] * K
        for s in itertools.product(range(n - K), repeat=n)
    )


@pytest.mark.parametrize(
    ("n", "K"), [(2, 1), (3, 1), (4, 1), (4, 2), (5, 1), (5, 2), (6, 2), (6, 3)]
)
def test_permutation_point_count(n, K):
    assert permutation_point_count(n, K) == brute_force_count(n, K)


def test_errors(toy):
    net, p_min, _ = toy
    with pytest.raises(ValueError, match="`pairs`.*disjoint"):
        kth_order_point(net, p_min, [(0, 1), (1, 2)])
    with pytest.raises(ValueError, match="`pairs`.*disjoint"):
        kth_order_point(net, p_min, [(2, 2)])
    with pytest.raises(ValueError, match="`pairs`.*at least one"):
        kth_order_point(net, p_min, [])
    with pytest.raises(ValueError, match="`pairs`.*0..3"):
        kth_order_point(net, p_min, [(0, 4)])
    with pytest.raises(TypeError, match="`pairs`"):
        kth_order_point(net, p_min, [(0, 1, 2)])
    with pytest.raises(ValueError, match="`gamma`.*2 numbers"):
        kth_order_point(net, p_min, [(0, 1), (2, 3)], gamma=[0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="`gamma`.*finite"):
        permutation_point(net, p_min, 0, 1, gamma=np.inf)
    with pytest.raises(ValueError, match="`layer`"):
        permutation_point(net, p_min, 0, 1, layer=1)
    with pytest.raises(ValueError, match="`order`"):
        permutation_point_count(4, 0)
