"""Bad input raises a clear ValueError/TypeError that names the argument."""

from __future__ import annotations

import numpy as np
import pytest

import mlpgradientflow as mgf

rng = np.random.default_rng(0)
X = rng.standard_normal((8, 2))
Y = rng.standard_normal((8, 1))
LAYERS = [(3, "tanh", True), (1, "identity", True)]


def _net(**kw):
    args = dict(input=X, target=Y)
    args.update(kw)
    return mgf.Net(kw.pop("layers", LAYERS), **{k: v for k, v in args.items() if k != "layers"})


def _nan(a, idx):
    a = np.array(a, dtype=float)
    a[idx] = np.nan
    return a


def _inf(a, idx):
    a = np.array(a, dtype=float)
    a[idx] = np.inf
    return a


NET = _net()
P = NET.random_params(0)

CASES = [
    ("1-D input", lambda: _net(input=X[:, 0]), ValueError, "`input` must be 2-D"),
    ("NaN input", lambda: _net(input=_nan(X, (3, 1))), ValueError, r"`input` contains NaN or Inf \(first at index \(3, 1\)\)"),
    ("Inf target", lambda: _net(target=_inf(Y, (2, 0))), ValueError, "`target` contains NaN or Inf"),
    ("NaN weights", lambda: _net(weights=_nan(np.ones(8), 5)), ValueError, "`weights` contains NaN or Inf"),
    ("negative weights", lambda: _net(weights=-np.ones(8)), ValueError, "`weights` must be non-negative"),
    ("weights length", lambda: _net(weights=np.ones(7)), ValueError, r"`weights` must have shape \(8,\)"),
    ("string input", lambda: _net(input=np.array([["a", "b"]])), TypeError, "`input` must be numeric"),
    ("target rows", lambda: _net(target=Y[:5]), ValueError, "`target` has 5 samples but `input` has 8"),
    ("target columns", lambda: _net(target=np.zeros((8, 3))), ValueError, "`target` has 3 columns but the output layer has 1"),
    ("unknown activation", lambda: _net(layers=[(3, "swish", True), (1, "identity", True)]), ValueError, "unknown activation 'swish'"),
    ("softmax hidden", lambda: _net(layers=[(3, "softmax", True), (1, "identity", True)]), ValueError, r"layers\[0\]: softmax is allowed in the output layer only"),
    ("tuple on output", lambda: _net(layers=[(3, "tanh", True), (1, ("relu",), True)]), ValueError, r"layers\[1\]: per-neuron activations are allowed in hidden layers only"),
    ("tuple length", lambda: _net(layers=[(3, ("relu", "tanh"), True), (1, "identity", True)]), ValueError, "declares 3 neurons but got 2"),
    ("softmax in tuple", lambda: _net(layers=[(2, ("relu", "softmax"), True), (1, "identity", True)]), ValueError, "softmax cannot be a per-neuron activation"),
    ("mse with softmax", lambda: mgf.Net([(3, "tanh", True), (2, "softmax", True)], input=X, target=np.arange(8) % 2, loss="mse"), ValueError, "`loss`='mse' with a softmax output"),
    ("nll without softmax", lambda: _net(loss="nll"), ValueError, "`loss`='nll' needs a softmax output"),
    ("unknown loss", lambda: _net(loss="mae"), ValueError, "`loss` must be 'mse' or 'nll'"),
    ("labels range", lambda: mgf.Net([(3, "tanh", True), (2, "softmax", True)], input=X, target=np.arange(8) % 3), ValueError, r"class labels must lie in 0..1"),
    ("float labels", lambda: mgf.Net([(3, "tanh", True), (2, "softmax", True)], input=X, target=np.zeros(8)), TypeError, "integer class labels"),
    ("negative probabilities", lambda: mgf.Net([(3, "tanh", True), (2, "softmax", True)], input=X, target=-np.ones((8, 2))), ValueError, "probabilities must be non-negative"),
    ("width None hidden", lambda: _net(layers=[(None, "tanh", True), (1, "identity", True)]), ValueError, "width None is allowed on the last layer only"),
    ("width zero", lambda: _net(layers=[(0, "tanh", True), (1, "identity", True)]), ValueError, "width must be a positive integer"),
    ("bias not bool", lambda: _net(layers=[(3, "tanh", 1), (1, "identity", True)]), TypeError, "bias must be True or False"),
    ("layer not a triple", lambda: _net(layers=[(3, "tanh"), (1, "identity", True)]), TypeError, r"layers\[0\] must be a tuple"),
    ("empty layers", lambda: mgf.Net([], din=2), TypeError, "`layers` must be a non-empty sequence"),
    ("din mismatch", lambda: _net(din=3), ValueError, "`din`=3 but `input` has 2 columns"),
    ("no din", lambda: mgf.Net(LAYERS), ValueError, "`din` is required"),
    ("target without input", lambda: mgf.Net(LAYERS, din=2, target=Y), ValueError, "need an `input`"),
    ("parameter length", lambda: NET.loss(P[:-1]), ValueError, r"`p`: expected a flat vector of length 13 \(net.nparams\), got shape \(12,\)"),
    ("2-D parameters", lambda: NET.gradient(P.reshape(1, -1)), ValueError, "expected a flat vector of length 13"),
    ("NaN parameters", lambda: NET.hessian(_nan(P, 4)), ValueError, r"`p` contains NaN or Inf \(first at index 4\)"),
    ("parameters not numeric", lambda: NET.loss("abc"), TypeError, "`p` must be a flat numeric vector"),
    ("maxnorm NaN", lambda: NET.loss(P, maxnorm=float("nan")), ValueError, "`maxnorm` must be >= 0"),
    ("maxnorm type", lambda: NET.loss(P, maxnorm="big"), TypeError, "`maxnorm` must be a number"),
    ("merge shape", lambda: NET.loss(P, merge=(0, 1, 2)), TypeError, r"`merge` must be \(layer, \(i, j\), strength\)"),
    ("merge layer", lambda: NET.loss(P, merge=(5, (0, 1), 1.0)), ValueError, "`merge`: layer must be in 0..1"),
    ("merge neuron", lambda: NET.loss(P, merge=(0, (0, 3), 1.0)), ValueError, r"`merge`: neurons must be in 0..2"),
    ("merge same neuron", lambda: NET.loss(P, merge=(0, (1, 1), 1.0)), ValueError, "must differ"),
    ("forward columns", lambda: NET(P, np.zeros((4, 3))), ValueError, r"`input` must have 2 columns \(Din\)"),
    ("forward NaN", lambda: NET(P, _nan(np.zeros((4, 2)), (0, 0))), ValueError, "`input` contains NaN"),
    ("init name", lambda: NET.random_params(0, init="he"), ValueError, "`init` must be"),
    ("params bias length", lambda: mgf.params((np.ones((2, 2)), np.ones(3))), ValueError, "bias has 3 entries for 2 rows"),
    ("params dict keys", lambda: mgf.params({"a": np.ones(2)}), ValueError, "keys must be 'w1'"),
]


@pytest.mark.parametrize("what,fn,exc,msg", CASES, ids=[c[0] for c in CASES])
def test_bad_input_raises_a_clear_error(what, fn, exc, msg):
    with pytest.raises(exc, match=msg):
        fn()


def test_overflow_is_reported_not_returned():
    net = mgf.Net([(3, "exp", True), (1, "exp", True)], input=X, target=Y)
    p = net.random_params(0) * 0 + 20.0
    with pytest.raises(mgf.NonFiniteError, match="loss is not finite"):
        net.loss(p)
    with pytest.raises(ValueError):  # NonFiniteError is a ValueError
        net.fgh(p)
