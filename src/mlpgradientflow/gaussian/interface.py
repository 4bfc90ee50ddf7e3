r"""The shared types of :mod:`mlpgradientflow.gaussian`: what its modules exchange.

Every module of the package imports this one and nothing here imports back (only NumPy,
:mod:`mlpgradientflow.activations` and :mod:`mlpgradientflow.layout`), so the package's
import graph is a tree on top of it, without cycles:

* :class:`Derivs`: a value with its gradient and Hessian. One-point functions of
  :math:`(r, b)` return ``value`` (n,), ``grad`` (n, 2) in the order :data:`ONE_POINT_ORDER`
  and ``hess`` (n, 2, 2); two-point functions of :math:`(r_1, b_1, r_2, b_2, u)` return
  ``grad`` (n, 5) and ``hess`` (n, 5, 5) in the order :data:`PAIR_ORDER`. Entries that
  ``order`` does not ask for are ``None``; :attr:`Derivs.gradient` and
  :attr:`Derivs.hessian` are the checked accessors.
* :class:`PairPoints`: the arguments :math:`(r_1, b_1, r_2, b_2, u)` of :math:`n`
  two-point integrals.
* the signatures of the closed forms (:class:`OneFn`, :class:`PairFn`,
  :class:`CoefficientForm`, registered in :mod:`.closed_forms`) and of the unit
  coefficients that Mehler's series takes (:class:`UnitCoefficients`);
* :class:`Profile` and :class:`Traits`: what the integrators know about an activation (its
  transition zones and asymptotes; its kink, degree, ...), read by the dispatch
  (:mod:`.dispatch`);
* NetI's data (:mod:`.neti`): the teacher's units (:class:`TeacherUnits`), the pair terms
  of the loss (:class:`PairTerms`), the terms of its error estimate (:class:`ErrorTerm`)
  and what the assembly reads from a NetI (:class:`Population`);
* the array plumbing every integrator uses: :func:`pack_pair`, :func:`pack_one`,
  :func:`fold_diagonal`, :func:`empty_pair`, :func:`swap_pair` and :func:`evaluate`.

The dataclasses are frozen; those holding arrays compare by identity (``eq=False``).

Examples
--------
>>> import numpy as np
>>> pts = PairPoints(*(np.array([v]) for v in (1.0, 0.0, 2.0, 0.5, 0.3)))
>>> len(pts), pts.swapped().r1.tolist()
(1, [2.0])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from ..activations import ACTIVATIONS, Activation
from ..layout import Layout

__all__ = [
    "Array",
    "IntArray",
    "Derivs",
    "PAIR_ORDER",
    "ONE_POINT_ORDER",
    "PairPoints",
    "OneFn",
    "PairFn",
    "CoefficientForm",
    "UnitCoefficients",
    "RawCoefficients",
    "Profile",
    "Traits",
    "TeacherUnits",
    "PairTerms",
    "ErrorTerm",
    "Population",
    "is_builtin",
    "evaluate",
    "pack_pair",
    "pack_one",
    "fold_diagonal",
    "empty_pair",
    "swap_pair",
]

#: a float64 array
Array = npt.NDArray[np.float64]
#: an index array
IntArray = npt.NDArray[np.intp]

#: argument order of the two-point gradient and Hessian
PAIR_ORDER = ("r1", "b1", "r2", "b2", "u")
#: argument order of the one-point gradient and Hessian
ONE_POINT_ORDER = ("r", "b")


class Derivs(NamedTuple):
    """A value with its gradient and Hessian (``None`` where the order skipped them).

    Returned by :func:`~mlpgradientflow.gaussian.one_point` and
    :func:`~mlpgradientflow.gaussian.two_point`: ``value`` (n,), ``grad`` (n, k), ``hess``
    (n, k, k) with k = 2 (one point) or 5 (two points); unpacks as ``v, g, h``.

    Examples
    --------
    >>> from mlpgradientflow.gaussian import one_point
    >>> d = one_point("relu", 2.0, 0.0, order=1)     # E[relu(2z)] = 2 / sqrt(2 pi)
    >>> d.value.round(6), d.gradient.shape, d.hess is None
    (array([0.797885]), (1, 2), True)
    """

    value: Array
    grad: Array | None
    hess: Array | None

    @property
    def gradient(self) -> Array:
        """``grad``, which must have been computed (``order >= 1``)."""
        if self.grad is None:
            raise ValueError("Derivs: the gradient was not computed (order 0)")
        return self.grad

    @property
    def hessian(self) -> Array:
        """``hess``, which must have been computed (``order >= 2``)."""
        if self.hess is None:
            raise ValueError("Derivs: the Hessian was not computed (order < 2)")
        return self.hess

    def take(self, sel: npt.ArrayLike) -> Derivs:
        """The integrals selected by ``sel`` (an index or mask array)."""
        idx = np.asarray(sel)
        return Derivs(self.value[idx], None if self.grad is None else self.grad[idx],
                      None if self.hess is None else self.hess[idx])

    def assign(self, sel: npt.ArrayLike, other: Derivs) -> None:
        """Overwrite the integrals selected by ``sel`` with ``other`` (in place)."""
        idx = np.asarray(sel)
        for mine, theirs in zip(self, other, strict=True):
            if mine is not None:
                mine[idx] = theirs


@dataclass(frozen=True, eq=False, slots=True)
class PairPoints:
    r"""The arguments of :math:`n` two-point integrals
    :math:`E[f_1(r_1z_1 + b_1)\,f_2(r_2z_2 + b_2)]`, :math:`\operatorname{corr}(z_1, z_2) =
    u`: flat float arrays of length :math:`n` (:math:`u` in :math:`[-1, 1]`)."""

    r1: Array
    b1: Array
    r2: Array
    b2: Array
    u: Array

    def __len__(self) -> int:
        return len(self.u)

    def take(self, idx: npt.ArrayLike) -> PairPoints:
        """The points selected by ``idx`` (an index or mask array)."""
        i = np.asarray(idx)
        return PairPoints(self.r1[i], self.b1[i], self.r2[i], self.b2[i], self.u[i])

    def swapped(self) -> PairPoints:
        """The same integrals with the two units exchanged."""
        return PairPoints(self.r2, self.b2, self.r1, self.b1, self.u)

    def arrays(self) -> tuple[Array, Array, Array, Array, Array]:
        """``(r1, b1, r2, b2, u)``."""
        return self.r1, self.b1, self.r2, self.b2, self.u


class OneFn(Protocol):
    r"""A one-point closed form: :math:`E[f(rz + b)]` (or :math:`E[f^2]`) with derivatives."""

    def __call__(self, r: npt.ArrayLike, b: npt.ArrayLike, order: int = 2) -> Derivs: ...


class PairFn(Protocol):
    r"""A two-point closed form: :math:`E[f_1(r_1z_1 + b_1) f_2(r_2z_2 + b_2)]` with
    derivatives in :math:`(r_1, b_1, r_2, b_2, u)`."""

    def __call__(self, r1: npt.ArrayLike, b1: npt.ArrayLike, r2: npt.ArrayLike,
                 b2: npt.ArrayLike, u: npt.ArrayLike, order: int = 2) -> Derivs: ...


#: :math:`E[f^{(a)}(rz + b)\,h_n(z)]` for :math:`a = 0, 1, 2` (None beyond the order),
#: each (T, K)
RawCoefficients = tuple[Array, Array | None, Array | None]


class CoefficientForm(Protocol):
    r"""Closed-form Hermite coefficients :math:`E[f^{(a)}(rz + b)h_n(z)]`, :math:`n < T`,
    all three kinds, each (T, K)."""

    def __call__(self, r: Array, b: Array, T: int) -> tuple[Array, Array, Array]: ...


class UnitCoefficients(Protocol):
    r"""How Mehler's series gets the coefficients of its units:
    ``fn(f, r, b, T, N, order)`` (the choice per activation is :mod:`.dispatch`'s)."""

    def __call__(self, f: Activation, r: Array, b: Array, T: int, N: int,
                 order: int) -> RawCoefficients: ...

    def __hash__(self) -> int: ...  # a cache key of the memoised coefficients


@dataclass(frozen=True)
class Profile:
    """Where an activation is not yet its polynomial asymptote, and how finely to sample it.

    ``zones``: contiguous ``(y0, y1, h)`` covering ``[yL, yR]``; ``left`` / ``right``: the
    asymptotes' coefficients ``(c0, c1)`` (:math:`c_0 + c_1 y`) below ``yL`` / above
    ``yR``; ``jump``: the jump of :math:`f'` at 0 (a Dirac mass in :math:`f''`), the
    activation's declaration ``Activation.kink``; ``strip``: the half-width of the strip of
    analyticity around the real axis (None for a kink), for the a-priori error of
    Gauss–Hermite (:func:`~.accuracy.gh_error`). The table is :mod:`.profiles`.
    """

    zones: tuple[tuple[float, float, float], ...]
    left: tuple[float, float]
    right: tuple[float, float]
    jump: float = 0.0
    strip: float | None = None

    @property
    def lo(self) -> float:
        return self.zones[0][0] if self.zones else 0.0

    @property
    def hi(self) -> float:
        return self.zones[-1][1] if self.zones else 0.0

    @property
    def hmin(self) -> float:
        return min((z[2] for z in self.zones), default=math.inf)


@dataclass(frozen=True)
class Traits:
    """What the integrators need to know about an activation, from its declarations
    (built by :func:`.dispatch.traits`).

    ``builtin``: the registry's own object (a custom Activation named "relu" is not);
    ``kink``: the jump of :math:`f'` at 0 (``Activation.kink``); ``degree``: the degree of a
    polynomial activation (None otherwise); ``exp``: the built-in ``exp``; ``profile``: its
    :class:`Profile` (built-in activations with a transition or a kink).
    """

    name: str
    builtin: bool
    kink: float
    degree: int | None
    exp: bool
    profile: Profile | None

    @property
    def smooth(self) -> bool:
        """No jump in the first derivative."""
        return not self.kink


@dataclass(frozen=True, eq=False, slots=True)
class TeacherUnits:
    r"""The teacher's hidden units :math:`a^*_l f^*(w^*_l\cdot x + b^*_l)` and output bias,
    fixed for the life of a NetI.

    ``r``: the norms :math:`\|w^*_l\|`; ``rs``: the same with 0 replaced by 1 (a safe
    divisor); ``hat``: the unit vectors (0 for zero vectors), (r, D).
    """

    f: Activation
    r: Array
    rs: Array
    hat: Array
    b: Array
    a: Array
    c: float


@dataclass(frozen=True, eq=False, slots=True)
class PairTerms:
    r"""The pair terms :math:`\kappa\,F(r_p, b_p, r_q, b_q, c_{pq})` of NetI's loss, of one
    kind: student–student (:math:`p < q`, both move) or student–teacher.

    ``p``, ``q``: the student neuron and its partner (a student or a teacher unit) of each
    pair; ``cos``: :math:`c_{pq}`; ``F``: the two-point integrals; ``kappa``: their
    weights; ``Jp``, ``Jq``: the (n, 5, 2) Jacobians of the arguments on the bases of
    :math:`w_p` and :math:`w_q` (:func:`~.neti_assembly.jacobians`; ``Jq`` is None for
    teacher partners, which do not move).
    """

    p: IntArray
    q: IntArray
    cos: Array
    F: Derivs
    kappa: Array
    Jp: Array
    Jq: Array | None = None


@dataclass(frozen=True, eq=False, slots=True)
class ErrorTerm:
    r"""One kind of loss term :math:`\kappa F` for NetI's error estimate
    (:func:`~.neti_assembly.error_estimate`).

    ``kappa``: the weights; ``dkappa``, ``ddkappa``: bounds of their first and second
    derivatives in the output weights and bias; ``F``: the integrals and ``err`` their
    (n, 3) error estimates; ``rmin``: the smallest norm of the units of each integral (the
    chain rule through norms and cosines is bounded by :math:`\max(1, 1/r_{min})`).
    """

    kappa: Array
    dkappa: Array
    ddkappa: float
    F: Derivs
    err: Array
    rmin: Array


class Population(Protocol):
    """What the assembly of NetI's loss reads from a :class:`~.neti.NetI`."""

    layout: Layout
    f: Activation
    method: str
    teacher_units: TeacherUnits
    C1: float
    C2: float
    C_err: tuple[float, float]

    @property
    def nparams(self) -> int: ...

    @property
    def din(self) -> int: ...


def is_builtin(f: Activation) -> bool:
    """True for the registry's own objects (a custom Activation named "relu" is not)."""
    return ACTIVATIONS.get(f.name) is f


def evaluate(f: Activation, x: Array, order: int) -> list[Array]:
    """``[f, f', f'']`` at ``x`` up to ``order`` (a list of ``order + 1`` arrays shaped like
    ``x``), constant derivatives filled.

    Evaluated on the flattened array: the compiled kernels take 1-D/2-D layouts only.
    """
    shape = x.shape
    flat = np.ascontiguousarray(x).reshape(-1)
    out = [np.empty_like(flat) for _ in range(order + 1)]
    if order >= 1 and f.d1_const is not None:
        out[1].fill(f.d1_const)
    if order >= 2 and f.d2_const is not None:
        out[2].fill(f.d2_const)
    with np.errstate(over="ignore", under="ignore"):
        f.fused(flat, out[0], out[1] if order >= 1 else None, out[2] if order >= 2 else None)
    return [a.reshape(shape) for a in out]


#: the upper triangle of a 5 x 5 matrix, row by row: the order of ``hess`` entries
#: handed to :func:`pack_pair`
_UPPER5 = [(i, j) for i in range(5) for j in range(i, 5)]
#: for each of the 25 entries of the 5 x 5 matrix (row-major), its index in _UPPER5
_FULL5 = np.array([_UPPER5.index((min(i, j), max(i, j))) for i in range(5) for j in range(5)])
#: the permutation of the two-point arguments that exchanges the units
_SWAP = [2, 3, 0, 1, 4]


def pack_pair(
    value: Array, grad: Sequence[Array] | None, hess: Sequence[Array] | None
) -> Derivs:
    """Stack 5 gradient entries and 15 upper-triangular Hessian entries into arrays.

    ``hess`` lists ``(r1r1, r1b1, r1r2, r1b2, r1u, b1b1, b1r2, b1b2, b1u, r2r2, r2b2,
    r2u, b2b2, b2u, uu)``. Both come back C-contiguous, (n, 5) and (n, 5, 5).
    """
    n = value.shape[0]
    g = None if grad is None else np.stack(grad, axis=1)
    h = None
    if hess is not None:
        # one gather (15 -> 25 rows) and one transpose instead of 25 strided writes
        upper = np.stack(hess)
        h = np.ascontiguousarray(upper[_FULL5].T).reshape(n, 5, 5)
    return Derivs(value, g, h)


def pack_one(
    value: Array, grad: Sequence[Array] | None, hess: Sequence[Array] | None
) -> Derivs:
    """Stack ``(dr, db)`` and ``(rr, rb, bb)`` into (n, 2) and (n, 2, 2) arrays."""
    g = None if grad is None else np.stack(grad, axis=1)
    h = None
    if hess is not None:
        rr, rb, bb = hess
        h = np.stack([np.stack([rr, rb], axis=1), np.stack([rb, bb], axis=1)], axis=1)
    return Derivs(value, g, h)


def fold_diagonal(d: Derivs) -> Derivs:
    r"""One-point derivatives of :math:`F(r, b, r, b, 1)` from those of a pair function.

    With :math:`r_1 = r_2 = r`, :math:`b_1 = b_2 = b` and :math:`u = 1` fixed:
    :math:`\partial_r = \partial_{r_1} + \partial_{r_2}`,
    :math:`\partial_r^2 = H_{r_1r_1} + 2H_{r_1r_2} + H_{r_2r_2}`, and so on.
    """
    g = h = None
    if d.grad is not None:
        g = np.stack([d.grad[:, 0] + d.grad[:, 2], d.grad[:, 1] + d.grad[:, 3]], axis=1)
    if d.hess is not None:
        # rows/cols (r1, r2) and (b1, b2) summed: S^T H S with S the 5 x 2 selector
        s = np.zeros((5, 2))
        s[0, 0] = s[2, 0] = s[1, 1] = s[3, 1] = 1.0
        h = np.einsum("ia,nij,jb->nab", s, d.hess, s)
    return Derivs(d.value, g, h)


def empty_pair(order: int) -> Derivs:
    """The result for zero pairs."""
    z = np.zeros(0)
    return Derivs(z, np.zeros((0, 5)) if order >= 1 else None,
                  np.zeros((0, 5, 5)) if order >= 2 else None)


def swap_pair(d: Derivs) -> Derivs:
    """The two-point derivatives with the units exchanged: ``grad`` and ``hess`` permuted
    by ``[2, 3, 0, 1, 4]``."""
    g = None if d.grad is None else np.ascontiguousarray(d.grad[:, _SWAP])
    h = None if d.hess is None else np.ascontiguousarray(d.hess[:, _SWAP][:, :, _SWAP])
    return Derivs(d.value, g, h)
