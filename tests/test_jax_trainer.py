"""tools/jax_gpu: the JAX trainer (for GPU machines without TensorFlow) is the package's model.

The bundled `aaron_sheep_vae` was trained with `train_jax.py` on a lent GPU and turned into a
package model with `to_package.py`; these tests hold both to the package: the same weight names and
shapes, the same losses and gradients for the same weights and batch, and snapshots that round-trip.
"""

import json
import os
import sys

import numpy as np
import pytest
import tensorflow as tf

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402

from sketch_rnn_tf.data import DataLoader, load_dataset  # noqa: E402
from sketch_rnn_tf.formats import load_model, save_model  # noqa: E402
from sketch_rnn_tf.hparams import HParams  # noqa: E402
from sketch_rnn_tf.model import SketchRNN  # noqa: E402

from _paths import REPO, SHARED  # noqa: E402

sys.path.insert(0, os.path.join(REPO, "tools", "jax_gpu"))
import to_package  # noqa: E402
import train_jax  # noqa: E402

NPZ_DIR = os.path.join(SHARED, "data", "npz")
SMALL = dict(enc_rnn_size=16, dec_rnn_size=24, z_size=8, num_mixture=3)


@pytest.fixture(autouse=True)
def _fp32_matmuls():
    jax.config.update("jax_default_matmul_precision", "highest")


@pytest.fixture(scope="module")
def sheep():
    return load_dataset(NPZ_DIR, "aaron_sheep.npz", 250)


def _package_model(tmp_path, sheep, **sizes):
    hp = HParams(**sizes, data_set=["aaron_sheep.npz"])
    model = SketchRNN(hp, scale_factor=sheep.scale_factor)
    # Random weights away from the initialisers' zeros, so that every term is exercised.
    rng = np.random.default_rng(0)
    for v in model.magenta_variables().values():
        v.assign(v.numpy() + rng.normal(0.0, 0.05, v.shape).astype(np.float32))
    directory = str(tmp_path / "model")
    save_model(model, directory)
    return model, directory


@pytest.mark.parametrize("sizes", [SMALL, dict(enc_rnn_size=256, dec_rnn_size=512, z_size=128)])
def test_weight_layout_is_the_packages(sizes):
    model = SketchRNN(HParams(**sizes))
    hp = dict(train_jax.HPARAM_DEFAULTS, **sizes)
    expected = {
        train_jax.snapshot_name(name): tuple(v.shape)
        for name, v in model.magenta_variables().items()
    }
    assert train_jax.weight_shapes(hp) == expected
    drawn = train_jax.init_weights(hp, np.random.default_rng(0))
    assert {k: v.shape for k, v in drawn.items()} == expected
    w_hh = drawn["RNN/LSTMCell/W_hh"]
    n = hp["dec_rnn_size"]
    for k in range(4):  # orthogonal per gate, as the package's initialiser
        block = w_hh[:, k * n : (k + 1) * n]
        np.testing.assert_allclose(block.T @ block, np.eye(n), atol=1e-4)


def test_losses_and_gradients_match_the_package(tmp_path, sheep):
    model, directory = _package_model(tmp_path, sheep, **SMALL)
    snapshot = str(tmp_path / "snap.npz")
    to_package.from_model(directory, snapshot)
    weights, meta = train_jax.load_snapshot(snapshot)
    assert meta["scale_factor"] == pytest.approx(sheep.scale_factor)
    x, lengths = DataLoader(sheep.valid, 8, 250, sheep.scale_factor).get_batch(3)

    _, eval_losses = train_jax.build_fns(dict(meta["hparams"]), jax, jnp)
    w = {k: jnp.asarray(v) for k, v in weights.items()}
    r_jax, _, _, kl_jax = (float(v) for v in eval_losses(w, x, lengths))
    grads_jax = jax.grad(lambda w: eval_losses(w, x, lengths)[0])(w)

    variables = model.magenta_variables()
    with tf.GradientTape() as tape:
        mu, _ = model.encoder(x[:, 1:], lengths)
        got = model.compute_losses(x, lengths, training=False, z=mu)
    grads_tf = tape.gradient(got["r_cost"], list(variables.values()))
    assert r_jax == pytest.approx(float(got["r_cost"]), abs=1e-5)
    assert kl_jax == pytest.approx(float(got["kl_raw"]), abs=1e-5)
    compared = 0
    for (name, _), g_tf in zip(variables.items(), grads_tf):
        if g_tf is None:  # the σ̂ head does not reach L_R when z = μ
            continue
        g = np.asarray(grads_jax[train_jax.snapshot_name(name)])
        scale = np.abs(g_tf.numpy()).max()
        assert np.abs(g - g_tf.numpy()).max() <= 1e-4 * scale + 1e-7, name
        compared += 1
    assert compared == len(variables) - 2


