"""Magenta's HyperLSTM cell (Ha et al., 2016) with layer norm, one of the paper's decoder cells."""

from __future__ import annotations

import keras
import tensorflow as tf

from .. import layout
from .base import SketchCell, layer_norm
from .layer_norm_lstm import LayerNormLSTMCell


@keras.saving.register_keras_serializable(package="sketch_rnn_tf")
class HyperLSTMCell(SketchCell):
    """Magenta's `HyperLSTMCell` (Ha et al., 2016), with layer norm (state [h, ĥ, c, ĉ]).

    A small LayerNormLSTM (the hyper cell, `hyper_num_units`, no recurrent dropout) reads [x, h] and
    its output ĥ' generates, per gate g, a scale for each of x·W_xh and h·W_hh:

        z_w = ĥ'·W_zw + b_zw,  α_g = z_w·W_α          (no tanh)
        z_b = ĥ'·W_zb,         β_g = z_b·W_β          (h-side gates only)
        g = α_gx ⊙ (x·W_xh)_g + α_gh ⊙ (h·W_hh)_g + β_gh + bias_g
        i, j, f, o = LN_all(...);  c' = c·σ(f+1) + σ(i)·drop(tanh j);  h' = tanh(LN_c(c'))·σ(o)

    The 8 hyper_norm blocks are stored per gate under Magenta's scopes (`hyper_ix/zw/...`) but
    computed as one batched matmul.
    """

    layout_class = layout.HyperLSTMLayout

    def __init__(
        self,
        num_units,
        use_recurrent_dropout=False,
        dropout_keep_prob=0.9,
        hyper_num_units=256,
        hyper_embedding_size=32,
        **kwargs,
    ):
        super().__init__(num_units, use_recurrent_dropout, dropout_keep_prob, **kwargs)
        self.hyper_num_units = int(hyper_num_units)
        self.hyper_embedding_size = int(hyper_embedding_size)
        self.hyper_cell = LayerNormLSTMCell(
            self.hyper_num_units,
            use_recurrent_dropout=False,
            dropout_keep_prob=dropout_keep_prob,
            name="hyper_cell",
        )

    def make_layout(self, input_size):
        return self.layout_class(
            input_size, self.num_units, self.hyper_num_units, self.hyper_embedding_size
        )

    def build(self, input_shape):
        d = int(input_shape[-1])
        self.hyper_cell.build((None, d + self.num_units))
        super().build(input_shape)

    def input_kernel(self):
        """[W_xh (4n) | the hyper cell's x rows (4·hyper)]: both input-only projections at once."""
        return tf.concat([self.W_xh, self.hyper_cell.W_xh[: self.input_size]], axis=1), None

    def loop_weights(self):
        d = self.input_size
        w = {
            k: tf.convert_to_tensor(getattr(self, k))
            for k in ("W_hh", "ln_all_gamma", "ln_all_beta", "ln_c_gamma", "ln_c_beta")
        }
        w["hyper"] = self.hyper_cell.loop_weights()
        w["hyper_W_h"] = tf.convert_to_tensor(self.hyper_cell.W_xh)[d:]
        gates = layout.HYPER_X_GATES + layout.HYPER_H_GATES

        def each(name, which=gates):  # the per-gate weights `<gate>_<name>`, in gate order
            return [tf.convert_to_tensor(getattr(self, f"{g}_{name}")) for g in which]

        w["zw_w"] = tf.concat(each("zw_w"), 1)
        w["zw_b"] = tf.concat(each("zw_b"), 0)
        w["zb_w"] = tf.concat(each("zb_w", layout.HYPER_H_GATES), 1)
        w["bias"] = tf.split(tf.convert_to_tensor(self.bias), 4, axis=0)
        w["alpha"] = each("alpha")
        w["beta"] = each("beta", layout.HYPER_H_GATES)
        return w

    def step(self, x_proj, state, mask=None, weights=None):
        w = self.loop_weights() if weights is None else weights
        n, hn = self.num_units, self.hyper_num_units
        hc = self.hyper_cell
        h, hyper_h, c, hyper_c = tf.split(state, [n, hn, n, hn], axis=1)
        xh, hyper_x = x_proj[:, : 4 * n], x_proj[:, 4 * n :]
        # The hyper cell reads [x, h]: its x part was projected outside the loop.
        hyper_proj = hyper_x + tf.matmul(h, w["hyper_W_h"])
        hyper_out, hyper_state = hc.step(
            hyper_proj, tf.concat([hyper_h, hyper_c], 1), weights=w["hyper"]
        )
        hh = tf.matmul(h, w["W_hh"])
        # Embeddings for the 8 gates: z_w for all, z_b for the h-side ones.
        zw = tf.matmul(hyper_out, w["zw_w"]) + w["zw_b"]
        zb = tf.matmul(hyper_out, w["zb_w"])
        zw = tf.split(zw, 8, axis=1)
        zb = tf.split(zb, 4, axis=1)
        xs = tf.split(xh, 4, axis=1)
        hs = tf.split(hh, 4, axis=1)
        bs = w["bias"]
        gates = []
        for k in range(4):
            alpha_x = tf.matmul(zw[k], w["alpha"][k])
            alpha_h = tf.matmul(zw[4 + k], w["alpha"][4 + k])
            beta_h = tf.matmul(zb[k], w["beta"][k])
            gates.append(alpha_x * xs[k] + (alpha_h * hs[k] + beta_h) + bs[k])
        pre = layer_norm(tf.concat(gates, 1), w["ln_all_gamma"], w["ln_all_beta"], 4)
        i, j, f, o = tf.split(pre, 4, axis=1)
        new_c = self._new_c(c, i, j, f, mask)
        new_h = tf.tanh(layer_norm(new_c, w["ln_c_gamma"], w["ln_c_beta"])) * tf.sigmoid(o)
        new_hyper_h, new_hyper_c = tf.split(hyper_state, 2, axis=1)
        return new_h, tf.concat([new_h, new_hyper_h, new_c, new_hyper_c], axis=1)

    def output_from_state(self, state):
        return state[:, : self.num_units]

    def magenta_weights(self):
        own = super().magenta_weights()
        nested = [
            (f"{self.hyper_cell.magenta_scope}/{name}", v)
            for name, v in self.hyper_cell.magenta_weights()
        ]
        return own[:3] + nested + own[3:]  # Magenta creates the hyper cell after W_xh, W_hh, bias

    def get_config(self):
        config = super().get_config()
        config.update(
            hyper_num_units=self.hyper_num_units, hyper_embedding_size=self.hyper_embedding_size
        )
        return config
