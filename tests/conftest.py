"""Shared test helpers: random architectures, data for them, finite differences."""

from __future__ import annotations

import numpy as np
import pytest

import mlpgradientflow as mgf
from mlpgradientflow.activations import ACTIVATIONS

#: every hidden activation of the registry: tests parametrize over what it declares
ALL_HIDDEN = [n for n in ACTIVATIONS if n != "softmax"]
#: those with a continuous derivative (no kink), other than the identity
SMOOTH = [n for n in ALL_HIDDEN if not ACTIVATIONS[n].kink and n != "identity"]


def make_data(rng, layers, din, n, out_kind="mse", weights=False):
    """Input, target (and weights) for a layer spec; out_kind: mse / labels / probs."""
    X = rng.standard_normal((n, din))
    dout = layers[-1][0]
    if out_kind == "labels":
        y = rng.integers(0, dout, n)
    elif out_kind == "probs":
        y = rng.dirichlet(np.ones(dout), n)
    else:
        y = rng.standard_normal((n, dout))
    w = rng.random(n) * 2 if weights else None
    return X, y, w


def random_case(seed: int):
    """A random architecture with data: depth 1-4, mixed activations, biases, outputs."""
    rng = np.random.default_rng(seed)
    depth = int(rng.integers(1, 5))
    din = int(rng.integers(1, 4))
    layers = []
    for _ in range(depth - 1):
        k = int(rng.integers(1, 5))
        if rng.random() < 0.3 and k > 1:
            act = tuple(rng.choice(ALL_HIDDEN, k))
        else:
            act = str(rng.choice(ALL_HIDDEN))
        layers.append((k, act, bool(rng.random() < 0.7)))
    kind = str(rng.choice(["mse", "mse", "labels", "probs"]))
    dout = int(rng.integers(1, 4)) if kind == "mse" else int(rng.integers(2, 4))
    out_act = "softmax" if kind != "mse" else str(rng.choice(["identity", "identity", "sigmoid", "tanh", "softplus"]))
    layers.append((dout, out_act, bool(rng.random() < 0.7)))
    n = int(rng.integers(1, 30))
    X, y, w = make_data(rng, layers, din, n, kind, weights=bool(rng.random() < 0.4))
    net = mgf.Net(layers, input=X, target=y, weights=w)
    p = net.random_params(rng) + 0.3 * rng.standard_normal(net.nparams)
    return net, p, rng


def fd_gradient(f, p, h=1e-6):
    g = np.empty_like(p)
    for i in range(p.size):
        e = np.zeros_like(p)
        e[i] = h
        g[i] = (f(p + e) - f(p - e)) / (2 * h)
    return g


def fd_hessian(grad, p, h=1e-5):
    H = np.empty((p.size, p.size))
    for i in range(p.size):
        e = np.zeros_like(p)
        e[i] = h
        H[:, i] = (grad(p + e) - grad(p - e)) / (2 * h)
    return (H + H.T) / 2


def assert_close_rel(a, b, rtol, what=""):
    """max |a - b| <= rtol * max |b| (relative to the array's scale)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    scale = max(float(np.abs(b).max()), 1e-300)
    err = float(np.abs(a - b).max())
    assert err <= rtol * scale, f"{what}: max abs err {err:.3e} > {rtol:g} * {scale:.3e}"


@pytest.fixture
def teacher_student():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 2))
    teacher = mgf.TeacherNet([(3, "softplus", True), (1, "identity", True)], din=2, rng=5)
    net = mgf.Net([(5, "softplus", True), (1, "identity", True)], input=X, target=teacher(X))
    return net, teacher


@pytest.fixture(params=["chunked", "small"])
def engine_path(request, monkeypatch):
    """Run a test through the chunked NumPy engine and through the compiled per-sample
    kernel for small data sets (where available)."""
    from mlpgradientflow.derivatives import engine

    if request.param == "chunked":
        monkeypatch.setattr(engine, "SMALL_WORK", 0)
    elif not mgf._kernels.available:
        pytest.skip("compiled kernels not built")
    else:
        monkeypatch.setattr(engine, "SMALL_WORK", 10**9)
    return request.param
