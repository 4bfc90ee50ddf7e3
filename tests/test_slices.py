"""Loss slices against direct loss calls; slice directions: filter-normalised random,
Hessian eigenvectors (quadratic model at a minimum), point to point, teacher."""

from __future__ import annotations

import numpy as np
import pytest

import mlpgradientflow as mgf
from mlpgradientflow.landscape.slices import (
    hessian_directions,
    loss_slice_1d,
    loss_slice_2d,
    point_to_point,
    random_direction,
    teacher_direction,
)


def _student_teacher(width=4, act="softplus", r=2, seed=0):
    X = np.random.default_rng(seed).standard_normal((80, 2))
    teacher = mgf.TeacherNet([(r, act, True), (1, "identity", True)], din=2, rng=seed + 1)
    net = mgf.Net([(width, act, True), (1, "identity", True)], input=X, target=teacher(X))
    return net, teacher


def test_slices_equal_direct_losses():
    net, _ = _student_teacher()
    p, d1, d2 = net.random_params(1), net.random_params(2), net.random_params(3)
    ts = np.linspace(-2, 3, 7)
    np.testing.assert_allclose(
        loss_slice_1d(net, p, d1, ts), [net.loss(p + t * d1) for t in ts], rtol=1e-14
    )
    xs, ys = np.array([-1.0, 0.5, 2.0]), np.array([0.0, -0.3])
    S = loss_slice_2d(net, p, d1, d2, xs, ys)
    assert S.shape == (3, 2)
    for i, x in enumerate(xs):
        for j, y in enumerate(ys):
            np.testing.assert_allclose(S[i, j], net.loss(p + x * d1 + y * d2), rtol=1e-14)


def test_slice_overflow_gives_inf():
    X = np.random.default_rng(0).standard_normal((10, 1))
    net = mgf.Net([(2, "exp", True), (1, "identity", True)], input=X, target=X)
    p = net.random_params(0)
    d = np.zeros(net.nparams)
    d[0] = 1.0  # the first hidden weight: exp(1e3 x) overflows
    out = loss_slice_1d(net, p, d, [0.0, 1e3])
    assert np.isfinite(out[0]) and out[1] == np.inf


@pytest.fixture(scope="module")
def minimum():
    """A minimum with L > 0: one student neuron for a two-neuron teacher."""
    net, _ = _student_teacher(width=1, r=2, seed=1)
    res = mgf.train(net, net.random_params(5), verbosity=0)
    assert res.gnorm < 1e-13 and res.loss > 1e-6
    return net, res.x


def test_hessian_directions_are_eigenpairs(minimum):
    net, p = minimum
    H = net.hessian(p)
    ev = np.linalg.eigvalsh(H)
    for which, ref in (("smallest", ev[:3]), ("largest", ev[::-1][:3])):
        lam, V = hessian_directions(net, p, k=3, which=which)
        np.testing.assert_allclose(lam, ref, rtol=1e-10, atol=1e-12 * ev.max())
        np.testing.assert_allclose(np.linalg.norm(V, axis=1), 1.0, rtol=1e-14)
        np.testing.assert_allclose(V @ H, lam[:, None] * V, atol=1e-10 * ev.max())
        assert np.all(V[np.arange(3), np.abs(V).argmax(1)] > 0)  # sign convention


def test_quadratic_model_along_eigenvectors(minimum):
    """L(p* + t v) = L0 + ½ λ t² + O(t³) at a minimum: the error shrinks linearly in t."""
    net, p = minimum
    L0 = net.loss(p)
    lam, V = hessian_directions(net, p, k=2, which="largest")
    lam_s, V_s = hessian_directions(net, p, k=1, which="smallest")
    assert lam_s[0] > 1e-4  # a strict minimum: no flat direction in this small net
    for lam_i, v in zip([*lam, *lam_s], [*V, *V_s]):
        ts = np.array([1e-3, 1e-4])
        curv = (loss_slice_1d(net, p, v, ts) - L0) / (ts**2 / 2)
        err = np.abs(curv - lam_i)
        assert err[1] < 1e-2 * lam_i and err[1] < err[0] / 5


def test_filter_normalisation():
    net = mgf.Net([(3, "tanh", True), (2, "tanh", False), (1, "identity", True)], din=2)
    p = net.random_params(0)
    p[net.offsets[0] + 2] = 0.7  # a non-zero bias counts in its neuron's norm
    net.unflatten(p)[1][1] = 0.0  # a dead neuron
    d = random_direction(net, p, rng=1)
    raw = random_direction(net, p, rng=1, normalize=None)
    for D, M, R in zip(net.unflatten(d), net.unflatten(p), net.unflatten(raw)):
        np.testing.assert_allclose(np.linalg.norm(D, axis=1), np.linalg.norm(M, axis=1), rtol=1e-14)
        # the same Gaussian draw, rescaled per neuron (row): rows stay parallel
        live = np.linalg.norm(M, axis=1) > 0
        cos = (
            (D * R).sum(1)[live] / np.linalg.norm(D[live], axis=1) / np.linalg.norm(R[live], axis=1)
        )
        np.testing.assert_allclose(cos, 1.0, rtol=1e-14)
    np.testing.assert_array_equal(net.unflatten(d)[1][1], 0.0)
    np.testing.assert_array_equal(d, random_direction(net, p, rng=1))
    assert not np.array_equal(d, random_direction(net, p, rng=2))


