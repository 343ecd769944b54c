"""Packed, memory-mapped splits and their cache (sketch_rnn_tf.data.packed)."""

import glob
import hashlib
import mmap
import os

import numpy as np
import pytest

import sketch_rnn_tf.data.packed as packed
from sketch_rnn_tf.data import (
    DataError,
    DataLoader,
    load_dataset,
    load_npz,
    normalizing_scale_factor,
)
from sketch_rnn_tf.data.packed import (
    PackedSplit,
    cache_path,
    load_packed_dataset,
    open_packed_npz,
    scale_factor,
)

from _paths import NPZ, SHEEP_NPZ

needs_sheep = pytest.mark.skipif(not os.path.isfile(SHEEP_NPZ), reason="real data not available")


def _obj(arrays):
    out = np.empty(len(arrays), dtype=object)
    for i, a in enumerate(arrays):
        out[i] = a
    return out


def _sketches(rng, n, dtype=np.int16, lo=2, hi=30, scale=40):
    out = []
    for _ in range(n):
        length = int(rng.integers(lo, hi + 1))
        s = np.zeros((length, 3), dtype)
        s[:, :2] = rng.normal(0, scale, (length, 2)).astype(dtype)
        s[:, 2] = rng.random(length) < 0.2
        s[-1, 2] = 1
        out.append(s)
    return out


def _write_npz(path, seed=0, n=(50, 10, 10), **kwargs):
    rng = np.random.default_rng(seed)
    np.savez(
        path,
        **{k: _obj(_sketches(rng, m, **kwargs)) for k, m in zip(("train", "valid", "test"), n)},
    )
    return str(path)


def _sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _assert_same_splits(packed_splits, lists):
    for split, sketches in lists.items():
        got = packed_splits[split]
        assert len(got) == len(sketches)
        for a, b in zip(got, sketches):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------- the cache
def test_cache_written_once_atomically_and_reused(tmp_path, monkeypatch):
    src = _write_npz(tmp_path / "a.npz")
    cache = tmp_path / "cache"
    splits = open_packed_npz(src, cache_dir=str(cache))
    _assert_same_splits(splits, load_npz(src))
    files = os.listdir(cache)
    assert files == [os.path.basename(cache_path(src, str(cache)))]  # no temporary file left
    stat = os.stat(cache / files[0])

    def no_rebuild(*args, **kwargs):
        raise AssertionError("the cache was rebuilt")

    monkeypatch.setattr(packed, "write_cache", no_rebuild)
    again = open_packed_npz(src, cache_dir=str(cache))
    _assert_same_splits(again, load_npz(src))
    assert os.stat(cache / files[0]).st_ino == stat.st_ino
    # The points are a read-only memory map of the cache file, not a copy.
    base = again["train"].parts[0].points
    while isinstance(base, np.ndarray):
        base = base.base
    assert isinstance(base.obj if isinstance(base, memoryview) else base, mmap.mmap)
    # Sketches are read from the file (pread) into new arrays, not handed out as views of the map.
    assert again["train"][0].flags.owndata and not again["train"].parts[0].points.flags.writeable


def test_cache_lives_under_sketch_rnn_tf_home(tmp_path, monkeypatch):
    monkeypatch.setenv("SKETCH_RNN_TF_HOME", str(tmp_path / "home"))
    src = _write_npz(tmp_path / "a.npz")
    open_packed_npz(src)
    assert glob.glob(str(tmp_path / "home" / "data" / "a-*.pack"))
    assert sorted(os.listdir(tmp_path)) == ["a.npz", "home"]  # nothing written beside the source


def test_cache_rebuilt_when_the_source_changes(tmp_path):
    src = _write_npz(tmp_path / "a.npz", seed=0)
    cache = str(tmp_path / "cache")
    first = open_packed_npz(src, cache_dir=cache)
    stat = os.stat(src)
    _write_npz(src, seed=1)  # same shapes of file, other sketches
    # Even with the old size and mtime the zip CRCs tell the new content apart.
    os.utime(src, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    second = open_packed_npz(src, cache_dir=cache)
    _assert_same_splits(second, load_npz(src))
    assert not np.array_equal(first["train"][0], second["train"][0]) or len(
        first["train"][0]
    ) != len(second["train"][0])
    _write_npz(src, seed=2, n=(7, 3, 3))
    assert [len(v) for v in open_packed_npz(src, cache_dir=cache).values()] == [7, 3, 3]


def _damage_truncate(path):
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)


