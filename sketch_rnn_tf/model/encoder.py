"""The bidirectional encoder of sketch-rnn (Section 3.1, Eq. 1-2)."""

from __future__ import annotations

import keras
import tensorflow as tf

from .cells import make_cell
from .hparams_layer import HParamsLayer
from .linear import SuperLinear
from .rnn import run_rnns
from .seeds import fold_seed, stateless_draw


@keras.saving.register_keras_serializable(package="sketch_rnn_tf")
class Encoder(HParamsLayer):
    """Reads a sketch forwards and backwards and gives the latent Gaussian's (μ, σ̂) (Eq. 2).

    h = [h→; h←] are the final outputs of the two RNNs over the sketch's real strokes S_1..S_Ns
    (Magenta reads `input_data[:, 1:]`, without S0, and stops each direction at the sketch's
    length); μ = W_μ h + b_μ and σ̂ = W_σ h + b_σ, with σ = exp(σ̂ / 2).
    """

    def __init__(self, hparams, **kwargs):
        super().__init__(hparams, **kwargs)
        self.cell_fw = make_cell(hparams.enc_model, hparams.enc_rnn_size, hparams, name="fw")
        self.cell_bw = make_cell(hparams.enc_model, hparams.enc_rnn_size, hparams, name="bw")
        self.mu_layer = SuperLinear(hparams.z_size, name="ENC_RNN_mu")
        self.presig_layer = SuperLinear(hparams.z_size, name="ENC_RNN_sigma")

    def build(self, input_shape):
        self.cell_fw.build(input_shape)
        self.cell_bw.build(input_shape)
        self.mu_layer.build((None, 2 * self.hparams.enc_rnn_size))
        self.presig_layer.build((None, 2 * self.hparams.enc_rnn_size))
        self.built = True

    def call(self, strokes, sequence_length, training=False, seed=None):
        """strokes: [B, T, 5] stroke-5 without S0; sequence_length: [B]. Returns (mu, presig).

        `seed` (stateless, optional) seeds the two RNNs' recurrent dropout.
        """
        batch = tf.shape(strokes)[0]
        sequence_length = tf.cast(sequence_length, tf.int32)
        # Both directions advance in one loop (run_rnns): independent ops that run in parallel.
        _, (state_fw, state_bw) = run_rnns(
            [self.cell_fw, self.cell_bw],
            [strokes, strokes],
            [self.cell_fw.zero_state(batch), self.cell_bw.zero_state(batch)],
            sequence_length,
            training=training,
            reverse=[False, True],
            return_outputs=False,
            seeds=[fold_seed(seed, 1), fold_seed(seed, 2)],
        )
        h = tf.concat(
            [self.cell_fw.output_from_state(state_fw), self.cell_bw.output_from_state(state_bw)],
            axis=1,
        )
        return self.mu_layer(h), self.presig_layer(h)

    def magenta_weights(self):
        out = []
        for direction, cell in (("fw", self.cell_fw), ("bw", self.cell_bw)):
            out += [
                (f"ENC_RNN/{direction}/{cell.magenta_scope}/{n}", v)
                for n, v in cell.magenta_weights()
            ]
        out += [(f"ENC_RNN_mu/{n}", v) for n, v in self.mu_layer.magenta_weights()]
        out += [(f"ENC_RNN_sigma/{n}", v) for n, v in self.presig_layer.magenta_weights()]
        return out


def sample_z(mu, presig, seed=None):
    """z = μ + σ ⊙ ε with σ = exp(σ̂/2), ε ~ N(0, I) (Eq. 2; the reparameterisation trick)."""
    if seed is None:
        eps = tf.random.normal(tf.shape(mu))
    else:
        eps = stateless_draw(tf.random.stateless_normal, tf.shape(mu), seed)
    return mu + tf.exp(presig / 2.0) * eps
