"""The time loop that drives a cell over a sequence (Magenta's `dynamic_rnn`).

The input projection of every step is computed before the loop in one time-major matmul
(`cell.input_projection`), so the loop body holds only the recurrent matmul and the gate maths; in
training, cells that have a fused loop of their own (`cell.training_loop()`: the LSTM's, whose
backward pass is written by hand) run in it. With
`sequence_length`, the state stops changing after each sequence's last step, so the final state is
the state at step `len` (as `tf.nn.dynamic_rnn(sequence_length=...)` gives); `reverse=True` reads
each sequence backwards over its first `len` steps only (as `bidirectional_dynamic_rnn` does).
"""

from __future__ import annotations

import tensorflow as tf


def run_rnn(cell, inputs, initial_state, reverse=False, seed=None, constant=None, **shared):
    """Runs `cell` over `inputs` [B, T, D].

    `seed` (a [2] stateless seed or a `seeds.RowSeed`): the recurrent-dropout masks of all steps
    are drawn from it in one call, so training is repeatable; None draws from TF's global generator.
    `constant` [B, C]: features appended to every step's input (the decoder's z), projected once.
    `shared`: `run_rnns`' `sequence_length`, `training` and `return_outputs`.

    Returns (outputs [B, T, num_units] or None, final_state [B, state_size]).
    """
    outputs, states = run_rnns(
        [cell],
        [inputs],
        [initial_state],
        reverse=[reverse],
        seeds=[seed],
        constants=[constant],
        **shared,
    )
    return (outputs[0] if shared.get("return_outputs", True) else None), states[0]


def run_rnns(
    cells,
    inputs,
    initial_states,
    sequence_length=None,
    training=False,
    reverse=None,
    return_outputs=True,
    seeds=None,
    constants=None,
):
    """Runs independent cells over inputs of the same length in one loop.

    For the encoder's two directions: their steps are independent ops of one loop body, so
    TensorFlow runs them in parallel and the loop's per-step overhead is paid once. Arguments are
    lists, one entry per cell; see `run_rnn`. Returns (list of outputs, or [] without
    return_outputs; list of states).
    """
    count = len(cells)
    reverse = list(reverse) if reverse is not None else [False] * count
    seeds = list(seeds) if seeds is not None else [None] * count
    constants = list(constants) if constants is not None else [None] * count
    projected, weights, dropout = [], [], []
    for cell, x, backwards, constant, seed in zip(cells, inputs, reverse, constants, seeds):
        x = tf.convert_to_tensor(x)
        if not cell.built:
            extra = 0 if constant is None else int(constant.shape[-1])
            cell.build((None, int(x.shape[-1]) + extra))
        if backwards:
            x = (
                tf.reverse(x, axis=[1])
                if sequence_length is None
                else tf.reverse_sequence(x, sequence_length, seq_axis=1, batch_axis=0)
            )
        steps = tf.shape(x)[1]
        # Time-major input projections read through a TensorArray: the gradient of
        # `projected[t]` would be a dense [T, B, K] tensor summed over the steps (O(T²) work);
        # a TensorArray read's gradient is a write.
        # Projected time-major (as `cell.project_inputs`, on the transposed input): transposing
        # x [B, T, D] is cheap, transposing x·W [B, T, K] (and its gradient) is not.
        kernel, offset = cell.input_projection(x.shape[-1], constant)
        p = tf.einsum("tbd,dk->tbk", tf.transpose(x, [1, 0, 2]), kernel)
        projected.append(p if offset is None else p + offset)  # offset [K] or [B, K]
        weights.append(cell.loop_weights())  # read once, outside the loop
        # Recurrent-dropout masks of all steps in one RNG call (cheaper than one per step).
        dropout.append(cell.dropout_masks(tf.shape(x)[0], steps, training, seed))
    fused = _training_loop(cells) if training else None
    if fused is not None and not (return_outputs and sequence_length is not None):
        # The cells' own training loop (for LSTMs: the same forward ops, a hand-written backward
        # pass). Not with sequence_length and outputs (its outputs would be the frozen states).
        return fused(
            cells, projected, initial_states, weights, dropout, sequence_length, return_outputs
        )
    steps = tf.shape(inputs[0])[1]
    projected = [tf.TensorArray(p.dtype, size=steps).unstack(p) for p in projected]
    dropout = [
        None if m is None else tf.TensorArray(m.dtype, size=steps).unstack(m) for m in dropout
    ]
    outputs = [tf.TensorArray(tf.float32, size=steps) for _ in cells] if return_outputs else []

    def body(t, states, outputs):
        new_states, new_outputs = [], []
        for k, cell in enumerate(cells):
            mask = dropout[k].read(t) if dropout[k] is not None else None
            out, state = cell.step(projected[k].read(t), states[k], mask, weights[k])
            if sequence_length is not None:
                state = tf.where(tf.expand_dims(t < sequence_length, 1), state, states[k])
            new_states.append(state)
            if return_outputs:
                new_outputs.append(outputs[k].write(t, out))
        return t + 1, new_states, new_outputs

    _, states, outputs = tf.while_loop(
        lambda t, *_: t < steps,
        body,
        (tf.constant(0), list(initial_states), outputs),
        maximum_iterations=steps,
    )  # a static bound, for XLA
    outputs = [tf.transpose(o.stack(), [1, 0, 2]) for o in outputs]
    return outputs, states


def _training_loop(cells):
    """The fused training loop every cell offers (`cell.training_loop()`), or None."""
    loops = {cell.training_loop() for cell in cells}
    return loops.pop() if len(loops) == 1 else None
