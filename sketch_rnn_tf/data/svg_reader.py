"""SVG line drawings -> stroke-3 sketches (`read_svg`, `read_svg_lines`).

`read_svg` draws what a browser would stroke: every `path` (all commands, absolute and relative:
M L H V C S Q T A Z), `line`, `polyline`, `polygon`, `rect` (also rounded), `circle` and `ellipse`,
in nested `g`s with any `transform` (matrix, translate, scale, rotate about a centre, skewX, skewY
and lists of them), `use` of elements in `defs` (with `x`/`y`; a `symbol` is drawn like a `g`, its
own `viewBox` ignored) and the root's `viewBox` mapped onto its `width`/`height` viewport
(`preserveAspectRatio`, default `xMidYMid meet`). The result is in the viewport's pixels, y down.

Which elements count as drawn: an element is drawn when it has a visible stroke *or* a visible fill
(paint not `none`, its alpha and `stroke-opacity`/`fill-opacity` above 0, stroke width above 0;
the `opacity` property of groups is not read). SVG's defaults are `fill: black` and `stroke: none`,
so a shape with no paint set is drawn (by its fill); a `line` has no area, so it needs a stroke. A
filled shape is traced along its outline (the pen follows the edge of the fill; an open subpath that
is only filled is closed, as its fill is). Not drawn: `stroke="none"` together with `fill="none"`
(inherited from groups too; Feather's icons put `stroke="currentColor"` and `fill="none"` on the
root `<svg>`, so their shapes are drawn by their stroke), `display: none`, `visibility: hidden` or
`collapse` (attributes, `style` or a `<style>` sheet), elements inside `defs`, `symbol`,
`clipPath`, `mask`, `marker` and `pattern` (unless `use`d), shapes of negative or zero size, `text`
(no glyph outlines without fonts) and `image`. A background rectangle with a fill is drawn like any
other shape.

Strokes: each subpath of a path, and each closed shape, is one stroke, with the pen lifted after its
last point; a closed subpath (Z, `polygon`, `rect`, `circle`, `ellipse`) ends on its start point. A
subpath made only of a moveto draws nothing and is skipped; a point repeated at once is kept once,
so a zero-length subpath (`M 1 1 Z`, which a browser draws as a dot) is a stroke of one point, as
`rendering.render_svg` draws one. Curves and arcs are flattened into polylines so that no point of
the true curve is farther than `FLATNESS` pixels (0.05) of the output from the polyline: a segment
is cut into n equal parameter steps with n from the bound `max |C''| / (8 n^2)` on a chord's
distance to its curve (a strict bound for Beziers and elliptical arcs), in the element's own
coordinates, with the tolerance divided by the largest stretch of its transform.

Why `svgelements` (MIT, pure Python, no dependencies, one universal wheel) rather than
`svgpathtools` (MIT, universal wheel, needs scipy): svgpathtools parses path data and the basic
shapes and applies `g` transforms, but has no `use`/`defs`, no `viewBox` -> viewport mapping, and
does not read styles (`stroke`, `fill`, `display`, `visibility`, CSS), all of which the list above
needs; svgelements covers every item (transforms, units, viewBox and preserveAspectRatio, use, CSS
styles, arcs). It is less actively released (1.9.6, August 2023; svgpathtools 1.8.0 is from 2026),
so it is pinned and `tests/test_data_svg.py` holds it to every feature above. The XML itself is
first read by the standard library's expat with entity declarations refused (no XXE, no entity
expansion bombs), `use` cycles and blow-ups are refused, and only then is it handed to svgelements.

Example:
    >>> import sketch_rnn_tf as srt
    >>> strokes = srt.data.read_svg("star.svg", size=255, epsilon=2.0)  # doctest: +SKIP
    >>> strokes = srt.data.read_svg('<svg xmlns="http://www.w3.org/2000/svg">'
    ...     '<line x1="0" y1="0" x2="10" y2="0" stroke="black"/></svg>')
    >>> strokes.tolist()
    [[0.0, 0.0, 0.0], [10.0, 0.0, 1.0]]
"""

