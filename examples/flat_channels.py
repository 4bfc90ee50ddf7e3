"""
Flat channels to infinity
=========================

The toy of Martinelli, van Meegen, Şimşek, Gerstner, Brea (NeurIPS 2025), methods.md (c.2).

Data x ~ N(0, 1), activation s(z) = erf(z / sqrt 2), target f(x) = s(5x + 2.5) + s(5x - 2.5),
student a1 s(w1 x) + a2 s(w2 x) (two neurons, no biases, four parameters). The population
loss is a Gauss-Hermite quadrature (136 nodes; it matches the exact NetI loss to ~1e-12).

1. The limit loss l(w, 0) = min_{c, v} E[(c s(wx) + v x s'(wx) - f)^2] of the channels with
   gate w: two minima (channel 1, channel 2) around the single-neuron maximum (v = 0), and
   h = <f2 * 2(f0 - y)> > 0 at both, so the minima at infinity are approached from above.
2. The best single neuron and the matrix B of its duplication line (plateau of minima?).
3. Gradient flow from random starts (mgf.train, 3000 steps, following channels to the end of
   the budget): the end states as train classifies them (res.end_state: a channel with its GLU
   gate tells channel 1 from channel 2), and minima on the plateau of duplicated neurons.
4. The jump procedure (paper App. C.1) from a channel-2 run: eps -> eps/2, then more gradient
   flow, repeatedly: l - l0 ~ eps^2 and the sharpness (largest Hessian eigenvalue) ~ 1/eps^2.
   It starts at eps ~ 1e-2 and stops near 1e-4: below ~3e-5 the outgoing weights (~1/eps)
   cancel so much that l - l0 (~1e-3 eps^2) drowns in float64 rounding (~1e-12).

The critical points of the limit loss are printed beside the authors' published values
(``paper_data/plots_csv/loss_at_infinity_optima.csv`` of their repository). Writes
``flat_channels.png`` into ``--out``.

Run:  python examples/flat_channels.py [--out DIR] [--quick]   (about 40 s on one core;
``--quick``: 6 starts, 3 jumps, about 15 s)
"""

from __future__ import annotations

import argparse
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
from scipy import optimize, special  # noqa: E402

import mlpgradientflow as mgf  # noqa: E402
from mlpgradientflow import plot  # noqa: E402
from mlpgradientflow.theory import channels as ch  # noqa: E402

SQ2 = np.sqrt(2.0)
#: the authors' limit-loss critical points (gate w, loss l(w, 0)), loss_at_infinity_optima.csv
PAPER_LIMIT = {"channel 1": (0.8662957375336717, 0.04237215484107093),
               "single neuron (max)": (1.3995541493907488, 0.047116027496699964),
               "channel 2": (3.150436518292824, 0.0007733345821021587)}


def target(X):
    return special.erf((5 * X + 2.5) / SQ2) + special.erf((5 * X - 2.5) / SQ2)


def limit_profile(net, w):
    """The best GLU readout (c, v) for gate w, and its loss l(w, 0)."""
    return ch.glu_readout(net.input, net.target, [w], "erf", weights=net.weights)


def critical_points(net):
    """Critical points of l(w, 0) for w > 0: sign changes of the slope on a grid, refined."""
    ws = np.linspace(0.05, 6.0, 600)
    L = np.array([limit_profile(net, w)["loss"] for w in ws])
    out = []
    for t in np.flatnonzero(np.diff(np.sign(np.diff(L)))) + 1:
        sign = 1 if L[t] < L[t - 1] else -1
        w = optimize.minimize_scalar(
            lambda w, s=sign: s * limit_profile(net, w)["loss"],
            bounds=(ws[t - 1], ws[t + 1]),
            method="bounded",
            options={"xatol": 1e-10},
        ).x
        out.append(("min" if sign == 1 else "max", w, limit_profile(net, w)))
    return ws, L, out


