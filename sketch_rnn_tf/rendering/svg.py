"""SVG rendering of stroke-3 sketches.

A stroke-3 sketch is an ``(n, 3)`` array whose rows are ``[dx, dy, pen_lifted]``:
``dx, dy`` is the offset of the point from the previous point (the first row's offset
is from the origin ``(0, 0)``), and ``pen_lifted == 1`` means the pen is lifted *after*
this point, so the next point starts a new stroke.  The origin itself is not drawn: the
first row's point starts the first stroke (this is what Magenta's ``draw_strokes`` does).
The y axis points down, as in the QuickDraw data and in SVG.

Scale convention (shared with Magenta's notebook): ``factor`` is the number of data units
per SVG pixel, i.e. ``pixel = value / factor``.  The default ``factor=0.2`` draws one data
unit as 5 pixels.

Differences from Magenta's helper:

* every stroke is its own ``<polyline class="stroke">`` with absolute (rounded)
  coordinates, so strokes can be coloured individually and rounding errors do not
  accumulate along the drawing;
* the bounds are those of the drawn points (the undrawn origin is not included);
* a stroke made of a single point is drawn as a dot (its point is repeated, and the round
  line cap makes the zero-length segment visible);
* inputs are validated (:class:`RenderError`) and files are written atomically.
"""

from __future__ import annotations

import math
import numbers
import os
import tempfile
from typing import Any, Sequence

import numpy as np
import svgwrite

from ..errors import SketchRNNError

__all__ = [
    "RenderError",
    "strokes_to_polylines",
    "stroke_bounds",
    "stroke_colors",
    "interpolate_colors",
    "grid_colors",
    "render_svg",
    "render_grid",
    "display_svg",
]

_DECIMALS = 3


class RenderError(SketchRNNError):
    """Invalid input for rendering, or an SVG file that could not be written."""


# --------------------------------------------------------------------------- validation


def _as_strokes(strokes: Any, *, allow_empty: bool = False, what: str = "sketch") -> np.ndarray:
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