def test_training_lowers_the_loss_and_the_snapshot_becomes_a_package_model(tmp_path, sheep):
    _, directory = _package_model(tmp_path, sheep, **SMALL)
    start = str(tmp_path / "start.npz")
    to_package.from_model(directory, start)
    out = str(tmp_path / "run")
    sizes = [f"--{k}={v}" for k, v in SMALL.items()]
    args = ["--data", os.path.join(NPZ_DIR, "aaron_sheep.npz"), "--out", out, "--workers", "0"]
    args += ["--batch_size", "16", "--max_steps", "60", "--eval_every", "30", "--log_every", "30"]
    args += ["--snapshot_every", "30", "--keep_snapshots", "1", "--init", start, *sizes]
    train_jax.main(args)

    rows = [json.loads(line) for line in open(os.path.join(out, "log.jsonl"))]
    valid = [r for r in rows if r["split"] == "valid"]
    assert [r["step"] for r in valid] == [30, 60]
    assert sorted(os.listdir(out)) == ["best.npz", "last.npz", "log.jsonl", "step_60.npz"]

    # The starting weights' valid loss, for comparison, from the same evaluation.
    weights, meta = train_jax.load_snapshot(start)
    _, eval_losses = train_jax.build_fns(dict(meta["hparams"]), jax, jnp)
    loader = DataLoader(sheep.valid, 100, 250, sheep.scale_factor)
    total = sum(
        len(lengths) * float(eval_losses(weights, x, lengths)[0])
        for x, lengths in loader.eval_batches(drop_remainder=False)
    )
    assert valid[-1]["r"] < total / len(sheep.valid) - 0.1

    last, meta = train_jax.load_snapshot(os.path.join(out, "last.npz"))
    assert meta["step"] == 60 and meta["hparams"]["batch_size"] == 16
    package_dir = str(tmp_path / "package")
    to_package.to_package(os.path.join(out, "last.npz"), package_dir)
    loaded = load_model(package_dir)
    assert loaded.hparams.enc_rnn_size == 16 and loaded.hparams.dec_rnn_size == 24
    assert loaded.scale_factor == pytest.approx(sheep.scale_factor)
    for name, v in loaded.magenta_variables().items():
        np.testing.assert_array_equal(v.numpy(), last[train_jax.snapshot_name(name)])


def test_a_snapshot_of_another_shape_is_refused(tmp_path, sheep):
    _, directory = _package_model(tmp_path, sheep, **SMALL)
    snapshot = str(tmp_path / "snap.npz")
    to_package.from_model(directory, snapshot)
    weights, meta = train_jax.load_snapshot(snapshot)
    weights["RNN/output_w"] = weights["RNN/output_w"][:, :-1]
    bad = str(tmp_path / "bad.npz")
    train_jax.save_snapshot(bad, weights, meta["hparams"], 0, dict(scale_factor=1.0, data="x.npz"))
    with pytest.raises(SystemExit, match="RNN/output_w"):
        to_package.to_package(bad, str(tmp_path / "out"))
    assert not os.path.exists(tmp_path / "out")
