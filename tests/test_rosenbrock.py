"""Rosenbrock solvers (Rodas4, Rodas5): tableau order conditions, measured convergence
orders, stiff accuracy, dense output, step control and a real gradient flow."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.linalg import expm

import mlpgradientflow as mgf
from mlpgradientflow import NonFiniteError
from mlpgradientflow.training.solvers.base import FlowProblem, SolverFailure
from mlpgradientflow.training.solvers.rosenbrock import (
    RODAS4,
    RODAS5,
    Rodas4,
    Rodas5,
    Rosenbrock,
    RosenbrockTableau,
)

TABLEAUS = [RODAS4, RODAS5]
SOLVERS = [Rodas4, Rodas5]


# -- Butcher-series order conditions ---------------------------------------------------------
def _canon(tree: tuple) -> tuple:
    return tuple(sorted(_canon(c) for c in tree))


def _grow(tree: tuple):
    """Every tree with one more vertex: a new leaf at the root or inside a subtree."""
    yield tree + ((),)
    for i, child in enumerate(tree):
        for g in _grow(child):
            yield tree[:i] + (g,) + tree[i + 1 :]


def _trees(max_order: int) -> dict[int, set]:
    """Rooted trees by order, a tree being the sorted tuple of its subtrees."""
    trees = {1: {()}}
    for n in range(2, max_order + 1):
        trees[n] = {_canon(g) for t in trees[n - 1] for g in _grow(t)}
    return trees


def _density(tree: tuple) -> int:
    """gamma(t) = |t| * prod gamma(subtrees); the exact weight of t is 1/gamma(t)."""
    order = 1 + sum(_order(c) for c in tree)
    return order * math.prod(_density(c) for c in tree)


def _order(tree: tuple) -> int:
    return 1 + sum(_order(c) for c in tree)


def _phi(tree: tuple, alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Stage weights of a tree (HW II §IV.7): a vertex with one son comes from f' or from
    J, so it carries beta = alpha + Gamma (diagonal gamma included); a vertex with several
    sons only from f^(m), so each son carries alpha."""
    if not tree:
        return np.ones(len(alpha))
    if len(tree) == 1:
        return beta @ _phi(tree[0], alpha, beta)
    return np.prod([alpha @ _phi(c, alpha, beta) for c in tree], axis=0)


TREES = _trees(6)
assert [len(TREES[n]) for n in range(1, 7)] == [1, 1, 2, 4, 9, 20]


def _residual(weights: np.ndarray, tab: RosenbrockTableau, n: int, theta: float = 1.0) -> float:
    """max over trees of order n of |sum_j w_j Phi_j(t) - theta^n / gamma(t)|."""
    alpha, Gamma, _, _ = tab.standard_form()
    beta = alpha + Gamma
    return max(abs(weights @ _phi(t, alpha, beta) - theta**n / _density(t)) for t in TREES[n])


@pytest.mark.parametrize("tab", TABLEAUS, ids=lambda t: t.name)
def test_order_conditions(tab):
    alpha, Gamma, b, bhat = tab.standard_form()
    # c and d are the row sums of alpha and Gamma: this makes the f_t terms consistent
    assert np.abs(alpha.sum(1) - tab.c).max() < 1e-12
    assert np.abs(Gamma.sum(1) - tab.d).max() < 1e-12
    assert np.abs(np.diag(Gamma) - tab.gamma).max() < 1e-14
    for n in range(1, tab.order + 1):
        assert _residual(b, tab, n) < 1e-12, f"order {n}"
    for n in range(1, tab.embedded_order + 1):
        assert _residual(bhat, tab, n) < 1e-12, f"embedded order {n}"
    # and not one order more (the checks have teeth)
    assert _residual(b, tab, tab.order + 1) > 1e-4
    assert _residual(bhat, tab, tab.embedded_order + 1) > 1e-4


@pytest.mark.parametrize("tab,dense_order", [(RODAS4, 3), (RODAS5, 4)], ids=["rodas4", "rodas5"])
def test_dense_output_order_conditions(tab, dense_order):
    Gamma = tab.standard_form()[1]
    for theta in (0.0, 0.2, 0.5, 0.9, 1.0):
        w = tab.dense_weights(np.array([theta]))[0] @ Gamma  # weights of the k_i
        for n in range(1, dense_order + 1):
            assert _residual(w, tab, n, theta) < 1e-12, (theta, n)
    assert np.allclose(tab.dense_weights(np.array([1.0]))[0], tab.b, rtol=0, atol=1e-15)


