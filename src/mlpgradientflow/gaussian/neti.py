r"""Teacher–student networks on infinite Gaussian data: exact population loss, gradient and
Hessian.

For :math:`x \sim N(0, I_D)`, a student :math:`s(x) = \sum_i a_i f(w_i\cdot x + b_i) + c` and
a teacher :math:`t(x) = \sum_l a^*_l f^*(w^*_l\cdot x + b^*_l) + c^*`,

.. math::

    L = E_x[(s(x) - t(x))^2]
      = \sum_i a_i^2\, \phi\phi_i + 2\sum_{i<j} a_i a_j\, G_{ij}
        - 2\sum_{i,l} a_i a^*_l\, T_{il} + C_2 + \Delta^2 + 2\Delta\Big(\sum_i a_i\phi_i - C_1\Big),

with :math:`\Delta = c - c^*` (a missing output bias is 0), :math:`\phi_i = E[f(r_iz + b_i)]`,
:math:`\phi\phi_i = E[f(r_iz + b_i)^2]`, :math:`G_{ij}` and :math:`T_{il}` the two-point
expectations (:func:`~mlpgradientflow.gaussian.two_point`) at :math:`r_i = \|w_i\|` and the
cosines :math:`v_{ij} = \cos(w_i, w_j)`, :math:`u_{il} = \cos(w_i, w^*_l)`, and the teacher's
constants :math:`C_1 = \sum_l a^*_l \phi^*_l` (always: the reference drops it for biasless
teachers, its bug 9) and :math:`C_2 = E[(t - c^*)^2]`.

Gradient and Hessian follow by the chain rule through :math:`r` and the cosines:
:math:`\partial r_i/\partial w_i = \hat w_i`, :math:`\partial^2 r_i/\partial w_i^2 =
(I - \hat w_i\hat w_i^\top)/r_i`, :math:`\partial c_{pq}/\partial w_p = d_p =
(\hat w_q - c_{pq}\hat w_p)/r_p`, :math:`\partial^2 c_{pq}/\partial w_p^2 = -(\hat w_p
d_p^\top + d_p\hat w_p^\top)/r_p - c_{pq}(I - \hat w_p\hat w_p^\top)/r_p^2` and
:math:`\partial^2 c_{pq}/\partial w_p\partial w_q = (I - \hat w_p\hat w_p^\top - \hat w_q
\hat w_q^\top + c_{pq}\hat w_p\hat w_q^\top)/(r_p r_q)`. Every block of the Hessian between
incoming vectors is therefore a multiple of the identity plus outer products of the unit
vectors :math:`\hat w`, which is how it is assembled (no per-pair :math:`D\times D` blocks).
No :math:`1/\sqrt{1-u^2}` appears, so :math:`|\cos| = 1` (and :math:`D = 1`) is regular. At
:math:`\|w_i\| = 0` the chain rule divides by zero although the function is smooth there
(for smooth activations); the derivatives are then the symmetric limit along a fixed unit
vector :math:`e`: the means :math:`D(\epsilon)` of the values at :math:`w_i = \pm\epsilon e`
are even in :math:`\epsilon`, and Richardson extrapolation
:math:`(4D(\epsilon) - D(2\epsilon))/3` removes the :math:`\epsilon^2` term
(:math:`\epsilon = 10^{-3}`: error about :math:`10^{-10}` relative, from the
:math:`\epsilon^4` term and from rounding amplified by the :math:`1/r^2` of the chain rule).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .._validation import NonFiniteError, as_real, check_out
from ..activations import Activation
from ..losses import make_regularizer
from ..net import Layer, Net, TeacherNet
from .accuracy import AccuracyWarning
from .dispatch import NETI_METHODS
from .expectations import one_point, two_point
from .interface import Array, TeacherUnits
from .neti_assembly import Result, evaluate, unpack

__all__ = ["NetI"]

#: the expectation methods a NetI can use (:data:`~.dispatch.NETI_METHODS`)
METHODS = tuple(NETI_METHODS)
#: offset of the symmetric limit at zero incoming vectors (see :func:`_symmetric_limit`)
EPS_ZERO = 1e-3


class NetI:
    r"""A one-hidden-layer student trained on infinite Gaussian data labelled by ``teacher``.

    Parameters
    ----------
    teacher : TeacherNet
        One hidden layer, one identity output, biases anywhere, one activation per layer.
    student_layers : sequence of (width, activation, bias)
        The student's two layers; the output width may be None (= 1).
    method : {"auto", "closed_form", "quadrature", "hermite"}
        The methods of :func:`~mlpgradientflow.gaussian.one_point` and
        :func:`~mlpgradientflow.gaussian.two_point` (default ``"auto"``: the most accurate
        method per activation and pair, see :mod:`~mlpgradientflow.gaussian.expectations`):
        ``"closed_form"`` and ``"quadrature"`` for both, ``"hermite"`` Mehler's series for
        the two-point integrals (never falling back) with the default one-point ones.
    tol : float
        Relative error estimate above which an evaluation warns (default 1e-8).

    Attributes
    ----------
    last_error_estimate : dict or None
        Of the last evaluation: the estimated relative errors ``"loss"``, ``"gradient"``,
        ``"hessian"`` (those computed) and the absolute ones ``"loss_abs"``, ... . They
        combine the error estimates of every Gaussian integral
        (:mod:`~mlpgradientflow.gaussian.accuracy`) weighted by the output weights and the
        chain rule (:func:`~.neti_assembly.error_estimate`), relative to the size of the
        terms summed; rounding (about 1e-16 of those terms) is not included.

    Raises
    ------
    NonFiniteError
        (:class:`mlpgradientflow.NonFiniteError`) when the loss, gradient or Hessian is not
        finite: a Gaussian integral beyond the float64 range (exp: :math:`E[e^{2w\cdot x}] =
        e^{2\|w\|^2}` overflows for :math:`\|w\| > 18.8`; smaller values are exact).

    Warns
    -----
    AccuracyWarning
        (:class:`mlpgradientflow.gaussian.AccuracyWarning`) when an estimate exceeds
        ``tol``: an activation without a profile (a custom one) at weights beyond what
        Gauss–Hermite resolves, or a tolerance below the rounding floor of the
        Gauss–Hermite fast paths (5e-14). Built-in activations are accurate to about 1e-13
        relative at any weight norm up to 1e3 (``tests/test_neti_accuracy.py``).

    Notes
    -----
    Has the Net interface used by :func:`~mlpgradientflow.train`: ``nparams``, ``loss``,
    ``gradient``, ``hessian``, ``fg``, ``fgh``, ``random_params``, ``check_params``,
    ``unflatten``, and ``net(p, X)`` on concrete inputs. ``n_samples`` is 1: losses are
    expectations, not means, and flow times need no ``tauinv`` rescaling. The loss is a
    sum of O(1) terms that cancel at a zero-loss minimum: there it is known to about
    1e-16 absolute and can come out slightly negative, so runs to L = 0 stop on
    ``minloss`` or at gradients around 1e-10 (minima with L > 0 are resolved to 1e-15).

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> teacher = mgf.TeacherNet([(3, "erf", False), (1, "identity", False)], din=4, rng=0)
    >>> neti = mgf.NetI(teacher, [(2, "erf", False), (1, "identity", False)])
    >>> p = neti.random_params(1)
    >>> L, g, H = neti.fgh(p)
    >>> H.shape, bool(np.allclose(H, H.T))
    ((10, 10), True)
    """

    loss_type = "mse"
    dtype = np.dtype(np.float64)
    n_samples = 1

    def __init__(self, teacher: TeacherNet, student_layers, *, method: str = "auto",
                 tol: float = 1e-8) -> None:
        if not isinstance(teacher, TeacherNet):
            raise TypeError(f"argument `teacher` must be a TeacherNet, got {type(teacher).__name__}")
        _check_architecture("teacher", teacher.net.layers)
        if method not in METHODS:
            raise ValueError(
                f"argument `method` must be one of {METHODS} (see "
                f"mlpgradientflow.gaussian.NetI), got {method!r}"
            )
        tol = as_real("tol", tol, positive=True, finite=False)
        try:  # the student's layer spec, with the output width None meaning 1
            layers = [lay.spec() if isinstance(lay, Layer) else lay for lay in student_layers]
            if len(layers) == 2 and isinstance(layers[1], tuple | list) and layers[1][0] is None:
                layers[1] = (1, *layers[1][1:])
            #: the student without data: its layout and forward pass on concrete inputs
            self.student = Net(layers, din=teacher.din)
        except (TypeError, ValueError) as err:
            raise type(err)(f"argument `student_layers`: {err}") from err
        _check_architecture("student_layers", self.student.layers)
        self.teacher, self.method, self.tol = teacher, method, tol
        #: error estimates of the last evaluation (see the class docstring), None before one
        self.last_error_estimate: dict | None = None
        self.layout = self.student.layout
        self.dout = 1
        act = self.layers[0].activation
        assert isinstance(act, Activation)  # one activation per layer (_check_architecture)
        self.f = act
        self._teacher_constants()

    def with_layers(self, student_layers) -> NetI:
        """A NetI with new ``student_layers`` and the same teacher, ``method`` and ``tol``
        (the NetI counterpart of :meth:`Net.with_layers <mlpgradientflow.Net.with_layers>`).

        >>> import mlpgradientflow as mgf
        >>> t = mgf.TeacherNet([(2, "erf", False), (1, "identity", False)], din=2, rng=0)
        >>> neti = mgf.NetI(t, [(2, "erf", False), (1, "identity", False)], tol=1e-6)
        >>> wide = neti.with_layers([(4, "erf", False), (1, "identity", False)])
        >>> wide.nparams, wide.tol
        (12, 1e-06)
        """
        return NetI(self.teacher, student_layers, method=self.method, tol=self.tol)

    # -- the model interface: the layout's facts, the student's forward pass -----------------
    @property
    def layers(self) -> tuple[Layer, ...]:
        """The student's layers (tuple of Layer)."""
        return self.layout.layers

    @property
    def din(self) -> int:
        """Input dimension."""
        return self.layout.din

    @property
    def shapes(self) -> tuple:
        """Shapes of the :math:`M_l`."""
        return self.layout.shapes

    @property
    def offsets(self) -> tuple:
        """Offsets of the :math:`M_l` in ``p``."""
        return self.layout.offsets

    @property
    def nparams(self) -> int:
        """Number of parameters P."""
        return self.layout.nparams

    @property
    def layerspec(self) -> list[tuple]:
        """The layers as (width, activation name, bias), for results."""
        return self.layout.layerspec

    def check_params(self, p, name: str = "p") -> np.ndarray:
        """``p`` checked, as :meth:`Net.check_params <mlpgradientflow.Net.check_params>`."""
        return self.layout.check_params(p, self.dtype, name)

    def unflatten(self, p):
        """Views :math:`M_l` into ``p``, as :meth:`Net.unflatten
        <mlpgradientflow.Net.unflatten>`."""
        return self.layout.unflatten(np.asarray(p, dtype=float))

    def random_params(self, rng=None, init: str = "glorot_normal") -> np.ndarray:
        """Glorot weights, zero biases, as :meth:`Net.random_params
        <mlpgradientflow.Net.random_params>`."""
        return self.layout.random_params(rng, init)

    def __call__(self, p, input) -> np.ndarray:
        """The student's output on concrete inputs ``input`` (M, Din)."""
        return self.student(p, input)

    def loss(self, p, *, maxnorm: float = math.inf, merge=None) -> float:
        r"""The population loss :math:`L(p) = E_{x\sim N(0, I)}[(\mathrm{student}_p(x) -
        \mathrm{teacher}(x))^2]` (plus the barrier and merge penalty when given).

        Parameters
        ----------
        p : array, shape (P,)
            Student parameters.
        maxnorm, merge : optional
            As for :meth:`Net.loss <mlpgradientflow.Net.loss>`.

        Returns
        -------
        float

        Examples
        --------
        Loss, gradient (P,) and Hessian (P, P) against the quadrature of a Gauss–Hermite
        net, and zero at the teacher:

        >>> import numpy as np
        >>> import mlpgradientflow as mgf
        >>> t = mgf.TeacherNet([(2, "erf", False), (1, "identity", False)], din=1, rng=0)
        >>> layers = [(1, "erf", False), (1, "identity", False)]
        >>> neti, gh = mgf.NetI(t, layers), mgf.gauss_hermite_net(t, layers, din=1)
        >>> p = np.array([0.7, 1.2])
        >>> [bool(np.abs(a(p) - b(p)).max() < 1e-12) for a, b in
        ...  ((neti.loss, gh.loss), (neti.gradient, gh.gradient), (neti.hessian, gh.hessian))]
        [True, True, True]
        >>> mgf.NetI(t, [(2, "erf", False), (1, "identity", False)]).loss(t.params)
        0.0
        """
        return self._derivs(p, 0, maxnorm, merge)[0]

    def gradient(self, p, *, maxnorm: float = math.inf, merge=None, out=None) -> np.ndarray:
        r""":math:`\nabla L(p)`, a new (P,) array or ``out`` (see :meth:`loss`)."""
        return self._derivs(p, 1, maxnorm, merge, out, names=("out", "hess_out"))[1]

    def hessian(self, p, *, maxnorm: float = math.inf, merge=None, out=None) -> np.ndarray:
        r""":math:`\nabla^2 L(p)`, a new (P, P) array or ``out`` (see :meth:`loss`)."""
        return self._derivs(p, 2, maxnorm, merge, None, out, names=("gradient", "out"))[2]

    def fg(self, p, *, maxnorm: float = math.inf, merge=None, grad_out=None):
        """``(loss, gradient)`` in one evaluation."""
        return self._derivs(p, 1, maxnorm, merge, grad_out)[:2]

    def fgh(self, p, *, maxnorm: float = math.inf, merge=None, grad_out=None, hess_out=None):
        """``(loss, gradient, Hessian)`` in one evaluation."""
        return self._derivs(p, 2, maxnorm, merge, grad_out, hess_out)

    def __repr__(self) -> str:
        return "NetI(teacher width {}, {})".format(
            self.teacher.net.layers[0].width, repr(self.student).replace("Net(", "student: Net(", 1)
        )

    # -- evaluation ------------------------------------------------------------------------------
    def _derivs(self, p, order: int, maxnorm, merge, grad_out=None, hess_out=None,
                names=("grad_out", "hess_out")):
        reg = make_regularizer(self.layout, maxnorm, merge)
        p = self.check_params(p)
        P = self.nparams
        if order >= 1 and grad_out is not None:
            check_out(names[0], grad_out, (P,), self.dtype, p=p)
        if order >= 2 and hess_out is not None:
            check_out(names[1], hess_out, (P, P), self.dtype, p=p, **{names[0]: grad_out})
        W = self.unflatten(p)[0][:, : self.din]
        zero = np.linalg.norm(W, axis=1) == 0
        errors: list = []
        if zero.any() and order > 0:
            L, g, H = _symmetric_limit(self, p, zero, order, errors)
            H = _into(hess_out, H)
        else:
            L, g, H = evaluate(self, p, order, hess_out, errors)
        self._check(L, g, H, errors)
        if reg.active:
            L = reg.apply(p, L, g, H)
        return L, _into(grad_out, g), H

    def _check(self, L, g, H, errors) -> None:
        """Record the error estimate; NonFiniteError for non-finite results, an
        AccuracyWarning above ``tol``."""
        est = {key: max(e.get(key, 0.0) for e in errors) for key in errors[0]}
        self.last_error_estimate = est
        for what, x in (("loss", L), ("gradient", g), ("Hessian", H)):
            if x is not None and not np.isfinite(np.add.reduce(np.ravel(x))):
                raise NonFiniteError(
                    f"NetI: the {what} is not finite at these parameters: a Gaussian integral "
                    "exceeds the float64 range (e.g. E[exp(2 w.x)] = exp(2 |w|^2) overflows "
                    "beyond |w| ~ 18.8); use smaller weights or the `maxnorm` barrier"
                )
        worst = max((k for k in est if not k.endswith("_abs")), key=lambda k: est[k])
        if est[worst] > self.tol:
            warnings.warn(
                f"NetI: estimated relative error {est[worst]:.1e} of the {worst} exceeds "
                f"tol={self.tol:g} (errors: " + ", ".join(
                    f"{k} {v:.1e}" for k, v in est.items() if not k.endswith("_abs"))
                + "); see mlpgradientflow.gaussian.accuracy",
                AccuracyWarning, stacklevel=4,
            )

    def _teacher_constants(self) -> None:
        """The teacher's units and the constants C1, C2 of the loss with their errors."""
        t = self.teacher
        Wt, bt, at, ct = unpack(t.net.layout, t.params)
        rt = np.linalg.norm(Wt, axis=1)
        ft = t.net.layers[0].activation
        rs = np.where(rt > 0, rt, 1.0)
        #: the teacher's hidden units (norms, unit vectors, biases, output weights)
        self.teacher_units = TeacherUnits(f=ft, r=rt, rs=rs, hat=Wt / rs[:, None], b=bt, a=at,
                                          c=ct)
        hat = self.teacher_units.hat
        m1, m2 = NETI_METHODS[self.method]
        m, em = one_point(ft, rt, bt, order=0, method=m1, return_error=True)
        q, eq = one_point(ft, rt, bt, order=0, squared=True, method=m1, return_error=True)
        with np.errstate(over="ignore", invalid="ignore"):
            C2 = float(at**2 @ q.value)
            eC2 = float(at**2 @ eq[:, 0])
            i, j = np.triu_indices(len(rt), 1)
            if i.size:
                u = np.clip(np.sum(hat[i] * hat[j], axis=1), -1, 1)
                G, eG = two_point(ft, ft, rt[i], bt[i], rt[j], bt[j], u, order=0,
                                  method=m2, return_error=True)
                C2 += 2 * float(np.sum(at[i] * at[j] * G.value))
                eC2 += 2 * float(np.sum(np.abs(at[i] * at[j]) * eG[:, 0]))
            self.C1, self.C2 = float(at @ m.value), C2
            #: error estimates of C2 and C1
            self.C_err = (eC2, float(np.abs(at) @ em[:, 0]))


