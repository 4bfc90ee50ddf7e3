"""The examples (the docs' gallery): one interface, and their ``--quick`` runs print honest,
checkable headline numbers.

Every example has a sphinx-gallery docstring (an RST title underlined with ``=``, then a
paragraph), ``main(argv=None)`` with ``--quick`` and ``--out``, and a ``__main__`` guard.
Each quick run is executed in-process; its output must label end states, print Morse
counts only beside ``minimum``/``saddle``, write its PNG into ``--out``, and reproduce the
numbers the example states (published values, closed forms, Wilson intervals).
"""

from __future__ import annotations

import ast
import importlib.util
import math
import re
from pathlib import Path

import pytest
from scipy.stats import norm

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FILES = sorted(p for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))
NAMES = [p.stem for p in FILES]
#: a Morse triple (negative/zero/positive eigenvalue counts) as EndState.describe prints it
MORSE = re.compile(r"(\S+) \((\d+)/(\d+)/(\d+)\)")


def test_every_paper_has_an_example():
    expected = {"augmentation", "channels_statistics", "copy_average", "flat_channels",
                "mlpgradientflow_paper", "permutation_saddle", "recover_teachers",
                "symmetry_counts"}
    assert expected <= set(NAMES)


@pytest.mark.parametrize("path", FILES, ids=NAMES)
def test_interface(path):
    tree = ast.parse(path.read_text())
    doc = ast.get_docstring(tree, clean=False).strip("\n").splitlines()
    assert doc[0].strip() and set(doc[1].strip()) == {"="}, f"{path.name}: no RST title"
    assert len(doc[1].strip()) >= len(doc[0].strip()), f"{path.name}: short underline"
    assert doc[2].strip() == "" and doc[3].strip(), f"{path.name}: no paragraph after title"
    mains = [f for f in tree.body if isinstance(f, ast.FunctionDef) and f.name == "main"]
    assert mains, f"{path.name}: no main()"
    args = mains[0].args
    assert [a.arg for a in args.args] == ["argv"] and ast.literal_eval(args.defaults[0]) is None
    src = path.read_text()
    assert '"--quick"' in src and '"--out"' in src and "parse_args(argv)" in src
    guard = tree.body[-1]
    assert isinstance(guard, ast.If) and "__main__" in ast.unparse(guard.test)
    assert ast.unparse(guard.body[0]).strip() == "main()"


def run_quick(name, tmp_path, capsys):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(["--quick", "--out", str(tmp_path)])
    text = capsys.readouterr().out
    assert list(tmp_path.glob("*.png")), f"{name}: no PNG in --out"
    for m in MORSE.finditer(text):  # Morse counts only at critical points
        assert m.group(1) in ("minimum", "saddle"), f"{name}: Morse counts beside {m.group(0)!r}"
    return text


def wilson(k, n):
    """The 95 % Wilson score interval, closed form (independent of scipy's binomtest)."""
    z = norm.ppf(0.975)
    c, h = (k + z * z / 2) / (n + z * z), z * math.sqrt(k * (n - k) / n + z * z / 4) / (n + z * z)
    return c - h, c + h


def test_channels_statistics(tmp_path, capsys):
    text = run_quick("channels_statistics", tmp_path, capsys)
    fractions = re.findall(r"(\d+)/(\d+)\s+(\d+)% \[(\d+)%, (\d+)%\]", text)
    assert len(fractions) >= 20
    for k, n, pct, lo, hi in map(lambda t: tuple(map(int, t)), fractions):
        assert 0 <= k <= n and pct == round(100 * k / n)
        wlo, whi = wilson(k, n)
        assert abs(lo - 100 * wlo) <= 0.5 + 1e-9 and abs(hi - 100 * whi) <= 0.5 + 1e-9
        assert lo <= pct <= hi
    rows = [ln for ln in text.splitlines() if re.match(r"(False|True)\s+\d\s", ln)]
    for ln in rows:  # the end-state counts of a row add up to its runs
        n = int(re.search(r"/(\d+)", ln).group(1))
        tail = ln.split("]")[-1]
        assert sum(int(c) for c in re.findall(r"(\d+) (?:minimum|saddle|channel|not conv)", tail)) == n
    assert "paper: plateau saddles 10-30 %" in text and "paper: the channel frequency grows" in text
    assert "duplicates by package end state" in text
    no_bias = [ln for ln in rows if ln.startswith("False") and " channel" in ln]
    assert no_bias, "the reduced no-bias runs end in channels too"


def test_copy_average(tmp_path, capsys):
    text = run_quick("copy_average", tmp_path, capsys)
    rows = {tuple(map(int, ln.split()[:2])): ln for ln in text.splitlines()
            if re.match(r"\s*\d+\s+\d+\s+\d", ln)}
    assert set(rows) == {(2, 3), (8, 3)}
    assert "channel (" in rows[8, 3] and not MORSE.search(rows[8, 3])  # the case
    loss, ca = map(float, rows[2, 3].split()[2:4])
    assert "minimum (" in rows[2, 3] and loss == pytest.approx(ca, rel=1e-6)  # CA point
    assert "end states: 1 channel, 1 minimum" in text


def test_flat_channels(tmp_path, capsys):
    text = run_quick("flat_channels", tmp_path, capsys)
    gaps = [float(x) for x in re.findall(r"\|dl\| = ([0-9.e+-]+)\)", text)]
    assert len(gaps) == 3 and max(gaps) < 1e-7  # the authors' limit optima
    assert "channel 1" in text and "plateau" in text


def test_symmetry_counts(tmp_path, capsys):
    text = run_quick("symmetry_counts", tmp_path, capsys)
    for t, f in re.findall(r"T = (\d+), \(r\*\+2\)!/2 = (\d+)", text):
        assert t == f
    assert "r=2, m=4: 50 vs G = 14" in text


def test_permutation_saddle(tmp_path, capsys):
    text = run_quick("permutation_saddle", tmp_path, capsys)
    pairs = [ln for ln in text.splitlines() if ln.strip().startswith("pair (")]
    assert len(pairs) == 6
    for ln in pairs:  # the paper: at least one zero eigenvalue per output at each
        m = MORSE.search(ln)
        assert m and int(m.group(3)) >= 1
    assert int(re.search(r"first-order saddles among the 6 pairs: (\d)", text).group(1)) >= 1


def test_mlpgradientflow_paper(tmp_path, capsys):
    text = run_quick("mlpgradientflow_paper", tmp_path, capsys)
    for method in ("flow + Newton", "flow (CVODE BDF)", "Newton", "BFGS", "Adam", "GD"):
        assert method in text
    losses = dict(re.findall(r"(\S+\(1e-[23]\)|\(CVODE BDF\)) ([0-9.e+-]+)", text))
    assert float(losses["(CVODE BDF)"]) < float(losses["Adam(1e-3)"])  # flow beats Adam
    assert "fitted exponent" in text and "minimum" in text


@pytest.mark.parametrize("name", ["augmentation", "recover_teachers"])
def test_recovery_examples(name, tmp_path, capsys):
    text = run_quick(name, tmp_path, capsys)
    assert "success" in text and list(tmp_path.glob("*.txt"))
