"""Expand-and-Cluster parameter recovery (Martinelli et al., ICML 2024) and the query
augmentations of Beiser et al. (2025).

Phase 1 trains many overparameterised students, phase 2 clusters their neurons layer by
layer under the activation's symmetry, phase 3 fine-tunes the collapsed network
(:func:`expand_and_cluster`); :func:`compare_with_teacher` scores the recovery.
"""

from .augment import composition_noise as composition_noise
from .augment import composition_sampling as composition_sampling
from .augment import noise_overlay as noise_overlay
from .augment import tile_bounds as tile_bounds
from .canonical import SYMMETRIES as SYMMETRIES
from .canonical import canonicalize as canonicalize
from .canonical import symmetry_class as symmetry_class
from .cluster import ClusterReport as ClusterReport
from .cluster import LayerReconstruction as LayerReconstruction
from .cluster import cut_height as cut_height
from .cluster import find_clusters as find_clusters
from .cluster import median_cosine_distance as median_cosine_distance
from .cluster import reconstruct_layer as reconstruct_layer
from .compare import compare_with_teacher as compare_with_teacher
from .compare import plot_distances as plot_distances
from .expand_cluster import ECResult as ECResult
from .expand_cluster import expand_and_cluster as expand_and_cluster
from .teachers import student_nparams as student_nparams
from .teachers import teacher_aware_uniform as teacher_aware_uniform

__all__ = [
    "SYMMETRIES",
    "ClusterReport",
    "ECResult",
    "LayerReconstruction",
    "canonicalize",
    "compare_with_teacher",
    "composition_noise",
    "composition_sampling",
    "cut_height",
    "expand_and_cluster",
    "find_clusters",
    "median_cosine_distance",
    "noise_overlay",
    "plot_distances",
    "reconstruct_layer",
    "student_nparams",
    "symmetry_class",
    "teacher_aware_uniform",
    "tile_bounds",
]
