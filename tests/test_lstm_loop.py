"""The LSTM loop with a hand-written backward pass (model/cells/lstm.py) against the generic loop.

`rnn.run_rnns` takes the hand-written loop for `LSTMCell`s in training; a subclass of LSTMCell
(same maths, same weights) takes the generic loop, whose gradient is TensorFlow's automatic one.
Forward values must be identical bit for bit (the same ops on the same shapes); gradients are the
same sums accumulated in another order, so they must agree to float32 round-off. `chunk`: dW_hh
summed after the loop (0) or in chunks of 4 steps inside it (T = 9: two chunks and a rest of 1).
"""

import numpy as np
import pytest
import tensorflow as tf

from sketch_rnn_tf.model.cells import LSTMCell
from sketch_rnn_tf.model.cells import lstm as lstm_loop
from sketch_rnn_tf.model.rnn import run_rnn, run_rnns

N, D, B, T, C = 8, 5, 6, 9, 3  # units, input size, batch, steps, constant size


@pytest.fixture(params=[0, 4], ids=["dw_after_loop", "dw_chunks_of_4"])
def chunk(request, monkeypatch):
    monkeypatch.setattr(lstm_loop, "DW_CHUNK", request.param)
    return request.param


class GenericLSTMCell(LSTMCell):
    """LSTMCell by another type: run_rnns gives it the generic loop and automatic gradients."""


def _pair(seed, dropout=False, input_size=D):
    cells = []
    for cls in (LSTMCell, GenericLSTMCell):
        cell = cls(N, use_recurrent_dropout=dropout, dropout_keep_prob=0.7)
        cell.build((None, input_size))
        cells.append(cell)
    rng = np.random.default_rng(seed)
    for a, b in zip(cells[0].weights, cells[1].weights):
        value = rng.normal(0.0, 0.5, size=tuple(a.shape)).astype(np.float32)
        a.assign(value)
        b.assign(value)
    return cells


def _grads(fn, cell, extra):
    with tf.GradientTape() as tape:
        tape.watch(extra)
        out = fn(cell)
        # a loss that reaches every output and the final state, with unequal weights
        loss = tf.add_n([tf.reduce_sum(tf.sin(o * (k + 1.5))) for k, o in enumerate(out)])
    return out, tape.gradient(loss, cell.trainable_variables + list(extra))


def _encoder_states(fw, bw, x, lengths, seeds=None):
    """The encoder's use of the loop: both directions in one loop, per-row lengths, final states."""
    _, states = run_rnns(
        [fw, bw],
        [x, x],
        [fw.zero_state(B), bw.zero_state(B)],
        lengths,
        training=True,
        reverse=[False, True],
        return_outputs=False,
        seeds=seeds,
    )
    return states


def _check(fast, slow):
    (out_f, grad_f), (out_s, grad_s) = fast, slow
    for a, b in zip(out_f, out_s):
        np.testing.assert_array_equal(a.numpy(), b.numpy())  # same forward ops: exact
    assert len(grad_f) == len(grad_s)
    for a, b in zip(grad_f, grad_s):
        a, b = tf.convert_to_tensor(a).numpy(), tf.convert_to_tensor(b).numpy()
        assert np.abs(b).max() > 0
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6 * np.abs(b).max())


@pytest.mark.parametrize("dropout", [False, True])
def test_decoder_loop_outputs_and_gradients_match_automatic(dropout, chunk):
    """Decoder use: outputs of every step, a constant (z) input, recurrent dropout from a seed."""
    fast_cell, slow_cell = _pair(1, dropout, input_size=D + C)
    rng = np.random.default_rng(2)
    x = tf.constant(rng.normal(size=(B, T, D)), tf.float32)
    z = tf.constant(rng.normal(size=(B, C)), tf.float32)
    s0 = tf.constant(rng.normal(0, 0.5, size=(B, 2 * N)), tf.float32)
    seed = tf.constant([3, 4], tf.int64)

    def fn(cell):
        out, state = run_rnn(cell, x, s0, training=True, seed=seed, constant=z)
        return [out, state]

    _check(_grads(fn, fast_cell, [s0, z]), _grads(fn, slow_cell, [s0, z]))


def test_encoder_loop_two_cells_lengths_and_reverse_match_automatic(chunk):
    """Encoder use: two cells in one loop, one reversed, per-row lengths, dropout, no outputs."""
    fw_f, fw_s = _pair(5, dropout=True)
    bw_f, bw_s = _pair(6, dropout=True)
    rng = np.random.default_rng(7)
    lengths = tf.constant([9, 3, 1, 5, 8, 2], tf.int32)
    x = tf.constant(rng.normal(size=(B, T, D)), tf.float32)
    seeds = [tf.constant([1, 2], tf.int64), tf.constant([2, 3], tf.int64)]

    def run(fw, bw):
        with tf.GradientTape() as tape:
            tape.watch(x)
            states = _encoder_states(fw, bw, x, lengths, seeds)
            loss = tf.reduce_sum(tf.sin(states[0] * 1.5)) + tf.reduce_sum(tf.cos(states[1]))
        return states, tape.gradient(loss, fw.trainable_variables + bw.trainable_variables + [x])

    _check(run(fw_f, bw_f), run(fw_s, bw_s))


