"""Training sketch-rnn as Magenta does (`sketch_rnn_train.py`), under `tf.function`.

One step: read the step, set lr and w_KL from it (training/schedules.py),
L = L_R + w_KL·max(L_KL, tol) (Eq. 11 with the supplementary's KL floor), Adam (β1 0.9, β2 0.999,
ε 1e-8 as TF1's Adam), gradients clipped element-wise to ±grad_clip, as Magenta's
`tf.clip_by_value`. A step whose loss or gradients are not finite is skipped (counted in
`nonfinite_steps`): the weights and Adam's moments are left as they were.

Every `save_every` steps the valid split is evaluated as Magenta's eval model does (dropout off, pen
loss unmasked, z sampled, its KL weight at kl_weight_start); when the valid cost improves, the model
is saved to `<log_root>/best` (this package's model format) and the test split is evaluated. The
last training state (`<log_root>/train`: weights, Adam state, step) is saved by a
`tf.train.CheckpointManager` at the same time and at the end; a run restarted with the same
`log_root` resumes from it with the same step, optimiser state, schedules and data order (batches
are a function of (seed, step)); z and the dropout masks are drawn from stateless seeds derived from
(seed, step), so the resumed run repeats the uninterrupted one exactly.

Under a `tf.distribute` strategy (argument `strategy`, or a strategy scope around the Trainer) each
replica trains on a contiguous slice of the global batch and the step equals the one-device step on
that global batch (see `_distributed_step_fn`).
"""

from __future__ import annotations

import json
import os
import time

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from ..data.loader import DataLoader
from ..errors import SketchRNNError
from ..formats import save_model
from ..hparams import HParams
from ..model.losses import kl_floor
from ..model.seeds import RowSeed
from . import schedules
from .evaluate import latent_diagnostic, point_nll

TRAIN_DIR = "train"
BEST_DIR = "best"
METRICS_FILE = "metrics.jsonl"


class TrainingError(SketchRNNError, RuntimeError):
    """Training cannot start or continue (e.g. a log_root of another config)."""


def make_log_root(log_root) -> None:
    """Creates the run directory `log_root`, or raises TrainingError if it cannot be one."""
    try:
        os.makedirs(log_root, exist_ok=True)
    except OSError as e:
        raise TrainingError(
            f"cannot use log_root {os.fspath(log_root)!r}: {e.strerror or e} (it "
            "must be a directory or a path where one can be made)"
        ) from None


