"""`prepare`: real Quick, Draw! .ndjson records -> a Magenta .npz that `train` reads."""

import collections
import json
import os

import numpy as np
import pytest

from sketch_rnn_tf import cli
from sketch_rnn_tf.data import (
    DataError,
    load_dataset,
    load_ndjson_raw,
    load_ndjson_simplified,
    load_npz,
    prepare_ndjson,
)

from _paths import DATA

NDJSON = os.path.join(DATA, "quickdraw_ndjson")
RAW = [os.path.join(NDJSON, "raw", f"{c}.ndjson") for c in ("cat", "owl", "sheep")]
SIMPLIFIED = [os.path.join(NDJSON, "simplified", f"{c}.ndjson") for c in ("ant", "pig")]
pytestmark = pytest.mark.skipif(not os.path.isdir(NDJSON), reason="shared real data not available")


def _key(sketch):
    return np.asarray(sketch, np.int16).tobytes()


def _expected():
    """Every record's stroke-3.

    Computed with the data module's own readers (raw ones simplified).
    """
    out = []
    for path in RAW:
        out += load_ndjson_raw(path)
    for path in SIMPLIFIED:
        out += load_ndjson_simplified(path)
    return out


def _load(path):
    data = np.load(path, allow_pickle=True, encoding="latin1")
    return {k: list(data[k]) for k in ("train", "valid", "test")}


def test_every_record_lands_in_exactly_one_split(tmp_path):
    out = tmp_path / "mine.npz"
    summary = prepare_ndjson(RAW + SIMPLIFIED, out, split="0.6,0.2,0.2", seed=3)
    expected = _expected()
    n = len(expected)
    assert n == 68 + 50
    assert summary == {"train": n - 24 - 24, "valid": 24, "test": 24, "skipped": 0, "dropped": 0}
    splits = _load(out)
    assert [len(splits[k]) for k in ("train", "valid", "test")] == [70, 24, 24]
    got = collections.Counter(_key(s) for k in splits for s in splits[k])
    assert got == collections.Counter(_key(s) for s in expected)
    for k in splits:
        assert all(s.dtype == np.int16 and s.ndim == 2 and s.shape[1] == 3 for s in splits[k])
    # The file is what `train` reads.
    dataset = load_dataset(tmp_path, ["mine.npz"], max_seq_len=250)
    assert len(dataset.train) == 70 and dataset.scale_factor > 0


def test_simplified_records_are_taken_as_they_are(tmp_path):
    prepare_ndjson(SIMPLIFIED[0], tmp_path / "ant.npz", seed=0)
    splits = _load(tmp_path / "ant.npz")
    with open(SIMPLIFIED[0]) as f:
        first = json.loads(f.readline())["drawing"]
    # Rebuild the first record's stroke-3 by hand: offsets of consecutive points, pen 1 at stroke
    # ends.
    points = [
        (x, y, int(i == len(s[0]) - 1)) for s in first for i, (x, y) in enumerate(zip(*s[:2]))
    ]
    absolute = np.array(points, np.int64)
    hand = absolute.copy()
    hand[1:, :2] = absolute[1:, :2] - absolute[:-1, :2]
    assert any(np.array_equal(s, hand) for k in splits for s in splits[k])


def test_seed_decides_the_split_and_is_reproducible(tmp_path):
    prepare_ndjson(RAW, tmp_path / "a.npz", seed=1)
    prepare_ndjson(RAW, tmp_path / "b.npz", seed=1)
    prepare_ndjson(RAW, tmp_path / "c.npz", seed=2)
    a, b, c = (_load(tmp_path / f"{x}.npz") for x in "abc")
    for k in a:
        assert [_key(s) for s in a[k]] == [_key(s) for s in b[k]]
    assert [_key(s) for s in a["test"]] != [_key(s) for s in c["test"]]
    assert [len(a[k]) for k in a] == [54, 7, 7]  # 68 records, default 0.8/0.1/0.1


