"""Splits stored packed and memory-mapped, so that data sets larger than memory train.

A loaded split is three arrays instead of one Python object per sketch:

* `points`: every stroke-3 row `(dx, dy, pen_lifted)` of the split, one
  after the other, `[rows, 3]` (int16 for Quick, Draw! files);
* `offsets`: int64 `[n + 1]`, sketch `i` is `points[offsets[i]:offsets[i + 1]]`;
* the class label of each sketch (the position of its file in `data_set`).

Each source `.npz` is validated once and written to a cache file (see
`open_packed_npz`); later runs memory-map that file (the offsets are
used in place) and read the rows of the sketches a batch takes with
`pread` (see `_Part` for why not through the map), so memory grows
with the sketches a step touches, not with the data set.  Batches are still a
pure function of `(seed, step)` and equal, bit for bit, those built from
`load_npz`'s lists
(`DataLoader` accepts both).

The cache lives in `$SKETCH_RNN_TF_HOME/data` (default
`~/.cache/sketch_rnn_tf/data`), never beside the source, so a read-only or
shared data folder is never written to.  A cache file is named after the
absolute path of its source and records the source's size, modification time
and the CRC-32 of each of its zip members; when any of these change the cache
is rebuilt.  It is written to a temporary file and renamed into place, so it
is either whole or absent; on opening, its layout and a CRC-32 of its
contents are checked, and a damaged file is rebuilt (the source is only ever
read).  If the cache folder cannot be written, the split is packed in memory
instead.

File layout (little endian)::

    b"SRTPACK1" + padding to 64 bytes
    per split: points (dtype, [rows, 3]), then offsets (int64, n + 1), each 64-byte aligned
    footer: JSON (format version, source key, dtype, per split: count, rows, positions, crc32)
    trailer: footer length (uint64) + b"SRTPACK1"

The normalising scale factor (`scale_factor`) streams over the packed
points in chunks and reproduces `np.std` of the float32 values exactly (same
pairwise summation tree as numpy), so the factor -- and hence every batch --
is the one the in-memory path gives: 18.5198 for `aaron_sheep.npz`.
"""

from __future__ import annotations

import collections.abc
import hashlib
import io
import json
import mmap
import os
import struct
import tempfile
import zipfile
import zlib
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
from absl import logging

from sketch_rnn_tf.data.checks import DataError, format_where
from sketch_rnn_tf.data.npz import (
    LIMIT,
    SPLITS,
    SketchDataset,
    _check_npz_file,
    _check_sketch,
    _check_splits,
    _log_combined,
    _read_split,
    _short_enough,
    check_data_set,
)
from sketch_rnn_tf.data.npz_reader import NotStreamable, stream_split
from sketch_rnn_tf.fetch import cache_home

#: 2: points before offsets (written as sketches stream in); 1 had offsets first.
FORMAT_VERSION = 2
MAGIC = b"SRTPACK1"
_ALIGN = 64
_TRAILER = struct.Struct("<Q8s")
#: Sketches packed per chunk while building a cache (bounds the build's extra memory).
_CHUNK_SKETCHES = 1 << 16
#: Values per leaf of the streamed pairwise sums of `scale_factor` (4 MiB of float32); must be
#: >= 128, numpy's pairwise block size, below which numpy no longer splits.
_LEAF_VALUES = 1 << 20


# --------------------------------------------------------------------------- where the cache lives
def default_cache_dir() -> str:
    """Where packed caches are written: `<cache_home()>/data`."""
    return os.path.join(cache_home(), "data")


def cache_path(source: Union[str, os.PathLike], cache_dir: Optional[str] = None) -> str:
    """The cache file of `source`: `<cache_dir>/<stem>-<hash of its absolute path>.pack`."""
    source = os.path.abspath(os.fspath(source))
    digest = hashlib.sha256(source.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    stem = os.path.splitext(os.path.basename(source))[0]
    return os.path.join(cache_dir or default_cache_dir(), f"{stem}-{digest}.pack")


def source_key(path: Union[str, os.PathLike]) -> dict:
    """What identifies a version of `path`: size, mtime and each zip member's name, CRC-32 and size.

    The members' CRC-32s come from the zip directory (no need to read the data),
    so a rewritten file is noticed even when its size and mtime happen to match.
    """
    path = os.fspath(path)
    _check_npz_file(path)
    stat = os.stat(path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = [[info.filename, info.CRC, info.file_size] for info in archive.infolist()]
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"cannot be read as npz ({type(exc).__name__}: {exc})", path=path) from exc
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "members": members}


