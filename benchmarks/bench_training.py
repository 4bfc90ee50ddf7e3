"""Training benchmark: ODE solvers vs discrete rules, time to the critical point, solver overhead.

The problem (the reference's "small" problem, MLPGradientFlow.jl ``scripts/ode.jl``)
    A softplus teacher with 4 hidden units and biases labels N = 10^4 standard-normal
    inputs in Din = 2; the student has 8 softplus units and biases (P = 33). As in the
    reference's ``setup()``, one generator per seed draws the teacher's weights and
    biases from N(0, 1), then the inputs, then the student's Glorot-normal start (zero
    biases). Seeds 111, 112, ... (``--seeds``). Loss: mean over samples of the squared
    error; the flow is dθ/dt = -∇L on this mean loss.

(a) Trajectory comparison at equal wall time (``scripts/ode.jl``)
    Every method runs phase 1 only (``maxiterations_optim=0``) for ``--budget`` seconds
    of wall time, recording ``n_samples_trajectory=1000`` log-spaced points. Methods:
    the flow solvers cvode_bdf, cvode_bdf_gmres, rodas4, lsoda, bdf, radau, rk45, dop853,
    rk4 (adaptive; reltol = abstol = 1e-6, the package default) and rk4_fixed with the step
    dt = 0.05 (the largest Hessian eigenvalue along these flows is 12-35, so
    dt * λmax <= 1.8 stays inside RK4's real stability interval 2.78); the discrete rules
    Descent(1e-3), Descent(1e-2), Adam(1e-4), Adam(1e-3), full batch. Reference per seed:
    cvode_bdf with reltol = abstol = 1e-10 for 1.2 x budget, recording 4000 points (the
    distance of a point to a sampled reference has a floor set by the reference's sampling
    density; it is measured and reported). Metrics per method and seed:
    d_m = mean of ``trajectory_distance`` (greedy monotone matching, ||Δ||²/(2P)),
    t_m = largest matched reference time (a flow time, for discrete rules too: their
    points are matched to the flow path without using their own "time", the iteration
    count), the final (best) loss. As in the reference, the matching stops at the first
    point matched to the reference's last point: later points (the method went further
    than the reference) do not enter d_m, and t_m is then a lower bound, shown as ">=".
    A first, untimed pass
    runs every method for 0.3 s (warm-up: imports, lazy set-up).

(b) Time to ||∇L||∞ <= 1e-12 from the same starts
    ours:     ``mgf.train(net, p0, min_gnorm=1e-12, maxtime_ode=60, maxtime_optim=60)``
              (CVODE flow, then Newton), wall time of the call.
    pipeline: PyTorch float64 autograd (gradient by ``torch.autograd.grad``; Hessian by
              the fastest here of ``torch.autograd.functional.hessian`` (vectorize False/
              True) and ``torch.func.hessian``, chosen by timing), the flow with
              ``scipy.integrate.BDF(fun=-grad, jac=-hessian, rtol=atol=1e-6)`` stepped one
              step at a time, stopping when ||∇L||∞ at the step's end is <= 1e-3 (one
              extra gradient per step) or after half the cap; then
              ``scipy.optimize.minimize(method="trust-exact", jac=True, hess=hessian,
              gtol=1e-12)`` with a callback that stops at ||∇L||∞ <= 1e-12 or at the cap
              (``--peer-cap``, default 30 s for flow + optimisation).
    adam:     ``torch.optim.Adam`` (lr 1e-3 and 1e-2), full batch, float64, for
              ``--adam-budget`` seconds; the smallest ||∇L||∞ seen is reported.
    Ratios are peer / ours. A peer that does not get there within its cap gives a lower
    bound (cap / ours). The like-for-like ratio compares the peer's whole run with the
    time ours needs to reach the same ||∇L||∞ (``mgf.train`` with ``min_gnorm`` = the
    peer's best level, same settings).

(c) Solver overhead per accepted step (first seed)
    Phase 1 of cvode_bdf, lsoda, bdf, radau, rodas4 for ``--overhead-budget`` seconds
    (``n_samples_trajectory=100``): (phase-1 time / accepted steps) / t(net.fgh). The
    phase-1 time is the process CPU time of the ``train`` call minus its post-processing
    (the loss curve: one loss per trajectory point, and two gradients), i.e. the
    single-threaded run time without the load of the other users of this machine; t(fgh),
    t(fg), t(loss) are the mean process CPU time of repeated calls (~1 s each), the same
    kind of time. The wall-time versions (phase-1 wall time, best-of wall time of the
    calls, ``_common.time_call``) are reported too. The evaluation counts split the cost
    into derivative evaluations and the solver's own bookkeeping.

Threads and processes
    Each part runs in its own worker process (``_common.run_worker``; the PyTorch peers
    in a process that does not run our engine) with OMP/MKL/OpenBLAS set to one thread
    in the environment, threadpoolctl limits of 1 and ``torch.set_num_threads(1)``.
    Processes are not pinned to a CPU: this 2-core machine is shared and other
    benchmarks pin their single-thread workers to CPU 0. Every run records its CPU
    utilisation (process CPU time / wall time); below ~0.9 the run shared its core.

How to run
    python benchmarks/bench_training.py              # 5 seeds, budget 6 s: ~14 min
    python benchmarks/bench_training.py --quick      # 1 seed, short budgets: ~2 min
    python benchmarks/bench_training.py --seeds 10 --budget 20   # the reference's (~1 h)
    python benchmarks/bench_training.py --parts ab --out DIR     # some parts, other folder
    python benchmarks/bench_training.py --report-only            # redo the markdown

    Writes DIR/training.md and DIR/training.json (default DIR: benchmarks/results/).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import math
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from _common import Recorder, machine_info, run_worker, time_call
from _training_report import write_report

HERE = Path(__file__).resolve().parent
TEACHER = [(4, "softplus", True), (1, "identity", True)]
STUDENT = [(8, "softplus", True), (1, "identity", True)]
N_SAMPLES, DIN = 10_000, 2
FIRST_SEED = 111

RK4_DT = 0.05
FLOW_TOL = 1e-6
REF_TOL = 1e-10
REF_FACTOR = 1.2
N_TRAJ = 1000
N_REF = 4000
WARMUP_S = 0.3
TARGET_GNORM = 1e-12
PIPE_SWITCH_GNORM = 1e-3
ADAM_LRS = (1e-3, 1e-2)
OVERHEAD_SOLVERS = ("cvode_bdf", "lsoda", "bdf", "radau", "rodas4")

# name, kind ("flow" or "rule"), train keywords (the rules are built in the worker)
FLOW_METHODS = [
    ("cvode_bdf", {"alg": "cvode_bdf"}),
    ("cvode_bdf_gmres", {"alg": "cvode_bdf_gmres"}),
    ("rodas4", {"alg": "rodas4"}),
    ("lsoda", {"alg": "lsoda"}),
    ("bdf", {"alg": "bdf"}),
    ("radau", {"alg": "radau"}),
    ("rk45", {"alg": "rk45"}),
    ("dop853", {"alg": "dop853"}),
    ("rk4", {"alg": "rk4"}),
    ("rk4_fixed", {"alg": "rk4_fixed", "dt": RK4_DT}),
]
RULES = [
    ("Descent(1e-3)", "Descent", 1e-3),
    ("Descent(1e-2)", "Descent", 1e-2),
    ("Adam(1e-4)", "Adam", 1e-4),
    ("Adam(1e-3)", "Adam", 1e-3),
]


def config(args) -> dict:
    q = args.quick
    return {
        "seeds": parse_seeds(args.seeds or ("1" if q else "5")),
        "budget": args.budget or (2.0 if q else 6.0),
        "peer_cap": args.peer_cap or (10.0 if q else 30.0),
        "adam_budget": args.adam_budget or (3.0 if q else 5.0),
        "ours_maxtime_ode": 20.0 if q else 60.0,
        "ours_maxtime_optim": 20.0 if q else 60.0,
        "overhead_budget": args.overhead_budget or (1.5 if q else 5.0),
        "quick": q,
        "n_samples": N_SAMPLES,
        "rk4_dt": RK4_DT,
        "flow_tol": FLOW_TOL,
        "ref_tol": REF_TOL,
        "ref_factor": REF_FACTOR,
        "n_traj": N_TRAJ,
        "n_ref": N_REF,
        "target_gnorm": TARGET_GNORM,
        "pipe_switch_gnorm": PIPE_SWITCH_GNORM,
        "adam_lrs": list(ADAM_LRS),
    }


def parse_seeds(text: str) -> list[int]:
    """``"5"``: the first five seeds from 111 (a number up to 100 is a count);
    ``"115"``: that seed; ``"111,115"`` or ``"111-115"``: those."""
    text = str(text).strip()
    if "," in text:
        return [int(s) for s in text.split(",") if s.strip()]
    if "-" in text:
        a, b = (int(s) for s in text.split("-"))
        return list(range(a, b + 1))
    n = int(text)
    return [n] if n > 100 else list(range(FIRST_SEED, FIRST_SEED + n))


# -- the problem -------------------------------------------------------------------------------
def make_problem(seed: int):
    """(net, p0) of the small problem for one seed (see the module docstring)."""
    import mlpgradientflow as mgf

    rng = np.random.default_rng(seed)
    tparams = rng.standard_normal(mgf.Net(TEACHER, din=DIN).nparams)
    teacher = mgf.TeacherNet(TEACHER, din=DIN, params=tparams)
    X = rng.standard_normal((N_SAMPLES, DIN))
    net = mgf.Net(STUDENT, input=X, target=teacher(X))
    return net, net.random_params(rng)


# -- worker plumbing ---------------------------------------------------------------------------
def single_thread() -> list[dict]:
    """threadpoolctl limit of one thread (no CPU pinning, see the module docstring)."""
    from threadpoolctl import threadpool_info, threadpool_limits

    threadpool_limits(limits=1)
    return [
        {
            k: lib.get(k)
            for k in ("filepath", "internal_api", "architecture", "version", "num_threads")
        }
        for lib in threadpool_info()
    ]


def engine_source() -> dict:
    """Where mlpgradientflow is imported from and a hash of its files (it changes during
    development; the report warns when the workers saw different files)."""
    import mlpgradientflow as mgf

    root = Path(mgf.__file__).resolve().parent
    h = hashlib.sha256()
    for f in sorted(root.rglob("*")):
        if f.is_file() and f.suffix in (".py", ".c", ".so"):
            h.update(f.relative_to(root).as_posix().encode())
            h.update(f.read_bytes())
    return {"path": str(root), "sha256": h.hexdigest()[:12]}


def worker_info(fw: str) -> dict:
    return {
        "fw": fw,
        "blas": single_thread(),
        "engine": engine_source(),
        "pid": os.getpid(),
        "loadavg": os.getloadavg(),
    }


def timed_train(net, p0, **kw):
    """``mgf.train`` with its wall and process CPU time."""
    import mlpgradientflow as mgf

    gc.collect()
    c0, t0 = time.process_time(), time.perf_counter()
    res = mgf.train(net, p0, verbosity=0, **kw)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return res, wall, cpu


def make_alg(name: str, spec):
    import mlpgradientflow as mgf

    if isinstance(spec, dict):
        return dict(spec)
    kind, eta = spec
    return {"alg": getattr(mgf, kind)(eta)}


def methods() -> list[tuple[str, str, object]]:
    return [(n, "flow", kw) for n, kw in FLOW_METHODS] + [
        (n, "rule", (kind, eta)) for n, kind, eta in RULES
    ]


def result_summary(res, wall, cpu) -> dict:
    return {
        "loss": float(res.loss),
        "gnorm": float(res.gnorm),
        "iterations": int(res.ode_iterations),
        "optim_iterations": int(res.optim_iterations),
        "n_gradients": int(res.n_gradients),
        "n_hessians": int(res.n_hessians),
        "ode_time": float(res.ode_time_run),
        "optim_time": float(res.optim_time_run),
        "total_time": float(res.total_time),
        "wall": wall,
        "cpu": cpu,
        "cpu_util": cpu / wall if wall > 0 else float("nan"),
        "ode_stopped_by": res.ode_stopped_by,
        "optim_stopped_by": res.optim_stopped_by,
        "ode_message": str(res.info.get("ode_message", "")),
        "t_end": float(res.trajectory.t[-1]) if len(res.trajectory.t) else 0.0,
        "n_traj": int(len(res.trajectory.t)),
    }


# -- (a) trajectory comparison -----------------------------------------------------------------
def flow_worker(rec: Recorder, cfg: dict, tmp: Path) -> None:
    from mlpgradientflow.landscape import trajectory_distance

    if "env:a" not in rec.results:
        rec.result("env:a", worker_info("ours"))
    budget = cfg["budget"]
    if "warmup:a" not in rec.results:
        net, p0 = make_problem(cfg["seeds"][0])
        t0 = time.perf_counter()
        for name, _, spec in methods():
            timed_train(
                net,
                p0,
                **make_alg(name, spec),
                maxtime_ode=WARMUP_S,
                maxiterations_optim=0,
                n_samples_trajectory=10,
            )
        rec.result("warmup:a", {"seconds": time.perf_counter() - t0})
    for seed in cfg["seeds"]:
        net, p0 = make_problem(seed)
        key = f"a/{seed}/ref"
        ref_file = tmp / f"ref_{seed}.npz"
        if key not in rec.results or not ref_file.exists():
            print(f"  (a) seed {seed}: reference", flush=True)
            rec.start(key, {"part": "a", "seed": seed, "method": "reference"})
            res, wall, cpu = timed_train(
                net,
                p0,
                alg="cvode_bdf",
                reltol=REF_TOL,
                abstol=REF_TOL,
                maxtime_ode=REF_FACTOR * budget,
                maxiterations_optim=0,
                n_samples_trajectory=N_REF,
            )
            np.savez(ref_file, t=res.trajectory.t, x=res.trajectory.x)
            rec.result(
                key,
                {
                    "part": "a",
                    "seed": seed,
                    "method": "reference",
                    "status": "ok",
                    **result_summary(res, wall, cpu),
                    **floor(res.trajectory, trajectory_distance),
                },
            )
        with np.load(ref_file) as z:
            ref = (z["t"], z["x"])
        todo = [(n, k, s) for n, k, s in methods()]
        if seed == cfg["seeds"][0]:  # how accurate is the reference: a second tight solver
            todo.append(
                (
                    "lsoda 1e-10 (ref check)",
                    "check",
                    {"alg": "lsoda", "reltol": REF_TOL, "abstol": REF_TOL},
                )
            )
        for name, kind, spec in todo:
            key = f"a/{seed}/{name}"
            if key in rec.results:
                continue
            print(f"  (a) seed {seed}: {name}", flush=True)
            meta = {"part": "a", "seed": seed, "method": name, "kind": kind}
            rec.start(key, meta)
            kw = make_alg(name, spec)
            maxtime = budget * (REF_FACTOR if kind == "check" else 1.0)
            kw.setdefault("reltol", FLOW_TOL)
            kw.setdefault("abstol", FLOW_TOL)
            res, wall, cpu = timed_train(
                net,
                p0,
                **kw,
                maxtime_ode=maxtime,
                maxiterations_optim=0,
                n_samples_trajectory=N_TRAJ,
            )
            rec.result(
                key,
                {
                    **meta,
                    "status": "ok",
                    **result_summary(res, wall, cpu),
                    **distances(res.trajectory, ref, trajectory_distance),
                },
            )


def distances(traj, ref, trajectory_distance) -> dict:
    """d_m and t_m as the reference computes them: the matching stops at the first point
    matched to the reference's last point (MLPGradientFlow.jl breaks there), so points
    beyond the end of the reference do not enter d_m; the mean over all points is kept
    as ``d_m_all``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d, tm, idx = trajectory_distance(traj, ref)
    last = len(ref[0]) - 1
    hit = np.flatnonzero(idx == last)
    k = int(hit[0]) + 1 if hit.size else len(d)
    return {
        "d_m": float(d[:k].mean()),
        "d_max": float(d[:k].max()),
        "n_compared": k,
        "d_m_all": float(d.mean()),
        "t_m": float(tm[:k].max()),
        "ref_end_reached": bool(hit.size),
        "n_points": int(len(d)),
    }


