"""sphinx-gallery hooks for the examples: their command line and their figures.

Every example takes ``--quick`` (a small, count-budgeted version) and ``--out DIR`` and
saves its figures as PNG files into DIR; it does not leave matplotlib figures open for
sphinx-gallery's own scraper. ``reset_argv`` gives each example its own folder under the
build directory and ``scrape_pngs`` moves the PNGs that appeared there into the gallery.
Both are named by string in ``conf.py`` so that Sphinx can pickle the configuration.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

#: where the examples write (set by conf.py through the environment: the build folder)
OUT_ENV = "MGF_GALLERY_OUT"


def out_dir(src_file: str) -> Path:
    """The ``--out`` folder of the example ``src_file``."""
    root = Path(os.environ.get(OUT_ENV, Path(__file__).resolve().parents[1] / "_build" / "gallery-out"))
    return root / Path(src_file).stem


def reset_argv(gallery_conf, script_vars) -> list[str]:
    """``sys.argv[1:]`` of an example: the quick version, writing into a fresh folder."""
    out = out_dir(script_vars["src_file"])
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    return ["--quick", "--out", str(out)]


def scrape_pngs(block, block_vars, gallery_conf) -> str:
    """The PNGs the example wrote into its ``--out`` folder since the last code block, as
    sphinx-gallery images (rST)."""
    from sphinx_gallery.scrapers import figure_rst

    out = out_dir(block_vars["src_file"])
    seen = block_vars.setdefault("mgf_seen_pngs", set())
    new = sorted(p for p in out.rglob("*.png") if p not in seen) if out.is_dir() else []
    names = []
    for png, target in zip(new, block_vars["image_path_iterator"]):
        shutil.copyfile(png, target)
        seen.add(png)
        names.append(target)
    return figure_rst(names, gallery_conf["src_dir"])
