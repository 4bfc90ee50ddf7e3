"""train_many: a sweep of 64 small runs sequentially, on 2 local processes, on Dask.

What is measured
    A sweep of 64 teacher-student runs (Din = 2, 4 softplus students on 3 teachers,
    N = 1000 weighted samples, 64 seeds) with a fixed amount of work per run (ODE and
    Newton iteration caps, no wall-time limits), through :func:`mlpgradientflow.train_many`:

    * ``sequential``: ``executor=None``, in this process;
    * ``processes``: ``executor=2``, a local process pool of 2 workers, one BLAS thread each;
      the pool is started by the call and its start-up is included;
    * ``dask``: a ``dask.distributed.LocalCluster`` of 2 worker processes with one thread
      each, already running (its start-up is reported apart), the nets scattered per call.

    Every sweep is repeated (best wall time kept). The same three are timed on 64 *empty*
    runs (one ODE step, no Newton) to isolate what the executor costs per task.

    speed-up  = T(sequential) / T(executor)
    overhead per task = (workers x T(executor) - T(sequential)) / 64: the worker time per
    run not spent training (scheduling, pickling, result transfer, start-up share).

How to run
    python benchmarks/bench_parallel.py [--out benchmarks/results] [--repeat 3]

Writes ``parallel.md`` and ``parallel.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from _common import machine_info
from threadpoolctl import threadpool_info, threadpool_limits

import mlpgradientflow as mgf

N_RUNS = 64
WORKERS = 2
REAL = dict(maxiterations_ode=400, maxiterations_optim=30, maxtime_ode=1e9, maxtime_optim=1e9)
EMPTY = dict(maxiterations_ode=1, maxiterations_optim=0, maxtime_ode=1e9, maxtime_optim=1e9)


def problem():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((1000, 2))
    teacher = mgf.TeacherNet([(3, "softplus", True), (1, "identity", True)], din=2, rng=1)
    net = mgf.Net([(4, "softplus", True), (1, "identity", True)], input=X, target=teacher(X),
                  weights=rng.random(1000) + 0.5)
    return net, [net.random_params(s) for s in range(N_RUNS)]


def sweep(net, inits, executor, options, repeat):
    """Best wall time of ``repeat`` sweeps; every run of every sweep must succeed."""
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = mgf.train_many(net, inits, executor=executor, progress=False, **options)
        best = min(best, time.perf_counter() - t0)
        failed = [r for r in res if isinstance(r, mgf.FailedRun)]
        if failed:
            raise RuntimeError(f"{len(failed)} runs failed on {executor!r}: {failed[0].error}")
    return best, res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(Path(__file__).parent / "results"))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from distributed import Client, LocalCluster

    net, inits = problem()
    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=WORKERS, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    client = Client(cluster)
    cluster_start = time.perf_counter() - t0
    rows = {}
    try:
        with threadpool_limits(1):
            for label, options in (("real", REAL), ("empty", EMPTY)):
                seq_t, seq = sweep(net, inits, None, options, args.repeat)
                rows[label] = {"sequential": {"time": seq_t, "speedup": 1.0}}
                for name, ex in (("processes", WORKERS), ("dask", client)):
                    t, res = sweep(net, inits, ex, options, args.repeat)
                    same = all(np.array_equal(a.x, b.x) for a, b in zip(res, seq))
                    rows[label][name] = {
                        "time": t, "speedup": seq_t / t, "identical": same,
                        "overhead_per_task": (WORKERS * t - seq_t) / N_RUNS,
                    }
                print(label, json.dumps(rows[label], indent=1), flush=True)
    finally:
        client.close()
        cluster.close()
    blas = [{k: d.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
            for d in threadpool_info() if d.get("user_api") == "blas"]
    info = machine_info(["numpy", "scipy", "dask", "distributed", "mlpgradientflow"])
    info["blas"] = blas
    info["OPENBLAS_CORETYPE"] = os.environ.get("OPENBLAS_CORETYPE")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "parallel.json").write_text(json.dumps(
        {"machine": info, "n_runs": N_RUNS, "workers": WORKERS, "cluster_start_s": cluster_start,
         "real_options": REAL, "empty_options": EMPTY, "results": rows}, indent=1))
    (out / "parallel.md").write_text(report(rows, info, cluster_start))


def report(rows, info, cluster_start):
    seq = rows["real"]["sequential"]["time"]
    lines = [
        "# train_many: 64 small runs sequentially, on 2 processes, on Dask\n",
        f"Generated by `python benchmarks/bench_parallel.py` on {info['date']} ({info['cpu']}, "
        f"{info['cores']} cores, git {info['git']}, load {info['loadavg_start'][0]:.2f}); "
        f"BLAS {info['blas'][0]['internal_api']} {info['blas'][0]['architecture']}, one thread "
        "per worker. Best of the repeats.\n",
        f"Real sweep: {N_RUNS} runs of {REAL['maxiterations_ode']} ODE + "
        f"{REAL['maxiterations_optim']} Newton iterations, Din = 2, 4 softplus students, "
        f"N = 1000; {seq / N_RUNS * 1e3:.0f} ms per run sequentially. Empty sweep: one ODE step "
        "per run, so the time is the executor's own.\n",
        f"Dask LocalCluster start-up (not in the times below): {cluster_start:.2f} s. The "
        "process pool's start-up is inside its times.\n",
        "| sweep | executor | wall time (s) | speed-up | overhead per task (ms) | results identical |",
        "|---|---|---:|---:|---:|:---:|",
    ]
    for label, row in rows.items():
        for name, r in row.items():
            over = f"{r['overhead_per_task'] * 1e3:.1f}" if "overhead_per_task" in r else "—"
            same = {True: "yes", False: "NO"}.get(r.get("identical"), "—")
            lines.append(f"| {label} | {name} | {r['time']:.2f} | {r['speedup']:.2f}× | {over} "
                         f"| {same} |")
    lines.append("\nspeed-up = T(sequential)/T(executor); overhead per task = (2 T(executor) − "
                 "T(sequential))/64. On 2 cores the ideal speed-up is 2×.\n")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
