"""Teacher–student sweeps from a TOML file: ``mlpgradientflow sweep CONFIG.toml --out DIR``.

Each combination of the grid is one run: a student with one hidden layer (``width``
neurons, biases, one linear output) trained by :func:`~mlpgradientflow.train` from
``net.random_params(seed)`` on ``n`` standard Gaussian inputs in ``din`` dimensions
(drawn with ``data_seed``), labelled by a teacher of the same form whose weights and
biases are standard normal (drawn with the teacher's seed), as in ``mlpgradientflow run``.
The runs go through :func:`~mlpgradientflow.train_many` with ``outdir=DIR``: a finished
run is saved at once (``DIR/runs/run_00000.npz``) and the same command again computes
only what is missing. Runs with the same data and architecture share one net object, so
each distinct net travels to each worker once. Schema (all keys optional except
``[grid] widths`` and ``seeds``; lists non-empty; defaults as for ``mlpgradientflow run``)::

    data_seed = 0                # seed of the Gaussian inputs
    zero_tol = 1e-9              # |eigenvalue| <= zero_tol * max|eigenvalue| counts as zero
    [grid]
    widths = [1, 2, 4]           # student hidden widths
    seeds = [0, 1, 2]            # student initialisations
    activations = ["softplus"]   # hidden activations (names)
    n = [10000]                  # numbers of samples
    din = [2]                    # input dimensions
    [teacher]
    widths = [4]                 # teacher hidden widths
    seeds = [100]                # teacher seeds
    activation = "softplus"      # default: the student's activation of each run
    [train]                      # keywords of mlpgradientflow.train (numbers, booleans,
    maxtime_ode = 10.0           # alg and optim_solver names; not merge, blas_threads)

Runs are ordered as ``itertools.product(din, n, teacher widths, teacher seeds,
activations, widths, seeds)``. Written to ``DIR``: ``summary.csv`` (one row per run: run,
din, n, teacher_width, teacher_seed, activation, width, seed, nparams, loss, gnorm,
n_negative, n_zero, n_positive (Hessian eigenvalues), alignment (mean cosine distance of
the matched incoming vectors), ode_stopped_by, optim_stopped_by, time_s, and error, empty
unless the run failed), ``loss_vs_width.png``,
``gnorm_hist.png``, ``morse_hist.png`` (with matplotlib), ``sweep_config.json`` (another
grid or other train options in the same folder are an error; ``zero_tol`` may change),
and train_many's ``sweep.json`` and ``runs/``. Bad files raise :class:`ConfigError`, whose
message names the file and the key.
"""

from __future__ import annotations

import csv
import difflib
import inspect
import io
import itertools
import json
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .activations import get_activation
from .io import write_json, write_text
from .landscape import align_to_teacher, morse_index
from .net import Net, TeacherNet
from .parallel import FailedRun, train_many
from .training import train

__all__ = ["ConfigError", "SweepConfig", "Run", "load_config", "expand", "run_sweep"]

COLUMNS = ["run", "din", "n", "teacher_width", "teacher_seed", "activation", "width", "seed",
           "nparams", "loss", "gnorm", "n_negative", "n_zero", "n_positive", "alignment",
           "ode_stopped_by", "optim_stopped_by", "time_s", "error"]
FIGURES = ["loss_vs_width.png", "gnorm_hist.png", "morse_hist.png"]
_ODD = {"tanh", "tanh_fast", "sigmoid2", "erf", "identity", "linear", "cube"}  # w ~ -w


class ConfigError(ValueError):
    """A sweep configuration that cannot be run; the message names the file and the key."""


@dataclass(frozen=True)
class SweepConfig:
    """A checked sweep configuration (the keys are explained in the module docstring)."""

    widths: tuple[int, ...]
    seeds: tuple[int, ...]
    activations: tuple[str, ...] = ("softplus",)
    n: tuple[int, ...] = (10_000,)
    din: tuple[int, ...] = (2,)
    teacher_widths: tuple[int, ...] = (4,)
    teacher_seeds: tuple[int, ...] = (100,)
    teacher_activation: str | None = None
    data_seed: int = 0
    zero_tol: float = 1e-9
    train: dict[str, Any] = field(default_factory=dict)


# TOML key -> (SweepConfig field, kind): "pos"/"nonneg" lists of ints, "acts" names, "act" one
_TABLES = {
    "grid": {"widths": ("widths", "pos"), "seeds": ("seeds", "nonneg"),
             "activations": ("activations", "acts"), "n": ("n", "pos"), "din": ("din", "pos")},
    "teacher": {"widths": ("teacher_widths", "pos"), "seeds": ("teacher_seeds", "nonneg"),
                "activation": ("teacher_activation", "act")},
}
_TRAIN_SPECIAL = {"alg": (str,), "optim_solver": (str,), "dt": (int, float), "batchsize": (int,),
                  "rng": (int,), "merge": (), "blas_threads": ()}  # () = not from TOML
_BY_DEFAULT = {bool: (bool,), int: (int,), float: (int, float)}


