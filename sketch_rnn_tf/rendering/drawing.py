"""SVG drawing primitives shared by `svg.render_svg` and `grid.render_grid` (svgwrite)."""

from __future__ import annotations

from typing import Any

import numpy as np
import svgwrite

from .colors import css_color, stroke_colors
from .polylines import points, round_px


def new_drawing(width: float, height: float, background: Any) -> svgwrite.Drawing:
    """An SVG drawing of this size in pixels, with an optional background rectangle."""
    w, h = round_px(width), round_px(height)
    dwg = svgwrite.Drawing(size=(w, h), debug=False)
    dwg.viewbox(0, 0, w, h)
    if background is not None:
        dwg.add(
            dwg.rect(insert=(0, 0), size=(w, h), fill=css_color(background), class_="background")
        )
    return dwg


def add_strokes(
    dwg: svgwrite.Drawing,
    parent: Any,
    polylines_px: list[np.ndarray],
    color: Any,
    color_by_stroke: bool,
    n_strokes: int | None = None,
    **extra: Any,
) -> list[Any]:
    """Adds one `<polyline class="stroke">` per polyline (pixels) to `parent` and returns them.

    `color_by_stroke` colours stroke i by its place on a ramp of `n_strokes` colours (default: one
    per polyline); `extra` attributes go on every polyline.
    """
    n = len(polylines_px) if n_strokes is None else max(n_strokes, len(polylines_px))
    colors = stroke_colors(n) if color_by_stroke else [css_color(color)] * n
    added = []
    for poly, c in zip(polylines_px, colors):
        added.append(dwg.polyline(points=points(poly), stroke=c, class_="stroke", **extra))
        parent.add(added[-1])
    return added


def stroke_group(dwg: svgwrite.Drawing, stroke_width: float, **extra: Any) -> Any:
    """A `<g>` with the stroke style shared by all lines in it (round caps and joins, no fill)."""
    return dwg.g(
        fill="none",
        stroke_width=round_px(stroke_width),
        stroke_linecap="round",
        stroke_linejoin="round",
        **extra,
    )
