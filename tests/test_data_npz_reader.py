"""Reading a pickled split sketch by sketch (sketch_rnn_tf.data.npz_reader) and packing with it."""

import io
import logging
import os
import pickle
import tracemalloc
import zipfile

import numpy as np
import pytest

import sketch_rnn_tf.data.npz_reader as npz_reader
import sketch_rnn_tf.data.packed as packed
from sketch_rnn_tf.data import DataError, load_npz
from sketch_rnn_tf.data.npz_reader import NotStreamable, read_split, stream_split
from sketch_rnn_tf.data.packed import open_packed_npz

from _paths import SHEEP_NPZ


def _obj(arrays):
    out = np.empty(len(arrays), dtype=object)
    for i, a in enumerate(arrays):
        out[i] = a
    return out


def _sketches(n, seed=0, dtype=np.int16):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        s = rng.integers(-60, 60, (int(rng.integers(2, 40)), 3)).astype(dtype)
        s[:, 2] = rng.random(len(s)) < 0.2
        out.append(s)
    return out


def _npy_bytes(array, protocol):
    """An .npy file of `array` whose pickle has the given protocol (np.save picks its own)."""
    buf = io.BytesIO()
    header = {"descr": "|O", "fortran_order": False, "shape": array.shape}
    np.lib.format.write_array_header_1_0(buf, header)
    pickle.dump(array, buf, protocol=protocol)
    return buf.getvalue()


def _write_npz(path, splits, protocol=2, compress=True):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as z:
        for name, array in splits.items():
            z.writestr(f"{name}.npy", _npy_bytes(array, protocol))
    return str(path)


def _streamed(path, split):
    got = []
    count = stream_split(path, split, lambda a: got.append(np.array(a)))
    assert count == len(got)
    return got


def _assert_same(a_list, b_list):
    assert len(a_list) == len(b_list)
    for a, b in zip(a_list, b_list):
        assert a.dtype.newbyteorder("=") == b.dtype.newbyteorder("=") and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_every_pickle_protocol_streams_what_np_load_reads(tmp_path, monkeypatch, protocol):
    monkeypatch.setattr(npz_reader, "_PRUNE_EVERY", 7)  # prune often: a wrong prune shows up
    sketches = _sketches(300)
    sketches[5] = np.asfortranarray(sketches[5].astype(np.float64))
    sketches[7] = sketches[7].astype(">i4")  # another byte order and width: read as native int32
    path = _write_npz(
        tmp_path / "p.npz", {"train": _obj(sketches), "valid": _obj(sketches[:3])}, protocol
    )
    expected = np.load(path, allow_pickle=True)
    _assert_same(_streamed(path, "train"), list(expected["train"]))
    _assert_same(_streamed(path, "valid"), list(expected["valid"]))


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_read_split_reads_what_np_load_reads(tmp_path, protocol):
    sketches = _sketches(40)
    sketches[3] = np.asfortranarray(sketches[3].astype(">f8"))
    path = _write_npz(tmp_path / "p.npz", {"train": _obj(sketches)}, protocol)
    got, expected = read_split(path, "train"), np.load(path, allow_pickle=True)["train"]
    assert got.dtype == object and got.shape == expected.shape
    _assert_same(list(got), list(expected))
    numeric = str(tmp_path / "n.npz")
    np.savez(numeric, train=np.arange(24, dtype=np.int16).reshape(2, 4, 3))
    np.testing.assert_array_equal(read_split(numeric, "train"), np.load(numeric)["train"])


def test_np_savez_files_stream(tmp_path):
    path = str(tmp_path / "s.npz")
    sketches = _sketches(50)
    np.savez_compressed(path, train=_obj(sketches))
    _assert_same(_streamed(path, "train"), sketches)


@pytest.mark.skipif(not os.path.isfile(SHEEP_NPZ), reason="real data not available")
def test_magentas_python2_file_streams_what_np_load_reads():
    expected = load_npz(SHEEP_NPZ)
    for split in ("train", "test"):
        _assert_same(_streamed(SHEEP_NPZ, split), expected[split])


