"""PNG pictures of sketches: the package's own SVG, rasterised by resvg (`render_png`).

There is one drawing path: `render_png` and `render_grid_png` build exactly the SVG that
`render_svg` and `render_grid` return for the same arguments and rasterise it with resvg
(`resvg-py`), so a PNG never disagrees with its SVG (placement, line width, round caps and joins,
colours, anti-aliasing all come from the SVG). The GIF frames of `animation` are made the same way.

Why resvg (`resvg-py` on PyPI, MIT; resvg itself is MIT/Apache-2.0) rather than drawing with
Pillow: Pillow's `ImageDraw.line` is not anti-aliased and has no round caps, so it would be a
second renderer, drawn differently from the SVG, needing supersampling and hand-made caps;
resvg is a complete renderer of static SVG, actively released (resvg-py 0.5.0 bundles resvg 0.48),
whose PyPI wheels (abi3, CPython >= 3.10) exist for Linux (manylinux and musllinux, x86-64
and arm64), macOS (x86-64 and arm64) and Windows, with no system library (unlike cairosvg, which
needs libcairo). Pillow (already installed by TensorBoard) is used only to read resvg's PNG frames
into a GIF.

Example:
    >>> import numpy as np
    >>> from sketch_rnn_tf.rendering import render_png
    >>> png = render_png(np.array([[0, 0, 0], [40, 0, 0], [0, 30, 1]]), scale=2)
    >>> png[1:4]
    b'PNG'
"""

from __future__ import annotations

import io
from typing import Any

from .grid import GridStyle, grid_renderer
from .inputs import RenderError, positive, write_output
from .svg import sketch_layout, sketch_svg

__all__ = ["render_png", "render_grid_png", "svg_to_png", "MAX_PIXELS"]

#: The most pixels a picture may have (width x height after `scale`).
MAX_PIXELS = 64_000_000


def _size(svg: str) -> tuple[float, float]:
    import xml.etree.ElementTree as ET

    root = ET.fromstring(svg)
    return float(root.get("width")), float(root.get("height"))


def svg_to_png(svg: str, scale: float = 1.0) -> bytes:
    """Rasterises SVG text (of this package's renderers) with resvg: PNG bytes, RGBA, anti-aliased.

    Args:
      svg: SVG text with `width` and `height` in pixels (as `render_svg` writes it).
      scale: output pixels per SVG pixel (2 for a picture twice as wide and high).

    Returns:
      The PNG file's bytes; transparent where the SVG draws nothing.

    Raises:
      RenderError: a bad `scale`, a picture of more than `MAX_PIXELS`, or an SVG resvg refuses.
    """
    scale = positive("scale", scale)
    width, height = _size(svg)
    w, h = max(1, round(width * scale)), max(1, round(height * scale))
    if w * h > MAX_PIXELS:
        raise RenderError(
            f"a {w} x {h} pixel picture is more than the {MAX_PIXELS} pixels allowed; "
            "lower scale (or factor)"
        )
    import resvg_py

    text = "<text" in svg
    try:
        data = resvg_py.svg_to_bytes(
            svg_string=svg, zoom=scale, skip_system_fonts=not text, log_information=False
        )
    except Exception as e:  # resvg_py raises ValueError and the like
        raise RenderError(f"resvg could not rasterise the SVG ({type(e).__name__}: {e})") from None
    return bytes(data)


def render_png(
    strokes: Any,
    path: Any = None,
    factor: float = 0.2,
    stroke_width: float = 1,
    color: Any = "black",
    color_by_stroke: bool = False,
    padding: float = 25,
    background: Any = None,
    scale: float = 1.0,
) -> bytes:
    """Draws one stroke-3 sketch as a PNG: `render_svg`'s picture, rasterised (anti-aliased).

    Args:
      strokes: `(n, 3)` stroke-3 array, `n >= 1`.
      path: if given (str or PathLike), the PNG is also written there, atomically.
      factor: data units per SVG pixel (`pixel = value / factor`), as in `render_svg`.
      stroke_width: line width in SVG pixels.
      color: line colour: any SVG colour string, or an `(r, g, b)` triple in 0..255.
      color_by_stroke: colour each stroke by its order on a hue ramp (`stroke_colors`).
      padding: blank margin in SVG pixels around the drawing's bounding box.
      background: fill colour of the whole picture; None leaves it transparent (RGBA).
      scale: PNG pixels per SVG pixel: the PNG is `scale` times the SVG's size, lines included
        (2 for a sharper picture on high-density screens; 300 dpi print of a 96 dpi SVG: 3.125).

    Returns:
      The PNG file's bytes (RGBA).

    Raises:
      RenderError: bad strokes (empty, NaN, pen values) or arguments, or an unwritable `path`.

    Example:
        >>> png = render_png(sketch, "sheep.png", background="white", scale=2)  # doctest: +SKIP
    """
    width, height, polylines = sketch_layout(strokes, factor, padding)
    svg = sketch_svg(width, height, polylines, stroke_width, color, color_by_stroke, background)
    png = svg_to_png(svg, scale)
    return write_output(path, png, "PNG")


def render_grid_png(
    sketches: Any,
    ncols: int | None = None,
    cell_size: Any = 100,
    path: Any = None,
    colors: Any = None,
    labels: Any = None,
    style: GridStyle | None = None,
    scale: float = 1.0,
    **style_options: Any,
) -> bytes:
    """Draws sketches on a grid as a PNG: `render_grid`'s picture, rasterised (anti-aliased).

    The arguments are `render_grid`'s (`background` is a `GridStyle` field: None leaves the picture
    transparent), plus `scale`, PNG pixels per SVG pixel. Labels are drawn with the system's
    sans-serif font.

    Returns:
      The PNG file's bytes (RGBA).

    Raises:
      RenderError: bad sketches or arguments, or an unwritable `path`.

    Example:
        >>> png = render_grid_png(sketches, ncols=4, path="grid.png")  # doctest: +SKIP
    """
    svg = grid_renderer(sketches, ncols, cell_size, colors, labels, style, **style_options)()
    png = svg_to_png(svg, scale)
    return write_output(path, png, "PNG")


def png_to_image(png: bytes) -> Any:
    """PNG bytes -> a loaded Pillow image (for GIF frames and tests)."""
    from PIL import Image

    image = Image.open(io.BytesIO(png))
    image.load()
    return image
