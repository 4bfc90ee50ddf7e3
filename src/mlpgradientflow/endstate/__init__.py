"""End states: where a run ended, and how precisely that can be known.

* :mod:`.noise`: the noise floor of an evaluation (:func:`noise_floor`);
* :mod:`.glu`: the gated-linear-unit limit of a flat channel and the moves along it;
* :mod:`.channels`: detecting channels from a point and its trajectory;
* :mod:`.classify`: :func:`end_state`, minimum / saddle / channel / not converged.

This package sits below training (every :class:`~mlpgradientflow.TrainResult` carries its
:class:`EndState`) and above the models; :mod:`mlpgradientflow.theory.channels` re-exports
the channel functions beside the rest of the channels paper.
"""

from .channels import ChannelWatch as ChannelWatch
from .channels import find_channels as find_channels
from .channels import flip_sign as flip_sign
from .channels import is_odd as is_odd
from .channels import late_update_fraction as late_update_fraction
from .classify import ZERO_TOL as ZERO_TOL
from .classify import ChannelState as ChannelState
from .classify import EndKind as EndKind
from .classify import EndState as EndState
from .classify import end_state as end_state
from .morse import MorseCounts as MorseCounts
from .morse import morse_index as morse_index
from .noise import NoiseFloor as NoiseFloor
from .noise import noise_floor as noise_floor

__all__ = ["ChannelState", "ChannelWatch", "EndKind", "EndState", "MorseCounts", "NoiseFloor",
           "ZERO_TOL", "morse_index",
           "end_state", "find_channels", "flip_sign", "is_odd", "late_update_fraction",
           "noise_floor"]
