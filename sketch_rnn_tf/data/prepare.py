"""Users' own Quick, Draw! `.ndjson` drawings -> one Magenta `.npz` training set (`prepare`).

Every line of an `.ndjson` file is a record whose `"drawing"` is a list of strokes:

* a **raw** stroke `[[x...], [y...], [t...]]` (Quick, Draw!'s `full/raw` files, or any pen recording
  with times) is simplified as Google does (`quickdraw.simplify_drawing`: align, scale to 255,
  resample at 1 px, Ramer-Douglas-Peucker with epsilon 2.0, the paper's section 3.1);
* a **simplified** stroke `[[x...], [y...]]` (Quick, Draw!'s `full/simplified` files) is taken as
  it is and must hold integers.

Each drawing becomes an int16 stroke-3 array `[dx, dy, pen_lifted]` (`drawing_to_stroke3`), the
records are shuffled with `seed` and cut into train/valid/test by the `split` fractions, and the
result is written as `np.savez_compressed(train=..., valid=..., test=...)`, the format of Magenta's
`.npz` files that `load_dataset` and `train` read. Every kept record lands in exactly one split.

A malformed record raises `DataError` naming the file and line. Drawings with fewer than 2 points
(a single tap) cannot be a training sketch and are skipped; with `max_seq_len`, longer sketches are
dropped; both are counted in the returned summary.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from numbers import Real
from typing import Dict, Sequence, Union

import numpy as np

from sketch_rnn_tf.data.checks import DataError
from sketch_rnn_tf.data.npz import SPLITS
from sketch_rnn_tf.data.quickdraw import (
    RDP_EPSILON,
    SIMPLIFIED_SIZE,
    drawing_to_stroke3,
    simplify_drawing,
)
from sketch_rnn_tf.data.svg_reader import read_svg_lines, source_name

#: Magenta's usual proportions of train/valid/test.
DEFAULT_SPLIT = (0.8, 0.1, 0.1)

__all__ = [
    "DEFAULT_SPLIT",
    "parse_split",
    "prepare_ndjson",
    "prepare_svg",
    "record_to_stroke3",
    "svg_to_stroke3",
]


def parse_split(split) -> tuple:
    """`"0.8,0.1,0.1"` or three numbers -> a tuple of three non-negative fractions summing to 1."""
    text = split
    if isinstance(split, str):
        try:
            split = [float(v) for v in split.split(",")]
        except ValueError:
            raise DataError(
                f"split {text!r} is not three numbers like 0.8,0.1,0.1", where="prepare"
            ) from None
    split = tuple(float(v) for v in split)
    if (
        len(split) != 3
        or not all(math.isfinite(v) and v >= 0 for v in split)
        or abs(sum(split) - 1.0) > 1e-6
    ):
        raise DataError(
            f"split {text!r} must be three non-negative fractions train,valid,test "
            "that sum to 1, e.g. 0.8,0.1,0.1",
            where="prepare",
        )
    return split


def _check_stroke(stroke, k):
    if not isinstance(stroke, list) or len(stroke) not in (2, 3):
        raise ValueError(
            f"stroke {k} is not [[x...], [y...]] (simplified) or [[x...], [y...], [t...]] (raw)"
        )
    lengths = set()
    for axis, values in zip("xyt", stroke):
        if not isinstance(values, list) or not all(
            isinstance(v, Real) and not isinstance(v, bool) and math.isfinite(v) for v in values
        ):
            raise ValueError(f"stroke {k}: the {axis} values are not a list of finite numbers")
        lengths.add(len(values))
    if len(lengths) != 1:
        raise ValueError(f"stroke {k}: x, y (and t) lists differ in length")
    if 0 in lengths:
        raise ValueError(f"stroke {k} is empty")
    return len(stroke) == 3


def record_to_stroke3(record) -> np.ndarray:
    """One Quick, Draw! record (dict with `"drawing"`) -> int16 stroke-3 array.

    Raw strokes (with times) are simplified first; simplified ones are taken as they are. Raises
    ValueError describing what is wrong with the record.
    """
    if not isinstance(record, dict) or not isinstance(record.get("drawing"), list):
        raise ValueError("record has no 'drawing' list")
    drawing = record["drawing"]
    if not drawing:
        raise ValueError("'drawing' has no strokes")
    raw = [_check_stroke(stroke, k) for k, stroke in enumerate(drawing)]
    if any(raw):
        try:
            drawing = simplify_drawing(drawing)
        except DataError as e:
            raise ValueError(e.problem) from None
    strokes = drawing_to_stroke3(drawing)
    if strokes.dtype != np.int16:
        if np.issubdtype(strokes.dtype, np.floating):
            raise ValueError(
                "simplified coordinates must be integers (Quick, Draw!'s simplified "
                "drawings are integers in 0..255); give raw [x, y, t] strokes to have "
                "them simplified"
            )
        raise ValueError("offsets do not fit in int16")
    return strokes


def prepare_ndjson(
    paths: Union[str, os.PathLike, Sequence[Union[str, os.PathLike]]],
    out: Union[str, os.PathLike],
    split=DEFAULT_SPLIT,
    seed: int = 0,
    max_seq_len: int | None = None,
) -> Dict[str, int]:
    """Turns Quick, Draw! `.ndjson` files into one Magenta `.npz` at `out` (see module docstring).

    Args:
      paths: one `.ndjson` path or several; their records are pooled.
      out: the `.npz` to write (atomically: a temporary file renamed into place).
      split: train, valid, test fractions (three numbers summing to 1, or a string "0.8,0.1,0.1").
      seed: seed of the shuffle that assigns records to splits.
      max_seq_len: drop sketches with more points than this (None keeps all).
    Returns `{"train": n, "valid": n, "test": n, "skipped": n, "dropped": n}` (skipped: drawings of
      fewer than 2 points; dropped: longer than `max_seq_len`).

    Raises:
      DataError: a file that cannot be read, a malformed record (naming file and line), a bad
        `split`, or too few records to give every split at least one sketch.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [os.fspath(p) for p in paths]
    if not paths:
        raise DataError("no .ndjson file given", where="prepare")
    fractions = parse_split(split)
    _check_max_seq_len(max_seq_len)

    kept = _Kept(max_seq_len)
    for path in paths:
        try:
            fh = open(path, "r", encoding="utf-8")
        except OSError as e:
            raise DataError(f"cannot open ({e.strerror})", path=path) from None
        with fh:
            try:
                for lineno, line in enumerate(fh, start=1):
                    if not line.strip():
                        continue
                    try:
                        strokes = record_to_stroke3(json.loads(line))
                    except json.JSONDecodeError as e:
                        raise DataError(
                            f"line {lineno}: invalid JSON ({e.msg})", path=path
                        ) from None
                    except (ValueError, TypeError) as e:
                        raise DataError(f"line {lineno}: {e}", path=path) from None
                    kept.add(strokes)
            except UnicodeDecodeError as e:
                raise DataError(
                    f"not UTF-8 text ({e.reason}); expected .ndjson", path=path
                ) from None

    return _split_and_write(kept, out, fractions, seed, ", ".join(paths))


