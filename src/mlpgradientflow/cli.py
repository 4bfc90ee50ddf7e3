"""The command line: ``mlpgradientflow run`` (also ``python -m mlpgradientflow run``)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="mlpgradientflow",
        description="Exact loss landscapes and gradient flow of small multilayer perceptrons.",
    )
    sub = ap.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run",
        help="teacher-student experiment on embedded defaults",
        description="Teacher-student experiment: a teacher network makes targets for Gaussian "
        "inputs; students of several widths are evaluated (loss, gradient, exact Hessian "
        "spectrum). Results and plots go to OUT/<run>/.",
    )
    run.add_argument("--out", default="results", help="output folder (default: results)")
    run.add_argument("--name", default=None, help="run name (default: a timestamp)")
    run.add_argument("--widths", type=int, nargs="+", default=[2, 4, 8], help="student widths")
    run.add_argument("--seeds", type=int, default=3, help="random initialisations per width")
    run.add_argument("--n", type=int, default=10_000, help="number of Gaussian input samples")
    run.add_argument("--din", type=int, default=2, help="input dimension")
    run.add_argument("--teacher-width", type=int, default=4, help="teacher hidden width")
    run.add_argument("--activation", default="softplus", help="hidden activation (a name)")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "run":
        from pathlib import Path

        from .experiments.demo import DemoConfig, run_demo

        name = args.name or datetime.now().strftime("%Y%m%d-%H%M%S")
        cfg = DemoConfig(
            din=args.din,
            teacher_width=args.teacher_width,
            activation=args.activation,
            n=args.n,
            widths=tuple(args.widths),
            seeds=tuple(range(args.seeds)),
        )
        out = run_demo(cfg, Path(args.out) / name)
        print((out / "summary.md").read_text())
        print(f"results written to {out.resolve()}/ (summary.json, summary.md, spectra.png)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
