"""Batched, compiled sampling from the decoder (Section 3.3, Eq. 8).

All `n` sketches are decoded together in one `tf.while_loop` inside a `tf.function` with a fixed
input signature (so it is traced once per model, and can be exported in a SavedModel). Randomness
comes from stateless RNG ops keyed on (seed, step), so a seeded call repeats exactly, whatever the
batch size.

Each step draws from the decoder's `mixture.StrokeDistribution`, tempered (its `tempered` copy) as
Magenta's `sample()` tempers it (`temperature_mode="magenta"`, the default):
  π̂ → π̂/τ and q̂ → q̂/τ (softmax logits), and σ → σ·τ.
The paper (Eq. 8) and magenta-js scale the variance by τ instead, σ → σ·√τ:
`temperature_mode="paper"`. `greedy=True` takes the most likely component, its mean, and the most
likely pen state.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from ..data import strokes as stroke_format
from . import mixture
from .preprocessor import ModelInputError
from .rnn import run_rnn

PAD_ROW = (0.0, 0.0, 0.0, 0.0, 1.0)


class Sampler(tf.Module):
    """Compiled batched sampler of a `SketchRNN`.

    `decode(z, state, prev, temperature, greedy, seed, steps, sqrt_temperature)` is the graph
    function: from decoder state `state` and previous stroke `prev` [n, 5] (normalised units), it
    draws up to `steps` stroke-5 rows per sketch and stops early once every sketch has drawn its
    end-of-sketch (p3) row; rows after a sketch's end are padding (0, 0, 0, 0, 1).
    """

    def __init__(self, model):
        super().__init__(name="sampler")
        self.model = model
        hp = model.hparams
        z_dim = hp.z_size if hp.conditional else 0
        state_size = model.decoder.cell.state_size
        self.decode = tf.function(
            self._decode,
            input_signature=[
                tf.TensorSpec([None, z_dim], tf.float32, name="z"),
                tf.TensorSpec([None, state_size], tf.float32, name="state"),
                tf.TensorSpec([None, 5], tf.float32, name="prev"),
                tf.TensorSpec([], tf.float32, name="temperature"),
                tf.TensorSpec([], tf.bool, name="greedy"),
                tf.TensorSpec([2], tf.int64, name="seed"),
                tf.TensorSpec([], tf.int32, name="steps"),
                tf.TensorSpec([], tf.bool, name="sqrt_temperature"),
            ],
        )
        self.initial_state = tf.function(
            self._initial_state,
            input_signature=[tf.TensorSpec([None, z_dim], tf.float32, name="z")],
        )
        self.prime = tf.function(
            self._prime,
            input_signature=[
                tf.TensorSpec([None, z_dim], tf.float32, name="z"),
                tf.TensorSpec([None, None, 5], tf.float32, name="strokes"),
                tf.TensorSpec([None], tf.int32, name="lengths"),
            ],
        )

    # ------------------------------------------------------------ graph parts
    def _initial_state(self, z):
        dec = self.model.decoder
        return dec.initial_state(z if self.model.conditional else None, tf.shape(z)[0])

    def _prime(self, z, strokes, lengths):
        """Feeds S_0..S_{P-1} of each prefix (P = its length) through the decoder.

        `strokes` is a padded stroke-5 batch with S0 at row 0. Returns (state after those inputs,
        S_P, the last given stroke, which is the next input).
        """
        dec = self.model.decoder
        state0 = self._initial_state(z)
        _, state = run_rnn(
            dec.cell,
            strokes,
            state0,
            sequence_length=lengths,
            return_outputs=False,
            constant=z if self.model.conditional else None,
        )
        prev = tf.gather(strokes, lengths, batch_dims=1)
        return state, prev

    def _decode(self, z, state, prev, temperature, greedy, seed, steps, sqrt_temperature):
        dec = self.model.decoder
        m = self.model.hparams.num_mixture
        n = tf.shape(prev)[0]
        pad = tf.broadcast_to(tf.constant(PAD_ROW, tf.float32), [n, 5])
        # Read once, outside the loop: the weights, and z's share of the input projection.
        projection = dec.input_projection(z if self.model.conditional else None)
        weights = dec.cell.loop_weights()
        # Greedy decoding may pass any temperature (0 included); the draw it discards uses τ = 1.
        temperature = tf.where(greedy, 1.0, temperature)

        def body(t, prev, state, finished, rows):
            y, state = dec.step(prev, None, state, projection, weights)
            dist = mixture.output_distribution(y, m)
            # Step t's draw: component, offsets and pen from three keys split off (seed, t).
            drawn = dist.tempered(temperature, sqrt_temperature).sample(
                seed=tf.random.experimental.stateless_fold_in(seed, tf.cast(t, tf.int64))
            )
            row = tf.where(greedy, dist.greedy(), drawn)
            row = tf.where(finished[:, None], pad, row)
            rows = rows.write(t, row)
            return t + 1, row, state, finished | tf.equal(row[:, 4], 1.0), rows

        rows = tf.TensorArray(tf.float32, size=0, dynamic_size=True, element_shape=[None, 5])
        _, _, _, _, rows = tf.while_loop(
            lambda t, prev, state, finished, rows: tf.logical_and(
                t < steps, tf.logical_not(tf.reduce_all(finished))
            ),
            body,
            (tf.constant(0), prev, state, tf.zeros([n], tf.bool), rows),
        )
        return tf.transpose(rows.stack(), [1, 0, 2])

    # ------------------------------------------------------------- user API
    def sample(
        self,
        n=1,
        temperature=1.0,
        z=None,
        seed=None,
        greedy=False,
        temperature_mode="magenta",
        max_len=None,
        prefix=None,
    ):
        """Draws `n` sketches; returns a list of stroke-3 arrays in pixels.

        Args:
          n: number of sketches, decoded as one batch.
          temperature: τ > 0 (ignored when greedy).
          z: latent [z_size] or [n, z_size] for a conditional model; default z ~ N(0, I).
          seed: int for an exactly repeatable draw; None draws a fresh seed.
          greedy: most likely component, its mean and most likely pen state at every step.
          temperature_mode: "magenta" (σ·τ) or "paper" (σ·√τ); see the module docstring.
          max_len: number of steps (default: the model's max_seq_len).
          prefix: stroke-3 sketches in pixels (one, or one per sample) that each sketch continues.
        """
        model = self.model
        pre = model.preprocessor  # argument checks, z and post-processing: the numpy front door
        n, temperature, max_len, seed = pre.sample_args(
            n, temperature, greedy, temperature_mode, max_len, seed
        )
        z = tf.constant(pre.latents(n, z, np.random.default_rng(seed)))
        if prefix is None:
            state = self.initial_state(z)
            prev = tf.constant(np.tile(stroke_format.START_TOKEN, (n, 1)), tf.float32)
            prefix_rows = [np.zeros((0, 5), np.float32)] * n
            steps = max_len
        else:
            prefixes = pre.sketches(prefix, what="prefix")
            if len(prefixes) == 1:
                prefixes = prefixes * n
            if len(prefixes) != n:
                raise ModelInputError(
                    f"got {len(prefixes)} prefixes for n={n} sketches; give one or n",
                    where="sample()",
                )
            batch, lengths = model.prepare(prefixes)
            state, prev = self.prime(z, batch, lengths)
            prefix_rows = [batch.numpy()[i, 1 : lengths[i] + 1] for i in range(n)]
            steps = max_len - int(tf.reduce_min(lengths))
        rows = self.decode(
            z,
            state,
            prev,
            tf.constant(temperature),
            tf.constant(bool(greedy)),
            tf.constant([seed, 0], tf.int64),
            tf.constant(max(steps, 0), tf.int32),
            tf.constant(temperature_mode == "paper"),
        ).numpy()
        return pre.postprocess(
            np.concatenate([prefix_rows[i], rows[i]], axis=0)[: max(max_len, len(prefix_rows[i]))]
            for i in range(n)
        )
