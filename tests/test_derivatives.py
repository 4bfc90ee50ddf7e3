"""Loss, gradient and Hessian against PyTorch autograd, finite differences and invariants."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import torch_derivs

import mlpgradientflow as mgf
from conftest import (
    SMOOTH,
    assert_close_rel,
    fd_gradient,
    fd_hessian,
    make_data,
    random_case,
)
from mlpgradientflow.derivatives import workspace


@pytest.mark.parametrize("seed", range(40))
def test_random_architectures_match_torch(seed, engine_path):
    net, p, rng = random_case(seed)
    L, g, H = net.fgh(p)
    Lt, gt, Ht = torch_derivs(net, p)
    assert abs(L - Lt) <= 1e-12 * max(abs(Lt), 1e-300)
    assert_close_rel(g, gt, 1e-9, "gradient")
    assert_close_rel(H, Ht, 1e-9, "Hessian")
    # the separate entry points agree with the fused one
    assert net.loss(p) == L
    np.testing.assert_array_equal(net.gradient(p), g)
    np.testing.assert_array_equal(net.hessian(p), H)


@pytest.mark.parametrize("act", ["identity", "relu", "softplus", "sigmoid", "tanh", "g", "gelu",
                                 "silu", "selu", "square", "cube", "exp", "sigmoid2", "normal_cdf"])
@pytest.mark.parametrize("depth", [2, 3, 4])
def test_every_activation_every_depth(act, depth, engine_path):
    rng = np.random.default_rng(depth)
    layers = [(3, act, True)] + [(3, act, d % 2 == 0) for d in range(depth - 2)] + [(2, "identity", True)]
    X, y, w = make_data(rng, layers, 2, 17, weights=True)
    net = mgf.Net(layers, input=X, target=y, weights=w)
    p = net.random_params(rng) + 0.2 * rng.standard_normal(net.nparams)
    if act == "exp":  # exp(exp(exp(x))) overflows for O(1) weights
        p *= 0.3
    L, g, H = net.fgh(p)
    Lt, gt, Ht = torch_derivs(net, p)
    assert L == pytest.approx(Lt, rel=1e-12)
    assert_close_rel(g, gt, 1e-9, "gradient")
    assert_close_rel(H, Ht, 1e-9, "Hessian")


@pytest.mark.parametrize(
    "regs",
    [dict(maxnorm=0.0), dict(merge=(0, (0, 2), 0.7)), dict(merge=(1, (1, 0), 2.0), maxnorm=0.05)],
)
def test_barrier_and_merge_match_torch(regs):
    rng = np.random.default_rng(3)
    layers = [(4, "tanh", True), (3, "g", False), (2, "identity", True)]
    X, y, _ = make_data(rng, layers, 3, 11)
    net = mgf.Net(layers, input=X, target=y)
    p = net.random_params(rng) * 3
    L, g, H = net.fgh(p, **regs)
    Lt, gt, Ht = torch_derivs(net, p, **regs)
    assert L == pytest.approx(Lt, rel=1e-12)
    assert_close_rel(g, gt, 1e-9, "gradient")
    assert_close_rel(H, Ht, 1e-9, "Hessian")
    assert L > net.loss(p)  # the penalty is active


def test_barrier_value_formula():
    """Reference test 4: maxnorm = nx/2 adds (nx/2)^3/3 to the loss."""
    rng = np.random.default_rng(1)
    layers = [(3, "sigmoid", True), (3, "identity", False), (2, "g", True)]
    X, y, _ = make_data(rng, layers, 2, 3)
    net = mgf.Net(layers, input=X, target=y)
    p = net.random_params(rng)
    nx = float(p @ p) / (2 * p.size)
    assert net.loss(p, maxnorm=nx / 2) == pytest.approx(net.loss(p) + (nx / 2) ** 3 / 3, rel=1e-14)
    assert net.loss(p, maxnorm=2 * nx) == net.loss(p)


@pytest.mark.parametrize("seed", range(6))
def test_finite_differences(seed, engine_path):
    """Independent of torch: central differences of our own loss and gradient."""
    net, p, _ = random_case(100 + seed)
    g = net.gradient(p)
    H = net.hessian(p)
    has_kink = any(
        a.name in ("relu", "selu") for lay in net.layers for a, _, _ in lay.groups
    )
    tol = 1e-4 if has_kink else 1e-6
    assert_close_rel(g, fd_gradient(net.loss, p), tol, "gradient vs FD")
    assert_close_rel(H, fd_hessian(net.gradient, p), tol, "Hessian vs FD")


def test_hessian_exactly_symmetric():
    for seed in range(10):
        net, p, _ = random_case(seed)
        H = net.hessian(p)
        np.testing.assert_array_equal(H, H.T)


def _plain_loss(net, p):
    """An independent forward pass in plain NumPy (no chunks, no workspaces)."""
    a = np.asarray(net.input, float)
    for lay, M in zip(net.layers, net.unflatten(p)):
        W = M[:, : M.shape[1] - int(lay.bias)]
        h = a @ W.T + (M[:, -1] if lay.bias else 0.0)
        a = lay.activation(h) if lay.activation.name != "softmax" else h
    if net.loss_type == "nll":
        logp = a - np.log(np.exp(a - a.max(1, keepdims=True)).sum(1, keepdims=True)) - a.max(1, keepdims=True)
        return -logp[np.arange(len(a)), net.target].sum() / len(a)
    return ((a - net.target) ** 2).sum() / len(a)


@pytest.mark.parametrize("kind", ["mse", "labels"])
def test_loss_exact_for_every_N(kind, engine_path):
    """Reference bug 1 (0.2.x): the loss was wrong for N % 8 in {3,5,6,7}. Sweep N = 1..200."""
    rng = np.random.default_rng(0)
    out = (2, "identity", True) if kind == "mse" else (3, "softmax", True)
    layers = [(5, "tanh", True), out]
    Xa, ya, _ = make_data(rng, layers, 3, 200, kind)
    for n in range(1, 201):
        net = mgf.Net(layers, input=Xa[:n], target=ya[:n])
        p = net.random_params(7)
        assert net.loss(p) == pytest.approx(_plain_loss(net, p), rel=1e-12, abs=0)


@pytest.mark.parametrize("chunk", [1, 3, 7])
def test_chunking_is_invisible(monkeypatch, chunk, engine_path):
    """Partial last chunks and chunk boundaries give the same numbers as one chunk."""
    net, p, _ = random_case(11)
    rng = np.random.default_rng(2)
    layers = [(4, "softplus", True), (3, "tanh", True), (2, "identity", True)]
    X, y, w = make_data(rng, layers, 2, 23, weights=True)
    net = mgf.Net(layers, input=X, target=y, weights=w)
    p = net.random_params(rng)
    ref = net.fgh(p)
    fresh = mgf.Net(net)
    monkeypatch.setattr(workspace, "chunk_rows", lambda net, order: chunk)
    got = fresh.fgh(p)
    assert got[0] == pytest.approx(ref[0], rel=1e-13)
    np.testing.assert_allclose(got[1], ref[1], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got[2], ref[2], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(fresh(p), net(p), rtol=1e-14)


def test_returned_arrays_never_alias_internal_buffers(engine_path):
    net, p, rng = random_case(5)
    q = p + 0.5
    g1, H1, y1 = net.gradient(p), net.hessian(p), net(p)
    g1c, H1c, y1c = g1.copy(), H1.copy(), y1.copy()
    net.fgh(q)
    net(q)
    np.testing.assert_array_equal(g1, g1c)
    np.testing.assert_array_equal(H1, H1c)
    np.testing.assert_array_equal(y1, y1c)
    y1[:] = 123.0  # writing into a result does not change the next one
    np.testing.assert_array_equal(net(p), y1c)


def test_out_arguments():
    net, p, _ = random_case(8)
    P = net.nparams
    g, H = np.full(P, 7.0), np.full((P, P), 7.0)
    L, g2, H2 = net.fgh(p, grad_out=g, hess_out=H)
    assert g2 is g and H2 is H
    np.testing.assert_array_equal(H, net.hessian(p))
    np.testing.assert_array_equal(g, net.gradient(p))
    with pytest.raises(ValueError, match="hess_out"):
        net.fgh(p, hess_out=np.zeros((P, P + 1)))
    with pytest.raises(ValueError, match="out"):
        net.gradient(p, out=np.zeros(P, np.float32))


def test_constant_derivative_buffers_survive_calls():
    """Reference test 22: the Hessian is unchanged after many calls at other points."""
    rng = np.random.default_rng(4)
    layers = [(4, ("identity", "relu", "square", "tanh"), True), (3, "identity", True), (2, "square", True)]
    X, y, _ = make_data(rng, layers, 3, 13)
    net = mgf.Net(layers, input=X, target=y)
    p = net.random_params(rng)
    H0 = net.hessian(p)
    for _ in range(25):
        net.fgh(net.random_params(rng) * 5)
        net.gradient(net.random_params(rng))
    np.testing.assert_array_equal(net.hessian(p), H0)


@pytest.mark.parametrize("act", ["relu", "tanh", "softplus", "g", "gelu", "square", "identity", "sigmoid"])
def test_uniform_tuple_is_bit_identical(act):
    """Reference test 18: (f, f, f, f) gives the same bits as f."""
    rng = np.random.default_rng(0)
    X, y, _ = make_data(rng, [(4, act, True), (2, "identity", True)], 3, 9)
    a = mgf.Net([(4, act, True), (2, "identity", True)], input=X, target=y)
    b = mgf.Net([(4, (act,) * 4, True), (2, "identity", True)], input=X, target=y)
    p = a.random_params(1)
    for x, z in zip(a.fgh(p), b.fgh(p)):
        np.testing.assert_array_equal(x, z)


def test_per_neuron_layer_is_the_sum_of_its_groups():
    """Reference test 19: a (relu, relu, tanh, tanh) layer equals the hand-written sum."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((10, 2))
    net = mgf.Net([(4, ("relu", "relu", "tanh", "tanh"), True), (1, "identity", True)], input=X, target=X[:, :1])
    p = net.random_params(1)
    M1, M2 = net.unflatten(p)
    h = X @ M1[:, :2].T + M1[:, 2]
    a = np.concatenate([np.maximum(h[:, :2], 0), np.tanh(h[:, 2:])], axis=1)
    np.testing.assert_allclose(net(p), a @ M2[:, :4].T + M2[:, 4], rtol=1e-14)


