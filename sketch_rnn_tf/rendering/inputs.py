"""Shared by the rendering modules: the error class, stroke-3 input, positive numbers, output."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from ..atomic import write_bytes, write_text
from ..data.checks import check_stroke3
from ..errors import SketchRNNError


class RenderError(SketchRNNError):
    """Invalid input for rendering, or an SVG file that could not be written."""


def as_strokes(strokes: Any, *, allow_empty: bool = False, what: str = "sketch") -> np.ndarray:
    """Returns `strokes` as a float64 `(n, 3)` array, or raises `RenderError`.

    The rule is the package's one rule for a sketch (`data.checks.check_stroke3`: numeric, finite,
    shape (n, 3), pen values 0 or 1, not empty); `allow_empty` lets an empty sketch (or None)
    through as a blank grid cell.
    """
    if strokes is None and allow_empty:
        return np.zeros((0, 3))
    arr = check_stroke3(strokes, min_points=0 if allow_empty else 1, error=RenderError, where=what)
    return arr.astype(np.float64)


def positive(name: str, value: Any, *, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise RenderError(f"{name} must be a number; got {value!r}").about(name)
    value = float(value)
    ok = value >= 0 if allow_zero else value > 0
    if not (math.isfinite(value) and ok):
        cmp = ">= 0" if allow_zero else "> 0"
        raise RenderError(f"{name} must be finite and {cmp}; got {value!r}").about(name)
    return value


def write_output(path: Any, data: Any, what: str) -> Any:
    """Writes a picture (SVG text, or PNG/GIF bytes) to `path` atomically if one is given.

    Returns `data`, so that a renderer ends with `return write_output(path, svg, "SVG")`.
    Raises `RenderError` naming `what` for a path that cannot be written.
    """
    if path is not None:
        write = write_text if isinstance(data, str) else write_bytes
        write(path, data, error=RenderError, what=what)
    return data
