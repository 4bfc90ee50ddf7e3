"""Training: gradient flow with ODE solvers or discrete rules, then an optimiser to the
critical point (see :func:`train`)."""

from .api import train as train
from .discrete import Adam as Adam
from .discrete import Descent as Descent
from .discrete import Momentum as Momentum
from .result import TrainResult as TrainResult
from .result import Trajectory as Trajectory
from .result import load_result as load_result
from .solvers import FlowSolver as FlowSolver
from .solvers import get_solver as get_solver

__all__ = ["Adam", "Descent", "FlowSolver", "Momentum", "TrainResult", "Trajectory",
           "get_solver", "load_result", "train"]
