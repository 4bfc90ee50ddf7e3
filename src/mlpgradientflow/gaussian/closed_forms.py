r"""The registry of closed-form Gaussian integrals, filled by decorators.

The closed forms live in the modules that derive them: :mod:`.closed_forms_erf`
(``normal_cdf``, ``sigmoid2`` and their mixed pairs, through the bivariate normal
distribution) and :mod:`.closed_forms_relu` (``relu``). Each registers its functions with

* ``@closed_form_one_point(name)`` / ``@closed_form_one_point(name, squared=True)``:
  :math:`E[f(rz + b)]` / :math:`E[f(rz + b)^2]` as ``fn(r, b, order) -> Derivs``
  (:class:`~.interface.OneFn`);
* ``@closed_form_pair(name1, name2)``: :math:`E[f_1(r_1z_1 + b_1) f_2(r_2z_2 + b_2)]` as
  ``fn(r1, b1, r2, b2, u, order) -> Derivs`` (:class:`~.interface.PairFn`);
* ``@closed_form_coefficients(name)``: the Hermite coefficients
  :math:`E[f^{(a)}(rz + b)h_n(z)]` of a unit for Mehler's series
  (:class:`~.interface.CoefficientForm`),

when it is imported; :mod:`.dispatch` imports both explicitly, so the registry is complete
whenever :mod:`mlpgradientflow.gaussian` is. Only activations that declare
``closed_form=True`` (:class:`~mlpgradientflow.activations.Activation`) may register, each
entry once; ``tests/test_gaussian_integrals.py`` checks the converse (every declared
activation has its one-point forms and its pair with itself). The derivatives come in the
orders of :class:`~.interface.Derivs`.

>>> sorted(CLOSED_FORM_NAMES)
['normal_cdf', 'relu', 'sigmoid2']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from ..activations import ACTIVATIONS
from .interface import CoefficientForm, OneFn, PairFn

__all__ = [
    "CLOSED_FORM_NAMES",
    "closed_form_one_point",
    "closed_form_pair",
    "closed_form_coefficients",
    "find_one_point",
    "find_pair",
    "find_coefficients",
    "registered",
]

#: the activations that declare closed forms (``Activation.closed_form``)
CLOSED_FORM_NAMES = frozenset(n for n, a in ACTIVATIONS.items() if a.closed_form)

_ONES: dict[tuple[str, bool], OneFn] = {}
_PAIRS: dict[tuple[str, str], PairFn] = {}
_COEFFICIENTS: dict[str, CoefficientForm] = {}

_F = TypeVar("_F")


def _register(table: dict, key: object, names: tuple[str, ...], fn: object) -> None:
    undeclared = [n for n in names if n not in CLOSED_FORM_NAMES]
    if undeclared:
        raise ValueError(f"closed form {key!r}: {undeclared[0]!r} does not declare "
                         "closed_form=True (mlpgradientflow.activations)")
    if key in table:
        raise ValueError(f"closed form {key!r} registered twice")
    table[key] = fn


def closed_form_one_point(name: str, squared: bool = False) -> Callable[[_F], _F]:
    r"""Register ``fn(r, b, order) -> Derivs`` as :math:`E[f(rz + b)]` of the activation
    ``name`` (:math:`E[f(rz + b)^2]` with ``squared``)."""

    def register(fn: _F) -> _F:
        _register(_ONES, (name, bool(squared)), (name,), fn)
        return fn

    return register


def closed_form_pair(name1: str, name2: str) -> Callable[[_F], _F]:
    r"""Register ``fn(r1, b1, r2, b2, u, order) -> Derivs`` as
    :math:`E[f_1(r_1z_1 + b_1)\,f_2(r_2z_2 + b_2)]` of the activations ``name1``,
    ``name2``."""

    def register(fn: _F) -> _F:
        _register(_PAIRS, (name1, name2), (name1, name2), fn)
        return fn

    return register


def closed_form_coefficients(name: str) -> Callable[[_F], _F]:
    r"""Register ``fn(r, b, T) -> (c, cb, cbb)``: the exact Hermite coefficients
    :math:`E[f^{(a)}(rz + b)h_n(z)]`, :math:`a = 0, 1, 2`, :math:`n < T`, of ``name``."""

    def register(fn: _F) -> _F:
        _register(_COEFFICIENTS, name, (name,), fn)
        return fn

    return register


def find_pair(name1: str, name2: str) -> PairFn | None:
    """The closed form ``fn(r1, b1, r2, b2, u, order) -> Derivs`` of a pair, or None."""
    return _PAIRS.get((name1, name2))


def find_one_point(name: str, squared: bool = False) -> OneFn | None:
    r"""The closed form ``fn(r, b, order) -> Derivs`` of :math:`E[f]`
    (:math:`E[f^2]` when ``squared``), or None."""
    return _ONES.get((name, squared))


def find_coefficients(name: str) -> CoefficientForm | None:
    """The closed-form Hermite coefficients ``fn(r, b, T)`` of a unit, or None."""
    return _COEFFICIENTS.get(name)


def registered() -> dict[str, frozenset]:
    """What is registered: the keys of the one-point forms ``(name, squared)``, of the
    pairs ``(name1, name2)`` and of the coefficients (names)."""
    return {"one_point": frozenset(_ONES), "pair": frozenset(_PAIRS),
            "coefficients": frozenset(_COEFFICIENTS)}