@pytest.mark.parametrize("tab", TABLEAUS, ids=lambda t: t.name)
def test_l_stability(tab):
    """R(z) = 1 + z b^T (I - z beta)^-1 1: |R(iy)| <= 1 on the imaginary axis, R(inf) = 0."""
    alpha, Gamma, b, _ = tab.standard_form()
    beta, one = alpha + Gamma, np.ones(tab.stages)

    def R(z):
        return 1 + z * b @ np.linalg.solve(np.eye(tab.stages) - z * beta, one)

    assert abs(1 - b @ np.linalg.solve(beta, one)) < 1e-12
    assert max(abs(R(1j * y)) for y in np.logspace(-3, 6, 300)) <= 1 + 1e-12
    assert abs(R(-1e12)) < 1e-9


def test_tableau_is_frozen_and_checked():
    with pytest.raises(dataclasses.FrozenInstanceError):
        RODAS4.gamma = 0.3
    assert not RODAS4.a.flags.writeable
    with pytest.raises(ValueError, match="strictly lower triangular"):
        dataclasses.replace(RODAS4, a=np.ones((6, 6)))
    with pytest.raises(ValueError, match="shape"):
        dataclasses.replace(RODAS4, c=np.zeros(5))


# -- integration helpers ---------------------------------------------------------------------
def _integrate(solver, problem, y0, t0=0.0, each_step=None):
    solver.start(problem, t0, np.asarray(y0, dtype=float))
    while solver.t < problem.t_bound:
        solver.step()
        assert solver.t_prev < solver.t <= problem.t_bound
        if each_step is not None:
            each_step(solver)
    return solver


def _lotka_volterra(forcing: float = 0.0):
    def f(t, y):
        return np.array([y[0] * (1 - y[1]) + forcing * np.sin(t), y[1] * (y[0] - 1)])

    def jac(t, y):
        return np.array([[1 - y[1], -y[0]], [y[1], y[0] - 1]])

    def dfdt(t, y):
        return np.array([forcing * np.cos(t), 0.0])

    return f, jac, dfdt


Y_LV = np.array([1.5, 0.8])


def _rate(ns, errs) -> float:
    """Least-squares slope of -log2(error) against log2(number of steps)."""
    return -np.polyfit(np.log2(ns), np.log2(errs), 1)[0]


# -- convergence order with fixed steps ----------------------------------------------------
@pytest.mark.parametrize("cls", SOLVERS, ids=lambda c: c.name)
@pytest.mark.parametrize("forcing", [0.0, 0.5], ids=["autonomous", "forced"])
def test_convergence_order(cls, forcing):
    f, jac, dfdt = _lotka_volterra(forcing)
    T, ns = 3.0, [16, 32, 64, 128]
    ref = solve_ivp(f, (0, T), Y_LV, method="DOP853", rtol=1e-13, atol=1e-14).y[:, -1]
    errs = []
    for n in ns:
        s = cls(adaptive=False, time_derivative=dfdt if forcing else None)
        _integrate(s, FlowProblem(f, jac, dt=T / n, t_bound=T), Y_LV)
        assert s.n_steps == n
        errs.append(np.abs(s.y - ref).max())
    order = cls.tableau.order
    assert order - 0.15 < _rate(ns, errs) < order + 1.2, errs


def test_nonautonomous_without_time_derivative_is_first_order():
    """The solvers treat fun as autonomous unless given df/dt: documented, and visible."""
    f, jac, _ = _lotka_volterra(0.5)
    T, ns = 3.0, [16, 32, 64]
    ref = solve_ivp(f, (0, T), Y_LV, method="DOP853", rtol=1e-13, atol=1e-14).y[:, -1]
    probs = [FlowProblem(f, jac, dt=T / n, t_bound=T) for n in ns]
    errs = [np.abs(_integrate(Rodas4(adaptive=False), p, Y_LV).y - ref).max() for p in probs]
    assert 0.8 < _rate(ns, errs) < 1.2


# -- stiff problems ----------------------------------------------------------------------------
@pytest.mark.parametrize("cls", SOLVERS, ids=lambda c: c.name)
def test_stiff_linear(cls):
    """y' = -A y with eigenvalues 1e-3..1e4 to T = 1e3: an explicit method needs h < 3e-4,
    i.e. millions of steps (scipy RK45 takes ~3.5e6); Radau takes 514."""
    rng = np.random.default_rng(0)
    P, T, tol = 20, 1e3, 1e-8
    Q = np.linalg.qr(rng.standard_normal((P, P)))[0]
    A = Q @ np.diag(np.logspace(-3, 4, P)) @ Q.T
    y0 = rng.standard_normal(P)
    prob = FlowProblem(lambda t, y: -A @ y, lambda t, y: -A, rtol=tol, atol=tol, t_bound=T)
    s = _integrate(cls(), prob, y0)
    exact = expm(-A * T) @ y0
    assert np.all(np.abs(s.y - exact) <= 10 * (tol + tol * np.abs(exact)))
    assert s.t == T
    assert s.n_steps < 600  # rodas4: 441, rodas5: 203
    assert s.n_rejected < 10


