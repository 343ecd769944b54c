"""`train(...)`: load data, build or resume a model, and train it (what the CLI's `train` runs)."""

from __future__ import annotations

import os
import shutil
import tempfile

from absl import logging
import tensorflow as tf

from ..data.loader import DataLoader
from ..data.npz import load_dataset
from ..hparams import HParams
from ..model import SketchRNN
from .trainer import TRAIN_DIR, Trainer, TrainingError, make_log_root


def build_trainer(data_dir, hparams: HParams, log_root=None, seed=0, jit_compile=False,
                  progress=True, strategy=None):
    """(Trainer, SketchDataset) of `hparams.data_set` in `data_dir`, resumed from log_root."""
    dataset = load_dataset(data_dir, hparams.data_set, hparams.max_seq_len)
    scale = dataset.scale_factor
    train_loader = DataLoader(dataset.train, hparams.batch_size, hparams.max_seq_len, scale,
                              random_scale_factor=hparams.random_scale_factor,
                              augment_stroke_prob=hparams.augment_stroke_prob, seed=seed)
    valid_loader = DataLoader(dataset.valid, hparams.batch_size, hparams.max_seq_len, scale)
    test_loader = DataLoader(dataset.test, hparams.batch_size, hparams.max_seq_len, scale)
    if strategy is not None:
        with strategy.scope():
            model = SketchRNN(hparams, scale_factor=scale)
    else:
        model = SketchRNN(hparams, scale_factor=scale)
    logging.info("model: %d trainable parameters",
                 sum(int(v.shape.num_elements()) for v in model.trainable_variables))
    trainer = Trainer(model, train_loader, valid_loader, test_loader, log_root=log_root, seed=seed,
                      jit_compile=jit_compile, progress=progress, strategy=strategy)
    trainer.restore()
    return trainer, dataset


def train(data_dir, hparams: HParams, log_root, num_steps=None, seed=0, jit_compile=False,
from .trainer import TRAIN_DIR, Trainer, TrainingError, make_log_root
    return trainer


def _check_same_step(trainer, worker):
    """Raises `TrainingError` on every worker unless all replicas hold the same step (a worker that
    did not find the chief's checkpoint would otherwise train another model, or hang)."""
    if worker is None or worker.count == 1:
        return
    strategy = trainer.strategy

    @tf.function
    def gather():
        return strategy.run(lambda: tf.distribute.get_replica_context().all_gather(
            tf.reshape(trainer.step.read_value(), [1]), axis=0))

    steps = [int(s) for s in strategy.experimental_local_results(gather())[0].numpy()]
    if len(set(steps)) > 1:
        raise TrainingError(
            f"the workers resumed at different steps {steps} (one per replica, the chief's first): "
            "the chief's --log_root must be a directory every worker sees (a shared filesystem), "
            "and all workers must run the same command")
