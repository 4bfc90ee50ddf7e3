r"""Losses: what the output layer contributes per chunk of samples, and the regularisers.

With :math:`h` the output pre-activation and :math:`a = f(h)` the output of a sample
with weight :math:`w`:

* **MSE** (any non-softmax output): :math:`\ell = w \sum_o (a_o - t_o)^2`, no 1/2.
  :math:`\partial\ell/\partial h_o = 2w(a_o - t_o) f'(h_o)` and
  :math:`\partial^2\ell/\partial h_o^2 = 2w\,(f'(h_o)^2 + (a_o - t_o) f''(h_o))`.
* **NLL** (softmax output): :math:`\ell = -w\sum_o t_o \log a_o` for probabilities
  :math:`t` (integer labels are one-hot), with :math:`c = \sum_o t_o`:
  :math:`\partial\ell/\partial h = w(c\,a - t)`,
  :math:`\partial^2\ell/\partial h^2 = w c\,(\mathrm{diag}(a) - a a^\top)`.

The second derivative :math:`S = \partial^2\ell/\partial h^2` is handed to the Hessian
kernel as a factor :math:`S = C_+^\top C_+ - C_-^\top C_-` (rows of :math:`C`), so the
Gauss–Newton part becomes symmetric rank-k updates. For NLL,
:math:`\mathrm{diag}(a) - aa^\top = C^\top C` with :math:`C = \mathrm{diag}(\sqrt a)(I - 1a^\top)`.

Regularisers (added to the mean loss, as in MLPGradientFlow.jl with factor 1):

* barrier ``maxnorm`` :math:`= c`: with :math:`\nu = \|p\|^2/(2P)`, adds
  :math:`(\nu - c)^3/3` when :math:`\nu > c`;
* ``merge = (layer, (i, j), lam)``: adds :math:`\frac\lambda2 \|M_l[i] - M_l[j]\|^2`
  (incoming weights and bias of neurons ``i`` and ``j`` of weight matrix ``layer``,
  all 0-based).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = [
    "output_step",
    "gauss_newton_factor",
    "curvature_apply",
    "softmax_rows",
    "Regularizer",
    "make_regularizer",
]


def softmax_rows(h: np.ndarray, out: np.ndarray, logp: np.ndarray | None = None) -> None:
    """Row-wise softmax of ``h`` into ``out`` (max-shifted: never overflows).

    With ``logp``, also the log-probabilities (log-sum-exp, exact for tiny probabilities).
    """
    m = h.max(axis=1, keepdims=True)
    z = out if logp is None else logp
    np.subtract(h, m, out=z)
    if logp is None:
        np.exp(z, out=out)
        out /= out.sum(axis=1, keepdims=True)
        return
    np.exp(z, out=out)
    lse = np.log(out.sum(axis=1, keepdims=True))
    logp -= lse
    np.exp(logp, out=out)


def output_step(layout, ws, n: int, t: np.ndarray, w: np.ndarray | None, order: int) -> float:
    """Weighted loss sum of a chunk; writes dl/dh into ``ws.delta[-1]`` and, for
    ``order == 2``, what the second derivative d^2 l/dh^2 needs into ``ws.e2``
    (MSE: its diagonal; NLL: the per-sample scale w c).
    """
    if layout.loss_type == "nll":
        return _nll_step(layout, ws, n, t, w, order)
    return _mse_step(layout, ws, n, t, w, order)


def _mse_step(layout, ws, n, t, w, order) -> float:
    lay = layout.layers[-1]
    y = ws.y[-1][:n]
    e = ws.e[:n]
    np.subtract(y, t, out=e)
    sq = ws.e2[:n]
    np.multiply(e, e, out=sq)
    per_sample = sq.sum(axis=1) if sq.shape[1] > 1 else sq[:, 0]
    total = float(per_sample.sum() if w is None else per_sample @ w)
    if order == 0:
        return total
    d1 = ws.d1[-1][:n]
    identity_out = lay.activation.d1_const == 1.0 and lay.activation.d2_const == 0.0
    delta = ws.delta[-1][:n]
    np.multiply(e, 2.0, out=delta)
    if not identity_out:
        delta *= d1
    if w is not None:
        delta *= w[:, None]
    if order < 2:
        return total
    # s = d^2 l / dh^2 per output, kept in ws.e2 for the Hessian: 2 w (f'^2 + e f'')
    s = sq  # the squared errors are no longer needed
    if identity_out:
        s.fill(2.0)
    else:
        np.multiply(e, ws.d2[-1][:n], out=s)
        s += d1 * d1
        s *= 2.0
    if w is not None:
        s *= w[:, None]
    return total


def _nll_step(layout, ws, n, t, w, order) -> float:
    h = ws.h[-1][:n]
    a = ws.y[-1][:n]
    logp = ws.e[:n]
    softmax_rows(h, a, logp)
    labels = t.ndim == 1
    if labels:
        rows = np.arange(n)
        nll = -logp[rows, t]
    else:
        nll = -np.einsum("so,so->s", t, logp)
    total = float(nll.sum() if w is None else nll @ w)
    if order == 0:
        return total
    delta = ws.delta[-1][:n]
    if labels:
        np.copyto(delta, a)
        delta[rows, t] -= 1.0
        c = None
    else:
        c = t.sum(axis=1)
        np.multiply(a, c[:, None], out=delta)
        delta -= t
    if w is not None:
        delta *= w[:, None]
    if order < 2:
        return total
    scale = ws.e2[:n, 0]  # w c per sample: d^2 l / dh^2 = w c (diag(a) - a a^T)
    if c is None:
        scale.fill(1.0)
    else:
        np.copyto(scale, c)
    if w is not None:
        scale *= w
    return total


def gauss_newton_factor(layout, ws, n: int) -> np.ndarray:
    """Rows C with :math:`\\partial^2\\ell/\\partial h^2 = C_+^\\top C_+ - C_-^\\top C_-` per
    sample, shape (r, n, Dout): rows ``[:ws.r_pos]`` enter with +, the rest with -.

    Needs :func:`output_step` at order 2 on the same chunk.
    """
    dout = layout.dout
    key = ("V", len(layout.layers) - 1)
    if layout.loss_type == "nll":  # V[j, s, o] = sqrt(w c a_j) (delta_jo - a_o)
        a = ws.y[-1][:n]
        V = ws.buffer(key, (dout, n, dout))
        root = np.sqrt(a * ws.e2[:n, :1])
        for j in range(dout):
            np.negative(a, out=V[j])
            V[j, :, j] += 1.0
            V[j] *= root[:, j : j + 1]
        ws.r = ws.r_pos = dout
        return V
    s = ws.e2[:n]
    has_neg = bool((s < 0).any())
    r = 2 * dout if has_neg else dout
    V = ws.buffer(key, (r, n, dout))
    V.fill(0.0)
    for o in range(dout):
        if has_neg:
            np.sqrt(np.maximum(s[:, o], 0.0), out=V[o, :, o])
            np.sqrt(np.maximum(-s[:, o], 0.0), out=V[dout + o, :, o])
        else:
            np.sqrt(s[:, o], out=V[o, :, o])
    ws.r, ws.r_pos = r, dout
    return V


def curvature_apply(layout, ws, n: int, dh: np.ndarray, out: np.ndarray) -> None:
    """``out = (d^2 l / dh^2) dh`` per sample (rows), after :func:`output_step` at order 2."""
    if layout.loss_type == "nll":
        a = ws.y[-1][:n]
        np.multiply(a, dh, out=out)
        out -= a * out.sum(axis=1, keepdims=True)
        out *= ws.e2[:n, :1]
    else:
        np.multiply(ws.e2[:n], dh, out=out)


class Regularizer:
    """The barrier and merge penalty of a call, added to loss, gradient and Hessian."""

    def __init__(self, layout, maxnorm: float, merge) -> None:
        self.maxnorm = float(maxnorm)
        self.merge = merge
        self.slices = None
        if merge is not None:
            layer, (i, j), self.lam = merge
            m, o = layout.shapes[layer][1], layout.offsets[layer]
            self.slices = (slice(o + i * m, o + (i + 1) * m), slice(o + j * m, o + (j + 1) * m))

    @property
    def active(self) -> bool:
        return math.isfinite(self.maxnorm) or self.merge is not None

    def _excess(self, p: np.ndarray) -> float:
        """:math:`\\nu - c` when the barrier is active, else 0."""
        if not math.isfinite(self.maxnorm):
            return 0.0
        return max(0.0, float(p @ p) / (2 * p.shape[0]) - self.maxnorm)

    def apply(self, p: np.ndarray, loss: float, g, H) -> float:
        P = p.shape[0]
        ex = self._excess(p)
        if ex > 0:
            loss += ex**3 / 3
            if g is not None:
                g += (ex * ex / P) * p
            if H is not None:
                H += (2 * ex / P**2) * np.outer(p, p)
                H.flat[:: P + 1] += ex * ex / P
        if self.slices is not None:
            si, sj = self.slices
            lam, d = self.lam, p[si] - p[sj]
            loss += 0.5 * lam * float(d @ d)
            if g is not None:
                g[si] += lam * d
                g[sj] -= lam * d
            if H is not None:
                ii, jj = np.arange(si.start, si.stop), np.arange(sj.start, sj.stop)
                H[ii, ii] += lam
                H[jj, jj] += lam
                H[ii, jj] -= lam
                H[jj, ii] -= lam
        return loss

    def apply_hvp(self, p: np.ndarray, v: np.ndarray, hv: np.ndarray) -> None:
        """Add the regularisers' Hessian times ``v`` into ``hv``."""
        P = p.shape[0]
        ex = self._excess(p)
        if ex > 0:
            hv += (2 * ex / P**2) * float(p @ v) * p + (ex * ex / P) * v
        if self.slices is not None:
            si, sj = self.slices
            d = self.lam * (v[si] - v[sj])
            hv[si] += d
            hv[sj] -= d


