"""Teacher–student demonstration of the exact derivatives (loss, gradient, Hessian spectrum).

A softplus teacher with ``teacher_width`` hidden units generates targets for ``n``
Gaussian inputs. Students of each width are evaluated at random initialisations and, when
they are at least as wide as the teacher, at a point that reproduces the teacher exactly
(the teacher's neurons, plus copies of them whose outgoing weights split the original's,
the symmetry-induced construction): there the loss is zero, the gradient vanishes and the
Hessian is positive semi-definite with a null space from the symmetry.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .. import Net, TeacherNet
from ..io import write_json, write_text

__all__ = ["DemoConfig", "run_demo", "teacher_point", "spectrum_counts"]


@dataclass
class DemoConfig:
    din: int = 2
    teacher_width: int = 4
    activation: str = "softplus"
    n: int = 10_000
    widths: tuple[int, ...] = (2, 4, 8)
    seeds: tuple[int, ...] = (0, 1, 2)
    data_seed: int = 0
    teacher_seed: int = 100
    zero_tol: float = field(default=1e-9, metadata={"help": "relative tolerance for zero eigenvalues"})


def teacher_point(student: Net, teacher: TeacherNet) -> np.ndarray:
    """Student parameters that reproduce a one-hidden-layer teacher exactly.

    Student neuron ``i`` copies teacher neuron ``i % r``; the teacher's outgoing weight is
    shared equally among its copies. Needs ``student width >= r``.
    """
    Wt, at = teacher.net.unflatten(teacher.params)
    r, k = Wt.shape[0], student.layers[0].width
    if k < r:
        raise ValueError(f"student width {k} is smaller than the teacher's {r}")
    p = np.zeros(student.nparams)
    Ws, as_ = student.unflatten(p)
    copies = np.bincount(np.arange(k) % r, minlength=r)
    for i in range(k):
        j = i % r
        Ws[i] = Wt[j]
        as_[:, i] = at[:, j] / copies[j]
    as_[:, k:] = at[:, r:]  # output bias
    return p


def spectrum_counts(evals: np.ndarray, rel_tol: float) -> dict:
    """Numbers of negative, zero (|λ| ≤ rel_tol · max|λ|) and positive eigenvalues."""
    tol = rel_tol * max(float(np.abs(evals).max()), np.finfo(float).tiny)
    return {
        "n_negative": int((evals < -tol).sum()),
        "n_zero": int((np.abs(evals) <= tol).sum()),
        "n_positive": int((evals > tol).sum()),
    }


def _evaluate(net: Net, p: np.ndarray, label: str, width: int, cfg: DemoConfig) -> dict:
    t0 = time.perf_counter()
    loss, g, H = net.fgh(p)
    t_fgh = time.perf_counter() - t0
    evals = np.linalg.eigvalsh(H)
    return {
        "width": width,
        "point": label,
        "nparams": net.nparams,
        "loss": loss,
        "gnorm_inf": float(np.abs(g).max()),
        "lambda_min": float(evals[0]),
        "lambda_max": float(evals[-1]),
        **spectrum_counts(evals, cfg.zero_tol),
        "fgh_seconds": t_fgh,
        "eigenvalues": evals.tolist(),
    }


def run_demo(cfg: DemoConfig, out: str | Path) -> Path:
    """Evaluate every student point; write ``summary.json``, ``summary.md`` (and a PNG)."""
    out = Path(out)
    rng = np.random.default_rng(cfg.data_seed)
    X = rng.standard_normal((cfg.n, cfg.din))
    act = cfg.activation
    teacher = TeacherNet(
        [(cfg.teacher_width, act, True), (1, "identity", True)], din=cfg.din, rng=cfg.teacher_seed
    )
    y = teacher(X)
    rows = []
    for width in cfg.widths:
        net = Net([(width, act, True), (1, "identity", True)], input=X, target=y)
        for seed in cfg.seeds:
            rows.append(_evaluate(net, net.random_params(rng=seed), f"init seed {seed}", width, cfg))
        if width >= cfg.teacher_width:
            rows.append(_evaluate(net, teacher_point(net, teacher), "teacher", width, cfg))
    write_json(out / "summary.json", {"config": asdict(cfg), "teacher": teacher.params.tolist(), "rows": rows})
    write_text(out / "summary.md", _table(rows, cfg))
    _plot(rows, out / "spectra.png")
    return out


def _table(rows: list[dict], cfg: DemoConfig) -> str:
    head = (
        f"# Teacher–student demo: {cfg.activation} teacher of width {cfg.teacher_width}, "
        f"Din={cfg.din}, N={cfg.n}\n\nZero eigenvalues: |λ| ≤ {cfg.zero_tol:g}·max|λ|.\n\n"
        "| width | point | P | loss | ‖∇L‖∞ | λ_min | λ_max | #neg | #zero | #pos | fgh time |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    body = "".join(
        f"| {r['width']} | {r['point']} | {r['nparams']} | {r['loss']:.3e} | {r['gnorm_inf']:.2e} "
        f"| {r['lambda_min']:.2e} | {r['lambda_max']:.2e} | {r['n_negative']} | {r['n_zero']} "
        f"| {r['n_positive']} | {r['fgh_seconds'] * 1e3:.1f} ms |\n"
        for r in rows
    )
    return head + body


def _plot(rows: list[dict], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(rows) + 1.5))
    for i, r in enumerate(rows):
        ev = np.asarray(r["eigenvalues"])
        ax.scatter(ev, np.full(ev.shape, i), s=10, c=np.where(ev < 0, "C3", "C0"))
    ax.set_xscale("symlog", linthresh=1e-8)
    ax.set_yticks(range(len(rows)), [f"width {r['width']}, {r['point']}" for r in rows])
    ax.set_xlabel("Hessian eigenvalue")
    ax.set_title("Exact Hessian spectra")
    fig.tight_layout()
    from ..io import atomic_write

    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=130))
    plt.close(fig)
