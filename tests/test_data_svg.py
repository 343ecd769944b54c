"""SVG in: `data.read_svg` and `prepare_svg`.

Every element, transform, use/defs, viewBox, hidden elements, curves within tolerance, the real
Feather icons, the package's own SVGs read back, bad files.
"""

import glob
import math
import os
import re

import numpy as np
import pytest

from sketch_rnn_tf.data import (
    DataError,
    load_npz,
    prepare_svg,
    read_svg,
    read_svg_lines,
    svg_to_stroke3,
)
from sketch_rnn_tf.data.svg_reader import MAX_SVG_BYTES
from sketch_rnn_tf.errors import SketchRNNError
from sketch_rnn_tf.rendering import render_grid, render_svg, strokes_to_polylines

from _paths import DATA, SHEEP_NPZ

FEATHER = os.path.join(DATA, "svg_feather")
ICONS = sorted(glob.glob(os.path.join(FEATHER, "*.svg")))
needs_feather = pytest.mark.skipif(not ICONS, reason="shared Feather icons not available")


def svg(body, attrs='width="100" height="100"', paint='stroke="black" fill="none"'):
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f"{attrs} {paint}>{body}</svg>"
    )


def lines(body, **kw):
    return read_svg_lines(svg(body, **kw))


def seg_dist(points, line):
    """Distance of each of `points` (m, 2) to the polyline `line` (k, 2)."""
    points = np.asarray(points, np.float64)
    a, b = line[:-1], line[1:]
    ab = b - a
    denom = np.maximum((ab**2).sum(axis=1), 1e-300)
    t = np.clip(((points[:, None, :] - a[None]) * ab[None]).sum(axis=2) / denom, 0, 1)
    proj = a[None] + t[..., None] * ab[None]
    return np.hypot(*(points[:, None, :] - proj).transpose(2, 0, 1)).min(axis=1)


def within(curve, line, tol=0.1):
    """Every sampled point of the true curve lies within tol of the polyline, and vice versa."""
    assert seg_dist(curve, line).max() <= tol
    assert seg_dist(line, curve).max() <= 1e-3  # the polyline's points lie on the curve


# ---------------------------------------------------------------------------- elements


def test_line_polyline_polygon_rect_exact():
    (ln,) = lines('<line x1="1" y1="2" x2="5" y2="7"/>')
    np.testing.assert_allclose(ln, [[1, 2], [5, 7]])
    (pl,) = lines('<polyline points="0,0 10,0 10,5"/>')
    np.testing.assert_allclose(pl, [[0, 0], [10, 0], [10, 5]])
    (pg,) = lines('<polygon points="1 1 9 1 5 8"/>')
    np.testing.assert_allclose(pg, [[1, 1], [9, 1], [5, 8], [1, 1]])  # closed: back to start
    (rc,) = lines('<rect x="2" y="3" width="10" height="4"/>')
    np.testing.assert_allclose(rc, [[2, 3], [12, 3], [12, 7], [2, 7], [2, 3]])


def test_stroke3_rows_offsets_from_origin_and_pen_lifts():
    s = read_svg(svg('<line x1="1" y1="2" x2="5" y2="7"/><polyline points="3 3 4 4 6 4"/>'))
    assert s.dtype == np.float32 and s.shape == (5, 3)
    np.testing.assert_allclose(
        s, [[1, 2, 0], [4, 5, 1], [-2, -4, 0], [1, 1, 0], [2, 0, 1]]
    )  # first offset from (0, 0); pen lifted on each stroke's last point


