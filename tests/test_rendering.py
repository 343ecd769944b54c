"""Tests of sketch_rnn_tf.rendering: SVG geometry, colours, grids, validation, file output."""

import os
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from sketch_rnn_tf.rendering import (
    RenderError,
    display_svg,
    grid_colors,
    interpolate_colors,
    render_grid,
    render_svg,
    stroke_colors,
    strokes_to_polylines,
)

from _paths import SHARED as SHARED_ROOT

NS = "{http://www.w3.org/2000/svg}"
SHEEP = os.path.join(SHARED_ROOT, "data/npz/aaron_sheep.npz")

# Two strokes: (3,4) -> (5,4) -> (5,1) | lift | (1,1) -> (1,6) (last row lifts the pen).
HAND = np.array([[3, 4, 0], [2, 0, 0], [0, -3, 1], [-4, 0, 0], [0, 5, 1]], dtype=np.int16)


def parse(svg):
    return ET.fromstring(svg)


def polylines(elem):
    """Points of each <polyline class="stroke"> under elem, as (k, 2) arrays, in order."""
    out = []
    for pl in elem.iter(NS + "polyline"):
        assert pl.get("class") == "stroke"
        pts = [tuple(map(float, p.split(","))) for p in pl.get("points").split()]
        out.append(np.array(pts))
    return out


def stroke_attr(elem):
    return [pl.get("stroke") for pl in elem.iter(NS + "polyline")]


@pytest.fixture(scope="module")
def sheep():
    data = np.load(SHEEP, allow_pickle=True, encoding="latin1")
    return list(data["test"][:12])


# --------------------------------------------------------------------------- polylines


def test_strokes_to_polylines_hand_made():
    polys = strokes_to_polylines(HAND)
    assert len(polys) == 2
    np.testing.assert_array_equal(polys[0], [[3, 4], [5, 4], [5, 1]])
    np.testing.assert_array_equal(polys[1], [[1, 1], [1, 6]])
    # Without a final lift the last stroke still ends at the last row.
    polys = strokes_to_polylines(np.array([[1, 1, 1], [2, 0, 0], [0, 2, 0]]))
    assert [p.tolist() for p in polys] == [[[1, 1]], [[3, 1], [3, 3]]]
    assert strokes_to_polylines(np.zeros((0, 3))) == []


def test_strokes_to_polylines_real_sketch_covers_every_point(sheep):
    s = sheep[0]
    polys = strokes_to_polylines(s)
    assert len(polys) == int(s[:, 2].sum()) + (0 if s[-1, 2] == 1 else 1)
    np.testing.assert_array_equal(np.concatenate(polys), np.cumsum(s[:, :2], axis=0))


# --------------------------------------------------------------------------- render_svg


def test_render_svg_coordinates_are_scaled_cumulative_sums():
    factor, padding = 0.5, 10
    root = parse(render_svg(HAND, factor=factor, padding=padding))
    abs_xy = np.cumsum(HAND[:, :2], axis=0).astype(float)
    lo = abs_xy.min(axis=0)
    expected = (abs_xy - lo) / factor + padding
    polys = polylines(root)
    assert len(polys) == 2
    np.testing.assert_allclose(np.concatenate(polys), expected, atol=1e-3)
    # Size and viewBox: the drawing's extent plus the padding on each side.
    w = (abs_xy[:, 0].max() - lo[0]) / factor + 2 * padding
    h = (abs_xy[:, 1].max() - lo[1]) / factor + 2 * padding
    assert float(root.get("width")) == pytest.approx(w)
    assert float(root.get("height")) == pytest.approx(h)
    assert [float(v) for v in root.get("viewBox").replace(",", " ").split()] == pytest.approx(
        [0, 0, w, h]
    )


def test_render_svg_real_sketch_inside_viewbox_with_padding(sheep):
    s = sheep[0]
    root = parse(render_svg(s))  # default factor 0.2, padding 25
    pts = np.concatenate(polylines(root))
    np.testing.assert_allclose(
        pts,
        (np.cumsum(s[:, :2], axis=0) - np.cumsum(s[:, :2], axis=0).min(axis=0)) / 0.2 + 25,
        atol=1e-3,
    )
    _, _, w, h = [float(v) for v in root.get("viewBox").replace(",", " ").split()]
    assert pts.min(axis=0) == pytest.approx([25, 25])
    assert pts[:, 0].max() == pytest.approx(w - 25)
    assert pts[:, 1].max() == pytest.approx(h - 25)