def _train_types() -> dict[str, tuple[type, ...]]:
    """The train keywords settable from TOML and their types (from train's defaults)."""
    kinds = {name: _TRAIN_SPECIAL.get(name, _BY_DEFAULT.get(type(p.default), ()))
             for name, p in inspect.signature(train).parameters.items()}
    return {name: kind for name, kind in kinds.items() if kind}


def _unknown(where: str, key: str, allowed) -> ConfigError:
    near = difflib.get_close_matches(key, list(allowed), n=1)
    hint = f" (did you mean {near[0]!r}?)" if near else ""
    return ConfigError(f"{where}: unknown key {key!r}{hint}; allowed: {', '.join(allowed)}")


def _check(where: str, value: Any, kind: str) -> Any:
    if kind == "act":
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be an activation name (a string), got {value!r}")
        try:
            if get_activation(value).name == "softmax":
                raise ValueError("softmax is allowed in the output layer only")
        except ValueError as err:
            raise ConfigError(f"{where}: {err}") from None
        return value
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where} must be a non-empty list, got {value!r}")
    if kind == "acts":
        return tuple(_check(f"{where}[{i}]", v, "act") for i, v in enumerate(value))
    lo = 1 if kind == "pos" else 0
    for v in value:
        if not isinstance(v, int) or isinstance(v, bool) or v < lo:
            raise ConfigError(f"{where} must be a list of integers >= {lo}, got {v!r} in {value!r}")
    return tuple(value)


def load_config(path: str | Path) -> SweepConfig:
    """Read and check a sweep file (TOML; the schema is in the module docstring).

    Raises
    ------
    ConfigError
        For a missing file, invalid TOML, unknown keys or values of the wrong type.
    """
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text())
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the file ({err.strerror})") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: invalid TOML: {err}") from None
    top = ["data_seed", "zero_tol", "grid", "teacher", "train"]
    for key, value in doc.items():
        if key not in top:
            raise _unknown(str(path), key, top)
        if key in top[2:] and not isinstance(value, dict):
            raise ConfigError(f"{path}: {key} must be a table ([{key}]), got {value!r}")
    kw: dict[str, Any] = {"train": doc.get("train", {})}
    if "data_seed" in doc:
        kw["data_seed"] = _check(f"{path}: data_seed", [doc["data_seed"]], "nonneg")[0]
    if "zero_tol" in doc:
        z = doc["zero_tol"]
        if isinstance(z, bool) or not isinstance(z, int | float) or not 0 <= z < 1:
            raise ConfigError(f"{path}: zero_tol must be a number in [0, 1), got {z!r}")
        kw["zero_tol"] = float(z)
    for table, keys in _TABLES.items():
        for key, value in doc.get(table, {}).items():
            if key not in keys:
                raise _unknown(f"{path}: [{table}]", key, keys)
            kw[keys[key][0]] = _check(f"{path}: [{table}] {key}", value, keys[key][1])
    for key in ("widths", "seeds"):
        if key not in kw:
            raise ConfigError(f"{path}: [grid] {key} is required")
    types = _train_types()
    for key, value in kw["train"].items():
        if key not in types:
            raise _unknown(f"{path}: [train]", key, types)
        if not isinstance(value, types[key]) or (isinstance(value, bool) and bool not in types[key]):
            want = " or ".join(t.__name__ for t in types[key])
            raise ConfigError(f"{path}: [train] {key} must be {want}, got {value!r}")
    try:  # one step on a tiny net: bad solver names or option values fail here, not in every run
        X = np.linspace(-1, 1, 8)[:, None]
        train(Net([(1, "tanh", True), (1, "identity", True)], input=X, target=X), np.ones(4),
              **{**kw["train"], "maxiterations_ode": 1, "maxiterations_optim": 1, "verbosity": 0})
    except (ValueError, TypeError) as err:
        raise ConfigError(f"{path}: [train]: {err}") from None
    return SweepConfig(**kw)


@dataclass(frozen=True)
class Run:
    """One point of the grid."""

    din: int
    n: int
    teacher_width: int
    teacher_seed: int
    activation: str
    width: int
    seed: int


def expand(cfg: SweepConfig) -> tuple[list[Run], list[Net], list[np.ndarray], list[TeacherNet]]:
    """The runs in grid order and, per run, its net, initial point and teacher; runs with
    the same data and architecture get the same Net object."""
    layers = lambda k, act: [(k, act, True), (1, "identity", True)]  # noqa: E731
    inputs, teachers, nets = {}, {}, {}
    out: tuple[list, list, list, list] = ([], [], [], [])
    for point in itertools.product(cfg.din, cfg.n, cfg.teacher_widths, cfg.teacher_seeds,
                                   cfg.activations, cfg.widths, cfg.seeds):
        r = Run(*point)
        if (r.din, r.n) not in inputs:
            inputs[r.din, r.n] = np.random.default_rng(cfg.data_seed).standard_normal((r.n, r.din))
        tkey = (r.din, cfg.teacher_activation or r.activation, r.teacher_width, r.teacher_seed)
        if tkey not in teachers:
            t_layers = layers(r.teacher_width, tkey[1])
            P = Net(t_layers, din=r.din).nparams
            teachers[tkey] = TeacherNet(t_layers, din=r.din,
                                        params=np.random.default_rng(r.teacher_seed).standard_normal(P))
        nkey = (r.n, tkey, r.activation, r.width)
        if nkey not in nets:
            X = inputs[r.din, r.n]
            nets[nkey] = Net(layers(r.width, r.activation), input=X, target=teachers[tkey](X))
        for lst, x in zip(out, (r, nets[nkey], nets[nkey].random_params(r.seed), teachers[tkey])):
            lst.append(x)
    return out


