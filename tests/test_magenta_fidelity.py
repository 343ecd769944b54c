"""Fidelity to Magenta's TF1 sketch-rnn: names, real checkpoints and its evaluation graph.

Variable names/shapes/order, real checkpoints, and a plain-numpy forward pass of Magenta's
evaluation graph for every encoder × decoder configuration.

Sources: ../shared/spec/magenta_facts.md (§1.2 graph, §1.5 cells, §1.6 names),
../shared/spec/magenta_variables.json (names from Magenta's own graph), and the real checkpoints in
../shared/data (MANIFEST.md).
"""

import glob
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from sketch_rnn_tf.formats import magenta_tf1 as tf1
from sketch_rnn_tf.hparams import HParams
from sketch_rnn_tf.model import SketchRNN

from _numpy_magenta import np_ln, sig
from _paths import SHARED as SHARED_ROOT

SPEC = os.path.join(SHARED_ROOT, "spec/magenta_variables.json")
DATA = os.path.join(SHARED_ROOT, "data")
CKPT_INDEX = os.path.join(DATA, "magenta_ckpt_index")
GRAPH = os.path.join(DATA, "magenta_graph")
SHEEP = os.path.join(DATA, "npz", "aaron_sheep.npz")

CELL_TYPES = ("lstm", "layer_norm", "hyper")
CONFIGS = [(e, d, True) for e in CELL_TYPES for d in CELL_TYPES] + [
    ("lstm", d, False) for d in CELL_TYPES
]


def _ids(cfgs):
    return [f"enc={e},dec={d},cond={c}" for e, d, c in cfgs]


def _index_dirs():
    return sorted(
        os.path.dirname(p)
        for p in glob.glob(os.path.join(CKPT_INDEX, "**", "*.index"), recursive=True)
    )


# ============================================================================ numpy reference graph
class NumpyCell:
    """One of Magenta's cells, weights read by full Magenta name through `get`."""

    def __init__(self, kind, scope, get, n, hyper_units=None):
        self.kind, self.get, self.n = kind, get, n
        self.scope = (
            scope
            + "/"
            + {"lstm": "LSTMCell", "layer_norm": "LayerNormLSTMCell", "hyper": "HyperLSTMCell"}[
                kind
            ]
        )
        self.hn = hyper_units

    @property
    def state_size(self):
        return 2 * self.n if self.kind != "hyper" else 2 * (self.n + self.hn)

    def w(self, name):
        return self.get(f"{self.scope}/{name}")

    def output(self, state):
        """get_output: LSTM [c, h] -> second half; LayerNorm [h, c] and Hyper [h, ĥ, c, ĉ] -> h."""
        return state[:, self.n : 2 * self.n] if self.kind == "lstm" else state[:, : self.n]

    def step(self, x, state):
        if self.kind == "lstm":
            return self._lstm(x, state)
        if self.kind == "layer_norm":
            return self._ln_lstm(x, state, self.n, "")
        return self._hyper(x, state)

    def _lstm(self, x, state):
        n = self.n
        c, h = state[:, :n], state[:, n:]
        pre = x @ self.w("W_xh") + h @ self.w("W_hh") + self.w("bias")
        i, j, f, o = np.split(pre, 4, 1)
        c2 = c * sig(f + 1.0) + sig(i) * np.tanh(j)
        h2 = np.tanh(c2) * sig(o)
        return h2, np.concatenate([c2, h2], 1)

    def _ln_lstm(self, x, state, n, sub):
        h, c = state[:, :n], state[:, n:]
        pre = x @ self.w(sub + "W_xh") + h @ self.w(sub + "W_hh")
        pre = np_ln(pre, self.w(sub + "ln_all/ln_gamma"), self.w(sub + "ln_all/ln_beta"), 4)
        i, j, f, o = np.split(pre, 4, 1)
        c2 = c * sig(f + 1.0) + sig(i) * np.tanh(j)
        h2 = np.tanh(np_ln(c2, self.w(sub + "ln_c/ln_gamma"), self.w(sub + "ln_c/ln_beta"))) * sig(
            o
        )
        return h2, np.concatenate([h2, c2], 1)

    def _hyper(self, x, state):
        n, hn = self.n, self.hn
        h, hh, c, hc = np.split(state, [n, n + hn, 2 * n + hn], axis=1)
        hyper_out, hyper_state = self._ln_lstm(
            np.concatenate([x, h], 1), np.concatenate([hh, hc], 1), hn, "LayerNormLSTMCell/"
        )

        def hyper_norm(layer, scope, use_bias):
            zw = hyper_out @ self.w(f"{scope}/zw/super_linear_w") + self.w(
                f"{scope}/zw/super_linear_b"
            )
            out = (zw @ self.w(f"{scope}/alpha/super_linear_w")) * layer
            if use_bias:
                out = out + (hyper_out @ self.w(f"{scope}/zb/super_linear_w")) @ self.w(
                    f"{scope}/beta/super_linear_w"
                )
            return out

        xs = np.split(x @ self.w("W_xh"), 4, 1)
        hs = np.split(h @ self.w("W_hh"), 4, 1)
        bs = np.split(self.w("bias"), 4)
        gates = [
            hyper_norm(xs[k], f"hyper_{g}x", False) + hyper_norm(hs[k], f"hyper_{g}h", True) + bs[k]
            for k, g in enumerate("ijfo")
        ]
        pre = np_ln(
            np.concatenate(gates, 1), self.w("ln_all/ln_gamma"), self.w("ln_all/ln_beta"), 4
        )
        i, j, f, o = np.split(pre, 4, 1)
        c2 = c * sig(f + 1.0) + sig(i) * np.tanh(j)
        h2 = np.tanh(np_ln(c2, self.w("ln_c/ln_gamma"), self.w("ln_c/ln_beta"))) * sig(o)
        hh2, hc2 = np.split(hyper_state, 2, 1)
        return h2, np.concatenate([h2, hh2, c2, hc2], 1)


