"""train(): solvers, discrete rules, stopping rules, tauinv, results, interrupts, the job."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from scipy.linalg import expm

import mlpgradientflow as mgf
from mlpgradientflow.training.solvers import RK4, SolverFailure

QUIET = dict(verbosity=0)


@pytest.fixture(scope="module")
def small():
    """A small teacher-student problem (P = 9): tanh student of width 2, teacher of width 4;
    the flow ends at a well-conditioned minimum with L > 0 (smallest Hessian eigenvalue
    about 0.016, so a gradient of 1e-10 pins the point to about 1e-8)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 2))
    teacher = mgf.TeacherNet([(4, "tanh", True), (1, "identity", True)], din=2,
                             params=rng.standard_normal(17) * 1.5)
    net = mgf.Net([(2, "tanh", True), (1, "identity", True)], input=X, target=teacher(X))
    return net, net.random_params(7)


def test_reference_train_test(small):
    """Reference test 7: the flow lowers the loss, the optimiser does not worsen it."""
    net, p0 = small
    res = mgf.train(net, p0, **QUIET)
    assert res.ode_loss < net.loss(p0)
    assert res.loss <= res.ode_loss + math.sqrt(np.finfo(float).eps)
    assert res.loss == net.loss(res.x) and res.gnorm == np.abs(net.gradient(res.x)).max()


@pytest.mark.parametrize("alg", ["cvode_bdf", "cvode_bdf_gmres", "lsoda", "bdf", "radau", "rodas4", "rodas5"])
def test_every_implicit_solver_reaches_the_same_minimum(small, alg):
    net, p0 = small
    ref = mgf.train(net, p0, alg="cvode_bdf", maxiterations_optim=0,
                    reltol=1e-10, abstol=1e-12, min_gnorm=1e-10, **QUIET)
    res = mgf.train(net, p0, alg=alg, maxiterations_optim=0, reltol=1e-10,
                    abstol=1e-12, min_gnorm=1e-10, **QUIET)
    assert res.ode_stopped_by.startswith("min_gnorm"), res.ode_stopped_by
    np.testing.assert_allclose(res.x, ref.x, atol=1e-7)


@pytest.mark.parametrize("alg", ["rk45", "dop853", "rk4", "rk4_fixed"])
def test_explicit_solvers_follow_the_same_flow(small, alg):
    """Explicit solvers are slow near the minimum; compare at a fixed flow time."""
    net, p0 = small
    T = 3.0
    ref = mgf.train(net, p0, alg="radau", maxT=T, maxiterations_optim=0, reltol=1e-11,
                    abstol=1e-12, **QUIET)
    solver = RK4(dt=1e-3, adaptive=False) if alg == "rk4_fixed" else alg
    res = mgf.train(net, p0, alg=solver, maxT=T, maxiterations_optim=0, reltol=1e-9,
                    abstol=1e-10, **QUIET)
    assert res.ode_stopped_by == "maxT" and res.trajectory.t[-1] == pytest.approx(T)
    np.testing.assert_allclose(res.trajectory.x[-1], ref.trajectory.x[-1], atol=1e-7)


def _linear_problem():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 3)) @ np.diag([1.0, 0.3, 2.0])
    y = X @ [0.5, -1.0, 2.0] + 0.3 + 0.1 * rng.standard_normal(200)
    net = mgf.Net([(1, "identity", True)], input=X, target=y)
    Xt = np.column_stack([X, np.ones(200)])
    A = 2 * Xt.T @ Xt / 200  # L = |Xt th - y|^2 / N: grad = A th - c
    c = 2 * Xt.T @ y / 200
    return net, A, c


