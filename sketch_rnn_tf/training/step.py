"""One training step of sketch-rnn, as Magenta's `sketch_rnn_train.py` takes it (`tf.function`).

Read the step, set lr and w_KL from it (training/schedules.py), L = L_R + w_KL·max(L_KL, tol)
(Eq. 11 with the supplementary's KL floor: the model's objective, `model.losses.SketchRNNLoss`),
Adam (β1 0.9, β2 0.999, ε 1e-8 as TF1's Adam), gradients clipped element-wise to ±grad_clip, as
Magenta's `tf.clip_by_value`. A step whose loss or gradients are not finite is skipped (counted in
`nonfinite_steps`): the weights and Adam's moments are left as they were. z and the dropout masks
are drawn from stateless seeds derived from (seed, step), so a resumed run repeats the
uninterrupted one exactly.

Under a `tf.distribute` strategy each replica trains on a contiguous slice of the global batch and
the step equals the one-device step on that global batch (see `_distributed_step_fn`).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from ..errors import SketchRNNError
from ..model.seeds import RowSeed
from . import schedules


class TrainingError(SketchRNNError, RuntimeError):
    """Training cannot start or continue (e.g. a log_root of another config)."""


def make_optimizer(hparams):
    """Adam with TF1's epsilon 1e-8 (Keras' default is 1e-7); lr is set every step."""
    return keras.optimizers.Adam(
        learning_rate=hparams.learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-8
    )


class TrainStep:
    """The compiled training and evaluation steps of one model, and the state they advance.

    Attributes:
      model, hparams, objective: the `SketchRNN`, its `HParams` and its `SketchRNNLoss`.
      optimizer: Adam (`make_optimizer`).
      step, nonfinite_steps, best_valid_cost: the run's counters (tf.Variables, checkpointed).
      strategy, distributed: the `tf.distribute` strategy, and whether one was asked for.

    Args:
      model: the `SketchRNN` to train.
      seed: seeds z and the dropout masks of every step (with the step).
      jit_compile: compile the training step with XLA.
      strategy: a `tf.distribute` strategy (or the one whose scope we are in), or None.
    """

    def __init__(self, model, seed=0, jit_compile=False, strategy=None):
        self.model = model
        self.hparams = model.hparams
        self.objective = model.objective
        self.seed = int(seed)
        # A strategy given, or one whose scope we are in, trains with `_distributed_step_fn`;
        # otherwise the one-device `_step_fn` runs.
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
        if self.distributed:
            self.train_fn = tf.function(
                self._distributed_step_fn, reduce_retracing=True, autograph=False
            )
        else:
            self.train_fn = tf.function(
                self._step_fn, jit_compile=jit_compile, reduce_retracing=True, autograph=False
            )
        self.eval_fn = tf.function(self._eval_fn, reduce_retracing=True, autograph=False)

    def _begin_step(self):
        """lr and w_KL from the step read before the update, set lr; the step's random seed."""
        step = self.step.read_value()
        lr = schedules.learning_rate(self.hparams, step)
        klw = schedules.kl_weight(self.hparams, step)
        self.optimizer.learning_rate.assign(lr)
        return lr, klw, tf.stack([tf.constant(self.seed, tf.int64), step])

    def _finish_step(self, grads, variables, terms, lr, klw):
        """Clips element-wise, applies Adam (or counts a non-finite step) and advances the step."""
        clip = self.hparams.grad_clip
        grads = [tf.clip_by_value(g, -clip, clip) for g in grads]
        finite = tf.math.is_finite(terms["cost"])
        for g in grads:
            finite = tf.logical_and(finite, tf.reduce_all(tf.math.is_finite(g)))

        def apply():
            self.optimizer.apply_gradients(zip(grads, variables))
            return tf.constant(0, tf.int64)

        skipped = tf.cond(finite, apply, lambda: tf.constant(1, tf.int64))
        self.nonfinite_steps.assign_add(skipped)
        self.step.assign_add(1)
        return dict(lr=lr, kl_weight=klw, finite=finite, **terms)

    def _step_fn(self, x, seq_len):
        lr, klw, seed = self._begin_step()
        variables = self.model.trainable_variables
        with tf.GradientTape() as tape:
            out = self.model((x, seq_len), training=True, seed=seed)
            terms = self.objective(out, x, klw)
        grads = tape.gradient(terms["cost"], variables)
        return self._finish_step(grads, variables, terms, lr, klw)

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
                out = self.model(
                    (x_r, len_r), training=True, seed=RowSeed.make(seed, offset, total)
                )
                terms = self.objective.terms(out, x_r)
                global_kl = ctx.all_reduce(
                    tf.distribute.ReduceOp.MEAN, tf.stop_gradient(terms["kl_raw"])
                )
                terms["kl"] = self.objective.kl(terms["kl_raw"], decided_by=global_kl)
                cost = self.objective.total(terms, klw) / replicas
            grads = tape.gradient(cost, variables)
            grads = [tf.zeros_like(v) if g is None else g for g, v in zip(grads, variables)]
            # Reduced here, in replica context: MultiWorkerMirroredStrategy's cross-replica
            # `reduce` cannot take a list of tensors of different shapes.
            grads = ctx.all_reduce(tf.distribute.ReduceOp.SUM, grads)
            terms = ctx.all_reduce(
                tf.distribute.ReduceOp.MEAN,
                {k: terms[k] for k in ("r_cost", "offset", "pen", "kl_raw")},
            )
            return grads, terms

        # Every replica now holds the same global values; take this worker's first copy.
        grads, terms = tf.nest.map_structure(
            lambda v: strategy.experimental_local_results(v)[0],
            strategy.run(replica_fn, args=(x, seq_len)),
        )
        terms["kl"] = self.objective.kl(terms["kl_raw"])
        terms["cost"] = self.objective.total(terms, klw)
        return self._finish_step(grads, variables, terms, lr, klw)

    def _eval_fn(self, x, seq_len, seed):
        out = self.model((x, seq_len), training=False, seed=seed)
        return self.objective(out, x, self.hparams.kl_weight_start)

    def evaluate(self, data):
        """Mean cost, r_cost, kl over a split's sequential batches (Magenta's evaluate_model)."""
        totals = {"cost": 0.0, "r_cost": 0.0, "kl": 0.0}
        batches = data.eval_batches()
        for i, (x, seq_len) in enumerate(batches):
            out = self.eval_fn(
                tf.constant(x), tf.constant(seq_len), tf.constant([self.seed + 1, i], tf.int64)
            )
            for k in totals:
                totals[k] += float(out[k])
        return {k: v / max(len(batches), 1) for k, v in totals.items()}
