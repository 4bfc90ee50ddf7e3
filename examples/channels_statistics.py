"""
Channels statistics
===================

End-state statistics of the flat-channels paper (Martinelli, van Meegen, Şimşek, Gerstner,
Brea; NeurIPS 2025), Fig. 2 and Fig. 4 style, rerun with ``mgf.train_many`` and the
package's end-state classification (``res.end_state``), at reduced seeds and count budgets.

**Fig. 2 (loss levels).** The paper's setup (``scripts/simulations/loss_levels.jl``):
the modified 2-D Rosenbrock target log10(3(x2 + 1 - x1^2)^2 + (1 - x1)^2 + 0.1), z-scored,
on a regular 101 x 101 grid on [-sqrt3, sqrt3]^2; one hidden layer of r = 1..5 neurons with
g(x) = sigmoid(4x) + softplus(x), with and without biases; Glorot-normal init; full-batch
gradient flow (reltol 1e-3) then Newton, barrier ``maxnorm = 1e3``, channels followed to
the barrier (``stop_on_channel=False``). The paper trains
50 * 2^r seeds for hours each; here ``--seeds`` per width and step counts. Each run gets
the paper's labels, *duplicate* (two incoming vectors closer than 1e-6 in L2: a point on a
plateau saddle line) and *infinite* (weight norm sum(theta^2)/(2P) at the barrier, or a
channel before it), and the package's end state: minimum or saddle (with Morse counts),
channel, not converged. The paper: without biases 10-30 % of the runs (r = 2..5) end on
plateau saddles, the rest mostly in channels; with biases plateau saddles nearly vanish.

**Fig. 4 (channel frequency).** Softplus networks with biases (r = 2, 4) on Matern-3/2
Gaussian-process teachers with length transform s in {0.1, 0.5, 2, 10}, standard normal
2-D inputs redrawn per seed (N = 2000 here, 10^4 in the paper). A run counts as a channel
when the package finds one or, at the barrier, when the closest pair of incoming vectors has
cosine distance below 1e-2 (the paper's criterion). The paper: channel frequency grows with
the roughness s.

Fractions come with 95 % Wilson intervals. Writes ``channels_statistics.txt`` and
``channels_statistics.png`` into ``--out``. About 8 CPU-minutes (4-5 minutes on 2 free
cores, ``--workers 2``); ``--quick`` (31 x 31 grid, two seeds, r <= 3, 300 GP samples)
about 10 s.

    python examples/channels_statistics.py [--out DIR] [--quick] [--seeds K] [--workers W]

Result at the defaults (10 seeds per width and setting, 3000 flow steps): without biases
4/40 runs (r = 2..5) end with duplicated neurons, 10 % [4 %, 23 %] (r = 4: 1/10, r = 5:
3/10; none at r = 2, 3), 31/40 in channels and 35/40 at the barrier or in a channel; with
biases 0/40 duplicates [0 %, 9 %]. Fig. 4: channels in 5 %, 20 %, 65 %, 65 % of the runs
for s = 0.1, 0.5, 2, 10 (20 each), growing with s as in the paper; 8 of the 20 runs at
s = 0.1 are not converged within the budget. All four duplicates sit at the barrier
(another pair of the same network diverges): the package labels them "channel" (2) or
"minimum" of the barrier-regularised loss (2), never "saddle". Two things make a rerun
count fewer plateau saddles than the paper: stopping a run at its first channel (the
package's default, ``--stop-on-channel`` here) ends runs in which a second pair is still
merging (the same runs with ``--stop-on-channel``: 1/40 duplicates without biases,
2 % [0 %, 13 %]; r = 5 seeds 4 and 7 reach L2 distances 7e-13 and 4e-10 only when followed
to the barrier); and a
point on a plateau "saddle" line with B > 0 is a degenerate *minimum* (zero eigenvalue
along the line), so counting ``end_state.kind == "saddle"`` finds none of them.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy.stats import binomtest  # noqa: E402

import mlpgradientflow as mgf  # noqa: E402
from mlpgradientflow.io import write_text  # noqa: E402
from mlpgradientflow.plot import save_figure  # noqa: E402

MAXNORM = 1e3  # the paper's barrier on sum(theta^2) / (2P)
DUPLICATE_L2 = 1e-6  # the paper's duplicate threshold (loss_levels_plots.jl)
CHANNEL_COS = 1e-2  # the paper's closest-pair cosine distance for channels (scaling_plots.jl)
LENGTH_SCALES = (0.1, 0.5, 2.0, 10.0)
PAPER_FIG2 = {False: "plateau saddles 10-30 %, the rest mostly channels",
              True: "plateau saddles nearly vanish"}


def grid_input(n: int) -> np.ndarray:
    """The regular n x n grid on [-sqrt3, sqrt3]^2, (n^2, 2)."""
    x = np.linspace(-np.sqrt(3), np.sqrt(3), n)
    return np.stack(np.meshgrid(x, x, indexing="ij"), axis=-1).reshape(-1, 2)


def rosenbrock(X: np.ndarray) -> np.ndarray:
    """The paper's modified Rosenbrock target (a = 1, b = 3, c = 1), z-scored, (N, 1)."""
    y = np.log10(3 * (X[:, 1] + 1 - X[:, 0] ** 2) ** 2 + (1 - X[:, 0]) ** 2 + 0.1)
    return ((y - y.mean()) / y.std(ddof=1))[:, None]


