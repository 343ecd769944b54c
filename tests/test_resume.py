"""Resuming training, interrupted training and non-finite steps.

A resumed run continues the same curve; kill -9 never corrupts a checkpoint; non-finite steps are
skipped without touching the weights or Adam's state.
"""

import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from sketch_rnn_tf.formats.package_dir import load_model_dir
from sketch_rnn_tf.hparams import HParams
from sketch_rnn_tf.model import SketchRNN
from sketch_rnn_tf.model.seeds import RowSeed, stateless_draw
from sketch_rnn_tf.training import schedules
from sketch_rnn_tf.training.run import build_trainer
from sketch_rnn_tf.training.trainer import read_metrics

from _paths import SHEEP_NPZ, write_tiny_npz

SHEEP = SHEEP_NPZ
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = pytest.mark.skipif(not os.path.isfile(SHEEP), reason="real data not available")

# Tiny model, recurrent dropout on (its masks must repeat on resume), decays fast enough that the
# lr and KL weight visibly change over a few steps.
OVERRIDES = (
    "enc_rnn_size=8,dec_rnn_size=16,z_size=4,num_mixture=3,batch_size=8,max_seq_len=50,"
    "use_recurrent_dropout=1,recurrent_dropout_prob=0.8,decay_rate=0.99,"
    "kl_decay_rate=0.99,kl_tolerance=1e-5,data_set=[tiny.npz]"
)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    write_tiny_npz(d / "tiny.npz")
    return str(d)


def _hparams(**changes):
    return HParams().parse(OVERRIDES).replace(**changes)


def _values(variables):
    return [np.array(v) for v in variables]


def _copy_weights(dst, src):
    for a, b in zip(dst.model.variables, src.model.variables):
        a.assign(b.numpy())


def _train_curve(log_root):
    return {r["step"]: r for r in read_metrics(log_root) if r["split"] == "train"}


# ------------------------------------------------------------------ (a) resume = same curve
def test_dropout_is_a_function_of_the_seed():
    hp = _hparams(use_input_dropout=True, use_output_dropout=True, max_seq_len=12)
    model = SketchRNN(hp)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 13, 5)).astype(np.float32)
    x[..., 2:] = np.eye(3, dtype=np.float32)[rng.integers(0, 3, (8, 13))]
    lengths = np.full(8, 12, np.int32)
    seed = tf.constant([5, 3], tf.int64)
    a = model((x, lengths), training=True, seed=seed)["y"].numpy()
    b = model((x, lengths), training=True, seed=seed)["y"].numpy()
    c = model((x, lengths), training=True, seed=tf.constant([5, 4], tf.int64))["y"].numpy()
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1e-3
    # A replica's rows of the global batch get the noise they get in the one-device batch: the
    # draws themselves are equal bit for bit ...
    for fn in (tf.random.stateless_uniform, tf.random.stateless_normal):
        full = stateless_draw(fn, [8, 13, 7], seed).numpy()
        rows = [stateless_draw(fn, [4, 13, 7], RowSeed.make(seed, o, 8)).numpy() for o in (0, 4)]
        np.testing.assert_array_equal(np.concatenate(rows), full)
    # ... and the outputs agree to float32 rounding: a batch of 4 and a batch of 8 may run other
    # matmul kernels (oneDNN on AVX2 does), so they are not compared bit for bit.
    halves = [
        model((x[o : o + 4], lengths[o : o + 4]), training=True, seed=RowSeed.make(seed, o, 8))[
            "y"
        ].numpy()
        for o in (0, 4)
    ]
    np.testing.assert_allclose(np.concatenate(halves), a, rtol=1e-6, atol=1e-6)