def test_render_svg_single_colour_and_style():
    root = parse(render_svg(HAND, color=(255, 0, 0), stroke_width=2.5, background="white"))
    assert set(stroke_attr(root)) == {"#ff0000"}
    group = root.find(NS + "g")
    assert group.get("fill") == "none" and group.get("stroke-width") == "2.5"
    bg = root.find(NS + "rect")
    assert bg.get("fill") == "white" and bg.get("width") == root.get("width")


def test_color_by_stroke_one_distinct_colour_per_stroke(sheep):
    s = sheep[0]
    n_strokes = len(strokes_to_polylines(s))
    root = parse(render_svg(s, color_by_stroke=True))
    colours = stroke_attr(root)
    assert len(colours) == n_strokes
    assert len(set(colours)) == n_strokes
    assert colours == stroke_colors(n_strokes)
    assert all(c.startswith("#") and len(c) == 7 for c in colours)


def test_stroke_colors_ramp_is_perceptually_even():
    cols = stroke_colors(7)
    assert len(set(cols)) == 7
    rgb = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in cols]) / 255.0
    luma = rgb @ np.array([0.2126, 0.7152, 0.0722])  # roughly constant lightness
    assert luma.max() - luma.min() < 0.25
    assert stroke_colors(0) == [] and len(stroke_colors(1)) == 1


def test_single_point_stroke_is_drawn_as_a_dot():
    root = parse(render_svg(np.array([[2, 2, 1], [3, 0, 0], [1, 0, 1]])))
    polys = polylines(root)
    assert len(polys) == 2
    assert len(polys[0]) == 2 and np.array_equal(polys[0][0], polys[0][1])


# --------------------------------------------------------------------------- colours


def test_interpolate_colors():
    c = interpolate_colors("#000000", (255, 100, 50), 3)
    np.testing.assert_allclose(c, [[0, 0, 0], [127.5, 50, 25], [255, 100, 50]])
    np.testing.assert_allclose(interpolate_colors("#fff", "#000", 1), [[255, 255, 255]])


def test_grid_colors_corners_and_centre():
    corners = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (40, 60, 80)]
    g = grid_colors(corners, 5, 7)
    assert g.shape == (5, 7, 3)
    np.testing.assert_allclose(g[0, 0], corners[0])
    np.testing.assert_allclose(g[0, -1], corners[1])
    np.testing.assert_allclose(g[-1, 0], corners[2])
    np.testing.assert_allclose(g[-1, -1], corners[3])
    np.testing.assert_allclose(g[2, 3], np.mean(corners, axis=0))
    # Edges are linear interpolations of their two corners.
    np.testing.assert_allclose(g[0], interpolate_colors(corners[0], corners[1], 7))


# --------------------------------------------------------------------------- grids


def cells(root):
    return {g.get("id"): g for g in root.iter(NS + "g") if g.get("class") == "cell"}


def test_render_grid_flat_layout_and_cell_bounds(sheep):
    n, ncols, size, pad = 7, 3, 80, 6
    root = parse(render_grid(sheep[:n], ncols=ncols, cell_size=size, cell_padding=pad))
    assert float(root.get("width")) == 3 * size and float(root.get("height")) == 3 * size
    cs = cells(root)
    assert len(cs) == 9  # 3 x 3 grid, the last 2 cells blank
    for k in range(9):
        r, c = divmod(k, ncols)
        polys = polylines(cs[f"cell-{r}-{c}"])
        if k >= n:
            assert polys == []
            continue
        assert len(polys) == len(strokes_to_polylines(sheep[k]))
        pts = np.concatenate(polys)
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        x0, y0 = c * size, r * size
        assert lo[0] >= x0 + pad - 1e-3 and hi[0] <= x0 + size - pad + 1e-3
        assert lo[1] >= y0 + pad - 1e-3 and hi[1] <= y0 + size - pad + 1e-3
        # Fitted (touches the padding on one axis) and centred.
        assert max(hi - lo) == pytest.approx(size - 2 * pad, abs=2e-3)
        np.testing.assert_allclose((lo + hi) / 2, [x0 + size / 2, y0 + size / 2], atol=2e-3)
        # Shape preserved: same as the raw points up to scale and shift.
        raw = np.cumsum(sheep[k][:, :2].astype(float), axis=0)
        scale = (hi - lo)[0] / np.ptp(raw[:, 0])
        np.testing.assert_allclose(pts, (raw - raw.min(axis=0)) * scale + lo, atol=2e-3)


