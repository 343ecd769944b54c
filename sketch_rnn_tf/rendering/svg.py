"""SVG of one stroke-3 sketch (`render_svg`) and notebook display (`display_svg`).

A stroke-3 sketch is an `(n, 3)` array whose rows are `[dx, dy, pen_lifted]`:
`dx, dy` is the offset of the point from the previous point (the first row's offset
is from the origin `(0, 0)`), and `pen_lifted == 1` means the pen is lifted *after*
this point, so the next point starts a new stroke.  The origin itself is not drawn: the
first row's point starts the first stroke (this is what Magenta's `draw_strokes` does).
The y axis points down, as in the QuickDraw data and in SVG.

Scale convention (shared with Magenta's notebook): `factor` is the number of data units
per SVG pixel, i.e. `pixel = value / factor`.  The default `factor=0.2` draws one data
unit as 5 pixels.

Differences from Magenta's helper:

* every stroke is its own `<polyline class="stroke">` with absolute (rounded)
  coordinates, so strokes can be coloured individually and rounding errors do not
  accumulate along the drawing;
* the bounds are those of the drawn points (the undrawn origin is not included);
* a stroke made of a single point is drawn as a dot (its point is repeated, and the round
  line cap makes the zero-length segment visible);
* inputs are validated (`RenderError`) and files are written atomically.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .drawing import add_strokes, new_drawing, stroke_group
from .inputs import as_strokes, positive, write_output
from .polylines import stroke_bounds, strokes_to_polylines

__all__ = ["render_svg", "display_svg", "sketch_layout", "sketch_svg"]


def render_svg(
    strokes: Any,
    path: Any = None,
    factor: float = 0.2,
    stroke_width: float = 1,
    color: Any = "black",
    color_by_stroke: bool = False,
    padding: float = 25,
    background: Any = None,
) -> str:
    """Draws one stroke-3 sketch as SVG and returns the SVG text.

    Args:
      strokes: `(n, 3)` stroke-3 array, `n >= 1`.
      path: if given (str or PathLike), the SVG text is also written there, atomically.
      factor: data units per pixel (`pixel = value / factor`), as in Magenta.
      stroke_width: line width in pixels.
      color: line colour: any SVG colour string, or an `(r, g, b)` triple in 0..255.
      color_by_stroke: colour each stroke by its order on a perceptual hue ramp
        (`stroke_colors`) instead of `color`.
      padding: blank margin in pixels around the drawing's bounding box.
      background: optional fill colour of the whole image (transparent if None).

    The image is `(max_x - min_x) / factor + 2 * padding` wide (similarly high) and a
    point with absolute data coordinates `(X, Y)` is drawn at
    `(padding + (X - min_x) / factor, padding + (Y - min_y) / factor)`.
    """
    width, height, polylines_px = sketch_layout(strokes, factor, padding)
    svg = sketch_svg(width, height, polylines_px, stroke_width, color, color_by_stroke, background)
    return write_output(path, svg, "SVG")


def sketch_layout(
    strokes: Any, factor: float, padding: float
) -> tuple[float, float, list[np.ndarray]]:
    """`render_svg`'s image size and the sketch's polylines in its pixels: `(w, h, polylines)`.

    Shared by every renderer of one sketch (SVG, PNG, GIF frames, animated SVG), so that all of
    them place the sketch on the same canvas.
    """
    arr = as_strokes(strokes)
    factor = positive("factor", factor)
    padding = positive("padding", padding, allow_zero=True)
    polylines = strokes_to_polylines(arr)
    min_x, max_x, min_y, max_y = stroke_bounds(arr)
    width = (max_x - min_x) / factor + 2 * padding
    height = (max_y - min_y) / factor + 2 * padding
    offset = np.array([padding - min_x / factor, padding - min_y / factor])
    return width, height, [p / factor + offset for p in polylines]


def sketch_svg(
    width: float,
    height: float,
    polylines_px: list[np.ndarray],
    stroke_width: float,
    color: Any,
    color_by_stroke: bool,
    background: Any,
    n_strokes: int | None = None,
) -> str:
    """The SVG text of `render_svg` for polylines already in pixels (`sketch_layout`).

    `n_strokes` (default: as many as polylines) is the length of the `color_by_stroke` ramp, so a
    partly drawn sketch keeps the colours of the whole one.
    """
    stroke_width = positive("stroke_width", stroke_width, allow_zero=True)
    dwg = new_drawing(width, height, background)
    group = stroke_group(dwg, stroke_width, class_="sketch")
    add_strokes(dwg, group, polylines_px, color, color_by_stroke, n_strokes=n_strokes)
    dwg.add(group)
    return dwg.tostring()


def display_svg(svg_string_or_strokes: Any, **kw: Any) -> Any:
    """Returns an `IPython.display.SVG` of an SVG string or of a stroke-3 sketch.

    A sketch is rendered with `render_svg(strokes, **kw)`; keyword arguments are not
    accepted together with an SVG string.  The object shows inline when it is the last
    expression of a notebook cell (or pass it to `IPython.display.display`).
    """
    try:
        from IPython.display import SVG
    except ImportError as e:
        raise ImportError(
            "display_svg needs IPython (pip install ipython); to get the SVG without it use "
            "render_svg(...), which returns the SVG text"
        ) from e
    if isinstance(svg_string_or_strokes, str):
        if kw:
            raise TypeError(
                f"display_svg: keyword arguments {sorted(kw)} apply only to strokes, "
                "not to an SVG string"
            )
        svg = svg_string_or_strokes
    else:
        svg = render_svg(svg_string_or_strokes, **kw)
    return SVG(data=svg)
