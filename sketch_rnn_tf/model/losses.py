"""sketch-rnn's loss terms, exactly as Magenta computes them.

* Reconstruction loss L_R = L_s + L_p (Eqs. 9-10): the offset term is masked after the end of the
  sketch (multiplied by 1 − p3); the pen term counts on all N_max steps while training and is masked
  in evaluation, as in Magenta's code (`is_training`). Both are averaged over batch × N_max rows, so
  they are normalised by N_max, the padded length, as the paper writes.
* KL loss L_KL (Eq. 10) is averaged over batch and z dimensions and floored at `kl_tolerance`
  (the supplementary's KL floor): max(L_KL, kl_tolerance).
* Total loss L = L_R + w_KL · L_KL (Eq. 11), with w_KL annealed (see training/schedules.py).
"""

from __future__ import annotations

from typing import NamedTuple

import tensorflow as tf

from . import mixture


class ReconstructionLoss(NamedTuple):
    total: tf.Tensor  # L_R = mean(L_s + L_p)
    offset: tf.Tensor  # mean of the masked offset NLL
    pen: tf.Tensor  # mean of the pen cross-entropy


def reconstruction_loss(y, targets, num_mixture, mask_pen=False) -> ReconstructionLoss:
    """L_R for decoder outputs y [B, T, 6M+3] and stroke-5 targets [B, T, 5].

    Both terms are log-probabilities of the targets under the decoder's `StrokeDistribution`:
    L_s = −log(p(Δx, Δy) + 1e-6)·(1 − p3) from its offset mixture, L_p = −log q(p) from its pen
    categorical.
    """
    dist = mixture.output_distribution(y, num_mixture)
    not_end = 1.0 - targets[..., 4]
    offset = mixture.offset_nll(dist, targets[..., :2]) * not_end
    pen_loss = -dist.pen.log_prob(targets[..., 2:5])
    if mask_pen:
        pen_loss = pen_loss * not_end
    return ReconstructionLoss(
        tf.reduce_mean(offset + pen_loss), tf.reduce_mean(offset), tf.reduce_mean(pen_loss)
    )


def kl_divergence(mu, presig):
    """−½ mean(1 + σ̂ − μ² − exp σ̂) over batch and z (Eq. 10), before the floor."""
    return -0.5 * tf.reduce_mean(1.0 + presig - tf.square(mu) - tf.exp(presig))


def kl_floor(kl, kl_tolerance, decided_by=None):
    """The supplementary's KL floor max(L_KL, kl_tolerance), which Magenta reports and optimises.

    Args:
      kl: L_KL before the floor (a scalar tensor).
      kl_tolerance: the floor.
      decided_by: the value whose comparison with the floor decides between `kl` and the floor,
        when it is not `kl` itself: in a distributed step, the global-batch mean of L_KL, so that
        every replica floors (or not) as one device would.
    """
    if decided_by is None:
        return tf.maximum(kl, kl_tolerance)
    return tf.where(decided_by > kl_tolerance, kl, tf.cast(kl_tolerance, kl.dtype))


def kl_loss(mu, presig, kl_tolerance):
    """max(L_KL, kl_tolerance), the floored KL that Magenta reports and optimises."""
    return kl_floor(kl_divergence(mu, presig), kl_tolerance)
