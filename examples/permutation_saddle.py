"""
Permutation saddles
===================

A permutation saddle between two equivalent minima (Brea, Şimşek, Illing & Gerstner 2019).

Toy regression of methods.md (e.2): 2-D inputs (N = 400, standard normal), a student with 4
hidden g-neurons (g(x) = sigmoid(4x) + softplus(x)) and biases, labelled by a teacher with
6 such neurons, so the student's minima have positive loss. The script

1. trains the student to a minimum theta (gradient flow, then Newton);
2. builds the permutation point of every pair (i, j): merge them, re-optimise the
   3-neuron network, split back with gamma = 1/2; prints its loss, gradient norm and end
   state (``mgf.end_state``: Morse counts only where the point is critical; not all are
   saddles: some are minima, some have two descent directions), beside the paper's
   claims (a critical point with at least one zero Hessian eigenvalue per output, some of
   them first-order saddles) and count (n! (n - 1) / 2 first-order permutation points);
3. for the pair ``--pair`` (default 1 2, a first-order saddle), follows the unstable
   manifold of the saddle: gradient flow from the saddle displaced by +-1e-4 along the
   Hessian eigenvector of the negative eigenvalue. For a first-order saddle this is the
   minimum-energy path. The swap P_ij maps the saddle to itself and the descent direction
   to its negative, so the two branches end in minima that are swapped copies of each
   other; for pair (1, 2) these are theta and P_12 theta, for some other pairs a different
   pair of minima (the script prints which);
4. plots the loss along that path and along the straight segments theta -> saddle ->
   P_ij theta, the loss along the equal-loss valley, and the Hessian spectra of the minimum
   and the saddle.

    .venv/bin/python examples/permutation_saddle.py --out examples/out

``--out`` is a folder (the figure is ``permutation_saddle.png`` in it) or a ``.png`` path.
Runs in about 10 s; ``--quick`` skips the straight-segment and valley curves' fine sampling.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import mlpgradientflow as mgf  # noqa: E402
from mlpgradientflow.landscape.surgery import shrink_net  # noqa: E402
from mlpgradientflow.plot import plot_spectra, save_figure  # noqa: E402
from mlpgradientflow.theory.saddles import (  # noqa: E402
    permutation_point,
    permutation_point_count,
)

OPTIONS = dict(min_gnorm=1e-14, verbosity=0)  # the package's count budgets


def toy_problem(n: int = 400):
    X = np.random.default_rng(0).standard_normal((n, 2))
    teacher = mgf.TeacherNet([(6, "g", True), (1, "identity", True)], din=2, rng=1)
    return mgf.Net([(4, "g", True), (1, "identity", True)], input=X, target=teacher(X))


def descent_path(net, saddle, eps: float = 1e-4):
    """Both branches of the saddle's unstable manifold, joined at the saddle: (T, P)."""
    evals, evecs = mgf.hessian_spectrum(net, saddle)
    u = evecs[:, 0]
    branches = []
    for s in (-1, 1):
        res = mgf.train(net, saddle + s * eps * u, n_samples_trajectory=2000, **OPTIONS)
        branches.append(np.vstack([saddle, res.trajectory.x, res.x]))
    return np.vstack([branches[0][::-1], branches[1][1:]])


def segments(a, b, c, n: int):
    """Points on the straight segments a -> b -> c."""
    t = np.linspace(0, 1, n)[:, None]
    return np.vstack([a + t * (b - a), b + t[1:] * (c - b)])


def arclength(path):
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])
    return s / s[-1]


