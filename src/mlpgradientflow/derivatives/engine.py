"""The one chunk loop behind loss, gradient and Hessian (``order`` 0, 1, 2)."""

from __future__ import annotations

import numpy as np

from .._validation import check_finite_result, check_out
from ..losses import make_regularizer, output_step, softmax_rows
from .backprop import backward, forward, weight_views
from .hessian_kernel import (
    HessianAccumulators,
    finalize_residual,
    hessian_chunk,
    symmetrize_from_upper,
)
from .hvp import hvp_chunk
from .small import SMALL_WORK, small_plan
from .workspace import get_workspace

__all__ = ["evaluate", "forward_output", "hessian_vector_product"]


def _out_array(out, shape, dtype, name, **inputs):
    """A zeroed output buffer: ``out`` checked (:func:`check_out`), or a new array."""
    if out is None:
        return np.zeros(shape, dtype)
    check_out(name, out, shape, dtype, **inputs)
    out.fill(0.0)
    return out


def evaluate(
    net, p: np.ndarray, order: int, maxnorm, merge, grad_out=None, hess_out=None,
    names=("grad_out", "hess_out"),
):
    """``(loss, gradient or None, Hessian or None)`` of the mean loss at checked ``p``.

    One pass over the samples in chunks; the gradient and Hessian are written into
    ``grad_out``/``hess_out`` when given (never into internal buffers; ``names`` are the
    caller's names of the two, for error messages). Raises
    :class:`~mlpgradientflow.NonFiniteError` when a result overflows.
    """
    reg = make_regularizer(net, maxnorm, merge)
    N = net.n_samples
    if N == 0 or net._target is None:
        raise ValueError("no data bound to this net: build it with `input` and `target`")
    P = net.nparams
    gname, hname = names
    g = _out_array(grad_out, (P,), net.dtype, gname, p=p) if order >= 1 else None
    H = (
        _out_array(hess_out, (P, P), net.dtype, hname, p=p, **{gname: g})
        if order >= 2
        else None
    )
    # Small data sets: loss and gradient from the compiled per-sample kernel, for every
    # order, so that loss, fg and fgh agree to the last bit; the chunk loop below then
    # only adds the Hessian.
    plan = small_plan(net)
    small = plan is not None and N * plan.size <= SMALL_WORK
    if small:
        loss = plan.fg(net, p, g) / N
        if g is not None:
            g *= 1.0 / N
        if order < 2:
            return _finish(reg, p, loss, g, None)
    Wb = weight_views(net, p)
    gWb = weight_views(net, g) if g is not None and not small else None
    ws = get_workspace(net, N, order)
    acc = HessianAccumulators(net) if order >= 2 else None
    totals = [0.0]
    # overflow is reported once, as NonFiniteError, instead of as warnings along the way
    with np.errstate(all="ignore"):
        for Xc, n in _chunk_passes(net, Wb, ws, order, gWb, totals):
            if order >= 2:
                hessian_chunk(net, Wb, Xc, ws, n, H, acc, 1.0 / N)
    total = totals[0]
    if not small:
        loss = total / N
        if g is not None:
            g *= 1.0 / N
    if H is not None:
        finalize_residual(net, H, acc, 1.0 / N)
        symmetrize_from_upper(H)
    return _finish(reg, p, loss, g, H)


def _chunk_passes(net, Wb, ws, order: int, gWb, totals: list):
    """Forward pass, loss and backpropagation over each chunk of samples (the one chunk
    loop of the engine); yields ``(X_chunk, n)`` for the caller's extra per-chunk work and
    adds the weighted loss sums into ``totals[0]``."""
    X, t, w = net._input, net._target, net._weights
    N = X.shape[0]
    for s in range(0, N, ws.n):
        e = min(s + ws.n, N)
        n = e - s
        Xc = X[s:e]
        forward(net, Wb, Xc, ws, n, order)
        totals[0] += output_step(net, ws, n, t[s:e], None if w is None else w[s:e], order)
        if order >= 1:
            backward(net, Wb, Xc, ws, n, order, gWb)
        yield Xc, n


def hessian_vector_product(net, p: np.ndarray, v: np.ndarray, maxnorm, merge, out=None):
    """Exact :math:`\\nabla^2 L(p)\\, v` without forming the Hessian (see :mod:`.hvp`)."""
    reg = make_regularizer(net, maxnorm, merge)
    N = net.n_samples
    if N == 0 or net._target is None:
        raise ValueError("no data bound to this net: build it with `input` and `target`")
    hv = _out_array(out, (net.nparams,), net.dtype, "out", p=p, v=v)
    Wb, dWb, hWb = weight_views(net, p), weight_views(net, v), weight_views(net, hv)
    ws = get_workspace(net, N, 2)
    with np.errstate(all="ignore"):
        for Xc, n in _chunk_passes(net, Wb, ws, 2, None, [0.0]):
            hvp_chunk(net, Wb, dWb, Xc, ws, n, hWb)
    hv *= 1.0 / N
    reg.apply_hvp(p, v, hv)
    check_finite_result(0.0, hv, None)
    return hv


def _finish(reg, p, loss, g, H):
    if reg.active:
        loss = reg.apply(p, loss, g, H)
    check_finite_result(loss, g, H)
    return loss, g, H


def forward_output(net, p: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Network output for input rows ``X``: a new (M, Dout) array (softmax: probabilities)."""
    M = X.shape[0]
    out = np.empty((M, net.dout), net.dtype)
    if M == 0:
        return out
    Wb = weight_views(net, p)
    ws = get_workspace(net, M, 0)
    with np.errstate(all="ignore"):
        for s in range(0, M, ws.n):
            e = min(s + ws.n, M)
            n = e - s
            forward(net, Wb, X[s:e], ws, n, 0)
            if net.loss_type == "nll":
                softmax_rows(ws.h[-1][:n], out[s:e])
            else:
                out[s:e] = ws.y[-1][:n]
    return out
