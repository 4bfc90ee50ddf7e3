"""Symmetry-induced critical subspaces: counts against brute-force enumeration and an
independent Stirling formula; expanded points against the small net's function, loss and
gradient (including a trained critical point)."""

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest

import mlpgradientflow as mgf
from mlpgradientflow.theory.copy_average import ca_point
from mlpgradientflow.theory.symmetry import (
    INACTIVE,
    ZERO,
    enumerate_subspaces,
    expand,
    inactive_neurons_critical,
    n_critical_subspaces,
    n_global_min_subspaces,
    n_saddle_subspaces,
    stirling2,
)


def stirling_inclusion_exclusion(n, k):
    """S(n, k) = (1/k!) sum_j (-1)^j C(k, j) (k - j)^n, independent of the recurrence."""
    return sum((-1) ** j * math.comb(k, j) * (k - j) ** n for j in range(k + 1)) // math.factorial(
        k
    )


def brute_force_labelings(r, m, zero_neurons):
    """All maps {1..m} -> {zero-type, 0..r-1} that use every source."""
    labels = ([ZERO] if zero_neurons else []) + list(range(r))
    return {s for s in itertools.product(labels, repeat=m) if set(range(r)) <= set(s)}


# -- counts -----------------------------------------------------------------------------------


@pytest.mark.parametrize("n,k", [(n, k) for n in range(0, 30, 3) for k in range(0, 9)])
def test_stirling_matches_inclusion_exclusion(n, k):
    assert stirling2(n, k) == stirling_inclusion_exclusion(n, k)


@pytest.mark.parametrize("r,m", [(r, m) for r in range(1, 4) for m in range(1, 7)])
def test_counts_match_brute_force(r, m):
    for zero, count in ((True, n_global_min_subspaces), (False, n_saddle_subspaces)):
        brute = brute_force_labelings(r, m, zero)
        listed = list(enumerate_subspaces(r, m, zero_neurons=zero))
        assert len(listed) == len(set(listed))  # no subspace twice
        assert set(listed) == brute
        assert count(r, m) == len(brute)


@pytest.mark.parametrize("r,m", [(1, 40), (3, 25), (5, 30), (7, 12)])
def test_t_is_the_sum_over_zero_type_choices(r, m):
    """T = sum_k C(m, k) r! S(k, r): k neurons copy, m - k are zero-type (big exact ints)."""
    direct = sum(
        math.comb(m, k) * math.factorial(r) * stirling_inclusion_exclusion(k, r)
        for k in range(r, m + 1)
    )
    assert n_global_min_subspaces(r, m) == direct
    assert n_saddle_subspaces(r, m) == math.factorial(r) * stirling_inclusion_exclusion(m, r)


def test_closed_form_checks():
    for r in range(1, 10):
        assert n_global_min_subspaces(r, r + 1) == math.factorial(r + 2) // 2
        assert n_global_min_subspaces(r, r) == math.factorial(r)
        n = r + 1  # first-order permutation points of Brea et al. 2019
        assert n_saddle_subspaces(n - 1, n) == math.factorial(n) * (n - 1) // 2
        ratio = Fraction(n_saddle_subspaces(r, r + 1), n_global_min_subspaces(r + 1, r + 1))
        assert ratio == Fraction(r, 2)
        assert n_global_min_subspaces(r + 1, r) == n_saddle_subspaces(r + 1, r) == 0
    assert n_global_min_subspaces(1, 2) == 3  # the paper's Fig. 4a


@pytest.mark.parametrize(
    "call,exc",
    [
        (lambda: n_global_min_subspaces(0, 3), ValueError),
        (lambda: n_saddle_subspaces(2, 1.5), TypeError),
        (lambda: n_saddle_subspaces(True, 3), TypeError),
        (lambda: stirling2(-1, 0), ValueError),
        (lambda: list(enumerate_subspaces(2, 0)), ValueError),
    ],
)
def test_count_errors(call, exc):
    with pytest.raises(exc):
        call()


# -- expand ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data():
    X = np.random.default_rng(0).standard_normal((300, 2))
    layers = [(3, "tanh", True), (1, "identity", True)]
    p = 2 * mgf.TeacherNet(layers, din=2, rng=5).params  # large weights: a clear minimum
    return X, mgf.TeacherNet(layers, din=2, params=p)


@pytest.mark.parametrize("r,m,bias", [(2, 4, True), (3, 4, False), (1, 3, True)])
def test_expand_reproduces_function(r, m, bias):
    rng = np.random.default_rng(1)
    net = mgf.Net([(r, "tanh", bias), (2, "identity", bias)], din=3)
    p = net.random_params(rng) + 0.1 * rng.standard_normal(net.nparams)
    X = rng.standard_normal((40, 3))
    f = net(p, X)
    for s in enumerate_subspaces(r, m):
        wide, pw = expand(net, p, m, s, rng=rng)
        assert wide.nparams == m * (3 + bias) + 2 * (m + bias)
        np.testing.assert_allclose(wide(pw, X), f, rtol=0, atol=1e-12 * np.abs(f).max())