def h_coefficient(net, w, c, v):
    """h = <f2 * 2(f0 - y)>, f2 = c/2 x^2 s''(wx) + v/6 x^3 s'''(wx) (Delta = 1, a = v)."""
    x, y, om = net.input[:, 0], net.target[:, 0], net.weights / net.n_samples
    z = w * x
    d1 = np.sqrt(2 / np.pi) * np.exp(-z * z / 2)
    f0 = c * special.erf(z / SQ2) + v * x * d1
    f2 = c / 2 * x**2 * (-z * d1) + v / 6 * x**3 * (z * z - 1) * d1
    return float(om @ (f2 * 2 * (f0 - y)))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Flat channels to infinity: the toy")
    parser.add_argument("--out", default=os.path.join("examples", "out"),
                        help="output folder (default examples/out/)")
    parser.add_argument("--quick", action="store_true", help="6 starts, 3 jumps")
    args = parser.parse_args(argv)
    n_starts, n_jumps = (6, 3) if args.quick else (16, 5)
    net = mgf.gauss_hermite_net(target, [(2, "erf", False), (1, "identity", False)], din=1)

    # 1. the limit landscape l(w, 0)
    ws, L, crit = critical_points(net)
    names = {0: "channel 1", 1: "single neuron (max)", 2: "channel 2"}
    print("1. critical points of the limit loss l(w, 0), w > 0:")
    hs = {}
    for k, (kind, w, r) in enumerate(crit):
        h = hs[names.get(k, kind)] = h_coefficient(net, w, r["c"][0], r["v"][0, 0])
        print(
            f"   {names.get(k, kind):20s} {kind}: w = {w:.6f}  c = {r['c'][0]:+.6f}  "
            f"v = {r['v'][0, 0]:+.6f}  l = {r['loss']:.10f}  h = {h:+.3e}"
        )
        if names.get(k) in PAPER_LIMIT:
            pw, pl = PAPER_LIMIT[names[k]]
            print(f"   {'':20s} paper: w = {pw:.6f}  l = {pl:.10f}  "
                  f"(|dw| = {abs(w - pw):.1e}, |dl| = {abs(r['loss'] - pl):.1e})")
    levels = {names[k]: r["loss"] for k, (_, _, r) in enumerate(crit)}
    gates = {names[k]: w for k, (_, w, _) in enumerate(crit)}
    l0 = levels["channel 2"]

    # 2. the best single neuron and its duplication line
    one = mgf.gauss_hermite_net(target, [(1, "erf", False), (1, "identity", False)], din=1)
    best = min(
        (
            mgf.train(one, one.random_params(k), verbosity=0)
            for k in range(4)
        ),
        key=lambda r: r.loss,
    )
    st = ch.saddle_line_stability(one, best.x, 0)
    print(
        f"2. best single neuron: w = {best.x[0]:+.6f}, a = {best.x[1]:+.6f}, l = {best.loss:.10f}"
        f" (|grad| = {best.gnorm:.1e}); B = {st['B'][0, 0]:.5f} -> {st['verdict']}"
    )

    # 3. gradient flow from random starts
    starts = np.random.default_rng(0).standard_normal((n_starts, 4)) * [2, 2, 1, 1]
    runs = [
        mgf.train(net, p0, maxiterations_ode=3000, maxiterations_optim=0, stop_on_channel=False,
                  verbosity=0)
        for p0 in starts
    ]
    print(f"3. gradient flow, 3000 CVODE steps from {n_starts} random starts:")
    kinds, gammas = [], []
    for k, res in enumerate(runs):
        state = res.end_state
        if state.kind == "channel":
            c = state.channel
            kind = min(("channel 1", "channel 2"), key=lambda n: abs(abs(c.glu["w"][0]) - gates[n]))
            detail = (f"eps = {c.eps:.2e}, |a1| + |a2| = {np.abs(res.x[2:]).sum():.0f}, "
                      f"limit loss {c.limit_loss:.10f}")
        elif abs(abs(res.x[0]) - abs(res.x[1])) < 1e-6:
            kind = "plateau"
            a = res.x[2:] * np.sign(res.x[:2])  # both neurons as +w*
            gammas.append(a[0] / a.sum())
            detail = f"duplicated neuron, gamma = {gammas[-1]:.3f}, {state.describe()}"
        else:
            kind, detail = "finite", state.describe()
        kinds.append(kind)
        print(f"   run {k:2d}: l = {res.loss:.10f}  {kind:9s} {detail}")
    counts = {k: kinds.count(k) for k in sorted(set(kinds))}
    lowest = min(r.loss for r in runs)
    print(
        f"   end states {counts}; lowest loss {lowest:.10f} > channel-2 limit {l0:.10f}: "
        f"{lowest > l0}; plateau runs with gamma in (0, 1): "
        f"{sum(0 < g < 1 for g in gammas)}/{len(gammas)}"
    )

    # 4. the jump procedure along a channel-2 run, from its saved state nearest eps = 1e-2
    if "channel 2" not in kinds:
        print("4. no run ended in channel 2: no jump procedure")
        return
    k2 = kinds.index("channel 2")
    flip = ch.find_channels(net, runs[k2].x, runs[k2])[0]["signs"][1] == -1
    states = [ch.flip_sign(net, x, 1) if flip else x for x in runs[k2].trajectory.x]
    start = [abs(np.log(ch.glu_limit(net, x, 0, 1)["eps"] / 1e-2)) for x in states]
    p = states[int(np.argmin(start))]
    eps, gap, sharp = [], [], []
    for _ in range(n_jumps):
        p = ch.jump(net, p, 0, 1, 2.0)
        p = mgf.train(net, p, maxiterations_ode=100, maxiterations_optim=0, stop_on_channel=False,
                      verbosity=0).x
        eps.append(ch.glu_limit(net, p, 0, 1)["eps"])
        gap.append(net.loss(p) - l0)
        sharp.append(np.linalg.eigvalsh(net.hessian(p))[-1])
    eps, gap, sharp = map(np.asarray, (eps, gap, sharp))
    s_loss = np.polyfit(np.log(eps), np.log(gap), 1)[0]
    s_sharp = np.polyfit(np.log(eps), np.log(sharp), 1)[0]
    g = ch.glu_limit(net, p, 0, 1)
    print(f"4. jump procedure from run {k2} (eps/2, then 100 flow steps, {n_jumps} times):")
    for e, d, s in zip(eps, gap, sharp):
        print(
            f"   eps = {e:.3e}  l - l0 = {d:.3e}  (l - l0)/eps^2 = {d / e**2:.5f}  "
            f"lambda_max = {s:.3e}"
        )
    print(
        f"   slopes: l - l0 ~ eps^{s_loss:.3f}, lambda_max ~ eps^{s_sharp:.3f}; "
        f"h (closed form) = {hs['channel 2']:.5f}; "
        f"final GLU w = {g['w'][0]:.6f}, c = {g['c'][0]:.6f}, a = {g['a'][0]:.6f}"
    )

    # figure
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    ax = axes[0]
    ax.plot(ws, L, color="k", lw=1.2)
    for name, w in gates.items():
        ax.plot(w, levels[name], "o", label=f"{name}: {levels[name]:.4g}")
    ax.set_yscale("log")
    ax.set_xlabel("gate w")
    ax.set_ylabel(r"limit loss $\ell(w, 0)$")
    ax.legend(fontsize=7, frameon=False)
    ax = plot.plot_loss_curves(runs, ax=axes[1])
    for name, level in levels.items():
        ax.axhline(level, color="0.5", lw=0.7, ls="--")
        ax.text(
            ax.get_xlim()[1],
            level,
            name,
            fontsize=6,
            ha="right",
            va="top" if name == "channel 1" else "bottom",
        )
    ax.set_title(f"gradient flow from {n_starts} starts", fontsize=9)
    ax = axes[2]
    ax.loglog(eps, gap, "o-", label=r"$\ell - \ell_0$" + f" (slope {s_loss:.2f})")
    ax.loglog(
        eps,
        sharp * gap[0] / sharp[0],
        "s-",
        label=r"$\lambda_{max}$, rescaled" + f" (slope {s_sharp:.2f})",
    )
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel(r"$\varepsilon$")
    ax.set_title("jump procedure along channel 2", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "flat_channels.png")
    plot.save_figure(fig, path)
    print(f"figure: {path}")


if __name__ == "__main__":
    main()