def _flip(path, position):
    with open(path, "r+b") as f:
        f.seek(position)
        byte = f.read(1)
        f.seek(position)
        f.write(bytes([byte[0] ^ 0x10]))


def _damage_flip_offset(path):
    _flip(path, 200)  # inside the train offsets


def _damage_flip_point(path):
    _flip(path, os.path.getsize(path) // 3)  # inside the train points


def _damage_garbage(path):
    with open(path, "wb") as f:
        f.write(b"not a cache at all" * 10)


def _damage_empty(path):
    open(path, "wb").close()


def _damage_footer(path):
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.seek(size - 40)
        f.write(b"}}}}")


def _damage_directory(path):
    os.unlink(path)
    os.mkdir(path)


@pytest.mark.parametrize(
    "damage",
    [
        _damage_truncate,
        _damage_flip_offset,
        _damage_flip_point,
        _damage_garbage,
        _damage_empty,
        _damage_footer,
        _damage_directory,
    ],
)
def test_damaged_cache_is_detected_and_rebuilt(tmp_path, damage, caplog):
    src = _write_npz(tmp_path / "a.npz")
    cache = str(tmp_path / "cache")
    open_packed_npz(src, cache_dir=cache)
    before = _sha(src)
    damage(cache_path(src, cache))
    splits = open_packed_npz(src, cache_dir=cache)
    _assert_same_splits(splits, load_npz(src))
    assert _sha(src) == before  # the source is only ever read
    assert "unusable" in caplog.text or "cannot write" in caplog.text
    if (
        damage is not _damage_directory
    ):  # a directory in the way is left alone; packing went to memory
        open_packed_npz(src, cache_dir=cache)  # and the rebuilt cache is good
        assert os.path.isfile(cache_path(src, cache))


def test_interrupted_build_leaves_no_file(tmp_path, monkeypatch):
    src = _write_npz(tmp_path / "a.npz")
    cache = str(tmp_path / "cache")
    calls = []
    real = packed._write_split

    def crash_on_valid(f, path, split):
        calls.append(split)
        if split == "valid":
            raise KeyboardInterrupt  # e.g. Ctrl-C half way through
        return real(f, path, split)

    monkeypatch.setattr(packed, "_write_split", crash_on_valid)
    with pytest.raises(KeyboardInterrupt):
        open_packed_npz(src, cache_dir=cache)
    assert calls == ["train", "valid"] and os.listdir(cache) == []
    monkeypatch.setattr(packed, "_write_split", real)
    _assert_same_splits(open_packed_npz(src, cache_dir=cache), load_npz(src))


def test_unwritable_cache_dir_packs_in_memory(tmp_path, caplog):
    src = _write_npz(tmp_path / "a.npz")
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder would be")
    splits = open_packed_npz(src, cache_dir=str(blocker / "cache"))
    _assert_same_splits(splits, load_npz(src))
    assert "packing" in caplog.text and "in memory" in caplog.text


@pytest.mark.parametrize(
    "dtype, scale, stored",
    [
        (np.int64, 40, np.int16),
        (np.int32, 30000, np.int32),
        (np.float64, 40, np.float32),
        (np.uint8, 1, np.int16),
    ],
)
def test_stored_dtype_keeps_every_value(tmp_path, dtype, scale, stored):
    src = _write_npz(tmp_path / "a.npz", dtype=dtype, scale=scale)
    splits = open_packed_npz(src, cache_dir=str(tmp_path / "cache"))
    assert splits["train"].parts[0].points.dtype == stored
    for split, sketches in load_npz(src).items():
        for a, b in zip(splits[split], sketches):
            np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------------ bad data, same messages
GOOD = np.array([[1, 2, 0], [3, 4, 0], [5, 6, 1]], dtype=np.int16)


@pytest.mark.parametrize(
    "bad, index, message",
    [
        (np.array(["abc", "def"]), 0, "non-numeric dtype"),
        (_obj([GOOD, np.zeros((4, 2), np.int16)]), 1, r"wrong shape \(4, 2\)"),
        (
            _obj([GOOD, np.array([[1, 2, 0], [np.nan, 1, 1]])]),
            1,
            r"non-finite value \(NaN\) at row 1",
        ),
        (
            _obj([GOOD, np.array([[1, 2, 0], [np.inf, 1, 1]], np.float32)]),
            1,
            r"non-finite value \(inf\)",
        ),
        (_obj([GOOD, np.zeros((0, 3), np.int16)]), 1, r"empty sketch \(0 points\)"),
        (_obj([GOOD, np.array([[1, 2, 1]], np.int16)]), 1, "one-point sketch"),
        (_obj([GOOD, np.array([[1, 2, 0], [3, 4, 2]], np.int16)]), 1, "pen value 2 at row 1"),
        # The first bad sketch in order is named, whichever check finds it.
        (
            _obj([GOOD, GOOD, np.array([[1, 2, 0], [3, 4, 5]], np.int16), np.zeros((4, 2))]),
            2,
            "pen value 5",
        ),
        (
            _obj([GOOD] * 70000 + [np.array([[1, 2, 0], [3, 4, -1]], np.int16)]),
            70000,
            "pen value -1",
        ),
    ],
    ids=[
        "strings",
        "len2",
        "nan",
        "inf",
        "empty",
        "one-point",
        "pen2",
        "first-of-two",
        "second-chunk",
    ],
)
def test_bad_sketches_named_as_load_npz_does(tmp_path, bad, index, message):
    src = str(tmp_path / "bad.npz")
    np.savez(src, train=bad, valid=_obj([GOOD, GOOD]), test=_obj([GOOD, GOOD]))
    with pytest.raises(DataError) as expected:
        load_npz(src)
    cache = str(tmp_path / "cache")
    with pytest.raises(
        DataError, match=rf"bad\.npz.*split 'train', sketch {index}: .*{message}"
    ) as info:
        open_packed_npz(src, cache_dir=cache)
    assert str(info.value) == str(expected.value)
    assert (info.value.split, info.value.index) == ("train", index)
    assert os.listdir(cache) == []  # nothing cached for a bad file


def test_missing_split_and_not_an_npz(tmp_path):
    src = str(tmp_path / "two.npz")
    np.savez(src, train=_obj([GOOD]), valid=_obj([GOOD]))
    with pytest.raises(DataError, match=r"two\.npz.*missing key\(s\) \['test'\]"):
        open_packed_npz(src, cache_dir=str(tmp_path / "cache"))
    text = tmp_path / "text.npz"
    text.write_text("not a zip\n")
    with pytest.raises(DataError, match=r"text\.npz.*not an npz \(zip\) file"):
        open_packed_npz(text, cache_dir=str(tmp_path / "cache"))
    with pytest.raises(DataError, match="file not found"):
        open_packed_npz(tmp_path / "nope.npz", cache_dir=str(tmp_path / "cache"))


# --------------------------------------------------------------------- same numbers as in memory
@needs_sheep
def test_scale_factor_streamed_equals_np_std(monkeypatch):
    splits = open_packed_npz(SHEEP_NPZ)
    sheep = load_npz(SHEEP_NPZ)["train"]
    assert round(scale_factor(splits["train"], 250), 4) == 18.5198
    # Small leaves make the streamed pairwise sum cross many sketch and chunk boundaries.
    for leaf in (128, 1000, packed._LEAF_VALUES):
        monkeypatch.setattr(packed, "_LEAF_VALUES", leaf)
        for max_seq_len in (250, 100, 37):
            assert scale_factor(splits["train"], max_seq_len) == normalizing_scale_factor(
                sheep, max_seq_len
            )


def test_scale_factor_over_several_files_with_drops(tmp_path, monkeypatch):
    monkeypatch.setattr(packed, "_LEAF_VALUES", 256)
    a = _write_npz(tmp_path / "a.npz", seed=3, n=(300, 5, 5), hi=60)
    b = _write_npz(tmp_path / "b.npz", seed=4, n=(200, 5, 5), dtype=np.float64, scale=300)
    ref = load_dataset(tmp_path, ["a.npz", "b.npz"], 40)
    got = load_packed_dataset(tmp_path, ["a.npz", "b.npz"], 40, cache_dir=str(tmp_path / "cache"))
    assert got.scale_factor == ref.scale_factor
    values = np.concatenate(
        [np.clip(s, -1000, 1000).astype(np.float32)[:, :2].reshape(-1) for s in ref.train]
    )
    assert got.scale_factor == float(np.std(values))
    for split in ("train", "valid", "test"):
        assert len(got.split(split)) == len(ref.split(split))
        np.testing.assert_array_equal(got.labels(split), ref.labels(split))
        for x, y in zip(got.split(split), ref.split(split)):
            np.testing.assert_array_equal(x, y)
    assert got.class_names == ["a", "b"] and os.path.isfile(a) and os.path.isfile(b)
    # The factor is remembered for these sources and N_max, and recomputed when the memo is damaged.
    memo = glob.glob(str(tmp_path / "cache" / "scale-*.json"))
    assert len(memo) == 1
    real = packed.scale_factor
    monkeypatch.setattr(packed, "scale_factor", lambda *a: pytest.fail("recomputed"))
    assert (
        load_packed_dataset(
            tmp_path, ["a.npz", "b.npz"], 40, cache_dir=str(tmp_path / "cache")
        ).scale_factor
        == ref.scale_factor
    )
    with open(memo[0], "w") as f:
        f.write('{"inputs": ')
    monkeypatch.setattr(packed, "scale_factor", real)
    assert (
        load_packed_dataset(
            tmp_path, ["a.npz", "b.npz"], 40, cache_dir=str(tmp_path / "cache")
        ).scale_factor
        == ref.scale_factor
    )
    assert (
        load_packed_dataset(
            tmp_path, ["a.npz", "b.npz"], 41, cache_dir=str(tmp_path / "cache")
        ).scale_factor
        == load_dataset(tmp_path, ["a.npz", "b.npz"], 41).scale_factor
    )


@needs_sheep
def test_packed_batches_equal_in_memory_batches_bit_for_bit():
    names = (
        ["aaron_sheep.npz", "omniglot.npz"]
        if os.path.isfile(os.path.join(NPZ, "omniglot.npz"))
        else ["aaron_sheep.npz"]
    )
    ref = load_dataset(NPZ, names, 120)  # drops the longer sketches
    got = load_packed_dataset(NPZ, names, 120)
    assert isinstance(got.train, PackedSplit) and got.scale_factor == ref.scale_factor
    kwargs = dict(random_scale_factor=0.15, augment_stroke_prob=0.1, seed=7)
    old = DataLoader(ref.train, 100, 120, ref.scale_factor, **kwargs)
    new = DataLoader(got.train, 100, 120, got.scale_factor, **kwargs)
    assert len(new) == len(old) and new.num_batches == old.num_batches
    np.testing.assert_array_equal(new.order, old.order)
    for step in (0, 1, 57, 10_000):
        for a, b in zip(new.batch_for_step(step), old.batch_for_step(step)):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
    old_eval = DataLoader(ref.valid, 64, 120, ref.scale_factor).eval_batches(drop_remainder=False)
    new_eval = DataLoader(got.valid, 64, 120, got.scale_factor).eval_batches(drop_remainder=False)
    assert len(new_eval) == len(old_eval)
    for (x1, l1), (x2, l2) in zip(new_eval, old_eval):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(l1, l2)


def test_packed_split_sequence_and_views(tmp_path):
    src = _write_npz(tmp_path / "a.npz", n=(20, 4, 4))
    split = open_packed_npz(src, cache_dir=str(tmp_path / "cache"))["train"]
    ref = load_npz(src)["train"]
    np.testing.assert_array_equal(split[-1], ref[-1])
    assert [len(s) for s in split[3:9:2]] == [len(s) for s in ref[3:9:2]]
    np.testing.assert_array_equal(split.lengths(), [len(s) for s in ref])
    view = split.take([5, 2, 2])
    assert len(view) == 3 and view.lengths().tolist() == [len(ref[5]), len(ref[2]), len(ref[2])]
    np.testing.assert_array_equal(view[0], ref[5])
    assert view.where(0).endswith("split 'train', sketch 5")
    with pytest.raises(IndexError):
        split[20]
