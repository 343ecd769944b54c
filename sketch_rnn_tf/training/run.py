"""`train(...)`: load data, build or resume a model, and train it (what the CLI's `train` runs)."""

from __future__ import annotations

import os
import shutil
import tempfile

import tensorflow as tf
from absl import logging

from ..data.loader import DataLoader
from ..data.packed import load_packed_dataset
from ..hparams import HParams
from ..model import SketchRNN
from . import source as init_source
from .trainer import TRAIN_DIR, Trainer, TrainingError, make_log_root


def build_trainer(
    data_dir,
    hparams: HParams,
    log_root=None,
    seed=0,
    jit_compile=False,
    progress=True,
    strategy=None,
    init_from=None,
    explicit=None,
):
    """(Trainer, SketchDataset) of `hparams.data_set` in `data_dir`, resumed from log_root.

    The splits are packed and memory-mapped (data/packed.py): each .npz is validated and cached
    once, and memory grows with the sketches a step touches, not with the data set.

    Args:
      data_dir: the folder of the `.npz` files.
      hparams: the run's `HParams` (`data_set` names the files).
      log_root: the run's directory (checkpoints, metrics, TensorBoard), or None.
      seed: seeds the data order, dropout and z.
      jit_compile: compile the training step with XLA.
      progress: show a progress bar.
      strategy: a `tf.distribute` strategy, or None for one device.
      init_from: start from the weights of this model (a name or path `load_model` reads) instead
        of random ones: its architecture hparams replace those of `hparams` (see
        `training.source`). A log_root that holds a training checkpoint resumes it instead.
      explicit: the hparam names the user set, to refuse those that conflict with the source's
        architecture and to keep over `FINE_TUNE_DEFAULTS` (default: those that differ from
        `HParams()`, so a value equal to the default, e.g. `learning_rate=1e-3`, needs to be
        named here to win over the fine-tuning default).
    """
    record, source_model = None, None
    resuming = log_root is not None and tf.train.latest_checkpoint(
        os.path.join(log_root, TRAIN_DIR)
    )
    if resuming:
        record = init_source.InitSource.read(log_root)
    elif init_from is not None:
        source_model, record = init_source.load_source(init_from, data_dir)
    if record is not None:
        if explicit is None:
            explicit = init_source.explicit_hparams(hparams)
        hparams = init_source.merge_hparams(HParams.from_dict(record.hparams), hparams, explicit)
    dataset = load_packed_dataset(data_dir, hparams.data_set, hparams.max_seq_len)
    scale = dataset.scale_factor
    train_loader = DataLoader(
        dataset.train,
        hparams.batch_size,
        hparams.max_seq_len,
        scale,
        random_scale_factor=hparams.random_scale_factor,
        augment_stroke_prob=hparams.augment_stroke_prob,
        seed=seed,
    )
    valid_loader = DataLoader(dataset.valid, hparams.batch_size, hparams.max_seq_len, scale)
    test_loader = DataLoader(dataset.test, hparams.batch_size, hparams.max_seq_len, scale)
    if strategy is not None:
        with strategy.scope():
            model = SketchRNN(hparams, scale_factor=scale)
    else:
        model = SketchRNN(hparams, scale_factor=scale)
    if source_model is not None:
        init_source.copy_weights(source_model, model)
    model.init_from = None if record is None else record.to_dict()
    logging.info(
        "model: %d trainable parameters",
        sum(int(v.shape.num_elements()) for v in model.trainable_variables),
    )
    trainer = Trainer(
        model,
        train_loader,
        valid_loader,
        test_loader,
        log_root=log_root,
        seed=seed,
        jit_compile=jit_compile,
        progress=progress,
        strategy=strategy,
    )
    if not trainer.restore() and record is not None:
        trainer.record_start(record, dataset.split("test"))
    return trainer, dataset


def train(data_dir, hparams: HParams, log_root, num_steps=None, worker=None, **options):
    """Trains (or resumes) a model on `hparams.data_set`; the best model lands in log_root/best.

    `options` are `build_trainer`'s (seed, jit_compile, progress, strategy, init_from, explicit).
    Under a multi-worker `strategy` every worker calls this with the same arguments and its
    `worker` (a `distribute.WorkerInfo`). Only the chief writes `log_root`; the others write their
    checkpoints (the same values, in the same collective saves) to a temporary directory that is
    removed at the end, and resume from the chief's last checkpoint in `log_root`, which must
    therefore be on a filesystem every worker sees. All workers must resume at the same step
    (checked, `TrainingError` otherwise).
    """
    if options.get("jit_compile") and options.get("strategy") is not None:
        raise TrainingError("jit_compile (--xla) works only on one device (--strategy one_device)")
    if worker is None or worker.is_chief:
        make_log_root(log_root)
        trainer, _ = build_trainer(data_dir, hparams, log_root, **options)
        _check_same_step(trainer, worker)
        trainer.train(num_steps)
        return trainer
    scratch = tempfile.mkdtemp(prefix=f"sketch_rnn_worker{worker.rank}-")
    logging.info(
        "the chief writes %s; this worker's checkpoints go to %s (removed at the end)",
        log_root,
        scratch,
    )
    try:
        trainer, _ = build_trainer(data_dir, hparams, scratch, **{**options, "progress": False})
        checkpoint = tf.train.latest_checkpoint(os.path.join(log_root, TRAIN_DIR))
        if checkpoint:
            trainer.restore(checkpoint)
        _check_same_step(trainer, worker)
        trainer.train(num_steps)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return trainer


def _check_same_step(trainer, worker):
    """Raises `TrainingError` on every worker unless all replicas hold the same step.

    A worker that did not find the chief's checkpoint would otherwise train another model, or hang.
    """
    if worker is None or worker.count == 1:
        return
    strategy = trainer.strategy

    @tf.function(autograph=False)
    def gather():
        return strategy.run(
            lambda: tf.distribute.get_replica_context().all_gather(
                tf.reshape(trainer.step.read_value(), [1]), axis=0
            )
        )

    steps = [int(s) for s in strategy.experimental_local_results(gather())[0].numpy()]
    if len(set(steps)) > 1:
        raise TrainingError(
            f"the workers resumed at different steps {steps} (one per replica, the chief's first): "
            "the chief's --log_root must be a directory every worker sees (a shared filesystem), "
            "and all workers must run the same command"
        )
