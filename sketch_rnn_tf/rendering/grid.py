"""Sketches on a grid: `render_grid` lays out rows of sketches, each scaled to fit its cell."""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any, Callable, Sequence

import numpy as np

from .colors import css_color
from .drawing import add_strokes, new_drawing, stroke_group
from .inputs import RenderError, as_strokes, positive, write_output
from .polylines import first_points, round_px, strokes_to_polylines


def _nest_depth(x: Any) -> int | None:
    """Array nesting depth of `x` (None for None/blank); lists use their deepest item."""
    if x is None:
        return None
    if isinstance(x, np.ndarray):
        return x.ndim
    if isinstance(x, (list, tuple)):
        depths = [d for d in (_nest_depth(e) for e in x) if d is not None]
        return 1 + (max(depths) if depths else 0)
    return 0


def _is_list_of_rows(items: Sequence[Any]) -> bool:
    """True if `items` is a list of rows of sketches rather than a flat list of sketches."""
    if not items or not all(isinstance(e, (list, tuple)) for e in items):
        return False
    depths = [_nest_depth(e) for e in items]
    return any(d is not None and d >= 3 for d in depths)


def _is_color_triple(x: Any) -> bool:
    return (
        isinstance(x, (list, tuple, np.ndarray))
        and len(x) == 3
        and all(isinstance(v, numbers.Real) for v in x)
    )


