"""The single exception type raised by `sketch_rnn_tf.data` for bad input.

Every problem with input data (a file that is not an `.npz`, a missing split,
a sketch with the wrong shape, NaN offsets, pen values other than 0/1, ...)
is reported as a `DataError`.  The message always says *where* the
problem is -- the file (when there is one), the split and the sketch index --
and *what* the problem is, so a user can find the offending sketch quickly.
"""

from __future__ import annotations

from typing import Optional

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


class ModelInputError(DataError):
    """Sketches, latent vectors or arguments given to a model (or to an export of one) are unusable.

    Raised by `SketchPreprocessor`, the numpy front door that the model, its sampler, completion and
    the export client share; the message names the sketch or argument and the problem.
    """

    default_where = ""