def svg_to_stroke3(source, size=SIMPLIFIED_SIZE, epsilon=RDP_EPSILON) -> np.ndarray:
    """One SVG drawing -> int16 stroke-3, as Quick, Draw!'s simplified drawings are made.

    `data.svg_reader.read_svg_lines(source, size, epsilon)` (scaled so the longer side is `size`,
    each stroke simplified with RDP `epsilon`), then the absolute points rounded to whole pixels and
    turned into offsets (`quickdraw.drawing_to_stroke3`): rounding the points, not the offsets,
    keeps the rounding error from adding up along the drawing.

    Raises:
      DataError: naming the SVG and the problem (see `read_svg`), or offsets beyond int16.

    Example:
        >>> svg_to_stroke3('<svg xmlns="http://www.w3.org/2000/svg"><line x2="3" y2="1" '
        ...     'stroke="black"/></svg>').tolist()
        [[0, 0, 0], [255, 85, 1]]
    """
    lines = read_svg_lines(source, size=size, epsilon=epsilon)
    drawing = []
    for line in lines:
        pts = np.rint(line).astype(np.int64)
        drawing.append([pts[:, 0].tolist(), pts[:, 1].tolist()])
    strokes = drawing_to_stroke3(drawing)
    if strokes.dtype != np.int16:
        raise DataError(
            "offsets do not fit in int16; give a smaller size (e.g. 255)", where=source_name(source)
        )
    return strokes


def _svg_files(inputs):
    """SVG files and folders -> the list of SVG files (a folder: every *.svg inside, sorted)."""
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    files = []
    for item in inputs:
        item = os.fspath(item)
        if os.path.isdir(item):
            found = []
            for root, dirs, names in os.walk(item):
                dirs.sort()
                found += [os.path.join(root, n) for n in names if n.lower().endswith(".svg")]
            if not found:
                raise DataError("folder holds no .svg file", path=item)
            files += sorted(found)
        elif os.path.isfile(item):
            files.append(item)
        else:
            raise DataError("no such file or folder", path=item)
    if not files:
        raise DataError("no SVG file given", where="prepare")
    return files


