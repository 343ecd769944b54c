"""Stroke-3 / stroke-5 / polyline conversions (sketch_rnn_tf.data.strokes)."""

import numpy as np
import pytest

from sketch_rnn_tf.data import (
    PAD_TOKEN,
    START_TOKEN,
    DataError,
    clean_strokes,
    get_bounds,
    lines_to_strokes,
    pad_batch,
    scale_bound,
    strokes_to_lines,
    to_big_strokes,
    to_normal_strokes,
)

SKETCH = np.array(
    [[5, 3, 0], [2, -1, 0], [0, 4, 1], [-7, 1, 0], [3, 3, 0], [1, 0, 1]], dtype=np.int16
)


def test_tokens():
    np.testing.assert_array_equal(START_TOKEN, [0, 0, 1, 0, 0])
    np.testing.assert_array_equal(PAD_TOKEN, [0, 0, 0, 0, 1])


def test_to_big_strokes_layout_and_round_trip():
    big = to_big_strokes(SKETCH, max_len=10)
    assert big.shape == (10, 5) and big.dtype == np.float32
    np.testing.assert_array_equal(big[:6, :2], SKETCH[:, :2])
    np.testing.assert_array_equal(big[:6, 3], SKETCH[:, 2])  # p2 = pen lifted
    np.testing.assert_array_equal(big[:6, 2], 1 - SKETCH[:, 2])  # p1 = pen down
    assert not big[:6, 4].any()
    np.testing.assert_array_equal(big[6:], np.tile(PAD_TOKEN, (4, 1)))  # no S0, padding rows
    np.testing.assert_array_equal(to_normal_strokes(big), SKETCH)


def test_to_big_strokes_too_long():
    with pytest.raises(DataError, match="more than max_len=5"):
        to_big_strokes(SKETCH, max_len=5)


def test_to_normal_strokes_quirk_keeps_everything_when_p3_at_row_0_or_absent():
    big = to_big_strokes(SKETCH, max_len=6)  # exactly full: no p3 anywhere
    assert len(to_normal_strokes(big)) == 6
    all_pad = np.tile(PAD_TOKEN, (4, 1))  # p3 at row 0: Magenta keeps all 4 rows
    out = to_normal_strokes(all_pad)
    assert out.shape == (4, 3) and not out.any()


def test_pad_batch_layout():
    short = SKETCH[:3]
    x, seq_len = pad_batch([SKETCH, short], max_len=8)
    assert x.shape == (2, 9, 5) and x.dtype == np.float32
    assert seq_len.dtype == np.int32 and seq_len.tolist() == [6, 3]
    np.testing.assert_array_equal(x[:, 0], np.tile(START_TOKEN, (2, 1)))
    np.testing.assert_array_equal(x[0, 1:7], to_big_strokes(SKETCH, 6))
    np.testing.assert_array_equal(x[0, 7:], np.tile(PAD_TOKEN, (2, 1)))
    np.testing.assert_array_equal(x[1, 1:4, :2], short[:, :2])
    np.testing.assert_array_equal(x[1, 4:], np.tile(PAD_TOKEN, (5, 1)))
    # pad_batch == S0 followed by to_big_strokes, as Magenta builds it
    np.testing.assert_array_equal(x[1, 1:], to_big_strokes(short, 8))
    with pytest.raises(DataError, match="sketch 0"):
        pad_batch([SKETCH], max_len=4)


def test_lines_round_trip():
    lines = strokes_to_lines(SKETCH)
    assert lines == [[[5.0, 3.0], [7.0, 2.0], [7.0, 6.0]], [[0.0, 7.0], [3.0, 10.0], [4.0, 10.0]]]
    np.testing.assert_array_equal(lines_to_strokes(lines), SKETCH)
    # stroke-3 -> stroke-5 -> stroke-3 -> lines -> stroke-3
    back = lines_to_strokes(strokes_to_lines(to_normal_strokes(to_big_strokes(SKETCH, 250))))
    np.testing.assert_array_equal(back, SKETCH)


def test_get_bounds_and_scale_bound():
    assert get_bounds(SKETCH, factor=1) == (0.0, 7.0, 0.0, 10.0)
    assert get_bounds(SKETCH) == pytest.approx((0.0, 0.7, 0.0, 1.0))
    s = SKETCH.astype(np.float64)
    out = scale_bound(s, average_dimension=5.0)
    assert out is s
    lo_x, hi_x, lo_y, hi_y = get_bounds(s, 1)
    assert max(hi_x - lo_x, hi_y - lo_y) == pytest.approx(5.0)
    with pytest.raises(DataError, match="floating-point"):
        scale_bound(SKETCH.copy())


def test_clean_strokes():
    big = to_big_strokes(np.array([[0.012, -0.034, 0], [0.5, 0.25, 1]]), max_len=4)
    assert clean_strokes(big) == [[1, -3, 1, 0, 0], [50, 25, 0, 1, 0], [0, 0, 0, 0, 1]]
    assert clean_strokes(big[:2]) == [[1, -3, 1, 0, 0], [50, 25, 0, 1, 0], [0, 0, 0, 0, 1]]
