"""Loading, validating and normalising .npz data sets (sketch_rnn_tf.data.npz)."""

import logging
import os

import numpy as np
import pytest

from sketch_rnn_tf.data import (
    DataError,
    load_dataset,
    load_npz,
    normalize,
    normalizing_scale_factor,
    validate_sketch,
)

from _paths import SHARED as SHARED_ROOT

NPZ_DIR = os.path.join(SHARED_ROOT, "data/npz")
SHEEP = os.path.join(NPZ_DIR, "aaron_sheep.npz")

pytestmark = pytest.mark.skipif(not os.path.isfile(SHEEP), reason="real data not available")


@pytest.fixture(scope="module")
def sheep():
    return load_npz(SHEEP)


def _obj(list_of_arrays):
    out = np.empty(len(list_of_arrays), dtype=object)
    for i, a in enumerate(list_of_arrays):
        out[i] = a
    return out


GOOD = np.array([[1, 2, 0], [3, 4, 0], [5, 6, 1]], dtype=np.int16)


def _write(tmp_path, name="bad.npz", **splits):
    data = {k: _obj([GOOD, GOOD]) for k in ("train", "valid", "test")}
    data.update(splits)
    data = {k: v for k, v in data.items() if v is not None}
    path = tmp_path / name
    np.savez(path, **data)
    return str(path)


def test_load_real_file(sheep):
    assert {k: len(v) for k, v in sheep.items()} == {"train": 7400, "valid": 300, "test": 300}
    assert all(s.dtype == np.int16 and s.shape[1] == 3 for s in sheep["train"])
    assert [len(s) for s in sheep["train"][:1]] and max(len(s) for s in sheep["train"]) == 250


def test_reference_scale_factor_aaron_sheep(sheep):
    # Magenta's notebook prints "normalizing_scale_factor 18.5198" for aaron_sheep.
    assert round(normalizing_scale_factor(sheep["train"], 250), 4) == 18.5198


def test_scale_factor_is_population_std_over_kept_sketches():
    a = np.array([[1, 2, 0], [3, -4, 1]], np.int16)
    b = np.array([[10, 0, 0], [0, 0, 0], [0, 10, 1]], np.int16)
    assert normalizing_scale_factor([a, b], 2) == pytest.approx(np.std([1, 2, 3, -4]), rel=1e-6)
    assert normalizing_scale_factor([a, b], 3) == pytest.approx(
        np.std([1, 2, 3, -4, 10, 0, 0, 0, 0, 10]), rel=1e-6
    )


def test_normalize_returns_new_float32(sheep):
    src = sheep["valid"][:3]
    out = normalize(src, 2.0)
    assert all(o.dtype == np.float32 for o in out)
    np.testing.assert_allclose(out[0][:, :2], src[0][:, :2] / 2.0)
    np.testing.assert_array_equal(out[0][:, 2], src[0][:, 2])
    assert src[0].dtype == np.int16  # input untouched


def test_multi_file_concatenation_and_labels():
    ds = load_dataset(NPZ_DIR, ["aaron_sheep.npz", "omniglot.npz"], max_seq_len=250)
    assert ds.class_names == ["aaron_sheep", "omniglot"]
    assert (len(ds.train), len(ds.valid), len(ds.test)) == (37400, 1300, 1300)
    assert ds.train_labels.tolist() == [0] * 7400 + [1] * 30000
    assert ds.valid_labels.tolist() == [0] * 300 + [1] * 1000
    assert ds.test_labels.tolist() == [0] * 300 + [1] * 1000
    single = load_npz(os.path.join(NPZ_DIR, "omniglot.npz"))
    np.testing.assert_array_equal(ds.train[7400], single["train"][0])
    assert ds.scale_factor == pytest.approx(normalizing_scale_factor(ds.train, 250))
    assert ds.split("valid") is ds.valid and ds.labels("test") is ds.test_labels


