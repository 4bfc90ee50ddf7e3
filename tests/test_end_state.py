"""End states: every point is classified as an independent Hessian (torch autograd) and the
known channel limit say; convergence is critical-within-noise, in both directions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from oracle import torch_derivs
from scipy import optimize, special

import mlpgradientflow as mgf
from mlpgradientflow.endstate import EndKind, EndState, noise_floor
from mlpgradientflow.theory import channels as ch


def torch_counts(net, p, zero_tol=1e-9):
    """Morse counts from torch's Hessian (an independent implementation)."""
    ev = np.linalg.eigvalsh(torch_derivs(net, p)[2])
    cut = zero_tol * np.abs(ev).max()
    return int((ev < -cut).sum()), int((np.abs(ev) <= cut).sum()), int((ev > cut).sum())


@pytest.fixture(scope="module", params=[False, True], ids=["no bias", "bias"])
def one_neuron(request):
    """A width-1 tanh net trained to its minimum on sin(2x) (B of its duplication line is
    1 x 1 without biases, 2 x 2 and indefinite with them)."""
    bias = request.param
    X = np.random.default_rng(0).standard_normal((200, 1))
    net = mgf.Net([(1, "tanh", bias), (1, "identity", bias)], input=X, target=np.sin(2 * X))
    fit = mgf.train(net, [1.0, 0.0, 1.0, 0.0] if bias else [1.0, 1.0], verbosity=0)
    assert fit.end_state.kind == "minimum" and fit.converged
    return net, fit


def test_a_minimum_agrees_with_torch(one_neuron):
    net, fit = one_neuron
    st = mgf.end_state(net, fit.x)
    assert st.kind == EndKind.MINIMUM and st.critical and st.channel is None
    assert (st.n_negative, st.n_zero, st.n_positive) == torch_counts(net, fit.x)
    assert st.gnorm <= st.gtol and st.gtol == max(1e-15, st.noise.gradient)


@pytest.mark.parametrize("gamma", [-1.0, 0.3, 2.0])
def test_a_saddle_made_by_symmetry(one_neuron, gamma):
    """Duplicating the neuron puts the point on a line of critical points (Fukumizu & Amari):
    minima for gamma in (0, 1) when B > 0 and saddles outside, the reverse for B < 0, saddles
    everywhere for an indefinite B. The classification agrees with torch's Hessian and with
    B."""
    net, fit = one_neuron
    verdict = ch.saddle_line_stability(net, fit.x, 0)["verdict"]
    two, q = mgf.landscape.split_neuron(net, fit.x, 0, gamma=gamma)
    st = mgf.end_state(two, q)
    inside = 0 < gamma < 1
    expect = {"plateau of minima": "minimum" if inside else "saddle",
              "strict saddles": "saddle" if inside else "minimum",
              "indefinite": "saddle"}[verdict]
    assert st.kind == expect, (st, verdict)
    assert (st.n_negative, st.n_zero, st.n_positive) == torch_counts(two, q)
    assert st.n_zero >= 1  # the line itself


def test_a_zero_loss_minimum():
    X = np.random.default_rng(1).standard_normal((300, 2))
    teacher = mgf.TeacherNet([(2, "softplus", True), (1, "identity", True)], din=2, rng=2)
    net = mgf.Net([(2, "softplus", True), (1, "identity", True)], input=X, target=teacher(X))
    st = mgf.end_state(net, teacher.params)
    assert st.kind == "minimum" and st.zero_loss and st.loss < 1e-30
    assert (st.n_negative, st.n_zero, st.n_positive) == torch_counts(net, teacher.params)


def test_a_run_cut_short_is_not_converged(one_neuron):
    net, _ = one_neuron
    res = mgf.train(net, np.ones(net.nparams), maxiterations_ode=3, maxiterations_optim=0,
                    verbosity=0)
    st = res.end_state
    assert st.kind == "not converged" and not res.converged and not st.critical
    assert st.morse is None and st.n_negative is None and st.gnorm > st.gtol
    assert res.ode_stopped_by == "maxiterations ≥ 3" and res.reproducible


