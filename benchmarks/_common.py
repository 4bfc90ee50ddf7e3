"""Plumbing shared by the benchmarks: timing, thread control and worker subprocesses.

Timing (:func:`time_call`)
    Warm-up (a second warm-up call for calls under 0.2 s, whose first call may include
    lazy set-up), then samples of ``number`` back-to-back calls (``number`` chosen so that
    a sample lasts at least 2 ms) until the samples add up to ``budget`` seconds and there
    are at least three; slow calls stop after 2 s of samples (at least one). A call whose
    warm-up exceeds ``ONCE_OVER`` (20 s) is timed by that single run. The reported time is
    the best (minimum) sample per call; the median is kept too, and the CPU utilisation
    (process CPU time / wall time over the samples) shows how many cores the call used.

Workers (:func:`run_worker`, :class:`Recorder`)
    Each (framework, thread count) runs in its own process, so thread settings that must
    precede an import (XLA_FLAGS) are honoured. A worker appends one JSON line when it
    starts a measurement and one with its result. If the process dies (a native
    allocation failure, the kernel's OOM killer), the parent records the unfinished
    measurement as "OOM" or "crashed" and starts the worker again; the worker skips
    what is already recorded.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ONCE_OVER = 20.0  # s: a call whose first run takes longer is timed by that run alone
MIN_SAMPLE = 2e-3  # s: shortest sample (back-to-back calls are grouped up to this)
SLOW_TOTAL = 2.0  # s: stop sampling slow calls after this much
MEMORY_CAP = 16 << 30  # bytes of address space for peer workers (OOM instead of swapping)
MAX_RESTARTS = 50

OOM_MARKERS = (
    "RESOURCE_EXHAUSTED",
    "can't allocate memory",
    "Cannot allocate memory",
    "bad_alloc",
    "MemoryError",
    "out of memory",
    "Out of memory",
)


@dataclass
class Timing:
    best: float  # s per call, minimum over samples
    median: float  # s per call
    samples: int
    number: int  # calls per sample
    cpu_util: float  # process CPU time / wall time while sampling

    def as_dict(self) -> dict:
        return asdict(self)


def time_call(fn, budget: float = 0.5):
    """Time ``fn()`` as described in the module docstring; returns (Timing, last result)."""
    c0 = time.process_time()
    first, out = _timed(fn)
    if first > ONCE_OVER:
        return Timing(first, first, 1, 1, (time.process_time() - c0) / first), out
    if first < 0.2:  # a second warm-up: the first call may include lazy set-up
        first, out = _timed(fn)
    number = max(1, math.ceil(MIN_SAMPLE / max(first, 1e-9)))
    samples, wall = [], 0.0
    c0 = time.process_time()
    while not ((len(samples) >= 3 and wall >= budget) or wall >= SLOW_TOTAL):
        t0 = time.perf_counter()
        for _ in range(number):
            out = fn()
        dt = time.perf_counter() - t0
        samples.append(dt / number)
        wall += dt
    util = (time.process_time() - c0) / wall
    return Timing(min(samples), statistics.median(samples), len(samples), number, util), out


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def is_oom(exc: BaseException) -> bool:
    """Whether an exception reports an allocation failure (NumPy, PyTorch, XLA)."""
    return isinstance(exc, MemoryError) or any(m in str(exc) for m in OOM_MARKERS)


def cap_memory(nbytes: int = MEMORY_CAP) -> None:
    """Limit this process's address space, so oversized allocations fail fast."""
    resource.setrlimit(resource.RLIMIT_AS, (nbytes, nbytes))


def limit_threads(n: int) -> list[dict]:
    """Limit NumPy/SciPy BLAS (threadpoolctl) to ``n`` threads; with ``n == 1`` also pin
    the process to one CPU, so that no library can use a second core.

    Returns the BLAS libraries threadpoolctl sees (architecture, version, threads).
    """
    from threadpoolctl import threadpool_info, threadpool_limits

    if n == 1:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    threadpool_limits(limits=n)
    return [
        {
            k: lib.get(k)
            for k in ("filepath", "internal_api", "architecture", "version", "num_threads")
        }
        for lib in threadpool_info()
    ]


def current_rss() -> int:
    """Resident set size of this process now, in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("VmRSS not found in /proc/self/status")


def peak_rss() -> int:
    """Peak resident set size of this process so far, in bytes (Linux: ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class Recorder:
    """Append-only JSON-lines log of one worker: ``start`` and ``result`` events by key."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.results = {r["key"]: r for r in read_jsonl(self.path) if r["event"] == "result"}

    def start(self, key: str, meta: dict) -> None:
        """Log that measurement ``key`` begins; ``meta`` is copied into a failure record."""
        self._append({"event": "start", "key": key, **meta})

    def result(self, key: str, record: dict) -> dict:
        record = {"event": "result", "key": key, **record}
        self._append(record)
        self.results[key] = record
        return record

    def _append(self, obj: dict) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps(obj) + "\n")
            f.flush()
            os.fsync(f.fileno())


def read_jsonl(path: Path) -> list[dict]:
    path = Path(path)
    if not path.exists():
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def run_worker(script: Path, args: list[str], jsonl: Path, env: dict) -> list[dict]:
    """Run ``python script *args`` (a worker writing ``jsonl``) to completion.

    A worker that dies mid-measurement is restarted after its unfinished measurement is
    recorded as "OOM" (allocation failure in its stderr, or killed by SIGKILL) or
    "crashed". Returns the worker's result records.
    """
    err_path = jsonl.with_suffix(".stderr")
    for _ in range(MAX_RESTARTS):
        with open(err_path, "w") as err:
            proc = subprocess.run([sys.executable, str(script), *args], env=env, stderr=err)
        events = read_jsonl(jsonl)
        results = {e["key"] for e in events if e["event"] == "result"}
        if proc.returncode == 0:
            return [e for e in events if e["event"] == "result"]
        started = {e["key"]: e for e in events if e["event"] == "start"}
        unfinished = [e for k, e in started.items() if k not in results]
        tail = err_path.read_text()[-2000:]
        if not unfinished:
            raise RuntimeError(
                f"worker {args} exited with status {proc.returncode} outside a measurement:\n{tail}"
            )
        oom = proc.returncode == -9 or any(m in tail for m in OOM_MARKERS)
        detail = (tail.strip().splitlines() or [""])[-1][:300]
        with open(jsonl, "a") as f:
            for start in unfinished:
                rec = {
                    **start,
                    "event": "result",
                    "status": "OOM" if oom else "crashed",
                    "detail": f"process died (status {proc.returncode}): {detail}",
                }
                f.write(json.dumps(rec) + "\n")
        print(f"  worker {' '.join(args)} died ({proc.returncode}); restarting", flush=True)
    raise RuntimeError(f"worker {args} kept dying")


def machine_info(packages) -> dict:
    """CPU, memory, platform, versions of ``packages``, git state and load, for a report."""
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    versions = {}
    for pkg in packages:
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            versions[pkg] = "not installed"
    git = subprocess.run(
        ["git", "-C", str(Path(__file__).parent), "describe", "--always", "--dirty"],
        capture_output=True, text=True,
    ).stdout.strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": mem_kib / 2**20,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
        "git": git,
        "loadavg_start": os.getloadavg(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
