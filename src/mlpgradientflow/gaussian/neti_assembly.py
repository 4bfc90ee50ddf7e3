r"""Assembly of NetI's loss, gradient and Hessian from the Gaussian expectations.

Every term of the loss (see :mod:`.neti`) is :math:`\kappa(a)\, F(x)` with :math:`x` the
arguments of a one-point (:math:`r_p, b_p`) or two-point (:math:`r_p, b_p, r_q, b_q, c_{pq}`)
expectation and :math:`\kappa` a product of output weights. Its derivatives with respect
to an incoming vector are combinations of :math:`\hat w_p` and :math:`\hat w_q` (the
Jacobian rows :math:`\hat w_p` and :math:`d_p = (\hat w_q - c\,\hat w_p)/r_p`), so each
term is kept as coefficients on the basis :math:`B = (\hat w_p, \hat w_q)`:

* gradient: :math:`\kappa\, g^\top J_p` (2 coefficients);
* Hessian block :math:`(w_p, w_q)`: :math:`s\,I + B K B^\top` with
  :math:`K = \kappa J_p^\top H_x J_q` plus the curvature of :math:`r` and :math:`c`
  (formulas in :mod:`.neti`), and :math:`s` from the same curvature terms.

The blocks are then written into the flat (P, P) matrix with broadcast outer products, all
pairs at once.
"""

from __future__ import annotations

import numpy as np

from ..layout import Layout
from .dispatch import NETI_METHODS
from .expectations import one_point, two_point
from .interface import Array, Derivs, ErrorTerm, IntArray, PairTerms, Population
from .neti_hessian import hessian

__all__ = ["evaluate", "unpack", "error_estimate", "jacobians", "Result"]

#: (loss, gradient, Hessian); None beyond the order
Result = tuple[float, Array | None, Array | None]


def unpack(layout: Layout, p: Array) -> tuple[Array, Array, Array, float]:
    """(W (k, D), b (k,), a (k,), c) of a one-hidden-layer net; missing biases are zeros."""
    M1, M2 = layout.unflatten(np.asarray(p, dtype=float))
    D, k = layout.din, M1.shape[0]
    W = M1[:, :D]
    b = M1[:, D] if layout.layers[0].bias else np.zeros(k)
    return W, b, M2[0, :k], float(M2[0, k]) if layout.layers[1].bias else 0.0


def jacobians(c: Array, rp: Array, rq: Array) -> tuple[Array, Array]:
    """Per pair, the (5, 2) Jacobians of x = (r_p, b_p, r_q, b_q, c) on the bases of w_p, w_q."""
    n = c.shape[0]
    Jp, Jq = np.zeros((n, 5, 2)), np.zeros((n, 5, 2))
    Jp[:, 0, 0] = 1.0
    Jp[:, 4, 0], Jp[:, 4, 1] = -c / rp, 1.0 / rp
    Jq[:, 2, 1] = 1.0
    Jq[:, 4, 0], Jq[:, 4, 1] = 1.0 / rq, -c / rq
    return Jp, Jq


