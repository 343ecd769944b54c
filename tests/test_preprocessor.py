"""The numpy front door (`SketchPreprocessor`) and the one rule for a sketch (`data.checks`).

The same bad sketch is refused with the same problem by every entry point: the .npz loader, the
stroke helpers, the preprocessor (model, decoding loop, completion, export client) and rendering.
"""

import subprocess
import sys

import numpy as np
import pytest

from sketch_rnn_tf.data import DataError, pad_batch, to_big_strokes, validate_sketch
from sketch_rnn_tf.data.checks import check_scale_factor, check_stroke3
from sketch_rnn_tf.data.strokes import strokes_to_lines
from sketch_rnn_tf.errors import SketchRNNError
from sketch_rnn_tf.model.preprocessor import ModelInputError, SketchPreprocessor
from sketch_rnn_tf.rendering import RenderError, render_svg

GOOD = np.array([[10, -4, 0], [3, 7, 1], [-8, 2, 0], [5, 5, 1]], np.int16)

BAD = [
    (np.array([[1, 2, 0], [3, 4, 2]], np.int16), "pen value 2 at row 1; pen_lifted must be 0 or 1"),
    (np.array([[1, 2, 0], [3, 4, 0.5]]), "pen value 0.5 at row 1; pen_lifted must be 0 or 1"),
    (np.array([[1, 2, 0], [np.nan, 4, 1]]), "non-finite value (NaN) at row 1, column 0"),
    (
        np.array([[1, np.inf, 0], [3, 4, 1]], np.float32),
        "non-finite value (inf) at row 0, column 1",
    ),
    (np.zeros((4, 2)), "wrong shape (4, 2)"),
    (np.zeros((0, 3)), "empty sketch (0 points)"),
    (np.ones((3, 3), bool), "non-numeric dtype bool"),
    (np.array([["a", "b", "c"], ["d", "e", "f"]]), "non-numeric dtype"),
]
IDS = ["pen2", "pen-half", "nan", "inf", "shape", "empty", "bool", "strings"]


@pytest.mark.parametrize("bad, problem", BAD, ids=IDS)
def test_one_rule_everywhere(bad, problem):
    """Loader, stroke helpers, preprocessor and rendering refuse the same sketch the same way."""
    pre = SketchPreprocessor(max_seq_len=10, scale_factor=2.0, z_size=4)
    raised = []
    for call, error in [
        (lambda: validate_sketch(bad, "npz"), DataError),
        (lambda: pad_batch([bad], 10), DataError),
        (lambda: pre.pad([GOOD, bad]), ModelInputError),
        (lambda: render_svg(bad), RenderError),
    ]:
        with pytest.raises(error) as info:
            call()
        assert isinstance(info.value, SketchRNNError)
        raised.append(str(info.value))
    for message in raised:
        assert problem in message, raised
    assert raised[2].startswith("sketch 1: ")


def test_pen_values_rule_is_the_same_for_loader_and_model():
    """0/1 pen values (int or float) pass everywhere; the loader and the model agree."""
    floats = GOOD.astype(np.float64)
    assert validate_sketch(floats).dtype == np.float32
    assert validate_sketch(GOOD).dtype == np.int16
    batch, _ = SketchPreprocessor(10).pad([GOOD, floats])
    np.testing.assert_array_equal(batch[0], batch[1])


def test_min_points_and_blank_cells():
    with pytest.raises(DataError, match="one-point sketch"):
        validate_sketch(GOOD[:1])  # a data set's sketch needs 2 points
    assert len(SketchPreprocessor(10).sketches(GOOD[:1])[0]) == 1  # the model takes one
    assert check_stroke3([], min_points=0).shape == (0, 3)  # a blank grid cell
    assert strokes_to_lines(np.zeros((0, 3))) == []


def test_pad_scales_and_matches_magenta_padding():
    pre = SketchPreprocessor(max_seq_len=6, scale_factor=4.0)
    batch, lengths = pre(GOOD)  # one sketch, not in a list
    assert batch.shape == (1, 7, 5) and batch.dtype == np.float32
    assert lengths.tolist() == [4] and lengths.dtype == np.int32
    np.testing.assert_array_equal(batch[0, 0], [0, 0, 1, 0, 0])
    expected = GOOD.astype(np.float32)
    expected[:, :2] /= np.float32(4.0)
    np.testing.assert_array_equal(batch[0, 1:], to_big_strokes(expected, 6))
    # a nested list of rows is one sketch too, and a list of sketches is a batch
    assert pre(GOOD.tolist())[0].shape == (1, 7, 5)
    assert pre([GOOD, GOOD[:2]])[1].tolist() == [4, 2]


def test_postprocess_inverts_pad():
    pre = SketchPreprocessor(max_seq_len=8, scale_factor=18.5198)
    sketches = [GOOD.astype(np.float32), GOOD[:3].astype(np.float32) * [3, 3, 1]]
    batch, lengths = pre.pad(sketches)
    back = pre.postprocess(batch[:, 1:])
    for original, restored in zip(sketches, back):
        assert restored.dtype == np.float32 and restored.shape == original.shape
        np.testing.assert_allclose(restored, original, rtol=1e-6, atol=1e-5)


def test_length_limit_names_the_sketch():
    with pytest.raises(
        ModelInputError,
        match=r"^prefix 1: has 4 points, more than this "
        r"model's max_seq_len 3$",
    ):
        SketchPreprocessor(3).sketches([GOOD[:2], GOOD], what="prefix")
    for empty in ([], None):
        with pytest.raises(ModelInputError, match="no sketches given"):
            SketchPreprocessor(3).pad(empty)


def test_latents_broadcast_draw_and_refuse():
    pre = SketchPreprocessor(10, z_size=3)
    z = np.array([0.5, -1.0, 2.0])
    np.testing.assert_array_equal(pre.latents(4, z), np.tile(z, (4, 1)).astype(np.float32))
    np.testing.assert_array_equal(pre.latents(4, z[None]), np.tile(z, (4, 1)))
    assert pre.latents(2, np.ones((2, 3))).dtype == np.float32
    drawn = pre.latents(5, None, np.random.default_rng(7))
    np.testing.assert_array_equal(
        drawn, np.random.default_rng(7).standard_normal((5, 3)).astype(np.float32)
    )
    for bad, match in [
        (np.zeros(4), r"shape \(4,\); expected \(3,\) or \(2, 3\)"),
        (np.zeros((3, 3)), r"shape \(3, 3\)"),
        ([np.nan] * 3, "NaN"),
        ("abc", "not a numeric array"),
    ]:
        with pytest.raises(ModelInputError, match=match):
            pre.latents(2, bad)
    decoder_only = SketchPreprocessor(10)
    assert decoder_only.latents(3).shape == (3, 0)
    with pytest.raises(ModelInputError, match="decoder-only"):
        decoder_only.latents(3, z)


def test_scale_factor_check():
    assert check_scale_factor(np.float32(2.5)) == 2.5
    for bad in (0, -1.0, float("inf"), float("nan"), True, "x", None):
        with pytest.raises(DataError, match="scale_factor"):
            check_scale_factor(bad, where="here")
    with pytest.raises(ModelInputError, match="SketchPreprocessor: scale_factor"):
        SketchPreprocessor(10, scale_factor=0)


def test_front_door_needs_no_tensorflow():
    code = (
        "import sys; import sketch_rnn_tf as srt; import numpy as np; "
        "srt.SketchPreprocessor(5, 2.0, 3).pad([np.zeros((2, 3))]); "
        "print('tensorflow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr[-2000:]