@pytest.mark.parametrize("alg", ["cvode_bdf", "rodas4", "radau", "lsoda"])
def test_flow_follows_the_closed_form_solution(alg):
    """Linear student: theta(t) = theta* + expm(-A t)(theta0 - theta*), to the tolerance."""
    net, A, c = _linear_problem()
    th_star = np.linalg.solve(A, c)
    p0 = np.array([1.0, 1.0, -1.0, 0.0])
    res = mgf.train(net, p0, alg=alg, maxT=50.0, maxiterations_optim=0, reltol=1e-10,
                    abstol=1e-12, n_samples_trajectory=30, **QUIET)
    assert res.ode_stopped_by == "maxT"
    for t, x in zip(res.trajectory.t, res.trajectory.x):
        exact = th_star + expm(-A * t) @ (p0 - th_star)
        np.testing.assert_allclose(x, exact, atol=1e-7, rtol=1e-7)
    t = res.trajectory.t
    assert t[0] == 0 and len(t) >= 25
    gaps = np.diff(np.log10(t[1:] + 1))  # log-spaced up to the recording resolution
    assert gaps.max() < 3 * gaps.min()


def test_stopping_rules_each_fire(small):
    net, p0 = small
    kw = dict(maxiterations_optim=0, **QUIET)
    assert mgf.train(net, p0, maxiterations_ode=7, **kw).ode_stopped_by == "maxiterations ≥ 7"
    assert mgf.train(net, p0, maxiterations_ode=7, **kw).ode_iterations == 7
    assert mgf.train(net, p0, maxT=0.5, **kw).ode_stopped_by == "maxT"
    r = mgf.train(net, p0, min_gnorm=0, minloss=0, **kw)  # runs into the noise floor
    assert r.ode_stopped_by.startswith("noise floor") and r.converged and r.reproducible
    L0 = net.loss(p0)
    assert mgf.train(net, p0, minloss=L0 / 2, **kw).ode_stopped_by.startswith("minloss")
    g = mgf.train(net, p0, min_gnorm=1e-3, **kw)
    assert g.ode_stopped_by.startswith("min_gnorm") and g.converged
    assert mgf.train(net, p0, patience=0, **kw).ode_stopped_by == "patience (0)"


def test_tauinv_zero_freezes_and_partial_tauinv(small):
    """Reference test 11: tau = 0 moves nothing; tau = 1 on the first-layer biases only
    moves only those, in both phases."""
    net, p0 = small
    r = mgf.train(net, p0, tauinv=0.0, **QUIET)
    np.testing.assert_array_equal(r.x, p0)
    tau = np.zeros(net.nparams)
    tau[[2, 5]] = 1.0  # biases of the two hidden neurons
    for alg in ("cvode_bdf", mgf.Adam(1e-2)):
        r = mgf.train(net, p0, tauinv=tau, alg=alg, maxiterations_ode=2000, **QUIET)
        moved = r.x != p0
        assert moved[[2, 5]].any() and not moved[tau == 0].any()
    with pytest.raises(ValueError, match="tauinv"):
        mgf.train(net, p0, tauinv=np.ones(3), **QUIET)


def test_flow_time_scales_with_tauinv(small):
    """tauinv = c makes the flow c times faster: the states at t and at c t agree."""
    net, p0 = small
    a = mgf.train(net, p0, maxT=2.0, maxiterations_optim=0, reltol=1e-10, abstol=1e-12, **QUIET)
    b = mgf.train(net, p0, maxT=1.0, tauinv=2.0, maxiterations_optim=0, reltol=1e-10,
                  abstol=1e-12, **QUIET)
    np.testing.assert_allclose(a.trajectory.x[-1], b.trajectory.x[-1], atol=1e-7)


def test_discrete_rules(small):
    net, p0 = small
    L0 = net.loss(p0)
    for rule in (mgf.Descent(0.1), mgf.Momentum(0.02), mgf.Adam(1e-2)):
        r = mgf.train(net, p0, alg=rule, maxiterations_ode=300, maxiterations_optim=0, **QUIET)
        assert r.ode_stopped_by == "maxiterations ≥ 300" and r.ode_loss < L0
        assert r.trajectory.t[-1] == 300 and len(r.trajectory) > 20

    class SignDescent:  # any object with init/apply is a rule
        def init(self, x):
            return None

        def apply(self, state, x, g):
            return state, 1e-3 * np.sign(g)

    r = mgf.train(net, p0, alg=SignDescent(), maxiterations_ode=50, maxiterations_optim=0, **QUIET)
    assert r.ode_loss < L0


