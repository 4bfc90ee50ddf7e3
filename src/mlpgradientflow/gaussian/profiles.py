r"""The :class:`~.interface.Profile` of every built-in activation with a transition region.

A profile says where an activation is not yet its polynomial asymptote (contiguous
*zones* :math:`[y_0, y_1]` with a panel width :math:`h` on which a 16-point
Gauss–Legendre rule integrates :math:`f, f', f''` to rounding), its *asymptotes*
:math:`f(y) = c_0 + c_1y` below and above the zones (exact to about 1e-17 relative beyond
them), its kink (the declared ``Activation.kink``) and the half-width :math:`a` of the
strip of analyticity around the real axis, for the a-priori error of Gauss–Hermite
(:func:`~.accuracy.gh_error`). The panel widths follow from the nearest complex
singularity at a Bernstein-ellipse ratio of 3.4 or more (:math:`3.4^{-32} \approx
10^{-17}`): tanh :math:`\pm i\pi/2` and :math:`h = 2`, sigmoid/softplus/silu
:math:`\pm i\pi` and :math:`h = 4`, :math:`\sigma(4y)` in ``g`` :math:`\pm i\pi/4` and
:math:`h = 1`. ``relu`` is its own asymptote (no zone); ``selu`` has the zone
:math:`[-40, 0]` and the Dirac mass :math:`J\delta` in :math:`f''` at its kink,
:math:`J = \lambda(1 - \alpha)`. Polynomials, ``exp`` and custom activations have none.

>>> from mlpgradientflow.activations import get_activation
>>> p = profile_of(get_activation("tanh"))
>>> (p.lo, p.hi), p.left, p.right, round(p.strip, 4)
((-20.0, 20.0), (-1.0, 0.0), (1.0, 0.0), 1.5708)
"""

from __future__ import annotations

import math
from dataclasses import replace

from ..activations import ACTIVATIONS, Activation
from .interface import Profile, is_builtin

__all__ = ["PROFILES", "profile_of"]

_SELU_LAMBDA = 1.0507009873554804934193349852946
_SELU_ALPHA = 1.6732632423543772848170429916717


def _sym(c: float, h: float) -> tuple[tuple[float, float, float], ...]:
    """Zones [-c, c] of width h, split at 0."""
    return ((-c, 0.0, h), (0.0, c, h))


def _table() -> dict[str, Profile]:
    pi = math.pi
    table = {
        "relu": Profile((), (0.0, 0.0), (0.0, 1.0)),
        "softplus": Profile(_sym(40.0, 4.0), (0.0, 0.0), (0.0, 1.0), strip=pi),
        "sigmoid": Profile(_sym(40.0, 4.0), (0.0, 0.0), (1.0, 0.0), strip=pi),
        "tanh": Profile(_sym(20.0, 2.0), (-1.0, 0.0), (1.0, 0.0), strip=pi / 2),
        "g": Profile(((-40.0, -10.0, 4.0), (-10.0, 0.0, 1.0), (0.0, 10.0, 1.0),
                      (10.0, 40.0, 4.0)), (0.0, 0.0), (1.0, 1.0), strip=pi / 4),
        "gelu": Profile(_sym(10.0, 2.0), (0.0, 0.0), (0.0, 1.0), strip=4.0),
        "silu": Profile(_sym(46.0, 4.0), (0.0, 0.0), (0.0, 1.0), strip=pi),
        "selu": Profile(((-40.0, 0.0, 4.0),), (-_SELU_LAMBDA * _SELU_ALPHA, 0.0),
                        (0.0, _SELU_LAMBDA)),
        "sigmoid2": Profile(_sym(10.0, 2.0), (-1.0, 0.0), (1.0, 0.0), strip=4.0),
        "normal_cdf": Profile(_sym(10.0, 2.0), (0.0, 0.0), (1.0, 0.0), strip=4.0),
    }
    # the kink is the activation's declaration; a kinked integrand has no strip
    return {name: replace(p, jump=float(ACTIVATIONS[name].kink), strip=None)
            if ACTIVATIONS[name].kink else p for name, p in table.items()}


#: the profiles of the built-in activations, by name
PROFILES: dict[str, Profile] = _table()


def profile_of(f: Activation) -> Profile | None:
    """The built-in profile of ``f`` (None for polynomials, exp and custom activations)."""
    p = PROFILES.get(f.name)
    return p if p is not None and is_builtin(f) else None