# --------------------------------------------------------------------------- the packed split
class _Reader:
    """An open cache file that rows are read from with `pread` (closed when no part uses it)."""

    def __init__(self, fd: int, path: str):
        self.fd = fd
        self.path = path

    def read_into(self, out: np.ndarray, position: int) -> None:
        view = memoryview(out).cast("B")
        got = 0
        while got < len(view):
            if hasattr(os, "preadv"):
                n = os.preadv(self.fd, [view[got:]], position + got)
            else:  # pragma: no cover - platforms without preadv
                data = os.pread(self.fd, len(view) - got, position + got)
                view[got : got + len(data)] = data
                n = len(data)
            if n == 0:
                raise DataError(
                    "packed cache file is shorter than its index (changed while in use?)",
                    where=self.path,
                )
            got += n

    def __del__(self):
        try:
            os.close(self.fd)
        except OSError:  # pragma: no cover
            pass


class _Part:
    """The packed sketches of one split of one file.

    `points` and `offsets` are read-only views of the cache file's memory
    map (or in-memory arrays for the fallback).  Rows are *read* with
    `pread` (`read`) rather than through the map: touching a mapped
    page maps its whole page-cache folio into the process (with 8 MiB
    read-ahead, one training step of 100 random sketches mapped 31 of 41 MB of
    a cache in a test), while `pread` copies just the bytes asked for; the
    page cache keeps the rest, shared and reclaimable.
    """

    def __init__(
        self,
        points: np.ndarray,
        offsets: np.ndarray,
        path: Optional[str],
        split: Optional[str],
        reader: Optional[_Reader] = None,
        points_at: int = 0,
    ):
        self.points = points
        self.offsets = offsets
        self.path = path
        self.split = split
        self._reader = reader
        self._points_at = points_at

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def read(self, row0: int, row1: int) -> np.ndarray:
        """A new array holding rows `[row0, row1)` of `points`."""
        if self._reader is None:
            return np.array(self.points[row0:row1])
        out = np.empty((row1 - row0, 3), self.points.dtype)
        self._reader.read_into(out, self._points_at + row0 * self.points.strides[0])
        return out


