"""Training sketch-rnn as Magenta does (`sketch_rnn_train.py`): the loop, with its checkpoints.

The run's three concerns, one module each: the step (`step.TrainStep`: lr and KL schedules, the
objective, clipping, Adam, under `tf.function`, one device or a `tf.distribute` strategy), what it
reports (`metrics.MetricsLog`: TensorBoard, metrics.jsonl, the log) and, here, the loop that drives
them and keeps the run's state.

Every `save_every` steps the valid split is evaluated as Magenta's eval model does (dropout off, pen
loss unmasked, z sampled, its KL weight at kl_weight_start); when the valid cost improves, the model
is saved to `<log_root>/best` (this package's model format) and the test split is evaluated. The
last training state (`<log_root>/train`: weights, Adam state, step) is saved by a
`tf.train.CheckpointManager` at the same time and at the end; a run restarted with the same
`log_root` resumes from it with the same step, optimiser state, schedules and data order (batches
are a function of (seed, step)), and repeats the uninterrupted run exactly.
"""

from __future__ import annotations

import os
import time

import numpy as np
import tensorflow as tf
from absl import logging

from ..data.loader import DataLoader
from ..formats import save_model
from ..hparams import HParams
from .evaluate import latent_diagnostic, point_nll
from .metrics import METRICS_FILE, MetricsLog, progress_bar, read_metrics
from .step import TrainingError, TrainStep, make_optimizer

TRAIN_DIR = "train"
BEST_DIR = "best"

__all__ = [
    "BEST_DIR",
    "METRICS_FILE",
    "TRAIN_DIR",
    "Trainer",
    "TrainingError",
    "make_log_root",
    "make_optimizer",
    "read_metrics",
]


def make_log_root(log_root) -> None:
    """Creates the run directory `log_root`, or raises TrainingError if it cannot be one."""
    try:
        os.makedirs(log_root, exist_ok=True)
    except OSError as e:
        raise TrainingError(
            f"cannot use log_root {os.fspath(log_root)!r}: {e.strerror or e} (it "
            "must be a directory or a path where one can be made)"
        ) from None


