r"""Inputs and targets of the group's experiments: input distributions, the modified
Rosenbrock function, random Expand-and-Cluster teachers and Gaussian-process targets.

Inputs are ``(n, d)`` float64 arrays, samples in rows; a request for more than
:data:`MAX_VALUES` (1e9) numbers, 8 GB, raises ValueError before allocating. Uniform
inputs live on the cube
:math:`[-\sqrt3, \sqrt3]^d`, whose coordinates have zero mean and unit variance, like
standard normal inputs. Every random generator takes ``rng``: None (fresh entropy), an
int seed or a ``numpy.random.Generator``; a seed gives the same numbers on every
platform.

Examples
--------
>>> import mlpgradientflow.data as data
>>> X = data.uniform(1000, 2, rng=0)
>>> y = data.rosenbrock(X)
>>> X.shape, y.shape, round(float(y.mean()), 12) + 0.0, round(float(y.std(ddof=1)), 12)
((1000, 2), (1000, 1), 0.0, 1.0)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import scipy.linalg
import scipy.special
from scipy.spatial.distance import pdist, squareform

from ._validation import MAX_VALUES, as_int, as_real, as_rng, check_size, finite_array
from .activations import get_activation
from .net import TeacherNet, params

__all__ = [
    "MAX_VALUES",
    "SQRT3",
    "normal",
    "uniform",
    "grid",
    "sobol",
    "sphere",
    "rosenbrock",
    "ec_teacher",
    "gp_teacher",
]

#: Half-width of the unit-variance uniform cube :math:`[-\sqrt3, \sqrt3]^d`.
SQRT3 = math.sqrt(3.0)


def _count(name: str, n) -> int:
    return as_int(name, n, 1)


def _shape(fn: str, n, d) -> tuple[int, int]:
    """Checked ``(n, d)`` of an ``(n, d)`` array that ``fn`` allocates."""
    n, d = _count("n", n), _count("d", d)
    check_size(f"{fn}({n}, {d})", n * d)
    return n, d


def normal(n: int, d: int, rng=None) -> np.ndarray:
    r"""Standard normal inputs :math:`x \sim \mathcal N(0, I_d)`, shape ``(n, d)``.

    Parameters
    ----------
    n, d : int
        Number of samples and input dimension.
    rng : None, int or Generator, optional
        Fresh entropy, a seed, or a generator.

    Returns
    -------
    ndarray, shape (n, d)
        Samples in rows.

    Examples
    --------
    >>> X = normal(1000, 2, rng=0)
    >>> X.shape, bool(abs(X.mean(axis=0)).max() < 0.1), bool(abs(X.std(axis=0) - 1).max() < 0.1)
    ((1000, 2), True, True)
    """
    n, d = _shape("normal", n, d)
    return as_rng(rng).standard_normal((n, d))


def uniform(n: int, d: int, rng=None) -> np.ndarray:
    r"""Uniform inputs on :math:`[-\sqrt3, \sqrt3]^d` (zero mean, unit variance), ``(n, d)``.

    :math:`x_i \sim U[-\sqrt3, \sqrt3]` independently, so :math:`E x_i = 0`,
    :math:`E x_i^2 = 1`.

    Parameters
    ----------
    n, d : int
        Number of samples and input dimension.
    rng : None, int or Generator, optional
        Fresh entropy, a seed, or a generator.

    Returns
    -------
    ndarray, shape (n, d)
        Samples in rows.

    Examples
    --------
    >>> bool(abs(uniform(5, 3, rng=1)).max() <= SQRT3)
    True
    """
    n, d = _shape("uniform", n, d)
    return as_rng(rng).uniform(-SQRT3, SQRT3, (n, d))


def grid(n_per_dim: int, d: int, low: float = -SQRT3, high: float = SQRT3) -> np.ndarray:
    r"""The regular grid with ``n_per_dim`` equally spaced values per axis, endpoints
    included: shape ``(n_per_dim**d, d)``.

    The first coordinate varies fastest, as in the reference's ``Iterators.product``;
    ``grid(101, 2)`` is the :math:`101 \times 101` grid on :math:`[-\sqrt3, \sqrt3]^2`
    of the flat-channel paper's Figure 2. Grids beyond :data:`MAX_VALUES` numbers
    (``n_per_dim**d * d``; 8 GB) raise ValueError instead of exhausting the memory.

    Parameters
    ----------
    n_per_dim : int
        Number of values per axis.
    d : int
        Input dimension.
    low, high : float, optional
        The axis range (default :math:`\pm\sqrt3`), ``low < high``.

    Returns
    -------
    ndarray, shape (n_per_dim**d, d)
        The grid points in rows.

    Examples
    --------
    >>> grid(3, 2, low=-1.0, high=1.0)[:4]
    array([[-1., -1.],
           [ 0., -1.],
           [ 1., -1.],
           [-1.,  0.]])
    """
    n_per_dim, d = _count("n_per_dim", n_per_dim), _count("d", d)
    low, high = as_real("low", low), as_real("high", high)
    if not low < high:
        raise ValueError(f"arguments `low` < `high` must be finite, got low={low}, high={high}")
    points = n_per_dim**d
    check_size(f"grid({n_per_dim}, {d}) with {float(points):.3g} points", points * d)
    axis = np.linspace(low, high, n_per_dim)
    mesh = np.meshgrid(*([axis] * d), indexing="ij")
    return np.stack([m.ravel(order="F") for m in mesh], axis=1)


def sobol(
    n: int, d: int, rng=None, *, scramble: bool = True, distribution: str = "uniform"
) -> np.ndarray:
    r"""The first ``n`` points of a Sobol sequence (``scipy.stats.qmc.Sobol``), ``(n, d)``.

    The points :math:`u \in [0, 1)^d` are mapped to ``distribution``:

    - ``"uniform"``: :math:`x = \sqrt3\,(2u - 1)`, the cube :math:`[-\sqrt3, \sqrt3]^d`
      (the reference's ``quasimontecarlo_input``);
    - ``"normal"``: :math:`x = \Phi^{-1}(u + 2^{-31})`, quasi-random standard normal
      inputs. The half-cell shift (Sobol points are multiples of :math:`2^{-30}`) keeps
      every point finite; unscrambled sequences start at :math:`u = 0` exactly and are
      refused for this mapping.

    ``rng`` seeds the Owen scrambling (ignored when ``scramble=False``). Use a power of
    two for ``n``: only then is every dyadic box equally filled (scipy warns otherwise).

    Parameters
    ----------
    n, d : int
        Number of points and dimension (d <= 21201).
    rng : None, int or Generator, optional
        Seeds the scrambling.
    scramble : bool, optional
        Owen scrambling (default True).
    distribution : {"uniform", "normal"}, optional
        The target distribution (see above).

    Returns
    -------
    ndarray, shape (n, d)
        The points in rows.

    Examples
    --------
    >>> sobol(4, 2, scramble=False)
    array([[-1.73205081, -1.73205081],
           [ 0.        ,  0.        ],
           [ 0.8660254 , -0.8660254 ],
           [-0.8660254 ,  0.8660254 ]])
    """
    n, d = _shape("sobol", n, d)
    if d > 21201:
        raise ValueError(f"argument `d`: Sobol sequences exist up to d = 21201, got {d}")
    if distribution not in ("uniform", "normal"):
        raise ValueError(
            f"argument `distribution` must be 'uniform' or 'normal', got {distribution!r}"
        )
    if distribution == "normal" and not scramble:
        raise ValueError(
            "argument `scramble`=False with distribution='normal': the unscrambled sequence "
            "starts at u = 0, which the normal inverse CDF maps to -inf"
        )
    # `seed=` (not `rng=`) keeps scipy < 1.15 working; both accept a Generator
    from scipy.stats import qmc  # here: scipy.stats costs 0.5 s of `import mlpgradientflow`

    u = qmc.Sobol(d, scramble=scramble, seed=as_rng(rng)).random(n)
    if distribution == "uniform":
        return SQRT3 * (2.0 * u - 1.0)
    return scipy.special.ndtri(u + 2.0**-31)


def sphere(n: int, d: int, rng=None) -> np.ndarray:
    r"""Points uniform on the unit sphere :math:`S^{d-1} \subset \mathbb R^d`, ``(n, d)``:
    normalised standard normal vectors, :math:`x = z/\|z\|` with :math:`z \sim \mathcal N(0, I_d)`.

    Parameters
    ----------
    n, d : int
        Number of points and dimension.
    rng : None, int or Generator, optional
        Fresh entropy, a seed, or a generator.

    Returns
    -------
    ndarray, shape (n, d)
        Unit vectors in rows.

    Examples
    --------
    >>> import numpy as np
    >>> bool(np.allclose(np.linalg.norm(sphere(4, 3, rng=0), axis=1), 1.0))
    True
    """
    X = normal(*_shape("sphere", n, d), rng)
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def rosenbrock(
    X,
    *,
    a: float = 1.0,
    b: float = 3.0,
    c: float = 1.0,
    offset: float = 0.1,
    dims: int | None = None,
    zscore: bool = True,
) -> np.ndarray:
    r"""The modified Rosenbrock target of the flat-channel paper, shape ``(N, 1)``.

    .. math::

        y(x) = \log_{10}\Bigl(\sum_{i=1}^{m-1} \bigl[b\,(x_{i+1} + c - x_i^2)^2
        + (a - x_i)^2\bigr] + \mathrm{offset}\Bigr),

    then z-scored over the sample, :math:`(y - \bar y)/s_y` with the corrected sample
    standard deviation (``ddof=1``, as Julia's ``std`` used by the paper's code).
    ``c=0`` gives the "unshifted" variant.

    Parameters
    ----------
    X : array, shape (N, d)
        Inputs, d >= 2.
    a, b, c, offset : float
        Defaults a=1, b=3, c=1, offset=0.1 (the paper's).
    dims : int, optional
        Number m of leading coordinates in the sum; default all d. The paper's code
        (``Rosenbrock(c=1.)`` in ``funs_teachers.jl``) leaves its ``Din`` at 2 for every
        input dimension, so its targets use only :math:`x_1, x_2`: ``dims=2`` reproduces
        that for d > 2.
    zscore : bool
        Standardise over the sample (default True).

    Returns
    -------
    ndarray, shape (N, 1)
        The targets.

    Examples
    --------
    >>> import numpy as np
    >>> rosenbrock(np.array([[1.0, 0.0]]), zscore=False)  # log10(0 + 0.1)
    array([[-1.]])
    """
    X = finite_array("X", X, ndim=2, dtype=np.float64)
    m = X.shape[1] if dims is None else dims
    if isinstance(m, bool) or not isinstance(m, int | np.integer) or not 2 <= m <= X.shape[1]:
        raise ValueError(
            f"argument `dims` must be an integer in 2..{X.shape[1]} (the columns of `X`; the "
            f"sum runs over consecutive coordinate pairs), got {m!r}"
        )
    a, b, c, offset = (as_real(k, v) for k, v in (("a", a), ("b", b), ("c", c),
                                                  ("offset", offset)))
    x = X[:, :m]
    s = (b * (x[:, 1:] + c - x[:, :-1] ** 2) ** 2 + (a - x[:, :-1]) ** 2).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.log10(s + offset)
    if not np.isfinite(y).all():
        n = int(np.flatnonzero(~np.isfinite(y))[0])
        raise ValueError(
            f"argument `offset`={offset}: the sum plus offset is {s[n] + offset:g} <= 0 at "
            f"sample {n}, whose log10 is not finite (use offset > 0 with b >= 0)"
        )
    if zscore:
        if y.shape[0] < 2 or not y.std() > 0:
            raise ValueError("argument `X`: z-scoring needs at least two distinct target values")
        y = (y - y.mean()) / y.std(ddof=1)
    return y[:, None]


def _ec_layer(rng: np.random.Generator, fan_in: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    direction = rng.standard_normal((width, fan_in))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    norms = rng.uniform(1.5, 2.5, width)
    return direction * norms[:, None], rng.uniform(-norms, norms)


def ec_teacher(
    din: int,
    hidden: Sequence[int] = (3, 3),
    activation="g",
    *,
    dout: int = 1,
    rng=None,
) -> TeacherNet:
    r"""A random teacher of the Expand-and-Cluster recipe (``random_teacher_generation.py``).

    Every neuron, in every layer including the output, gets an incoming vector with a
    uniformly random direction and a norm :math:`\|w\| \sim U[1.5, 2.5]`, and a bias
    :math:`b \sim U[-\|w\|, \|w\|]`, so that its hyperplane :math:`w^\top x + b = 0`
    passes within distance 1 of the origin, i.e. through the data region. There are no
    rejection rules. Hidden layers use ``activation``, the output is identity with bias.
    The E&C configurations: ``din`` in {2, 8}, ``hidden`` (3, 3) or (3, 3, 3),
    activation ``g``, inputs :func:`uniform`.

    Parameters
    ----------
    din : int
        Input dimension.
    hidden : sequence of int
        Hidden widths (default (3, 3)).
    activation : str or Activation
        Hidden activation (default ``"g"`` = sigmoid(4x) + softplus(x)).
    dout : int
        Output width (default 1, as E&C).
    rng : None, int or Generator

    Returns
    -------
    TeacherNet
        The teacher, layers ``[*hidden, dout]``; call it on inputs (N, din) for targets
        (N, dout).

    Examples
    --------
    >>> t = ec_teacher(2, (3, 3), rng=0)
    >>> [lay.width for lay in t.layers], t(uniform(5, 2, rng=1)).shape
    ([3, 3, 1], (5, 1))
    """
    din, dout = _count("din", din), _count("dout", dout)
    if isinstance(hidden, int | np.integer) or not isinstance(hidden, Sequence):
        raise TypeError(f"argument `hidden` must be a sequence of widths, got {hidden!r}")
    widths = [_count(f"hidden[{i}]", k) for i, k in enumerate(hidden)] + [dout]
    if get_activation(activation, "activation").name == "softmax":
        raise ValueError("argument `activation`: softmax is allowed in the output layer only")
    g = as_rng(rng)
    fan_ins = [din, *widths[:-1]]
    p = params(*(_ec_layer(g, f, k) for f, k in zip(fan_ins, widths)))
    layers = [(k, activation, True) for k in widths[:-1]] + [(dout, "identity", True)]
    return TeacherNet(layers, din=din, params=p)


def _matern32(X: np.ndarray, length_scale: float, jitter: float) -> np.ndarray:
    """The jittered kernel matrix K + jitter I, built in place (it is N x N)."""
    r = squareform(pdist(X))
    r *= SQRT3 / length_scale
    K = np.exp(-r)
    r += 1.0
    K *= r
    K.flat[:: len(K) + 1] += jitter
    return K


def gp_teacher(
    X,
    length_scale: float,
    rng=None,
    *,
    draws: int = 1,
    jitter: float = 1e-10,
    max_jitter: float = 1e-4,
) -> np.ndarray:
    r"""Targets drawn from a zero-mean Gaussian process with the Matérn-3/2 kernel.

    .. math::

        k(x, x') = \Bigl(1 + \frac{\sqrt3\, r}{\ell}\Bigr) e^{-\sqrt3\, r/\ell},
        \qquad r = \|x - x'\|,

    sampled at the rows of ``X``: :math:`y = L z` with :math:`LL^\top = K + \epsilon I`
    (Cholesky) and :math:`z \sim \mathcal N(0, I)`, so :math:`\mathrm{Cov}(y) = K +
    \epsilon I`. The jitter :math:`\epsilon` starts at ``jitter`` and grows tenfold while
    the Cholesky factorisation fails, up to ``max_jitter`` (then ValueError). The paper's
    GP teachers use ``Matern32Kernel() ∘ ScaleTransform(s)``, which is
    :math:`\ell = 1/s`: s in {0.1, 0.5, 2, 10} are ``length_scale`` 10, 2, 0.5, 0.1, on
    N = 10^4 standard normal inputs. Cost :math:`O(N^3/3)` flops and :math:`8N^2` bytes
    (0.8 GB at N = 10^4).

    Parameters
    ----------
    X : array, shape (N, d)
    length_scale : float
        :math:`\ell > 0`.
    rng : None, int or Generator
    draws : int
        Number of independent functions, one per column (default 1).
    jitter, max_jitter : float
        First and largest diagonal jitter :math:`\epsilon` (the kernel has variance 1).

    Returns
    -------
    ndarray, shape (N, draws)

    Examples
    --------
    >>> y = gp_teacher(normal(50, 2, rng=0), length_scale=0.5, rng=1)
    >>> y.shape
    (50, 1)
    """
    X = finite_array("X", X, ndim=2, dtype=np.float64)
    draws = _count("draws", draws)
    check_size(f"gp_teacher on {len(X)} inputs (an N x N kernel matrix)", len(X) ** 2)
    check_size(f"gp_teacher with {draws} draws", len(X) * draws)
    if isinstance(length_scale, bool) or not (
        isinstance(length_scale, int | float | np.number) and 0 < length_scale < math.inf
    ):
        raise ValueError(
            f"argument `length_scale` must be a finite number > 0, got {length_scale!r}"
        )
    jitter, max_jitter = as_real("jitter", jitter), as_real("max_jitter", max_jitter)
    if not 0 < jitter <= max_jitter:
        raise ValueError(
            f"arguments `jitter`, `max_jitter` must satisfy 0 < jitter <= max_jitter, "
            f"got {jitter}, {max_jitter}"
        )
    eps = jitter
    while True:
        K = _matern32(X, float(length_scale), eps)
        try:
            L = scipy.linalg.cholesky(K, lower=True, overwrite_a=True, check_finite=False)
            break
        except np.linalg.LinAlgError:
            if eps * 10 > max_jitter:
                raise ValueError(
                    f"the Matérn-3/2 kernel matrix is not positive definite even with jitter "
                    f"{eps:g} (a length scale too long for N = {len(K)} inputs?); "
                    "raise `max_jitter`"
                ) from None
            eps *= 10
    return L @ as_rng(rng).standard_normal((len(X), draws))