def test_circle_ellipse_rounded_rect_lie_on_their_curves():
    (c,) = lines('<circle cx="50" cy="40" r="30"/>')
    np.testing.assert_allclose(np.hypot(c[:, 0] - 50, c[:, 1] - 40), 30, atol=1e-9)
    np.testing.assert_allclose(c[0], c[-1])  # closed
    th = np.linspace(0, 2 * np.pi, 4000)
    within(np.c_[50 + 30 * np.cos(th), 40 + 30 * np.sin(th)], c)

    (e,) = lines('<ellipse cx="50" cy="50" rx="40" ry="10"/>')
    np.testing.assert_allclose(((e[:, 0] - 50) / 40) ** 2 + ((e[:, 1] - 50) / 10) ** 2, 1)
    within(np.c_[50 + 40 * np.cos(th), 50 + 10 * np.sin(th)], e)

    (r,) = lines('<rect x="10" y="20" width="60" height="30" rx="8" ry="5"/>')
    np.testing.assert_allclose(r[0], r[-1])
    np.testing.assert_allclose([r[:, 0].min(), r[:, 0].max()], [10, 70])
    np.testing.assert_allclose([r[:, 1].min(), r[:, 1].max()], [20, 50])
    # Corner points lie on their quarter ellipses; the others on the straight sides.
    for x, y in r:
        cx = min(max(x, 18), 62)
        cy = min(max(y, 25), 45)
        if (x, y) != (cx, cy) and cx != x and cy != y:
            assert abs(((x - cx) / 8) ** 2 + ((y - cy) / 5) ** 2 - 1) < 1e-9
        else:
            assert x in (10, 70) or y in (20, 50)
    (rx_only,) = lines('<rect x="0" y="0" width="20" height="20" rx="5"/>')  # ry = rx
    assert len(rx_only) > 5 and np.isclose(rx_only[:, 1].min(), 0)


def test_path_lines_all_commands_absolute_and_relative():
    (a,) = lines('<path d="M 10 10 L 20 10 H 30 V 20 l -5 5 h -5 v -5 Z"/>')
    np.testing.assert_allclose(
        a, [[10, 10], [20, 10], [30, 10], [30, 20], [25, 25], [20, 25], [20, 20], [10, 10]]
    )
    # Implicit lineto after M/m; m after Z is relative to the closed subpath's start; a command
    # after Z without M starts a new stroke at that start.
    a, b, c = lines('<path d="M1 1 2 2 m 3 3 4 4 z l 1 1"/>')
    np.testing.assert_allclose(a, [[1, 1], [2, 2]])
    np.testing.assert_allclose(b, [[5, 5], [9, 9], [5, 5]])
    np.testing.assert_allclose(c, [[5, 5], [6, 6]])
    # A lone moveto draws nothing; each other subpath is one stroke.
    assert len(lines('<path d="M 5 5 M 1 1 L 2 2 M 3 3"/>')) == 1
    # A zero-length subpath is a dot: one point.
    dot, seg = lines('<path d="M 5 5 Z M 1 1 L 1 1 L 2 2"/>')
    np.testing.assert_allclose(dot, [[5, 5]])
    np.testing.assert_allclose(seg, [[1, 1], [2, 2]])


def bezier3(p, t):
    p = np.asarray(p, np.float64)
    t = t[:, None]
    return (
        (1 - t) ** 3 * p[0] + 3 * (1 - t) ** 2 * t * p[1] + 3 * (1 - t) * t**2 * p[2] + t**3 * p[3]
    )


def bezier2(p, t):
    p = np.asarray(p, np.float64)
    t = t[:, None]
    return (1 - t) ** 2 * p[0] + 2 * (1 - t) * t * p[1] + t**2 * p[2]


def arc_points(x1, y1, rx, ry, phi, fa, fs, x2, y2, n=20000):
    """The true SVG arc, by the spec's endpoint-to-centre conversion (SVG 1.1, F.6.5)."""
    c, s = math.cos(math.radians(phi)), math.sin(math.radians(phi))
    dx, dy = (x1 - x2) / 2, (y1 - y2) / 2
    x1p, y1p = c * dx + s * dy, -s * dx + c * dy
    lam = x1p**2 / rx**2 + y1p**2 / ry**2
    if lam > 1:
        rx, ry = rx * math.sqrt(lam), ry * math.sqrt(lam)
    num = rx**2 * ry**2 - rx**2 * y1p**2 - ry**2 * x1p**2
    den = rx**2 * y1p**2 + ry**2 * x1p**2
    coef = math.sqrt(max(0.0, num / den)) * (-1 if fa == fs else 1)
    cxp, cyp = coef * rx * y1p / ry, -coef * ry * x1p / rx
    cx, cy = c * cxp - s * cyp + (x1 + x2) / 2, s * cxp + c * cyp + (y1 + y2) / 2
    t1 = math.atan2((y1p - cyp) / ry, (x1p - cxp) / rx)
    t2 = math.atan2((-y1p - cyp) / ry, (-x1p - cxp) / rx)
    dt = (t2 - t1) % (2 * math.pi)
    if not fs:
        dt -= 2 * math.pi
    th = t1 + dt * np.linspace(0, 1, n)
    return np.c_[
        cx + rx * np.cos(th) * c - ry * np.sin(th) * s,
        cy + rx * np.cos(th) * s + ry * np.sin(th) * c,
    ]


