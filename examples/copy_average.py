"""
Copy or average
===============

Gradient flow on infinite Gaussian data against the optimal copy-average point (Şimşek,
Bendjeddou, Gerstner, Brea, NeurIPS 2023).

An erf teacher f*(x) = sum_j erf(v_j . x / sqrt 2) with k = 8 orthonormal neurons
(V = [I_8 | 0], d = 9, unit output weights, no biases, the paper's setting) and students
of n neurons, trained under ``NetI`` (exact population loss) by gradient flow then Newton
from several Glorot inits. Each end point is compared with the optimal copy-average loss
L(k - n + 1) (n - 1 students copy a teacher neuron, one averages the rest) and reported
with its end state (``res.end_state``): a minimum or a saddle with its Morse counts
(negative/zero/positive Hessian eigenvalues), a flat channel (two neurons with parallel
incoming vectors and diverging outgoing weights of opposite signs; not a critical point,
so no Morse counts; e.g. n = k = 8, seed 3), or not converged. Its "pattern" lists, per
student neuron, how many teacher neurons it overlaps (``|cos| > 0.1``): a CA point reads
1, ..., 1, k - n + 1. Writes ``copy_average.png`` and ``copy_average.txt`` to ``--out``.
About 1.5 min on one core; ``--quick`` (widths 2 and 8, seed 3) about 15 s.

    python examples/copy_average.py [--out DIR] [--quick]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import mlpgradientflow as mgf  # noqa: E402
from mlpgradientflow.io import write_text  # noqa: E402
from mlpgradientflow.plot import plot_loss_curves, save_figure  # noqa: E402
from mlpgradientflow.theory.copy_average import loss_erf, optimal_ca  # noqa: E402

#: marker colour of each end-state kind in the figure
KIND_COLORS = {"minimum": "C0", "saddle": "C1", "channel": "C3", "not converged": "0.5"}


def pattern(W, k: int) -> str:
    """Per student neuron (row of W), the number of teacher neurons e_1..e_k it overlaps."""
    cos = np.abs(W[:, :k]) / np.linalg.norm(W, axis=1, keepdims=True)
    return ",".join(str(c) for c in sorted((cos > 0.1).sum(axis=1)))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description="Copy or average (NeurIPS 2023)")
    ap.add_argument("--out", default="examples/out", help="output folder")
    ap.add_argument("--quick", action="store_true", help="widths 2 and 8, seed 3 only")
    ap.add_argument("--widths", type=int, nargs="+", default=[2, 4, 6, 7, 8])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3], help="init seeds")
    ap.add_argument("--steps", type=int, default=5000, help="flow steps per run (Newton: 1/5)")
    args = ap.parse_args(argv)
    if args.quick:
        args.widths, args.seeds = [2, 8], [3]
    out, k, d = Path(args.out), 8, 9
    teacher = mgf.TeacherNet(
        [(k, "erf", False), (1, "identity", False)],
        din=d,
        params=mgf.params(np.eye(k, d), np.ones((1, k))),
    )

    start, rows, curves = time.perf_counter(), [], []
    lines = [
        f"{'n':>2} {'seed':>4} {'loss':>12} {'L_CA(n,k)':>12} {'gnorm':>8}  {'pattern':<15}  "
        "end state (Morse counts neg/zero/pos at critical points only)"
    ]
    print(lines[0], flush=True)
    for n in args.widths:
        neti = mgf.NetI(teacher, [(n, "erf", False), (1, "identity", False)])
        ca = optimal_ca(k, n).loss
        for seed in args.seeds:
            res = mgf.train(
                neti,
                neti.random_params(seed),
                maxiterations_ode=args.steps,
                maxiterations_optim=args.steps // 5,
                min_gnorm=1e-12,
                verbosity=0,
            )
            rows.append((n, res.loss, str(res.end_state.kind)))
            if n == args.widths[len(args.widths) // 2]:
                curves.append(res)
            lines.append(
                f"{n:>2} {seed:>4} {res.loss:>12.8f} {ca:>12.8f} {res.gnorm:>8.1e}  "
                f"{pattern(neti.unflatten(res.x)[0], k):<15}  {res.end_state.describe()}"
            )
            print(lines[-1], flush=True)
    elapsed = time.perf_counter() - start
    kinds = Counter(kind for _, _, kind in rows)
    lines.append(f"{len(rows)} runs in {elapsed:.0f} s; end states: "
                 + ", ".join(f"{kinds[kind]} {kind}" for kind in sorted(kinds)))

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    ns = np.arange(1, k + 1)
    ax.plot(ns, loss_erf(k - ns + 1), "k-", marker="o", ms=4, label="optimal CA $L(k-n+1)$")
    jitter = np.random.default_rng(0).uniform(-0.12, 0.12, len(rows))
    for kind, color in KIND_COLORS.items():
        mine = [t for t, row in enumerate(rows) if row[2] == kind]
        if mine:
            ax.scatter([rows[t][0] + jitter[t] for t in mine], [rows[t][1] for t in mine],
                       s=14, c=color, zorder=3, label=f"gradient flow: {kind}")
    ax.set_ylim(-0.005, 1.3 * loss_erf(k))
    ax.set_xlabel("student width n")
    ax.set_ylabel("population loss")
    ax.set_title(f"erf teacher, k = {k} orthonormal neurons", fontsize=10)
    ax.legend(fontsize=7, frameon=False)
    plot_loss_curves(curves, [f"seed {s}" for s in args.seeds], ax=ax2)
    ax2.set_title(f"n = {args.widths[len(args.widths) // 2]}", fontsize=10)
    save_figure(fig, out / "copy_average.png")
    write_text(out / "copy_average.txt", "\n".join(lines) + "\n")
    print(f"{lines[-1]}; wrote {out / 'copy_average.png'}")


if __name__ == "__main__":
    main()
