r"""torch's file formats without torch: a restricted reader (legacy and zip) and a legacy writer.

A torch file is a pickle whose tensors refer to raw *storages*:

* **legacy** (``torch.save(..., _use_new_zipfile_serialization=False)``, and what
  MLPGradientFlow.jl's ``pickle`` writes through Pickle.jl's ``THsave``): five pickles in a
  row (the magic number, the protocol version 1001, a system-info dict, the object, the list
  of storage keys), then for every listed key an int64 element count and the raw bytes;
* **zip** (``torch.save`` by default): ``<name>/data.pkl`` and one record
  ``<name>/data/<key>`` of raw bytes per storage, plus ``<name>/byteorder``.

A tensor is the record ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
requires_grad, hooks)``: element :math:`(i_1, \dots, i_d)` is storage element
:math:`\text{offset} + \sum_k i_k\,\text{stride}_k`, so column-major (Fortran) tensors,
views with offsets and tensors sharing one storage all come out right.

:func:`load_torch` unpickles with a :class:`pickle.Unpickler` whose ``find_class`` knows
only the tensor records, four storage types (float64, float32, int64, bool) and
``collections.OrderedDict``: any other global (``os.system``, ``builtins.eval``, a torch
module) is refused before it is looked up, so reading a file never runs its code. Tensors
become NumPy arrays (C-contiguous copies); everything else must be plain data (numbers,
strings, None, lists, tuples, dicts). Whatever does not fit (an unknown class, a storage
shorter than its tensors, a truncated file, a zip without its records) raises
:class:`TorchFileError` naming the file and the problem.

:func:`~.torchsave.save_torch_legacy` writes the legacy format exactly as ``THsave`` does (protocol 2,
arrays as column-major tensors, ``OrderedDict`` with its ``_metadata``), so that both
``torch.load`` (with ``weights_only=True`` too) and the reference's ``unpickle`` read it.
"""

from __future__ import annotations

import io
import os
import pickle
import struct
import zipfile
from collections import OrderedDict
from typing import Any, Literal

import numpy as np

__all__ = ["TorchFileError", "load_torch"]

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001
#: torch's storage classes that a file may name, and their element types (little-endian)
STORAGE_DTYPES = {"DoubleStorage": "f8", "FloatStorage": "f4", "LongStorage": "i8",
                  "BoolStorage": "b1"}
MAX_DEPTH = 64


class TorchFileError(ValueError):
    """A file that is not a torch file this reader accepts (the message says why).

    Raised by :func:`load_torch` and :func:`~mlpgradientflow.io.load_julia`; a
    ``ValueError``.

    Examples
    --------
    >>> import os, tempfile
    >>> from mlpgradientflow.io import TorchFileError, load_torch
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = os.path.join(d, "notes.txt")
    ...     _ = open(path, "w").write("not a torch file")
    ...     try:
    ...         load_torch(path)
    ...     except TorchFileError as err:
    ...         print(str(err).split(": ", 1)[1])
    not a readable torch file (UnpicklingError: invalid load key, 'n'.)
    """


# -- reading -------------------------------------------------------------------------------------
class _Record:
    """Base of the reader's placeholders: a pickle may not BUILD on them or hash them."""

    __slots__ = ()
    __hash__ = None  # type: ignore[assignment]  # the idiom for "unhashable"

    def __setstate__(self, state) -> None:
        raise TorchFileError(f"the pickle sets state on a {type(self).__name__.strip('_')}")


class _StorageType(_Record):
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


class _Storage(_Record):
    __slots__ = ("key", "dtype", "numel", "data")

    def __init__(self, key: str, dtype: str, numel: int) -> None:
        self.key, self.dtype, self.numel = key, dtype, numel
        self.data: np.ndarray | None = None


class _Tensor(_Record):
    __slots__ = ("storage", "offset", "size", "stride")

    def __init__(self, storage, offset, size, stride) -> None:
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride


def _ints(name: str, x) -> tuple[int, ...]:
    if not isinstance(x, tuple) or not all(type(i) is int and i >= 0 for i in x):
        raise TorchFileError(f"a tensor's {name} must be a tuple of non-negative ints, got {x!r}")
    return x


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False, hooks=None,
                       metadata=None) -> _Tensor:
    """The tensor record, checked (its data arrives later in a legacy file)."""
    if not isinstance(storage, _Storage):
        raise TorchFileError(f"a tensor's storage must be a storage record, got {type(storage).__name__}")
    if type(offset) is not int or offset < 0:
        raise TorchFileError(f"a tensor's storage offset must be a non-negative int, got {offset!r}")
    size, stride = _ints("size", size), _ints("stride", stride)
    if len(size) != len(stride):
        raise TorchFileError(f"a tensor's size {size} and stride {stride} differ in length")
    if not isinstance(requires_grad, bool) or hooks not in (None, {}) or metadata not in (None, {}):
        raise TorchFileError("a tensor record with gradient hooks or metadata is not plain data")
    return _Tensor(storage, offset, size, stride)


