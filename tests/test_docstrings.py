"""Every public name has a complete numpydoc docstring (issue 19 item 1).

The public names are the ``__all__`` of :mod:`mlpgradientflow`, of each subpackage it lists
or imports lazily (``mgf.recovery``, ``mgf.plot``, ...), and, recursively, of each module
those ``__all__`` name (``mgf.theory.symmetry``, ...). For each public function or class
(plain constants are exempt) the docstring must have

- an ``Examples`` section with at least one doctest line (``>>>``); the doctests themselves
  run with ``pytest --doctest-modules`` on ``src``;
- for functions: a ``Parameters`` section when the signature has parameters, and a
  ``Returns`` (or ``Yields``) section unless the return annotation is ``None``.
- for functions and for classes other than result types (below): the name itself in the
  example's code, so that the example exercises what it documents.

Exemption rule (the only one): a dataclass, ``NamedTuple``, ``Enum``, exception class or
subclass of a built-in container (``list``, ``dict``) -- a *result type*, which users
receive rather than build -- may go without an example if its
docstring says where it comes from: "Returned by :func:`...`", "Raised by :func:`...`"
(also "made by", "produced by", "built by", "yielded by", "stored by", "filled by", followed
by a Sphinx cross-reference).
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import inspect
import re
import types

import pytest

import mlpgradientflow as mgf

_HEADER = re.compile(r"^([A-Z][A-Za-z ]+)\n-{3,}[ \t]*$", re.M)
_ORIGIN = re.compile(r"\b(returned|raised|made|produced|built|yielded|stored|filled)\s+by\s+"
                     r":(func|meth|class|attr|mod):`", re.I)


def _sections(doc: str) -> dict[str, str]:
    """numpydoc sections of ``doc``: header -> body (up to the next header)."""
    heads = list(_HEADER.finditer(doc))
    return {m.group(1): doc[m.end():(heads[i + 1].start() if i + 1 < len(heads) else None)]
            for i, m in enumerate(heads)}


def _public_modules() -> list[types.ModuleType]:
    """The package, its subpackages (listed or lazy) and every module an ``__all__`` names."""
    todo = [mgf] + [importlib.import_module(f"mlpgradientflow.{n}") for n in mgf._LAZY]
    seen: dict[str, types.ModuleType] = {}
    while todo:
        mod = todo.pop()
        if mod.__name__ in seen:
            continue
        seen[mod.__name__] = mod
        todo += [obj for n in getattr(mod, "__all__", ())
                 if isinstance(obj := getattr(mod, n), types.ModuleType)
                 and obj.__name__.startswith("mlpgradientflow")]
    return list(seen.values())


def _public_objects() -> dict[str, object]:
    """Public functions and classes, one entry per object under its shortest public name."""
    found: dict[int, tuple[str, object]] = {}
    for mod in _public_modules():
        for n in getattr(mod, "__all__", ()):
            obj = getattr(mod, n)
            if not (inspect.isclass(obj) or inspect.isroutine(obj)):
                continue                                 # constants, modules
            name = f"{mod.__name__}.{n}"
            if id(obj) not in found or len(name) < len(found[id(obj)][0]):
                found[id(obj)] = (name, obj)
    return dict(sorted(found.values()))


PUBLIC = _public_objects()


def _is_result_type(obj) -> bool:
    return inspect.isclass(obj) and (
        dataclasses.is_dataclass(obj) or issubclass(obj, enum.Enum)
        or (issubclass(obj, tuple) and hasattr(obj, "_fields"))
        or issubclass(obj, BaseException | list | dict))


def _own_doc(obj) -> str:
    doc = obj.__doc__ or ""
    if inspect.isclass(obj) and any(doc == (b.__doc__ or "") for b in obj.__mro__[1:]):
        return ""                                        # inherited, says nothing of obj
    return inspect.cleandoc(doc)


def _problems(obj) -> list[str]:
    doc = _own_doc(obj)
    if not doc:
        return ["no docstring"]
    sec = _sections(doc)
    out = []
    has_example = any(line.lstrip().startswith(">>>")
                      for line in sec.get("Examples", "").splitlines())
    if not has_example and not (_is_result_type(obj) and _ORIGIN.search(doc)):
        out.append("no Examples section with a doctest"
                   + (" (or 'Returned by :func:`...`')" if _is_result_type(obj) else ""))
    code = "\n".join(line for line in sec.get("Examples", "").splitlines()
                     if line.lstrip().startswith((">>>", "...")))
    if has_example and not _is_result_type(obj) and not re.search(rf"\b{obj.__name__}\b", code):
        out.append(f"the example does not use {obj.__name__}")
    if inspect.isroutine(obj):
        sig = inspect.signature(obj)
        if sig.parameters and "Parameters" not in sec:
            out.append("no Parameters section")
        returns_none = sig.return_annotation in (None, "None")
        if not returns_none and not ({"Returns", "Yields"} & set(sec)):
            out.append("no Returns section")
    return out


def test_public_names_found():
    # the walk must reach the lazy subpackages and the theory modules, or it checks nothing
    for name in ["mlpgradientflow.train", "mlpgradientflow.recovery.find_clusters",
                 "mlpgradientflow.theory.symmetry.n_critical_subspaces",
                 "mlpgradientflow.plot.plot_spectra", "mlpgradientflow.load_sweep"]:
        assert name in PUBLIC, name
    assert len(PUBLIC) > 150


def test_sections_parser():
    doc = "Sum.\n\nParameters\n----------\nx : int\n\nExamples\n--------\n>>> 1 + 1\n2\n"
    assert set(_sections(doc)) == {"Parameters", "Examples"}
    assert ">>> 1 + 1" in _sections(doc)["Examples"]

    def f(x):
        """Sum.

        Examples
        --------
        Described only, no doctest line.
        """

    assert _problems(f) == ["no Examples section with a doctest", "no Parameters section",
                            "no Returns section"]

    def g(x):
        """Twice.

        Parameters
        ----------
        x : float

        Returns
        -------
        float

        Examples
        --------
        >>> 2 * 3
        6
        """

    assert _problems(g) == ["the example does not use g"]


@pytest.mark.parametrize("name", list(PUBLIC))
def test_docstring_complete(name):
    problems = _problems(PUBLIC[name])
    assert not problems, f"{name}: {'; '.join(problems)}"