# -- the channels toy (methods.md c.2): x ~ N(0, 1), erf, two neurons without biases ----------
def toy_target(X):
    s = lambda z: special.erf(z / math.sqrt(2))  # noqa: E731
    return s(5 * X + 2.5) + s(5 * X - 2.5)


@pytest.fixture(scope="module")
def toy():
    net = mgf.gauss_hermite_net(toy_target, [(2, "erf", False), (1, "identity", False)], din=1)
    profile = lambda w: ch.glu_readout(net.input, net.target, [w], "erf", weights=net.weights)  # noqa: E731
    w2 = optimize.minimize_scalar(lambda w: profile(w)["loss"], bounds=(2.5, 4.0),
                                  method="bounded", options={"xatol": 1e-10}).x
    return net, w2, profile(w2)


@pytest.mark.parametrize("eps", [1e-2, 1e-3])
def test_a_flat_channel_reports_its_glu_limit(toy, eps):
    """A point placed on channel 2: the pair, eps, and the limit loss of the best GLU with
    that gate (an independent least-squares computation) are reported; not a critical point."""
    net, w2, best = toy
    glu = {"w": [w2], "delta": [1.0], "a": best["v"][0], "c": best["c"]}
    p = ch.place_on_channel(net, np.zeros(4), 0, 1, glu, eps)
    st = mgf.end_state(net, p)
    assert st.kind == "channel" and not st.critical and st.morse is None
    c = st.channel
    assert c.pair == (0, 1) and c.eps == pytest.approx(eps, rel=1e-10)
    assert c.glu["w"][0] == pytest.approx(w2, rel=1e-12)
    assert c.limit_loss == pytest.approx(best["loss"], rel=1e-9)
    assert 0 < c.loss_gap < 10 * eps**2  # l - l0 ~ h eps^2 with h ~ 1e-3
    again = EndState.from_dict(st.to_dict())
    assert again.kind == st.kind and again.channel.pair == c.pair
    np.testing.assert_array_equal(again.channel.direction, c.direction)


def test_training_stops_in_a_channel_and_returns_its_limit(toy):
    """From a seed that drifts into channel 2, train ends on the channel rule (phase 2 is
    skipped) with the channel's limit; without the rule it follows the channel further."""
    net, w2, best = toy
    p0 = np.random.default_rng(0).standard_normal((4, 4))[3] * np.array([2, 2, 1, 1])
    res = mgf.train(net, p0, verbosity=0)
    assert res.ode.reason.name == "CHANNEL" and res.optim_stopped_by == ""
    assert res.ode_stopped_by == "channel (0, 1)" and not res.converged
    c = res.end_state.channel
    assert res.end_state.kind == "channel" and c.late_update_fraction > 0.9
    assert abs(c.glu["w"][0]) == pytest.approx(w2, rel=2e-2)
    assert best["loss"] < c.limit_loss < best["loss"] * 1.01 and c.limit_loss < res.loss
    longer = mgf.train(net, p0, maxiterations_ode=1500, maxiterations_optim=0,
                       stop_on_channel=False, verbosity=0)
    assert longer.end_state.kind == "channel" and longer.end_state.channel.eps < c.eps


def test_deep_nets_have_no_channels_but_are_classified():
    X = np.random.default_rng(3).standard_normal((100, 2))
    y = np.sin(3 * X[:, :1]) * np.cos(2 * X[:, 1:])  # not representable: a minimum with L > 0
    net = mgf.Net([(3, "tanh", True), (2, "tanh", True), (1, "identity", True)], input=X, target=y)
    res = mgf.train(net, net.random_params(0), verbosity=0)
    st = res.end_state
    assert st.kind in ("minimum", "saddle") and res.converged, st
    assert (st.n_negative, st.n_zero, st.n_positive) == torch_counts(net, res.x)


# -- honest convergence --------------------------------------------------------------------
SOFTPLUS_NETI = [(5, 4, 0), (4, 3, 0), (5, 4, 1), (4, 2, 1)]


