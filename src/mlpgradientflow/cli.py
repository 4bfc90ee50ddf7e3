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
        "inputs; students of several widths are trained by gradient flow and Newton to "
        "critical points, which are characterised by their loss, gradient, exact Hessian "
        "spectrum and alignment with the teacher. Results and plots go to OUT/<run>/.",
    )
    run.add_argument("--out", default="results", help="output folder (default: results)")
    run.add_argument("--name", default=None, help="run name (default: a timestamp)")
    run.add_argument("--widths", type=int, nargs="+", default=[2, 4, 8], help="student widths")
    run.add_argument("--seeds", type=int, default=3, help="random initialisations per width")
    run.add_argument("--n", type=int, default=10_000, help="number of Gaussian input samples")
    run.add_argument("--din", type=int, default=2, help="input dimension")
    run.add_argument("--teacher-width", type=int, default=4, help="teacher hidden width")
    run.add_argument("--activation", default="softplus", help="hidden activation (a name)")
    run.add_argument("--maxtime-ode", type=float, default=10.0, help="seconds of gradient flow per run")
    run.add_argument("--maxtime-optim", type=float, default=5.0, help="seconds of Newton per run")
    run.add_argument("--quiet", action="store_true", help="no progress output")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "run":
        from pathlib import Path

        from .experiments.teacher_student import TeacherStudentConfig, run_teacher_student

        name = args.name or datetime.now().strftime("%Y%m%d-%H%M%S")
        cfg = TeacherStudentConfig(
            din=args.din,
            teacher_width=args.teacher_width,
            activation=args.activation,
            n=args.n,
            widths=tuple(args.widths),
            seeds=tuple(range(args.seeds)),
            maxtime_ode=args.maxtime_ode,
            maxtime_optim=args.maxtime_optim,
        )
        out = run_teacher_student(cfg, Path(args.out) / name, verbosity=0 if args.quiet else 1)
        print((out / "summary.md").read_text())
        print(f"results written to {out.resolve()}/\n  summary.md, summary.csv, summary.json, "
              "runs/*.npz, loss_curves.png, spectra.png, weights.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
