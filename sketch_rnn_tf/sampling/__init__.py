"""Creative tools on a trained sketch-rnn: latent-space interpolation, grids and analogies
(`latent`), and completion of unfinished sketches (`completion`).

All functions return stroke-3 sketches in pixels (lists of (n, 3) arrays) or latent vectors; draw them
with `sketch_rnn_tf.rendering`.
"""

from .completion import complete, truncate
from .latent import (
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
    "complete",
    "grid",
    "interpolate",
    "interpolation_grid",
    "interpolation_row",
    "lerp",
    "reconstruct",
    "slerp",
    "truncate",
]