def _rebuild_tensor(storage, offset, size, stride) -> _Tensor:
    return _rebuild_tensor_v2(storage, offset, size, stride)


_GLOBALS: dict[tuple[str, str], Any] = {
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("collections", "OrderedDict"): OrderedDict,
    **{("torch", name): _StorageType(name) for name in STORAGE_DTYPES},
}


class _Unpickler(pickle.Unpickler):
    """Globals from :data:`_GLOBALS` only; persistent ids must be storage records."""

    def __init__(self, file, storages: dict[str, _Storage] | None, fetch=None) -> None:
        super().__init__(file)
        self.storages, self.fetch = storages, fetch

    def find_class(self, module: str, name: str):
        try:
            return _GLOBALS[(module, name)]
        except (KeyError, TypeError):
            what = "a storage type other than float64, float32, int64 and bool" if (
                module == "torch" and "Storage" in str(name)) else "not a tensor record"
            raise TorchFileError(f"refusing to load the global {module}.{name} ({what})") from None

    def persistent_load(self, pid):
        if self.storages is None:
            raise TorchFileError("a persistent id outside the object pickle")
        if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] in ("storage", b"storage")):
            raise TorchFileError(f"a persistent id that is not a storage record: {pid!r}")
        kind, key, location, numel = pid[1:5]
        if not isinstance(kind, _StorageType) or not isinstance(key, str) or not isinstance(
                location, str | bytes) or type(numel) is not int or numel < 0:
            raise TorchFileError(f"a malformed storage record: {pid!r}")
        if len(pid) == 6 and pid[5] is not None:
            raise TorchFileError(f"storage {key!r} is a view of another storage (not supported)")
        dtype = STORAGE_DTYPES[kind.name]
        st = self.storages.get(key)
        if st is None:
            st = self.storages[key] = _Storage(key, dtype, numel)
            if self.fetch is not None:
                self.fetch(st)
        elif (st.dtype, st.numel) != (dtype, numel):
            raise TorchFileError(f"storage {key!r} is declared twice with different types or sizes")
        return st


def _unpickle(f, storages=None, fetch=None):
    return _Unpickler(f, storages, fetch).load()


def _set_data(st: _Storage, raw, byteorder: Literal["<", ">"]) -> None:
    """Attach the raw bytes of a storage, checking their size (and bools being 0 or 1)."""
    itemsize = np.dtype(st.dtype).itemsize
    if len(raw) != st.numel * itemsize:
        raise TorchFileError(f"storage {st.key!r}: {len(raw)} bytes for {st.numel} elements of "
                             f"{itemsize} bytes (storage size mismatch or truncated data)")
    if st.dtype == "b1" and np.frombuffer(raw, np.uint8).max(initial=0) > 1:
        raise TorchFileError(f"storage {st.key!r}: a bool storage holds bytes other than 0 and 1")
    st.data = np.frombuffer(raw, np.dtype(st.dtype).newbyteorder(byteorder))


def _load_legacy(f: io.BytesIO) -> Any:
    if _unpickle(f) != MAGIC_NUMBER:
        raise TorchFileError("not a torch file (no zip archive, no torch magic number)")
    if (version := _unpickle(f)) != PROTOCOL_VERSION:
        raise TorchFileError(f"torch legacy protocol {version!r}, expected {PROTOCOL_VERSION}")
    info = _unpickle(f)
    byteorder: Literal["<", ">"] = (
        "<" if not isinstance(info, dict) or info.get("little_endian", True) else ">")
    storages: dict[str, _Storage] = {}
    obj = _unpickle(f, storages)
    keys = _unpickle(f)
    if not isinstance(keys, list) or sorted(map(str, keys)) != sorted(storages):
        raise TorchFileError(f"the storage list {keys!r} does not match the storages the "
                             f"tensors use {sorted(storages)}")
    for key in keys:
        st = storages[key]
        head = f.read(8)
        if len(head) < 8:
            raise TorchFileError(f"storage {key!r}: the file ends before its data (truncated)")
        (count,) = struct.unpack("<q" if byteorder == "<" else ">q", head)
        if count != st.numel:
            raise TorchFileError(f"storage {key!r}: the file holds {count} elements, the "
                                 f"tensors declare {st.numel} (storage size mismatch)")
        _set_data(st, f.read(count * np.dtype(st.dtype).itemsize), byteorder)
    return obj


