"""What the three recurrent cells of sketch-rnn share: the base class, initialisers, layer norm.

Each cell (`lstm.py`, `layer_norm_lstm.py`, `hyper_lstm.py`) is a Keras layer that owns its weights
under Magenta's names (from its `model/layout.py` layout) and exposes the two halves of one
recurrent step so that the time loop (`model/rnn.py`) can hoist the input projection out of the
loop:

* `project_inputs(x)`: the part of the step that depends only on the input, for all time steps in
  one matmul (`x·W_xh`, and for HyperLSTM the x-part of the hyper cell's input projection).
* `step(x_proj, state, dropout_mask)`: one step from the projected input and the flat state.

Gate order is i, j, f, o and the forget bias 1.0 is added at run time (`layout.GATES`,
`layout.FORGET_BIAS`). Recurrent dropout (Semeniuta et al., 2016), which the paper uses for all its
models, drops only the candidate tanh(j) with inverted scaling; the mask is a step input so that a
fresh one is drawn every step.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from .. import layout
from ..seeds import stateless_draw


# ----------------------------------------------------------------------------- initialisers
@keras.saving.register_keras_serializable(package="sketch_rnn_tf")
class OrthogonalPerGate(keras.initializers.Initializer):
    """Magenta's `lstm_ortho_initializer`: each of the 4 gate blocks gets its own orthogonal init.

    Magenta orthogonalises with an SVD; a QR decomposition gives a matrix from the same (Haar)
    distribution at a fraction of the cost, which matters when building dec-1024 models only to
    load weights into them.
    """

    def __init__(self, scale=1.0, seed=None):
        self.scale = scale
        self.seed = seed

    def __call__(self, shape, dtype=None):
        # Without a seed, draw one from numpy's global generator, so that
        # `keras.utils.set_random_seed` makes model initialisation repeatable.
        seed = self.seed if self.seed is not None else np.random.randint(2**31)
        rng = np.random.default_rng(seed)
        rows, cols = shape
        n = cols // 4
        blocks = []
        for _ in range(4):
            a = rng.standard_normal((max(rows, n), min(rows, n)))
            q, r = np.linalg.qr(a)
            q *= np.sign(np.diag(r))  # uniform (Haar) orthogonal matrices
            blocks.append(q if rows >= n else q.T)
        return tf.constant(np.concatenate(blocks, axis=1) * self.scale, dtype=dtype or "float32")

    def get_config(self):
        return {"scale": self.scale, "seed": self.seed}


def initializer(spec: layout.WeightSpec):
    """The Keras initialiser of a layout's `WeightSpec`."""
    if spec.init == "orthogonal_per_gate":
        return OrthogonalPerGate()
    if spec.init == "constant":
        return keras.initializers.Constant(spec.value)
    if spec.init == "normal":
        return keras.initializers.RandomNormal(stddev=spec.value)
    return spec.init  # "glorot_uniform", "zeros", "ones"


def layer_norm(x, gamma, beta, num_blocks=1):
    """Magenta's `layer_norm_all` / `layer_norm`.

    Each of `num_blocks` blocks of the last axis is normalised with its own mean and *biased*
    variance, epsilon 1e-3 inside the rsqrt.
    """
    if num_blocks == 1:
        mean, var = tf.nn.moments(x, axes=[-1], keepdims=True)
        return (x - mean) * tf.math.rsqrt(var + layout.LAYER_NORM_EPSILON) * gamma + beta
    shape = tf.shape(x)
    blocks = tf.reshape(x, tf.concat([shape[:-1], [num_blocks, -1]], 0))
    mean, var = tf.nn.moments(blocks, axes=[-1], keepdims=True)
    blocks = (blocks - mean) * tf.math.rsqrt(var + layout.LAYER_NORM_EPSILON)
    return tf.reshape(blocks, shape) * gamma + beta