def test_minibatches_are_shuffled_and_use_every_sample(small, monkeypatch):
    from mlpgradientflow.training import discrete

    net, p0 = small
    X0 = net.input.copy()
    seen = []
    orig = discrete._Batches.next

    def spy(self):
        b, done = orig(self)
        seen.append(b.input.copy())
        return b, done

    monkeypatch.setattr(discrete._Batches, "next", spy)
    r = mgf.train(net, p0, alg=mgf.Descent(0.05), batchsize=150, maxiterations_ode=6,
                  maxiterations_optim=0, rng=3, **QUIET)
    assert [len(b) for b in seen] == [150, 150, 100] * 2  # every sample, the remainder too
    for epoch in (seen[:3], seen[3:]):
        rows = np.concatenate(epoch)
        np.testing.assert_array_equal(np.sort(rows, axis=0), np.sort(X0, axis=0))
    assert not np.array_equal(np.concatenate(seen[:3]), np.concatenate(seen[3:]))  # reshuffled
    np.testing.assert_array_equal(net.input, X0)  # the data are untouched
    assert r.ode_loss < net.loss(p0)
    with pytest.raises(ValueError, match="batchsize"):
        mgf.train(net, p0, batchsize=10, **QUIET)


def test_save_load_round_trip(small, tmp_path):
    net, p0 = small
    res = mgf.train(net, p0, maxiterations_ode=300, maxiterations_optim=20, **QUIET)
    path = tmp_path / "r.npz"
    res.save(path)
    back = mgf.load_result(path)
    for key in res.keys():
        a, b = res[key], back[key]
        if key == "trajectory":
            np.testing.assert_array_equal(a.t, b.t)
            np.testing.assert_array_equal(a.x, b.x)
        elif isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
        elif key != "info":
            assert a == b, key
    assert not list(tmp_path.glob(".*tmp"))
    d = res.to_reference_dict(net)
    assert {"loss", "x", "ode_x", "init", "trajectory", "loss_curve", "layerspec", "input"} <= set(d)
    assert d["x"]["w1"].shape == (2, 3) and d["x"]["w2"].shape == (1, 3)
    np.testing.assert_array_equal(mgf.params(d["x"]), res.x)


