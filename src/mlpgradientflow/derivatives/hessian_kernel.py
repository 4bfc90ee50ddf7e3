r"""The exact Hessian of an MLP loss, as BLAS-3 products over chunks of samples.

Second-order adjoint form. For one sample with pre-activations :math:`h_l`, the
backpropagated :math:`\delta_l = \partial\ell/\partial h_l`,
:math:`\delta'_l = (W_{l+1}^\top\delta_{l+1}) \odot f_l''(h_l)` for hidden layers, the
output curvature :math:`S = \partial^2\ell/\partial h_L^2` and the total Jacobians
:math:`J_l = \partial h_l/\partial\theta`, the second differential of the loss is

.. math::

    d^2\ell = dh_L^\top S\, dh_L
            + \sum_{l<L} dh_l^\top \mathrm{diag}(\delta'_l)\, dh_l
            + 2\sum_{l\ge2}\sum_{k,i} \delta_l[k]\, f'_{l-1}[i]\; dW_l[k,i]\; dh_{l-1}[i],

with :math:`dh_l = J_l\,d\theta`. The three terms are computed as follows (sums over the
samples of a chunk, weights folded into :math:`\delta` and :math:`S`):

1. **Gauss–Newton** :math:`\sum_s J_L^\top S J_L`: with :math:`S = C^\top C` (signed
   parts for curved MSE outputs), the rows :math:`C J_L` are built by backpropagating
   :math:`C` and taking outer products with the layer inputs; then one symmetric rank-k
   update (SYRK) per chunk. This is the :math:`N P^2` floor of any exact Hessian.
2. **Curvature of hidden layers**: with
   :math:`J_l[:, M_m[k,i]] = (\partial h_l/\partial h_m)[:, k]\,\tilde a_{m-1}[i]`, block
   :math:`(m_1, m_2)` receives :math:`\sum_s K_s[k_1,k_2]\,\tilde a_{m_1-1}[i_1]\,
   \tilde a_{m_2-1}[i_2]` with :math:`K = \sum_{l\ge m_2} G_{l,m_1}^\top
   \mathrm{diag}(\delta'_l) G_{l,m_2}`, :math:`G_{l,m} = \partial h_l/\partial h_m`.
   The :math:`l = m_1 = m_2` part is block-diagonal per neuron (one GEMM); the rest
   (nets with two or more hidden layers) is one GEMM of :math:`\mathrm{vec}(K_s)` against
   :math:`\mathrm{vec}(\tilde a\tilde a'^\top)` per block, accumulated over chunks.
3. **Cross terms** between :math:`W_l` and the layers below: sparse for adjacent layers
   (:math:`\partial^2\ell/\partial M_{l-1}[k,j]\,\partial M_l[n,k] \mathrel{+}=
   \tilde a_{l-2}[j] f'_{l-1}[k] \delta_l[n]`), one GEMM per block otherwise.

Cost :math:`O(N P^2)` flops, memory :math:`O(\text{chunk}\cdot P + P^2)`; everything is
accumulated in place into the caller's (P, P) array, whose upper triangle is filled and
finally mirrored.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import blas

from .. import _kernels
from ..losses import gauss_newton_factor

__all__ = ["hessian_chunk", "HessianAccumulators", "outer_rows"]


def outer_rows(out: np.ndarray, u: np.ndarray, v: np.ndarray) -> None:
    """``out[s, i, j] = u[s, i] * v[s, j]``: the compiled kernel, or NumPy looping over the
    short axis (a single broadcast multiply would run NumPy's inner loop over the last
    axis, which is tiny for small input dimensions: 3 for Din = 2 with bias).
    """
    if out.size >= 4096 and _kernels.outer_rows(out, u, v):  # below: call overhead wins
        return
    k, m = u.shape[1], v.shape[1]
    if m <= 8 and m < k:
        for j in range(m):
            np.multiply(u, v[:, j : j + 1], out=out[:, :, j])
    elif k <= 8:
        for i in range(k):
            np.multiply(u[:, i : i + 1], v, out=out[:, i, :])
    else:
        np.multiply(u[:, :, None], v[:, None, :], out=out)


class HessianAccumulators:
    """Per-call accumulators of the residual blocks (scattered into H once at the end)."""

    def __init__(self, eng) -> None:
        self.eng = eng
        self.dt = eng.dtype
        self.syrk, self.gemm = blas.get_blas_funcs(("syrk", "gemm"), dtype=eng.dtype)
        self.blocks: dict = {}

    def acc(self, key, A: np.ndarray, B: np.ndarray) -> None:
        """``blocks[key] += A.T @ B`` in place (A: (n, p), B: (n, q), C-contiguous)."""
        C = self.blocks.get(key)
        if C is None:
            C = self.blocks[key] = np.zeros((A.shape[1], B.shape[1]), self.dt)
        # C^T (F-order view) += B^T A, written in place by BLAS
        self.gemm(1.0, B.T, A.T, beta=1.0, c=C.T, trans_a=0, trans_b=1, overwrite_c=1)

    def syrk_into(self, H: np.ndarray, rows: np.ndarray, alpha: float) -> None:
        """Upper triangle of ``H += alpha * rows.T @ rows``."""
        self.syrk(alpha, rows.T, beta=1.0, c=H.T, trans=0, lower=1, overwrite_c=1)


def _block(H, eng, l1, l2):
    """The (k1, m1, k2, m2) view of H's block between layers l1 and l2."""
    (k1, m1), (k2, m2) = eng.shapes[l1], eng.shapes[l2]
    o1, o2 = eng.offsets[l1], eng.offsets[l2]
    return H[o1 : o1 + k1 * m1, o2 : o2 + k2 * m2].reshape(k1, m1, k2, m2)