def make_optimizer(hparams):
    """Adam with TF1's epsilon 1e-8 (Keras' default is 1e-7); lr is set every step."""
    return keras.optimizers.Adam(
        learning_rate=hparams.learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-8
    )


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
        # A strategy given, or one whose scope we are in, trains with `_distributed_step_fn`;
        # otherwise the one-device `_step_fn` runs, as before strategies were supported.
        self.distributed = strategy is not None or tf.distribute.has_strategy()
        self.strategy = strategy or tf.distribute.get_strategy()
        replicas = self.strategy.num_replicas_in_sync
        if self.distributed and self.hparams.batch_size % replicas:
            raise TrainingError(
                f"batch_size {self.hparams.batch_size} is not divisible by the "
                f"{replicas} replicas of the strategy"
            )
        with self.strategy.scope():
            self.optimizer = make_optimizer(self.hparams)
            self.optimizer.build(model.trainable_variables)
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
            self.nonfinite_steps = tf.Variable(
                0, dtype=tf.int64, trainable=False, name="nonfinite_steps"
            )
            self.best_valid_cost = tf.Variable(
                np.inf, dtype=tf.float32, trainable=False, name="best_valid_cost"
            )
        self.checkpoint = tf.train.Checkpoint(
            model=model,
            optimizer=self.optimizer,
            step=self.step,
            nonfinite_steps=self.nonfinite_steps,
            best_valid_cost=self.best_valid_cost,
        )
        self.manager = None
        self.writer = None
        if log_root:
            make_log_root(log_root)
            self._check_config()
            self.manager = tf.train.CheckpointManager(
                self.checkpoint, os.path.join(log_root, TRAIN_DIR), max_to_keep=2
            )
            self.writer = tf.summary.create_file_writer(os.path.join(log_root, "tensorboard"))
        if self.distributed:
            self._train_step = tf.function(self._distributed_step_fn, reduce_retracing=True)
        else:
            self._train_step = tf.function(
                self._step_fn, jit_compile=jit_compile, reduce_retracing=True
            )
        self._eval_step = tf.function(self._eval_fn, reduce_retracing=True)

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

    # ------------------------------------------------------------ graph
    def _begin_step(self):
        """lr and w_KL from the step read before the update, set lr; the step's random seed."""
        step = self.step.read_value()
        lr = schedules.learning_rate(self.hparams, step)
        klw = schedules.kl_weight(self.hparams, step)
        self.optimizer.learning_rate.assign(lr)
        return lr, klw, tf.stack([tf.constant(self.seed, tf.int64), step])

    def _finish_step(self, grads, variables, cost, lr, klw, losses):
        """Clips element-wise, applies Adam (or counts a non-finite step) and advances the step."""
        clip = self.hparams.grad_clip
        grads = [tf.clip_by_value(g, -clip, clip) for g in grads]
        finite = tf.math.is_finite(cost)
        for g in grads:
            finite = tf.logical_and(finite, tf.reduce_all(tf.math.is_finite(g)))

        def apply():
            self.optimizer.apply_gradients(zip(grads, variables))
            return tf.constant(0, tf.int64)

        skipped = tf.cond(finite, apply, lambda: tf.constant(1, tf.int64))
        self.nonfinite_steps.assign_add(skipped)
        self.step.assign_add(1)
        return dict(cost=cost, lr=lr, kl_weight=klw, finite=finite, **losses)

    def _step_fn(self, x, seq_len):
        lr, klw, seed = self._begin_step()
        variables = self.model.trainable_variables
        with tf.GradientTape() as tape:
            losses = self.model.compute_losses(x, seq_len, training=True, seed=seed)
            cost = losses["r_cost"] + klw * losses["kl"]
        grads = tape.gradient(cost, variables)
        return self._finish_step(grads, variables, cost, lr, klw, losses)

    def _distributed_step_fn(self, x, seq_len):
        """`_step_fn` under `self.strategy`, equal to it on the same global batch (up to rounding).

        Every replica receives the global batch (a pure function of (seed, step), so each worker of
        a multi-worker strategy builds the same one) and keeps its contiguous slice of B/R rows. Its
        random draws (z, dropout) are those of its rows in the one-device step (`RowSeed`). The KL
        floor max(L_KL, tol) is taken on the global-batch mean, as one device takes it. Gradients of
        the per-replica cost / R are summed across replicas (all-reduce); clipping, the finiteness
        check and the Adam update then run once, in cross-replica context, on the global gradient.
        """
        hp = self.hparams
        strategy = self.strategy
        replicas = strategy.num_replicas_in_sync
        lr, klw, seed = self._begin_step()
        variables = self.model.trainable_variables
        total = tf.shape(x)[0]
        per_replica = hp.batch_size // replicas  # divisible: checked in __init__

        def replica_fn(x, seq_len):
            ctx = tf.distribute.get_replica_context()
            offset = tf.cast(ctx.replica_id_in_sync_group, tf.int32) * per_replica
            x_r = x[offset : offset + per_replica]
            len_r = seq_len[offset : offset + per_replica]
            with tf.GradientTape() as tape:
                losses = self.model.compute_losses(
                    x_r, len_r, training=True, seed=RowSeed.make(seed, offset, total)
                )
                global_kl = ctx.all_reduce(
                    tf.distribute.ReduceOp.MEAN, tf.stop_gradient(losses["kl_raw"])
                )
                kl_term = (
                    kl_floor(losses["kl_raw"], hp.kl_tolerance, decided_by=global_kl)
                    if hp.conditional
                    else losses["kl"]
                )
                cost = (losses["r_cost"] + klw * kl_term) / replicas
            grads = tape.gradient(cost, variables)
            grads = [tf.zeros_like(v) if g is None else g for g, v in zip(grads, variables)]
            # Reduced here, in replica context: MultiWorkerMirroredStrategy's cross-replica
            # `reduce` cannot take a list of tensors of different shapes.
            grads = ctx.all_reduce(tf.distribute.ReduceOp.SUM, grads)
            losses = ctx.all_reduce(
                tf.distribute.ReduceOp.MEAN,
                {k: losses[k] for k in ("r_cost", "offset", "pen", "kl_raw")},
            )
            return grads, losses

        # Every replica now holds the same global values; take this worker's first copy.
        grads, losses = tf.nest.map_structure(
            lambda v: strategy.experimental_local_results(v)[0],
            strategy.run(replica_fn, args=(x, seq_len)),
        )
        if hp.conditional:
            losses["kl"] = kl_floor(losses["kl_raw"], hp.kl_tolerance)
        else:
            losses["kl"] = losses["kl_raw"] = tf.constant(0.0)
        cost = losses["r_cost"] + klw * losses["kl"]
        return self._finish_step(grads, variables, cost, lr, klw, losses)

    def _eval_fn(self, x, seq_len, seed):
        losses = self.model.compute_losses(x, seq_len, training=False, mask_pen=False, seed=seed)
        losses["cost"] = losses["r_cost"] + self.hparams.kl_weight_start * losses["kl"]
        return losses

    # ------------------------------------------------------------ API
    def train_step(self, x, seq_len):
        """One optimisation step on a padded batch; returns the loss terms as floats."""
        out = self._train_step(tf.constant(x), tf.constant(seq_len))
        return {k: float(v) for k, v in out.items()}

    def evaluate(self, data: DataLoader):
        """Mean cost, r_cost, kl over a split's sequential batches (Magenta's evaluate_model)."""
        totals = {"cost": 0.0, "r_cost": 0.0, "kl": 0.0}
        batches = data.eval_batches()
        for i, (x, seq_len) in enumerate(batches):
            out = self._eval_step(
                tf.constant(x), tf.constant(seq_len), tf.constant([self.seed + 1, i], tf.int64)
            )
            for k in totals:
                totals[k] += float(out[k])
        return {k: v / max(len(batches), 1) for k, v in totals.items()}

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
        bar = _progress_bar(start, num_steps) if self.progress else None
        data = iter(self.train_data.as_dataset(start_step=start))
        window_start, window_steps, last = time.perf_counter(), 0, {}
        try:
            for step in range(start, num_steps):
                x, seq_len = next(data)
                out = {k: float(v) for k, v in self._train_step(x, seq_len).items()}
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
                    last = self._log("train", step + 1, out)
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
            self._log("valid", step, valid)
            self._log_latent(step)
            if valid["cost"] < float(self.best_valid_cost.numpy()):
                self.best_valid_cost.assign(valid["cost"])
                if self.log_root:
                    save_model(self.model, os.path.join(self.log_root, BEST_DIR))
                if self.test_data is not None:
                    self._log("test", step, self.evaluate(self.test_data))
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
        self._append_metrics({"split": "init", "step": 0, "time": time.time(), **step0})
        with self.writer.as_default(step=0):
            for key, value in step0.items():
                tf.summary.scalar(f"Init_{key}", value)
            tf.summary.text("Init_From", f"{record.source} ({record.kind}: {record.path})")
        self.writer.flush()

    def _append_metrics(self, record):
        with open(os.path.join(self.log_root, METRICS_FILE), "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")

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
        with self.writer.as_default(step=step):
            tf.summary.scalar("Valid_Latent_Reconstr_Cost_Own_z", record["r_cost_own"])
            tf.summary.scalar("Valid_Latent_Reconstr_Cost_Shuffled_z", record["r_cost_shuffled"])
            tf.summary.scalar("Valid_Latent_Chamfer_Ratio", record["ratio"])
        self.writer.flush()
        self._append_metrics(record)
        logging.info(
            "valid latent step %d (%d sketches): L_R own z %.4f, shuffled z %.4f, "
            "Chamfer ratio %.3f",
            step,
            d["count"],
            d["r_cost_own"],
            d["r_cost_shuffled"],
            d["ratio"],
        )

    def _log(self, split, step, values):
        record = {"split": split, "step": int(step), "time": time.time()}
        record.update({k: float(v) for k, v in values.items() if k != "finite"})
        if self.writer is not None:
            tags = {"train": "Train", "valid": "Valid", "test": "Eval"}[split]
            with self.writer.as_default(step=step):
                tf.summary.scalar(f"{tags}_Cost", record["cost"])
                tf.summary.scalar(f"{tags}_Reconstr_Cost", record["r_cost"])
                tf.summary.scalar(f"{tags}_KL_Cost", record["kl"])
                if split == "train":
                    tf.summary.scalar("Learning_Rate", record["lr"])
                    tf.summary.scalar("KL_Weight", record["kl_weight"])
                    tf.summary.scalar("Steps_Per_Sec", record["steps_per_sec"])
            self.writer.flush()
        if self.log_root:
            self._append_metrics(record)
        logging.info(
            "%s step %d: %s",
            split,
            step,
            ", ".join(
                f"{k} {v:.4f}" for k, v in record.items() if k not in ("split", "step", "time")
            ),
        )
        return record


def _progress_bar(start, total):
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return None
    return tqdm(total=total, initial=start, unit="step", dynamic_ncols=True, mininterval=1.0)


def read_metrics(log_root):
    """The metrics a run logged, as a list of dicts (split, step, cost, r_cost, kl, ...).

    A run that was killed and resumed logs some steps twice; the later record of a step wins.
    """
    path = os.path.join(log_root, METRICS_FILE)
    if not os.path.exists(path):
        return []
    records = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:  # a line cut short by a kill
                continue
            records[(record["split"], record["step"])] = record
    return sorted(records.values(), key=lambda r: (r["step"], r["split"]))
