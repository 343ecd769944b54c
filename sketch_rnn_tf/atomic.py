"""Writing files and directories whole or not at all: nothing saved is ever half-written.

Every file and directory this package writes goes through here:

* `write_text(path, text)`: a text file (SVG, JSON configs, magenta-js models, checkpoint state
  files) is written to a temporary file beside `path`, flushed to disk and renamed over `path`; a
  failure leaves the old file as it was and removes the temporary one. `write_bytes` does the same
  for binary files (PNG, GIF).
* `staged_dir(directory)`: a directory (saved models, SavedModels) is written into a temporary
  sibling and swapped into place by `replace_dir` only when complete.

Imports nothing beyond the standard library, so every layer can use it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from typing import Iterator, Type

from .errors import SketchRNNError


def write_text(
    path, text: str, *, error: Type[Exception] = SketchRNNError, what: str = "file"
) -> str:
    """Writes `text` (UTF-8, newlines as they are) to `path` like `write_bytes`.

    Args:
      path: the file to write (str or os.PathLike); its directory must exist.
      text: the contents.
      error: the exception class raised, with a message naming `what` and `path`, for a bad path
        or a failed write (chained to the `OSError`).
      what: what is written, for the message (e.g. "SVG").

    Returns:
      `path` as a str.
    """
    return write_bytes(path, text.encode("utf-8"), error=error, what=what)


def write_bytes(
    path, data: bytes, *, error: Type[Exception] = SketchRNNError, what: str = "file"
) -> str:
    """Writes `data` to `path` through a temporary file and `os.replace`.

    The new file gets the permissions a plain `open(path, "w")` would give it (an existing file's
    mode is kept).

    Args:
      path: the file to write (str or os.PathLike); its directory must exist.
      data: the contents.
      error: the exception class raised, with a message naming `what` and `path`, for a bad path
        or a failed write (chained to the `OSError`).
      what: what is written, for the message (e.g. "PNG").

    Returns:
      `path` as a str.
    """
    try:
        path = os.fspath(path)
    except TypeError:
        raise error(f"path must be a str or os.PathLike; got {path!r}") from None
    if not path:
        raise error("path must not be empty")
    target = os.path.abspath(path)
    directory = os.path.dirname(target)
    if os.path.isdir(target):
        raise error(f"cannot write {what} to {path!r}: it is a directory")
    if not os.path.isdir(directory):
        reason = "it is not a directory" if os.path.exists(directory) else "it does not exist"
        raise error(f"cannot write {what} to {path!r}: parent directory {directory!r}: {reason}")
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(
            prefix="." + os.path.basename(target) + ".", suffix=".tmp", dir=directory
        )
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file 0600; give it the mode a normal open() would have.
        try:
            mode = os.stat(target).st_mode & 0o7777
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        os.replace(tmp, target)
        tmp = None
    except OSError as e:
        raise error(f"cannot write {what} to {path!r}: {e.strerror or e}") from e
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return path


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


@contextlib.contextmanager
def staged_dir(directory: str) -> Iterator[str]:
    """Yields an empty temporary sibling of `directory` to write into; on success it replaces it.

    If the body raises, `directory` is left as it was and the temporary one is removed. The parent
    of `directory` is created if needed.
    """
    directory = os.path.abspath(os.fspath(directory))
    parent = os.path.dirname(directory)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(directory)}.tmp-", dir=parent)
    try:
        staged = os.path.join(tmp, "staged")
        os.mkdir(staged)
        yield staged
        replace_dir(staged, directory)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
