"""The command line: ``mlpgradientflow run`` and ``mlpgradientflow sweep`` (also
``python -m mlpgradientflow ...``)."""

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
    sweep = sub.add_parser(
        "sweep",
        help="teacher-student grid from a TOML file, on a process pool or a Dask cluster",
        description="Teacher-student sweep: one training run per combination of the grid in "
        "CONFIG (student widths, seeds, activations, N, Din, teachers; [train] holds the "
        "options of train). Each run is saved to OUT/runs/ as it finishes; the same command "
        "again resumes. Writes OUT/summary.csv, loss_vs_width.png, gnorm_hist.png, "
        "morse_hist.png. The file's schema: python -m pydoc mlpgradientflow.sweep",
    )
    sweep.add_argument("config", help="the sweep's TOML file (e.g. examples/sweep.toml)")
    sweep.add_argument("--out", required=True, help="output folder (rerun to resume)")
    where = sweep.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS", default=None,
                       help="run on the Dask scheduler at ADDRESS (tcp://host:port)")
    where.add_argument("--processes", metavar="N", type=int, default=None,
                       help="local worker processes (default: all cores; 0: in this process)")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "sweep":
        return _sweep(args.config, args.out, args.scheduler, args.processes, args.quiet)
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


def _sweep(config: str, out: str, scheduler: str | None, processes: int | None, quiet: bool) -> int:
    """``mlpgradientflow sweep``; the exit status: 0, 1 when runs failed, 2 for bad input."""
    from pathlib import Path

    from .sweep import FIGURES, ConfigError, load_config, run_sweep

    client = None
    try:
        cfg = load_config(config)
        if processes is not None and processes < 0:
            raise ConfigError(f"--processes must be >= 0, got {processes}")
        if scheduler:
            try:
                from distributed import Client
            except ImportError:
                raise ConfigError("--scheduler needs dask.distributed: pip install "
                                  "'mlpgradientflow[dask]'") from None
            try:
                client = Client(scheduler, timeout="30s")
            except OSError as err:
                raise ConfigError(f"cannot connect to the Dask scheduler at {scheduler}: {err}") from None
            if not client.nthreads():  # e.g. SLURM jobs still queued: scatter needs a worker
                print(f"waiting for workers to connect to {scheduler} ...", file=sys.stderr)
                client.wait_for_workers(1)
        executor = client if client is not None else None if processes == 0 else processes or "processes"
        rows = run_sweep(cfg, out, executor, progress=not quiet)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    finally:
        if client is not None:
            client.close()
    failed = sum(bool(r["error"]) for r in rows)
    where = Path(out).resolve()
    print(f"{len(rows)} runs, {failed} failed; written to {where}/\n  summary.csv, "
          + "".join(f"{f}, " for f in FIGURES if (where / f).exists()) + "runs/")
    if failed:
        print(f"{failed} runs failed: see the error column of summary.csv; the same command "
              "again retries them", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
