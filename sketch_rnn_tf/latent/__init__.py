"""Latent-space tools of a trained conditional sketch-rnn.

Interpolation, grids, analogies and reconstructions (Sections 4.2-4.3 of the paper), in
`latent.space`.

All functions return stroke-3 sketches in pixels (lists of (n, 3) arrays) or latent vectors; draw
them with `sketch_rnn_tf.rendering`. Completing unfinished sketches is `sketch_rnn_tf.completion`;
the sampler itself is part of the model (`sketch_rnn_tf.model.sampler`).
"""

from .space import (
    DEFAULT_CORNER_COLORS,
    InterpolationGrid,
    analogy,
    analogy_sketches,
    grid,
    interpolate,
    interpolation_grid,
    interpolation_row,
    lerp,
    reconstruct,
    slerp,
)

__all__ = [
    "DEFAULT_CORNER_COLORS",
    "InterpolationGrid",
    "analogy",
    "analogy_sketches",
    "grid",
    "interpolate",
    "interpolation_grid",
    "interpolation_row",
    "lerp",
    "reconstruct",
    "slerp",
]
