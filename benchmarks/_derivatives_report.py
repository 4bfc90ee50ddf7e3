"""Tables, target checks and the cross-framework consistency check of bench_derivatives.

Ratios are peer time / our time (> 1: ours is faster). A peer that was skipped by the
20 s rule enters with its linear estimate (shown with ~); a peer that ran out of memory
cannot compute the quantity at all and counts as slower than ours.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

TOL = 1e-8  # largest accepted relative spread across frameworks
RATE_FRACTION = 0.5  # our Hessian's N P^2 / t as a fraction of the SYRK rate


# -- reading the records ---------------------------------------------------------------
@dataclass
class Entry:
    """One framework's best method for one quantity at one grid point."""

    status: str  # ok, OOM, skipped, crashed
    time: float | None = None  # measured seconds
    est: float | None = None  # skip-rule estimate, seconds
    label: str = ""
    after: str | None = None  # for a skip: the status at the smaller N that caused it

    @property
    def seconds(self) -> float | None:
        """Measured or estimated time; None when the peer could not run."""
        return self.time if self.status == "ok" else self.est

    def shown(self, with_label: bool = False) -> str:
        if self.status == "ok":
            text = fmt_time(self.time)
        elif self.est is not None:
            text = f"skip (~{fmt_time(self.est)})"
        elif self.after:
            text = f"{self.after} (skip)"
        else:
            text = self.status
        return f"{text} ({self.label})" if with_label and self.label else text


def best_entry(records: list[dict]) -> Entry:
    """The fastest of a framework's methods (measured or estimated) for one quantity."""
    entries = [
        Entry(r["status"], r.get("time"), r.get("est"), r["label"], r.get("after")) for r in records
    ]
    timed = [e for e in entries if e.seconds is not None]
    if timed:
        return min(timed, key=lambda e: e.seconds)
    return next((e for e in entries if "OOM" in (e.status, e.after)), entries[0])


class Runs:
    """Records indexed by (framework, threads, cell key, kind)."""

    def __init__(self, records: list[dict]) -> None:
        self.by = defaultdict(list)
        self.cells: dict[str, dict] = {}
        self.env: dict = {}
        self.syrk: dict = {}
        self.memory = None
        for r in records:
            if r["key"] == "env":
                self.env[(r["fw"], r["threads"])] = r
            elif r["fw"] == "syrk":
                self.syrk[(r["threads"], r["P"], r["impl"])] = r["gflops"]
            elif r["fw"] == "memory":
                self.memory = r
            else:
                key = cell_key(r["cell"])
                self.cells.setdefault(key, r["cell"])
                self.by[(r["fw"], r["threads"], key, r["kind"])].append(r)

    def entry(self, fw, threads, key, kind) -> Entry | None:
        recs = self.by.get((fw, threads, key, kind))
        return best_entry(recs) if recs else None

    def syrk_slowdowns(self, threads) -> list[str]:
        """SYRK measurements with ``threads`` threads slower than with one thread."""
        return [
            f"{impl} P={P}: {g:.3g} vs {self.syrk[(1, P, impl)]:.3g} GF/s"
            for (t, P, impl), g in sorted(self.syrk.items())
            if t == threads > 1 and (1, P, impl) in self.syrk and g < self.syrk[(1, P, impl)]
        ]

    def syrk_rate(self, threads, P) -> float | None:
        """Best SYRK rate at P with at most ``threads`` threads (the machine's floor)."""
        rates = [g for (t, p, _), g in self.syrk.items() if t <= threads and p == P]
        return max(rates) if rates else None


def cell_key(c: dict) -> str:
    return f"din{c['din']}_h{'-'.join(map(str, c['hidden']))}_N{c['n']}"


def nparams(c: dict) -> int:
    widths = (c["din"], *c["hidden"], 1)
    return sum((a + 1) * b for a, b in pairwise(widths))


# -- formatting -----------------------------------------------------------------------
def fmt_time(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.3g} ms"
    return f"{s:.3g} s"


