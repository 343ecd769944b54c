"""Colours: parsing, RGB interpolation (rows, 2-D grids) and a perceptual OKLab hue ramp."""

from __future__ import annotations

import numbers
from typing import Any, Sequence

import numpy as np

from .inputs import RenderError


def parse_color(c: Any) -> np.ndarray:
    """An RGB colour as 3 floats in 0..255, from a `#rgb`/`#rrggbb` string or a triple."""
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


def css_color(c: Any) -> str:
    """A colour for an SVG attribute: strings pass through, RGB triples (0..255) become hex."""
    if isinstance(c, str):
        if not c.strip():
            raise RenderError("colour must not be an empty string")
        return c
    rgb = np.clip(np.rint(parse_color(c)), 0, 255).astype(int)
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def interpolate_colors(c0: Any, c1: Any, n: int) -> np.ndarray:
    """`n` colours linearly interpolated in RGB from `c0` to `c1` (both included).

    Colours are `'#rrggbb'` strings or `(r, g, b)` triples in 0..255.  Returns an
    `(n, 3)` float array (0..255); `n == 1` gives `[c0]`.
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise RenderError(f"n must be a positive integer; got {n!r}")
    a, b = parse_color(c0), parse_color(c1)
    t = np.linspace(0.0, 1.0, int(n)) if n > 1 else np.zeros(1)
    return a[None, :] * (1.0 - t[:, None]) + b[None, :] * t[:, None]


def grid_colors(corner_colors: Sequence[Any], rows: int, cols: int) -> np.ndarray:
    """Bilinear RGB interpolation of four corner colours over a `rows x cols` grid.

    `corner_colors` is `(top_left, top_right, bottom_left, bottom_right)`, each a
    `'#rrggbb'` string or an `(r, g, b)` triple in 0..255.  Returns a
    `(rows, cols, 3)` float array, usable directly as `render_grid(colors=...)`.
    """
    if len(corner_colors) != 4:
        raise RenderError(
            "corner_colors must hold 4 colours (top_left, top_right, bottom_left, bottom_right); "
            f"got {len(corner_colors)}"
        )
    for name, v in (("rows", rows), ("cols", cols)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            raise RenderError(f"{name} must be a positive integer; got {v!r}")
    tl, tr, bl, br = (parse_color(c) for c in corner_colors)
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
    l, m, s = l_**3, m_**3, s_**3  # noqa: E741 (Ottosson's LMS names)
    r = 4.0767416621 * l - 3.3077115913 * m + 0.2309699292 * s
    g = -1.2684380046 * l + 2.6097574011 * m - 0.3413193965 * s
    bb = -0.0041960863 * l - 0.7034186147 * m + 1.7076147010 * s
    lin = np.clip(np.stack([r, g, bb], axis=-1), 0.0, 1.0)
    return np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * np.power(lin, 1 / 2.4) - 0.055)


def stroke_colors(
    n: int,
    *,
    lightness: float = 0.62,
    chroma: float = 0.14,
    start_hue: float = 20.0,
    hue_span: float = 290.0,
) -> list[str]:
    """`n` hex colours on a perceptual hue ramp (constant OKLCH lightness and chroma).

    The hue runs over `hue_span` degrees (less than a full turn, so the first and the
    last stroke never get the same colour): with the defaults it goes red, orange, yellow-
    green, green, teal, blue, violet.  Used by `color_by_stroke`.
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise RenderError(f"n must be a non-negative integer; got {n!r}")
    if n == 0:
        return []
    t = np.linspace(0.0, 1.0, int(n)) if n > 1 else np.zeros(1)
    h = np.deg2rad(start_hue + hue_span * t)
    lab = np.stack([np.full_like(h, lightness), chroma * np.cos(h), chroma * np.sin(h)], axis=-1)
    rgb = _oklab_to_srgb(lab) * 255.0
    return [css_color(c) for c in rgb]
