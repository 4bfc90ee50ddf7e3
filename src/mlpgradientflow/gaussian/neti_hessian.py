"""NetI's Hessian: the blocks of :mod:`.neti_assembly` written into the flat (P, P) matrix.

Blocks between incoming vectors are ``s I + B K B^T`` on the unit vectors; blocks between an
incoming vector and a scalar parameter (hidden bias, output weight, output bias) are
combinations of unit vectors; scalar-scalar entries are plain numbers. Each unordered pair
of parameters is written once into ``half`` (diagonal blocks at half weight) and the
result is ``half + half.T``.
"""

from __future__ import annotations

import numpy as np

from ..derivatives.hessian_kernel import symmetrize_from_upper
from .interface import Array, Derivs, IntArray, PairTerms, Population

__all__ = ["hessian"]


def _own_curvature(kappa: Array, g_r: Array, g_c: Array, c: Array, r: Array,
                   own: int) -> tuple[Array, Array]:
    """Identity coefficient and (n, 2, 2) basis part of kappa (g_r d2r + g_c d2c) in the
    block of the neuron whose vector is basis entry ``own``."""
    s = kappa * (g_r / r - g_c * c / r**2)
    d = np.zeros((c.shape[0], 2))  # d_own = (w_other - c w_own) / r on the basis
    d[:, own], d[:, 1 - own] = -c / r, 1.0 / r
    K = np.zeros((c.shape[0], 2, 2))
    K[:, own, own] -= s
    t = (kappa * g_c / r)[:, None]
    K[:, own, :] -= t * d
    K[:, :, own] -= t * d
    return s, K


class _Blocks:
    """Coefficients of every block, per neuron (k) and partner (k students, r teachers)."""

    def __init__(self, k: int, r: int) -> None:
        def z(*shape: int) -> Array:
            return np.zeros(shape)

        self.s_diag, self.z_own = z(k), z(k)
        self.zs = {key: z(k, k) for key in ("op", "po", "pp")}
        self.zt = {key: z(k, r) for key in ("op", "po", "pp")}
        self.s_off, self.A = z(k, k), z(2, 2, k, k)
        # (w_i, s_j): own[i, j] w_i + part[i, j] w_j, and for j = i partner sums
        self.ws = {kind: dict(own=z(k, k), part=z(k, k), ps=z(k, k), pt=z(k, r))
                   for kind in ("b", "a")}
        self.wc = z(k)
        self.bb, self.ba, self.aa = z(k, k), z(k, k), z(k, k)
        self.bc, self.ac = z(k), z(k)

    def diag(self, i: IntArray, K: Array, partner: IntArray, teacher: bool) -> None:
        """K (n, 2, 2) with the own vector first, added to blocks (i, i)."""
        np.add.at(self.z_own, i, K[:, 0, 0])
        z = self.zt if teacher else self.zs
        for key, (x, y) in (("op", (0, 1)), ("po", (1, 0)), ("pp", (1, 1))):
            np.add.at(z[key], (i, partner), K[:, x, y])

    def wscalar(self, kind: str, row: IntArray, col: IntArray, vec: Array, first_is_row: bool,
                partner: IntArray, teacher: bool = False) -> None:
        """Add the (w_row, s_col) vector with basis coefficients ``vec`` (n, 2): basis entry 0
        is w_row when ``first_is_row`` else the partner's vector."""
        own_c, other_c = (vec[:, 0], vec[:, 1]) if first_is_row else (vec[:, 1], vec[:, 0])
        d = self.ws[kind]
        np.add.at(d["own"], (row, col), own_c)
        same = row == col
        if teacher:
            np.add.at(d["pt"], (row[same], partner[same]), other_c[same])
            return
        np.add.at(d["ps"], (row[same], partner[same]), other_c[same])
        np.add.at(d["part"], (row[~same], col[~same]), other_c[~same])


