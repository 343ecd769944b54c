"""Magenta's per-step schedules (`sketch_rnn_train.py: train`), as graph-friendly functions.

The step is read *before* each update (step 0 for the first batch):

  learning rate  lr_step = (lr − lr_min) · decay_rate^step + lr_min
  KL weight      w_KL    = kl_weight − (kl_weight − kl_weight_start) · kl_decay_rate^step

The KL weight is the supplementary's annealing η_step = 1 − (1 − η_min) R^step, scaled by w_KL, with
η_min = kl_weight_start / kl_weight. Both are pure functions of the step, so a resumed run continues
the same schedule.
"""

from __future__ import annotations

import tensorflow as tf


def learning_rate(hparams, step):
    step = tf.cast(step, tf.float32)
    return (hparams.learning_rate - hparams.min_learning_rate) * tf.pow(
        tf.constant(hparams.decay_rate, tf.float32), step
    ) + hparams.min_learning_rate


def kl_weight(hparams, step):
    step = tf.cast(step, tf.float32)
    return hparams.kl_weight - (hparams.kl_weight - hparams.kl_weight_start) * tf.pow(
        tf.constant(hparams.kl_decay_rate, tf.float32), step
    )
