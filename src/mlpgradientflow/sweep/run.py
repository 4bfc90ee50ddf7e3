"""Run (or resume) a sweep into a folder: train every run, summarise, draw.

Written to the output folder:

* ``runs/run_00000.npz``, ... (one :class:`~mlpgradientflow.TrainResult` per run, saved as it
  finishes by :func:`~mlpgradientflow.train_many`; the same call again computes only what is
  missing) and train_many's ``sweep.json``;
* ``sweep_config.json``: the configuration (another grid or other train options in the same
  folder are an error);
* ``summary.csv`` (columns in :mod:`.summary`), ``summary.md`` (the same as a table for
  people), ``summary.json`` (the configuration, the teacher parameters and the rows);
* the figures of :mod:`.figures`.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..io import write_json, write_text
from ..parallel import train_many
from ..storage import FolderLock
from .config import ConfigError, SweepConfig, expand
from .figures import write_figures
from .summary import row, to_csv, to_markdown

__all__ = ["run_sweep", "SweepOutcome", "SweepInterrupted"]


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped the sweep: the finished runs are saved, a rerun resumes.

    Raised by :func:`run_sweep` (a ``KeyboardInterrupt``, so that scripts stop); the message
    says how many runs were saved and where.
    """

class SweepOutcome(list):
    """The rows of ``summary.csv`` (a list of dicts, in grid order), with ``files``: the
    names of the files written into the folder, ``unwritten``: files that could not be
    written (with the reason), and ``folder``.

    Returned by :func:`run_sweep` (see its example).
    """

    files: list[str]
    unwritten: list[str]
    folder: Path


def run_sweep(cfg: SweepConfig, out: str | Path, executor=None, *, progress: bool = True,
              title: str | None = None, overwrite: bool = False) -> SweepOutcome:
    """Run (or resume) a sweep into ``out``; write the summary and the figures.

    Parameters
    ----------
    cfg : SweepConfig
    out : path
        The output folder (see the module docstring).
    executor
        As for :func:`~mlpgradientflow.train_many`: None (in this process), "processes",
        an int, a concurrent.futures.Executor or a ``dask.distributed.Client``.
    progress : bool
        train_many's progress bar.
    title : str, optional
        Heading of ``summary.md``.
    overwrite : bool
        Start fresh in a folder written for another sweep instead of refusing it.

    Returns
    -------
    SweepOutcome
        The rows of ``summary.csv``, in grid order, and the files written.

    Examples
    --------
    One run of 20 flow steps, too few to reach its end ("not converged"):

    >>> import tempfile
    >>> from mlpgradientflow.sweep import RUN_TRAIN, SweepConfig, run_sweep
    >>> cfg = SweepConfig(widths=(1,), seeds=(0,), n=(20,), teacher_widths=(1,),
    ...                   train=RUN_TRAIN.replace(maxiterations_ode=20, maxiterations_optim=2))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     out = run_sweep(cfg, d, progress=False)
    >>> len(out), out[0]["width"], out[0]["end_state"], out.unwritten
    (1, 1, 'not converged', [])
    >>> [f for f in out.files if f.startswith("summary")]
    ['summary.csv', 'summary.md', 'summary.json']
    """
    out = Path(out).resolve()  # absolute: Dask workers write the run files themselves
    with FolderLock(out):  # one process per folder, for the whole sweep
        return _run_locked(cfg, out, executor, progress, title, overwrite)


def _run_locked(cfg: SweepConfig, out: Path, executor, progress: bool, title,
                overwrite: bool) -> SweepOutcome:
    manifest = cfg.to_json()
    mpath = out / "sweep_config.json"
    if mpath.exists() and json.loads(mpath.read_text()) != manifest and not overwrite:
        raise ConfigError(f"{out} holds a different sweep (see {mpath.name}); use a new folder, "
                          "or --overwrite to start fresh")
    runs, nets, inits, teachers = expand(cfg)
    try:
        write_json(mpath, manifest)
    except OSError as err:
        raise ConfigError(f"cannot write into {out}: {err.strerror or err}") from None
    results = train_many(nets, inits, executor, out, progress=progress, options=cfg.train,
                         overwrite=overwrite)
    if any(getattr(r, "interrupted", False) for r in results):
        raise SweepInterrupted(f"{sum(not getattr(r, 'interrupted', False) for r in results)} of "
                               f"{len(results)} runs finished and saved in {out}")
    rows = [row(i, *z) for i, z in enumerate(zip(runs, nets, teachers, results))]
    first = runs[0]
    heading = title or (f"Teacher–student sweep: {len(rows)} runs (Din {list(cfg.din)}, N "
                        f"{list(cfg.n)}, teacher widths {list(cfg.teacher_widths)}, "
                        f"{first.activation if len(cfg.activations) == 1 else 'several'} "
                        "activations)")
    outcome = SweepOutcome(rows)
    outcome.folder, outcome.files = out, []
    outcome.unwritten = [r.info["save_error"] for r in results if "save_error" in getattr(r, "info", {})]
    texts = {"summary.csv": to_csv(rows), "summary.md": to_markdown(rows, heading),
             "summary.json": json.dumps({"config": cfg.to_json(), "rows": rows,
                                         "teachers": [t.params.tolist() for t in dict.fromkeys(teachers)]},
                                        indent=2) + "\n"}
    for name, text in texts.items():
        try:
            write_text(out / name, text)
            outcome.files.append(name)
        except OSError as err:  # a full or read-only disk: the rows are still returned
            outcome.unwritten.append(f"{out / name}: {err.strerror or err}")
    written, failed = write_figures(rows, results, nets, teachers, out)
    outcome.files += written
    outcome.unwritten += failed
    return outcome
