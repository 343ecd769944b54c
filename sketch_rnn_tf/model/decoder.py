"""The autoregressive decoder of sketch-rnn (Section 3.1, Eqs. 4-6)."""

from __future__ import annotations

import keras
import tensorflow as tf

from .cells import make_cell
from .hparams_layer import HParamsLayer
from .linear import SuperLinear
from .rnn import run_rnn
from .seeds import fold_seed, stateless_draw


@keras.saving.register_keras_serializable(package="sketch_rnn_tf")
class Decoder(HParamsLayer):
    """The decoder RNN and its output layer.

    Conditional model: the initial state is [h0; c0] = tanh(W_z z + b_z) (Eq. 4), laid out as the
    cell lays out its state (Magenta's `linear` scope), and every step reads x_i = [S_{i−1}; z]
    (Eq. 5).
    Decoder-only model: zero initial state, x_i = S_{i−1}. The outputs y_i = W_y h_i + b_y (Eq. 6)
    are the 6M+3 mixture parameters (`mixture.split_params`). Magenta's input and output dropout
    wrap the decoder only.
    """

    def __init__(self, hparams, **kwargs):
        super().__init__(hparams, **kwargs)
        self.cell = make_cell(hparams.dec_model, hparams.dec_rnn_size, hparams, name="cell")
        self.init_layer = (
            SuperLinear(self.cell.state_size, name="linear") if hparams.conditional else None
        )

    @property
    def input_size(self):
        return self.hparams.decoder_input_size

    def build(self, input_shape=None):
        hp = self.hparams
        self.cell.build((None, self.input_size))
        if self.init_layer is not None:
            self.init_layer.build((None, hp.z_size))
        self.output_w = self.add_weight(
            shape=(hp.dec_rnn_size, hp.num_outputs), initializer="glorot_uniform", name="output_w"
        )
        self.output_b = self.add_weight(
            shape=(hp.num_outputs,), initializer="glorot_uniform", name="output_b"
        )
        self.built = True

    def initial_state(self, z, batch_size=None):
        """tanh(W_z z + b_z) (Eq. 4), or zeros for the decoder-only model."""
        if self.init_layer is None:
            return self.cell.zero_state(batch_size if batch_size is not None else tf.shape(z)[0])
        return tf.tanh(self.init_layer(z))

    def step_inputs(self, strokes, z):
        """x_i = [S_{i-1}; z] for each step (Eq. 5); strokes [B, T, 5]."""
        if not self.hparams.conditional:
            return strokes
        steps = tf.shape(strokes)[1]
        return tf.concat([strokes, tf.tile(z[:, None, :], [1, steps, 1])], axis=2)

    def output_params(self, h):
        """y = W_y h + b_y (Eq. 6): the 6M+3 raw mixture parameters."""
        if h.shape.rank == 3:
            return tf.einsum("btn,nk->btk", h, self.output_w) + self.output_b
        return tf.matmul(h, self.output_w) + self.output_b

    def call(self, strokes, z=None, initial_state=None, training=False, seed=None):
        """Teacher-forced decoding of stroke-5 inputs [B, T, 5] (S_0..S_{T-1}).

        `seed` (stateless, optional) seeds the recurrent, input and output dropout.

        Returns (y [B, T, 6M+3], final_state).
        """
        hp = self.hparams
        if initial_state is None:
            initial_state = self.initial_state(z, tf.shape(strokes)[0])
        if training and hp.use_input_dropout:
            # Input dropout drops z's copies independently at each step: feed the tiled input.
            x = _dropout(self.step_inputs(strokes, z), hp.input_dropout_prob, fold_seed(seed, 2))
            constant = None
        else:
            # z is the same at every step: its share of the input projection is computed once.
            x, constant = strokes, (z if hp.conditional else None)
        h, state = run_rnn(
            self.cell,
            x,
            initial_state,
            training=training,
            seed=fold_seed(seed, 1),
            constant=constant,
        )
        if training and hp.use_output_dropout:
            h = _dropout(h, hp.output_dropout_prob, fold_seed(seed, 3))
        return self.output_params(h), state

    def input_projection(self, z):
        """(kernel [5, K], offset) of one step's input projection, z's share included (Eq. 5)."""
        return self.cell.input_projection(5, z if self.hparams.conditional else None)

    def step(self, stroke, z, state, projection=None, weights=None):
        """One decoding step from S_{i-1} [B, 5]: returns (y_i [B, 6M+3], state').

        A sampling loop passes `projection = input_projection(z)` and `weights =
        cell.loop_weights()`, computed once before the loop.
        """
        kernel, offset = self.input_projection(z) if projection is None else projection
        x_proj = tf.matmul(stroke, kernel)
        if offset is not None:
            x_proj = x_proj + offset
        h, state = self.cell.step(x_proj, state, None, weights)
        return self.output_params(h), state

    def magenta_weights(self):
        out = []
        if self.init_layer is not None:
            out += [(f"linear/{n}", v) for n, v in self.init_layer.magenta_weights()]
        out += [("RNN/output_w", self.output_w), ("RNN/output_b", self.output_b)]
        out += [(f"RNN/{self.cell.magenta_scope}/{n}", v) for n, v in self.cell.magenta_weights()]
        return out


def _dropout(x, keep_prob, seed=None):
    """Inverted dropout (tf.nn.dropout), drawn from a stateless seed when one is given."""
    if seed is None:
        return tf.nn.dropout(x, rate=1.0 - keep_prob)
    keep = stateless_draw(tf.random.stateless_uniform, tf.shape(x), seed) < keep_prob
    return tf.where(keep, x / keep_prob, tf.zeros_like(x))
