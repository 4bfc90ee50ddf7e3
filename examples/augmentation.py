"""Too few queries, and query augmentation, on a synthetic image-like teacher (8x8 inputs).

A g teacher with 3 hidden neurons reads 8x8 "images" (64 inputs, 199 parameters). With 60
base images the students fit the queries without aligning with the teacher; composition
sampling plus biased noise overlays of the same 60 images give many informative queries.
Writes augmentation.png with the per-neuron cosine distances of both runs.

    python examples/augmentation.py [--out DIR] [--quick]
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from mlpgradientflow.data import ec_teacher  # noqa: E402
from mlpgradientflow.recovery import (  # noqa: E402
    compare_with_teacher,
    composition_noise,
    expand_and_cluster,
    plot_distances,
)


def base_images(n: int, rng) -> np.ndarray:
    """Smooth blobs on an 8x8 canvas, normalised to mean 0, std 1 (MNIST-like stand-ins)."""
    yy, xx = np.mgrid[0:8, 0:8]
    c = rng.uniform(1, 6, (n, 2, 1, 1))
    img = np.exp(-((yy - c[:, 0]) ** 2 + (xx - c[:, 1]) ** 2) / rng.uniform(2, 8, (n, 1, 1)))
    return (img - img.mean()) / img.std()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default="examples/out")
    ap.add_argument("--quick", action="store_true", help="tiny budget (smoke test)")
    args = ap.parse_args()
    t_ode = 0.3 if args.quick else 8.0
    rng = np.random.default_rng(0)
    teacher = ec_teacher(64, [3], rng=1)
    base = base_images(60, rng)
    queries = {
        "60 images": base.reshape(60, -1),
        "augmented": composition_noise(base, 600, 300, grid=(2, 2), rng=2).reshape(-1, 64),
    }
    comparisons = []
    for name, X in queries.items():
        try:
            res = expand_and_cluster(
                teacher, X, [(6, "g", True), (1, "identity", True)], n_students=10, rng=3,
                train_options=dict(maxtime_ode=t_ode, maxtime_optim=t_ode / 2, minloss=1e-20),
                finetune_options=dict(maxtime_ode=t_ode, maxtime_optim=t_ode),
                prune_tol=1e-6,
            )
        except RuntimeError as err:  # every cluster dropped: a failed recovery
            comparisons.append({"cosine_distances": [1.0], "success": False})
            print(f"{name}: {len(X)} queries, failed ({err})")
            continue
        c = compare_with_teacher(res, teacher)
        comparisons.append(c)
        print(f"{name}: {len(X)} queries, recovered width {res.widths}, "
              f"max cos dist {max(c['cosine_distances']):.1e}, success {c['success']}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(4, 3.5))
    plot_distances(comparisons, ax=ax, labels=list(queries))
    fig.tight_layout()
    fig.savefig(out / "augmentation.png", dpi=120)


if __name__ == "__main__":
    main()