def nearest(p, candidates):
    return min(candidates, key=lambda kv: np.linalg.norm(p - kv[1]))[0]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description="Permutation saddles")
    ap.add_argument(
        "--out",
        default="examples/out/permutation_saddle.png",
        help="output folder, or the .png path of the figure",
    )
    ap.add_argument(
        "--pair",
        type=int,
        nargs=2,
        default=(1, 2),
        metavar=("I", "J"),
        help="the two neurons (0..3) of the plotted permutation point",
    )
    ap.add_argument("--quick", action="store_true", help="coarser curves")
    args = ap.parse_args(argv)
    n_curve = 15 if args.quick else 60
    out = Path(args.out)
    out = out if out.suffix == ".png" else out / "permutation_saddle.png"
    i, j = args.pair

    net = toy_problem()
    res = mgf.train(net, net.random_params(1), **OPTIONS)
    p_min = res.x
    ev_min = mgf.hessian_spectrum(net, p_min)[0]
    print(
        f"theta: loss {res.loss:.6e}  |grad|_inf {res.gnorm:.1e}  {res.end_state.describe()}"
    )
    print("permutation points (gamma = 1/2), end state (Morse counts neg/zero/pos):")
    first_order = 0
    for a, b in itertools.combinations(range(4), 2):
        q = permutation_point(net, p_min, a, b, train_options=OPTIONS)
        state = mgf.end_state(net, q["p"], min_gnorm=OPTIONS["min_gnorm"])
        first_order += state.kind == "saddle" and state.n_negative == 1
        print(
            f"  pair ({a}, {b}): loss {q['loss']:.6e}  |grad|_inf {q['gnorm']:.1e}  "
            f"{state.describe()}"
            + (f"  smallest eigenvalue {state.min_eigenvalue:+.3e}" if state.critical else "")
        )
    print(
        f"first-order saddles among the 6 pairs: {first_order} (paper: some permutation points "
        "are first-order saddles; each has >= 1 zero eigenvalue per output unit); "
        f"first-order permutation points of a width-4 layer: n!(n-1)/2 = "
        f"{permutation_point_count(4)}"
    )

    pp = permutation_point(net, p_min, i, j, train_options=OPTIONS)
    perm = list(range(4))
    perm[i], perm[j] = j, i
    _, p_swapped = shrink_net(net, p_min, perm)
    path = descent_path(net, pp["p"])
    ends = [("theta", p_min), (f"P{i}{j} theta", p_swapped)]
    print(
        f"unstable manifold of pair ({i}, {j}) ends near: "
        + ", ".join(
            f"{nearest(p, ends)} (loss {net.loss(p):.6e}, distance "
            f"{min(np.linalg.norm(p - q) for _, q in ends):.1e})"
            for p in (path[0], path[-1])
        )
    )
    straight = segments(p_min, pp["p"], p_swapped, n_curve)

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), width_ratios=[1.3, 1, 1.3])
    ax = axes[0]
    for name, pts in [("unstable manifold (gradient flow)", path), ("straight segments", straight)]:
        ax.plot(arclength(pts), [net.loss(p) for p in pts], label=name, lw=1.2)
    ax.axhline(pp["loss"], color="0.6", lw=0.8, ls=":", label="permutation saddle")
    ax.set_yscale("log")
    ax.set_xlabel(rf"path $\theta \to$ saddle $\to P_{{{i}{j}}}\theta$ (normalised length)")
    ax.set_ylabel("loss")
    ax.legend(fontsize=7, frameon=False)

    ax = axes[1]
    t = np.linspace(-3, 3, n_curve + 1)
    valley = [net.loss(pp["p"] + ti * pp["valley"]) / pp["loss"] - 1 for ti in t]
    ax.plot(t, valley, lw=1.2)
    ax.set_xlabel("distance along the equal-loss valley")
    ax.set_ylabel(r"$L / L_{\mathrm{saddle}} - 1$")
    ax.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))

    ax = plot_spectra([ev_min, pp["evals"]], ["minimum", "saddle"], ax=axes[2])
    top = int(np.ceil(np.log10(np.abs(pp["evals"]).max())))
    decades = 10.0 ** np.arange(top, -9, -3)  # one label every third decade: readable
    ax.set_xticks(np.concatenate([-decades, [0.0], decades[::-1]]))
    state = mgf.end_state(net, pp["p"], min_gnorm=OPTIONS["min_gnorm"])
    ax.set_title(f"permutation point: {state.describe()}", fontsize=8)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_figure(fig, out)
    print(f"figure: {out}")


if __name__ == "__main__":
    main()
