"""Expand-and-Cluster end to end, the covert linear path, and the teacher comparison."""

import numpy as np
import pytest

import mlpgradientflow as mgf
from mlpgradientflow.data import ec_teacher
from mlpgradientflow.recovery import (
    compare_with_teacher,
    expand_and_cluster,
)
from mlpgradientflow.recovery.linear_path import (
    fit_linear_path,
    split_linear_path,
    with_linear_path,
)


def test_end_to_end_recovers_a_small_g_teacher():
    teacher = ec_teacher(2, [2], rng=2)
    X = np.random.default_rng(2).uniform(-np.sqrt(3), np.sqrt(3), (300, 2))
    res = expand_and_cluster(
        teacher,
        X,
        [(6, "g", True), (1, "identity", True)],
        n_students=10,
        rng=2,
        # iteration limits, not wall time: the same run on a loaded machine
        train_options=dict(maxiterations_ode=2000, maxiterations_optim=100, minloss=1e-20),
        finetune_options=dict(maxiterations_ode=500, maxiterations_optim=100),
    )
    assert res.widths == (2,)
    out = compare_with_teacher(res, teacher)
    assert out["success"] and max(out["cosine_distances"]) < 1e-3
    assert max(out["outgoing_errors"]) < 1e-3
    # independent check of the recovered function on fresh inputs
    Xt = np.random.default_rng(9).uniform(-np.sqrt(3), np.sqrt(3), (500, 2))
    assert np.abs(res.predict(Xt) - teacher(Xt)).max() < 1e-4


# count budgets only: the same run, the same bits, on a loaded machine
BUDGET = dict(
    train_options=dict(maxiterations_ode=2000, maxiterations_optim=200, minloss=1e-20),
    finetune_options=dict(maxiterations_ode=500, maxiterations_optim=100),
)
CASES = {
    "g 3-2": (lambda: ec_teacher(3, [2], rng=5), [(6, "g", True)]),
    "tanh 2-2": (
        lambda: mgf.TeacherNet([(2, "tanh", True), (1, "identity", True)], din=2, rng=3),
        [(6, "tanh", True)],
    ),
    "softplus 2-2": (lambda: ec_teacher(2, [2], activation="softplus", rng=4),
                     [(6, "softplus", True)]),
    "sigmoid 2-2": (lambda: ec_teacher(2, [2], activation="sigmoid", rng=7),
                    [(6, "sigmoid", True)]),
    "gelu 2-2": (lambda: ec_teacher(2, [2], activation="gelu", rng=8), [(6, "gelu", True)]),
    "deep g 2-2-1": (lambda: ec_teacher(2, [2, 1], rng=6), [(4, "g", True), (2, "g", True)]),
}


def _recover(name, executor=None):
    make, hidden = CASES[name]
    teacher = make()
    X = np.random.default_rng(1).uniform(-np.sqrt(3), np.sqrt(3), (200, teacher.din))
    # N = 5: a cluster must be held by 3 of the students at zero loss (a majority)
    res = expand_and_cluster(teacher, X, hidden + [(1, "identity", True)], n_students=5,
                             rng=1, executor=executor, **BUDGET)
    return teacher, res


@pytest.mark.parametrize("name", list(CASES))
def test_recovers_small_teachers_of_the_papers_activations(name):
    teacher, res = _recover(name)
    assert res.widths == tuple(lay.width for lay in teacher.layers[:-1])
    c = res.comparison
    assert c is not None and c.success and max(c.cosine_distances) < 1e-6
    assert max(c.outgoing_errors) < 1e-6
    # the covert linear path for the even-linear classes (softplus, gelu)
    assert (res.linear is not None) == (name in ("softplus 2-2", "gelu 2-2"))
    assert res.converged and 3 <= res.n_converged <= 5
    # phase 2 clusters the students at zero loss when there are at least 3, else all
    zero = tuple(i for i, s in enumerate(res.students) if s.end_state.zero_loss)
    assert res.clustered == (zero if len(zero) >= 3 else tuple(range(5)))
    assert res.n_converged == sum(s.end_state.kind in ("minimum", "saddle") for s in res.students)
    assert res.n_gradients >= sum(s.n_gradients for s in res.students) > 0
    # independent check of the recovered function on fresh inputs
    Xt = np.random.default_rng(9).uniform(-np.sqrt(3), np.sqrt(3), (500, teacher.din))
    assert np.abs(res.predict(Xt) - teacher(Xt)).max() < 1e-5


def test_recovery_is_deterministic_across_calls_and_executors():
    _, a = _recover("tanh 2-2")
    _, b = _recover("tanh 2-2", executor=2)
    assert a.widths == b.widths
    np.testing.assert_array_equal(a.params, b.params)
    assert [s.loss for s in a.students] == [s.loss for s in b.students]
    assert a.n_gradients == b.n_gradients


@pytest.mark.parametrize(
    "layers", [[(3, "relu", True)], [(3, "softplus", True), (2, "softplus", False)]]
)
def test_linear_path_embedding_is_exact(layers):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    net = mgf.Net(layers + [(2, "identity", True)], input=X, target=rng.standard_normal((40, 2)))
    p = net.random_params(1)
    theta = rng.standard_normal((4, 2))
    carrier, q, mask = with_linear_path(net, [M.copy() for M in net.unflatten(p)], theta)
    np.testing.assert_allclose(carrier(q), net(p) + X @ theta[:3] + theta[3], atol=1e-12)
    p2, lin = split_linear_path(net, carrier, q)
    np.testing.assert_array_equal(lin, theta[:3])
    np.testing.assert_allclose(net(p2), net(p) + theta[3], atol=1e-12)
    # free: the net's own parameters and the path's weights theta_w, nothing else
    assert np.count_nonzero(mask) == net.nparams + 3 * 2


