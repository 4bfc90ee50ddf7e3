"""Phase 2: the Hager–Zhang line search and :func:`minimize` (Newton and scipy methods)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.optimize

import mlpgradientflow as mgf
from mlpgradientflow.training.linesearch import hager_zhang, satisfies_wolfe
from mlpgradientflow.training.objective import Objective
from mlpgradientflow.training.optimize import (
    METHODS,
    NEWTON_MAX_PARAMS,
    OptimizeOutcome,
    default_method,
    minimize,
    newton_direction,
)
from mlpgradientflow.training.stopping import StopRules

SCIPY_METHODS = ["trust-exact", "bfgs", "l-bfgs-b", "slsqp"]
TEACHER = [(4, "softplus", True), (1, "identity", True)]


# -- helpers ---------------------------------------------------------------------------------
def student(width: int, n: int, noise: float = 0.0, seed: int = 0) -> mgf.Net:
    """Softplus student of the width-4 softplus teacher (Din = 2), optional label noise."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2))
    teacher = mgf.TeacherNet(TEACHER, din=2, rng=1)
    y = teacher(X) + noise * rng.standard_normal((n, 1))
    return mgf.Net([(width, "softplus", True), (1, "identity", True)], input=X, target=y)


def near(x: np.ndarray, scale: float, seed: int = 0) -> np.ndarray:
    return x + scale * np.random.default_rng(seed).standard_normal(x.size)


def run(net, x0, method, **stop) -> tuple[Objective, OptimizeOutcome]:
    obj = Objective(net)
    return obj, minimize(obj, x0, method, StopRules(**stop))


class FakeNet:
    """A Net-like objective from a function ``f(x) -> (loss, g, H)``."""

    def __init__(self, f, nparams: int) -> None:
        self.f, self.nparams = f, nparams

    def fg(self, x, maxnorm=math.inf, merge=None):
        return self.f(x)[:2]

    def fgh(self, x, maxnorm=math.inf, merge=None):
        return self.f(x)


def logcosh_overflowing(x: np.ndarray):
    """sum log cosh(x - 1): Newton from |x| = 3 overshoots into the region |x| > 5, where
    the 'network' overflows (NonFiniteError)."""
    if np.abs(x).max() > 5:
        raise mgf.NonFiniteError("overflow")
    u = x - 1.0
    return 1 + float(np.log(np.cosh(u)).sum()), np.tanh(u), np.diag(1 / np.cosh(u) ** 2)


# -- fixtures: minima, prepared once ---------------------------------------------------------
@pytest.fixture(scope="module")
def min_clean():
    """Width-2 student, noiseless width-4 teacher, N = 10^4: a minimum with L ≈ 5e-5."""
    net = student(2, 10_000)
    obj, _ = run(net, net.random_params(rng=2), "bfgs", maxiterations=3000)
    return net, obj.best_x


@pytest.fixture(scope="module")
def min_noisy():
    """Width-2 student, teacher + 0.1 label noise, N = 10^4: a minimum with L ≈ 0.01."""
    net = student(2, 10_000, noise=0.1)
    obj, _ = run(net, net.random_params(rng=2), "trust-exact", maxiterations=500)
    return net, obj.best_x


@pytest.fixture(scope="module")
def min_degenerate():
    """Width-6 student of the width-4 teacher at an exact zero-loss minimum: teacher
    neuron 0 split into two copies (output weights 0.3 a, 0.7 a) plus a neuron with output
    weight 0; the Hessian is singular (flat and quartic directions)."""
    net = student(6, 500)
    W1, W2 = mgf.TeacherNet(TEACHER, din=2, rng=1).net.unflatten(
        mgf.TeacherNet(TEACHER, din=2, rng=1).params
    )
    M1 = np.vstack([W1, W1[0], [0.7, -0.3, 0.2]])
    a = W2[0]
    M2 = np.array([[0.3 * a[0], a[1], a[2], a[3], 0.7 * a[0], 0.0, a[4]]])
    x = mgf.params((M1[:, :2], M1[:, 2]), (M2[:, :6], M2[:, 6]))
    assert net.loss(x) < 1e-30
    return net, x


