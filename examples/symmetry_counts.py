"""
Symmetry-induced subspaces
==========================

Counts of symmetry-induced subspaces (Şimşek et al., ICML 2021).

Prints T(r*, m), the affine subspaces forming the global-minimum manifold of a width-m
network whose minimal zero-loss width is r*, and G(r, m), the symmetry-induced critical
subspaces from a critical point of width r. Plots the saddle-to-minimum ratios
G(r* - 1, m) / T(r*, m) and sum_{r < r*} G(r, m) / T(r*, m) against the overparameterisation
h = m - r*: saddles dominate for small h (when r* > 3: the first ratio is (r* - 1)/2 at
h = 0), global minima for h >> r*. Prints the paper's checks beside the counts: one added
neuron connects all r*! global minima through T(r*, r* + 1) = (r* + 2)!/2 subspaces (3 for
r* = 1, m = 2: the paper's Fig. 4a); and the count of *all* symmetry-induced critical
subspaces, inactive neurons included (``n_critical_subspaces``: r! S(m+1, r+1) where a
neuron with zero weights is critical, e.g. tanh), beside the paper's G = r! S(m, r).
Writes ``symmetry_counts.png`` and ``symmetry_counts.txt`` to ``--out``; ``--quick``
plots up to h = 10.

    .venv/bin/python examples/symmetry_counts.py --out examples/out
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from mlpgradientflow.io import write_text  # noqa: E402
from mlpgradientflow.plot import save_figure  # noqa: E402
from mlpgradientflow.theory.symmetry import (  # noqa: E402
    n_critical_subspaces,
    n_global_min_subspaces,
    n_saddle_subspaces,
)


def table(title: str, count, rows, extra: int = 6) -> str:
    """One line per row value r, columns m = r .. r + extra."""
    lines = [title, "      " + "".join(f"{f'h={h}':>14}" for h in range(extra + 1))]
    for r in rows:
        lines.append(f"r={r:<4}" + "".join(f"{count(r, r + h):>14}" for h in range(extra + 1)))
    return "\n".join(lines)


def ratios(r_star: int, hmax: int):
    """(h, G(r*-1, m)/T(r*, m), sum_{r<r*} G(r, m)/T(r*, m)) for m = r* + h."""
    rows = []
    for h in range(hmax + 1):
        m = r_star + h
        T = n_global_min_subspaces(r_star, m)
        G = [n_saddle_subspaces(r, m) for r in range(1, r_star)]
        rows.append((h, G[-1] / T, sum(G) / T))
    return rows


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description="Symmetry-induced subspaces: counts")
    ap.add_argument("--out", default="examples/out", help="output folder")
    ap.add_argument("--hmax", type=int, default=40, help="largest m - r* in the plot")
    ap.add_argument("--quick", action="store_true", help="plot up to h = 10")
    args = ap.parse_args(argv)
    if args.quick:
        args.hmax = 10
    out = Path(args.out)

    text = [
        table("T(r*, m) = r*! S(m+1, r*+1), m = r* + h", n_global_min_subspaces, range(1, 6)),
        table("G(r, m) = r! S(m, r), m = r + h", n_saddle_subspaces, range(1, 6)),
    ]
    text.append("\n".join(
        ["paper's checks: T(r*, r*+1) = (r*+2)!/2 (3 for r* = 1, m = 2, Fig. 4a)"]
        + [f"  r*={r}: T = {n_global_min_subspaces(r, r + 1)}, (r*+2)!/2 = "
           f"{math.factorial(r + 2) // 2}" for r in range(1, 6)]
        + ["all symmetry-induced critical subspaces (sigma(0) = 0, e.g. tanh, inactive "
           "neurons critical) vs the paper's G(r, m):"]
        + [f"  r={r}, m={m}: {n_critical_subspaces(r, m)} vs G = {n_saddle_subspaces(r, m)}"
           for r, m in ((1, 2), (2, 3), (2, 4), (3, 5))]))
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), sharey=True)
    crossings = []
    for r_star in (2, 4, 6, 8, 10):
        rows = ratios(r_star, args.hmax)
        h = [row[0] for row in rows]
        for ax, col in zip(axes, (1, 2)):
            ax.plot(h, [row[col] for row in rows], marker=".", ms=3, label=f"$r^*={r_star}$")
        below = [row[0] for row in rows if row[2] < 1]
        crossings.append(
            f"r*={r_star}: sum G/T = {rows[0][2]:.4g} at h=0; "
            f"global minima outnumber saddles from h = {below[0] if below else '>' + str(args.hmax)}"
        )
    text.append("\n".join(crossings))
    for ax, title in zip(
        axes, ("$G(r^*-1, m)\\,/\\,T(r^*, m)$", "$\\sum_{r<r^*} G(r, m)\\,/\\,T(r^*, m)$")
    ):
        ax.axhline(1.0, color="0.6", lw=0.8, ls="--")
        ax.set_yscale("log")
        ax.set_xlabel("$h = m - r^*$")
        ax.set_title(title, fontsize=10)
    axes[0].set_ylabel("saddle / minimum subspaces")
    axes[1].legend(fontsize=7, frameon=False)
    save_figure(fig, out / "symmetry_counts.png")
    report = "\n\n".join(text) + "\n"
    write_text(out / "symmetry_counts.txt", report)
    print(report)
    print(f"wrote {out / 'symmetry_counts.png'}")


if __name__ == "__main__":
    main()
