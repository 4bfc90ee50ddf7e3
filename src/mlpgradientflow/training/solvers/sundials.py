"""SUNDIALS CVODE (variable-order BDF) through scikit-sundae: the default flow solver.

With the exact Jacobian :math:`J = -\\tau \\odot \\nabla^2 L` and a dense LU up to
``DENSE_MAX`` parameters, CVODE follows gradient flows into their stiff end (minima and
saddles) in a few hundred steps and reaches :math:`\\|\\nabla L\\| \\approx 10^{-16}` by
itself (spec/ecosystem.md §1.1). Above ``DENSE_MAX`` it uses GMRES, which avoids forming
the Hessian, with exact Hessian-vector products when the net provides them (``net.hvp``,
about two gradients each) and CVODE's difference quotients otherwise. The solver is
stepped with ``onestep`` calls; states inside the last step come from CVODE's
interpolant (``step(t, "normal")`` for a ``t`` already passed).

SUNDIALS reports a failure by printing a line (through scikit-sundae's error handler) before
it returns; that line is captured and becomes part of the :class:`SolverFailure` message,
and so of the phase's record, instead of going raw to the terminal.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np

from .base import FlowProblem, FlowSolver, SolverFailure

__all__ = ["CVODESolver", "DENSE_MAX"]

#: largest P solved with a dense LU of the exact Jacobian (above: GMRES)
DENSE_MAX = 2000


class CVODESolver(FlowSolver):
    """CVODE BDF. ``linsolver``: ``"auto"`` (dense up to ``DENSE_MAX``), ``"dense"`` or
    ``"gmres"``; ``max_order`` 1-5."""

    def __init__(self, linsolver: str = "auto", max_order: int = 5, krylov_dim: int = 20) -> None:
        if linsolver not in ("auto", "dense", "gmres"):
            raise ValueError(f"argument `linsolver` must be 'auto', 'dense' or 'gmres', got {linsolver!r}")
        self.linsolver, self.max_order, self.krylov_dim = linsolver, max_order, krylov_dim
        self.name = "cvode_bdf" if linsolver != "gmres" else "cvode_bdf_gmres"

    @property
    def uses_jacobian(self) -> bool:  # type: ignore[override]  # per instance: not for gmres
        return self.linsolver != "gmres"

    def start(self, problem: FlowProblem, t0: float, y0: np.ndarray) -> None:
        from sksundae.cvode import CVODE

        y0 = np.array(y0, dtype=float)
        dense = self.linsolver == "dense" or (self.linsolver == "auto" and y0.size <= DENSE_MAX)
        fun, jac = problem.fun, problem.jac

        def rhsfn(t, y, yp):
            yp[:] = fun(t, y)

        opts = dict(method="BDF", rtol=problem.rtol, atol=problem.atol, max_order=self.max_order)
        if problem.dt is not None:
            opts["first_step"] = problem.dt
        if dense and jac is not None:

            def jacfn(t, y, yp, JJ):
                JJ[:, :] = jac(t, y)

            opts.update(linsolver="dense", jacfn=jacfn)
        else:
            opts.update(linsolver="gmres", krylov_dim=self.krylov_dim)
            if problem.jvp is not None:
                from sksundae.cvode import CVODEJacTimes

                jvp = problem.jvp

                def jtimes(t, y, yp, v, Jv):
                    Jv[:] = jvp(t, y, v)

                opts["jactimes"] = CVODEJacTimes(None, jtimes)
        self._s = CVODE(rhsfn, **opts)
        self._call(self._s.init_step, float(t0), y0)
        self._tstop = problem.t_bound if np.isfinite(problem.t_bound) else None
        # in one-step mode tout only sets the direction and the scale of the first step
        self._tout = float(t0) + (problem.dt if problem.dt else 1.0)
        self.t = self.t_prev = float(t0)
        self.y = y0
        self.n_steps = 0

    def step(self) -> None:
        for _ in range(3):  # after an interpolation, CVODE first returns its current point
            res = self._call(self._s.step, self._tout, method="onestep", tstop=self._tstop)
            if float(res.t) > self.t:
                break
        else:
            raise SolverFailure("cvode: the solver does not advance")
        self.t_prev, self.t, self.y = self.t, float(res.t), np.array(res.y, dtype=float)
        self.n_steps += 1

    def interpolate(self, ts: np.ndarray) -> np.ndarray:
        out = np.empty((len(ts), self.y.size))
        for i, t in enumerate(ts):
            out[i] = self.y if t >= self.t else self._call(self._s.step, float(t), method="normal").y
        return out

    @staticmethod
    def _call(fn, *args, **kwargs):
        """Call into CVODE with its printed failure lines captured into the failure."""
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            res = fn(*args, **kwargs)
        if not res.success:
            said = " ".join(printed.getvalue().split())
            raise SolverFailure(f"cvode: {res.message}" + (f" ({said})" if said else ""))
        return res

    def __repr__(self) -> str:
        return f"CVODESolver(linsolver={self.linsolver!r})"