# -- line search -----------------------------------------------------------------------------
def rosenbrock_line(x0, d):
    def phi_dphi(a):
        x, y = x0 + a * d
        g = np.array([-400 * x * (y - x * x) - 2 * (1 - x), 200 * (y - x * x)])
        return 100 * (y - x * x) ** 2 + (1 - x) ** 2, float(g @ d)

    return phi_dphi


LINES = {
    "quadratic": lambda a: ((a - 3) ** 2, 2 * (a - 3)),
    "quadratic far": lambda a: ((a - 1e4) ** 2, 2 * (a - 1e4)),
    "quadratic near": lambda a: ((a - 1e-5) ** 2, 2 * (a - 1e-5)),
    "quartic": lambda a: ((a - 2) ** 4 - 3 * (a - 2) ** 2, 4 * (a - 2) ** 3 - 6 * (a - 2)),
    "exp": lambda a: (math.exp(a) - 5 * a, math.exp(a) - 5),
    "rosenbrock": rosenbrock_line(np.array([-1.2, 1.0]), np.array([215.6, 88.0])),
    "rosenbrock unit": rosenbrock_line(np.array([-1.2, 1.0]), np.array([215.6, 88.0]) / 232.9),
    "rosenbrock valley": rosenbrock_line(np.array([0.0, 0.0]), np.array([1.0, 0.5])),
}


@pytest.mark.parametrize("name", list(LINES))
@pytest.mark.parametrize("alpha0", [1e-3, 1.0, 100.0])
def test_hager_zhang_satisfies_wolfe(name, alpha0):
    f = LINES[name]
    phi0, dphi0 = f(0.0)
    res = hager_zhang(f, phi0, dphi0, alpha0)
    assert res.success and res.alpha > 0 and 1 <= res.nevals <= 30
    phi, dphi = f(res.alpha)
    assert (res.phi, res.dphi) == (phi, dphi)
    assert satisfies_wolfe(res.alpha, phi, dphi, phi0, dphi0)


def test_hager_zhang_approximate_wolfe_below_float_resolution():
    """phi = 1 + 1e-20 (a - 1)^2 is computed as 1 + one ulp of roundoff for a > 0 (as a
    loss near a minimum is): no decrease is visible, so the Wolfe test and scipy's line
    search fail for every step; the slope-based approximate test accepts a ≈ 1."""

    def f(a):
        return 1.0 + (2.0**-52 if a > 0 else 0.0) + 1e-20 * (a - 1) ** 2, 2e-20 * (a - 1)

    res = hager_zhang(f, *f(0.0), 1e-3, sigma=0.1)  # curvature test: alpha >= 0.9
    assert res.success and 0.9 <= res.alpha <= 1.1
    assert not f(res.alpha)[0] - 1.0 <= 0.1 * res.alpha * f(0.0)[1]  # plain Wolfe fails
    with pytest.warns(RuntimeWarning):  # scipy's LineSearchWarning: "did not converge"
        out = scipy.optimize.line_search(
            lambda x: f(x[0])[0], lambda x: np.array([f(x[0])[1]]), np.zeros(1), np.ones(1)
        )
    assert out[0] is None


def test_hager_zhang_not_descent_and_bad_input():
    f = LINES["quadratic"]
    assert hager_zhang(f, 9.0, 0.0) == (0.0, 9.0, 0.0, 0, False)
    assert hager_zhang(f, 9.0, 6.0).success is False
    assert hager_zhang(f, math.nan, -6.0).success is False
    with pytest.raises(ValueError):
        hager_zhang(f, 9.0, -6.0, alpha=0.0)
    with pytest.raises(ValueError):
        hager_zhang(f, 9.0, -6.0, delta=0.6)


def test_hager_zhang_shrinks_on_nonfinite():
    f = lambda a: ((a - 0.5) ** 2, 2 * (a - 0.5)) if a < 0.7 else (math.nan, math.inf)  # noqa
    for alpha0 in (1.0, 100.0, 1e-3):
        res = hager_zhang(f, *f(0.0), alpha0)
        assert res.success and res.alpha < 0.7 and math.isfinite(res.phi)