def test_curves_within_a_tenth_of_a_pixel_of_the_true_curve():
    t = np.linspace(0, 1, 20000)
    (c,) = lines('<path d="M 10 80 C 40 10, 65 10, 95 80"/>')
    within(bezier3([(10, 80), (40, 10), (65, 10), (95, 80)], t), c)
    # S reflects the previous second control point about the current point.
    (s,) = lines('<path d="M 10 80 C 40 10, 65 10, 95 80 s 55 70, 85 0"/>')
    within(bezier3([(95, 80), (125, 150), (150, 150), (180, 80)], t), s[len(c) - 1 :])
    (q,) = lines('<path d="M 10 80 Q 52.5 10, 95 80 T 180 80"/>')
    k = np.flatnonzero((q == [95, 80]).all(axis=1))[0]
    within(bezier2([(10, 80), (52.5, 10), (95, 80)], t), q[: k + 1])
    within(bezier2([(95, 80), (137.5, 150), (180, 80)], t), q[k:])  # T: reflected control
    (q_rel,) = lines('<path d="m 10 80 q 42.5 -70, 85 0 t 85 0"/>')
    np.testing.assert_allclose(q_rel, q, atol=1e-9)
    for d, args in [
        ("M 0 50 A 50 50 0 0 1 100 50", (0, 50, 50, 50, 0, 0, 1, 100, 50)),
        ("M 0 50 A 50 50 0 0 0 100 50", (0, 50, 50, 50, 0, 0, 0, 100, 50)),
        ("M 20 30 A 40 15 30 1 0 70 60", (20, 30, 40, 15, 30, 1, 0, 70, 60)),
        ("M 20 30 a 40 15 -60 0 1 50 30", (20, 30, 40, 15, -60, 0, 1, 70, 60)),
        ("M 10 10 A 1 1 0 0 1 90 10", (10, 10, 1, 1, 0, 0, 1, 90, 10)),  # radii scaled up
    ]:
        (a,) = lines(f'<path d="{d}"/>')
        within(arc_points(*args), a)
    (up,) = lines('<path d="M 0 50 A 50 50 0 0 1 100 50"/>')
    assert up[:, 1].min() == pytest.approx(0, abs=1e-6)  # sweep 1: clockwise, over the top


def test_tolerance_holds_in_output_pixels_after_size():
    # A small circle enlarged 50 times: the tolerance is that of the output, not of the file.
    (c,) = read_svg_lines(svg('<circle cx="3" cy="3" r="2"/>'), size=200)
    th = np.linspace(0, 2 * np.pi, 20000)
    within(np.c_[100 + 100 * np.cos(th), 100 + 100 * np.sin(th)], c)


# ---------------------------------------------------------------------------- transforms


def affine(a, b, c, d, e, f):
    return np.array([[a, c, e], [b, d, f], [0, 0, 1]], np.float64)


def apply(m, pts):
    pts = np.asarray(pts, np.float64)
    return pts @ m[:2, :2].T + m[:2, 2]


def rot(deg, cx=0.0, cy=0.0):
    r = math.radians(deg)
    m = affine(math.cos(r), math.sin(r), -math.sin(r), math.cos(r), 0, 0)
    return affine(1, 0, 0, 1, cx, cy) @ m @ affine(1, 0, 0, 1, -cx, -cy)


@pytest.mark.parametrize(
    "transform, matrix",
    [
        ("matrix(1 2 3 4 5 6)", affine(1, 2, 3, 4, 5, 6)),
        ("translate(7, -3)", affine(1, 0, 0, 1, 7, -3)),
        ("translate(7)", affine(1, 0, 0, 1, 7, 0)),
        ("scale(2)", affine(2, 0, 0, 2, 0, 0)),
        ("scale(2 0.5)", affine(2, 0, 0, 0.5, 0, 0)),
        ("rotate(30)", rot(30)),
        ("rotate(90 10 20)", rot(90, 10, 20)),
        ("skewX(30)", affine(1, 0, math.tan(math.radians(30)), 1, 0, 0)),
        ("skewY(-20)", affine(1, math.tan(math.radians(-20)), 0, 1, 0, 0)),
        (
            "translate(10,0) scale(2) rotate(45)",
            affine(1, 0, 0, 1, 10, 0) @ affine(2, 0, 0, 2, 0, 0) @ rot(45),
        ),
    ],
)
def test_every_transform_kind(transform, matrix):
    pts = [[1, 2], [11, 2], [11, 9]]
    (got,) = lines(f'<polyline points="1 2 11 2 11 9" transform="{transform}"/>')
    np.testing.assert_allclose(got, apply(matrix, pts), atol=1e-9)
    (nested,) = lines(
        f'<g transform="{transform}"><g transform="translate(1 1)">'
        '<polyline points="1 2 11 2 11 9"/></g></g>'
    )
    np.testing.assert_allclose(nested, apply(matrix @ affine(1, 0, 0, 1, 1, 1), pts), atol=1e-9)


