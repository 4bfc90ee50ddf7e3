"""
Query augmentation
==================

Too few queries, and query augmentation, on a synthetic image-like teacher (8x8 inputs),
after Beiser, Martinelli, Gerstner, Brea (UniReps @ NeurIPS 2025).

The teacher is ``ec_teacher(64, [3])``: 3 g neurons reading 8x8 "images" (64 inputs,
199 parameters). The base images are 40 smooth random blobs (MNIST-like stand-ins,
normalised to mean 0 and std 1 over the set): fewer images than teacher parameters.
Expand-and-Cluster (10 students of width 6, trained 2 at a time) is run on five query
sets built from the *same* 40 images, except the control:

- ``40 base``: the 40 images only;
- ``noise``: the 40 images plus biased noise overlays of them, U[0,1) and U[-1,0)
  (400 each);
- ``composition``: 800 compositions (2x2 grid of 4x4 tiles, each tile the same-position
  crop of a random base image);
- ``comp+noise``: 400 compositions plus 200 noise overlays of them per interval
  (:func:`composition_noise`, the fork's recipe);
- ``800 base``: control with 800 fresh blob images (more images, no augmentation).

For each: the effective rank of the query matrix (singular values above 1e-3 of the
largest), recovered width, cosine distance of every teacher neuron to its best student
neuron, success (width 3 and all distances <= 1e-3), and the relative test error
E[(f - teacher)^2] / Var(teacher) on 2000 fresh blob images. Prints the table and
writes ``augmentation.txt`` and ``augmentation.png`` into ``--out``.

    python examples/augmentation.py [--out DIR] [--quick]

Result at the defaults (measured before Expand-and-Cluster's phase 2 was reworked; not
re-measured since): ``40 base`` and ``800 base`` fail (no cluster survives: the
students fit the queries without aligning; smooth blobs are ill-conditioned in the 64-D
input space, 30 and 48 effective directions), while the three augmented sets recover all
3 neurons (cosine distances ~1e-16, relative test error 1e-30 to 2e-21). About 4 minutes;
``--quick`` is a smoke test (two query sets, 4 students, tiny budget; it recovers nothing).
"""

import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from mlpgradientflow.data import ec_teacher  # noqa: E402
from mlpgradientflow.recovery import (  # noqa: E402
    compare_with_teacher,
    composition_noise,
    composition_sampling,
    expand_and_cluster,
    noise_overlay,
    plot_distances,
)

N_BASE = 40


def blobs(n: int, rng) -> np.ndarray:
    """Smooth random blobs on an 8x8 canvas (unnormalised), shape (n, 8, 8)."""
    yy, xx = np.mgrid[0:8, 0:8]
    c = rng.uniform(1, 6, (n, 2, 1, 1))
    return np.exp(-((yy - c[:, 0]) ** 2 + (xx - c[:, 1]) ** 2) / rng.uniform(2, 8, (n, 1, 1)))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description="Query augmentation for Expand-and-Cluster")
    ap.add_argument("--out", default="examples/out")
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: tiny budget, 4 students, two query sets")
    args = ap.parse_args(argv)
    n_ode = 200 if args.quick else 3000  # flow steps per student (counts: machine-independent)
    n_students = 4 if args.quick else 10
    rng = np.random.default_rng(0)
    teacher = ec_teacher(64, [3], rng=1)
    raw = blobs(N_BASE + 800 + 2000, rng)
    mu, sd = raw[:N_BASE].mean(), raw[:N_BASE].std()  # normalisation of the base set
    imgs = (raw - mu) / sd
    base, extra, test = imgs[:N_BASE], imgs[N_BASE : N_BASE + 800], imgs[N_BASE + 800 :]
    X_test = test.reshape(len(test), -1)
    y_test = teacher(X_test)

    noisy = [
        noise_overlay(base, 400, lo, hi, rng=s) for s, (lo, hi) in enumerate([(0, 1), (-1, 0)])
    ]
    queries = {
        f"{N_BASE} base": base,
        "noise": np.concatenate([base, *noisy]),
        "composition": composition_sampling(base, 800, grid=(2, 2), rng=2),
        "comp+noise": composition_noise(base, 400, 200, grid=(2, 2), rng=3),
        "800 base": extra,
    }
    if args.quick:
        queries = {k: queries[k] for k in (f"{N_BASE} base", "comp+noise")}
    header = (
        f"{'queries':<12} {'n':>5} {'rank':>4}  {'width':>5}  {'cos dist per teacher neuron':<29} "
        f"{'success':<7} {'test err':>8}  {'time':>4}"
    )
    lines, comparisons = [header], []
    print(header, flush=True)
    for name, Q in queries.items():
        t0 = time.time()
        X = Q.reshape(len(Q), -1)
        sv = np.linalg.svd(X, compute_uv=False)
        rank = int(np.sum(sv > 1e-3 * sv[0]))
        try:
            res = expand_and_cluster(
                teacher,
                X,
                [(6, "g", True), (1, "identity", True)],
                n_students=n_students,
                rng=3,
                executor=2,
                train_options=dict(maxiterations_ode=n_ode, maxiterations_optim=n_ode // 10,
                                   minloss=1e-20),
                finetune_options=dict(maxiterations_ode=n_ode, maxiterations_optim=n_ode // 5),
            )
        except RuntimeError:  # every cluster dropped: a failed recovery
            comparisons.append({"cosine_distances": [1.0], "success": False})
            fail = f"{'no cluster survived':<29} {'False':<7}"
            line = f"{name:<12} {len(X):>5} {rank:>4}  {0:>5}  {fail}"
            lines.append(f"{line} {'-':>8}  {time.time() - t0:>4.0f}")
            print(lines[-1], flush=True)
            continue
        c = compare_with_teacher(res, teacher)
        comparisons.append(c)
        err = np.mean((res.predict(X_test) - y_test) ** 2) / np.var(y_test)
        dists = " ".join(f"{d:.0e}" for d in c["cosine_distances"])
        lines.append(
            f"{name:<12} {len(X):>5} {rank:>4}  {res.widths[0]:>5}  {dists:<29} "
            f"{str(c['success']):<7} "
            f"{err:>8.1e}  {time.time() - t0:>4.0f}"
        )
        print(lines[-1], flush=True)
    lines.append(
        "paper: rotations, flips and additive noise bring little to no improvement; biased "
        "noise overlays and composition sampling recover teachers with up to 100x more "
        f"parameters than data points (here: {teacher.net.nparams} parameters, {N_BASE} images)"
    )
    print(lines[-1])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "augmentation.txt").write_text("\n".join(lines) + "\n")
    fig, ax = plt.subplots(figsize=(6, 3.5))
    plot_distances(comparisons, ax=ax, labels=list(queries))
    ax.axhline(1e-3, color="gray", ls="--", lw=0.8)
    ax.set_title(f"8x8 g teacher (199 params), {N_BASE} base images")
    ax.tick_params(axis="x", rotation=20, labelsize=8)
    fig.tight_layout()
    fig.savefig(out / "augmentation.png", dpi=120)


if __name__ == "__main__":
    main()
