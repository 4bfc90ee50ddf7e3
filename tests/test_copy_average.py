"""Copy-average points of erf networks: the closed form against the exact infinite-data
engine (NetI), Monte Carlo and a direct 2-parameter minimisation; criticality; the optimal
partition against brute force over set partitions."""

import math

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import erf

import mlpgradientflow as mgf
from mlpgradientflow.theory.copy_average import ca_point, loss_erf, optimal_ca


def orthonormal(k, d, seed):
    """k random orthonormal rows in R^d."""
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, k)))
    return q.T


def erf_teacher(V, a):
    k, d = V.shape
    return mgf.TeacherNet(
        [(k, "erf", False), (1, "identity", False)],
        din=d,
        params=mgf.params(V, np.asarray(a, float)[None]),
    )


def student(teacher, n):
    return mgf.NetI(teacher, [(n, "erf", False), (1, "identity", False)])


def set_partitions(items):
    """All partitions of a list into non-empty blocks (brute force)."""
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for part in set_partitions(rest):
        yield [[first], *part]
        for i in range(len(part)):
            yield [*part[:i], [first, *part[i]], *part[i + 1 :]]


def kernel(u, v):
    """E[sigma(u.x) sigma(v.x)] for sigma(z) = erf(z / sqrt 2), x ~ N(0, I)."""
    return 2 / math.pi * math.asin(u @ v / math.sqrt((1 + u @ u) * (1 + v @ v)))


@pytest.mark.parametrize("p", range(1, 7))
def test_single_group_matches_neti(p):
    V = orthonormal(p, p + 2, seed=p)
    neti = student(erf_teacher(V, np.ones(p)), 1)
    x = ca_point(V, np.ones(p), [list(range(p))])
    L, g = neti.fg(x)
    assert abs(L - loss_erf(p)) < 1e-10
    assert np.abs(g).max() < 1e-10


@pytest.mark.parametrize("p", range(2, 6))
def test_scale_and_weight_minimise_the_group_loss(p):
    """Nelder-Mead on (c, a) with the arcsin kernel written out reproduces c*, a*, L(p)."""
    V = np.eye(p)
    s = V.sum(axis=0)

    def group_loss(z):
        c, a = z
        u = c * s
        return a**2 * kernel(u, u) - 2 * a * sum(kernel(u, v) for v in V) + p / 3

    res = minimize(
        group_loss,
        [0.5, 1.0],
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 4000},
    )
    np.testing.assert_allclose(res.x, [1 / math.sqrt(p * (2 * p - 1)), p], rtol=1e-6)
    assert res.fun == pytest.approx(loss_erf(p), abs=1e-12)


def test_monte_carlo():
    k, d, groups = 4, 6, [[2], [0, 1, 3]]
    V = orthonormal(k, d, seed=11)
    x = ca_point(V, np.ones(k), groups)
    W, a = x[: 2 * d].reshape(2, d), x[2 * d :]
    X = np.random.default_rng(0).standard_normal((400_000, d))
    sq = (erf(X @ W.T / math.sqrt(2)) @ a - erf(X @ V.T / math.sqrt(2)).sum(axis=1)) ** 2
    se = sq.std() / math.sqrt(len(sq))
    assert abs(sq.mean() - loss_erf(3)) < 4 * se
    assert se < 0.02 * loss_erf(3)  # the check resolves the loss


@pytest.mark.parametrize("k,n", [(4, 2), (4, 3), (5, 2)])
def test_every_partition_is_critical(k, n):
    """Any CA partition (not only the optimal one) with equal weights per group is critical."""
    V = orthonormal(k, k + 1, seed=k + n)
    alpha = np.linspace(0.5, 2.0, n)  # one teacher weight per group, differing across groups
    for groups in (g for g in set_partitions(list(range(k))) if len(g) == n):
        a = np.empty(k)
        for i, g in enumerate(groups):
            a[g] = alpha[i]
        neti = student(erf_teacher(V, a), n)
        L, grad = neti.fg(ca_point(V, a, groups))
        expected = sum(alpha[i] ** 2 * loss_erf(len(g)) for i, g in enumerate(groups))
        assert abs(L - expected) < 1e-10
        assert np.abs(grad).max() < 1e-10