def test_hager_zhang_budget():
    """Unbounded below with constant slope: never acceptable, stops within budget."""
    f = lambda a: (-a, -1.0)  # noqa: E731
    res = hager_zhang(f, 0.0, -1.0, linesearchmax=10)
    assert not res.success and res.alpha > 0 and res.nevals <= 11
    res = hager_zhang(f, 0.0, -1.0, maxevals=3)
    assert not res.success and res.nevals == 3


# -- Newton ----------------------------------------------------------------------------------
def test_newton_direction_descent_at_saddles_and_singular_hessians():
    rng = np.random.default_rng(0)
    for rank in (8, 5, 0):
        A = rng.standard_normal((8, rank))
        H = A @ np.diag(rng.choice([-1.0, 1.0], rank)) @ A.T  # indefinite, singular
        g = rng.standard_normal(8)
        d = newton_direction(g, H)
        assert np.isfinite(d).all() and g @ d < 0
    H = np.diag([2.0, 1.0])
    assert np.allclose(newton_direction(np.array([2.0, 3.0]), H), [-1.0, -3.0])


def test_newton_reaches_1e14_at_teacher_student_minimum(min_clean):
    """Width-2 student of a width-4 teacher, L ≈ 5e-5 > 0, N = 10^4 (a few Newton steps)."""
    net, xmin = min_clean
    obj, out = run(net, near(xmin, 1e-3), "newton", maxiterations=50)
    assert out.stopped_by == "min_gnorm ≤ 1e-15", out
    assert obj.best_gnorm <= 1e-14 and np.abs(net.gradient(obj.best_x)).max() <= 1e-14
    assert out.iterations < 20


def test_bfgs_stalls_where_newton_does_not(min_noisy):
    """BFGS's line search needs a visible loss decrease, about g^2 / (2 lambda); near a
    minimum with L ≈ 0.01 and lambda_min ≈ 5e-8 the decrease drops below the loss's float
    resolution (~1e-18) at |g| ≈ 1e-10..1e-12, where BFGS ends with "precision loss". The
    approximate Wolfe test of our line search uses slopes and keeps converging."""
    net, xmin = min_noisy
    x0 = near(xmin, 1e-2)
    obj, out = run(net, x0, "bfgs", maxiterations=2000)
    assert "precision loss" in out.stopped_by
    assert obj.best_gnorm > 1e-13 and np.abs(net.gradient(out.x)).max() > 1e-13
    obj, out = run(net, x0, "newton", maxiterations=60)
    assert out.stopped_by == "min_gnorm ≤ 1e-15", out
    assert obj.best_gnorm <= 1e-14


def test_newton_at_degenerate_minimum(min_degenerate):
    """Singular Hessian (overparameterised, L = 0): no NaN, small gradient."""
    net, xstar = min_degenerate
    obj, out = run(net, near(xstar, 1e-3), "newton", maxiterations=200, min_gnorm=1e-12)
    assert out.stopped_by == "min_gnorm ≤ 1e-12", out
    assert np.isfinite(out.x).all() and obj.best_gnorm <= 1e-12 and obj.best_loss < 1e-15


def test_newton_escapes_saddle():
    """Width-3 student at the saddle made by duplicating a neuron of a width-2 minimum."""
    net2 = student(2, 1000)
    obj, _ = run(net2, net2.random_params(rng=2), "bfgs", maxiterations=2000)
    W1, W2 = net2.unflatten(obj.best_x)
    net3 = student(3, 1000)
    M1 = np.vstack([W1, W1[0]])
    M2 = np.array([[0.3 * W2[0, 0], W2[0, 1], 0.7 * W2[0, 0], W2[0, 2]]])
    xs = mgf.params((M1[:, :2], M1[:, 2]), (M2[:, :3], M2[:, 3]))
    loss_s, g, H = net3.fgh(xs)
    assert np.abs(g).max() < 1e-9 and np.linalg.eigvalsh(H)[0] < -1e-5  # a saddle
    obj, out = run(net3, near(xs, 1e-6), "newton", maxiterations=30)
    assert np.isfinite(out.x).all() and math.isfinite(net3.loss(out.x))
    assert obj.best_loss < 0.5 * loss_s


