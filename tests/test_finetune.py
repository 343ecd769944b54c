"""Fine-tuning (`train --init_from`, `build_trainer(init_from=...)`, training/source.py).

The run's model at step 0 is the source model, whatever format it came in; a conflicting
architecture hparam is refused naming both values; the run records where it started; a run with a
checkpoint resumes instead of restarting; a short fine-tune lowers the loss.
"""

import json
import os

import numpy as np
import pytest
from _tiny import tiny_model

from sketch_rnn_tf import HParams, cli, load_model, save_model
from sketch_rnn_tf.formats.magenta_js import write_js
from sketch_rnn_tf.training import build_trainer, read_metrics
from sketch_rnn_tf.training.source import FINE_TUNE_DEFAULTS, INIT_FILE
from sketch_rnn_tf.training.step import TrainingError

from _http import LocalServer
from _paths import DATA, write_tiny_npz

GRAPH = os.path.join(DATA, "magenta_graph", "cond_lstm_layer_norm")  # a real Magenta TF1 dir
TINY = dict(max_seq_len=60, hyper_num_units=8)  # tiny_model's overrides for the sources
RUN = HParams(data_set=["tiny.npz"], batch_size=4, max_seq_len=50, save_every=2)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    write_tiny_npz(str(root / "tiny.npz"))
    return str(root)


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """{kind: (what --init_from takes, the source as load_model reads it)} of every format."""
    root = tmp_path_factory.mktemp("sources")
    vae = tiny_model(True, scale_factor=7.0, seed=1, dec_model="hyper", **TINY)
    gen = tiny_model(False, scale_factor=9.0, seed=2, **TINY)
    paths = {
        "sketch_rnn_tf": save_model(vae, str(root / "dir")),
        "magenta_tf1": GRAPH,
        "magenta_js": write_js(gen, str(root / "gen.gen.json"), name="gen"),
    }
    keras_path = str(root / "m.keras")
    gen.save(keras_path)
    paths["keras"] = keras_path
    return paths


def _same_losses(source, model, trainer):
    x, lengths = trainer.train_data.get_batch(0)
    z = None
    if source.conditional:
        z = source.encoder(x[:, 1:], lengths, training=False)[0]
    a = source.compute_losses(x, lengths, training=False, z=z)
    b = model.compute_losses(x, lengths, training=False, z=z)
    for key in ("r_cost", "offset", "pen"):
        assert float(a[key]) == float(b[key]), key


@pytest.mark.parametrize("kind", ["sketch_rnn_tf", "magenta_tf1", "magenta_js", "keras"])
def test_step_zero_is_the_source(kind, sources, data_dir, tmp_path):
    path = sources[kind]
    source = load_model(path, scale_factor=1.0) if kind == "magenta_tf1" else load_model(path)
    trainer, dataset = build_trainer(data_dir, RUN, str(tmp_path / "run"), init_from=path)
    model = trainer.model
    for k in HParams.ARCHITECTURE:  # the architecture is the source's
        assert getattr(model.hparams, k) == getattr(source.hparams, k), k
    assert model.hparams.max_seq_len == RUN.max_seq_len  # the data's, not the source's
    assert model.scale_factor == pytest.approx(dataset.scale_factor)  # and its scale factor
    for k, v in FINE_TUNE_DEFAULTS.items():
        assert getattr(model.hparams, k) == v, k
    for name, v in source.magenta_variables().items():
        np.testing.assert_array_equal(model.magenta_variables()[name].numpy(), v.numpy())
    _same_losses(source, model, trainer)
    # Where it started, recorded in the run, its metrics and the saved model's config.
    record = json.load(open(tmp_path / "run" / INIT_FILE))
    assert record["kind"] == kind and record["source"] == path
    assert set(record["step0"]) >= {"valid_cost", "test_cost", "test_point_nll"}
    init = [r for r in read_metrics(str(tmp_path / "run")) if r["split"] == "init"]
    assert init and init[0]["step"] == 0
    assert init[0]["test_point_nll"] == pytest.approx(record["step0"]["test_point_nll"])
    if kind == "magenta_tf1":
        assert record["scale_factor"] is None  # Magenta stores none, and no data was at hand


