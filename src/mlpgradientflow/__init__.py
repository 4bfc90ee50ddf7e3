"""mlpgradientflow: exact loss landscapes and gradient flow of small multilayer perceptrons.

The pipeline: layer spec -> :class:`Net` -> derivatives (:func:`loss`, :func:`gradient`,
:func:`hessian`) -> training -> results. See the README for a tour.
"""

import importlib as _importlib
from typing import TYPE_CHECKING

from . import activations as activations
from . import data as data
from . import gaussian as gaussian
from ._validation import NonFiniteError as NonFiniteError
from ._version import __version__ as __version__  # noqa: E402
from .activations import Activation as Activation
from .activations import Poly as Poly
from .derivatives import fg as fg
from .derivatives import fgh as fgh
from .derivatives import gradient as gradient
from .derivatives import hessian as hessian
from .derivatives import hessian_spectrum as hessian_spectrum
from .derivatives import loss as loss
from .endstate import EndState as EndState
from .endstate import end_state as end_state
from .gaussian import NetI as NetI
from .gaussian import gauss_hermite_net as gauss_hermite_net
from .model import Model as Model
from .net import Net as Net
from .net import TeacherNet as TeacherNet
from .net import params as params
from .net import params2dict as params2dict
from .parallel import FailedRun as FailedRun
from .parallel import load_results as load_results
from .parallel import train_many as train_many
from .training import Adam as Adam
from .training import Descent as Descent
from .training import Momentum as Momentum
from .training import TrainOptions as TrainOptions
from .training import TrainResult as TrainResult
from .training import load_result as load_result
from .training import train as train

if TYPE_CHECKING:
    from . import io, landscape, plot, recovery, storage, sweep, theory
    from .sweep import load_sweep

#: subpackages imported on first use (``mgf.recovery``, ``mgf.plot``, ...): they pull in
#: SciPy modules (and matplotlib for ``plot``) that ``import mlpgradientflow`` need not pay for
_LAZY = ("cli", "derivatives", "endstate", "io", "landscape", "layout", "dataset", "losses",
         "model", "parallel", "plot", "recovery", "records", "storage", "sweep", "theory",
         "training")


#: top-level names that live in a lazy subpackage
_LAZY_NAMES = {"load_sweep": "sweep"}


def __getattr__(name: str):
    if name in _LAZY:
        return _importlib.import_module(f".{name}", __name__)
    if name in _LAZY_NAMES:
        return getattr(_importlib.import_module(f".{_LAZY_NAMES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_LAZY_NAMES))


__all__ = [
    "__version__",
    "Activation",
    "Adam",
    "Descent",
    "EndState",
    "FailedRun",
    "Model",
    "Momentum",
    "TrainOptions",
    "TrainResult",
    "end_state",
    "load_result",
    "load_results",
    "load_sweep",
    "train",
    "train_many",
    "Net",
    "NetI",
    "gauss_hermite_net",
    "gaussian",
    "io",
    "landscape",
    "NonFiniteError",
    "Poly",
    "TeacherNet",
    "activations",
    "data",
    "theory",
    "derivatives",
    "endstate",
    "io",
    "plot",
    "recovery",
    "storage",
    "sweep",
    "training",
    "parallel",
    "fg",
    "fgh",
    "gradient",
    "hessian",
    "hessian_spectrum",
    "loss",
    "params",
    "params2dict",
]