def test_newton_stops_at_the_noise_floor(min_clean):
    """With min_gnorm = 0 the iteration runs into the roundoff floor and says so: the
    gradient is at its measured noise floor (a converged end, not a failure)."""
    from mlpgradientflow.endstate import noise_floor
    from mlpgradientflow.training.stopping import StopReason

    net, xmin = min_clean
    obj, out = run(net, xmin, "newton", maxiterations=100, min_gnorm=0.0)
    assert out.stop.reason is StopReason.NOISE_FLOOR and out.stop.reason.converged, out
    floor = noise_floor(net, obj.best_x).gradient
    assert obj.best_gnorm <= floor <= 1e-14


def test_newton_reports_a_line_search_that_fails_above_the_floor():
    """A gradient inconsistent with the loss: no step lowers the loss although the gradient
    is far above its noise floor, so the line search failure is reported as such."""
    from mlpgradientflow.training.stopping import StopReason

    net = FakeNet(lambda x: (float(x @ x), -2 * x, 2 * np.eye(x.size)), 2)  # wrong sign
    obj, out = run(net, np.array([1.0, -0.5]), "newton", maxiterations=100)
    assert out.stop.reason is StopReason.LINE_SEARCH_FAILED, out
    assert "no step found" in out.message and obj.best_gnorm == 2.0


def test_nonfinite_values_are_too_far():
    net = FakeNet(logcosh_overflowing, 3)
    x0 = np.array([3.0, -2.0, 1.5])
    obj, out = run(net, x0, "newton", maxiterations=50)
    assert out.stopped_by == "min_gnorm ≤ 1e-15" and np.allclose(obj.best_x, 1.0)
    for method in SCIPY_METHODS:
        obj, out = run(net, x0, method, maxiterations=50)
        assert np.isfinite(obj.best_loss)


@pytest.mark.parametrize("method", ["newton", "bfgs", "trust-exact"])
def test_keyboard_interrupt_propagates(method):
    calls = []

    def f(x):
        calls.append(1)
        if len(calls) > 3:
            raise KeyboardInterrupt
        return logcosh_overflowing(x)

    with pytest.raises(KeyboardInterrupt):
        run(FakeNet(f, 2), np.array([0.5, 0.2]), method, min_gnorm=0.0)


# -- every method ----------------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_frozen_parameters_stay_fixed(method):
    net = student(3, 300)
    x0 = net.random_params(rng=3)
    tau = np.ones(net.nparams)
    tau[[0, 4, 9, net.nparams - 1]] = 0.0
    obj = Objective(net, tauinv=tau, x0=x0)
    out = minimize(obj, x0, method, StopRules(maxiterations=5))
    frozen = tau == 0
    assert out.x[frozen].tobytes() == x0[frozen].tobytes()
    assert obj.best_x[frozen].tobytes() == x0[frozen].tobytes()
    assert not np.array_equal(obj.best_x[~frozen], x0[~frozen])


def test_all_frozen():
    net = student(2, 100)
    x0 = net.random_params(rng=0)
    out = minimize(Objective(net, tauinv=0.0, x0=x0), x0, "newton", StopRules())
    assert out.iterations == 0 and np.array_equal(out.x, x0)


@pytest.mark.parametrize("method", METHODS)
def test_maxiterations(method):
    net = student(2, 500)
    obj, out = run(net, net.random_params(rng=2), method.upper(), maxiterations=3)
    assert out.stopped_by == "maxiterations ≥ 3" and out.iterations == 3


@pytest.mark.parametrize("method", METHODS)
def test_min_gnorm_rule(method, min_clean):
    net, xmin = min_clean
    obj, out = run(net, near(xmin, 1e-3), method, min_gnorm=1e-8, maxiterations=500)
    assert out.stopped_by == "min_gnorm ≤ 1e-08" and obj.best_gnorm <= 1e-8


