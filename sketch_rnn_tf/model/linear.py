"""`SuperLinear`: Magenta's `super_linear`, a dense layer whose weights keep Magenta's names."""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="sketch_rnn_tf")
class SuperLinear(keras.layers.Layer):
    """y = x·w + b with variables `super_linear_w` [in, out] and `super_linear_b` [out].

    Magenta initialises the encoder heads and the z → state projection with N(0, 0.001²) weights and
    zero biases (`init_w='gaussian', weight_start=0.001`), which is the default here.
    """

    def __init__(self, units, weight_stddev=0.001, use_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.weight_stddev = float(weight_stddev)
        self.use_bias = bool(use_bias)

    def build(self, input_shape):
        self.w = self.add_weight(
            shape=(int(input_shape[-1]), self.units),
            initializer=keras.initializers.RandomNormal(stddev=self.weight_stddev),
            name="super_linear_w",
        )
        self.b = (
            self.add_weight(shape=(self.units,), initializer="zeros", name="super_linear_b")
            if self.use_bias
            else None
        )
        self.built = True

    def call(self, x):
        y = tf.matmul(x, self.w)
        return y + self.b if self.b is not None else y

    def magenta_weights(self):
        out = [("super_linear_w", self.w)]
        if self.b is not None:
            out.append(("super_linear_b", self.b))
        return out

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, weight_stddev=self.weight_stddev, use_bias=self.use_bias)
        return config