def test_curves_under_skew_keep_their_tolerance():
    (c,) = lines('<g transform="skewX(40) scale(3 1)"><circle cx="10" cy="20" r="8"/></g>')
    m = affine(1, 0, math.tan(math.radians(40)), 1, 0, 0) @ affine(3, 0, 0, 1, 0, 0)
    back = apply(np.linalg.inv(m), c)  # undo the transform: a circle again
    np.testing.assert_allclose(np.hypot(back[:, 0] - 10, back[:, 1] - 20), 8, atol=1e-9)
    th = np.linspace(0, 2 * np.pi, 20000)
    within(apply(m, np.c_[10 + 8 * np.cos(th), 20 + 8 * np.sin(th)]), c)


# ---------------------------------------------------------------------------- structure


def test_use_of_defs_with_x_y_and_both_href_forms():
    body = (
        '<defs><polyline id="p" points="0 0 4 0"/></defs>'
        '<use href="#p" x="5" y="7"/><use xlink:href="#p" transform="translate(0 20)"/>'
    )
    a, b = lines(body)  # the definition itself is not drawn
    np.testing.assert_allclose(a, [[5, 7], [9, 7]])
    np.testing.assert_allclose(b, [[0, 20], [4, 20]])
    (g,) = lines(
        '<defs><g id="g" transform="scale(2)"><line x2="1" y2="1"/></g></defs>'
        '<use href="#g" x="10"/>'
    )
    np.testing.assert_allclose(g, [[10, 0], [12, 2]])
    (sym,) = lines('<symbol id="s"><line x2="3"/></symbol><use href="#s" y="1"/>')
    np.testing.assert_allclose(sym, [[0, 1], [3, 1]])


@pytest.mark.parametrize(
    "attrs, matrix",
    [
        ('width="200" height="100" viewBox="0 0 10 10"', affine(10, 0, 0, 10, 50, 0)),  # meet
        (
            'width="200" height="100" viewBox="0 0 10 10" preserveAspectRatio="xMinYMin meet"',
            affine(10, 0, 0, 10, 0, 0),
        ),
        (
            'width="200" height="100" viewBox="0 0 10 10" preserveAspectRatio="none"',
            affine(20, 0, 0, 10, 0, 0),
        ),
        ('width="48" height="48" viewBox="-12 -12 24 24"', affine(2, 0, 0, 2, 24, 24)),
        ('viewBox="5 5 24 24"', affine(1, 0, 0, 1, -5, -5)),  # no width/height: the viewBox's
    ],
)
def test_viewbox_maps_onto_the_viewport(attrs, matrix):
    (got,) = lines('<polyline points="1 2 7 2 7 9"/>', attrs=attrs)
    np.testing.assert_allclose(got, apply(matrix, [[1, 2], [7, 2], [7, 9]]), atol=1e-9)


@pytest.mark.parametrize(
    "body",
    [
        '<line x2="5" stroke="none"/>',
        '<g stroke="none"><line x2="5"/></g>',
        '<g style="stroke: none"><polyline points="0 0 5 5"/></g>',
        '<line x2="5" display="none"/>',
        '<g style="display:none"><line x2="5"/></g>',
        '<line x2="5" visibility="hidden"/>',
        '<g visibility="hidden"><line x2="5"/></g>',
        '<style>.hid { display: none }</style><line class="hid" x2="5"/>',
        '<style>line.no { stroke: none }</style><line class="no" x2="5"/>',
        '<line x2="5" style="visibility: collapse"/>',
        '<line x2="5" stroke-width="0"/>',
        '<line x2="5" stroke-opacity="0"/>',
        '<line x2="5" stroke="transparent"/>',
        '<defs><line x2="5"/></defs>',
        '<clipPath id="c"><rect width="5" height="5"/></clipPath>',
        '<mask id="m"><rect width="5" height="5"/></mask>',
        '<marker id="k"><line x2="5"/></marker>',
        '<symbol id="s"><line x2="5"/></symbol>',
        '<rect width="0" height="5"/>',
        '<circle r="-3"/>',
        '<text x="1" y="1">hello</text>',
    ],
)
def test_elements_that_draw_nothing_are_skipped(body):
    got = lines(body + '<line x1="50" y1="50" x2="60" y2="50"/>')
    assert len(got) == 1
    np.testing.assert_allclose(got[0], [[50, 50], [60, 50]])


