"""The README's Python examples run as written (in one namespace, in order)."""

from __future__ import annotations

from pathlib import Path

from pages import python_blocks

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_examples_run(tmp_path, monkeypatch):
    blocks = python_blocks(README)
    assert len(blocks) >= 3
    monkeypatch.chdir(tmp_path)  # the examples write files
    namespace: dict = {}
    for code in blocks:
        exec(compile(code, str(README), "exec"), namespace)
    assert namespace["res"].gnorm < 1e-12
    # the values the landscape-and-theory section states in its comments
    ns = namespace
    assert len(ns["subspaces"]) == 1560
    assert abs(ns["wide"].gradient(ns["pw"])).max() < 1e-12
    assert abs(ns["big"](ns["pb"]) - ns["toy"](ns["fit"].x)).max() < 1e-12
    assert ns["sad"]["loss"] > ns["fit"].loss and ns["sad"]["morse_index"]["n_negative"] >= 1
    assert abs(ns["copy_average"].loss_erf(2) - 0.0232216) < 1e-7
    assert ns["best"].groups == [[0], [1], [2], [3, 4, 5, 6, 7]]
    limit = ns["channels"].limit_loss(ns["toy"], ns["further"], [(0, 1)])
    gaps = [abs(ns["toy"].loss(q) - limit) for q in (ns["on_channel"], ns["further"])]
    assert 3 < gaps[0] / gaps[1] < 5  # the loss approaches its limit like eps^2
    assert ns["found"].widths == (2,) and ns["score"]["success"]
    assert max(ns["score"]["cosine_distances"]) < 1e-3