def fmt_ratio(peer: Entry | None, ours: Entry | None, target: float, fails: list, where: str):
    """``peer/ours`` with a ✓/✗ against ``target``; misses are appended to ``fails``."""
    if peer is None or ours is None or ours.status != "ok":
        return "—"
    if peer.seconds is None:  # the peer could not run (OOM) or crashed
        if peer.status == "crashed":
            fails.append(f"{where}: peer crashed")
            return "crashed ✗"
        return "— ✓"
    r = peer.seconds / ours.time
    ok = r >= target
    if not ok:
        fails.append(f"{where}: {r:.2f}× (target ≥ {target:g}×)")
    return f"{'~' if peer.status != 'ok' else ''}{r:.3g}× {'✓' if ok else '✗'}"


def table(lines: list[str], header: list[str], rows: list[list[str]]) -> None:
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join("---:" for _ in header) + "|")
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    lines.append("")


# -- checks ----------------------------------------------------------------------------
def consistency(records: list[dict]) -> dict:
    """Largest relative spread across all frameworks, methods and thread counts of the
    loss, the gradient (max-norm of the differences over the max-norm of ours) and
    v^T H w, per grid point and overall."""
    by_cell = defaultdict(lambda: {"loss": [], "grad": [], "vHw": [], "ours_grad": None})
    for r in records:
        if r.get("status") != "ok" or "cell" not in r:
            continue
        d = by_cell[cell_key(r["cell"])]
        if r["kind"] == "grad":
            d["loss"].append(r["loss"])
            d["grad"].append(np.asarray(r["grad"]))
            if r["fw"] == "ours":
                d["ours_grad"] = d["grad"][-1]
        else:
            d["vHw"].append(r["vHw"])
    per_cell = {}
    for key, d in by_cell.items():
        loss, vhw = np.array(d["loss"]), np.array(d["vHw"])
        G = np.array(d["grad"])
        per_cell[key] = {
            "loss": float(np.ptp(loss) / np.abs(loss).max()),
            "grad": float(np.ptp(G, axis=0).max() / np.abs(d["ours_grad"]).max()),
            "vHw": float(np.ptp(vhw) / np.abs(vhw).max()),
            "n_grad": len(loss),
            "n_hess": len(vhw),
        }
    worst = {
        q: max(((v[q], k) for k, v in per_cell.items()), default=(0.0, None))
        for q in ("loss", "grad", "vHw")
    }
    ok = all(v <= TOL for v, _ in worst.values())
    return {"tol": TOL, "ok": ok, "worst": worst, "per_cell": per_cell}