def test_unequal_weights_in_a_group_is_not_critical():
    V, a, groups = orthonormal(3, 4, seed=0), np.array([1.0, 0.5, 2.0]), [[0], [1, 2]]
    neti = student(erf_teacher(V, a), 2)
    L, grad = neti.fg(ca_point(V, a, groups))
    expected = (0.25 + 4) / 3 - 2 / math.pi * math.asin(1 / 4) * 2.5**2
    assert abs(L - expected) < 1e-10
    assert np.abs(grad).max() > 1e-2


@pytest.mark.parametrize("k", range(1, 6))
def test_optimal_ca_against_brute_force_with_neti(k):
    V = orthonormal(k, k + 1, seed=k)
    teacher = erf_teacher(V, np.ones(k))
    partitions = list(set_partitions(list(range(k))))
    for n in range(1, k + 1):
        neti = student(teacher, n)
        losses = [neti.loss(ca_point(V, np.ones(k), g)) for g in partitions if len(g) == n]
        best = optimal_ca(k, n)
        assert best.loss == pytest.approx(min(losses), abs=1e-12)
        assert neti.loss(ca_point(V, np.ones(k), best.groups)) == pytest.approx(
            best.loss, abs=1e-12
        )
        assert sorted(len(g) for g in best.groups) == [1] * (n - 1) + [k - n + 1]


@pytest.mark.parametrize("k", [8, 12, 20])
def test_optimal_ca_against_all_group_sizes(k):
    """Brute force over every multiset of group sizes (larger k, closed-form losses)."""

    def partitions(total, parts, largest):
        """Group sizes in non-increasing order, each <= largest."""
        if parts == 1:
            if total <= largest:
                yield (total,)
            return
        for first in range(min(largest, total - parts + 1), 0, -1):
            for rest in partitions(total - first, parts - 1, first):
                yield (first, *rest)

    n_partitions = 0
    for n in range(1, k + 1):
        sizes = list(partitions(k, n, k))
        assert len(sizes) == len(set(sizes)) > 0
        n_partitions += len(sizes)
        brute = min(float(np.sum(loss_erf(list(c)))) for c in sizes)
        assert optimal_ca(k, n).loss == pytest.approx(brute, abs=1e-13)
    assert n_partitions == {8: 22, 12: 77, 20: 627}[k]  # the partition numbers p(k)


def test_loss_shape_and_asymptotics():
    p = np.arange(1, 2001)
    L = loss_erf(p)
    assert L[0] == 0.0 and np.all(L[1:] > 0)
    assert np.all(np.diff(L, 2) < 0)  # strictly concave
    for q in (10, 30, 100):
        series = q * (1 / 3 - 1 / math.pi) - 1 / (24 * math.pi * q)
        assert abs(loss_erf(q) - series) < 2e-3 / q**3
    assert loss_erf(2) == pytest.approx(2 / 3 - 8 / math.pi * math.asin(0.25), rel=1e-15)


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: loss_erf(0), ValueError, "integers >= 1"),
        (lambda: loss_erf(1.5), ValueError, "integers >= 1"),
        (lambda: optimal_ca(3, 4), ValueError, "`n` must be <= k"),
        (lambda: optimal_ca(0, 1), ValueError, "`k`"),
        (lambda: ca_point(np.ones((2, 3)), np.ones(2), [[0], [1]]), ValueError, "orthonormal"),
        (lambda: ca_point(np.eye(2, 3), np.ones(3), [[0], [1]]), ValueError, "`a` must have 2"),
        (lambda: ca_point(np.eye(3), np.ones(3), [[0], [1, 1]]), ValueError, "partition"),
        (lambda: ca_point(np.eye(3), np.ones(3), [[0, 1]]), ValueError, "partition"),
        (lambda: ca_point(np.eye(3), np.ones(3), [[0, 1, 2], []]), ValueError, "non-empty"),
        (lambda: ca_point(np.eye(3), np.ones(3), "012"), TypeError, "`groups`"),
    ],
)
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
