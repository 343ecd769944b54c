"""The three recurrent cells against a plain-numpy re-computation of Magenta's equations.

The numpy code below is written from the facts report (magenta_facts.md §1.4-§1.5), not from the
package: gate order i, j, f, o; forget bias 1.0 added at run time; layer norm with biased variance
and epsilon 1e-3 inside the rsqrt, blockwise per gate for `ln_all`; state layouts LSTM [c, h],
LayerNorm [h, c], Hyper [h, ĥ, c, ĉ]. Weights are read by their Magenta names (relative to the cell
scope), so the test also pins the name → role mapping.
"""

import numpy as np
import pytest
import tensorflow as tf

from sketch_rnn_tf.model.cells import HyperLSTMCell, LayerNormLSTMCell, LSTMCell
from sketch_rnn_tf.model.rnn import run_rnn

from _numpy_magenta import np_ln, sig

N, D, B, HN, E = 6, 5, 3, 7, 4  # units, input size, batch, hyper units, hyper embedding


# ----------------------------------------------------------------------------- numpy reference
def np_lstm(w, x, state, n, mask=1.0):
    c, h = state[:, :n], state[:, n:]
    pre = np.concatenate([x, h], 1) @ np.concatenate([w["W_xh"], w["W_hh"]], 0) + w["bias"]
    i, j, f, o = np.split(pre, 4, 1)
    c2 = c * sig(f + 1.0) + sig(i) * np.tanh(j) * mask
    h2 = np.tanh(c2) * sig(o)
    return h2, np.concatenate([c2, h2], 1)


def np_ln_lstm(w, x, state, n, mask=1.0, prefix=""):
    h, c = state[:, :n], state[:, n:]
    pre = np.concatenate([x, h], 1) @ np.concatenate([w[prefix + "W_xh"], w[prefix + "W_hh"]], 0)
    pre = np_ln(pre, w[prefix + "ln_all/ln_gamma"], w[prefix + "ln_all/ln_beta"], 4)
    i, j, f, o = np.split(pre, 4, 1)
    c2 = c * sig(f + 1.0) + sig(i) * np.tanh(j) * mask
    h2 = np.tanh(np_ln(c2, w[prefix + "ln_c/ln_gamma"], w[prefix + "ln_c/ln_beta"])) * sig(o)
    return h2, np.concatenate([h2, c2], 1)


def np_hyper(w, x, state, n, hn, mask=1.0):
    h, hh_, c, hc_ = np.split(state, [n, n + hn, 2 * n + hn], axis=1)
    hyper_out, hyper_state = np_ln_lstm(
        w, np.concatenate([x, h], 1), np.concatenate([hh_, hc_], 1), hn, prefix="LayerNormLSTMCell/"
    )

    def hyper_norm(layer, scope, use_bias):
        zw = hyper_out @ w[f"{scope}/zw/super_linear_w"] + w[f"{scope}/zw/super_linear_b"]
        out = (zw @ w[f"{scope}/alpha/super_linear_w"]) * layer
        if use_bias:
            zb = hyper_out @ w[f"{scope}/zb/super_linear_w"]
            out = out + zb @ w[f"{scope}/beta/super_linear_w"]
        return out

    xs = np.split(x @ w["W_xh"], 4, 1)
    hs = np.split(h @ w["W_hh"], 4, 1)
    bs = np.split(w["bias"], 4)
    gates = []
    for k, g in enumerate("ijfo"):
        gates.append(
            hyper_norm(xs[k], f"hyper_{g}x", False) + hyper_norm(hs[k], f"hyper_{g}h", True) + bs[k]
        )
    pre = np_ln(np.concatenate(gates, 1), w["ln_all/ln_gamma"], w["ln_all/ln_beta"], 4)
    i, j, f, o = np.split(pre, 4, 1)
    c2 = c * sig(f + 1.0) + sig(i) * np.tanh(j) * mask
    h2 = np.tanh(np_ln(c2, w["ln_c/ln_gamma"], w["ln_c/ln_beta"])) * sig(o)
    hh2, hc2 = np.split(hyper_state, 2, 1)
    return h2, np.concatenate([h2, hh2, c2, hc2], 1)


