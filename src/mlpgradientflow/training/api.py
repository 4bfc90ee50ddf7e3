"""``train``: gradient flow (or discrete dynamics), then an optimiser to the fixed point."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, overload

import numpy as np
from threadpoolctl import threadpool_limits

from .._validation import NonFiniteError, as_params
from ..endstate import end_state as classify
from ..endstate.channels import ChannelWatch
from ..model import Model, check_model_protocol
from .discrete import discrete_dynamics
from .flow import gradient_flow
from .objective import Objective
from .options import TrainOptions
from .progress import Progress
from .recorder import TrajectoryRecorder
from .reference import apply_keys, reference_keywords
from .result import TrainResult, Trajectory
from .solvers import SolverFailure, get_solver
from .stopping import PhaseRecord, StopReason, StopRules

if TYPE_CHECKING:
    from ..parallel import FailedRun

__all__ = ["train"]


@overload
def train(net: Model, p0: tuple[np.ndarray | Sequence[float], ...],
          options: TrainOptions | None = None, *, callback=None,
          **keywords) -> list[TrainResult | FailedRun]: ...
@overload
def train(net: Model, p0: Any, options: TrainOptions | None = None, *, callback=None,
          **keywords) -> TrainResult: ...
def train(net: Model, p0, options: TrainOptions | None = None, *, callback=None,
          **keywords) -> TrainResult | list[TrainResult | FailedRun]:
    r"""Train ``net`` from ``p0``: phase 1 follows the gradient flow, phase 2 lands on the
    critical point; the result says where the run ended.

    Phase 1 integrates :math:`d\theta/dt = -\tau\odot\nabla L_{reg}(\theta)` on the
    **mean** loss with an ODE solver stepped one accepted step at a time (or iterates a
    discrete rule such as ``Adam``); phase 2 starts from phase 1's best point and runs an
    optimiser until :math:`\|\nabla L_{reg}\|_\infty \le` ``min_gnorm`` or the noise floor
    of the evaluation. The stopping rules (:mod:`~mlpgradientflow.training.stopping`) are
    checked after every step; every default budget is a count, so the same call gives the
    same bits on an idle and on a loaded machine. The result is the best point (lowest
    regularised loss) over all evaluations, classified by
    :func:`~mlpgradientflow.end_state` (``res.end_state``: minimum, saddle, flat channel or
    not converged). A run that enters a flat channel ends there (``stop_on_channel``) and
    reports the channel's GLU limit. A phase that fails (the network overflows, a solver
    cannot go on) ends with ``"failed: ..."`` and the message in its record; the best point
    found so far is kept. Ctrl-C ends training at once and returns the best point so far,
    with ``"interrupted"`` as the stop reason of the phase it ended.

    Parameters
    ----------
    net : Model
        A :class:`~mlpgradientflow.Net`, the infinite-data ``NetI``, or any object of the
        :class:`~mlpgradientflow.Model` protocol (``nparams``, ``fg``, ``fgh``).
    p0 : array (P,), or a tuple of them
        Initial parameters (not modified). A tuple of start vectors is the reference's form
        of many runs: they go through :func:`~mlpgradientflow.train_many` on
        ``num_workers`` processes (default one per start, at most one per core; 1: in this
        process) and a list of results comes back in the order of the starts (the
        reference returns one list per worker).
    options : TrainOptions, optional
        A full set of options (:class:`~mlpgradientflow.training.options.TrainOptions`;
        default :data:`~mlpgradientflow.training.options.DEFAULTS`), updated by ``keywords``.
    callback : callable, optional
        ``callback(info)`` after every accepted step of both phases, with a
        :class:`~mlpgradientflow.training.stopping.StepInfo` (phase, iteration, flow time,
        the state, the best loss and gradient norm). Returning True ends training there
        (stop reason ``"callback"``; no further phase runs); raising KeyboardInterrupt ends
        it as Ctrl-C does.
    **keywords
        The reference's option names, each checked where it is declared (unknown names
        and bad values raise an error naming the keyword). Phase 1
        (:class:`~mlpgradientflow.training.options.FlowOptions`): ``alg`` (default
        ``"cvode_bdf"``; ``"cvode_bdf_gmres"``, ``"rodas4"``, ``"rodas5"``, ``"lsoda"``,
        ``"bdf"``, ``"radau"``, ``"rk45"``, ``"dop853"``, ``"rk4"`` (adaptive),
        ``"rk4_fixed"``, a FlowSolver, or a
        discrete rule :class:`Descent`, :class:`Momentum`, :class:`Adam`), ``abstol`` and
        ``reltol`` (1e-6), ``dt``, ``maxT`` (inf), ``n_samples_trajectory`` (100),
        ``batchsize``, ``rng``. Phase 2
        (:class:`~mlpgradientflow.training.options.OptimOptions`): ``optim_solver``
        (``"newton"`` up to 1000 free parameters, else ``"l-bfgs-b"``; ``"trust-exact"``,
        ``"bfgs"``, ``"slsqp"``), ``optim_options`` (Newton's ``eig_rtol``/``eig_atol`` and
        line-search keywords, or scipy's options). Stopping
        (:class:`~mlpgradientflow.training.options.StopOptions`): ``maxiterations_ode``
        (20 000 steps), ``maxiterations_optim`` (5 000 iterations), ``maxtime_ode`` and
        ``maxtime_optim`` (no cap; a cap that fires marks the result
        ``reproducible=False``), ``patience`` (10⁶ evaluations), ``min_gnorm`` (1e-15),
        ``minloss`` (2e-32), ``stop_on_channel`` (True). Also ``maxnorm`` and ``merge``
        (:mod:`mlpgradientflow.losses`), ``tauinv`` (inverse time scales, a number or one
        per parameter; zeros freeze parameters in both phases; the reference flows on the
        *sum* of the per-sample losses: ``tauinv=N`` reproduces its time axis),
        ``verbosity`` (1: a progress line every ``progress_interval`` = 5 s),
        ``blas_threads`` (1; the small GEMMs of training lose to thread oversubscription on
        shared machines), ``end_state`` (True: classify the end point), ``zero_tol``
        (1e-9, relative tolerance of zero Hessian eigenvalues in the end state). The
        reference's ``weights``, ``losstype``, ``include``/``exclude``, ``result``,
        ``save_everystep``, ``dense``, ``show_progress``, ``hessian_template`` and
        ``use_component_arrays`` are accepted and mapped as
        :mod:`~mlpgradientflow.training.reference` says.

    Returns
    -------
    TrainResult

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> X = np.random.default_rng(0).standard_normal((500, 2))
    >>> teacher = mgf.TeacherNet([(2, "softplus", True), (1, "identity", True)], din=2, rng=1)
    >>> net = mgf.Net([(2, "softplus", True), (1, "identity", True)], input=X, target=teacher(X))
    >>> res = mgf.train(net, net.random_params(3), maxiterations_ode=3000, verbosity=0)
    >>> res.converged, res.end_state.kind, res.reproducible
    (True, <EndKind.MINIMUM: 'minimum'>, True)
    """
    if _many_starts(p0):
        return _train_starts(net, p0, options, callback, keywords)
    net, keywords, keys = reference_keywords(net, keywords)
    opts = TrainOptions.make(options, **keywords)
    if callback is not None and not callable(callback):
        raise TypeError(f"argument `callback` must be callable, got {callback!r}")
    if opts.blas_threads is None:
        return apply_keys(_train(net, p0, opts, callback), keys)
    with threadpool_limits(limits=opts.blas_threads, user_api="blas"):
        return apply_keys(_train(net, p0, opts, callback), keys)


def _many_starts(p0) -> bool:
    """The reference's form of many runs: a tuple of start vectors."""
    return isinstance(p0, tuple) and len(p0) > 0 and all(np.ndim(x) == 1 for x in p0)


def _train_starts(net, starts: tuple, options, callback,
                  keywords) -> list[TrainResult | FailedRun]:
    """``train(net, (x1, x2, ...))``: one run per start through train_many, in the
    reference's ``num_workers`` processes (default: one per start, at most one per core)."""
    import os

    from ..parallel import train_many

    if callback is not None:
        raise TypeError("argument `callback` is not supported with a tuple of starts; "
                        "call train once per start")
    workers = keywords.pop("num_workers", min(len(starts), os.cpu_count() or 1))
    keywords.pop("threads_per_worker", None)  # BLAS threads per run: option `blas_threads`
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"option `num_workers` must be an integer >= 1, got {workers!r}")
    net, keywords, keys = reference_keywords(net, keywords)
    runs = train_many(net, list(starts), None if workers == 1 else workers, options=options,
                      progress=False, **keywords)
    return [r if not isinstance(r, TrainResult) else apply_keys(r, keys) for r in runs]