def test_free_parameters_are_free(data):
    """Different draws give different points of one subspace with the same loss."""
    X, teacher = data
    net = mgf.Net([(2, "softplus", True), (1, "identity", True)], input=X, target=teacher(X))
    p = net.random_params(0)
    s = (0, ZERO, 1, 0)
    (wide, p1), (_, p2) = expand(net, p, 4, s, rng=1), expand(net, p, 4, s, rng=2)
    assert np.abs(p1 - p2).max() > 0.1
    assert wide.loss(p1) == pytest.approx(net.loss(p), rel=1e-13)
    assert wide.loss(p2) == pytest.approx(net.loss(p), rel=1e-13)


def test_expand_trained_critical_point(data):
    """A width-2 critical point of a width-3 teacher (loss > 0) stays critical on each of
    the G(2, 4) subspaces, but not with a zero-type neuron (why G excludes them)."""
    X, teacher = data
    net = mgf.Net([(2, "tanh", True), (1, "identity", True)], input=X, target=teacher(X))
    res = mgf.train(net, net.random_params(3), verbosity=0)
    assert res.gnorm < 1e-10 and res.loss > 1e-4
    subspaces = list(enumerate_subspaces(2, 4, zero_neurons=False))
    assert len(subspaces) == 14
    for s in subspaces:
        wide, pw = expand(net, res.x, 4, s, rng=5)
        assert wide.loss(pw) == pytest.approx(res.loss, rel=1e-12)
        assert np.abs(wide.gradient(pw)).max() < 1e-9
    wide, pw = expand(net, res.x, 3, (0, ZERO, 1), rng=5)
    assert np.abs(wide.gradient(pw)).max() > 1e-4


def test_expand_global_minimum_all_t_subspaces(data):
    """At a zero-loss point every one of the T(2, 4) = 50 subspaces is a global minimum."""
    X, _ = data
    teacher = mgf.TeacherNet([(2, "softplus", True), (1, "identity", True)], din=2, rng=7)
    net = mgf.Net([(2, "softplus", True), (1, "identity", True)], input=X, target=teacher(X))
    subspaces = list(enumerate_subspaces(2, 4))
    assert len(subspaces) == 50
    for i, s in enumerate(subspaces):
        wide, pw = expand(net, teacher.params, 4, s, rng=i)
        assert wide.loss(pw) < 1e-28
        assert np.abs(wide.gradient(pw)).max() < 1e-13


def test_expand_neti_copy_average_point():
    """On infinite data: a copy-average point (critical) stays critical when expanded."""
    V, a = np.eye(3, 4), np.ones(3)
    teacher = mgf.TeacherNet(
        [(3, "erf", False), (1, "identity", False)], din=4, params=mgf.params(V, a[None])
    )
    neti = mgf.NetI(teacher, [(2, "erf", False), (1, "identity", False)])
    p = ca_point(V, a, [[0], [1, 2]])
    wide, pw = expand(neti, p, 4, (1, 0, 1, 1), rng=0)
    assert isinstance(wide, mgf.NetI) and wide.nparams == 20
    assert wide.loss(pw) == pytest.approx(neti.loss(p), rel=1e-12)
    assert np.abs(wide.gradient(pw)).max() < 1e-12


@pytest.mark.parametrize(
    "assignment,m,match",
    [
        ((0, 0, 0), 3, "missing \\[1\\]"),
        ((0, 1, 2), 3, "labels must lie in -2..1"),
        ((0, 1, -3), 3, "labels must lie in -2..1"),
        ((0, 1), 3, "3 integer labels"),
        ((0.0, 1.0, 1.0), 3, "integer labels"),
        ((0, 1), 1, "`m` must be >= 2"),
    ],
)
def test_expand_bad_assignment(assignment, m, match):
    net = mgf.Net([(2, "tanh", True), (1, "identity", True)], din=2)
    with pytest.raises(ValueError, match=match):
        expand(net, net.random_params(0), m, assignment)


def test_expand_bad_net():
    deep = mgf.Net([(2, "tanh", True), (2, "tanh", True), (1, "identity", True)], din=2)
    with pytest.raises(ValueError, match="argument `layer` must be a hidden layer, 0..1"):
        expand(deep, deep.random_params(0), 3, (0, 1, 1), layer=2)
    with pytest.raises(TypeError, match="Net or NetI"):
        expand("net", np.zeros(3), 3, (0, 1, 1))
    mixed = mgf.Net([(2, ("tanh", "relu"), True), (1, "identity", True)], din=2)
    with pytest.raises(ValueError, match="per-neuron"):
        expand(mixed, mixed.random_params(0), 3, (0, 1, 1))


# -- all symmetry-induced critical subspaces, inactive neurons included -------------------------