from __future__ import annotations

import io
import math
import os
import re
import xml.etree.ElementTree as ET
import xml.parsers.expat
from typing import Any, List, Optional

import numpy as np

from sketch_rnn_tf.data.checks import DataError
from sketch_rnn_tf.data.quickdraw import rdp

__all__ = [
    "FLATNESS",
    "MAX_COORDINATE",
    "MAX_SVG_BYTES",
    "lines_to_stroke3",
    "read_svg",
    "read_svg_lines",
    "source_name",
]

#: Largest SVG accepted, in bytes (checked before a file is read whole).
MAX_SVG_BYTES = 10 * 2**20
#: Largest |coordinate| accepted after transforms, in viewport pixels.
MAX_COORDINATE = 1e6
#: Largest distance, in output pixels, of the true curve from its flattened polyline.
FLATNESS = 0.05
#: Most points a drawing may flatten into.
MAX_POINTS = 2_000_000

#: Most elements once every `use` is expanded, and deepest nesting.
_MAX_ELEMENTS = 200_000
_MAX_DEPTH = 400

_SVG_NS = "http://www.w3.org/2000/svg"
_NUMBER_ATTRS = (
    "d",
    "points",
    "x",
    "y",
    "x1",
    "y1",
    "x2",
    "y2",
    "cx",
    "cy",
    "r",
    "rx",
    "ry",
    "width",
    "height",
    "transform",
    "viewBox",
)
_NON_FINITE = re.compile(r"(?<![a-z])(nan|inf(inity)?)(?![a-z])", re.IGNORECASE)
# Containers whose content is never drawn where it stands (`use` may still draw an element of a
# `defs`, `symbol`; the others are dropped with their content).
_DROPPED = {"mask", "marker", "foreignObject", "script", "metadata", "filter", "title", "desc"}


class _Refused(Exception):
    """Raised from expat's handlers to stop reading a document that declares entities."""


def _local(tag: str) -> tuple[str, str]:
    """`("{ns}name" or "ns name" or "name")` -> `(ns, name)`."""
    if tag.startswith("{"):
        ns, _, name = tag[1:].partition("}")
        return ns, name
    if " " in tag:
        ns, _, name = tag.partition(" ")
        return ns, name
    return "", tag


def source_name(source: Any) -> str:
    """Where an SVG source comes from, for messages: `"file 'a.svg'"` or `"SVG text"`."""
    if isinstance(source, (bytes, bytearray, memoryview)) or (
        isinstance(source, str) and source.lstrip().startswith("<")
    ):
        return "SVG text"
    if isinstance(source, (str, os.PathLike)):
        return f"file {os.fspath(source)!r}"
    return "read_svg"