# -- the report --------------------------------------------------------------------------
def write_report(path, records: list[dict], info: dict, threads_list, cons: dict) -> dict:
    """Write the markdown report from the records (gradients not needed) and the result
    of :func:`consistency`; return the summary (targets, consistency, memory)."""
    runs = Runs(records)
    fails = defaultdict(list)  # target name -> misses
    L = ["# Derivative engine vs PyTorch and JAX", ""]
    mode = " --quick" if info["quick"] else ""
    L.append(
        f"Generated by `python benchmarks/bench_derivatives.py{mode}` on "
        f"{info['date']} ({info['wall_s'] / 60:.1f} min)."
        " float64 throughout."
    )
    L.append("")
    _machine(L, info, runs, threads_list)
    _method(L)

    for threads in threads_list:
        L.append(f"## {threads} thread{'s' if threads > 1 else ''}")
        L.append("")
        slower = runs.syrk_slowdowns(threads)
        if slower:
            L.append(
                f"**Warning: SYRK ran slower with {threads} threads than with 1 ("
                + ", ".join(slower)
                + "): a core was busy with other work during these runs, so this table's "
                "timings are unreliable.**"
            )
            L.append("")
        header = [
            "Din",
            "hidden",
            "N",
            "P",
            "grad ours",
            "grad torch",
            "grad jax",
            "torch/ours",
            "jax/ours",
            "hess ours",
            "hess torch (API)",
            "hess jax",
            "torch/ours",
            "jax/ours",
            "ours GF/s",
            "SYRK GF/s",
        ]
        rows = []
        for key, c in runs.cells.items():
            P, n = nparams(c), c["n"]
            where = f"{threads}t Din={c['din']} h={'-'.join(map(str, c['hidden']))} N={n}"
            e = {
                (fw, kind): runs.entry(fw, threads, key, kind)
                for fw in ("ours", "torch", "jax")
                for kind in ("grad", "hess")
            }
            g_target = 2.0 if (n <= 100 or n == 100_000) else 1.0
            big = P >= 201 and n >= 1000
            og, oh = e[("ours", "grad")], e[("ours", "hess")]
            rate = n * P * P / oh.time / 1e9 if oh and oh.status == "ok" else None
            syrk = runs.syrk_rate(threads, P)
            rate_txt = "—" if rate is None else f"{rate:.3g}"
            if rate is not None and syrk is not None:
                frac = rate / syrk
                rate_txt += f" ({frac:.0%})"
                if P >= 201 and n >= 10_000:
                    ok = frac >= RATE_FRACTION
                    rate_txt += " ✓" if ok else " ✗"
                    if not ok:
                        fails["rate"].append(f"{where}: {frac:.0%} of SYRK")
            rows.append(
                [
                    str(c["din"]),
                    "-".join(map(str, c["hidden"])),
                    f"{n:g}",
                    str(P),
                    og.shown() if og else "—",
                    e[("torch", "grad")].shown(True) if e[("torch", "grad")] else "—",
                    e[("jax", "grad")].shown() if e[("jax", "grad")] else "—",
                    fmt_ratio(e[("torch", "grad")], og, g_target, fails["grad"], where + " torch"),
                    fmt_ratio(e[("jax", "grad")], og, g_target, fails["grad"], where + " jax"),
                    oh.shown() if oh else "—",
                    e[("torch", "hess")].shown(True) if e[("torch", "hess")] else "—",
                    e[("jax", "hess")].shown() if e[("jax", "hess")] else "—",
                    fmt_ratio(
                        e[("torch", "hess")],
                        oh,
                        30.0 if big else 1.0,
                        fails["hess"],
                        where + " torch",
                    ),
                    fmt_ratio(
                        e[("jax", "hess")], oh, 20.0 if big else 1.0, fails["hess"], where + " jax"
                    ),
                    rate_txt,
                    f"{syrk:.3g}" if syrk is not None else "—",
                ]
            )
        table(L, header, rows)
        L.append(
            "CPU utilisation (process CPU time / wall time, mean over the timed calls): "
            + ", ".join(f"{fw} {u:.2f}" for fw, u in _utilisation(records, threads))
        )
        L.append("")
    _legend(L)
    _compile_table(L, runs, threads_list)
    _syrk_table(L, runs, threads_list)
    memory = _memory(L, runs, fails)
    _consistency(L, cons)
    targets = _targets(L, fails)
    with open(path, "w") as f:
        f.write("\n".join(L))
    return {"targets": targets, "consistency": cons, "memory": memory}


