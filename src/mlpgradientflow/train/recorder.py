"""Trajectory recording with bounded memory: log-spaced times, picked from dense output.

The final trajectory has ``n`` times log-spaced between the first and the last time, as
in the reference (``10^range(log10(t0+1), log10(t_end+1), n) - 1``). The end time is not
known in advance, so states are recorded during the run on a grid in
``u = log10(t - t0 + 1)`` whose spacing doubles (and every other stored state is dropped)
whenever more than ``4 n`` states are held: memory stays below ``4 n P`` numbers. At the
end each ideal time is replaced by the nearest recorded one, so the returned times are
log-spaced to within the recording resolution, and every returned state is an exact
dense-output value of the solver at its returned time.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["TrajectoryRecorder"]


class TrajectoryRecorder:
    """Record states at log-spaced times of a run that ends at an unknown time."""

    def __init__(self, n: int, t0: float, x0: np.ndarray) -> None:
        self.n = int(n)
        self.t0 = float(t0)
        self.du = 1.0 / (16 * max(self.n, 2))  # start fine: 16n points per decade
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
        u_next = self._u(self.ts[-1]) + self.du
        u_end = float(self._u(t))
        if interpolate is None:
            if u_end >= u_next:
                self.ts.append(float(t))
                self.xs.append(np.array(y, dtype=float, copy=True))
                self._thin()
        elif u_end >= u_next:
            us = np.arange(u_next, u_end, self.du)
            times = np.maximum(10.0**us - 1.0 + self.t0, t_prev)
            times = times[(times > t_prev) & (times <= t)]
            if times.size:
                states = interpolate(times)
                self.ts.extend(times.tolist())
                self.xs.extend(np.array(s, dtype=float, copy=True) for s in states)
                self._thin()
        self.t_last, self.x_last = float(t), np.array(y, dtype=float, copy=True)

    def _thin(self) -> None:
        while len(self.ts) > 4 * max(self.n, 2):
            self.ts, self.xs = self.ts[::2], self.xs[::2]
            self.du *= 2

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """``(t, x)``: up to ``n`` times (fewer for short runs) and the (T, P) states."""
        ts, xs = list(self.ts), list(self.xs)
        if self.t_last > ts[-1]:
            ts.append(self.t_last)
            xs.append(self.x_last)
        if self.n <= 0:
            return np.empty(0), np.empty((0, xs[0].size))
        t = np.array(ts)
        u = self._u(t)
        ideal = np.linspace(0.0, u[-1], self.n)
        idx = np.unique(np.abs(u[None, :] - ideal[:, None]).argmin(axis=1))
        return t[idx], np.stack([xs[i] for i in idx])
