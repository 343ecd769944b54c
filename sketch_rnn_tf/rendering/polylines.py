"""Geometry of stroke-3 sketches for drawing: pen-down polylines, bounds, pixel rounding."""

from __future__ import annotations

from typing import Any

import numpy as np

from .inputs import as_strokes

_DECIMALS = 3


def strokes_to_polylines(strokes: Any) -> list[np.ndarray]:
    """Splits a stroke-3 sketch into pen-down polylines of absolute points.

    Returns a list with one `(k, 2)` float array per stroke (`k >= 1`), in drawing
    order.  The points are the cumulative sums of the offsets, in data units.  An empty
    sketch (0 rows) gives an empty list.
    """
    arr = as_strokes(strokes, allow_empty=True)
    if len(arr) == 0:
        return []
    xy = np.cumsum(arr[:, :2], axis=0)
    ends = np.flatnonzero(arr[:, 2] == 1) + 1  # a stroke ends after each lifted row
    pieces = np.split(xy, ends[ends < len(arr)])
    return [p for p in pieces if len(p)]


def stroke_bounds(strokes: Any) -> tuple[float, float, float, float]:
    """`(min_x, max_x, min_y, max_y)` of the drawn points, in data units."""
    arr = as_strokes(strokes)
    xy = np.cumsum(arr[:, :2], axis=0)
    (min_x, min_y), (max_x, max_y) = xy.min(axis=0), xy.max(axis=0)
    return float(min_x), float(max_x), float(min_y), float(max_y)


def round_px(v: float) -> float | int:
    """Rounds to `_DECIMALS` places; integral values become ints (so "25", not "25.0")."""
    r = round(float(v), _DECIMALS)
    return int(r) if r.is_integer() else r  # also turns -0.0 into 0


def points(poly_px: np.ndarray) -> list[tuple[float, float]]:
    pts = [(round_px(x), round_px(y)) for x, y in poly_px]
    if len(pts) == 1:  # a dot: zero-length segment made visible by the round cap
        pts = pts * 2
    return pts


def first_points(polylines: list[np.ndarray], n: int) -> list[np.ndarray]:
    """The first `n` points of a drawing given as polylines, in drawing order.

    The stroke being drawn keeps its first points; later strokes are left out. `n <= 0` gives `[]`.
    """
    out = []
    for poly in polylines:
        if n <= 0:
            break
        out.append(poly[:n])
        n -= len(poly)
    return out
