"""Progress lines during training: every ``interval`` seconds at ``verbosity >= 1``.

With tqdm installed (the ``progress`` extra) the line is a tqdm status bar; otherwise a
plain line is printed. Silent at ``verbosity = 0``.
"""

from __future__ import annotations

import sys
import time

__all__ = ["Progress"]


class Progress:
    """A status line for one phase: elapsed time, flow time (or iteration), best loss, gnorm."""

    def __init__(self, phase: str, verbosity: int, interval: float = 5.0) -> None:
        self.phase, self.interval = phase, interval
        self.active = verbosity >= 1
        self.start = self.last = time.perf_counter()
        self.bar = None
        if self.active:
            try:
                from tqdm import tqdm

                self.bar = tqdm(desc=phase, bar_format="{desc} {elapsed} {postfix}", file=sys.stderr)
            except ImportError:
                pass

    def update(self, t: float, loss: float, gnorm: float, force: bool = False) -> None:
        if not self.active:
            return
        now = time.perf_counter()
        if not force and now - self.last < self.interval:
            return
        self.last = now
        text = f"t = {t:.4g}, best loss = {loss:.6g}, gnorm = {gnorm:.3g}"
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=True)
        else:
            print(f"{self.phase} {now - self.start:7.1f}s  {text}", file=sys.stderr, flush=True)

    def close(self, t: float, loss: float, gnorm: float, reason: str) -> None:
        if not self.active:
            return
        self.update(t, loss, gnorm, force=True)
        if self.bar is not None:
            self.bar.close()
        print(f"{self.phase} stopped by: {reason}", file=sys.stderr, flush=True)