def test_max_seq_len_drops_with_logged_count(sheep, caplog):
    caplog.set_level(logging.INFO)
    ds = load_dataset(NPZ_DIR, ["aaron_sheep.npz"], max_seq_len=100)
    expect = {k: sum(len(s) <= 100 for s in sheep[k]) for k in sheep}
    assert (len(ds.train), len(ds.valid), len(ds.test)) == (
        expect["train"],
        expect["valid"],
        expect["test"],
    )
    assert all(len(s) <= 100 for s in ds.train)
    dropped = 7400 - expect["train"]
    assert dropped > 0
    assert f"dropped {dropped} of 7400 sketches longer than max_seq_len=100" in caplog.text
    assert ds.scale_factor == pytest.approx(normalizing_scale_factor(sheep["train"], 100))


def test_all_dropped_is_an_error(tmp_path):
    long = np.zeros((30, 3), np.int16)
    path = _write(tmp_path, "long.npz", valid=_obj([long, long]))
    with pytest.raises(
        DataError, match=r"long\.npz.*split 'valid'.*all 2 sketches dropped.*max_seq_len=10"
    ):
        load_dataset(tmp_path, ["long.npz"], max_seq_len=10)
    assert os.path.basename(path) == "long.npz"


def test_not_an_npz(tmp_path):
    path = tmp_path / "text.npz"
    path.write_text("this is not a zip file\n")
    with pytest.raises(DataError, match=r"text\.npz.*not an npz \(zip\) file"):
        load_npz(path)
    with pytest.raises(DataError, match="file not found"):
        load_npz(tmp_path / "nope.npz")


def test_missing_key(tmp_path):
    path = _write(tmp_path, test=None)
    with pytest.raises(DataError, match=r"bad\.npz.*missing key\(s\) \['test'\]"):
        load_npz(path)


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.array(["abc", "def"]), "non-numeric dtype"),
        (_obj([GOOD, np.array([["a", "b", "c"], ["d", "e", "f"]])]), "non-numeric dtype"),
        (_obj([GOOD, np.zeros((4, 2), np.int16)]), r"wrong shape \(4, 2\)"),
        (_obj([GOOD, np.array([[1, 2, 0], [np.nan, 1, 1]])]), r"non-finite value \(NaN\) at row 1"),
        (
            _obj([GOOD, np.array([[1, 2, 0], [np.inf, 1, 1]], np.float32)]),
            r"non-finite value \(inf\)",
        ),
        (_obj([GOOD, np.zeros((0, 3), np.int16)]), r"empty sketch \(0 points\)"),
        (_obj([GOOD, np.array([[1, 2, 1]], np.int16)]), "one-point sketch"),
        (_obj([GOOD, np.array([[1, 2, 0], [3, 4, 2]], np.int16)]), "pen value 2 at row 1"),
    ],
    ids=["strings", "object-strings", "len2", "nan", "inf", "empty", "one-point", "pen2"],
)
def test_bad_sketches(tmp_path, bad, message):
    path = _write(tmp_path, train=bad)
    index = 0 if bad.dtype.kind == "U" else 1
    with pytest.raises(
        DataError, match=rf"bad\.npz.*split 'train', sketch {index}: .*{message}"
    ) as info:
        load_npz(path)
    assert info.value.split == "train" and info.value.index == index
    assert isinstance(info.value, ValueError)


def test_float_object_arrays_accepted(tmp_path):
    f = np.array([[1.5, 2.0, 0.0], [3.0, 4.0, 1.0]])
    path = _write(tmp_path, train=_obj([f, GOOD.astype(np.float64)]))
    data = load_npz(path)
    assert data["train"][0].dtype == np.float32
    np.testing.assert_array_equal(data["train"][0], f)
    assert data["valid"][0].dtype == np.int16


def test_validate_sketch_where():
    with pytest.raises(DataError, match=r"^my place: pen value"):
        validate_sketch(np.array([[0, 0, 3], [0, 0, 1]]), "my place")
    with pytest.raises(DataError, match=r"file 'f\.npz', split 'test', sketch 7: one-point"):
        validate_sketch(np.zeros((1, 3)), ("f.npz", "test", 7))
    assert validate_sketch([[1, 2, 0], [1, 1, 1]]).shape == (2, 3)