def test_drawn_by_stroke_or_by_fill():
    # A child may show again inside a hidden group (visibility, unlike display, is inherited).
    assert len(lines('<g visibility="hidden"><line x2="5" visibility="visible"/></g>')) == 1
    # Fill only (SVG's default paint: fill black, no stroke): the outline is traced, closed.
    (tri,) = read_svg_lines(
        '<svg xmlns="http://www.w3.org/2000/svg"><path d="M0 0 L10 0 L5 8"/></svg>'
    )
    np.testing.assert_allclose(tri, [[0, 0], [10, 0], [5, 8], [0, 0]])
    # A line has no area: without a stroke it draws nothing.
    with pytest.raises(DataError, match="nothing drawable"):
        read_svg('<svg xmlns="http://www.w3.org/2000/svg"><line x2="5"/></svg>')
    # Stroke and fill: a stroked open path stays open.
    (op,) = lines('<path d="M0 0 L10 0 L5 8" fill="red"/>')
    assert len(op) == 3


def test_size_and_epsilon():
    text = svg('<circle cx="30" cy="30" r="20"/><line x1="10" y1="60" x2="50" y2="70"/>')
    pts = np.concatenate(read_svg_lines(text, size=255))
    np.testing.assert_allclose(pts.min(axis=0), [0, 0], atol=1e-9)
    assert (pts.max(axis=0) - pts.min(axis=0)).max() == pytest.approx(255)
    full = read_svg_lines(text, size=255)
    simple = read_svg_lines(text, size=255, epsilon=2.0)
    assert len(simple[0]) < len(full[0]) / 3
    for a, b in zip(simple, full):  # RDP keeps a subset of the points, ends included
        assert all((b == p).all(axis=1).any() for p in a)
        np.testing.assert_allclose(a[[0, -1]], b[[0, -1]])
        assert seg_dist(b, a).max() <= 2.0 + 1e-9
    s = read_svg(text, size=255, epsilon=2.0)
    np.testing.assert_allclose(np.cumsum(s[:, :2], axis=0), np.concatenate(simple), atol=1e-3)


# ---------------------------------------------------------------------------- real icons


def expected_strokes(path):
    """Strokes of a Feather icon counted from its text: one per subpath and per shape."""
    text = open(path, encoding="utf-8").read()
    n = sum(len(re.findall(r"[Mm]", d)) for d in re.findall(r' d="([^"]*)"', text))
    return n + len(re.findall(r"<(line|polyline|polygon|rect|circle|ellipse)\b", text))


@needs_feather
def test_all_feather_icons_read_with_one_stroke_per_subpath_or_shape():
    assert len(ICONS) == 287
    for path in ICONS:
        s = read_svg(path)
        assert np.isfinite(s).all() and s[-1, 2] == 1
        assert int(s[:, 2].sum()) == expected_strokes(path), path
        pts = np.cumsum(s[:, :2], axis=0)
        assert pts.min() >= -0.01 and pts.max() <= 24.01, path  # inside the 24 x 24 viewBox


