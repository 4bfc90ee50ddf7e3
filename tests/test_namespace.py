"""The namespace works as written: every subpackage is reachable as ``mgf.<name>``, every
``__all__`` entry resolves, and every dotted name the README and the docs mention exists."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

import mlpgradientflow as mgf

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")),
         *sorted((ROOT / "docs").rglob("*.rst"))]
# not what `make docs` generates (API stubs, the gallery's pages built from examples/)
PAGES = [p for p in PAGES if not {"_build", "generated", "gallery"} & set(p.parts)
         and p.name != "sg_execution_times.rst"]
SUBPACKAGES = ["activations", "data", "derivatives", "endstate", "gaussian", "io", "landscape",
               "parallel", "plot", "recovery", "storage", "sweep", "theory", "training"]
# `mgf.a.b`, `mlpgradientflow.a.b` (not followed by more identifier characters or "(")
DOTTED = re.compile(r"\b(?:mgf|mlpgradientflow)((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")


def _resolve(path: str):
    obj = mgf
    for part in path.strip(".").split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            # a module not imported by its parent, e.g. mlpgradientflow.sweep.config
            obj = importlib.import_module(f"{obj.__name__}.{part}")
    return obj


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_subpackage_reachable_after_import(name):
    # in a fresh interpreter: nothing else has imported the subpackage first
    code = f"import mlpgradientflow as mgf; print(mgf.{name}.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"mlpgradientflow.{name}"
    assert name in dir(mgf)


def test_import_does_not_load_heavy_subpackages():
    code = ("import sys, mlpgradientflow; print(sorted(m for m in ('matplotlib', "
            "'mlpgradientflow.recovery', 'mlpgradientflow.sweep', 'mlpgradientflow.plot', "
            "'scipy.stats') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("module", ["mlpgradientflow", *[f"mlpgradientflow.{n}" for n in SUBPACKAGES]])
def test_all_resolves(module):
    mod = importlib.import_module(module)
    missing = [n for n in getattr(mod, "__all__", []) if not hasattr(mod, n)]
    assert not missing, f"{module}.__all__ names what it lacks: {missing}"


def test_top_level_all_is_complete():
    # every public object that is not a module (modules bind themselves on import)
    public = {n for n, v in vars(mgf).items() if not n.startswith("_")
              and n != "TYPE_CHECKING" and not isinstance(v, types.ModuleType)}
    assert public <= set(mgf.__all__)
    assert set(SUBPACKAGES) <= set(mgf.__all__)
    assert "train_many" in mgf.__all__


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_names_in_pages_resolve(page):
    names = sorted(set(DOTTED.findall(page.read_text())))
    assert names or page.name != "README.md"
    bad = []
    for name in names:
        try:
            _resolve(name)
        except (AttributeError, ImportError):
            bad.append(name)
    assert not bad, f"{page.name} names what does not exist: {bad}"
