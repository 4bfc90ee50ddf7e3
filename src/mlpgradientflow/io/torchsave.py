"""torch's legacy file format written without torch, as Pickle.jl's ``THsave`` writes it.

See :mod:`.torchfile` for the format. The object pickle uses protocol 2 with no memo;
arrays become tensors (``torch._utils._rebuild_tensor_v2`` with six arguments and a
six-field storage record, both of which the reference's ``THload`` expects) whose data
follows the pickles in the order of the storage list.
"""

from __future__ import annotations

import os
import pickle
import struct
from collections import OrderedDict

import numpy as np

from .atomic import atomic_write
from .torchfile import MAGIC_NUMBER, MAX_DEPTH, PROTOCOL_VERSION

__all__ = ["save_torch_legacy"]

_TENSOR = pickle.GLOBAL + b"torch._utils\n_rebuild_tensor_v2\n"
_ORDERED_DICT = pickle.GLOBAL + b"collections\nOrderedDict\n"
#: NumPy kinds and the storage (and little-endian element type) each is written as
_WRITE_AS = {"f8": ("DoubleStorage", "<f8"), "f4": ("FloatStorage", "<f4"),
             "i": ("LongStorage", "<i8"), "u": ("LongStorage", "<i8"), "b": ("BoolStorage", "|b1")}


class _Emitter:
    """Pickle protocol 2 as Pickle.jl's ``THsave`` writes it; arrays become column-major
    tensors whose element count and data are collected in :attr:`storages` (key ``str(i)``
    for entry ``i``)."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.storages: list[tuple[int, bytes]] = []

    def dump(self, obj) -> bytes:
        self.buf = bytearray(pickle.PROTO + b"\x02")
        self._save(obj, 0)
        self.buf += pickle.STOP
        return bytes(self.buf)

    def _save(self, obj, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise ValueError(f"containers nested deeper than {MAX_DEPTH} levels (or a cycle)")
        b = self.buf
        if isinstance(obj, np.ndarray) and obj.ndim == 0:
            obj = obj.item()
        if obj is None:
            b += pickle.NONE
        elif isinstance(obj, bool | np.bool_):
            b += pickle.NEWTRUE if obj else pickle.NEWFALSE
        elif isinstance(obj, int | np.integer):
            self._int(int(obj))
        elif isinstance(obj, float | np.floating):
            b += pickle.BINFLOAT + struct.pack(">d", float(obj))
        elif isinstance(obj, str):
            data = obj.encode("utf-8", "surrogatepass")
            b += pickle.BINUNICODE + struct.pack("<I", len(data)) + data
        elif isinstance(obj, np.ndarray):
            self._tensor(obj)
        elif isinstance(obj, OrderedDict):  # as THsave: with the `_metadata` of a state dict
            b += _ORDERED_DICT + pickle.EMPTY_TUPLE + pickle.REDUCE + pickle.MARK
            self._items(obj, depth)
            b += pickle.SETITEMS
            self._save({"_metadata": {"version": 1}}, depth + 1)
            b += pickle.BUILD
        elif isinstance(obj, dict):
            b += pickle.EMPTY_DICT
            if obj:
                b += pickle.MARK
                self._items(obj, depth)
                b += pickle.SETITEMS
        elif isinstance(obj, list | tuple):
            if isinstance(obj, list):
                b += pickle.EMPTY_LIST
            if obj:
                b += pickle.MARK
                for v in obj:
                    self._save(v, depth + 1)
            b += (pickle.APPENDS if obj else b"") if isinstance(obj, list) else (
                pickle.TUPLE if obj else pickle.EMPTY_TUPLE)
        else:
            raise ValueError(f"cannot write an object of type {type(obj).__name__} to a torch "
                             "file (arrays, numbers, strings, None, lists, tuples, dicts only)")

    def _items(self, d: dict, depth: int) -> None:
        for k, v in d.items():
            self._save(k, depth + 1)
            self._save(v, depth + 1)

    def _int(self, x: int) -> None:
        if 0 <= x <= 0xFF:
            self.buf += pickle.BININT1 + bytes([x])
        elif 0 <= x <= 0xFFFF:
            self.buf += pickle.BININT2 + struct.pack("<H", x)
        elif -(2**31) <= x < 2**31:
            self.buf += pickle.BININT + struct.pack("<i", x)
        else:
            data = x.to_bytes((x.bit_length() + 8) // 8, "little", signed=True)
            self.buf += pickle.LONG1 + bytes([len(data)]) + data

    def _tensor(self, a: np.ndarray) -> None:
        code = a.dtype.kind + (str(a.dtype.itemsize) if a.dtype.kind == "f" else "")
        if code not in _WRITE_AS:
            raise ValueError(f"cannot write an array of dtype {a.dtype} (float64, float32, "
                             "integers or bool)")
        storage, dtype = _WRITE_AS[code]
        if a.dtype.kind == "u" and a.size and a.max() >= 2**63:
            raise ValueError("cannot write unsigned integers >= 2**63 as int64")
        key = str(len(self.storages))
        self.storages.append((a.size, np.asarray(a, dtype).tobytes(order="F")))
        stride, acc = [], 1
        for n in a.shape:  # column-major, as Julia stores arrays
            stride.append(acc)
            acc *= n
        self.buf += _TENSOR + pickle.MARK + pickle.MARK
        self._save("storage", 0)
        self.buf += pickle.GLOBAL + f"torch\n{storage}\n".encode()
        for field in (key, "cpu", a.size, None):  # the storage record, as THsave: six fields
            self._save(field, 0)
        self.buf += pickle.TUPLE + pickle.BINPERSID
        for arg in (0, tuple(a.shape), tuple(stride), False):  # offset, size, stride, grad
            self._save(arg, 0)
        self.buf += _ORDERED_DICT + pickle.EMPTY_TUPLE + pickle.REDUCE + pickle.TUPLE + pickle.REDUCE


def save_torch_legacy(path: str | os.PathLike, obj) -> os.PathLike:
    """Write ``obj`` in torch's legacy format, as Pickle.jl's ``THsave`` does, atomically.

    Arrays (float64, float32, integers as int64, bool) become tensors of the same logical
    shape with column-major strides (``(1, k)`` for a ``(k, m)`` matrix); 0-d arrays and
    NumPy scalars become Python numbers; ``OrderedDict`` s stay ordered. Both ``torch.load``
    (also with ``weights_only=True``) and ``Pickle.Torch.THload`` read the file.

    Parameters
    ----------
    path : path
    obj : dict, list, tuple, array, number, str or None, nested

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from mlpgradientflow.io import load_torch
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = save_torch_legacy(os.path.join(d, "a.pt"), {"t": np.array([True, False])})
    ...     load_torch(path)
    {'t': array([ True, False])}
    """
    em = _Emitter()
    body = em.dump(obj)
    info = {"protocol_version": PROTOCOL_VERSION, "little_endian": True,
            "type_sizes": {"short": 2, "int": 4, "long": 4}}
    parts = [em.dump(MAGIC_NUMBER), em.dump(PROTOCOL_VERSION), em.dump(info), body,
             em.dump([str(i) for i in range(len(em.storages))])]
    for numel, data in em.storages:  # each storage: its int64 element count, its bytes
        parts += [struct.pack("<q", numel), data]
    return atomic_write(path, lambda f: f.writelines(parts))
