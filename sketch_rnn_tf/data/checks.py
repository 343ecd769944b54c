"""The one rule for what a sketch is, and for the scale factor, used by every entry point.

A stroke-3 sketch (paper, Section 3.1) is an array of shape `(n, 3)` whose rows are
`(dx, dy, pen_lifted)`:

* numeric: integer or floating point (not bool, strings or other objects); a nested object array of
  numbers is accepted and read as float64;
* finite: no NaN or inf anywhere;
* `pen_lifted` is exactly 0 or 1. It is a binary state, not a probability: the model's targets
  are `p1 = 1 - pen`, `p2 = pen` (Magenta's `to_big_strokes`), so any other value would give
  the decoder targets that are not a distribution. The `.npz` loader, the model (`encode`,
  `reconstruction_loss`, `sample(prefix=...)`), completion, the export client and rendering all
  refuse other values with the same message;
* not empty: at least one point (the `.npz` loader asks for two, `min_points=2`: a training
  sketch of one point teaches nothing after S0; a grid cell may be blank, `min_points=0`).

The model's length limit (`n <= max_seq_len`) is checked by `SketchPreprocessor`. Every problem
raises the given error class (a `DataError` by default) naming where the sketch is.

`DataError` is the one error of `sketch_rnn_tf.data`: every problem with input data (a file that is
not an `.npz`, a missing split, a sketch with the wrong shape, NaN offsets, pen values other than
0/1, ...) is reported as one, and its message says *where* the problem is (the file, the split and
the sketch index) and *what* it is.
"""

from __future__ import annotations

import math
from typing import Optional, Type

import numpy as np

from ..errors import SketchRNNError


class DataError(SketchRNNError):
    """Bad input data (a `SketchRNNError`, so also a `ValueError`).

    Attributes:
      path: the file the data came from, or `None`.
      split: `"train"`, `"valid"`, `"test"` or `None`.
      index: the sketch index inside the split, or `None`.
      problem: a short description of what is wrong.

    `where` (a ready-made location string) overrides the location built from
    `path`/`split`/`index` in the message.
    """

    #: The location named when none is given ("" for none).
    default_where = "data"

    def __init__(
        self,
        problem: str,
        *,
        path: Optional[str] = None,
        split: Optional[str] = None,
        index: Optional[int] = None,
        where: Optional[str] = None,
    ):
        self.problem = problem
        self.path = None if path is None else str(path)
        self.split = split
        self.index = index
        if where is None and path is None and split is None and index is None:
            where = self.default_where
        location = where if where is not None else format_where(path, split, index)
        super().__init__(f"{location}: {problem}" if location else problem)


def format_where(
    path: Optional[str] = None, split: Optional[str] = None, index: Optional[int] = None
) -> str:
    """Returns a human readable location such as `"a.npz, split 'train', sketch 12"`."""
    parts = []
    if path is not None:
        parts.append(f"file {str(path)!r}")
    if split is not None:
        parts.append(f"split {split!r}")
    if index is not None:
        parts.append(f"sketch {index}")
    return ", ".join(parts) if parts else "data"


def _raise(error, problem, path=None, split=None, index=None, where=None):
    """Raises `error` with `problem` located by path/split/index or `where`.

    A `DataError` (or subclass) takes the location as keywords; any other class gets one message
    `"<where>: <problem>"`.
    """
    if isinstance(error, type) and issubclass(error, DataError):
        raise error(problem, path=path, split=split, index=index, where=where)
    location = where if where is not None else format_where(path, split, index)
    raise error(f"{location}: {problem}")


def check_stroke3(
    sketch,
    *,
    min_points: int = 1,
    error: Type[Exception] = DataError,
    path: Optional[str] = None,
    split: Optional[str] = None,
    index: Optional[int] = None,
    where: Optional[str] = None,
) -> np.ndarray:
    """Checks one stroke-3 sketch against the rule above and returns it as a numeric array.

    Args:
      sketch: an `(n, 3)` array (or nested list) of `(dx, dy, pen_lifted)` rows.
      min_points: the fewest points accepted (1; the `.npz` loader uses 2, grid cells 0).
      error: the exception class raised (a `DataError` subclass gets the location as keywords).
      path: the file the sketch came from, for the message (see `DataError`).
      split: its split, for the message.
      index: its index in the split, for the message.
      where: a ready-made location string that replaces path/split/index in the message.

    Returns:
      The sketch as an integer or floating-point array of its own dtype (object arrays of numbers
      become float64); never a copy when the input already is one.

    Raises:
      error: for a non-numeric dtype, a shape other than `(n, 3)`, NaN or inf, pen values other
        than 0/1, or fewer than `min_points` points.
    """

    def fail(problem):
        _raise(error, problem, path=path, split=split, index=index, where=where)

    if sketch is None:
        fail("is None; expected a stroke-3 array of shape (len, 3)")
    if isinstance(sketch, (str, bytes)):
        fail(f"sketch is a {type(sketch).__name__}, not a numeric array (non-numeric dtype)")
    try:
        arr = np.asarray(sketch)
    except (TypeError, ValueError) as exc:  # ragged lists and the like
        fail(
            f"cannot be read as an array: not a rectangular numeric array of shape (len, 3) ({exc})"
        )
    if arr.dtype == object:
        # A nested object array of numbers is still acceptable; try to make it numeric.
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            fail(f"non-numeric dtype {arr.dtype} (objects that are not numbers)")
    if arr.size == 0 and arr.ndim <= 2 and (arr.ndim < 2 or arr.shape[-1] in (0, 3)):
        if min_points > 0:
            fail("empty sketch (0 points); there is nothing to draw or encode")
        return np.zeros((0, 3), arr.dtype if arr.dtype.kind in "iuf" else np.float64)
    if arr.dtype.kind not in "iuf":
        fail(f"non-numeric dtype {arr.dtype}; expected integer or float")
    if arr.ndim != 2 or arr.shape[1] != 3:
        fail(f"wrong shape {arr.shape}; expected (len, 3) stroke-3 rows [dx, dy, pen_lifted]")
    if arr.shape[0] < min_points:
        count = "one-point" if arr.shape[0] == 1 else f"{arr.shape[0]}-point"
        fail(f"{count} sketch (needs at least {min_points} points)")
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr)
        if bad.any():
            row, col = (int(v) for v in np.argwhere(bad)[0])
            kind = "NaN" if np.isnan(arr[row, col]) else "inf"
            fail(f"non-finite value ({kind}) at row {row}, column {col}")
    pen = arr[:, 2]
    bad_pen = (pen != 0) & (pen != 1)
    if bad_pen.any():
        row = int(np.flatnonzero(bad_pen)[0])
        fail(f"pen value {pen[row].item()!r} at row {row}; pen_lifted must be 0 or 1")
    return arr


def check_scale_factor(
    value, *, error: Type[Exception] = DataError, where: str = "scale_factor"
) -> float:
    """The scale factor (pixels per model unit) as a float.

    Raises `error` if it is not a positive, finite number.

    Args:
      value: the scale factor.
      error: the exception class raised.
      where: what the value is, at the start of the message.
    """
    problem = f"scale_factor must be a positive finite number, got {value!r}"
    if isinstance(value, bool):
        _raise(error, problem, where=where)
    try:
        number = float(value)
    except (TypeError, ValueError):
        _raise(error, f"scale_factor {value!r} is not a number", where=where)
    if not math.isfinite(number) or number <= 0:
        _raise(error, problem, where=where)
    return number