def _load(source: Any) -> tuple[bytes, str]:
    """The SVG's bytes and the name of where they came from, for messages."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        where = "SVG text"
    elif isinstance(source, str) and source.lstrip().startswith("<"):
        data = source.encode("utf-8")
        where = "SVG text"
    elif isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        where = f"file {path!r}"
        try:
            with open(path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size > MAX_SVG_BYTES:
                    raise DataError(
                        f"{size} bytes, more than the {MAX_SVG_BYTES} an SVG drawing may have",
                        where=where,
                    )
                data = f.read(MAX_SVG_BYTES + 1)
        except OSError as e:
            raise DataError(f"cannot read ({e.strerror or e})", where=where) from None
    else:
        raise DataError(
            f"source must be a path, SVG text (a str starting with '<') or bytes; "
            f"got {type(source).__name__}",
            where="read_svg",
        )
    if len(data) > MAX_SVG_BYTES:
        raise DataError(f"more than the {MAX_SVG_BYTES} bytes an SVG drawing may have", where=where)
    if not data.strip():
        raise DataError("empty; expected an SVG document", where=where)
    return data, where


def _check_xml(data: bytes, where: str) -> None:
    """Reads the document once with expat: well-formed, no entity declarations, root `<svg>`."""
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    root: List[str] = []

    def refuse_entity(name, *args):
        raise _Refused(
            f"its DTD declares the entity {name!r}; documents with entity declarations are "
            "refused (they can read local files or expand without bound)"
        )

    def refuse_external(*args):
        raise _Refused("it refers to an external entity; refused")

    def start(name, attrs):
        if not root:
            root.append(name)

    parser.EntityDeclHandler = refuse_entity
    parser.UnparsedEntityDeclHandler = refuse_entity
    parser.ExternalEntityRefHandler = refuse_external
    parser.StartElementHandler = start
    try:
        parser.Parse(data, True)
    except _Refused as e:
        raise DataError(str(e), where=where) from None
    except xml.parsers.expat.ExpatError as e:
        raise DataError(
            f"not well-formed XML, or truncated (line {e.lineno}, column {e.offset}: "
            f"{xml.parsers.expat.ErrorString(e.code)})",
            where=where,
        ) from None
    ns, name = _local(root[0])
    if name != "svg" or ns not in ("", _SVG_NS):
        shown = f"{{{ns}}}{name}" if ns else name
        raise DataError(f"the root element is <{shown}>, not an SVG <svg>", where=where)


def _clean_tree(data: bytes, where: str) -> bytes:
    """The document with undrawn containers removed and `symbol`s turned into `defs`-held `g`s.

    Also refuses non-finite numbers (`nan`, `inf`) in geometry attributes, and path data that does
    not parse, naming the element.
    """
    import svgelements

    root = ET.fromstring(data)  # safe: _check_xml refused entity declarations
    for parent in list(root.iter()):
        for k, child in enumerate(list(parent)):
            if not isinstance(child.tag, str):
                continue
            ns, name = _local(child.tag)
            if name in _DROPPED:
                parent.remove(child)
            elif name == "symbol":
                # Never drawn where it stands; `use` finds it by id inside the defs.
                defs = ET.Element(f"{{{ns}}}defs" if ns else "defs")
                child.tag = f"{{{ns}}}g" if ns else "g"
                for attr in ("viewBox", "preserveAspectRatio", "x", "y", "width", "height"):
                    child.attrib.pop(attr, None)
                parent.remove(child)
                defs.append(child)
                parent.insert(k, defs)
    _check_use(root, where)
    for k, elem in enumerate(root.iter()):
        if not isinstance(elem.tag, str):
            continue
        name = _local(elem.tag)[1]
        label = f"<{name}>" + (f" id={elem.get('id')!r}" if elem.get("id") else f" (element {k})")
        for attr in _NUMBER_ATTRS:
            value = elem.get(attr)
            if value is not None and _NON_FINITE.search(value):
                raise DataError(
                    f"{label}: non-finite number in {attr}={_short(value)!r}", where=where
                )
        if name == "path" and elem.get("d"):
            try:
                svgelements.Path(elem.get("d"))
            except Exception as e:  # svgelements raises ValueError, IndexError, ...
                raise DataError(
                    f"{label}: bad path data d={_short(elem.get('d'))!r} "
                    f"({type(e).__name__}{': ' + str(e) if str(e) else ''})",
                    where=where,
                ) from None
    return ET.tostring(root)


def _check_use(root: ET.Element, where: str) -> None:
    """Refuses `use` that refers to itself or its ancestors, and drawings that `use` blows up.

    Counts the elements the document has once every `use` is replaced by what it refers to (as
    svgelements does); a cycle would never end and nested `use`s can grow exponentially.
    """
    by_id = {e.get("id"): e for e in root.iter() if isinstance(e.tag, str) and e.get("id")}
    sizes: dict = {}
    active: set = set()

    def href(elem):
        ref = elem.get("href") or elem.get("{http://www.w3.org/1999/xlink}href") or ""
        return by_id.get(ref[1:]) if ref.startswith("#") else None

    def size(elem, depth):
        key = id(elem)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise DataError(
                f"<use> refers to an element that contains it (id={elem.get('id')!r})",
                where=where,
            )
        if depth > _MAX_DEPTH:
            raise DataError(f"elements nested more than {_MAX_DEPTH} deep", where=where)
        active.add(key)
        n = 1 + sum(size(child, depth + 1) for child in elem if isinstance(child.tag, str))
        if _local(elem.tag)[1] == "use" and href(elem) is not None:
            n += size(href(elem), depth + 1)
        active.discard(key)
        if n > _MAX_ELEMENTS:
            raise DataError(
                f"more than {_MAX_ELEMENTS} elements once every <use> is expanded", where=where
            )
        sizes[key] = n
        return n

    size(root, 0)


def _short(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[:n] + "..."


def _visible(paint: Any) -> bool:
    return paint is not None and paint.value is not None and paint.alpha > 0


def _drawn_by(elem: Any) -> Optional[str]:
    """How the element shows: "stroke", "fill" or None (stroke wins when it has both)."""
    import svgelements as se

    values = elem.values
    if str(values.get("visibility", "visible")).strip().lower() in ("hidden", "collapse"):
        return None
    if isinstance(elem, se.Rect):
        if not (elem.width > 0 and elem.height > 0):
            return None
    elif isinstance(elem, (se.Circle, se.Ellipse)):
        if not (elem.rx > 0 and elem.ry > 0):
            return None
    width = elem.stroke_width
    if _visible(elem.stroke) and width is not None and width > 0:
        return "stroke"
    if _visible(elem.fill) and not isinstance(elem, se.SimpleLine):
        return "fill"
    return None


def _max_stretch(m: Any) -> float:
    """The largest singular value of the matrix's linear part."""
    return float(np.linalg.norm(np.array([[m.a, m.c], [m.b, m.d]], dtype=np.float64), ord=2))


