"""RK4: the adaptive solver (OrdinaryDiffEq's residual estimate and PI controller) and the
fixed-step one, against closed forms, SciPy at tight tolerance and a literal transcription
of OrdinaryDiffEq's error estimate."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import mlpgradientflow as mgf
from mlpgradientflow import NonFiniteError
from mlpgradientflow.training.solvers import RK4, FlowProblem, SolverFailure, get_solver

QUIET = dict(verbosity=0)
LAM = -1.0


def _forced(t, y):
    """y' = LAM (y - cos t) - sin t: y(t) = cos t + (y0 - 1) e^(LAM t)."""
    return LAM * (y - np.cos(t)) - np.sin(t)


def _exact(t, y0=2.0):
    return np.cos(t) + (y0 - 1.0) * np.exp(LAM * t)


def _solve(solver, prob, y0):
    solver.start(prob, 0.0, np.atleast_1d(np.asarray(y0, dtype=float)))
    while solver.t < prob.t_bound:
        solver.step()
    return solver


@pytest.fixture(scope="module")
def small():
    """A teacher-student problem with P = 9 (tanh student of width 2)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 2))
    teacher = mgf.TeacherNet([(4, "tanh", True), (1, "identity", True)], din=2,
                             params=rng.standard_normal(17) * 1.5)
    net = mgf.Net([(2, "tanh", True), (1, "identity", True)], input=X, target=teacher(X))
    return net, net.random_params(7)


# -- order and tolerance proportionality ---------------------------------------------------
def test_the_fixed_step_method_is_of_order_four():
    errs = []
    for h in (0.2, 0.1, 0.05):
        s = _solve(RK4(dt=h, adaptive=False), FlowProblem(_forced, None, t_bound=4.0), 2.0)
        assert s.n_steps == round(4.0 / h) and s.nfev == 4 * s.n_steps + 1
        errs.append(abs(s.y[0] - _exact(4.0)))
    ratios = np.array(errs[:-1]) / np.array(errs[1:])
    assert np.all((ratios > 14) & (ratios < 18)), ratios  # 2^4 = 16


def test_the_adaptive_error_is_proportional_to_the_tolerance():
    """The defect is O(h^4) and controls about the error per unit step: the global error
    scales like tol^1 and stays below tol, the steps like tol^(-1/4)."""
    tols = np.array([1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10])
    errs, steps = [], []
    for tol in tols:
        s = _solve(RK4(), FlowProblem(_forced, None, rtol=tol, atol=tol, t_bound=10.0), 2.0)
        errs.append(abs(s.y[0] - _exact(10.0)))
        steps.append(s.n_steps)
        # k1 at the start, one trial for the first step, six per attempted step
        assert s.nfev == 2 + 6 * (s.n_steps + s.n_rejected)
    slope = np.polyfit(np.log(tols), np.log(errs), 1)[0]
    step_slope = np.polyfit(np.log(tols), np.log(steps), 1)[0]
    assert 0.9 < slope < 1.1, slope
    assert -0.3 < step_slope < -0.2, step_slope
    assert np.all(np.array(errs) < tols), errs


def test_the_error_estimate_is_ordinary_diffeq_s_term_for_term():
    """EEst against a literal transcription of OrdinaryDiffEq's perform_step! for RK4 on a
    nonlinear system; and EEst = O(h^4)."""
    def f(t, y):
        return np.array([y[1], -np.sin(y[0]) - 0.1 * y[1] + np.cos(t)])

    atol, rtol = 1e-7, 1e-5
    prob = FlowProblem(f, None, rtol=rtol, atol=atol, t_bound=math.inf)
    ests = []
    for dt in (0.1, 0.05, 0.025, 0.0125):
        s = RK4()
        s.start(prob, 0.3, np.array([1.0, -0.5]))
        u, k5 = s._rk4(dt, s.y, s.k1)
        ests.append(s._defect(dt, s.y, u, s.k1, k5))
        t, uprev, k1 = 0.3, s.y, s.k1
        e = []
        for sig in (1 / 2 - math.sqrt(3) / 6, 1 / 2 + math.sqrt(3) / 6):
            p = (1 - sig) * uprev + sig * u + sig * (sig - 1) * (
                (1 - 2 * sig) * (u - uprev) + (sig - 1) * dt * k1 + sig * dt * k5)
            pprime = k1 + sig * (-4 * dt * k1 - 2 * dt * k5 - 6 * uprev
                                 + sig * (3 * dt * k1 + 3 * dt * k5 + 6 * uprev - 6 * u)
                                 + 6 * u) / dt
            res = dt * (f(t + sig * dt, p) - pprime)
            res = res / (atol + np.maximum(np.abs(uprev), np.abs(u)) * rtol)
            e.append(np.sqrt(np.mean(res**2)))
        # rounding in p and p' is a few ulps of |y| ~ 1, divided by the scale rtol |y|
        np.testing.assert_allclose(ests[-1], 2.1342 * max(e), rtol=1e-12,
                                   atol=100 * np.finfo(float).eps / rtol)
    ratios = np.array(ests[:-1]) / np.array(ests[1:])
    assert np.all((ratios > 15) & (ratios < 18)), ratios  # -> 2^4


# -- a gradient flow against SciPy -------------------------------------------------------------
def test_the_gradient_flow_agrees_with_solve_ivp_at_tight_tolerance(small):
    net, p0 = small
    T = 20.0
    tol = 1e-10
    res = mgf.train(net, p0, alg="rk4", maxT=T, reltol=tol, abstol=tol,
                    maxiterations_optim=0, min_gnorm=0.0, stop_on_channel=False,
                    n_samples_trajectory=30, **QUIET)
    assert res.ode_stopped_by == "maxT"
    ts = res.trajectory.t
    ref = solve_ivp(lambda t, x: -net.gradient(x), (0.0, T), p0, method="DOP853",
                    rtol=1e-13, atol=1e-13, t_eval=ts)
    assert ref.success
    # the trajectory is the solver's dense output (cubic Hermite) at log-spaced times, whose
    # residual the estimate controls: the error is about proportional to tol (|p| < 1)
    err = np.abs(res.trajectory.x - ref.y.T).max()
    assert err < 30 * tol, err


# -- step rejection, stiffness, failures ------------------------------------------------------
def test_a_step_across_a_sudden_stiffening_is_rejected_and_retried_smaller():
    """y' = -lambda(t) y, lambda = 1 before t = 1 and 1000 after: the steps that reach
    into t > 1 have errors far above the tolerance and are rejected until h ~ 1e-9."""
    prob = FlowProblem(lambda t, y: -np.where(t < 1.0, 1.0, 1000.0) * y, None, rtol=1e-6,
                       atol=1e-8, t_bound=2.0)
    s = RK4()
    s.start(prob, 0.0, np.ones(1))
    rejected_at = []
    while s.t < 2.0:
        t0, n = s.t, s.n_rejected
        s.step()
        if s.n_rejected > n:
            rejected_at.append(t0)
        if t0 < 1.0 <= s.t:
            h_across = s.t - t0
    assert s.n_rejected >= 20 and all(0.9 < t < 1.0 for t in rejected_at), rejected_at
    assert h_across < 1e-6
    assert abs(s.y[0]) < 1e-8  # e^-1001 to atol


def test_the_step_settles_at_the_stability_limit_on_a_stiff_problem():
    """y' = -A y with eigenvalues 1 and 1000: once the fast mode has decayed, the PI
    controller holds h * 1000 at RK4's real stability limit 2.785 instead of oscillating
    around it with rejections (why explicit solvers are slow on stiff gradient flows)."""
    lam = np.array([1.0, 1000.0])
    prob = FlowProblem(lambda t, y: -lam * y, None, rtol=1e-6, atol=1e-6, t_bound=5.0)
    s = RK4()
    s.start(prob, 0.0, np.ones(2))
    hs = []
    while s.t < 5.0:
        t0 = s.t
        s.step()
        hs.append(s.t - t0)
    late = np.array(hs[len(hs) // 2:-1]) * 1000
    np.testing.assert_allclose(late, 2.7853, rtol=1e-3)
    assert s.n_rejected <= 5
    np.testing.assert_allclose(s.y, np.exp(-lam * 5.0), atol=1e-6)


def test_a_trial_that_overflows_is_rejected_and_the_solver_recovers():
    def fun(t, y):
        if np.abs(y).max() > 5:
            raise NonFiniteError("overflow")
        return -y

    prob = FlowProblem(fun, None, rtol=1e-8, atol=1e-8, dt=100.0, t_bound=2.0)
    s = _solve(RK4(), prob, 1.0)
    assert s.n_rejected >= 2
    assert abs(s.y[0] - math.exp(-2.0)) < 1e-7


def test_a_blow_up_raises_solver_failure():
    """y' = y^2, y(0) = 1 blows up at t = 1: the steps shrink until they fail."""
    prob = FlowProblem(lambda t, y: y * y, None, rtol=1e-6, atol=1e-6, t_bound=2.0)
    s = RK4()
    s.start(prob, 0.0, np.ones(1))
    with pytest.raises(SolverFailure, match="rk4: "):
        while s.t < 2.0:
            s.step()
    assert 0.99 < s.t < 1.001 and s.y[0] > 1e6


