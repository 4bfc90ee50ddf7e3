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
    r"""Row-wise softmax of ``h`` into ``out`` (max-shifted: never overflows).

    With ``logp``, also the log-probabilities (log-sum-exp, exact for tiny probabilities):

    .. math::

        a_{no} = \frac{e^{h_{no} - m_n}}{\sum_k e^{h_{nk} - m_n}}, \qquad
        m_n = \max_k h_{nk}.

    Parameters
    ----------
    h : ndarray, shape (n, K)
        Pre-activations, one sample per row.
    out : ndarray, shape (n, K)
        Receives the probabilities.
    logp : ndarray, shape (n, K), optional
        Receives :math:`\log a_{no}`.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpgradientflow.losses import softmax_rows
    >>> a = np.empty((2, 3))
    >>> softmax_rows(np.array([[0.0, 0.0, 0.0], [1000.0, 0.0, -1000.0]]), a)
    >>> a
    array([[0.33333333, 0.33333333, 0.33333333],
           [1.        , 0.        , 0.        ]])
    >>> a, logp = np.empty((1, 2)), np.empty((1, 2))
    >>> softmax_rows(np.array([[0.0, -800.0]]), a, logp)
    >>> logp                                  # log a would be log(0) = -inf
    array([[   0., -800.]])
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
    r"""Weighted loss sum of a chunk; writes dl/dh into ``ws.delta[-1]`` and, for
    ``order == 2``, what the second derivative d^2 l/dh^2 needs into ``ws.e2``
    (MSE: its diagonal; NLL: the per-sample scale w c).

    The formulas are those of the module docstring: MSE :math:`\ell = w\sum_o(a_o -
    t_o)^2`, :math:`\partial\ell/\partial h_o = 2w(a_o - t_o)f'(h_o)`; NLL
    :math:`\ell = -w\sum_o t_o\log a_o`, :math:`\partial\ell/\partial h = w(c\,a - t)`.

    Parameters
    ----------
    layout : Layout
        The network's layout (its output layer and loss).
    ws : Workspace
        Holds the output layer's ``h``, ``y`` (and ``d1``, ``d2``) of the chunk, from the
        forward pass; receives ``delta[-1]`` (n, Dout) and ``e2``.
    n : int
        Samples in the chunk (the leading rows of the buffers).
    t : ndarray, shape (n, Dout), or labels (n,) for NLL
        Targets of the chunk.
    w : ndarray, shape (n,), or None
        Sample weights.
    order : {0, 1, 2}
        Derivative order.

    Returns
    -------
    float
        :math:`\sum_n \ell_n` over the chunk (weighted).

    Examples
    --------
    >>> import numpy as np
    >>> from mlpgradientflow.derivatives.engine import Engine
    >>> from mlpgradientflow.derivatives.workspace import Workspace
    >>> from mlpgradientflow.layout import Layout
    >>> from mlpgradientflow.losses import output_step
    >>> lay = Layout.from_spec([(1, "identity", False)], din=1)
    >>> ws = Workspace(Engine(lay), 3, 2)
    >>> ws.y[-1][:] = ws.h[-1][:] = [[1.0], [2.0], [3.0]]          # outputs a = h
    >>> output_step(lay, ws, 3, np.zeros((3, 1)), None, 2)         # sum of (a - t)^2
    14.0
    >>> ws.delta[-1].ravel(), ws.e2.ravel()                         # 2 (a - t) and 2
    (array([2., 4., 6.]), array([2., 2., 2.]))
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
    r"""Rows C with :math:`\partial^2\ell/\partial h^2 = C_+^\top C_+ - C_-^\top C_-` per
    sample, shape (r, n, Dout): rows ``[:ws.r_pos]`` enter with +, the rest with -.

    Needs :func:`output_step` at order 2 on the same chunk.

    Parameters
    ----------
    layout : Layout
        The network's layout.
    ws : Workspace
        After :func:`output_step` at order 2; ``ws.r`` and ``ws.r_pos`` are set.
    n : int
        Samples in the chunk.

    Returns
    -------
    ndarray, shape (r, n, Dout)
        The rows; for NLL :math:`C = \mathrm{diag}(\sqrt{wc\,a})(I - 1a^\top)` (r = Dout),
        for MSE :math:`\sqrt{s_o}` on the diagonal (r = 2 Dout when some :math:`s_o < 0`).

    Examples
    --------
    >>> import numpy as np
    >>> from mlpgradientflow.derivatives.engine import Engine
    >>> from mlpgradientflow.derivatives.workspace import Workspace
    >>> from mlpgradientflow.layout import Layout
    >>> from mlpgradientflow.losses import gauss_newton_factor, output_step
    >>> lay = Layout.from_spec([(3, "softmax", False)], din=1)
    >>> ws = Workspace(Engine(lay), 1, 2)
    >>> ws.h[-1][:] = [[0.0, 1.0, 2.0]]
    >>> loss = output_step(lay, ws, 1, np.array([2]), None, 2)  # label 2
    >>> a = ws.y[-1][0]
    >>> C = gauss_newton_factor(lay, ws, 1)[:, 0, :]
    >>> C.shape, bool(np.allclose(C.T @ C, np.diag(a) - np.outer(a, a)))
    ((3, 3), True)
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
    r"""``out = (d^2 l / dh^2) dh`` per sample (rows), after :func:`output_step` at order 2.

    MSE: :math:`s_o\,dh_o` with :math:`s_o = 2w(f'^2 + (a_o - t_o)f'')`; NLL:
    :math:`wc\,(\mathrm{diag}(a) - aa^\top)\,dh`. The Hessian-vector product uses it.

    Parameters
    ----------
    layout : Layout
        The network's layout.
    ws : Workspace
        After :func:`output_step` at order 2 on the chunk.
    n : int
        Samples in the chunk.
    dh : ndarray, shape (n, Dout)
        Directions in the output pre-activations.
    out : ndarray, shape (n, Dout)
        Receives the products.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpgradientflow.derivatives.engine import Engine
    >>> from mlpgradientflow.derivatives.workspace import Workspace
    >>> from mlpgradientflow.layout import Layout
    >>> from mlpgradientflow.losses import curvature_apply, output_step
    >>> lay = Layout.from_spec([(3, "softmax", False)], din=1)
    >>> ws = Workspace(Engine(lay), 1, 2)
    >>> ws.h[-1][:] = [[0.0, 1.0, 2.0]]
    >>> _ = output_step(lay, ws, 1, np.array([2]), None, 2)
    >>> a, out = ws.y[-1][0], np.empty((1, 3))
    >>> curvature_apply(lay, ws, 1, np.array([[1.0, 0.0, 0.0]]), out)
    >>> bool(np.allclose(out[0], (np.diag(a) - np.outer(a, a))[0]))
    True
    """
    if layout.loss_type == "nll":
        a = ws.y[-1][:n]
        np.multiply(a, dh, out=out)
        out -= a * out.sum(axis=1, keepdims=True)
        out *= ws.e2[:n, :1]
    else:
        np.multiply(ws.e2[:n], dh, out=out)


class Regularizer:
    r"""The barrier and merge penalty of a call, added to loss, gradient and Hessian.

    Barrier: :math:`(\nu - c)^3/3` for :math:`\nu = \|p\|^2/(2P) > c`; merge:
    :math:`\frac\lambda2\|M_l[i] - M_l[j]\|^2` (see the module docstring). Made by
    :func:`make_regularizer`, which checks the arguments.

    Parameters
    ----------
    layout : Layout
        The network's layout (where the merged neurons live in ``p``).
    maxnorm : float
        Barrier level :math:`c` (``inf``: off).
    merge : (layer, (i, j), lam) or None
        The merge penalty.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpgradientflow.layout import Layout
    >>> from mlpgradientflow.losses import Regularizer
    >>> lay = Layout.from_spec([(2, "tanh", True), (1, "identity", False)], din=1)
    >>> reg = Regularizer(lay, 0.5, (0, (0, 1), 2.0))
    >>> p = np.array([2.0, 0.0, 0.0, 0.0, 2.0, 2.0])     # nu = 12 / 12 = 1
    >>> g = np.zeros(6)
    >>> reg.apply(p, 0.0, g, None)                       # 0.5^3 / 3 + (2 / 2) * 2^2
    4.041666666666667
    >>> g                 # 0.5^2 / 6 p, plus 2 (M[0] - M[1]) on M[0] and minus it on M[1]
    array([ 4.08333333,  0.        , -4.        ,  0.        ,  0.08333333,
            0.08333333])
    """

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
        """Whether the barrier or the merge penalty is on."""
        return math.isfinite(self.maxnorm) or self.merge is not None

    def _excess(self, p: np.ndarray) -> float:
        """:math:`\\nu - c` when the barrier is active, else 0."""
        if not math.isfinite(self.maxnorm):
            return 0.0
        return max(0.0, float(p @ p) / (2 * p.shape[0]) - self.maxnorm)

    def apply(self, p: np.ndarray, loss: float, g, H) -> float:
        """Add the terms to ``g`` (P,) and ``H`` (P, P) in place (either may be None);
        return the loss with them."""
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
    r"""Validate ``maxnorm`` and ``merge`` against ``layout`` (errors name the argument).

    Parameters
    ----------
    layout : Layout
        The network's layout.
    maxnorm : float
        Barrier level :math:`c \ge 0` (``inf``: off).
    merge : (layer, (i, j), lam) or None
        0-based weight matrix ``layer``, two distinct neurons of it, finite strength.

    Returns
    -------
    Regularizer
        Inactive (``reg.active`` False) when both are off.

    Examples
    --------
    >>> import math
    >>> from mlpgradientflow.layout import Layout
    >>> from mlpgradientflow.losses import make_regularizer
    >>> lay = Layout.from_spec([(2, "tanh", True), (1, "identity", False)], din=1)
    >>> make_regularizer(lay, math.inf, None).active, make_regularizer(lay, 1.0, None).active
    (False, True)
    >>> make_regularizer(lay, math.inf, (0, (0, 2), 1.0))
    Traceback (most recent call last):
    ...
    ValueError: argument `merge`: neurons must be in 0..1 for layer 0, got (0, 2)
    """
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
