"""Loading and validating sketch-rnn `.npz` data sets (Magenta's format).

An `.npz` file holds three object arrays `train`, `valid` and `test`,
each a sequence of stroke-3 sketches `[len, 3] = (dx, dy, pen_lifted)`
(paper section 3.1; QuickDraw files store int16).  Files are read as Magenta
reads them (`np.load(path, allow_pickle=True, encoding="latin1")`) but by
`npz_reader.read_split`, which unpickles nothing but numpy arrays: a data file
never runs code.

Every sketch is validated; bad input raises `DataError` naming the
file, split, sketch index and the problem.

Normalisation (paper, appendix "Dataset Details"): the offsets are divided by
a single factor so that the `dx, dy` of the training set have standard
deviation 1.  The factor is Magenta's `calculate_normalizing_scale_factor`:
the population standard deviation of all `dx` and `dy` values pooled
over the training sketches with `len <= max_seq_len`, computed after
Magenta's `DataLoader.preprocess` (values clamped to [-1000, 1000], cast to
float32).  For `aaron_sheep.npz` with `max_seq_len=250` this is 18.5198,
the figure printed by Magenta's notebook.
"""

from __future__ import annotations

import dataclasses
import os
import zipfile
from typing import Dict, List, Sequence, Union

import numpy as np
from absl import logging

from sketch_rnn_tf.data.checks import DataError, check_scale_factor, check_stroke3, format_where
from sketch_rnn_tf.data.npz_reader import read_split

SPLITS = ("train", "valid", "test")
#: Magenta's DataLoader clamps every value to [-LIMIT, LIMIT] ("removes large gaps").
LIMIT = 1000


def _check_sketch(s, path=None, split=None, index=None, where=None) -> np.ndarray:
    """`checks.check_stroke3` with the data-set minimum of 2 points; floats become float32."""
    arr = check_stroke3(s, min_points=2, path=path, split=split, index=index, where=where)
    return arr.astype(np.float32) if arr.dtype.kind == "f" else arr


def validate_sketch(s, where: Union[str, tuple, None] = None) -> np.ndarray:
    """Checks one stroke-3 sketch and returns it as a numeric array.

    `where` locates the sketch in error messages: a string, or a tuple
    `(path, split, index)`.  Integer arrays keep their dtype; floating
    arrays are returned as float32.  Raises `DataError` for a
    non-numeric dtype, a shape other than `(len, 3)`, NaN/inf, an empty or a
    one-point sketch, or pen values other than 0/1: the rule of
    `sketch_rnn_tf.data.checks.check_stroke3` that every entry point shares,
    with the data-set minimum of two points.
    """
    if isinstance(where, tuple):
        path, split, index = (list(where) + [None, None, None])[:3]
        return _check_sketch(s, path=path, split=split, index=index)
    return _check_sketch(s, where=where if where is not None else "sketch")


def _check_npz_file(path: str) -> None:
    """Raises `DataError` unless `path` is a file and a zip archive (an `.npz` is one)."""
    if not os.path.isfile(path):
        raise DataError("file not found", path=path)
    if not zipfile.is_zipfile(path):
        # Checked first so np.load never falls back to unpickling an arbitrary file.
        raise DataError("not an npz (zip) file", path=path)


