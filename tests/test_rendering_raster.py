"""Pictures out: PNG (resvg), animated GIF and SVG, and `save_sketches`.

The PNG is checked against the SVG of the same call rasterised by an independent renderer, headless
Chromium (Debian's `chromium`; those checks skip without it).
"""

import io
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from sketch_rnn_tf.rendering import (
    RenderError,
    display_animation,
    render_animated_svg,
    render_gif,
    render_grid,
    render_grid_gif,
    render_grid_png,
    render_png,
    render_svg,
    save_sketches,
    svg_to_png,
)

from _paths import SHEEP_NPZ

NS = "{http://www.w3.org/2000/svg}"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
needs_chromium = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason="needs Debian's chromium (apt-get install chromium)"
)
HAND = np.array([[3, 4, 0], [2, 0, 0], [0, -3, 1], [-4, 0, 0], [0, 5, 1]], dtype=np.int16)


@pytest.fixture(scope="module")
def sheep():
    data = np.load(SHEEP_NPZ, allow_pickle=True, encoding="latin1")
    return list(data["test"][:6])


def image(data):
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def ink(im, background="white"):
    """Pixels darker than mid-grey once composited on white: a boolean mask."""
    im = im.convert("RGBA")
    base = Image.new("RGBA", im.size, background)
    gray = np.asarray(Image.alpha_composite(base, im).convert("L"), dtype=np.float64)
    return gray < 128


def dilate(mask, r=1):
    out = mask.copy()
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            out |= np.roll(np.roll(mask, dy, axis=0), dx, axis=1)
    return out


def same_ink(a, b, r=1, slack=0.002):
    """Every ink pixel of each lies within r px of ink of the other (a tiny fraction excepted)."""
    assert a.shape == b.shape
    assert a.sum() > 0 and b.sum() > 0
    assert (a & ~dilate(b, r)).sum() <= slack * a.sum() + 2
    assert (b & ~dilate(a, r)).sum() <= slack * b.sum() + 2
    assert 0.85 < a.sum() / b.sum() < 1.15


def chromium_png(tmp_path, svg, size, budget_ms=None, name="page.svg"):
    """Headless Chromium's screenshot of the SVG document, at its own size."""
    page = tmp_path / name
    page.write_text(svg)
    shot = tmp_path / (name + ".png")
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        f"--window-size={size[0]},{size[1]}",
        f"--screenshot={shot}",
        page.as_uri(),
    ]
    if budget_ms is not None:
        cmd.insert(-1, f"--virtual-time-budget={budget_ms}")
    subprocess.run(cmd, capture_output=True, timeout=120, check=False)
    assert shot.exists(), "chromium wrote no screenshot"
    return Image.open(shot).convert("RGB")


def svg_size(svg):
    root = ET.fromstring(svg)
    return round(float(root.get("width"))), round(float(root.get("height")))


# ---------------------------------------------------------------------------- PNG


def test_png_size_mode_transparency_and_scale(tmp_path):
    svg = render_svg(HAND, factor=0.1)
    w, h = svg_size(svg)
    png = render_png(HAND, factor=0.1)
    im = image(png)
    assert im.format == "PNG" and im.mode == "RGBA" and im.size == (w, h)
    alpha = np.asarray(im)[..., 3]
    assert alpha[0, 0] == 0 and alpha.max() >= 128  # transparent background, ink
    assert 0 < (alpha > 0).mean() < 0.5
    # Anti-aliased: partly covered pixels at the edges of the lines.
    assert ((alpha > 0) & (alpha < 255)).any()
    big = image(render_png(HAND, factor=0.1, scale=2.5))
    assert big.size == (round(w * 2.5), round(h * 2.5))
    white = np.asarray(image(render_png(HAND, factor=0.1, background="white", stroke_width=3)))
    assert white[0, 0].tolist() == [255, 255, 255, 255] and (white[..., 3] == 255).all()
    assert white[..., 0].min() == 0  # a 3 px line is fully black in its middle
    out = tmp_path / "hand.png"
    data = render_png(HAND, out, factor=0.1, color="#ff0000", stroke_width=2)
    assert out.read_bytes() == data and os.listdir(tmp_path) == ["hand.png"]
    rgba = np.asarray(image(data))
    opaque = rgba[rgba[..., 3] == 255]
    assert (opaque[:, 0] == 255).all() and (opaque[:, 1:3] == 0).all()  # the colour as given


def test_grid_png_is_the_grid_svg(sheep):
    svg = render_grid(sheep, ncols=3, cell_size=80, labels=list("abcdef"))
    im = image(render_grid_png(sheep, ncols=3, cell_size=80, labels=list("abcdef")))
    assert im.size == svg_size(svg) and im.mode == "RGBA"
    im2 = image(render_grid_png(sheep, ncols=3, cell_size=80, scale=2, background="#eeeeee"))
    assert im2.size == (2 * 240, 2 * 160)
    assert np.asarray(im2)[0, 0].tolist() == [238, 238, 238, 255]