def _van_der_pol(mu: float):
    def f(t, y):
        return np.array([y[1], mu * (1 - y[0] ** 2) * y[1] - y[0]])

    def jac(t, y):
        return np.array([[0.0, 1.0], [-2 * mu * y[0] * y[1] - 1, mu * (1 - y[0] ** 2)]])

    return f, jac


def test_van_der_pol_stiff():
    """mu = 1000 over [0, 1000], through the first relaxation jump (t ~ 807)."""
    f, jac = _van_der_pol(1000.0)
    y0, T, tol = np.array([2.0, 0.0]), 1000.0, 1e-7
    ref = solve_ivp(f, (0, T), y0, method="Radau", jac=jac, rtol=1e-10, atol=1e-10).y[:, -1]
    for cls in SOLVERS:
        s = _integrate(cls(), FlowProblem(f, jac, rtol=tol, atol=tol, t_bound=T), y0)
        assert np.all(np.abs(s.y - ref) <= 10 * tol * (1 + np.abs(ref))), (cls.name, s.y, ref)
        assert s.n_steps < 1000 and s.n_rejected < 0.2 * s.n_steps


# -- dense output ------------------------------------------------------------------------------
RODAS4_HERMITE = dataclasses.replace(RODAS4, name="rodas4-hermite", H=None)


def _dense_solvers():
    return [Rodas4, Rodas5, lambda **kw: Rosenbrock(RODAS4_HERMITE, **kw)]


@pytest.mark.parametrize("make", _dense_solvers(), ids=["rodas4", "rodas5", "hermite"])
def test_dense_output(make):
    f, jac, _ = _lotka_volterra()
    T = 4.0
    ref = solve_ivp(f, (0, T), Y_LV, method="DOP853", rtol=1e-13, atol=1e-14, dense_output=True)
    # fixed steps: the interior error converges like the local interpolation error h^(p*+1)
    ns, errs = [16, 32, 64], []
    for n in ns:
        worst = [0.0]

        def check(s, worst=worst):
            ts = s.t_prev + np.array([0.25, 0.5, 0.8]) * (s.t - s.t_prev)
            worst[0] = max(worst[0], np.abs(s.interpolate(ts) - ref.sol(ts).T).max())

        prob = FlowProblem(f, jac, dt=T / n, t_bound=T)
        _integrate(make(adaptive=False), prob, Y_LV, each_step=check)
        errs.append(worst[0])
    assert _rate(ns, errs) > 3.7, errs
    # adaptive steps: interpolated values as accurate as the tolerance; exact at the ends
    tol, worst = 1e-8, [0.0]

    def check_adaptive(s):
        ts = np.linspace(s.t_prev, s.t, 7)
        ys = s.interpolate(ts)
        assert ys.shape == (7, 2)
        assert np.array_equal(ys[-1], s.y)
        worst[0] = max(worst[0], np.abs(ys - ref.sol(ts).T).max())

    prob = FlowProblem(f, jac, rtol=tol, atol=tol, t_bound=T)
    _integrate(make(), prob, Y_LV, each_step=check_adaptive)
    assert worst[0] < 10 * tol


# -- bookkeeping and failures ------------------------------------------------------------------
@pytest.mark.parametrize("cls", SOLVERS, ids=lambda c: c.name)
def test_counters(cls):
    """One Jacobian and one LU per accepted step, one LU per rejection, s - 1 stage
    evaluations per trial and one f per accepted point: nfev = s n + (s - 1) r."""
    f, jac = _van_der_pol(100.0)
    s = _integrate(cls(), FlowProblem(f, jac, rtol=1e-6, atol=1e-6, t_bound=200.0), [2.0, 0.0])
    n, r, st = s.n_steps, s.n_rejected, cls.tableau.stages
    assert r > 0  # the relaxation jumps cause some rejections
    assert s.njev == n
    assert s.nlu == n + r
    assert s.nfev == st * n + (st - 1) * r
    assert s.name == cls.tableau.name and s.uses_jacobian


def test_hermite_reuses_f_at_the_new_point():
    f, jac, _ = _lotka_volterra()
    s = Rosenbrock(RODAS4_HERMITE)
    _integrate(s, FlowProblem(f, jac, rtol=1e-6, atol=1e-6, t_bound=2.0), Y_LV,
               each_step=lambda s: s.interpolate([0.5 * (s.t_prev + s.t)]))  # fmt: skip
    n, r = s.n_steps, s.n_rejected
    assert s.nfev == 6 * n + 5 * r + 1  # the only extra f is at the final point


