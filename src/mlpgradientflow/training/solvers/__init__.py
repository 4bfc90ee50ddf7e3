"""Gradient-flow solvers, chosen by name or passed as objects (see :mod:`.base`).

==================  ==============================================================
name                solver
==================  ==============================================================
``"cvode_bdf"``     SUNDIALS CVODE BDF, exact Jacobian, dense LU (GMRES above
                    ``DENSE_MAX`` parameters); the default
``"cvode_bdf_gmres"``  CVODE BDF with GMRES (no Hessian)
``"rodas4"``        Rosenbrock order 4(3), exact Jacobian, one LU per step
``"rodas5"``        Rosenbrock order 5(4), exact Jacobian, one LU per step
``"lsoda"``         SciPy/ODEPACK LSODA, stiff/non-stiff switching
``"bdf"``           SciPy BDF (NDF), exact Jacobian
``"radau"``         SciPy Radau IIA order 5, exact Jacobian
``"rk45"``          SciPy Dormand-Prince 5(4), explicit
``"dop853"``        SciPy DOP853, explicit order 8
``"rk4"``           classical RK4, adaptive with OrdinaryDiffEq's residual
                    (defect) estimate: the reference's ``RK4()``
``"rk4_fixed"``     classical RK4 with a fixed step (``dt``, or 1/λmax at the start)
==================  ==============================================================
"""

from __future__ import annotations

from collections.abc import Callable

from .base import FlowProblem, FlowSolver, SolverFailure
from .rk4 import RK4
from .rosenbrock import Rodas4, Rodas5
from .scipy_ivp import ScipySolver
from .sundials import CVODESolver

__all__ = ["FlowProblem", "FlowSolver", "SolverFailure", "get_solver", "SOLVERS", "RK4",
           "Rodas4", "Rodas5"]




SOLVERS: dict[str, Callable[[], FlowSolver]] = {
    "cvode_bdf": CVODESolver,
    "cvode_bdf_gmres": lambda: CVODESolver(linsolver="gmres"),
    "rodas4": Rodas4,
    "rodas5": Rodas5,
    "lsoda": lambda: ScipySolver("lsoda"),
    "bdf": lambda: ScipySolver("bdf"),
    "radau": lambda: ScipySolver("radau"),
    "rk45": lambda: ScipySolver("rk45"),
    "dop853": lambda: ScipySolver("dop853"),
    "rk4": RK4,
    "rk4_fixed": lambda: RK4(adaptive=False),
}


def get_solver(alg) -> FlowSolver:
    """A fresh solver for a name, or ``alg`` itself when it is a FlowSolver (or its class).

    Parameters
    ----------
    alg : str, FlowSolver or FlowSolver subclass
        A name of :data:`SOLVERS` (case-insensitive), a solver object (returned as it is)
        or a solver class (instantiated without arguments).

    Returns
    -------
    FlowSolver
        The solver.

    Examples
    --------
    >>> from mlpgradientflow.training import get_solver
    >>> from mlpgradientflow.training.solvers import RK4
    >>> get_solver("RK4"), get_solver(RK4).name, get_solver("cvode_bdf").uses_jacobian
    (RK4(dt=None, adaptive=True), 'rk4', True)
    """
    if isinstance(alg, FlowSolver):
        return alg
    if isinstance(alg, type) and issubclass(alg, FlowSolver):
        return alg()
    if isinstance(alg, str) and alg.lower() in SOLVERS:
        return SOLVERS[alg.lower()]()
    raise ValueError(
        f"argument `alg`: unknown solver {alg!r}; known names: {', '.join(SOLVERS)}, "
        "or a FlowSolver, or a discrete rule (Descent, Momentum, Adam)"
    )