def _train(net: Model, p0, opts: TrainOptions, callback=None) -> TrainResult:
    t_total = time.perf_counter()
    check_model_protocol(net)
    flow, stop = opts.flow, opts.stop
    x0 = (net.check_params(p0, "p0") if hasattr(net, "check_params")
          else as_params(p0, int(net.nparams), np.dtype(np.float64), "p0"))
    x0 = np.array(x0, dtype=float, copy=True)
    obj = Objective(net, opts.maxnorm, opts.merge, opts.tauinv, x0=x0)
    recorder = TrajectoryRecorder(flow.n_samples_trajectory, 0.0, x0)
    solver = None if flow.is_rule else get_solver(flow.alg)
    method = ""
    if stop.maxiterations_optim > 0:
        from .optimize import default_method, minimize

        n_free = obj.P if obj.free is None else int(obj.free.sum())
        method = opts.optim.solver or default_method(n_free)
    watch = ChannelWatch(net)
    progress: dict[str, Any] = dict(verbosity=opts.verbosity, interval=opts.progress_interval)
    rules = dict(patience=stop.patience, minloss=stop.minloss, min_gnorm=stop.min_gnorm,
                 channels=watch, stop_on_channel=stop.stop_on_channel, callback=callback)

    def run_flow(rules, prog):
        if solver is None:
            return discrete_dynamics(obj, x0, flow.alg, rules, recorder,
                                     batchsize=flow.batchsize, rng=flow.rng, progress=prog)
        return gradient_flow(obj, x0, solver, rules, recorder, maxT=flow.maxT, rtol=flow.reltol,
                             atol=flow.abstol, dt=flow.dt, progress=prog,
                             verbosity=opts.verbosity)

    obj.fg(x0)  # the initial point is the first candidate
    assert obj.best_x is not None
    ode = PhaseRecord()
    if stop.maxiterations_ode > 0:
        ode = _phase("flow", obj, run_flow, StopRules(stop.maxtime_ode, stop.maxiterations_ode,
                                                      **rules, phase="flow"), **progress)
    ode_x, ode_loss = obj.best_x.copy(), obj.best_loss

    optim = PhaseRecord()
    if stop.maxiterations_optim > 0 and ode.reason not in (StopReason.INTERRUPTED,
                                                            StopReason.CHANNEL,
                                                            StopReason.CALLBACK):
        obj.k_last_best = obj.n_f  # patience restarts with the phase
        optim = _phase("optim", obj,
                       lambda rules, prog: minimize(obj, obj.best_x.copy(), method, rules,
                                                    **opts.optim.options),
                       StopRules(stop.maxtime_optim, stop.maxiterations_optim, **rules,
                                 phase="optim"),
                       **progress)

    x = obj.best_x.copy()
    loss, g = net.fg(x)
    _, g_reg = net.fg(x, maxnorm=opts.maxnorm, merge=opts.merge)
    state = None
    if opts.end_state:
        state = classify(net, x, trajectory=watch.states(), min_gnorm=stop.min_gnorm,
                         minloss=stop.minloss, zero_tol=opts.zero_tol, maxnorm=opts.maxnorm,
                         merge=opts.merge, free=obj.free)
        converged = state.critical
    else:
        converged = ode.reason.converged or optim.reason.converged
    t, xs = recorder.result()
    after_optim = optim.reason is not StopReason.NOT_RUN and len(t) and not np.array_equal(xs[-1], x)
    if after_optim:  # as the reference: the final point closes the trajectory, at t_end + 1
        t, xs = np.append(t, t[-1] + 1.0), np.vstack([xs, x])
    traj = Trajectory(t, xs)
    return TrainResult(
        x=x,
        loss=float(loss),
        gnorm=float(np.abs(g).max()),
        gnorm_regularized=float(np.abs(g_reg).max()),
        init=x0,
        ode_x=ode_x,
        ode_loss=float(ode_loss),
        converged=bool(converged),
        trajectory=traj,
        loss_curve=np.array([_loss_or_inf(net, xi) for xi in traj.x]),
        ode=ode,
        optim=optim,
        end_state=state,
        reproducible=not (ode.reason.wall_clock or optim.reason.wall_clock),
        total_time=time.perf_counter() - t_total,
        n_gradients=obj.n_f + obj.n_noise,
        n_hessians=obj.n_h,
        shapes=[tuple(s) for s in getattr(net, "shapes", [])],
        options=opts.to_json(),
        info={"alg": repr(flow.alg if solver is None else solver), "optim_solver": method,
              "layerspec": getattr(net, "layerspec", None),
              "trajectory_ends_after_optim": bool(after_optim)},
        jac=np.array(g_reg, dtype=float),
    )


