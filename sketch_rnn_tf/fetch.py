"""Fetching one file over HTTP(S) into a cache: atomically, validated, and offline once cached.

Standard library only (plus tqdm for the progress bar); no TensorFlow. Used by `formats.names`
(Magenta's hosted models) and `data.download` (Quick, Draw! `.npz` files).

Rules every download follows:

* a file already at the destination is used as it is, without any network access (offline use);
* a new file is written to a temporary name beside the destination, checked (the byte count the
  server announced, then the caller's `validate` callback), and only then renamed into place with
  `os.replace`, so the destination is either absent, the old good file, or the new good file, never
  a partial one;
* every failure raises `DownloadError` naming the URL and saying where to put the file by hand.
"""

from __future__ import annotations

import http.client
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from typing import Callable, Optional

from .errors import SketchRNNError

#: Where downloaded models (and, by default, data) are cached, unless $SKETCH_RNN_TF_HOME says
#: otherwise.
HOME_ENV = "SKETCH_RNN_TF_HOME"
DEFAULT_HOME = os.path.join("~", ".cache", "sketch_rnn_tf")
#: Seconds to wait for the server to connect or to send the next bytes.
TIMEOUT_S = 60.0
_CHUNK = 1 << 16


class DownloadError(SketchRNNError, RuntimeError):
    """A file could not be downloaded, or what arrived is not a valid file of the expected kind."""


def cache_home() -> str:
    """The cache directory: `$SKETCH_RNN_TF_HOME`, else `~/.cache/sketch_rnn_tf` (not created)."""
    home = os.environ.get(HOME_ENV) or DEFAULT_HOME
    return os.path.abspath(os.path.expanduser(home))


def join_url(base: str, name: str) -> str:
    """`base` + "/" + the URL-quoted file `name` (Quick, Draw! category names may hold spaces)."""
    return base.rstrip("/") + "/" + urllib.parse.quote(name)


def fetch(
    url: str,
    path: str,
    validate: Optional[Callable[[str], None]] = None,
    progress: bool = True,
    force: bool = False,
    timeout: float = TIMEOUT_S,
) -> str:
    """Downloads `url` to `path` unless `path` already exists; returns `path`.

    Args:
      url: an http(s):// or file:// URL.
      path: destination file. Its directory is created if needed.
      validate: called with the temporary file's path once all bytes arrived; raises (any
        exception) if the content is unusable. The file is then deleted, never renamed into place.
      progress: show a tqdm progress bar on stderr.
      force: download again even if `path` exists. The existing file stays in place until the new
        one has arrived and passed `validate`.
      timeout: seconds to wait for the connection and for each read.

    Raises:
      DownloadError: no network, an HTTP error, a truncated transfer or a failed validation. The
        message names the URL and the destination, so the file can be placed there by hand.
    """
    path = os.path.abspath(os.fspath(path))
    if os.path.isfile(path) and not force:
        return path
    directory = os.path.dirname(path)
    by_hand = f"(or download {url} yourself and place it at {path})"
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as e:
        raise DownloadError(f"cannot create the directory {directory} for {url}: {e}") from None
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".part", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            _copy(url, out, progress, timeout, by_hand)
        if validate is not None:
            try:
                validate(tmp)
            except Exception as e:  # any reason the content is unusable
                reason = str(e).replace(tmp, os.path.basename(path))
                raise DownloadError(
                    f"{url}: the downloaded file is not valid and was not kept ({reason}). "
                    f"The server may hold a corrupt copy; try again later {by_hand}"
                ) from None
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def _copy(url, out, progress, timeout, by_hand):
    request = urllib.request.Request(url, headers={"User-Agent": "sketch_rnn_tf"})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 (http/file only)
    except urllib.error.HTTPError as e:
        raise DownloadError(
            f"{url}: the server answered HTTP {e.code} {e.reason} {by_hand}"
        ) from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise DownloadError(
            f"cannot download {url}: {reason}. Without network access, download the file on "
            f"another machine and place it at the destination {by_hand}"
        ) from None
    with response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        received = 0
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=os.path.basename(urllib.parse.unquote(urllib.parse.urlparse(url).path)),
                leave=True,
            )
        try:
            while True:
                try:
                    chunk = response.read(_CHUNK)
                except http.client.IncompleteRead as e:
                    received += len(e.partial)
                    chunk = b""
                except OSError as e:
                    raise DownloadError(
                        f"{url}: the transfer failed after {received} bytes ({e}) {by_hand}"
                    ) from None
                if not chunk:
                    break
                out.write(chunk)
                received += len(chunk)
                if bar is not None:
                    bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()
    if total is not None and received != total:
        raise DownloadError(
            f"{url}: the transfer was cut off: {received} of {total} bytes "
            f"arrived; nothing was kept. Try again {by_hand}"
        )
    if received == 0:
        raise DownloadError(f"{url}: the server sent an empty file; nothing was kept {by_hand}")
