"""Figures for papers (matplotlib, the ``plot`` extra). Every function draws into ``ax``
(a new figure when missing) and returns the axes."""

from __future__ import annotations

import numpy as np

from ._validation import as_real, finite_array

__all__ = ["plot_loss_curves", "plot_spectra", "plot_incoming_weights", "save_figure",
           "signed_log"]


def _labels(labels, n: int, what: str):
    """``labels`` as a list of ``n`` entries (None stays None)."""
    if labels is None:
        return None
    if isinstance(labels, str) or len(labels) != n:
        raise ValueError(
            f"argument `labels` must hold one label per {what} ({n}), got {labels!r}"
        )
    return list(labels)


def _axes(ax, figsize=(5, 3.5)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_loss_curves(results, labels=None, ax=None):
    """Loss against flow time on log-log axes, one line per result (t + 1 on the x axis,
    so that the start t = 0 is shown). The time axis ends a decade after the last change
    of any curve: converged flows run on to huge times (CVODE's steps grow without bound
    once the gradient vanishes) where nothing happens. Where phase 2 ran, the trajectory
    ends with its final point (at the last flow time + 1, as in the reference), drawn as a
    dashed segment to a square marker.

    Parameters
    ----------
    results : iterable of TrainResult
        Each with ``trajectory`` (T,) times and ``loss_curve`` (T,).
    labels : sequence of str, optional
        One legend entry per result.
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure).

    Returns
    -------
    matplotlib Axes
        ``ax``, log-log, :math:`t + 1` against the loss.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")                      # no display needed
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> from mlpgradientflow.plot import plot_loss_curves
    >>> X = np.array([[0.0], [1.0], [2.0]])
    >>> net = mgf.Net([(1, "identity", False)], input=X, target=2 * X)
    >>> res = [mgf.train(net, [w], maxiterations_ode=30, verbosity=0) for w in (0.0, 5.0)]
    >>> ax = plot_loss_curves(res, labels=["w0 = 0", "w0 = 5"])
    >>> len(ax.get_lines()), ax.get_xscale(), [t.get_text() for t in ax.get_legend().get_texts()]
    (6, 'log', ['w0 = 0', 'w0 = 5'])
    >>> plt.close("all")
    """
    results = list(results)
    for i, r in enumerate(results):
        if not (hasattr(r, "trajectory") and hasattr(r, "loss_curve")):
            raise TypeError(
                f"argument `results`: entry {i} must be a TrainResult (with a trajectory), "
                f"got {type(r).__name__}"
            )
    labels = _labels(labels, len(results), "result")
    ax = _axes(ax)
    curves = [(np.asarray(r.trajectory.t, float), np.maximum(np.asarray(r.loss_curve, float), 1e-33),
               _phase2_appended(r)) for r in results]
    t_end = 10.0
    for t, loss, two in curves:
        flow = loss[:-1] if two else loss
        moving = (np.nonzero(np.abs(flow - flow[-1]) > 1e-6 * flow[-1])[0] if flow.size
                  else np.zeros(0, int))
        if len(moving):
            t_end = max(t_end, 10 * (t[min(moving[-1] + 1, len(flow) - 1)] + 1.0))
    for i, (t, loss, two) in enumerate(curves):
        n = len(t) - two
        keep = t[:n] + 1.0 <= t_end  # far beyond, matplotlib's log autoscaling overflows
        (line,) = ax.plot(t[:n][keep] + 1.0, loss[:n][keep], lw=1.2, marker=".", ms=2,
                          label=None if labels is None else labels[i])
        if two and n:
            last = min(t[n - 1], t_end - 1.0) + 1.0
            ax.plot([last, last], [loss[n - 1], loss[-1]], ls="--", lw=1, color=line.get_color())
            ax.plot([last], [loss[-1]], marker="s", ms=4, color=line.get_color())
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(1.0, t_end)
    ax.set_xlabel("flow time t + 1 (square: after phase 2)")
    ax.set_ylabel("loss")
    if labels is not None and ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, frameon=False)
    return ax