def test_max_seq_len_drops_longer_sketches(tmp_path):
    lengths = sorted(len(s) for s in _expected())
    limit = lengths[len(lengths) // 2]
    longer = sum(1 for x in lengths if x > limit)
    summary = prepare_ndjson(RAW + SIMPLIFIED, tmp_path / "m.npz", max_seq_len=limit, seed=0)
    assert summary["dropped"] == longer > 0
    splits = load_npz(tmp_path / "m.npz")
    kept = [s for k in splits for s in splits[k]]
    assert len(kept) == len(lengths) - longer and max(len(s) for s in kept) <= limit


def _write(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


GOOD = json.dumps({"drawing": [[[0, 10, 20], [0, 5, 0]], [[3, 4], [9, 9]]]})


@pytest.mark.parametrize(
    "bad, why",
    [
        ("{not json", "invalid JSON"),
        (json.dumps({"word": "cat"}), "no 'drawing' list"),
        (json.dumps({"drawing": []}), "no strokes"),
        (json.dumps({"drawing": [[[0, 1, 2], [0, 1]]]}), "differ in length"),
        (json.dumps({"drawing": [[[0, 1], [0, "a"]]]}), "not a list of finite numbers"),
        (json.dumps({"drawing": [[[0.5, 1], [0, 1]]]}), "must be integers"),
        (json.dumps({"drawing": [[[0, 1]]]}), "not \\[\\[x...\\], \\[y...\\]\\]"),
        (json.dumps({"drawing": [[[], []]]}), "stroke 0 is empty"),
    ],
)
def test_a_bad_record_names_file_and_line(tmp_path, bad, why):
    path = _write(tmp_path / "mine.ndjson", [GOOD, "", bad, GOOD])
    with pytest.raises(DataError, match=why) as e:
        prepare_ndjson(path, tmp_path / "out.npz")
    assert str(path) in str(e.value) and "line 3:" in str(e.value)
    assert not (tmp_path / "out.npz").exists()


def test_one_point_drawings_are_skipped(tmp_path):
    tap = json.dumps({"drawing": [[[7], [7]]]})
    path = _write(tmp_path / "taps.ndjson", [GOOD, tap, GOOD, GOOD])
    summary = prepare_ndjson(path, tmp_path / "out.npz", split=(1 / 3, 1 / 3, 1 / 3))
    assert summary == {"train": 1, "valid": 1, "test": 1, "skipped": 1, "dropped": 0}


@pytest.mark.parametrize("split", ["0.8,0.1", "0.8,0.3,0.1", "a,b,c", "1.2,-0.1,-0.1", "nan,0,1"])
def test_bad_split(tmp_path, split):
    with pytest.raises(DataError, match="split"):
        prepare_ndjson(RAW[0], tmp_path / "out.npz", split=split)


def test_too_few_records_for_the_splits(tmp_path):
    path = _write(tmp_path / "two.ndjson", [GOOD, GOOD])
    with pytest.raises(DataError, match="no sketch"):
        prepare_ndjson(path, tmp_path / "out.npz")
    assert not (tmp_path / "out.npz").exists()


def test_prepare_command(tmp_path, capsys):
    out = tmp_path / "data.npz"
    assert (
        cli.main(
            [
                "prepare",
                "--ndjson",
                ",".join(RAW),
                "--out",
                str(out),
                "--split",
                "0.5,0.25,0.25",
                "--seed",
                "4",
                "--max_seq_len",
                "1000",
            ]
        )
        == 0
    )
    assert "train/valid/test 34/17/17" in capsys.readouterr().out
    assert [len(v) for v in load_npz(out).values()] == [34, 17, 17]
    assert (
        cli.main(["prepare", "--ndjson", str(tmp_path / "missing.ndjson"), "--out", str(out)]) == 2
    )
    err = capsys.readouterr().err
    assert "missing.ndjson" in err and "cannot open" in err
    assert [len(v) for v in load_npz(out).values()] == [34, 17, 17]  # the earlier output is intact


def test_prepare_svg_command(tmp_path, capsys):
    from sketch_rnn_tf import cli
    from sketch_rnn_tf.data import load_npz

    from _paths import DATA

    folder = os.path.join(DATA, "svg_feather")
    out = tmp_path / "feather.npz"
    assert cli.main(["prepare", "--svg", folder, "--out", str(out), "--seed", "3"]) == 0
    splits = load_npz(str(out))
    assert sum(len(splits[k]) for k in ("train", "valid", "test")) == 287
    assert "wrote" in capsys.readouterr().out
    rc = cli.main(["prepare", "--svg", str(tmp_path / "none"), "--out", str(tmp_path / "x.npz")])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith(f"error: argument --svg {tmp_path / 'none'}: no such"), err
    rc = cli.main(["prepare", "--svg", folder, "--ndjson", "a.ndjson", "--out", str(out)])
    assert rc == 2 and "not allowed with argument" in capsys.readouterr().err
    assert not (tmp_path / "x.npz").exists()
