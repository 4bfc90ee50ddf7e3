"""Training: gradient flow with ODE solvers or discrete rules, then an optimiser to the
critical point (see :func:`train`); options in :mod:`.options`, stop reasons in
:mod:`.stopping`."""

from .api import train as train
from .discrete import Adam as Adam
from .discrete import Descent as Descent
from .discrete import Momentum as Momentum
from .options import DEFAULTS as DEFAULTS
from .options import FlowOptions as FlowOptions
from .options import OptimOptions as OptimOptions
from .options import StopOptions as StopOptions
from .options import TrainOptions as TrainOptions
from .result import TrainResult as TrainResult
from .result import Trajectory as Trajectory
from .result import load_result as load_result
from .solvers import FlowSolver as FlowSolver
from .solvers import get_solver as get_solver
from .stopping import PhaseRecord as PhaseRecord
from .stopping import StopReason as StopReason

__all__ = ["Adam", "DEFAULTS", "Descent", "FlowOptions", "FlowSolver", "Momentum",
           "OptimOptions", "PhaseRecord", "StopOptions", "StopReason", "TrainOptions",
           "TrainResult", "Trajectory", "get_solver", "load_result", "train"]
