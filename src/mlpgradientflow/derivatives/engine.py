"""The derivative engine: the one chunk loop behind loss, gradient and Hessian (``order``
0, 1, 2), Hessian-vector products and the forward pass.

An :class:`Engine` belongs to one :class:`~mlpgradientflow.layout.Layout` and dtype and owns
everything that is scratch for it: the per-order workspaces, the compiled kernel's plan and
the scatter indices of the Hessian's sparse blocks. It evaluates any
:class:`~mlpgradientflow.dataset.Dataset` of that layout (a net and its minibatches share
one engine). Its kernels (:mod:`.backprop`, :mod:`.hessian_kernel`, :mod:`.hvp`,
:mod:`.workspace`, :mod:`.small`) read the layout facts through it (``eng.layers``,
``eng.shapes``, ``eng.offsets``, ``eng.din``, ``eng.dout``, ``eng.nparams``,
``eng.loss_type``, ``eng.dtype``).
"""

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
from .small import SMALL_WORK, make_plan
from .workspace import get_workspace

__all__ = ["Engine"]


class Engine:
    """Evaluates a layout's loss and derivatives on datasets (see the module docstring).

    Parameters
    ----------
    layout : Layout
    dtype : numpy dtype
        float64, or float32 for float32 data.
    """

    def __init__(self, layout, dtype=np.float64) -> None:
        self.layout, self.dtype = layout, np.dtype(dtype)
        self.workspaces: dict = {}  # order -> Workspace
        self.hessian_index: dict = {}  # sparse-block key -> flat indices into H
        self._plan: object = False  # the compiled kernel's plan (None: not covered)

    # the layout facts the kernels read
    layers = property(lambda self: self.layout.layers)
    shapes = property(lambda self: self.layout.shapes)
    offsets = property(lambda self: self.layout.offsets)
    din = property(lambda self: self.layout.din)
    dout = property(lambda self: self.layout.dout)
    nparams = property(lambda self: self.layout.nparams)
    loss_type = property(lambda self: self.layout.loss_type)

    @property
    def small_plan(self):
        """The compiled per-sample kernel's plan, or None when it does not cover the net."""
        if self._plan is False:
            self._plan = make_plan(self)
        return self._plan

    def evaluate(self, data, p, order: int, maxnorm, merge, grad_out=None, hess_out=None,
                 names=("grad_out", "hess_out")):
        """``(loss, gradient or None, Hessian or None)`` on ``data`` (see :func:`evaluate`)."""
        return evaluate(self, data, p, order, maxnorm, merge, grad_out, hess_out, names)

    def hvp(self, data, p, v, maxnorm, merge, out=None) -> np.ndarray:
        """:math:`\\nabla^2 L(p)\\, v` on ``data`` (see :func:`hessian_vector_product`)."""
        return hessian_vector_product(self, data, p, v, maxnorm, merge, out)

    def forward(self, p, X) -> np.ndarray:
        """The network's output for input rows ``X`` (see :func:`forward_output`)."""
        return forward_output(self, p, X)

    def __getstate__(self) -> dict:  # scratch and raw addresses never travel
        return {"layout": self.layout, "dtype": self.dtype}

    def __setstate__(self, state: dict) -> None:
        Engine.__init__(self, state["layout"], state["dtype"])


def _out_array(out, shape, dtype, name, **inputs):
    """A zeroed output buffer: ``out`` checked (:func:`check_out`), or a new array."""
    if out is None:
        return np.zeros(shape, dtype)
    check_out(name, out, shape, dtype, **inputs)
    out.fill(0.0)
    return out


