r"""The teacher–student grid: its configuration, the TOML schema, and its expansion into runs.

Each combination of the grid is one run: a student with one hidden layer (``width``
neurons, biases, one linear output) trained by :func:`~mlpgradientflow.train` from
``net.random_params(seed)`` on ``n`` standard Gaussian inputs in ``din`` dimensions (drawn
with ``data_seed``), labelled by a teacher of the same form whose weights and biases are
standard normal (drawn with the teacher's seed). Schema of a sweep file (all keys optional
except ``[grid] widths`` and ``seeds``; lists non-empty; the defaults are those of
:data:`RUN`, the configuration of ``mlpgradientflow run`` / ``make run``)::

    data_seed = 0                # seed of the Gaussian inputs
    zero_tol = 1e-9              # |eigenvalue| <= zero_tol * max|eigenvalue| counts as zero
                                 # (the train option zero_tol; may also go into [train])
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
    [train]                      # options of mlpgradientflow.train (its keyword names)
    maxiterations_ode = 3000     # counts, so that a sweep gives the same bits everywhere

Runs are ordered as ``itertools.product(din, n, teacher widths, teacher seeds,
activations, widths, seeds)``. Bad files raise :class:`ConfigError`, whose message names the
file and the key.
"""

from __future__ import annotations

import difflib
import itertools
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from ..activations import get_activation
from ..net import Net, TeacherNet
from ..training import TrainOptions

__all__ = ["ConfigError", "SweepConfig", "Run", "RUN", "RUN_TRAIN", "load_config", "expand"]

#: training options of ``mlpgradientflow run`` (and the default of a sweep file's [train]):
#: the package defaults with budgets that let the 9 runs of ``make run`` reach their end
#: states in a few minutes on 2 cores (a run that does not is reported "not converged")
RUN_TRAIN = TrainOptions(verbosity=0).replace(maxiterations_ode=5_000, maxiterations_optim=1_000)


class ConfigError(ValueError):
    r"""A sweep configuration that cannot be run; the message names the file and the key.

    Raised by :func:`load_config` and :func:`~mlpgradientflow.sweep.run_sweep`; a
    ``ValueError``.

    Examples
    --------
    >>> import os, tempfile
    >>> from mlpgradientflow.sweep import ConfigError, load_config
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = os.path.join(d, "sweep.toml")
    ...     _ = open(path, "w").write("[grid]\nwidth = [1]\nseeds = [0]\n")
    ...     try:
    ...         load_config(path)
    ...     except ConfigError as err:
    ...         print(str(err).split(": ", 1)[1])
    [grid]: unknown key 'width' (did you mean 'widths'?); allowed: widths, seeds,
    activations, n, din
    """


@dataclass(frozen=True)
class SweepConfig:
    """A checked sweep configuration (the keys are explained in the module docstring).

    Made by :func:`load_config` from a TOML file, or directly; :data:`RUN` is the
    configuration of ``mlpgradientflow run``.

    Examples
    --------
    >>> from mlpgradientflow.sweep import RUN_TRAIN, SweepConfig
    >>> cfg = SweepConfig(widths=(1, 2), seeds=(0,), n=(50,), teacher_widths=(1,),
    ...                   train=RUN_TRAIN.replace(maxiterations_ode=20, maxiterations_optim=2))
    >>> cfg.n_runs, cfg.to_json()["widths"], cfg.to_json()["train"]["maxiterations_ode"]
    (2, [1, 2], 20)
    """

    widths: tuple[int, ...] = (2, 4, 8)
    seeds: tuple[int, ...] = (0, 1, 2)
    activations: tuple[str, ...] = ("softplus",)
    n: tuple[int, ...] = (10_000,)
    din: tuple[int, ...] = (2,)
    teacher_widths: tuple[int, ...] = (4,)
    teacher_seeds: tuple[int, ...] = (100,)
    teacher_activation: str | None = None
    data_seed: int = 0
    train: TrainOptions = field(default=RUN_TRAIN)

    def to_json(self) -> dict[str, Any]:
        """The configuration as JSON (the train options as flat keywords)."""
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "train"}
        d = {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}
        return {**d, "train": self.train.to_json()}

    @property
    def n_runs(self) -> int:
        return int(np.prod([len(getattr(self, k)) for k in (
            "widths", "seeds", "activations", "n", "din", "teacher_widths", "teacher_seeds")]))


#: the configuration of ``mlpgradientflow run`` / ``make run``
RUN = SweepConfig()

# TOML key -> (SweepConfig field, kind): "pos"/"nonneg" lists of ints, "acts" names, "act" one
_TABLES = {
    "grid": {"widths": ("widths", "pos"), "seeds": ("seeds", "nonneg"),
             "activations": ("activations", "acts"), "n": ("n", "pos"), "din": ("din", "pos")},
    "teacher": {"widths": ("teacher_widths", "pos"), "seeds": ("teacher_seeds", "nonneg"),
                "activation": ("teacher_activation", "act")},
}
_TOP = ["data_seed", "zero_tol", "grid", "teacher", "train"]


def _unknown(where: str, key: str, allowed) -> ConfigError:
    near = difflib.get_close_matches(key, list(allowed), n=1)
    hint = f" (did you mean {near[0]!r}?)" if near else ""
    return ConfigError(f"{where}: unknown key {key!r}{hint}; allowed: {', '.join(allowed)}")