def test_render_grid_rows_blank_cells_colours_and_labels(sheep):
    rows = [[sheep[0], sheep[1], sheep[2]], [sheep[3], None, np.zeros((0, 3))]]
    colours = grid_colors(["#ff0000", "#00ff00", "#0000ff", "#000000"], 2, 3)
    labels = [["a", "b", "c"], ["d", "e", "f"]]
    root = parse(
        render_grid(
            rows,
            cell_size=(90, 60),
            colors=colours,
            labels=labels,
            cell_border="#cccccc",
            margin=5,
            font_size=10,
        )
    )
    cs = cells(root)
    assert sorted(cs) == [f"cell-{r}-{c}" for r in range(2) for c in range(3)]
    assert float(root.get("width")) == 2 * 5 + 3 * 90
    assert float(root.get("height")) == 2 * 5 + 2 * (60 + 15)
    assert set(stroke_attr(cs["cell-0-0"])) == {"#ff0000"}
    assert set(stroke_attr(cs["cell-0-2"])) == {"#00ff00"}
    assert set(stroke_attr(cs["cell-1-0"])) == {"#0000ff"}
    assert set(stroke_attr(cs["cell-0-1"])) == {"#808000"}
    assert polylines(cs["cell-1-1"]) == [] and polylines(cs["cell-1-2"]) == []
    texts = {g_id: g.find(NS + "text") for g_id, g in cs.items()}
    assert {k: t.text for k, t in texts.items()} == {
        "cell-0-0": "a",
        "cell-0-1": "b",
        "cell-0-2": "c",
        "cell-1-0": "d",
        "cell-1-1": "e",
        "cell-1-2": "f",
    }
    # Labels sit under their cell, centred.
    t = texts["cell-1-2"]
    assert float(t.get("x")) == 5 + 2 * 90 + 45
    assert 5 + 75 + 60 < float(t.get("y")) <= 5 + 2 * 75
    # Each sketch stays inside its cell.
    for r in range(2):
        for c in range(3):
            polys = polylines(cs[f"cell-{r}-{c}"])
            if polys:
                pts = np.concatenate(polys)
                assert pts[:, 0].min() >= 5 + c * 90 and pts[:, 0].max() <= 5 + (c + 1) * 90
                assert pts[:, 1].min() >= 5 + r * 75 and pts[:, 1].max() <= 5 + r * 75 + 60


def test_render_grid_flat_colors_default_ncols_and_uniform_scale(sheep):
    cols = interpolate_colors("#000000", "#ffffff", 4)
    root = parse(render_grid(sheep[:4], colors=cols, color_by_stroke=True))
    cs = cells(root)
    assert len(cs) == 4 and "cell-1-1" in cs  # ceil(sqrt(4)) = 2 columns
    assert set(stroke_attr(cs["cell-1-1"])) == {"#ffffff"}  # colors win over color_by_stroke
    root = parse(render_grid(sheep[:2], ncols=2, color_by_stroke=True, uniform_scale=True))
    spans = []
    for k, g in enumerate(cells(root).values()):
        assert len(set(stroke_attr(g))) == len(strokes_to_polylines(sheep[k]))
        pts = np.concatenate(polylines(g))
        spans.append(np.ptp(pts, axis=0) / np.ptp(np.cumsum(sheep[k][:, :2], axis=0), axis=0))
    np.testing.assert_allclose(spans[0], spans[1], rtol=1e-3)  # one scale for all cells


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "bad, msg",
    [
        (np.zeros((4, 2)), "shape"),
        (np.zeros((2, 3, 1)), "shape"),
        (np.zeros(3), "shape"),
        (np.zeros((0, 3)), "empty"),
        (np.array([[1.0, np.nan, 0]]), "non-finite"),
        (np.array([[1.0, 2, 0], [np.inf, 0, 1]]), "row 1"),
        (np.array([[1, 2, 0.5]]), "pen_lifted"),
        ([[1, 2, 0], [1, 2]], "rectangular"),
        (np.array([["a", "b", "c"]]), "numeric"),
        (None, "None"),
    ],
)
def test_invalid_sketches_raise_render_error(bad, msg):
    with pytest.raises(RenderError, match=msg):
        render_svg(bad)


def test_invalid_arguments_raise_render_error(sheep):
    for kw in ({"factor": 0}, {"factor": float("nan")}, {"padding": -1}, {"stroke_width": -1}):
        with pytest.raises(RenderError):
            render_svg(HAND, **kw)
    with pytest.raises(RenderError, match="empty"):
        render_grid([])
    with pytest.raises(RenderError, match=r"cell \(0, 1\)"):
        render_grid([HAND, np.zeros((3, 2))])
    with pytest.raises(RenderError, match="ncols"):
        render_grid([HAND], ncols=0)
    with pytest.raises(RenderError, match="entries"):
        render_grid([HAND, HAND], ncols=2, labels=["a", "b", "c"])
    with pytest.raises(RenderError, match="4 colours"):
        grid_colors(["#000"] * 3, 2, 2)
    with pytest.raises(RenderError):
        interpolate_colors("red", "#000", 3)  # names cannot be interpolated
    assert issubclass(RenderError, ValueError)


