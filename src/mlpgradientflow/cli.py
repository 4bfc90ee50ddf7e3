"""The command line: ``mlpgradientflow run``, ``sweep`` and ``show`` (also
``python -m mlpgradientflow ...``). ``run`` and ``sweep`` run the one teacher–student
pipeline of :mod:`mlpgradientflow.sweep`: ``run`` on the embedded configuration
(:data:`~mlpgradientflow.sweep.RUN`, changed by its options), ``sweep`` on a TOML file;
``show`` summarises a result folder or file. Errors are one line on stderr with exit status
2 (the traceback with ``--debug``); failed runs give status 1, Ctrl-C 130."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    from .sweep import RUN, RUN_TRAIN

    ap = argparse.ArgumentParser(
        prog="mlpgradientflow",
        description="Exact loss landscapes and gradient flow of small multilayer perceptrons.",
        formatter_class=_Formatter,
        epilog="examples:\n"
        "  mlpgradientflow run --out results               # the embedded experiment\n"
        "  mlpgradientflow sweep examples/sweep.toml --out results/sweep\n"
        "  mlpgradientflow show results/sweep              # what a folder holds\n"
        "The command is installed in the project's environment: .venv/bin/mlpgradientflow\n"
        "(after `make run` or `make test`; or `source .venv/bin/activate`).",
    )
    ap.add_argument("--debug", action="store_true",
                    help="show the full traceback of an unexpected error")
    sub = ap.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run",
        help="teacher-student experiment on embedded defaults",
        formatter_class=_Formatter,
        epilog="examples:\n  mlpgradientflow run --out results --name first\n"
        "  mlpgradientflow run --widths 2 4 --seeds 0 1 2 --activation tanh --processes 2\n"
        "  mlpgradientflow run --n-seeds 10 --maxiterations-ode 5000",
        description="Teacher-student experiment: a teacher network makes targets for Gaussian "
        "inputs; students of several widths are trained by gradient flow and Newton, and each "
        "end point is classified (minimum, saddle, flat channel, not converged) with its loss, "
        "gradient, Hessian eigenvalue counts and alignment with the teacher. Results and "
        "figures go to OUT/NAME/; the same command again resumes. Budgets are counts, so the "
        "results are the same on every machine.",
    )
    run.add_argument("--out", default="results", help="output folder")
    run.add_argument("--name", default=None, help="run name (default: a timestamp)")
    run.add_argument("--widths", type=int, nargs="+", default=list(RUN.widths), help="student widths")
    seeds = run.add_mutually_exclusive_group()
    seeds.add_argument("--seeds", type=int, nargs="+", default=None,
                       help=f"student seeds, a list of integers (default: "
                       f"{' '.join(map(str, RUN.seeds))}); for a count use --n-seeds")
    seeds.add_argument("--n-seeds", type=int, default=None, metavar="N",
                       help="number of seeds: the seeds 0 .. N-1")
    run.add_argument("--n", type=int, default=RUN.n[0], help="number of Gaussian input samples")
    run.add_argument("--din", type=int, default=RUN.din[0], help="input dimension")
    run.add_argument("--teacher-width", type=int, default=RUN.teacher_widths[0],
                     help="teacher hidden width")
    run.add_argument("--teacher-seed", type=int, default=RUN.teacher_seeds[0], help="teacher seed")
    run.add_argument("--activation", default=RUN.activations[0], help="hidden activation (a name)")
    run.add_argument("--maxiterations-ode", type=int, default=RUN_TRAIN.stop.maxiterations_ode,
                     help="flow steps per run")
    run.add_argument("--maxiterations-optim", type=int,
                     default=RUN_TRAIN.stop.maxiterations_optim, help="Newton iterations per run")
    run.add_argument("--maxtime-ode", type=float, default=None,
                     help="optional wall-clock cap per run on the flow, seconds (results then "
                     "depend on the machine)")
    run.add_argument("--maxtime-optim", type=float, default=None,
                     help="optional wall-clock cap per run on Newton, seconds")
    run.add_argument("--processes", type=int, default=None,
                     help="worker processes (default: all cores; 0: in this process)")
    run.add_argument("--quiet", action="store_true", help="no progress output")
    run.add_argument("--overwrite", action="store_true",
                     help="start fresh when OUT/NAME holds results of another configuration")
    sweep = sub.add_parser(
        "sweep",
        help="teacher-student grid from a TOML file, on a process pool or a Dask cluster",
        formatter_class=_Formatter,
        epilog="examples:\n  mlpgradientflow sweep examples/sweep.toml --out results/sweep\n"
        "  mlpgradientflow sweep grid.toml --out /shared/sweep --scheduler tcp://10.1.2.3:8786\n"
        "then: mlpgradientflow show results/sweep; in Python mgf.load_sweep('results/sweep')",
        description="Teacher-student sweep: one training run per combination of the grid in "
        "CONFIG (student widths, seeds, activations, N, Din, teachers; [train] holds the "
        "options of train). Each run is saved to OUT/runs/ as it finishes; the same command "
        "again resumes. Writes OUT/summary.csv, summary.md, summary.json and figures. The "
        "file's schema: python -m pydoc mlpgradientflow.sweep.config",
    )
    sweep.add_argument("config", help="the sweep's TOML file (e.g. examples/sweep.toml)")
    sweep.add_argument("--out", required=True, help="output folder (rerun to resume)")
    where = sweep.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS", default=None,
                       help="run on the Dask scheduler at ADDRESS (tcp://host:port)")
    where.add_argument("--processes", metavar="N", type=int, default=None,
                       help="local worker processes (default: all cores; 0: in this process)")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    sweep.add_argument("--overwrite", action="store_true",
                       help="start fresh when OUT holds results of another sweep")
    show = sub.add_parser(
        "show",
        help="summarise a result folder (run, sweep, train_many) or a result file",
        formatter_class=_Formatter,
        description="What PATH holds: the runs' end states, the lowest loss, failures, and "
        "how to load it in Python.",
        epilog="examples:\n  mlpgradientflow show results/20261203-120000\n"
        "  mlpgradientflow show many/runs/run_00003.npz",
    )
    show.add_argument("path", help="a folder written by run, sweep or train_many, or an .npz result")
    return ap


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Defaults in the help (where there is one to show); text with line breaks (the
    examples of an epilog) as written, other text wrapped."""

    def _fill_text(self, text, width, indent):
        if "\n" in text:
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)

    def _get_help_string(self, action):
        if action.default in (None, False) or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; the exit status: 0, 1 when runs failed, 2 for bad input.

    The console script ``mlpgradientflow`` calls it; errors are one line on stderr.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after the program name (default: ``sys.argv[1:]``), e.g.
        ``["run", "--out", "results"]``, ``["sweep", "grid.toml", "--out", "DIR"]`` or
        ``["show", "DIR"]``.

    Returns
    -------
    int
        The exit status.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> from mlpgradientflow.cli import main
    >>> X = np.array([[0.0], [1.0], [2.0]])
    >>> net = mgf.Net([(1, "identity", False)], input=X, target=2 * X)
    >>> res = mgf.train(net, [0.0], maxiterations_ode=50, verbosity=0)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     res.save(os.path.join(d, "res.npz"))
    ...     status = main(["show", os.path.join(d, "res.npz")])      # prints a summary
    ...     missing = main(["show", os.path.join(d, "missing")])     # one line on stderr
    ... # doctest: +ELLIPSIS
    /...res.npz: one training run, P = 1
      minimum: flow stopped by maxiterations ≥ 50; optimiser stopped by min_gnorm ≤ 1e-15
    ...
    >>> status, missing
    (0, 2)
    """
    args = _parser().parse_args(argv)
    from .storage import FolderLocked, ResumeError
    from .sweep import ConfigError, SweepInterrupted

    client = None
    try:
        if args.command == "show":
            from .sweep import describe

            try:
                print(describe(args.path))
            except ValueError as err:
                raise ConfigError(str(err)) from None
            return 0
        if args.command == "run":
            cfg, out, title = _run_config(args)
        else:
            from .sweep import load_config

            cfg, out, title = load_config(args.config), Path(args.out), None
        if args.processes is not None and args.processes < 0:
            raise ConfigError(f"--processes must be >= 0, got {args.processes}")
        if getattr(args, "scheduler", None):
            client = _connect(args.scheduler)
        executor = client if client is not None else (
            None if args.processes == 0 else args.processes or "processes")
        outcome = _execute(cfg, out, executor, args.quiet, title, args.overwrite)
    except (ConfigError, ResumeError, FolderLocked, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # unexpected: one clear line, the traceback with --debug
        if args.debug:
            raise
        print(f"error: {type(err).__name__}: {err} (run with --debug for the traceback)",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:  # SweepInterrupted, or Ctrl-C outside the runs
        done = f": {err}" if isinstance(err, SweepInterrupted) else ""
        print(f"interrupted{done}; the same command again resumes", file=sys.stderr)
        return 130
    finally:
        if client is not None:
            client.close()
    return _report(outcome, args.command == "run")


def _run_config(args):
    from dataclasses import replace

    from .sweep import RUN, RUN_TRAIN, ConfigError
    from .sweep.config import train_options

    seeds = tuple(args.seeds) if args.seeds else tuple(range(args.n_seeds)) if args.n_seeds else RUN.seeds
    for name, values in (("--widths", args.widths), ("--seeds", seeds), ("--n", [args.n]),
                         ("--din", [args.din]), ("--teacher-width", [args.teacher_width])):
        lo = 0 if name == "--seeds" else 1
        if not values or min(values) < lo:
            raise ConfigError(f"{name} must be integers >= {lo}, got {values}")
    caps = {k: v for k, v in (("maxtime_ode", args.maxtime_ode),
                              ("maxtime_optim", args.maxtime_optim)) if v is not None}
    train = train_options("options", dict(maxiterations_ode=args.maxiterations_ode,
                                          maxiterations_optim=args.maxiterations_optim, **caps),
                          RUN_TRAIN)
    try:
        from .activations import get_activation

        get_activation(args.activation, "--activation")
    except ValueError as err:
        raise ConfigError(f"--activation: {err}") from None
    cfg = replace(RUN, widths=tuple(args.widths), seeds=seeds, n=(args.n,), din=(args.din,),
                  teacher_widths=(args.teacher_width,), teacher_seeds=(args.teacher_seed,),
                  activations=(args.activation,), train=train)
    name = args.name or datetime.now().strftime("%Y%m%d-%H%M%S")
    title = (f"Teacher–student: {args.activation} teacher of width {args.teacher_width}, "
             f"Din={args.din}, N={args.n}")
    return cfg, Path(args.out) / name, title


def _connect(address: str):
    from .sweep import ConfigError

    try:
        from distributed import Client
    except ImportError:
        raise ConfigError("--scheduler needs dask.distributed: pip install "
                          "'mlpgradientflow[dask]'") from None
    try:
        client = Client(address, timeout="30s")
    except OSError as err:
        raise ConfigError(f"cannot connect to the Dask scheduler at {address}: {err}") from None
    if not client.nthreads():  # e.g. SLURM jobs still queued: scatter needs a worker
        print(f"waiting for workers to connect to {address} ...", file=sys.stderr)
        client.wait_for_workers(1)
    return client


def _execute(cfg, out: Path, executor, quiet: bool, title, overwrite: bool):
    from .sweep import run_sweep

    if not quiet:
        print(f"{cfg.n_runs} runs into {out.resolve()}/", file=sys.stderr, flush=True)
    return run_sweep(cfg, out, executor, progress=not quiet, title=title, overwrite=overwrite)


def _report(outcome, show_table: bool) -> int:
    failed = sum(bool(r["error"]) for r in outcome)
    if show_table:
        print((outcome.folder / "summary.md").read_text())
    kinds: dict[str, int] = {}
    for r in outcome:
        kinds[r.get("end_state") or "failed"] = kinds.get(r.get("end_state") or "failed", 0) + 1
    print(f"{len(outcome)} runs: " + ", ".join(f"{n} {k}" for k, n in kinds.items()))
    print(f"written to {outcome.folder}/\n  " + ", ".join(outcome.files) + ", runs/*.npz")
    print(f"load them with: mgf.load_sweep({str(outcome.folder)!r}) (a pandas table), "
          f"mgf.load_results({str(outcome.folder)!r}) (the TrainResults); "
          f"summary: mlpgradientflow show {outcome.folder}")
    if outcome.unwritten:
        print(f"{len(outcome.unwritten)} files could not be written:\n  "
              + "\n  ".join(outcome.unwritten), file=sys.stderr)
    if failed:
        print(f"{failed} runs failed: see the error column of summary.csv; the same command "
              "again retries them", file=sys.stderr)
    return 1 if failed or outcome.unwritten else 0


if __name__ == "__main__":
    sys.exit(main())
