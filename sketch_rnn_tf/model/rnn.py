"""The time loop that drives a cell over a sequence (Magenta's `dynamic_rnn`).

The input projection of every step is computed before the loop in one matmul (`cell.project_inputs`),
so the loop body holds only the recurrent matmul and the gate maths. With `sequence_length`, the state
stops changing after each sequence's last step, so the final state is the state at step `len`
(as `tf.nn.dynamic_rnn(sequence_length=...)` gives); `reverse=True` reads each sequence backwards over
its first `len` steps only (as `bidirectional_dynamic_rnn` does).
"""

from __future__ import annotations

import tensorflow as tf

from .cells import fold_seed


def run_rnn(cell, inputs, initial_state, sequence_length=None, training=False, reverse=False,
            return_outputs=True, seed=None):
    """Runs `cell` over `inputs` [B, T, D].

    `seed` (a [2] stateless seed or a `cells.RowSeed`): step t's recurrent-dropout mask is drawn
    from `fold_seed(seed, t)`, so training is repeatable; None draws from TF's global generator.

    Returns (outputs [B, T, num_units] or None, final_state [B, state_size]).
    """
    inputs = tf.convert_to_tensor(inputs)
    if not cell.built:
        cell.build(inputs.shape)
    if reverse:
        if sequence_length is None:
            inputs = tf.reverse(inputs, axis=[1])
        else:
            inputs = tf.reverse_sequence(inputs, sequence_length, seq_axis=1, batch_axis=0)
    batch = tf.shape(inputs)[0]
    steps = tf.shape(inputs)[1]
    projected = cell.project_inputs(inputs)                # [B, T, K]
    projected = tf.transpose(projected, [1, 0, 2])         # time-major for the loop
    # Step t reads its slice through a TensorArray: the gradient of `projected[t]` would be a dense
    # [T, B, K] tensor summed over the steps (O(T²) work); a TensorArray read's gradient is a write.
    projected = tf.TensorArray(projected.dtype, size=steps).unstack(projected)
    # Weights read once, outside the loop (see SketchCell.loop_weights).
    weights = cell.loop_weights()
    use_dropout = training and cell.use_recurrent_dropout and cell.dropout_keep_prob < 1.0

    outputs = tf.TensorArray(inputs.dtype, size=steps) if return_outputs else None

    def body(t, state, outputs):
        mask = cell.dropout_mask([batch, cell.num_units], training, seed=fold_seed(seed, t)) \
            if use_dropout else None
        out, new_state = cell.step(projected.read(t), state, mask, weights)
        if sequence_length is not None:
            alive = tf.expand_dims(t < sequence_length, 1)
            new_state = tf.where(alive, new_state, state)
        if outputs is not None:
            outputs = outputs.write(t, out)
        return t + 1, new_state, outputs

    loop_vars = (tf.constant(0), initial_state, outputs) if return_outputs else \
        (tf.constant(0), initial_state)
    if return_outputs:
        _, state, outputs = tf.while_loop(lambda t, *_: t < steps, body, loop_vars,
                                          maximum_iterations=steps)  # static bound for XLA
        outputs = tf.transpose(outputs.stack(), [1, 0, 2])
        return outputs, state
    _, state = tf.while_loop(lambda t, *_: t < steps,
                             lambda t, s: body(t, s, None)[:2], loop_vars,
                             maximum_iterations=steps)
    return None, state
