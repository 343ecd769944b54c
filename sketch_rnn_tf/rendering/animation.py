"""The drawing being drawn: animated GIF, animated SVG and notebook display.

GIF (`render_gif`): frame i shows the first `i * k` points of the sketch (`k = points_per_frame`,
by default `ceil(n / 60)`: one frame per point up to 60 points, then one per few points, at most 60
frames), the stroke being drawn growing point by point, each frame `frame_ms` long; the last frame
is the finished drawing, held `hold_ms`. Every frame is `render_svg`'s picture of the partial sketch
on the canvas of the whole one (same size, place and colours), rasterised as `render_png` does, so
the last frame is the PNG of the finished drawing. A grid (`render_grid_gif`) draws all its
sketches at once, each cell the same fraction of its points.

Animated SVG (`render_animated_svg`, `display_animation`): `render_svg`'s SVG with a CSS animation
(no script, no SMIL): each stroke is a `<polyline pathLength="1">` revealed by `stroke-dashoffset`
going from 1 to 0 with `stroke-dasharray: 1 2`, at a constant pen speed; the strokes follow one
another in order, with a short pen-up pause between them, then the finished drawing stays `hold`
seconds and (with `loop`) it starts again. The dash properties live only in the keyframes, so a
viewer without CSS animation (or a rasteriser) shows the finished drawing. Keyframe names carry a
hash of the drawing, so several animations on one page (a notebook) do not clash.

Example:
    >>> from sketch_rnn_tf.rendering import render_gif, render_animated_svg
    >>> render_gif(sketch, "sheep.gif", factor=0.5)  # doctest: +SKIP
    >>> render_animated_svg(sketch, "sheep.svg", duration=4)  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import io
import math
import numbers
from typing import Any

import numpy as np

from .colors import css_color, stroke_colors
from .drawing import new_drawing, stroke_group
from .grid import GridStyle, grid_renderer
from .inputs import RenderError, positive, write_output
from .polylines import first_points, points
from .raster import png_to_image, svg_to_png
from .svg import sketch_layout, sketch_svg

__all__ = ["display_animation", "render_animated_svg", "render_gif", "render_grid_gif"]

#: Frames of a GIF when `points_per_frame` / `frames` is not given: at most this many.
DEFAULT_MAX_FRAMES = 60
#: The most frames a GIF may have.
MAX_FRAMES = 1000


def _count(name: str, value: Any, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise RenderError(f"{name} must be an integer >= {low}; got {value!r}")
    return int(value)


def _gif(frames_png: list[bytes], frame_ms: int, hold_ms: int, loop: bool) -> bytes:
    """PNG frames (opaque) -> animated GIF bytes; the last frame lasts `hold_ms`."""
    from PIL import Image

    images = []
    for png in frames_png:
        rgb = png_to_image(png).convert("RGB")
        images.append(rgb.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=0))
    durations = [frame_ms] * len(images)
    durations[-1] = max(frame_ms, hold_ms)
    out = io.BytesIO()
    extra = {"loop": 0} if loop else {}
    images[0].save(
        out,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=durations,
        disposal=1,
        optimize=False,
        **extra,
    )
    return out.getvalue()


def _timing(frame_ms: Any, hold_ms: Any) -> tuple[int, int]:
    # Browsers show GIF delays under 20 ms as 100 ms.
    return _count("frame_ms", frame_ms, 20), _count("hold_ms", hold_ms, 0)


def _opaque(background: Any) -> Any:
    # GIF has no partial transparency: anti-aliased lines need a background colour.
    return "white" if background is None else background


def render_gif(
    strokes: Any,
    path: Any = None,
    factor: float = 0.2,
    stroke_width: float = 1,
    color: Any = "black",
    color_by_stroke: bool = False,
    padding: float = 25,
    background: Any = "white",
    scale: float = 1.0,
    points_per_frame: int | None = None,
    frame_ms: int = 80,
    hold_ms: int = 2000,
    loop: bool = True,
    start: int = 0,
) -> bytes:
    """An animated GIF of one sketch being drawn, point by point (see the module docstring).

    Args:
      strokes: `(n, 3)` stroke-3 array, `n >= 1`.
      path: if given (str or PathLike), the GIF is also written there, atomically.
      factor: data units per pixel, as in `render_svg`.
      stroke_width: line width in pixels.
      color: line colour: any SVG colour string, or an `(r, g, b)` triple in 0..255.
      color_by_stroke: colour each stroke by its order on a hue ramp (`stroke_colors`).
      padding: blank margin in pixels around the drawing's bounding box.
      background: colour of the frames (None: white; GIF has no partial transparency).
      scale: GIF pixels per SVG pixel, as in `render_png`.
      points_per_frame: points added per frame (default `ceil(n / 60)`: at most 60 frames).
      frame_ms: how long each frame shows, in milliseconds (>= 20).
      hold_ms: how long the finished drawing shows, in milliseconds.
      loop: play forever (else once).
      start: points already drawn in the first frame (e.g. the given part of a completion, whose
        continuation the animation then draws).

    Returns:
      The GIF file's bytes.

    Raises:
      RenderError: bad strokes (empty, NaN, pen values) or arguments, or an unwritable `path`.

    Example:
        >>> gif = render_gif(sketch, "sheep.gif", factor=0.5, stroke_width=2)  # doctest: +SKIP
    """
    width, height, polylines = sketch_layout(strokes, factor, padding)
    frame_ms, hold_ms = _timing(frame_ms, hold_ms)
    n = sum(len(p) for p in polylines)
    start = _count("start", start, low=0)
    if start >= n:
        raise RenderError(f"start={start} leaves nothing to draw of the sketch's {n} points")
    if points_per_frame is None:
        k = max(1, math.ceil((n - start) / DEFAULT_MAX_FRAMES))
    else:
        k = _count("points_per_frame", points_per_frame)
    counts = ([start] if start else []) + list(range(start + k, n, k)) + [n]
    if len(counts) > MAX_FRAMES:
        raise RenderError(
            f"{len(counts)} frames (n={n} points, points_per_frame={k}) is more than {MAX_FRAMES}; "
            "raise points_per_frame"
        )
    background = _opaque(background)
    scale = positive("scale", scale)
    frames = [
        svg_to_png(
            sketch_svg(
                width,
                height,
                first_points(polylines, m),
                stroke_width,
                color,
                color_by_stroke,
                background,
                n_strokes=len(polylines),
            ),
            scale,
        )
        for m in counts
    ]
    gif = _gif(frames, frame_ms, hold_ms, loop)
    return write_output(path, gif, "GIF")


def render_grid_gif(
    sketches: Any,
    ncols: int | None = None,
    cell_size: Any = 100,
    path: Any = None,
    colors: Any = None,
    labels: Any = None,
    style: GridStyle | None = None,
    scale: float = 1.0,
    frames: int | None = None,
    frame_ms: int = 80,
    hold_ms: int = 2000,
    loop: bool = True,
    start: int = 0,
    **style_options: Any,
) -> bytes:
    """An animated GIF of a grid of sketches all being drawn at once.

    Frame i of F shows the first `ceil(i / F * n)` points of each cell's n, in the places and
    colours of `render_grid`'s picture; the last is that picture, held `hold_ms`. The arguments are
    `render_grid`'s (a `background` of None becomes white), plus `scale` (as in `render_png`),
    `frames` (F; default: the longest sketch's points, at most 60), the timing of `render_gif` and
    `start`: points of each cell drawn from the first frame on (a completion's given part).

    Returns:
      The GIF file's bytes.

    Raises:
      RenderError: bad sketches or arguments, or an unwritable `path`.

    Example:
        >>> render_grid_gif(samples, ncols=4, path="samples.gif")  # doctest: +SKIP
    """
    if style_options.get("background") is None and (style is None or style.background is None):
        style_options["background"] = "white"
    draw = grid_renderer(sketches, ncols, cell_size, colors, labels, style, **style_options)
    frame_ms, hold_ms = _timing(frame_ms, hold_ms)
    start = _count("start", start, low=0)
    if start >= draw.max_points:
        raise RenderError(
            f"start={start} leaves nothing to draw (the longest sketch: {draw.max_points} points)"
        )
    if frames is None:
        frames = max(1, min(DEFAULT_MAX_FRAMES, draw.max_points - start))
    frames = _count("frames", frames)
    if frames > MAX_FRAMES:
        raise RenderError(f"frames={frames} is more than {MAX_FRAMES}")
    scale = positive("scale", scale)
    pngs = [svg_to_png(draw(i / frames, start), scale) for i in range(0 if start else 1, frames)]
    pngs.append(svg_to_png(draw(), scale))
    gif = _gif(pngs, frame_ms, hold_ms, loop)
    return write_output(path, gif, "GIF")


def _pct(t: float) -> str:
    return f"{100 * t:.4f}".rstrip("0").rstrip(".") + "%"


def render_animated_svg(
    strokes: Any,
    path: Any = None,
    factor: float = 0.2,
    stroke_width: float = 1,
    color: Any = "black",
    color_by_stroke: bool = False,
    padding: float = 25,
    background: Any = None,
    duration: float = 3.0,
    hold: float = 2.0,
    loop: bool = True,
) -> str:
    """`render_svg`'s SVG, animated with CSS: the sketch drawn stroke by stroke (no script).

    Args:
      strokes: `(n, 3)` stroke-3 array, `n >= 1`.
      path: if given (str or PathLike), the SVG text is also written there, atomically.
      factor: data units per pixel, as in `render_svg`.
      stroke_width: line width in pixels.
      color: line colour: any SVG colour string, or an `(r, g, b)` triple in 0..255.
      color_by_stroke: colour each stroke by its order on a hue ramp (`stroke_colors`).
      padding: blank margin in pixels around the drawing's bounding box.
      background: optional fill colour of the whole image (transparent if None).
      duration: seconds from the first point to the last (at a constant pen speed, with a pen-up
        pause of 3 % of the way between strokes).
      hold: seconds the finished drawing stays before the animation starts again.
      loop: repeat forever; otherwise play once and keep the finished drawing.

    Returns:
      The SVG text: the same `<polyline class="stroke">`s as `render_svg`, each with an id and
      `pathLength="1"`, and one `<style>` holding a `@keyframes` rule per stroke.

    Raises:
      RenderError: bad strokes (empty, NaN, pen values) or arguments, or an unwritable `path`.

    Example:
        >>> svg = render_animated_svg(sketch, duration=4, loop=False)  # doctest: +SKIP
    """
    width, height, polylines = sketch_layout(strokes, factor, padding)
    stroke_width = positive("stroke_width", stroke_width, allow_zero=True)
    duration = positive("duration", duration)
    hold = positive("hold", hold, allow_zero=True)
    lengths = np.array([np.hypot(*np.diff(p, axis=0).T).sum() for p in polylines])
    total = float(lengths.sum())
    gap = 0.03 * total if total > 0 else 1.0  # pen-up pause; also the time of a dot
    spans = np.maximum(lengths, gap)
    ends = np.cumsum(spans + gap) - gap
    starts = ends - spans
    period = duration + hold
    to_t = duration / float(ends[-1]) / period  # path length -> fraction of the period
    colors = (
        stroke_colors(len(polylines)) if color_by_stroke else [css_color(color)] * len(polylines)
    )
    digest = hashlib.sha1(
        repr((width, height, [p.round(3).tolist() for p in polylines], colors)).encode()
    ).hexdigest()[:10]
    uid = f"sk{digest}"
    dwg = new_drawing(width, height, background)
    group = stroke_group(dwg, stroke_width, class_="sketch")
    rules = []
    count = "infinite" if loop else "1"
    for i, (poly, c) in enumerate(zip(polylines, colors)):
        sid = f"{uid}-s{i}"
        a, b = starts[i] * to_t, ends[i] * to_t
        a_on = min(a + 1e-4, b)
        if lengths[i] > 0:
            hidden = "stroke-dasharray:1 2;stroke-dashoffset:1;opacity:0"
            begun = "stroke-dasharray:1 2;stroke-dashoffset:1;opacity:1"
            done = "stroke-dasharray:1 2;stroke-dashoffset:0;opacity:1"
        else:  # a dot: it appears
            hidden, begun, done = "opacity:0", "opacity:1", "opacity:1"
        rules.append(
            f"@keyframes {sid}{{{'0%' if a == 0 else '0%,' + _pct(a)}{{{hidden}}}"
            f"{_pct(a_on)}{{{begun}}}"
            f"{_pct(b)},100%{{{done}}}}}"
            f"#{sid}{{animation:{sid} {period:.3f}s linear {count} both}}"
        )
        group.add(
            dwg.polyline(points=points(poly), stroke=c, class_="stroke", id=sid, pathLength=1)
        )
    dwg.defs.add(dwg.style("\n".join(rules)))
    dwg.add(group)
    svg = dwg.tostring()
    return write_output(path, svg, "SVG")


def display_animation(svg_string_or_strokes: Any, **kw: Any) -> Any:
    """Returns an `IPython.display.SVG` of `render_animated_svg(strokes, **kw)` (or of SVG text).

    The object shows inline, animated, when it is the last expression of a notebook cell (or pass
    it to `IPython.display.display`).

    Example:
        >>> display_animation(sketch, duration=4)  # doctest: +SKIP
    """
    try:
        from IPython.display import SVG
    except ImportError as e:
        raise ImportError(
            "display_animation needs IPython (pip install ipython); to get the SVG without it "
            "use render_animated_svg(...), which returns the SVG text"
        ) from e
    if isinstance(svg_string_or_strokes, str):
        if kw:
            raise TypeError(
                f"display_animation: keyword arguments {sorted(kw)} apply only to strokes, "
                "not to an SVG string"
            )
        return SVG(data=svg_string_or_strokes)
    return SVG(data=render_animated_svg(svg_string_or_strokes, **kw))