def test_empty_sketch_is_a_blank_cell_in_grids_only():
    root = parse(render_grid([HAND, np.zeros((0, 3)), []], ncols=3))
    assert [len(polylines(g)) for g in cells(root).values()] == [2, 0, 0]
    with pytest.raises(RenderError, match="empty"):
        render_svg([])


# --------------------------------------------------------------------------- files


def test_file_is_written_and_equals_returned_string(tmp_path, sheep):
    out = tmp_path / "sheep.svg"
    svg = render_svg(sheep[0], path=out, color_by_stroke=True)
    assert out.read_text(encoding="utf-8") == svg
    grid_out = str(tmp_path / "grid.svg")
    svg = render_grid(sheep[:4], path=grid_out, labels=["1", "2", "3", "4"])
    with open(grid_out, encoding="utf-8") as f:
        assert f.read() == svg
    # Overwriting works and leaves no temporary files behind.
    svg2 = render_svg(HAND, path=out)
    assert out.read_text(encoding="utf-8") == svg2
    assert sorted(os.listdir(tmp_path)) == ["grid.svg", "sheep.svg"]


def test_unwritable_paths_raise_render_error(tmp_path):
    missing = tmp_path / "no_such_dir" / "x.svg"
    with pytest.raises(RenderError, match="does not exist") as e:
        render_svg(HAND, path=missing)
    assert str(missing) in str(e.value)
    with pytest.raises(RenderError, match="is a directory") as e:
        render_svg(HAND, path=tmp_path)
    assert str(tmp_path) in str(e.value)
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(RenderError, match="not a directory"):
        render_grid([HAND], path=a_file / "x.svg")
    assert sorted(os.listdir(tmp_path)) == ["file.txt"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_permission_denied_raises_render_error(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(RenderError, match="ermission denied"):
            render_svg(HAND, path=ro / "x.svg")
    finally:
        ro.chmod(0o700)


def test_failed_write_keeps_old_file_intact(tmp_path, monkeypatch):
    out = tmp_path / "keep.svg"
    out.write_text("old contents")

    def failing_replace(src, dst):
        raise PermissionError(13, "Permission denied", str(dst))

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(RenderError, match="Permission denied") as e:
        render_svg(HAND, path=out)
    assert str(out) in str(e.value)
    assert isinstance(e.value.__cause__, OSError)
    assert out.read_text() == "old contents"
    assert os.listdir(tmp_path) == ["keep.svg"]  # the temporary file was removed


def test_new_file_gets_normal_permissions(tmp_path):
    out = tmp_path / "perm.svg"
    render_svg(HAND, path=out)
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask


# --------------------------------------------------------------------------- notebooks


def test_display_svg(sheep):
    pytest.importorskip("IPython")
    from IPython.display import SVG

    obj = display_svg(sheep[0], color_by_stroke=True)
    assert isinstance(obj, SVG)
    assert len(polylines(parse(obj.data))) == len(strokes_to_polylines(sheep[0]))
    svg = render_grid(sheep[:2])
    assert isinstance(display_svg(svg), SVG)
    with pytest.raises(TypeError):
        display_svg(svg, factor=1.0)


def test_display_svg_without_ipython(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_ipython(name, *args, **kwargs):
        if name.startswith("IPython"):
            raise ImportError("No module named 'IPython'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ipython)
    with pytest.raises(ImportError, match="needs IPython"):
        display_svg(HAND)


def test_grid_style_object_and_options_agree(sheep):
    from sketch_rnn_tf.rendering import GridStyle

    style = GridStyle(stroke_width=2, color_by_stroke=True, cell_border="#ccc", margin=4)
    by_object = render_grid([HAND, HAND], style=style)
    assert by_object == render_grid(
        [HAND, HAND], stroke_width=2, color_by_stroke=True, cell_border="#ccc", margin=4
    )
    assert by_object != render_grid([HAND, HAND])
    # keyword options replace single fields of the style object
    assert render_grid([HAND], style=style, margin=0) == render_grid(
        [HAND], stroke_width=2, color_by_stroke=True, cell_border="#ccc"
    )
    with pytest.raises(RenderError, match=r"unknown style options \['colour'\]"):
        render_grid([HAND], colour="red")
    with pytest.raises(RenderError, match="style must be a GridStyle"):
        render_grid([HAND], style={"margin": 3})