def _segment_points(seg: Any, tol: float) -> np.ndarray:
    """Points of a curve segment after its start, at most `tol` from the true curve."""
    import svgelements as se

    p = lambda q: np.array([q.x, q.y], dtype=np.float64)  # noqa: E731
    if isinstance(seg, se.CubicBezier):
        p0, p1, p2, p3 = p(seg.start), p(seg.control1), p(seg.control2), p(seg.end)
        bound = 6.0 * max(np.hypot(*(p0 - 2 * p1 + p2)), np.hypot(*(p1 - 2 * p2 + p3)))
    elif isinstance(seg, se.QuadraticBezier):
        p0, p1, p2 = p(seg.start), p(seg.control), p(seg.end)
        bound = 2.0 * np.hypot(*(p0 - 2 * p1 + p2))
    elif isinstance(seg, se.Arc):
        if seg.sweep is None or seg.rx is None:
            return p(seg.end)[None]
        bound = float(seg.sweep) ** 2 * max(abs(seg.rx), abs(seg.ry))
    else:
        return p(seg.end)[None]
    if not math.isfinite(bound):
        raise OverflowError("curve with non-finite control points")
    n = max(1, math.ceil(math.sqrt(bound / (8.0 * tol)))) if bound > 0 else 1
    if n > MAX_POINTS:
        raise OverflowError("curve needs too many points")
    t = np.linspace(0.0, 1.0, n + 1)[1:]
    pts = np.asarray(seg.npoint(t), dtype=np.float64).reshape(-1, 2)
    pts[-1] = p(seg.end)
    return pts