def np_softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def numpy_eval_graph(prefix, hp, sketches_px, scale_factor):
    """Magenta's evaluation graph (is_training=False, z = μ) in numpy.

    Returns (r_cost, mu, presig).
    """
    reader = tf.train.load_checkpoint(prefix)

    def get(name):
        return reader.get_tensor(name).astype(np.float64)

    T = hp.max_seq_len
    B = len(sketches_px)
    # pad_batch: [B, T+1, 5] with S0 at row 0, stroke-5 rows, then (0,0,0,0,1)
    data = np.zeros((B, T + 1, 5))
    data[:, 0] = [0, 0, 1, 0, 0]
    lengths = []
    for b, s in enumerate(sketches_px):
        s = np.asarray(s, np.float64)
        n = len(s)
        data[b, 1 : n + 1, :2] = np.asarray(s[:, :2], np.float32) / np.float32(scale_factor)
        data[b, 1 : n + 1, 2] = 1 - s[:, 2]
        data[b, 1 : n + 1, 3] = s[:, 2]
        data[b, n + 1 :, 4] = 1
        lengths.append(n)
    input_x, output_x = data[:, :T], data[:, 1:]
    hn = hp.hyper_num_units
    mu = presig = None
    if hp.conditional:
        fw = NumpyCell(hp.enc_model, "vector_rnn/ENC_RNN/fw", get, hp.enc_rnn_size, hn)
        bw = NumpyCell(hp.enc_model, "vector_rnn/ENC_RNN/bw", get, hp.enc_rnn_size, hn)
        last_h = []
        for b in range(B):  # each sketch unpadded: forward over S_1..S_n, backward over S_n..S_1
            n = lengths[b]
            sf = np.zeros((1, fw.state_size))
            sb = np.zeros((1, bw.state_size))
            for t in range(n):
                _, sf = fw.step(output_x[b, t : t + 1], sf)
                _, sb = bw.step(output_x[b, n - 1 - t : n - t], sb)
            last_h.append(np.concatenate([fw.output(sf), bw.output(sb)], 1)[0])
        last_h = np.stack(last_h)
        mu = last_h @ get("vector_rnn/ENC_RNN_mu/super_linear_w") + get(
            "vector_rnn/ENC_RNN_mu/super_linear_b"
        )
        presig = last_h @ get("vector_rnn/ENC_RNN_sigma/super_linear_w") + get(
            "vector_rnn/ENC_RNN_sigma/super_linear_b"
        )
        z = mu
    dec = NumpyCell(hp.dec_model, "vector_rnn/RNN", get, hp.dec_rnn_size, hn)
    if hp.conditional:
        state = np.tanh(
            z @ get("vector_rnn/linear/super_linear_w") + get("vector_rnn/linear/super_linear_b")
        )
        x_all = np.concatenate([input_x, np.repeat(z[:, None], T, 1)], 2)
    else:
        state = np.zeros((B, dec.state_size))
        x_all = input_x
    assert state.shape == (B, dec.state_size)
    w_out, b_out = get("vector_rnn/RNN/output_w"), get("vector_rnn/RNN/output_b")
    rows = []
    for t in range(T):
        h, state = dec.step(x_all[:, t], state)
        y = h @ w_out + b_out
        pen_logits = y[:, :3]
        pi, mx, my, sx, sy, rho = np.split(y[:, 3:], 6, 1)
        pi, sx, sy, rho = np_softmax(pi), np.exp(sx), np.exp(sy), np.tanh(rho)
        x1, x2 = output_x[:, t, 0:1], output_x[:, t, 1:2]
        n1, n2 = x1 - mx, x2 - my
        zz = (n1 / sx) ** 2 + (n2 / sy) ** 2 - 2 * rho * n1 * n2 / (sx * sy)
        dens = np.exp(-zz / (2 * (1 - rho**2))) / (2 * np.pi * sx * sy * np.sqrt(1 - rho**2))
        fs = 1.0 - output_x[:, t, 4]
        result1 = -np.log((pi * dens).sum(1) + 1e-6) * fs
        result2 = (
            -(output_x[:, t, 2:5] * np.log(np_softmax(pen_logits))).sum(1) * fs
        )  # eval: masked
        rows.append(result1 + result2)
    return float(np.mean(rows)), mu, presig


