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
    ZERO,
    enumerate_subspaces,
    expand,
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
        ((0, 1, 2), 3, "labels must lie in -1..1"),
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
    with pytest.raises(ValueError, match="one hidden layer"):
        expand(deep, deep.random_params(0), 3, (0, 1, 1))
    with pytest.raises(TypeError, match="Net or NetI"):
        expand("net", np.zeros(3), 3, (0, 1, 1))
    mixed = mgf.Net([(2, ("tanh", "relu"), True), (1, "identity", True)], din=2)
    with pytest.raises(ValueError, match="per-neuron"):
        expand(mixed, mixed.random_params(0), 3, (0, 1, 1))