def hessian(neti: Population, a: Array, delta: float, r: Array, rs: Array, hat: Array,
            ss: PairTerms, st: PairTerms, Q: Derivs, M: Derivs, out: Array | None = None) -> Array:
    """NetI's (P, P) Hessian from its one-point terms ``Q`` (:math:`E[f^2]`), ``M``
    (:math:`E[f]`) and its student–student ``ss`` and student–teacher ``st`` pair terms
    (written into ``out`` when given)."""
    k, D = hat.shape
    T = neti.teacher_units
    nt = len(T.r)
    B = _Blocks(k, nt)
    ar = np.arange(k)
    # one-point terms: kappa = a^2 on E[f^2], kappa = 2 delta a on E[f]
    for kap, F, dka, dkc in ((a**2, Q, 2 * a, 0 * a), (2 * delta * a, M, 2 * delta + 0 * a, 2 * a)):
        g, h = F.gradient, F.hessian
        s = kap * g[:, 0] / rs
        B.s_diag += s
        B.z_own += kap * h[:, 0, 0] - s
        B.ws["b"]["own"][ar, ar] += kap * h[:, 0, 1]
        B.ws["a"]["own"][ar, ar] += dka * g[:, 0]
        B.wc += dkc * g[:, 0]
        B.bb[ar, ar] += kap * h[:, 1, 1]
        B.ba[ar, ar] += dka * g[:, 1]
        B.bc += dkc * g[:, 1]
    B.aa[ar, ar] += 2 * Q.value
    B.ac += 2 * M.value
    _pairs_ss(B, a, r, ss)
    _pairs_st(B, T.a, r, st)
    return _write(neti, B, hat, T.hat, out)


def _pairs_ss(B: _Blocks, a: Array, r: Array, ss: PairTerms) -> None:
    i, j, v, G, kap, Jp, Jq = ss.p, ss.q, ss.cos, ss.F, ss.kappa, ss.Jp, ss.Jq
    assert Jq is not None  # both students move
    g, H = G.gradient, G.hessian
    HJp, HJq = H @ Jp, H @ Jq
    Kpp = kap[:, None, None] * np.einsum("nma,nmb->nab", Jp, HJp)
    Kqq = kap[:, None, None] * np.einsum("nma,nmb->nab", Jq, HJq)
    Kpq = kap[:, None, None] * np.einsum("nma,nmb->nab", Jp, HJq)
    sp, Cp = _own_curvature(kap, g[:, 0], g[:, 4], v, r[i], 0)
    sq, Cq = _own_curvature(kap, g[:, 2], g[:, 4], v, r[j], 1)
    B.s_diag += np.bincount(i, sp, len(B.s_diag)) + np.bincount(j, sq, len(B.s_diag))
    B.diag(i, Kpp + Cp, j, False)
    B.diag(j, (Kqq + Cq)[:, ::-1, ::-1], i, False)  # own vector (w_j) first
    s_pq = kap * g[:, 4] / (r[i] * r[j])
    Kpq[:, 0, 0] -= s_pq
    Kpq[:, 1, 1] -= s_pq
    Kpq[:, 0, 1] += s_pq * v
    B.s_off[i, j] += s_pq
    for x in range(2):
        for y in range(2):
            B.A[x, y, i, j] += Kpq[:, x, y]
    kv = kap[:, None]
    gJp, gJq = np.einsum("nm,nma->na", g, Jp), np.einsum("nm,nma->na", g, Jq)
    B.wscalar("b", i, i, kv * HJp[:, 1], True, j)
    B.wscalar("b", i, j, kv * HJp[:, 3], True, j)
    B.wscalar("b", j, i, kv * HJq[:, 1], False, i)
    B.wscalar("b", j, j, kv * HJq[:, 3], False, i)
    B.wscalar("a", i, i, 2 * a[j][:, None] * gJp, True, j)
    B.wscalar("a", i, j, 2 * a[i][:, None] * gJp, True, j)
    B.wscalar("a", j, i, 2 * a[j][:, None] * gJq, False, i)
    B.wscalar("a", j, j, 2 * a[i][:, None] * gJq, False, i)
    np.add.at(B.bb, (i, i), kap * H[:, 1, 1])
    np.add.at(B.bb, (j, j), kap * H[:, 3, 3])
    np.add.at(B.bb, (i, j), kap * H[:, 1, 3])
    np.add.at(B.ba, (i, i), 2 * a[j] * g[:, 1])
    np.add.at(B.ba, (j, j), 2 * a[i] * g[:, 3])
    np.add.at(B.ba, (i, j), 2 * a[i] * g[:, 1])
    np.add.at(B.ba, (j, i), 2 * a[j] * g[:, 3])
    np.add.at(B.aa, (i, j), 2 * G.value)


def _pairs_st(B: _Blocks, ta: Array, r: Array, st: PairTerms) -> None:
    it, lt, u, Tt, kap, Jt = st.p, st.q, st.cos, st.F, st.kappa, st.Jp
    g, H = Tt.gradient, Tt.hessian
    HJ = H @ Jt
    K = kap[:, None, None] * np.einsum("nma,nmb->nab", Jt, HJ)
    s, C = _own_curvature(kap, g[:, 0], g[:, 4], u, r[it], 0)
    B.s_diag += np.bincount(it, s, len(B.s_diag))
    B.diag(it, K + C, lt, True)
    gJ = np.einsum("nm,nma->na", g, Jt)
    B.wscalar("b", it, it, kap[:, None] * HJ[:, 1], True, lt, teacher=True)
    B.wscalar("a", it, it, -2 * ta[lt][:, None] * gJ, True, lt, teacher=True)
    np.add.at(B.bb, (it, it), kap * H[:, 1, 1])
    np.add.at(B.ba, (it, it), -2 * ta[lt] * g[:, 1])


