"""Theory of critical points of two-layer networks, one module per paper:

- :mod:`~mlpgradientflow.theory.symmetry`: symmetry-induced critical subspaces and their
  counts T and G (Şimşek et al., ICML 2021);
- :mod:`~mlpgradientflow.theory.saddles`: permutation points and equal-loss valleys
  (Brea et al. 2019);
- :mod:`~mlpgradientflow.theory.channels`: flat channels to infinity, their GLU limit,
  the jump procedure and saddle-line stability (Martinelli et al., NeurIPS 2025);
- :mod:`~mlpgradientflow.theory.copy_average`: copy-average points of erf networks
  (Şimşek et al., NeurIPS 2023).
"""

from . import channels as channels
from . import copy_average as copy_average
from . import saddles as saddles
from . import symmetry as symmetry

__all__ = ["channels", "copy_average", "saddles", "symmetry"]