def _row(i: int, run: Run, net: Net, teacher: TeacherNet, res, zero_tol: float) -> dict:
    row: dict[str, Any] = {"run": i, **asdict(run), "nparams": net.nparams, "error": ""}
    if isinstance(res, FailedRun):
        return {**row, "error": res.error}
    try:
        counts = morse_index(np.linalg.eigvalsh(net.hessian(res.x)), zero_tol)
        align = align_to_teacher(net, res.x, teacher, signs=run.activation in _ODD)
        row["alignment"] = align["mean_cosine_distance"]
    except Exception as err:  # e.g. a Hessian that overflows at a diverged point
        counts, row["error"] = {}, f"summary: {type(err).__name__}: {err}"
    return {**row, "loss": res.loss, "gnorm": res.gnorm, **counts, "time_s": res.total_time,
            "ode_stopped_by": res.ode_stopped_by, "optim_stopped_by": res.optim_stopped_by}


def run_sweep(cfg: SweepConfig, out: str | Path, executor=None, *, progress: bool = True) -> list[dict]:
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

    Returns
    -------
    list of dict
        The rows of ``summary.csv``, in grid order.
    """
    out = Path(out).resolve()  # absolute: Dask workers write the run files themselves
    manifest = json.loads(json.dumps({**asdict(cfg), "zero_tol": None}))
    mpath = out / "sweep_config.json"
    if mpath.exists() and json.loads(mpath.read_text()) != manifest:
        raise ConfigError(f"{out} holds a different sweep (see {mpath.name}); use a new --out folder")
    runs, nets, inits, teachers = expand(cfg)
    write_json(mpath, manifest)
    results = train_many(nets, inits, executor, out, progress=progress, **cfg.train)
    rows = [_row(i, *z, cfg.zero_tol) for i, z in enumerate(zip(runs, nets, teachers, results))]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(out / "summary.csv", buf.getvalue())
    _figures(rows, out)
    return rows


def _figures(rows: list[dict], out: Path) -> None:
    """Final loss against width, gradient norms and Morse indices, grouped by activation."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return
    from .plot import save_figure

    ok = [r for r in rows if not r["error"]]
    acts = list(dict.fromkeys(r["activation"] for r in rows))
    col = {key: [np.array([r[key] for r in ok if r["activation"] == a], float) for a in acts]
           for key in ("width", "loss", "gnorm", "n_negative")}
    axes = [Figure(figsize=(5, 3.5)).add_subplot() for _ in FIGURES]
    for j, (w, loss) in enumerate(zip(col["width"], col["loss"])):  # jitter groups apart
        axes[0].scatter(w * (1 + 0.04 * (j - (len(acts) - 1) / 2)), np.maximum(loss, 1e-33),
                        label=acts[j], marker="os^vDP*X"[j % 8], alpha=0.7)
    widths = sorted({r["width"] for r in rows})
    axes[0].set(yscale="log", xlabel="student width", ylabel="final loss")
    if widths[-1] >= 8 * widths[0]:
        axes[0].set_xscale("log")
    axes[0].set_xticks(widths, [str(w) for w in widths])
    axes[0].set_xticks([], minor=True)
    pos = np.concatenate([g[g > 0] for g in col["gnorm"]] + [np.zeros(0)])  # log bins
    lo = np.floor(np.log10(pos.min())) if pos.size else -16.0
    hi = np.ceil(np.log10(pos.max())) if pos.size else 0.0
    bins = np.logspace(lo, max(hi, lo + 1), 25)
    axes[1].hist([np.maximum(g, bins[0]) for g in col["gnorm"]], bins=bins, stacked=True, label=acts)
    axes[1].set(xscale="log", xlabel=r"final $\|\nabla L\|_\infty$", ylabel="runs")
    top = int(max((m.max() for m in col["n_negative"] if m.size), default=0))
    axes[2].hist(col["n_negative"], bins=np.arange(top + 2) - 0.5, stacked=True, label=acts)
    axes[2].set(xlabel="negative Hessian eigenvalues (Morse index)", ylabel="runs",
                xlim=(-0.5 - 0.2 * (top + 1), top + 0.5 + 0.2 * (top + 1)))
    axes[2].set_xticks(range(0, top + 1, max(1, (top + 1) // 10)))
    failed = f" ({len(rows) - len(ok)} failed)" if len(ok) < len(rows) else ""
    for ax, name in zip(axes, FIGURES):
        ax.set_title(f"{len(ok)} runs{failed}")
        ax.legend(fontsize=7, title="activation", title_fontsize=7)
        save_figure(ax.figure, out / name)