def hessian_chunk(eng, Wb, X, ws, n: int, H: np.ndarray, acc: HessianAccumulators, alpha) -> None:
    """Add one chunk's Hessian contributions: SYRK into ``H``, residual blocks into ``acc``."""
    L = len(eng.layers)
    Ws = [W for W, _ in Wb]
    at = [a[:n] for a in ws.at]
    at[0][:, : eng.din] = X
    for i in range(1, L):
        at[i][:, : eng.layers[i - 1].width] = ws.y[i - 1][:n]

    _gauss_newton(eng, Ws, ws, n, at, H, acc, alpha)
    for i in range(L - 1):
        _adjacent_terms(eng, ws, n, at, acc, i)
    if L >= 3:
        _deep_terms(eng, Ws, ws, n, at, acc)


def _adjacent_terms(eng, ws, n, at, acc, i) -> None:
    r"""Per-neuron blocks :math:`\sum_s \delta'_i[s,k]\, \tilde a_s \tilde a_s^\top` of layer ``i``
    and its sparse cross terms with layer ``i + 1``.

    Each is a triple product over samples; the pair of factors whose outer product is the
    smaller temporary is formed, the third enters through the GEMM (see ``_layout``).
    """
    k, m = eng.shapes[i]
    k2 = eng.shapes[i + 1][0]
    a, d1, delta = at[i], ws.d1[i][:n], ws.delta[i + 1][:n]
    if ws.curved[i]:
        dd = ws.dd[i][:n]
        if _layout(eng, i, "diag"):  # (m*m, k): a x a against delta'
            T = ws.buffer("outer", (n, m, m))
            outer_rows(T, a, a)
            acc.acc(("diag", i), T.reshape(n, m * m), dd)
        else:  # (m, k*m): a against delta' x a
            T = ws.buffer("outer", (n, k, m))
            outer_rows(T, dd, a)
            acc.acc(("diag", i), a, T.reshape(n, k * m))
    if _layout(eng, i, "next"):  # (m*k2, k): a x delta against f'
        T = ws.buffer("outer", (n, m, k2))
        outer_rows(T, a, delta)
        acc.acc(("next", i), T.reshape(n, m * k2), d1)
    else:  # (k*m, k2): f' x a against delta
        T = ws.buffer("outer", (n, k, m))
        outer_rows(T, d1, a)
        acc.acc(("next", i), T.reshape(n, k * m), delta)


def _layout(eng, i, kind) -> bool:
    """True when the transposed accumulator layout needs the smaller temporary."""
    k, m = eng.shapes[i]
    if kind == "diag":
        return m < k
    return eng.shapes[i + 1][0] < k


