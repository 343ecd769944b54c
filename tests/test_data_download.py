"""download_quickdraw and `train --download`, against a local HTTP server on 127.0.0.1 only."""

import io
import os
import sys

import numpy as np
import pytest

from sketch_rnn_tf.data import DataError, download_quickdraw, load_npz
from sketch_rnn_tf.data.download import quickdraw_base_url
from sketch_rnn_tf.fetch import DownloadError

from _http import LocalServer, Truncated, closed_port_url
from _paths import SHEEP_NPZ, write_tiny_npz

pytestmark = pytest.mark.skipif(
    not os.path.isfile(SHEEP_NPZ), reason="shared real data not available"
)


def _npz_bytes(tmp_path, **kwargs):
    path = tmp_path / "tiny.npz"
    write_tiny_npz(path, **kwargs)
    return path.read_bytes()


@pytest.fixture
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("npz")
    good = _npz_bytes(tmp, max_len=40, counts=(("train", 10), ("valid", 3), ("test", 3)))
    other = _npz_bytes(tmp, max_len=60, counts=(("train", 6), ("valid", 2), ("test", 2)))
    no_test = io.BytesIO()
    np.savez(no_test, train=np.zeros(2), valid=np.zeros(2))
    bad_sketch = io.BytesIO()
    arr = np.empty(1, dtype=object)
    arr[0] = np.zeros((5, 2), np.int16)  # not stroke-3
    np.savez(bad_sketch, train=arr, valid=arr, test=arr)
    return {
        "/q/cat.npz": good,
        "/q/hot%20air%20balloon.npz": other,
        "/q/pig.npz": good[: len(good) // 2],  # half a zip, sent whole
        "/q/dog.npz": no_test.getvalue(),  # a zip without the test split
        "/q/owl.npz": bad_sketch.getvalue(),  # sketches of the wrong shape
        "/q/ant.npz": Truncated(good, len(good) // 2),  # transfer cut off
    }


@pytest.fixture
def server(files, monkeypatch):
    with LocalServer(files) as s:
        monkeypatch.setenv("SKETCH_RNN_TF_QUICKDRAW_URL", s.url + "/q")
        yield s


def test_download_once_with_progress_then_offline(tmp_path, server, files, capsys):
    data_dir = tmp_path / "data"
    paths = download_quickdraw(["cat", "hot air balloon.npz"], data_dir)
    assert paths == [str(data_dir / "cat.npz"), str(data_dir / "hot air balloon.npz")]
    err = capsys.readouterr().err
    assert "cat.npz" in err and "100%" in err
    assert (data_dir / "cat.npz").read_bytes() == files["/q/cat.npz"]
    assert [len(load_npz(paths[0])[k]) for k in ("train", "valid", "test")] == [10, 3, 3]
    assert server.hits["/q/cat.npz"] == 1
    server.stop()
    assert download_quickdraw("cat", data_dir, progress=False) == [str(data_dir / "cat.npz")]
    assert server.hits["/q/cat.npz"] == 1


@pytest.mark.parametrize(
    "category, why",
    [
        ("pig", "not an npz"),
        ("dog", "missing key"),
        ("owl", "wrong shape"),
        ("ant", "cut off"),
        ("bee", "HTTP 404"),
    ],
)
def test_bad_downloads_are_refused_and_not_kept(tmp_path, server, category, why):
    with pytest.raises(DownloadError, match=why) as e:
        download_quickdraw([category], tmp_path, progress=False)
    assert f"place it at {tmp_path / (category + '.npz')}" in str(e.value)
    assert os.listdir(tmp_path) == []


def test_an_existing_file_is_never_lost(tmp_path, server, files):
    (tmp_path / "pig.npz").write_bytes(files["/q/cat.npz"])
    with pytest.raises(DownloadError):
        download_quickdraw("pig", tmp_path, progress=False, force=True)
    assert (tmp_path / "pig.npz").read_bytes() == files["/q/cat.npz"]
    assert os.listdir(tmp_path) == ["pig.npz"]


def test_no_network(tmp_path, monkeypatch):
    monkeypatch.setenv("SKETCH_RNN_TF_QUICKDRAW_URL", closed_port_url())
    with pytest.raises(DownloadError, match="cannot download") as e:
        download_quickdraw("cat", tmp_path, progress=False)
    assert str(tmp_path / "cat.npz") in str(e.value)


def test_names_and_defaults(tmp_path, monkeypatch):
    for bad in ("../cat", "a/b", "", ".hidden"):
        with pytest.raises(DataError, match="not a Quick, Draw! category"):
            download_quickdraw(bad, tmp_path)
    monkeypatch.delenv("SKETCH_RNN_TF_QUICKDRAW_URL", raising=False)
    assert quickdraw_base_url() == "https://storage.googleapis.com/quickdraw_dataset/sketchrnn"


def test_default_data_dir_is_the_cache(tmp_path, monkeypatch, server):
    monkeypatch.setenv("SKETCH_RNN_TF_HOME", str(tmp_path / "home"))
    (path,) = download_quickdraw("cat", progress=False)
    assert path == str(tmp_path / "home" / "quickdraw" / "cat.npz")


def test_data_package_does_not_import_tensorflow():
    import subprocess

    code = (
        "import sys, sketch_rnn_tf.data, sketch_rnn_tf.data.download, sketch_rnn_tf.formats.names\n"
        "assert 'tensorflow' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_train_download_fetches_missing_datasets(tmp_path, server, monkeypatch, capsys):
    import tensorflow as tf

    import sketch_rnn_tf.training
    from sketch_rnn_tf import cli

    calls = []

    class Stopped:  # what train() returns: a trainer whose step is a variable
        step = tf.Variable(0, dtype=tf.int64)

    def fake_train(data_dir, hparams, log_root, **kwargs):
        # Training itself is tested in test_training; here: the data is in place before it starts.
        calls.append(
            (
                data_dir,
                list(hparams.data_set),
                [len(load_npz(os.path.join(data_dir, n))["train"]) for n in hparams.data_set],
            )
        )
        return Stopped()

    monkeypatch.setattr(sketch_rnn_tf.training, "train", fake_train)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    write_tiny_npz(data_dir / "mine.npz", counts=(("train", 5), ("valid", 2), ("test", 2)))
    args = [
        "train",
        "--data_dir",
        str(data_dir),
        "--dataset",
        "mine.npz,cat.npz",
        "--log_root",
        str(tmp_path / "run"),
        "--no_progress",
    ]
    assert cli.main(args) == 2  # without --download: a clear error, no download
    assert "cat.npz" in capsys.readouterr().err and server.hits["/q/cat.npz"] == 0
    assert cli.main(args + ["--download"]) == 0
    assert calls == [(str(data_dir), ["mine.npz", "cat.npz"], [5, 10])]
    assert server.hits["/q/cat.npz"] == 1 and server.hits["/q/mine.npz"] == 0
    assert cli.main(args + ["--download"]) == 0  # present now: nothing fetched again
    assert server.hits["/q/cat.npz"] == 1