def test_resume_continues_the_same_curve(data_dir, tmp_path):
    n, k = 8, 4
    hp = _hparams(save_every=k)
    ref, _ = build_trainer(data_dir, hp, log_root=str(tmp_path / "ref"), progress=False)
    first, _ = build_trainer(data_dir, hp, log_root=str(tmp_path / "run"), progress=False)
    _copy_weights(first, ref)
    ref.train(n, log_every=1)

    first.train(k, log_every=1)
    saved = {
        "step": int(first.step.numpy()),
        "opt": _values(first.optimizer.variables),
        "lr": float(first.optimizer.learning_rate.numpy()),
        "best": float(first.best_valid_cost.numpy()),
        "weights": _values(first.model.variables),
    }
    del first  # the "crash": a new Trainer (new model, fresh random weights) resumes from disk

    second, _ = build_trainer(data_dir, hp, log_root=str(tmp_path / "run"), progress=False)
    assert int(second.step.numpy()) == k == saved["step"]
    assert int(second.optimizer.iterations.numpy()) == k
    for a, b in zip(_values(second.optimizer.variables), saved["opt"]):  # iterations, lr, m, v
        np.testing.assert_array_equal(a, b)
    assert float(second.optimizer.learning_rate.numpy()) == saved["lr"]
    assert float(second.best_valid_cost.numpy()) == saved["best"]
    for a, b in zip(_values(second.model.variables), saved["weights"]):
        np.testing.assert_array_equal(a, b)
    second.train(n, log_every=1)

    ref_curve, run_curve = _train_curve(str(tmp_path / "ref")), _train_curve(str(tmp_path / "run"))
    assert sorted(ref_curve) == sorted(run_curve) == list(range(1, n + 1))
    for step in range(1, n + 1):
        for key in ("cost", "r_cost", "kl", "kl_raw", "lr", "kl_weight"):
            assert run_curve[step][key] == ref_curve[step][key], (step, key)
    # the schedules as logged are Magenta's, evaluated at the step before the update
    for step in (k, k + 1):
        lr = float(schedules.learning_rate(hp, tf.constant(step - 1, tf.int64)))
        np.testing.assert_allclose(run_curve[step]["lr"], lr, rtol=1e-6)
        klw = float(schedules.kl_weight(hp, tf.constant(step - 1, tf.int64)))
        np.testing.assert_allclose(run_curve[step]["kl_weight"], klw, rtol=1e-6)
    for a, b in zip(_values(second.model.variables), _values(ref.model.variables)):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(_values(second.optimizer.variables), _values(ref.optimizer.variables)):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ (b) kill -9
def _checkpoint_state(train_dir):
    """(step of the latest checkpoint, all its tensors) — and every listed checkpoint must load.

    `tf.train.CheckpointManager.save` writes the new checkpoint, lists it in the `checkpoint` state
    file, deletes the checkpoints past `max_to_keep` (`.index` first, then `.data`) and rewrites the
    state file. A kill during that sweep leaves an old entry listed whose `.index` is gone (the next
    save drops it); such an entry is skipped. Every other listed checkpoint must load.
    """
    state = tf.train.get_checkpoint_state(train_dir)
    if state is None:
        return 0, None
    for prefix in state.all_model_checkpoint_paths:
        if prefix != state.model_checkpoint_path and not os.path.exists(prefix + ".index"):
            continue  # being swept when the run was killed
        reader = tf.train.load_checkpoint(prefix)
        for name in reader.get_variable_to_shape_map():
            value = reader.get_tensor(name)
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                assert np.isfinite(value).all(), (prefix, name)
    latest = tf.train.load_checkpoint(state.model_checkpoint_path)
    step = int(latest.get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE"))
    assert state.model_checkpoint_path.endswith(f"ckpt-{step}")
    return step, latest


def _latest_step(train_dir):
    """The step of the latest checkpoint, from the small `checkpoint` state file (cheap to poll)."""
    prefix = tf.train.latest_checkpoint(train_dir)
    return int(prefix.rsplit("-", 1)[1]) if prefix else 0


def _launch(data_dir, log_root, num_steps, save_every, log):
    cmd = [
        sys.executable,
        "-m",
        "sketch_rnn_tf",
        "train",
        "--data_dir",
        data_dir,
        "--dataset",
        "tiny.npz",
        "--hparams",
        OVERRIDES + f",save_every={save_every}",
        "--log_root",
        log_root,
        "--num_steps",
        str(num_steps),
        "--no_progress",
    ]
    env = dict(
        os.environ,
        PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""),
        TF_CPP_MIN_LOG_LEVEL="2",
    )
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO)


