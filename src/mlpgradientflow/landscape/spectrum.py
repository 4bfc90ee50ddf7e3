"""Counting Hessian eigenvalues by sign: :func:`morse_index` (its home is
:mod:`mlpgradientflow.endstate.morse`, below training, where end states use it)."""

from ..endstate.morse import MorseCounts as MorseCounts
from ..endstate.morse import morse_index as morse_index

__all__ = ["MorseCounts", "morse_index"]