def evaluate(
    eng, data, p: np.ndarray, order: int, maxnorm, merge, grad_out=None, hess_out=None,
    names=("grad_out", "hess_out"),
):
    """``(loss, gradient or None, Hessian or None)`` of the mean loss at checked ``p``.

    One pass over the samples in chunks; the gradient and Hessian are written into
    ``grad_out``/``hess_out`` when given (never into internal buffers; ``names`` are the
    caller's names of the two, for error messages). Raises
    :class:`~mlpgradientflow.NonFiniteError` when a result overflows.
    """
    reg = make_regularizer(eng.layout, maxnorm, merge)
    if data is None or data.target is None:
        raise ValueError("no data bound to this net: build it with `input` and `target`")
    N, P = data.n_samples, eng.nparams
    gname, hname = names
    g = _out_array(grad_out, (P,), eng.dtype, gname, p=p) if order >= 1 else None
    H = (
        _out_array(hess_out, (P, P), eng.dtype, hname, p=p, **{gname: g})
        if order >= 2
        else None
    )
    # Small data sets: loss and gradient from the compiled per-sample kernel, for every
    # order, so that loss, fg and fgh agree to the last bit; the chunk loop below then
    # only adds the Hessian.
    plan = eng.small_plan
    small = plan is not None and N * plan.size <= SMALL_WORK
    if small:
        loss = plan.fg(data, p, g) / N
        if g is not None:
            g *= 1.0 / N
        if order < 2:
            return _finish(reg, p, loss, g, None)
    Wb = weight_views(eng, p)
    gWb = weight_views(eng, g) if g is not None and not small else None
    ws = get_workspace(eng, N, order)
    acc = HessianAccumulators(eng) if order >= 2 else None
    totals = [0.0]
    # overflow is reported once, as NonFiniteError, instead of as warnings along the way
    with np.errstate(all="ignore"):
        for Xc, n in _chunk_passes(eng, data, Wb, ws, order, gWb, totals):
            if H is not None and acc is not None:  # order >= 2
                hessian_chunk(eng, Wb, Xc, ws, n, H, acc, 1.0 / N)
    total = totals[0]
    if not small:
        loss = total / N
        if g is not None:
            g *= 1.0 / N
    if H is not None and acc is not None:  # order >= 2
        finalize_residual(eng, H, acc, 1.0 / N)
        symmetrize_from_upper(H)
    return _finish(reg, p, loss, g, H)


def _chunk_passes(eng, data, Wb, ws, order: int, gWb, totals: list):
    """Forward pass, loss and backpropagation over each chunk of samples (the one chunk
    loop of the engine); yields ``(X_chunk, n)`` for the caller's extra per-chunk work and
    adds the weighted loss sums into ``totals[0]``."""
    X, t, w = data.arrays()
    N = X.shape[0]
    for s in range(0, N, ws.n):
        e = min(s + ws.n, N)
        n = e - s
        Xc = X[s:e]
        forward(eng, Wb, Xc, ws, n, order)
        totals[0] += output_step(eng, ws, n, t[s:e], None if w is None else w[s:e], order)
        if order >= 1:
            backward(eng, Wb, Xc, ws, n, order, gWb)
        yield Xc, n


def hessian_vector_product(eng, data, p: np.ndarray, v: np.ndarray, maxnorm, merge, out=None):
    """Exact :math:`\\nabla^2 L(p)\\, v` without forming the Hessian (see :mod:`.hvp`)."""
    reg = make_regularizer(eng.layout, maxnorm, merge)
    if data is None or data.target is None:
        raise ValueError("no data bound to this net: build it with `input` and `target`")
    N = data.n_samples
    hv = _out_array(out, (eng.nparams,), eng.dtype, "out", p=p, v=v)
    Wb, dWb, hWb = weight_views(eng, p), weight_views(eng, v), weight_views(eng, hv)
    ws = get_workspace(eng, N, 2)
    with np.errstate(all="ignore"):
        for Xc, n in _chunk_passes(eng, data, Wb, ws, 2, None, [0.0]):
            hvp_chunk(eng, Wb, dWb, Xc, ws, n, hWb)
    hv *= 1.0 / N
    reg.apply_hvp(p, v, hv)
    check_finite_result(0.0, hv, None)
    return hv


def _finish(reg, p, loss, g, H):
    if reg.active:
        loss = reg.apply(p, loss, g, H)
    check_finite_result(loss, g, H)
    return loss, g, H


def forward_output(eng, p: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Network output for input rows ``X``: a new (M, Dout) array (softmax: probabilities)."""
    M = X.shape[0]
    out = np.empty((M, eng.dout), eng.dtype)
    if M == 0:
        return out
    Wb = weight_views(eng, p)
    ws = get_workspace(eng, M, 0)
    with np.errstate(all="ignore"):
        for s in range(0, M, ws.n):
            e = min(s + ws.n, M)
            n = e - s
            forward(eng, Wb, X[s:e], ws, n, 0)
            if eng.loss_type == "nll":
                softmax_rows(ws.h[-1][:n], out[s:e])
            else:
                out[s:e] = ws.y[-1][:n]
    return out