def test_sigkill_resumes_from_last_complete_checkpoint(data_dir, tmp_path):
    # Long enough that a kill never arrives after the run has finished, even on a fast machine
    # (each kill lands within 0.6 s of a new checkpoint, about 16 steps here: two of them use well
    # under 160 steps). Each run starts a process (about 15 s), so two kills rather than more.
    n, save_every, kills = 160, 10, 2
    hp = _hparams(save_every=save_every)
    log_root = str(tmp_path / "killed")
    train_dir = os.path.join(log_root, "train")
    # Step 0 is written here so that the killed run and the reference start from the same weights.
    seed_run, _ = build_trainer(data_dir, hp, log_root=log_root, progress=False)
    seed_run.manager.save(checkpoint_number=0)
    reference, _ = build_trainer(data_dir, hp, progress=False)
    _copy_weights(reference, seed_run)
    del seed_run

    rnd = random.Random(1234)
    last_step, history = 0, []
    for attempt in range(kills + 1):
        log_path = tmp_path / f"run{attempt}.log"
        with open(log_path, "w") as log:
            proc = _launch(data_dir, log_root, n, save_every, log)
            if attempt < kills:
                deadline = time.time() + 120
                while _latest_step(train_dir) <= last_step and proc.poll() is None:
                    assert time.time() < deadline, "no checkpoint appeared"
                    time.sleep(0.2)
                time.sleep(rnd.uniform(0.0, 0.6))  # land anywhere: in a step, an eval, a save
                proc.send_signal(signal.SIGKILL)
            rc = proc.wait(timeout=240)
        text = log_path.read_text()
        assert "Traceback" not in text, text[-3000:]
        assert (
            f"resumed from {os.path.join(train_dir, f'ckpt-{last_step}')} at step {last_step}"
            in text
        ), text[-3000:]
        if attempt < kills:
            assert rc == -signal.SIGKILL
        else:
            assert rc == 0, text[-3000:]
        step, _ = _checkpoint_state(train_dir)  # every listed checkpoint loads; no NaN
        assert step > last_step or attempt == kills
        if os.path.isdir(os.path.join(log_root, "best")):
            load_model_dir(os.path.join(log_root, "best"))
        history.append(step)
        last_step = step
    assert last_step == n and history == sorted(history)

    reference.train(n)
    resumed, _ = build_trainer(data_dir, hp, log_root=log_root, progress=False)
    assert int(resumed.step.numpy()) == n and int(resumed.nonfinite_steps.numpy()) == 0
    for a, b in zip(
        _values(resumed.model.trainable_variables), _values(reference.model.trainable_variables)
    ):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    for a, b in zip(_values(resumed.optimizer.variables), _values(reference.optimizer.variables)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)
    steps = [r["step"] for r in read_metrics(log_root) if r["split"] == "valid"]
    assert steps == list(range(save_every, n + 1, save_every))


# ------------------------------------------------------------------ (c) NaN / inf
def _moments(trainer):
    """Adam's iterations and moments.

    The learning-rate variable is left out: it is set from the step every step.
    """
    return _values([v for v in trainer.optimizer.variables if "learning_rate" not in v.path])


def test_nonfinite_step_is_skipped(data_dir, tmp_path):
    trainer, _ = build_trainer(
        data_dir, _hparams(save_every=3), log_root=str(tmp_path / "nan"), progress=False
    )
    trainer.train(2)
    # NaN in the input makes the loss NaN; a dx of 1e38 leaves the loss finite (the offset term's
    # exp underflows) but overflows the gradient. Both steps must be skipped.
    for skipped, bad in enumerate([np.nan, 1e38], start=1):
        weights, moments = _values(trainer.model.variables), _moments(trainer)
        x, seq_len = trainer.train_data.batch_for_step(2)
        x = x.copy()
        x[0, 1, 0] = bad
        out = trainer.train_step(x, seq_len)
        assert out["finite"] == 0.0
        if np.isnan(bad):
            assert np.isnan(out["cost"])
        assert int(trainer.nonfinite_steps.numpy()) == skipped
        assert int(trainer.step.numpy()) == 2 + skipped  # the step counts, its update does not
        assert int(trainer.optimizer.iterations.numpy()) == 2
        for a, b in zip(_values(trainer.model.variables), weights):
            np.testing.assert_array_equal(a, b)
        for a, b in zip(_moments(trainer), moments):
            np.testing.assert_array_equal(a, b)
    # training goes on normally afterwards
    out = trainer.train_step(*trainer.train_data.batch_for_step(4))
    assert out["finite"] == 1.0 and int(trainer.optimizer.iterations.numpy()) == 3


def test_nonfinite_batch_in_the_loop_never_reaches_a_checkpoint(data_dir, tmp_path):
    log_root = str(tmp_path / "loop")
    trainer, _ = build_trainer(data_dir, _hparams(save_every=3), log_root=log_root, progress=False)
    clean = trainer.train_data.batch_for_step

    def poisoned(step):
        x, seq_len = clean(step)
        if step in (1, 4):
            x = x.copy()
            x[:, 2, 1] = np.inf
        return x, seq_len

    trainer.train_data.batch_for_step = poisoned
    trainer.train(6, log_every=1)
    assert int(trainer.nonfinite_steps.numpy()) == 2
    assert int(trainer.optimizer.iterations.numpy()) == 4
    curve = _train_curve(log_root)
    assert [s for s, r in curve.items() if not np.isfinite(r["cost"])] == [2, 5]
    for step_dir in ("ckpt-3", "ckpt-6"):
        reader = tf.train.load_checkpoint(os.path.join(log_root, "train", step_dir))
        for name in reader.get_variable_to_shape_map():
            value = reader.get_tensor(name)
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                assert np.isfinite(value).all(), (step_dir, name)
        assert int(reader.get_tensor("nonfinite_steps/.ATTRIBUTES/VARIABLE_VALUE")) == (
            1 if step_dir == "ckpt-3" else 2
        )
    best = load_model_dir(os.path.join(log_root, "best"))
    assert all(np.isfinite(v.numpy()).all() for v in best.variables)
