"""Reads a split of a sketch-rnn `.npz` one sketch at a time, without holding the split in memory.

Magenta's data files store each split as a numpy object array of int16 `(n, 3)` arrays, written
by `np.save` as a pickle (protocol 2 from Python 2 for Magenta's own files, 3-5 from newer
numpy). `np.load` can only unpickle such an array whole, and while it does, the unpickler's memo
keeps every array's bytes, shape and state tuple alive as well: ~1.6 KB per sketch of a
Quick, Draw! file, 2 GB for a split of 1.2 million sketches.

`stream_split` instead runs the pickle through a restricted unpickler that

* resolves only numpy's `_reconstruct`, `_frombuffer`, `ndarray` and `dtype` and latin-1
  `_codecs.encode` (nothing else is ever imported or called, unlike `np.load(allow_pickle=True)`);
* hands each inner array to a callback as soon as it is rebuilt, and keeps only a placeholder in
  the outer list;
* prunes the memo every `_PRUNE_EVERY` sketches of what a later opcode cannot need (per-sketch
  tuples, data bytes and placeholders), so memory stays flat whatever the split's size.

A pickle that does not have this shape (elements that are not plain numeric arrays, a memo
entry asked for after it was pruned, other globals) raises `NotStreamable` -- possibly after
some sketches were already handed over -- and the caller reads the split the ordinary way.
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from typing import Callable, Union

import numpy as np

#: Sketches between two prunings of the unpickler's memo.
_PRUNE_EVERY = 1024
#: Strings and bytes up to this length stay in the memo (dtype codes, byte-order marks, b"b").
_SMALL = 8
_RECONSTRUCT_MODULES = ("numpy.core.multiarray", "numpy._core.multiarray")
_FROMBUFFER_MODULES = ("numpy.core.numeric", "numpy._core.numeric")


def _latin1_bytes(text, encoding):  # `_codecs.encode(text, "latin1")`, and nothing else
    if not isinstance(text, str) or encoding != "latin1":
        raise NotStreamable("a _codecs.encode call other than latin-1 bytes")
    return text.encode("latin1")


class NotStreamable(Exception):
    """This split cannot be read sketch by sketch (the reason is the message); read it whole."""


class _Placeholder:
    """What the outer list holds in place of each array (one shared instance)."""

    __slots__ = ()


_PLACEHOLDER = _Placeholder()


def _reconstruct(cls, shape, typecode):  # numpy's `_reconstruct(ndarray, (0,), b"b")`
    if cls is not np.ndarray:
        raise NotStreamable(f"an array of class {cls!r}")
    return _PLACEHOLDER  # its state tells the outer array from an element (`_setstate`)


try:  # the pure-Python unpickler: its memo is a dict that can be pruned while it runs
    _PyUnpickler = pickle._Unpickler  # noqa: SLF001
except AttributeError:  # pragma: no cover - every CPython has it
    _PyUnpickler = None


if _PyUnpickler is not None:

    class _StreamingUnpickler(_PyUnpickler):
        """Unpickles an object array, calling `visit(array)` for each element in order."""

        dispatch = dict(_PyUnpickler.dispatch)

        def __init__(self, file, visit: Callable[[np.ndarray], None]):
            super().__init__(file, encoding="latin1")
            self._visit = visit
            self._memo_next = 0
            self.visited = 0
            self.outer_shape = None
            self.outer_items = None

        def find_class(self, module, name):
            if name == "_reconstruct" and module in _RECONSTRUCT_MODULES:
                return _reconstruct
            if name == "_frombuffer" and module in _FROMBUFFER_MODULES:
                return self._frombuffer  # how numpy pickles an array with protocol 5
            if module == "_codecs" and name == "encode":
                return _latin1_bytes  # how Python 3 pickles bytes with protocol 2
            if module == "numpy" and name == "ndarray":
                return np.ndarray
            if module == "numpy" and name == "dtype":
                return np.dtype
            raise NotStreamable(f"the pickle refers to {module}.{name}")

        # MEMOIZE puts at the count of memo entries so far; after pruning, len(memo) is not that.
        def _load_memoize(self):
            self.memo[self._memo_next] = self.stack[-1]
            self._memo_next += 1

        dispatch[pickle.MEMOIZE[0]] = _load_memoize

        def _checked_get(load):
            """A GET opcode that refuses a placeholder.

            A GET of a placeholder means the same array object is stored twice and its data was
            handed over once (by then possibly pruned): such a split is read whole.
            """

            def get(self):
                load(self)
                if self.stack[-1] is _PLACEHOLDER:
                    raise NotStreamable("one array object stored at several positions")

            return get

        for _op in (pickle.GET, pickle.BINGET, pickle.LONG_BINGET):
            dispatch[_op[0]] = _checked_get(_PyUnpickler.dispatch[_op[0]])
        del _op

        # A FRAME (protocol 4+) only announces how many bytes follow; reading them straight from
        # the buffered file instead of through a per-frame copy is ~30% faster and equivalent.
        def _load_frame(self):
            self.read(8)

        dispatch[pickle.FRAME[0]] = _load_frame

        def _load_build(self):
            state = self.stack.pop()
            inst = self.stack[-1]
            if inst is _PLACEHOLDER:
                self._setstate(state)
            else:
                self.stack.append(state)
                _PyUnpickler.load_build(self)

        dispatch[pickle.BUILD[0]] = _load_build

        def _frombuffer(self, buffer, dtype, shape, order):
            self._hand_over(bytes(buffer), np.dtype(dtype), shape, order == "F")
            return _PLACEHOLDER

        def _setstate(self, state):
            if not isinstance(state, tuple) or len(state) not in (4, 5):
                raise NotStreamable("an array state of an unknown form")
            shape, dtype, fortran, data = state[-4:]
            if not isinstance(dtype, np.dtype):
                raise NotStreamable("an array state without a dtype")
            if dtype.hasobject:  # the outer object array: its list of (placeholder) elements
                self.outer_shape, self.outer_items = tuple(shape), data
                return
            self._hand_over(data, dtype, shape, fortran)

        def _hand_over(self, data, dtype, shape, fortran):
            if dtype.hasobject:
                raise NotStreamable("an array of objects inside the array")
            if isinstance(data, str):  # Python 2's str, decoded as latin-1 by the unpickler
                data = data.encode("latin1")
            if not isinstance(data, (bytes, bytearray)):
                raise NotStreamable("an array whose data is not raw bytes")
            shape = tuple(int(d) for d in shape)
            size = dtype.itemsize
            for d in shape:
                size *= d
            if size != len(data):
                raise NotStreamable("an array whose data does not match its shape")
            array = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")
            if not dtype.isnative:  # as numpy's own unpickling gives it: same values, native order
                array = array.astype(dtype.newbyteorder("="))
            self._visit(array)
            self.visited += 1
            if self.visited % _PRUNE_EVERY == 0:
                self._prune()

        def _prune(self):
            """Drops from the memo what only one sketch used (a later sketch never refers to it)."""
            memo = self.memo
            drop = [
                k
                for k, v in memo.items()
                if v is _PLACEHOLDER
                or isinstance(v, (tuple, list, np.ndarray))
                or (isinstance(v, (bytes, bytearray, str)) and len(v) > _SMALL)
            ]
            for k in drop:
                del memo[k]


def _read_npy_header(fp):
    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(fp)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(fp)
    raise NotStreamable(f".npy format version {version}")


def stream_split(
    path: Union[str, os.PathLike], split: str, visit: Callable[[np.ndarray], None]
) -> int:
    """Calls `visit(sketch)` for each element of `split` of the `.npz` at `path`, in order.

    The sketches handed over are read-only arrays as stored (any numeric dtype, any shape: checking
    them is the caller's business). Returns how many there were.

    Raises:
      NotStreamable: the split is not a 1-D object array of numeric arrays pickled as numpy does
        (e.g. a plain numeric array, or elements that are lists); some sketches may already have
        been visited. Other errors (a damaged zip member) propagate.
    """
    if _PyUnpickler is None:  # pragma: no cover
        raise NotStreamable("no pure-Python unpickler in this Python")
    with zipfile.ZipFile(os.fspath(path)) as archive:
        try:
            member = archive.open(f"{split}.npy")
        except KeyError:
            raise NotStreamable(f"no member {split}.npy") from None
        with member, io.BufferedReader(member, buffer_size=1 << 20) as fp:  # C-level reads
            shape, _, dtype = _read_npy_header(fp)
            if not dtype.hasobject or len(shape) != 1:
                raise NotStreamable(f"a {dtype} array of shape {shape}, not a list of sketches")
            unpickler = _StreamingUnpickler(fp, visit)
            try:
                unpickler.load()
            except NotStreamable:
                raise
            except (pickle.UnpicklingError, EOFError, TypeError, ValueError, KeyError) as exc:
                raise NotStreamable(f"{type(exc).__name__}: {exc}") from None
    items = unpickler.outer_items
    if unpickler.outer_shape != tuple(shape) or not isinstance(items, list):
        raise NotStreamable("the pickle does not hold the array its header describes")
    if len(items) != shape[0] or any(item is not _PLACEHOLDER for item in items):
        raise NotStreamable("some elements are not numeric arrays")
    if unpickler.visited != len(items):
        raise NotStreamable("some arrays are stored at several positions")
    return len(items)


__all__ = ["NotStreamable", "stream_split"]