@pytest.fixture
def fast_ortho(monkeypatch):
    """Shape-only tests: skip the per-gate SVDs of the orthogonal initialiser.

    They are slow for 512/1024 units on a loaded CPU; names and shapes do not depend on the initial
    values.
    """
    from sketch_rnn_tf.model import cells

    def fast(self, shape, dtype=None):
        return tf.zeros(shape, dtype or "float32")

    monkeypatch.setattr(cells.OrthogonalPerGate, "__call__", fast)


# ========================================================================= (a) names, shapes, order
def test_variable_shapes_match_magenta_graph_for_all_configs(fast_ortho):
    spec = json.load(open(SPEC))
    assert len(spec) == 12
    for key, entry in spec.items():
        parts = dict(kv.split("=") for kv in key.split(","))
        hp = HParams(
            enc_model=parts["enc"], dec_model=parts["dec"], conditional=parts["cond"] == "True"
        )
        expected = [(n[:-2] if n.endswith(":0") else n, tuple(s)) for n, s in entry["trainable"]]
        got = list(tf1.variable_shapes(hp).items())
        assert got == expected, key  # names, shapes AND order
        if "cell_state_size" in entry and entry["cell_state_size"] is not None:
            assert SketchRNN(hp).decoder.cell.state_size == np.sum(entry["cell_state_size"]), key


def test_variable_counts_match_facts_table(fast_ortho):
    counts = {
        ("lstm", "lstm", True): (2186107, 17),
        ("layer_norm", "hyper", True): (3480699, 65),
        ("hyper", "hyper", True): (4940411, 143),
        ("lstm", "hyper", False): (2218363, 47),
    }
    for (e, d, c), (params, nvars) in counts.items():
        shapes = tf1.variable_shapes(HParams(enc_model=e, dec_model=d, conditional=c))
        assert len(shapes) == nvars
        assert sum(int(np.prod(s)) for s in shapes.values()) == params