@needs_feather
def test_feather_icons_checked_by_hand():
    circle, l1, l2 = read_svg_lines(os.path.join(FEATHER, "alert-circle.svg"))
    np.testing.assert_allclose(np.hypot(*(circle - 12).T), 10, atol=1e-9)
    np.testing.assert_allclose(l1, [[12, 8], [12, 12]])
    np.testing.assert_allclose(l2, [[12, 16], [12.01, 16]])
    (act,) = read_svg_lines(os.path.join(FEATHER, "activity.svg"))
    np.testing.assert_allclose(
        act, np.reshape([22, 12, 18, 12, 15, 21, 9, 3, 6, 12, 2, 12], (-1, 2))
    )
    path, tri = read_svg_lines(os.path.join(FEATHER, "airplay.svg"))
    np.testing.assert_allclose(tri, [[12, 15], [17, 21], [7, 21], [12, 15]])
    # airplay's path: M5 17H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2h-1
    np.testing.assert_allclose(path[[0, 1, -2, -1]], [[5, 17], [4, 17], [20, 17], [19, 17]])
    corner = path[(path[:, 0] < 4) & (path[:, 1] > 15)]  # the arc from (4, 17) to (2, 15)
    np.testing.assert_allclose(np.hypot(corner[:, 0] - 4, corner[:, 1] - 15), 2, atol=1e-9)
    box = read_svg_lines(os.path.join(FEATHER, "box.svg"))
    assert len(box) == 3
    np.testing.assert_allclose(box[0][0], box[0][-1])  # its path ends with z
    np.testing.assert_allclose(box[1], [[3.27, 6.96], [12, 12.01], [20.73, 6.96]])
    smile = read_svg_lines(os.path.join(FEATHER, "smile.svg"))
    assert [len(x) > 2 for x in smile] == [True, True, False, False]
    # The mouth, M8 14s1.5 2 4 2 4-2 4-2: two cubics, the first with control 1 at its start.
    t = np.linspace(0, 1, 20000)
    mouth = smile[1]
    k = np.flatnonzero((np.abs(mouth - [12, 16]) < 1e-9).all(axis=1))[0]
    within(bezier3([(8, 14), (8, 14), (9.5, 16), (12, 16)], t), mouth[: k + 1])
    within(bezier3([(12, 16), (14.5, 16), (16, 14), (16, 14)], t), mouth[k:])


# ---------------------------------------------------------------------------- own SVGs


def _align(a, b):
    """`a` scaled and moved onto `b` by their bounding boxes."""
    lo_a, lo_b = a.min(axis=0), b.min(axis=0)
    s = np.ptp(b, axis=0).max() / np.ptp(a, axis=0).max()
    return (a - lo_a) * s + lo_b


def test_render_svg_reads_back_as_the_strokes_it_drew():
    data = np.load(SHEEP_NPZ, allow_pickle=True, encoding="latin1")
    for sketch in data["test"][:5]:
        original = strokes_to_polylines(sketch)
        text = render_svg(sketch, factor=0.37, padding=11, stroke_width=2, color_by_stroke=True)
        back = read_svg_lines(text)  # a dot (a point drawn twice) reads back as one point
        assert [len(p) for p in back] == [len(p) for p in original]
        a, b = np.concatenate(original), np.concatenate(back)
        np.testing.assert_allclose(_align(a, b), b, atol=2e-3)  # SVG keeps 3 decimals
        # read_svg keeps the renderer's placement: x / factor + padding - min.
        np.testing.assert_allclose(b, (a - a.min(axis=0)) / 0.37 + 11, atol=1e-3)


def test_render_grid_reads_back_cell_by_cell():
    data = np.load(SHEEP_NPZ, allow_pickle=True, encoding="latin1")
    sketches = list(data["test"][:4])
    back = read_svg_lines(render_grid(sketches, ncols=2, cell_size=120))
    want = [p for s in sketches for p in strokes_to_polylines(s)]
    assert [len(p) for p in back] == [len(p) for p in want]
    k = 0
    for s in sketches:
        n = len(strokes_to_polylines(s))
        a = np.concatenate(strokes_to_polylines(s))
        b = np.concatenate(back[k : k + n])
        np.testing.assert_allclose(_align(a, b), b, atol=2e-3)
        k += n


# ---------------------------------------------------------------------------- bad files


def check_error(source, match, where=None):
    with pytest.raises(DataError, match=match) as info:
        read_svg(source)
    e = info.value
    assert isinstance(e, SketchRNNError)
    assert e.__cause__ is None  # no traceback from the library
    assert e.__suppress_context__ or e.__context__ is None
    if where is not None:
        assert where in str(e)
    return str(e)