@pytest.mark.parametrize(
    "rules, reason",
    [
        ({"maxtime": 0.0}, "maxtime > 0s"),
        ({"minloss": 1.0}, "minloss ≤ 1"),
    ],
)
@pytest.mark.parametrize("method", ["newton", "l-bfgs-b"])
def test_stop_reasons_are_reported(rules, reason, method):
    net = student(2, 300)
    obj, out = run(net, net.random_params(rng=2), method, **rules)
    assert out.stopped_by == reason


def test_patience():
    """Patience fires first; the rules then fire in the reference's order, ours last."""
    from types import SimpleNamespace

    from mlpgradientflow.endstate import NoiseFloor

    def obj(since=0, loss=1.0, gnorm=1.0, floor=0.0, loss_noise=0.0):
        return SimpleNamespace(since_best=lambda: since, best_loss=loss, best_gnorm=gnorm,
                               gradient_floor=lambda: floor,
                               best_noise=lambda: NoiseFloor(loss_noise, floor))

    rules = StopRules(maxiterations=10, patience=3, minloss=1e-30, min_gnorm=1e-15)
    assert rules.check(obj(since=4, loss=0.0, gnorm=0.0), 20).stopped_by == "patience (3)"
    assert rules.check(obj(loss=0.0, gnorm=0.0), 20, t=1e301).stopped_by == "t > 1e300"
    assert rules.check(obj(loss=0.0, gnorm=0.0), 10).stopped_by == "maxiterations ≥ 10"
    assert rules.check(obj(loss=0.0, gnorm=0.0), 1).stopped_by == "minloss ≤ 1e-30"
    # a loss below minloss but not resolved (at its noise floor) does not fire minloss
    assert rules.check(obj(loss=0.0, gnorm=0.5, loss_noise=1e-20), 1) is None
    assert rules.check(obj(loss=-1e-18, gnorm=0.5), 1) is None  # negative: round-off
    assert rules.check(obj(gnorm=1e-16), 1).stopped_by == "min_gnorm ≤ 1e-15"
    assert rules.check(obj(gnorm=1e-13, floor=2e-13), 1).stopped_by == "noise floor (2e-13)"
    assert rules.check(obj(gnorm=1e-13, floor=1e-14), 1) is None


def test_scipy_message_when_scipy_ends():
    net = FakeNet(lambda x: (float(x @ x), 2 * x, 2 * np.eye(x.size)), 2)
    obj, out = run(net, np.array([1.0, 2.0]), "trust-exact", min_gnorm=-1.0, minloss=-1.0)
    assert out.stopped_by == out.message and obj.best_loss < 1e-20


def test_default_method_and_arguments():
    assert default_method(10) == "newton"
    assert default_method(NEWTON_MAX_PARAMS) == "newton"
    assert default_method(NEWTON_MAX_PARAMS + 1) == "l-bfgs-b"
    net = student(2, 100)
    obj = Objective(net)
    out = minimize(obj, net.random_params(rng=0), stop=StopRules(maxiterations=2))
    assert out.iterations == 2
    with pytest.raises(ValueError, match="method"):
        minimize(obj, net.random_params(rng=0), "cg")
    with pytest.raises(ValueError, match="x0"):
        minimize(obj, np.zeros(3), "newton")
    with pytest.raises(TypeError, match="eig_rtl"):
        minimize(obj, net.random_params(rng=0), "newton", eig_rtl=1e-9)
    out = minimize(obj, net.random_params(rng=0), "Newton", StopRules(maxiterations=2),
                   eig_rtol=1e-8, sigma=0.5, linesearchmax=20)
    assert out.iterations == 2


def test_best_point_prefers_smaller_gradient_at_equal_loss():
    """Loss flat to rounding (constant), gradient shrinking: the best point follows |g|."""
    net = FakeNet(lambda x: (1.0, x.copy(), np.eye(x.size)), 2)
    obj, out = run(net, np.array([1.0, -1.0]), "newton", maxiterations=3)
    assert obj.best_gnorm < 1e-12 and np.array_equal(obj.best_x, out.x)