def _phase2_appended(res) -> bool:
    """Whether the trajectory's last state is phase 2's final point (see :func:`train`)."""
    return bool(getattr(res, "info", {}).get("trajectory_ends_after_optim", False))


def signed_log(x, floor: float) -> np.ndarray:
    r"""The signed-log coordinate :math:`\mathrm{sign}(x)\,\log_{10}(|x|/\mathrm{floor})` for
    :math:`|x| > \mathrm{floor}`, 0 inside :math:`[-\mathrm{floor}, \mathrm{floor}]`.

    Parameters
    ----------
    x : array_like
        Any shape, finite.
    floor : float
        The magnitude mapped to 0, > 0.

    Returns
    -------
    ndarray
        The shape of ``x``; one unit per decade.

    Examples
    --------
    >>> from mlpgradientflow.plot import signed_log
    >>> signed_log([-1e-2, 0.0, 1e-9, 1e3], 1e-8).tolist()
    [-6.0, 0.0, 0.0, 11.0]
    """
    x = finite_array("x", x, dtype=float)
    floor = as_real("floor", floor, positive=True)
    a = np.abs(x)
    return np.where(a > floor, np.sign(x) * np.log10(np.maximum(a, floor) / floor), 0.0)


def plot_spectra(spectra, labels, ax=None, floor: float | None = None):
    r"""Hessian eigenvalues, one row per spectrum, on a signed log axis (negative in red).

    The axis shows :func:`signed_log` of the eigenvalues: decades of positive eigenvalues to
    the right, of negative ones to the left, and everything with :math:`|\lambda| \le`
    ``floor`` (default :math:`10^{-12}` of the largest magnitude) at 0. At most nine ticks,
    labelled with the eigenvalue they stand for, so the labels stay legible for spectra over
    any number of decades.

    Parameters
    ----------
    spectra : sequence of arrays, shapes (P_i,)
        Eigenvalues, e.g. ``mgf.hessian_spectrum(net, p).values`` per point.
    labels : sequence of str
        One per spectrum (the y tick labels).
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure).
    floor : float, optional
        Magnitude drawn at 0.

    Returns
    -------
    matplotlib Axes
        ``ax``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")                      # no display needed
    >>> import matplotlib.pyplot as plt
    >>> from mlpgradientflow.plot import plot_spectra
    >>> ax = plot_spectra([[-1.0, 1e-20, 2.0, 300.0], [0.5, 1.0]], ["saddle", "minimum"])
    >>> [t.get_text() for t in ax.get_xticklabels()]       # nine ticks, floor 3e-10
    ['-3e+02', '-3e-01', '-3e-04', '-3e-07', '0', '3e-07', '3e-04', '3e-01', '3e+02']
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['saddle', 'minimum']
    >>> plt.close("all")
    """
    spectra = [finite_array(f"spectra[{i}]", ev, ndim=1, dtype=float) for i, ev in enumerate(spectra)]
    labels = _labels(labels, len(spectra), "spectrum")
    if floor is not None:
        floor = as_real("floor", floor, positive=True)
    ax = _axes(ax, (6, 0.35 * len(spectra) + 1.5))
    top = max((np.abs(np.asarray(ev, float)).max() for ev in spectra if len(ev)), default=1.0)
    floor = float(floor) if floor is not None else max(top, 1e-300) * 1e-12
    for i, ev in enumerate(spectra):
        ev = np.asarray(ev, float)
        ax.scatter(signed_log(ev, floor), np.full(ev.shape, i), s=9,
                   c=np.where(ev < -floor, "C3", np.where(ev > floor, "C0", "0.5")))
    span = max(float(signed_log(top, floor)), 1.0)
    neg = any(np.min(ev) < -floor for ev in spectra if len(ev))
    lo = -span if neg else -0.5
    step = max(1, int(np.ceil((span - lo) / 8)))
    ticks = [k for k in range(int(np.floor(lo)), int(np.ceil(span)) + 1) if k % step == 0]
    ax.set_xticks(ticks, [_tick_label(k, floor) for k in ticks], fontsize=7)
    ax.set_xlim(lo - 0.3, span + 0.3)
    ax.axvline(0, color="0.85", lw=0.6, zorder=0)
    ax.set_yticks(range(len(spectra)), labels, fontsize=7)
    ax.set_xlabel(f"Hessian eigenvalue (signed log scale; |λ| ≤ {floor:.0e} at 0)")
    return ax