def _gauss_newton(eng, Ws, ws, n, at, H, acc, alpha) -> None:
    V = gauss_newton_factor(eng, ws, n)
    r, r_pos, P = ws.r, ws.r_pos, eng.nparams
    R = ws.buffer("R", (r, n, P))
    for i in range(len(eng.layers) - 1, -1, -1):
        k, m = eng.shapes[i]
        o = eng.offsets[i]
        Ri = R[:, :, o : o + k * m].reshape(r, n, k, m)
        for j in range(r):
            outer_rows(Ri[j], V[j], at[i])
        if i > 0:
            kp = Ws[i].shape[1]
            Vn = ws.buffer(("V", i - 1), (r, n, kp))
            np.matmul(V.reshape(r * n, k), Ws[i], out=Vn.reshape(r * n, kp))
            Vn *= ws.d1[i - 1][:n]
            V = Vn
    acc.syrk_into(H, R[:r_pos].reshape(r_pos * n, P), alpha)
    if r > r_pos:
        acc.syrk_into(H, R[r_pos:].reshape((r - r_pos) * n, P), -alpha)


def _deep_terms(eng, Ws, ws, n, at, acc) -> None:
    """Curvature of hidden layers seen from lower layers, and non-adjacent cross terms."""
    L = len(eng.layers)
    ks = [lay.width for lay in eng.layers]
    d1 = [d[:n] for d in ws.d1]
    # Gt[(m2, m1)][s] = (dh_m2 / dh_m1)^T, shape (n, k_m1, k_m2), hidden m1 < m2 <= L-2
    Gt: dict[tuple[int, int], np.ndarray] = {}
    for m1 in range(L - 2):
        for m2 in range(m1 + 1, L - 1):
            G = ws.buffer(("G", m2, m1), (n, ks[m1], ks[m2]))
            if m2 == m1 + 1:
                np.multiply(d1[m1][:, :, None], Ws[m2].T[None], out=G)
            else:
                U = ws.buffer("U", (n, ks[m1], ks[m2 - 1]))
                np.multiply(Gt[(m2 - 1, m1)], d1[m2 - 1][:, None, :], out=U)
                np.matmul(U.reshape(-1, ks[m2 - 1]), Ws[m2].T, out=G.reshape(-1, ks[m2]))
            Gt[(m2, m1)] = G

    for m1 in range(L - 2):
        if any(ws.curved[m1 + 1 : L - 1]):
            _curvature_from_above(eng, Ws, ws, n, at, acc, Gt, m1)
        for m2 in range(m1 + 2, L):
            U = ws.buffer("U", (n, ks[m1], ks[m2 - 1]))
            np.multiply(Gt[(m2 - 1, m1)], d1[m2 - 1][:, None, :], out=U)
            mi = at[m1].shape[1]
            Z = ws.buffer("Z", (n, mi, ks[m2]))
            outer_rows(Z, at[m1], ws.delta[m2][:n])
            acc.acc(("cross", m1, m2), U.reshape(n, -1), Z.reshape(n, -1))


def _curvature_from_above(eng, Ws, ws, n, at, acc, Gt, m1) -> None:
    r"""Blocks (m1, m2 >= m1) of :math:`\sum_{l>m_1} G_{l,m_1}^\top \mathrm{diag}(\delta'_l) G_{l,m_2}`.

    Top-down recursion :math:`Q_{m_2} = G_{m_2,m_1}^\top \mathrm{diag}(\delta'_{m_2})
    + Q_{m_2+1} W_{m_2+1} \mathrm{diag}(f'_{m_2})`, starting from :math:`Q_{L} = 0`.
    """
    L = len(eng.layers)
    ks = [lay.width for lay in eng.layers]
    Q = None
    for m2 in range(L - 2, m1 - 1, -1):
        Qn = ws.buffer(("Q", m2 % 2), (n, ks[m1], ks[m2]))
        if Q is not None:
            np.matmul(Q.reshape(-1, ks[m2 + 1]), Ws[m2 + 1], out=Qn.reshape(-1, ks[m2]))
            Qn *= ws.d1[m2][:n][:, None, :]
        if m2 > m1 and ws.curved[m2]:
            if Q is None:
                np.multiply(Gt[(m2, m1)], ws.dd[m2][:n][:, None, :], out=Qn)
            else:
                Qn += Gt[(m2, m1)] * ws.dd[m2][:n][:, None, :]
        elif Q is None:
            continue
        Q = Qn
        m_a, m_b = at[m1].shape[1], at[m2].shape[1]
        Z = ws.buffer("Z", (n, m_a, m_b))
        outer_rows(Z, at[m1], at[m2])
        acc.acc(("kron", m1, m2), Q.reshape(n, -1), Z.reshape(n, -1))


