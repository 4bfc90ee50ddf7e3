"""The documentation site's pages: every Python block runs as written, and the API reference
lists every public name.

Each page runs in a fresh namespace, its blocks in order, in a temporary working directory
(pages write result files). Pages of the user guide and of the methods must show code: a page
that loses all its examples fails here.
"""

from __future__ import annotations

import ast
import importlib
import re
import sys
import types
from pathlib import Path

import pytest
from pages import doctest_text, python_blocks, run_page

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(p for p in [*DOCS.rglob("*.md"), *DOCS.rglob("*.rst")]
               if not {"_build", "generated", "gallery", "_templates"} & set(p.parts))
WITH_CODE = [p for p in PAGES if p.parent.name in ("guide", "methods") and p.name != "index.md"]


def _id(page: Path) -> str:
    return str(page.relative_to(DOCS))


def test_pages_found():
    names = {_id(p) for p in PAGES}
    assert {"index.md", "coming_from_julia.md", "cluster.md", "guide/training.md",
            "methods/flat_channels.md", "api/index.rst"} <= names
    assert len(WITH_CODE) >= 12


@pytest.mark.parametrize("page", WITH_CODE, ids=_id)
def test_guide_pages_show_code(page):
    assert python_blocks(page) or ">>>" in doctest_text(page)


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p) or ">>>" in doctest_text(p)],
                         ids=_id)
def test_page_runs_as_written(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the pages write files (results, sweeps)
    run_page(page)


def _api_pages():
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        return importlib.import_module("api_pages")
    finally:
        sys.path.remove(str(DOCS / "_ext"))


def test_api_reference_lists_every_public_name():
    """Every subpackage has a page, and each page lists its module's whole ``__all__`` (less
    modules, which have pages of their own): on its own table or, for an object described
    on an earlier page, in the table that links there."""
    import mlpgradientflow as mgf

    api = _api_pages()
    pages = api.pages()
    modules = ["mlpgradientflow"]
    for name in mgf.__all__:
        obj = getattr(mgf, name)
        if isinstance(obj, types.ModuleType):
            subs = [getattr(obj, n) for n in getattr(obj, "__all__", [])]
            if subs and all(isinstance(s, types.ModuleType) for s in subs):
                modules += [s.__name__ for s in subs]  # mgf.theory: one page per module
            else:
                modules.append(obj.__name__)
    missing = sorted(set(modules) - set(pages))
    assert not missing, f"no API page for {missing}: add them to docs/_ext/api_pages.py MODULES"
    for module in modules:
        mod = importlib.import_module(module)
        names = [n for n in mod.__all__ if not n.startswith("__")
                 and not isinstance(getattr(mod, n), types.ModuleType)]
        lines = set(pages[module].splitlines())
        unlisted = [n for n in names
                    if f"   {n}" not in lines and not any(x.endswith(f".{n}") for x in lines)]
        assert not unlisted, f"the API page of {module} does not list {unlisted}"


def _conf_list(name: str) -> list[str]:
    """A list assigned in docs/conf.py, read without running conf.py."""
    for node in ast.parse((DOCS / "conf.py").read_text()).body:
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, ast.AnnAssign) else []
        if any(getattr(t, "id", None) == name for t in targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"docs/conf.py has no {name}")


def test_gallery_examples_are_ready():
    """The examples that the gallery shows have an rST title (sphinx-gallery's page title),
    and those it runs take ``--quick`` and ``--out`` (conf.py's reset_argv passes both):
    checked here in a second, not after a build of minutes."""
    examples = {p.stem: p for p in (ROOT / "examples").glob("*.py")}
    hidden, not_run = set(_conf_list("NOT_IN_GALLERY_YET")), set(_conf_list("NOT_RUN_YET"))
    assert hidden | not_run <= set(examples), "conf.py names examples that do not exist"
    for stem in sorted(set(examples) - hidden):
        doc = ast.get_docstring(ast.parse(examples[stem].read_text()), clean=True) or ""
        lines = doc.splitlines()
        assert len(lines) >= 2 and re.fullmatch(r"([=\-~^])\1*", lines[1]) and \
            len(lines[1]) >= len(lines[0]), f"examples/{stem}.py: no rST title in its docstring"
        if stem not in not_run:
            source = examples[stem].read_text()
            assert "--quick" in source and "--out" in source, f"examples/{stem}.py: no --quick/--out"