@needs_chromium
def test_png_ink_matches_chromium_rendering_the_same_svg(tmp_path, sheep):
    kw = dict(factor=0.4, stroke_width=2, padding=10, background="white")
    for k, sketch in enumerate(sheep[:2]):
        svg = render_svg(sketch, **kw)
        png = image(render_png(sketch, **kw))  # 502.5 px wide: 503 (the last one half covered)
        same_ink(ink(png), ink(chromium_png(tmp_path, svg, png.size, name=f"s{k}.svg")))
    gkw = dict(ncols=3, cell_size=90, stroke_width=1.5, background="white")
    svg = render_grid(sheep, **gkw)
    same_ink(
        ink(image(render_grid_png(sheep, **gkw))),
        ink(chromium_png(tmp_path, svg, svg_size(svg), name="grid.svg")),
    )


# ---------------------------------------------------------------------------- GIF


def frames(gif):
    im = Image.open(io.BytesIO(gif))
    out = []
    for i in range(im.n_frames):
        im.seek(i)
        out.append((im.convert("RGB").copy(), im.info.get("duration")))
    return out


def test_gif_draws_the_sheep_and_ends_on_the_png(tmp_path, sheep):
    sketch = sheep[0]
    kw = dict(factor=0.5, stroke_width=2, padding=10)
    out = tmp_path / "sheep.gif"
    gif = render_gif(sketch, out, hold_ms=1500, **kw)
    assert out.read_bytes() == gif and gif[:6] == b"GIF89a"
    fr = frames(gif)
    assert 10 <= len(fr) <= 60
    assert Image.open(io.BytesIO(gif)).info.get("loop") == 0
    inks = [ink(f).sum() for f, _ in fr]
    assert inks[0] < inks[len(inks) // 2] < inks[-1]  # the drawing grows
    assert all(b >= a - 5 for a, b in zip(inks, inks[1:]))
    assert fr[-1][1] == 1500 and fr[0][1] == 80
    png = image(render_png(sketch, background="white", **kw))
    assert fr[-1][0].size == png.size
    last, finished = ink(fr[-1][0]), ink(png)
    assert (last != finished).sum() <= 0.01 * finished.sum()  # the same ink, up to the palette
    # points_per_frame, no loop, transparent asked: drawn on white.
    once = render_gif(HAND, factor=0.1, points_per_frame=1, loop=False, background=None)
    assert len(frames(once)) == len(HAND)
    assert "loop" not in Image.open(io.BytesIO(once)).info
    assert frames(once)[0][0].getpixel((0, 0)) == (255, 255, 255)


def test_grid_gif_draws_every_cell_at_once(sheep):
    kw = dict(ncols=3, cell_size=70, stroke_width=1.5)
    gif = render_grid_gif(sheep, frames=12, **kw)
    fr = frames(gif)
    assert len(fr) == 12
    png = image(render_grid_png(sheep, background="white", **kw))
    last, finished = ink(fr[-1][0]), ink(png)
    assert (last != finished).sum() <= 0.01 * finished.sum()
    first = ink(fr[0][0])
    for c in range(3):  # every cell has begun in the first frame
        assert first[:, c * 70 : (c + 1) * 70].any()


# ---------------------------------------------------------------------------- animated SVG


def test_animated_svg_is_valid_xml_without_script(sheep):
    sketch = sheep[1]
    svg = render_animated_svg(sketch, factor=0.5, duration=2, hold=1, loop=False)
    root = ET.fromstring(svg)
    assert not list(root.iter(NS + "script"))
    assert "<script" not in svg and "javascript:" not in svg
    assert not any(k.startswith("on") for e in root.iter() for k in e.attrib)
    static = ET.fromstring(render_svg(sketch, factor=0.5))
    lines = list(root.iter(NS + "polyline"))
    assert [p.get("points") for p in lines] == [
        p.get("points") for p in static.iter(NS + "polyline")
    ]
    ids = [p.get("id") for p in lines]
    assert len(set(ids)) == len(ids) and all(p.get("pathLength") == "1" for p in lines)
    (style,) = root.iter(NS + "style")
    assert style.text.count("@keyframes") == len(lines)
    assert "3.000s linear 1 both" in style.text
    assert "infinite" in render_animated_svg(sketch, factor=0.5)
    # Another drawing gets other names (several animations on one notebook page).
    assert render_animated_svg(sheep[2], factor=0.5).split("@keyframes ")[1][:12] != ids[0][:12]
    # A renderer without CSS animation (resvg here) shows the finished drawing.
    still = image(svg_to_png(render_animated_svg(sketch, factor=0.5, background="white")))
    assert (ink(still) != ink(image(render_png(sketch, factor=0.5)))).sum() == 0
    shown = display_animation(sketch, factor=0.5)
    assert "@keyframes" in shown.data


@needs_chromium
def test_animated_svg_plays_in_chromium_and_ends_on_the_drawing(tmp_path, sheep):
    sketch = sheep[0]
    kw = dict(factor=0.5, stroke_width=2, padding=10, background="white")
    svg = render_animated_svg(sketch, duration=2, hold=0.5, loop=False, **kw)
    size = svg_size(svg)
    static = ink(chromium_png(tmp_path, render_svg(sketch, **kw), size, name="static.svg"))
    middle = ink(chromium_png(tmp_path, svg, size, budget_ms=900, name="mid.svg"))
    end = ink(chromium_png(tmp_path, svg, size, budget_ms=5000, name="end.svg"))
    assert 0 < middle.sum() < 0.8 * static.sum()
    assert (middle & ~dilate(static)).sum() <= 2  # what is drawn so far lies on the drawing
    same_ink(end, static)


# ---------------------------------------------------------------------------- save, errors


def test_save_sketches_picks_the_format_from_the_extension(tmp_path, sheep):
    for name in ("one.svg", "one.PNG", "one.gif"):
        assert save_sketches(sheep[0], tmp_path / name, factor=0.5) == str(tmp_path / name)
    assert (tmp_path / "one.svg").read_text().startswith("<svg")
    assert (tmp_path / "one.PNG").read_bytes()[1:4] == b"PNG"
    assert (tmp_path / "one.gif").read_bytes()[:3] == b"GIF"
    save_sketches(sheep[0], tmp_path / "anim.svg", animate=True)
    assert "@keyframes" in (tmp_path / "anim.svg").read_text()
    save_sketches(HAND.tolist(), tmp_path / "list.svg")  # a sketch as a list of rows
    assert len(list(ET.parse(tmp_path / "list.svg").getroot().iter(NS + "polyline"))) == 2
    for name in ("grid.svg", "grid.png", "grid.gif"):
        save_sketches(sheep, tmp_path / name, ncols=3, cell_size=60)
    assert 'id="cell-1-2"' in (tmp_path / "grid.svg").read_text()
    assert image((tmp_path / "grid.png").read_bytes()).size == (180, 120)
    assert len(frames((tmp_path / "grid.gif").read_bytes())) > 10


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: render_png(np.zeros((0, 3))), "empty sketch"),
        (lambda: render_png([[1.0, float("nan"), 0]]), "non-finite value"),
        (lambda: render_gif([[1, 1, 0.5]]), "pen_lifted must be 0 or 1"),
        (lambda: render_animated_svg(np.zeros((0, 3))), "empty sketch"),
        (lambda: render_png(HAND, scale=0), "scale must be finite and > 0"),
        (lambda: render_png(HAND, scale=float("nan")), "scale must be finite"),
        (lambda: render_png(HAND, scale="2"), "scale must be a number"),
        (lambda: render_png(HAND, factor=-1), "factor must be finite and > 0"),
        (lambda: render_png(HAND, factor=1e-6), "more than the .* pixels allowed"),
        (lambda: render_grid_png([HAND], cell_size=0), "cell_size must be finite"),
        (lambda: render_grid_png([], cell_size=10), "sketches is empty"),
        (lambda: render_gif(HAND, frame_ms=5), "frame_ms must be an integer >= 20"),
        (lambda: render_gif(HAND, points_per_frame=0), "points_per_frame must be"),
        (lambda: render_grid_gif([HAND], frames=0), "frames must be"),
        (lambda: render_animated_svg(HAND, duration=0), "duration must be finite and > 0"),
        (lambda: save_sketches(HAND, "x.jpg"), r"unknown extension '\.jpg'"),
        (lambda: save_sketches(HAND, "noext"), r"unknown extension '\(none\)'"),
        (lambda: save_sketches(HAND, "x.png", animate=True), "applies to .svg only"),
        (lambda: save_sketches([HAND, HAND], "x.svg", animate=True), "one sketch"),
        (lambda: save_sketches(HAND, "x.png", ncols=3), "cannot save 'x.png'.*ncols"),
        (lambda: render_png(HAND, "/nonexistent/dir/x.png"), "cannot write PNG"),
    ],
)
def test_bad_inputs_raise_render_error(call, match):
    with pytest.raises(RenderError, match=match):
        call()