def test_nan_from_the_right_hand_side_is_a_rejection_then_a_failure():
    prob = FlowProblem(lambda t, y: np.full_like(y, np.nan) if t > 0 else -y, None,
                       dt=1e-3, t_bound=1.0)
    s = RK4(max_rejections=5)
    s.start(prob, 0.0, np.ones(3))
    with pytest.raises(SolverFailure, match="6 consecutive rejected steps"):
        s.step()
    assert s.n_rejected == 6 and s.t == 0.0


class _Quartic:
    """L(p) = -sum p^4 / 4: the gradient flow p' = p^3 blows up at t = 1/(2 p0^2)."""

    nparams = 2

    def fg(self, p, maxnorm=math.inf, merge=None):
        with np.errstate(over="ignore", invalid="ignore"):
            return float(-np.sum(p**4) / 4), -(p**3)

    def fgh(self, p, maxnorm=math.inf, merge=None):
        loss, g = self.fg(p)
        return loss, g, np.diag(-3 * p**2)


def test_a_diverging_flow_ends_as_a_solver_failure_keeping_the_best_finite_point():
    """As for every flow solver: a SolverFailure after the first step ends the phase with
    "solver failure" and the solver's message (before it: "failed: ..."), best point kept."""
    model, p0 = _Quartic(), np.array([1.0, 0.5])
    res = mgf.train(model, p0, alg="rk4", maxiterations_optim=0, end_state=False,
                    stop_on_channel=False, **QUIET)
    assert res.ode_stopped_by == "solver failure" and res.ode.message.startswith("rk4: ")
    assert not res.converged
    assert np.isfinite(res.x).all() and res.loss < model.fg(p0)[0]


