"""Progress lines during training: every ``interval`` seconds at ``verbosity >= 1``.

A line names the phase, its iteration against the iteration budget, the flow time (ODE
solvers only), the best loss, :math:`\\|\\nabla L\\|_\\infty` at the best point and the time
left until the budget is spent at the current rate (an estimate: the phase usually ends
earlier, when a stopping rule fires). With tqdm installed (the ``progress`` extra) the line
is a tqdm status bar; otherwise a plain line is printed. Silent at ``verbosity = 0``.
Display only: nothing that is computed depends on it.
"""

from __future__ import annotations

import math
import sys
import time

__all__ = ["Progress"]


class Progress:
    """A status line for one phase (``budget``: its iteration budget)."""

    def __init__(self, phase: str, verbosity: int, interval: float = 5.0,
                 budget: int | None = None) -> None:
        self.phase, self.interval, self.budget = phase, interval, budget
        self.active = verbosity >= 1
        self.start = self.last = time.perf_counter()
        self.bar = None
        self.t: float | None = None  # the last flow time seen (ODE solvers only)
        if self.active:
            try:
                from tqdm import tqdm

                self.bar = tqdm(desc=phase, bar_format="{desc} {elapsed} {postfix}", file=sys.stderr)
            except ImportError:
                pass

    def line(self, iteration: int, loss: float, gnorm: float, t: float | None = None) -> str:
        """The status text, e.g. ``step 120/20000, t = 3.5, best loss = ..., ...``."""
        unit = "step" if t is not None else "iteration"
        of = f"/{self.budget}" if self.budget else ""
        text = f"{unit} {iteration}{of}"
        if t is not None:
            text += f", flow time t = {t:.4g}"
        text += f", best loss = {loss:.6g}, ‖∇L‖∞ = {gnorm:.3g}"
        elapsed = time.perf_counter() - self.start
        if self.budget and iteration > 0 and math.isfinite(elapsed):
            left = elapsed / iteration * max(self.budget - iteration, 0)
            text += f", budget spent in ≤ {left:.2g} s"
        return text

    def update(self, iteration: int, loss: float, gnorm: float, t: float | None = None,
               force: bool = False) -> None:
        if not self.active:
            return
        self.t = self.t if t is None else t
        now = time.perf_counter()
        if not force and now - self.last < self.interval:
            return
        self.last = now
        text = self.line(iteration, loss, gnorm, self.t)
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=True)
        else:
            print(f"{self.phase} {now - self.start:7.1f}s  {text}", file=sys.stderr, flush=True)

    def close(self, iteration: int, loss: float, gnorm: float, reason: str) -> None:
        if not self.active:
            return
        self.update(iteration, loss, gnorm, force=True)
        if self.bar is not None:
            self.bar.close()
        print(f"{self.phase} stopped by: {reason}", file=sys.stderr, flush=True)
