"""Sphinx configuration of the mlpgradientflow documentation (``make docs``).

The API reference is generated from the ``__all__`` of the package and of each
subpackage (:mod:`api_pages`), so that a new public name appears without editing a page;
the gallery runs every example of ``examples/`` in its quick version (``--quick``).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(HERE / "_ext"))

import api_pages  # noqa: E402
import gallery_hooks  # noqa: E402

import mlpgradientflow  # noqa: E402

project = "mlpgradientflow"
author = "mlpgradientflow developers"
copyright = "mlpgradientflow developers"
release = mlpgradientflow.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "_templates"]
templates_path = ["_templates"]

# ---------------------------------------------------------------- API reference
api_pages.write(HERE / "api" / "generated")
autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"  # the numpydoc Parameters sections say the types
autodoc_member_order = "bysource"
# members: a class page describes its methods and properties (_templates/autosummary/class.rst
# holds no second table of them)
autodoc_default_options = {"members": True, "show-inheritance": True}
# numpydoc: sections rendered, members listed by autodoc (not by numpydoc's own tables,
# which would add a second, unresolvable autosummary per class)
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = False
numpydoc_xref_param_type = False
# numpydoc's style validation is a review tool (see the developer's guide), not a build
# gate: a missing "See Also" is no reason to fail the site
numpydoc_validation_checks: set[str] = set()
# the same objects are reachable at several names (mgf.train, mgf.training.train): a
# short reference resolves to one of them, which is what the reader wants
suppress_warnings = ["ref.python"]

# ---------------------------------------------------------------- MyST (Markdown pages)
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# ---------------------------------------------------------------- gallery
# The examples write their figures (PNG) into --out; gallery_hooks gives each one a folder
# in the build tree and collects what it wrote.
os.environ.setdefault(gallery_hooks.OUT_ENV, str(HERE / "_build" / "gallery-out"))

# Examples shown with their code but not run (none at present): every example takes
# --quick and --out and saves its figures as PNG into --out (tests/test_examples.py).
NOT_RUN_YET: list[str] = []
# Examples left out of the gallery (none at present); an example's docstring must start
# with an rST title (a line underlined with ===), or Sphinx cannot link its page.
NOT_IN_GALLERY_YET: list[str] = []


def _any(names: list[str]) -> str:
    """A regex alternative of ``names`` (one that never matches when there are none)."""
    return "|".join(re.escape(n) for n in names) or "(?!)"


sphinx_gallery_conf = {
    "examples_dirs": ["../examples"],
    "gallery_dirs": ["gallery"],
    # run every example (.py) except those listed above; sweep.toml and other files are
    # not examples (only .py files are read)
    # (sphinx-gallery matches the first against the path, the second against the file name)
    "filename_pattern": r"(^|/)(?!(" + _any(NOT_RUN_YET) + r")\.py$)[^/]+\.py$",
    "ignore_pattern": r"(^|/)(_.*|(" + _any(NOT_IN_GALLERY_YET) + r")\.py)$",
    "reset_argv": "gallery_hooks.reset_argv",
    "image_scrapers": ("gallery_hooks.scrape_pngs",),
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    "download_all_examples": False,
    "remove_config_comments": True,
    "min_reported_time": 1,
    "show_memory": False,
    "show_signature": False,
    "within_subsection_order": "FileNameSortKey",
}

# ---------------------------------------------------------------- HTML
html_theme = "pydata_sphinx_theme"
html_title = f"mlpgradientflow {release}"
html_theme_options = {
    "navigation_depth": 2,
    "show_toc_level": 2,
}
html_static_path: list[str] = []
html_show_sourcelink = False
