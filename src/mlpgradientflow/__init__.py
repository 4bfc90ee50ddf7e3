"""mlpgradientflow: exact loss landscapes and gradient flow of small multilayer perceptrons.

The pipeline: layer spec -> :class:`Net` -> derivatives (:func:`loss`, :func:`gradient`,
:func:`hessian`) -> training -> results. See the README for a tour.
"""

from . import activations as activations
from . import data as data
from . import gaussian as gaussian
from . import io as io
from . import landscape as landscape
from . import theory as theory
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

__all__ = [
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
    "train",
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
    "fg",
    "fgh",
    "gradient",
    "hessian",
    "hessian_spectrum",
    "loss",
    "params",
    "params2dict",
]
