"""Magenta's per-step schedules (`sketch_rnn_train.py: train`), as graph-friendly functions.

The step is read *before* each update (step 0 for the first batch):

  learning rate  lr_step = (lr − lr_min) · decay_rate^step + lr_min
                 · min(1, (step + 1) / lr_warmup_steps)   (lr_warmup_steps > 0; not Magenta's)
  KL weight      w_KL    = kl_weight − (kl_weight − kl_weight_start) · kl_decay_rate^step

The KL weight is the supplementary's annealing η_step = 1 − (1 − η_min) R^step, scaled by w_KL, with
η_min = kl_weight_start / kl_weight. Both are pure functions of the step, so a resumed run continues
the same schedule.

The warm-up is this package's addition for fine-tuning (`train --init_from`): Adam's first steps
move every weight by about lr whatever its gradient (m̂/√v̂ ≈ ±1 before the moments settle), and a
pretrained model does not survive that (one step at lr 1e-5 takes the `sheep` model's valid cost on
aaron_sheep from 0.37 to 0.48); ramping lr up while the moments fill lets noisy weights stay put.
It is 0 (off) by default, so from-scratch runs follow Magenta's schedule exactly.
"""

from __future__ import annotations

import tensorflow as tf


def learning_rate(hparams, step):
    step = tf.cast(step, tf.float32)
    lr = (hparams.learning_rate - hparams.min_learning_rate) * tf.pow(
        tf.constant(hparams.decay_rate, tf.float32), step
    ) + hparams.min_learning_rate
    if hparams.lr_warmup_steps > 0:
        lr = lr * tf.minimum(1.0, (step + 1.0) / float(hparams.lr_warmup_steps))
    return lr


def kl_weight(hparams, step):
    step = tf.cast(step, tf.float32)
    return hparams.kl_weight - (hparams.kl_weight - hparams.kl_weight_start) * tf.pow(
        tf.constant(hparams.kl_decay_rate, tf.float32), step
    )