def test_memory_stays_flat_while_np_load_grows(tmp_path):
    path = _write_npz(
        tmp_path / "big.npz", {"train": _obj(_sketches(20000))}, protocol=2, compress=False
    )
    tracemalloc.start()
    try:
        stream_split(path, "train", lambda a: None)
        _, streamed_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        np.load(path, allow_pickle=True, encoding="latin1")["train"]
        _, loaded_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # np.load holds every array and the memo of every bytes/tuple: ~10 MB here; streaming holds
    # one pruning interval's worth.
    assert loaded_peak > 5e6
    assert streamed_peak < loaded_peak / 5, (streamed_peak, loaded_peak)


@pytest.mark.parametrize(
    "array, why",
    [
        (np.zeros((4, 5, 3), np.int16), "not a list of sketches"),
        (_obj([np.zeros((3, 3), np.int16), [[1, 2, 0], [1, 2, 1]]]), "not numeric arrays"),
        (_obj([_sketches(1)[0]] * 3), "several positions"),
    ],
    ids=["numeric-3d", "list-element", "same-object-twice"],
)
def test_what_cannot_be_streamed_says_so(tmp_path, array, why):
    path = str(tmp_path / "odd.npz")
    with zipfile.ZipFile(path, "w") as z:
        if array.dtype.hasobject:
            z.writestr("train.npy", _npy_bytes(array, 2))
        else:
            buf = io.BytesIO()
            np.save(buf, array)
            z.writestr("train.npy", buf.getvalue())
    with pytest.raises(NotStreamable, match=why):
        stream_split(path, "train", lambda a: None)


def test_unstreamable_splits_still_pack_as_load_npz_reads(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    same = _sketches(1)[0]
    path = str(tmp_path / "odd.npz")
    np.savez(
        path, train=_obj([same, same, same]), valid=np.stack([same, same]), test=_obj(_sketches(4))
    )
    splits = open_packed_npz(path, cache_dir=str(tmp_path / "cache"))
    for split, sketches in load_npz(path).items():
        _assert_same(list(splits[split]), sketches)
    assert "reading split 'train'" in caplog.text and "whole" in caplog.text


def test_a_late_wider_dtype_rewrites_the_split(tmp_path, monkeypatch):
    monkeypatch.setattr(packed, "_CHUNK_SKETCHES", 4)
    sketches = _sketches(10)
    sketches[9] = sketches[9].astype(np.int32)
    sketches[9][0, 0] = 70000  # does not fit int16: found in the third chunk
    path = str(tmp_path / "wide.npz")
    np.savez(path, train=_obj(sketches), valid=_obj(sketches[:2]), test=_obj(sketches[:2]))
    splits = open_packed_npz(path, cache_dir=str(tmp_path / "cache"))
    assert splits["train"].parts[0].points.dtype == np.int32
    assert splits["valid"].parts[0].points.dtype == np.int16
    for split, expected in load_npz(path).items():
        for a, b in zip(splits[split], expected):
            np.testing.assert_array_equal(a, b)


class _Trap:
    """Pickles as a call of os.system that would create `marker`."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("protocol", [2, 4])
def test_a_data_file_never_runs_code(tmp_path, protocol):
    marker = tmp_path / "ran"
    evil = _obj([_sketches(1)[0], _Trap(marker)])
    path = _write_npz(tmp_path / "evil.npz", {"train": evil, "valid": evil, "test": evil}, protocol)
    refused = r"evil\.npz.*split 'train'.*names (posix|os|nt)\.system; refusing to unpickle it"
    with pytest.raises(DataError, match=refused):
        stream_split(path, "train", lambda a: None)
    with pytest.raises(DataError, match=refused):
        read_split(path, "train")
    with pytest.raises(DataError, match=refused):
        load_npz(path)
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match=refused):
        open_packed_npz(path, cache_dir=str(cache))
    assert not marker.exists()
    assert not cache.exists() or os.listdir(cache) == []
