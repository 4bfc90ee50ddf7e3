"""Trajectory recording with bounded memory: log-spaced times, picked from dense output.

As in the reference, the trajectory has ``n`` times log-spaced from the start,
``10^range(0, log10(t_end - t0 + 1), n) - 1 + t0``, with one difference: ``t_end`` is the
time at which the state stopped changing (relative change below ``1e-12`` between grid
points), and the last state is appended at the true end time. A converged flow is pushed
by CVODE to enormous times (its steps grow without bound once the gradient vanishes, up
to the ``t > 1e300`` rule), and log-spacing over those empty decades would leave a handful
of points where the dynamics happened.

The end time is not known in advance, so states are recorded during the run on a grid in
``u = log10(t - t0 + 1)`` whose spacing doubles (and every other stored state is dropped)
whenever more than ``4 n`` states are held: memory stays below ``4 n P`` numbers. At the end
each ideal time is replaced by the nearest recorded one, so the returned times are
log-spaced to within the recording resolution, and every returned state is an exact
dense-output value of the solver at its returned time.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["TrajectoryRecorder"]

#: relative change of the state below which a grid point is not recorded
STILL = 1e-12


class TrajectoryRecorder:
    """Record states at log-spaced times of a run that ends at an unknown time."""

    def __init__(self, n: int, t0: float, x0: np.ndarray) -> None:
        self.n = int(n)
        self.t0 = float(t0)
        self.du = 1.0 / (16 * max(self.n, 2))  # start fine: 16n points per decade
        self.u_next = self.du
        self.ts: list[float] = [self.t0]
        self.xs: list[np.ndarray] = [np.array(x0, dtype=float, copy=True)]
        self.t_last, self.x_last = self.t0, self.xs[0]

    def _u(self, t):
        return np.log10(np.asarray(t) - self.t0 + 1.0)

    def add_step(
        self,
        t_prev: float,
        t: float,
        interpolate: Callable[[np.ndarray], np.ndarray] | None,
        y: np.ndarray,
    ) -> None:
        """Record the grid times inside ``(t_prev, t]`` from the step's dense output.

        ``interpolate=None`` (discrete dynamics): only the end point ``(t, y)`` exists; it
        is recorded when it has reached the next grid time.
        """
        if self.n <= 0 or t <= t_prev:
            return
        u_end = float(self._u(t))
        if u_end >= self.u_next:
            if interpolate is None:
                self._record([float(t)], [y])
            else:
                us = np.arange(self.u_next, u_end, self.du)
                times = 10.0**us - 1.0 + self.t0
                times = times[(times > t_prev) & (times <= t)]
                if times.size:
                    self._record(times.tolist(), interpolate(times))
            self.u_next = max(self.u_next, float(self._u(self.ts[-1]))) + self.du
            while self.u_next <= u_end:
                self.u_next += self.du
        self.t_last, self.x_last = float(t), np.array(y, dtype=float, copy=True)

    def _record(self, times, states) -> None:
        for ti, xi in zip(times, states):
            if self._changed(xi, self.xs[-1]):
                self.ts.append(ti)
                self.xs.append(np.array(xi, dtype=float, copy=True))
        while len(self.ts) > 4 * max(self.n, 2):
            self.ts, self.xs = self.ts[::2], self.xs[::2]
            self.du *= 2

    def _changed(self, x, last) -> bool:
        return bool(np.abs(x - last).max() > STILL * max(1.0, float(np.abs(last).max())))

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """``(t, x)``: up to ``n`` times (fewer for short runs) and the (T, P) states."""
        if self.n <= 0:
            return np.empty(0), np.empty((0, self.xs[0].size))
        ts, xs = list(self.ts), list(self.xs)
        still_at_end = self.t_last > ts[-1] and not self._changed(self.x_last, xs[-1])
        if self.t_last > ts[-1] and not still_at_end:
            ts.append(self.t_last)
            xs.append(self.x_last)
        t = np.array(ts)
        u = self._u(t)
        ideal = np.linspace(0.0, u[-1], self.n - still_at_end)
        # nearest recorded time to each ideal one (u is increasing): O(n log n), no n x 4n table
        right = np.clip(np.searchsorted(u, ideal), 1, len(u) - 1)
        left = right - 1
        idx = np.unique(np.where(ideal - u[left] <= u[right] - ideal, left, right))
        t_out, x_out = t[idx].tolist(), [xs[i] for i in idx]
        if still_at_end:  # the converged state, at the true end time
            t_out.append(self.t_last)
            x_out.append(self.x_last)
        return np.array(t_out), np.stack(x_out)
