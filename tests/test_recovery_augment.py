"""Query augmentations and the synthetic E&C problems: shapes, ranges, seeds, recipes."""

import math

import numpy as np
import pytest

from mlpgradientflow.recovery import (
    composition_noise,
    composition_sampling,
    noise_overlay,
    student_nparams,
    teacher_aware_uniform,
    tile_bounds,
)

BASE = np.random.default_rng(0).standard_normal((7, 28, 28))


def test_tile_bounds_of_a_28_canvas_in_3():
    assert tile_bounds(28, 3) == [(0, 9), (9, 18), (18, 28)]  # pixels 0-8, 9-17, 18-27
    assert tile_bounds(28, 2) == [(0, 14), (14, 28)]


def test_noise_overlay_adds_noise_in_range_to_some_base_image():
    q = noise_overlay(BASE, 50, 0.0, 1.0, rng=1)
    assert q.shape == (50, 28, 28) and q.dtype == np.float64
    for x in q:
        diff = x[None] - BASE
        src = np.flatnonzero(((diff >= 0) & (diff < 1)).all(axis=(1, 2)))
        assert src.size >= 1
    neg = noise_overlay(BASE, 20, -1.0, 0.0, rng=2)
    assert any((((x - BASE) >= -1) & ((x - BASE) < 0)).all(axis=(1, 2)).any() for x in neg)
    # noise is i.i.d. uniform: mean of all offsets ~ 0.5 (1.4e6 entries -> std 2.4e-4)
    offs = [
        x - BASE[np.argmin(np.abs(x - BASE - 0.5).mean(axis=(1, 2)))]
        for x in noise_overlay(BASE, 2000, 0.0, 1.0, rng=3)
    ]
    assert abs(np.mean(offs) - 0.5) < 2e-3


def test_noise_overlay_multiplicative_mode_and_seeds():
    q = noise_overlay(np.ones((3, 4)), 5, 2.0, 3.0, mode="multiply", rng=0)
    assert ((q >= 2) & (q < 3)).all()
    np.testing.assert_array_equal(noise_overlay(BASE, 4, rng=5), noise_overlay(BASE, 4, rng=5))
    assert not np.array_equal(noise_overlay(BASE, 4, rng=5), noise_overlay(BASE, 4, rng=6))


def test_composition_pixels_come_from_same_position_of_one_source_per_tile():
    base = np.random.default_rng(1).random((9, 28, 28))
    q = composition_sampling(base, 30, (3, 3), rng=0)
    assert q.shape == (30, 28, 28)
    bounds = tile_bounds(28, 3)
    used = set()
    for x in q:
        for r0, r1 in bounds:
            for c0, c1 in bounds:
                tile = x[r0:r1, c0:c1]
                src = [i for i in range(9) if np.array_equal(tile, base[i, r0:r1, c0:c1])]
                assert len(src) == 1
                used.add(src[0])
    assert used == set(range(9))


def test_composition_along_one_axis_of_vectors_and_seeds():
    base = np.arange(40.0).reshape(4, 10)
    q = composition_sampling(base, 6, (2,), rng=3)
    for x in q:
        assert any(np.array_equal(x[:5], b[:5]) for b in base)
        assert any(np.array_equal(x[5:], b[5:]) for b in base)
    np.testing.assert_array_equal(q, composition_sampling(base, 6, (2,), rng=3))


def test_rotation_by_zero_is_identity_and_by_180_flips():
    base = np.random.default_rng(2).random((1, 8, 8))
    np.testing.assert_allclose(
        composition_sampling(base, 2, (1, 1), rotation=(0, 0), rng=0),
        np.repeat(base, 2, 0),
        atol=1e-12,
    )
    r = composition_sampling(base, 1, (1, 1), rotation=(180, 180), rng=0)
    np.testing.assert_allclose(r[0], base[0, ::-1, ::-1], atol=1e-12)
    with pytest.raises(ValueError, match="two axes"):
        composition_sampling(base, 1, (2,), rotation=(0, 90))


def test_composition_noise_stacks_compositions_and_overlays():
    q = composition_noise(BASE, 20, 10, rng=0)
    assert q.shape == (40, 28, 28)
    comp = q[:20]
    for x in q[20:30]:
        assert (((x[None] - comp) >= 0) & ((x[None] - comp) < 1)).all(axis=(1, 2)).any()
    for x in q[30:]:
        assert (((x[None] - comp) >= -1) & ((x[None] - comp) < 0)).all(axis=(1, 2)).any()


def test_bad_arguments():
    with pytest.raises(ValueError, match="low < high"):
        noise_overlay(BASE, 2, 1.0, 0.0)
    with pytest.raises(ValueError, match="base"):
        noise_overlay(np.ones(3), 2)
    with pytest.raises(ValueError, match="grid"):
        composition_sampling(BASE, 2, (3, 3, 3))
    with pytest.raises(ValueError, match="mode"):
        noise_overlay(BASE, 2, mode="xor")


def test_teacher_aware_uniform_counts_and_range():
    # fork's count: hidden layers at rho * width, output from the teacher's last width
    assert student_nparams(2, [3, 3], rho=4) == 3 * 12 + 13 * 12 + 4
    for factor, rounding in [
        (0.5, math.floor),
        (1.0, math.floor),
        (1.1, math.ceil),
        (5.0, math.ceil),
    ]:
        X = teacher_aware_uniform(8, [3], 4, factor, rng=0)
        assert X.shape == (rounding(student_nparams(8, [3], 4) * factor), 8)
        assert np.abs(X).max() <= math.sqrt(3)
    X = teacher_aware_uniform(2, [3], 1, 1.0, rng=0)
    assert teacher_aware_uniform(1, [1], 1, 0.01).shape[0] == 2
    np.testing.assert_array_equal(X, teacher_aware_uniform(2, [3], 1, 1.0, rng=0))
    big = teacher_aware_uniform(2, [3], 4, 2000.0, rng=1)
    assert abs(big.var() - 1.0) < 0.02  # unit variance, 1.6e5 draws