def _to_grid(
    items: Any, name: str, nrows: int, ncols: int, nested: bool | None = None
) -> list[list[Any]]:
    """Arranges per-cell values (flat row-major, or a list of rows) into `nrows x ncols`.

    `nested=None` guesses: a list whose entries are all lists/tuples (and, for colours,
    not `(r, g, b)` triples) is a list of rows.
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
            for r in items
        )
    grid = [[None] * ncols for _ in range(nrows)]
    if nested:
        if len(items) > nrows or any(len(r) > ncols for r in items):
            raise RenderError(f"{name} has more rows or columns than the grid ({nrows} x {ncols})")
        for i, r in enumerate(items):
            for j, v in enumerate(r):
                grid[i][j] = v
    else:
        if len(items) > nrows * ncols:
            raise RenderError(
                f"{name} has {len(items)} entries for a grid of {nrows * ncols} cells"
            )
        for k, v in enumerate(items):
            grid[k // ncols][k % ncols] = v
    return grid


@dataclasses.dataclass(frozen=True)
class GridStyle:
    """How `render_grid` draws: everything but the layout and the per-cell contents.

    Attributes:
      stroke_width: line width in pixels (the same in every cell, whatever the scale).
      color: line colour (any SVG colour string or an `(r, g, b)` triple in 0..255) of cells
        without their own colour.
      color_by_stroke: colour each stroke by its order on a hue ramp (`stroke_colors`)
        instead of `color`; per-cell `colors` win over both.
      cell_padding: blank margin in pixels inside each cell around the sketch.
      margin: blank margin in pixels around the whole grid.
      background: optional fill colour of the image.
      cell_border: optional colour of a 1 px outline around each cell.
      font_size: label text size in pixels.
      label_color: label text colour.
      uniform_scale: use one scale (the smallest fitting one) for all cells, so that the
        sketches' relative sizes are kept.
    """

    stroke_width: float = 1
    color: Any = "black"
    color_by_stroke: bool = False
    cell_padding: float = 8
    margin: float = 0
    background: Any = None
    cell_border: Any = None
    font_size: float = 10
    label_color: Any = "#333333"
    uniform_scale: bool = False


def _style(style: GridStyle | None, options: dict) -> GridStyle:
    if style is not None and not isinstance(style, GridStyle):
        raise RenderError(f"style must be a GridStyle, got {type(style).__name__}")
    names = {f.name for f in dataclasses.fields(GridStyle)}
    unknown = sorted(set(options) - names)
    if unknown:
        raise RenderError(
            f"render_grid got unknown style options {unknown}; GridStyle has {sorted(names)}"
        )
    return dataclasses.replace(style or GridStyle(), **options)


def render_grid(
    sketches: Any,
    ncols: int | None = None,
    cell_size: Any = 100,
    path: Any = None,
    colors: Any = None,
    labels: Any = None,
    style: GridStyle | None = None,
    **style_options: Any,
) -> str:
    """Draws sketches on a grid, each scaled to fit its cell and centred in it.

    Cell `(r, c)` occupies `x in [margin + c * w, margin + (c + 1) * w]` and
    `y in [margin + r * h', margin + r * h' + h]` where `h' = h + label_height`
    (`label_height = 1.5 * font_size` when there are labels, else 0).  Each cell is an
    SVG `<g class="cell" id="cell-r-c">` holding its `<polyline class="stroke">`s.

    Args:
      sketches: a flat list of stroke-3 arrays laid out row-major with `ncols` columns
        (default `ceil(sqrt(len))`), or a list of rows (list of lists; short rows are
        padded with blank cells).  `None` or an empty array is a blank cell.
      ncols: number of columns for a flat list (for a list of rows, at least the longest row).
      cell_size: cell size in pixels, a number or `(width, height)`.
      path: if given, the SVG text is also written there, atomically.
      colors: per-cell line colours, flat or as rows (e.g. `grid_colors(...)`, an
        `(rows, cols, 3)` array); a `None` entry falls back to `color`.
      labels: optional per-cell text, flat or as rows, drawn under each cell.
      style: a `GridStyle` (line width and colour, paddings, background, borders, label
        font, uniform scale); default `GridStyle()`.
      **style_options: single `GridStyle` fields that replace those of `style`, e.g.
        `render_grid(sketches, stroke_width=1.5, color_by_stroke=True)`.

    Returns:
      The SVG text.

    Example:
    >>> import numpy as np
    >>> from sketch_rnn_tf.rendering import render_grid
    >>> square = np.array([[0, 0, 0], [10, 0, 0], [0, 10, 0], [-10, 0, 0], [0, -10, 1]])
    >>> triangle = np.array([[0, 0, 0], [10, 0, 0], [-5, 8, 0], [-5, -8, 1]])
    >>> svg = render_grid([square, triangle, None], ncols=2, labels=["a", "b", "blank"])
    >>> svg.count('class="cell"'), svg.count('class="stroke"')
    (4, 2)
    """
    draw = grid_renderer(sketches, ncols, cell_size, colors, labels, style, **style_options)
    svg = draw()
    return write_output(path, svg, "SVG")


def grid_renderer(
    sketches: Any,
    ncols: int | None = None,
    cell_size: Any = 100,
    colors: Any = None,
    labels: Any = None,
    style: GridStyle | None = None,
    **style_options: Any,
) -> Callable[..., str]:
    """Checks and lays out a grid once; returns `draw(progress=None) -> SVG text`.

    The arguments are `render_grid`'s. `draw()` is `render_grid`'s SVG; `draw(progress)` with
    `progress` in [0, 1] draws only the first `ceil(progress * n)` points of each cell's `n`
    (`draw(progress, start)`: the first `start` and `ceil(progress * (n - start))` more), in
    the places and colours of the whole grid (the frames of `render_grid_gif`). `draw.max_points`
    is the largest `n`.
    """
    st = _style(style, style_options)
    stroke_width, color, color_by_stroke = st.stroke_width, st.color, st.color_by_stroke
    cell_padding, margin, background = st.cell_padding, st.margin, st.background
    cell_border, font_size, label_color = st.cell_border, st.font_size, st.label_color
    if isinstance(sketches, np.ndarray) and sketches.dtype != object:
        raise RenderError(
            "sketches must be a list of stroke-3 arrays (or a list of rows), "
            f"not a single array of shape {sketches.shape}"
        )
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
        cw, ch = (positive("cell_size", v) for v in cell_size)
    else:
        cw = ch = positive("cell_size", cell_size)
    stroke_width = positive("stroke_width", stroke_width, allow_zero=True)
    cell_padding = positive("cell_padding", cell_padding, allow_zero=True)
    margin = positive("margin", margin, allow_zero=True)
    if 2 * cell_padding >= min(cw, ch):
        raise RenderError(f"cell_padding={cell_padding} leaves no room in a {cw} x {ch} cell")

    grid = _to_grid(sketches, "sketches", nrows, ncols, nested=rows_given)
    color_grid = _to_grid(colors, "colors", nrows, ncols)
    label_grid = _to_grid(labels, "labels", nrows, ncols)
    has_labels = labels is not None
    font_size = positive("font_size", font_size) if has_labels else font_size
    label_h = 1.5 * font_size if has_labels else 0.0
    row_h = ch + label_h

    # Validate every cell and compute its bounds before drawing anything.
    cells: dict[tuple[int, int], tuple[list[np.ndarray], np.ndarray, np.ndarray]] = {}
    for r in range(nrows):
        for c in range(ncols):
            arr = as_strokes(grid[r][c], allow_empty=True, what=f"sketch at cell ({r}, {c})")
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
    if st.uniform_scale and scales:
        common = min(scales.values())
        scales = {k: common for k in scales}

    width = 2 * margin + ncols * cw
    height = 2 * margin + nrows * row_h

    def draw(progress: float | None = None, start: int = 0) -> str:
        dwg = new_drawing(width, height, background)
        for r in range(nrows):
            for c in range(ncols):
                x0, y0 = margin + c * cw, margin + r * row_h
                group = stroke_group(dwg, stroke_width, class_="cell", id=f"cell-{r}-{c}")
                if cell_border is not None:
                    group.add(
                        dwg.rect(
                            insert=(round_px(x0), round_px(y0)),
                            size=(round_px(cw), round_px(ch)),
                            stroke=css_color(cell_border),
                            stroke_width=1,
                            class_="cell-border",
                        )
                    )
                if (r, c) in cells:
                    polys, lo, hi = cells[(r, c)]
                    s = scales[(r, c)]
                    centre = np.array([x0 + cw / 2, y0 + ch / 2])
                    mid = (lo + hi) / 2
                    px = [(p - mid) * s + centre for p in polys]
                    n_strokes = len(px)
                    if progress is not None:
                        total = sum(len(p) for p in px)
                        shown = min(start, total) + math.ceil(progress * max(total - start, 0))
                        px = first_points(px, shown)
                    cell_color = color_grid[r][c]
                    if cell_color is not None:
                        add_strokes(dwg, group, px, cell_color, False)
                    else:
                        add_strokes(dwg, group, px, color, color_by_stroke, n_strokes=n_strokes)
                label = label_grid[r][c]
                if label is not None and str(label) != "":
                    group.add(
                        dwg.text(
                            str(label),
                            insert=(round_px(x0 + cw / 2), round_px(y0 + ch + 1.1 * font_size)),
                            font_size=round_px(font_size),
                            text_anchor="middle",
                            font_family="sans-serif",
                            fill=css_color(label_color),
                            stroke="none",
                            class_="label",
                        )
                    )
                dwg.add(group)
        return dwg.tostring()

    draw.max_points = max((sum(len(p) for p in c[0]) for c in cells.values()), default=0)
    return draw