def brute_force_critical(rs, ms, inactive):
    """Per hidden layer all maps {1..m} -> {inactive, 0..r-1} using every source; the
    subspaces of a deep net are the tuples of the layers' labelings."""
    per_layer = []
    for r, m in zip(rs, ms):
        labels = ([INACTIVE] if inactive else []) + list(range(r))
        per_layer.append([s for s in itertools.product(labels, repeat=m) if set(range(r)) <= set(s)])
    return list(itertools.product(*per_layer))


@pytest.mark.parametrize("rs,ms", [((1,), (1,)), ((2,), (4,)), ((3,), (5,)), ((1,), (4,)),
                                   ((2, 1), (3, 2)), ((2, 2), (3, 4)), ((1, 2, 1), (2, 3, 2))])
@pytest.mark.parametrize("inactive", [True, False])
def test_critical_counts_match_brute_force(rs, ms, inactive):
    want = len(brute_force_critical(rs, ms, inactive))
    got = n_critical_subspaces(rs if len(rs) > 1 else rs[0], ms if len(ms) > 1 else ms[0],
                               inactive=inactive)
    assert got == want
    if len(rs) == 1:
        listed = set(enumerate_subspaces(rs[0], ms[0], zero_neurons=False, inactive=inactive))
        assert listed == set(s for (s,) in brute_force_critical(rs, ms, inactive))


def test_the_issue_count_tanh_2_to_4():
    assert n_saddle_subspaces(2, 4) == 14 and n_critical_subspaces(2, 4) == 50


@pytest.mark.parametrize("act,out_bias,critical", [("tanh", False, True), ("relu", False, True),
                                                   ("softplus", False, False),
                                                   ("softplus", True, True),
                                                   ("sigmoid", True, True)])
def test_when_inactive_neurons_are_critical(act, out_bias, critical):
    net = mgf.Net([(2, act, True), (1, "identity", out_bias)], din=2)
    assert inactive_neurons_critical(net) is critical


@pytest.mark.parametrize("act,out_bias", [("tanh", False), ("softplus", True), ("softplus", False)])
def test_inactive_neurons_keep_a_trained_critical_point_critical(data, act, out_bias):
    """Every one of the counted subspaces holds a critical point; where the count excludes
    inactive neurons (softplus without an output bias), adding one breaks criticality."""
    X, teacher = data
    net = mgf.Net([(2, act, True), (1, "identity", out_bias)], input=X, target=teacher(X))
    res = mgf.train(net, net.random_params(3), verbosity=0)
    assert res.converged and res.loss > 1e-4
    scale = max(np.abs(net.gradient(res.x)).max(), res.end_state.gtol)
    for k, s in enumerate(enumerate_subspaces(2, 3, zero_neurons=False, inactive=True)):
        wide, pw = expand(net, res.x, 3, s, rng=k)
        assert wide.loss(pw) == pytest.approx(res.loss, rel=1e-12)
        g = np.abs(wide.gradient(pw)).max()
        if INACTIVE not in s or inactive_neurons_critical(net):
            assert g <= 100 * scale, (s, g)
        else:
            assert g > 1e-6, (s, g)


def test_expanding_a_deep_critical_point_in_each_layer(data):
    """Two hidden layers: expand each layer on its subspaces (inactive neurons included);
    every point counted by the product formula is critical."""
    X, teacher = data
    net = mgf.Net([(2, "tanh", True), (2, "tanh", True), (1, "identity", True)], input=X,
                  target=teacher(X))
    res = mgf.train(net, net.random_params(1), verbosity=0)
    assert res.converged and res.loss > 1e-5
    scale = max(res.gnorm, res.end_state.gtol)
    subspaces = brute_force_critical((2, 2), (3, 3), inactive=True)
    assert len(subspaces) == n_critical_subspaces((2, 2), (3, 3))
    for k, (s1, s2) in enumerate(subspaces[::7]):  # every 7th of the 144: both layers vary
        wide, pw = expand(net, res.x, 3, s1, rng=k, layer=0)
        wide, pw = expand(wide, pw, 3, s2, rng=k, layer=1)
        assert wide.layers[0].width == wide.layers[1].width == 3
        np.testing.assert_allclose(wide(pw, X), net(res.x, X), rtol=0, atol=1e-12)
        assert np.abs(wide.gradient(pw)).max() <= 100 * scale


def test_split_fractions_keep_criticality_with_several_outputs(data):
    """Two outputs: one split fraction per copy keeps the critical point critical (one per
    output would keep only the function)."""
    X, teacher = data
    Y = np.hstack([teacher(X), np.tanh(X[:, :1])])
    net = mgf.Net([(2, "tanh", True), (2, "identity", True)], input=X, target=Y)
    res = mgf.train(net, net.random_params(2), verbosity=0)
    assert res.converged and res.loss > 1e-4
    for k, s in enumerate(enumerate_subspaces(2, 4, zero_neurons=False)):
        wide, pw = expand(net, res.x, 4, s, rng=k)
        assert np.abs(wide.gradient(pw)).max() <= 100 * max(res.gnorm, res.end_state.gtol)
