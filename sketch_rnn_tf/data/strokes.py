"""Stroke formats of sketch-rnn and conversions between them.

Paper (Ha & Eck 2017, section 3.1 "Dataset"): a sketch is a list of points,
each point a vector of 5 elements `(dx, dy, p1, p2, p3)`.  `dx, dy` is the
offset from the previous point; `p1` = pen touching the paper (a line will be
drawn to the next point), `p2` = pen lifted after this point, `p3` = the
drawing has ended (this and all later points are not rendered).  This is
"stroke-5".  The data sets store the more compact "stroke-3" format
`(dx, dy, pen_lifted)` where `pen_lifted` equals `p2`.

Section 3.3: the decoder's first input is `S0 = (0, 0, 1, 0, 0)`
(`START_TOKEN`) and sequences are padded up to `N_max` with
`(0, 0, 0, 0, 1)` (`PAD_TOKEN`), so every sequence has exactly
`N_max` points after `S0`.

Function semantics follow Magenta's `magenta/models/sketch_rnn/utils.py`
(documented quirks are kept and marked).
"""

from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np

from sketch_rnn_tf.data.checks import DataError, check_stroke3

#: S0 of the paper: the first decoder input of every sequence.
START_TOKEN = np.array([0.0, 0.0, 1.0, 0.0, 0.0], dtype=np.float32)
#: The padding row after the end of a sketch ("end of sketch" state p3 = 1).
PAD_TOKEN = np.array([0.0, 0.0, 0.0, 0.0, 1.0], dtype=np.float32)


def _as_stroke3(stroke, name: str = "stroke", min_points: int = 1) -> np.ndarray:
    """The one rule of `checks.check_stroke3` (model input is never empty; drawing may be)."""
    return check_stroke3(stroke, min_points=min_points, where=name)


def _as_stroke5(big, name: str = "stroke-5") -> np.ndarray:
    arr = np.asarray(big)
    if arr.ndim != 2 or arr.shape[1] != 5:
        raise DataError(
            f"expected a stroke-5 array of shape (len, 5), got shape {arr.shape}", where=name
        )
    return arr


def to_big_strokes(stroke, max_len: int = 250, dtype=np.float32) -> np.ndarray:
    """stroke-3 `[len, 3]` -> stroke-5 `[max_len, 5]` (Magenta's `to_big_strokes`).

    Rows `0..len-1` hold the data with `p1 = 1 - pen`, `p2 = pen`,
    `p3 = 0`; rows `len..max_len-1` are `PAD_TOKEN`.  There is **no**
    start token S0 (use `pad_batch` for model input).  Raises
    `DataError` if `len > max_len` (Magenta asserts).  The result is
    float32 by default (Magenta's is float64; pass `dtype=np.float64`).
    """
    stroke = _as_stroke3(stroke)
    n = len(stroke)
    if n > max_len:
        raise DataError(
            f"sketch has {n} points, more than max_len={max_len}", where="to_big_strokes"
        )
    result = np.zeros((max_len, 5), dtype=dtype)
    result[:n, 0:2] = stroke[:, 0:2]
    result[:n, 3] = stroke[:, 2]
    result[:n, 2] = 1 - result[:n, 3]
    result[n:, 4] = 1
    return result


def to_normal_strokes(big_stroke) -> np.ndarray:
    """stroke-5 -> stroke-3, cut at the first row with `p3 > 0` (Magenta's `to_normal_strokes`).

    The output pen column is `p2`.  Magenta quirk, kept on purpose: if no row
    has `p3 > 0`, *or the first such row is row 0*, the whole array is kept
    (so an all-padding input comes back with its full length, not empty).
    Returns float64 like Magenta (`np.zeros` default).
    """
    big = _as_stroke5(big_stroke)
    ends = np.nonzero(big[:, 4] > 0)[0]
    length = int(ends[0]) if len(ends) else 0
    if length == 0:  # Magenta quirk: "not found" and "found at row 0" look the same.
        length = len(big)
    result = np.zeros((length, 3))
    result[:, 0:2] = big[:length, 0:2]
    result[:, 2] = big[:length, 3]
    return result


