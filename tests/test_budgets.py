"""Budgets are counts: nothing in the suite, the doctests, the examples or the README ends a
run on wall-clock time, and the same call gives the same bits on an idle and a loaded
machine. The wall-clock cap stays available and marks its result."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import mlpgradientflow as mgf

ROOT = Path(__file__).resolve().parents[1]
# a wall-clock option given a value (other than "no cap"), in Python or TOML, or on the CLI
CAP = re.compile(r"maxtime_(ode|optim)\s*=\s*(?!math\.inf|inf\b|None)|--maxtime-(ode|optim)\b")
#: the only places allowed to set a cap: tests of the cap itself
ALLOWED = {"tests/test_budgets.py", "tests/test_options.py"}  # the cap itself; option handling


def _lines():
    """(file, line number, line) of the tests, examples, README and the doctests of src."""
    files = [*sorted((ROOT / "tests").rglob("*.py")), *sorted((ROOT / "examples").rglob("*")),
             ROOT / "README.md"]
    for path in files:
        if path.is_file() and path.suffix in (".py", ".toml", ".md"):
            for i, line in enumerate(path.read_text().splitlines(), 1):
                yield path, i, line
    for path in sorted((ROOT / "src").rglob("*.py")):
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if line.lstrip().startswith((">>>", "...")):
                yield path, i, line


def test_no_wall_clock_budget_outside_the_tests_of_the_cap():
    offenders = []
    for path, i, line in _lines():
        rel = path.relative_to(ROOT).as_posix()
        if rel not in ALLOWED and CAP.search(line):
            offenders.append(f"{rel}:{i}: {line.strip()}")
    assert not offenders, "wall-clock budgets (use iteration counts):\n" + "\n".join(offenders)


def test_the_defaults_are_counts():
    stop = mgf.TrainOptions().stop
    assert stop.maxtime_ode == stop.maxtime_optim == float("inf")
    assert stop.maxiterations_ode > 0 and stop.maxiterations_optim > 0


@pytest.fixture(scope="module")
def problem():
    X = np.random.default_rng(0).standard_normal((2000, 2))
    teacher = mgf.TeacherNet([(4, "softplus", True), (1, "identity", True)], din=2, rng=1)
    net = mgf.Net([(3, "softplus", True), (1, "identity", True)], input=X, target=teacher(X))
    return net, net.random_params(4)


@pytest.mark.wall_cap
def test_a_wall_cap_that_fires_marks_the_result(problem):
    net, p0 = problem
    r = mgf.train(net, p0, alg=mgf.Descent(1e-5), maxtime_ode=0.2, maxiterations_optim=0,
                  verbosity=0)
    assert r.ode_stopped_by == "maxtime > 0.2s" and r.ode.reason.name == "MAXTIME"
    assert not r.reproducible and 0.2 < r.ode_time_run < 5
    # a cap that does not fire changes nothing
    capped = mgf.train(net, p0, maxiterations_ode=5, maxtime_ode=1e6, maxiterations_optim=0,
                       verbosity=0)
    assert capped.reproducible and capped.ode_stopped_by == "maxiterations ≥ 5"


def _busy(n: int):
    """n processes spinning on the CPU (the machine under load)."""
    code = "import time\nend = time.time() + 120\nwhile time.time() < end: pass\n"
    return [subprocess.Popen([sys.executable, "-c", code]) for _ in range(n)]


def test_same_bits_on_an_idle_and_a_loaded_machine(problem):
    """Default options, twice: once alone, once beside two busy loops (on a 2-core machine:
    the run gets a fraction of a core). Parameters, loss and end state are identical."""
    net, p0 = problem
    idle = mgf.train(net, p0, verbosity=0)
    load = _busy(2)
    try:
        loaded = mgf.train(net, p0, verbosity=0)
    finally:
        for p in load:
            p.kill()
            p.wait()
    assert idle.x.tobytes() == loaded.x.tobytes() and idle.loss == loaded.loss
    assert idle.end_state.kind == loaded.end_state.kind and idle.reproducible
    assert idle.ode_stopped_by == loaded.ode_stopped_by
    assert idle.optim_stopped_by == loaded.optim_stopped_by
    assert (idle.n_gradients, idle.n_hessians) == (loaded.n_gradients, loaded.n_hessians)
