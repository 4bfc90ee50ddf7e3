"""Code blocks of the README and the documentation pages, to run as written.

What runs: in Markdown (MyST), fenced blocks marked ``python`` (and ``{code-block} python``);
in reStructuredText, ``.. code-block:: python`` (or ``.. code:: python``) directives; in
both, doctest examples (``>>>`` lines in ``pycon`` fences or rST literal text). Fences marked
``py``, ``bash``, ``toml`` ... are shown, not run (e.g. code that needs a batch scheduler).
"""

from __future__ import annotations

import doctest
import re
import textwrap
from pathlib import Path

_MD_FENCE = re.compile(r"^```(?:python|\{code-block\}[ \t]+python)[ \t]*\n(.*?)^```", re.M | re.S)
_MD_PYCON = re.compile(r"^```pycon[ \t]*\n(.*?)^```", re.M | re.S)
_RST_BLOCK = re.compile(r"^([ \t]*)\.\. code(?:-block)?::[ \t]+python[ \t]*\n"
                        r"(?:\1[ \t]+:[^\n]*\n)*"        # directive options
                        r"((?:[ \t]*\n|\1[ \t]+[^\n]*\n)+)", re.M)


def python_blocks(page: Path) -> list[str]:
    """The Python blocks of ``page`` that run as scripts, in order."""
    text = page.read_text()
    if page.suffix == ".rst":
        return [textwrap.dedent(m.group(2)) for m in _RST_BLOCK.finditer(text)]
    return _MD_FENCE.findall(text)


def doctest_text(page: Path) -> str:
    """The text whose ``>>>`` examples are doctests (empty when there are none)."""
    text = page.read_text()
    if page.suffix == ".rst":
        return _RST_BLOCK.sub("", text)  # script blocks run as scripts, not as doctests
    return "\n".join(_MD_PYCON.findall(text))


def run_page(page: Path, namespace: dict | None = None) -> dict:
    """Run the page's blocks in order in one namespace (``__name__ == "__main__"``, as a
    script), then its doctests; the caller chooses the working directory."""
    namespace = {"__name__": "__main__"} if namespace is None else namespace
    for i, code in enumerate(python_blocks(page)):
        exec(compile(code, f"{page} (block {i + 1})", "exec"), namespace)
    text = doctest_text(page)
    if ">>>" in text:
        test = doctest.DocTestParser().get_doctest(text, dict(namespace), page.name, str(page), 0)
        flags = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
        runner = doctest.DocTestRunner(optionflags=flags)
        runner.run(test)
        failed, tried = runner.summarize(verbose=False)
        assert failed == 0, f"{page}: {failed} of {tried} doctest examples failed"
    return namespace
