"""Figures a reader can use: rendered, with tick labels that do not overlap."""

from __future__ import annotations

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

from mlpgradientflow.plot import plot_loss_curves, plot_spectra, signed_log  # noqa: E402


def _labels_overlap(fig, ax) -> bool:
    fig.canvas.draw()
    boxes = [t.get_window_extent() for t in ax.get_xticklabels() if t.get_text()]
    return any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


@pytest.mark.parametrize("n_params", [5, 200, 2000])
def test_spectra_ticks_stay_legible_over_many_decades(n_params):
    rng = np.random.default_rng(0)
    spectra = [np.concatenate([-10.0 ** rng.uniform(-12, 1, 3),
                               10.0 ** rng.uniform(-30, 4, n_params)]) for _ in range(6)]
    fig = Figure(figsize=(7, 3))
    ax = fig.add_subplot()
    plot_spectra(spectra, [f"run {i}" for i in range(6)], ax=ax)
    ticks = ax.get_xticks()
    assert 3 <= len(ticks) <= 10 and not _labels_overlap(fig, ax)
    assert {t.get_text() for t in ax.get_xticklabels()} >= {"0"}


def test_signed_log_is_monotone_and_odd():
    x = np.concatenate([-np.logspace(-20, 5, 50)[::-1], [0.0], np.logspace(-20, 5, 50)])
    y = signed_log(x, 1e-12)
    assert np.all(np.diff(y) >= 0) and np.allclose(y, -signed_log(-x, 1e-12))


def test_loss_curves_show_phase_two():
    class R:  # a result whose trajectory ends with phase 2's point
        trajectory = type("T", (), {"t": np.array([0.0, 1.0, 10.0, 11.0]), "x": None})
        loss_curve = np.array([1.0, 1e-2, 1e-4, 1e-12])
        info = {"trajectory_ends_after_optim": True}

    fig = Figure()
    ax = fig.add_subplot()
    plot_loss_curves([R()], ["run"], ax=ax)
    ys = np.concatenate([line.get_ydata() for line in ax.get_lines()])
    assert 1e-12 in ys  # the final loss is drawn


def test_sweep_figure_titles_count_the_failed_runs(tmp_path, monkeypatch):
    from mlpgradientflow import plot
    from mlpgradientflow.sweep import figures

    titles = {}
    monkeypatch.setattr(plot, "save_figure",
                        lambda fig, path: titles.update({path.name: fig.axes[0].get_title()}))
    monkeypatch.setattr(figures, "DETAIL_MAX", 0)  # the summary figures only
    rows = [dict(error="", width=1, end_state="minimum", loss=1e-3, gnorm=1e-12),
            dict(error="", width=3, end_state="saddle", loss=1e-5, gnorm=1e-9),
            dict(error="ValueError: boom", width=3, end_state="", loss=0.0, gnorm=0.0)]
    written, failed = figures.write_figures(rows, [], [], [], tmp_path)
    assert written == ["end_states.png", "loss_vs_width.png", "gnorm_hist.png"] and failed == []
    assert titles == {"end_states.png": "end states of 2 runs (1 failed)",
                      "loss_vs_width.png": "2 runs (1 failed)",
                      "gnorm_hist.png": "2 runs (1 failed)"}


def test_plot_distances_accepts_one_comparison_or_a_mapping():
    """A single compare_with_teacher result (a Record) or a plain mapping draws one column."""
    import matplotlib.pyplot as plt

    import mlpgradientflow as mgf
    from mlpgradientflow.recovery import compare_with_teacher, plot_distances

    t = mgf.TeacherNet([(2, "tanh", True), (1, "identity", True)], din=2, rng=0)
    one = compare_with_teacher((t.net, t.params), t)
    for arg in (one, {"cosine_distances": [0.0, 1e-3], "success": False}):
        ax = plot_distances(arg)
        assert len(ax.collections) == 1
        plt.close("all")
