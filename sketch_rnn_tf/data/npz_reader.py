"""Reads the splits of a sketch-rnn `.npz` without ever running code from it: whole or one by one.

Magenta's data files store each split as a numpy object array of int16 `(n, 3)` arrays, written
by `np.save` as a pickle (protocol 2 from Python 2 for Magenta's own files, 3-5 from newer
numpy). `np.load(allow_pickle=True)` would unpickle it with every global the pickle names -- a
data file (one fetched by `train --download`, say) could run any code -- and only whole: while it
does, the unpickler's memo keeps every array's bytes, shape and state tuple alive as well
(~1.6 KB per sketch of a Quick, Draw! file, 2 GB for a split of 1.2 million sketches).

Both readers here resolve only what numpy's own pickles of arrays name: numpy's `_reconstruct`,
`_frombuffer`, `ndarray` and `dtype`, and latin-1 `_codecs.encode` (how Python 3 writes bytes at
protocol 2). Any other global raises `DataError` naming it; nothing of it is imported or called.

* `read_split`: the split as one array (CPython's C unpickler, restricted as above).
* `stream_split`: hands each sketch to a callback as soon as it is rebuilt, keeping only a
  placeholder in the outer list, and prunes the unpickler's memo every `_PRUNE_EVERY` sketches
  of what a later opcode cannot need (per-sketch tuples, data bytes, placeholders), so memory
  stays flat whatever the split's size. A pickle of another shape (elements that are not plain
  numeric arrays, the same array object at several positions, a memo entry asked for after it
  was pruned) raises `NotStreamable` -- possibly after some sketches were handed over -- and the
  caller reads the split with `read_split`.
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from typing import Callable, Union

import numpy as np

from sketch_rnn_tf.data.checks import DataError

#: Sketches between two prunings of the unpickler's memo.
_PRUNE_EVERY = 1024
#: Strings and bytes up to this length stay in the memo (dtype codes, byte-order marks, b"b").
_SMALL = 8
_RECONSTRUCT_MODULES = ("numpy.core.multiarray", "numpy._core.multiarray")
_FROMBUFFER_MODULES = ("numpy.core.numeric", "numpy._core.numeric")

try:  # numpy >= 2
    from numpy._core import multiarray as np_multiarray
    from numpy._core import numeric as np_numeric
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core import multiarray as np_multiarray
    from numpy.core import numeric as np_numeric


class _Refused(Exception):
    """The pickle names a global outside the allowlist (module, name)."""


def _allowed_global(module: str, name: str):
    """The object numpy's array pickles may name, or `_Refused`."""
    if name == "_reconstruct" and module in _RECONSTRUCT_MODULES:
        return np_multiarray._reconstruct
    if name == "_frombuffer" and module in _FROMBUFFER_MODULES:
        return np_numeric._frombuffer
    if module == "numpy" and name == "ndarray":
        return np.ndarray
    if module == "numpy" and name == "dtype":
        return np.dtype
    if module == "_codecs" and name == "encode":
        return _latin1_bytes
    raise _Refused(module, name)


def _refusal(exc: _Refused, path, split) -> DataError:
    module, name = exc.args
    return DataError(
        f"the pickle names {module}.{name}; refusing to unpickle it (a sketch data file holds "
        "only numpy arrays)",
        path=os.fspath(path),
        split=split,
    )


class _RestrictedUnpickler(pickle.Unpickler):
    """CPython's C unpickler, resolving only `_allowed_global`s."""

    def find_class(self, module, name):
        return _allowed_global(module, name)


def _latin1_bytes(text, encoding):  # `_codecs.encode(text, "latin1")`, and nothing else
    if not isinstance(text, str) or encoding != "latin1":
        raise pickle.UnpicklingError("a _codecs.encode call other than latin-1 bytes")
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
            return _allowed_global(module, name)

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
    """(shape, fortran_order, dtype) of an `.npy` stream, which is left at the data."""
    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(fp)
    if version in ((2, 0), (3, 0)):  # 3.0 only allows a UTF-8 header; numpy writes ASCII
        return np.lib.format.read_array_header_2_0(fp)
    raise ValueError(f"unknown .npy format version {version}")


def _open_member(archive: zipfile.ZipFile, path, split: str):
    try:
        member = archive.open(f"{split}.npy")
    except KeyError:
        raise DataError(f"no array {split!r}", path=os.fspath(path)) from None
    return member, io.BufferedReader(member, buffer_size=1 << 20)  # C-level reads


def read_split(path: Union[str, os.PathLike], split: str) -> np.ndarray:
    """The array stored as `split` in the `.npz` at `path`, as `np.load` reads it, running no code.

    An object array (Magenta's format) is unpickled resolving only numpy's array globals (see the
    module docstring); any other array is read with `allow_pickle=False`.

    Raises:
      DataError: no such split, or a pickle that names another global. Damaged data raises what
        zipfile, numpy or pickle raise (the callers wrap it with the file's name).
    """
    with zipfile.ZipFile(os.fspath(path)) as archive:
        member, fp = _open_member(archive, path, split)
        with member, fp:
            shape, _, dtype = _read_npy_header(fp)
            if not dtype.hasobject:
                fp.seek(0)
                return np.lib.format.read_array(fp, allow_pickle=False)
            try:
                array = _RestrictedUnpickler(fp, encoding="latin1").load()
            except _Refused as exc:
                raise _refusal(exc, path, split) from None
    if not isinstance(array, np.ndarray) or array.shape != tuple(shape):
        raise ValueError(f"the pickle holds a {type(array).__name__}, not the header's array")
    return array


def stream_split(
    path: Union[str, os.PathLike], split: str, visit: Callable[[np.ndarray], None]
) -> int:
    """Calls `visit(sketch)` for each element of `split` of the `.npz` at `path`, in order.

    The sketches handed over are read-only arrays as stored (any numeric dtype, any shape: checking
    them is the caller's business). Returns how many there were.

    Raises:
      NotStreamable: the split is not a 1-D object array of numeric arrays pickled as numpy does
        (e.g. a plain numeric array, or elements that are lists); some sketches may already have
        been visited: read it with `read_split`.
      DataError: no such split, a pickle that names another global, or what `visit` raises.
        Damaged data raises what zipfile or numpy raise.
    """
    if _PyUnpickler is None:  # pragma: no cover
        raise NotStreamable("no pure-Python unpickler in this Python")
    with zipfile.ZipFile(os.fspath(path)) as archive:
        member, fp = _open_member(archive, path, split)
        with member, fp:
            try:
                shape, _, dtype = _read_npy_header(fp)
            except ValueError as exc:
                raise NotStreamable(str(exc)) from None
            if not dtype.hasobject or len(shape) != 1:
                raise NotStreamable(f"a {dtype} array of shape {shape}, not a list of sketches")
            unpickler = _StreamingUnpickler(fp, visit)
            try:
                unpickler.load()
            except (NotStreamable, DataError):  # DataError: a bad sketch, from `visit`
                raise
            except _Refused as exc:
                raise _refusal(exc, path, split) from None
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


__all__ = ["NotStreamable", "read_split", "stream_split"]