def _check_splits(path: str) -> None:
    """Raises `DataError` unless the npz at `path` can be listed and holds train/valid/test.

    Call `_check_npz_file` first.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            files = [n[: -len(".npy")] for n in archive.namelist() if n.endswith(".npy")]
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DataError(f"cannot be read as npz ({type(exc).__name__}: {exc})", path=path) from exc
    missing = [k for k in SPLITS if k not in files]
    if missing:
        raise DataError(
            f"missing key(s) {missing}; found {sorted(files)}; expected train/valid/test",
            path=path,
        )


def _read_split(path: str, split: str) -> np.ndarray:
    """The array of `split` (`npz_reader.read_split`: no code runs); `DataError` if unreadable."""
    try:
        data = read_split(path, split)
    except DataError:
        raise
    except Exception as exc:
        raise DataError(
            f"cannot read array ({type(exc).__name__}: {exc})", path=path, split=split
        ) from exc
    if data.ndim == 0:
        raise DataError(
            f"expected a sequence of sketches, got a scalar of dtype {data.dtype}",
            path=path,
            split=split,
        )
    return data


def load_npz(path: Union[str, os.PathLike]) -> Dict[str, List[np.ndarray]]:
    """Reads and validates one sketch-rnn `.npz` file.

    Returns `{"train": [...], "valid": [...], "test": [...]}`, lists of
    stroke-3 arrays (int arrays keep their dtype, e.g. int16; float arrays
    become float32).
    """
    path = os.fspath(path)
    _check_npz_file(path)
    result = {}
    _check_splits(path)
    for split in SPLITS:
        data = _read_split(path, split)
        result[split] = [
            _check_sketch(s, path=path, split=split, index=i) for i, s in enumerate(data)
        ]
    return result


def normalizing_scale_factor(strokes: Sequence[np.ndarray], max_seq_len: int) -> float:
    """Population std of all `dx, dy` pooled over sketches with `len <= max_seq_len`.

    Exactly Magenta's `DataLoader.calculate_normalizing_scale_factor` as run
    by `load_dataset`: values are first clamped to [-1000, 1000] and cast to
    float32 (`preprocess`), and `np.std` runs on the float32 values.
    """
    values = [
        np.clip(np.asarray(s), -LIMIT, LIMIT).astype(np.float32)[:, 0:2].reshape(-1)
        for s in strokes
        if len(s) <= max_seq_len
    ]
    if not values:
        raise DataError(
            f"no sketches with len <= max_seq_len={max_seq_len} to compute the scale factor"
        )
    return float(np.std(np.concatenate(values)))


def normalize(strokes: Sequence[np.ndarray], scale_factor: float) -> List[np.ndarray]:
    """Returns new float32 copies of `strokes` with `dx, dy` divided by `scale_factor`."""
    scale_factor = check_scale_factor(scale_factor, where="normalize")
    out = []
    for s in strokes:
        a = np.array(s, dtype=np.float32)
        a[:, 0:2] /= np.float32(scale_factor)
        out.append(a)
    return out


@dataclasses.dataclass
class SketchDataset:
    """Train/valid/test stroke-3 sketches (pixels, not normalised) with class labels.

    `*_labels[i]` is the index in `class_names` of the file sketch `i`
    came from.  `scale_factor` is `normalizing_scale_factor` of
    `train`; divide `dx, dy` by it (`normalize`, or the DataLoader's
    `scale_factor` argument) before feeding the model.
    """

    train: List[np.ndarray]
    valid: List[np.ndarray]
    test: List[np.ndarray]
    train_labels: np.ndarray
    valid_labels: np.ndarray
    test_labels: np.ndarray
    class_names: List[str]
    scale_factor: float
    max_seq_len: int

    def split(self, name: str) -> List[np.ndarray]:
        if name not in SPLITS:
            raise DataError(f"unknown split {name!r}; expected one of {SPLITS}")
        return getattr(self, name)

    def labels(self, name: str) -> np.ndarray:
        self.split(name)
        return getattr(self, f"{name}_labels")


def check_data_set(data_set, max_seq_len: int) -> List:
    """The `.npz` names of `data_set` (one name or a list) as a list, checked with `max_seq_len`."""
    if isinstance(data_set, (str, os.PathLike)):
        data_set = [data_set]
    if not data_set:
        raise DataError("data_set is empty; give at least one .npz file name")
    if max_seq_len < 2:
        raise DataError(f"max_seq_len must be >= 2, got {max_seq_len}")
    return list(data_set)


def _short_enough(lengths: np.ndarray, max_seq_len: int, path: str, split: str) -> np.ndarray:
    """The mask `lengths <= max_seq_len` of one split, the drop logged as Magenta's loader does.

    Raises `DataError` (naming `path` and `split`) when no sketch is short enough.
    """
    kept = lengths <= max_seq_len
    n_kept = int(kept.sum())
    dropped = len(lengths) - n_kept
    if dropped:
        logging.info(
            "%s: dropped %d of %d sketches longer than max_seq_len=%d",
            format_where(path, split),
            dropped,
            len(lengths),
            max_seq_len,
        )
    if not n_kept:
        longest = int(lengths.max()) if len(lengths) else 0
        raise DataError(
            f"all {len(lengths)} sketches dropped: none has len <= "
            f"max_seq_len={max_seq_len} (longest {longest})",
            path=path,
            split=split,
        )
    return kept


def _log_combined(counts: Sequence[int], points: int) -> None:
    """Logs the sizes (train/valid/test) and mean length of a loaded data set."""
    n_all = sum(counts)
    logging.info("Dataset combined: %d (%d/%d/%d), avg len %d", n_all, *counts, int(points / n_all))


def load_dataset(
    data_dir: Union[str, os.PathLike], data_set: Union[str, Sequence[str]], max_seq_len: int
) -> SketchDataset:
    """Loads one or several `.npz` files into one (multi-class) data set.

    Like Magenta's `sketch_rnn_train.load_dataset` the splits of all files
    are concatenated in the order given.  Unlike it, `max_seq_len` is given
    (Magenta overwrites it with the longest sketch): sketches longer than
    `max_seq_len` are dropped and the count is logged; a split left with no
    sketch raises `DataError`.
    """
    data_set = check_data_set(data_set, max_seq_len)
    splits: Dict[str, List[np.ndarray]] = {k: [] for k in SPLITS}
    labels: Dict[str, List[int]] = {k: [] for k in SPLITS}
    class_names = []
    for label, name in enumerate(data_set):
        path = os.path.join(os.fspath(data_dir), os.fspath(name))
        data = load_npz(path)
        class_names.append(os.path.splitext(os.path.basename(os.fspath(name)))[0])
        counts = []
        for split in SPLITS:
            lengths = np.array([len(s) for s in data[split]], dtype=np.int64)
            mask = _short_enough(lengths, max_seq_len, path, split)
            kept = [s for s, k in zip(data[split], mask) if k]
            splits[split].extend(kept)
            labels[split].extend([label] * len(kept))
            counts.append(len(kept))
        logging.info("Loaded %d/%d/%d from %s", *counts, path)
    _log_combined([len(splits[k]) for k in SPLITS], sum(len(s) for v in splits.values() for s in v))
    scale = normalizing_scale_factor(splits["train"], max_seq_len)
    logging.info("normalizing_scale_factor %4.4f", scale)
    return SketchDataset(
        train=splits["train"],
        valid=splits["valid"],
        test=splits["test"],
        train_labels=np.asarray(labels["train"], dtype=np.int32),
        valid_labels=np.asarray(labels["valid"], dtype=np.int32),
        test_labels=np.asarray(labels["test"], dtype=np.int32),
        class_names=class_names,
        scale_factor=scale,
        max_seq_len=int(max_seq_len),
    )
