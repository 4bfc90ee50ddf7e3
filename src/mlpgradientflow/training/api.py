"""``train``: gradient flow (or discrete dynamics), then an optimiser to the fixed point."""

from __future__ import annotations

import math
import time

import numpy as np
from threadpoolctl import threadpool_limits

from .._validation import NonFiniteError
from .discrete import discrete_dynamics, is_rule
from .flow import gradient_flow
from .objective import Objective, StopRules
from .progress import Progress
from .recorder import TrajectoryRecorder
from .result import TrainResult, Trajectory
from .solvers import SolverFailure, get_solver

__all__ = ["train"]


def train(
    net,
    p0,
    *,
    alg=None,
    optim_solver=None,
    maxiterations_ode: int = 10**6,
    maxiterations_optim: int = 10**5,
    maxtime_ode: float = 180.0,
    maxtime_optim: float = 120.0,
    maxT: float = math.inf,
    abstol: float = 1e-6,
    reltol: float = 1e-6,
    dt: float | None = None,
    n_samples_trajectory: int = 100,
    maxnorm: float = math.inf,
    merge=None,
    tauinv=1.0,
    batchsize: int | None = None,
    patience: int = 10**6,
    min_gnorm: float = 1e-15,
    minloss: float = 2e-32,
    verbosity: int = 1,
    progress_interval: float = 5.0,
    rng=None,
    blas_threads: int | None = 1,
) -> TrainResult:
    r"""Train ``net`` from ``p0``: phase 1 follows the gradient flow, phase 2 lands on the
    critical point.

    Phase 1 integrates :math:`d\theta/dt = -\tau\odot\nabla L_{reg}(\theta)` on the
    **mean** loss with an ODE solver stepped one accepted step at a time (or iterates a
    discrete rule such as ``Adam``); phase 2 starts from phase 1's best point and runs an
    optimiser until :math:`\|\nabla L_{reg}\|_\infty \le` ``min_gnorm``. The stopping
    rules (patience, wall time, iterations, ``minloss``, ``min_gnorm``, ``maxT``,
    :math:`t > 10^{300}`) are checked after every step. The result is the best point
    (lowest regularised loss) over all evaluations. A phase that fails (the network
    overflows, a solver cannot go on) ends with ``"failed: ..."`` as its stop reason and
    the message in ``res.info``; the best point found so far is kept. Ctrl-C ends training at once and
    returns the best point so far, with ``"interrupted"`` as the stop reason of the phase
    it ended.

    Parameters
    ----------
    net : Net-like
        A :class:`~mlpgradientflow.Net` or any object with ``nparams``, ``loss``,
        ``gradient``, ``fg``, ``fgh`` (e.g. the infinite-data ``NetI``).
    p0 : array (P,)
        Initial parameters (not modified).
    alg : str, FlowSolver or rule, default ``"cvode_bdf"``
        Phase-1 dynamics: a solver name (``"cvode_bdf"``, ``"cvode_bdf_gmres"``,
        ``"rodas4"``, ``"rodas5"``, ``"lsoda"``, ``"bdf"``, ``"radau"``, ``"rk45"``, ``"dop853"``,
        ``"rk4"``), a :class:`~mlpgradientflow.training.solvers.FlowSolver`, or a discrete
        rule (:class:`Descent`, :class:`Momentum`, :class:`Adam`, or any object with
        ``init``/``apply``).
    optim_solver : str, default by size
        Phase 2: ``"newton"`` (eigenvalue-regularised Newton with a Hager–Zhang line
        search; default up to a size threshold), ``"l-bfgs-b"`` (default above it),
        ``"trust-exact"``, ``"bfgs"``, ``"slsqp"``.
    maxiterations_ode, maxiterations_optim : int
        Step/iteration limits per phase; 0 skips the phase.
    maxtime_ode, maxtime_optim : float
        Wall-clock limits per phase, in seconds (default 180 and 120, as the reference).
    maxT : float
        End of flow time (default: unbounded).
    abstol, reltol : float
        ODE tolerances (default 1e-6 each, as the reference's code).
    dt : float, optional
        Initial step of adaptive solvers, the fixed step of ``"rk4"``.
    n_samples_trajectory : int
        Number of log-spaced trajectory points of phase 1 (default 100).
    maxnorm, merge
        Barrier and merge penalty (see :mod:`mlpgradientflow.losses`).
    tauinv : float or array (P,)
        Inverse time scales :math:`\tau` (default 1). Zeros freeze parameters in both
        phases. The reference flows on the *sum* of the per-sample losses: ``tauinv=N``
        reproduces its time axis.
    batchsize : int, optional
        Minibatches for discrete rules (reshuffled each epoch with ``rng``).
    patience : int
        Stop after this many evaluations without a new best loss.
    min_gnorm : float
        Stop when the best point's :math:`\|\nabla L_{reg}\|_\infty` (over free
        parameters) is at most this (default 1e-15).
    minloss : float
        Stop when the best regularised loss is at most this (default 2e-32).
    verbosity : int
        0: silent; 1: a progress line every ``progress_interval`` seconds and the stop
        reasons.
    rng : int or Generator, optional
        Seed of the minibatch shuffling.
    blas_threads : int or None
        BLAS threads during training (default 1; None leaves the setting alone). The
        BLAS calls of small nets gain nothing from threads, and on a shared machine a
        multi-threaded BLAS can be ten times slower (measured: a P = 17, N = 10^4 Hessian
        took 20 ms with 2 threads against 3 ms with 1 while other processes ran). Large
        Hessians (P in the hundreds, N >= 10^5) do gain from 2 threads on an idle machine.

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
    >>> res = mgf.train(net, net.random_params(3), maxtime_ode=5, maxtime_optim=5, verbosity=0)
    >>> bool(res.gnorm < 1e-12 or res.loss < 1e-25)
    True
    """
    options = {k: v for k, v in locals().items() if k not in ("net", "p0", "blas_threads")}
    if blas_threads is None:
        return _train(net, p0, **options)
    with threadpool_limits(limits=int(blas_threads), user_api="blas"):
        return _train(net, p0, **options)


