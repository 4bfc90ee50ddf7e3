r"""Training options: three frozen, validated groups, one set of defaults, one mapping from the
reference's keyword names.

:class:`TrainOptions` holds everything :func:`~mlpgradientflow.train` can be told, in groups
that say what each option is about:

* :class:`FlowOptions`: phase 1, the gradient flow or the discrete rule (``alg``,
  tolerances, step, time horizon, trajectory, minibatches);
* :class:`OptimOptions`: phase 2, the optimiser to the critical point (``optim_solver``,
  ``optim_options``);
* :class:`StopOptions`: the budgets and stopping rules of both phases.

Users mostly pass the flat keyword names of MLPGradientFlow.jl to ``train``
(``maxiterations_ode=...``); :data:`KEYWORDS` maps each to its group. Every option is checked
where it is declared, and a bad value raises an error that names the keyword. Options
round-trip through JSON (:meth:`TrainOptions.to_json` / :meth:`TrainOptions.from_json`), so
sweeps, result files and output folders record exactly what ran.

**Budgets are counts.** The reference stops each phase after 180 s / 120 s of wall-clock
time by default, so the same call returns other points on a loaded machine. Here no default
depends on time: the defaults are step and iteration counts (:data:`DEFAULTS`), chosen from
measured runs (teacher–student problems, P 9–33, N = 10⁴: the flow reaches its end, a
critical point or a channel, in 700–9 000 CVODE steps; Newton needs 1–900 iterations at
minima, more at singular ones). ``maxtime_ode``/``maxtime_optim`` remain as an opt-in safety
cap; a run that one of them ends is marked ``reproducible=False``.

Examples
--------
>>> from mlpgradientflow.training.options import TrainOptions
>>> opts = TrainOptions.make(maxiterations_ode=500, optim_solver="bfgs")
>>> opts.stop.maxiterations_ode, opts.optim.solver, opts.flow.alg
(500, 'bfgs', 'cvode_bdf')
>>> TrainOptions.from_json(opts.to_json()) == opts
True
>>> TrainOptions.make(maxiterations_od=5)
Traceback (most recent call last):
...
TypeError: train(): unknown option 'maxiterations_od' (did you mean 'maxiterations_ode'?)
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

import numpy as np

from ..endstate.classify import ZERO_TOL
from .discrete import Adam, Descent, Momentum, is_rule
from .solvers import SOLVERS, FlowSolver

__all__ = ["FlowOptions", "OptimOptions", "StopOptions", "TrainOptions", "KEYWORDS",
           "DEFAULTS", "OPTIM_METHODS"]

#: phase-2 methods (see :mod:`.optimize`)
OPTIM_METHODS = ("newton", "trust-exact", "bfgs", "l-bfgs-b", "slsqp")
_RULES = {"Descent": Descent, "Momentum": Momentum, "Adam": Adam}


def _bad(key: str, want: str, got) -> ValueError:
    return ValueError(f"option `{key}` must be {want}, got {got!r}")


def _int(key: str, v, lo: int = 0) -> int:
    if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < lo:
        raise _bad(key, f"an integer >= {lo}", v)
    return int(v)


def _number(key: str, v, *, lo: float = 0.0, strict: bool = False, inf: bool = True) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating):
        raise _bad(key, "a number", v)
    v = float(v)
    ok = not math.isnan(v) and (v > lo if strict else v >= lo) and (inf or math.isfinite(v))
    if not ok:
        want = f"{'>' if strict else '>='} {lo:g}" + ("" if inf else " and finite")
        raise _bad(key, f"a number {want}", v)
    return v


@dataclass(frozen=True)
class FlowOptions:
    r"""Phase 1: the dynamics that follow :math:`d\theta/dt = -\tau\odot\nabla L`.

    Attributes
    ----------
    alg : str, FlowSolver or rule
        A solver name (see :data:`~mlpgradientflow.training.solvers.SOLVERS`; default
        ``"cvode_bdf"``), a :class:`~mlpgradientflow.training.solvers.FlowSolver`, or a
        discrete rule (:class:`Descent`, :class:`Momentum`, :class:`Adam`, any object with
        ``init``/``apply``).
    abstol, reltol : float
        ODE tolerances (1e-6 each, as the reference's code).
    dt : float or None
        Initial step of adaptive solvers, the fixed step of ``"rk4_fixed"``.
    maxT : float
        End of flow time (default: unbounded).
    n_samples_trajectory : int
        Log-spaced trajectory points kept (100).
    batchsize : int or None
        Minibatches for discrete rules.
    rng : int or None
        Seed of the minibatch shuffling.

    Examples
    --------
    >>> import mlpgradientflow as mgf
    >>> from mlpgradientflow.training import FlowOptions
    >>> f = FlowOptions(alg="RK4", dt=0.01)                  # names are case-insensitive
    >>> f.alg, f.dt, f.is_rule, FlowOptions(alg=mgf.Adam()).is_rule
    ('rk4', 0.01, False, True)
    >>> mgf.TrainOptions.make(alg="rk45", reltol=1e-8).flow.reltol  # usually set through train
    1e-08
    """

    alg: Any = "cvode_bdf"
    abstol: float = 1e-6
    reltol: float = 1e-6
    dt: float | None = None
    maxT: float = math.inf
    n_samples_trajectory: int = 100
    batchsize: int | None = None
    rng: Any = None

    def __post_init__(self) -> None:
        alg = "cvode_bdf" if self.alg is None else self.alg
        if isinstance(alg, str):
            if alg.lower() not in SOLVERS:
                near = difflib.get_close_matches(alg.lower(), list(SOLVERS), n=1)
                hint = f" (did you mean {near[0]!r}?)" if near else ""
                raise ValueError(f"option `alg`: unknown solver {alg!r}{hint}; known: "
                                 f"{', '.join(SOLVERS)}, or a FlowSolver or a discrete rule")
            alg = alg.lower()
        elif not (is_rule(alg) or isinstance(alg, FlowSolver)
                  or (isinstance(alg, type) and issubclass(alg, FlowSolver))):
            raise _bad("alg", "a solver name, a FlowSolver or a discrete rule (init/apply)", alg)
        object.__setattr__(self, "alg", alg)
        for key in ("abstol", "reltol"):
            object.__setattr__(self, key, _number(key, getattr(self, key), strict=True, inf=False))
        if self.dt is not None:
            object.__setattr__(self, "dt", _number("dt", self.dt, strict=True, inf=False))
        object.__setattr__(self, "maxT", _number("maxT", self.maxT, strict=True))
        object.__setattr__(self, "n_samples_trajectory",
                           _int("n_samples_trajectory", self.n_samples_trajectory))
        if self.batchsize is not None:
            object.__setattr__(self, "batchsize", _int("batchsize", self.batchsize, lo=1))
            if not is_rule(alg):
                raise ValueError("option `batchsize` needs a discrete rule as `alg` (Descent, "
                                 f"Momentum, Adam, ...), got alg={alg!r}")
        if self.rng is not None and not isinstance(self.rng, np.random.Generator):
            object.__setattr__(self, "rng", _int("rng", self.rng))

    @property
    def is_rule(self) -> bool:
        """Whether phase 1 is a discrete rule rather than an ODE solver."""
        return is_rule(self.alg)


@dataclass(frozen=True)
class OptimOptions:
    """Phase 2: the optimiser that lands on the critical point.

    Attributes
    ----------
    solver : str or None
        ``optim_solver``: one of :data:`OPTIM_METHODS`; None picks ``"newton"`` up to
        :data:`~mlpgradientflow.training.optimize.NEWTON_MAX_PARAMS` free parameters, else
        ``"l-bfgs-b"``.
    options : mapping
        ``optim_options``: for Newton ``eig_rtol``, ``eig_atol`` and the keywords of
        :func:`~mlpgradientflow.training.linesearch.hager_zhang`; for scipy methods their
        ``options`` (overriding ours; scipy's own tolerances are off by default so that the
        stopping rules decide).

    Examples
    --------
    >>> from mlpgradientflow.training import OptimOptions
    >>> o = OptimOptions("BFGS", {"gtol": 0.0})
    >>> o.solver, dict(o.options)
    ('bfgs', {'gtol': 0.0})
    >>> OptimOptions().solver is None                          # Newton or L-BFGS-B by size
    True
    """

    solver: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.solver is not None:
            if not isinstance(self.solver, str) or self.solver.lower() not in OPTIM_METHODS:
                raise _bad("optim_solver", f"None or one of {OPTIM_METHODS}", self.solver)
            object.__setattr__(self, "solver", self.solver.lower())
        if not isinstance(self.options, Mapping) or not all(isinstance(k, str) for k in self.options):
            raise _bad("optim_options", "a mapping of option names to values", self.options)
        if self.solver == "newton":
            from .optimize import check_newton_options

            check_newton_options(self.options)
        object.__setattr__(self, "options", MappingProxyType(dict(self.options)))

    def __reduce__(self):  # a mappingproxy does not pickle (nets and options go to workers)
        return (OptimOptions, (self.solver, dict(self.options)))


@dataclass(frozen=True)
class StopOptions:
    """Budgets and stopping rules, checked after every accepted step or iteration.

    Attributes
    ----------
    maxiterations_ode, maxiterations_optim : int
        Step / iteration budgets of the two phases (0 skips the phase).
    maxtime_ode, maxtime_optim : float
        Optional wall-clock caps in seconds (default: none). A run ended by one is marked
        ``reproducible=False``: on another machine, or under load, it would have stopped
        elsewhere.
    patience : int
        Stop after this many evaluations without a new best point.
    min_gnorm : float
        Requested precision: stop when the best point's
        :math:`\\|\\nabla L_{reg}\\|_\\infty` is at most this, or at most its noise floor
        (which ever is larger; the run is then converged).
    minloss : float
        Stop when the best loss is at most this and resolved to that level (a loss at its
        noise floor, e.g. a ``NetI`` loss that came out negative by round-off, never
        fires it).
    stop_on_channel : bool
        End the run once it is established in a flat channel (the three criteria of
        :func:`~mlpgradientflow.endstate.find_channels`, the late-update one over the last
        50 steps); phase 2 is then skipped and the result reports the channel's GLU limit.

    Examples
    --------
    >>> from mlpgradientflow.training import StopOptions
    >>> s = StopOptions(maxiterations_ode=100)
    >>> s.maxiterations_ode, s.maxiterations_optim, s.min_gnorm
    (100, 5000, 1e-15)
    >>> StopOptions(maxiterations_ode=-1)
    Traceback (most recent call last):
    ...
    ValueError: option `maxiterations_ode` must be an integer >= 0, got -1
    """

    maxiterations_ode: int = 20_000
    maxiterations_optim: int = 5_000
    maxtime_ode: float = math.inf
    maxtime_optim: float = math.inf
    patience: int = 10**6
    min_gnorm: float = 1e-15
    minloss: float = 2e-32
    stop_on_channel: bool = True

    def __post_init__(self) -> None:
        for key in ("maxiterations_ode", "maxiterations_optim", "patience"):
            object.__setattr__(self, key, _int(key, getattr(self, key)))
        for key in ("maxtime_ode", "maxtime_optim", "min_gnorm", "minloss"):
            object.__setattr__(self, key, _number(key, getattr(self, key), inf=key.startswith("max")))
        if not isinstance(self.stop_on_channel, bool | np.bool_):
            raise _bad("stop_on_channel", "True or False", self.stop_on_channel)


#: flat keyword name -> (group, field); top-level options have group None
KEYWORDS: dict[str, tuple[str | None, str]] = {
    **{k: ("flow", k) for k in ("alg", "abstol", "reltol", "dt", "maxT", "n_samples_trajectory",
                                "batchsize", "rng")},
    "optim_solver": ("optim", "solver"),
    "optim_options": ("optim", "options"),
    **{f.name: ("stop", f.name) for f in fields(StopOptions)},
    **{k: (None, k) for k in ("maxnorm", "merge", "tauinv", "verbosity", "progress_interval",
                              "blas_threads", "end_state", "zero_tol")},
}


@dataclass(frozen=True, eq=False)
class TrainOptions:
    r"""Everything :func:`~mlpgradientflow.train` can be told (see the module docstring).

    Attributes
    ----------
    flow : FlowOptions
    optim : OptimOptions
    stop : StopOptions
    maxnorm : float
        Barrier constant (:mod:`mlpgradientflow.losses`; inf: off).
    merge : tuple or None
        Merge penalty ``(layer, (i, j), strength)``.
    tauinv : float or array (P,)
        Inverse time scales :math:`\tau`; zeros freeze parameters in both phases.
    verbosity : int
        0: silent; 1: a progress line every ``progress_interval`` seconds and the stop
        reasons (display only: nothing that is computed depends on it).
    progress_interval : float
        Seconds between progress lines.
    blas_threads : int or None
        BLAS threads during training (1; None leaves the setting alone).
    end_state : bool
        Classify the end point (``res.end_state``: one Hessian and ``eigvalsh`` at critical
        points); False leaves ``res.end_state`` None.
    zero_tol : float
        Relative tolerance for zero Hessian eigenvalues in the end state (1e-9, see
        :func:`~mlpgradientflow.end_state`).

    Examples
    --------
    Options made once, reused, and updated per call by flat keywords:

    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> X = np.array([[0.0], [1.0], [2.0]])
    >>> net = mgf.Net([(1, "identity", False)], input=X, target=2 * X)
    >>> opts = mgf.TrainOptions.make(maxiterations_ode=50, verbosity=0)
    >>> opts, opts.stop.maxiterations_ode
    (TrainOptions(maxiterations_ode=50, verbosity=0), 50)
    >>> res = mgf.train(net, [0.0], opts, optim_solver="bfgs")
    >>> res.x, res.converged, res.options["optim_solver"]
    (array([2.]), True, 'bfgs')
    """

    flow: FlowOptions = field(default_factory=FlowOptions)
    optim: OptimOptions = field(default_factory=OptimOptions)
    stop: StopOptions = field(default_factory=StopOptions)
    maxnorm: float = math.inf
    merge: Any = None
    tauinv: Any = 1.0
    verbosity: int = 1
    progress_interval: float = 5.0
    blas_threads: int | None = 1
    end_state: bool = True
    zero_tol: float = ZERO_TOL

    def __post_init__(self) -> None:
        for key, cls in (("flow", FlowOptions), ("optim", OptimOptions), ("stop", StopOptions)):
            if not isinstance(getattr(self, key), cls):
                raise _bad(key, f"a {cls.__name__}", getattr(self, key))
        object.__setattr__(self, "maxnorm", _number("maxnorm", self.maxnorm))
        if self.merge is not None:
            try:
                layer, (i, j), lam = self.merge
            except (TypeError, ValueError):
                raise _bad("merge", "(layer, (i, j), strength)", self.merge) from None
            object.__setattr__(self, "merge", (layer, (i, j), lam))
        tau = np.array(self.tauinv, dtype=float) if not isinstance(self.tauinv, bool) else None
        if tau is None or tau.ndim > 1 or not np.isfinite(tau).all() or (tau < 0).any():
            raise _bad("tauinv", "a finite number >= 0 or a 1-D array of them", self.tauinv)
        if tau.ndim == 1:
            tau.flags.writeable = False
            object.__setattr__(self, "tauinv", tau)
        else:
            object.__setattr__(self, "tauinv", float(tau))
        object.__setattr__(self, "verbosity", _int("verbosity", self.verbosity))
        object.__setattr__(self, "progress_interval",
                           _number("progress_interval", self.progress_interval))
        if self.blas_threads is not None:
            object.__setattr__(self, "blas_threads", _int("blas_threads", self.blas_threads, lo=1))
        if not isinstance(self.end_state, bool | np.bool_):
            raise _bad("end_state", "True or False", self.end_state)
        z = _number("zero_tol", self.zero_tol, inf=False)
        if not z < 1:
            raise _bad("zero_tol", "a number in [0, 1)", self.zero_tol)
        object.__setattr__(self, "zero_tol", z)

    # -- construction from keywords -------------------------------------------------------
    @classmethod
    def make(cls, options: TrainOptions | Mapping | None = None, **keywords) -> TrainOptions:
        """Options from ``options`` (a TrainOptions, a mapping of keywords, or the defaults)
        updated by the flat ``keywords`` (the reference's names, :data:`KEYWORDS`).

        Examples
        --------
        >>> TrainOptions.make({"maxiterations_ode": 10}, verbosity=0)
        TrainOptions(maxiterations_ode=10, verbosity=0)
        """
        if options is None:
            base = DEFAULTS
        elif isinstance(options, TrainOptions):
            base = options
        elif isinstance(options, Mapping):
            base, keywords = DEFAULTS, {**options, **keywords}
        else:
            raise _bad("options", "a TrainOptions, a mapping of options or None", options)
        return base.replace(**keywords)

    def replace(self, **keywords) -> TrainOptions:
        """A copy with the flat ``keywords`` changed (errors name the unknown keyword).

        Examples
        --------
        >>> opts = TrainOptions.make(maxiterations_ode=10)
        >>> opts.replace(optim_solver="bfgs"), opts                   # opts is unchanged
        (TrainOptions(optim_solver='bfgs', maxiterations_ode=10),
         TrainOptions(maxiterations_ode=10))
        """
        groups: dict[str | None, dict] = {}
        for key, value in keywords.items():
            if key not in KEYWORDS:
                near = difflib.get_close_matches(key, list(KEYWORDS), n=1)
                hint = f" (did you mean {near[0]!r}?)" if near else ""
                raise TypeError(f"train(): unknown option {key!r}{hint}")
            group, name = KEYWORDS[key]
            groups.setdefault(group, {})[name] = value
        top = groups.pop(None, {})
        for group, changes in groups.items():
            assert group is not None  # popped above
            top[group] = dataclasses.replace(getattr(self, group), **changes)
        return dataclasses.replace(self, **top) if top else self

    def keywords(self) -> dict[str, Any]:
        """The options as flat keywords, ``{name: value}`` for every name in :data:`KEYWORDS`.

        Examples
        --------
        >>> kw = TrainOptions.make(maxiterations_ode=10).keywords()
        >>> kw["maxiterations_ode"], kw["alg"], set(kw) == set(KEYWORDS)
        (10, 'cvode_bdf', True)
        """
        return {key: getattr(self if g is None else getattr(self, g), name)
                for key, (g, name) in KEYWORDS.items()}

    # -- JSON ---------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict of the flat keywords. Solver names and the built-in rules
        round-trip; other objects are recorded by ``repr`` (and cannot be rebuilt).

        Examples
        --------
        >>> from mlpgradientflow.training import Adam
        >>> j = TrainOptions.make(alg=Adam(eta=0.1)).to_json()
        >>> j["alg"], j["maxT"]                                      # inf as a string
        ({'rule': 'Adam', 'eta': 0.1, 'beta': [0.9, 0.999], 'eps': 1e-08}, 'inf')
        """
        out = {}
        for key, value in self.keywords().items():
            if key == "alg":
                value = _alg_to_json(value)
            elif key == "optim_options":
                value = dict(value)
            elif isinstance(value, np.ndarray):
                value = value.tolist()
            elif isinstance(value, float) and not math.isfinite(value):
                value = repr(value)  # "inf": JSON has no infinity
            elif isinstance(value, tuple):
                value = _listify(value)
            elif isinstance(value, np.random.Generator):
                value = {"object": repr(value)}
            out[key] = value
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> TrainOptions:
        """Rebuild options from :meth:`to_json` output (or a mapping of flat keywords).

        Examples
        --------
        >>> opts = TrainOptions.make(maxiterations_ode=10, optim_solver="bfgs")
        >>> TrainOptions.from_json(opts.to_json()) == opts
        True
        """
        kw = {}
        for key, value in d.items():
            if key == "alg":
                value = _alg_from_json(value)
            elif isinstance(value, str) and value in ("inf", "-inf"):
                value = float(value)
            elif key == "merge" and value is not None:
                value = (value[0], tuple(value[1]), value[2])
            elif key == "rng" and isinstance(value, dict):
                raise ValueError(f"option `rng`: {value['object']} cannot be rebuilt from JSON")
            kw[key] = value
        return cls.make(**kw)

    def __eq__(self, other) -> bool:
        if not isinstance(other, TrainOptions):
            return NotImplemented
        return self.to_json() == other.to_json()

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_json(), sort_keys=True, default=repr))

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.to_json().items() if DEFAULTS_JSON.get(k) != v}
        return f"TrainOptions({', '.join(f'{k}={v!r}' for k, v in changed.items())})"


def _listify(x):
    return [_listify(v) for v in x] if isinstance(x, tuple | list) else x


def _alg_to_json(alg):
    if isinstance(alg, str):
        return alg
    if (type(alg).__name__ in _RULES and dataclasses.is_dataclass(alg)
            and not isinstance(alg, type)):
        return {"rule": type(alg).__name__, **_listify_dict(dataclasses.asdict(alg))}
    return {"object": repr(alg)}


def _listify_dict(d: dict) -> dict:
    return {k: _listify(v) for k, v in d.items()}


def _alg_from_json(value):
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and value.get("rule") in _RULES:
        kw = {k: (tuple(v) if isinstance(v, list) else v) for k, v in value.items() if k != "rule"}
        return _RULES[value["rule"]](**kw)
    raise ValueError(f"option `alg`: {value!r} cannot be rebuilt from JSON (only solver names "
                     "and the built-in rules Descent, Momentum, Adam can)")


#: the one set of defaults every caller starts from
DEFAULTS = TrainOptions()
DEFAULTS_JSON = DEFAULTS.to_json()
