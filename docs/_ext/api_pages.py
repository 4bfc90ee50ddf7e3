"""The API reference's pages, written from ``__all__`` at build time.

One page per public module: the package itself (its re-exported names), each subpackage,
and the modules of :mod:`mlpgradientflow.theory` (whose ``__all__`` names modules). Each page
holds the module's docstring and an autosummary table of its ``__all__``; autosummary writes
one page per name. Writing the lists from ``__all__`` keeps the reference complete: a name
added to ``__all__`` is documented by the next build.
"""

from __future__ import annotations

import importlib
import types
from pathlib import Path

#: the public modules, in the order of the reference's table of contents
MODULES = [
    "mlpgradientflow",
    "mlpgradientflow.activations",
    "mlpgradientflow.data",
    "mlpgradientflow.derivatives",
    "mlpgradientflow.training",
    "mlpgradientflow.endstate",
    "mlpgradientflow.gaussian",
    "mlpgradientflow.parallel",
    "mlpgradientflow.sweep",
    "mlpgradientflow.landscape",
    "mlpgradientflow.theory.symmetry",
    "mlpgradientflow.theory.saddles",
    "mlpgradientflow.theory.channels",
    "mlpgradientflow.theory.copy_average",
    "mlpgradientflow.recovery",
    "mlpgradientflow.io",
    "mlpgradientflow.storage",
    "mlpgradientflow.plot",
]


def public_names(module: str) -> list[str]:
    """The documented names of ``module``: its ``__all__`` without modules and dunders
    (a subpackage has its own page)."""
    mod = importlib.import_module(module)
    names = []
    for name in getattr(mod, "__all__", []):
        if name.startswith("__") or isinstance(getattr(mod, name), types.ModuleType):
            continue
        if name not in names:
            names.append(name)
    return names


def _plan() -> dict[str, tuple[list[str], list[tuple[str, str]]]]:
    """Per module: the names it describes, and ``(name, home)`` for the names it shares
    with the earlier module ``home``. A class or function exported under several names is
    described once, on the first page that lists it (the package's own names come first):
    two descriptions of one class would register its canonical name twice."""
    home: dict[int, str] = {}
    plan = {}
    for module in MODULES:
        mod = importlib.import_module(module)
        own, shared = [], []
        for name in public_names(module):
            obj = getattr(mod, name)
            if not (isinstance(obj, type) or callable(obj)):
                own.append(name)  # data: values may coincide by chance, never shared
            elif id(obj) in home:
                shared.append((name, home[id(obj)]))
            else:
                home[id(obj)] = module
                own.append(name)
        plan[module] = (own, shared)
    return plan


def pages() -> dict[str, str]:
    """The rST of every module's page, by module name."""
    return {module: _page(module, own, [n for n, _ in shared])
            for module, (own, shared) in _plan().items()}


def alias_pages() -> dict[str, str]:
    """A short page for every shared name (``mlpgradientflow.landscape.morse_index``), so that
    references to it resolve: it links to the description under the first name."""
    out = {}
    for module, (_, shared) in _plan().items():
        mod = importlib.import_module(module)
        for name, home in shared:
            obj = getattr(mod, name)
            kind = ("exception" if isinstance(obj, type) and issubclass(obj, BaseException)
                    else "class" if isinstance(obj, type) else "function")
            role = {"exception": "exc", "class": "class", "function": "func"}[kind]
            full = f"{module}.{name}"
            out[full] = "\n".join([
                full, "=" * len(full), "", f".. py:{kind}:: {full}", "",
                f"   The same object as :{role}:`{home}.{name}`, described there.", ""])
    return out


def _page(module: str, own: list[str], shared: list[str]) -> str:
    title = f"``{module}``"
    lines = [title, "=" * len(title), "", f".. automodule:: {module}", "   :no-members:", "",
             f".. currentmodule:: {module}", "", ".. autosummary::", "   :toctree: .",
             "   :nosignatures:", ""]
    lines += [f"   {name}" for name in own]
    if shared:
        lines += ["", "Also exported here (the same objects as on the pages they link to):", "",
                  ".. autosummary::", "   :nosignatures:", ""]
        lines += [f"   {name}" for name in shared]
        lines += ["", ".. toctree::", "   :hidden:", ""]
        lines += [f"   {module}.{name}" for name in shared]
    return "\n".join(lines) + "\n"


def write(folder: Path) -> None:
    """Write every module's page and the pages of shared names into ``folder``, and the
    modules' toctree (``toc.rst.inc``, included by ``api/index.rst``); files are rewritten
    only when changed, so that Sphinx rebuilds only what changed."""
    folder.mkdir(parents=True, exist_ok=True)
    toc = [".. toctree::", "   :maxdepth: 1", ""]
    keep = {"toc.rst.inc"}
    for module, (own, _) in _plan().items():
        keep |= {f"{module}.{name}.rst" for name in own}  # autosummary's pages
    for module, text in pages().items():
        _write(folder / f"{module}.rst", text)
        toc.append(f"   generated/{module}")
        keep.add(f"{module}.rst")
    for full, text in alias_pages().items():
        _write(folder / f"{full}.rst", text)
        keep.add(f"{full}.rst")
    _write(folder / "toc.rst.inc", "\n".join(toc) + "\n")
    for stale in folder.glob("*.rst"):  # a name no longer public: its page would be an orphan
        if stale.name not in keep:
            stale.unlink()


def _write(path: Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
