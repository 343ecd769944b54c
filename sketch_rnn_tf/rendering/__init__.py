"""Pictures of stroke-3 sketches: SVG, PNG, animated GIF and SVG, notebook display.

`svg` draws one sketch, `grid` many on a grid; `raster` rasterises that same SVG into PNG (resvg),
`animation` draws the sketch being drawn (GIF frames, CSS-animated SVG), `save.save_sketches`
picks the format from a file's extension; `drawing` (SVG primitives), `geometry` (polylines,
bounds) and `colors` (interpolation, hue ramps) serve them all; `checks` holds the input checks and
`RenderError`.
"""

from sketch_rnn_tf.rendering.animation import (
    display_animation,
    render_animated_svg,
    render_gif,
    render_grid_gif,
)
from sketch_rnn_tf.rendering.colors import grid_colors, interpolate_colors, stroke_colors
from sketch_rnn_tf.rendering.grid import GridStyle, render_grid
from sketch_rnn_tf.rendering.inputs import RenderError
from sketch_rnn_tf.rendering.polylines import stroke_bounds, strokes_to_polylines
from sketch_rnn_tf.rendering.raster import render_grid_png, render_png, svg_to_png
from sketch_rnn_tf.rendering.save import save_sketches
from sketch_rnn_tf.rendering.svg import display_svg, render_svg

__all__ = [
    "GridStyle",
    "RenderError",
    "display_animation",
    "display_svg",
    "grid_colors",
    "interpolate_colors",
    "render_animated_svg",
    "render_gif",
    "render_grid",
    "render_grid_gif",
    "render_grid_png",
    "render_png",
    "render_svg",
    "save_sketches",
    "stroke_bounds",
    "stroke_colors",
    "strokes_to_polylines",
    "svg_to_png",
]
