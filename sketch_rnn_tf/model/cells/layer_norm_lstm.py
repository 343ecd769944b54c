"""Magenta's layer-normalised LSTM cell (Ba et al., 2016), one of the paper's decoder cells."""

from __future__ import annotations

import keras
import tensorflow as tf

from .. import layout
from .base import SketchCell, layer_norm


@keras.saving.register_keras_serializable(package="sketch_rnn_tf")
class LayerNormLSTMCell(SketchCell):
    """Magenta's `LayerNormLSTMCell` (state [h, c], no bias variable).

    i, j, f, o = split(LN_all([x, h]·[W_xh; W_hh]))      (each gate block normalised separately)
    c' = c·σ(f + 1) + σ(i)·drop(tanh j)
    h' = tanh(LN_c(c'))·σ(o)                             (the stored c' is not normalised)
    """

    layout_class = layout.LayerNormLSTMLayout

    def input_kernel(self):
        return self.W_xh, None

    def loop_weights(self):
        return {
            k: tf.convert_to_tensor(getattr(self, k))
            for k in ("W_hh", "ln_all_gamma", "ln_all_beta", "ln_c_gamma", "ln_c_beta")
        }

    def step(self, x_proj, state, mask=None, weights=None):
        w = self.loop_weights() if weights is None else weights
        h, c = tf.split(state, 2, axis=1)
        pre = layer_norm(x_proj + tf.matmul(h, w["W_hh"]), w["ln_all_gamma"], w["ln_all_beta"], 4)
        i, j, f, o = tf.split(pre, 4, axis=1)
        new_c = self._new_c(c, i, j, f, mask)
        new_h = tf.tanh(layer_norm(new_c, w["ln_c_gamma"], w["ln_c_beta"])) * tf.sigmoid(o)
        return new_h, tf.concat([new_h, new_c], axis=1)

    def output_from_state(self, state):
        return state[:, : self.num_units]