def test_newton_reaches_1e_14_on_a_minimum_with_positive_loss():
    """Student narrower than the teacher: L > 0 at the minimum; flow + Newton land on it."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2000, 2))
    teacher = mgf.TeacherNet([(4, "softplus", True), (1, "identity", True)], din=2, rng=1)
    net = mgf.Net([(2, "softplus", True), (1, "identity", True)], input=X, target=teacher(X))
    # a short flow (CVODE alone often gets to 1e-15), then Newton must do the rest
    res = mgf.train(net, net.random_params(2), maxiterations_ode=100, **QUIET)
    assert res.ode_stopped_by == "maxiterations ≥ 100" and res.optim_iterations > 0
    assert res.loss > 1e-6
    assert res.gnorm <= 1e-14, (res.gnorm, res.optim_stopped_by)


def test_solver_fallback_when_the_first_step_fails(small, capsys):
    class FailsOnce(RK4):
        failed = False

        def step(self):
            if not FailsOnce.failed:
                FailsOnce.failed = True
                raise SolverFailure("no first step")
            super().step()

    net, p0 = small
    r = mgf.train(net, p0, alg=FailsOnce(dt=1e-3, adaptive=False), maxiterations_ode=20, maxiterations_optim=0,
                  verbosity=1, progress_interval=1e9)
    err = capsys.readouterr()
    assert "starting ODE fallback" in err.out
    assert r.ode_iterations == 20 and r.ode_loss < net.loss(p0)


def test_progress_output(small, capsys):
    net, p0 = small
    mgf.train(net, p0, maxiterations_ode=100, maxiterations_optim=10, verbosity=0)
    assert capsys.readouterr().err == ""
    mgf.train(net, p0, maxiterations_ode=100, maxiterations_optim=10, verbosity=1,
              progress_interval=0.0)
    err = capsys.readouterr().err
    assert "best loss" in err and "flow stopped by" in err


def test_interrupt_returns_the_best_point(tmp_path):
    """Ctrl-C (SIGINT) during the flow: training ends, the best point comes back."""
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent("""
        import json, sys
        import numpy as np, mlpgradientflow as mgf
        X = np.random.default_rng(0).standard_normal((4000, 2))
        t = mgf.TeacherNet([(6, "softplus", True), (1, "identity", True)], din=2, rng=1)
        net = mgf.Net([(40, "softplus", True), (1, "identity", True)], input=X, target=t(X))
        p0 = net.random_params(2)

        class Announcing(mgf.Descent):  # says "ready" once training has really started
            def apply(self, state, x, g):
                if state is None:
                    print("ready", flush=True)
                return 1, self.eta * g

        r = mgf.train(net, p0, alg=Announcing(1e-4), maxiterations_ode=10**7, verbosity=0)
        print(json.dumps({"ode": r.ode_stopped_by, "optim": r.optim_stopped_by,
                          "loss": r.loss, "l0": net.loss(p0), "best": net.loss(r.x)}), flush=True)
    """))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(2.0)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    info = json.loads(out.strip().splitlines()[-1])
    assert info["ode"] == "interrupted" and info["optim"] == ""
    assert info["loss"] < info["l0"] and info["loss"] == info["best"]


def test_batch_gradients_of_an_epoch_average_to_the_full_gradient(small):
    """Reference test 10 in our conventions: over one epoch, the batch gradients weighted
    by batch size sum to the full gradient (every sample exactly once)."""
    from mlpgradientflow.training.discrete import _Batches

    net, p0 = small
    batches = _Batches(net, 150, rng=0)
    total, done = np.zeros(net.nparams), False
    while not done:
        b, done = batches.next()
        total += b.n_samples * b.gradient(p0)
    np.testing.assert_allclose(total / net.n_samples, net.gradient(p0), rtol=1e-12, atol=1e-15)


def test_an_overflowing_flow_keeps_the_best_point():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 2)) * 3
    net = mgf.Net([(3, "exp", True), (1, "exp", True)], input=X, target=np.full(50, 1e6))
    p0 = net.random_params(1) * 0.5
    res = mgf.train(net, p0, alg=mgf.Descent(1.0), maxiterations_ode=200, maxiterations_optim=0,
                    **QUIET)
    assert res.ode_stopped_by.startswith("failed: ") and np.isfinite(res.x).all()
    assert res.loss <= net.loss(p0)


def test_scipy_result_fields(small):
    """scipy's OptimizeResult names: views of the result, with the meanings documented."""
    net, p0 = small
    res = mgf.train(net, p0, **QUIET)
    assert res.success is res.converged is True and res.status == 0
    assert res.fun == res.loss and res.nit == res.ode_iterations + res.optim_iterations
    assert res.nfev == res.njev == res.n_gradients and res.nhev == res.n_hessians > 0
    np.testing.assert_array_equal(res.jac, net.gradient(res.x))
    assert res.message.startswith("minimum: flow stopped by") and res["status"] == 0
    short = mgf.train(net, p0, maxiterations_ode=5, maxiterations_optim=0, **QUIET)
    assert (short.success, short.status) == (False, 1)
    assert short.message == "not converged: flow stopped by maxiterations ≥ 5"
    stopped = mgf.train(net, p0, callback=lambda info: info.iteration >= 3, **QUIET)
    assert stopped.status == 4 and "callback" in stopped.message
    assert set(mgf.training.result.STATUS) == {0, 1, 2, 3, 4}


def test_progress_lines_name_what_they_show(small, capsys):
    net, p0 = small
    mgf.train(net, p0, maxiterations_ode=50, maxiterations_optim=3, verbosity=1,
              progress_interval=0.0)
    lines = capsys.readouterr().err.splitlines()
    flow = [ln for ln in lines if ln.startswith("flow ") and "step" in ln]
    assert flow and all("/50, flow time t = " in ln and "‖∇L‖∞ = " in ln for ln in flow)
    assert any(ln.startswith("optim ") and "iteration " in ln and "/3" in ln for ln in lines)