def _check_architecture(name, layers) -> None:
    if len(layers) != 2:
        raise ValueError(f"argument `{name}`: NetI needs exactly one hidden layer and one output "
                         f"layer, got {len(layers)} layers")
    out = layers[1]
    if out.width != 1 or out.activation.name != "identity":
        raise ValueError(f"argument `{name}`: NetI needs one identity output, got width "
                         f"{out.width} with {out.activation_name}")
    if isinstance(layers[0].activation, tuple):
        raise ValueError(f"argument `{name}`: NetI does not take per-neuron activations")


def _into(out, x):
    if out is None or x is None:
        return x
    out[...] = x
    return out


def _symmetric_limit(neti: NetI, p: Array, zero: Array, order: int,
                     errors: list[dict[str, float]] | None = None) -> Result:
    """Derivatives at ||w_i|| = 0: Richardson-extrapolated means of w_i = +-eps e, +-2 eps e."""
    q = np.array(p, dtype=float)
    M1 = neti.unflatten(q)[0]

    def mean_at(eps: float) -> tuple[Array, Array | None]:
        out = []
        for sign in (1.0, -1.0):
            M1[zero, : neti.din] = 0.0
            M1[zero, 0] = sign * eps
            out.append(evaluate(neti, q, order, errors=errors))
        (_, g_plus, h_plus), (_, g_minus, h_minus) = out
        assert g_plus is not None and g_minus is not None  # order >= 1
        g = 0.5 * (g_plus + g_minus)
        if h_plus is None or h_minus is None:  # order 1
            return g, None
        return g, 0.5 * (h_plus + h_minus)

    g1, H1 = mean_at(EPS_ZERO)
    g2, H2 = mean_at(2 * EPS_ZERO)
    L0 = evaluate(neti, p, 0, errors=errors)[0]  # the value itself needs no limit
    if errors is not None:  # the extrapolation's own error (see the module docstring)
        errors.append({"gradient": 1e-10, "hessian": 1e-10})
    H = None if H1 is None or H2 is None else (4 * H1 - H2) / 3
    return L0, (4 * g1 - g2) / 3, H
