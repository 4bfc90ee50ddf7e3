r"""Activation functions with analytic first and second derivatives.

Every activation is a small object: :meth:`Activation.fused` writes the value
:math:`y = f(x)`, the first derivative :math:`f'(x)` and the second derivative
:math:`f''(x)` into caller-owned buffers in one pass, reusing the value where the
formula allows (:math:`\sigma' = \sigma(1-\sigma)`, :math:`\tanh' = 1 - y^2`, ...).
The derivative engine calls it on preallocated workspaces; users mostly pass names.

Names (as in MLPGradientFlow.jl): ``identity``, ``relu``, ``softplus``, ``sigmoid``,
``tanh`` (alias ``tanh_fast``), ``g`` (:math:`\sigma(4x) + \mathrm{softplus}(x)`),
``gelu``, ``silu``, ``selu``, ``square`` (:math:`x^2/2`), ``cube``, ``exp``,
``sigmoid2`` (alias ``erf``; :math:`\mathrm{erf}(x/\sqrt2)`), ``normal_cdf``,
``softmax`` (output layer only) and :class:`Poly`.

All kernels are stable for :math:`|x| \le 10^3`: no overflow, no NaN, correct limits.
The one exception is ``exp``, whose true value exceeds the float64 range beyond
:math:`x \approx 709.78`; it then returns ``inf``, never NaN.

Examples
--------
>>> import numpy as np
>>> from mlpgradientflow.activations import get_activation
>>> sp = get_activation("softplus")
>>> x = np.array([-1000.0, 0.0, 1000.0])
>>> sp(x).tolist()
[0.0, 0.6931471805599453, 1000.0]
>>> sp.deriv(x).tolist()
[0.0, 0.5, 1.0]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from numbers import Real

import numpy as np
from scipy import special

from . import _kernels

__all__ = [
    "Activation",
    "Poly",
    "ACTIVATIONS",
    "SYMMETRIES",
    "ODD_CLASSES",
    "LINEAR_CLASSES",
    "symmetry",
    "get_activation",
    "normalize_layer_activation",
    "activation_groups",
]

#: the symmetry classes of activations: which reflection of a neuron's incoming vector
#: keeps its contribution :math:`a\,\sigma(\tilde w\cdot\tilde x)` (up to what):
#:
#: * ``"none"``: none (g, selu, exp);
#: * ``"odd"``: :math:`a\sigma(z) = (-a)\sigma(-z)` (identity, tanh, erf, cube);
#: * ``"odd_constant"``: :math:`a\sigma(z) = (-a)\sigma(-z) + a` (sigmoid, normal_cdf);
#: * ``"even"``: :math:`a\sigma(z) = a\sigma(-z)` (square);
#: * ``"even_linear"``: :math:`a\sigma(z) = a\sigma(-z) + az` (softplus, gelu, silu);
#: * ``"even_linear_positive_scaling"``: even_linear and :math:`a\sigma(cz) = ac\sigma(z)`
#:   for :math:`c > 0` (relu).
SYMMETRIES = ("none", "odd", "odd_constant", "even", "even_linear",
              "even_linear_positive_scaling")
#: classes in which :math:`(w, a)` and :math:`(-w, -a)` are the same neuron (up to a constant)
ODD_CLASSES = ("odd", "odd_constant")
#: classes whose reflection leaves a linear term (the "covert linear path")
LINEAR_CLASSES = ("even_linear", "even_linear_positive_scaling")

_SQRT2 = math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SELU_LAMBDA = 1.0507009873554804934193349852946
_SELU_ALPHA = 1.6732632423543772848170429916717


class Activation:
    r"""An elementwise activation :math:`f` with :math:`f'` and :math:`f''`.

    Subclasses implement :meth:`_fused`. A user-defined activation is built from three
    vectorised callables::

        Activation(f, df, d2f, name="mine", symmetry="odd")

    Every fact about an activation is declared on it, in one place: the built-ins set the
    class attributes below (see the README, "Adding an activation").

    Parameters
    ----------
    f, df, d2f : callable
        Vectorised :math:`f`, :math:`f'` and :math:`f''`: an array in, an array of the same
        shape out.
    name : str, optional
        Its name in reprs and saved results; must not be a built-in name.
    symmetry : str, optional
        Its symmetry class, one of :data:`SYMMETRIES` (``"none"`` unless declared).

    Attributes
    ----------
    name : str
        The name used in layer specs, reprs and saved results.
    d1_const, d2_const : float or None
        When the first (second) derivative is a constant, its value. The engine fills
        such buffers once and never recomputes them.
    aliases : tuple of str
        Other names in layer specs.
    symmetry : str
        The symmetry class (:data:`SYMMETRIES`), read by :func:`symmetry`.
    kink : float
        The jump of :math:`f'` at 0 (relu 1, selu :math:`\lambda(1-\alpha)`; 0 otherwise).
    c_kernel : str or None
        Name of its compiled kernel in ``_kernels/activations.c``, looked up by name.
    closed_form : bool
        Gaussian expectations in closed form (:mod:`mlpgradientflow.gaussian.closed_forms`).

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> sin = mgf.Activation(np.sin, np.cos, lambda x: -np.sin(x), name="sin", symmetry="odd")
    >>> x = np.array([0.0, np.pi / 2])
    >>> sin(x), sin.deriv(x).round(12), sin.second_deriv(x)
    (array([0., 1.]), array([1., 0.]), array([-0., -1.]))
    >>> net = mgf.Net([(2, sin, True), (1, "identity", True)], din=1)
    >>> net.layers[0].activation_name
    'sin'
    """

    name: str = "custom"
    d1_const: float | None = None
    d2_const: float | None = None
    #: other names of a built-in activation in layer specs
    aliases: tuple[str, ...] = ()
    #: the function-preserving reflection of a neuron (:data:`SYMMETRIES`)
    symmetry: str = "none"
    #: the jump of f' at 0 (relu, selu; 0 for a continuous derivative)
    kink: float = 0.0
    #: name of the compiled kernel in ``_kernels/activations.c`` (None: NumPy only)
    c_kernel: str | None = None
    #: Gaussian expectations in closed form (:mod:`mlpgradientflow.gaussian.closed_forms`)
    closed_form: bool = False
    #: id of the compiled kernel, looked up by ``c_kernel`` (None: NumPy only)
    c_kind: int | None = None

    def __init__(
        self,
        f: Callable[[np.ndarray], np.ndarray] | None = None,
        df: Callable[[np.ndarray], np.ndarray] | None = None,
        d2f: Callable[[np.ndarray], np.ndarray] | None = None,
        name: str = "custom",
        symmetry: str = "none",
    ) -> None:
        if type(self) is Activation:
            for arg, fn in (("f", f), ("df", df), ("d2f", d2f)):
                if not callable(fn):
                    raise TypeError(
                        f"Activation: argument `{arg}` must be a callable on arrays, got {fn!r}"
                    )
            if not isinstance(name, str) or not name:
                raise TypeError(f"Activation: argument `name` must be a non-empty str, got {name!r}")
            if name in ACTIVATIONS or name in _ALIASES:
                raise ValueError(
                    f"Activation: argument `name`={name!r} is the name of a built-in activation "
                    "(saved results would load as the built-in one); choose another name"
                )
        if symmetry not in SYMMETRIES:
            raise ValueError(f"Activation: argument `symmetry` must be one of {SYMMETRIES}, "
                             f"got {symmetry!r}")
        self._f, self._df, self._d2f = f, df, d2f
        self.name, self.symmetry = name, symmetry

    # -- the kernel -------------------------------------------------------------------
    def _fused(self, x, y, d1, d2, s1, s2) -> None:
        """The NumPy kernel; ``s1``, ``s2`` are scratch arrays shaped like ``x``."""
        f, df, d2f = self._f, self._df, self._d2f
        # __init__ checks them for Activation itself; built-ins override this method
        assert f is not None and df is not None and d2f is not None
        y[...] = f(x)
        if d1 is not None:
            d1[...] = df(x)
        if d2 is not None:
            d2[...] = d2f(x)

    def fused(
        self,
        x: np.ndarray,
        y: np.ndarray,
        d1: np.ndarray | None = None,
        d2: np.ndarray | None = None,
        s1: np.ndarray | None = None,
        s2: np.ndarray | None = None,
    ) -> None:
        """Write f(x) into ``y`` and, when given, f'(x) into ``d1`` and f''(x) into ``d2``.

        ``s1``, ``s2`` are scratch buffers shaped like ``x`` (allocated when missing).
        Buffers of constant derivatives (``d1_const``/``d2_const``) are left untouched,
        since the engine fills them once. Floating-point warnings follow the caller's
        ``np.errstate`` (the engine silences overflow and checks its results instead).

        Examples
        --------
        >>> import numpy as np
        >>> x, y, d1, d2 = np.array([0.0, 1.0]), np.empty(2), np.empty(2), np.empty(2)
        >>> get_activation("tanh").fused(x, y, d1, d2)    # tanh, 1 - y^2, -2 y (1 - y^2)
        >>> y, d1, d2 + 0.0
        (array([0.        , 0.76159416]), array([1.        , 0.41997434]),
         array([ 0.        , -0.63970001]))
        """
        if self.d1_const is not None:
            d1 = None
        if self.d2_const is not None:
            d2 = None
        if self.c_kind is not None and _kernels.activation(self.c_kind, x, y, d1, d2):
            return
        if s1 is None:
            s1 = np.empty_like(x)
        if s2 is None:
            s2 = np.empty_like(x)
        self._fused(x, y, d1, d2, s1, s2)

    # -- convenience, allocating ----------------------------------------------------------
    def _eval(self, x, order: int):
        x = np.asarray(x)
        if x.dtype.kind not in "biuf":
            raise TypeError(f"argument `x` must be numeric, got dtype {x.dtype}")
        x = x.astype(x.dtype if x.dtype in (np.float32, np.float64) else np.float64)
        y, d1, d2 = np.empty_like(x), np.empty_like(x), np.empty_like(x)
        if self.d1_const is not None:
            d1.fill(self.d1_const)
        if self.d2_const is not None:
            d2.fill(self.d2_const)
        with np.errstate(over="ignore", under="ignore"):
            self.fused(x, y, d1 if order >= 1 else None, d2 if order >= 2 else None)
        return y, d1, d2

    def __call__(self, x):
        """f(x) (allocating), the shape of ``x``.

        Examples
        --------
        >>> get_activation("relu")(np.array([-1.0, 2.0]))
        array([0., 2.])
        """
        return self._eval(x, 0)[0]

    def deriv(self, x):
        """f'(x) (allocating), the shape of ``x``.

        Examples
        --------
        >>> get_activation("softplus").deriv(np.array([0.0]))     # the sigmoid
        array([0.5])
        """
        return self._eval(x, 1)[1]

    def second_deriv(self, x):
        """f''(x) (allocating), the shape of ``x``.

        Examples
        --------
        >>> get_activation("square").second_deriv(np.array([3.0]))  # x^2 / 2
        array([1.])
        """
        return self._eval(x, 2)[2]

    def __repr__(self) -> str:
        return self.name

    def __eq__(self, other) -> bool:
        if type(self) is not type(other):
            return NotImplemented
        if type(self) is Activation:
            return self is other
        return self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        return hash((type(self), self.name))


def _sigmoid_parts(x, sig, d1, d2, s):
    r"""sig = sigma(x); d1 = sigma'; d2 = sigma'' = sigma'(1 - 2 sigma) (d1, d2 optional).

    :math:`\sigma' = e/(1+e)^2` with :math:`e = e^{-|x|}` keeps full relative accuracy in
    both tails, where :math:`\sigma(1-\sigma)` would cancel. ``s`` is scratch.
    """
    special.expit(x, out=sig)
    if d1 is None and d2 is None:
        return
    t = d1 if d1 is not None else s
    _sech2(x, t, 1.0)
    if d2 is not None:
        np.multiply(sig, -2.0, out=d2)
        d2 += 1.0
        d2 *= t


def _sech2(x, out, c: float) -> None:
    """out = e/(1+e)^2 with e = exp(-c|x|) (sigma'(x) for c = 1, sech^2(x)/4 for c = 2)."""
    np.abs(x, out=out)
    out *= -c
    np.exp(out, out=out)
    d = out + 1.0
    d *= d
    out /= d


def _softplus_value(x, y, e, t):
    r"""y = max(x, 0) + log1p(exp(-|x|)); ``e`` and ``t`` are scratch.

    ``log1p(e) = log(u) - ((u - 1) - e) / u`` with ``u = 1 + e`` is exact to rounding
    and uses the vectorised ``log`` instead of the slower ``log1p``.
    """
    np.abs(x, out=e)
    np.negative(e, out=e)
    np.exp(e, out=e)
    np.add(e, 1.0, out=y)  # u
    np.subtract(y, 1.0, out=t)
    t -= e
    t /= y
    np.log(y, out=y)
    y -= t
    np.maximum(x, 0.0, out=t)
    y += t


class _Identity(Activation):
    name, d1_const, d2_const = "identity", 1.0, 0.0
    aliases, symmetry = ("linear",), "odd"

    def __init__(self):
        pass

    def _fused(self, x, y, d1, d2, s1, s2):
        np.copyto(y, x)


class _ReLU(Activation):
    name, d2_const = "relu", 0.0
    symmetry, kink, c_kernel, closed_form = "even_linear_positive_scaling", 1.0, "relu", True

    def __init__(self):
        pass

    def _fused(self, x, y, d1, d2, s1, s2):
        np.maximum(x, 0.0, out=y)
        if d1 is not None:
            np.greater(x, 0.0, out=d1)


class _Softplus(Activation):
    name = "softplus"
    symmetry, c_kernel = "even_linear", "softplus"

    def __init__(self):
        pass

    def _fused(self, x, y, d1, d2, s1, s2):
        _softplus_value(x, y, s1, s2)
        if d1 is not None or d2 is not None:
            # softplus' = sigma, softplus'' = sigma'
            _sigmoid_parts(x, d1 if d1 is not None else s1, d2, None, s2)


class _Sigmoid(Activation):
    name = "sigmoid"
    symmetry, c_kernel = "odd_constant", "sigmoid"

    def __init__(self):
        pass

    def _fused(self, x, y, d1, d2, s1, s2):
        _sigmoid_parts(x, y, d1, d2, s1)


class _Tanh(Activation):
    name = "tanh"
    aliases, symmetry, c_kernel = ("tanh_fast",), "odd", "tanh"

    def __init__(self):
        pass

    def _fused(self, x, y, d1, d2, s1, s2):
        np.tanh(x, out=y)
        if d1 is None and d2 is None:
            return
        t = d1 if d1 is not None else s1
        _sech2(x, t, 2.0)  # tanh' = sech^2, without the cancellation of 1 - y^2
        t *= 4.0
        if d2 is not None:
            np.multiply(y, t, out=d2)
            d2 *= -2.0


class _G(Activation):
    r"""g(x) = sigma(4x) + softplus(x), the activation of Expand-and-Cluster."""

    name = "g"
    c_kernel = "g"

    def __init__(self):
        pass

    def _fused(self, x, y, d1, d2, s1, s2):
        _softplus_value(x, y, s1, s2)
        np.multiply(x, 4.0, out=s2)
        special.expit(s2, out=s2)  # sigma(4x)
        y += s2
        if d1 is None and d2 is None:
            return
        np.multiply(x, 4.0, out=s1)
        _sech2(s1, s1, 1.0)  # sigma'(4x)
        if d2 is not None:  # 16 sigma''(4x) = 16 sigma'(4x) (1 - 2 sigma(4x))
            np.multiply(s2, -2.0, out=d2)
            d2 += 1.0
            d2 *= s1
            d2 *= 16.0
        if d1 is not None:
            np.multiply(s1, 4.0, out=d1)
        if d1 is not None:
            special.expit(x, out=s2)  # sigma(x)
            d1 += s2
        if d2 is not None:
            _sech2(x, s1, 1.0)  # sigma'(x)
            d2 += s1


class _GELU(Activation):
    name = "gelu"
    symmetry, c_kernel = "even_linear", "gelu"

    def __init__(self):
        pass

    def _fused(self, x, y, d1, d2, s1, s2):
        special.ndtr(x, out=s1)  # Phi
        np.multiply(x, s1, out=y)
        if d1 is None and d2 is None:
            return
        # s2 = phi(x)
        np.multiply(x, x, out=s2)
        s2 *= -0.5
        np.exp(s2, out=s2)
        s2 *= _INV_SQRT_2PI
        if d1 is not None:
            np.multiply(x, s2, out=d1)
            d1 += s1
        if d2 is not None:
            np.multiply(x, x, out=d2)
            np.subtract(2.0, d2, out=d2)
            d2 *= s2


class _SiLU(Activation):
    name = "silu"
    symmetry, c_kernel = "even_linear", "silu"

    def __init__(self):
        pass

    def _fused(self, x, y, d1, d2, s1, s2):
        special.expit(x, out=s1)  # sigma
        np.multiply(x, s1, out=y)
        if d1 is None and d2 is None:
            return
        _sech2(x, s2, 1.0)  # sigma'
        if d2 is not None:
            # x sigma'' + 2 sigma' = sigma' (2 + x (1 - 2 sigma))
            np.multiply(s1, -2.0, out=d2)
            d2 += 1.0
            d2 *= x
            d2 += 2.0
            d2 *= s2
        if d1 is not None:
            np.multiply(x, s2, out=d1)
            d1 += s1


class _SELU(Activation):
    name = "selu"
    kink, c_kernel = _SELU_LAMBDA * (1.0 - _SELU_ALPHA), "selu"

    def __init__(self):
        pass

    def _fused(self, x, y, d1, d2, s1, s2):
        np.minimum(x, 0.0, out=s1)
        np.exp(s1, out=s2)  # e^{min(x,0)}, never overflows
        np.expm1(s1, out=s1)
        pos = x > 0
        np.multiply(s1, _SELU_ALPHA, out=y)
        np.copyto(y, x, where=pos)
        y *= _SELU_LAMBDA
        if d1 is not None:
            np.multiply(s2, _SELU_ALPHA * _SELU_LAMBDA, out=d1)
            np.copyto(d1, _SELU_LAMBDA, where=pos)
        if d2 is not None:
            np.multiply(s2, _SELU_ALPHA * _SELU_LAMBDA, out=d2)
            np.copyto(d2, 0.0, where=pos)


class _Square(Activation):
    name, d2_const = "square", 1.0
    symmetry, c_kernel = "even", "square"

    def __init__(self):
        pass

    def _fused(self, x, y, d1, d2, s1, s2):
        np.multiply(x, x, out=y)
        y *= 0.5
        if d1 is not None:
            np.copyto(d1, x)


class _Cube(Activation):
    name = "cube"
    symmetry, c_kernel = "odd", "cube"

    def __init__(self):
        pass

    def _fused(self, x, y, d1, d2, s1, s2):
        np.multiply(x, x, out=s1)
        np.multiply(s1, x, out=y)
        if d1 is not None:
            np.multiply(s1, 3.0, out=d1)
        if d2 is not None:
            np.multiply(x, 6.0, out=d2)


class _Exp(Activation):
    name = "exp"
    c_kernel = "exp"

    def __init__(self):
        pass

    def _fused(self, x, y, d1, d2, s1, s2):
        np.exp(x, out=y)
        if d1 is not None:
            np.copyto(d1, y)
        if d2 is not None:
            np.copyto(d2, y)


class _Sigmoid2(Activation):
    r"""erf(x / sqrt 2) = 2 Phi(x) - 1: the activation with closed-form Gaussian integrals."""

    name = "sigmoid2"
    aliases, symmetry, c_kernel, closed_form = ("erf",), "odd", "sigmoid2", True

    def __init__(self):
        pass

    def _fused(self, x, y, d1, d2, s1, s2):
        np.multiply(x, 1.0 / _SQRT2, out=s1)
        special.erf(s1, out=y)
        if d1 is None and d2 is None:
            return
        t = d1 if d1 is not None else s2
        np.multiply(x, x, out=t)
        t *= -0.5
        np.exp(t, out=t)
        t *= _SQRT_2_OVER_PI
        if d2 is not None:
            np.multiply(x, t, out=d2)
            np.negative(d2, out=d2)


class _NormalCDF(Activation):
    name = "normal_cdf"
    symmetry, c_kernel, closed_form = "odd_constant", "normal_cdf", True

    def __init__(self):
        pass

    def _fused(self, x, y, d1, d2, s1, s2):
        special.ndtr(x, out=y)
        if d1 is None and d2 is None:
            return
        t = d1 if d1 is not None else s2
        np.multiply(x, x, out=t)
        t *= -0.5
        np.exp(t, out=t)
        t *= _INV_SQRT_2PI
        if d2 is not None:
            np.multiply(x, t, out=d2)
            np.negative(d2, out=d2)


class _Softmax(Activation):
    """Softmax over the outputs of a sample; output layer only, always with NLL loss.

    Its value is computed by the loss (a row-wise, max-shifted exponential); the
    elementwise interface is not defined.
    """

    name = "softmax"

    def __init__(self):
        pass

    def _fused(self, x, y, d1, d2, s1, s2):
        raise TypeError("softmax is not elementwise; it is handled by the NLL loss")

    def __call__(self, x):
        x = np.asarray(x, dtype=float)
        z = np.exp(x - x.max(axis=-1, keepdims=True))
        return z / z.sum(axis=-1, keepdims=True)


@dataclass(frozen=True, eq=True)
class _PolyData:
    coeffs: tuple


class Poly(Activation):
    r"""Polynomial :math:`f(x) = \sum_i c_i x^i` (coefficients in increasing power).

    Examples
    --------
    >>> from mlpgradientflow import Poly
    >>> p = Poly(0.2, 0.3, -0.3, 0.4)
    >>> float(p(2.0)), float(p.deriv(2.0)), float(p.second_deriv(2.0))
    (2.8, 3.9, 4.2)
    """

    def __init__(self, *coeffs: float) -> None:
        if len(coeffs) == 1 and isinstance(coeffs[0], Sequence | np.ndarray):
            coeffs = tuple(coeffs[0])
        if len(coeffs) == 0:
            raise ValueError("Poly: argument `coeffs` must hold at least one coefficient")
        bad = [v for v in coeffs if isinstance(v, bool | np.bool_) or not isinstance(v, Real)]
        if bad:
            raise TypeError(f"Poly: argument `coeffs` must be real numbers, got {bad[0]!r}")
        c = tuple(float(v) for v in coeffs)
        if not all(math.isfinite(v) for v in c):
            raise ValueError(f"Poly: argument `coeffs` must be finite, got {c}")
        self.coeffs = c
        self.name = "Poly(" + ", ".join(repr(v) for v in c) + ")"
        d1 = tuple(i * v for i, v in enumerate(c))[1:] or (0.0,)
        d2 = tuple(i * v for i, v in enumerate(d1))[1:] or (0.0,)
        self._d = (c, d1, d2)
        self.d1_const = d1[0] if len(d1) == 1 else None
        self.d2_const = d2[0] if len(d2) == 1 else None
        if not any(c[1::2]):
            self.symmetry = "even"
        elif not any(c[0::2]):
            self.symmetry = "odd"

    @staticmethod
    def _horner(c, x, out):
        out.fill(c[-1])
        for v in reversed(c[:-1]):
            out *= x
            out += v

    def _fused(self, x, y, d1, d2, s1, s2):
        c, c1, c2 = self._d
        self._horner(c, x, y)
        if d1 is not None:
            self._horner(c1, x, d1)
        if d2 is not None:
            self._horner(c2, x, d2)

    def __eq__(self, other):
        return isinstance(other, Poly) and other.coeffs == self.coeffs

    def __hash__(self):
        return hash(("Poly", self.coeffs))


def _registry(*acts: Activation) -> dict[str, Activation]:
    for a in acts:
        if a.symmetry not in SYMMETRIES:
            raise ValueError(f"{a.name}: unknown symmetry {a.symmetry!r}")
        a.c_kind = _kernels.kind(a.c_kernel)
    return {a.name: a for a in acts}


def _builtin_reduce(self):
    # built-in activations unpickle as the registry's singletons (code relies on identity)
    return (get_activation, (self.name,))


ACTIVATIONS: dict[str, Activation] = _registry(
    _Identity(),
    _ReLU(),
    _Softplus(),
    _Sigmoid(),
    _Tanh(),
    _G(),
    _GELU(),
    _SiLU(),
    _SELU(),
    _Square(),
    _Cube(),
    _Exp(),
    _Sigmoid2(),
    _NormalCDF(),
    _Softmax(),
)
_ALIASES = {alias: a.name for a in ACTIVATIONS.values() for alias in a.aliases}
for _act in ACTIVATIONS.values():
    # mypy's method-assign: patching the classes is the point (one pickling rule for all)
    type(_act).__reduce__ = _builtin_reduce  # type: ignore[method-assign]


def symmetry(act: str | Activation) -> str:
    """The symmetry class of an activation (:data:`SYMMETRIES`): the one place that says
    whether an activation is odd, even, ... for alignment, channels, canonical forms and
    slices.

    Parameters
    ----------
    act : str or Activation
        A name (aliases allowed) or an activation object.

    Returns
    -------
    str
        One of :data:`SYMMETRIES`.

    Examples
    --------
    >>> from mlpgradientflow.activations import symmetry
    >>> symmetry("tanh"), symmetry("erf"), symmetry("relu"), symmetry("g")
    ('odd', 'odd', 'even_linear_positive_scaling', 'none')
    >>> from mlpgradientflow import Poly
    >>> symmetry(Poly(0.0, 1.0, 0.0, 2.0)), symmetry(Poly(1.0, 0.0, 3.0))
    ('odd', 'even')
    """
    return get_activation(act, "activation").symmetry


def get_activation(act: str | Activation, name: str = "act") -> Activation:
    """The :class:`Activation` for a name or an Activation object.

    Parameters
    ----------
    act : str or Activation
        A name of :data:`ACTIVATIONS` or an alias (``"erf"``, ``"tanh_fast"``); an
        Activation is returned as it is.
    name : str, optional
        The argument named in error messages.

    Returns
    -------
    Activation
        The registry's object for a name (built-ins are singletons).

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known names).
    TypeError
        For anything that is neither a string nor an Activation.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpgradientflow.activations import get_activation
    >>> erf = get_activation("erf")                  # alias of sigmoid2: erf(x / sqrt(2))
    >>> erf.name, erf(np.array([0.0, 1.0]))
    ('sigmoid2', array([0.        , 0.68268949]))
    >>> get_activation("tan")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: unknown activation 'tan' (argument `act`); known names: ...
    """
    if isinstance(act, Activation):
        return act
    if isinstance(act, str):
        key = _ALIASES.get(act, act)
        if key in ACTIVATIONS:
            return ACTIVATIONS[key]
        known = ", ".join(sorted([*ACTIVATIONS, *_ALIASES]))
        raise ValueError(
            f"unknown activation {act!r} (argument `{name}`); known names: {known}, or Poly(...)"
        )
    raise TypeError(
        f"an activation (argument `{name}`) must be a name or an Activation object, got "
        f"{type(act).__name__}"
    )


def normalize_layer_activation(
    act, width: int, *, layer: int, is_output: bool
) -> Activation | tuple[Activation, ...]:
    """Resolve a layer's activation: one Activation, or one per neuron (hidden layers).

    A uniform per-neuron tuple collapses to the single activation, so that it runs through
    the same kernels and gives bit-identical results.

    Parameters
    ----------
    act : str, Activation, or sequence of them
        The layer's activation, or one per neuron (hidden layers only).
    width : int
        The layer's number of neurons (the length a per-neuron sequence must have).
    layer : int
        Index of the layer, named in error messages.
    is_output : bool
        Whether it is the output layer (softmax allowed, per-neuron activations not).

    Returns
    -------
    Activation or tuple of Activation
        One activation, or ``width`` of them when they differ.

    Examples
    --------
    >>> from mlpgradientflow.activations import normalize_layer_activation
    >>> normalize_layer_activation(("tanh", "tanh"), 2, layer=0, is_output=False).name
    'tanh'
    >>> [a.name for a in normalize_layer_activation(("relu", "tanh"), 2, layer=0,
    ...                                              is_output=False)]
    ['relu', 'tanh']
    """
    if isinstance(act, tuple | list):
        if is_output:
            raise ValueError(
                f"layers[{layer}]: per-neuron activations are allowed in hidden layers only, "
                "not in the output layer"
            )
        if len(act) != width:
            raise ValueError(
                f"layers[{layer}]: declares {width} neurons but got {len(act)} activations"
            )
        acts = tuple(get_activation(a, f"layers[{layer}][1][{i}]") for i, a in enumerate(act))
        if any(a.name == "softmax" for a in acts):
            raise ValueError(f"layers[{layer}]: softmax cannot be a per-neuron activation")
        if all(a == acts[0] for a in acts):
            return acts[0]
        return acts
    a = get_activation(act, f"layers[{layer}][1]")
    if a.name == "softmax" and not is_output:
        raise ValueError(f"layers[{layer}]: softmax is allowed in the output layer only")
    return a


def activation_groups(
    act: Activation | tuple[Activation, ...], width: int
) -> tuple[tuple[Activation, int, int], ...]:
    """Maximal contiguous runs ``(activation, lo, hi)`` of identical activations.

    Parameters
    ----------
    act : Activation or tuple of Activation
        A layer's activation(s), as :func:`normalize_layer_activation` returns them.
    width : int
        The layer's number of neurons.

    Returns
    -------
    tuple of (Activation, int, int)
        Runs covering neurons ``lo..hi-1``, in order.

    Examples
    --------
    >>> from mlpgradientflow.activations import activation_groups, get_activation
    >>> r, t = get_activation("relu"), get_activation("tanh")
    >>> [(a.name, lo, hi) for a, lo, hi in activation_groups((r, r, t, r), 4)]
    [('relu', 0, 2), ('tanh', 2, 3), ('relu', 3, 4)]
    """
    if isinstance(act, Activation):
        return ((act, 0, width),)
    groups: list[tuple[Activation, int, int]] = []
    lo = 0
    for i in range(1, width + 1):
        if i == width or act[i] != act[lo]:
            groups.append((act[lo], lo, i))
            lo = i
    return tuple(groups)