@needs_chromium
def test_the_sample_command_writes_svg_png_and_gif_that_agree(tmp_path):
    """`sample --out x.svg|x.png|x.gif` with one seed draw the same picture.

    The PNG's ink is Chromium's rendering of the SVG; the GIF has >= 10 frames, the last the PNG.
    """
    from sketch_rnn_tf import cli

    args = ["sample", "--checkpoint", "sheep", "--num", "4", "--seed", "2", "--ncols", "2"]
    paths = {ext: str(tmp_path / f"x.{ext}") for ext in ("svg", "png", "gif")}
    for path in paths.values():
        assert cli.main(args + ["--out", path]) == 0
    png = image(open(paths["png"], "rb").read())
    svg = open(paths["svg"], encoding="utf-8").read()
    same_ink(ink(png), ink(chromium_png(tmp_path, svg, png.size, name="cli.svg")))
    gif = [f for f, _ in frames(open(paths["gif"], "rb").read())]
    assert len(gif) >= 10
    last, finished = ink(gif[-1]), ink(png)
    assert last.shape == finished.shape
    assert (last != finished).sum() <= 0.01 * finished.sum()  # the same ink, up to the palette
    assert ink(gif[0]).sum() < last.sum()  # it is drawn, not shown at once
    assert cli.main(args + ["--out", str(tmp_path / "x.jpg")]) == 2
    assert not (tmp_path / "x.jpg").exists()