def test_point_to_point_endpoints():
    net, _ = _student_teacher()
    pa, pb = net.random_params(1), net.random_params(2)
    d = point_to_point(pa, pb)
    np.testing.assert_allclose(pa + d, pb, rtol=1e-15)
    np.testing.assert_allclose(
        loss_slice_1d(net, pa, d, [0.0, 1.0]), [net.loss(pa), net.loss(pb)], rtol=1e-14
    )


def test_teacher_direction_reaches_zero_loss():
    net, teacher = _student_teacher(width=5, r=2)
    p = net.random_params(3)
    d = teacher_direction(net, p, teacher)
    ts = np.array([0.0, 0.5, 1.0])
    L = loss_slice_1d(net, p, d, ts)
    assert L[0] > 1e-3 and L[2] < 1e-28
    q = p + d
    np.testing.assert_allclose(net(q, net.input), teacher(net.input), atol=1e-13)
    # three extra neurons: incoming weights kept, outgoing weights zero
    match = mgf.landscape.align_to_teacher(net, p, teacher)["student"]
    extra = sorted(set(range(5)) - set(match))
    np.testing.assert_array_equal(net.unflatten(q)[1][0, extra], 0.0)
    np.testing.assert_array_equal(net.unflatten(q)[0][extra], net.unflatten(p)[0][extra])


def _permuted_teacher_params(teacher, perm, flip=()):
    M1, M2 = (M.copy() for M in teacher.net.unflatten(teacher.params))
    for i in flip:  # (w, b, a) -> (-w, -b, -a): the same function for odd activations
        M1[i] *= -1
        M2[:, i] *= -1
    return mgf.params(M1[perm], np.column_stack([M2[:, :-1][:, perm], M2[:, -1:]]))


def test_teacher_direction_zero_for_permuted_teacher():
    net, teacher = _student_teacher(width=3, r=3)
    p = _permuted_teacher_params(teacher, [2, 0, 1])
    d = teacher_direction(net, p, teacher)
    np.testing.assert_allclose(d, 0.0, atol=1e-15)
    assert net.loss(p) < 1e-28


def test_teacher_direction_signs_for_odd_activation():
    net, teacher = _student_teacher(width=3, act="tanh", r=3)
    p = _permuted_teacher_params(teacher, [1, 2, 0], flip=[0])
    assert net.loss(p) < 1e-28
    np.testing.assert_allclose(teacher_direction(net, p, teacher, signs=True), 0.0, atol=1e-15)
    q = p + teacher_direction(
        net, p, teacher
    )  # without signs: a different embedding, same function
    assert net.loss(q) < 1e-28


@pytest.mark.parametrize(
    "call, exc, words",
    [
        (lambda net, p, t: loss_slice_1d(net, p[:-1], p, [0.0]), ValueError, "`p`"),
        (lambda net, p, t: loss_slice_1d(net, p, p, [[0.0]]), ValueError, "`ts`"),
        (lambda net, p, t: loss_slice_2d(net, p, p, p * np.nan, [0.0], [0.0]), ValueError, "`d2`"),
        (lambda net, p, t: random_direction(net, p, normalize="layer"), ValueError, "`normalize`"),
        (lambda net, p, t: random_direction(net, p, rng="x"), TypeError, "`rng`"),
        (lambda net, p, t: hessian_directions(net, p, k=0), ValueError, "`k`"),
        (lambda net, p, t: hessian_directions(net, p, which="top"), ValueError, "`which`"),
        (lambda net, p, t: point_to_point(p, p[:-1]), ValueError, "same shape"),
        (lambda net, p, t: teacher_direction(net, p, t, signs=True), ValueError, "odd"),
        (lambda net, p, t: teacher_direction(net, p, "teacher"), TypeError, "TeacherNet"),
        (
            lambda net, p, t: teacher_direction(
                *_student_teacher(width=2, r=3)[:1], np.zeros(9), _student_teacher(width=2, r=3)[1]
            ),
            ValueError,
            "more than",
        ),
        (
            lambda net, p, t: teacher_direction(
                net, p, mgf.TeacherNet([(2, "tanh", True), (1, "identity", True)], din=2, rng=0)
            ),
            ValueError,
            "activations",
        ),
        (
            lambda net, p, t: teacher_direction(
                net, p, mgf.TeacherNet([(2, "softplus", True), (2, "identity", True)], din=2, rng=0)
            ),
            ValueError,
            "widths",
        ),
    ],
)
def test_errors(call, exc, words):
    net, teacher = _student_teacher()
    with pytest.raises(exc, match=words):
        call(net, net.random_params(0), teacher)