def test_bad_svg_text_gives_clear_errors():
    check_error(b"hello, not xml", "not well-formed XML", "SVG text")
    full = svg('<line x2="5"/>')
    check_error(full[: len(full) // 2], "not well-formed XML, or truncated", "SVG text")
    check_error(svg(""), "nothing drawable")
    check_error(svg('<line x2="5" stroke="none"/>'), "nothing drawable")
    check_error(svg('<g id="a"><line x2="5"/><use href="#a"/></g>'), "refers to an element that")
    check_error(svg('<use id="u" href="#u"/><line x2="5"/>'), "refers to an element that")
    bomb = '<line id="l0" x2="5"/>' + "".join(
        f'<g id="l{k + 1}">' + f'<use href="#l{k}"/>' * 10 + "</g>" for k in range(8)
    )
    check_error(svg(f"<defs>{bomb}</defs><use href='#l8'/>"), "more than 200000 elements")
    check_error(svg("<g>" * 1000 + '<line x2="5"/>' + "</g>" * 1000), "nested more than 400")
    check_error("<html><body/></html>", r"root element is <html>, not an SVG <svg>")
    check_error('<svg xmlns="http://example.com/ns"><line x2="1"/></svg>', "not an SVG")
    check_error(svg('<path d="M 0 0 L nan 3"/>'), r"<path> .*non-finite number in d=")
    check_error(svg('<polyline points="0 0 NaN 1"/>'), "non-finite number in points")
    check_error(svg('<line x2="5" transform="scale(inf)"/>'), "non-finite number in transform")
    check_error(svg('<path d="M 0 0 L 1e400 3"/>'), "non-finite coordinates")
    check_error(svg('<line x2="5e6"/>'), r"absurd coordinates: \|coordinate\| up to 5e\+06")
    check_error(svg('<line x2="5" transform="scale(1e7)"/>'), "absurd coordinates")
    check_error(svg('<path id="p1" d="M 0 0 L 5 3 Q 1"/>'), "<path> id='p1': bad path data")
    check_error(svg('<g transform="rotate(foo)"><line x2="5"/></g>'), "cannot read the SVG")
    check_error(b"  ", "empty; expected an SVG document", "SVG text")
    with pytest.raises(DataError, match="source must be a path, SVG text"):
        read_svg(42)
    for bad in (0, -1, float("nan"), "big", True):
        with pytest.raises(DataError, match="size must be"):
            read_svg(svg('<line x2="5"/>'), size=bad)
    with pytest.raises(DataError, match="epsilon must be"):
        read_svg(svg('<line x2="5"/>'), epsilon=-2)
    with pytest.raises(DataError, match="single point; it cannot be scaled"):
        read_svg(svg('<line x1="3" x2="3"/>'), size=255)


def test_bad_files_name_the_file(tmp_path):
    bad = tmp_path / "cut.svg"
    bad.write_text(svg('<line x2="5"/>')[:40])
    check_error(bad, "truncated", f"file '{bad}'")
    check_error(str(tmp_path / "missing.svg"), "cannot read", "missing.svg")
    check_error(tmp_path, "cannot read", str(tmp_path))  # a folder


def test_a_file_past_the_size_limit_is_refused_before_reading(tmp_path, monkeypatch):
    big = tmp_path / "big.svg"
    with open(big, "wb") as f:
        f.write(b"<svg")
        f.truncate(MAX_SVG_BYTES + 1)  # sparse: nothing to read but the check must say no
    reads = []
    real_open = open

    def spy_open(*a, **kw):
        fh = real_open(*a, **kw)
        orig = fh.read
        fh.read = lambda *ra: reads.append(ra) or orig(*ra)
        return fh

    monkeypatch.setattr("builtins.open", spy_open)
    check_error(big, f"more than the {MAX_SVG_BYTES}", "big.svg")
    assert reads == []
    with pytest.raises(DataError, match="more than the"):
        read_svg(b"<svg>" + b" " * MAX_SVG_BYTES + b"</svg>")


def test_entities_are_refused_and_never_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    xxe = tmp_path / "xxe.svg"
    xxe.write_text(
        f'<?xml version="1.0"?>\n<!DOCTYPE svg [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
        '<svg xmlns="http://www.w3.org/2000/svg" stroke="black">'
        '<text>&xxe;</text><line x2="5" id="&xxe;"/></svg>'
    )
    message = check_error(xxe, "declares the entity 'xxe'", "xxe.svg")
    assert "TOP-SECRET" not in message
    laughs = (
        '<!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        '<svg xmlns="http://www.w3.org/2000/svg"><line x2="5" stroke="black" id="&b;"/></svg>'
    )
    check_error(laughs, "entity declarations are refused")
    # A DOCTYPE without entities (as Inkscape and Illustrator write) is fine, and not fetched.
    plain = (
        '<?xml version="1.0"?><!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
        '"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">' + svg('<line x2="5"/>')
    )
    assert read_svg(plain).shape == (2, 3)


def test_reading_writes_nothing(tmp_path):
    f = tmp_path / "a.svg"
    f.write_text(svg('<circle cx="5" cy="5" r="4"/>'))
    before = sorted(os.listdir(tmp_path))
    read_svg(f, size=255, epsilon=2)
    assert sorted(os.listdir(tmp_path)) == before


# ---------------------------------------------------------------------------- prepare_svg


@needs_feather
def test_prepare_svg_on_a_folder_writes_a_magenta_npz(tmp_path):
    folder = tmp_path / "icons"
    (folder / "more").mkdir(parents=True)
    chosen = ICONS[:30]
    for i, path in enumerate(chosen):
        target = folder / "more" if i % 3 == 0 else folder
        (target / os.path.basename(path)).write_bytes(open(path, "rb").read())
    (folder / "notes.txt").write_text("not an svg")
    out = tmp_path / "data" / "icons.npz"
    counts = prepare_svg(folder, out, seed=3)
    assert counts == {"train": 24, "valid": 3, "test": 3, "skipped": 0, "dropped": 0}
    assert os.listdir(tmp_path / "data") == ["icons.npz"]
    data = load_npz(str(out))
    got = [s for split in ("train", "valid", "test") for s in data[split]]
    assert all(s.dtype == np.int16 and s.shape[1] == 3 for s in got)
    want = sorted(svg_to_stroke3(p).tobytes() for p in chosen)
    assert sorted(np.asarray(s).tobytes() for s in got) == want
    one = svg_to_stroke3(chosen[0])
    pts = np.cumsum(one[:, :2].astype(np.int64), axis=0)
    assert pts.min() >= 0 and np.ptp(pts, axis=0).max() == 255  # whole pixels, 255 box
    # Same seed, same file; other inputs: files and folders mixed; max_seq_len drops.
    counts2 = prepare_svg([chosen[0], folder / "more"], tmp_path / "b.npz", max_seq_len=20)
    assert counts2["dropped"] >= 1 and sum(counts2[k] for k in ("train", "valid", "test")) >= 3


@needs_feather
def test_prepare_svg_a_bad_file_among_many_names_it_and_writes_nothing(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for path in ICONS[:10]:
        (folder / os.path.basename(path)).write_bytes(open(path, "rb").read())
    (folder / "zz_broken.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'><line")
    out = tmp_path / "out.npz"
    with pytest.raises(DataError, match="zz_broken.svg.*truncated"):
        prepare_svg(folder, out)
    assert not out.exists() and os.listdir(tmp_path) == ["in"]
    with pytest.raises(DataError, match="no such file or folder"):
        prepare_svg(tmp_path / "nope", out)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="holds no .svg file"):
        prepare_svg(empty, out)
    with pytest.raises(DataError, match="give split"):
        prepare_svg(ICONS[:2], out)


def test_models_take_svg_drawings_through_their_front_door(tmp_path):
    """encode, complete, reconstruction_loss take an SVG path or text, sized as the model draws."""
    import sketch_rnn_tf as srt
    from sketch_rnn_tf.model.preprocessor import SVG_EPSILON, SVG_SIZE
    from sketch_rnn_tf.sampling import complete

    path = os.path.join(FEATHER, "cloud.svg")
    model = srt.load_model("aaron_sheep_vae")
    sketch = model.preprocessor.sketches(path)[0]
    extent = np.ptp(np.cumsum(sketch[:, :2], axis=0), axis=0).max()
    # (RDP, epsilon px, may cut a curve's outermost points.)
    assert extent == pytest.approx(SVG_SIZE * model.scale_factor, abs=2 * SVG_EPSILON)
    text = open(path, encoding="utf-8").read()
    np.testing.assert_array_equal(model.encode(text), model.encode([sketch]))
    assert model.reconstruction_loss(path) == model.reconstruction_loss([sketch])
    endings = complete(model, path, n=2, temperature=0.3, seed=0)
    assert len(endings) == 2 and all(
        np.allclose(e[: len(sketch)], sketch, atol=1e-3) for e in endings
    )
    with pytest.raises(srt.SketchRNNError, match="not well-formed"):
        model.encode("<svg")
