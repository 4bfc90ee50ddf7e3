"""The loss minimised across a plane: geometry, closed forms on a linear net, stationarity
on nonlinear nets, the grid sweep, and the reference's broken convenience call."""

from __future__ import annotations

import numpy as np
import pytest

import mlpgradientflow as mgf
from mlpgradientflow.landscape.subspace import (
    LinearSubspace,
    subspace_minloss,
    subspace_minloss_on_grid,
)

FAST = dict(maxiterations_optim=100)


def test_plane_geometry():
    rng = np.random.default_rng(0)
    ref, v1 = rng.standard_normal(7), rng.standard_normal(7)
    v2 = v1 + 0.3 * rng.standard_normal(7)  # far from orthogonal
    S = LinearSubspace(ref, v1, v2)
    assert S.dim == 5 and S.b.shape == (7, 5) and S.u.shape == (7, 2)
    np.testing.assert_allclose(np.linalg.norm([S.v1, S.v2], axis=1), 1.0, rtol=1e-15)
    Q = np.column_stack([S.u, S.b])
    np.testing.assert_allclose(Q.T @ Q, np.eye(7), atol=1e-14)  # orthonormal, complementary
    np.testing.assert_allclose(S.b.T @ np.column_stack([v1, v2]), 0.0, atol=1e-14)
    np.testing.assert_allclose(S.point(0.4, -1.1), ref + 0.4 * S.v1 - 1.1 * S.v2, rtol=1e-15)
    for a in rng.standard_normal((5, 2)):
        q = S.point(*a) + S.b @ rng.standard_normal(5)
        np.testing.assert_allclose(S.coords(q), a, atol=1e-12)


def _linear_problem():
    """An identity-output net is linear in p: L(p) = ‖A p - t‖² / N, with A built here."""
    rng = np.random.default_rng(1)
    N, din, dout = 40, 3, 2
    X, T = rng.standard_normal((N, din)), rng.standard_normal((N, dout))
    net = mgf.Net([(dout, "identity", True)], input=X, target=T)
    A = np.zeros((N, dout, net.nparams))
    for o in range(dout):  # row o of M = [W | b] is p[o*(din+1) : (o+1)*(din+1)]
        A[:, o, o * (din + 1) : o * (din + 1) + din] = X
        A[:, o, (o + 1) * (din + 1) - 1] = 1.0
    return net, A.reshape(N * dout, -1), T.ravel(), N


def _closed_form(A, t, N, S, a):
    v = S.point(*a)
    x = np.linalg.lstsq(A @ S.b, t - A @ v, rcond=None)[0]
    p = v + S.b @ x
    return p, np.sum((A @ p - t) ** 2) / N, np.sum((A @ v - t) ** 2) / N


def test_linear_net_closed_form():
    net, A, t, N = _linear_problem()
    rng = np.random.default_rng(2)
    S = LinearSubspace(*rng.standard_normal((3, net.nparams)))
    a = (0.7, -0.4)
    r = subspace_minloss(net, S, a, rng=3, **FAST)
    p, L, Lv = _closed_form(A, t, N, S, a)
    assert r.converged and (r.a1, r.a2) == a
    np.testing.assert_allclose(r.p, p, atol=1e-10)
    np.testing.assert_allclose(r.loss, L, rtol=1e-12)
    np.testing.assert_allclose(r.delta_loss, Lv - L, rtol=1e-12)
    np.testing.assert_allclose(S.coords(r.p), a, atol=1e-12)
    np.testing.assert_allclose(r.p, S.point(*a) + S.b @ r.best_x, atol=1e-14)
    # the constraint binds: the unconstrained minimum is lower
    assert np.sum((A @ np.linalg.lstsq(A, t, rcond=None)[0] - t) ** 2) / N < L - 1e-3


def _nonlinear_problem():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((60, 2))
    teacher = mgf.TeacherNet([(2, "tanh", True), (1, "identity", True)], din=2, rng=5)
    net = mgf.Net(
        [(2, "tanh", True), (1, "identity", True)], input=X, target=teacher(X) + 0.1 * X[:, :1] ** 2
    )
    S = LinearSubspace(net.random_params(6), net.random_params(7), net.random_params(8))
    return net, S


def test_nonlinear_local_minimum_of_the_complement():
    net, S = _nonlinear_problem()
    a = (0.3, -0.2)
    r = subspace_minloss(net, S, a, rng=0, **FAST)
    assert r.converged
    np.testing.assert_allclose(S.coords(r.p), a, atol=1e-12)  # stays on the slice
    assert np.abs(S.b.T @ net.gradient(r.p)).max() < 1e-12  # stationary across it
    ev = np.linalg.eigvalsh(S.b.T @ net.hessian(r.p) @ S.b)
    assert ev.min() > -1e-8 * ev.max()  # a minimum, not a saddle
    assert r.delta_loss > 0 and np.isclose(r.loss + r.delta_loss, net.loss(S.point(*a)), rtol=1e-13)