class PackedSplit(collections.abc.Sequence):
    """A split as a read-only sequence of stroke-3 sketches backed by packed arrays.

    Indexing gives the sketch (a new array, int16 for Quick, Draw! data,
    read from the cache file), as the lists of
    `load_npz` do; a slice gives a list.  Several files' parts are concatenated in order, and
    an optional `index` selects (and orders) a subset without copying points.

    Args:
      parts: the packed parts (one per source file), in order.
      part_labels: the class label of each part's sketches (default 0, 1, ...).
      index: positions, in the concatenation of the parts, of this split's sketches.
    """

    def __init__(
        self,
        parts: Sequence[_Part],
        part_labels: Optional[Sequence[int]] = None,
        index: Optional[np.ndarray] = None,
    ):
        self.parts = list(parts)
        self.part_labels = list(range(len(self.parts)) if part_labels is None else part_labels)
        if len(self.part_labels) != len(self.parts):
            raise DataError("one label per part is needed", where="PackedSplit")
        self._starts = np.cumsum([0] + [len(p) for p in self.parts]).astype(np.int64)
        self.index = None if index is None else np.asarray(index, dtype=np.int64)

    # -- size and lengths
    def __len__(self) -> int:
        return int(self._starts[-1]) if self.index is None else len(self.index)

    def _all_lengths(self) -> np.ndarray:
        if not self.parts:
            return np.zeros(0, np.int64)
        return np.concatenate([np.diff(p.offsets) for p in self.parts]).astype(np.int64, copy=False)

    def lengths(self) -> np.ndarray:
        """int64 `[len(self)]`: the number of points of each sketch."""
        lengths = self._all_lengths()
        return lengths if self.index is None else lengths[self.index]

    @property
    def labels(self) -> np.ndarray:
        """int32 `[len(self)]`: each sketch's class label."""
        counts = np.diff(self._starts)
        labels = np.repeat(np.asarray(self.part_labels, np.int32), counts)
        return labels if self.index is None else labels[self.index]

    @property
    def dtype(self) -> np.dtype:
        return (
            np.result_type(*[p.points.dtype for p in self.parts])
            if self.parts
            else np.dtype(np.int16)
        )

    @property
    def num_points(self) -> int:
        return int(self.lengths().sum())

    # -- access
    def _locate(self, g: int):
        part = int(np.searchsorted(self._starts, g, side="right")) - 1
        return self.parts[part], g - int(self._starts[part])

    def _global(self, i) -> int:
        n = len(self)
        i = int(i)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"sketch index {i} out of range for a split of {n}")
        return i if self.index is None else int(self.index[i])

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        part, local = self._locate(self._global(i))
        return part.read(int(part.offsets[local]), int(part.offsets[local + 1]))

    def __iter__(self):
        for k in range(len(self)):
            yield self[k]

    def where(self, i: int) -> str:
        """The file, split and sketch (index in its file's split) of sketch `i`, for messages."""
        part, local = self._locate(self._global(i))
        return format_where(part.path, part.split, local)

    def take(self, indices) -> "PackedSplit":
        """A view of the sketches at `indices` (positions in this split), sharing the points."""
        indices = np.asarray(indices, dtype=np.int64)
        base = indices if self.index is None else self.index[indices]
        return PackedSplit(self.parts, self.part_labels, base)

    # -- streaming
    def _row_ranges(self):
        """`(part, row0, row1)` runs of consecutive rows holding this split's sketches, in order."""
        if self.index is None:
            for part in self.parts:
                if len(part):
                    yield part, int(part.offsets[0]), int(part.offsets[-1])
            return
        if len(self.index) == 0:
            return
        # Row ranges of every sketch, then consecutive sketches of the same part merged into runs.
        parts = np.searchsorted(self._starts, self.index, side="right") - 1
        r0 = np.empty(len(self.index), np.int64)
        r1 = np.empty(len(self.index), np.int64)
        for p, part in enumerate(self.parts):
            mine = parts == p
            local = self.index[mine] - self._starts[p]
            r0[mine] = part.offsets[local]
            r1[mine] = part.offsets[local + 1]
        breaks = np.flatnonzero((parts[1:] != parts[:-1]) | (r0[1:] != r1[:-1])) + 1
        first = np.concatenate([[0], breaks])
        last = np.concatenate([breaks, [len(self.index)]]) - 1
        for a, b in zip(first.tolist(), last.tolist()):
            yield self.parts[int(parts[a])], int(r0[a]), int(r1[b])


def _segment_reader(split: PackedSplit):
    """`read(r0, r1)` -> rows `[r0, r1)` of the split's sketches laid end to end (a copy)."""
    runs = list(split._row_ranges())
    ends = np.cumsum([0] + [r1 - r0 for _, r0, r1 in runs]).astype(np.int64)

    def read(r0: int, r1: int) -> np.ndarray:
        first = int(np.searchsorted(ends, r0, side="right")) - 1
        pieces = []
        k = first
        while k < len(runs) and ends[k] < r1:
            part, a, _ = runs[k]
            lo = a + max(r0 - int(ends[k]), 0)
            hi = a + min(r1, int(ends[k + 1])) - int(ends[k])
            pieces.append(part.read(lo, hi))
            k += 1
        return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)

    return read, int(ends[-1])


def _pairwise(get, lo: int, n: int) -> np.float32:
    """numpy's pairwise float32 sum of the virtual array `values[lo:lo + n]`, read by `get(lo, hi)`.

    numpy sums a contiguous float32 array by splitting it at `n2 = n // 2`
    rounded down to a multiple of 8 until blocks are small; any block it
    reaches is summed by `np.add.reduce` the same way, so splitting down to
    leaves of `_LEAF_VALUES` gives the very same float32 result.
    """
    if n <= _LEAF_VALUES:
        return np.add.reduce(get(lo, lo + n), initial=np.float32(0))
    n2 = n // 2
    n2 -= n2 % 8
    return np.float32(_pairwise(get, lo, n2) + _pairwise(get, lo + n2, n - n2))


