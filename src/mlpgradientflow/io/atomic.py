"""Files written atomically: to a temporary file in the target folder, then renamed, so
an interrupted run never leaves a half-written file behind. The file gets the permissions
of any other file the user creates (``0o666`` less the umask), not the ``0o600`` of a
temporary file."""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_write", "umask", "write_json", "write_text"]


_UMASK_LOCK = threading.Lock()


def umask() -> int:
    """The process's umask (read without changing it where the system allows).

    Returns
    -------
    int
        The umask bits, e.g. ``0o022``; new files get mode ``0o666 & ~umask()``.

    Examples
    --------
    >>> import os
    >>> from mlpgradientflow.io import umask
    >>> old = os.umask(0o027)
    >>> oct(umask())
    '0o27'
    >>> _ = os.umask(old)
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    with _UMASK_LOCK:  # elsewhere: set and restore (a brief window for other threads)
        old = os.umask(0o022)
        os.umask(old)
    return old


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], Any]) -> Path:
    """Call ``write(f)`` on a temporary binary file next to ``path``, then rename it
    (mode ``0o666`` less the umask).

    Parameters
    ----------
    path : str or PathLike
        The file to write; missing parent folders are made.
    write : callable
        ``write(f)`` writes the content to the open binary file ``f``.

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import os, stat, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = atomic_write(os.path.join(d, "x.txt"), lambda f: f.write(b"hi"))
    ...     stat.S_IMODE(p.stat().st_mode) == 0o666 & ~umask(), p.read_bytes()
    (True, b'hi')
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (:func:`atomic_write`).

    Parameters
    ----------
    path : str or PathLike
        The file.
    text : str
        Its content.

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import os, tempfile
    >>> from mlpgradientflow.io import write_text
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = write_text(os.path.join(d, "a", "note.txt"), "héllo")
    ...     p.read_text(encoding="utf-8"), p.stat().st_size       # é is 2 bytes in UTF-8
    ('héllo', 6)
    """
    return atomic_write(path, lambda f: f.write(text.encode()))


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically (:func:`atomic_write`).

    Parameters
    ----------
    path : str or PathLike
        The file.
    obj : JSON-serialisable object
        Dicts keep their key order.

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import json, os, tempfile
    >>> from mlpgradientflow.io import write_json
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = write_json(os.path.join(d, "run.json"), {"seed": 1, "loss": [0.5, 0.25]})
    ...     json.loads(p.read_text())
    {'seed': 1, 'loss': [0.5, 0.25]}
    """
    return write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")
