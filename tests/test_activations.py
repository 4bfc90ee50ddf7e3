"""Activations: values and derivatives against torch autograd, stability, groups."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from oracle import TORCH_ACT

import mlpgradientflow as mgf
from mlpgradientflow.activations import (
    ACTIVATIONS,
    activation_groups,
    get_activation,
    normalize_layer_activation,
)

NAMES = [n for n in ACTIVATIONS if n != "softmax"]


def torch_derivs(name, x):
    xt = torch.tensor(x, requires_grad=True)
    y = TORCH_ACT[name](xt)
    (d1,) = torch.autograd.grad(y.sum(), xt, create_graph=True)
    (d2,) = torch.autograd.grad(d1.sum(), xt) if d1.requires_grad else (torch.zeros_like(xt),)
    return y.detach().numpy(), d1.detach().numpy(), d2.numpy()


@pytest.mark.parametrize("name", NAMES)
def test_value_and_derivatives_match_autograd(name):
    x = np.concatenate([np.linspace(-6, 6, 121), [-0.2, 3.0, 1e-9, -1e-9]])
    if name in ("relu", "selu"):
        x = x[np.abs(x) > 1e-6]  # kink at 0
    act = get_activation(name)
    y, d1, d2 = torch_derivs(name, x)
    np.testing.assert_allclose(act(x), y, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(act.deriv(x), d1, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(act.second_deriv(x), d2, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", NAMES)
def test_fused_partial_outputs_agree(name):
    """Asking for f'' alone, or f' alone, gives the same numbers as asking for all."""
    act = get_activation(name)
    x = np.linspace(-4, 4, 33).reshape(3, 11)
    y, d1, d2 = act._eval(x, 2)
    for want1, want2 in ((True, False), (False, True)):
        yy, b1, b2 = np.empty_like(x), np.full_like(x, np.nan), np.full_like(x, np.nan)
        if act.d1_const is not None:
            b1.fill(act.d1_const)
        if act.d2_const is not None:
            b2.fill(act.d2_const)
        act.fused(x, yy, b1 if want1 else None, b2 if want2 else None)
        np.testing.assert_array_equal(yy, y)
        if want1:
            np.testing.assert_array_equal(b1, d1)
        if want2:
            np.testing.assert_array_equal(b2, d2)


@pytest.mark.parametrize("name", NAMES)
def test_stable_for_large_arguments(name):
    x = np.array([-1e3, -700.0, -40.0, -1e-8, 0.0, 1e-8, 40.0, 700.0, 1e3])
    act = get_activation(name)
    with np.errstate(all="raise"):
        y, d1, d2 = act._eval(x, 2)
    if name == "exp":  # the true value exceeds float64 beyond 709.78: inf, never NaN
        assert not np.isnan(y).any() and np.isinf(y[-1]) and np.isfinite(y[:-1]).all()
        return
    for arr in (y, d1, d2):
        assert np.isfinite(arr).all(), (name, arr)


LIMITS = {  # f(-1e3), f(1e3), f'(-1e3), f'(1e3)
    "softplus": (0.0, 1e3, 0.0, 1.0),
    "sigmoid": (0.0, 1.0, 0.0, 0.0),
    "tanh": (-1.0, 1.0, 0.0, 0.0),
    "g": (0.0, 1e3 + 1.0, 0.0, 1.0),
    "gelu": (0.0, 1e3, 0.0, 1.0),
    "silu": (0.0, 1e3, 0.0, 1.0),
    "selu": (-1.0507009873554804 * 1.6732632423543772, 1.0507009873554804e3, 0.0, 1.0507009873554804),
    "sigmoid2": (-1.0, 1.0, 0.0, 0.0),
    "normal_cdf": (0.0, 1.0, 0.0, 0.0),
    "relu": (0.0, 1e3, 0.0, 1.0),
}