def gp_teacher(n: int, s: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """Standard normal inputs (n, 2) and one draw of a Matern-3/2 GP at s * x."""
    X = rng.standard_normal((n, 2))
    d = np.sqrt(3) * s * np.linalg.norm(X[:, None] - X[None], axis=2)
    K = (1 + d) * np.exp(-d) + 1e-8 * np.eye(n)  # jitter: K is numerically singular
    return X, (np.linalg.cholesky(K) @ rng.standard_normal(n))[:, None]


def closest_pair(W: np.ndarray) -> tuple[float, float]:
    """Smallest L2 distance and smallest cosine distance between rows of W (inf if one)."""
    if len(W) < 2:
        return np.inf, np.inf
    l2 = np.linalg.norm(W[:, None] - W[None], axis=2)
    U = W / np.maximum(np.linalg.norm(W, axis=1, keepdims=True), 1e-300)
    cos = 1 - U @ U.T
    off = ~np.eye(len(W), dtype=bool)
    return float(l2[off].min()), float(cos[off].min())


def label(net, res) -> dict:
    """The paper's labels and the package's end state of one run."""
    l2, cos = closest_pair(net.unflatten(res.x)[0])
    state = res.end_state
    barrier = res.x @ res.x / (2 * res.x.size) >= (1 - 1e-3) * MAXNORM
    return dict(
        loss=res.loss, kind=str(state.kind),
        duplicate=l2 < DUPLICATE_L2, barrier=bool(barrier),
        infinite=bool(barrier or state.kind == "channel"),
        channel=bool(state.kind == "channel" or (barrier and cos < CHANNEL_COS)),
    )


def paper_label(row) -> str:
    """The paper's Fig. 2 class of a run: duplicate first, then infinite, else finite."""
    return "duplicate" if row["duplicate"] else "infinite" if row["infinite"] else "finite"


def wilson(k: int, n: int) -> tuple[float, float]:
    """95 % Wilson score interval of the fraction k / n."""
    ci = binomtest(k, n).proportion_ci(0.95, method="wilson")
    return ci.low, ci.high


def fraction(rows, key) -> str:
    k, n = sum(r[key] for r in rows), len(rows)
    lo, hi = wilson(k, n)
    return f"{k:>3}/{n:<3} {k / n:>4.0%} [{lo:.0%}, {hi:.0%}]"


def train(net, seeds, args, inits=None):
    """``train_many`` with the paper's tolerance and barrier. Channels are followed to the
    barrier as in the paper (unless ``--stop-on-channel``): stopping at the first channel
    ends runs in which another pair is still merging into a duplicate."""
    return mgf.train_many(
        net, inits if inits is not None else [net.random_params(s) for s in seeds],
        executor=args.workers if args.workers > 1 else None, progress=False,
        maxiterations_ode=args.steps, maxiterations_optim=args.steps // 2,
        reltol=1e-3, maxnorm=MAXNORM, stop_on_channel=args.stop_on_channel)


def fig2(args) -> list[dict]:
    """Rosenbrock runs over widths, seeds and biases; one labelled row per run."""
    X = grid_input(args.grid)
    Y = rosenbrock(X)
    rows = []
    for bias in (False, True):
        for r in args.widths:
            net = mgf.Net([(r, "g", bias), (1, "identity", bias)], input=X, target=Y)
            seeds = range(args.seeds if r > 1 else 4)
            for s, res in zip(seeds, train(net, seeds, args)):
                rows.append(dict(r=r, bias=bias, seed=s, **label(net, res)))
    return rows


def fig4(args) -> list[dict]:
    """GP-teacher runs (softplus, biases) over length transforms, widths and seeds."""
    rows = []
    for s in args.scales:
        for r in args.gp_widths:
            pairs = []
            for seed in range(args.seeds):
                rng = np.random.default_rng([seed, int(10 * s), r])
                X, y = gp_teacher(args.gp_samples, s, rng)
                net = mgf.Net([(r, "softplus", True), (1, "identity", True)], input=X, target=y)
                pairs.append((net, net.random_params(rng)))
            results = train([n for n, _ in pairs], None, args, inits=[p for _, p in pairs])
            for seed, ((net, _), res) in enumerate(zip(pairs, results)):
                rows.append(dict(s=s, r=r, seed=seed, **label(net, res)))
    return rows


def fig2_table(rows) -> list[str]:
    lines = ["Fig. 2: Rosenbrock on the grid, activation g "
             "(fractions with 95 % Wilson intervals)",
             f"{'bias':<5} {'r':>2}  {'duplicate (plateau)':<22} {'infinite':<22} "
             f"{'channel':<22} package end states"]
    for bias in (False, True):
        sub = [r for r in rows if r["bias"] == bias]
        for r in sorted({row["r"] for row in sub}):
            rr = [row for row in sub if row["r"] == r]
            kinds = Counter(row["kind"] for row in rr)
            lines.append(f"{bias!s:<5} {r:>2}  {fraction(rr, 'duplicate'):<22} "
                         f"{fraction(rr, 'infinite'):<22} {fraction(rr, 'channel'):<22} "
                         + ", ".join(f"{v} {k}" for k, v in sorted(kinds.items())))
        pooled = [row for row in sub if row["r"] > 1]
        lines.append(f"{bias!s:<5} all {fraction(pooled, 'duplicate'):<22} "
                     f"{fraction(pooled, 'infinite'):<22} {fraction(pooled, 'channel'):<22} "
                     f"paper: {PAPER_FIG2[bias]}")
    dup = [row for row in rows if row["duplicate"]]
    kinds = Counter(row["kind"] + (" at the barrier" if row["barrier"] else "") for row in dup)
    lines.append("duplicates by package end state: "
                 + (", ".join(f"{v} {k}" for k, v in sorted(kinds.items())) or "none"))
    return lines


def fig4_table(rows) -> list[str]:
    lines = ["Fig. 4: GP teachers (Matern-3/2, length transform s), softplus with biases",
             f"{'s':>5}  {'channel':<22} {'infinite':<22} package end states"]
    for s in sorted({row["s"] for row in rows}):
        rr = [row for row in rows if row["s"] == s]
        kinds = Counter(row["kind"] for row in rr)
        lines.append(f"{s:>5g}  {fraction(rr, 'channel'):<22} {fraction(rr, 'infinite'):<22} "
                     + ", ".join(f"{v} {k}" for k, v in sorted(kinds.items())))
    lines.append("paper: the channel frequency grows with s")
    return lines


def plot(rows2, rows4, path) -> None:
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
    colors = {"duplicate": "C3", "infinite": "C0", "finite": "C2"}
    for bias, marker, dx in ((False, "o", -0.15), (True, "s", 0.15)):
        for name, color in colors.items():
            sub = [row for row in rows2 if row["bias"] == bias and paper_label(row) == name]
            ax.plot([row["r"] + dx for row in sub], [row["loss"] for row in sub], marker,
                    ms=3, color=color, label=f"{name}, bias {bias}" if sub else None)
    ax.set_xlabel("hidden neurons r")
    ax.set_ylabel("final loss")
    ax.set_title("Rosenbrock: loss levels (o: no bias, s: bias)", fontsize=10)
    ax.legend(fontsize=6, frameon=False)
    scales = sorted({row["s"] for row in rows4})
    freq, err = [], []
    for s in scales:
        rr = [row for row in rows4 if row["s"] == s]
        k = sum(row["channel"] for row in rr)
        lo, hi = wilson(k, len(rr))
        freq.append(k / len(rr))
        err.append((k / len(rr) - lo, hi - k / len(rr)))
    ax2.errorbar(range(len(scales)), freq, yerr=np.array(err).T, fmt="o", capsize=3)
    ax2.set_xticks(range(len(scales)), [f"s = {s:g}" for s in scales])
    ax2.set_ylim(-0.05, 1.05)
    ax2.set_ylabel("fraction of channels")
    ax2.set_title("GP teachers (95 % Wilson)", fontsize=10)
    save_figure(fig, path)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description="Channels statistics (NeurIPS 2025, Fig. 2, 4)")
    ap.add_argument("--out", default="examples/out", help="output folder")
    ap.add_argument("--quick", action="store_true", help="coarse grid, 2 seeds, r <= 3")
    ap.add_argument("--seeds", type=int, default=10, help="seeds per width and setting")
    ap.add_argument("--steps", type=int, default=3000, help="flow steps per run (Newton: 1/2)")
    ap.add_argument("--workers", type=int, default=2, help="processes for train_many")
    ap.add_argument("--stop-on-channel", action="store_true",
                    help="end runs at their first channel (the package default; not the paper)")
    args = ap.parse_args(argv)
    args.grid, args.widths, args.gp_widths = 101, [1, 2, 3, 4, 5], [2, 4]
    args.scales, args.gp_samples = LENGTH_SCALES, 2000
    if args.quick:
        args.grid, args.widths, args.gp_widths, args.seeds = 31, [1, 2, 3], [2], 2
        args.scales, args.gp_samples, args.steps, args.workers = (0.5, 10.0), 300, 1000, 1
    rows2, rows4 = fig2(args), fig4(args)
    text = "\n".join(fig2_table(rows2) + [""] + fig4_table(rows4)) + "\n"
    print(text)
    out = Path(args.out)
    write_text(out / "channels_statistics.txt", text)
    plot(rows2, rows4, out / "channels_statistics.png")
    print(f"wrote {out / 'channels_statistics.png'}")


if __name__ == "__main__":
    main()