def _write(neti: Population, B: _Blocks, hat: Array, that: Array,
           out: Array | None = None) -> Array:
    k, D = hat.shape
    net = neti.layout
    bias1, bias2 = net.layers[0].bias, net.layers[1].bias
    m = D + int(bias1)
    P = neti.nparams
    H = np.empty((P, P)) if out is None else out
    # blocks (w_i, w_j), j != i: S_ij I + w_i y_ij^T + w_j z_ij^T, with the coefficients of
    # both orientations (A holds i < j only; block (j, i) is the transpose of block (i, j))
    A = B.A
    S = B.s_off + B.s_off.T
    a00, a01 = A[0, 0] + A[1, 1].T, A[0, 1] + A[0, 1].T
    a10, a11 = A[1, 0] + A[1, 0].T, A[1, 1] + A[0, 0].T
    dblk = _diagonal_blocks(B, hat, that)
    diag = np.arange(D)
    for i in range(k):
        row = H[i * m : i * m + D, : k * m].reshape(D, k, m)
        y = a00[i][:, None] * hat[i] + a01[i][:, None] * hat  # (k, D)
        z = a10[i][:, None] * hat[i] + a11[i][:, None] * hat
        w = row[:, :, :D]
        np.multiply(hat[i][:, None, None], y[None], out=w)
        w += hat.T[:, :, None] * z[None]
        w[diag, :, diag] += S[i]
        w[:, i, :] = dblk[i]
    o2 = k * m
    Hw = H[: k * m].reshape(k, m, P)
    for kind in ("b", "a") if bias1 else ("a",):
        d = B.ws[kind]
        blk = d["own"][:, None, :] * hat[:, :, None] + d["part"][:, None, :] * hat.T[None, :, :]
        blk[np.arange(k), :, np.arange(k)] += d["ps"] @ hat + d["pt"] @ that
        rows = slice(D, k * m, m) if kind == "b" else slice(o2, o2 + k)
        Hw[:, :D, rows] = blk
        H[rows, : k * m].reshape(k, k, m)[:, :, :D] = blk.transpose(2, 0, 1)
    scal = np.concatenate([np.arange(k) * m + D] * bias1 + [o2 + np.arange(k)] + [[o2 + k]] * bias2)
    Hs = _scalar_block(B, k, bias1, bias2)
    H[np.ix_(scal, scal)] = Hs
    if bias2:
        Hw[:, :D, o2 + k] = B.wc[:, None] * hat
        H[o2 + k, : k * m].reshape(k, m)[:, :D] = B.wc[:, None] * hat
    # the blocks agree with their transposes to rounding; make H exactly symmetric
    symmetrize_from_upper(H)
    return H


def _diagonal_blocks(B: _Blocks, hat: Array, that: Array) -> Array:
    """Blocks (w_i, w_i), shape (k, D, D)."""
    D = hat.shape[1]
    dblk = B.s_diag[:, None, None] * np.eye(D) + B.z_own[:, None, None] * hat[:, :, None] * hat[:, None, :]
    for z, vecs in ((B.zs, hat), (B.zt, that)):
        zop, zpo = z["op"] @ vecs, z["po"] @ vecs
        dblk += hat[:, :, None] * zop[:, None, :] + zpo[:, :, None] * hat[:, None, :]
        dblk += np.einsum("ip,pd,pe->ide", z["pp"], vecs, vecs, optimize=True)
    return dblk


def _scalar_block(B: _Blocks, k: int, bias1: bool, bias2: bool) -> Array:
    """The symmetric block of the scalar parameters, ordered (b, a, c)."""
    bb = np.triu(B.bb) + np.triu(B.bb, 1).T  # b_i b_j and a_i a_j were accumulated for i <= j
    aa = np.triu(B.aa) + np.triu(B.aa, 1).T
    parts = []
    if bias1:
        parts.append([bb, B.ba] + ([B.bc[:, None]] if bias2 else []))
        parts.append([B.ba.T, aa] + ([B.ac[:, None]] if bias2 else []))
    else:
        parts.append([aa] + ([B.ac[:, None]] if bias2 else []))
    if bias2:
        last = ([B.bc[None, :]] if bias1 else []) + [B.ac[None, :], np.array([[2.0]])]
        parts.append(last)
    return np.block(parts)