def scale_factor(split: PackedSplit, max_seq_len: int, limit: float = LIMIT) -> float:
    """`normalizing_scale_factor` of a packed split, streamed in chunks.

    The population standard deviation of all `dx, dy` of the sketches with
    `len <= max_seq_len`, clamped to `[-limit, limit]` and cast to float32,
    equal bit for bit to `np.std` over their concatenation (which the
    in-memory path computes) while holding only a few MiB at a time.
    """
    kept = np.flatnonzero(split.lengths() <= max_seq_len)
    if len(kept) == 0:
        raise DataError(
            f"no sketches with len <= max_seq_len={max_seq_len} to compute the scale factor"
        )
    view = split if len(kept) == len(split) else split.take(kept)
    read_rows, rows = _segment_reader(view)

    def values(lo: int, hi: int) -> np.ndarray:  # flattened (dx, dy) of kept rows
        block = read_rows(lo // 2, (hi + 1) // 2)
        flat = np.clip(block, -limit, limit).astype(np.float32)[:, 0:2].reshape(-1)
        start = lo - (lo // 2) * 2
        return flat[start : start + hi - lo]

    # As numpy's _var: the count is an intp, so both divisions run in float64 and round to float32.
    n = np.intp(2 * rows)
    mean = np.asarray([np.float64(_pairwise(values, 0, int(n))) / n], np.float32)

    def squares(lo: int, hi: int) -> np.ndarray:
        x = values(lo, hi) - mean
        return np.square(x, out=x)

    variance = np.float32(np.float64(_pairwise(squares, 0, int(n))) / n)
    return float(np.sqrt(variance))


# --------------------------------------------------------------------------- building a cache
def _pad_to(f, align: int = _ALIGN) -> int:
    pos = f.tell()
    pad = (-pos) % align
    if pad:
        f.write(b"\0" * pad)
    return pos + pad


def _structural_pass(block, path: str, split: str, first: int = 0):
    """Per-sketch shape/dtype checks (cheap) of `block`.

    `block` holds sketches `first`, `first + 1`, ... of the split. Returns (sketches, lengths,
    dtypes) or raises. Sketches that are not plain numeric `(len, 3)` arrays go through
    `_check_sketch` (which converts or raises with the file, split and index).
    """
    sketches = list(block)
    lengths = np.empty(len(sketches), np.int64)
    dtypes = set()
    for i, s in enumerate(sketches):
        if not (
            type(s) is np.ndarray
            and s.ndim == 2
            and s.shape[1] == 3
            and s.shape[0] >= 2
            and s.dtype.kind in "iuf"
        ):
            try:
                s = _check_sketch(s, path=path, split=split, index=first + i)
            except DataError:
                # Report the first bad sketch in order, as checking one by one would.
                for k in range(i):
                    _check_sketch(sketches[k], path=path, split=split, index=first + k)
                raise
            sketches[i] = s
        lengths[i] = s.shape[0]
        dtypes.add(s.dtype)
    return sketches, lengths, dtypes


class _DtypeRule:
    """The dtype a split is stored in, from the sketches seen so far.

    int16 when every value fits (Quick, Draw! data), else the narrowest of int32/int64 that
    holds the integers, float32 for floating sketches (what validation makes of them).
    """

    def __init__(self):
        self.dtypes = set()
        self.lo = self.hi = None

    def add(self, chunk: np.ndarray, dtypes) -> None:
        self.dtypes |= set(dtypes)
        narrow = chunk.dtype.itemsize <= 2 and np.can_cast(chunk.dtype, np.int16)
        if len(chunk) and chunk.dtype.kind in "iu" and not narrow:  # int16-castable always fits
            lo, hi = int(chunk.min()), int(chunk.max())
            self.lo = lo if self.lo is None else min(self.lo, lo)
            self.hi = hi if self.hi is None else max(self.hi, hi)

    def result(self) -> np.dtype:
        if not self.dtypes:
            return np.dtype(np.int16)
        if any(d.kind == "f" for d in self.dtypes):
            return np.dtype(np.float32)
        common = np.result_type(*self.dtypes)
        if common.itemsize <= 2 and np.can_cast(common, np.int16):
            return np.dtype(np.int16)
        for candidate in (np.int16, np.int32, np.int64):
            info = np.iinfo(candidate)
            if info.min <= self.lo and self.hi <= info.max:
                return np.dtype(candidate)
        return np.dtype(np.float64)


def _value_check(chunk: np.ndarray, block, first: int, chunk_offsets: np.ndarray, path, split):
    """Bulk pen/finite checks of packed rows; a flagged sketch is re-checked alone (message)."""
    bad = (chunk[:, 2] != 0) & (chunk[:, 2] != 1)
    if chunk.dtype.kind == "f":
        bad |= ~np.isfinite(chunk).all(axis=1)
    if not bad.any():
        return
    rows = np.flatnonzero(bad)
    flagged = np.unique(np.searchsorted(chunk_offsets, rows, side="right") - 1)
    for k in flagged.tolist():
        _check_sketch(block[k], path=path, split=split, index=first + k)


class _Widen(Exception):
    """A later chunk needs a wider dtype than the one the split's first chunks were written in."""


class _SplitPacker:
    """Checks and packs one split's sketches as they arrive, `_CHUNK_SKETCHES` at a time.

    Writes to `f` (at its current position): the points, then the int64 offsets, each 64-byte
    aligned. `dtype` fixes the stored dtype; without it the first chunk's is used, and a later
    chunk that needs a wider one raises `_Widen`. With `f=None` nothing is written (a dry run
    that checks every sketch and finds the dtype: `finish()[1]`).
    """

    def __init__(self, f, path: str, split: str, dtype: Optional[np.dtype] = None):
        self.f, self.path, self.split, self.fixed = f, path, split, dtype
        self.start = f.tell() if f is not None else 0
        self.reset()

    def reset(self) -> None:
        """Back to no sketches (the file is cut back to where this split began)."""
        if self.f is not None:
            self.f.seek(self.start)
            self.f.truncate()
        self.block, self.lengths, self.first = [], [], 0
        self.rule, self.written, self.crc = _DtypeRule(), None, 0
        self.points_at = _pad_to(self.f) if self.f is not None else 0

    def add(self, sketch) -> None:
        self.block.append(sketch)
        if len(self.block) == _CHUNK_SKETCHES:
            self._flush()

    def _flush(self) -> None:
        if not self.block:
            return
        block, lengths, dtypes = _structural_pass(self.block, self.path, self.split, self.first)
        chunk = np.concatenate(block)
        self.rule.add(chunk, dtypes)
        dtype = self.fixed or self.rule.result()
        if self.written is not None and dtype != self.written:
            raise _Widen()
        chunk = chunk.astype(dtype, copy=False)
        offsets = np.zeros(len(block) + 1, np.int64)
        np.cumsum(lengths, out=offsets[1:])
        _value_check(chunk, block, self.first, offsets, self.path, self.split)
        if self.f is not None:
            self.written = dtype
            self._write(chunk.astype(dtype.newbyteorder("<"), copy=False).tobytes())
        self.lengths.append(lengths)
        self.first += len(block)
        self.block = []

    def _write(self, raw: bytes) -> None:
        self.f.write(raw)
        self.crc = zlib.crc32(raw, self.crc)

    def finish(self):
        """(footer entry of the split, its stored dtype)."""
        self._flush()
        dtype = self.fixed or self.rule.result()
        lengths = np.concatenate(self.lengths) if self.lengths else np.zeros(0, np.int64)
        offsets = np.zeros(len(lengths) + 1, np.int64)
        np.cumsum(lengths, out=offsets[1:])
        entry = {"count": len(lengths), "rows": int(offsets[-1]), "points_at": self.points_at}
        if self.f is not None:
            entry["offsets_at"] = _pad_to(self.f)
            self._write(offsets.astype("<i8").tobytes())
            entry["crc32"] = self.crc
        return entry, dtype


def _feed(path: str, split: str, packer: _SplitPacker) -> None:
    """Every sketch of the split into `packer`: streamed, else (`NotStreamable`) read whole."""
    try:
        stream_split(path, split, packer.add)
    except NotStreamable as why:
        logging.info("reading split %r of %s whole (%s)", split, path, why)
        packer.reset()
        for sketch in _read_split(path, split):
            packer.add(sketch)


def _write_split(f, path: str, split: str):
    """Validates and packs one split into `f`; returns (footer entry, stored dtype).

    Memory stays at a chunk of sketches whatever the split's size (`npz_reader`). In the rare file
    whose sketches need a wider dtype late in the split, a dry pass finds it and the split is
    written again.
    """
    packer = _SplitPacker(f, path, split)
    try:
        _feed(path, split, packer)
        return packer.finish()
    except _Widen:
        dry = _SplitPacker(None, path, split)
        _feed(path, split, dry)
        packer.fixed = dry.finish()[1]
        packer.reset()  # back to where the split began
        _feed(path, split, packer)
        return packer.finish()


def write_cache(source: Union[str, os.PathLike], target: str, key: Optional[dict] = None) -> None:
    """Validates `source` (as `load_npz` does) and writes its packed cache.

    Sketches are read one at a time (`npz_reader`) and written a chunk at a time, so the build's
    memory does not grow with the file. The file is written beside `target` under a temporary
    name and renamed onto it once complete, so `target` is never half-written. Raises `DataError`
    for bad data (naming the file, split and sketch); nothing is left behind then.
    """
    source = os.fspath(source)
    key = source_key(source) if key is None else key
    _check_splits(source)  # a readable npz with the three splits, or DataError
    directory = os.path.dirname(os.path.abspath(target))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            splits, dtypes = _write_splits(f, source)
            footer = {
                "version": FORMAT_VERSION,
                "source": os.path.abspath(source),
                "key": key,
                "dtypes": {s: dtypes[s].str for s in SPLITS},
                "splits": splits,
            }
            _pad_to(f)
            raw = json.dumps(footer, sort_keys=True).encode("utf-8")
            f.write(raw)
            f.write(_TRAILER.pack(len(raw), MAGIC))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _write_splits(f, source: str):
    """MAGIC, then each split packed; returns ({split: footer entry}, {split: dtype})."""
    f.write(MAGIC)
    splits, dtypes = {}, {}
    for split in SPLITS:
        splits[split], dtypes[split] = _write_split(f, source, split)
    return splits, dtypes


class CacheError(Exception):
    """A cache file that is missing, stale or damaged (internal: the cache is then rebuilt)."""


def _read_footer(fd: int, size: int) -> dict:
    if size < len(MAGIC) + _TRAILER.size:
        raise CacheError("too short")
    if os.pread(fd, len(MAGIC), 0) != MAGIC:
        raise CacheError("bad magic")
    length, magic = _TRAILER.unpack(os.pread(fd, _TRAILER.size, size - _TRAILER.size))
    if magic != MAGIC or length > size - _TRAILER.size - len(MAGIC):
        raise CacheError("bad trailer (truncated?)")
    try:
        footer = json.loads(os.pread(fd, length, size - _TRAILER.size - length).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise CacheError(f"bad footer ({exc})") from None
    if not isinstance(footer, dict) or footer.get("version") != FORMAT_VERSION:
        raise CacheError("other format version")
    return footer


def _crc_of(fd: int, start: int, stop: int, crc: int = 0) -> int:
    block = 1 << 24
    pos = start
    while pos < stop:
        data = os.pread(fd, min(block, stop - pos), pos)
        if not data:
            raise CacheError("truncated")
        crc = zlib.crc32(data, crc)
        pos += len(data)
    return crc


def _open_cache(target: str, key: dict, verify: bool) -> Dict[str, _Part]:
    try:
        fd = os.open(target, os.O_RDONLY)
    except FileNotFoundError:
        raise CacheError("absent") from None
    except OSError as exc:
        raise CacheError(str(exc)) from None
    try:
        size = os.fstat(fd).st_size
        footer = _read_footer(fd, size)
        if footer.get("key") != key:
            raise CacheError("stale (the source changed)")
        layout = {}
        for split in SPLITS:
            entry = footer["splits"][split]
            dtype = np.dtype(footer["dtypes"][split])
            count, rows = int(entry["count"]), int(entry["rows"])
            offsets_at, points_at = int(entry["offsets_at"]), int(entry["points_at"])
            if dtype.kind not in "if" or count < 0 or rows < 0:
                raise CacheError("bad layout")
            points_end = points_at + rows * 3 * dtype.itemsize
            end = offsets_at + 8 * (count + 1)
            if points_end > offsets_at or end > size:
                raise CacheError("bad layout (truncated?)")
            if verify and _crc_of(fd, offsets_at, end, _crc_of(fd, points_at, points_end)) != int(
                entry["crc32"]
            ):
                raise CacheError(f"checksum mismatch in split {split!r}")
            layout[split] = (dtype, count, rows, offsets_at, points_at)
        mapping = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
    except (KeyError, TypeError, ValueError) as exc:
        os.close(fd)
        raise CacheError(f"bad footer ({exc})") from None
    except OSError as exc:
        os.close(fd)
        raise CacheError(f"unreadable ({exc})") from None
    except BaseException:
        os.close(fd)
        raise
    reader = _Reader(fd, target)  # owns fd from here on
    parts = {}
    source = footer.get("source")
    for split, (dtype, count, rows, offsets_at, points_at) in layout.items():
        offsets = np.frombuffer(mapping, dtype="<i8", count=count + 1, offset=offsets_at)
        if offsets[0] != 0 or offsets[-1] != rows or (count and np.diff(offsets).min() < 1):
            raise CacheError(f"bad offsets in split {split!r}")
        points = np.frombuffer(
            mapping, dtype=dtype.newbyteorder("<"), count=rows * 3, offset=points_at
        ).reshape(rows, 3)
        parts[split] = _Part(points, offsets, source, split, reader, points_at)
    return parts


def _pack_in_memory(source: str) -> Dict[str, _Part]:
    """Packs `source` into memory (the fallback when no cache can be written)."""
    _check_splits(source)
    buffer = io.BytesIO()
    splits, dtypes = _write_splits(buffer, source)
    memory = buffer.getbuffer()
    parts = {}
    for split in SPLITS:
        entry, dtype = splits[split], dtypes[split].newbyteorder("<")
        count, rows = entry["count"], entry["rows"]
        points = np.frombuffer(memory, dtype, count=rows * 3, offset=entry["points_at"])
        offsets = np.frombuffer(memory, "<i8", count=count + 1, offset=entry["offsets_at"])
        parts[split] = _Part(points.reshape(rows, 3), offsets, os.path.abspath(source), split)
    return parts


def open_packed_npz(
    path: Union[str, os.PathLike], cache_dir: Optional[str] = None, verify: bool = True
) -> Dict[str, PackedSplit]:
    """The train/valid/test splits of a sketch-rnn `.npz` as memory-mapped `PackedSplit`s.

    The first call validates the file and writes its cache (see the module
    docstring); later calls map the cache, after checking it still matches
    the source (size, mtime, zip CRCs) and, with `verify`, its own CRC-32.
    A missing, stale or damaged cache is (re)built; bad data raises
    `DataError` naming the file, split and sketch.

    Args:
      path: the `.npz` file.
      cache_dir: where caches live (default `default_cache_dir`).
      verify: check the cache's CRC-32 on opening (reads it once, ~2 GB/s).
    """
    path = os.fspath(path)
    key = source_key(path)
    target = cache_path(path, cache_dir)
    try:
        parts = _open_cache(target, key, verify)
    except CacheError as why:
        if str(why) != "absent":
            logging.warning(
                "packed cache %s of %s is unusable (%s); rebuilding it", target, path, why
            )
        else:
            logging.info("packing %s into %s (once; later runs map it)", path, target)
        try:
            write_cache(path, target, key)
        except OSError as exc:
            logging.warning(
                "cannot write the packed cache %s (%s); packing %s in memory", target, exc, path
            )
            parts = _pack_in_memory(path)
        else:
            try:
                parts = _open_cache(target, key, verify=False)
            except CacheError as exc:  # pragma: no cover - only if the file changes under us
                logging.warning(
                    "packed cache %s unreadable right after writing (%s); packing in memory",
                    target,
                    exc,
                )
                parts = _pack_in_memory(path)
    return {split: PackedSplit([parts[split]]) for split in SPLITS}


def _memo_scale_factor(
    train: PackedSplit, max_seq_len: int, keys: list, cache_dir: Optional[str]
) -> float:
    """`scale_factor` of `train`, remembered in the cache folder for the same sources and N_max.

    Streaming the factor reads the whole train split; a later run on unchanged
    files reads it from `scale-<hash>.json` (written atomically; an
    unreadable or mismatching memo is recomputed).
    """
    inputs = {
        "version": FORMAT_VERSION,
        "sources": keys,
        "max_seq_len": int(max_seq_len),
        "limit": LIMIT,
    }
    blob = json.dumps(inputs, sort_keys=True)
    path = os.path.join(
        cache_dir or default_cache_dir(),
        f"scale-{hashlib.sha256(blob.encode('utf-8', 'surrogateescape')).hexdigest()[:16]}.json",
    )
    try:
        with open(path, encoding="utf-8") as f:
            memo = json.load(f)
        if memo.get("inputs") == json.loads(blob):
            value = float(memo["scale_factor"])
            if np.isfinite(value) and value > 0:
                return value
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        pass
    value = scale_factor(train, max_seq_len)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".scale-", suffix=".tmp", dir=os.path.dirname(path))
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"inputs": json.loads(blob), "scale_factor": value}, f)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as exc:
        logging.info("cannot remember the scale factor in %s (%s)", path, exc)
    return value