def test_loop_works_inside_tf_function_and_with_unused_outputs(chunk):
    """Only the final state used (gradient of the outputs is None), traced by tf.function."""
    fast_cell, slow_cell = _pair(8)
    x = tf.constant(np.random.default_rng(9).normal(size=(B, T, D)), tf.float32)

    def make(cell):
        @tf.function
        def step():
            with tf.GradientTape() as tape:
                _, state = run_rnn(cell, x, cell.zero_state(B), training=True)
                loss = tf.reduce_sum(state**2)
            return [state], tape.gradient(loss, cell.trainable_variables)

        return step()

    _check(make(fast_cell), make(slow_cell))


def test_only_training_lstms_take_the_hand_written_loop(monkeypatch):
    calls = []
    real = lstm_loop.fused_training_loop
    monkeypatch.setattr(
        lstm_loop, "fused_training_loop", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    fast_cell, slow_cell = _pair(10)
    x = tf.constant(np.random.default_rng(11).normal(size=(B, T, D)), tf.float32)
    lengths = tf.constant([9, 3, 1, 5, 8, 2], tf.int32)
    run_rnn(fast_cell, x, fast_cell.zero_state(B), training=True)
    assert len(calls) == 1
    run_rnn(
        fast_cell,
        x,
        fast_cell.zero_state(B),
        training=True,
        sequence_length=lengths,
        return_outputs=False,
    )
    assert len(calls) == 2
    run_rnn(fast_cell, x, fast_cell.zero_state(B), training=False)  # inference: exportable
    run_rnn(fast_cell, x, fast_cell.zero_state(B), training=True, sequence_length=lengths)
    run_rnn(slow_cell, x, slow_cell.zero_state(B), training=True)
    assert len(calls) == 2


@pytest.mark.parametrize("chunk_size", [3, 0])
def test_unknown_batch_size_and_steps_a_multiple_of_the_chunk(monkeypatch, chunk_size):
    """Traced with unknown batch and steps (as Trainer's reduce_retracing does) and T = 9 = 3·3.

    No rest of steps after the last chunk.
    """
    monkeypatch.setattr(lstm_loop, "DW_CHUNK", chunk_size)
    fast_cell, slow_cell = _pair(12)
    x = tf.constant(np.random.default_rng(13).normal(size=(B, T, D)), tf.float32)

    def make(cell):
        @tf.function(input_signature=[tf.TensorSpec([None, None, D], tf.float32)])
        def step(x):
            with tf.GradientTape() as tape:
                out, state = run_rnn(cell, x, cell.zero_state(tf.shape(x)[0]), training=True)
                loss = tf.reduce_sum(tf.sin(out)) + tf.reduce_sum(state**2)
            return [out, state], tape.gradient(loss, cell.trainable_variables)

        return step(x)

    _check(make(fast_cell), make(slow_cell))


def test_loop_compiles_with_xla_and_matches(chunk):
    """`train --xla`: the loop compiles under jit_compile and matches the generic loop.

    Both uses: the decoder's (outputs of every step, a constant input) and the encoder's (two
    directions, lengths, final states only); dW_hh in chunks and a rest: its gathers need
    compile-time sizes. Traced for any batch and length, as the Trainer's step is. No dropout:
    XLA's Philox stream is not the CPU kernel's.
    """
    dec_f, dec_s = _pair(14, input_size=D + C)
    fw_f, fw_s = _pair(15)
    bw_f, bw_s = _pair(16)
    rng = np.random.default_rng(17)
    lengths = tf.constant([9, 3, 1, 5, 8, 2], tf.int32)
    x = tf.constant(rng.normal(size=(B, T, D)), tf.float32)
    z = tf.constant(rng.normal(size=(B, C)), tf.float32)

    def make(dec, fw, bw, jit):
        @tf.function(jit_compile=jit, input_signature=[tf.TensorSpec([None, None, D], tf.float32)])
        def step(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                out, state = run_rnn(dec, x, dec.zero_state(B), training=True, constant=z)
                states = _encoder_states(fw, bw, x, lengths)
                values = [out, state, *states]
                loss = tf.add_n([tf.reduce_sum(tf.sin(t * 1.3)) for t in values])
            weights = dec.trainable_variables + fw.trainable_variables + bw.trainable_variables
            return values, tape.gradient(loss, weights + [x])

        return step(x)

    calls = []
    real = lstm_loop.fused_training_loop
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            lstm_loop, "fused_training_loop", lambda *a, **k: calls.append(1) or real(*a, **k)
        )
        out_x, grad_x = make(dec_f, fw_f, bw_f, True)
    assert len(calls) == 2  # the hand-written loop, for the decoder and for the encoder
    out_s, grad_s = make(dec_s, fw_s, bw_s, False)
    for a, b in zip(out_x + grad_x, out_s + grad_s):
        a, b = tf.convert_to_tensor(a).numpy(), tf.convert_to_tensor(b).numpy()
        assert np.abs(b).max() > 0
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6 * np.abs(b).max())
