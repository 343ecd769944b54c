"""Bad input through the public entry points.

Every problem ends in one clear line naming the file or the setting, exit code 2, and no traceback.
"""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from sketch_rnn_tf.cli import main
from sketch_rnn_tf.formats import save_model
from sketch_rnn_tf.hparams import HParams
from sketch_rnn_tf.model import SketchRNN

from _paths import SHARED, SHEEP_NPZ

SHEEP = SHEEP_NPZ
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = "enc_rnn_size=8,dec_rnn_size=16,z_size=4,num_mixture=3,batch_size=8,max_seq_len=50"

pytestmark = pytest.mark.skipif(not os.path.isfile(SHEEP), reason="real data not available")


def _obj(sketches):
    arr = np.empty(len(sketches), dtype=object)
    arr[:] = sketches
    return arr


def _short_sheep(n):
    data = np.load(SHEEP, allow_pickle=True, encoding="latin1")
    return [s for s in data["train"] if len(s) <= 50][:n]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    good = _short_sheep(40)
    np.savez(d / "tiny.npz", train=_obj(good[:24]), valid=_obj(good[24:32]), test=_obj(good[32:40]))
    (d / "text.npz").write_text("this is not an npz file\n")
    np.savez(d / "nokeys.npz", train=_obj(good[:24]))
    nan = [g.astype(np.float32) for g in good[:24]]
    nan[3][2, 1] = np.nan
    np.savez(d / "nan.npz", train=_obj(nan), valid=_obj(good[24:32]), test=_obj(good[32:40]))
    pen = [g.copy() for g in good[:24]]
    pen[5][1, 2] = 2
    np.savez(d / "pen2.npz", train=_obj(pen), valid=_obj(good[24:32]), test=_obj(good[32:40]))
    return str(d)


