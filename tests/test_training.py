"""Training: Magenta's schedules, Adam and clipping, and the loss falling on real data."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from sketch_rnn_tf.hparams import HParams
from sketch_rnn_tf.training import build_trainer, read_metrics, schedules
from sketch_rnn_tf.training.trainer import make_optimizer

from _paths import NPZ


@pytest.mark.parametrize(
    "step, lr, klw",
    [
        (500, 0.000952, 0.0221),  # magenta#661's log (kl_weight 0.5)
        (23020, 0.000109, 0.3450),  # magenta#1735's log
    ],
)
def test_schedules_reproduce_magenta_logs(step, lr, klw):
    hp = HParams()
    assert float(schedules.learning_rate(hp, step)) == pytest.approx(lr, abs=5e-7)
    assert float(schedules.kl_weight(hp, step)) == pytest.approx(klw, abs=5e-5)


def test_schedules_start_values():
    hp = HParams()
    assert float(schedules.learning_rate(hp, 0)) == pytest.approx(hp.learning_rate)
    assert float(schedules.kl_weight(hp, 0)) == pytest.approx(hp.kl_weight_start)


def test_adam_is_tf1s():
    opt = make_optimizer(HParams())
    assert opt.epsilon == 1e-8 and opt.beta_1 == 0.9 and opt.beta_2 == 0.999


TINY = (
    "enc_rnn_size=16,dec_rnn_size=32,z_size=8,num_mixture=5,batch_size=16,max_seq_len=100,"
    "save_every=100,use_recurrent_dropout=0"
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    log_root = str(tmp_path_factory.mktemp("run"))
    hp = HParams().parse(TINY)
    keras.utils.set_random_seed(1234)  # module fixtures run before conftest's per-test seeding
    trainer, dataset = build_trainer(NPZ, hp, log_root, progress=False)
    first = [trainer.train_step(*trainer.train_data.batch_for_step(s)) for s in range(3)]
    trainer.train(200, log_every=10)
    return trainer, log_root, first, dataset


def test_loss_falls_on_aaron_sheep(trained):
    trainer, log_root, first, _ = trained
    curve = [r for r in read_metrics(log_root) if r["split"] == "train"]
    start = np.mean([f["r_cost"] for f in first])
    end = np.mean([r["r_cost"] for r in curve[-5:]])
    assert end < start - 0.5, (start, end)
    valid = [r for r in read_metrics(log_root) if r["split"] == "valid"]
    assert [r["step"] for r in valid] == [100, 200]
    assert valid[-1]["r_cost"] < valid[0]["r_cost"]


def test_step_uses_schedules_read_before_the_update(trained):
    trainer, _, first, _ = trained
    hp = trainer.hparams
    for step, out in enumerate(first):
        assert out["lr"] == pytest.approx(float(schedules.learning_rate(hp, step)), rel=1e-6)
        assert out["kl_weight"] == pytest.approx(float(schedules.kl_weight(hp, step)), rel=1e-6)
    assert int(trainer.step) == 200


def test_best_model_and_checkpoint_written(trained):
    import os

    from sketch_rnn_tf.formats import load_model

    trainer, log_root, _, dataset = trained
    best = load_model(os.path.join(log_root, "best"))
    assert best.scale_factor == pytest.approx(dataset.scale_factor)
    assert tf.train.latest_checkpoint(os.path.join(log_root, "train")).endswith("-200")
    assert os.listdir(os.path.join(log_root, "tensorboard"))


def test_gradients_are_clipped_element_wise(trained):
    from sketch_rnn_tf.model import SketchRNN
    from sketch_rnn_tf.training import Trainer

    trainer, *_ = trained
    model = SketchRNN(trainer.hparams.replace(grad_clip=1e-6))
    fresh = Trainer(model, trainer.train_data, progress=False)
    fresh.train_step(*trainer.train_data.batch_for_step(0))
    # Adam's first moment after one step is (1 - beta_1) * g; with every gradient element clipped to
    # ±1e-6 no element may exceed 1e-7, and the largest ones sit exactly at the clip.
    moments = [v.numpy() for v in fresh.optimizer.variables if "momentum" in v.path]
    assert len(moments) == len(model.trainable_variables)
    largest = max(np.abs(m).max() for m in moments)
    assert largest == pytest.approx(0.1 * 1e-6, rel=1e-4)


def test_evaluate_weights_batches_by_size(trained):
    from sketch_rnn_tf.model.losses import kl_divergence
    from sketch_rnn_tf.training.evaluate import evaluate_split

    trainer, _, _, dataset = trained
    model = trainer.model
    sketches = dataset.test[:7]
    result = evaluate_split(model, sketches, batch_size=5)
    expected_r = (
        model.reconstruction_loss(sketches[:5]) * 5 + model.reconstruction_loss(sketches[5:]) * 2
    ) / 7
    mu_a, ps_a = model.latent(sketches[:5])
    mu_b, ps_b = model.latent(sketches[5:])
    expected_kl = (float(kl_divergence(mu_a, ps_a)) * 5 + float(kl_divergence(mu_b, ps_b)) * 2) / 7
    assert result["count"] == 7
    assert result["r_cost"] == pytest.approx(expected_r, rel=1e-6)
    assert result["kl"] == pytest.approx(expected_kl, rel=1e-6)


def test_cli_evaluate(trained, tmp_path, capsys):
    import json
    import os

    from sketch_rnn_tf import cli

    _, log_root, _, _ = trained
    out = tmp_path / "eval.json"
    assert (
        cli.main(
            [
                "evaluate",
                "--checkpoint",
                os.path.join(log_root, "best"),
                "--data_dir",
                NPZ,
                "--splits",
                "valid",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    figures = json.load(open(out))
    assert figures["valid"]["count"] > 0 and np.isfinite(figures["valid"]["r_cost"])
    assert "valid: L_R" in capsys.readouterr().out


def test_training_step_runs_under_xla(tmp_path):
    """`train --xla` (Trainer(jit_compile=True)) with recurrent dropout compiles and trains.

    tests/test_lstm_loop.py checks the compiled loop's numbers.
    """
    hp = HParams().parse(TINY.replace("use_recurrent_dropout=0", "use_recurrent_dropout=1"))
    trainer, _ = build_trainer(
        NPZ, hp.replace(max_seq_len=90), None, jit_compile=True, progress=False
    )
    before = [v.numpy() for v in trainer.model.trainable_variables]
    costs = [trainer.train_step(*trainer.train_data.batch_for_step(s))["cost"] for s in range(2)]
    assert np.isfinite(costs).all() and int(trainer.step) == 2
    after = [v.numpy() for v in trainer.model.trainable_variables]
    assert all(not np.array_equal(a, b) for a, b in zip(before, after))
