"""Figures for papers (matplotlib, the ``plot`` extra). Every function draws into ``ax``
(a new figure when missing) and returns the axes."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_loss_curves", "plot_spectra", "plot_incoming_weights", "save_figure"]


def _axes(ax, figsize=(5, 3.5)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_loss_curves(results, labels=None, ax=None):
    """Loss against flow time on log-log axes, one line per result (t + 1 on the x axis,
    so that the start t = 0 is shown). The time axis ends a decade after the last change
    of any curve: converged flows run on to huge times (CVODE's steps grow without bound
    once the gradient vanishes) where nothing happens."""
    ax = _axes(ax)
    curves = [(np.asarray(r.trajectory.t, float), np.maximum(np.asarray(r.loss_curve, float), 1e-33))
              for r in results]
    t_end = 10.0
    for t, loss in curves:
        moving = np.nonzero(np.abs(loss - loss[-1]) > 1e-6 * loss[-1])[0]
        if moving.size:
            t_end = max(t_end, 10 * (t[min(moving[-1] + 1, len(t) - 1)] + 1.0))
    for i, (t, loss) in enumerate(curves):
        keep = t + 1.0 <= t_end  # far beyond, matplotlib's log autoscaling overflows
        ax.plot(t[keep] + 1.0, loss[keep], label=None if labels is None else labels[i], lw=1.2,
                marker=".", ms=2)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(1.0, t_end)
    ax.set_xlabel("flow time t + 1")
    ax.set_ylabel("loss")
    if labels is not None:
        ax.legend(fontsize=7, frameon=False)
    return ax


def plot_spectra(spectra, labels, ax=None, linthresh: float = 1e-8):
    """Hessian eigenvalues, one row per spectrum, on a symmetric-log axis (negative in red)."""
    ax = _axes(ax, (6, 0.35 * len(spectra) + 1.5))
    for i, ev in enumerate(spectra):
        ev = np.asarray(ev, float)
        ax.scatter(ev, np.full(ev.shape, i), s=9, c=np.where(ev < 0, "C3", "C0"))
    ax.set_xscale("symlog", linthresh=linthresh)
    top = max((np.abs(np.asarray(ev, float)).max() for ev in spectra if len(ev)), default=1.0)
    neg = any(np.min(ev) < 0 for ev in spectra if len(ev))
    ax.set_xlim(-2 * top if neg else -linthresh, 2 * top)  # autoscaling symlog overflows
    ax.set_yticks(range(len(spectra)), labels, fontsize=7)
    ax.set_xlabel("Hessian eigenvalue")
    return ax


def plot_incoming_weights(teacher_w, student_w, student_a=None, ax=None):
    """Incoming weight vectors in the plane (Din = 2): teacher as black arrows, students as
    coloured points (size proportional to the outgoing weight's magnitude)."""
    ax = _axes(ax, (4, 4))
    for w in np.asarray(teacher_w):
        ax.annotate("", xy=w[:2], xytext=(0, 0), arrowprops=dict(arrowstyle="->", color="k"))
    sw = np.asarray(student_w)
    size = 20 if student_a is None else 10 + 60 * np.abs(student_a) / max(np.abs(student_a).max(), 1e-12)
    ax.scatter(sw[:, 0], sw[:, 1], s=size, c="C1", alpha=0.8, zorder=3)
    lim = 1.1 * max(np.abs(sw[:, :2]).max(), np.abs(np.asarray(teacher_w)[:, :2]).max(), 1e-3)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.axhline(0, color="0.85", lw=0.6)
    ax.axvline(0, color="0.85", lw=0.6)
    ax.set_xlabel("$w_1$")
    ax.set_ylabel("$w_2$")
    return ax


def save_figure(fig, path) -> None:
    """Save a figure as PNG atomically and close it."""
    import matplotlib.pyplot as plt

    from .io import atomic_write

    fig.tight_layout()
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=130))
    plt.close(fig)
