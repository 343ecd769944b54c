"""Magenta's LSTM cell, and its fused training loop with a hand-written backward pass.

`LSTMCell` (state [c, h]; weights `layout.LSTMLayout`):

    i, j, f, o = split([x, h]·[W_xh; W_hh] + bias)
    c' = c·σ(f + 1) + σ(i)·drop(tanh j)
    h' = tanh(c')·σ(o)

`fused_training_loop` / `lstm_loop` run it over a sequence in training, the way Keras keeps its
cuDNN path beside its LSTM: the time loop of `model/rnn.py` asks the cell (`training_loop()`) and
uses this one for LSTMs. Not for inference, whose graphs may be exported (a SavedModel cannot hold
the custom gradient's function).

The loop's forward pass runs exactly the ops of `LSTMCell.step` (so the forward numbers are the same
bit for bit):

    z_t = x_t·W_xh + b + h_{t-1}·W_hh        (x_t·W_xh + b precomputed for all steps, rnn.py)
    i, j, f, o = split(z_t)
    c_t = c_{t-1}·σ(f + 1) + σ(i)·(m_t ⊙ tanh j)          (m_t: recurrent-dropout mask or 1)
    h_t = tanh(c_t)·σ(o)

and keeps, for every step, h_{t-1} and the factors of dz_t = ∂L/∂z_t (the gate derivatives),
computed beside the recurrence, in TensorArrays that the backward pass reads as they are. The
backward pass walks the steps in reverse, computing only what must be sequential: dz_t (a few
element-wise ops) and dh_{t-1} = dz_t·W_hhᵀ. The recurrent weight's gradient
dW_hh = Σ_t h_{t-1}ᵀ·dz_t is summed as one [n, 25·B]×[25·B, 4n] matmul every `DW_CHUNK` = 25
steps, beside the recurrence (and the rest after the loop), and dx_proj = dz, so W_xh and b get
theirs from one matmul outside the loop. TensorFlow's automatic gradient of the while_loop instead
accumulates h_{t-1}ᵀ·dz_t at every step, a skinny (K = batch) matmul that oneDNN runs far below its
peak, and keeps a longer element-wise chain per step. The gradient is the same sum, accumulated in
another order (float32 round-off only; tests/test_lstm_loop.py compares it with the automatic one).

With `sequence_length`, a row's state stops changing after its last step (as the generic loop in
rnn.py and `tf.nn.dynamic_rnn` do): its dz is zero there and the state's gradient passes through
unchanged.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from .. import layout
from .base import SketchCell


@keras.saving.register_keras_serializable(package="sketch_rnn_tf")
class LSTMCell(SketchCell):
    """Magenta's `LSTMCell` (state [c, h]).

    i, j, f, o = split([x, h]·[W_xh; W_hh] + bias)
    c' = c·σ(f + 1) + σ(i)·drop(tanh j)
    h' = tanh(c')·σ(o)
    """

    layout_class = layout.LSTMLayout

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

    def training_loop(self):
        """`fused_training_loop` (same forward ops, hand-written backward pass); this class only.

        A subclass with other step maths gets the generic loop.
        """
        return fused_training_loop if type(self) is LSTMCell else None


def fused_training_loop(
    cells, projected, initial_states, weights, dropout, sequence_length, return_outputs
):
    """`run_rnns`' loop for LSTMs in training: `lstm_loop` on the cells' [c, h] states.

    Returns (list of batch-major outputs, or []; list of final states [c, h]).
    """
    c0, h0 = zip(*(tf.split(s, 2, axis=1) for s in initial_states))
    outputs, c, h = lstm_loop(
        projected, c0, h0, [w["W_hh"] for w in weights], dropout, sequence_length, return_outputs
    )
    states = [tf.concat([c_k, h_k], axis=1) for c_k, h_k in zip(c, h)]
    return [tf.transpose(o, [1, 0, 2]) for o in outputs], states


# ----------------------------------------------------------------------------- the fused loop
# Steps per share of dW_hh summed inside the backward loop (0: all after the loop).
DW_CHUNK = 25


def lstm_loop(projected, c0, h0, w_hh, masks=None, sequence_length=None, return_outputs=True):
    """Runs K independent LSTMs over T steps in one while_loop (e.g. an encoder's two directions).

    Args:
      projected: list of K time-major input projections [T, B, 4n_k] (x·W_xh + b).
      c0: list of K initial cell states [B, n_k].
      h0: list of K initial outputs [B, n_k].
      w_hh: list of K recurrent kernels [n_k, 4n_k].
      masks: None or a list of K (None or time-major recurrent-dropout multipliers [T, B, n_k]).
      sequence_length: None or [B] int32; each row's state is frozen after its last step.
      return_outputs: also return every step's h.

    Returns:
      (outputs, c, h): lists of K time-major outputs [T, B, n_k] (the state h after each step;
      [] without return_outputs) and of the K final states.
    """
    count = len(projected)
    masks = list(masks) if masks is not None else [None] * count
    has_mask = [m is not None for m in masks]
    has_len = sequence_length is not None
    flat = list(projected) + list(c0) + list(h0) + list(w_hh) + [m for m in masks if m is not None]
    if has_len:
        flat.append(tf.cast(sequence_length, tf.int32))
    outs = list(
        _make_loop(count, tuple(has_mask), has_len, bool(return_outputs), int(DW_CHUNK))(*flat)
    )
    outputs = outs[:count] if return_outputs else []
    outs = outs[count:] if return_outputs else outs
    return outputs, outs[:count], outs[count:]


def _make_loop(count, has_mask, has_len, with_outputs, chunk):
    """The custom-gradient function for a fixed structure (K cells, which have masks, lengths)."""

    def unpack(flat):
        xp, c0, h0, w = (list(flat[k * count : (k + 1) * count]) for k in range(4))
        rest = list(flat[4 * count :])
        masks = [rest.pop(0) if m else None for m in has_mask]
        length = rest.pop(0) if has_len else None
        return xp, c0, h0, w, masks, length

    @tf.custom_gradient
    def loop(*flat):
        xp, c0, h0, w, masks, length = unpack(flat)
        steps = tf.shape(xp[0])[0]

        def unstacked(tensors):
            return [
                None
                if x is None
                else tf.TensorArray(x.dtype, size=steps, clear_after_read=False).unstack(x)
                for x in tensors
            ]

        def new_tas():
            # (clear_after_read=False: eager TensorArrays are read in both passes)
            return [
                tf.TensorArray(tf.float32, size=steps, clear_after_read=False) for _ in range(count)
            ]

        xp_ta, mask_ta = unstacked(xp), unstacked(masks)
        # Kept per step for the backward pass: h_{t-1} (for dW_hh); the factors of dz_t, computed
        # here off the recurrence's critical path so that the backward step's chain is short:
        #   ∂c_t/∂(i, j, f) = [σ'(i)·g, σ(i)·m·tanh'(j), c_{t-1}·σ'(f+1)]   (stacked [B, 3, n])
        #   ∂h_t/∂o = tanh(c_t)·σ'(o),  ∂h_t/∂c_t = σ(o)·tanh'(c_t),  ∂c_t/∂c_{t-1} = σ(f+1);
        # and h_t, the output.
        saved0 = [new_tas() for _ in range(6 if with_outputs else 5)]

        def body(t, c, h, saved):
            c, h, saved = list(c), list(h), [list(s) for s in saved]
            active = tf.expand_dims(t < length, 1) if has_len else None
            for k in range(count):
                # The ops of LSTMCell.step / SketchCell._new_c, in the same order.
                z = xp_ta[k].read(t) + tf.matmul(h[k], w[k])
                i, j, f, o = tf.split(z, 4, axis=1)
                tj = tf.tanh(j)
                g = tj * mask_ta[k].read(t) if has_mask[k] else tj
                sf, si = tf.sigmoid(f + layout.FORGET_BIAS), tf.sigmoid(i)
                new_c = c[k] * sf + si * g
                tc = tf.tanh(new_c)
                so = tf.sigmoid(o)
                new_h = tc * so
                if has_len:
                    new_c = tf.where(active, new_c, c[k])
                    new_h = tf.where(active, new_h, h[k])
                d_tj = si * mask_ta[k].read(t) if has_mask[k] else si
                d_ijf = tf.stack(
                    [g * (si * (1.0 - si)), d_tj * (1.0 - tj * tj), c[k] * (sf * (1.0 - sf))],
                    axis=1,
                )
                d_o = tc * (so * (1.0 - so))
                d_c = so * (1.0 - tc * tc)
                for s, v in zip(saved, (h[k], d_ijf, d_o, d_c, sf, new_h)):
                    s[k] = s[k].write(t, v)
                c[k], h[k] = new_c, new_h
            return t + 1, c, h, saved

        _, c_last, h_last, saved = tf.while_loop(
            lambda t, *_: t < steps,
            body,
            (tf.constant(0), list(c0), list(h0), saved0),
            maximum_iterations=steps,
        )
        h_prev_ta, d_ijf_ta, d_o_ta, d_c_ta, sf_ta = saved[:5]
        outputs = [ta.stack() for ta in saved[5]] if with_outputs else []

        def grad(*upstream):
            upstream = list(upstream)
            d_out = upstream[:count] if with_outputs else [None] * count
            upstream = upstream[count:] if with_outputs else upstream
            d_c = [tf.zeros_like(c0[k]) if d is None else d for k, d in enumerate(upstream[:count])]
            d_h = [tf.zeros_like(h0[k]) if d is None else d for k, d in enumerate(upstream[count:])]
            d_out_ta = unstacked(d_out)
            dz0 = new_tas()
            n = [h0[k].shape[-1] or tf.shape(h0[k])[-1] for k in range(count)]
            d_w0 = [tf.zeros_like(w[k]) for k in range(count)]

            def d_w_part(k, dz_ta, first, size):
                """Σ h_{t-1}ᵀ·dz_t over steps [first, first + size) as one matmul.

                `size` does not depend on the loop's step (a Python int inside the loop), so XLA
                sees gathers of a compile-time size.
                """
                idx = first + tf.range(size)
                return tf.matmul(
                    tf.reshape(h_prev_ta[k].gather(idx), [-1, n[k]]),
                    tf.reshape(dz_ta.gather(idx), [-1, 4 * n[k]]),
                    transpose_a=True,
                )

            def back(t, dc, dh, dz_ta, d_w):
                dc, dh, dz_ta, d_w = list(dc), list(dh), list(dz_ta), list(d_w)
                active = tf.expand_dims(t < length, 1) if has_len else None
                for k in range(count):
                    d_ijf, d_o, d_c, sf = (
                        ta[k].read(t) for ta in (d_ijf_ta, d_o_ta, d_c_ta, sf_ta)
                    )
                    dh_t = dh[k] if d_out_ta[k] is None else dh[k] + d_out_ta[k].read(t)
                    dc_t = dc[k]
                    if has_len:  # a frozen row passes its state's gradient through unchanged
                        zero = tf.zeros_like(dh_t)
                        dh_pass = tf.where(active, zero, dh_t)
                        dc_pass = tf.where(active, zero, dc_t)
                        dh_t, dc_t = tf.where(active, dh_t, zero), tf.where(active, dc_t, zero)
                    dc_t = dc_t + dh_t * d_c
                    dz = tf.concat(
                        [tf.reshape(dc_t[:, None, :] * d_ijf, [-1, 3 * n[k]]), dh_t * d_o], axis=1
                    )
                    dz_ta[k] = dz_ta[k].write(t, dz)
                    dh_new = tf.matmul(dz, w[k], transpose_b=True)
                    dc_new = dc_t * sf
                    if has_len:
                        dh_new, dc_new = dh_new + dh_pass, dc_new + dc_pass
                    dh[k], dc[k] = dh_new, dc_new
                    if chunk:
                        # Every `chunk` steps, that chunk's share of dW_hh: off the recurrence's
                        # critical path, so it runs beside the next steps' dh matmuls.
                        d_w[k] = tf.cond(
                            tf.equal((steps - t) % chunk, 0),
                            lambda k=k: d_w[k] + d_w_part(k, dz_ta[k], t, chunk),
                            lambda k=k: d_w[k],
                        )
                return t - 1, dc, dh, dz_ta, d_w

            _, d_c0, d_h0, dz_ta, d_w = tf.while_loop(
                lambda t, *_: t >= 0,
                back,
                (steps - 1, d_c, d_h, dz0, d_w0),
                maximum_iterations=steps,
            )
            d_xp = [ta.stack() for ta in dz_ta]
            # dW_hh = Σ_t h_{t-1}ᵀ·dz_t: the steps not yet summed (all of them without chunks),
            # as one matmul over all their (step, row) pairs.
            rest = steps % chunk if chunk else steps
            # (a TensorList of unknown element shape cannot gather 0 elements)
            d_w = [
                tf.cond(
                    rest > 0,
                    lambda k=k: d_w[k] + d_w_part(k, dz_ta[k], 0, rest),
                    lambda k=k: d_w[k],
                )
                for k in range(count)
            ]
            nones = [None] * (sum(has_mask) + int(has_len))
            return (*d_xp, *d_c0, *d_h0, *d_w, *nones)

        return (*outputs, *c_last, *h_last), grad

    return loop
