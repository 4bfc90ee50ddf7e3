"""Time to solution: whole teacher-student runs to their end state, ours against the pipeline
a Python user writes today (torch autograd + ``scipy.integrate.BDF`` + ``scipy.optimize``
``trust-exact``), side by side in one process.

What is measured
    A fixed, published set of teacher-student problems (``PROBLEMS``: several activations,
    P 11-397, N 1e3-1e5 and infinite data, under-, exactly and over-parameterised students),
    each from ``--seeds`` random starts (``net.random_params(rng=seed)``). Ours: ``mgf.train``
    with its default options (count budgets, no wall-clock limit). The peer: the same loss in
    PyTorch (``tests/oracle.py``, the suite's autograd oracle), BDF flow with the autograd
    Hessian as Jacobian to ``||g||inf <= 1e-3``, then ``trust-exact`` to ``1e-12``
    (``bench_training.pipeline``; a wall cap ``--peer-cap`` is its safety net and is
    reported when it fires). Infinite-data problems have no torch counterpart.

    Cost is reported in seconds and in **fgh-equivalents**: a run's wall time divided by the
    time of one ``net.fgh`` (loss, gradient and Hessian) of that problem, measured in the same
    process just before (machine-independent to first order). A run succeeds when it ends at
    a classified end state: a channel, or a critical point (minimum or saddle) with
    ``||g||inf <= 1e-12``. Runs per hour: ``train_many`` over ``--seeds`` starts of the
    ``THROUGHPUT`` problem, in this process and on a pool of 2 worker processes.

How to run
    python benchmarks/bench_time_to_solution.py            # all problems, 3 seeds
    python benchmarks/bench_time_to_solution.py --quick    # one small problem, 2 seeds

Writes ``time_to_solution.md`` and ``.json`` into ``--out`` (default benchmarks/results/).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from _common import limit_threads, machine_info, time_call

import mlpgradientflow as mgf

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the suite's torch oracle, for the peer
TARGET = 1e-12


@dataclass(frozen=True)
class Problem:
    """Teacher of width ``r`` and student of width ``m``, one hidden layer with biases."""

    name: str
    act: str
    din: int
    r: int
    m: int
    n: int  # samples; 0: infinite data (NetI, standard normal inputs)

    def nets(self):
        teacher = mgf.TeacherNet([(self.r, self.act, True), (1, "identity", True)],
                                 din=self.din, rng=7)
        layers = [(self.m, self.act, True), (1, "identity", True)]
        if self.n == 0:
            return mgf.NetI(teacher, layers)
        X = np.random.default_rng(0).standard_normal((self.n, self.din))
        return mgf.Net(layers, input=X, target=teacher(X))


PROBLEMS = [
    Problem("softplus under", "softplus", 3, 4, 2, 10_000),
    Problem("softplus exact", "softplus", 4, 4, 4, 10_000),
    Problem("tanh over", "tanh", 4, 3, 6, 10_000),
    Problem("gelu under", "gelu", 8, 6, 4, 1_000),
    Problem("sigmoid over", "sigmoid", 6, 4, 8, 100_000),
    Problem("softplus wide", "softplus", 9, 30, 36, 10_000),
    Problem("softplus infinite", "softplus", 2, 4, 3, 0),
]
QUICK = [PROBLEMS[1]]
THROUGHPUT = PROBLEMS[2]


def succeeded(res) -> bool:
    kind = res.end_state.kind
    return kind == "channel" or (kind in ("minimum", "saddle") and res.gnorm <= TARGET)


def ours(net, p0) -> dict:
    t0 = time.perf_counter()
    res = mgf.train(net, p0, verbosity=0)
    wall = time.perf_counter() - t0
    return {"wall": wall, "kind": str(res.end_state.kind), "gnorm": res.gnorm,
            "loss": res.loss, "success": succeeded(res), "nfev": res.nfev, "njev": res.njev,
            "nhev": res.nhev, "stop": res.message}


def peer(net, p0, cap: float) -> dict:
    import torch
    from bench_training import pipeline
    from oracle import torch_loss_fn
    from scipy import integrate, optimize

    loss = torch_loss_fn(net)
    r = pipeline(loss, lambda p: torch.autograd.functional.hessian(loss, p), p0, cap, torch,
                 integrate, optimize)
    return {"wall": r["wall"], "gnorm": r["final_gnorm"], "loss": r["loss"],
            "success": r["final_gnorm"] <= TARGET, "n_g": r["n_g"], "n_h": r["n_h"],
            "stop": f"{r['flow_stop']}; {r['opt_stop']}"}


def throughput(pb: Problem, seeds: int) -> dict:
    net = pb.nets()
    inits = [net.random_params(rng=s) for s in range(seeds)]
    out = {}
    for label, ex in (("1 process", None), ("2 processes", 2)):
        t0 = time.perf_counter()
        mgf.train_many(net, inits, executor=ex, progress=False)
        out[label] = 3600 * seeds / (time.perf_counter() - t0)
    return out


def measure(problems, seeds: int, cap: float) -> list[dict]:
    rows = []
    for pb in problems:
        net = pb.nets()
        unit = time_call(lambda net=net: net.fgh(net.random_params(rng=0)))[0].best
        for seed in range(seeds):
            p0 = net.random_params(rng=seed)
            row = {"problem": pb.name, "P": net.nparams, "seed": seed, "fgh_s": unit,
                   "ours": ours(net, p0)}
            if pb.n:
                row["peer"] = peer(net, p0, cap)
            rows.append(row)
            print(json.dumps(row, default=str), flush=True)  # a partial run keeps its rows
    return rows


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def report(rows, problems, runs_per_hour, info, args) -> str:
    lines = [
        "# Time to solution", "",
        f"Generated by `python benchmarks/bench_time_to_solution.py{' --quick' if args.quick else ''}`"
        f" on {time.strftime('%Y-%m-%d %H:%M')}; one BLAS thread, torch 1 thread; "
        f"{info['cpu']}, git {info['git']}; load average at start {info['loadavg_start']}. See the module docstring "
        "for the protocol. Cost in fgh-equivalents = wall time / time of one `net.fgh` of "
        "that problem. Success: a channel, or a critical point with ||g||inf <= 1e-12.", "",
        "| problem | act | Din | r → m | N | P | seeds | ours: success | ours: end states | "
        "ours: median fgh-eq | ours: median s | peer: success | peer: median s | "
        "peer s / ours s (median of per-seed ratios) |",
        "|---|---|---:|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|"]
    for pb in problems:
        rs = [r for r in rows if r["problem"] == pb.name]
        o = [r["ours"] for r in rs]
        kinds = ", ".join(f"{k} {sum(x['kind'] == k for x in o)}"
                          for k in sorted({x["kind"] for x in o}))
        fgh_eq = statistics.median(x["wall"] / r["fgh_s"] for x, r in zip(o, rs))
        cells = [pb.name, pb.act, str(pb.din), f"{pb.r} → {pb.m}", str(pb.n or "∞"),
                 str(rs[0]["P"]), str(len(rs)), f"{sum(x['success'] for x in o)}/{len(o)}",
                 kinds, _fmt(fgh_eq), _fmt(statistics.median(x["wall"] for x in o))]
        if "peer" in rs[0]:
            pe = [r["peer"] for r in rs]
            cells += [f"{sum(x['success'] for x in pe)}/{len(pe)}",
                      _fmt(statistics.median(x["wall"] for x in pe)),
                      _fmt(statistics.median(x["wall"] / y["wall"] for x, y in zip(pe, o)))]
        else:
            cells += ["—", "—", "— (no torch counterpart for infinite data)"]
        lines.append("| " + " | ".join(cells) + " |")
    all_o = [r["ours"]["wall"] / r["fgh_s"] for r in rows]
    lines += ["", f"All runs: median {_fmt(statistics.median(all_o))} fgh-equivalents per run, "
              f"{sum(r['ours']['success'] for r in rows)}/{len(rows)} at a classified end state.",
              "", f"Runs per hour, `train_many` on `{THROUGHPUT.name}` "
              f"(P {THROUGHPUT.nets().nparams}, N {THROUGHPUT.n}): " +
              ", ".join(f"{k}: {v:.0f}" for k, v in runs_per_hour.items()) +
              f" (ratio {runs_per_hour['2 processes'] / runs_per_hour['1 process']:.2f}).", ""]
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="one small problem, 2 seeds")
    ap.add_argument("--seeds", type=int, default=None, help="starts per problem (3; quick 2)")
    ap.add_argument("--peer-cap", type=float, default=300.0,
                    help="wall-clock safety net of one peer run, s")
    ap.add_argument("--out", default=str(HERE / "results"))
    args = ap.parse_args(argv)
    seeds = args.seeds or (2 if args.quick else 3)
    limit_threads(1)
    import torch

    torch.set_num_threads(1)
    problems = QUICK if args.quick else PROBLEMS
    info = machine_info(["numpy", "scipy", "torch"])
    rows = measure(problems, seeds, args.peer_cap)
    rph = throughput(THROUGHPUT, 4 if args.quick else 8)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "time_to_solution.md").write_text(report(rows, problems, rph, info, args))
    (out / "time_to_solution.json").write_text(json.dumps(
        {"problems": [asdict(p) for p in problems], "rows": rows, "runs_per_hour": rph,
         "machine": info}, indent=1, default=str))
    print(f"wrote {out / 'time_to_solution.md'}")


if __name__ == "__main__":
    main()