# ----------------------------------------------------------------------------- base class
class SketchCell(keras.layers.Layer):
    """Base class of the cells: `num_units` units, recurrent dropout on the candidate.

    A cell's weights are those of its `layout` (`model/layout.py`: Magenta's names, shapes, gate
    order and initialisers, TF-free); `build` creates them from it, `magenta_weights` lists them
    under Magenta's names. A subclass gives `layout_class` and the step maths (`input_kernel`,
    `loop_weights`, `step`, `output_from_state`), and may give a fused training loop
    (`training_loop`).
    """

    layout_class = layout.CellLayout

    def __init__(self, num_units, use_recurrent_dropout=False, dropout_keep_prob=0.9, **kwargs):
        super().__init__(**kwargs)
        self.num_units = int(num_units)
        self.use_recurrent_dropout = bool(use_recurrent_dropout)
        self.dropout_keep_prob = float(dropout_keep_prob)
        self.layout = None

    @property
    def magenta_scope(self) -> str:
        return self.layout_class.magenta_scope

    def make_layout(self, input_size: int) -> layout.CellLayout:
        """The layout of this cell reading `input_size` features."""
        return self.layout_class(input_size, self.num_units)

    def build(self, input_shape):
        self.input_size = int(input_shape[-1])
        self.layout = self.make_layout(self.input_size)
        for spec in self.layout.weights():
            weight = self.add_weight(shape=spec.shape, initializer=initializer(spec), name=spec.key)
            setattr(self, spec.key, weight)
        self.built = True

    def magenta_weights(self):
        """[(name relative to the cell's Magenta scope, variable)] in Magenta's creation order."""
        return [(spec.name, getattr(self, spec.key)) for spec in self.layout.weights()]

    def training_loop(self):
        """A fused time loop for training (None: the generic loop of `model/rnn.py` runs).

        The LSTM has one, with a hand-written backward pass (`cells/lstm.py`); `rnn.run_rnns` uses
        it when every cell of the loop returns the same one. A subclass that changes `step` must
        not inherit a parent's loop.
        """
        return None

    # the flat state
    @property
    def state_size(self) -> int:
        return self.make_layout(0).state_size

    @property
    def output_size(self) -> int:
        return self.num_units

    def zero_state(self, batch_size, dtype=tf.float32):
        return tf.zeros([batch_size, self.state_size], dtype)

    def output_from_state(self, state):
        """The cell output h inside a flat state (Magenta's `get_output`)."""
        raise NotImplementedError

    def dropout_mask(self, shape, training, seed=None):
        """The inverted-dropout multiplier for tanh(j), or None when dropout is off.

        `seed` (a [2] stateless seed or a `RowSeed`) makes the mask a function of the seed;
        without it the mask comes from TF's global generator.
        """
        if not (training and self.use_recurrent_dropout and self.dropout_keep_prob < 1.0):
            return None
        if seed is None:
            uniform = tf.random.uniform(shape)
        else:
            uniform = stateless_draw(tf.random.stateless_uniform, shape, seed)
        keep = tf.cast(uniform < self.dropout_keep_prob, tf.float32)
        return keep / self.dropout_keep_prob

    def dropout_masks(self, batch, steps, training, seed=None):
        """Time-major masks [T, B, n] for a whole sequence in one RNG call (None: dropout off).

        The time loop reads step t's mask instead of drawing it inside the loop.
        """
        if not (training and self.use_recurrent_dropout and self.dropout_keep_prob < 1.0):
            return None
        masks = self.dropout_mask([batch, steps, self.num_units], training, seed)
        return tf.transpose(masks, [1, 0, 2])

    def loop_weights(self):
        """{name: tensor} of the weights `step` reads, read once.

        The time loop (rnn.py) calls this *outside* its while_loop and passes the result to every
        `step`: a variable read inside the loop body would be a per-step intermediate that the
        loop's gradient stacks (a copy of W_hh per step), and the HyperLSTM's weight concats would
        run every step. Same values, so the same numbers.
        """
        return {}

    def input_kernel(self):
        """(kernel [input_size, K], bias [K] or None) of the input-only part of a step."""
        raise NotImplementedError

    def input_projection(self, d, constant=None):
        """(kernel [d, K], offset) with project_inputs(x) = x·kernel + offset for x of d features.

        With `constant` [B, C], the cell's input is [x; constant] at every step (the decoder's z,
        Eq. 5): its share constant·W[d:] is computed here once instead of at every step.
        """
        kernel, offset = self.input_kernel()
        if constant is None:
            return kernel, offset
        shared = tf.matmul(constant, kernel[d:])
        return kernel[:d], shared if offset is None else shared + offset

    def project_inputs(self, x, constant=None):
        """x·W_x (+ bias) for x [B, D] or [B, T, D] (and a per-sequence `constant`, see above)."""
        kernel, offset = self.input_projection(x.shape[-1], constant)
        if x.shape.rank == 2:
            y = tf.matmul(x, kernel)
        else:
            y = tf.einsum("btd,dk->btk", x, kernel)
            if offset is not None and len(offset.shape) == 2:
                offset = offset[:, None, :]
        return y if offset is None else y + offset

    def _new_c(self, c, i, j, f, mask):
        g = tf.tanh(j)
        if mask is not None:
            g = g * mask
        return c * tf.sigmoid(f + layout.FORGET_BIAS) + tf.sigmoid(i) * g

    def call(self, x, state, training=False):
        """One step on an unprojected input: returns (h', state')."""
        mask = self.dropout_mask([tf.shape(x)[0], self.num_units], training)
        return self.step(self.project_inputs(x), state, mask)

    def get_config(self):
        config = super().get_config()
        config.update(
            num_units=self.num_units,
            use_recurrent_dropout=self.use_recurrent_dropout,
            dropout_keep_prob=self.dropout_keep_prob,
        )
        return config