class Trainer:
    """Trains a `SketchRNN` with Magenta's loop.

    At each validation of a conditional model with a log_root, the latent diagnostic
    (`training.evaluate.latent_diagnostic`) also runs on the first `latent_count` valid sketches
    (attribute, default 16; 0 turns it off) with seed `latent_seed`.

    Args:
      model: the `SketchRNN` to train (its hparams are the run's hparams).
      train: a `DataLoader` of the train split (augmentation on, as Magenta's).
      valid, test: `DataLoader`s without augmentation, or None.
      log_root: directory for checkpoints, metrics and TensorBoard logs.
      seed: seeds the data order, dropout and z sampling.
      jit_compile: compile the training step with XLA.
      progress: show a progress bar (tqdm) with step/s and the loss terms.
      strategy: a `tf.distribute` strategy, or None (one device, or the strategy whose scope we
        are in).

    Example:
    >>> import tempfile
    >>> from sketch_rnn_tf import HParams
    >>> from sketch_rnn_tf.training import build_trainer
    >>> hp = HParams(enc_rnn_size=8, dec_rnn_size=16, z_size=4, num_mixture=3, batch_size=8,
    ...              max_seq_len=250, save_every=5, data_set=["aaron_sheep.npz"])
    >>> trainer, _ = build_trainer("../shared/data/npz", hp, tempfile.mkdtemp(), progress=False)
    >>> last = trainer.train(num_steps=5, log_every=5)
    >>> int(trainer.step.numpy()), sorted(last)[:3]
    (5, ['cost', 'kl', 'kl_raw'])
    """

    latent_count = 16
    latent_seed = 0

    def __init__(
        self,
        model,
        train: DataLoader,
        valid: DataLoader | None = None,
        test: DataLoader | None = None,
        log_root: str | None = None,
        seed: int = 0,
        jit_compile: bool = False,
        progress: bool = True,
        strategy=None,
    ):
        self.model = model
        self.hparams: HParams = model.hparams
        self.train_data, self.valid_data, self.test_data = train, valid, test
        self.log_root = log_root
        self.seed = int(seed)
        self.progress = progress
        self.steps = TrainStep(model, seed, jit_compile, strategy)
        self.checkpoint = tf.train.Checkpoint(
            model=model,
            optimizer=self.optimizer,
            step=self.step,
            nonfinite_steps=self.nonfinite_steps,
            best_valid_cost=self.best_valid_cost,
        )
        self.manager = None
        if log_root:
            make_log_root(log_root)
            self._check_config()
            self.manager = tf.train.CheckpointManager(
                self.checkpoint, os.path.join(log_root, TRAIN_DIR), max_to_keep=2
            )
        self.metrics = MetricsLog(log_root)

    # The step's state, as attributes of the trainer.
    optimizer = property(lambda self: self.steps.optimizer)
    step = property(lambda self: self.steps.step)
    nonfinite_steps = property(lambda self: self.steps.nonfinite_steps)
    best_valid_cost = property(lambda self: self.steps.best_valid_cost)
    strategy = property(lambda self: self.steps.strategy)
    distributed = property(lambda self: self.steps.distributed)
    writer = property(lambda self: self.metrics.writer)
    # The compiled step and its Python function (benchmarks call them directly).
    _train_step = property(lambda self: self.steps.train_fn)
    _step_fn = property(lambda self: self.steps._step_fn)

    # ------------------------------------------------------------ set-up
    def _check_config(self):
        path = os.path.join(self.log_root, "model_config.json")
        if os.path.exists(path):
            saved = HParams.from_json(path)
            ours = self.hparams
            keys = HParams.ARCHITECTURE + ("max_seq_len",)
            diff = [
                f"{k}: {getattr(saved, k)} there, {getattr(ours, k)} here"
                for k in keys
                if getattr(saved, k) != getattr(ours, k)
            ]
            if diff:
                raise TrainingError(
                    f"{self.log_root} holds a run of another model config ({'; '.join(diff)}); "
                    "use another --log_root or the same hparams"
                )
        self.hparams.to_json(path)

    def restore(self, checkpoint: str | None = None) -> bool:
        """Resumes from `checkpoint` (a checkpoint prefix); False when there is none.

        By default `checkpoint` is the last training checkpoint in log_root.
        """
        if checkpoint is None:
            if self.manager is None or self.manager.latest_checkpoint is None:
                return False
            checkpoint = self.manager.latest_checkpoint
        try:
            self.checkpoint.restore(checkpoint).assert_existing_objects_matched()
        except (AssertionError, ValueError, IndexError, tf.errors.OpError) as e:
            # IndexError "Read less bytes than requested": an empty or truncated .data file.
            raise TrainingError(
                f"cannot resume from {checkpoint} (empty, truncated or mismatched "
                f"checkpoint): {type(e).__name__}: {e}"
            ) from None
        logging.info("resumed from %s at step %d", checkpoint, int(self.step.numpy()))
        return True

    # ------------------------------------------------------------ API
    def train_step(self, x, seq_len):
        """One optimisation step on a padded batch; returns the loss terms as floats."""
        out = self.steps.train_fn(tf.constant(x), tf.constant(seq_len))
        return {k: float(v) for k, v in out.items()}

    def evaluate(self, data: DataLoader):
        """Mean cost, r_cost, kl over a split's sequential batches (Magenta's evaluate_model)."""
        return self.steps.evaluate(data)

    def train(self, num_steps: int | None = None, log_every: int = 20):
        """Trains until the step reaches `num_steps` (default hparams.num_steps).

        Returns:
          The last logged metrics.
        """
        hp = self.hparams
        num_steps = hp.num_steps if num_steps is None else int(num_steps)
        start = int(self.step.numpy())
        if start >= num_steps:
            logging.info("already at step %d >= num_steps %d", start, num_steps)
            return {}
        bar = progress_bar(start, num_steps) if self.progress else None
        data = iter(self.train_data.as_dataset(start_step=start))
        window_start, window_steps, last = time.perf_counter(), 0, {}
        try:
            for step in range(start, num_steps):
                x, seq_len = next(data)
                out = {k: float(v) for k, v in self.steps.train_fn(x, seq_len).items()}
                window_steps += 1
                if not out["finite"]:
                    logging.warning(
                        "step %d: non-finite loss or gradient, update skipped (%d so far)",
                        step,
                        int(self.nonfinite_steps.numpy()),
                    )
                if (step + 1) % log_every == 0 or step + 1 == num_steps:
                    elapsed = time.perf_counter() - window_start
                    out["steps_per_sec"] = window_steps / max(elapsed, 1e-9)
                    last = self.metrics.log("train", step + 1, out)
                    window_start, window_steps = time.perf_counter(), 0
                    if bar is not None:
                        bar.set_postfix(
                            cost=f"{out['cost']:.3f}",
                            recon=f"{out['r_cost']:.3f}",
                            kl=f"{out['kl']:.3f}",
                            lr=f"{out['lr']:.2e}",
                            klw=f"{out['kl_weight']:.3f}",
                            steps_s=f"{out['steps_per_sec']:.2f}",
                        )
                if bar is not None:
                    bar.update(1)
                if (step + 1) % hp.save_every == 0:
                    self._validate_and_save(step + 1)
        finally:
            if bar is not None:
                bar.close()
        if int(self.step.numpy()) % hp.save_every != 0:
            self._validate_and_save(int(self.step.numpy()))
        return last

    # ------------------------------------------------------------ internals
    def _validate_and_save(self, step):
        if self.valid_data is not None:
            valid = self.evaluate(self.valid_data)
            self.metrics.log("valid", step, valid)
            self._log_latent(step)
            if valid["cost"] < float(self.best_valid_cost.numpy()):
                self.best_valid_cost.assign(valid["cost"])
                if self.log_root:
                    save_model(self.model, os.path.join(self.log_root, BEST_DIR))
                if self.test_data is not None:
                    self.metrics.log("test", step, self.evaluate(self.test_data))
        if self.manager is not None:
            self.manager.save(checkpoint_number=step)

    def record_start(self, record, test_sketches=None) -> None:
        """Records where a fine-tuning run starts, with its losses before the first step.

        The valid and test splits' Magenta costs and the NLL per point in pixels
        (`evaluate.point_nll`) of `test_sketches` (stroke-3, pixels) at step 0 go into
        `record.step0`, the run's `init_from.json`, its metrics (split "init") and TensorBoard
        (`Init_*`), and the model's `init_from`, which `save_model` writes into
        `sketch_rnn_config.json`.
        """
        step0 = {}
        for name, data in (("valid", self.valid_data), ("test", self.test_data)):
            if data is not None:
                values = self.evaluate(data)
                step0.update({f"{name}_{k}": v for k, v in values.items()})
        if test_sketches is not None:
            step0["test_point_nll"] = point_nll(self.model, test_sketches)["nll"]
        record.step0 = step0
        self.model.init_from = record.to_dict()
        logging.info(
            "starting from %s (%s, %s): %s",
            record.source,
            record.kind,
            record.path,
            ", ".join(f"{k} {v:.4f}" for k, v in step0.items()),
        )
        if not self.log_root:
            return
        record.write(self.log_root)
        self.metrics.append({"split": "init", "step": 0, "time": time.time(), **step0})
        self.metrics.scalars(
            0,
            {f"Init_{key}": value for key, value in step0.items()},
            text={"Init_From": f"{record.source} ({record.kind}: {record.path})"},
        )

    def _log_latent(self, step):
        """`latent_diagnostic` of a conditional model on a fixed subset of the valid split.

        The subset is the split's first `latent_count` sketches in file order (seed
        `latent_seed`, τ 0.1); the result is logged to TensorBoard and metrics.jsonl (split
        "valid_latent") when the run has a log_root.
        """
        if not (self.hparams.conditional and self.log_root and self.latent_count >= 2):
            return
        data = self.valid_data
        first = np.argsort(data.order, kind="stable")[: self.latent_count]
        scale = np.array([data.scale_factor, data.scale_factor, 1.0], np.float32)
        sketches = [data.strokes[k] * scale for k in first]
        if len(sketches) < 2:
            return
        d = latent_diagnostic(
            self.model, sketches, temperature=0.1, seed=self.latent_seed, count=None
        )
        record = {
            "split": "valid_latent",
            "step": int(step),
            "time": time.time(),
            **{
                k: float(d[k])
                for k in (
                    "r_cost_own",
                    "r_cost_shuffled",
                    "ratio",
                    "chamfer_own",
                    "chamfer_other",
                    "count",
                )
            },
        }
        self.metrics.scalars(
            step,
            {
                "Valid_Latent_Reconstr_Cost_Own_z": record["r_cost_own"],
                "Valid_Latent_Reconstr_Cost_Shuffled_z": record["r_cost_shuffled"],
                "Valid_Latent_Chamfer_Ratio": record["ratio"],
            },
        )
        self.metrics.append(record)
        logging.info(
            "valid latent step %d (%d sketches): L_R own z %.4f, shuffled z %.4f, "
            "Chamfer ratio %.3f",
            step,
            d["count"],
            d["r_cost_own"],
            d["r_cost_shuffled"],
            d["ratio"],
        )
