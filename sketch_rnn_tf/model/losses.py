"""sketch-rnn's loss terms, exactly as Magenta computes them.

* Reconstruction loss L_R = L_s + L_p (Eqs. 9-10): the offset term is masked after the end of the
  sketch (multiplied by 1 − p3); the pen term counts on all N_max steps while training and is masked
  in evaluation, as in Magenta's code (`is_training`). Both are averaged over batch × N_max rows, so
  they are normalised by N_max, the padded length, as the paper writes.
* KL loss L_KL (Eq. 10) is averaged over batch and z dimensions and floored at `kl_tolerance`
  (the supplementary's KL floor): max(L_KL, kl_tolerance).
* Total loss L = L_R + w_KL · L_KL (Eq. 11), with w_KL annealed (see training/schedules.py).

`SketchRNNLoss` assembles them; the functions above it are its terms.
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


class SketchRNNLoss:
    """sketch-rnn's objective: L = L_R + w_KL · max(L_KL, kl_tolerance) (Eqs. 9-11), Magenta's way.

    The one place where the terms are assembled: every training step (one device and distributed),
    validation, evaluation, the SavedModel's `reconstruction_loss` and the JAX trainer's parity test
    call it. It owns the masking (the pen loss is masked after the end only when asked: Magenta's
    evaluation graph; its training and validation do not), the KL floor and the weighting.

    Args:
      num_mixture: M, the number of mixture components of the decoder's output.
      kl_tolerance: the KL floor.
      conditional: whether the model has a latent space (decoder-only models have no KL term).

    Example:
    >>> import numpy as np, tensorflow as tf
    >>> from sketch_rnn_tf import HParams, SketchRNN
    >>> from sketch_rnn_tf.model.losses import SketchRNNLoss
    >>> hp = HParams(enc_rnn_size=8, dec_rnn_size=16, z_size=4, num_mixture=3, max_seq_len=5)
    >>> model = SketchRNN(hp, scale_factor=10.0)
    >>> batch, lengths = model.prepare([np.array([[3, 4, 0], [5, 0, 1]], np.float32)])
    >>> loss = SketchRNNLoss.from_hparams(hp)
    >>> terms = loss(model((batch, lengths)), batch, kl_weight=0.5)
    >>> sorted(terms)
    ['cost', 'kl', 'kl_raw', 'offset', 'pen', 'r_cost']
    """

    def __init__(self, num_mixture: int, kl_tolerance: float = 0.2, conditional: bool = True):
        self.num_mixture = int(num_mixture)
        self.kl_tolerance = float(kl_tolerance)
        self.conditional = bool(conditional)

    @classmethod
    def from_hparams(cls, hparams) -> "SketchRNNLoss":
        return cls(hparams.num_mixture, hparams.kl_tolerance, hparams.conditional)

    def reconstruction(self, y, strokes, mask_pen=False) -> ReconstructionLoss:
        """L_R of decoder outputs y [B, N_max, 6M+3] for a padded stroke-5 batch [B, N_max+1, 5]."""
        targets = tf.convert_to_tensor(strokes, tf.float32)[:, 1:]
        return reconstruction_loss(y, targets, self.num_mixture, mask_pen)

    def kl(self, kl_raw, decided_by=None):
        """The floored KL term (0 for a decoder-only model); see `kl_floor` for `decided_by`."""
        if not self.conditional:
            return tf.constant(0.0)
        return kl_floor(kl_raw, self.kl_tolerance, decided_by)

    def terms(self, outputs, strokes, mask_pen=False, kl_decided_by=None) -> dict:
        """{r_cost, offset, pen, kl_raw, kl} of a model's outputs (`SketchRNN.call`'s dict)."""
        r = self.reconstruction(outputs["y"], strokes, mask_pen)
        result = {"r_cost": r.total, "offset": r.offset, "pen": r.pen}
        if self.conditional:
            result["kl_raw"] = kl_divergence(outputs["mu"], outputs["presig"])
        else:
            result["kl_raw"] = tf.constant(0.0)
        result["kl"] = self.kl(result["kl_raw"], kl_decided_by)
        return result

    @staticmethod
    def total(terms, kl_weight):
        """L = L_R + w_KL · (floored) L_KL (Eq. 11)."""
        return terms["r_cost"] + kl_weight * terms["kl"]

    def __call__(self, outputs, strokes, kl_weight, mask_pen=False, kl_decided_by=None) -> dict:
        """`terms` plus `cost`, the weighted total."""
        terms = self.terms(outputs, strokes, mask_pen, kl_decided_by)
        terms["cost"] = self.total(terms, kl_weight)
        return terms