def _machine(L, info, runs, threads_list) -> None:
    v = info["versions"]
    L += ["## Machine", ""]
    L.append(
        f"- CPU: {info['cpu']}, {info['cores']} cores, {info['memory_gib']:.1f} GiB; "
        f"{info['platform']}; Python {info['python']}"
    )
    L.append(
        "- versions: "
        + ", ".join(f"{k} {x}" for k, x in v.items())
        + f"; repository at `{info['git']}`"
    )
    for threads in threads_list:
        env = runs.env.get(("ours", threads), {})
        libs = "; ".join(
            f"`{b['filepath'].rsplit('/', 1)[-1]}` {b['internal_api']} {b['version']}, "
            f"kernel {b['architecture']}, {b['num_threads']} thread(s)"
            for b in env.get("blas", [])
            if b.get("internal_api") == "openblas"
        )
        L.append(f"- NumPy/SciPy BLAS ({threads} thread run): {libs}")
    sources = {
        (e["engine"]["path"], e["engine"]["sha256"]) for e in runs.env.values() if "engine" in e
    }
    if len(sources) == 1:
        ((where, sha),) = sources
        L.append(f"- mlpgradientflow imported from `{where}`, files sha256 `{sha}` (every worker)")
    elif sources:
        L.append(
            "- **Warning: the mlpgradientflow files changed during the run; the workers saw "
            + ", ".join(f"`{w}` `{sha}`" for w, sha in sorted(sources))
            + " (per worker in the JSON `env` records), so rows may mix engine versions.**"
        )
    tenv = runs.env.get(("torch", threads_list[0]), {})
    if tenv:
        L.append(f"- torch: {'; '.join(tenv.get('torch_build', []))}")
    for threads in threads_list:
        jenv = runs.env.get(("jax", threads), {})
        if jenv:
            L.append(f"- jax ({threads} thread run): `XLA_FLAGS={jenv['XLA_FLAGS']}`")
    removed = info["openblas_env_removed"]
    L.append(
        "- OpenBLAS environment: "
        + (
            f"removed for the workers: {removed}"
            if removed
            else "OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE not set"
        )
    )
    L.append(
        f"- load average at start {tuple(round(x, 2) for x in info['loadavg_start'])}, "
        f"at end {tuple(round(x, 2) for x in info['loadavg_end'])} (the machine is "
        "shared; best-of timing limits the effect)"
    )
    L.append("")


def _method(L) -> None:
    L += [
        "## Method",
        "",
        "- Same loss of the same flat parameter vector in every framework: "
        "L = (1/N) Σ_n Σ_o (out − y)², softplus hidden layers, identity output, biases.",
        "- Timing: warm-up, then the **best** (minimum) of several samples with "
        "`time.perf_counter` (sample count adapted to ~0.5 s per measurement; calls over "
        "20 s timed once). JAX compile time (`.lower().compile()`) is excluded and listed "
        "separately; JAX calls end with `block_until_ready()`.",
        "- Threads: each (framework, thread count) is a separate process; threadpoolctl "
        "limits NumPy/SciPy BLAS, `torch.set_num_threads(n)`, XLA_FLAGS set before jax is "
        "imported; the 1-thread processes are also pinned to one CPU (sched_setaffinity).",
        "- grad torch: eager forward + `loss.backward()`, on leaf tensors (W_l, b_l) "
        "(`leaf`) or on one flat vector (`flat`); the faster is shown. grad jax: "
        "`jit(value_and_grad)`. hess torch: fastest of `torch.func.hessian` (`func`), "
        "`torch.autograd.functional.hessian` with vectorize=False (`autograd`) and "
        "vectorize=True (`autograd-vec`). hess jax: `jit(jax.hessian)`.",
        "- Skip rule: a peer method whose time at the next-smaller N, scaled linearly in N, "
        "exceeds 20 s is not run (`skip (~estimate)`; the estimate enters the ratio, "
        "marked ~). Peer processes run under a 16 GiB address-space cap; allocation "
        "failures are reported as OOM, and larger N of that method as `OOM (skip)`.",
        "",
    ]


def _legend(L) -> None:
    L += [
        "Ratios are peer time / our time (> 1: ours is faster); ✓/✗ against the target "
        "that applies at that point: Hessian ≥ 30× torch and ≥ 20× jax where P ≥ 201 and "
        "N ≥ 1000, else ≥ 1×; gradient ≥ 2× at N ≤ 100 and N = 10^5, else ≥ 1×; `— ✓`: "
        "the peer could not run (OOM). ours GF/s = N·P²/t of our Hessian (in brackets: "
        "fraction of the SYRK rate, target ≥ 50% where P ≥ 201 and N ≥ 10^4); SYRK GF/s: "
        "the best of NumPy `R.T @ R` and SciPy `dsyrk` on 1024-row chunks with at most "
        "that many threads.",
        "",
    ]


def _utilisation(records, threads):
    out = []
    for fw in ("ours", "torch", "jax"):
        u = [
            r["timing"]["cpu_util"]
            for r in records
            if r.get("fw") == fw
            and r.get("threads") == threads
            and r.get("status") == "ok"
            and "timing" in r
        ]
        if u:
            out.append((fw, float(np.mean(u))))
    return out


