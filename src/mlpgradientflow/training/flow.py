"""Phase 1, continuous: follow the gradient flow with an ODE solver, one accepted step at a
time, checking the stopping rules after every step and recording the trajectory.

If the solver cannot take its first step (some explicit or Rosenbrock solvers fail on
badly scaled starts), the reference's fallback runs: CVODE BDF with GMRES on
``[0, 1e-2]``, then the chosen solver restarts from there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .objective import Objective
from .recorder import TrajectoryRecorder
from .solvers import CVODESolver, FlowProblem, FlowSolver, SolverFailure
from .stopping import Stop, StopReason, StopRules

__all__ = ["gradient_flow", "PhaseOutcome"]

FALLBACK_T = 1e-2


@dataclass
class PhaseOutcome:
    """How a phase ended: its last state, time (flow time or iterations), step count, the
    rule that fired and the solver's message."""

    x: np.ndarray
    t: float
    iterations: int
    stop: Stop
    message: str = ""

    @property
    def stopped_by(self) -> str:
        return self.stop.stopped_by


def _problem(obj: Objective, rtol, atol, dt, maxT) -> FlowProblem:
    return FlowProblem(fun=obj.rhs, jac=obj.jac, jvp=obj.jvp if obj.has_hvp else None,
                       fun_jac=obj.rhs_jac, rtol=rtol, atol=atol, dt=dt, t_bound=maxT)


def gradient_flow(
    obj: Objective,
    x0: np.ndarray,
    solver: FlowSolver,
    stop: StopRules,
    recorder: TrajectoryRecorder,
    *,
    maxT: float = math.inf,
    rtol: float = 1e-6,
    atol: float = 1e-6,
    dt: float | None = None,
    progress=None,
    verbosity: int = 1,
) -> PhaseOutcome:
    """Integrate dx/dt = -tau * grad L(x) from x0 until a stopping rule fires."""
    problem = _problem(obj, rtol, atol, dt, maxT)
    t_start, steps = 0.0, 0
    solver.start(problem, t_start, x0)
    try:
        solver.step()
    except SolverFailure as err:
        x1 = _fallback(obj, x0, rtol, atol, maxT, err, verbosity)
        recorder.add_step(0.0, FALLBACK_T, lambda ts: np.repeat(x1[None], len(ts), 0), x1)
        t_start = FALLBACK_T
        solver.start(problem, t_start, x1)
        solver.step()
    steps = 1
    while True:
        recorder.add_step(solver.t_prev, solver.t, solver.interpolate, solver.y)
        if progress is not None:
            progress.update(steps, obj.best_loss, obj.best_gnorm, t=solver.t)
        reason = stop.check(obj, steps, solver.t, solver.y)
        if reason is None and solver.t >= maxT:
            reason = Stop(StopReason.MAXT)
        if reason is not None:
            return PhaseOutcome(solver.y.copy(), solver.t, steps, reason)
        try:
            solver.step()
        except SolverFailure as err:
            return PhaseOutcome(solver.y.copy(), solver.t, steps, Stop(StopReason.SOLVER_FAILURE),
                                str(err))
        steps += 1


def _fallback(obj, x0, rtol, atol, maxT, err, verbosity) -> np.ndarray:
    """CVODE BDF/GMRES on [0, 1e-2] (the reference's fallback), returning the end state."""
    if verbosity >= 1:
        print(f"starting ODE fallback ({err})")
    fb = CVODESolver(linsolver="gmres")
    fb.start(_problem(obj, rtol, atol, None, min(maxT, FALLBACK_T)), 0.0, x0)
    while fb.t < FALLBACK_T:
        fb.step()
    if verbosity >= 1:
        print(f"loss after fallback: {obj.fg(fb.y)[0]:.6g}")
    return fb.y.copy()