def _subpaths(elem: Any, tol: float, closing: bool) -> List[np.ndarray]:
    """The element's subpaths as polylines in its own coordinates (before its transform)."""
    import svgelements as se

    lines: List[np.ndarray] = []
    current: List[np.ndarray] = []
    start = None

    def flush():
        nonlocal current
        if len(current) > 1:
            line = np.concatenate(current)
            if closing and not np.array_equal(line[0], line[-1]):
                line = np.vstack([line, line[:1]])
            # Repeated points draw nothing more (e.g. a polygon whose points already end on its
            # start); a zero-length subpath ("M 1 1 Z", a dot with round caps) is one point.
            keep = np.r_[True, (np.diff(line, axis=0) != 0).any(axis=1)]
            lines.append(line[keep])
        current = []

    for seg in elem.segments(transformed=False):
        if isinstance(seg, se.Move):
            flush()
            start = np.array([[seg.end.x, seg.end.y]], dtype=np.float64)
            current = [start]
            continue
        if not current:  # a drawing command right after Z starts at the subpath's start
            s = seg.start if seg.start is not None else start
            current = [np.array([[s.x, s.y]], dtype=np.float64)]
        current.append(_segment_points(seg, tol))
        if isinstance(seg, se.Close):
            flush()
    flush()
    return lines


def _parse_lines(data: bytes, where: str, size: Optional[float]) -> List[np.ndarray]:
    import svgelements as se

    def flatten(tol_px: float) -> List[np.ndarray]:
        try:
            svg = se.SVG.parse(io.BytesIO(data), reify=False, on_error="raise")
            out: List[np.ndarray] = []
            count = 0
            for elem in svg.elements():
                if not isinstance(elem, se.Shape):
                    continue
                how = _drawn_by(elem)
                if how is None:
                    continue
                m = elem.transform
                stretch = _max_stretch(m)
                if not math.isfinite(stretch):
                    raise OverflowError("a transform with non-finite numbers")
                if stretch == 0:
                    continue  # scaled to nothing: draws nothing
                linear = np.array([[m.a, m.c], [m.b, m.d]], dtype=np.float64)
                shift = np.array([m.e, m.f], dtype=np.float64)
                for line in _subpaths(elem, tol_px / stretch, closing=how == "fill"):
                    with np.errstate(all="ignore"):  # inf and NaN are reported below
                        line = line @ linear.T + shift
                    count += len(line)
                    if count > MAX_POINTS:
                        raise DataError(
                            f"the drawing flattens into more than {MAX_POINTS} points",
                            where=where,
                        )
                    out.append(line)
            return out
        except DataError:
            raise
        except OverflowError as e:
            raise DataError(f"unusable numbers: {e}", where=where) from None
        except Exception as e:  # the library's own errors: ValueError, IndexError, ...
            detail = f": {e}" if str(e) else ""
            raise DataError(
                f"cannot read the SVG ({type(e).__name__}{detail})", where=where
            ) from None

    lines = flatten(FLATNESS)
    if not lines:
        raise DataError(
            "nothing drawable: no visible path, line, polyline, polygon, rect, circle or ellipse",
            where=where,
        )
    _check_coordinates(lines, where)
    if size is not None:
        pts = np.concatenate(lines)
        extent = float((pts.max(axis=0) - pts.min(axis=0)).max())
        if extent <= 0:
            raise DataError(
                f"the drawing is a single point; it cannot be scaled to size={size:g}",
                where=where,
            )
        scale = size / extent
        if scale > 1:  # enlarged: flatten again so the tolerance holds in output pixels
            lines = flatten(FLATNESS / scale)
            _check_coordinates(lines, where)
    return lines


def _check_coordinates(lines: List[np.ndarray], where: str) -> None:
    pts = np.concatenate(lines)
    if not np.isfinite(pts).all():
        raise DataError("non-finite coordinates (NaN or inf) after transforms", where=where)
    big = float(np.abs(pts).max())
    if big > MAX_COORDINATE:
        raise DataError(
            f"absurd coordinates: |coordinate| up to {big:.3g} px after transforms "
            f"(more than {MAX_COORDINATE:g})",
            where=where,
        )


def _check_positive(name: str, value: Any) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        problem = f"{name} must be a number or None; got {value!r}"
        raise DataError(problem, where="read_svg").about(name)
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        problem = f"{name} must be finite and > 0; got {value!r}"
        raise DataError(problem, where="read_svg").about(name)
    return value