def _compile_table(L, runs, threads_list) -> None:
    L += ["## JAX compile time (`jax.jit(...).lower(...).compile()`)", ""]
    header = ["Din", "hidden", "N", "P"] + [
        f"{q} ({t}t)" for t in threads_list for q in ("value_and_grad", "hessian")
    ]
    rows = []
    for key, c in runs.cells.items():
        row = [str(c["din"]), "-".join(map(str, c["hidden"])), f"{c['n']:g}", str(nparams(c))]
        for t in threads_list:
            for kind in ("grad", "hess"):
                recs = runs.by.get(("jax", t, key, kind), [])
                comp = [r["compile"] for r in recs if "compile" in r]
                row.append(fmt_time(comp[0]) if comp else (recs[0]["status"] if recs else "—"))
        rows.append(row)
    table(L, header, rows)


def _syrk_table(L, runs, threads_list) -> None:
    L += ["## SYRK rate (N·P²/t on 1024-row chunks, GF/s)", ""]
    rows = []
    for t in threads_list:
        for P in sorted({p for (_, p, _) in runs.syrk}):
            rows.append(
                [str(t), str(P)]
                + [
                    f"{runs.syrk[(t, P, impl)]:.3g}" if (t, P, impl) in runs.syrk else "—"
                    for impl in ("numpy", "scipy")
                ]
            )
    table(L, ["threads", "P", "NumPy `R.T @ R`", "SciPy `dsyrk` (as the engine calls it)"], rows)


def _memory(L, runs, fails) -> dict | None:
    m = runs.memory
    L += ["## Memory", ""]
    if m is None:
        L += ["not measured", ""]
        return None
    ok = m["delta"] <= 2**30
    if not ok:
        fails["memory"].append(f"{m['delta'] / 2**30:.2f} GiB")
    L.append(
        f"Peak RSS of one `net.hessian(p)` above the RSS after imports and data creation, "
        f"Din={m['din']}, hidden {m['hidden']}, P={m['P']}, N={m['N']:g}: "
        f"**{m['delta'] / 2**20:.0f} MiB** {'✓' if ok else '✗'} (target ≤ 1 GiB; "
        f"baseline {m['baseline_rss'] / 2**20:.0f} MiB, peak {m['peak_rss'] / 2**20:.0f} MiB, "
        f"first call {fmt_time(m['seconds'])}, 1 thread)."
    )
    L.append("")
    return {"delta_bytes": m["delta"], "ok": ok}


def _consistency(L, cons) -> None:
    L += ["## Consistency", ""]
    verdict = "passed" if cons["ok"] else "**FAILED**"
    L.append(
        f"Largest relative spread across frameworks, methods and thread counts "
        f"(tolerance {cons['tol']:g}): {verdict}."
    )
    L.append("")
    rows = []
    for q, name in (
        ("loss", "loss"),
        ("grad", "gradient (‖Δg‖∞ / ‖g‖∞)"),
        ("vHw", "vᵀHw, fixed random v, w"),
    ):
        v, where = cons["worst"][q]
        rows.append([name, f"{v:.2e}", where or "—"])
    table(L, ["quantity", "largest spread", "at"], rows)


def _targets(L, fails) -> dict:
    L += ["## Targets", ""]
    names = {
        "hess": "Hessian ≥ 30× torch, ≥ 20× jax at P ≥ 201, N ≥ 1000; never slower",
        "rate": "our Hessian ≥ 50% of the SYRK rate at P ≥ 201, N ≥ 10^4",
        "grad": "gradient never slower than torch/jax; ≥ 2× at N ≤ 100 and N = 10^5",
        "memory": "peak memory of the Hessian at P = 401, N = 10^5 ≤ 1 GiB",
    }
    out = {}
    for key, name in names.items():
        miss = fails.get(key, [])
        out[key] = {"met": not miss, "misses": miss}
        L.append(f"- {'✓ met' if not miss else '✗ missed'}: {name}")
        L.extend(f"    - {m}" for m in miss)
    L.append("")
    return out
