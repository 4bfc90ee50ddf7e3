"""Recover random E&C teachers (g activation, Din = 2 and 8, one and two hidden layers) and
report the recovery rate; writes recovery.png with the cosine distances per problem.

    python examples/recover_teachers.py [--out DIR] [--problems K] [--quick]
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
    expand_and_cluster,
    plot_distances,
    teacher_aware_uniform,
)

CONFIGS = [(2, [3]), (8, [3]), (2, [3, 3])]  # (Din, teacher hidden widths)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default="examples/out")
    ap.add_argument("--problems", type=int, default=2, help="teachers per configuration")
    ap.add_argument("--quick", action="store_true", help="tiny budget (smoke test)")
    args = ap.parse_args()
    t_ode = 0.3 if args.quick else 4.0
    rho, n_students = 2, 10
    comparisons, labels = [], []
    for din, widths in CONFIGS:
        for k in range(args.problems):
            t0 = time.time()
            teacher = ec_teacher(din, widths, rng=100 * din + k)
            # queries: 5 x the student's parameter count (the fork's largest factor)
            X = teacher_aware_uniform(din, widths, rho=rho, factor=5.0, rng=k)
            layers = [(rho * w, "g", True) for w in widths] + [(1, "identity", True)]
            labels.append(f"{din}-{'-'.join(map(str, widths))}#{k}")
            try:
                res = expand_and_cluster(
                    teacher, X, layers, n_students=n_students, rng=k,
                    train_options=dict(maxtime_ode=t_ode, maxtime_optim=t_ode / 2,
                                       minloss=1e-20),
                    finetune_options=dict(maxtime_ode=t_ode, maxtime_optim=t_ode),
                    prune_tol=1e-6,
                )
            except RuntimeError as err:  # a layer lost every cluster: a failed recovery
                comparisons.append({"cosine_distances": [1.0], "success": False})
                print(f"Din={din} teacher {widths}: failed ({err})")
                continue
            c = compare_with_teacher(res, teacher)
            comparisons.append(c)
            print(f"Din={din} teacher {widths}: recovered {list(res.widths)}, "
                  f"max cos dist {max(c['cosine_distances']):.1e}, success {c['success']} "
                  f"({time.time() - t0:.0f} s)")
    rate = np.mean([c["success"] for c in comparisons])
    print(f"recovery rate: {rate:.2f} over {len(comparisons)} problems")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    plot_distances(comparisons, ax=ax, labels=labels)
    ax.set_title(f"Expand-and-Cluster, g teachers: recovery rate {rate:.2f}")
    ax.tick_params(axis="x", rotation=45)
    fig.tight_layout()
    fig.savefig(out / "recovery.png", dpi=120)


if __name__ == "__main__":
    main()