# ============================================================================ (b), (c) real indexes
def _trainable_subset(listed):
    out = {}
    for name, shape in listed:
        base = name.split("/")[-1]
        if name.startswith("vector_rnn_1/") or name.startswith("vector_rnn/vector_rnn/"):
            continue
        if base in (
            "Adam",
            "Adam_1",
            "global_step",
            "Variable",
            "Variable_1",
            "beta1_power",
            "beta2_power",
        ):
            continue
        out[name] = tuple(shape)
    return out


def _index_prefix(d):
    state = os.path.join(d, "checkpoint")
    with open(state) as f:
        line = [ln for ln in f if ln.startswith("model_checkpoint_path")][0]
    prefix = os.path.join(d, os.path.basename(line.split('"')[1]))
    assert os.path.exists(prefix + ".index")
    return prefix


def test_real_index_dirs_present():
    assert len(_index_dirs()) == 7


@pytest.mark.parametrize("d", _index_dirs(), ids=lambda d: os.path.relpath(d, CKPT_INDEX))
def test_real_checkpoint_index_matches_variable_shapes(d, fast_ortho):
    hp = HParams.from_json(os.path.join(d, "model_config.json"))
    listed = tf.train.list_variables(_index_prefix(d))
    ckpt = _trainable_subset(listed)
    ours = tf1.variable_shapes(hp)
    assert ckpt == dict(ours)
    # every trainable has its two Adam slots in the doubled scope
    names = {n for n, _ in listed}
    for n in ours:
        assert f"vector_rnn/{n}/Adam" in names and f"vector_rnn/{n}/Adam_1" in names


@pytest.mark.parametrize("d", _index_dirs(), ids=lambda d: os.path.relpath(d, CKPT_INDEX))
def test_find_checkpoint_prefix_without_data_file(d):
    prefix = _index_prefix(d)
    with pytest.raises(tf1.CheckpointError) as e:
        tf1.find_checkpoint_prefix(d)
    assert os.path.basename(prefix) + ".data-00000-of-00001" in str(e.value)


def test_load_weights_rejects_real_index_of_another_config(fast_ortho):
    """owl/lstm is enc 256 / dec 512: a dec-256 model must be refused, naming the weights."""
    prefix = _index_prefix(os.path.join(CKPT_INDEX, "owl", "lstm"))
    model = SketchRNN(HParams(dec_rnn_size=256, max_seq_len=174))
    with pytest.raises(tf1.CheckpointError) as e:
        tf1.load_weights(model, prefix)
    assert "vector_rnn/RNN/LSTMCell/W_hh" in str(e.value)
    assert "[512, 2048]" in str(e.value)


# ========================================================================= (d) Magenta-graph ckpts
GRAPH_DIRS = ["cond_lstm_layer_norm", "uncond_lstm_hyper"]


@pytest.fixture(scope="module", params=GRAPH_DIRS)
def graph_ckpt(request):
    d = os.path.join(GRAPH, request.param)
    hp = HParams.from_json(os.path.join(d, "model_config.json"))
    ref = json.load(open(os.path.join(d, "reference.json")))
    prefix = tf1.find_checkpoint_prefix(d)
    model = SketchRNN(hp, ref["scale_factor"])
    tf1.load_weights(model, prefix)
    sketches = [np.asarray(s, np.float32) for s in ref["sketches"]]
    return hp, ref, prefix, model, sketches


def test_magenta_graph_checkpoint_r_cost(graph_ckpt):
    hp, ref, _, model, sketches = graph_ckpt
    assert abs(model.reconstruction_loss(sketches) - ref["r_cost"]) < 1e-5
    if hp.conditional:
        mu, presig = model.latent(sketches)
        np.testing.assert_allclose(mu, np.array(ref["mu"]), atol=1e-5)
        np.testing.assert_allclose(presig, np.array(ref["presig"]), atol=1e-5)
        np.testing.assert_allclose(model.encode(sketches), mu, atol=0)
    else:
        with pytest.raises(ValueError):
            model.latent(sketches)