# ----------------------------------------------------------------------------- helpers
def make(kind, dropout=False, keep=0.5):
    if kind == "lstm":
        cell = LSTMCell(N, use_recurrent_dropout=dropout, dropout_keep_prob=keep)
    elif kind == "layer_norm":
        cell = LayerNormLSTMCell(N, use_recurrent_dropout=dropout, dropout_keep_prob=keep)
    else:
        cell = HyperLSTMCell(
            N,
            use_recurrent_dropout=dropout,
            dropout_keep_prob=keep,
            hyper_num_units=HN,
            hyper_embedding_size=E,
        )
    cell.build((None, D))
    return cell


def randomise(cell, seed=0):
    """Assigns random non-default values to every weight.

    Returns {Magenta name: value (float64)}.
    """
    rng = np.random.default_rng(seed)
    weights = {}
    for name, v in cell.magenta_weights():
        value = rng.normal(0.0, 0.5, size=tuple(v.shape))
        if "gamma" in name:
            value += 1.0
        v.assign(value.astype(np.float32))
        weights[name] = value.astype(np.float32).astype(np.float64)
    assert len(weights) == len(cell.magenta_weights()), "duplicate Magenta names"
    return weights


def np_step(kind, w, x, state, mask=1.0):
    if kind == "lstm":
        return np_lstm(w, x, state, N, mask)
    if kind == "layer_norm":
        return np_ln_lstm(w, x, state, N, mask)
    return np_hyper(w, x, state, N, HN, mask)


def c_slice(kind):
    """Where c sits in the flat state."""
    return {"lstm": slice(0, N), "layer_norm": slice(N, 2 * N), "hyper": slice(N + HN, 2 * N + HN)}[
        kind
    ]


def h_slice(kind):
    return {"lstm": slice(N, 2 * N), "layer_norm": slice(0, N), "hyper": slice(0, N)}[kind]


KINDS = ["lstm", "layer_norm", "hyper"]