def test_t_bound_and_fixed_first_step():
    f, jac, _ = _lotka_volterra()
    s = _integrate(Rodas4(), FlowProblem(f, jac, dt=0.3, t_bound=1.0), Y_LV)
    assert s.t == 1.0
    with pytest.raises(SolverFailure, match="t_bound"):
        s.step()
    s = Rodas4()
    s.start(FlowProblem(f, jac, dt=0.3), 0.0, Y_LV)  # t_bound = inf; dt is the first trial
    s.step()
    assert 0 < s.t <= 0.3
    s = Rodas4(adaptive=False)
    s.start(FlowProblem(f, jac, dt=0.3), 0.0, Y_LV)
    s.step()
    s.step()
    assert s.t == 0.6 and s.t_prev == 0.3


def test_blow_up_raises_solver_failure():
    """y' = y^2 blows up at t = 1: the step size underflows."""
    prob = FlowProblem(lambda t, y: y**2, lambda t, y: np.diag(2 * y), t_bound=2.0)
    with pytest.raises(SolverFailure):
        _integrate(Rodas4(), prob, [1.0])


def test_overflow_in_a_stage_is_a_rejection():
    calls = [0]

    def f(t, y):
        calls[0] += 1
        if calls[0] == 3:  # a stage of the first trial step
            raise NonFiniteError("overflow")
        return -y

    s = _integrate(Rodas4(), FlowProblem(f, lambda t, y: -np.eye(1), t_bound=1.0), [1.0])
    assert s.n_rejected >= 1
    assert s.y[0] == pytest.approx(math.exp(-1), rel=1e-5)


def test_singular_iteration_matrix_is_a_rejection():
    """y' = y with first trial h = 4 = 1/gamma: I/(gamma h) - J = 0 exactly."""
    prob = FlowProblem(lambda t, y: y.copy(), lambda t, y: np.eye(1), dt=4.0, t_bound=10.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no LinAlgWarning leaks out
        s = _integrate(Rodas4(), prob, [1.0])
    assert s.n_rejected >= 1
    assert s.nfev == 6 * s.n_steps + 5 * (s.n_rejected - 1)  # no stage ran on the singular M
    assert s.y[0] == pytest.approx(math.exp(10.0), rel=1e-4)


def test_bad_arguments():
    def jac(t, y):
        return -np.eye(1)

    with pytest.raises(ValueError, match="Jacobian"):
        Rodas4().start(FlowProblem(lambda t, y: -y, None), 0.0, np.ones(1))
    with pytest.raises(ValueError, match="dt"):
        Rodas4(adaptive=False).start(FlowProblem(lambda t, y: -y, jac), 0.0, np.ones(1))
    with pytest.raises(ValueError, match="tableau"):
        Rosenbrock()
    with pytest.raises(ValueError, match="facmin"):
        Rodas4(facmax=0.5)
    with pytest.raises(SolverFailure, match="non-finite"):
        Rodas4().start(FlowProblem(lambda t, y: y * np.nan, jac), 0.0, np.ones(1))


# -- a real gradient flow ------------------------------------------------------------------
def _small_net():
    """Five samples, 13 parameters: the flow reaches a global minimum (zero loss) by t = 1e4."""
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((5, 2)), rng.standard_normal((5, 1))
    net = mgf.Net([(3, "tanh", True), (1, "identity", True)], input=X, target=y)
    return net, net.random_params(rng)


def test_gradient_flow_reaches_a_minimum():
    net, p0 = _small_net()
    prob = FlowProblem(lambda t, x: -net.gradient(x), lambda t, x: -net.hessian(x),
                       rtol=1e-8, atol=1e-8, t_bound=1e4)  # fmt: skip
    losses = [net.loss(p0)]
    s = _integrate(Rodas4(), prob, p0, each_step=lambda s: losses.append(net.loss(s.y)))
    assert np.all(np.diff(losses) <= 1e-14), np.diff(losses).max()
    assert np.abs(net.gradient(s.y)).max() < 1e-10
    assert losses[-1] < 1e-20
    assert s.n_steps < 600


def test_gradient_flow_matches_radau():
    net, p0 = _small_net()
    fun, jac = (lambda t, x: -net.gradient(x)), (lambda t, x: -net.hessian(x))
    ref = solve_ivp(fun, (0, 10), p0, method="Radau", jac=jac, rtol=1e-10, atol=1e-10).y[:, -1]
    for cls in SOLVERS:
        s = _integrate(cls(), FlowProblem(fun, jac, rtol=1e-8, atol=1e-8, t_bound=10.0), p0)
        assert np.abs(s.y - ref).max() < 1e-7, cls.name