def floor(traj, trajectory_distance) -> dict:
    """The sampling floor of d_m: the reference's odd points against its even points
    (a reference of half the density); with all points it is about 4 times smaller."""
    t, x = np.asarray(traj.t), np.asarray(traj.x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d, _, _ = trajectory_distance((t[1::2], x[1::2]), (t[::2], x[::2]))
    return {"floor_half_density": float(d.mean())}


# -- (b) PyTorch + SciPy peers -------------------------------------------------------------------
def torch_problem(net, torch):
    """The same mean squared-error loss of the same flat parameter vector, in PyTorch."""
    X = torch.tensor(np.asarray(net.input), dtype=torch.float64)
    Y = torch.tensor(np.asarray(net.target), dtype=torch.float64)
    (k1, n1), (k2, n2) = net.shapes
    o2 = net.offsets[1]
    softplus = torch.nn.functional.softplus

    def loss(p):
        M1 = p[:o2].reshape(k1, n1)
        M2 = p[o2:].reshape(k2, n2)
        h = softplus(X @ M1[:, :-1].T + M1[:, -1], beta=1.0, threshold=34.0)
        out = h @ M2[:, :-1].T + M2[:, -1]
        return ((out - Y) ** 2).sum(1).mean()

    return loss


def hessian_variants(loss, torch) -> dict:
    return {
        "torch.autograd.functional.hessian": lambda p: torch.autograd.functional.hessian(loss, p),
        "torch.autograd.functional.hessian(vectorize=True)": lambda p: (
            torch.autograd.functional.hessian(loss, p, vectorize=True)
        ),
        "torch.func.hessian": lambda p: torch.func.hessian(loss)(p),
    }


class TorchDerivs:
    """Counted gradient and Hessian of the PyTorch loss on NumPy vectors."""

    def __init__(self, loss, hess, torch) -> None:
        self.loss, self.hess_fn, self.torch = loss, hess, torch
        self.n_g = self.n_h = 0
        self.last: tuple | None = None

    def fg(self, x):
        self.n_g += 1
        p = self.torch.tensor(x, dtype=self.torch.float64, requires_grad=True)
        val = self.loss(p)
        (g,) = self.torch.autograd.grad(val, p)
        out = float(val), g.numpy()
        self.last = (np.array(x, copy=True), out[1])
        return out

    def grad_at(self, x):
        """The gradient at x, reusing the last evaluation when it was at x."""
        if self.last is not None and np.array_equal(self.last[0], x):
            return self.last[1]
        return self.fg(x)[1]

    def hess(self, x):
        self.n_h += 1
        return self.hess_fn(self.torch.tensor(x, dtype=self.torch.float64)).numpy()


def peer_worker(rec: Recorder, cfg: dict) -> None:
    import scipy.integrate
    import scipy.optimize
    import torch

    torch.set_num_threads(1)
    if "env:b-peer" not in rec.results:
        info = worker_info("torch")
        info["torch_threads"] = torch.get_num_threads()
        info["torch_config"] = [
            ln.strip()
            for ln in torch.__config__.show().splitlines()
            if "Math Kernel" in ln or "CPU capability" in ln or "OpenMP" in ln
        ]
        rec.result("env:b-peer", info)
    chosen = rec.results.get("hessian-choice:b")
    for seed in cfg["seeds"]:
        net, p0 = make_problem(seed)
        loss = torch_problem(net, torch)
        variants = hessian_variants(loss, torch)
        if chosen is None:
            pt = torch.tensor(p0)
            times = {
                k: time_call(lambda f=f, pt=pt: f(pt), 0.5)[0].best for k, f in variants.items()
            }
            H = net.hessian(p0)
            err = {
                k: float(np.abs(f(pt).numpy() - H).max() / np.abs(H).max())
                for k, f in variants.items()
            }
            pr = pt.clone().requires_grad_(True)
            gt = torch.autograd.grad(loss(pr), pr)[0].numpy()
            tg = time_call(lambda loss=loss, pt=pt: _tgrad(loss, pt, torch), 0.5)[0]
            chosen = rec.result(
                "hessian-choice:b",
                {
                    "times": times,
                    "rel_err_vs_ours": err,
                    "choice": min(times, key=times.get),
                    "grad_time": tg.best,
                    "grad_err_vs_ours": float(np.abs(gt - net.gradient(p0)).max()),
                    "loss_rel_err_vs_ours": abs(float(loss(pt)) - net.loss(p0)) / net.loss(p0),
                },
            )
        hess = variants[chosen["choice"]]
        key = f"b/{seed}/pipeline"
        if key not in rec.results:
            print(f"  (b) seed {seed}: PyTorch + SciPy pipeline", flush=True)
            rec.start(key, {"part": "b", "seed": seed, "method": "pipeline"})
            rec.result(
                key,
                {
                    "part": "b",
                    "seed": seed,
                    "method": "pipeline",
                    "status": "ok",
                    **pipeline(
                        loss, hess, p0, cfg["peer_cap"], torch, scipy.integrate, scipy.optimize
                    ),
                },
            )
        for lr in ADAM_LRS:
            key = f"b/{seed}/adam{lr:g}"
            if key not in rec.results:
                print(f"  (b) seed {seed}: torch Adam lr={lr:g}", flush=True)
                rec.start(key, {"part": "b", "seed": seed, "method": f"torch Adam({lr:g})"})
                rec.result(
                    key,
                    {
                        "part": "b",
                        "seed": seed,
                        "method": f"torch Adam({lr:g})",
                        "status": "ok",
                        "lr": lr,
                        **torch_adam(loss, p0, lr, cfg["adam_budget"], torch),
                    },
                )


def _tgrad(loss, pt, torch):
    p = pt.clone().requires_grad_(True)
    return torch.autograd.grad(loss(p), p)[0]


def pipeline(loss, hess, p0, cap, torch, integrate, optimize) -> dict:
    """BDF flow to ||g||inf <= 1e-3 (or half the cap), then trust-exact to 1e-12 (or the cap)."""
    D = TorchDerivs(loss, hess, torch)
    D.fg(p0), D.hess(p0)  # warm-up (not timed, not counted)
    D.n_g = D.n_h = 0
    gc.collect()
    c0, t0 = time.process_time(), time.perf_counter()
    best = {"gnorm": math.inf, "t": None, "x": np.array(p0, dtype=float)}

    def note(x, g):
        gn = float(np.abs(g).max())
        if gn < best["gnorm"]:
            best.update(gnorm=gn, x=np.array(x, copy=True))
        if gn <= TARGET_GNORM and best["t"] is None:
            best["t"] = time.perf_counter() - t0
        return gn

    solver = integrate.BDF(
        lambda t, y: -D.fg(y)[1],
        0.0,
        np.array(p0, dtype=float),
        np.inf,
        jac=lambda t, y: -D.hess(y),
        rtol=FLOW_TOL,
        atol=FLOW_TOL,
    )
    steps, flow_msg, gn = 0, "", math.inf
    while True:
        msg = solver.step()
        if solver.status == "failed":
            flow_msg = f"BDF failed: {msg}"
            break
        steps += 1
        gn = note(solver.y, D.fg(solver.y)[1])
        if gn <= PIPE_SWITCH_GNORM:
            flow_msg = f"|g|inf <= {PIPE_SWITCH_GNORM:g}"
            break
        if time.perf_counter() - t0 > cap / 2:
            flow_msg = "half the cap"
            break
    t_flow = time.perf_counter() - t0
    flow = {
        "flow_time": t_flow,
        "flow_steps": steps,
        "flow_t": float(solver.t),
        "flow_gnorm": gn,
        "flow_stop": flow_msg,
        "flow_n_g": D.n_g,
        "flow_n_h": D.n_h,
    }
    state = {"it": 0, "stop": ""}

    def callback(intermediate_result):
        state["it"] += 1
        x = intermediate_result.x
        gn = note(x, D.grad_at(x))
        if gn <= TARGET_GNORM:
            state["stop"] = f"|g|inf <= {TARGET_GNORM:g}"
            raise StopIteration
        if time.perf_counter() - t0 > cap:
            state["stop"] = f"cap {cap:g} s"
            raise StopIteration

    opt = optimize.minimize(
        D.fg,
        solver.y.copy(),
        jac=True,
        hess=D.hess,
        method="trust-exact",
        callback=callback,
        options={"gtol": TARGET_GNORM, "maxiter": 10**7},
    )
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    final_g = float(np.abs(D.grad_at(opt.x)).max())
    note(opt.x, D.grad_at(opt.x))
    return {
        **flow,
        "opt_time": wall - t_flow,
        "opt_iterations": state["it"],
        "opt_stop": state["stop"] or "scipy ended by itself",
        "opt_message": str(opt.message),
        "wall": wall,
        "cpu": cpu,
        "cpu_util": cpu / wall,
        "n_g": D.n_g,
        "n_h": D.n_h,
        "final_gnorm": final_g,
        "best_gnorm": best["gnorm"],
        "loss": float(opt.fun),
        "reached": best["t"] is not None,
        "time_to_target": best["t"],
    }


def torch_adam(loss, p0, lr, budget, torch) -> dict:
    """Full-batch Adam in PyTorch for ``budget`` seconds; the smallest ||g||inf seen."""
    p = torch.tensor(p0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([p], lr=lr)
    gc.collect()
    c0, t0 = time.process_time(), time.perf_counter()
    it, best_g, best_loss, t_best = 0, math.inf, math.inf, 0.0
    while True:
        opt.zero_grad(set_to_none=False)
        val = loss(p)
        val.backward()
        gn = float(p.grad.abs().max())
        lv = float(val)
        if gn < best_g:
            best_g, t_best = gn, time.perf_counter() - t0
        best_loss = min(best_loss, lv)
        if gn <= TARGET_GNORM or time.perf_counter() - t0 > budget:
            break
        opt.step()
        it += 1
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "iterations": it,
        "best_gnorm": best_g,
        "time_best": t_best,
        "final_gnorm": gn,
        "loss": lv,
        "best_loss": best_loss,
        "wall": wall,
        "cpu": cpu,
        "cpu_util": cpu / wall,
        "reached": gn <= TARGET_GNORM,
    }


# -- (b) ours --------------------------------------------------------------------------------------
def ours_worker(rec: Recorder, cfg: dict, levels: dict) -> None:
    if "env:b-ours" not in rec.results:
        rec.result("env:b-ours", worker_info("ours"))
    kw = dict(maxtime_ode=cfg["ours_maxtime_ode"], maxtime_optim=cfg["ours_maxtime_optim"])
    if "warmup:b" not in rec.results:
        net, p0 = make_problem(cfg["seeds"][0])
        timed_train(net, p0, min_gnorm=1e-3, maxtime_ode=1.0, maxtime_optim=1.0)
        rec.result("warmup:b", {})
    for seed in cfg["seeds"]:
        net, p0 = make_problem(seed)
        key = f"b/{seed}/ours"
        if key not in rec.results:
            print(f"  (b) seed {seed}: ours to 1e-12", flush=True)
            rec.start(key, {"part": "b", "seed": seed, "method": "ours"})
            res, wall, cpu = timed_train(net, p0, min_gnorm=TARGET_GNORM, **kw)
            rec.result(
                key,
                {
                    "part": "b",
                    "seed": seed,
                    "method": "ours",
                    "status": "ok",
                    "reached": bool(res.gnorm <= TARGET_GNORM),
                    **result_summary(res, wall, cpu),
                },
            )
        for peer, level in sorted(levels.get(str(seed), {}).items()):
            key = f"b/{seed}/ours-to/{peer}"
            if key in rec.results or not level > TARGET_GNORM:
                continue
            print(f"  (b) seed {seed}: ours to {peer}'s level {level:.3g}", flush=True)
            rec.start(key, {"part": "b", "seed": seed, "method": f"ours to {peer}"})
            res, wall, cpu = timed_train(net, p0, min_gnorm=level, **kw)
            rec.result(
                key,
                {
                    "part": "b",
                    "seed": seed,
                    "method": f"ours to {peer}",
                    "peer": peer,
                    "level": level,
                    "status": "ok",
                    "reached": bool(res.gnorm <= level),
                    **result_summary(res, wall, cpu),
                },
            )


# -- (c) solver overhead ----------------------------------------------------------------------
def overhead_worker(rec: Recorder, cfg: dict) -> None:
    if "env:c" not in rec.results:
        rec.result("env:c", worker_info("ours"))
    seed = cfg["seeds"][0]
    net, p0 = make_problem(seed)
    if "c/costs" not in rec.results:
        calls = {"fg": lambda: net.fg(p0), "fgh": lambda: net.fgh(p0), "loss": lambda: net.loss(p0)}
        costs = {f"t_{k}": time_call(f, 1.0)[0].best for k, f in calls.items()}
        costs.update({f"cpu_{k}": cpu_per_call(f, 1.0) for k, f in calls.items()})
        rec.result("c/costs", costs)
    costs = rec.results["c/costs"]
    for alg in OVERHEAD_SOLVERS:
        key = f"c/{alg}"
        if key in rec.results:
            continue
        print(f"  (c) {alg}", flush=True)
        rec.start(key, {"part": "c", "seed": seed, "method": alg})
        timed_train(net, p0, alg=alg, maxtime_ode=WARMUP_S, maxiterations_optim=0)
        res, wall, cpu = timed_train(
            net,
            p0,
            alg=alg,
            maxtime_ode=cfg["overhead_budget"],
            maxiterations_optim=0,
            n_samples_trajectory=100,
        )
        s = result_summary(res, wall, cpu)
        post = s["n_traj"] * costs["cpu_loss"] + 2 * costs["cpu_fg"]
        rec.result(
            key,
            {
                "part": "c",
                "seed": seed,
                "method": alg,
                "status": "ok",
                **s,
                "post_estimate": post,
                "phase1_cpu": cpu - post,
                "t_fgh_end": time_call(lambda x=res.x: net.fgh(x), 0.3)[0].best,
            },
        )


def cpu_per_call(fn, seconds: float) -> float:
    """Mean process CPU time of ``fn()`` over repeated calls lasting about ``seconds``: the
    cost as a solver sees it (the same memory and cache state, no preemption)."""
    fn()
    n, c0 = 0, time.process_time()
    while time.process_time() - c0 < seconds or n < 5:
        fn()
        n += 1
    return (time.process_time() - c0) / n


# -- parent ----------------------------------------------------------------------------------------
def worker_env() -> tuple[dict, dict]:
    env = dict(os.environ)
    removed = {k: env.pop(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in env}
    for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[k] = "1"
    return env, removed


def peer_levels(records: list[dict]) -> dict:
    """Per seed, the best ||g||inf each peer reached (the level ours is timed to)."""
    out: dict = {}
    for r in records:
        if r.get("part") == "b" and r.get("status") == "ok" and "best_gnorm" in r:
            name = "pipeline" if r["method"] == "pipeline" else f"adam{r['lr']:g}"
            out.setdefault(str(r["seed"]), {})[name] = r["best_gnorm"]
    return out


def part_of(record: dict) -> str:
    """'a', 'b' or 'c' from a record's key (``a/111/rk45``, ``env:b-peer``, ``c/costs``)."""
    key = record.get("key", "")
    return key.split(":", 1)[1][0] if ":" in key else key[:1]


def merge_previous(out: Path, records, info, cfg, parts: str):
    """With ``--parts`` a subset, keep the other parts' records of the previous
    training.json in ``out`` (same seeds only), so one part can be redone."""
    prev_file = out / "training.json"
    if set(parts) >= set("abc") or not prev_file.exists():
        return records, info, cfg
    prev = json.loads(prev_file.read_text())
    if prev.get("config", {}).get("seeds") != cfg["seeds"]:
        print("  (previous training.json has other seeds: not merged)")
        return records, info, cfg
    kept = [r for r in prev["records"] if part_of(r) not in parts]
    info = {
        **prev["machine"],
        "rerun": {
            "parts": parts,
            "date": info["date"],
            "loadavg": [info["loadavg_start"], info["loadavg_end"]],
            "wall_s": info["wall_s"],
        },
    }
    own = {
        "a": ("budget",),
        "b": ("peer_cap", "adam_budget", "ours_maxtime_ode", "ours_maxtime_optim"),
        "c": ("overhead_budget",),
    }
    merged_cfg = {**cfg, **prev.get("config", {})}
    merged_cfg.update({k: cfg[k] for p in parts for k in own.get(p, ())})
    print(f"  merged with the records of parts {sorted({part_of(r) for r in kept})} of {prev_file}")
    return kept + records, info, merged_cfg


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="1 seed, short budgets (~2 min)")
    ap.add_argument("--out", default=str(HERE / "results"), help="results folder")
    ap.add_argument(
        "--seeds",
        help="number of seeds from 111 (default 5; quick 1; a number "
        "> 100 is one seed), or a list '111,113' or range '111-120'",
    )
    ap.add_argument("--budget", type=float, help="(a) wall seconds per method (default 6; quick 2)")
    ap.add_argument(
        "--peer-cap",
        type=float,
        help="(b) cap of the PyTorch+SciPy pipeline, s (default 30; quick 10)",
    )
    ap.add_argument(
        "--adam-budget", type=float, help="(b) seconds of PyTorch Adam per lr (default 5; quick 3)"
    )
    ap.add_argument("--overhead-budget", type=float, help="(c) seconds per solver (default 5)")
    ap.add_argument("--parts", default="abc", help="which parts to run (default abc)")
    ap.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite training.md from training.json in --out, measuring nothing",
    )
    ap.add_argument("--worker", choices=["a", "b-peer", "b-ours", "c"], help=argparse.SUPPRESS)
    ap.add_argument("--jsonl", help=argparse.SUPPRESS)
    ap.add_argument("--config", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    out = Path(args.out)
    if args.worker:
        cfg = json.loads(Path(args.config).read_text())
        rec = Recorder(Path(args.jsonl))
        if args.worker == "a":
            flow_worker(rec, cfg, Path(args.jsonl).parent)
        elif args.worker == "b-peer":
            peer_worker(rec, cfg)
        elif args.worker == "b-ours":
            ours_worker(rec, cfg, cfg["levels"])
        else:
            overhead_worker(rec, cfg)
        return 0
    if args.report_only:
        saved = json.loads((out / "training.json").read_text())
        write_report(out / "training.md", saved["records"], saved["machine"], saved["config"])
        print(f"wrote {out / 'training.md'}")
        return 0

    cfg = config(args)
    info = machine_info(("mlpgradientflow", "numpy", "scipy", "torch", "scikit-sundae", "threadpoolctl"))
    info["argv"] = list(sys.argv[1:] if argv is None else argv)
    env, info["openblas_env_removed"] = worker_env()
    t_start = time.perf_counter()
    records: list[dict] = []
    print(
        f"bench_training: seeds {cfg['seeds']}, budget {cfg['budget']:g} s, parts {args.parts}",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        jobs = [
            (p, w)
            for p, w in (("a", "a"), ("b", "b-peer"), ("b", "b-ours"), ("c", "c"))
            if p in args.parts
        ]
        for part, worker in jobs:
            print(f"== part ({part}): {worker}", flush=True)
            t0 = time.perf_counter()
            if worker == "b-ours":
                cfg["levels"] = peer_levels(records)
            cfg_file = tmp / f"config_{worker}.json"
            cfg_file.write_text(json.dumps(cfg))
            jsonl = tmp / f"{worker}.jsonl"
            wargs = ["--worker", worker, "--jsonl", str(jsonl), "--config", str(cfg_file)]
            records += run_worker(Path(__file__), wargs, jsonl, env)
            info[f"wall_{worker}_s"] = time.perf_counter() - t0
    cfg.pop("levels", None)
    info["loadavg_end"] = os.getloadavg()
    info["wall_s"] = time.perf_counter() - t_start
    info["parts"] = args.parts
    records, info, cfg = merge_previous(out, records, info, cfg, args.parts)
    out.mkdir(parents=True, exist_ok=True)
    raw = [{k: v for k, v in r.items() if k != "event"} for r in records]
    summary = write_report(out / "training.md", raw, info, cfg)
    with open(out / "training.json", "w") as f:
        json.dump(
            {"machine": info, "config": cfg, "summary": summary, "records": raw},
            f,
            indent=1,
            default=float,
        )
    print(f"wrote {out / 'training.md'} and {out / 'training.json'} ({info['wall_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
