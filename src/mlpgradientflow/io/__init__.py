"""Files: atomic writes, and the bridge to MLPGradientFlow.jl's result files and flat layout.

* :mod:`.atomic`: files written to a temporary file and renamed (``atomic_write``,
  ``write_text``, ``write_json``, ``umask``); the bottom of the package, used by every writer.
* :mod:`.torchfile`: a restricted reader of torch's two file formats (legacy and zip) that
  accepts tensors, storages and ``OrderedDict`` only, and a writer of the legacy format;
  no torch needed.
* :mod:`.julia`: the reference's result dict to and from a
  :class:`~mlpgradientflow.TrainResult` (``load_julia``, ``save_julia``) and its
  column-major flat parameter and Hessian order (``from_julia_params``, ...).

The bridge sits above :mod:`~mlpgradientflow.training` (it builds results) while
:mod:`.atomic` sits below it (results are saved through it); the bridge's names are
therefore imported on first use.
"""

from __future__ import annotations

from importlib import import_module

from .atomic import atomic_write, umask, write_json, write_text

_BRIDGE = {
    "load_julia": "julia", "save_julia": "julia", "julia_dict": "julia", "net_from_julia": "julia",
    "julia_index": "julia_order", "from_julia_params": "julia_order", "to_julia_params": "julia_order",
    "from_julia_hessian": "julia_order", "to_julia_hessian": "julia_order",
    "TorchFileError": "torchfile", "load_torch": "torchfile", "save_torch_legacy": "torchsave",
}

__all__ = ["atomic_write", "umask", "write_json", "write_text", *_BRIDGE]


def __getattr__(name: str):
    if name in _BRIDGE:
        return getattr(import_module(f".{_BRIDGE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