def load_packed_dataset(
    data_dir: Union[str, os.PathLike],
    data_set: Union[str, Sequence[str]],
    max_seq_len: int,
    cache_dir: Optional[str] = None,
    verify: bool = True,
) -> SketchDataset:
    """`load_dataset` with packed, memory-mapped splits.

    Same files, order, dropping of sketches longer than `max_seq_len` (and
    its log lines and errors), labels and scale factor; `train`, `valid`
    and `test` are `PackedSplit`s instead of lists, so a data set
    larger than memory loads in little memory.
    """
    data_set = check_data_set(data_set, max_seq_len)
    parts: Dict[str, List[_Part]] = {k: [] for k in SPLITS}
    keep: Dict[str, List[np.ndarray]] = {k: [] for k in SPLITS}
    class_names, keys = [], []
    for name in data_set:
        path = os.path.join(os.fspath(data_dir), os.fspath(name))
        splits = open_packed_npz(path, cache_dir=cache_dir, verify=verify)
        keys.append([os.path.abspath(path), source_key(path)])
        class_names.append(os.path.splitext(os.path.basename(os.fspath(name)))[0])
        counts = []
        for split in SPLITS:
            kept = _short_enough(splits[split].lengths(), max_seq_len, path, split)
            parts[split].append(splits[split].parts[0])
            keep[split].append(kept)
            counts.append(int(kept.sum()))
        logging.info("Loaded %d/%d/%d from %s", *counts, path)
    labels = list(range(len(data_set)))
    result = {}
    for split in SPLITS:
        whole = PackedSplit(parts[split], labels)
        mask = np.concatenate(keep[split])
        result[split] = whole if mask.all() else whole.take(np.flatnonzero(mask))
    _log_combined([len(result[k]) for k in SPLITS], sum(v.num_points for v in result.values()))
    scale = _memo_scale_factor(result["train"], max_seq_len, keys, cache_dir)
    logging.info("normalizing_scale_factor %4.4f", scale)
    return SketchDataset(
        train=result["train"],
        valid=result["valid"],
        test=result["test"],
        train_labels=result["train"].labels,
        valid_labels=result["valid"].labels,
        test_labels=result["test"].labels,
        class_names=class_names,
        scale_factor=scale,
        max_seq_len=int(max_seq_len),
    )
