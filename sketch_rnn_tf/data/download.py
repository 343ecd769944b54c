"""Magenta's per-category Quick, Draw! `.npz` files for sketch-rnn, fetched by category name.

Google publishes one file per Quick, Draw! category, `<category>.npz` (train/valid/test of
70000/2500/2500 simplified sketches, int16 stroke-3), in the `quickdraw_dataset/sketchrnn` bucket
that Magenta's sketch_rnn README points to. `$SKETCH_RNN_TF_QUICKDRAW_URL` replaces the base URL
(a mirror, or a `file://` folder).

A file already in `data_dir` is used as it is (offline). A new one is downloaded to a temporary
file, validated with `load_npz` (keys train/valid/test, every sketch a stroke-3 array) and only then
renamed into place; a truncated or corrupt download raises `DownloadError` and leaves nothing
behind.
No TensorFlow is imported.
"""

from __future__ import annotations

import os
import re
from typing import List, Optional, Sequence, Union

from sketch_rnn_tf.data.checks import DataError
from sketch_rnn_tf.data.npz import load_npz
from sketch_rnn_tf.fetch import DownloadError, cache_home, fetch, join_url

#: Environment variable that replaces `QUICKDRAW_BASE_URL`.
QUICKDRAW_URL_ENV = "SKETCH_RNN_TF_QUICKDRAW_URL"
#: Public URL of the `gs://quickdraw_dataset/sketchrnn` bucket (Magenta's sketch_rnn README,
#: "Datasets").
QUICKDRAW_BASE_URL = "https://storage.googleapis.com/quickdraw_dataset/sketchrnn"
# Quick, Draw! category names: letters, digits, spaces, '_', '-', '.' (e.g. "hot air balloon",
# "cat.full"); never a path.
_CATEGORY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]*$")

__all__ = ["DownloadError", "download_quickdraw", "quickdraw_base_url"]


def quickdraw_base_url() -> str:
    """`$SKETCH_RNN_TF_QUICKDRAW_URL`, else Google's bucket."""
    return os.environ.get(QUICKDRAW_URL_ENV) or QUICKDRAW_BASE_URL


def _validate(path):
    load_npz(path)  # raises DataError naming the split and sketch


def _file_name(category) -> str:
    name = os.fspath(category).strip()
    if name.endswith(".npz"):
        name = name[: -len(".npz")]
    if not _CATEGORY.match(name) or ".." in name:
        raise DataError(
            f"{category!r} is not a Quick, Draw! category name (e.g. 'cat', 'hot air balloon')",
            where="download_quickdraw",
        )
    return name + ".npz"


def download_quickdraw(
    categories: Union[str, Sequence[str]],
    data_dir: Optional[Union[str, os.PathLike]] = None,
    progress: bool = True,
    force: bool = False,
) -> List[str]:
    """Makes sure `<data_dir>/<category>.npz` exists for every category; returns their paths.

    Args:
      categories: a category name or a list of them (`"cat"` or `"cat.npz"`).
      data_dir: where the files go (and are looked for); default `$SKETCH_RNN_TF_HOME/quickdraw`.
      progress: a progress bar per download.
      force: download again even if a file exists; the old file is kept until the new one passed
        validation.
    Returns the paths, in the order of `categories`, ready for `load_dataset(data_dir, names, ...)`.

    Raises:
      DataError: a name that is not a category name.
      DownloadError: no network, an HTTP error (e.g. an unknown category), a truncated transfer or
        a file that is not a valid sketch-rnn `.npz`; nothing is left at the destination.
    """
    if isinstance(categories, (str, os.PathLike)):
        categories = [categories]
    names = [_file_name(c) for c in categories]
    if not names:
        raise DataError("no category given", where="download_quickdraw")
    directory = (
        os.fspath(data_dir) if data_dir is not None else os.path.join(cache_home(), "quickdraw")
    )
    base = quickdraw_base_url()
    return [
        fetch(
            join_url(base, name),
            os.path.join(directory, name),
            validate=_validate,
            progress=progress,
            force=force,
        )
        for name in names
    ]
