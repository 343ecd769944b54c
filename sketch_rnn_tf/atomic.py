"""Replacing a directory whole or not at all (models, SavedModels): nothing saved is ever half-written."""

from __future__ import annotations

import os
import shutil
import tempfile


def replace_dir(written: str, directory: str) -> None:
    """Moves the fully written directory `written` to `directory` (on the same filesystem).

    An existing `directory` is renamed aside first and deleted only once the new one is in place; if
    the final rename fails, the old directory is put back.
    """
    parent = os.path.dirname(directory)
    old = None
    if os.path.exists(directory):
        old = tempfile.mkdtemp(prefix=f".{os.path.basename(directory)}.old-", dir=parent)
        os.rmdir(old)
        os.rename(directory, old)
    try:
        os.rename(written, directory)
    except BaseException:
        if old is not None:
            os.rename(old, directory)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
