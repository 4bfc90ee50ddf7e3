"""Landscape tools: Hessian spectra and Morse indices, student-teacher alignment,
trajectory distances, neuron surgery, loss slices and minimal loss on linear subspaces."""

from .alignment import align_to_teacher as align_to_teacher
from .alignment import cosine_similarity as cosine_similarity
from .slices import hessian_directions as hessian_directions
from .slices import loss_slice_1d as loss_slice_1d
from .slices import loss_slice_2d as loss_slice_2d
from .slices import point_to_point as point_to_point
from .slices import random_direction as random_direction
from .slices import teacher_direction as teacher_direction
from .spectrum import morse_index as morse_index
from .subspace import LinearSubspace as LinearSubspace
from .subspace import SubspaceResult as SubspaceResult
from .subspace import subspace_minloss as subspace_minloss
from .subspace import subspace_minloss_on_grid as subspace_minloss_on_grid
from .subspace import to_local_coords as to_local_coords
from .surgery import grow_net as grow_net
from .surgery import merge_neurons as merge_neurons
from .surgery import shrink_net as shrink_net
from .surgery import split_neuron as split_neuron
from .trajectory import trajectory_distance as trajectory_distance

__all__ = [
    "LinearSubspace",
    "SubspaceResult",
    "align_to_teacher",
    "cosine_similarity",
    "grow_net",
    "hessian_directions",
    "loss_slice_1d",
    "loss_slice_2d",
    "merge_neurons",
    "morse_index",
    "point_to_point",
    "random_direction",
    "shrink_net",
    "split_neuron",
    "subspace_minloss",
    "subspace_minloss_on_grid",
    "to_local_coords",
    "teacher_direction",
    "trajectory_distance",
]