def _tick_label(k: int, floor: float) -> str:
    if k == 0:
        return "0"
    return f"{'-' if k < 0 else ''}{floor * 10.0 ** abs(k):.0e}"


def plot_incoming_weights(teacher_w, student_w, student_a=None, ax=None):
    """Incoming weight vectors in the plane (Din = 2): teacher as black arrows, students as
    coloured points (size proportional to the outgoing weight's magnitude).

    Parameters
    ----------
    teacher_w : array, shape (r, Din)
        Teacher incoming vectors (the first two coordinates are drawn).
    student_w : array, shape (k, Din)
        Student incoming vectors.
    student_a : array, shape (k,), optional
        Student outgoing weights (marker sizes).
    ax : matplotlib Axes, optional
        Where to draw (default: a new square figure).

    Returns
    -------
    matplotlib Axes
        ``ax``, with equal aspect and symmetric limits.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")                      # no display needed
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from mlpgradientflow.plot import plot_incoming_weights
    >>> ax = plot_incoming_weights(np.eye(2), [[0.9, 0.1], [0.0, -1.2], [0.5, 0.5]],
    ...                            [1.0, -2.0, 0.0])
    >>> len(ax.texts), ax.collections[0].get_offsets().shape      # 2 arrows, 3 points
    (2, (3, 2))
    >>> [float(v) for v in ax.get_xlim()]                          # 1.1 max |w|
    [-1.32, 1.32]
    >>> plt.close("all")
    """
    tw = finite_array("teacher_w", teacher_w, ndim=2, dtype=float)
    sw = finite_array("student_w", student_w, ndim=2, dtype=float)
    for name, w in (("teacher_w", tw), ("student_w", sw)):
        if w.shape[1] < 2:
            raise ValueError(f"argument `{name}` must have >= 2 columns (w_1, w_2), got {w.shape}")
    if student_a is not None:
        student_a = finite_array("student_a", student_a, ndim=1, dtype=float)
        if student_a.shape != (len(sw),):
            raise ValueError(
                f"argument `student_a` must have one entry per student neuron ({len(sw)}), got "
                f"shape {student_a.shape}"
            )
    ax = _axes(ax, (4, 4))
    for w in tw:
        ax.annotate("", xy=w[:2], xytext=(0, 0), arrowprops=dict(arrowstyle="->", color="k"))
    size = 20 if student_a is None else 10 + 60 * np.abs(student_a) / max(np.abs(student_a).max(), 1e-12)
    ax.scatter(sw[:, 0], sw[:, 1], s=size, c="C1", alpha=0.8, zorder=3)
    lim = 1.1 * max(np.abs(sw[:, :2]).max(initial=0), np.abs(tw[:, :2]).max(initial=0), 1e-3)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.axhline(0, color="0.85", lw=0.6)
    ax.axvline(0, color="0.85", lw=0.6)
    ax.set_xlabel("$w_1$")
    ax.set_ylabel("$w_2$")
    return ax


def save_figure(fig, path) -> None:
    """Save a figure as PNG atomically and close it (after ``tight_layout``; 130 dpi).

    Parameters
    ----------
    fig : matplotlib Figure
        The figure.
    path : str or PathLike
        The PNG file (parent folders are made).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")                      # no display needed
    >>> import matplotlib.pyplot as plt
    >>> import os, tempfile
    >>> from mlpgradientflow.plot import save_figure
    >>> fig, ax = plt.subplots()
    >>> _ = ax.plot([0, 1], [1, 0])
    >>> with tempfile.TemporaryDirectory() as d:
    ...     save_figure(fig, os.path.join(d, "fig", "line.png"))
    ...     open(os.path.join(d, "fig", "line.png"), "rb").read(4)
    b'\x89PNG'
    >>> plt.fignum_exists(fig.number)                 # closed
    False
    """
    import matplotlib.pyplot as plt

    from .io import atomic_write

    fig.tight_layout()
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=130))
    plt.close(fig)
