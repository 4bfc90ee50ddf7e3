"""Reading result folders back: a sweep's table as a pandas DataFrame, and a short text
summary of any folder or file this package writes (``mlpgradientflow show PATH``).

What a path can be:

* a sweep or ``mlpgradientflow run`` folder (``summary.json``, ``runs/``): its rows;
* a :func:`~mlpgradientflow.train_many` folder (``sweep.json``, ``runs/``), or a sweep that
  was interrupted before its summary was written: the saved runs, one row each;
* a single result file written by :meth:`TrainResult.save` (``.npz``).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from ..parallel import FailedRun, load_results
from ..training import TrainResult, load_result
from .summary import COLUMNS

__all__ = ["load_sweep", "describe"]


def _result_row(i: int, res) -> dict[str, Any]:
    if isinstance(res, FailedRun):
        return {"run": i, "error": res.error}
    st = res.end_state
    out: dict[str, Any] = {
        "run": i, "nparams": res.x.size, "loss": res.loss, "gnorm": res.gnorm,
        "end_state": "" if st is None else str(st.kind),
        "gtol": "" if st is None else st.gtol, "ode_stopped_by": res.ode_stopped_by,
        "optim_stopped_by": res.optim_stopped_by, "n_gradients": res.n_gradients,
        "n_hessians": res.n_hessians, "time_s": res.total_time,
        "reproducible": res.reproducible, "error": ""}
    if st is not None and st.morse is not None:
        out.update(st.morse)
    if st is not None and st.channel is not None:
        out.update(channel=" ".join(map(str, st.channel.pair)), channel_eps=st.channel.eps)
    return out


def _rows(path: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The rows of a folder and what is known about it (``kind``, ``config``)."""
    if not path.exists():
        raise ValueError(f"argument `path`: {path} does not exist")
    if (path / "summary.json").is_file():
        doc = json.loads((path / "summary.json").read_text())
        return doc["rows"], {"kind": "sweep", "config": doc.get("config")}
    if (path / "sweep.json").is_file():
        rows = [_result_row(i, r) for i, r in enumerate(load_results(path))]
        kind = "unfinished sweep" if (path / "sweep_config.json").is_file() else "train_many"
        return rows, {"kind": kind, "config": None}
    raise ValueError(f"argument `path`: {path} is not a result folder of mlpgradientflow "
                     "(no summary.json or sweep.json)")


def load_sweep(path: str | os.PathLike):
    """The table of a sweep or ``train_many`` folder as a pandas DataFrame.

    One row per run with the columns of ``summary.csv``
    (:data:`~mlpgradientflow.sweep.COLUMNS`: the run's grid values, ``end_state``,
    ``loss``, ``gnorm``, Morse counts, channel, alignment, stop reasons, costs, ``error``);
    empty cells are missing values. For a ``train_many`` folder (or a sweep whose summary
    was not yet written) the values come from the saved results (the grid values and the
    alignment are missing). ``df.attrs`` holds ``kind`` and the sweep's ``config``. Needs pandas
    (``pip install 'mlpgradientflow[pandas]'``).

    Parameters
    ----------
    path : str or PathLike
        A folder written by :func:`~mlpgradientflow.sweep.run_sweep` (``mlpgradientflow
        sweep``/``run``) or by :func:`~mlpgradientflow.train_many` with ``outdir``.

    Returns
    -------
    pandas.DataFrame
        One row per run, the columns of :data:`~mlpgradientflow.sweep.COLUMNS` first.

    Examples
    --------
    >>> import numpy as np, mlpgradientflow as mgf
    >>> X = np.random.default_rng(0).standard_normal((100, 2))
    >>> net = mgf.Net([(2, "tanh", True), (1, "identity", True)], input=X, target=X[:, :1])
    >>> import tempfile; tmp = tempfile.TemporaryDirectory(); d = tmp.name
    >>> _ = mgf.train_many(net, [net.random_params(s) for s in range(2)], outdir=d,
    ...                    maxiterations_ode=50, maxiterations_optim=5, verbosity=0,
    ...                    progress=False)
    >>> df = mgf.load_sweep(d)
    >>> len(df), df.attrs["kind"], "end_state" in df.columns
    (2, 'train_many', True)
    >>> tmp.cleanup()
    """
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("load_sweep needs pandas: pip install 'mlpgradientflow[pandas]'") from None
    rows, meta = _rows(Path(path))
    df = pd.DataFrame.from_records(rows)
    df = df.reindex(columns=COLUMNS + [c for c in df.columns if c not in COLUMNS])
    df = df.replace("", pd.NA).convert_dtypes()
    df.attrs.update(meta)
    return df


def describe(path: str | os.PathLike) -> str:
    """A few lines on what ``path`` holds: end-state counts, best loss, failures.

    What ``mlpgradientflow show PATH`` prints.

    Parameters
    ----------
    path : str or PathLike
        A result file (``.npz``), a sweep folder or a ``train_many`` folder.

    Returns
    -------
    str
        The summary, ending with the call that loads it.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> X = np.array([[0.0], [1.0], [2.0]])
    >>> net = mgf.Net([(1, "identity", False)], input=X, target=2 * X)
    >>> res = mgf.train(net, [0.0], maxiterations_ode=50, verbosity=0)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     res.save(os.path.join(d, "res.npz"))
    ...     text = mgf.sweep.describe(os.path.join(d, "res.npz"))
    >>> print(text.splitlines()[1])
      minimum: flow stopped by maxiterations ≥ 50; optimiser stopped by min_gnorm ≤ 1e-15
    """
    path = Path(path)
    if path.is_file():
        try:
            res: TrainResult = load_result(path)
        except (ValueError, OSError, KeyError) as err:
            raise ValueError(f"argument `path`: {path} is not a result file of "
                             f"mlpgradientflow ({err})") from None
        return (f"{path}: one training run, P = {res.x.size}\n  {res.message}\n"
                f"  loss {res.loss:.6g}, ‖∇L‖∞ {res.gnorm:.3g}, {res.nit} iterations, "
                f"{res.n_gradients} gradients, {res.n_hessians} Hessians\n"
                f"load it with: mgf.load_result({str(path)!r})")
    rows, meta = _rows(path)
    kinds = Counter(r.get("end_state") or ("failed" if r.get("error") else "?") for r in rows)
    ok = [r for r in rows if not r.get("error")]
    lines = [f"{path}: {meta['kind']} of {len(rows)} runs: "
             + ", ".join(f"{n} {k}" for k, n in kinds.most_common())]
    if ok:
        best = min(ok, key=lambda r: r["loss"])
        lines.append(f"  lowest loss {best['loss']:.6g} (run {best['run']}, "
                     f"{best.get('end_state') or 'not classified'})")
    for r in rows:
        if r.get("error"):
            lines.append(f"  run {r['run']}: {r['error']}")
    loader = "load_sweep" if meta["kind"] == "sweep" else "load_results"
    lines.append(f"load it with: mgf.{loader}({str(path)!r})")
    return "\n".join(lines)