def test_fit_linear_path_recovers_a_linear_residual():
    X = np.random.default_rng(1).standard_normal((30, 3))
    theta = np.array([[1.0], [2.0], [-3.0], [0.5]])
    np.testing.assert_allclose(fit_linear_path(X, X @ theta[:3] + theta[3], True), theta)


def test_relu_recovery_uses_the_linear_path():
    teacher = mgf.TeacherNet(
        [(2, "relu", True), (1, "identity", True)],
        din=2,
        params=mgf.params(
            (np.array([[1.0, 0.5], [-0.5, 1.0]]), np.array([0.3, -0.2])),
            (np.array([[1.0, -1.5]]), np.array([0.1])),
        ),
    )
    X = np.random.default_rng(0).uniform(-np.sqrt(3), np.sqrt(3), (200, 2))
    res = expand_and_cluster(
        teacher,
        X,
        [(4, "relu", True), (1, "identity", True)],
        n_students=6,
        rng=0,
        train_options=dict(maxiterations_ode=500, maxiterations_optim=30),
        finetune_options=dict(maxiterations_ode=200, maxiterations_optim=30),
    )
    assert res.linear is not None and res.linear.shape == (2, 1)
    assert res.loss < 1e-6
    out = compare_with_teacher(res, teacher)
    assert max(out["cosine_distances"]) < 1e-3
    # teacher neuron 1 has a negative first coordinate: canonicalised to -w, with the same
    # outgoing weight (relu(z) = relu(-z) + z), the linear path holding the difference
    assert out["layers"][0]["sign"] == [1, -1]
    assert max(out["outgoing_errors"]) < 1e-3


def test_compare_with_teacher_on_an_exact_permuted_copy_of_a_deep_net():
    t = mgf.TeacherNet([(3, "tanh", True), (2, "tanh", True), (1, "identity", True)], din=2, rng=3)
    M = [m.copy() for m in t.net.unflatten(t.params)]
    perm = [2, 0, 1]
    M[0] = M[0][perm]
    M[0][1] *= -1  # teacher neuron 0, sign-flipped (tanh is odd)
    M[1] = np.column_stack([M[1][:, :3][:, perm], M[1][:, 3]])
    M[1][:, 1] *= -1
    student = mgf.Net(t.net)
    p = np.concatenate([m.ravel() for m in M])
    X = np.random.default_rng(0).standard_normal((20, 2))
    np.testing.assert_allclose(student(p, X), t(X), atol=1e-14)
    out = compare_with_teacher((student, p), t)
    assert out["success"] and out["excess_neurons"] == 0
    assert out["layers"][0]["match"] == [1, 2, 0] and out["layers"][0]["sign"] == [-1, 1, 1]
    assert max(out["cosine_distances"]) < 1e-14 and max(out["outgoing_errors"]) < 1e-14
    # an extra neuron is counted, and a wrong one fails the match
    wrong = p.copy()
    wrong[:3] += [0.3, -0.2, 0.1]
    bad = compare_with_teacher((student, wrong), t)
    assert not bad["success"] and bad["cosine_distances"][2] > 1e-3


def test_compare_and_expand_reject_bad_input():
    t = ec_teacher(2, [2], rng=0)
    with pytest.raises(TypeError):
        compare_with_teacher((None, None), t)
    X = np.zeros((10, 2))
    with pytest.raises(ValueError, match="identity"):
        expand_and_cluster(t, X, [(4, "g", True), (1, "tanh", True)])
    with pytest.raises(ValueError, match="gamma"):
        expand_and_cluster(t, X, [(4, "g", True), (1, "identity", True)], n_students=3)
    with pytest.raises(ValueError, match="answers"):
        expand_and_cluster(np.zeros(5), X, [(4, "g", True), (1, "identity", True)])
    with pytest.raises(ValueError, match="inactive_tol"):
        expand_and_cluster(t, X, [(4, "g", True), (1, "identity", True)], inactive_tol=-1)
    with pytest.raises(TypeError, match="finetune_options"):
        expand_and_cluster(t, X, [(4, "g", True), (1, "identity", True)], finetune_options=[1])


def test_deep_students_retrain_only_the_upper_layers():
    _, res = _recover("deep g 2-2-1")
    assert len(res.clusters) == 2 and len(res.retraining) == 1 and len(res.widths) == 2
    k1 = res.clusters[0].width
    assert len(res.retraining[0]) == len(res.clustered)
    firsts = [r.x[: k1 * 3] for r in res.retraining[0]]
    inits = [r.init[: k1 * 3] for r in res.retraining[0]]
    for f, i in zip(firsts, inits):  # the collapsed layer 1 is frozen (tauinv = 0) ...
        np.testing.assert_array_equal(f, i)
        np.testing.assert_array_equal(f, firsts[0])  # ... and shared by all students
    assert any(not np.array_equal(r.x, r.init) for r in res.retraining[0])
    assert np.isfinite(res.loss) and res.params.shape == (res.net.nparams,)
