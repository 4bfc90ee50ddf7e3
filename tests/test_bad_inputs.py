"""Every bad input through the public API raises a clear error at the boundary.

One row per (entry point, bad argument): the exception type (a ValueError or TypeError
subclass) and a regular expression that the message must match, naming the argument.
Rows cover wrong shapes and types, NaN/Inf, empty arrays, zero or negative sizes,
out-of-range indices, unknown names, contradictory arguments, booleans where numbers are
wanted, output buffers aliasing inputs and impossible sizes.
"""

from __future__ import annotations

import numpy as np
import pytest

import mlpgradientflow as mgf
from mlpgradientflow import data, landscape, recovery
from mlpgradientflow.activations import get_activation
from mlpgradientflow.gaussian.quadrature import NormalIntegral, hermite_rule
from mlpgradientflow.theory import channels, copy_average, saddles, symmetry

rng = np.random.default_rng(0)
X = rng.standard_normal((12, 2))
Y = np.tanh(X[:, :1])
LAYERS = [(3, "tanh", True), (1, "identity", True)]
NET = mgf.Net(LAYERS, input=X, target=Y)
P = NET.random_params(0)
NP = NET.nparams
TEACHER = mgf.TeacherNet(LAYERS, din=2, rng=1)
T_ERF = mgf.TeacherNet([(2, "erf", False), (1, "identity", False)], din=2, rng=0)
NETI = mgf.NetI(T_ERF, [(2, "erf", False), (1, "identity", False)])
PI = NETI.random_params(1)
BASE = rng.standard_normal((4, 6, 6))
SUB = (P, NET.random_params(1), NET.random_params(2))


def nan_at(a, idx):
    a = np.array(a, dtype=float)
    a[idx] = np.nan
    return a


def readonly(a):
    a = np.array(a)
    a.flags.writeable = False
    return a


def alias_grad(fn):
    """Call ``fn(p, out)`` with ``out`` the very array ``p``."""
    p = P.copy()
    return fn(p, p)


def hess_row_alias(fn):
    """``p`` is the first row of the Hessian buffer."""
    H = np.zeros((NP, NP))
    H[0] = P
    return fn(H[0], H)


class NotANet:
    nparams = NP