def finalize_residual(eng, H: np.ndarray, acc: HessianAccumulators, alpha) -> None:
    """Scatter the accumulated residual blocks into H's upper block triangle, times alpha."""
    for key, C in acc.blocks.items():
        kind, l1 = key[0], key[1]
        if kind == "diag":  # per-neuron blocks H[(k, i1), (k, i2)]
            k, m = eng.shapes[l1]
            if _layout(eng, l1, "diag"):  # (m*m, k)
                vals = C.reshape(m, m, k).transpose(2, 0, 1)
            else:  # (m, k*m)
                vals = C.reshape(m, k, m).transpose(1, 0, 2)
            H.ravel()[_scatter_index(eng, key)] += alpha * vals
        elif kind == "next":  # H[(k1, i1), (k2, i2 = k1)]
            (k1, m1), (k2, _) = eng.shapes[l1], eng.shapes[l1 + 1]
            if _layout(eng, l1, "next"):  # (m1*k2, k1)
                vals = C.reshape(m1, k2, k1).transpose(2, 0, 1)
            else:  # (k1*m1, k2)
                vals = C.reshape(k1, m1, k2)
            H.ravel()[_scatter_index(eng, key)] += alpha * vals
        elif kind == "kron":  # (k1*k2, i1*i2) -> (k1, i1, k2, i2)
            l2 = key[2]
            (k1, m1), (k2, m2) = eng.shapes[l1], eng.shapes[l2]
            B = _block(H, eng, l1, l2)
            B += alpha * C.reshape(k1, k2, m1, m2).transpose(0, 2, 1, 3)
        else:  # "cross": (k1*i2, i1*k2) -> (k1, i1, k2, i2), i2 over non-bias inputs
            l2 = key[2]
            (k1, m1), (k2, _) = eng.shapes[l1], eng.shapes[l2]
            kp = eng.layers[l2 - 1].width
            B = _block(H, eng, l1, l2)[:, :, :, :kp]
            B += alpha * C.reshape(k1, kp, m1, k2).transpose(0, 2, 3, 1)


def _scatter_index(eng, key) -> np.ndarray:
    """Flat indices into H of the sparse "diag" (k, m, m) and "next" (k1, m1, k2) blocks
    (cached on the eng: they depend on its shapes only)."""
    cache = eng.hessian_index
    idx = cache.get(key)
    if idx is None:
        kind, l1 = key
        P = eng.nparams
        (k, m), o = eng.shapes[l1], eng.offsets[l1]
        a = np.arange(k)[:, None, None]
        i1 = np.arange(m)[None, :, None]
        if kind == "diag":
            i2 = np.arange(m)[None, None, :]
            idx = (o + a * m + i1) * P + (o + a * m + i2)
        else:
            (k2, m2), o2 = eng.shapes[l1 + 1], eng.offsets[l1 + 1]
            b = np.arange(k2)[None, None, :]
            idx = (o + a * m + i1) * P + (o2 + b * m2 + a)
        idx = cache[key] = idx
    return idx


_TRIL: dict = {}


def symmetrize_from_upper(H: np.ndarray, tile: int | None = None) -> None:
    """Copy the upper triangle of the square C-contiguous ``H`` into its lower triangle.

    Column tiles: transposed copies below the diagonal tile, fancy indexing only inside the
    small diagonal tiles. Measured: 16 columns best up to P ~ 250, 64 beyond (P = 661:
    0.8 ms, P = 2550: 15 ms; ``H += H.T`` takes 3 and 99 ms).
    """
    P = H.shape[0]
    tile = tile or (16 if P <= 256 else 64)
    for b0 in range(0, P, tile):
        b1 = min(b0 + tile, P)
        H[b1:, b0:b1] = H[b0:b1, b1:].T
        t = b1 - b0
        il = _TRIL.get(t)
        if il is None:
            il = _TRIL[t] = np.tril_indices(t, -1)
        D = H[b0:b1, b0:b1]
        D[il] = D.T[il]