def evaluate(neti: Population, p: Array, order: int, hess_out: Array | None = None,
             errors: list[dict[str, float]] | None = None) -> Result:
    """(loss, gradient, Hessian) of NetI at checked ``p`` (see the module docstring); the
    Hessian is written into ``hess_out`` when given (reusing it avoids the page faults of a
    fresh P x P array). With ``errors`` (a list), the error estimate of this evaluation
    (:func:`error_estimate`) is appended to it."""
    W, b, a, c = unpack(neti.layout, p)
    k, D = W.shape
    T = neti.teacher_units
    r = np.linalg.norm(W, axis=1)
    rs = np.where(r > 0, r, 1.0)
    hat = W / rs[:, None]
    f = neti.f
    m1, m2 = NETI_METHODS[neti.method]
    delta = c - T.c
    i, j = np.triu_indices(k, 1)
    v = np.clip(np.sum(hat[i] * hat[j], axis=1), -1.0, 1.0)
    nt = len(T.r)
    it, lt = np.repeat(np.arange(k), nt), np.tile(np.arange(nt), k)
    u = np.clip(hat @ T.hat.T, -1.0, 1.0).ravel()
    Q, eQ = one_point(f, r, b, order=order, squared=True, method=m1, return_error=True)
    M, eM = one_point(f, r, b, order=order, method=m1, return_error=True)
    G, eG = two_point(f, f, r[i], b[i], r[j], b[j], v, order=order, method=m2,
                      return_error=True)
    Tt, eT = two_point(f, T.f, r[it], b[it], T.r[lt], T.b[lt], u, order=order,
                       method=m2, return_error=True)
    kss, kst = 2 * a[i] * a[j], -2 * a[it] * T.a[lt]
    with np.errstate(invalid="ignore", over="ignore"):
        loss = (a**2 @ Q.value + kss @ G.value + kst @ Tt.value + neti.C2 + delta**2
                + 2 * delta * (a @ M.value - neti.C1))
    if errors is not None:
        errors.append(error_estimate(neti, delta, order, [
            ErrorTerm(a**2, 2 * np.abs(a), 2.0, Q, eQ, rs),
            ErrorTerm(2 * delta * a, 2 * np.abs(delta) + 2 * np.abs(a), 2.0, M, eM, rs),
            ErrorTerm(kss, 2 * (np.abs(a[i]) + np.abs(a[j])), 2.0, G, eG,
                      np.minimum(rs[i], rs[j])),
            ErrorTerm(kst, 2 * np.abs(T.a[lt]), 0.0, Tt, eT, np.minimum(rs[it], T.rs[lt]))]))
    if order == 0:
        return float(loss), None, None
    gw, gb, ga = np.zeros((k, D)), np.zeros(k), np.zeros(k)
    gc = float(2 * delta + 2 * (a @ M.value - neti.C1))
    # one-point terms: kappa = a^2 (squared) and 2 delta a (mean)
    for kap, F, dka in ((a**2, Q, 2 * a), (2 * delta * a, M, 2 * delta * np.ones(k))):
        gw += (kap * F.gradient[:, 0])[:, None] * hat
        gb += kap * F.gradient[:, 1]
        ga += dka * F.value
    # pairs: student-student (both sides move) and student-teacher
    Jp, Jq = jacobians(v, r[i], r[j])
    ss = PairTerms(i, j, v, G, kss, Jp, Jq)
    gp = np.einsum("n,nm,nma->na", kss, G.gradient, Jp)
    gq = np.einsum("n,nm,nma->na", kss, G.gradient, Jq)
    _add_vec(gw, i, gp, hat[i], hat[j])
    _add_vec(gw, j, gq, hat[i], hat[j])
    np.add.at(gb, i, kss * G.gradient[:, 1])
    np.add.at(gb, j, kss * G.gradient[:, 3])
    np.add.at(ga, i, 2 * a[j] * G.value)
    np.add.at(ga, j, 2 * a[i] * G.value)
    Jt, _ = jacobians(u, r[it], T.r[lt])
    st = PairTerms(it, lt, u, Tt, kst, Jt)
    gt = np.einsum("n,nm,nma->na", kst, Tt.gradient, Jt)
    _add_vec(gw, it, gt, hat[it], T.hat[lt])
    np.add.at(gb, it, kst * Tt.gradient[:, 1])
    np.add.at(ga, it, -2 * T.a[lt] * Tt.value)
    g = _flat_gradient(neti, gw, gb, ga, gc)
    if order == 1:
        return float(loss), g, None
    H = hessian(neti, a, delta, r, rs, hat, ss, st, Q, M, hess_out)
    return float(loss), g, H


