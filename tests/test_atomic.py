"""The one module that writes files and directories: whole or not at all."""

import os

import pytest

from sketch_rnn_tf.atomic import staged_dir, write_text
from sketch_rnn_tf.errors import SketchRNNError


def test_write_text_replaces_and_failure_keeps_old_file(tmp_path, monkeypatch):
    out = tmp_path / "a.json"
    assert write_text(out, "one") == str(out)
    write_text(out, "two")
    assert out.read_text() == "two"

    def failing_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(SketchRNNError, match="cannot write JSON .*No space left"):
        write_text(out, "three", what="JSON")
    assert out.read_text() == "two"
    assert os.listdir(tmp_path) == ["a.json"]


def test_write_text_bad_paths_raise_the_given_error(tmp_path):
    class MyError(SketchRNNError):
        pass

    with pytest.raises(MyError, match="is a directory"):
        write_text(tmp_path, "x", error=MyError)
    with pytest.raises(MyError, match="does not exist"):
        write_text(tmp_path / "no" / "x.txt", "x", error=MyError)
    with pytest.raises(MyError, match="str or os.PathLike"):
        write_text(3, "x", error=MyError)


def test_staged_dir_swaps_in_whole_or_keeps_the_old_one(tmp_path):
    target = tmp_path / "model"
    with staged_dir(target) as d:
        (open(os.path.join(d, "w"), "w")).write("new")
    assert (target / "w").read_text() == "new"
    with pytest.raises(RuntimeError):
        with staged_dir(target) as d:
            (open(os.path.join(d, "w"), "w")).write("half")
            raise RuntimeError("crash while writing")
    assert (target / "w").read_text() == "new"
    assert sorted(os.listdir(tmp_path)) == ["model"]