def test_numpy_reference_graph_reproduces_magenta(graph_ckpt):
    """Anchors the numpy reference used by the matrix test on Magenta's own numbers."""
    hp, ref, prefix, _, sketches = graph_ckpt
    r_cost, mu, presig = numpy_eval_graph(prefix, hp, sketches, ref["scale_factor"])
    assert abs(r_cost - ref["r_cost"]) < 1e-5
    if hp.conditional:
        np.testing.assert_allclose(mu, np.array(ref["mu"]), atol=1e-5)
        np.testing.assert_allclose(presig, np.array(ref["presig"]), atol=1e-5)


# ============================================================================ (e) full matrix
SMALL = dict(
    enc_rnn_size=8,
    dec_rnn_size=12,
    z_size=4,
    num_mixture=3,
    max_seq_len=40,
    hyper_num_units=16,
    hyper_embedding_size=4,
    use_recurrent_dropout=False,
)
SCALE = 15.0


@pytest.fixture(scope="module")
def sheep_sketches():
    test = np.load(SHEEP, allow_pickle=True, encoding="latin1")["test"]
    short = [np.asarray(s, np.float32) for s in test if len(s) <= SMALL["max_seq_len"]]
    assert len(short) >= 3
    return short[:3] + [short[-1][: max(2, len(short[-1]) // 2)]]  # also a very short one


def randomise(model, seed):
    rng = np.random.default_rng(seed)
    for name, v in model.magenta_variables().items():
        value = rng.normal(0.0, 0.3, size=tuple(v.shape))
        if "gamma" in name:
            value += 1.0
        v.assign(value.astype(np.float32))


@pytest.mark.parametrize("enc,dec,cond", CONFIGS, ids=_ids(CONFIGS))
def test_tf1_round_trip_and_numpy_graph(enc, dec, cond, tmp_path, sheep_sketches):
    hp = HParams(enc_model=enc, dec_model=dec, conditional=cond, **SMALL)
    model = SketchRNN(hp, SCALE)
    randomise(model, seed=CONFIGS.index((enc, dec, cond)))
    r_model = model.reconstruction_loss(sheep_sketches)

    prefix = tf1.save_weights(model, str(tmp_path / "vector"))
    assert tf1.find_checkpoint_prefix(str(tmp_path)) == prefix
    listed = dict((n, tuple(s)) for n, s in tf.train.list_variables(prefix))
    assert listed == tf1.variable_shapes(hp)

    fresh = SketchRNN(hp, SCALE)
    tf1.load_weights(fresh, prefix)
    for name, v in fresh.magenta_variables().items():
        np.testing.assert_array_equal(v.numpy(), model.magenta_variables()[name].numpy())
    r_fresh = fresh.reconstruction_loss(sheep_sketches)
    assert abs(r_fresh - r_model) < 1e-6

    r_np, mu_np, presig_np = numpy_eval_graph(prefix, hp, sheep_sketches, SCALE)
    assert abs(r_fresh - r_np) < 1e-5 * max(1.0, abs(r_np)), (r_fresh, r_np)
    if cond:
        mu, presig = fresh.latent(sheep_sketches)
        np.testing.assert_allclose(mu, mu_np, atol=1e-5)
        np.testing.assert_allclose(presig, presig_np, atol=1e-5)


def test_checkpoint_of_another_config_is_refused(tmp_path):
    hp = HParams(**SMALL)
    prefix = tf1.save_weights(SketchRNN(hp), str(tmp_path / "vector"))
    other = SketchRNN(hp.replace(dec_rnn_size=16))
    before = {n: v.numpy().copy() for n, v in other.magenta_variables().items()}
    with pytest.raises(tf1.CheckpointError) as e:
        tf1.load_weights(other, prefix)
    msg = str(e.value)
    assert "vector_rnn/RNN/LSTMCell/W_hh" in msg and "[12, 48]" in msg and "[16, 64]" in msg
    # nothing was assigned
    for n, v in other.magenta_variables().items():
        np.testing.assert_array_equal(v.numpy(), before[n])
    # another cell type: names missing
    ln = SketchRNN(hp.replace(dec_model="layer_norm"))
    with pytest.raises(tf1.CheckpointError) as e:
        tf1.load_weights(ln, prefix)
    assert "vector_rnn/RNN/LayerNormLSTMCell/W_xh" in str(e.value)
    assert "missing" in str(e.value)