def _positive(name: str, value: Any, *, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise RenderError(f"{name} must be a number; got {value!r}")
    value = float(value)
    ok = value >= 0 if allow_zero else value > 0
    if not (math.isfinite(value) and ok):
        cmp = ">= 0" if allow_zero else "> 0"
        raise RenderError(f"{name} must be finite and {cmp}; got {value!r}")
    return value


# --------------------------------------------------------------------------- geometry


def strokes_to_polylines(strokes: Any) -> list[np.ndarray]:
    """Splits a stroke-3 sketch into pen-down polylines of absolute points.

    Returns a list with one ``(k, 2)`` float array per stroke (``k >= 1``), in drawing
    order.  The points are the cumulative sums of the offsets, in data units.  An empty
    sketch (0 rows) gives an empty list.
    """
    arr = _as_strokes(strokes, allow_empty=True)
    if len(arr) == 0:
        return []
    xy = np.cumsum(arr[:, :2], axis=0)
    ends = np.flatnonzero(arr[:, 2] == 1) + 1  # a stroke ends after each lifted row
    pieces = np.split(xy, ends[ends < len(arr)])
    return [p for p in pieces if len(p)]


def stroke_bounds(strokes: Any) -> tuple[float, float, float, float]:
    """``(min_x, max_x, min_y, max_y)`` of the drawn points, in data units."""
    arr = _as_strokes(strokes)
    xy = np.cumsum(arr[:, :2], axis=0)
    (min_x, min_y), (max_x, max_y) = xy.min(axis=0), xy.max(axis=0)
    return float(min_x), float(max_x), float(min_y), float(max_y)


def _round(v: float) -> float | int:
    """Rounds to ``_DECIMALS`` places; integral values become ints (so "25", not "25.0")."""
    r = round(float(v), _DECIMALS)
    return int(r) if r.is_integer() else r  # also turns -0.0 into 0


def _points(poly_px: np.ndarray) -> list[tuple[float, float]]:
    pts = [(_round(x), _round(y)) for x, y in poly_px]
    if len(pts) == 1:  # a dot: zero-length segment made visible by the round cap
        pts = pts * 2
    return pts


# --------------------------------------------------------------------------- colours


def _parse_color(c: Any) -> np.ndarray:
    """An RGB colour as 3 floats in 0..255, from a ``#rgb``/``#rrggbb`` string or a triple."""
    if isinstance(c, str):
        s = c.strip()
        if s.startswith("#") and len(s) in (4, 7):
            h = s[1:]
            if len(h) == 3:
                h = "".join(ch * 2 for ch in h)
            try:
                return np.array([int(h[i : i + 2], 16) for i in (0, 2, 4)], dtype=np.float64)
            except ValueError:
                pass
        raise RenderError(f"cannot interpolate colour {c!r}: use '#rrggbb' or an (r, g, b) triple")
    arr = np.asarray(c, dtype=np.float64) if not isinstance(c, np.ndarray) else c.astype(np.float64)
    if arr.shape != (3,) or not np.isfinite(arr).all():
        raise RenderError(f"a colour must be an (r, g, b) triple in 0..255; got {c!r}")
    return arr


def _css_color(c: Any) -> str:
    """A colour for an SVG attribute: strings pass through, RGB triples (0..255) become hex."""
    if isinstance(c, str):
        if not c.strip():
            raise RenderError("colour must not be an empty string")
        return c
    rgb = np.clip(np.rint(_parse_color(c)), 0, 255).astype(int)
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def interpolate_colors(c0: Any, c1: Any, n: int) -> np.ndarray:
    """``n`` colours linearly interpolated in RGB from ``c0`` to ``c1`` (both included).

    Colours are ``'#rrggbb'`` strings or ``(r, g, b)`` triples in 0..255.  Returns an
    ``(n, 3)`` float array (0..255); ``n == 1`` gives ``[c0]``.
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise RenderError(f"n must be a positive integer; got {n!r}")
    a, b = _parse_color(c0), _parse_color(c1)
    t = np.linspace(0.0, 1.0, int(n)) if n > 1 else np.zeros(1)
    return a[None, :] * (1.0 - t[:, None]) + b[None, :] * t[:, None]


def grid_colors(corner_colors: Sequence[Any], rows: int, cols: int) -> np.ndarray:
    """Bilinear RGB interpolation of four corner colours over a ``rows x cols`` grid.

    ``corner_colors`` is ``(top_left, top_right, bottom_left, bottom_right)``, each a
    ``'#rrggbb'`` string or an ``(r, g, b)`` triple in 0..255.  Returns a
    ``(rows, cols, 3)`` float array, usable directly as ``render_grid(colors=...)``.
    """
    if len(corner_colors) != 4:
        raise RenderError(
            "corner_colors must hold 4 colours (top_left, top_right, bottom_left, bottom_right); "
            f"got {len(corner_colors)}"
        )
    for name, v in (("rows", rows), ("cols", cols)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            raise RenderError(f"{name} must be a positive integer; got {v!r}")
    tl, tr, bl, br = (_parse_color(c) for c in corner_colors)
    top = interpolate_colors(tl, tr, cols)  # (cols, 3)
    bottom = interpolate_colors(bl, br, cols)
    v = np.linspace(0.0, 1.0, rows) if rows > 1 else np.zeros(1)
    return top[None] * (1.0 - v[:, None, None]) + bottom[None] * v[:, None, None]


def _oklab_to_srgb(lab: np.ndarray) -> np.ndarray:
    """OKLab -> sRGB in 0..1 (clipped), following Ottosson's published definition."""
    L, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    l_ = L + 0.3963377774 * a + 0.2158037573 * b
    m_ = L - 0.1055613458 * a - 0.0638541728 * b
    s_ = L - 0.0894841775 * a - 1.2914855480 * b
    l, m, s = l_**3, m_**3, s_**3
    r = 4.0767416621 * l - 3.3077115913 * m + 0.2309699292 * s
    g = -1.2684380046 * l + 2.6097574011 * m - 0.3413193965 * s
    bb = -0.0041960863 * l - 0.7034186147 * m + 1.7076147010 * s
    lin = np.clip(np.stack([r, g, bb], axis=-1), 0.0, 1.0)
    return np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * np.power(lin, 1 / 2.4) - 0.055)