def _train(
    net, p0, *, alg, optim_solver, maxiterations_ode, maxiterations_optim, maxtime_ode,
    maxtime_optim, maxT, abstol, reltol, dt, n_samples_trajectory, maxnorm, merge, tauinv,
    batchsize, patience, min_gnorm, minloss, verbosity, progress_interval, rng,
) -> TrainResult:
    t_total = time.perf_counter()
    x0 = net.check_params(p0) if hasattr(net, "check_params") else np.asarray(p0, dtype=float)
    x0 = np.array(x0, dtype=float, copy=True)
    obj = Objective(net, maxnorm, merge, tauinv, x0=x0)
    recorder = TrajectoryRecorder(n_samples_trajectory, 0.0, x0)
    if is_rule(alg) and batchsize is not None and not isinstance(batchsize, int | np.integer):
        raise TypeError(f"argument `batchsize` must be an integer, got {batchsize!r}")
    if not is_rule(alg) and batchsize is not None:
        raise ValueError("argument `batchsize` needs a discrete rule as `alg` (Descent, Adam, ...)")
    solver = None if is_rule(alg) else get_solver("cvode_bdf" if alg is None else alg)
    if maxiterations_optim > 0:
        from .optimize import default_method, minimize

        n_free = obj.P if obj.free is None else int(obj.free.sum())
        method = optim_solver or default_method(n_free)
    else:
        method = optim_solver or ""
    rules = dict(patience=patience, minloss=minloss, min_gnorm=min_gnorm)
    info = {"alg": repr(alg if is_rule(alg) else solver), "optim_solver": str(method)}

    ode = dict(stopped_by="", iterations=0, time=0.0)
    interrupted = False
    obj.fg(x0)  # the initial point is the first candidate
    def run_flow(stop, prog):
        if solver is None:
            return discrete_dynamics(
                obj, x0, alg, stop, recorder, batchsize=batchsize, rng=rng, progress=prog
            )
        return gradient_flow(
            obj, x0, solver, stop, recorder, maxT=maxT, rtol=reltol, atol=abstol, dt=dt,
            progress=prog, verbosity=verbosity,
        )

    if maxiterations_ode > 0:
        stop = StopRules(maxtime_ode, maxiterations_ode, **rules)
        interrupted = _phase(ode, "flow", verbosity, progress_interval, obj, run_flow, stop)
    ode_x, ode_loss = obj.best_x.copy(), obj.best_loss

    opt = dict(stopped_by="", iterations=0, time=0.0)
    if maxiterations_optim > 0 and not interrupted:
        obj.k_last_best = obj.n_f  # patience restarts with the phase
        stop = StopRules(maxtime_optim, maxiterations_optim, **rules)
        _phase(opt, "optim", verbosity, progress_interval, obj,
               lambda stop, prog: minimize(obj, obj.best_x.copy(), method, stop), stop)

    x = obj.best_x.copy()
    loss, g = net.fg(x)
    _, g_reg = net.fg(x, maxnorm=maxnorm, merge=merge)
    traj = Trajectory(*recorder.result())
    reasons = (ode["stopped_by"], opt["stopped_by"])
    return TrainResult(
        x=x,
        loss=float(loss),
        gnorm=float(np.abs(g).max()),
        gnorm_regularized=float(np.abs(g_reg).max()),
        init=x0,
        ode_x=ode_x,
        ode_loss=float(ode_loss),
        converged=any(r.startswith(("min_gnorm", "minloss")) for r in reasons),
        ode_stopped_by=ode["stopped_by"],
        optim_stopped_by=opt["stopped_by"],
        trajectory=traj,
        loss_curve=np.array([_loss_or_inf(net, xi) for xi in traj.x]),
        ode_iterations=ode["iterations"],
        optim_iterations=opt["iterations"],
        ode_time_run=ode["time"],
        optim_time_run=opt["time"],
        total_time=time.perf_counter() - t_total,
        n_gradients=obj.n_f,
        n_hessians=obj.n_h,
        shapes=[tuple(s) for s in getattr(net, "shapes", [])],
        info={**info, "layerspec": getattr(net, "layerspec", None),
              "ode_message": ode.get("message", ""), "optim_message": opt.get("message", "")},
    )


def _loss_or_inf(net, x) -> float:
    """The loss along a trajectory; inf where the network overflows (a diverging run)."""
    try:
        return float(net.loss(x))
    except NonFiniteError:
        return math.inf


def _phase(record: dict, name: str, verbosity, interval, obj, run, stop: StopRules) -> bool:
    """Run one phase, filling ``record``; True when it was interrupted (Ctrl-C)."""
    progress = Progress(name, verbosity, interval)
    interrupted = False
    try:
        out = run(stop, progress)
        record.update(stopped_by=out.stopped_by, iterations=out.iterations, message=out.message)
    except KeyboardInterrupt:
        record.update(stopped_by="interrupted")
        interrupted = True
    except (NonFiniteError, SolverFailure) as err:  # the best point so far stays valid
        record.update(stopped_by=f"failed: {type(err).__name__}", message=str(err))
    record["time"] = stop.elapsed()
    progress.close(record.get("iterations", 0), obj.best_loss, obj.best_gnorm, record["stopped_by"])
    return interrupted
