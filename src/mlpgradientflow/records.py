"""Results as small dataclasses that also read as mappings.

Every public function that returns several named values returns a :class:`Record`: a frozen
dataclass with one access style, ``res.key``, that also answers ``res["key"]``, ``keys()``,
``items()``, ``in`` and ``**res`` (the reference returns dicts, and scripts ported from it
index them). Records compare equal to records or mappings with the same keys and values
(arrays compared element by element).

Examples
--------
>>> from mlpgradientflow.landscape import morse_index
>>> m = morse_index([-2.0, 1e-17, 3.0])
>>> m.n_negative, m["n_zero"], dict(m)
(1, 1, {'n_negative': 1, 'n_zero': 1, 'n_positive': 1})
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import fields
from typing import Any

import numpy as np

__all__ = ["Record"]


class Record:
    """Mixin for result dataclasses (declare them ``@dataclass(frozen=True, eq=False)``).

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> from mlpgradientflow.records import Record
    >>> @dataclass(frozen=True, eq=False)
    ... class Fit(Record):
    ...     loss: float
    ...     steps: int
    >>> r = Fit(0.5, 10)
    >>> r["loss"], list(r), r == {"loss": 0.5, "steps": 10}, {**r}
    (0.5, ['loss', 'steps'], True, {'loss': 0.5, 'steps': 10})
    """

    def keys(self) -> list[str]:
        """The field names, in order."""
        return [f.name for f in fields(self)]  # type: ignore[arg-type]  # subclasses are dataclasses

    def __getitem__(self, key: str) -> Any:
        if key not in self.keys():
            raise KeyError(key)
        return getattr(self, key)

    def __contains__(self, key: object) -> bool:
        return key in self.keys()

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def get(self, key: str, default: Any = None) -> Any:
        """The field ``key``, or ``default`` when there is none."""
        return getattr(self, key) if key in self.keys() else default

    def items(self) -> list[tuple[str, Any]]:
        """``(name, value)`` per field."""
        return [(k, getattr(self, k)) for k in self.keys()]

    def values(self) -> list[Any]:
        """The field values, in order."""
        return [getattr(self, k) for k in self.keys()]

    def to_dict(self) -> dict[str, Any]:
        """A plain dict of the fields."""
        return dict(self.items())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record | Mapping):
            return NotImplemented
        a, b = dict(self.items()), dict(other.items())
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)

    __hash__ = None  # type: ignore[assignment]  # the idiom for "unhashable"


def _same(x: Any, y: Any) -> bool:
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        return bool(np.array_equal(np.asarray(x), np.asarray(y)))
    return bool(x == y)
