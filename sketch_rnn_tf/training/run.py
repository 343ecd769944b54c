"""`train(...)`: load data, build or resume a model, and train it (what the CLI's `train` runs)."""

from __future__ import annotations

from absl import logging

from ..data.loader import DataLoader
from ..data.packed import load_packed_dataset
from ..hparams import HParams
from ..model import SketchRNN
from .trainer import Trainer, make_log_root


def build_trainer(data_dir, hparams: HParams, log_root=None, seed=0, jit_compile=False,
                  progress=True, strategy=None):
    """(Trainer, SketchDataset) of `hparams.data_set` in `data_dir`, resumed from log_root.

    The splits are packed and memory-mapped (data/packed.py): each .npz is validated and cached
    once, and memory grows with the sketches a step touches, not with the data set.
    """
    dataset = load_packed_dataset(data_dir, hparams.data_set, hparams.max_seq_len)
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
          progress=True):
    """Trains (or resumes) a model on `hparams.data_set`; the best model lands in log_root/best."""
    make_log_root(log_root)
    trainer, _ = build_trainer(data_dir, hparams, log_root, seed, jit_compile, progress)
    trainer.train(num_steps)
    return trainer
