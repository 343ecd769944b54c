"""SVG rendering of stroke-3 sketches (single sketches, grids, notebook display)."""

from sketch_rnn_tf.rendering.svg import (
    RenderError,
    display_svg,
    grid_colors,
    interpolate_colors,
    render_grid,
    render_svg,
    stroke_bounds,
    stroke_colors,
    strokes_to_polylines,
)

__all__ = [
    "RenderError",
    "display_svg",
    "grid_colors",
    "interpolate_colors",
    "render_grid",
    "render_svg",
    "stroke_bounds",
    "stroke_colors",
    "strokes_to_polylines",
]
