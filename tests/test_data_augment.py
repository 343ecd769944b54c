"""Magenta's augmentation with explicit generators (sketch_rnn_tf.data.augment)."""

import numpy as np

from sketch_rnn_tf.data import augment_strokes, random_scale, strokes_to_lines


def _sketch(rng, n_lines=6, line_len=12):
    rows = []
    for _ in range(n_lines):
        pts = rng.integers(-20, 21, size=(line_len, 2))
        pen = np.zeros((line_len, 1), dtype=np.int64)
        pen[-1] = 1
        rows.append(np.concatenate([pts, pen], axis=1))
    return np.concatenate(rows).astype(np.float32)


def _reference_augment(strokes, prob, urnd):
    """A literal transcription of the rules in the facts report, driven by given uniforms."""
    result = []
    prev = [0, 0, 1]
    count = 0
    for i, row in enumerate(strokes.tolist()):
        cand = list(row)
        count = 0 if (cand[2] == 1 or prev[2] == 1) else count + 1
        if cand[2] == 0 and prev[2] == 0 and count > 2 and urnd[i] < prob:
            prev[0] += cand[0]
            prev[1] += cand[1]
        else:
            prev = cand
            result.append(prev)
    return np.array(result)


def test_random_scale_factors_and_copy():
    data = np.array([[1.0, 2.0, 0.0], [3.0, -4.0, 1.0]], np.float32)
    out = random_scale(data, 0.15, np.random.default_rng(7))
    u = np.random.default_rng(7).random(2)
    fx, fy = (u - 0.5) * 2 * 0.15 + 1
    np.testing.assert_allclose(out[:, 0], data[:, 0] * fx, rtol=1e-6)
    np.testing.assert_allclose(out[:, 1], data[:, 1] * fy, rtol=1e-6)
    np.testing.assert_array_equal(out[:, 2], data[:, 2])
    assert out is not data and data[0, 0] == 1.0
    assert 0.85 <= fx < 1.15 and 0.85 <= fy < 1.15
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(random_scale(data, 0.0, rng), data)
    # Two numbers are drawn even with factor 0 (Magenta does the same).
    assert rng.random() == np.random.default_rng(0).random(3)[2]


def test_augment_keeps_displacement_endpoints_and_positions():
    rng = np.random.default_rng(1)
    total_dropped = 0
    for trial in range(20):
        s = _sketch(rng)
        out = augment_strokes(s, 0.5, np.random.default_rng([3, trial]))
        total_dropped += len(s) - len(out)
        np.testing.assert_array_equal(out[:, :2].sum(0), s[:, :2].sum(0))  # integer-valued: exact
        # Pen lifts (line end points) are all kept, so the lines and their end points are unchanged.
        assert out[:, 2].sum() == s[:, 2].sum()
        lines_in, lines_out = strokes_to_lines(s), strokes_to_lines(out)
        assert len(lines_in) == len(lines_out)
        for a, b in zip(lines_in, lines_out):
            assert a[0] == b[0] and a[-1] == b[-1]
            assert all(p in a for p in b)  # kept points stay where they were
            assert len(b) >= min(len(a), 4)  # first 3 points of a line are never dropped
    assert total_dropped > 100


def test_augment_matches_rule_transcription_and_is_seeded():
    s = _sketch(np.random.default_rng(5), n_lines=8, line_len=15)
    out = augment_strokes(s, 0.3, np.random.default_rng(11))
    urnd = np.random.default_rng(11).random(len(s))
    np.testing.assert_array_equal(out, _reference_augment(s, 0.3, urnd))
    np.testing.assert_array_equal(out, augment_strokes(s, 0.3, np.random.default_rng(11)))
    assert not np.array_equal(out, augment_strokes(s, 0.3, np.random.default_rng(12)))
    np.testing.assert_array_equal(augment_strokes(s, 0.0, np.random.default_rng(0)), s)
    assert out.dtype == s.dtype