def _load_zip(f: io.BytesIO) -> Any:
    with zipfile.ZipFile(f) as z:
        names = z.namelist()
        pkl = [n for n in names if n.count("/") == 1 and n.endswith("/data.pkl")]
        if len(pkl) != 1:
            raise TorchFileError(f"a zip without exactly one '<name>/data.pkl' record (found {pkl})")
        prefix = pkl[0][: -len("data.pkl")]
        order = z.read(prefix + "byteorder").decode() if prefix + "byteorder" in names else "little"
        if order not in ("little", "big"):
            raise TorchFileError(f"unknown byte order {order!r}")

        def fetch(st: _Storage) -> None:
            name = f"{prefix}data/{st.key}"
            if name not in names:
                raise TorchFileError(f"the zip has no record {name!r} for storage {st.key!r}")
            with z.open(name) as rec:  # read no more than declared: a zip bomb stops here
                raw = rec.read(st.numel * np.dtype(st.dtype).itemsize + 1)
            _set_data(st, raw, "<" if order == "little" else ">")

        return _unpickle(io.BytesIO(z.read(pkl[0])), {}, fetch)


def _array(t: _Tensor) -> np.ndarray:
    st = t.storage
    if st.data is None:
        raise TorchFileError(f"storage {st.key!r} has no data")
    if 0 in t.size:
        return np.zeros(t.size, st.data.dtype.newbyteorder("="))
    last = t.offset + sum((n - 1) * s for n, s in zip(t.size, t.stride))
    if last >= st.numel:
        raise TorchFileError(f"a tensor of size {t.size}, stride {t.stride} and offset "
                             f"{t.offset} reaches past its storage {st.key!r} of {st.numel} "
                             "elements (storage size mismatch)")
    item = st.data.itemsize
    view = np.lib.stride_tricks.as_strided(st.data[t.offset:], t.size,
                                           tuple(s * item for s in t.stride), writeable=False)
    return np.array(view, dtype=st.data.dtype.newbyteorder("="), order="C")  # owned, writeable


def _resolve(obj, depth: int = 0):
    """Tensors to arrays, containers rebuilt; anything else than plain data is refused."""
    if depth > MAX_DEPTH:
        raise TorchFileError(f"containers nested deeper than {MAX_DEPTH} levels (or a cycle)")
    if isinstance(obj, _Tensor):
        return _array(obj)
    if obj is None or type(obj) in (bool, int, float, str, bytes):
        return obj
    if type(obj) in (dict, OrderedDict):
        return type(obj)((_resolve(k, depth + 1), _resolve(v, depth + 1)) for k, v in obj.items())
    if type(obj) in (list, tuple):
        return type(obj)(_resolve(v, depth + 1) for v in obj)
    raise TorchFileError(f"an object of type {type(obj).__name__} is not plain data")


_BROKEN = (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
           KeyError, struct.error, OverflowError, RecursionError, MemoryError, zipfile.BadZipFile)


def load_torch(path: str | os.PathLike) -> Any:
    """Read a torch file (legacy or zip) safely: tensors as NumPy arrays, nothing executed.

    Parameters
    ----------
    path : path
        A file written by ``torch.save`` (either format) or by Pickle.jl's ``THsave``.

    Returns
    -------
    object
        The saved object with every tensor as a C-contiguous NumPy array of its logical
        shape (float64, float32, int64 or bool); dicts, ``OrderedDict`` s, lists, tuples,
        numbers and strings as they were.

    Raises
    ------
    TorchFileError
        Another global than the tensor records (the file is refused before the name is
        looked up), other storage types, storages too short for their tensors, truncated
        data, a zip without its records.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from mlpgradientflow.io import save_torch_legacy
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = os.path.join(d, "a.pt")
    ...     _ = save_torch_legacy(path, {"w1": np.arange(6.0).reshape(2, 3)})
    ...     load_torch(path)["w1"]
    array([[0., 1., 2.],
           [3., 4., 5.]])
    """
    try:
        with open(path, "rb") as fh:
            f = io.BytesIO(fh.read())
    except OSError as err:
        raise TorchFileError(f"{os.fspath(path)}: cannot be read ({err})") from err
    try:
        is_zip = zipfile.is_zipfile(f)
        f.seek(0)
        obj = _load_zip(f) if is_zip else _load_legacy(f)
        return _resolve(obj)
    except TorchFileError as err:
        raise TorchFileError(f"{os.fspath(path)}: {err}") from None
    except _BROKEN as err:
        raise TorchFileError(f"{os.fspath(path)}: not a readable torch file "
                             f"({type(err).__name__}: {err})") from err