def _cli(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out
    return rc, err


def _train(capsys, data_dir, log_root, dataset="tiny.npz", hparams=TINY):
    return _cli(
        capsys,
        "train",
        "--data_dir",
        data_dir,
        "--dataset",
        dataset,
        "--hparams",
        hparams,
        "--log_root",
        str(log_root),
        "--num_steps",
        "1",
        "--no_progress",
    )


# ------------------------------------------------------------------ data
@pytest.mark.parametrize(
    "dataset, expected",
    [
        ("text.npz", ["text.npz", "not an npz (zip) file"]),
        ("nokeys.npz", ["nokeys.npz", "missing key(s) ['valid', 'test']"]),
        (
            "nan.npz",
            ["nan.npz", "split 'train', sketch 3", "non-finite value (NaN) at row 2, column 1"],
        ),
        (
            "pen2.npz",
            [
                "pen2.npz",
                "split 'train', sketch 5",
                "pen value 2 at row 1",
                "pen_lifted must be 0 or 1",
            ],
        ),
        ("absent.npz", ["absent.npz", "file not found"]),
    ],
)
def test_bad_npz(capsys, data_dir, tmp_path, dataset, expected):
    rc, err = _train(capsys, data_dir, tmp_path / "log", dataset=dataset)
    assert rc == 2
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    for text in expected:
        assert text in err, err


def test_all_sketches_too_long(capsys, data_dir, tmp_path):
    rc, err = _train(
        capsys, data_dir, tmp_path / "log", hparams=TINY.replace("max_seq_len=50", "max_seq_len=4")
    )
    assert rc == 2
    assert "tiny.npz" in err and "all 24 sketches dropped" in err and "max_seq_len=4" in err, err


# ------------------------------------------------------------------ hparams
@pytest.mark.parametrize(
    "override, expected",
    [
        ("no_such_thing=3", "unknown hparam 'no_such_thing'"),
        ("z_size=abc", "hparam z_size cannot be read from 'abc'"),
        ("z_size=0", "z_size must be >= 1, got 0"),
        (
            "recurrent_dropout_prob=1.5",
            "recurrent_dropout_prob is a keep probability in (0, 1], got 1.5",
        ),
        ("use_recurrent_dropout=maybe", "use_recurrent_dropout is a boolean"),
        ("dec_model=gru", "dec_model='gru' is not a cell type"),
        ("z_size", "'z_size' is not of the form name=value"),
    ],
)
def test_bad_hparams(capsys, data_dir, tmp_path, override, expected):
    rc, err = _train(capsys, data_dir, tmp_path / "log", hparams=f"{TINY},{override}")
    assert rc == 2 and expected in err, err


@pytest.mark.parametrize(
    "text, expected",
    [
        ("{not json", "not valid JSON"),
        ('["enc_rnn_size", "dec_rnn_size"]', "holds a list, not a dict of hparams"),
        ('{"z_size": 4, "bogus": 1}', "unknown hparams: ['bogus']"),
    ],
)
def test_broken_model_config_in_log_root(capsys, data_dir, tmp_path, text, expected):
    log_root = tmp_path / "log"
    log_root.mkdir()
    (log_root / "model_config.json").write_text(text)
    rc, err = _train(capsys, data_dir, log_root)
    assert rc == 2 and "model_config.json" in err and expected in err, err


def test_log_root_of_another_config(capsys, data_dir, tmp_path):
    log_root = tmp_path / "log"
    log_root.mkdir()
    HParams().parse(TINY).replace(z_size=7).to_json(str(log_root / "model_config.json"))
    rc, err = _train(capsys, data_dir, log_root)
    assert rc == 2
    assert "holds a run of another model config" in err and "z_size: 7 there, 4 here" in err, err
    # the other run's config is left as it was
    assert HParams.from_json(str(log_root / "model_config.json")).z_size == 7


# ------------------------------------------------------------------ sample
def test_sample_to_unwritable_path(capsys, tmp_path):
    model_dir = save_model(SketchRNN(HParams().parse(TINY)), tmp_path / "model")
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    out = blocker / "sketches.svg"  # a path under a regular file cannot be created, even by root
    rc, err = _cli(
        capsys, "sample", "--checkpoint", model_dir, "--num", "2", "--seed", "1", "--out", str(out)
    )
    assert rc == 2 and str(out) in err, err
    assert not out.exists()


def test_sample_from_missing_checkpoint(capsys, tmp_path):
    rc, err = _cli(
        capsys,
        "sample",
        "--checkpoint",
        str(tmp_path / "nowhere"),
        "--out",
        str(tmp_path / "x.svg"),
    )
    assert rc == 2 and "nowhere" in err, err


# ------------------------------------------------------------------ checkpoints
def _corrupt(path, how):
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write({"empty": b"", "truncated": data[:10], "garbage": bytes(reversed(data))}[how])


MAGENTA_DIR = os.path.join(SHARED, "data", "magenta_graph", "uncond_lstm_hyper")


@pytest.mark.parametrize("how", ["empty", "truncated", "garbage"])
@pytest.mark.parametrize("kind", ["save_model", "magenta"])
def test_broken_checkpoint_data_file(capsys, tmp_path, kind, how):
    """An empty, truncated or corrupt .data file: ModelLoadError naming it, one CLI line, exit 2.

    It was `IndexError: Read less bytes than requested`.
    """
    from sketch_rnn_tf import ModelLoadError, load_model

    if kind == "save_model":
        model_dir = save_model(SketchRNN(HParams().parse(TINY)), tmp_path / "model")
    else:
        if not os.path.isdir(MAGENTA_DIR):
            pytest.skip("Magenta checkpoint not available")
        model_dir = str(tmp_path / "magenta")
        shutil.copytree(MAGENTA_DIR, model_dir)
    data = [f for f in os.listdir(model_dir) if ".data-" in f]
    _corrupt(os.path.join(model_dir, data[0]), how)
    with pytest.raises(
        ModelLoadError,
        match=r"tensor data \(\.data-\* file\) is empty, "
        r"truncated or corrupt",
    ):
        load_model(model_dir, scale_factor=10.0)
    rc, err = _cli(capsys, "info", "--checkpoint", model_dir, "--scale_factor", "10")
    assert rc == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    assert "truncated or corrupt" in err


# ------------------------------------------------------------------ sampling arguments
@pytest.mark.parametrize("max_len", [0, -1, -250])
def test_sample_max_len_not_positive(max_len):
    """Was a graph InvalidArgumentError; now a SamplerError before any graph runs."""
    from sketch_rnn_tf.sampling import SamplerError

    model = SketchRNN(HParams().parse(TINY))
    with pytest.raises(
        SamplerError,
        match=rf"sampler: max_len must be an integer >= 1.*got {max_len}",
    ):
        model.sample(2, max_len=max_len)


def test_cli_sample_bad_arguments(capsys, tmp_path):
    model_dir = save_model(SketchRNN(HParams().parse(TINY)), tmp_path / "model")
    for args, expected in [
        (["--num", "0"], "argument --num: must be an integer >= 1, got 0"),
        (["--temperature", "nan"], "argument --temperature nan: must be a positive number"),
        (["--temperature", "hot"], "argument --temperature: must be a number, got 'hot'"),
        (["--ncols", "0"], "argument --ncols: must be an integer >= 1, got 0"),
        (["--seed", "-3"], "argument --seed: must be an integer >= 0, got -3"),
        (["--max_len", "0"], "argument --max_len: must be an integer >= 1, got 0"),
        (["--temperature_mode", "x"], "argument --temperature_mode: invalid choice"),
    ]:
        rc, err = _cli(
            capsys, "sample", "--checkpoint", model_dir, "--out", str(tmp_path / "x.svg"), *args
        )
        assert rc == 2 and err.startswith("error: ") and expected in err, err
    assert not (tmp_path / "x.svg").exists()


def test_train_log_root_is_a_file(capsys, data_dir, tmp_path):
    blocker = tmp_path / "log"
    blocker.write_text("not a directory")
    rc, err = _train(capsys, data_dir, blocker)
    assert rc == 2 and "cannot use log_root" in err and str(blocker) in err, err
    assert blocker.read_text() == "not a directory"


# ------------------------------------------------------------------ the real process
def test_process_exit_code_and_stderr(data_dir, tmp_path):
    env = dict(
        os.environ,
        PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""),
        TF_CPP_MIN_LOG_LEVEL="2",
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sketch_rnn_tf",
            "train",
            "--data_dir",
            data_dir,
            "--dataset",
            "pen2.npz",
            "--hparams",
            TINY,
            "--log_root",
            str(tmp_path / "log"),
            "--no_progress",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=REPO,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "error: file " in proc.stderr and "pen2.npz" in proc.stderr
    assert "pen value 2 at row 1" in proc.stderr