ROWS = [
    # -- Net: layer spec ---------------------------------------------------------------------
    ("Net layers str", lambda: mgf.Net("tanh", din=2), TypeError, "`layers` must be a non-empty sequence"),
    ("Net layers None", lambda: mgf.Net(None, din=2), TypeError, "`layers`"),
    ("Net layers int", lambda: mgf.Net(3, din=2), TypeError, "`layers`"),
    ("Net width float", lambda: mgf.Net([(2.5, "tanh", True)], din=2), ValueError, r"layers\[0\]: width"),
    ("Net width bool", lambda: mgf.Net([(True, "tanh", True)], din=2), ValueError, r"layers\[0\]: width"),
    ("Net width negative", lambda: mgf.Net([(-1, "tanh", True)], din=2), ValueError, r"layers\[0\]: width"),
    ("Net unknown activation", lambda: mgf.Net([(2, "swish", True), (1, "identity", True)], din=2), ValueError, r"unknown activation 'swish' \(argument `layers\[0\]\[1\]`\)"),
    ("Net activation int", lambda: mgf.Net([(2, 3, True), (1, "identity", True)], din=2), TypeError, r"`layers\[0\]\[1\]`"),
    ("Net per-neuron unknown", lambda: mgf.Net([(2, ("tanh", "nope"), True), (1, "identity", True)], din=2), ValueError, r"`layers\[0\]\[1\]\[1\]`"),
    ("Net bias None", lambda: mgf.Net([(2, "tanh", None), (1, "identity", True)], din=2), TypeError, r"layers\[0\]: bias"),
    # -- Net: data -----------------------------------------------------------------------------
    ("Net input 3-D", lambda: mgf.Net(LAYERS, input=X[None], target=Y), ValueError, "`input` must be 2-D"),
    ("Net input no rows", lambda: mgf.Net(LAYERS, input=np.zeros((0, 2)), target=np.zeros((0, 1))), ValueError, "`input` must have at least one sample"),
    ("Net input no columns", lambda: mgf.Net(LAYERS, input=np.zeros((5, 0)), target=np.zeros((5, 1))), ValueError, "`input` must have at least one sample"),
    ("Net input complex", lambda: mgf.Net(LAYERS, input=X + 1j, target=Y), TypeError, "`input` must be numeric"),
    ("Net input Inf", lambda: mgf.Net(LAYERS, input=np.where(X > 1, np.inf, X), target=Y), ValueError, "`input` contains NaN or Inf"),
    ("Net input ragged", lambda: mgf.Net(LAYERS, input=[[1.0, 2.0], [3.0]], target=Y[:2]), TypeError, "`input` must be array-like"),
    ("Net target 3-D", lambda: mgf.Net(LAYERS, input=X, target=Y[:, :, None]), ValueError, "`target` must be 1-D or 2-D"),
    ("Net target NaN", lambda: mgf.Net(LAYERS, input=X, target=nan_at(Y, (0, 0))), ValueError, "`target` contains NaN"),
    ("Net target strings", lambda: mgf.Net(LAYERS, input=X, target=np.array(["a"] * 12)), TypeError, "`target` must be numeric"),
    ("Net weights 2-D", lambda: mgf.Net(LAYERS, input=X, target=Y, weights=np.ones((12, 1))), ValueError, "`weights` must be 1-D"),
    ("Net weights all zero", lambda: mgf.Net(LAYERS, input=X, target=Y, weights=np.zeros(12)), ValueError, "`weights` are all zero"),
    ("Net weights Inf", lambda: mgf.Net(LAYERS, input=X, target=Y, weights=np.full(12, np.inf)), ValueError, "`weights` contains NaN or Inf"),
    ("Net din zero", lambda: mgf.Net(LAYERS, din=0), ValueError, "`din` must be a positive integer"),
    ("Net din bool", lambda: mgf.Net(LAYERS, din=True), ValueError, "`din` must be a positive integer"),
    ("Net din float", lambda: mgf.Net(LAYERS, din=2.0), ValueError, "`din` must be a positive integer"),
    ("Net loss int", lambda: mgf.Net(LAYERS, input=X, target=Y, loss=2), ValueError, "`loss` must be 'mse' or 'nll'"),
    ("Net weights without input", lambda: mgf.Net(LAYERS, din=2, weights=np.ones(3)), ValueError, "need an `input`"),
    # -- TeacherNet ------------------------------------------------------------------------------
    ("TeacherNet params length", lambda: mgf.TeacherNet(LAYERS, din=2, params=np.zeros(3)), ValueError, "`params`: expected a flat vector of length 13"),
    ("TeacherNet params NaN", lambda: mgf.TeacherNet(LAYERS, din=2, params=nan_at(np.zeros(NP), 2)), ValueError, "`params` contains NaN"),
    ("TeacherNet rng str", lambda: mgf.TeacherNet(LAYERS, din=2, rng="seed"), TypeError, "`rng`"),
    ("TeacherNet rng negative", lambda: mgf.TeacherNet(LAYERS, din=2, rng=-1), TypeError, "`rng`"),
    ("TeacherNet width None", lambda: mgf.TeacherNet([(3, "tanh", True), (None, "identity", True)], din=2), ValueError, r"layers\[1\]: width None needs a target"),
    ("TeacherNet call columns", lambda: TEACHER(np.zeros((3, 5))), ValueError, r"`input` must have 2 columns"),
    ("TeacherNet call 1-D", lambda: TEACHER(np.zeros(2)), ValueError, "`input` must be 2-D"),
    # -- params, params2dict --------------------------------------------------------------------
    ("params nothing", lambda: mgf.params(), TypeError, "at least one layer"),
    ("params W 1-D", lambda: mgf.params((np.ones(3), None)), ValueError, r"`layers\[0\] W` must be 2-D"),
    ("params b NaN", lambda: mgf.params((np.ones((2, 2)), nan_at(np.ones(2), 0))), ValueError, r"`layers\[0\] b` contains NaN"),
    ("params W strings", lambda: mgf.params(np.array([["a"]])), TypeError, r"`layers\[0\] W` must be numeric"),
    ("params dict NaN", lambda: mgf.params({"w1": nan_at(np.ones((2, 2)), (0, 0))}), ValueError, "`w1` contains NaN"),
    ("params dict 1-D", lambda: mgf.params({"w1": np.ones(3)}), ValueError, "`w1` must be 2-D"),
    ("params dict gap", lambda: mgf.params({"w1": np.ones((2, 2)), "w3": np.ones((1, 2))}), ValueError, "without gaps"),
    ("params dict empty", lambda: mgf.params({}), ValueError, "without gaps"),
    ("params2dict not a net", lambda: mgf.params2dict("net", P), TypeError, "`net` must be a Net or NetI"),
    ("params2dict length", lambda: mgf.params2dict(NET, P[:5]), ValueError, "`p`: expected a flat vector of length 13"),
    ("params2dict NaN", lambda: mgf.params2dict(NET, nan_at(P, 0)), ValueError, "`p` contains NaN"),
    # -- forward pass ----------------------------------------------------------------------------
    ("net() input 1-D", lambda: NET(P, np.zeros(2)), ValueError, "`input` must be 2-D"),
    ("net() input columns", lambda: NET(P, np.zeros((4, 1))), ValueError, r"`input` must have 2 columns \(Din\)"),
    ("net() input strings", lambda: NET(P, np.array([["a", "b"]])), TypeError, "`input` must be numeric"),
    ("net() p length", lambda: NET(P[:-1]), ValueError, "`p`: expected a flat vector"),
    ("net() no data", lambda: mgf.Net(LAYERS, din=2)(P), ValueError, "no input is bound"),
    # -- derivatives: parameters, regularisers ---------------------------------------------------
    ("loss p bool", lambda: NET.loss(np.ones(NP, bool)), TypeError, "`p` must be a flat numeric vector"),
    ("loss p complex", lambda: NET.loss(P + 0j), TypeError, "`p` must be a flat numeric vector"),
    ("loss p None", lambda: NET.loss(None), TypeError, "`p`"),
    ("loss p scalar", lambda: NET.loss(1.0), ValueError, r"`p`: expected a flat vector of length 13"),
    ("loss p Inf", lambda: NET.loss(np.where(P > 0, np.inf, P)), ValueError, "`p` contains NaN or Inf"),
    ("loss maxnorm bool", lambda: NET.loss(P, maxnorm=True), TypeError, "`maxnorm` must be a number"),
    ("loss maxnorm negative", lambda: NET.loss(P, maxnorm=-1.0), ValueError, "`maxnorm` must be >= 0"),
    ("loss merge strength str", lambda: NET.loss(P, merge=(0, (0, 1), "x")), ValueError, "`merge`: strength must be a finite number"),
    ("loss merge layer bool", lambda: NET.loss(P, merge=(True, (0, 1), 1.0)), ValueError, "`merge`: layer must be in"),
    ("loss no data", lambda: mgf.Net(LAYERS, din=2).loss(P), ValueError, "no data bound"),
    ("mgf.loss not a net", lambda: mgf.loss("net", P), TypeError, "`net` must be a Net or NetI"),
    ("mgf.gradient not a net", lambda: mgf.gradient(None, P), TypeError, "`net` must be a Net or NetI"),
    ("mgf.hessian not a net", lambda: mgf.hessian(NotANet(), P), TypeError, "`net` must be a Net or NetI"),
    ("mgf.fg not a net", lambda: mgf.fg([1, 2], P), TypeError, "`net` must be a Net or NetI"),
    ("mgf.fgh not a net", lambda: mgf.fgh(3, P), TypeError, "`net` must be a Net or NetI"),
    ("hessian_spectrum not a net", lambda: mgf.hessian_spectrum("net", P), TypeError, "`net` must be a Net or NetI"),
    ("hessian_spectrum p NaN", lambda: mgf.hessian_spectrum(NET, nan_at(P, 1)), ValueError, "`p` contains NaN"),
    ("hvp v length", lambda: NET.hvp(P, P[:3]), ValueError, "`v`: expected a flat vector"),
    ("hvp v NaN", lambda: NET.hvp(P, nan_at(P, 0)), ValueError, "`v` contains NaN"),
    # -- derivatives: output buffers -------------------------------------------------------------
    ("gradient out=p", lambda: alias_grad(lambda p, o: NET.gradient(p, out=o)), ValueError, "`out` shares memory with `p`"),
    ("fg grad_out=p", lambda: alias_grad(lambda p, o: NET.fg(p, grad_out=o)), ValueError, "`grad_out` shares memory with `p`"),
    ("fgh grad_out=p", lambda: alias_grad(lambda p, o: NET.fgh(p, grad_out=o)), ValueError, "`grad_out` shares memory with `p`"),
    ("fgh hess_out holds p", lambda: hess_row_alias(lambda p, H: NET.fgh(p, hess_out=H)), ValueError, "`hess_out` shares memory with `p`"),
    ("hessian out holds p", lambda: hess_row_alias(lambda p, H: NET.hessian(p, out=H)), ValueError, "`out` shares memory with `p`"),
    ("fgh grad_out in hess_out", lambda: (lambda H: NET.fgh(P, grad_out=H[1], hess_out=H))(np.zeros((NP, NP))), ValueError, "`hess_out` shares memory with `grad_out`"),
    ("hvp out=v", lambda: (lambda v: NET.hvp(P, v, out=v))(P.copy()), ValueError, "`out` shares memory with `v`"),
    ("hvp out=p", lambda: alias_grad(lambda p, o: NET.hvp(p, P, out=o)), ValueError, "`out` shares memory with `p`"),
    ("mgf.gradient out=p", lambda: alias_grad(lambda p, o: mgf.gradient(NET, p, out=o)), ValueError, "`out` shares memory with `p`"),
    ("mgf.fgh grad_out=p", lambda: alias_grad(lambda p, o: mgf.fgh(NET, p, grad_out=o)), ValueError, "`grad_out` shares memory with `p`"),
    ("mgf.hessian out holds p", lambda: hess_row_alias(lambda p, H: mgf.hessian(NET, p, out=H)), ValueError, "`out` shares memory with `p`"),
    ("gradient out shape", lambda: NET.gradient(P, out=np.zeros(NP + 1)), ValueError, r"`out` must be an array of shape \(13,\)"),
    ("gradient out list", lambda: NET.gradient(P, out=[0.0] * NP), ValueError, "`out` must be an array"),
    ("gradient out read-only", lambda: NET.gradient(P, out=readonly(np.zeros(NP))), ValueError, "`out` must be writeable"),
    ("gradient out strided", lambda: NET.gradient(P, out=np.zeros(2 * NP)[::2]), ValueError, "`out` must be C-contiguous"),
    ("hessian out dtype", lambda: NET.hessian(P, out=np.zeros((NP, NP), np.float32)), ValueError, "`out` must be an array of shape"),
    ("hessian out Fortran", lambda: NET.hessian(P, out=np.zeros((NP, NP), order="F")), ValueError, "`out` must be C-contiguous"),
    ("fgh hess_out shape", lambda: NET.fgh(P, hess_out=np.zeros((NP, NP + 1))), ValueError, "`hess_out` must be an array of shape"),
    # -- activations -----------------------------------------------------------------------------
    ("Activation f not callable", lambda: mgf.Activation(1.0, np.cos, np.sin), TypeError, "`f` must be a callable"),
    ("Activation name int", lambda: mgf.Activation(np.sin, np.cos, np.sin, name=3), TypeError, "`name` must be a non-empty str"),
    ("Activation built-in name", lambda: mgf.Activation(np.sin, np.cos, np.sin, name="relu"), ValueError, "`name`='relu' is the name of a built-in"),
    ("Activation call strings", lambda: get_activation("tanh")(np.array(["a"])), TypeError, "`x` must be numeric"),
    ("Poly empty", lambda: mgf.Poly(), ValueError, "`coeffs` must hold at least one"),
    ("Poly str", lambda: mgf.Poly(1.0, "a"), TypeError, "`coeffs` must be real numbers"),
    ("Poly bool", lambda: mgf.Poly(True, 1.0), TypeError, "`coeffs` must be real numbers"),
    ("Poly NaN", lambda: mgf.Poly(1.0, np.nan), ValueError, "`coeffs` must be finite"),
    ("Poly nested", lambda: mgf.Poly([[1.0, 2.0]]), TypeError, "`coeffs` must be real numbers"),
    ("get_activation unknown", lambda: get_activation("swish"), ValueError, r"unknown activation 'swish' \(argument `act`\)"),
    ("get_activation None", lambda: get_activation(None), TypeError, r"argument `act`"),
    ("get_activation empty", lambda: get_activation(""), ValueError, "unknown activation ''"),
    # -- NetI ------------------------------------------------------------------------------------
    ("NetI teacher str", lambda: mgf.NetI("teacher", LAYERS), TypeError, "`teacher` must be a TeacherNet"),
    ("NetI deep teacher", lambda: mgf.NetI(mgf.TeacherNet([(2, "erf", False), (2, "erf", False), (1, "identity", False)], din=2, rng=0), LAYERS), ValueError, "`teacher`: NetI needs exactly one hidden layer"),
    ("NetI student int", lambda: mgf.NetI(T_ERF, 5), TypeError, "`student_layers`"),
    ("NetI student bad layer", lambda: mgf.NetI(T_ERF, [(2, "erf"), (1, "identity", False)]), TypeError, r"`student_layers`: layers\[0\] must be a tuple"),
    ("NetI student two outputs", lambda: mgf.NetI(T_ERF, [(2, "erf", False), (2, "identity", False)]), ValueError, "`student_layers`: NetI needs one identity output"),
    ("NetI tol str", lambda: mgf.NetI(T_ERF, [(2, "erf", False), (1, "identity", False)], tol="x"), TypeError, "`tol` must be a real number"),
    ("NetI tol negative", lambda: mgf.NetI(T_ERF, [(2, "erf", False), (1, "identity", False)], tol=-1.0), ValueError, "`tol` must be > 0"),
    ("NetI method", lambda: mgf.NetI(T_ERF, [(2, "erf", False), (1, "identity", False)], method="magic"), ValueError, "`method` must be one of"),
    ("NetI method one-point only", lambda: mgf.NetI(T_ERF, [(2, "erf", False), (1, "identity", False)], method="piecewise"), ValueError, r"`method` must be one of \('auto', 'closed_form', 'quadrature', 'hermite'\)"),
    ("NetI p length", lambda: NETI.loss(PI[:-1]), ValueError, "`p`: expected a flat vector"),
    ("NetI p NaN", lambda: NETI.gradient(nan_at(PI, 0)), ValueError, "`p` contains NaN"),
    ("NetI gradient out=p", lambda: (lambda p: NETI.gradient(p, out=p))(PI.copy()), ValueError, "`out` shares memory with `p`"),
    ("NetI gradient out shape", lambda: NETI.gradient(PI, out=np.zeros((PI.size, PI.size))), ValueError, "`out` must be an array of shape"),
    ("NetI fg grad_out=p", lambda: (lambda p: NETI.fg(p, grad_out=p))(PI.copy()), ValueError, "`grad_out` shares memory with `p`"),
    ("NetI hessian out shape", lambda: NETI.hessian(PI, out=np.zeros(PI.size)), ValueError, "`out` must be an array of shape"),
    ("NetI fgh hess_out holds p", lambda: (lambda H: NETI.fgh(H[0], hess_out=H))(np.tile(PI, (PI.size, 1))), ValueError, "`hess_out` shares memory with `p`"),
    ("NetI hess_out read-only", lambda: NETI.hessian(PI, out=readonly(np.zeros((PI.size, PI.size)))), ValueError, "`out` must be writeable"),
    ("mgf.fgh NetI alias", lambda: (lambda p: mgf.fgh(NETI, p, grad_out=p))(PI.copy()), ValueError, "`grad_out` shares memory with `p`"),
    # -- gauss_hermite_net, quadrature -----------------------------------------------------------
    ("ghnet N zero", lambda: mgf.gauss_hermite_net(TEACHER, LAYERS, din=2, N=0), ValueError, "`N` must be an integer in 1..1000000"),
    ("ghnet N float", lambda: mgf.gauss_hermite_net(TEACHER, LAYERS, din=2, N=10.5), ValueError, "`N` must be an integer"),
    ("ghnet N huge", lambda: mgf.gauss_hermite_net(TEACHER, LAYERS, din=2, N=10**8), ValueError, "`N` must be an integer in 1..1000000"),
    ("ghnet din zero", lambda: mgf.gauss_hermite_net(TEACHER, LAYERS, din=0), ValueError, "`din` must be a positive integer"),
    ("ghnet din too large", lambda: mgf.gauss_hermite_net(lambda x: x[:, :1], [(1, "identity", True)], din=8), ValueError, r"gauss_hermite_net\(N=600, din=8\).*smaller N"),
    ("ghnet target", lambda: mgf.gauss_hermite_net(3.0, LAYERS, din=2), TypeError, "`target` must be a TeacherNet or a callable"),
    ("ghnet threshold NaN", lambda: mgf.gauss_hermite_net(TEACHER, LAYERS, din=2, threshold=np.nan), ValueError, "`threshold` must be finite"),
    ("ghnet threshold 1", lambda: mgf.gauss_hermite_net(TEACHER, LAYERS, din=2, threshold=1.0), ValueError, "`threshold` must be < 1"),
    ("ghnet tol zero", lambda: mgf.gauss_hermite_net(TEACHER, LAYERS, din=2, tol=0.0), ValueError, "`tol` must be > 0"),
    ("hermite_rule n bool", lambda: hermite_rule(True), ValueError, "`n` must be an integer"),
    ("NormalIntegral d zero", lambda: NormalIntegral(d=0), ValueError, "`d` must be a positive integer"),
    # -- data ------------------------------------------------------------------------------------
    ("normal n zero", lambda: data.normal(0, 2), ValueError, "`n` must be a positive integer"),
    ("normal n bool", lambda: data.normal(True, 2), ValueError, "`n` must be a positive integer"),
    ("normal d float", lambda: data.normal(3, 2.0), ValueError, "`d` must be a positive integer"),
    ("normal huge", lambda: data.normal(10**6, 10**4), ValueError, r"normal\(1000000, 10000\) would need 1e\+10 values \(80 GB\)"),
    ("normal rng float", lambda: data.normal(3, 2, rng=1.5), TypeError, "`rng`"),
    ("uniform d negative", lambda: data.uniform(3, -1), ValueError, "`d` must be a positive integer"),
    ("uniform huge", lambda: data.uniform(10**9, 3), ValueError, r"uniform\(1000000000, 3\) would need"),
    ("grid huge", lambda: data.grid(1000, 3), ValueError, r"grid\(1000, 3\) with 1e\+09 points would need 3e\+09 values \(24 GB\)"),
    ("grid astronomically huge", lambda: data.grid(100, 100), ValueError, r"grid\(100, 100\) with 1e\+200 points"),
    ("grid n zero", lambda: data.grid(0, 2), ValueError, "`n_per_dim` must be a positive integer"),
    ("grid low str", lambda: data.grid(3, 2, low="a"), TypeError, "`low` must be a real number"),
    ("grid high Inf", lambda: data.grid(3, 2, high=np.inf), ValueError, "`high` must be finite"),
    ("grid low > high", lambda: data.grid(3, 2, low=1.0, high=0.0), ValueError, "`low` < `high`"),
    ("sobol d too large", lambda: data.sobol(4, 30000), ValueError, "`d`: Sobol sequences exist up to d = 21201"),
    ("sobol distribution", lambda: data.sobol(4, 2, distribution="beta"), ValueError, "`distribution`"),
    ("sobol huge", lambda: data.sobol(2**40, 2), ValueError, r"sobol\(1099511627776, 2\) would need"),
    ("sphere d zero", lambda: data.sphere(3, 0), ValueError, "`d` must be a positive integer"),
    ("sphere huge", lambda: data.sphere(10**10, 1), ValueError, r"sphere\(10000000000, 1\) would need"),
    ("rosenbrock X 1-D", lambda: data.rosenbrock(np.ones(4)), ValueError, "`X` must be 2-D"),
    ("rosenbrock one column", lambda: data.rosenbrock(np.ones((4, 1))), ValueError, "`dims` must be an integer in 2..1"),
    ("rosenbrock dims bool", lambda: data.rosenbrock(X, dims=True), ValueError, "`dims` must be an integer"),
    ("rosenbrock a NaN", lambda: data.rosenbrock(X, a=np.nan), ValueError, "`a` must be finite"),
    ("rosenbrock b str", lambda: data.rosenbrock(X, b="3"), TypeError, "`b` must be a real number"),
    ("rosenbrock offset negative", lambda: data.rosenbrock(np.array([[1.0, 0.0], [0.0, 0.0]]), offset=-1.0), ValueError, "`offset`=-1.0: the sum plus offset is .* <= 0"),
    ("ec_teacher hidden int", lambda: data.ec_teacher(2, 3), TypeError, "`hidden` must be a sequence"),
    ("ec_teacher hidden zero", lambda: data.ec_teacher(2, (3, 0)), ValueError, r"`hidden\[1\]` must be a positive integer"),
    ("ec_teacher din zero", lambda: data.ec_teacher(0), ValueError, "`din` must be a positive integer"),
    ("ec_teacher dout bool", lambda: data.ec_teacher(2, dout=True), ValueError, "`dout` must be a positive integer"),
    ("ec_teacher activation unknown", lambda: data.ec_teacher(2, activation="swish"), ValueError, r"unknown activation 'swish' \(argument `activation`\)"),
    ("ec_teacher activation softmax", lambda: data.ec_teacher(2, activation="softmax"), ValueError, "`activation`: softmax"),
    ("ec_teacher rng", lambda: data.ec_teacher(2, rng="x"), TypeError, "`rng`"),
    ("gp_teacher length_scale bool", lambda: data.gp_teacher(X, True), ValueError, "`length_scale` must be a finite number > 0"),
    ("gp_teacher length_scale Inf", lambda: data.gp_teacher(X, np.inf), ValueError, "`length_scale`"),
    ("gp_teacher jitter str", lambda: data.gp_teacher(X, 1.0, jitter="small"), TypeError, "`jitter` must be a real number"),
    ("gp_teacher max_jitter < jitter", lambda: data.gp_teacher(X, 1.0, jitter=1e-3, max_jitter=1e-4), ValueError, "`jitter`, `max_jitter`"),
    ("gp_teacher draws zero", lambda: data.gp_teacher(X, 1.0, draws=0), ValueError, "`draws` must be a positive integer"),
    ("gp_teacher X NaN", lambda: data.gp_teacher(nan_at(X, (0, 0)), 1.0), ValueError, "`X` contains NaN"),
    ("gp_teacher huge N", lambda: data.gp_teacher(np.broadcast_to(X[:1], (40_000, 2)), 1.0), ValueError, r"gp_teacher on 40000 inputs \(an N x N kernel matrix\) would need 1.6e\+09 values"),
    # -- landscape: surgery ----------------------------------------------------------------------
    ("split_neuron i range", lambda: landscape.split_neuron(NET, P, 3, 0.5), ValueError, "`i` must be a neuron index in 0..2"),
    ("split_neuron i bool", lambda: landscape.split_neuron(NET, P, True, 0.5), TypeError, "`i` must be an integer"),
    ("split_neuron gamma NaN", lambda: landscape.split_neuron(NET, P, 0, np.nan), ValueError, "`gamma` must be finite"),
    ("split_neuron gamma str", lambda: landscape.split_neuron(NET, P, 0, "half"), TypeError, "`gamma` must be a real number"),
    ("split_neuron output layer", lambda: landscape.split_neuron(NET, P, 0, 0.5, layer=1), ValueError, "`layer` must be a hidden layer, 0..0"),
    ("split_neuron p length", lambda: landscape.split_neuron(NET, P[:4], 0, 0.5), ValueError, "`p`: expected a flat vector"),
    ("split_neuron net", lambda: landscape.split_neuron("net", P, 0, 0.5), TypeError, "`net` must be a Net or NetI"),
    ("merge_neurons same", lambda: landscape.merge_neurons(NET, P, 1, 1), ValueError, "`i` and `j` must be different"),
    ("merge_neurons j range", lambda: landscape.merge_neurons(NET, P, 0, -1), ValueError, "`j` must be a neuron index"),
    ("grow_net narrower", lambda: landscape.grow_net(NET, P, 2), ValueError, "`width` must be an integer >= the current width 3"),
    ("grow_net width float", lambda: landscape.grow_net(NET, P, 4.0), ValueError, "`width` must be an integer"),
    ("grow_net huge", lambda: landscape.grow_net(NET, P, 10**9), ValueError, r"grow_net to width 1000000000 would need"),
    ("grow_net scale negative", lambda: landscape.grow_net(NET, P, 4, scale=-1.0), ValueError, "`scale` must be non-negative"),
    ("grow_net rng", lambda: landscape.grow_net(NET, P, 4, rng="seed"), TypeError, "`rng`"),
    ("grow_net activation unknown", lambda: landscape.grow_net(NET, P, 4, activation="swish"), ValueError, r"\(argument `activation`\)"),
    ("grow_net activation softmax", lambda: landscape.grow_net(NET, P, 4, activation="softmax"), ValueError, "`activation`: softmax"),
    ("shrink_net keep empty", lambda: landscape.shrink_net(NET, P, []), ValueError, "`keep` must list distinct neurons"),
    ("shrink_net keep repeated", lambda: landscape.shrink_net(NET, P, [0, 0]), ValueError, "`keep` must list distinct neurons"),
    ("shrink_net keep str", lambda: landscape.shrink_net(NET, P, "01"), TypeError, "`keep` must be a sequence"),
    ("shrink_net keep range", lambda: landscape.shrink_net(NET, P, [0, 5]), ValueError, "`keep` must be a neuron index in 0..2"),
    # -- landscape: spectra, alignment, trajectories ---------------------------------------------
    ("morse_index 2-D", lambda: landscape.morse_index(np.eye(3)), ValueError, "`evals` must be 1-D"),
    ("morse_index NaN", lambda: landscape.morse_index([1.0, np.nan]), ValueError, "`evals` contains NaN"),
    ("morse_index tol negative", lambda: landscape.morse_index([1.0, -1.0], tol=-1e-9), ValueError, "`tol` must be >= 0"),
    ("morse_index tol str", lambda: landscape.morse_index([1.0], tol="1e-9"), TypeError, "`tol` must be a real number"),
    ("cosine_similarity shapes", lambda: landscape.cosine_similarity([1.0, 0.0], [1.0, 0.0, 0.0]), ValueError, "`x`, `y` must have the same shape"),
    ("cosine_similarity NaN", lambda: landscape.cosine_similarity([np.nan, 0.0], [1.0, 0.0]), ValueError, "`x` contains NaN"),
    ("cosine_similarity 2-D", lambda: landscape.cosine_similarity(np.eye(2), np.eye(2)), ValueError, "`x` must be 1-D"),
    ("align_to_teacher net", lambda: landscape.align_to_teacher("net", P, TEACHER), TypeError, "`student_net` must be a Net or NetI"),
    ("align_to_teacher teacher", lambda: landscape.align_to_teacher(NET, P, NET), TypeError, "`teacher` must be a TeacherNet"),
    ("align_to_teacher din", lambda: landscape.align_to_teacher(NET, P, mgf.TeacherNet(LAYERS, din=3, rng=0)), ValueError, "`teacher` has input dimension 3"),
    ("align_to_teacher p", lambda: landscape.align_to_teacher(NET, P[:2], TEACHER), ValueError, "`p`: expected a flat vector"),
    ("trajectory_distance type", lambda: landscape.trajectory_distance(5, (np.arange(2.0), np.zeros((2, 3)))), TypeError, "`trajectory` must be a TrainResult"),
    ("trajectory_distance P", lambda: landscape.trajectory_distance((np.arange(2.0), np.zeros((2, 3))), (np.arange(2.0), np.zeros((2, 4)))), ValueError, "`trajectory`, `reference` have 3 and 4 parameters"),
    ("trajectory_distance empty", lambda: landscape.trajectory_distance((np.arange(2.0), np.zeros((2, 3))), (np.zeros(0), np.zeros((0, 3)))), ValueError, "`reference`: needs as many times as states, at least one"),
    ("trajectory_distance lengths", lambda: landscape.trajectory_distance((np.arange(3.0), np.zeros((2, 3))), (np.arange(2.0), np.zeros((2, 3)))), ValueError, "`trajectory`: needs as many times as states"),
    ("trajectory_distance NaN", lambda: landscape.trajectory_distance((np.arange(2.0), nan_at(np.zeros((2, 3)), (1, 1))), (np.arange(2.0), np.zeros((2, 3)))), ValueError, "`trajectory x` contains NaN"),
    # -- landscape: slices, subspaces ------------------------------------------------------------
    ("loss_slice_1d net", lambda: landscape.loss_slice_1d(NotANet(), P, P, [0.0]), TypeError, "`net` must be a Net or NetI"),
    ("loss_slice_1d direction", lambda: landscape.loss_slice_1d(NET, P, P[:3], [0.0]), ValueError, r"`direction` must have shape \(13,\)"),
    ("loss_slice_1d ts NaN", lambda: landscape.loss_slice_1d(NET, P, P, [0.0, np.nan]), ValueError, "`ts` contains NaN"),
    ("loss_slice_2d ys 2-D", lambda: landscape.loss_slice_2d(NET, P, P, P, [0.0], [[0.0]]), ValueError, "`ys` must be 1-D"),
    ("random_direction normalize", lambda: landscape.random_direction(NET, P, normalize="layer"), ValueError, "`normalize` must be 'filter' or None"),
    ("random_direction rng", lambda: landscape.random_direction(NET, P, rng="x"), TypeError, "`rng`"),
    ("hessian_directions k", lambda: landscape.hessian_directions(NET, P, k=0), ValueError, r"`k` must be an integer in 1..13"),
    ("hessian_directions which", lambda: landscape.hessian_directions(NET, P, which="middle"), ValueError, "`which`"),
    ("point_to_point shapes", lambda: landscape.point_to_point([1.0], [1.0, 2.0]), ValueError, "`p_a`, `p_b` must have the same shape"),
    ("teacher_direction teacher", lambda: landscape.teacher_direction(NET, P, "teacher"), TypeError, "`teacher` must be a TeacherNet"),
    ("teacher_direction wider teacher", lambda: landscape.teacher_direction(NET, P, mgf.TeacherNet([(5, "tanh", True), (1, "identity", True)], din=2, rng=0)), ValueError, "`teacher` has 5 hidden neurons"),
    ("LinearSubspace collinear", lambda: landscape.LinearSubspace(P, P, 2 * P), ValueError, "`v1`, `v2` are collinear"),
    ("LinearSubspace v2 zero", lambda: landscape.LinearSubspace(P, P, 0 * P), ValueError, "`v2` must be a non-zero direction"),
    ("LinearSubspace shapes", lambda: landscape.LinearSubspace(P, P[:3], P), ValueError, r"`v1` must have shape \(13,\)"),
    ("LinearSubspace P=2", lambda: landscape.LinearSubspace([0.0, 0.0], [1.0, 0.0], [0.0, 1.0]), ValueError, "at least 3 parameters"),
    ("LinearSubspace huge", lambda: landscape.LinearSubspace(np.zeros(40_000), np.eye(1, 40_000, 0)[0], np.eye(1, 40_000, 1)[0]), ValueError, r"LinearSubspace in P = 40000 dimensions \(a P x P basis\) would need"),
    ("LinearSubspace.point NaN", lambda: landscape.LinearSubspace(*SUB).point(np.nan, 0.0), ValueError, "`a1` must be finite"),
    ("LinearSubspace.coords shape", lambda: landscape.LinearSubspace(*SUB).coords(P[:3]), ValueError, r"`p` must have shape \(13,\)"),
    ("subspace_minloss net", lambda: landscape.subspace_minloss("net", SUB, (0.0, 0.0)), TypeError, "`net` must be a Net or NetI"),
    ("subspace_minloss coords", lambda: landscape.subspace_minloss(NET, SUB, (0.0, 0.0, 1.0)), ValueError, r"`coords` must be a pair"),
    ("subspace_minloss subspace", lambda: landscape.subspace_minloss(NET, P, (0.0, 0.0)), TypeError, "`subspace` must be a LinearSubspace"),
    ("subspace_minloss dimension", lambda: landscape.subspace_minloss(NET, (np.zeros(5), np.eye(5)[0], np.eye(5)[1]), (0.0, 0.0)), ValueError, "`subspace` lives in 5 dimensions"),
    ("subspace_minloss restarts", lambda: landscape.subspace_minloss(NET, SUB, (0.0, 0.0), restarts=-1), ValueError, "`restarts` must be an integer >= 0"),
    ("subspace_minloss sigma", lambda: landscape.subspace_minloss(NET, SUB, (0.0, 0.0), sigma=np.nan), ValueError, "`sigma`"),
    ("subspace_minloss nothing", lambda: landscape.subspace_minloss(NET, SUB, (0.0, 0.0), restarts=0), ValueError, "nothing to minimise from"),
    ("subspace_minloss starts", lambda: landscape.subspace_minloss(NET, SUB, (0.0, 0.0), starts=[np.zeros(3)]), ValueError, r"`starts\[0\]` must have shape \(11,\)"),
    ("subspace_minloss_on_grid grid", lambda: landscape.subspace_minloss_on_grid(NET, SUB, np.zeros((3, 3))), ValueError, r"`grid` must have shape \(M, 2\)"),
    ("subspace_minloss_on_grid n", lambda: landscape.subspace_minloss_on_grid(NET, SUB, np.zeros((1, 2)), n=0), ValueError, "`n` must be a positive integer"),
    ("subspace_minloss_on_grid net", lambda: landscape.subspace_minloss_on_grid(None, SUB, np.zeros((1, 2))), TypeError, "`net` must be a Net or NetI"),
    # -- theory: symmetry ------------------------------------------------------------------------
    ("stirling2 negative", lambda: symmetry.stirling2(-1, 0), ValueError, "`n` must be >= 0"),
    ("stirling2 float", lambda: symmetry.stirling2(3.0, 1), TypeError, "`n` must be an integer"),
    ("stirling2 huge", lambda: symmetry.stirling2(10**6, 10**5), ValueError, r"stirling2\(1000000, 100000\) needs S\(1000000, 100000\)"),
    ("n_global_min_subspaces r_star", lambda: symmetry.n_global_min_subspaces(0, 3), ValueError, "`r_star` must be >= 1"),
    ("n_global_min_subspaces huge", lambda: symmetry.n_global_min_subspaces(3000, 3000), ValueError, r"n_global_min_subspaces\(3000, 3000\) needs"),
    ("n_saddle_subspaces bool", lambda: symmetry.n_saddle_subspaces(True, 3), TypeError, "`r` must be an integer"),
    ("n_saddle_subspaces huge", lambda: symmetry.n_saddle_subspaces(5000, 5000), ValueError, r"n_saddle_subspaces\(5000, 5000\) needs"),
    ("enumerate_subspaces r zero", lambda: symmetry.enumerate_subspaces(0, 3), ValueError, "`r` must be >= 1"),
    ("enumerate_subspaces m float", lambda: symmetry.enumerate_subspaces(1, 2.0), TypeError, "`m` must be an integer"),
    ("expand m < r", lambda: symmetry.expand(NET, P, 2, (0, 1)), ValueError, "`m` must be >= 3"),
    ("expand assignment length", lambda: symmetry.expand(NET, P, 4, (0, 1, 2)), ValueError, "`assignment` must be 4 integer labels"),
    ("expand assignment label", lambda: symmetry.expand(NET, P, 4, (0, 1, 2, 3)), ValueError, r"`assignment`: labels must lie in -2..2"),
    ("expand assignment missing", lambda: symmetry.expand(NET, P, 4, (0, 1, 1, -1)), ValueError, r"`assignment` must use every source neuron 0..2"),
    ("expand assignment floats", lambda: symmetry.expand(NET, P, 4, (0.0, 1.0, 2.0, 2.0)), ValueError, "`assignment` must be 4 integer labels"),
    ("expand rng", lambda: symmetry.expand(NET, P, 4, (0, 1, 2, 2), rng="x"), TypeError, "`rng`"),
    ("expand net", lambda: symmetry.expand("net", P, 4, (0, 1, 2, 2)), TypeError, "`net` must be a Net or NetI"),
    ("expand deep net layer", lambda: symmetry.expand(mgf.Net([(2, "tanh", True), (2, "tanh", True), (1, "identity", True)], din=2), np.zeros(15), 3, (0, 1, 1), layer=2), ValueError, "`layer` must be a hidden layer, 0..1"),
    # -- theory: saddles -------------------------------------------------------------------------
    ("permutation_point same", lambda: saddles.permutation_point(NET, P, 1, 1), ValueError, "`pairs` must hold at least one pair of neurons, all different"),
    ("permutation_point range", lambda: saddles.permutation_point(NET, P, 0, 3), ValueError, "`pairs` must be a neuron index in 0..2"),
    ("permutation_point gamma str", lambda: saddles.permutation_point(NET, P, 0, 1, gamma="half"), TypeError, "`gamma` must be a number"),
    ("permutation_point gamma NaN", lambda: saddles.permutation_point(NET, P, 0, 1, gamma=np.nan), ValueError, "`gamma` must be finite"),
    ("permutation_point morse_tol", lambda: saddles.permutation_point(NET, P, 0, 1, morse_tol=-1.0), ValueError, "`morse_tol` must be >= 0"),
    ("permutation_point train_options", lambda: saddles.permutation_point(NET, P, 0, 1, train_options=[("maxiterations_ode", 5)]), TypeError, "`train_options` must be a dict"),
    ("permutation_point layer", lambda: saddles.permutation_point(NET, P, 0, 1, layer=1), ValueError, "`layer` must be a hidden layer"),
    ("kth_order_point pairs overlap", lambda: saddles.kth_order_point(NET, P, [(0, 1), (1, 2)]), ValueError, "disjoint pairs"),
    ("kth_order_point pair triple", lambda: saddles.kth_order_point(NET, P, [(0, 1, 2)]), TypeError, r"`pairs`: each entry must be a pair"),
    ("kth_order_point gamma count", lambda: saddles.kth_order_point(NET, P, [(0, 1)], gamma=[0.5, 0.5]), ValueError, "`gamma` must be a number or 1 numbers"),
    ("permutation_point_count width", lambda: saddles.permutation_point_count(0), ValueError, "`width` must be an integer in 1..100000"),
    ("permutation_point_count huge", lambda: saddles.permutation_point_count(10**7), ValueError, "`width` must be an integer in 1..100000"),
    ("permutation_point_count order", lambda: saddles.permutation_point_count(4, 1.5), ValueError, "`order` must be a positive integer"),
    # -- theory: channels, copy-average ----------------------------------------------------------
    ("saddle_line_stability i", lambda: channels.saddle_line_stability(NET, P, 3), ValueError, r"`i` must be a hidden-neuron index in 0..2"),
    ("saddle_line_stability tol", lambda: channels.saddle_line_stability(NET, P, 0, tol=np.nan), ValueError, "`tol` must be finite"),
    ("saddle_line_stability p", lambda: channels.saddle_line_stability(NET, P[:3], 0), ValueError, "`p`: expected a flat vector"),
    ("saddle_line_stability no data", lambda: channels.saddle_line_stability(mgf.Net(LAYERS, din=2), P, 0), ValueError, "bound input and target"),
    ("glu_readout activation softmax", lambda: channels.glu_readout(X, Y, [1.0, 0.0], "softmax"), ValueError, "`activation`: softmax"),
    ("glu_readout activation unknown", lambda: channels.glu_readout(X, Y, [1.0, 0.0], "swish"), ValueError, r"\(argument `activation`\)"),
    ("glu_readout y rows", lambda: channels.glu_readout(X, Y[:5], [1.0, 0.0], "tanh"), ValueError, "`y` has 5 rows but `X` has 12"),
    ("glu_readout w length", lambda: channels.glu_readout(X, Y, [1.0, 0.0, 0.0, 0.0], "tanh"), ValueError, "the gate has 4 entries"),
    ("glu_readout weights", lambda: channels.glu_readout(X, Y, [1.0, 0.0], "tanh", weights=-np.ones(12)), ValueError, "`weights` must be non-negative"),
    ("loss_erf zero", lambda: copy_average.loss_erf(0), ValueError, "`p`: group sizes must be integers >= 1"),
    ("loss_erf fraction", lambda: copy_average.loss_erf(1.5), ValueError, "`p`: group sizes must be integers"),
    ("loss_erf bool", lambda: copy_average.loss_erf(True), TypeError, "`p`: group sizes must be integers >= 1, got booleans"),
    ("loss_erf NaN", lambda: copy_average.loss_erf(np.nan), ValueError, "`p` contains NaN"),
    ("ca_point V not orthonormal", lambda: copy_average.ca_point(np.ones((2, 3)), np.ones(2), [[0], [1]]), ValueError, "`V`: teacher vectors"),
    ("ca_point a length", lambda: copy_average.ca_point(np.eye(2, 3), np.ones(3), [[0], [1]]), ValueError, "`a` must have 2 entries"),
    ("ca_point groups overlap", lambda: copy_average.ca_point(np.eye(2, 3), np.ones(2), [[0, 1], [1]]), ValueError, "`groups` must partition"),
    ("ca_point groups empty", lambda: copy_average.ca_point(np.eye(2, 3), np.ones(2), []), TypeError, "`groups` must be a non-empty list"),
    ("optimal_ca n > k", lambda: copy_average.optimal_ca(2, 3), ValueError, "`n` must be <= k = 2"),
    ("optimal_ca k float", lambda: copy_average.optimal_ca(2.0, 1), ValueError, "`k` must be a positive integer"),
    ("optimal_ca huge", lambda: copy_average.optimal_ca(10**10, 2), ValueError, r"optimal_ca\(10000000000, 2\) .* would need"),
    # -- recovery --------------------------------------------------------------------------------
    ("expand_and_cluster n_students", lambda: recovery.expand_and_cluster(TEACHER, X, LAYERS, n_students=1), ValueError, "`n_students` must be an integer >= 2"),
    ("expand_and_cluster n_students float", lambda: recovery.expand_and_cluster(TEACHER, X, LAYERS, n_students=4.0), ValueError, "`n_students` must be an integer"),
    ("expand_and_cluster gamma > 1", lambda: recovery.expand_and_cluster(TEACHER, X, LAYERS, gamma=2.0), ValueError, r"`gamma` must lie in \(0, 1\]"),
    ("expand_and_cluster gamma NaN", lambda: recovery.expand_and_cluster(TEACHER, X, LAYERS, gamma=np.nan), ValueError, "`gamma` must be finite"),
    ("expand_and_cluster beta", lambda: recovery.expand_and_cluster(TEACHER, X, LAYERS, beta=-0.1), ValueError, r"`beta` must be an angle in \[0, pi\]"),
    ("expand_and_cluster inactive_tol", lambda: recovery.expand_and_cluster(TEACHER, X, LAYERS, inactive_tol=-1.0), ValueError, "`inactive_tol` must be >= 0"),
    ("expand_and_cluster symmetry", lambda: recovery.expand_and_cluster(TEACHER, X, LAYERS, symmetry="mirror"), ValueError, "`symmetry` must be one of"),
    ("expand_and_cluster rng", lambda: recovery.expand_and_cluster(TEACHER, X, LAYERS, rng="x"), TypeError, "`rng`"),
    ("expand_and_cluster options", lambda: recovery.expand_and_cluster(TEACHER, X, LAYERS, train_options=5), TypeError, "`train_options` must be a dict"),
    ("expand_and_cluster X NaN", lambda: recovery.expand_and_cluster(TEACHER, nan_at(X, (0, 0)), LAYERS), ValueError, "`X` contains NaN"),
    ("expand_and_cluster answers", lambda: recovery.expand_and_cluster(np.zeros(5), X, LAYERS), ValueError, "`query`: 5 answers for 12 queries"),
    ("expand_and_cluster output width", lambda: recovery.expand_and_cluster(np.zeros((12, 2)), X, LAYERS), ValueError, "`student_layers` .*`target` has 2 columns"),
    ("expand_and_cluster output act", lambda: recovery.expand_and_cluster(TEACHER, X, [(3, "tanh", True), (1, "tanh", True)]), ValueError, "output layer must be 'identity'"),
    ("compare_with_teacher result", lambda: recovery.compare_with_teacher(5, TEACHER), TypeError, "`result` must be an ECResult"),
    ("compare_with_teacher teacher", lambda: recovery.compare_with_teacher((NET, P), NET), TypeError, "`teacher` a TeacherNet"),
    ("compare_with_teacher symmetry", lambda: recovery.compare_with_teacher((NET, P), TEACHER, symmetry="mirror"), ValueError, "`symmetry` must be one of"),
    ("compare_with_teacher tol", lambda: recovery.compare_with_teacher((NET, P), TEACHER, tol=-1.0), ValueError, "`tol` must be >= 0"),
    ("compare_with_teacher dout", lambda: recovery.compare_with_teacher((NET, P), mgf.TeacherNet([(3, "tanh", True), (2, "identity", True)], din=2, rng=0)), ValueError, "output size"),
    ("compare_with_teacher params", lambda: recovery.compare_with_teacher((NET, P[:3]), TEACHER), ValueError, "`result params`: expected a flat vector"),
    ("compare_with_teacher no hidden layer", lambda: recovery.compare_with_teacher((mgf.Net([(1, "identity", True)], din=2), np.zeros(3)), mgf.TeacherNet([(1, "identity", True)], din=2, rng=0)), ValueError, "no hidden layer"),
    ("noise_overlay n negative", lambda: recovery.noise_overlay(BASE, -1), ValueError, "`n` must be an integer >= 0"),
    ("noise_overlay low NaN", lambda: recovery.noise_overlay(BASE, 2, low=np.nan), ValueError, "`low` must be finite"),
    ("noise_overlay low > high", lambda: recovery.noise_overlay(BASE, 2, 1.0, 0.0), ValueError, "need low < high"),
    ("noise_overlay base 1-D", lambda: recovery.noise_overlay(np.ones(3), 2), ValueError, r"`base` must have shape \(n, ...\)"),
    ("noise_overlay base NaN", lambda: recovery.noise_overlay(nan_at(BASE, (0, 0, 0)), 2), ValueError, "`base` contains NaN"),
    ("noise_overlay huge", lambda: recovery.noise_overlay(BASE, 10**9), ValueError, r"1000000000 queries of shape \(6, 6\) would need"),
    ("noise_overlay rng", lambda: recovery.noise_overlay(BASE, 2, rng="x"), TypeError, "`rng`"),
    ("composition_sampling grid zero", lambda: recovery.composition_sampling(BASE, 3, (0, 3)), ValueError, r"`grid\[0\]` must be a positive integer"),
    ("composition_sampling grid float", lambda: recovery.composition_sampling(BASE, 3, (2.5, 3)), ValueError, r"`grid\[0\]` must be a positive integer"),
    ("composition_sampling grid too fine", lambda: recovery.composition_sampling(BASE, 3, (7, 3)), ValueError, r"`grid`: 7 tiles along axis 1 of 6 entries"),
    ("composition_sampling grid int", lambda: recovery.composition_sampling(BASE, 3, 3), TypeError, "`grid` must be a sequence"),
    ("composition_sampling grid long", lambda: recovery.composition_sampling(BASE, 3, (1, 1, 1)), ValueError, r"`grid` needs 1..2 entries"),
    ("composition_sampling rotation", lambda: recovery.composition_sampling(BASE, 3, rotation=(10.0,)), TypeError, "`rotation` must be a pair"),
    ("composition_sampling rotation NaN", lambda: recovery.composition_sampling(BASE, 3, rotation=(0.0, np.nan)), ValueError, r"`rotation\[1\]` must be finite"),
    ("composition_sampling rotation order", lambda: recovery.composition_sampling(BASE, 3, rotation=(10.0, 0.0)), ValueError, "`rotation`: need lo <= hi"),
    ("composition_sampling rotation 1 axis", lambda: recovery.composition_sampling(BASE, 3, (3,), rotation=(0.0, 10.0)), ValueError, "`rotation` needs a grid over exactly two axes"),
    ("composition_sampling fill NaN", lambda: recovery.composition_sampling(BASE, 3, fill=np.nan), ValueError, "`fill` must be finite"),
    ("composition_noise grid zero", lambda: recovery.composition_noise(BASE, 3, 2, grid=(3, 0)), ValueError, r"`grid\[1\]` must be a positive integer"),
    ("composition_noise n_noise negative", lambda: recovery.composition_noise(BASE, 3, -2), ValueError, "`n_noise` must be an integer >= 0"),
    ("composition_noise n_composition zero", lambda: recovery.composition_noise(BASE, 0, 2), ValueError, "`n_composition` must be positive"),
    ("composition_noise intervals flat", lambda: recovery.composition_noise(BASE, 3, 2, intervals=(0.0, 1.0)), TypeError, "`intervals` must be a sequence of pairs"),
    ("composition_noise intervals order", lambda: recovery.composition_noise(BASE, 3, 2, intervals=[(1.0, 0.0)]), ValueError, "`intervals`: need low < high"),
    ("tile_bounds parts", lambda: recovery.tile_bounds(28, 0), ValueError, "`parts` must be a positive integer"),
    ("tile_bounds float", lambda: recovery.tile_bounds(28.0, 2), ValueError, "`size` must be a positive integer"),
    ("teacher_aware_uniform factor", lambda: recovery.teacher_aware_uniform(2, [3], factor="x"), TypeError, "`factor` must be a real number"),
    ("teacher_aware_uniform rho", lambda: recovery.teacher_aware_uniform(2, [3], rho=-4.0), ValueError, "`rho` must be > 0"),
    ("student_nparams widths", lambda: recovery.student_nparams(2, [0]), ValueError, "`widths` must be a non-empty list"),
    ("student_nparams dout", lambda: recovery.student_nparams(2, [3], dout=0), ValueError, "`dout` must be a positive integer"),
    ("reconstruct_layer incoming NaN", lambda: recovery.reconstruct_layer(nan_at(np.ones((4, 2, 3)), (0, 0, 0)), np.ones((4, 2, 1)), np.ones(4), symmetry="none"), ValueError, "`incoming` contains NaN"),
    ("reconstruct_layer incoming 2-D", lambda: recovery.reconstruct_layer(np.ones((4, 3)), np.ones((4, 2, 1)), np.ones(4), symmetry="none"), ValueError, "`incoming` must be 3-D"),
    ("reconstruct_layer beta", lambda: recovery.reconstruct_layer(np.ones((4, 2, 3)), np.ones((4, 2, 1)), np.ones(4), symmetry="none", beta=4.0), ValueError, "`beta` must be an angle"),
    ("find_clusters NaN", lambda: recovery.find_clusters(nan_at(np.ones((4, 2)), (0, 0)), 2), ValueError, "`features` contains NaN"),
    ("find_clusters min_size", lambda: recovery.find_clusters(np.ones((4, 2)), 0), ValueError, "`min_size` must be a positive integer"),
    ("median_cosine_distance zero row", lambda: recovery.median_cosine_distance([[1.0, 0.0], [0.0, 0.0]]), ValueError, "`vectors`: a zero row"),
    ("canonicalize symmetry", lambda: recovery.canonicalize(np.ones((2, 2)), "mirror"), ValueError, "`symmetry` must be one of"),
    # -- more Net methods ------------------------------------------------------------------------
    ("random_params rng str", lambda: NET.random_params("seed"), TypeError, "`rng`"),
    ("random_params init", lambda: NET.random_params(0, init="he"), ValueError, "`init` must be"),
    ("with_layers bad layers", lambda: NET.with_layers([(0, "tanh", True), (1, "identity", True)]), ValueError, r"layers\[0\]: width"),
    ("NetI with_layers deep", lambda: NETI.with_layers(LAYERS[:1] * 2 + LAYERS[1:]), ValueError, "`student_layers`: NetI needs exactly one hidden layer"),
    ("hvp out shape", lambda: NET.hvp(P, P, out=np.zeros(3)), ValueError, r"`out` must be an array of shape \(13,\)"),
    ("loss_slice_2d xs NaN", lambda: landscape.loss_slice_2d(NET, P, P, P, [np.nan], [0.0]), ValueError, "`xs` contains NaN"),
    # -- theory.channels functions re-exported from endstate -------------------------------------
    ("glu_limit p length", lambda: channels.glu_limit(NET, P[:3], 0, 1), ValueError, "`p`: expected a flat vector"),
    ("glu_limit same neuron", lambda: channels.glu_limit(NET, P, 1, 1), ValueError, "`i` and `j` must be two different neurons"),
    ("glu_forward glu", lambda: channels.glu_forward({}, X, "tanh"), ValueError, "`glu` must be a GLULimit or a dict with key 'w'"),
    ("jump factor", lambda: channels.jump(NET, P, 0, 1, factor="x"), ValueError, "`factor` must be a finite positive number"),
    ("limit_loss pairs overlap", lambda: channels.limit_loss(NET, P, [(0, 1), (1, 2)]), ValueError, "`pairs`: a neuron appears in two pairs"),
    ("limit_forward input columns", lambda: channels.limit_forward(NET, P, [(0, 1)], np.zeros((2, 5))), ValueError, "`input` must have 2 columns"),
    ("place_on_channel eps", lambda: channels.place_on_channel(NET, P, 0, 1, channels.glu_limit(NET, P, 0, 1), np.nan), ValueError, "`eps` must be a finite positive number"),
    ("flip_sign j", lambda: channels.flip_sign(NET, P, 5), ValueError, r"`j` must be a hidden-neuron index in 0..2"),
    ("find_channels p", lambda: channels.find_channels(NET, P[:2]), ValueError, "`p`: expected a flat vector"),
    ("late_update_fraction neurons", lambda: channels.late_update_fraction(NET, np.zeros((3, NP)), [7]), ValueError, "`neurons` must be a hidden-neuron index"),
]