def _mag(d: Derivs, n: int) -> Array:
    """Largest |value|, |gradient entry|, |Hessian entry| per integral, (n, 3)."""
    out = np.zeros((n, 3))
    np.abs(d.value, out=out[:, 0])
    if d.grad is not None:
        out[:, 1] = np.abs(d.grad).max(axis=1)
    if d.hess is not None:
        out[:, 2] = np.abs(d.hess).max(axis=(1, 2))
    return out


def error_estimate(neti: Population, delta: float, order: int,
                   terms: list[ErrorTerm]) -> dict[str, float]:
    r"""Absolute and relative error estimates of loss, gradient and Hessian.

    Each term :math:`\kappa F` contributes, with :math:`e_0, e_1, e_2` the error estimates
    of :math:`F`'s value, gradient and Hessian entries (:mod:`.accuracy`),
    :math:`|\kappa|e_0` to the loss, :math:`|\kappa|e_1 j + |\kappa'|e_0` to the gradient and
    :math:`|\kappa|(e_2 + e_1)j^2 + |\kappa'|e_1 j + |\kappa''|e_0` to the Hessian, where
    :math:`j = \max(1, 1/r)` bounds the chain rule through the norms and cosines and
    :math:`\kappa', \kappa''` bound the derivatives of :math:`\kappa` in the output weights
    and bias; the relative estimates divide by the same sums with the magnitudes of
    :math:`F` in place of its errors (the size of the terms summed), plus the teacher's
    constants. Rounding is not included.
    """
    err, mag = [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]
    with np.errstate(invalid="ignore", over="ignore"):
        for term in terms:
            kap, dk, ddk, F, e, rmin = (term.kappa, term.dkappa, term.ddkappa, term.F,
                                        term.err, term.rmin)
            n = len(F.value)
            if n == 0:
                continue
            W = np.empty((5, n))
            np.abs(kap, out=W[0])
            j = np.maximum(1.0, 1.0 / rmin)
            np.multiply(W[0], j, out=W[1])
            W[2] = dk
            np.multiply(W[1], j, out=W[3])
            np.multiply(W[2], j, out=W[4])
            for tgt, x in ((err, e), (mag, _mag(F, n))):
                S = (W @ x).tolist()  # 5 x 3
                tgt[0] += S[0][0]
                tgt[1] += S[1][1] + S[2][0]
                tgt[2] += S[3][2] + S[3][1] + S[4][1]
                if ddk:
                    tgt[2] += ddk * float(x[:, 0].sum())
    err_a, mag_a = np.array(err), np.array(mag)
    c = abs(neti.C2) + delta**2 + 2 * abs(delta * neti.C1)
    err_a += np.array([neti.C_err[0] + 2 * abs(delta) * neti.C_err[1], 2 * neti.C_err[1], 0.0])
    mag_a += np.array([c, 2 * abs(delta) + 2 * abs(neti.C1), 2.0])
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(mag_a > 0, err_a / mag_a, 0.0)
    names = ("loss", "gradient", "hessian")[: order + 1]
    out = {name: float(rel[i]) for i, name in enumerate(names)}
    out.update({f"{name}_abs": float(err_a[i]) for i, name in enumerate(names)})
    return out


def _add_vec(out: Array, idx: IntArray, coef: Array, e0: Array, e1: Array) -> None:
    """out[idx] += coef[:, 0] e0 + coef[:, 1] e1 (rows may repeat)."""
    np.add.at(out, idx, coef[:, :1] * e0 + coef[:, 1:] * e1)


def _flat_gradient(neti: Population, gw: Array, gb: Array, ga: Array, gc: float) -> Array:
    net = neti.layout
    g = np.zeros(neti.nparams)
    M1, M2 = net.unflatten(g)
    M1[:, : neti.din] = gw
    if net.layers[0].bias:
        M1[:, neti.din] = gb
    M2[0, : len(ga)] = ga
    if net.layers[1].bias:
        M2[0, -1] = gc
    return g

