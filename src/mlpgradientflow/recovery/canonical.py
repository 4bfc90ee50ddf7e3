r"""Symmetry classes of activations and the canonical form of incoming vectors.

A hidden neuron with incoming vector :math:`\tilde w = (w, b)` and outgoing vector
:math:`a` contributes :math:`a\,\sigma(\tilde w\cdot\tilde x)`. Some activations let a
different pair give the same (or almost the same) function; Expand-and-Cluster removes
that freedom before clustering (Martinelli et al., ICML 2024; code
``extraction/layer_reconstruction.py``):

=================================  ===========================================  ==========================
class                              identity                                     activations
=================================  ===========================================  ==========================
``none``                           (none)                                       g, selu, exp
``odd``                            :math:`a\sigma(z) = (-a)\sigma(-z)`          tanh, identity, erf, cube
``odd_constant``                   :math:`a\sigma(z) = (-a)\sigma(-z) + a`      sigmoid, normal_cdf
``even``                           :math:`a\sigma(z) = a\sigma(-z)`             square
``even_linear``                    :math:`a\sigma(z) = a\sigma(-z) + a z`       softplus, gelu, silu
``even_linear_positive_scaling``   even_linear and :math:`a\sigma(cz)=ac\sigma(z)`, c>0   relu
=================================  ===========================================  ==========================

``even`` is our addition for ``square`` (the reference has no such activation).
Canonicalisation multiplies each vector by the sign of its reference coordinate
(default: the first), so that coordinate is non-negative, and remembers the sign; for
``even_linear_positive_scaling`` it first divides each vector by its norm and multiplies
the outgoing weights by that norm. Outgoing weights change sign only for the odd classes
(for the others the flip leaves a constant, linear or no term behind, which the final
fine-tuning absorbs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..activations import LINEAR_CLASSES, ODD_CLASSES, SYMMETRIES, Activation, symmetry

__all__ = ["SYMMETRIES", "ODD_CLASSES", "LINEAR_CLASSES", "symmetry_class", "canonicalize",
           "Canonical"]

def symmetry_class(activation: str | Activation) -> str:
    """The symmetry class of an activation, as it declares it
    (:func:`mlpgradientflow.activations.symmetry`; ``"none"`` for custom activations that do
    not say).

    Parameters
    ----------
    activation : str or Activation
        One activation (per-neuron tuples are refused: E&C clusters a layer as a whole).

    Returns
    -------
    str
        One of :data:`SYMMETRIES`: how :func:`canonicalize` maps a neuron to its
        canonical form.

    Examples
    --------
    >>> from mlpgradientflow.recovery import symmetry_class
    >>> symmetry_class("tanh"), symmetry_class("relu"), symmetry_class("g")
    ('odd', 'even_linear_positive_scaling', 'none')
    """
    if isinstance(activation, tuple):
        raise ValueError(
            "argument `activation`: Expand-and-Cluster needs one activation per layer, got "
            f"per-neuron activations {activation!r}"
        )
    return symmetry(activation)


def check_symmetry(symmetry: str) -> str:
    if symmetry not in SYMMETRIES:
        raise ValueError(f"argument `symmetry` must be one of {SYMMETRIES}, got {symmetry!r}")
    return symmetry


@dataclass(frozen=True)
class Canonical:
    """Canonical vectors, the signs that made them, and the rescaled outgoing weights."""

    vectors: np.ndarray
    signs: np.ndarray
    outgoing: np.ndarray | None


def canonicalize(vectors, symmetry: str, outgoing=None, ref: int = 0) -> Canonical:
    r"""Canonical form of incoming vectors under an activation's symmetry class.

    For every class except ``none``: :math:`s_i = \mathrm{sign}(\tilde w_{i,\mathrm{ref}})`
    (:math:`+1` where that coordinate is 0, a choice the reference leaves open: its
    ``np.sign`` gives 0) and :math:`\tilde w_i \leftarrow s_i \tilde w_i`. For
    ``even_linear_positive_scaling`` first :math:`\tilde w_i \leftarrow \tilde w_i /
    \|\tilde w_i\|`, :math:`a_i \leftarrow \|\tilde w_i\| a_i` (zero vectors are left alone).
    The outgoing weights are multiplied by :math:`s_i` only for ``odd``/``odd_constant``.

    Parameters
    ----------
    vectors : array (n, d)
        Incoming vectors (bias last), one per row.
    symmetry : str
        One of :data:`SYMMETRIES`.
    outgoing : array (n, d_next), optional
        The outgoing vector of each neuron.
    ref : int
        The coordinate made non-negative (the reference uses the first unmasked pixel).

    Returns
    -------
    Canonical
        ``vectors`` (n, d), ``signs`` (n,), ``outgoing`` (n, d_next) or None.

    Examples
    --------
    >>> import numpy as np
    >>> c = canonicalize(np.array([[-1.0, 2.0], [3.0, 4.0]]), "odd", np.array([[5.0], [6.0]]))
    >>> c.vectors.tolist(), c.signs.tolist(), c.outgoing.tolist()
    ([[1.0, -2.0], [3.0, 4.0]], [-1.0, 1.0], [[-5.0], [6.0]])
    """
    check_symmetry(symmetry)
    V = np.array(vectors, dtype=np.float64, copy=True)
    if V.ndim != 2:
        raise ValueError(f"argument `vectors` must be 2-D (n, d), got shape {V.shape}")
    A = None if outgoing is None else np.array(outgoing, dtype=np.float64, copy=True)
    if A is not None and (A.ndim != 2 or A.shape[0] != V.shape[0]):
        raise ValueError(
            f"argument `outgoing` must have shape ({V.shape[0]}, d_next), got {A.shape}"
        )
    if not 0 <= ref < V.shape[1]:
        raise ValueError(f"argument `ref` must lie in 0..{V.shape[1] - 1}, got {ref}")
    signs = np.ones(V.shape[0])
    if symmetry == "none":
        return Canonical(V, signs, A)
    if symmetry == "even_linear_positive_scaling":
        norms = np.linalg.norm(V, axis=1)
        norms[norms == 0] = 1.0
        V /= norms[:, None]
        if A is not None:
            A *= norms[:, None]
    signs = np.where(V[:, ref] < 0, -1.0, 1.0)
    V *= signs[:, None]
    if A is not None and symmetry in ODD_CLASSES:
        A *= signs[:, None]
    return Canonical(V, signs, A)
