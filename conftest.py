"""Suite-wide guard: no test or doctest may end a training run on a wall-clock cap.

Budgets in tests are counts, so results do not depend on machine load. A run that a
``maxtime_*`` cap ends is marked ``reproducible=False``; outside tests marked
``@pytest.mark.wall_cap`` (tests of the cap itself) such a run fails the test.
"""

from __future__ import annotations

import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "wall_cap: a test of the wall-clock cap itself")


@pytest.fixture(autouse=True)
def _no_wall_clock_budgets(request, monkeypatch):
    if request.node.get_closest_marker("wall_cap") is not None:
        yield
        return
    from mlpgradientflow.training import api

    original = api._train

    def guarded(net, p0, opts, callback=None):
        res = original(net, p0, opts, callback)
        if not res.reproducible:
            pytest.fail(f"a wall-clock cap ended a training run ({res.ode_stopped_by!r}, "
                        f"{res.optim_stopped_by!r}): use count budgets, or mark the test "
                        "@pytest.mark.wall_cap if it tests the cap", pytrace=False)
        return res

    monkeypatch.setattr(api, "_train", guarded)
    yield