def read_svg_lines(
    source: Any, size: Optional[float] = None, epsilon: Optional[float] = None
) -> List[np.ndarray]:
    """The strokes of an SVG drawing as polylines of absolute points (see the module docstring).

    Args:
      source: a path (str or os.PathLike), or the SVG text itself (a str starting with `<` after
        whitespace, or bytes).
      size: if given, the drawing is moved so its bounding box starts at (0, 0) and scaled
        uniformly so the longer side of the box (of the drawn points) is `size` pixels (Quick,
        Draw! uses 255); if None, the viewport's pixels are kept.
      epsilon: if given, each stroke is simplified with Ramer-Douglas-Peucker (`quickdraw.rdp`),
        `epsilon` in output pixels (Quick, Draw! and the paper use 2.0).

    Returns:
      One float64 `(k, 2)` array of `(x, y)` points (y down) per stroke, in drawing order.

    Raises:
      DataError: naming the file (or "SVG text") and the problem: not XML or truncated, a DTD
        with entities, a root other than `<svg>`, more than `MAX_SVG_BYTES`, nothing drawable,
        NaN/inf or |coordinate| > `MAX_COORDINATE` after transforms, bad path data, a `use`
        that contains itself, or `use`s expanding to more than 200,000 elements.

    Example:
        >>> lines = read_svg_lines('<svg xmlns="http://www.w3.org/2000/svg">'
        ...     '<polyline points="0 0 4 0 4 3" stroke="black" fill="none"/></svg>')
        >>> lines[0].tolist()
        [[0.0, 0.0], [4.0, 0.0], [4.0, 3.0]]
    """
    size = _check_positive("size", size)
    epsilon = _check_positive("epsilon", epsilon) if epsilon != 0 else None
    data, where = _load(source)
    _check_xml(data, where)
    data = _clean_tree(data, where)
    lines = _parse_lines(data, where, size)
    if size is not None:
        pts = np.concatenate(lines)
        lo = pts.min(axis=0)
        scale = size / float((pts.max(axis=0) - lo).max())
        lines = [(line - lo) * scale for line in lines]
    if epsilon is not None:
        lines = [rdp(line, epsilon) for line in lines]
    return lines


def read_svg(
    source: Any, size: Optional[float] = None, epsilon: Optional[float] = None
) -> np.ndarray:
    """An SVG drawing as a stroke-3 sketch `[dx, dy, pen_lifted]` (see the module docstring).

    Nothing is written anywhere; the document is read with entity declarations refused.

    Args:
      source: a path (str or os.PathLike), or the SVG text itself (a str or bytes).
      size: the longer side of the drawing's box in pixels (None keeps the viewport's pixels).
      epsilon: the RDP tolerance in output pixels (None: no simplification). All three as in
        `read_svg_lines`.

    Returns:
      A float32 `(n, 3)` array: row i is the offset of point i from point i - 1 (the first from
      the origin (0, 0) of the output coordinates) and `pen_lifted = 1` on the last point of each
      stroke. y points down, as in SVG and Quick, Draw!.

    Raises:
      DataError: see `read_svg_lines`.

    Example:
        >>> strokes = read_svg('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24">'
        ...     '<rect x="2" y="2" width="20" height="20" stroke="black" fill="none"/></svg>',
        ...     size=255)
        >>> strokes.shape, strokes[-1].tolist()
        ((5, 3), [0.0, -255.0, 1.0])
    """
    return lines_to_stroke3(read_svg_lines(source, size=size, epsilon=epsilon))


def lines_to_stroke3(lines: List[np.ndarray]) -> np.ndarray:
    """Polylines of absolute points -> float32 stroke-3 (first offset from (0, 0))."""
    rows = []
    for line in lines:
        pen = np.zeros((len(line), 1))
        pen[-1] = 1
        rows.append(np.hstack([line, pen]))
    arr = np.concatenate(rows).astype(np.float64)
    arr[1:, :2] = arr[1:, :2] - arr[:-1, :2]
    return arr.astype(np.float32)