def prepare_svg(
    inputs: Union[str, os.PathLike, Sequence[Union[str, os.PathLike]]],
    out: Union[str, os.PathLike],
    size: float = SIMPLIFIED_SIZE,
    epsilon: float = RDP_EPSILON,
    split=DEFAULT_SPLIT,
    seed: int = 0,
    max_seq_len: int | None = None,
) -> Dict[str, int]:
    """Turns SVG drawings (one sketch per file) into one Magenta `.npz` at `out`.

    Each file is read with `read_svg` (`data.svg_reader`), scaled so its longer side is `size`
    pixels, simplified with RDP `epsilon`, rounded to whole pixels (`svg_to_stroke3`: int16 stroke-3
    like Magenta's and `prepare_ndjson`'s), then the sketches are shuffled into train/valid/test and
    written exactly as `prepare_ndjson` does (same split, shuffle and atomic write).

    Args:
      inputs: SVG files and/or folders (a folder: every `*.svg` inside, recursively, sorted).
      out: the `.npz` to write (atomically: a temporary file renamed into place).
      size: the longer side of each drawing in pixels (Quick, Draw!'s 255).
      epsilon: RDP tolerance in pixels (the paper's 2.0).
      split: train, valid, test fractions (three numbers summing to 1, or a string "0.8,0.1,0.1").
      seed: seed of the shuffle that assigns sketches to splits.
      max_seq_len: drop sketches with more points than this (None keeps all).

    Returns:
      `{"train": n, "valid": n, "test": n, "skipped": n, "dropped": n}` (skipped: drawings of
      fewer than 2 points; dropped: longer than `max_seq_len`).

    Raises:
      DataError: a bad SVG among the inputs (naming it; nothing is written), a missing input, a
        bad `split`, or too few sketches to give every split at least one.

    Example:
        >>> prepare_svg("my_drawings/", "data/mine.npz")  # doctest: +SKIP
        {'train': 80, 'valid': 10, 'test': 10, 'skipped': 0, 'dropped': 0}
    """
    files = _svg_files(inputs)
    fractions = parse_split(split)
    _check_max_seq_len(max_seq_len)
    kept = _Kept(max_seq_len)
    for path in files:
        kept.add(svg_to_stroke3(path, size=size, epsilon=epsilon))
    source = files[0] if len(files) == 1 else f"{len(files)} SVG files"
    return _split_and_write(kept, out, fractions, seed, source)


def _check_max_seq_len(max_seq_len):
    if max_seq_len is not None and (
        isinstance(max_seq_len, bool) or int(max_seq_len) != max_seq_len or max_seq_len < 2
    ):
        raise DataError(
            f"max_seq_len must be an integer >= 2, got {max_seq_len!r}", where="prepare"
        )


class _Kept:
    """The drawings a data set keeps: those of 2 to `max_seq_len` points, the others counted."""

    def __init__(self, max_seq_len):
        self.max_seq_len = max_seq_len
        self.sketches, self.skipped, self.dropped = [], 0, 0

    def add(self, strokes):
        if len(strokes) < 2:
            self.skipped += 1
        elif self.max_seq_len is not None and len(strokes) > self.max_seq_len:
            self.dropped += 1
        else:
            self.sketches.append(strokes)


def _split_and_write(kept, out, fractions, seed, source):
    """Shuffles `kept.sketches` with `seed` into train/valid/test by `fractions`, writes the `.npz`.

    Shared by `prepare_ndjson` and `prepare_svg`. `source` names the inputs in the error for a
    split left empty. Returns the counts, with those skipped and dropped.
    """
    sketches, skipped, dropped = kept.sketches, kept.skipped, kept.dropped
    n = len(sketches)
    n_valid = int(round(n * fractions[1]))
    n_test = int(round(n * fractions[2]))
    counts = {"train": n - n_valid - n_test, "valid": n_valid, "test": n_test}
    empty = [k for k in SPLITS if counts[k] < 1]
    if empty:
        raise DataError(
            f"{n} usable sketches from {source} give split(s) {empty} no sketch with "
            f"fractions {','.join(f'{f:g}' for f in fractions)}; train needs at least one sketch "
            f"in each of train/valid/test (skipped {skipped} drawings of < 2 points, dropped "
            f"{dropped} longer than max_seq_len)",
            where="prepare",
        )
    order = np.random.default_rng(seed).permutation(n)
    bounds = np.cumsum([0, counts["train"], counts["valid"], counts["test"]])
    arrays = {}
    for k, split_name in enumerate(SPLITS):
        chosen = order[bounds[k] : bounds[k + 1]]
        arr = np.empty(len(chosen), dtype=object)
        arr[:] = [sketches[i] for i in chosen]
        arrays[split_name] = arr
    _write_npz(os.fspath(out), arrays)
    return {**counts, "skipped": skipped, "dropped": dropped}


def _write_npz(out, arrays):
    directory = os.path.dirname(os.path.abspath(out))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(out)}.", suffix=".part", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, **arrays)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
