r"""The reference's ``train`` keywords that are not options of the computation.

MLPGradientFlow.jl's ``train`` takes keywords that shape its result or its data rather
than the dynamics. :func:`~mlpgradientflow.train` accepts them so that ported scripts run;
each is mapped here, in one place:

=========================  ==============================================================
reference keyword          here
=========================  ==============================================================
``weights=w``              trains on ``net.with_data(weights=w)`` (sample weights (N,))
``losstype``               checked against the net's loss (``"mse"``, or ``"nll"`` for a
                           softmax output); another loss is an error: the loss follows the
                           output activation here
``include`` / ``exclude``  which result keys ``res.keys()``, ``res[...]`` and
                           :meth:`~.TrainResult.to_reference_dict` show; an excluded
                           ``trajectory`` or ``loss_curve`` is not kept at all; unknown
                           names warn (as the reference)
``result="dict"``          the default: a :class:`~.TrainResult`
``result="raw"``           warns and returns the TrainResult: it holds the raw fields
                           (points, phase records ``res.ode``/``res.optim``)
``save_everystep=False``   no trajectory (``n_samples_trajectory=0``)
``dense``                  accepted; no effect (trajectory points come from the solvers'
                           interpolants whatever it says); ``dense=False`` warns
``show_progress``          ``False``: no progress lines (``verbosity=0``)
``hessian_template``       accepted and ignored with a warning: the derivative engine
                           allocates and reuses its own Hessian workspace
``use_component_arrays``   ``False`` accepted; ``True`` is an error: parameters are flat
                           vectors here (``net.params2dict(p)`` gives the named blocks)
=========================  ==============================================================
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["REFERENCE_KEYWORDS", "ReferenceWarning", "ResultKeys", "reference_keywords", "apply_keys"]

REFERENCE_KEYWORDS = ("weights", "losstype", "include", "exclude", "result", "save_everystep",
                      "dense", "show_progress", "hessian_template", "use_component_arrays")
_LOSSES = {"mse": "mse", "se": "mse", "nll": "nll", "negativeloglikelihood": "nll",
           "crossentropy": "nll"}


class ReferenceWarning(UserWarning):
    """A reference keyword was accepted but means something else (or nothing) here."""


@dataclass(frozen=True)
class ResultKeys:
    """Which keys a result shows: ``include`` (None: all) minus ``exclude``."""

    include: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()

    def hidden(self, keys: list[str]) -> list[str]:
        shown = set(keys if self.include is None else self.include) - set(self.exclude)
        return [k for k in keys if k not in shown]


def _names(key: str, value) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    try:
        names = tuple(value)
    except TypeError:
        raise TypeError(f"option `{key}` must be a list of result keys, got {value!r}") from None
    if not all(isinstance(n, str) for n in names):
        raise TypeError(f"option `{key}` must be a list of result keys (strings), got {value!r}")
    return names


def _warn(message: str) -> None:
    warnings.warn(message, ReferenceWarning, stacklevel=4)


def reference_keywords(net, keywords: dict[str, Any]):
    """Split the reference-only keywords off ``keywords``.

    Returns ``(net, keywords, keys)``: the net to train (with the sample weights), the
    keywords left for :class:`~.options.TrainOptions`, and the :class:`ResultKeys`.
    """
    kw = dict(keywords)
    ref = {k: kw.pop(k) for k in REFERENCE_KEYWORDS if k in kw}
    if "weights" in ref:
        if not hasattr(net, "with_data") or getattr(net, "input", None) is None:
            raise TypeError("option `weights`: sample weights need a Net with data "
                            f"(got {type(net).__name__})")
        net = net.with_data(weights=ref["weights"])
    if "losstype" in ref:
        name = str(getattr(ref["losstype"], "__name__", ref["losstype"])).lower().strip(":()")
        want = getattr(net, "loss_type", "mse")
        if _LOSSES.get(name) != want:
            raise ValueError(f"option `losstype`: {ref['losstype']!r} is not this net's loss "
                             f"({want!r}); the loss follows the output activation here "
                             "(a softmax output gives the negative log-likelihood)")
    result = ref.get("result", "dict")
    if str(result).lstrip(":") not in ("dict", "raw"):
        raise ValueError(f"option `result` must be 'dict' or 'raw', got {result!r}")
    if str(result).lstrip(":") == "raw":
        _warn("result='raw': returning the TrainResult, which holds the raw fields "
              "(x, init, ode_x, trajectory; solver records res.ode and res.optim)")
    if ref.get("save_everystep", True) is False:
        kw["n_samples_trajectory"] = 0
    if ref.get("dense", True) is False and ref.get("save_everystep", True) is not False:
        _warn("dense=False has no effect: the trajectory comes from the solvers' interpolants")
    if ref.get("show_progress", True) is False:
        kw["verbosity"] = 0
    if "hessian_template" in ref:
        _warn("hessian_template is ignored: the engine allocates its own Hessian workspace")
    if ref.get("use_component_arrays", False):
        raise ValueError("option `use_component_arrays=True`: parameters are flat vectors here; "
                         "use net.params2dict(p) (or mgf.params2dict(net, p)) for the named blocks")
    keys = ResultKeys(None if "include" not in ref else _names("include", ref["include"]),
                      _names("exclude", ref.get("exclude", ())))
    return net, kw, keys


def apply_keys(res, keys: ResultKeys):
    """Hide the keys ``keys`` leaves out (warning about unknown names); drop an excluded
    trajectory or loss curve."""
    known = res.keys()
    unknown = [k for k in (keys.include or ()) + keys.exclude if k not in known]
    if unknown:
        _warn(f"include/exclude: unknown result keys {unknown}")
    hidden = keys.hidden(known)
    if "trajectory" in hidden:
        res.trajectory = type(res.trajectory)(np.empty(0), np.empty((0, res.x.size)))
    if "loss_curve" in hidden:
        res.loss_curve = np.empty(0)
    res.info["hidden_keys"] = hidden
    return res
