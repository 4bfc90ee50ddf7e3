"""One row per run of a sweep: where it ended and how well the student matches the teacher.

The columns of ``summary.csv`` (:data:`COLUMNS`), in the order of the grid:

* the run: ``run``, ``din``, ``n``, ``teacher_width``, ``teacher_seed``, ``activation``,
  ``width``, ``seed``, ``nparams``;
* its end state (:func:`~mlpgradientflow.end_state`): ``end_state`` (minimum, saddle,
  channel, not converged), ``loss``, ``gnorm`` (∞-norm of the gradient), ``gtol`` (the
  criticality tolerance: ``min_gnorm`` or the noise floor), ``n_negative``, ``n_zero``,
  ``n_positive`` (Hessian eigenvalue counts, empty where the point is not critical),
  ``channel`` (the neuron pair), ``channel_eps`` and ``limit_loss`` (the loss of the GLU
  limit) for channels;
* ``alignment``: the mean cosine distance of the incoming vectors of the teacher's neurons
  to their matched student neurons (signs flipped where the activation's symmetry makes
  :math:`(w, a)` and :math:`(-w, -a)` the same neuron, up to a constant: the classes
  ``odd`` and ``odd_constant`` of :data:`mlpgradientflow.activations.SYMMETRIES`);
* how it got there: ``ode_stopped_by``, ``optim_stopped_by``, ``n_gradients``,
  ``n_hessians``, ``time_s``, ``reproducible`` (False when a wall-clock cap ended it);
* ``error``: empty unless the run failed.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from ..activations import ODD_CLASSES, symmetry
from ..landscape import align_to_teacher
from ..parallel import FailedRun

__all__ = ["COLUMNS", "row", "to_csv", "to_markdown"]

COLUMNS = ["run", "din", "n", "teacher_width", "teacher_seed", "activation", "width", "seed",
           "nparams", "end_state", "loss", "gnorm", "gtol", "n_negative", "n_zero", "n_positive",
           "channel", "channel_eps", "limit_loss", "alignment", "ode_stopped_by",
           "optim_stopped_by", "n_gradients", "n_hessians", "time_s", "reproducible", "error"]


def row(i: int, run, net, teacher, res) -> dict[str, Any]:
    """The summary row of run ``i`` (a FailedRun gives a row with its error)."""
    out: dict[str, Any] = {"run": i, **run.as_row(), "nparams": net.nparams, "error": ""}
    if isinstance(res, FailedRun):
        return {**out, "error": res.error}
    st = res.end_state
    out.update(end_state=str(st.kind), loss=res.loss, gnorm=res.gnorm, gtol=st.gtol,
               ode_stopped_by=res.ode_stopped_by, optim_stopped_by=res.optim_stopped_by,
               n_gradients=res.n_gradients, n_hessians=res.n_hessians,
               time_s=res.total_time, reproducible=res.reproducible)
    if st.morse is not None:
        out.update(st.morse)
    if st.channel is not None:
        out.update(channel=" ".join(map(str, st.channel.pair)), channel_eps=st.channel.eps,
                   limit_loss="" if st.channel.limit_loss is None else st.channel.limit_loss)
    signs = symmetry(run.activation) in ODD_CLASSES
    out["alignment"] = align_to_teacher(net, res.x, teacher, signs=signs).mean_cosine_distance
    return out


def to_csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def _g(x, fmt: str) -> str:
    return "" if x in ("", None) else format(x, fmt)


def to_markdown(rows: list[dict], title: str) -> str:
    """A table for people: one line per run."""
    head = (f"# {title}\n\nEnd states: a minimum or a saddle is critical within "
            "`gtol` = max(min_gnorm, noise floor of the gradient); Hessian eigenvalue counts "
            "-/0/+ only there. A channel gives its neuron pair, eps (how far along it is) and "
            "the loss of its GLU limit. Alignment: mean cosine distance of the teacher's "
            "incoming vectors to their matched student neurons.\n\n"
            "| run | activation | width | seed | P | end state | loss | ‖∇L‖∞ | -/0/+ | channel "
            "| alignment | flow stopped by | optimiser stopped by | time |\n"
            "|" + "---|" * 14 + "\n")
    lines = []
    for r in rows:
        if r["error"]:
            lines.append(f"| {r['run']} | {r['activation']} | {r['width']} | {r['seed']} | "
                         f"{r['nparams']} | failed: {r['error']} |" + " |" * 9)
            continue
        morse = "" if r.get("n_negative", "") == "" else (
            f"{r['n_negative']}/{r['n_zero']}/{r['n_positive']}")
        chan = "" if not r.get("channel") else (
            f"({r['channel']}) eps {r['channel_eps']:.2g}"
            + ("" if r["limit_loss"] == "" else f", limit {r['limit_loss']:.4g}"))
        lines.append(
            f"| {r['run']} | {r['activation']} | {r['width']} | {r['seed']} | {r['nparams']} | "
            f"{r['end_state']} | {r['loss']:.4e} | {r['gnorm']:.1e} | {morse} | {chan} | "
            f"{_g(r['alignment'], '.2e')} | {r['ode_stopped_by']} | {r['optim_stopped_by']} | "
            f"{r['time_s']:.1f} s |")
    return head + "\n".join(lines) + "\n"