# -- budgets, determinism, names, bad input ------------------------------------------------------
def test_the_step_budget_is_a_count_and_runs_are_deterministic(small):
    net, p0 = small
    a, b = (mgf.train(net, p0, alg="rk4", maxiterations_ode=60, maxiterations_optim=0,
                      **QUIET) for _ in range(2))
    assert a.ode_stopped_by == "maxiterations ≥ 60" and a.ode_iterations == 60
    assert a.x.tobytes() == b.x.tobytes() and a.n_gradients == b.n_gradients
    assert a.trajectory.x.tobytes() == b.trajectory.x.tobytes()


def test_names_map_to_the_adaptive_and_the_fixed_solver():
    a, f = get_solver("rk4"), get_solver("rk4_fixed")
    assert (a.name, a.adaptive, f.name, f.adaptive) == ("rk4", True, "rk4_fixed", False)
    with pytest.raises(ValueError, match="did you mean 'rk4_fixed'"):
        mgf.train(mgf.Net([(1, "identity", True)], input=np.ones((3, 1)), target=np.ones(3)),
                  np.zeros(2), alg="rk4_fixd")


def test_the_fixed_step_defaults_to_one_over_lambda_max():
    A = np.diag([0.5, 4.0])
    prob = FlowProblem(lambda t, y: -A @ y, lambda t, y: -A, t_bound=1.0)
    s = RK4(adaptive=False)
    s.start(prob, 0.0, np.ones(2))
    assert s.h == 0.25
    s.step()
    assert s.t == 0.25 and s.n_rejected == 0


@pytest.mark.parametrize("kw, name", [(dict(dt=-1.0), "dt"), (dict(qmin=1.5), "qmin"),
                                      (dict(qmax=0.5), "qmax"), (dict(gamma=0.0), "gamma"),
                                      (dict(beta1=0.0), "beta1"), (dict(max_rejections=0),
                                                                   "max_rejections")])
def test_bad_constants_name_the_argument(kw, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        RK4(**kw)
