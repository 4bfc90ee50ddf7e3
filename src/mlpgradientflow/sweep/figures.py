"""The figures of a sweep (the ``plot`` extra; without matplotlib none are written).

Always: ``end_states.png`` (runs per end state and student width), ``loss_vs_width.png``
(final loss against width, one marker per end state), ``gnorm_hist.png`` (final gradient
norms). For sweeps of at most :data:`DETAIL_MAX` runs also ``loss_curves.png`` (one panel
per width, phase 2 included), ``spectra.png`` (the exact Hessian spectrum at every end
point, signed log scale) and, for two input dimensions, ``weights.png`` (incoming vectors of
teacher and students). :func:`write_figures` returns the names of the files it wrote.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["DETAIL_MAX", "write_figures"]

#: largest sweep with per-run figures (loss curves, spectra, weights)
DETAIL_MAX = 48
_KINDS = ["minimum", "saddle", "channel", "not converged"]
_MARKERS = {"minimum": "o", "saddle": "^", "channel": "D", "not converged": "x"}


def write_figures(rows: list[dict], results: list, nets: list, teachers: list,
                  out: Path) -> tuple[list[str], list[str]]:
    """Draw the sweep's figures into ``out``; return the file names written and the files
    that could not be written (with the reason)."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return [], []
    from ..plot import plot_incoming_weights, plot_loss_curves, plot_spectra, save_figure

    ok = [i for i, r in enumerate(rows) if not r["error"]]
    n_failed = f" ({len(rows) - len(ok)} failed)" if len(ok) < len(rows) else ""
    written: list[str] = []
    failed: list[str] = []

    def save(fig, name: str) -> None:
        try:
            save_figure(fig, out / name)
            written.append(name)
        except OSError as err:  # a full or read-only disk
            failed.append(f"{out / name}: {err.strerror or err}")

    widths = sorted({r["width"] for r in rows})
    fig = Figure(figsize=(5, 3.5))
    ax = fig.add_subplot()
    bottom = np.zeros(len(widths))
    for k, kind in enumerate(_KINDS):
        counts = np.array([sum(rows[i]["end_state"] == kind and rows[i]["width"] == w for i in ok)
                           for w in widths], float)
        ax.bar(range(len(widths)), counts, bottom=bottom, label=kind, color=f"C{k}")
        bottom += counts
    ax.set_xticks(range(len(widths)), [str(w) for w in widths])
    ax.set(xlabel="student width", ylabel="runs", title=f"end states of {len(ok)} runs{n_failed}")
    ax.legend(fontsize=7)
    save(fig, "end_states.png")

    fig = Figure(figsize=(5, 3.5))
    ax = fig.add_subplot()
    for kind in _KINDS:
        sel = [i for i in ok if rows[i]["end_state"] == kind]
        if sel:
            ax.scatter([rows[i]["width"] for i in sel], [max(rows[i]["loss"], 1e-33) for i in sel],
                       marker=_MARKERS[kind], label=kind, alpha=0.7)
    ax.set(yscale="log", xlabel="student width", ylabel="final loss", title=f"{len(ok)} runs{n_failed}")
    if widths[-1] >= 8 * widths[0]:
        ax.set_xscale("log")
    ax.set_xticks(widths, [str(w) for w in widths])
    ax.set_xticks([], minor=True)
    if ok:
        ax.legend(fontsize=7)
    save(fig, "loss_vs_width.png")

    fig = Figure(figsize=(5, 3.5))
    ax = fig.add_subplot()
    g = np.array([rows[i]["gnorm"] for i in ok], float)
    pos = g[g > 0]
    lo = np.floor(np.log10(pos.min())) if pos.size else -16.0
    hi = np.ceil(np.log10(pos.max())) if pos.size else 0.0
    bins = np.logspace(lo, max(hi, lo + 1), 25)
    ax.hist(np.maximum(g, bins[0]), bins=bins.tolist())
    ax.set(xscale="log", xlabel=r"final $\|\nabla L\|_\infty$", ylabel="runs",
           title=f"{len(ok)} runs{n_failed}")
    save(fig, "gnorm_hist.png")

    if not ok or len(rows) > DETAIL_MAX:
        return written, failed
    label = lambda i: f"{rows[i]['activation']} w{rows[i]['width']} s{rows[i]['seed']}"  # noqa: E731
    fig = Figure(figsize=(4 * len(widths), 3.2))
    for j, w in enumerate(widths):
        ax = fig.add_subplot(1, len(widths), j + 1)
        sel = [i for i in ok if rows[i]["width"] == w]
        plot_loss_curves([results[i] for i in sel], [label(i) for i in sel], ax=ax)
        ax.set_title(f"student width {w}")
    save(fig, "loss_curves.png")

    fig = Figure(figsize=(7, 0.3 * len(ok) + 1.5))
    ax = fig.add_subplot()
    spectra = [np.linalg.eigvalsh(nets[i].hessian(results[i].x)) for i in ok]
    plot_spectra(spectra, [f"{label(i)}: {rows[i]['end_state']}" for i in ok], ax=ax)
    ax.set_title("Hessian spectra at the end points")
    save(fig, "spectra.png")

    if all(nets[i].din == 2 for i in ok):
        seeds = sorted({rows[i]["seed"] for i in ok})
        groups = sorted({(rows[i]["activation"], rows[i]["width"]) for i in ok})
        fig = Figure(figsize=(3 * len(groups), 3 * len(seeds)))
        for i in ok:
            col = groups.index((rows[i]["activation"], rows[i]["width"]))
            ax = fig.add_subplot(len(seeds), len(groups), seeds.index(rows[i]["seed"]) * len(groups) + col + 1)
            W, a = nets[i].unflatten(results[i].x)
            Wt = teachers[i].net.unflatten(teachers[i].params)[0][:, :2]
            plot_incoming_weights(Wt, W[:, :2], a[0, : W.shape[0]], ax=ax)
            ax.set_title(f"{label(i)}: {rows[i]['end_state']}", fontsize=8)
        save(fig, "weights.png")
    return written, failed
