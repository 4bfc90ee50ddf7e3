"""The reference's API pieces (issue 18, item 3): train keywords, derivative keywords, the
Eigen spectrum, TeacherNet(input=), gauss_hermite_net(target, net), params2dict(res),
split_neuron's position j, to_local_coords, and train on a tuple of starts."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import mlpgradientflow as mgf
from mlpgradientflow.training.reference import ReferenceWarning

KW = dict(maxiterations_ode=150, maxiterations_optim=10, verbosity=0)


@pytest.fixture(scope="module")
def problem():
    X = np.random.default_rng(0).standard_normal((120, 2))
    teacher = mgf.TeacherNet([(3, "tanh", True), (1, "identity", True)], din=2, rng=11)
    net = mgf.Net([(2, "tanh", True), (1, "identity", True)], input=X, target=teacher(X))
    return net, net.random_params(4), np.linspace(0.2, 2.0, 120)


def test_train_weights_are_the_nets_sample_weights(problem):
    net, p0, w = problem
    a = mgf.train(net, p0, weights=w, **KW)
    b = mgf.train(net.with_data(weights=w), p0, **KW)
    c = mgf.train(net, p0, **KW)
    np.testing.assert_array_equal(a.x, b.x)
    assert not np.array_equal(a.x, c.x)  # the weights matter on this problem
    neti = mgf.NetI(mgf.TeacherNet([(1, "erf", False), (1, "identity", False)], din=2, rng=0),
                    [(1, "erf", False), (1, "identity", False)])
    with pytest.raises(TypeError, match="option `weights`"):
        mgf.train(neti, neti.random_params(0), weights=w, **KW)


def test_include_exclude_filter_the_keys(problem):
    net, p0, _ = problem
    res = mgf.train(net, p0, exclude=["trajectory", "loss_curve", "init"], **KW)
    assert {"trajectory", "loss_curve", "init"}.isdisjoint(res.keys())
    assert len(res.trajectory) == 0 and res.loss_curve.size == 0
    with pytest.raises(KeyError, match="left out by include/exclude"):
        res["init"]
    assert "init" not in res.to_reference_dict() and "x" in res.to_reference_dict()
    only = mgf.train(net, p0, include=["x", "loss", "gnorm"], **KW)
    assert only.keys() == ["x", "loss", "gnorm"]
    with pytest.warns(ReferenceWarning, match="unknown result keys \\['nope'\\]"):
        mgf.train(net, p0, exclude=["nope"], **KW)


def test_keywords_mapped_with_a_warning_or_refused(problem, capsys):
    net, p0, _ = problem
    plain = mgf.train(net, p0, **KW)
    for kw, match in ((dict(result="raw"), "result='raw'"),
                      (dict(hessian_template=None), "hessian_template is ignored"),
                      (dict(dense=False), "dense=False has no effect")):
        with pytest.warns(ReferenceWarning, match=match):
            res = mgf.train(net, p0, **kw, **KW)
        np.testing.assert_array_equal(res.x, plain.x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for kw in (dict(result="dict"), dict(losstype="mse"), dict(use_component_arrays=False),
                   dict(dense=True)):
            np.testing.assert_array_equal(mgf.train(net, p0, **kw, **KW).x, plain.x)
    assert len(mgf.train(net, p0, save_everystep=False, **KW).trajectory) == 0
    mgf.train(net, p0, show_progress=False, **{**KW, "verbosity": 1})
    assert capsys.readouterr().err == ""
    for kw, match in ((dict(losstype="crossentropy"), "option `losstype`"),
                      (dict(use_component_arrays=True), "params2dict"),
                      (dict(result="tuple"), "option `result`"),
                      (dict(include=3), "option `include`")):
        with pytest.raises((ValueError, TypeError), match=match):
            mgf.train(net, p0, **kw, **KW)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_tuple_of_starts_is_many_runs_in_order(problem, workers):
    net, _, _ = problem
    starts = tuple(net.random_params(s) for s in (1, 2, 3))
    runs = mgf.train(net, starts, num_workers=workers, exclude=["trajectory"], **KW)
    assert isinstance(runs, list) and len(runs) == 3
    for r, s in zip(runs, starts):
        np.testing.assert_array_equal(r.x, mgf.train(net, s, **KW).x)
        assert "trajectory" not in r.keys()


def test_derivatives_on_other_data_and_as_sums(problem):
    net, p, w = problem
    X2 = np.random.default_rng(5).standard_normal((30, 2))
    y2 = np.sin(X2[:, :1])
    other = net.with_data(input=X2, target=y2)
    assert mgf.loss(net, p, input=X2, target=y2) == other.loss(p)
    np.testing.assert_array_equal(mgf.gradient(net, p, input=X2, target=y2), other.gradient(p))
    np.testing.assert_array_equal(mgf.hessian(net, p, input=X2, target=y2), other.hessian(p))
    weighted = net.with_data(weights=w)
    assert mgf.loss(net, p, weights=w) == weighted.loss(p)  # weights alone keep the data
    # the reference's gradient!/hessian!: N times the mean, written into `out`
    N = net.n_samples
    assert mgf.loss(net, p, reduction="sum") == pytest.approx(N * net.loss(p), rel=1e-15)
    out = np.empty(net.nparams)
    g = mgf.gradient(net, p, reduction="sum", out=out)
    assert g is out
    np.testing.assert_allclose(g, N * net.gradient(p), rtol=1e-15, atol=0)
    np.testing.assert_allclose(mgf.hessian(net, p, reduction="sum"), N * net.hessian(p),
                               rtol=1e-15, atol=0)
    with pytest.raises(ValueError, match="argument `reduction`"):
        mgf.loss(net, p, reduction="avg")


def test_hessian_spectrum_is_an_eigen(problem):
    net, p, _ = problem
    spec = mgf.hessian_spectrum(net, p)
    H = net.hessian(p)
    assert np.all(np.diff(spec.values) >= 0)
    scale = np.abs(H).max()
    np.testing.assert_allclose(H @ spec.vectors, spec.vectors * spec.values, atol=1e-12 * scale)
    evals, evecs = spec
    assert evals is spec.values and evecs is spec.vectors


def test_teacher_from_input_and_gauss_hermite_from_a_net():
    X = np.random.default_rng(1).standard_normal((7, 3))
    t = mgf.TeacherNet([(2, "erf", True), (1, "identity", True)], input=X, rng=0)
    assert t.din == 3 and np.array_equal(t.target, t(X)) and np.array_equal(t.input, X)
    with pytest.raises(ValueError, match="argument `din`"):
        mgf.TeacherNet([(2, "erf", True), (1, "identity", True)], input=X, din=2)
    with pytest.raises(TypeError, match="give `din` or `input`"):
        mgf.TeacherNet([(2, "erf", True), (1, "identity", True)])
    teacher = mgf.TeacherNet([(2, "erf", True), (1, "identity", True)], din=1, rng=0)
    layers = [(3, "erf", True), (1, "identity", True)]
    a = mgf.gauss_hermite_net(teacher, mgf.Net(layers, din=1))
    b = mgf.gauss_hermite_net(teacher, layers, 1)
    np.testing.assert_array_equal(a.input, b.input)
    np.testing.assert_array_equal(a.weights, b.weights)


def test_params2dict_of_a_result(problem):
    net, p0, _ = problem
    res = mgf.train(net, p0, **KW)
    d = mgf.params2dict(res)
    assert {k: v.shape for k, v in d.items()} == {"w1": (2, 3), "w2": (1, 3)}
    np.testing.assert_array_equal(mgf.params(d), res.x)
    with pytest.raises(TypeError, match="does not know its layer shapes"):
        mgf.params2dict(res.x)


def test_split_neuron_at_position_j(problem):
    net, p0, _ = problem
    fit = mgf.train(net, p0, maxiterations_ode=3000, verbosity=0)
    X = net.input
    for j in (1, 2):
        wide, q = mgf.landscape.split_neuron(net, fit.x, 0, 0.3, j=j)
        np.testing.assert_allclose(wide(q, X), net(fit.x, X), rtol=0, atol=1e-14)
        assert np.abs(wide.gradient(q)).max() <= 10 * max(fit.gnorm, 1e-15)
        W = wide.unflatten(q)[0]
        np.testing.assert_array_equal(W[j], W[0])
    default = mgf.landscape.split_neuron(net, fit.x, 0, 0.3)[1]
    np.testing.assert_array_equal(mgf.landscape.split_neuron(net, fit.x, 0, 0.3, j=1)[1], default)
    for bad in (0, 3, 1.5):
        with pytest.raises(ValueError, match="argument `j`"):
            mgf.landscape.split_neuron(net, fit.x, 0, 0.3, j=bad)


def test_to_local_coords_inverts_point():
    rng = np.random.default_rng(3)
    S = mgf.landscape.LinearSubspace(rng.standard_normal(6), rng.standard_normal(6),
                                     rng.standard_normal(6))
    a = mgf.landscape.to_local_coords(S, S.point(0.7, -1.3))
    np.testing.assert_allclose(a, [0.7, -1.3], rtol=0, atol=1e-13)


@pytest.mark.parametrize("h,a", [(0.0, 0.5), (0.7, 1.0), (-1.3, 0.2), (2.5, 4.0), (0.3, -2.0)])
def test_owent_against_quadrature(h, a):
    from scipy.integrate import quad

    want, err = quad(lambda x: np.exp(-h * h * (1 + x * x) / 2) / (1 + x * x), 0, a,
                     epsabs=1e-15, epsrel=1e-13)
    assert float(mgf.gaussian.owent(h, a)) == pytest.approx(want / (2 * np.pi), rel=1e-12, abs=1e-16)