def stroke_colors(n: int, *, lightness: float = 0.62, chroma: float = 0.14,
                  start_hue: float = 20.0, hue_span: float = 290.0) -> list[str]:
    """``n`` hex colours on a perceptual hue ramp (constant OKLCH lightness and chroma).

    The hue runs over ``hue_span`` degrees (less than a full turn, so the first and the
    last stroke never get the same colour): with the defaults it goes red, orange, yellow-
    green, green, teal, blue, violet.  Used by ``color_by_stroke``.
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise RenderError(f"n must be a non-negative integer; got {n!r}")
    if n == 0:
        return []
    t = np.linspace(0.0, 1.0, int(n)) if n > 1 else np.zeros(1)
    h = np.deg2rad(start_hue + hue_span * t)
    lab = np.stack([np.full_like(h, lightness), chroma * np.cos(h), chroma * np.sin(h)], axis=-1)
    rgb = _oklab_to_srgb(lab) * 255.0
    return [_css_color(c) for c in rgb]


# --------------------------------------------------------------------------- file output


def _write_atomic(path: Any, text: str) -> None:
    """Writes ``text`` to ``path`` through a temporary file and ``os.replace``."""
    try:
        path = os.fspath(path)
    except TypeError:
        raise RenderError(f"path must be a str or os.PathLike; got {path!r}") from None
    if not path:
        raise RenderError("path must not be empty")
    target = os.path.abspath(path)
    directory = os.path.dirname(target)
    if os.path.isdir(target):
        raise RenderError(f"cannot write SVG to {path!r}: it is a directory")
    if not os.path.isdir(directory):
        reason = "it is not a directory" if os.path.exists(directory) else "it does not exist"
        raise RenderError(f"cannot write SVG to {path!r}: parent directory {directory!r}: {reason}")
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(target) + ".", suffix=".tmp",
                                   dir=directory)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file 0600; give it the mode a normal open() would have.
        try:
            mode = os.stat(target).st_mode & 0o7777
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        os.replace(tmp, target)
        tmp = None
    except OSError as e:
        reason = e.strerror or str(e)
        raise RenderError(f"cannot write SVG to {path!r}: {reason}") from e
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


# --------------------------------------------------------------------------- rendering


def _new_drawing(width: float, height: float, background: Any) -> svgwrite.Drawing:
    w, h = _round(width), _round(height)
    dwg = svgwrite.Drawing(size=(w, h), debug=False)
    dwg.viewbox(0, 0, w, h)
    if background is not None:
        dwg.add(dwg.rect(insert=(0, 0), size=(w, h), fill=_css_color(background),
                         class_="background"))
    return dwg


def _add_strokes(dwg: svgwrite.Drawing, parent: Any, polylines_px: list[np.ndarray],
                 color: Any, color_by_stroke: bool) -> None:
    colors = (stroke_colors(len(polylines_px)) if color_by_stroke
              else [_css_color(color)] * len(polylines_px))
    for poly, c in zip(polylines_px, colors):
        parent.add(dwg.polyline(points=_points(poly), stroke=c, class_="stroke"))


def _stroke_group(dwg: svgwrite.Drawing, stroke_width: float, **extra: Any) -> Any:
    return dwg.g(fill="none", stroke_width=_round(stroke_width), stroke_linecap="round",
                 stroke_linejoin="round", **extra)


def render_svg(strokes: Any, path: Any = None, factor: float = 0.2, stroke_width: float = 1,
               color: Any = "black", color_by_stroke: bool = False, padding: float = 25,
               background: Any = None) -> str:
    """Draws one stroke-3 sketch as SVG and returns the SVG text.

    Args:
      strokes: ``(n, 3)`` stroke-3 array, ``n >= 1``.
      path: if given (str or PathLike), the SVG text is also written there, atomically.
      factor: data units per pixel (``pixel = value / factor``), as in Magenta.
      stroke_width: line width in pixels.
      color: line colour: any SVG colour string, or an ``(r, g, b)`` triple in 0..255.
      color_by_stroke: colour each stroke by its order on a perceptual hue ramp
        (:func:`stroke_colors`) instead of ``color``.
      padding: blank margin in pixels around the drawing's bounding box.
      background: optional fill colour of the whole image (transparent if None).

    The image is ``(max_x - min_x) / factor + 2 * padding`` wide (similarly high) and a
    point with absolute data coordinates ``(X, Y)`` is drawn at
    ``(padding + (X - min_x) / factor, padding + (Y - min_y) / factor)``.
    """
    arr = _as_strokes(strokes)
    factor = _positive("factor", factor)
    stroke_width = _positive("stroke_width", stroke_width, allow_zero=True)
    padding = _positive("padding", padding, allow_zero=True)
    polylines = strokes_to_polylines(arr)
    min_x, max_x, min_y, max_y = stroke_bounds(arr)
    width = (max_x - min_x) / factor + 2 * padding
    height = (max_y - min_y) / factor + 2 * padding
    offset = np.array([padding - min_x / factor, padding - min_y / factor])
    dwg = _new_drawing(width, height, background)
    group = _stroke_group(dwg, stroke_width, class_="sketch")
    _add_strokes(dwg, group, [p / factor + offset for p in polylines], color, color_by_stroke)
    dwg.add(group)
    svg = dwg.tostring()
    if path is not None:
        _write_atomic(path, svg)
    return svg


# --------------------------------------------------------------------------- grids


def _nest_depth(x: Any) -> int | None:
    """Array nesting depth of ``x`` (None for None/blank); lists use their deepest item."""
    if x is None:
        return None
    if isinstance(x, np.ndarray):
        return x.ndim
    if isinstance(x, (list, tuple)):
        depths = [d for d in (_nest_depth(e) for e in x) if d is not None]
        return 1 + (max(depths) if depths else 0)
    return 0


def _is_list_of_rows(items: Sequence[Any]) -> bool:
    """True if ``items`` is a list of rows of sketches rather than a flat list of sketches."""
    if not items or not all(isinstance(e, (list, tuple)) for e in items):
        return False
    depths = [_nest_depth(e) for e in items]
    return any(d is not None and d >= 3 for d in depths)


def _is_color_triple(x: Any) -> bool:
    return (isinstance(x, (list, tuple, np.ndarray)) and len(x) == 3
            and all(isinstance(v, numbers.Real) for v in x))


def _to_grid(items: Any, name: str, nrows: int, ncols: int, nested: bool | None = None
             ) -> list[list[Any]]:
    """Arranges per-cell values (flat row-major, or a list of rows) into ``nrows x ncols``.

    ``nested=None`` guesses: a list whose entries are all lists/tuples (and, for colours,
    not ``(r, g, b)`` triples) is a list of rows.
    """
    if items is None:
        return [[None] * ncols for _ in range(nrows)]
    if isinstance(items, np.ndarray):
        if name == "colors" and items.ndim == 3 and items.shape[-1] == 3:
            items = [list(r) for r in items]  # (rows, cols, 3), e.g. from grid_colors
        elif name == "colors" and items.ndim == 2 and items.shape[-1] == 3:
            items = list(items)  # (n, 3), e.g. from interpolate_colors
        else:
            items = items.tolist()
    if isinstance(items, (str, bytes)):
        raise RenderError(f"{name} must be a list (one entry per cell), not a string")
    items = list(items)
    if nested is None:
        nested = bool(items) and all(
            isinstance(r, (list, tuple)) and not (name == "colors" and _is_color_triple(r))
            for r in items)
    grid = [[None] * ncols for _ in range(nrows)]
    if nested:
        if len(items) > nrows or any(len(r) > ncols for r in items):
            raise RenderError(f"{name} has more rows or columns than the grid ({nrows} x {ncols})")
        for i, r in enumerate(items):
            for j, v in enumerate(r):
                grid[i][j] = v
    else:
        if len(items) > nrows * ncols:
            raise RenderError(f"{name} has {len(items)} entries for a grid of {nrows * ncols} cells")
        for k, v in enumerate(items):
            grid[k // ncols][k % ncols] = v
    return grid


def render_grid(sketches: Any, ncols: int | None = None, cell_size: Any = 100, path: Any = None,
                colors: Any = None, labels: Any = None, stroke_width: float = 1,
                color: Any = "black", color_by_stroke: bool = False, cell_padding: float = 8,
                margin: float = 0, background: Any = None, cell_border: Any = None,
                font_size: float = 10, label_color: Any = "#333333",
                uniform_scale: bool = False) -> str:
    """Draws sketches on a grid, each scaled to fit its cell and centred in it.

    Args:
      sketches: a flat list of stroke-3 arrays laid out row-major with ``ncols`` columns
        (default ``ceil(sqrt(len))``), or a list of rows (list of lists; short rows are
        padded with blank cells).  ``None`` or an empty array is a blank cell.
      ncols: number of columns for a flat list (for a list of rows, at least the longest row).
      cell_size: cell size in pixels, a number or ``(width, height)``.
      path: if given, the SVG text is also written there, atomically.
      colors: per-cell line colours, flat or as rows (e.g. ``grid_colors(...)``, an
        ``(rows, cols, 3)`` array); a ``None`` entry falls back to ``color``.
      labels: optional per-cell text, flat or as rows, drawn under each cell.
      stroke_width: line width in pixels (the same in every cell, whatever the scale).
      color, color_by_stroke: as in :func:`render_svg` (``colors`` wins over both).
      cell_padding: blank margin in pixels inside each cell around the sketch.
      margin: blank margin in pixels around the whole grid.
      background: optional fill colour of the image.
      cell_border: optional colour of a 1 px outline around each cell.
      font_size, label_color: label text style.
      uniform_scale: use one scale (the smallest fitting one) for all cells, so that the
        sketches' relative sizes are kept.

    Cell ``(r, c)`` occupies ``x in [margin + c * w, margin + (c + 1) * w]`` and
    ``y in [margin + r * h', margin + r * h' + h]`` where ``h' = h + label_height``
    (``label_height = 1.5 * font_size`` when there are labels, else 0).  Each cell is an
    SVG ``<g class="cell" id="cell-r-c">`` holding its ``<polyline class="stroke">``s.
    """
    if isinstance(sketches, np.ndarray) and sketches.dtype != object:
        raise RenderError("sketches must be a list of stroke-3 arrays (or a list of rows), "
                          f"not a single array of shape {sketches.shape}")
    if sketches is None or isinstance(sketches, (str, bytes)):
        raise RenderError("sketches must be a list of stroke-3 arrays (or a list of rows)")
    sketches = list(sketches)
    if not sketches:
        raise RenderError("sketches is empty; there is nothing to draw")
    rows_given = _is_list_of_rows(sketches)
    if rows_given:
        longest = max(len(r) for r in sketches)
        if ncols is None:
            ncols = longest
    if ncols is None:
        ncols = math.ceil(math.sqrt(len(sketches)))
    if isinstance(ncols, bool) or not isinstance(ncols, numbers.Integral) or ncols < 1:
        raise RenderError(f"ncols must be a positive integer; got {ncols!r}")
    ncols = int(ncols)
    if rows_given:
        if ncols < longest:
            raise RenderError(f"ncols={ncols} is less than the longest row ({longest} sketches)")
        nrows = len(sketches)
    else:
        nrows = math.ceil(len(sketches) / ncols)
    if isinstance(cell_size, (tuple, list)):
        if len(cell_size) != 2:
            raise RenderError(f"cell_size must be a number or (width, height); got {cell_size!r}")
        cw, ch = (_positive("cell_size", v) for v in cell_size)
    else:
        cw = ch = _positive("cell_size", cell_size)
    stroke_width = _positive("stroke_width", stroke_width, allow_zero=True)
    cell_padding = _positive("cell_padding", cell_padding, allow_zero=True)
    margin = _positive("margin", margin, allow_zero=True)
    if 2 * cell_padding >= min(cw, ch):
        raise RenderError(f"cell_padding={cell_padding} leaves no room in a {cw} x {ch} cell")

    grid = _to_grid(sketches, "sketches", nrows, ncols, nested=rows_given)
    color_grid = _to_grid(colors, "colors", nrows, ncols)
    label_grid = _to_grid(labels, "labels", nrows, ncols)
    has_labels = labels is not None
    font_size = _positive("font_size", font_size) if has_labels else font_size
    label_h = 1.5 * font_size if has_labels else 0.0
    row_h = ch + label_h

    # Validate every cell and compute its bounds before drawing anything.
    cells: dict[tuple[int, int], tuple[list[np.ndarray], np.ndarray, np.ndarray]] = {}
    for r in range(nrows):
        for c in range(ncols):
            arr = _as_strokes(grid[r][c], allow_empty=True, what=f"sketch at cell ({r}, {c})")
            if len(arr) == 0:
                continue
            polys = strokes_to_polylines(arr)
            pts = np.concatenate(polys)
            lo, hi = pts.min(axis=0), pts.max(axis=0)
            cells[(r, c)] = (polys, lo, hi)

    avail = np.array([cw - 2 * cell_padding, ch - 2 * cell_padding])

    def fit(lo: np.ndarray, hi: np.ndarray) -> float:
        ext = hi - lo
        with np.errstate(divide="ignore"):
            s = np.where(ext > 0, avail / np.where(ext > 0, ext, 1.0), np.inf)
        s = float(s.min())
        return s if math.isfinite(s) else 1.0  # a single point: any scale will do

    scales = {k: fit(lo, hi) for k, (_, lo, hi) in cells.items()}
    if uniform_scale and scales:
        common = min(scales.values())
        scales = {k: common for k in scales}

    width = 2 * margin + ncols * cw
    height = 2 * margin + nrows * row_h
    dwg = _new_drawing(width, height, background)
    for r in range(nrows):
        for c in range(ncols):
            x0, y0 = margin + c * cw, margin + r * row_h
            group = _stroke_group(dwg, stroke_width, class_="cell", id=f"cell-{r}-{c}")
            if cell_border is not None:
                group.add(dwg.rect(insert=(_round(x0), _round(y0)), size=(_round(cw), _round(ch)),
                                   stroke=_css_color(cell_border), stroke_width=1,
                                   class_="cell-border"))
            if (r, c) in cells:
                polys, lo, hi = cells[(r, c)]
                s = scales[(r, c)]
                centre = np.array([x0 + cw / 2, y0 + ch / 2])
                mid = (lo + hi) / 2
                px = [(p - mid) * s + centre for p in polys]
                cell_color = color_grid[r][c]
                if cell_color is not None:
                    _add_strokes(dwg, group, px, cell_color, False)
                else:
                    _add_strokes(dwg, group, px, color, color_by_stroke)
            label = label_grid[r][c]
            if label is not None and str(label) != "":
                group.add(dwg.text(str(label), insert=(_round(x0 + cw / 2),
                                                       _round(y0 + ch + 1.1 * font_size)),
                                   font_size=_round(font_size), text_anchor="middle",
                                   font_family="sans-serif", fill=_css_color(label_color),
                                   stroke="none", class_="label"))
            dwg.add(group)
    svg = dwg.tostring()
    if path is not None:
        _write_atomic(path, svg)
    return svg


# --------------------------------------------------------------------------- notebooks


def display_svg(svg_string_or_strokes: Any, **kw: Any) -> Any:
    """Returns an ``IPython.display.SVG`` of an SVG string or of a stroke-3 sketch.

    A sketch is rendered with ``render_svg(strokes, **kw)``; keyword arguments are not
    accepted together with an SVG string.  The object shows inline when it is the last
    expression of a notebook cell (or pass it to ``IPython.display.display``).
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
            raise TypeError(f"display_svg: keyword arguments {sorted(kw)} apply only to strokes, "
                            "not to an SVG string")
        svg = svg_string_or_strokes
    else:
        svg = render_svg(svg_string_or_strokes, **kw)
    return SVG(data=svg)
