"""Every place that rebuilds a net for a new architecture keeps the sample weights (and a
NetI its teacher, method and tolerance): where the function is kept, so is the loss."""

from __future__ import annotations

import numpy as np
import pytest

import mlpgradientflow as mgf
from mlpgradientflow.landscape import grow_net, merge_neurons, shrink_net, split_neuron
from mlpgradientflow.recovery import expand_cluster
from mlpgradientflow.recovery.linear_path import with_linear_path
from mlpgradientflow.theory import saddles, symmetry

rng = np.random.default_rng(3)
X = rng.standard_normal((30, 2))
Y = np.sin(X[:, :1]) + 0.3 * X[:, 1:]
W = np.linspace(0.01, 3.0, 30) ** 2  # far from uniform: dropping them changes the loss
LAYERS = [(3, "softplus", True), (1, "identity", True)]
NET = mgf.Net(LAYERS, input=X, target=Y, weights=W)
P = NET.random_params(0) + 0.2 * rng.standard_normal(NET.nparams)


def same_data(new, old=NET):
    np.testing.assert_array_equal(new.input, old.input)
    np.testing.assert_array_equal(new.target, old.target)
    np.testing.assert_array_equal(new.weights, old.weights)


def test_weights_matter_here():
    unweighted = mgf.Net(LAYERS, input=X, target=Y)
    assert abs(unweighted.loss(P) - NET.loss(P)) > 1e-3 * NET.loss(P)


def test_with_layers():
    wide = NET.with_layers([(5, "softplus", True), (1, "identity", True)])
    same_data(wide)
    assert wide.layers[0].width == 5 and wide.din == NET.din
    assert NET.with_layers(LAYERS).loss(P) == NET.loss(P)


def test_with_layers_keeps_quadrature_error():
    t = mgf.TeacherNet([(2, "erf", True), (1, "identity", True)], din=1, rng=0)
    gh = mgf.gauss_hermite_net(t, [(2, "erf", True), (1, "identity", True)], din=1, N=100)
    wide, _ = grow_net(gh, gh.random_params(0), 3, rng=0)
    assert wide.quadrature_error == gh.quadrature_error
    same_data(wide, gh)


@pytest.mark.parametrize(
    "op",
    [
        lambda: split_neuron(NET, P, 1, 0.3),
        lambda: merge_neurons(*split_neuron(NET, P, 1, 0.5), 1, 2),
        lambda: grow_net(NET, P, 6, rng=1),
        lambda: shrink_net(*grow_net(NET, P, 6, rng=1), [0, 1, 2]),
        lambda: shrink_net(NET, P, [2, 0, 1]),
        lambda: symmetry.expand(NET, P, 5, (0, 1, 2, 2, -1), rng=2),
    ],
    ids=["split", "merge", "grow", "shrink", "permute", "expand"],
)
def test_surgery_and_expand(op):
    new, q = op()
    same_data(new)
    assert new.loss(q) == pytest.approx(NET.loss(P), rel=1e-12)


def test_saddles_reduced_net():
    p = split_neuron(NET, P, 0, 0.5)[1]
    wide = split_neuron(NET, P, 0, 0.5)[0]
    pp = saddles.permutation_point(
        wide, p, 0, 1, train_options=dict(maxiterations_ode=50, maxiterations_optim=5)
    )
    same_data(pp["reduced_net"], wide)
    assert wide.loss(pp["p"]) == pytest.approx(pp["reduced_net"].loss(pp["reduced"].x), rel=1e-12)


def test_neti_rebuild_keeps_teacher_method_and_tol():
    t = mgf.TeacherNet([(2, "erf", False), (1, "identity", False)], din=2, rng=0)
    neti = mgf.NetI(t, [(2, "erf", False), (1, "identity", False)], method="quadrature", tol=1e-5)
    p = neti.random_params(1)
    for new, q in (split_neuron(neti, p, 0, 0.4), symmetry.expand(neti, p, 3, (0, 1, 1), rng=0)):
        assert (new.teacher, new.method, new.tol) == (t, "quadrature", 1e-5)
        assert new.loss(q) == pytest.approx(neti.loss(p), rel=1e-10)


def test_recovery_retrain_upper(monkeypatch):
    deep = mgf.Net([(3, "g", True), (2, "g", True), (1, "identity", True)], input=X,
                   target=Y, weights=W)
    mats = [[M.copy() for M in deep.unflatten(deep.random_params(s))] for s in range(2)]
    seen = []

    class Run:
        def __init__(self, x):
            self.x = x

    def fake_train_many(net, starts, executor, **kw):
        seen.append(net)
        return [Run(x) for x in starts]

    monkeypatch.setattr(expand_cluster, "train_many", fake_train_many)
    new, _ = expand_cluster._retrain_upper(deep, [3, 2], mats, 0, None, None)
    (unet,) = seen
    same_data(unet, deep)
    p0 = np.concatenate([M.ravel() for M in mats[0]])
    assert unet.loss(np.concatenate([M.ravel() for M in new[0]])) == deep.loss(p0)


def test_recovery_linear_path_carrier():
    mats = [M.copy() for M in NET.unflatten(P)]
    carrier, q, _ = with_linear_path(NET, mats, np.zeros((NET.din + 1, 1)))
    same_data(carrier)
    assert carrier.loss(q) == pytest.approx(NET.loss(P), rel=1e-12)
