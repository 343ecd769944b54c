"""One entry point for writing pictures of sketches, by file extension (`save_sketches`)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .animation import render_animated_svg, render_gif, render_grid_gif
from .grid import _nest_depth, render_grid
from .inputs import RenderError
from .raster import render_grid_png, render_png
from .svg import render_svg

__all__ = ["FORMATS", "save_sketches"]

#: The extensions `save_sketches` writes, and what each is.
FORMATS = {
    ".svg": "SVG (animated with animate=True)",
    ".png": "PNG",
    ".gif": "animated GIF",
}


def _is_one_sketch(sketches: Any) -> bool:
    """A single stroke-3 sketch (a 2-D array or a list of rows), not a list of sketches."""
    if isinstance(sketches, np.ndarray) and sketches.dtype != object:
        return True
    if isinstance(sketches, (list, tuple)) and sketches:
        return _nest_depth(sketches) == 2
    return False


def save_sketches(sketches: Any, path: Any, *, animate: bool = False, **options: Any) -> str:
    """Writes one sketch or a grid of sketches to `path`, in the format its extension names.

    One sketch (an `(n, 3)` stroke-3 array) goes to `render_svg`, `render_png` or `render_gif`
    (`.svg` with `animate=True`: `render_animated_svg`); a list of sketches, or a list of rows of
    them, to `render_grid`, `render_grid_png` or `render_grid_gif`. `options` are those functions'
    keyword arguments (e.g. `factor`, `stroke_width`, `background`, `scale`, `ncols`); the file
    is written atomically.

    Args:
      sketches: one stroke-3 sketch, a list of them, or a list of rows of them.
      path: the file to write: `.svg`, `.png` or `.gif` (any case).
      animate: for `.svg`, draw the sketch being drawn (`render_animated_svg`; one sketch only).
      **options: keyword arguments of the renderer chosen.

    Returns:
      `path` as a str.

    Raises:
      RenderError: an extension other than `.svg`, `.png`, `.gif` (naming it), an animated SVG
        of several sketches, or anything the renderer refuses.

    Example:
        >>> save_sketches(samples, "samples.png", ncols=4, background="white")  # doctest: +SKIP
        >>> save_sketches(samples[0], "one.gif", factor=0.5)  # doctest: +SKIP
    """
    try:
        name = os.fspath(path)
    except TypeError:
        raise RenderError(f"path must be a str or os.PathLike; got {path!r}") from None
    ext = os.path.splitext(name)[1].lower()
    if ext not in FORMATS:
        known = ", ".join(f"{k} ({v})" for k, v in FORMATS.items())
        raise RenderError(
            f"cannot save sketches to {name!r}: unknown extension {ext or '(none)'!r}; "
            f"use one of {known}"
        )
    if not isinstance(animate, bool):
        raise RenderError(f"animate must be True or False; got {animate!r}")
    if animate and ext != ".svg":
        raise RenderError(f"animate=True applies to .svg only ({ext} is {FORMATS[ext]})")
    one = _is_one_sketch(sketches)
    try:
        if one:
            if ext == ".svg":
                (render_animated_svg if animate else render_svg)(sketches, path=name, **options)
            elif ext == ".png":
                render_png(sketches, path=name, **options)
            else:
                render_gif(sketches, path=name, **options)
        else:
            if animate:
                raise RenderError(
                    "an animated SVG draws one sketch; for several, save a .gif (render_grid_gif)"
                )
            if ext == ".svg":
                render_grid(sketches, path=name, **options)
            elif ext == ".png":
                render_grid_png(sketches, path=name, **options)
            else:
                render_grid_gif(sketches, path=name, **options)
    except TypeError as e:  # an option the chosen renderer does not take
        raise RenderError(f"cannot save {name!r}: {e}") from None
    return name