@pytest.mark.parametrize("name", sorted(LIMITS))
def test_limits(name):
    act = get_activation(name)
    x = np.array([-1e3, 1e3])
    f0, f1, d0, d1 = LIMITS[name]
    np.testing.assert_allclose(act(x), [f0, f1], rtol=1e-15, atol=0)
    np.testing.assert_allclose(act.deriv(x), [d0, d1], rtol=1e-15, atol=0)


def test_softplus_is_accurate_to_rounding():
    x = np.linspace(-50, 50, 10001)
    ref = np.logaddexp(0.0, x)
    # a few ulp: the compiled kernel uses glibc's vector log1p (at most 4 ulp)
    np.testing.assert_allclose(get_activation("softplus")(x), ref, rtol=1e-15, atol=0)


def test_aliases_and_reference_values():
    assert get_activation("tanh_fast") is get_activation("tanh")
    assert get_activation("erf") is get_activation("sigmoid2")
    sq = get_activation("square")
    assert float(sq(3.0)) == 4.5  # x^2/2, as the reference
    x = np.array([-0.2, 3.0])
    np.testing.assert_allclose(get_activation("sigmoid2")(x), [math.erf(v / math.sqrt(2)) for v in x])
    np.testing.assert_allclose(get_activation("normal_cdf")(x), [(1 + math.erf(v / math.sqrt(2))) / 2 for v in x])
    np.testing.assert_allclose(get_activation("gelu")(x), [v * (1 + math.erf(v / math.sqrt(2))) / 2 for v in x])


def test_poly():
    p = mgf.Poly(0.2, 0.3, -0.3, 0.4)
    x = np.linspace(-2, 2, 9)
    c = np.polynomial.Polynomial([0.2, 0.3, -0.3, 0.4])
    np.testing.assert_allclose(p(x), c(x), rtol=1e-15)
    np.testing.assert_allclose(p.deriv(x), c.deriv()(x), rtol=1e-15)
    np.testing.assert_allclose(p.second_deriv(x), c.deriv(2)(x), rtol=1e-15)
    assert mgf.Poly(1.0, 2.0).d1_const == 2.0 and mgf.Poly(1.0, 2.0).d2_const == 0.0
    assert mgf.Poly(1, 2, 3) == mgf.Poly([1, 2, 3])
    with pytest.raises(ValueError, match="coeffs"):
        mgf.Poly()


