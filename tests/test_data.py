"""Input generators, the modified Rosenbrock target, E&C teachers and GP targets.

Statistical checks use 5-standard-error bounds on seeded draws (deterministic, and a
correct generator fails one with probability ~1e-6)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import mlpgradientflow.data as data
from conftest import assert_close_rel

S3 = math.sqrt(3.0)


def _mean_var_ok(x, mean, var, fourth):
    """Sample mean/variance per column within 5 standard errors of the exact moments."""
    n = x.shape[0]
    assert np.all(np.abs(x.mean(0) - mean) < 5 * math.sqrt(var / n))
    var_se = math.sqrt((fourth - var**2) / n)
    assert np.all(np.abs(x.var(0) - var) < 5 * var_se + 5 * var / n)


def test_normal_moments():
    _mean_var_ok(data.normal(40_000, 3, rng=0), 0.0, 1.0, 3.0)


def test_uniform_support_and_moments():
    X = data.uniform(40_000, 3, rng=1)
    assert X.shape == (40_000, 3)
    assert np.abs(X).max() <= S3
    assert np.abs(X).max() > S3 - 1e-3  # fills the cube to its faces
    _mean_var_ok(X, 0.0, 1.0, 9.0 / 5.0)  # E x^4 = 9/5 for U[-√3, √3]


def test_sphere_norms_and_isotropy():
    X = data.sphere(20_000, 4, rng=2)
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, rtol=1e-14)
    # E x = 0, E x x^T = I/d; a coordinate of a uniform unit vector has variance 1/d
    assert np.abs(X.mean(0)).max() < 5 * math.sqrt(0.25 / 20_000)
    C = X.T @ X / len(X)
    assert np.abs(C - np.eye(4) / 4).max() < 0.01


def test_sphere_d1_is_signs():
    assert set(np.unique(data.sphere(50, 1, rng=0))) == {-1.0, 1.0}


def test_grid_counts_endpoints_order():
    G = data.grid(101, 2)
    assert G.shape == (101**2, 2)
    assert len(np.unique(G, axis=0)) == 101**2
    assert G.min() == -S3 and G.max() == S3
    np.testing.assert_allclose(np.diff(np.unique(G[:, 0])), 2 * S3 / 100, rtol=1e-12)
    # first coordinate fastest, like Julia's Iterators.product
    np.testing.assert_array_equal(G[:101, 1], -S3)
    np.testing.assert_array_equal(G[:101, 0], np.linspace(-S3, S3, 101))
    G3 = data.grid(4, 3, low=0.0, high=3.0)
    assert G3.shape == (64, 3)
    np.testing.assert_array_equal(
        G3, np.array([[i, j, k] for k in range(4) for j in range(4) for i in range(4)], float)
    )


@pytest.mark.parametrize("scramble", [True, False])
def test_sobol_balance(scramble):
    """A Sobol (0, m, 2)-net: every dyadic box of volume 1/n holds exactly one point, in
    the first two coordinates, scrambled or not; each 1-D projection is stratified."""
    n = 256
    X = data.sobol(n, 3, rng=3, scramble=scramble)
    assert np.abs(X).max() <= S3
    u = (X + S3) / (2 * S3)

    def cell(v, k):  # the points sit on multiples of 2^-30: 1e-12 absorbs the round trip
        return np.floor(v * k + 1e-12).astype(int)

    for a, b in [(16, 16), (2, 128), (256, 1)]:
        np.testing.assert_array_equal(np.bincount(cell(u[:, 0], a) * b + cell(u[:, 1], b)), 1)
    for j in range(3):
        np.testing.assert_array_equal(np.bincount(cell(u[:, j], 32)), n // 32)


def test_sobol_normal():
    X = data.sobol(1024, 2, rng=4, distribution="normal")
    assert np.isfinite(X).all()
    # the inverse CDF maps the stratified points back: Φ(x) is balanced
    u = stats.norm.cdf(X)
    np.testing.assert_array_equal(np.bincount(np.floor(u[:, 0] * 64).astype(int)), 16)
    # quasi-Monte Carlo moments are far better than the Monte Carlo 5-sigma band
    assert np.abs(X.mean(0)).max() < 0.01 and np.abs(X.var(0) - 1).max() < 0.05


def test_seeds_reproduce():
    for f in (data.normal, data.uniform, data.sphere, data.sobol):
        a, b = f(64, 3, 7), f(64, 3, np.random.default_rng(7))
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, f(64, 3, 8))


def _rosen_direct(x, a=1.0, b=3.0, c=1.0):
    s = sum(b * (x[i + 1] + c - x[i] ** 2) ** 2 + (a - x[i]) ** 2 for i in range(len(x) - 1))
    return math.log10(s + 0.1)


@pytest.mark.parametrize("c", [1.0, 0.0])
def test_rosenbrock_formula_and_zscore(c):
    X = data.uniform(500, 4, rng=5)
    raw = np.array([_rosen_direct(x, c=c) for x in X])
    # tolerances relative to the arrays' scale: single entries near zero come out of
    # cancellations whose rounding differs between CPUs
    assert_close_rel(data.rosenbrock(X, c=c, zscore=False)[:, 0], raw, 1e-14, "raw")
    y = data.rosenbrock(X, c=c)
    assert y.shape == (500, 1)
    assert_close_rel(y[:, 0], (raw - raw.mean()) / raw.std(ddof=1), 1e-12, "z-scored")
    assert abs(y.mean()) < 1e-14 and abs(y.std(ddof=1) - 1) < 1e-14


def test_rosenbrock_minimum_and_dims():
    # the shifted minimum: x_i = a = 1 and x_{i+1} = x_i^2 - c = 0 gives log10(0.1)
    assert data.rosenbrock(np.array([[1.0, 0.0]]), zscore=False)[0, 0] == -1.0
    X = data.normal(100, 5, rng=6)
    np.testing.assert_array_equal(data.rosenbrock(X, dims=2), data.rosenbrock(X[:, :2]))


def test_gp_covariance_matches_matern():
    X = data.normal(6, 2, rng=7)
    ell = 0.8
    M = 40_000
    Y = data.gp_teacher(X, ell, rng=8, draws=M)
    assert Y.shape == (6, M)
    r = np.linalg.norm(X[:, None] - X[None], axis=-1)
    K = (1 + S3 * r / ell) * np.exp(-S3 * r / ell)
    C = Y @ Y.T / M  # zero mean by construction
    # Var of a product of jointly Gaussian variables: K_ii K_jj + K_ij^2
    se = np.sqrt((np.outer(np.diag(K), np.diag(K)) + K**2) / M)
    assert np.all(np.abs(C - K) < 5 * se)
    assert np.abs(Y.mean(1)).max() < 5 / math.sqrt(M)


def test_gp_reproducible_and_scale():
    X = data.normal(30, 2, rng=0)
    a = data.gp_teacher(X, 2.0, rng=3)
    np.testing.assert_array_equal(a, data.gp_teacher(X, 2.0, rng=3))
    assert not np.array_equal(a, data.gp_teacher(X, 2.0, rng=4))
    # a longer length scale gives a smoother function: neighbours agree better
    Xs = np.linspace(0, 1, 40)[:, None]
    rough = np.diff(data.gp_teacher(Xs, 0.05, rng=1, draws=200), axis=0).var()
    smooth = np.diff(data.gp_teacher(Xs, 5.0, rng=1, draws=200), axis=0).var()
    assert smooth < rough / 10


def test_ec_teacher_statistics():
    """Per neuron: ‖w‖ ~ U[1.5, 2.5], b/‖w‖ ~ U[-1, 1], uniform direction; every layer."""
    d = 8
    rows = {0: [], 1: [], 2: []}
    for seed in range(300):
        t = data.ec_teacher(d, (3, 3), rng=seed)
        for layer, M in enumerate(t.net.unflatten(t.params)):
            rows[layer].append(M)
    for layer, Ms in rows.items():
        M = np.concatenate(Ms)
        W, b = M[:, :-1], M[:, -1]
        norms = np.linalg.norm(W, axis=1)
        assert norms.min() >= 1.5 and norms.max() <= 2.5
        assert np.all(np.abs(b) <= norms)
        assert stats.kstest(norms, stats.uniform(1.5, 1.0).cdf).pvalue > 1e-4
        assert stats.kstest(b / norms, stats.uniform(-1.0, 2.0).cdf).pvalue > 1e-4
        if layer == 0:  # directions in R^8: E u = 0, E u u^T = I/d
            U = W / norms[:, None]
            assert np.abs(U.mean(0)).max() < 5 * math.sqrt(1 / d / len(U))
            assert np.abs(U.T @ U / len(U) - np.eye(d) / d).max() < 0.02


def test_ec_teacher_architecture():
    t = data.ec_teacher(2, (3, 3, 3), "tanh", rng=1)
    assert [(lay.width, lay.activation_name, lay.bias) for lay in t.layers] == [
        (3, "tanh", True),
        (3, "tanh", True),
        (3, "tanh", True),
        (1, "identity", True),
    ]
    assert data.ec_teacher(2, rng=1).layers[0].activation_name == "g"
    np.testing.assert_array_equal(
        data.ec_teacher(2, rng=9).params, data.ec_teacher(2, rng=9).params
    )


@pytest.mark.parametrize(
    "call, exc, words",
    [
        (lambda: data.normal(0, 2), ValueError, "`n`"),
        (lambda: data.uniform(3, 2.5), ValueError, "`d`"),
        (lambda: data.normal(3, 2, rng="seed"), TypeError, "`rng`"),
        (lambda: data.normal(3, 2, rng=1.5), TypeError, "`rng`"),
        (lambda: data.grid(3, 2, low=1.0, high=0.0), ValueError, "`low`"),
        (lambda: data.sobol(4, 2, distribution="beta"), ValueError, "`distribution`"),
        (lambda: data.sobol(4, 2, scramble=False, distribution="normal"), ValueError, "`scramble`"),
        (lambda: data.rosenbrock(np.ones((4, 1))), ValueError, "`dims`"),
        (lambda: data.rosenbrock(np.ones((4, 2))), ValueError, "z-scoring"),
        (lambda: data.rosenbrock(np.full((4, 2), np.nan)), ValueError, "`X`"),
        (lambda: data.gp_teacher(np.ones((3, 2)), 0.0), ValueError, "`length_scale`"),
        (lambda: data.gp_teacher(np.ones((3, 2)), 1.0, jitter=0.0), ValueError, "`jitter`"),
        (lambda: data.ec_teacher(2, 3), TypeError, "`hidden`"),
        (lambda: data.ec_teacher(2, (3, 0)), ValueError, "`hidden[1]`"),
    ],
)
def test_errors(call, exc, words):
    with pytest.raises(exc, match=words.replace("[", r"\[").replace("]", r"\]")):
        call()