def test_tuple_subspace_regression():
    """Reference bug (§9): `subspace_minloss(net, ref, v1, v2, a1, a2)` built a malformed
    subspace. Passing (ref, v1, v2) must equal the explicit LinearSubspace."""
    net, S = _nonlinear_problem()
    ref, v1, v2 = net.random_params(6), net.random_params(7), net.random_params(8)
    a = subspace_minloss(net, (ref, v1, v2), (0.1, 0.2), rng=9, **FAST)
    b = subspace_minloss(net, LinearSubspace(ref, v1, v2), (0.1, 0.2), rng=9, **FAST)
    np.testing.assert_array_equal(a.p, b.p)
    assert a.loss == b.loss and a.converged
    np.testing.assert_allclose(LinearSubspace(ref, v1, v2).coords(a.p), (0.1, 0.2), atol=1e-12)
    c = subspace_minloss_on_grid(net, (ref, v1, v2), [(0.1, 0.2)], restarts=1, rng=0, **FAST)
    assert c[0].converged


def test_grid_linear_closed_form():
    net, A, t, N = _linear_problem()
    S = LinearSubspace(*np.random.default_rng(3).standard_normal((3, net.nparams)))
    xs = np.array([-1.0, 0.0, 1.0])
    G = np.stack(np.meshgrid(xs, xs + 0.5), -1).reshape(-1, 2)
    res = subspace_minloss_on_grid(net, S, G, restarts=0, rng=0, **FAST)
    assert [(r.a1, r.a2) for r in res] == [tuple(g) for g in G]
    for r, g in zip(res, G):
        np.testing.assert_allclose(r.loss, _closed_form(A, t, N, S, g)[1], rtol=1e-12)


def test_grid_reverse_sweep_only_improves():
    net, S = _nonlinear_problem()
    G = np.array([(a, 0.0) for a in np.linspace(-1.0, 1.0, 5)])
    fwd = subspace_minloss_on_grid(net, S, G, restarts=1, reverse_finetune=False, rng=1, **FAST)
    both = subspace_minloss_on_grid(net, S, G, restarts=1, rng=1, **FAST)
    for f, b in zip(fwd, both):
        assert b.loss <= f.loss
        np.testing.assert_allclose(S.coords(b.p), (b.a1, b.a2), atol=1e-12)
        assert np.abs(S.b.T @ net.gradient(b.p)).max() < 1e-10


@pytest.mark.parametrize(
    "call, exc, words",
    [
        (
            lambda S, net: LinearSubspace(np.zeros(5), np.ones(5), 2 * np.ones(5)),
            ValueError,
            "collinear",
        ),
        (lambda S, net: LinearSubspace(np.zeros(5), np.zeros(5), np.ones(5)), ValueError, "`v1`"),
        (lambda S, net: LinearSubspace(np.zeros(5), np.ones(4), np.ones(5)), ValueError, "`v1`"),
        (lambda S, net: LinearSubspace(np.zeros(2), [1.0, 0], [0, 1.0]), ValueError, "at least 3"),
        (lambda S, net: S.coords(np.zeros(3)), ValueError, "`p`"),
        (lambda S, net: subspace_minloss(net, S, (1.0, 2.0, 3.0)), ValueError, "`coords`"),
        (lambda S, net: subspace_minloss(net, "plane", (1.0, 2.0)), TypeError, "`subspace`"),
        (
            lambda S, net: subspace_minloss(
                net, LinearSubspace(np.zeros(4), [1.0, 0, 0, 0], [0, 1.0, 0, 0]), (0, 0)
            ),
            ValueError,
            "parameters",
        ),
        (lambda S, net: subspace_minloss(net, S, (0, 0), restarts=-1), ValueError, "`restarts`"),
        (lambda S, net: subspace_minloss(net, S, (0, 0), restarts=0), ValueError, "nothing"),
        (
            lambda S, net: subspace_minloss(net, S, (0, 0), starts=[np.zeros(2)]),
            ValueError,
            "starts",
        ),
        (lambda S, net: subspace_minloss_on_grid(net, S, np.zeros((3, 3))), ValueError, "`grid`"),
        (lambda S, net: subspace_minloss_on_grid(net, S, np.zeros((3, 2)), n=0), ValueError, "`n`"),
    ],
)
def test_errors(call, exc, words):
    net, S = _nonlinear_problem()
    with pytest.raises(exc, match=words):
        call(S, net)