def pad_batch(strokes_list: Sequence[np.ndarray], max_len: int) -> Tuple[np.ndarray, np.ndarray]:
    """Builds the model input batch (Magenta's `DataLoader.pad_batch`), paper section 3.3.

    Returns `(x, seq_len)`:
      * `x`: float32 `[B, max_len + 1, 5]`.  Row 0 is S0 = (0,0,1,0,0); rows
        `1..len` are the sketch in stroke-5 (`p1 = 1 - pen`, `p2 = pen`);
        rows `len+1..max_len` are (0,0,0,0,1).
      * `seq_len`: int32 `[B]`, the number of real points (S0 excluded).
    """
    batch = len(strokes_list)
    x = np.zeros((batch, max_len + 1, 5), dtype=np.float32)
    seq_len = np.zeros((batch,), dtype=np.int32)
    x[:, 0, :] = START_TOKEN
    for i, stroke in enumerate(strokes_list):
        stroke = _as_stroke3(stroke, name=f"pad_batch, sketch {i}")
        n = len(stroke)
        if n > max_len:
            raise DataError(
                f"sketch has {n} points, more than max_len={max_len}",
                where=f"pad_batch, sketch {i}",
            )
        x[i, 1 : n + 1, 0:2] = stroke[:, 0:2]
        x[i, 1 : n + 1, 3] = stroke[:, 2]
        x[i, 1 : n + 1, 2] = 1 - x[i, 1 : n + 1, 3]
        x[i, n + 1 :, 4] = 1
        seq_len[i] = n
    return x, seq_len


def strokes_to_lines(strokes) -> List[List[List[float]]]:
    """stroke-3 -> list of polylines in absolute coordinates (Magenta's `strokes_to_lines`).

    Positions are cumulative sums starting from (0, 0); a new polyline starts
    after every row whose pen value is 1.  Points after the last pen lift are
    dropped (as in Magenta: the unfinished line is never appended).
    """
    strokes = _as_stroke3(strokes, min_points=0)
    x = 0.0
    y = 0.0
    lines = []
    line = []
    for dx, dy, pen in strokes.tolist():
        x += float(dx)
        y += float(dy)
        line.append([x, y])
        if pen == 1:
            lines.append(line)
            line = []
    return lines


def lines_to_strokes(lines) -> np.ndarray:
    """Polylines in absolute coordinates -> stroke-3 (Magenta's `lines_to_strokes`).

    The first offset is measured from (0, 0); the last point of every line has
    pen value 1.  The inverse of `strokes_to_lines` for sketches that end
    with a pen lift.
    """
    rows = [[0, 0, 0]]
    for line in lines:
        for i, point in enumerate(line):
            rows.append([point[0], point[1], 1 if i == len(line) - 1 else 0])
    arr = np.array(rows)
    arr[1:, 0:2] -= arr[:-1, 0:2].copy()
    return arr[1:, :]


def get_bounds(data, factor: float = 10) -> Tuple[float, float, float, float]:
    """`(min_x, max_x, min_y, max_y)` of the cumulative positions of `data[:, :2] / factor`.

    The running position starts at (0, 0), which is always inside the bounds
    (Magenta's `get_bounds`; `factor=10` is Magenta's default).
    """
    data = np.asarray(data)
    xs = np.cumsum(data[:, 0].astype(np.float64) / factor)
    ys = np.cumsum(data[:, 1].astype(np.float64) / factor)
    return (
        float(min(0.0, xs.min(initial=0.0))),
        float(max(0.0, xs.max(initial=0.0))),
        float(min(0.0, ys.min(initial=0.0))),
        float(max(0.0, ys.max(initial=0.0))),
    )


def scale_bound(stroke: np.ndarray, average_dimension: float = 10.0) -> np.ndarray:
    """Scales `dx, dy` **in place** so the larger of width/height is `average_dimension`.

    Magenta's `scale_bound`; `stroke` must be a floating-point array.  Also
    returns `stroke` for convenience.
    """
    if not np.issubdtype(np.asarray(stroke).dtype, np.floating):
        raise DataError(
            "scale_bound works in place and needs a floating-point array", where="scale_bound"
        )
    min_x, max_x, min_y, max_y = get_bounds(stroke, 1)
    max_dimension = max(max_x - min_x, max_y - min_y)
    if max_dimension == 0:
        raise DataError("sketch has zero width and height, cannot scale", where="scale_bound")
    stroke[:, 0:2] /= max_dimension / average_dimension
    return stroke


def clean_strokes(sample_strokes, factor: float = 100) -> List[List[int]]:
    """stroke-5 -> list of integer stroke-5 rows, cut at the first p3 (Magenta's `clean_strokes`).

    `dx, dy` become `int(round(v * factor))`; the list always ends with
    exactly one `[0, 0, 0, 0, 1]` row.  Used to export samples to JSON.
    """
    out = []
    for row in np.asarray(sample_strokes).tolist():
        if int(row[4]) != 0:
            break
        out.append(
            [int(round(row[0] * factor)), int(round(row[1] * factor)), int(row[2]), int(row[3]), 0]
        )
    out.append([0, 0, 0, 0, 1])
    return out
