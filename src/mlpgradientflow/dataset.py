r"""The samples a network is trained on: inputs, targets, sample weights and the loss kind.

:class:`Dataset` holds validated, contiguous, private copies (exposed read-only): ``input``
(N, Din), ``target`` (N, Dout) for MSE, or integer class labels (N,) / probabilities
(N, Dout) for NLL (a softmax output), and optional non-negative ``weights`` (N,), not all
zero. Its dtype is float32 when the input is float32, float64 otherwise. A subset
(:meth:`Dataset.subset`, for minibatches) is a new Dataset of copied rows: nothing is ever
rewritten in place.

Examples
--------
>>> import numpy as np
>>> from mlpgradientflow.dataset import Dataset
>>> d = Dataset(np.zeros((4, 2)), np.arange(4.0), weights=[1.0, 2.0, 0.0, 1.0])
>>> d.n_samples, d.din, d.dout, d.target.shape
(4, 2, 1, (4, 1))
>>> d.subset([3, 0]).weights.tolist()
[1.0, 1.0]
"""

from __future__ import annotations

from typing import overload

import numpy as np

from ._validation import finite_array

__all__ = ["Dataset"]


@overload
def _readonly(a: np.ndarray) -> np.ndarray: ...
@overload
def _readonly(a: None) -> None: ...
def _readonly(a: np.ndarray | None) -> np.ndarray | None:
    if a is None:
        return None
    v = a.view()
    v.flags.writeable = False
    return v