def make_regularizer(layout, maxnorm, merge) -> Regularizer:
    """Validate ``maxnorm`` and ``merge`` against ``layout`` (errors name the argument)."""
    if merge is None and maxnorm == math.inf:
        return Regularizer(layout, math.inf, None)
    try:
        if isinstance(maxnorm, bool | np.bool_ | str):
            raise TypeError
        maxnorm = float(maxnorm)
    except (TypeError, ValueError) as err:
        raise TypeError(f"argument `maxnorm` must be a number, got {maxnorm!r}") from err
    if math.isnan(maxnorm) or maxnorm < 0:
        raise ValueError(f"argument `maxnorm` must be >= 0 (inf: off), got {maxnorm}")
    if merge is not None:
        try:
            layer, (i, j), lam = merge
        except (TypeError, ValueError) as err:
            raise TypeError(
                "argument `merge` must be (layer, (i, j), strength), 0-based, got "
                f"{merge!r}"
            ) from err
        nl = len(layout.shapes)
        if isinstance(layer, bool) or not isinstance(layer, int | np.integer) or not 0 <= layer < nl:
            raise ValueError(f"argument `merge`: layer must be in 0..{nl - 1}, got {layer!r}")
        k = layout.shapes[layer][0]
        for v in (i, j):
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or not 0 <= v < k:
                raise ValueError(
                    f"argument `merge`: neurons must be in 0..{k - 1} for layer {layer}, "
                    f"got ({i}, {j})"
                )
        if i == j:
            raise ValueError(f"argument `merge`: the two neurons must differ, got ({i}, {j})")
        if isinstance(lam, bool) or not isinstance(lam, numbers.Real) or not math.isfinite(lam):
            raise ValueError(f"argument `merge`: strength must be a finite number, got {lam!r}")
        lam = float(lam)
        merge = (int(layer), (int(i), int(j)), lam)
    return Regularizer(layout, maxnorm, merge)
