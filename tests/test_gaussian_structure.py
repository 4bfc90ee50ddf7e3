"""The structure of mlpgradientflow.gaussian: an import tree on top of its interface module,
without cycles and without late (function-body or bottom-of-file) imports; every public
name importable."""

from __future__ import annotations

import ast
import importlib
import pathlib

import pytest

import mlpgradientflow.gaussian as gaussian

PACKAGE = pathlib.Path(gaussian.__file__).parent
MODULES = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")


def _tree(name: str) -> ast.Module:
    return ast.parse((PACKAGE / f"{name}.py").read_text())


def _imports_within(tree: ast.Module) -> set[str]:
    """The sibling modules a module imports (``from .x import ...``, ``from . import x``)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            out |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
    return out


@pytest.mark.parametrize("name", MODULES)
def test_module_imports_only_at_its_top(name):
    tree = _tree(name)
    body = tree.body
    first_code = next((i for i, node in enumerate(body) if not isinstance(
        node, ast.Import | ast.ImportFrom | ast.Expr | ast.Assign)), len(body))
    late = [node.lineno for node in body[first_code:] if isinstance(node, ast.Import | ast.ImportFrom)]
    nested = [sub.lineno for node in ast.walk(tree)
              if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
              for sub in ast.walk(node) if isinstance(sub, ast.Import | ast.ImportFrom)]
    assert not late, f"{name}: imports after code at lines {late}"
    assert not nested, f"{name}: imports inside functions or classes at lines {nested}"
    importlib.import_module(f"mlpgradientflow.gaussian.{name}")


def test_no_import_cycles_and_interface_at_the_root():
    graph = {name: _imports_within(_tree(name)) for name in MODULES}
    assert graph.get("interface") == set()
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"import cycle: {' -> '.join((*path, name))}"
        if name in done:
            return
        for dep in graph.get(name, ()):
            visit(dep, (*path, name))
        done.add(name)

    for name in MODULES:
        visit(name, ())


def test_public_names_importable():
    for name in gaussian.__all__:
        assert getattr(gaussian, name) is not None, name
    assert gaussian.ONE_POINT_ORDER == ("r", "b")
    assert gaussian.PAIR_ORDER == ("r1", "b1", "r2", "b2", "u")
    d = gaussian.one_point("relu", 1.0, 0.0)
    assert isinstance(d, gaussian.Derivs)
