"""SVG rendering of stroke-3 sketches (single sketches, grids, notebook display).

`svg` draws one sketch, `grid` many on a grid; `drawing` (SVG primitives), `geometry` (polylines,
bounds) and `colors` (interpolation, hue ramps) serve both; `checks` holds the input checks and
`RenderError`.
"""

from sketch_rnn_tf.rendering.colors import grid_colors, interpolate_colors, stroke_colors
from sketch_rnn_tf.rendering.grid import GridStyle, render_grid
from sketch_rnn_tf.rendering.inputs import RenderError
from sketch_rnn_tf.rendering.polylines import stroke_bounds, strokes_to_polylines
from sketch_rnn_tf.rendering.svg import display_svg, render_svg

__all__ = [
    "GridStyle",
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
