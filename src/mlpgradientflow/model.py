"""The model protocol: what training, end states, the landscape tools, the theory and
Expand-and-Cluster need of a network.

A *model* is anything with ``nparams`` and the loss with its derivatives from one pass::

    model.fg(p, maxnorm=inf, merge=None)  -> (loss, gradient (P,))
    model.fgh(p, maxnorm=inf, merge=None) -> (loss, gradient (P,), Hessian (P, P))

Optionally ``hvp(p, v, ...)`` (exact Hessian-vector products: CVODE's Krylov solver uses
them), ``batch(idx)`` (minibatches for the discrete rules), ``check_params(p, name)``
(validation at the boundary) and, for the neuron-level methods, a one-hidden-layer
``layout`` (``layers``, ``unflatten``). :class:`~mlpgradientflow.Net`,
:class:`~mlpgradientflow.NetI` and the Gauss–Hermite nets of
:func:`~mlpgradientflow.gauss_hermite_net` implement it; so can a user's own class.

Examples
--------
>>> import numpy as np
>>> import mlpgradientflow as mgf
>>> class Quadratic:  # L(p) = |p - 1|^2: a model in four lines
...     nparams = 3
...     def fg(self, p, maxnorm=np.inf, merge=None):
...         return float((p - 1) @ (p - 1)), 2 * (p - 1)
...     def fgh(self, p, maxnorm=np.inf, merge=None):
...         return (*self.fg(p), 2 * np.eye(3))
>>> isinstance(Quadratic(), mgf.Model)
True
>>> res = mgf.train(Quadratic(), np.zeros(3), maxiterations_ode=200, verbosity=0)
>>> res.x.round(12).tolist(), res.end_state.kind
([1.0, 1.0, 1.0], <EndKind.MINIMUM: 'minimum'>)
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["Model", "check_model_protocol"]


@runtime_checkable
class Model(Protocol):
    """Structural type of a model (see the module docstring).

    ``isinstance(obj, Model)`` checks that ``obj`` has ``nparams``, ``fg`` and ``fgh``.

    Examples
    --------
    >>> import numpy as np
    >>> import mlpgradientflow as mgf
    >>> net = mgf.Net([(2, "tanh", True), (1, "identity", True)], input=np.ones((3, 1)),
    ...               target=np.zeros((3, 1)))
    >>> isinstance(net, mgf.Model), isinstance(np.zeros(3), mgf.Model)
    (True, False)
    """

    nparams: int

    def fg(self, p, *, maxnorm: float = ..., merge=...) -> tuple[float, np.ndarray]: ...

    def fgh(self, p, *, maxnorm: float = ..., merge=...) -> tuple[float, np.ndarray, np.ndarray]: ...


def check_model_protocol(model, name: str = "net") -> Model:
    """``model`` itself when it has ``nparams``, ``fg`` and ``fgh``; TypeError otherwise.

    Parameters
    ----------
    model : object
        The candidate model.
    name : str, optional
        The argument named in the error message.

    Returns
    -------
    Model
        ``model`` unchanged.

    Raises
    ------
    TypeError
        Naming ``name`` and the missing attributes.

    Examples
    --------
    >>> from mlpgradientflow.model import check_model_protocol
    >>> check_model_protocol("a net?")
    Traceback (most recent call last):
    ...
    TypeError: argument `net` must be a model (Net, NetI, or an object with nparams, fg and
    fgh), got str without nparams, fg, fgh
    """
    if not isinstance(model, Model):
        missing = [a for a in ("nparams", "fg", "fgh") if not hasattr(model, a)]
        raise TypeError(f"argument `{name}` must be a model (Net, NetI, or an object with "
                        f"nparams, fg and fgh), got {type(model).__name__} without "
                        f"{', '.join(missing)}")
    return model
