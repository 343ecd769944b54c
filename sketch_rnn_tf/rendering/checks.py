"""Checks shared by the rendering modules: the error class, stroke-3 input, positive numbers."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from ..errors import SketchRNNError


class RenderError(SketchRNNError):
    """Invalid input for rendering, or an SVG file that could not be written."""


def as_strokes(strokes: Any, *, allow_empty: bool = False, what: str = "sketch") -> np.ndarray:
    """Returns ``strokes`` as a float64 ``(n, 3)`` array, or raises :class:`RenderError`."""
    if strokes is None:
        if allow_empty:
            return np.zeros((0, 3))
        raise RenderError(f"{what} is None; expected a stroke-3 array of shape (n, 3)")
    try:
        arr = np.asarray(strokes)
    except (ValueError, TypeError) as e:  # ragged nested lists
        raise RenderError(f"{what} is not a rectangular array of shape (n, 3): {e}") from None
    if arr.size == 0:
        if allow_empty:
            return np.zeros((0, 3))
        raise RenderError(f"{what} is empty (shape {arr.shape}); there is nothing to draw")
    if arr.dtype.kind not in "biuf":
        raise RenderError(f"{what} must be numeric; got an array of dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise RenderError(
            f"{what} must be a stroke-3 array of shape (n, 3) with rows [dx, dy, pen_lifted]; "
            f"got shape {arr.shape}"
        )
    arr = arr.astype(np.float64)
    finite = np.isfinite(arr)
    if not finite.all():
        row, col = np.argwhere(~finite)[0]
        raise RenderError(
            f"{what} contains non-finite values (first at row {row}, column {col}: {arr[row, col]})"
        )
    pen = arr[:, 2]
    bad = (pen != 0) & (pen != 1)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise RenderError(
            f"{what}: pen_lifted (column 2) must be 0 or 1; row {row} has {pen[row]}"
        )
    return arr


def positive(name: str, value: Any, *, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise RenderError(f"{name} must be a number; got {value!r}")
    value = float(value)
    ok = value >= 0 if allow_zero else value > 0
    if not (math.isfinite(value) and ok):
        cmp = ">= 0" if allow_zero else "> 0"
        raise RenderError(f"{name} must be finite and {cmp}; got {value!r}")
    return value