def test_custom_activation_in_a_net():
    from conftest import fd_gradient, fd_hessian

    act = mgf.Activation(np.sin, np.cos, lambda x: -np.sin(x), name="sin")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((15, 2))
    net = mgf.Net([(3, act, True), (1, "identity", True)], input=X, target=X[:, :1])
    p = net.random_params(0)
    np.testing.assert_allclose(net.gradient(p), fd_gradient(net.loss, p), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(net.hessian(p), fd_hessian(net.gradient, p), rtol=1e-6, atol=1e-8)
    assert "sin" in repr(net)
    with pytest.raises(TypeError, match="df"):
        mgf.Activation(np.sin, None, np.sin)


def test_unknown_activation_lists_known_names():
    with pytest.raises(ValueError, match="unknown activation 'swish'.*softplus"):
        get_activation("swish")
    with pytest.raises(TypeError, match="activation"):
        get_activation(3)


def test_groups_are_maximal_contiguous_runs():
    r, t = get_activation("relu"), get_activation("tanh")
    groups = activation_groups((r, t, r, r, t), 5)
    assert [(a.name, lo, hi) for a, lo, hi in groups] == [
        ("relu", 0, 1), ("tanh", 1, 2), ("relu", 2, 4), ("tanh", 4, 5)]
    assert activation_groups(r, 7) == ((r, 0, 7),)


def test_normalize_layer_activation():
    assert normalize_layer_activation(("relu",) * 3, 3, layer=0, is_output=False) is get_activation("relu")
    mixed = normalize_layer_activation(("relu", "tanh", "relu"), 3, layer=0, is_output=False)
    assert [a.name for a in mixed] == ["relu", "tanh", "relu"]
    with pytest.raises(ValueError, match="declares 3 neurons but got 2"):
        normalize_layer_activation(("relu", "tanh"), 3, layer=0, is_output=False)
    with pytest.raises(ValueError, match="hidden layers only"):
        normalize_layer_activation(("relu", "tanh"), 2, layer=1, is_output=True)
    with pytest.raises(ValueError, match="softmax"):
        normalize_layer_activation(("relu", "softmax"), 2, layer=0, is_output=False)
    with pytest.raises(ValueError, match="output layer only"):
        normalize_layer_activation("softmax", 2, layer=0, is_output=False)


@pytest.mark.skipif(not mgf._kernels.available, reason="compiled kernels not built")
@pytest.mark.parametrize("name", sorted(n for n, a in ACTIVATIONS.items() if a.c_kernel))
def test_compiled_kernels_match_numpy_kernels(name):
    """The C kernels against the NumPy reference kernels, on a contiguous array and on a
    strided column block (per-neuron groups). Both use cancellation-free formulas; they
    differ by the accuracy of glibc's vector libm (<= 4 ulp) propagated through a few
    operations, hence 1e-14 relative, with a floor at 4e-16 of the array's scale."""
    act = get_activation(name)
    x = np.linspace(-30, 30, 6 * 401).reshape(6, 401)
    if name == "exp":
        x = x / 3
    for view in (np.s_[:, :], np.s_[:, 100:207]):
        xv = x[view]
        bufs = [np.zeros_like(x) for _ in range(6)]
        c, n = [b[view] for b in bufs[:3]], [b[view] for b in bufs[3:]]
        for b in (c[1], n[1]):
            b[...] = act.d1_const if act.d1_const is not None else 0.0
        assert mgf._kernels.activation(act.c_kind, xv, c[0], None if act.d1_const is not None else c[1],
                                       None if act.d2_const is not None else c[2])
        act._fused(xv, n[0], None if act.d1_const is not None else n[1],
                   None if act.d2_const is not None else n[2], np.empty_like(xv), np.empty_like(xv))
        for a, b in zip(c[:2] if act.d2_const is not None else c, n):
            scale = np.abs(b).max()
            np.testing.assert_allclose(a, b, rtol=1e-14, atol=4e-16 * scale)


def test_every_activation_of_the_registry_is_declared_and_has_an_oracle():
    """Adding an activation means declaring its facts in activations.py (and a torch oracle
    here): this fails for an activation that lacks one of them."""
    from mlpgradientflow.activations import SYMMETRIES, symmetry

    missing = sorted(set(NAMES) - set(TORCH_ACT))
    assert not missing, f"activations without a torch oracle in tests/oracle.py: {missing}"
    for name, act in ACTIVATIONS.items():
        assert act.symmetry in SYMMETRIES and symmetry(name) == act.symmetry
        if act.c_kernel is not None and mgf._kernels.available:
            assert act.c_kind == mgf._kernels.kind(act.c_kernel) is not None, name
    x = np.linspace(0.1, 3.0, 30)  # the declared symmetry holds
    for name in NAMES:
        f, sym = get_activation(name), symmetry(name)
        if sym == "odd":
            np.testing.assert_allclose(f(-x), -f(x), rtol=1e-14, atol=1e-15, err_msg=name)
        elif sym == "odd_constant":
            np.testing.assert_allclose(f(-x), 1.0 - f(x), rtol=1e-14, atol=1e-15, err_msg=name)
        elif sym == "even":
            np.testing.assert_allclose(f(-x), f(x), rtol=1e-14, err_msg=name)
        elif sym.startswith("even_linear"):
            np.testing.assert_allclose(f(-x), f(x) - x, rtol=1e-13, atol=1e-14, err_msg=name)
    for name in NAMES:  # the declared kink is the jump of f' at 0
        f = get_activation(name)
        jump = float(f.deriv(np.array([1e-12]))[0] - f.deriv(np.array([-1e-12]))[0])
        assert jump == pytest.approx(f.kink, abs=1e-9), name
    assert mgf._kernels.kind("no such kernel") is None