class Dataset:
    r"""Input, target and sample weights, checked (see the module docstring).

    Parameters
    ----------
    input : array (N, Din)
    target : array, optional
        MSE: (N,) or (N, Dout). NLL: integer labels (N,) or probabilities (N, Dout).
    weights : array (N,), optional
        Non-negative sample weights :math:`w_n` (the loss is :math:`\frac1N\sum_n w_n\ell_n`).
    loss : {"mse", "nll"}
        The loss the target is checked for.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpgradientflow.dataset import Dataset
    >>> d = Dataset(np.zeros((3, 2), dtype=np.float32), [0, 2, 1], loss="nll")
    >>> d.dtype, d.dout, d.target.tolist()                  # labels stay labels
    (dtype('float32'), 3, [0, 2, 1])
    >>> d.input.flags.writeable
    False
    """

    def __init__(self, input, target=None, weights=None, *, loss: str = "mse") -> None:
        if loss not in ("mse", "nll"):
            raise ValueError(f"argument `loss` must be 'mse' or 'nll', got {loss!r}")
        X = finite_array("input", input, ndim=2)
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise ValueError(
                f"argument `input` must have at least one sample (row) and one column, "
                f"got shape {X.shape}"
            )
        dtype = np.dtype(np.float32) if X.dtype == np.float32 else np.dtype(np.float64)
        self.loss, self.dtype = loss, dtype
        self._input = np.ascontiguousarray(X, dtype=dtype).copy()
        self._target = None if target is None else self._check_target(target)
        self._weights = None if weights is None else self._check_weights(weights)

    @classmethod
    def _from_arrays(cls, input, target, weights, loss, dtype) -> Dataset:
        """A dataset of arrays that are already checked (subsets), without copying twice."""
        d = cls.__new__(cls)
        d.loss, d.dtype = loss, dtype
        d._input, d._target, d._weights = input, target, weights  # noqa: SLF001 (own class)
        return d

    def _check_target(self, target) -> np.ndarray:
        N = self._input.shape[0]
        t: np.ndarray
        if self.loss == "nll":
            arr = np.asarray(target)
            if arr.ndim == 1:
                if arr.dtype.kind not in "iu":
                    raise TypeError(
                        "argument `target`: a softmax output needs integer class labels (N,) "
                        f"or probabilities (N, Dout), got a 1-D array of dtype {arr.dtype}"
                    )
                t = finite_array("target", arr, ndim=1).astype(np.intp)
                if t.size and t.min() < 0:
                    raise ValueError(f"argument `target`: class labels must be >= 0, got {t.min()}")
            else:
                t = finite_array("target", arr, ndim=2).astype(self.dtype)
                if (t < 0).any():
                    raise ValueError("argument `target`: probabilities must be non-negative")
        else:
            t = finite_array("target", target, ndim=(1, 2))
            t = np.ascontiguousarray(t.reshape(t.shape[0], -1), dtype=self.dtype).copy()
        if t.shape[0] != N:
            raise ValueError(f"argument `target` has {t.shape[0]} samples but `input` has {N}")
        return np.ascontiguousarray(t)

    def _check_weights(self, weights) -> np.ndarray:
        N = self._input.shape[0]
        w = finite_array("weights", weights, ndim=1)
        if w.shape[0] != N:
            raise ValueError(f"argument `weights` must have shape ({N},), got {w.shape}")
        if (w < 0).any():
            raise ValueError("argument `weights` must be non-negative")
        if not w.any():
            raise ValueError("argument `weights` are all zero: the loss would be 0 everywhere")
        return np.ascontiguousarray(w, dtype=self.dtype).copy()

    # -- what it holds ----------------------------------------------------------------------
    @property
    def input(self) -> np.ndarray:
        """(N, Din), read-only."""
        return _readonly(self._input)

    @property
    def target(self) -> np.ndarray | None:
        """(N, Dout), or labels (N,) for NLL; read-only."""
        return _readonly(self._target)

    @property
    def weights(self) -> np.ndarray | None:
        """(N,) or None; read-only."""
        return _readonly(self._weights)

    @property
    def n_samples(self) -> int:
        """Number of samples N."""
        return self._input.shape[0]

    @property
    def din(self) -> int:
        """Input dimension Din."""
        return self._input.shape[1]

    @property
    def dout(self) -> int | None:
        """Output width the target implies (labels: the largest label + 1); None without a
        target."""
        t = self._target
        if t is None:
            return None
        if t.ndim == 1:
            return int(t.max()) + 1 if t.size else None
        return t.shape[1]

    def arrays(self) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """``(input, target, weights)`` as the engine reads them (contiguous, not to be
        written)."""
        return self._input, self._target, self._weights

    def check_width(self, dout: int) -> None:
        """Raise unless the target fits an output layer of width ``dout``.

        Examples
        --------
        >>> Dataset(np.zeros((3, 1)), np.zeros((3, 2))).check_width(1)
        Traceback (most recent call last):
        ...
        ValueError: argument `target` has 2 columns but the output layer has 1 neurons
        """
        t = self._target
        if t is None:
            return
        if self.loss == "mse" and t.shape[1] != dout:
            raise ValueError(f"argument `target` has {t.shape[1]} columns but the output layer "
                             f"has {dout} neurons")
        if self.loss == "nll" and t.ndim == 1 and t.size and t.max() >= dout:
            raise ValueError(f"argument `target`: class labels must lie in 0..{dout - 1}, "
                             f"got range {t.min()}..{t.max()}")
        if self.loss == "nll" and t.ndim == 2 and t.shape[1] != dout:
            raise ValueError(f"argument `target` has {t.shape[1]} columns but the softmax "
                             f"output has {dout} classes")

    # -- new datasets -------------------------------------------------------------------------
    def subset(self, idx) -> Dataset:
        """The samples ``idx`` (an index array or slice) as a new Dataset (rows copied).

        Examples
        --------
        >>> d = Dataset(np.arange(4.0)[:, None], np.arange(4.0))
        >>> d.subset(slice(1, 3)).input.ravel(), d.subset([3]).target.ravel()
        (array([1., 2.]), array([3.]))
        """
        def take(a):
            return None if a is None else np.ascontiguousarray(a[idx])

        return Dataset._from_arrays(take(self._input), take(self._target), take(self._weights),
                                    self.loss, self.dtype)

    def replace(self, *, input=None, target=None, weights=None) -> Dataset:
        """The same data with some arrays replaced (new input drops the old target and
        weights: they belong to the old samples).

        Examples
        --------
        >>> d = Dataset(np.zeros((2, 1)), [1.0, 2.0], weights=[1.0, 3.0])
        >>> d.replace(target=[5.0, 6.0]).weights, d.replace(input=np.ones((3, 1))).target
        (array([1., 3.]), None)
        """
        if input is None:
            t = self._target if target is None else target
            w = self._weights if weights is None else weights
            return Dataset(self._input, t, w, loss=self.loss)
        return Dataset(input, target, weights, loss=self.loss)

    def __repr__(self) -> str:
        w = "" if self._weights is None else ", weighted"
        return f"Dataset(N={self.n_samples}, Din={self.din}, {self.loss}{w}, {self.dtype})"