@pytest.mark.parametrize("loss_kind", ["mse", "nll"])
def test_labels_and_onehot_agree(loss_kind):
    """Reference test 8: integer labels and one-hot targets give the same NLL derivatives."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 10))
    labels = rng.integers(0, 10, 100)
    layers = [(6, "tanh", True), (10, "softmax", True)]
    a = mgf.Net(layers, input=X, target=labels)
    b = mgf.Net(layers, input=X, target=np.eye(10)[labels])
    p = a.random_params(3)
    La, ga, Ha = a.fgh(p)
    Lb, gb, Hb = b.fgh(p)
    assert La == pytest.approx(Lb, rel=1e-13)
    np.testing.assert_allclose(ga, gb, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(Ha, Hb, rtol=1e-12, atol=1e-15)


def test_integer_weights_equal_duplicated_samples():
    rng = np.random.default_rng(2)
    layers = [(3, "softplus", True), (2, "tanh", True)]
    X, y, _ = make_data(rng, layers, 2, 12)
    w = rng.integers(0, 3, 12).astype(float)
    net_w = mgf.Net(layers, input=X, target=y, weights=w)
    idx = np.repeat(np.arange(12), w.astype(int))
    net_d = mgf.Net(layers, input=X[idx], target=y[idx])
    p = net_w.random_params(0)
    s = len(idx) / 12  # our loss divides by N, not by the weight sum
    Lw, gw, Hw = net_w.fgh(p)
    Ld, gd, Hd = net_d.fgh(p)
    assert Lw == pytest.approx(Ld * s, rel=1e-13)
    np.testing.assert_allclose(gw, gd * s, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(Hw, Hd * s, rtol=1e-12, atol=1e-14)


def test_hessian_at_zero_loss_point_is_psd_with_symmetry_null_space():
    """A student that copies a generic teacher and splits one neuron: L = 0, grad = 0, H >= 0,
    and the null space is exactly the (Din + 2)-dimensional flat set of the split."""
    rng = np.random.default_rng(0)
    din = 2
    X = rng.standard_normal((2000, din))
    teacher = mgf.TeacherNet([(3, "softplus", True), (1, "identity", True)], din=din,
                             params=rng.standard_normal(3 * (din + 1) + 4) * 1.5)
    net = mgf.Net([(4, "softplus", True), (1, "identity", True)], input=X, target=teacher(X))
    Wt, at = teacher.net.unflatten(teacher.params)
    p = np.zeros(net.nparams)
    W, a = net.unflatten(p)
    W[:3], W[3] = Wt, Wt[0]
    a[0, :3], a[0, 0], a[0, 3], a[0, 4] = at[0, :3], 0.3 * at[0, 0], 0.7 * at[0, 0], at[0, 3]
    L, g, H = net.fgh(p)
    assert L < 1e-28 and np.abs(g).max() < 1e-14
    ev = np.linalg.eigvalsh(H)
    tol = 1e-12 * ev[-1]  # the null eigenvalues are ~1e-16 ev[-1], the next ~1e-7 ev[-1]
    assert ev[0] > -tol
    assert int((np.abs(ev) <= tol).sum()) == din + 2
    assert ev[din + 2] > 1e4 * tol  # a clear gap above the null space


def test_hessian_spectrum():
    net, p, _ = random_case(3)
    ev, V = mgf.hessian_spectrum(net, p)
    H = net.hessian(p)
    assert np.all(np.diff(ev) >= 0)
    np.testing.assert_allclose(H @ V, V * ev, atol=1e-12 * max(1.0, np.abs(ev).max()))


def test_module_level_functions_match_methods():
    net, p, _ = random_case(4)
    assert mgf.loss(net, p, maxnorm=0.0) == net.loss(p, maxnorm=0.0)
    np.testing.assert_array_equal(mgf.gradient(net, p), net.gradient(p))
    np.testing.assert_array_equal(mgf.hessian(net, p, merge=None), net.hessian(p))
    L, g = mgf.fg(net, p)
    assert L == net.loss(p)


def test_float32_input_gives_float32_net(engine_path):
    rng = np.random.default_rng(0)
    layers = [(5, "tanh", True), (2, "softplus", True)]
    X, y, w = make_data(rng, layers, 3, 40, weights=True)
    n64 = mgf.Net(layers, input=X, target=y, weights=w)
    n32 = mgf.Net(layers, input=X.astype(np.float32), target=y, weights=w)
    p = n64.random_params(0)
    p32 = p.astype(np.float32)
    assert n32.dtype == np.float32 and n32.random_params(0).dtype == np.float32
    L, g, H = n32.fgh(p32)
    assert g.dtype == np.float32 and H.dtype == np.float32 and n32(p32).dtype == np.float32
    L64, g64, H64 = n64.fgh(p)
    assert L == pytest.approx(L64, rel=1e-5)
    assert_close_rel(g, g64, 1e-4, "float32 gradient")
    assert_close_rel(H, H64, 1e-4, "float32 Hessian")


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), two_hidden=st.booleans())
def test_permuting_hidden_neurons_permutes_derivatives(seed, two_hidden):
    rng = np.random.default_rng(seed)
    k = 4
    layers = [(k, str(rng.choice(SMOOTH)), True)]
    if two_hidden:
        layers.append((3, "tanh", bool(rng.random() < 0.5)))
    layers.append((2, "identity", True))
    X, y, _ = make_data(rng, layers, 2, 15)
    net = mgf.Net(layers, input=X, target=y)
    p = net.random_params(rng) + 0.1 * rng.standard_normal(net.nparams)
    perm = rng.permutation(k)
    # index map of the parameters: rows of M_1 and the matching columns of W_2
    idx = np.arange(net.nparams)
    blocks = net.unflatten(idx)
    new = [b.copy() for b in blocks]
    new[0] = blocks[0][perm]
    new[1][:, :k] = blocks[1][:, perm]
    pi = np.concatenate([b.ravel() for b in new])
    L, g, H = net.fgh(p)
    Lp, gp, Hp = net.fgh(p[pi])
    assert Lp == pytest.approx(L, rel=1e-13)
    np.testing.assert_allclose(gp, g[pi], rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(Hp, H[np.ix_(pi, pi)], rtol=1e-11, atol=1e-13)


def test_large_preactivations_stay_finite():
    rng = np.random.default_rng(0)
    for act in ["softplus", "sigmoid", "tanh", "g", "gelu", "silu", "selu", "sigmoid2", "normal_cdf"]:
        X = rng.standard_normal((20, 2)) * 300.0
        net = mgf.Net([(3, act, True), (1, "identity", True)], input=X, target=X[:, :1])
        p = net.random_params(0) * 3
        with np.errstate(all="raise"):
            L, g, H = net.fgh(p)
        assert math.isfinite(L) and np.isfinite(g).all() and np.isfinite(H).all(), act


@pytest.mark.parametrize("seed", range(25))
def test_hessian_vector_product_is_exact(seed):
    net, p, rng = random_case(seed)
    regs = [{}, dict(maxnorm=0.0), dict(merge=(0, (0, net.shapes[0][0] - 1), 0.5))][seed % 3]
    if regs.get("merge") and net.shapes[0][0] < 2:
        regs = {}
    H = net.hessian(p, **regs)
    for _ in range(2):
        v = rng.standard_normal(net.nparams)
        assert_close_rel(net.hvp(p, v, **regs), H @ v, 1e-12, "Hv")
