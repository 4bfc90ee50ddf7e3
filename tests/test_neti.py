"""NetI: exact population losses against Gauss–Hermite nets, finite differences, the
reference's bugs (items 9-12), degenerate points, and training."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import mlpgradientflow as mgf
from conftest import assert_close_rel, fd_gradient, fd_hessian

SMOOTH = ["sigmoid2", "normal_cdf", "softplus", "tanh"]
BIASES = [(False, False), (True, False), (False, True), (True, True)]


def _pair(act, biases, din=2, k=2, r=3, seed=0, act_teacher=None):
    rng = np.random.default_rng(seed)
    b1, b2 = biases
    tl = [(r, act_teacher or act, b1), (1, "identity", b2)]
    P_t = mgf.Net(tl, din=din).nparams
    teacher = mgf.TeacherNet(tl, din=din, params=rng.standard_normal(P_t))
    layers = [(k, act, b1), (1, "identity", b2)]
    neti = mgf.NetI(teacher, layers)
    p = neti.random_params(rng) + 0.4 * rng.standard_normal(neti.nparams)
    return neti, teacher, layers, p


@pytest.mark.parametrize("act", SMOOTH)
@pytest.mark.parametrize("biases", BIASES)
def test_neti_matches_gauss_hermite_net(act, biases):
    neti, teacher, layers, p = _pair(act, biases)
    gh = mgf.gauss_hermite_net(teacher, layers, din=2)
    L, g, H = neti.fgh(p)
    Lg, gg, Hg = gh.fgh(p)
    assert L == pytest.approx(Lg, rel=1e-12)
    assert_close_rel(g, gg, 1e-11, "gradient")
    assert_close_rel(H, Hg, 1e-11, "Hessian")


@pytest.mark.parametrize("act", SMOOTH + ["relu"])
@pytest.mark.parametrize("biases", BIASES)
def test_neti_derivatives_match_finite_differences(act, biases):
    neti, _, _, p = _pair(act, biases, din=3, seed=1)
    g, H = neti.gradient(p), neti.hessian(p)
    np.testing.assert_array_equal(H, H.T)
    assert_close_rel(g, fd_gradient(neti.loss, p), 1e-7, "gradient vs FD")
    assert_close_rel(H, fd_hessian(neti.gradient, p), 1e-6, "Hessian vs FD")


def _bounded_by_estimate(model, got, want):
    """The differences of (L, g, H) to ``want`` are within the last absolute estimates."""
    est = model.last_error_estimate
    for x, y, key in zip(got, want, ("loss_abs", "gradient_abs", "hessian_abs"), strict=True):
        assert np.abs(np.subtract(x, y)).max() <= est[key], key


@pytest.mark.parametrize("act", SMOOTH + ["gelu"])
def test_hermite_method_matches_the_default(act):
    """method="hermite": Mehler's series for every pair (no fallback), against the default
    (closed forms for the erf family, the series with its fallbacks otherwise)."""
    neti, teacher, layers, p = _pair(act, (True, True), din=3, k=3, seed=3)
    series = mgf.NetI(teacher, layers, method="hermite", tol=1e-6)
    want = neti.fgh(p)
    with warnings.catch_warnings():
        warnings.simplefilter("error", mgf.gaussian.AccuracyWarning)
        got = series.fgh(p)
    assert got[0] == pytest.approx(want[0], rel=1e-12)
    assert_close_rel(got[1], want[1], 1e-11, "gradient")
    assert_close_rel(got[2], want[2], 1e-11, "Hessian")
    _bounded_by_estimate(series, got, want)
    assert series.with_layers(layers).method == "hermite"


@pytest.mark.parametrize("act", ["relu", "g"])
def test_hermite_method_estimates_its_error_where_the_series_is_slow(act):
    """Kinks (relu) and narrow transitions (g: sigma(4y)) make the series of pairs near
    |u| = 1 converge slowly: without the default's fallbacks it warns, and its estimate
    bounds the actual error against the default (closed forms for relu)."""
    neti, teacher, layers, p = _pair(act, (True, True), din=3, k=3, seed=3)
    series = mgf.NetI(teacher, layers, method="hermite")
    want = neti.fgh(p)
    with pytest.warns(mgf.gaussian.AccuracyWarning, match="estimated relative error"):
        got = series.fgh(p)
    _bounded_by_estimate(series, got, want)


def test_relu_loss_against_monte_carlo():
    neti, teacher, layers, p = _pair("relu", (True, True), din=3, seed=2)
    X = np.random.default_rng(5).standard_normal((400_000, 3))
    mc = mgf.Net(layers, input=X, target=teacher(X)).loss(p)
    assert neti.loss(p) == pytest.approx(mc, rel=2e-2)


def test_mixed_teacher_and_student_activations():
    neti, teacher, layers, p = _pair("tanh", (True, True), act_teacher="softplus")
    gh = mgf.gauss_hermite_net(teacher, layers, din=2)
    assert neti.loss(p) == pytest.approx(gh.loss(p), rel=1e-12)
    assert_close_rel(neti.hessian(p), gh.hessian(p), 1e-11, "Hessian")


def test_reference_bug_9_biasless_teacher_with_nonzero_mean():
    """A biasless teacher whose activation has E[f] != 0 and a student output bias c != 0:
    the reference drops -2 c E[t]."""
    rng = np.random.default_rng(0)
    teacher = mgf.TeacherNet([(3, "softplus", False), (1, "identity", False)], din=2,
                             params=rng.standard_normal(9))
    layers = [(2, "softplus", False), (1, "identity", True)]
    neti, gh = mgf.NetI(teacher, layers), mgf.gauss_hermite_net(teacher, layers, din=2)
    p = neti.random_params(1)
    p[-1] = 0.7  # c
    assert neti.loss(p) == pytest.approx(gh.loss(p), rel=1e-12)
    assert_close_rel(neti.gradient(p), gh.gradient(p), 1e-11, "gradient")


def test_reference_bug_10_equal_output_biases():
    """c = c* exactly (the default at initialisation): the reference's dL/dc and cross
    terms with c vanish wrongly."""
    neti, teacher, layers, p = _pair("sigmoid2", (True, True))
    c_star = teacher.net.unflatten(teacher.params)[1][0, -1]
    p[-1] = c_star
    gh = mgf.gauss_hermite_net(teacher, layers, din=2)
    assert_close_rel(neti.gradient(p), gh.gradient(p), 1e-11, "gradient")
    assert_close_rel(neti.hessian(p), gh.hessian(p), 1e-11, "Hessian")
    assert abs(neti.gradient(p)[-1]) > 1e-3  # the mean mismatch still pulls on c


@pytest.mark.parametrize("act", ["sigmoid2", "softplus"])
def test_reference_bug_11_zero_norm_and_parallel_neurons(act):
    neti, teacher, layers, p = _pair(act, (True, True), k=3)
    gh = mgf.gauss_hermite_net(teacher, layers, din=2)
    W = neti.unflatten(p)[0]
    W[1, :2] = 2.5 * W[0, :2]  # parallel students: |cos| = 1
    W[2, :2] = 0.0  # zero incoming vector
    L, g, H = neti.fgh(p)
    assert np.isfinite(L) and np.isfinite(g).all() and np.isfinite(H).all()
    assert L == pytest.approx(gh.loss(p), rel=1e-12)
    assert_close_rel(g, gh.gradient(p), 1e-9, "gradient")
    assert_close_rel(H, gh.hessian(p), 1e-8, "Hessian")
    Wt = teacher.net.unflatten(teacher.params)[0]
    W[0, :2] = -0.7 * Wt[0, :2]  # anti-parallel to a teacher neuron
    assert_close_rel(neti.hessian(p), gh.hessian(p), 1e-8, "Hessian (cos = -1)")


def test_reference_bug_11_one_input_dimension():
    """D = 1: every cosine is +-1."""
    neti, teacher, layers, p = _pair("tanh", (True, True), din=1)
    gh = mgf.gauss_hermite_net(teacher, layers, din=1)
    assert neti.loss(p) == pytest.approx(gh.loss(p), rel=1e-12)
    assert_close_rel(neti.hessian(p), gh.hessian(p), 1e-10, "Hessian")


def test_reference_bug_12_barrier_and_merge():
    neti, teacher, layers, p = _pair("sigmoid2", (True, True), k=3)
    gh = mgf.gauss_hermite_net(teacher, layers, din=2)
    regs = dict(maxnorm=0.01, merge=(0, (0, 2), 0.5))
    L, g, H = neti.fgh(p, **regs)
    assert L > neti.loss(p)
    assert L == pytest.approx(gh.loss(p, **regs), rel=1e-12)
    assert_close_rel(g, gh.gradient(p, **regs), 1e-11, "gradient")
    assert_close_rel(H, gh.hessian(p, **regs), 1e-11, "Hessian")


def test_net_interface_and_forward():
    neti, teacher, layers, p = _pair("softplus", (True, True))
    X = np.random.default_rng(0).standard_normal((5, 2))
    np.testing.assert_allclose(neti(p, X), mgf.Net(layers, din=2)(p, X))
    assert neti.random_params(3).shape == (neti.nparams,) and neti.n_samples == 1
    g = np.empty(neti.nparams)
    assert neti.fg(p, grad_out=g)[1] is g
    assert "NetI" in repr(neti)


@pytest.mark.parametrize(
    "layers,msg",
    [
        ([(2, "tanh", True), (2, "tanh", True), (1, "identity", True)], "exactly one hidden layer"),
        ([(2, "tanh", True), (2, "identity", True)], "one identity output"),
        ([(2, ("tanh", "relu"), True), (1, "identity", True)], "per-neuron"),
    ],
)
def test_unsupported_architectures_raise(layers, msg):
    teacher = mgf.TeacherNet([(2, "tanh", True), (1, "identity", True)], din=2, rng=0)
    with pytest.raises(ValueError, match=msg):
        mgf.NetI(teacher, layers)
    with pytest.raises(TypeError, match="teacher"):
        mgf.NetI("teacher", [(2, "tanh", True), (1, "identity", True)])


def test_flows_of_neti_and_gauss_hermite_net_end_at_the_same_point():
    """A student narrower than the teacher, so the minimum has L > 0 (NetI's loss is a sum
    of O(1) terms: near L = 0 it is known only to about 1e-16 absolute)."""
    rng = np.random.default_rng(4)
    tl = [(3, "sigmoid2", True), (1, "identity", True)]
    teacher = mgf.TeacherNet(tl, din=2, params=rng.standard_normal(13) * 1.5)
    layers = [(2, "sigmoid2", True), (1, "identity", True)]
    neti, gh = mgf.NetI(teacher, layers), mgf.gauss_hermite_net(teacher, layers, din=2)
    p0 = neti.random_params(5)
    kw = dict(min_gnorm=1e-13, verbosity=0)
    a, b = mgf.train(neti, p0, **kw), mgf.train(gh, p0, **kw)
    assert a.gnorm < 1e-12 and b.gnorm < 1e-12
    np.testing.assert_allclose(a.x, b.x, atol=1e-8)
    assert a.loss == pytest.approx(b.loss, rel=1e-9, abs=1e-20)
    assert math.isfinite(a.trajectory.t[-1])