# ----------------------------------------------------------------------------- tests
@pytest.mark.parametrize("kind", KINDS)
def test_cell_matches_numpy_equations(kind):
    cell = make(kind)
    w = randomise(cell, seed=1)
    rng = np.random.default_rng(2)
    state = rng.normal(0, 0.5, size=(B, cell.state_size))
    state_tf = tf.constant(state, tf.float32)
    for _ in range(5):
        x = rng.normal(0, 1.0, size=(B, D))
        h_np, state = np_step(kind, w, x, state)
        h_tf, state_tf = cell.step(cell.project_inputs(tf.constant(x, tf.float32)), state_tf)
        np.testing.assert_allclose(h_tf.numpy(), h_np, atol=1e-5, rtol=1e-5)
        np.testing.assert_allclose(state_tf.numpy(), state, atol=1e-5, rtol=1e-5)
    # call() (unprojected input, no training) is the same step
    x = rng.normal(size=(B, D))
    h_np, s_np = np_step(kind, w, x, state)
    h_tf, s_tf = cell(tf.constant(x, tf.float32), tf.constant(state, tf.float32))
    np.testing.assert_allclose(s_tf.numpy(), s_np, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_state_layout(kind):
    cell = make(kind)
    randomise(cell, seed=3)
    expected_size = {"lstm": 2 * N, "layer_norm": 2 * N, "hyper": 2 * (N + HN)}[kind]
    assert cell.state_size == expected_size
    assert cell.output_size == N
    x = tf.constant(np.random.default_rng(4).normal(size=(B, D)), tf.float32)
    h, state = cell.step(cell.project_inputs(x), cell.zero_state(B))
    state = state.numpy()
    # the output h sits where the layout says, and output_from_state finds it there
    np.testing.assert_array_equal(state[:, h_slice(kind)], h.numpy())
    np.testing.assert_array_equal(cell.output_from_state(tf.constant(state)).numpy(), h.numpy())
    # c is NOT h (and for the layer-norm cells the stored c is not normalised)
    c = state[:, c_slice(kind)]
    assert not np.allclose(c, h.numpy())
    if kind != "lstm":
        assert not np.allclose(c.mean(1), 0.0, atol=1e-3) or not np.allclose(
            c.std(1), 1.0, atol=1e-2
        )


def test_hyper_state_holds_hyper_cell_state():
    cell = make("hyper")
    w = randomise(cell, seed=5)
    rng = np.random.default_rng(6)
    x = rng.normal(size=(B, D))
    state = rng.normal(0, 0.5, size=(B, cell.state_size))
    _, s_tf = cell.step(
        cell.project_inputs(tf.constant(x, tf.float32)), tf.constant(state, tf.float32)
    )
    # ĥ', ĉ' are the hyper LayerNormLSTM's own step on [x, h] from [ĥ, ĉ]
    h = state[:, :N]
    hyper_state = np.concatenate([state[:, N : N + HN], state[:, 2 * N + HN :]], 1)
    hh, hs = np_ln_lstm(w, np.concatenate([x, h], 1), hyper_state, HN, prefix="LayerNormLSTMCell/")
    s = s_tf.numpy()
    np.testing.assert_allclose(s[:, N : N + HN], hh, atol=1e-5)
    np.testing.assert_allclose(s[:, 2 * N + HN :], hs[:, HN:], atol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_recurrent_dropout_explicit_mask(kind):
    """step(mask=m) multiplies tanh(j) by m: compare with numpy for a 0/2 mask (keep prob 0.5)."""
    cell = make(kind, dropout=True, keep=0.5)
    w = randomise(cell, seed=7)
    rng = np.random.default_rng(8)
    x = rng.normal(size=(B, D))
    state = rng.normal(0, 0.5, size=(B, cell.state_size))
    mask = (rng.random((B, N)) < 0.5).astype(np.float64) * 2.0
    h_np, s_np = np_step(kind, w, x, state, mask)
    h_tf, s_tf = cell.step(
        cell.project_inputs(tf.constant(x, tf.float32)),
        tf.constant(state, tf.float32),
        tf.constant(mask, tf.float32),
    )
    np.testing.assert_allclose(s_tf.numpy(), s_np, atol=1e-5, rtol=1e-5)
    # the cell's own mask is inverted dropout: values exactly 0 or 1/keep
    m = cell.dropout_mask([200, N], training=True).numpy()
    assert set(np.unique(m)) <= {0.0, 2.0}
    assert 0.4 < (m == 0).mean() < 0.6
    assert cell.dropout_mask([2, N], training=False) is None
    assert make(kind, dropout=False).dropout_mask([2, N], training=True) is None


@pytest.mark.parametrize("kind", KINDS)
def test_recurrent_dropout_statistics(kind):
    """From c = 0, c' = σ(i)·drop(tanh j): the ratio to the undropped c' is exactly 0 or 2."""
    cell = make(kind, dropout=True, keep=0.5)
    w = randomise(cell, seed=9)
    rng = np.random.default_rng(10)
    batch = 400
    x = rng.normal(size=(batch, D))
    state = rng.normal(0, 0.5, size=(batch, cell.state_size))
    state[:, c_slice(kind)] = 0.0
    _, s_ref = np_step(kind, w, x, state)
    c_ref = s_ref[:, c_slice(kind)]
    _, s_tf = cell(tf.constant(x, tf.float32), tf.constant(state, tf.float32), training=True)
    c = s_tf.numpy()[:, c_slice(kind)]
    ok = np.abs(c_ref) > 1e-3
    ratio = c[ok] / c_ref[ok]
    dropped = np.abs(ratio) < 1e-4
    scaled = np.abs(ratio - 2.0) < 1e-3
    assert np.all(dropped | scaled), "dropped candidates must be exactly 0 or scaled by 1/keep"
    assert 0.45 < dropped.mean() < 0.55
    # a fresh mask on every call
    _, s_tf2 = cell(tf.constant(x, tf.float32), tf.constant(state, tf.float32), training=True)
    assert not np.array_equal(s_tf.numpy(), s_tf2.numpy())
    # no dropout when not training
    _, s_eval = cell(tf.constant(x, tf.float32), tf.constant(state, tf.float32), training=False)
    np.testing.assert_allclose(s_eval.numpy(), s_ref, atol=1e-5, rtol=1e-5)
    # the hyper sub-cell never drops: ĥ', ĉ' are the same with and without dropout
    if kind == "hyper":
        np.testing.assert_allclose(s_tf.numpy()[:, N : N + HN], s_ref[:, N : N + HN], atol=1e-5)


def _run_unpadded(kind, w, x, length, reverse=False):
    cell_state = np.zeros((1, {"lstm": 2 * N, "layer_norm": 2 * N, "hyper": 2 * (N + HN)}[kind]))
    seq = x[:length][::-1] if reverse else x[:length]
    for t in range(length):
        _, cell_state = np_step(kind, w, seq[t : t + 1], cell_state)
    return cell_state[0]


@pytest.mark.parametrize("kind", KINDS)
def test_run_rnn_sequence_length_and_reverse(kind):
    cell = make(kind)
    w = randomise(cell, seed=11)
    rng = np.random.default_rng(12)
    T = 7
    lengths = np.array([7, 3, 1, 5])
    x = rng.normal(size=(len(lengths), T, D))
    for b, n in enumerate(lengths):
        x[b, n:] = rng.normal(5.0, 3.0, size=(T - n, D))  # garbage padding must not matter
    zero = cell.zero_state(len(lengths))
    xt = tf.constant(x, tf.float32)
    lt = tf.constant(lengths, tf.int32)
    _, fw = run_rnn(cell, xt, zero, sequence_length=lt)
    _, bw = run_rnn(cell, xt, zero, sequence_length=lt, reverse=True, return_outputs=False)
    for b, n in enumerate(lengths):
        np.testing.assert_allclose(fw.numpy()[b], _run_unpadded(kind, w, x[b], n), atol=1e-5)
        np.testing.assert_allclose(
            bw.numpy()[b], _run_unpadded(kind, w, x[b], n, reverse=True), atol=1e-5
        )
    # without sequence_length: all steps, outputs per step
    out, full = run_rnn(cell, xt, zero)
    assert out.shape == (len(lengths), T, N)
    for b in range(len(lengths)):
        np.testing.assert_allclose(full.numpy()[b], _run_unpadded(kind, w, x[b], T), atol=1e-5)
    np.testing.assert_allclose(out.numpy()[:, -1], cell.output_from_state(full).numpy(), atol=1e-6)
    # reverse without lengths reverses the whole sequence
    _, rev = run_rnn(cell, xt, zero, reverse=True)
    np.testing.assert_allclose(
        rev.numpy()[1], _run_unpadded(kind, w, x[1], T, reverse=True), atol=1e-5
    )


def test_run_rnn_training_draws_fresh_masks_per_step():
    cell = make("lstm", dropout=True, keep=0.5)
    randomise(cell, seed=13)
    x = tf.constant(np.random.default_rng(14).normal(size=(64, 6, D)), tf.float32)
    out1, _ = run_rnn(cell, x, cell.zero_state(64), training=True)
    out2, _ = run_rnn(cell, x, cell.zero_state(64), training=True)
    out_eval, _ = run_rnn(cell, x, cell.zero_state(64), training=False)
    out_eval2, _ = run_rnn(cell, x, cell.zero_state(64), training=False)
    assert not np.allclose(out1.numpy(), out2.numpy())
    np.testing.assert_array_equal(out_eval.numpy(), out_eval2.numpy())