def _check(where: str, value: Any, kind: str) -> Any:
    if kind == "act":
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be an activation name (a string), got {value!r}")
        try:
            if get_activation(value, where.rsplit(": ", 1)[-1]).name == "softmax":
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


def train_options(where: str, table: dict, base: TrainOptions = RUN_TRAIN) -> TrainOptions:
    """``base`` updated by a ``[train]`` table; a bad key or value is a ConfigError."""
    try:
        return TrainOptions.make(base, **table)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{where}: {str(err).removeprefix('train(): ')}") from None


def load_config(path: str | Path) -> SweepConfig:
    r"""Read and check a sweep file (TOML; the schema is in the module docstring).

    Parameters
    ----------
    path : str or Path
        The TOML file.

    Returns
    -------
    SweepConfig
        Keys not in the file keep the defaults of :data:`RUN`; ``[train]`` updates
        :data:`RUN_TRAIN`.

    Raises
    ------
    ConfigError
        For a missing file, invalid TOML, unknown keys or values of the wrong type.

    Examples
    --------
    >>> import os, tempfile
    >>> from mlpgradientflow.sweep import load_config
    >>> toml = "[grid]\nwidths = [1, 2]\nseeds = [0, 1]\n[train]\nmaxiterations_ode = 50\n"
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = os.path.join(d, "sweep.toml")
    ...     _ = open(path, "w").write(toml)
    ...     cfg = load_config(path)
    >>> cfg.n_runs, cfg.seeds, cfg.activations, cfg.train.stop.maxiterations_ode
    (4, (0, 1), ('softplus',), 50)
    """
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text())
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the file ({err.strerror})") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: invalid TOML: {err}") from None
    for key, value in doc.items():
        if key not in _TOP:
            raise _unknown(str(path), key, _TOP)
        if key in _TOP[2:] and not isinstance(value, dict):
            raise ConfigError(f"{path}: {key} must be a table ([{key}]), got {value!r}")
    train_table = dict(doc.get("train", {}))
    if "zero_tol" in doc:
        train_table.setdefault("zero_tol", doc["zero_tol"])
    kw: dict[str, Any] = {"train": train_options(f"{path}: [train]", train_table)}
    if "data_seed" in doc:
        kw["data_seed"] = _check(f"{path}: data_seed", [doc["data_seed"]], "nonneg")[0]
    for table, keys in _TABLES.items():
        for key, value in doc.get(table, {}).items():
            if key not in keys:
                raise _unknown(f"{path}: [{table}]", key, keys)
            kw[keys[key][0]] = _check(f"{path}: [{table}] {key}", value, keys[key][1])
    for key in ("widths", "seeds"):
        if key not in kw:
            raise ConfigError(f"{path}: [grid] {key} is required")
    return SweepConfig(**kw)


@dataclass(frozen=True)
class Run:
    """One point of the grid.

    Returned by :func:`expand` (one per run, in grid order).

    Examples
    --------
    >>> from mlpgradientflow.sweep import RUN_TRAIN, SweepConfig
    >>> cfg = SweepConfig(widths=(1, 2), seeds=(0,), n=(50,), teacher_widths=(1,),
    ...                   train=RUN_TRAIN.replace(maxiterations_ode=20, maxiterations_optim=2))
    >>> from mlpgradientflow.sweep import expand
    >>> expand(cfg)[0][1]
    Run(din=2, n=50, teacher_width=1, teacher_seed=100, activation='softplus', width=2, seed=0)
    """

    din: int
    n: int
    teacher_width: int
    teacher_seed: int
    activation: str
    width: int
    seed: int

    def as_row(self) -> dict[str, Any]:
        return asdict(self)


def expand(cfg: SweepConfig) -> tuple[list[Run], list[Net], list[np.ndarray], list[TeacherNet]]:
    """The runs in grid order and, per run, its net, initial point and teacher; runs with
    the same data and architecture get the same Net object.

    Parameters
    ----------
    cfg : SweepConfig
        The grid.

    Returns
    -------
    runs : list of Run
        ``cfg.n_runs`` grid points, ordered as ``itertools.product(din, n, teacher widths,
        teacher seeds, activations, widths, seeds)``.
    nets : list of Net
        Per run: the student, bound to inputs (n, din) and the teacher's targets (n, 1).
    inits : list of ndarray, shape (P,)
        Per run: ``net.random_params(seed)``.
    teachers : list of TeacherNet
        Per run: the teacher (standard normal weights drawn with its seed).

    Examples
    --------
    >>> from mlpgradientflow.sweep import RUN_TRAIN, SweepConfig
    >>> cfg = SweepConfig(widths=(1, 2), seeds=(0,), n=(50,), teacher_widths=(1,),
    ...                   train=RUN_TRAIN.replace(maxiterations_ode=20, maxiterations_optim=2))
    >>> from mlpgradientflow.sweep import expand
    >>> runs, nets, inits, teachers = expand(cfg)
    >>> [r.width for r in runs], [n.nparams for n in nets], teachers[0] is teachers[1]
    ([1, 2], [5, 9], True)
    >>> nets[0].input.shape, nets[0].target.shape
    ((50, 2), (50, 1))
    """
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
