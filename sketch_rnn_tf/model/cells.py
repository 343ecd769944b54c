"""The three recurrent cells of sketch-rnn, with Magenta's maths and weight layout.

Each cell is a Keras layer that owns its weights under Magenta's names (`W_xh`, `W_hh`, `bias`,
`ln_all/ln_gamma`, ...) and exposes the two halves of one recurrent step so that the time loop
(`model/rnn.py`) can hoist the input projection out of the loop:

* `project_inputs(x)`: the part of the step that depends only on the input, for all time steps in
  one matmul (`x·W_xh`, and for HyperLSTM the x-part of the hyper cell's input projection).
* `step(x_proj, state, dropout_mask)`: one step from the projected input and the flat state.

Gate order is i, j, f, o (input gate, candidate, forget gate, output gate) for all cells, and the
forget bias 1.0 is added at run time, not stored. Recurrent dropout (Semeniuta et al., 2016), which
the paper uses for all its models, drops only the candidate tanh(j) with inverted scaling; the mask
is a step input so that a fresh one is drawn every step.

State layouts (flat, as Magenta's `state_size`):
  LSTMCell            [c, h]
  LayerNormLSTMCell   [h, c]
  HyperLSTMCell       [h, ĥ, c, ĉ]   (ĥ, ĉ: the hyper LayerNormLSTM's state)

The paper cites the HyperLSTM of Ha et al. (2016) and layer normalisation of Ba et al. (2016) as the
alternative decoder cells (Section 3.1); the equations here are those of Magenta's `rnn.py`.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from .seeds import stateless_draw

FORGET_BIAS = 1.0
LAYER_NORM_EPSILON = 1e-3


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


def layer_norm(x, gamma, beta, num_blocks=1):
    """Magenta's `layer_norm_all` / `layer_norm`.

    Each of `num_blocks` blocks of the last axis is normalised with its own mean and *biased*
    variance, epsilon 1e-3 inside the rsqrt.
    """
    if num_blocks == 1:
        mean, var = tf.nn.moments(x, axes=[-1], keepdims=True)
        return (x - mean) * tf.math.rsqrt(var + LAYER_NORM_EPSILON) * gamma + beta
    shape = tf.shape(x)
    blocks = tf.reshape(x, tf.concat([shape[:-1], [num_blocks, -1]], 0))
    mean, var = tf.nn.moments(blocks, axes=[-1], keepdims=True)
    blocks = (blocks - mean) * tf.math.rsqrt(var + LAYER_NORM_EPSILON)
    return tf.reshape(blocks, shape) * gamma + beta


# ----------------------------------------------------------------------------- base class
class SketchCell(keras.layers.Layer):
    """Base class of the three cells: `num_units` units, recurrent dropout on the candidate."""

    magenta_scope = ""

    def __init__(self, num_units, use_recurrent_dropout=False, dropout_keep_prob=0.9, **kwargs):
        super().__init__(**kwargs)
        self.num_units = int(num_units)
        self.use_recurrent_dropout = bool(use_recurrent_dropout)
        self.dropout_keep_prob = float(dropout_keep_prob)

    # the flat state
    @property
    def state_size(self) -> int:
        return 2 * self.num_units

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
        return c * tf.sigmoid(f + FORGET_BIAS) + tf.sigmoid(i) * g

    def call(self, x, state, training=False):
        """One step on an unprojected input: returns (h', state')."""
        mask = self.dropout_mask([tf.shape(x)[0], self.num_units], training)
        return self.step(self.project_inputs(x), state, mask)

    def magenta_weights(self):
        """[(name relative to the cell's Magenta scope, variable)] in Magenta's creation order."""
        raise NotImplementedError

    def get_config(self):
        config = super().get_config()
        config.update(
            num_units=self.num_units,
            use_recurrent_dropout=self.use_recurrent_dropout,
            dropout_keep_prob=self.dropout_keep_prob,
        )
        return config


# ----------------------------------------------------------------------------- LSTM
@keras.saving.register_keras_serializable(package="sketch_rnn_tf")
class LSTMCell(SketchCell):
    """Magenta's `LSTMCell` (state [c, h]).

    i, j, f, o = split([x, h]·[W_xh; W_hh] + bias)
    c' = c·σ(f + 1) + σ(i)·drop(tanh j)
    h' = tanh(c')·σ(o)
    """

    magenta_scope = "LSTMCell"

    def build(self, input_shape):
        n, d = self.num_units, int(input_shape[-1])
        self.input_size = d
        self.W_xh = self.add_weight(shape=(d, 4 * n), initializer="glorot_uniform", name="W_xh")
        self.W_hh = self.add_weight(shape=(n, 4 * n), initializer=OrthogonalPerGate(), name="W_hh")
        self.bias = self.add_weight(shape=(4 * n,), initializer="zeros", name="bias")
        self.built = True

    def input_kernel(self):
        return self.W_xh, self.bias

    def loop_weights(self):
        return {"W_hh": tf.convert_to_tensor(self.W_hh)}

    def step(self, x_proj, state, mask=None, weights=None):
        w = self.loop_weights() if weights is None else weights
        c, h = tf.split(state, 2, axis=1)
        i, j, f, o = tf.split(x_proj + tf.matmul(h, w["W_hh"]), 4, axis=1)
        new_c = self._new_c(c, i, j, f, mask)
        new_h = tf.tanh(new_c) * tf.sigmoid(o)
        return new_h, tf.concat([new_c, new_h], axis=1)

    def output_from_state(self, state):
        return state[:, self.num_units :]

    def magenta_weights(self):
        return [("W_xh", self.W_xh), ("W_hh", self.W_hh), ("bias", self.bias)]


# ----------------------------------------------------------------------------- layer-norm LSTM
@keras.saving.register_keras_serializable(package="sketch_rnn_tf")
class LayerNormLSTMCell(SketchCell):
    """Magenta's `LayerNormLSTMCell` (state [h, c], no bias variable).

    i, j, f, o = split(LN_all([x, h]·[W_xh; W_hh]))      (each gate block normalised separately)
    c' = c·σ(f + 1) + σ(i)·drop(tanh j)
    h' = tanh(LN_c(c'))·σ(o)                             (the stored c' is not normalised)
    """

    magenta_scope = "LayerNormLSTMCell"

    def build(self, input_shape):
        n, d = self.num_units, int(input_shape[-1])
        self.input_size = d
        self.W_xh = self.add_weight(shape=(d, 4 * n), initializer="glorot_uniform", name="W_xh")
        self.W_hh = self.add_weight(shape=(n, 4 * n), initializer=OrthogonalPerGate(), name="W_hh")
        self.ln_all_gamma = self.add_weight(shape=(4 * n,), initializer="ones", name="ln_all_gamma")
        self.ln_all_beta = self.add_weight(shape=(4 * n,), initializer="zeros", name="ln_all_beta")
        self.ln_c_gamma = self.add_weight(shape=(n,), initializer="ones", name="ln_c_gamma")
        self.ln_c_beta = self.add_weight(shape=(n,), initializer="zeros", name="ln_c_beta")
        self.built = True

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

    def magenta_weights(self):
        return [
            ("W_xh", self.W_xh),
            ("W_hh", self.W_hh),
            ("ln_all/ln_gamma", self.ln_all_gamma),
            ("ln_all/ln_beta", self.ln_all_beta),
            ("ln_c/ln_gamma", self.ln_c_gamma),
            ("ln_c/ln_beta", self.ln_c_beta),
        ]


# ----------------------------------------------------------------------------- HyperLSTM
_X_GATES = ("ix", "jx", "fx", "ox")
_H_GATES = ("ih", "jh", "fh", "oh")


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

    magenta_scope = "HyperLSTMCell"

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

    @property
    def state_size(self) -> int:
        return 2 * (self.num_units + self.hyper_num_units)

    def build(self, input_shape):
        n, d, hn, e = (
            self.num_units,
            int(input_shape[-1]),
            self.hyper_num_units,
            self.hyper_embedding_size,
        )
        self.input_size = d
        self.hyper_cell.build((None, d + n))
        self.W_xh = self.add_weight(shape=(d, 4 * n), initializer="glorot_uniform", name="W_xh")
        self.W_hh = self.add_weight(shape=(n, 4 * n), initializer=OrthogonalPerGate(), name="W_hh")
        self.bias = self.add_weight(shape=(4 * n,), initializer="zeros", name="bias")
        alpha_init = keras.initializers.Constant(0.1 / e)
        self.zw_w, self.zw_b, self.alpha_w, self.zb_w, self.beta_w = {}, {}, {}, {}, {}
        for g in _X_GATES + _H_GATES:
            self.zw_w[g] = self.add_weight(shape=(hn, e), initializer="zeros", name=f"{g}_zw_w")
            self.zw_b[g] = self.add_weight(shape=(e,), initializer="ones", name=f"{g}_zw_b")
            self.alpha_w[g] = self.add_weight(
                shape=(e, n), initializer=alpha_init, name=f"{g}_alpha"
            )
            if g in _H_GATES:
                self.zb_w[g] = self.add_weight(
                    shape=(hn, e),
                    initializer=keras.initializers.RandomNormal(stddev=0.01),
                    name=f"{g}_zb_w",
                )
                self.beta_w[g] = self.add_weight(
                    shape=(e, n), initializer="zeros", name=f"{g}_beta"
                )
        self.ln_all_gamma = self.add_weight(shape=(4 * n,), initializer="ones", name="ln_all_gamma")
        self.ln_all_beta = self.add_weight(shape=(4 * n,), initializer="zeros", name="ln_all_beta")
        self.ln_c_gamma = self.add_weight(shape=(n,), initializer="ones", name="ln_c_gamma")
        self.ln_c_beta = self.add_weight(shape=(n,), initializer="zeros", name="ln_c_beta")
        self.built = True

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
        w["zw_w"] = tf.concat([self.zw_w[g] for g in _X_GATES + _H_GATES], 1)
        w["zw_b"] = tf.concat([self.zw_b[g] for g in _X_GATES + _H_GATES], 0)
        w["zb_w"] = tf.concat([self.zb_w[g] for g in _H_GATES], 1)
        w["bias"] = tf.split(tf.convert_to_tensor(self.bias), 4, axis=0)
        w["alpha"] = [tf.convert_to_tensor(self.alpha_w[g]) for g in _X_GATES + _H_GATES]
        w["beta"] = [tf.convert_to_tensor(self.beta_w[g]) for g in _H_GATES]
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
        out = [("W_xh", self.W_xh), ("W_hh", self.W_hh), ("bias", self.bias)]
        out += [(f"LayerNormLSTMCell/{name}", v) for name, v in self.hyper_cell.magenta_weights()]
        for g in _X_GATES + _H_GATES:
            out += [
                (f"hyper_{g}/zw/super_linear_w", self.zw_w[g]),
                (f"hyper_{g}/zw/super_linear_b", self.zw_b[g]),
                (f"hyper_{g}/alpha/super_linear_w", self.alpha_w[g]),
            ]
            if g in _H_GATES:
                out += [
                    (f"hyper_{g}/zb/super_linear_w", self.zb_w[g]),
                    (f"hyper_{g}/beta/super_linear_w", self.beta_w[g]),
                ]
        out += [
            ("ln_all/ln_gamma", self.ln_all_gamma),
            ("ln_all/ln_beta", self.ln_all_beta),
            ("ln_c/ln_gamma", self.ln_c_gamma),
            ("ln_c/ln_beta", self.ln_c_beta),
        ]
        return out

    def get_config(self):
        config = super().get_config()
        config.update(
            hyper_num_units=self.hyper_num_units, hyper_embedding_size=self.hyper_embedding_size
        )
        return config


CELLS = {"lstm": LSTMCell, "layer_norm": LayerNormLSTMCell, "hyper": HyperLSTMCell}


def make_cell(kind, num_units, hparams, name=None):
    """The cell of type `kind` ('lstm', 'layer_norm', 'hyper'), built as Magenta's model.py does."""
    kwargs = dict(
        use_recurrent_dropout=hparams.use_recurrent_dropout,
        dropout_keep_prob=hparams.recurrent_dropout_prob,
        name=name,
    )
    if kind == "hyper":
        kwargs.update(
            hyper_num_units=hparams.hyper_num_units,
            hyper_embedding_size=hparams.hyper_embedding_size,
        )
    return CELLS[kind](num_units, **kwargs)
