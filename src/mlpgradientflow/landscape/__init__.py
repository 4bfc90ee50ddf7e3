"""Landscape tools: Hessian spectra and Morse indices, student-teacher alignment,
trajectory distances."""

from .alignment import align_to_teacher as align_to_teacher
from .alignment import cosine_similarity as cosine_similarity
from .spectrum import morse_index as morse_index
from .trajectory import trajectory_distance as trajectory_distance

__all__ = ["align_to_teacher", "cosine_similarity", "morse_index", "trajectory_distance"]
