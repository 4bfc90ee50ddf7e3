"""An independent reference: the same losses written directly in PyTorch (float64), with
autograd for gradients and Hessians. Used only by the tests."""

from __future__ import annotations

import math

import numpy as np
import torch

SELU_L, SELU_A = 1.0507009873554804934193349852946, 1.6732632423543772848170429916717

TORCH_ACT = {
    "identity": lambda x: x,
    "relu": torch.relu,
    "softplus": lambda x: torch.nn.functional.softplus(x),
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "g": lambda x: torch.sigmoid(4 * x) + torch.nn.functional.softplus(x),
    "gelu": lambda x: x * 0.5 * (1 + torch.erf(x / math.sqrt(2))),
    "silu": lambda x: x * torch.sigmoid(x),
    "selu": lambda x: SELU_L * torch.where(x > 0, x, SELU_A * torch.expm1(torch.clamp(x, max=0))),
    "square": lambda x: x * x / 2,
    "cube": lambda x: x**3,
    "exp": torch.exp,
    "sigmoid2": lambda x: torch.erf(x / math.sqrt(2)),
    "normal_cdf": lambda x: 0.5 * (1 + torch.erf(x / math.sqrt(2))),
}


def torch_act(act):
    name = act.name
    if name.startswith("Poly("):
        c = act.coeffs
        return lambda x: sum(ci * x**i for i, ci in enumerate(c))
    return TORCH_ACT[name]


def torch_loss_fn(net, maxnorm=math.inf, merge=None):
    """A function of a float64 torch parameter vector giving net's mean loss."""
    X = torch.tensor(np.asarray(net.input, dtype=np.float64))
    tgt = np.asarray(net.target)
    T = torch.tensor(tgt) if tgt.dtype.kind in "iu" else torch.tensor(tgt, dtype=torch.float64)
    W8 = None if net.weights is None else torch.tensor(np.asarray(net.weights, np.float64))
    N = X.shape[0]
    shapes, offsets = net.shapes, net.offsets

    def f(p):
        a = X
        for li, (lay, (k, m), o) in enumerate(zip(net.layers, shapes, offsets)):
            M = p[o : o + k * m].reshape(k, m)
            W = M[:, : m - int(lay.bias)]
            h = a @ W.T
            if lay.bias:
                h = h + M[:, -1]
            if li == len(net.layers) - 1 and net.loss_type == "nll":
                a = h
                break
            cols = []
            for act, lo, hi in lay.groups:
                cols.append(torch_act(act)(h[:, lo:hi]))
            a = torch.cat(cols, dim=1) if len(cols) > 1 else cols[0]
        if net.loss_type == "nll":
            logp = torch.log_softmax(a, dim=1)
            if T.dim() == 1:
                per = -logp[torch.arange(N), T]
            else:
                per = -(T * logp).sum(dim=1)
        else:
            per = ((a - T) ** 2).sum(dim=1)
        L = (per if W8 is None else per * W8).sum() / N
        if math.isfinite(maxnorm):
            nx = (p * p).sum() / (2 * p.shape[0])
            if nx > maxnorm:
                L = L + (nx - maxnorm) ** 3 / 3
        if merge is not None:
            layer, (i, j), lam = merge
            k, m = shapes[layer]
            o = offsets[layer]
            d = p[o + i * m : o + (i + 1) * m] - p[o + j * m : o + (j + 1) * m]
            L = L + 0.5 * lam * (d * d).sum()
        return L

    return f


def torch_derivs(net, p, maxnorm=math.inf, merge=None, hessian=True):
    f = torch_loss_fn(net, maxnorm, merge)
    pt = torch.tensor(np.asarray(p, dtype=np.float64), requires_grad=True)
    L = f(pt)
    (g,) = torch.autograd.grad(L, pt)
    H = None
    if hessian:
        H = torch.autograd.functional.hessian(f, pt.detach()).numpy()
    return float(L.detach()), g.numpy(), H