#: defects in modules outside this table's fixes (mlpgradientflow.endstate): strict xfails
#: that start passing once they are fixed there
ROWS += [  # endstate/
    ("glu_limit net str", lambda: channels.glu_limit("net", P, 0, 1), TypeError, "`net` must be a Net"),
    ("flip_sign net str", lambda: channels.flip_sign("net", P, 0), TypeError, "`net` must be a Net"),
    ("glu_forward softmax", lambda: channels.glu_forward(channels.glu_limit(NET, P, 0, 1), X, "softmax"), ValueError, "`activation`"),
    ("late_update_fraction ragged", lambda: channels.late_update_fraction(NET, [np.zeros(2), np.zeros(3)], [0]), TypeError, "`trajectory`"),
]


@pytest.mark.parametrize("fn, exc, match", [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_bad_input_raises_clear_error(fn, exc, match):
    assert issubclass(exc, ValueError | TypeError)
    with pytest.raises(exc, match=match):
        fn()


def test_table_is_large_and_ids_unique():
    assert len(ROWS) >= 150
    assert len({r[0] for r in ROWS}) == len(ROWS)


# -- plots (matplotlib) -----------------------------------------------------------------------

PLOT_ROWS = [
    ("plot_loss_curves not results", lambda plot: plot.plot_loss_curves([1, 2]), TypeError, r"`results`: entry 0 must be a TrainResult"),
    ("plot_spectra labels", lambda plot: plot.plot_spectra([[1.0, -1.0]], ["a", "b"]), ValueError, r"`labels` must hold one label per spectrum \(1\)"),
    ("plot_spectra NaN", lambda plot: plot.plot_spectra([[1.0, np.nan]], ["a"]), ValueError, r"`spectra\[0\]` contains NaN"),
    ("plot_spectra 2-D", lambda plot: plot.plot_spectra([np.eye(2)], ["a"]), ValueError, r"`spectra\[0\]` must be 1-D"),
    ("plot_spectra floor", lambda plot: plot.plot_spectra([[1.0]], ["a"], floor=0.0), ValueError, "`floor` must be > 0"),
    ("signed_log floor", lambda plot: plot.signed_log([1.0], -1.0), ValueError, "`floor` must be > 0"),
    ("signed_log NaN", lambda plot: plot.signed_log([np.nan], 1e-8), ValueError, "`x` contains NaN"),
    ("plot_incoming_weights 1-D", lambda plot: plot.plot_incoming_weights(np.ones(2), np.ones((3, 2))), ValueError, "`teacher_w` must be 2-D"),
    ("plot_incoming_weights Din 1", lambda plot: plot.plot_incoming_weights(np.ones((2, 2)), np.ones((3, 1))), ValueError, "`student_w` must have >= 2 columns"),
    ("plot_incoming_weights student_a", lambda plot: plot.plot_incoming_weights(np.ones((2, 2)), np.ones((3, 2)), np.ones(2)), ValueError, r"`student_a` must have one entry per student neuron \(3\)"),
]


@pytest.mark.parametrize("fn, exc, match", [r[1:] for r in PLOT_ROWS], ids=[r[0] for r in PLOT_ROWS])
def test_bad_plot_input_raises_clear_error(fn, exc, match):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mlpgradientflow import plot

    try:
        with pytest.raises(exc, match=match):
            fn(plot)
    finally:
        plt.close("all")