def test_a_catalogue_name_is_a_source(data_dir, tmp_path, monkeypatch):
    with open(os.path.join(DATA, "magenta_js", "ant.gen.json"), "rb") as f:
        routes = {"/m/ant.gen.json": f.read()}
    with LocalServer(routes) as server:
        monkeypatch.setenv("SKETCH_RNN_TF_HOME", str(tmp_path / "cache"))
        monkeypatch.setenv("SKETCH_RNN_TF_MAGENTA_URL", server.url + "/m")
        trainer, _ = build_trainer(
            data_dir, RUN, str(tmp_path / "run"), init_from="magenta/ant.gen", progress=False
        )
    record = json.load(open(tmp_path / "run" / INIT_FILE))
    assert record["kind"] == "magenta_js" and record["source"] == "magenta/ant.gen"
    assert trainer.model.hparams.dec_rnn_size == 512 and not trainer.model.conditional


def test_a_conflicting_architecture_hparam_is_refused(sources, data_dir, tmp_path, capsys):
    with pytest.raises(
        TrainingError, match="dec_rnn_size=32 given, the source has dec_rnn_size=16"
    ):
        build_trainer(
            data_dir, RUN.replace(dec_rnn_size=32), None, init_from=sources["sketch_rnn_tf"]
        )
    argv = ["train", "--data_dir", data_dir, "--dataset", "tiny.npz", "--num_steps", "1"]
    argv += ["--log_root", str(tmp_path / "cli"), "--init_from", sources["magenta_js"]]
    rc = cli.main(argv + ["--hparams", "num_mixture=5,batch_size=4"])
    err = capsys.readouterr().err
    assert rc == 2 and "num_mixture=5 given, the source has num_mixture=3" in err, err
    assert len(err.strip().splitlines()) == 1
    rc = cli.main(argv[:-1] + [str(tmp_path / "nothing")])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: --init_from") and "no such file" in err, err


def test_the_command_line_fine_tunes_and_resumes(sources, data_dir, tmp_path, capsys):
    log_root = str(tmp_path / "run")
    argv = ["train", "--data_dir", data_dir, "--dataset", "tiny.npz", "--log_root", log_root]
    argv += ["--init_from", sources["magenta_js"], "--no_progress"]
    argv += ["--hparams", "batch_size=4,save_every=2,max_seq_len=50,learning_rate=0.001"]
    assert cli.main(argv + ["--num_steps", "2"]) == 0
    first = json.load(open(os.path.join(log_root, INIT_FILE)))
    saved = json.load(open(os.path.join(log_root, "best", "sketch_rnn_config.json")))
    assert saved["init_from"]["source"] == sources["magenta_js"]
    assert saved["hparams"]["learning_rate"] == 0.001  # given, so not the fine-tuning default
    assert cli.main(argv + ["--num_steps", "4"]) == 0  # resumes at step 2: the source is not read
    assert json.load(open(os.path.join(log_root, INIT_FILE))) == first
    steps = [r["step"] for r in read_metrics(log_root) if r["split"] == "train"]
    assert steps == [2, 4], steps
    assert [r["step"] for r in read_metrics(log_root) if r["split"] == "init"] == [0]


def test_a_short_fine_tune_lowers_the_loss(data_dir, tmp_path):
    hp = RUN.replace(learning_rate=1e-3)
    trainer, _ = build_trainer(
        data_dir,
        hp,
        str(tmp_path / "run"),
        init_from=GRAPH,
        progress=False,
        explicit=["learning_rate"],  # 1e-3, Magenta's default, rather than the fine-tuning one
    )
    start = trainer.evaluate(trainer.train_data)["r_cost"]
    trainer.train(num_steps=30, log_every=10)
    assert trainer.evaluate(trainer.train_data)["r_cost"] < start - 0.05