@pytest.mark.parametrize("teacher_width, width, seed", SOFTPLUS_NETI)
def test_neti_softplus_minima_reach_1e_14(teacher_width, width, seed):
    """Infinite data, softplus, no biases (the reference's NetI example): Newton's best-point
    and line-search rules see the loss's noise (~1e-14 where L ~ 1e-9 is a remainder of O(1)
    terms), so the runs end converged at |grad| <= 1e-14."""
    teacher = mgf.TeacherNet([(teacher_width, "softplus", False), (1, "identity", False)],
                             din=2, rng=seed)
    neti = mgf.NetI(teacher, [(width, "softplus", False), (1, "identity", False)])
    res = mgf.train(neti, neti.random_params(seed + 10), verbosity=0)
    assert res.converged and res.end_state.kind in ("minimum", "saddle"), res
    assert res.loss > 0 and res.gnorm <= 1e-14, res


def test_a_negative_neti_loss_is_noise_not_a_zero_loss_solution():
    """Student = teacher width: the loss goes to zero through cancellation and comes out
    around +-1e-15. minloss never fires on that; the run ends as a zero-loss minimum."""
    teacher = mgf.TeacherNet([(2, "erf", False), (1, "identity", False)], din=3, rng=0)
    neti = mgf.NetI(teacher, [(2, "erf", False), (1, "identity", False)])
    res = mgf.train(neti, teacher.params * 1.01, verbosity=0)
    assert "minloss" not in res.ode_stopped_by + res.optim_stopped_by
    assert res.converged and res.end_state.kind == "minimum" and res.end_state.zero_loss
    assert abs(res.loss) < 1e-13  # zero up to the rounding of its O(1) terms


def test_converged_at_the_noise_floor_above_min_gnorm():
    """A gradient at the floor of the evaluation counts as converged even when the floor is
    above min_gnorm; a gradient above the floor does not, whatever min_gnorm says."""
    X = np.random.default_rng(0).standard_normal((2000, 2)) * 30  # large inputs: a high floor
    teacher = mgf.TeacherNet([(3, "softplus", True), (1, "identity", True)], din=2, rng=1)
    net = mgf.Net([(2, "softplus", True), (1, "identity", True)], input=X, target=teacher(X))
    res = mgf.train(net, net.random_params(0), min_gnorm=1e-16, verbosity=0)
    st = res.end_state
    floor = noise_floor(net, res.x).gradient
    assert st.noise.gradient == floor and floor > 1e-16
    assert res.converged == (st.gnorm <= floor) and res.converged, (st, res)
    strict = mgf.end_state(net, res.x + 1e-6)  # moved off: not critical
    assert strict.kind == "not converged"


def test_reference_readme_neti_fine_tuning():
    """The reference's README example, ported: a student trained on 10^4 samples, then
    fine-tuned on infinite data (NetI) from its end point, lands at |grad| <= 1e-14."""
    teacher = mgf.TeacherNet([(5, "softplus", False), (1, "identity", False)], din=2, rng=0)
    X = np.random.default_rng(0).standard_normal((10_000, 2))
    layers = [(4, "softplus", False), (1, "identity", False)]
    student = mgf.Net(layers, input=X, target=teacher(X))
    res = mgf.train(student, student.random_params(0), verbosity=0)
    fine = mgf.train(mgf.NetI(teacher, layers), res.x, verbosity=0)
    assert res.converged and fine.converged and fine.end_state.kind == "minimum"
    assert fine.gnorm <= 1e-14 and 0 < fine.loss < res.loss + 1e-3


def test_a_phase_stopped_at_the_floor_ends_critical():
    """Regression: with a noise-floor margin of 2, Newton stopped on ``min_gnorm`` (gradient
    from ``fgh``) while the end state, from ``fg`` at the same point, was 1.3x above the
    floor and said "not converged". A converged stop and the end state must agree."""
    teacher = mgf.TeacherNet([(8, "softplus", False), (1, "identity", False)], din=9, rng=1)
    neti = mgf.NetI(teacher, [(3, "softplus", False), (1, "identity", False)])
    res = mgf.train(neti, neti.random_params(0), maxiterations_ode=3000,
                    maxiterations_optim=500, verbosity=0)
    stopped_converged = res.ode.reason.converged or res.optim.reason.converged
    assert stopped_converged
    assert res.end_state.critical and res.end_state.kind == "minimum"
    assert res.gnorm <= res.end_state.gtol
