"""The main job (``make run``, ``mlpgradientflow run``): a teacher–student experiment.

A teacher network with ``teacher_width`` hidden units (softplus by default; weights and
biases drawn from a standard normal, so that its neurons have distinct biases) labels
``n`` Gaussian inputs. Students of each width, from several random
initialisations, are trained by gradient flow (CVODE BDF with the exact Hessian) and then
Newton to the critical point. Written to ``out/``:

* ``runs/width{w}_seed{s}.npz``: every :class:`~mlpgradientflow.TrainResult`;
* ``summary.md`` / ``summary.csv`` / ``summary.json``: final loss, gradient norm, numbers
  of negative / zero / positive Hessian eigenvalues, student–teacher alignment (mean
  cosine distance of matched incoming vectors), stop reasons, times;
* ``loss_curves.png``, ``spectra.png``, ``weights.png`` (with the ``plot`` extra).

Students narrower than the teacher end at minima with L > 0 (or drift along flat channels
to infinity); wider ones approach zero-loss points whose Hessian has a null space from
the neuron symmetries, which makes the last digits of the gradient slow to get (Newton
converges only linearly at singular minima). Runs that hit a time limit say so in the
summary.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .. import Net, TeacherNet, train
from ..io import write_json, write_text
from ..landscape import align_to_teacher, morse_index

__all__ = ["TeacherStudentConfig", "run_teacher_student"]


@dataclass
class TeacherStudentConfig:
    din: int = 2
    teacher_width: int = 4
    activation: str = "softplus"
    n: int = 10_000
    widths: tuple[int, ...] = (2, 4, 8)
    seeds: tuple[int, ...] = (0, 1, 2)
    data_seed: int = 0
    teacher_seed: int = 100
    maxtime_ode: float = 10.0
    maxtime_optim: float = 5.0
    zero_tol: float = 1e-9  # relative tolerance for zero Hessian eigenvalues


def _row(width, seed, res, net, teacher, cfg) -> dict:
    evals = np.linalg.eigvalsh(net.hessian(res.x))
    align = align_to_teacher(net, res.x, teacher)
    return {
        "width": width,
        "seed": seed,
        "nparams": net.nparams,
        "loss": res.loss,
        "gnorm": res.gnorm,
        **morse_index(evals, cfg.zero_tol),
        "mean_cosine_distance": align["mean_cosine_distance"],
        "ode_stopped_by": res.ode_stopped_by,
        "optim_stopped_by": res.optim_stopped_by,
        "time_s": res.total_time,
        "eigenvalues": evals.tolist(),
    }


def run_teacher_student(cfg: TeacherStudentConfig, out: str | Path, verbosity: int = 1) -> Path:
    """Run the experiment; return the output folder."""
    out = Path(out)
    rng = np.random.default_rng(cfg.data_seed)
    X = rng.standard_normal((cfg.n, cfg.din))
    layers = lambda k: [(k, cfg.activation, True), (1, "identity", True)]  # noqa: E731
    P_t = Net(layers(cfg.teacher_width), din=cfg.din).nparams
    teacher = TeacherNet(layers(cfg.teacher_width), din=cfg.din,
                         params=np.random.default_rng(cfg.teacher_seed).standard_normal(P_t))
    y = teacher(X)
    rows, results = [], {}
    for width in cfg.widths:
        net = Net(layers(width), input=X, target=y)
        for seed in cfg.seeds:
            if verbosity:
                print(f"student width {width}, seed {seed}: training ...", flush=True)
            res = train(net, net.random_params(seed), maxtime_ode=cfg.maxtime_ode,
                        maxtime_optim=cfg.maxtime_optim, verbosity=0)
            res.save(out / "runs" / f"width{width}_seed{seed}.npz")
            results[(width, seed)] = (res, net)
            rows.append(_row(width, seed, res, net, teacher, cfg))
            if verbosity:
                r = rows[-1]
                print(f"  loss {r['loss']:.3e}, gnorm {r['gnorm']:.1e}, Hessian -/0/+ = "
                      f"{r['n_negative']}/{r['n_zero']}/{r['n_positive']}, {r['time_s']:.1f}s", flush=True)
    write_json(out / "summary.json", {"config": asdict(cfg), "teacher": teacher.params.tolist(), "rows": rows})
    write_text(out / "summary.md", _markdown(rows, cfg))
    write_text(out / "summary.csv", _csv(rows))
    _figures(results, rows, teacher, cfg, out)
    return out


_COLUMNS = ["width", "seed", "nparams", "loss", "gnorm", "n_negative", "n_zero", "n_positive",
            "mean_cosine_distance", "ode_stopped_by", "optim_stopped_by", "time_s"]


def _csv(rows) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=_COLUMNS, extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def _markdown(rows, cfg) -> str:
    head = (
        f"# Teacher–student: {cfg.activation} teacher of width {cfg.teacher_width}, "
        f"Din={cfg.din}, N={cfg.n}\n\nGradient flow (CVODE BDF, exact Hessian) then Newton. "
        f"Hessian eigenvalues count as zero when |λ| ≤ {cfg.zero_tol:g}·max|λ|. Alignment: mean "
        "cosine distance 1 - cos of the matched incoming vectors (teacher neurons matched to "
        "distinct student neurons).\n\n"
        "| width | seed | P | loss | ‖∇L‖∞ | #neg | #zero | #pos | alignment | flow stopped by | "
        "Newton stopped by | time |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    body = "".join(
        f"| {r['width']} | {r['seed']} | {r['nparams']} | {r['loss']:.3e} | {r['gnorm']:.1e} | "
        f"{r['n_negative']} | {r['n_zero']} | {r['n_positive']} | {r['mean_cosine_distance']:.2e} | "
        f"{r['ode_stopped_by']} | {r['optim_stopped_by']} | {r['time_s']:.1f} s |\n"
        for r in rows
    )
    return head + body


def _figures(results, rows, teacher, cfg, out) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    from ..plot import plot_incoming_weights, plot_loss_curves, plot_spectra, save_figure

    widths = list(cfg.widths)
    fig, axes = plt.subplots(1, len(widths), figsize=(4 * len(widths), 3.2), squeeze=False)
    for ax, w in zip(axes[0], widths):
        keys = [k for k in results if k[0] == w]
        plot_loss_curves([results[k][0] for k in keys], [f"seed {k[1]}" for k in keys], ax=ax)
        ax.set_title(f"student width {w}")
    save_figure(fig, out / "loss_curves.png")

    fig, ax = plt.subplots(figsize=(7, 0.3 * len(rows) + 1.5))
    plot_spectra([r["eigenvalues"] for r in rows], [f"w{r['width']} s{r['seed']}" for r in rows], ax=ax)
    ax.set_title("Hessian spectra at the end points")
    save_figure(fig, out / "spectra.png")

    if cfg.din == 2:
        Wt = teacher.net.unflatten(teacher.params)[0][:, :2]
        fig, axes = plt.subplots(len(cfg.seeds), len(widths), figsize=(3 * len(widths), 3 * len(cfg.seeds)),
                                 squeeze=False)
        for (w, s), (res, net) in results.items():
            W, a = net.unflatten(res.x)
            ax = axes[list(cfg.seeds).index(s)][widths.index(w)]
            plot_incoming_weights(Wt, W[:, :2], a[0, : W.shape[0]], ax=ax)
            ax.set_title(f"width {w}, seed {s}", fontsize=8)
        save_figure(fig, out / "weights.png")
