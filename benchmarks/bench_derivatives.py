"""Derivative engine vs PyTorch and JAX: loss + gradient and the exact Hessian, float64.

What is measured
    For each grid point (input dimension Din, hidden softplus widths, N samples) the same
    loss, L(p) = (1/N) sum_n sum_o (out_no - y_no)^2 of the flat parameter vector p in
    mlpgradientflow's layout, is differentiated by

    * ours:  ``net.fg(p)`` (loss + gradient) and ``net.hessian(p)``;
    * torch: eager forward + ``loss.backward()``, once on leaf tensors (W_l, b_l) and once on
      one flat leaf vector (the faster is reported, and which); Hessian by
      ``torch.func.hessian``, ``torch.autograd.functional.hessian`` with vectorize=False
      and with vectorize=True (the fastest is reported, and which);
    * jax:   ``jax.jit(jax.value_and_grad(f))`` and ``jax.jit(jax.hessian(f))`` with
      ``jax_enable_x64``; compiled ahead of time (``.lower().compile()``, timed separately),
      calls end with ``block_until_ready``.

    Grid: Din=2, one hidden layer of k in {10, 50, 100} (P = 4k + 1), N in 10..10^5; and
    Din=10 with hidden layers 20-20 (P = 661) at N = 1000. Targets come from a random
    softplus teacher with 4 hidden units. Every (framework, thread count) runs in its own
    subprocess, with 1 and with 2 threads (see ``_common.limit_threads`` and
    ``_jax_flags``). Times are the best of several samples (``_common.time_call``).
    A peer method is skipped at N when its time at the previous N, scaled linearly,
    exceeds 20 s; peer workers run under a 16 GiB address-space cap and allocation
    failures are reported as OOM.

    Also measured: the SYRK rate N P^2 / t of NumPy's ``R.T @ R`` and of SciPy's ``dsyrk``
    (the call the engine makes) on 1024-row chunks at P = 201, 401, which bounds any exact
    Hessian of these nets; and the peak RSS of ``net.hessian(p)`` at P = 401, N = 10^5.
    The loss, gradient and v^T H w (fixed random v, w) of all frameworks are compared;
    the run fails (exit status 1) when their relative spread exceeds 1e-8.

How to run
    python benchmarks/bench_derivatives.py            # full grid, 10-30 min on 2 cores
    python benchmarks/bench_derivatives.py --quick    # tiny grid, about a minute
    python benchmarks/bench_derivatives.py --out DIR  # results folder (default
                                                      # benchmarks/results/)
    python benchmarks/bench_derivatives.py --report-only  # redo the markdown from the JSON

    Writes DIR/derivatives.md (tables) and DIR/derivatives.json (raw numbers). The
    ``--worker`` options are internal: the parent process starts one worker per
    (framework, thread count).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from _common import (
    ONCE_OVER,
    Recorder,
    cap_memory,
    current_rss,
    is_oom,
    limit_threads,
    machine_info,
    peak_rss,
    run_worker,
    time_call,
)
from _derivatives_report import consistency, write_report

import mlpgradientflow as mgf

HERE = Path(__file__).resolve().parent
THREADS = (1, 2)
TEACHER = [(4, "softplus", True), (1, "identity", True)]
SYRK_P = (201, 401)
SYRK_ROWS = 1024  # rows per chunk: the engine's Hessian chunk (CHUNK[2])
MEMORY_CELL = (2, (100,), 100_000)  # Din, hidden, N of the peak-RSS measurement

# method name -> (kind, label) per framework, in the order they run
METHODS = {
    "ours": {"grad": ("grad", "net.fg"), "hess": ("hess", "net.hessian")},
    "torch": {
        "grad_leaf": ("grad", "leaf"),
        "grad_flat": ("grad", "flat"),
        "hess_func": ("hess", "func"),
        "hess_autograd": ("hess", "autograd"),
        "hess_autograd_vec": ("hess", "autograd-vec"),
    },
    "jax": {"grad": ("grad", "jit(value_and_grad)"), "hess": ("hess", "jit(hessian)")},
}


# -- grid and problems ------------------------------------------------------------------
@dataclass(frozen=True)
class Cell:
    din: int
    hidden: tuple[int, ...]
    n: int

    @property
    def family(self) -> str:
        return f"din{self.din}_h{'-'.join(map(str, self.hidden))}"

    @property
    def key(self) -> str:
        return f"{self.family}_N{self.n}"


def grid(quick: bool) -> list[Cell]:
    """Grid points, N ascending within each net (the skip rule relies on it)."""
    if quick:
        shallow, ns, deep_n = (10, 50), (10, 1000), 100
    else:
        shallow, ns, deep_n = (10, 50, 100), (10, 100, 1000, 10_000, 100_000), 1000
    cells = [Cell(2, (k,), n) for k in shallow for n in ns]
    return cells + [Cell(10, (20, 20), deep_n)]


@dataclass
class Problem:
    net: mgf.Net
    p: np.ndarray
    X: np.ndarray
    y: np.ndarray
    v: np.ndarray
    w: np.ndarray
    layout: list[tuple[int, int, int, str]]  # (offset, k, k_prev + 1, activation) per layer


def make_problem(cell: Cell) -> Problem:
    """The same data, parameters and probe vectors in every worker."""
    X = np.random.default_rng(0).standard_normal((cell.n, cell.din))
    y = mgf.TeacherNet(TEACHER, din=cell.din, rng=1)(X)
    layers = [(k, "softplus", True) for k in cell.hidden] + [(1, "identity", True)]
    net = mgf.Net(layers, input=X, target=y)
    p = net.random_params(rng=2)
    v, w = np.random.default_rng(3).standard_normal((2, net.nparams))
    layout = [
        (o, k, m, lay.activation_name)
        for (k, m), o, lay in zip(net.shapes, net.offsets, net.layers, strict=True)
    ]
    return Problem(net, p, X, y, v, w, layout)


# -- the frameworks ------------------------------------------------------------------------
@dataclass
class Prepared:
    call: Callable[[], object]  # the timed call
    values: Callable[[object], dict]  # its result -> {"loss", "grad"} or {"vHw"}
    compile_s: float | None = None


def grad_values(loss, g) -> dict:
    return {"loss": float(loss), "grad": np.asarray(g, dtype=np.float64).tolist()}


def hess_values(pb: Problem, H) -> dict:
    return {"vHw": float(pb.v @ np.asarray(H, dtype=np.float64) @ pb.w)}


def ours_methods(pb: Problem) -> dict[str, Callable[[], Prepared]]:
    net, p = pb.net, pb.p
    return {
        "grad": lambda: Prepared(lambda: net.fg(p), lambda o: grad_values(*o)),
        "hess": lambda: Prepared(lambda: net.hessian(p), lambda H: hess_values(pb, H)),
    }


def torch_methods(pb: Problem) -> dict[str, Callable[[], Prepared]]:
    import torch
    import torch.nn.functional as F

    X, Y = torch.from_numpy(pb.X), torch.from_numpy(pb.y)
    N = X.shape[0]
    acts = [act for *_, act in pb.layout]

    def loss_of(params):  # params: [(W_l, b_l)]
        a = X
        for (W, b), act in zip(params, acts, strict=True):
            a = F.linear(a, W, b)
            if act == "softplus":
                a = F.softplus(a)
        return (a - Y).square().sum() / N

    def split(p):  # flat vector -> views (W_l, b_l) in our layout
        Ms = [p[o : o + k * m].view(k, m) for o, k, m, _ in pb.layout]
        return [(M[:, :-1], M[:, -1]) for M in Ms]

    def loss_flat(p):
        return loss_of(split(p))

    p0 = torch.from_numpy(pb.p.copy())

    def grad_leaf():
        leaves = [(W.clone().requires_grad_(), b.clone().requires_grad_()) for W, b in split(p0)]

        def call():
            for W, b in leaves:
                W.grad = b.grad = None
            loss = loss_of(leaves)
            loss.backward()
            return loss.detach()

        def values(loss):  # flattening the leaf gradients is left out of the timing
            g = torch.cat([torch.cat([W.grad, b.grad[:, None]], 1).reshape(-1) for W, b in leaves])
            return grad_values(loss.item(), g.numpy())

        return Prepared(call, values)

    def grad_flat():
        pf = p0.clone().requires_grad_()

        def call():
            pf.grad = None
            loss = loss_flat(pf)
            loss.backward()
            return loss.detach()

        return Prepared(call, lambda loss: grad_values(loss.item(), pf.grad.numpy()))

    def hessian(fn):
        return lambda: Prepared(lambda: fn(p0), lambda H: hess_values(pb, H.numpy()))

    hess_func = torch.func.hessian(loss_flat)
    return {
        "grad_leaf": grad_leaf,
        "grad_flat": grad_flat,
        "hess_func": hessian(hess_func),
        "hess_autograd": hessian(
            lambda p: torch.autograd.functional.hessian(loss_flat, p, vectorize=False)
        ),
        "hess_autograd_vec": hessian(
            lambda p: torch.autograd.functional.hessian(loss_flat, p, vectorize=True)
        ),
    }


def jax_methods(pb: Problem) -> dict[str, Callable[[], Prepared]]:
    import jax
    import jax.numpy as jnp

    X, Y, p = jnp.asarray(pb.X), jnp.asarray(pb.y), jnp.asarray(pb.p)

    def loss(p, X, Y):
        a = X
        for o, k, m, act in pb.layout:
            M = p[o : o + k * m].reshape(k, m)
            a = a @ M[:, :-1].T + M[:, -1]
            if act == "softplus":
                a = jax.nn.softplus(a)
        return jnp.sum((a - Y) ** 2) / X.shape[0]

    def compiled(transform, values):
        def prepare():
            t0 = time.perf_counter()
            fn = jax.jit(transform(loss)).lower(p, X, Y).compile()
            compile_s = time.perf_counter() - t0
            return Prepared(lambda: jax.block_until_ready(fn(p, X, Y)), values, compile_s)

        return prepare

    return {
        "grad": compiled(jax.value_and_grad, lambda o: grad_values(o[0], o[1])),
        "hess": compiled(jax.hessian, lambda H: hess_values(pb, H)),
    }


FRAMEWORKS = {"ours": ours_methods, "torch": torch_methods, "jax": jax_methods}


def _jax_flags(threads: int) -> str:
    """XLA_FLAGS for the thread count (read by XLA when jax is imported)."""
    eigen = "true" if threads > 1 else "false"
    return f"--xla_cpu_multi_thread_eigen={eigen} intra_op_parallelism_threads={threads}"


def setup_framework(fw: str, threads: int) -> dict:
    """Thread settings of the framework (before its import where needed); returns info."""
    if fw == "torch":
        import torch

        torch.set_num_threads(threads)
        build = [
            line.strip(" -")
            for line in torch.__config__.show().splitlines()
            if "Math Kernel Library" in line or "CPU capability" in line
        ]
        return {"torch_threads": torch.get_num_threads(), "torch_build": build}
    if fw == "jax":
        os.environ["XLA_FLAGS"] = _jax_flags(threads)
        import jax

        jax.config.update("jax_enable_x64", True)
        return {"XLA_FLAGS": os.environ["XLA_FLAGS"], "jax_devices": str(jax.devices())}
    return {}


# -- workers -----------------------------------------------------------------------------
def engine_source() -> dict:
    """Where mlpgradientflow is imported from and a hash of its source and compiled files.

    The package is developed while benchmarks run; the report warns when the workers
    did not all see the same files.
    """
    root = Path(mgf.__file__).resolve().parent
    h = hashlib.sha256()
    for f in sorted(root.rglob("*")):
        if f.is_file() and f.suffix in (".py", ".c", ".so"):
            h.update(f.relative_to(root).as_posix().encode())
            h.update(f.read_bytes())
    return {"path": str(root), "sha256": h.hexdigest()[:12]}


def skip_record(prev: dict | None, cell: Cell) -> dict | None:
    """The skip rule for a peer method at ``cell``, from its record at the previous N."""
    if prev is None:
        return None
    n0 = prev["cell"]["n"]
    if prev["status"] == "ok" or "est" in prev:
        est = prev.get("est", prev.get("time")) * cell.n / n0
        if est <= ONCE_OVER:
            return None
        return {
            "status": "skipped",
            "est": est,
            "detail": f"~{est:.0f} s estimated from N={n0} (> {ONCE_OVER:.0f} s)",
        }
    return {"status": "skipped", "after": prev["status"], "detail": f"{prev['status']} at N={n0}"}


def measure(prepare: Callable[[], Prepared], budget: float) -> dict:
    """Prepare (compile), time and evaluate one method; allocation failures give OOM."""
    try:
        prep = prepare()
        timing, out = time_call(prep.call, budget)
        rec = {"status": "ok", "time": timing.best, "timing": timing.as_dict(), **prep.values(out)}
        if prep.compile_s is not None:
            rec["compile"] = prep.compile_s
        return rec
    except Exception as exc:  # only allocation failures are expected; others propagate
        if not is_oom(exc):
            raise
        gc.collect()
        return {"status": "OOM", "detail": str(exc).strip().splitlines()[0][:300]}


def framework_worker(fw: str, threads: int, rec: Recorder, quick: bool) -> None:
    info = {
        "blas": limit_threads(threads),
        "affinity": sorted(os.sched_getaffinity(0)),
        "engine": engine_source(),
    }
    if fw != "ours":
        cap_memory()
    info.update(setup_framework(fw, threads))
    if "env" not in rec.results:
        rec.result("env", {"fw": fw, "threads": threads, **info})
    budget = 0.05 if quick else 0.5
    prev: dict = {}
    for cell in grid(quick):
        methods = None
        for name, (kind, label) in METHODS[fw].items():
            key = f"{cell.key}/{name}"
            meta = {
                "fw": fw,
                "threads": threads,
                "cell": asdict(cell),
                "method": name,
                "kind": kind,
                "label": label,
            }
            r = rec.results.get(key)
            if r is None:
                skip = skip_record(prev.get((cell.family, name)), cell) if fw != "ours" else None
                if skip is None:
                    methods = methods or FRAMEWORKS[fw](make_problem(cell))
                    rec.start(key, meta)
                    r = rec.result(key, {**meta, **measure(methods[name], budget)})
                else:
                    r = rec.result(key, {**meta, **skip})
            shown = f"{r['time'] * 1e3:10.3f} ms" if r["status"] == "ok" else r["status"]
            print(f"  [{fw} {threads}t] {cell.key:22s} {name:18s} {shown}", flush=True)
            prev[(cell.family, name)] = r


def syrk_worker(threads: int, rec: Recorder, quick: bool) -> None:
    """Rate N P^2 / t of the symmetric rank-k update on (1024, P) chunks."""
    from scipy.linalg import blas

    blas_info = limit_threads(threads)
    if "env" not in rec.results:
        rec.result("env", {"fw": "syrk", "threads": threads, "blas": blas_info})
    budget = 0.05 if quick else 0.5
    for P in SYRK_P:
        R = np.random.default_rng(0).standard_normal((SYRK_ROWS, P))
        C = np.zeros((P, P))
        calls = {
            "numpy": lambda R=R: R.T @ R,
            # as in the engine: the upper triangle of the C-order C, in place
            "scipy": lambda R=R, C=C: blas.dsyrk(
                1.0, R.T, beta=1.0, c=C.T, trans=0, lower=1, overwrite_c=1
            ),
        }
        for name, call in calls.items():
            if f"syrk/{name}/P{P}" in rec.results:
                continue
            timing, _ = time_call(call, budget)
            rate = SYRK_ROWS * P * P / timing.best / 1e9
            rec.result(
                f"syrk/{name}/P{P}",
                {
                    "fw": "syrk",
                    "threads": threads,
                    "impl": name,
                    "P": P,
                    "time": timing.best,
                    "gflops": rate,
                    "timing": timing.as_dict(),
                },
            )
            print(f"  [syrk {threads}t] {name:6s} P={P}: {rate:6.2f} GF/s", flush=True)


def memory_worker(rec: Recorder) -> None:
    """Peak RSS of one ``net.hessian(p)`` above the RSS after imports and data creation."""
    limit_threads(1)
    if "env" not in rec.results:
        rec.result("env", {"fw": "memory", "threads": 1, "engine": engine_source()})
    din, hidden, n = MEMORY_CELL
    pb = make_problem(Cell(din, hidden, n))
    gc.collect()
    base = current_rss()
    t0 = time.perf_counter()
    pb.net.hessian(pb.p)
    seconds = time.perf_counter() - t0
    peak = peak_rss()
    rec.result(
        "memory",
        {
            "fw": "memory",
            "din": din,
            "hidden": list(hidden),
            "N": n,
            "P": pb.net.nparams,
            "baseline_rss": base,
            "peak_rss": peak,
            "delta": peak - base,
            "seconds": seconds,
        },
    )
    print(f"  [memory] peak RSS above baseline: {(peak - base) / 2**20:.1f} MiB", flush=True)


def worker_main(args) -> None:
    rec = Recorder(Path(args.jsonl))
    if args.worker == "syrk":
        syrk_worker(args.threads, rec, args.quick)
    elif args.worker == "memory":
        memory_worker(rec)
    else:
        framework_worker(args.worker, args.threads, rec, args.quick)


# -- parent --------------------------------------------------------------------------------
def worker_env() -> tuple[dict, dict]:
    """Environment for the workers, and the OpenBLAS variables removed from it."""
    env = dict(os.environ)
    removed = {k: env.pop(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in env}
    env["JAX_PLATFORMS"] = "cpu"
    return env, removed


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny grid, short timing budget")
    ap.add_argument("--out", default=str(HERE / "results"), help="results folder")
    ap.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite derivatives.md from the derivatives.json in --out, measuring nothing",
    )
    ap.add_argument(
        "--worker", choices=["ours", "torch", "jax", "syrk", "memory"], help=argparse.SUPPRESS
    )
    ap.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--jsonl", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker_main(args)
        return 0
    out = Path(args.out)
    if args.report_only:
        with open(out / "derivatives.json") as f:
            saved = json.load(f)
        return finish(out, saved["records"], saved["machine"], saved["summary"]["consistency"])

    info = machine_info(("mlpgradientflow", "numpy", "scipy", "torch", "jax", "jaxlib", "threadpoolctl"))
    env, info["openblas_env_removed"] = worker_env()
    t_start = time.perf_counter()
    records = []
    with tempfile.TemporaryDirectory() as tmp:
        jobs = [(fw, t) for t in THREADS for fw in ("syrk", "ours", "torch", "jax")]
        for fw, threads in [*jobs, ("memory", 1)]:
            print(f"== {fw}, {threads} thread(s)", flush=True)
            jsonl = Path(tmp) / f"{fw}_{threads}.jsonl"
            wargs = ["--worker", fw, "--threads", str(threads), "--jsonl", str(jsonl)]
            records += run_worker(Path(__file__), wargs + ["--quick"] * args.quick, jsonl, env)
    info["loadavg_end"] = os.getloadavg()
    info["wall_s"] = time.perf_counter() - t_start
    info["quick"] = args.quick
    out.mkdir(parents=True, exist_ok=True)
    return finish(out, records, info, consistency(records))


def finish(out: Path, records: list[dict], info: dict, cons: dict) -> int:
    """Write derivatives.md and derivatives.json (records without gradient vectors);
    exit status 1 when the consistency check failed."""
    summary = write_report(out / "derivatives.md", records, info, THREADS, cons)
    raw = [{k: v for k, v in r.items() if k not in ("grad", "event")} for r in records]
    with open(out / "derivatives.json", "w") as f:
        json.dump({"machine": info, "summary": summary, "records": raw}, f, indent=1)
    print(f"wrote {out / 'derivatives.md'} and {out / 'derivatives.json'}")
    if not summary["consistency"]["ok"]:
        print(
            "\n!!! CONSISTENCY CHECK FAILED: frameworks disagree by more than "
            f"{summary['consistency']['tol']:g} (see derivatives.md) !!!\n",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