def _loss_or_inf(net, x) -> float:
    """The loss along a trajectory; inf where the network overflows (a diverging run)."""
    try:
        return float(net.loss(x) if hasattr(net, "loss") else net.fg(x)[0])
    except NonFiniteError:
        return math.inf


_FAILURES = {NonFiniteError: "the network overflowed", SolverFailure: "solver failure",
             np.linalg.LinAlgError: "singular linear system"}


def _phase(name: str, obj: Objective, run, rules: StopRules, *, verbosity: int,
           interval: float) -> PhaseRecord:
    """Run one phase and return its record (Ctrl-C and failures end it, keeping the best)."""
    progress = Progress(name, verbosity, interval, budget=rules.maxiterations)
    n_f, n_h = obj.n_f + obj.n_noise, obj.n_h
    iterations, message = 0, ""
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # detected anyway
            out = run(rules, progress)
        reason, detail = out.stop.reason, out.stop.detail
        iterations, message = out.iterations, out.message
    except KeyboardInterrupt:
        reason, detail = StopReason.INTERRUPTED, ""
    except (NonFiniteError, SolverFailure, np.linalg.LinAlgError) as err:  # the best point
        what = getattr(err, "what", None) or _FAILURES.get(type(err), type(err).__name__)
        reason, detail, message = StopReason.FAILED, what, str(err)  # so far stays valid
    record = PhaseRecord(reason, detail, iterations, obj.n_f + obj.n_noise - n_f, obj.n_h - n_h,
                         rules.elapsed(), message)
    progress.close(iterations, obj.best_loss, obj.best_gnorm, record.stopped_by)
    return record
