"""Generating sketches: the compiled batched decoding loop (Section 3.3, Eq. 8) and its front door.

All `n` sketches are decoded together in one `tf.while_loop` inside a `tf.function` with a fixed
input signature (`DecodeLoop`: traced once per model, and exportable in a SavedModel). Randomness
comes from stateless RNG ops keyed on (seed, step), so a seeded call repeats exactly, whatever the
batch size.

Each step draws from the decoder's `mixture.StrokeDistribution` as the `samplers.Sampler` says: its
`tempered` copy for a `TemperatureSampler`, the most likely row for a `GreedySampler`.

`generate(model, sampler, n, z, prefix)` is the front door of every generating function: it checks
n, z and the prefixes once (with the model's `SketchPreprocessor`) and decodes; `decode` is the same
without the checks, for callers that checked their inputs already (completion, the latent tools).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from ..data import strokes as stroke_format
from ..model import mixture
from ..model.preprocessor import ModelInputError
from ..model.rnn import run_rnn
from . import samplers

PAD_ROW = (0.0, 0.0, 0.0, 0.0, 1.0)


class DecodeLoop(tf.Module):
    """The compiled batched decoding loop of a `SketchRNN`.

    `decode(z, state, prev, temperature, greedy, seed, steps, sqrt_temperature)` is the graph
    function: from decoder state `state` and previous stroke `prev` [n, 5] (normalised units), it
    draws up to `steps` stroke-5 rows per sketch and stops early once every sketch has drawn its
    end-of-sketch (p3) row; rows after a sketch's end are padding (0, 0, 0, 0, 1).
    """

    def __init__(self, model):
        super().__init__(name="decode_loop")
        self.model = model
        hp = model.hparams
        z_dim = hp.latent_size
        state_size = model.decoder.cell.state_size
        self.decode = tf.function(
            self._decode,
            autograph=False,
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
            autograph=False,
            input_signature=[tf.TensorSpec([None, z_dim], tf.float32, name="z")],
        )
        self.prime = tf.function(
            self._prime,
            autograph=False,
            input_signature=[
                tf.TensorSpec([None, z_dim], tf.float32, name="z"),
                tf.TensorSpec([None, None, 5], tf.float32, name="strokes"),
                tf.TensorSpec([None], tf.int32, name="lengths"),
            ],
        )
        # Traced now, through get_concrete_function: calls never retrace, and TensorFlow's
        # retracing detector (which counts traces of this code across every model) sees none.
        for fn in (self.decode, self.initial_state, self.prime):
            fn.get_concrete_function()

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

    def run(self, sampler, z, prefix=None, seed=0):
        """Decodes one batch: rows [n, T, 5] (model units) of each sketch after its prefix.

        Args:
          sampler: a `samplers.Sampler`.
          z: float32 [n, latent_size] (checked).
          prefix: None, or (padded stroke-5 batch [n, P+1, 5], lengths [n]) of checked prefixes.
          seed: the call's seed.

        Returns:
          (rows [n, T, 5] numpy, steps taken from the start of each prefix's end).
        """
        z = tf.constant(z)
        n = int(z.shape[0])
        limit = sampler.limit(self.model.hparams.max_seq_len)
        if prefix is None:
            state = self.initial_state(z)
            prev = tf.constant(np.tile(stroke_format.START_TOKEN, (n, 1)), tf.float32)
            steps = limit
        else:
            batch, lengths = prefix
            state, prev = self.prime(z, tf.constant(batch), tf.constant(lengths))
            steps = limit - int(np.min(lengths))
        return self.decode(
            z,
            state,
            prev,
            tf.constant(sampler.temperature, tf.float32),
            tf.constant(bool(sampler.greedy)),
            tf.constant([seed, 0], tf.int64),
            tf.constant(max(steps, 0), tf.int32),
            tf.constant(sampler.temperature_mode == "paper"),
        ).numpy()


def decode_loop(model) -> DecodeLoop:
    """The model's `DecodeLoop`, made once and kept on the model."""
    loop = getattr(model, "_decode_loop", None)
    if loop is None:
        loop = model._decode_loop = DecodeLoop(model)
    return loop


def decode(model, sampler, z, prefixes=None, seed=None):
    """Decodes one sketch per row of z (and per prefix), without checking them again.

    Args:
      model: a `SketchRNN`.
      sampler: a `samplers.Sampler`.
      z: float32 [n, latent_size], as `SketchPreprocessor.latents` returns it.
      prefixes: None, or n stroke-3 sketches in pixels checked by the model's preprocessor.
      seed: the call's seed (default `sampler.call_seed()`).

    Returns:
      A list of n stroke-3 float32 sketches in pixels (each prefix, then the model's rows).
    """
    pre = model.preprocessor
    seed = sampler.call_seed() if seed is None else seed
    limit = sampler.limit(model.hparams.max_seq_len)
    n = len(z)
    if prefixes is None:
        rows = decode_loop(model).run(sampler, z, seed=seed)
        return pre.postprocess(r[:limit] for r in rows)
    batch, lengths = pre.pad(prefixes, what="prefix")
    rows = decode_loop(model).run(sampler, z, (batch, lengths), seed=seed)
    given = [batch[i, 1 : lengths[i] + 1] for i in range(n)]
    return pre.postprocess(
        np.concatenate([given[i], rows[i]], axis=0)[: max(limit, len(given[i]))] for i in range(n)
    )


def generate(model, sampler=None, n=1, z=None, prefix=None, **options):
    """`n` sketches drawn by `sampler` (checked here, once): the front door of `SketchRNN.sample`.

    Args:
      model: a `SketchRNN`.
      sampler: a `samplers.Sampler`, a name or a number (see `samplers.get`).
      n: how many sketches, decoded as one batch.
      z: conditional models: a latent [z_size] for all sketches or [n, z_size]; default z ~ N(0, I)
        drawn from `numpy.random.default_rng(seed)`.
      prefix: stroke-3 sketches in pixels (one, or one per sketch) that each sketch continues.
      **options: the sampler's settings as keywords (temperature, temperature_mode, greedy,
        max_len, seed).

    Returns:
      A list of n stroke-3 float32 sketches in pixels.
    """
    sampler = samplers.get(sampler, **options)
    n = samplers.check_count(n)
    pre = model.preprocessor
    seed = sampler.call_seed()
    z = pre.latents(n, z, np.random.default_rng(seed))
    prefixes = None
    if prefix is not None:
        prefixes = pre.sketches(prefix, what="prefix")
        if len(prefixes) == 1:
            prefixes = prefixes * n
        if len(prefixes) != n:
            raise ModelInputError(
                f"got {len(prefixes)} prefixes for n={n} sketches; give one or n", where="sample()"
            )
    return decode(model, sampler, z, prefixes, seed)
