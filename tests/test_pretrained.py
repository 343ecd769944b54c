"""Loading and saving trained models.

The formats: magenta-js JSON, Magenta TF1 checkpoints, this package's format.

The numerical-fidelity test re-implements Magenta's decoder equations in plain numpy (from
../shared/spec/magenta_facts.md §1.2, §1.5) and decodes the JSON weights independently of the
package, so a real pretrained model is checked end to end.
"""

import base64
import json
import os
import shutil

import numpy as np
import pytest

from sketch_rnn_tf import HParams, ModelLoadError, SketchRNN, load_model, save_model
from sketch_rnn_tf.formats import magenta_tf1 as tf1
from sketch_rnn_tf.formats.magenta_js import (
    QUANT_MAX,
    QUANT_RANGE,
    JSExportError,
    JSFormatError,
    read_js,
    write_js,
)

from _paths import SHARED as SHARED_ROOT

SHARED = os.path.join(SHARED_ROOT, "data")
JS_DIR = os.path.join(SHARED, "magenta_js")
NPZ_DIR = os.path.join(SHARED, "npz")
SHEEP_NPZ = os.path.join(NPZ_DIR, "aaron_sheep.npz")
GRAPH_DIR = os.path.join(SHARED, "magenta_graph")
INDEX_ONLY = os.path.join(SHARED, "magenta_ckpt_index", "catbus", "lstm")
STEP = QUANT_RANGE / QUANT_MAX

pytestmark = pytest.mark.skipif(
    not os.path.isdir(JS_DIR) or not os.path.isfile(SHEEP_NPZ),
    reason="shared real data not available",
)

JS_MODELS = {  # name: (max_seq_len, scale_factor), from the files' info
    "sheep": (156, 63.0983),
    "bird": (129, 71.3754),
    "ant": (100, 87.6737),
}


# --------------------------------------------------------------------------- helpers
def _sheep_test_sketches(max_len, n=8):
    data = np.load(SHEEP_NPZ, allow_pickle=True, encoding="latin1")
    return [np.asarray(s) for s in data["test"] if len(s) <= max_len][:n]


def _decode_js_independently(path):
    with open(path) as f:
        info, shapes, blobs = json.load(f)
    weights = [
        np.frombuffer(base64.b64decode(b), dtype="<i2").astype(np.float64).reshape(s)
        / 32767.0
        * 10.0
        for s, b in zip(shapes, blobs)
    ]
    return info, weights


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _numpy_magenta_r_cost(weights, sketches, scale, max_len, num_mixture):
    """Magenta's evaluation reconstruction loss of a decoder-only LSTM model, in float64 numpy."""
    output_w, output_b, w_xh, w_hh, bias = weights
    batch = len(sketches)
    # Magenta's pad_batch: S0, the sketch in stroke-5 (offsets / scale), then (0,0,0,0,1) padding.
    x = np.zeros((batch, max_len + 1, 5))
    x[:, 0] = [0, 0, 1, 0, 0]
    for b, s in enumerate(sketches):
        n = len(s)
        x[b, 1 : n + 1, 0:2] = s[:, 0:2] / scale
        x[b, 1 : n + 1, 3] = s[:, 2]
        x[b, 1 : n + 1, 2] = 1 - s[:, 2]
        x[b, n + 1 :, 4] = 1
    units = w_hh.shape[0]
    c = np.zeros((batch, units))
    h = np.zeros((batch, units))
    total = 0.0
    for t in range(max_len):
        # LSTMCell: [x, h]·[W_xh; W_hh] + bias, gates i, j, f, o, forget bias 1 added at run time.
        pre = x[:, t] @ w_xh + h @ w_hh + bias
        i, j, f, o = np.split(pre, 4, axis=1)
        c = c * _sigmoid(f + 1.0) + _sigmoid(i) * np.tanh(j)
        h = np.tanh(c) * _sigmoid(o)
        y = h @ output_w + output_b
        pen_logits = y[:, :3]
        pi, mu1, mu2, s1, s2, rho = np.split(y[:, 3:], 6, axis=1)
        pi = np.exp(pi - pi.max(1, keepdims=True))
        pi /= pi.sum(1, keepdims=True)
        s1, s2, rho = np.exp(s1), np.exp(s2), np.tanh(rho)
        target = x[:, t + 1]
        x1, x2, pen = target[:, 0:1], target[:, 1:2], target[:, 2:5]
        d1, d2 = (x1 - mu1) / s1, (x2 - mu2) / s2
        z = d1**2 + d2**2 - 2 * rho * d1 * d2
        density = np.exp(-z / (2 * (1 - rho**2))) / (2 * np.pi * s1 * s2 * np.sqrt(1 - rho**2))
        fs = 1.0 - pen[:, 2]
        offset = -np.log((pi * density).sum(1) + 1e-6) * fs
        log_pen = pen_logits - pen_logits.max(1, keepdims=True)
        log_pen = log_pen - np.log(np.exp(log_pen).sum(1, keepdims=True))
        pen_loss = -(pen * log_pen).sum(1) * fs  # masked after the end (evaluation graph)
        total += (offset + pen_loss).sum()
    return total / (batch * max_len)


def _small_hparams(**changes):
    values = dict(
        enc_rnn_size=8,
        dec_rnn_size=16,
        z_size=4,
        num_mixture=3,
        max_seq_len=60,
        conditional=True,
        use_recurrent_dropout=False,
    )
    values.update(changes)
    return HParams(**values)


def _randomised(hparams, seed=0, scale_factor=12.5):
    model = SketchRNN(hparams, scale_factor=scale_factor)
    rng = np.random.default_rng(seed)
    for v in model.magenta_variables().values():
        v.assign(rng.normal(0.0, 0.3, v.shape).astype(np.float32))
    return model


@pytest.fixture(scope="module")
def sheep_model():
    return load_model(os.path.join(JS_DIR, "sheep.gen.json"))


@pytest.fixture(scope="module")
def short_sheep():
    return _sheep_test_sketches(60)


def _write_magenta_checkpoint(model, directory, step=7500):
    """Writes `model` the way Magenta's trainer does, independently of `tf1.save_weights`.

    A TF1 Saver checkpoint `vector-<step>` with Adam slots, schedule scalars and the
    `vector_rnn_1/*` extras, a `checkpoint` file naming an absolute path from another machine, and
    `model_config.json`.
    """
    import tensorflow as tf

    values = {n: v.numpy() for n, v in model.magenta_variables().items()}
    os.makedirs(directory, exist_ok=True)
    graph = tf.Graph()
    with graph.as_default():
        variables = [tf.compat.v1.Variable(v, name=n) for n, v in values.items()]
        for n, v in values.items():
            for slot in ("Adam", "Adam_1"):
                variables.append(
                    tf.compat.v1.Variable(np.zeros_like(v), name=f"vector_rnn/{n}/{slot}")
                )
        for scope in ("vector_rnn", "vector_rnn_1"):
            variables += [
                tf.compat.v1.Variable(np.int32(step), name=f"{scope}/global_step"),
                tf.compat.v1.Variable(np.float32(1e-3), name=f"{scope}/Variable"),
                tf.compat.v1.Variable(np.float32(0.5), name=f"{scope}/Variable_1"),
            ]
        saver = tf.compat.v1.train.Saver(variables)
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            saver.save(sess, os.path.join(str(directory), f"vector-{step}"), write_meta_graph=False)
    with open(os.path.join(str(directory), "checkpoint"), "w") as f:
        f.write(f'model_checkpoint_path: "/tmp/elsewhere/vector-{step}"\n')
    model.hparams.to_json(os.path.join(str(directory), "model_config.json"))


@pytest.fixture(scope="module")
def tf1_dir(tmp_path_factory):
    """A Magenta-format TF1 model directory of a randomised small conditional model."""
    directory = tmp_path_factory.mktemp("tf1")
    model = _randomised(_small_hparams())
    _write_magenta_checkpoint(model, directory)
    return directory, model


# --------------------------------------------------------------------------- magenta-js
@pytest.mark.parametrize("name", sorted(JS_MODELS))
def test_js_models_hparams_and_shapes(name):
    max_len, scale = JS_MODELS[name]
    hparams, scale_factor, weights = read_js(os.path.join(JS_DIR, f"{name}.gen.json"))
    assert hparams.dec_rnn_size == 512 and hparams.num_mixture == 20
    assert hparams.dec_model == "lstm" and not hparams.conditional
    assert hparams.max_seq_len == max_len
    assert scale_factor == pytest.approx(scale)
    assert [(n, w.shape) for n, w in weights.items()] == [
        ("vector_rnn/RNN/output_w", (512, 123)),
        ("vector_rnn/RNN/output_b", (123,)),
        ("vector_rnn/RNN/LSTMCell/W_xh", (5, 2048)),
        ("vector_rnn/RNN/LSTMCell/W_hh", (512, 2048)),
        ("vector_rnn/RNN/LSTMCell/bias", (2048,)),
    ]


def test_sheep_reconstruction_loss_matches_numpy_magenta(sheep_model):
    path = os.path.join(JS_DIR, "sheep.gen.json")
    info, weights = _decode_js_independently(path)
    hparams, _, tensors = read_js(path)
    assert sheep_model.hparams == hparams
    assert sheep_model.scale_factor == pytest.approx(63.0983, abs=1e-4)
    for (n, v), w in zip(sheep_model.magenta_variables().items(), weights):
        np.testing.assert_array_equal(v.numpy(), tensors[n])
        np.testing.assert_allclose(v.numpy(), w, rtol=0, atol=1e-6)
    sketches = _sheep_test_sketches(info["max_seq_len"])
    assert len(sketches) == 8
    expected = _numpy_magenta_r_cost(
        weights, sketches, info["scale_factor"], info["max_seq_len"], 20
    )
    got = sheep_model.reconstruction_loss(sketches)
    assert np.isfinite(expected)
    assert got == pytest.approx(expected, abs=1e-4)


def test_js_round_trip_decoder_only(sheep_model, tmp_path):
    sketches = _sheep_test_sketches(sheep_model.hparams.max_seq_len)
    out = write_js(sheep_model, tmp_path / "copy.gen.json", name="sheep")
    with open(out) as f:
        info = json.load(f)[0]
    assert info["mode"] == 2 and info["version"] == 6 and info["name"] == "sheep"
    assert info["max_seq_len"] == 156
    hparams, scale, weights = read_js(out)
    assert hparams == sheep_model.hparams
    assert scale == sheep_model.scale_factor
    for n, v in sheep_model.magenta_variables().items():
        # Already-quantised weights re-quantise to the same int16 values.
        np.testing.assert_allclose(weights[n], v.numpy(), atol=STEP / 2 + 1e-6)
    copy = load_model(out)
    assert copy.reconstruction_loss(sketches) == pytest.approx(
        sheep_model.reconstruction_loss(sketches), abs=1e-5
    )


def test_js_round_trip_vae(tmp_path, short_sheep):
    model = _randomised(_small_hparams(), seed=3)
    out = write_js(model, tmp_path / "small.vae.json", name="small")
    with open(out) as f:
        info, shapes, _ = json.load(f)
    assert len(shapes) == 17 and info["mode"] == 0
    hparams, scale, weights = read_js(out)
    assert hparams == model.hparams and scale == model.scale_factor
    assert list(weights) == list(model.magenta_variables())
    for n, v in model.magenta_variables().items():
        np.testing.assert_allclose(weights[n], v.numpy(), atol=STEP / 2 + 1e-6)
    copy = load_model(out)
    np.testing.assert_allclose(copy.encode(short_sheep), model.encode(short_sheep), atol=2e-3)
    assert copy.reconstruction_loss(short_sheep) == pytest.approx(
        model.reconstruction_loss(short_sheep), abs=2e-3
    )


def test_js_infers_vae_hparams_without_stored_hparams(tmp_path):
    model = _randomised(_small_hparams(), seed=4)
    out = write_js(model, tmp_path / "a.vae.json")
    with open(out) as f:
        doc = json.load(f)
    del doc[0]["hparams"]
    with open(out, "w") as f:
        json.dump(doc, f)
    hparams, _, _ = read_js(out)
    for key in (
        "enc_rnn_size",
        "dec_rnn_size",
        "z_size",
        "num_mixture",
        "max_seq_len",
        "conditional",
        "enc_model",
        "dec_model",
    ):
        assert getattr(hparams, key) == getattr(model.hparams, key), key


def test_write_js_rejects_non_lstm(tmp_path):
    model = SketchRNN(_small_hparams(dec_model="layer_norm"))
    with pytest.raises(JSExportError, match="LSTM"):
        write_js(model, tmp_path / "x.json")
    assert not (tmp_path / "x.json").exists()


def _corrupt(tmp_path, edit):
    model = _randomised(_small_hparams(conditional=False), seed=5)
    path = write_js(model, tmp_path / "m.gen.json")
    with open(path) as f:
        doc = json.load(f)
    edit(doc)
    with open(path, "w") as f:
        json.dump(doc, f)
    return path


def test_read_js_errors(tmp_path):
    broken = tmp_path / "broken.gen.json"
    broken.write_text('[{"mode": 2}, [[5')
    with pytest.raises(JSFormatError, match="not valid JSON"):
        read_js(broken)
    with pytest.raises(ModelLoadError, match="not valid JSON"):
        load_model(broken)
    with pytest.raises(JSFormatError, match=r"\[info, shapes, weights\]"):
        read_js(_corrupt(tmp_path, lambda d: d.pop()))

    def bad_base64(d):
        d[2][1] = "not base64!"

    with pytest.raises(JSFormatError, match="base64"):
        read_js(_corrupt(tmp_path, bad_base64))

    def short(d):
        d[2][1] = base64.b64encode(b"\x00\x00" * 3).decode()

    with pytest.raises(JSFormatError, match="needs 21 values"):
        read_js(_corrupt(tmp_path, short))

    def seven(d):
        d[1] += [[2], [2]]
        d[2] += [base64.b64encode(b"\x00" * 4).decode()] * 2

    with pytest.raises(JSFormatError, match="7 tensors"):
        read_js(_corrupt(tmp_path, seven))

    def wrong_shape(d):
        d[1][2] = [6, 64]
        d[2][2] = base64.b64encode(b"\x00" * 2 * 6 * 64).decode()

    with pytest.raises(JSFormatError, match="consistent"):
        read_js(_corrupt(tmp_path, wrong_shape))

    def no_scale(d):
        del d[0]["scale_factor"]

    with pytest.raises(JSFormatError, match="scale_factor"):
        read_js(_corrupt(tmp_path, no_scale))

    def vae_mode(d):
        d[0]["mode"] = 0

    with pytest.raises(JSFormatError, match="mode"):
        read_js(_corrupt(tmp_path, vae_mode))


# --------------------------------------------------------------------------- Magenta TF1
def test_tf1_checkpoint_loads_exactly(tf1_dir, short_sheep):
    directory, model = tf1_dir
    loaded = load_model(directory, scale_factor=12.5)
    assert loaded.scale_factor == model.scale_factor
    assert loaded.hparams == model.hparams
    for (n, a), (m, b) in zip(
        model.magenta_variables().items(), loaded.magenta_variables().items()
    ):
        assert n == m
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(loaded.encode(short_sheep), model.encode(short_sheep))
    assert loaded.reconstruction_loss(short_sheep) == model.reconstruction_loss(short_sheep)
    # A prefix and an .index file name the same checkpoint.
    by_prefix = load_model(directory / "vector-7500", scale_factor=12.5)
    np.testing.assert_array_equal(by_prefix.encode(short_sheep), model.encode(short_sheep))
    by_index = load_model(directory / "vector-7500.index", scale_factor=12.5)
    np.testing.assert_array_equal(by_index.encode(short_sheep), model.encode(short_sheep))


def test_tf1_save_weights_loads(tmp_path, short_sheep):
    """A checkpoint written by the package's own TF1 writer loads through load_model."""
    model = _randomised(_small_hparams(), seed=11, scale_factor=9.0)
    tf1.save_weights(model, str(tmp_path / "vector"))
    model.hparams.to_json(str(tmp_path / "model_config.json"))
    loaded = load_model(tmp_path, scale_factor=9.0)
    np.testing.assert_array_equal(loaded.encode(short_sheep), model.encode(short_sheep))
    assert loaded.reconstruction_loss(short_sheep) == model.reconstruction_loss(short_sheep)


def test_tf1_without_scale_factor_says_how(tf1_dir):
    directory, _ = tf1_dir
    with pytest.raises(ModelLoadError, match="scale_factor") as err:
        load_model(directory)
    assert "data_dir" in str(err.value) and "aaron_sheep.npz" in str(err.value)


def test_tf1_scale_factor_from_data(tmp_path):
    directory = tmp_path / "sheep250"
    _write_magenta_checkpoint(_randomised(_small_hparams(max_seq_len=250)), directory)
    loaded = load_model(directory, data_dir=NPZ_DIR)
    assert loaded.scale_factor == pytest.approx(18.5198, abs=1e-4)
    # The npz next to the checkpoint is found without data_dir.
    os.symlink(SHEEP_NPZ, directory / "aaron_sheep.npz")
    assert load_model(directory).scale_factor == pytest.approx(18.5198, abs=1e-4)
    # An explicit scale factor wins.
    assert load_model(directory, scale_factor=3.0, data_dir=NPZ_DIR).scale_factor == 3.0


def test_tf1_wrong_config_is_reported(tmp_path, tf1_dir):
    src, _ = tf1_dir
    directory = tmp_path / "wrong"
    shutil.copytree(src, directory)
    _small_hparams(dec_rnn_size=32).to_json(str(directory / "model_config.json"))
    with pytest.raises(ModelLoadError, match="other shapes"):
        load_model(directory, scale_factor=1.0)


@pytest.mark.parametrize("name", ["cond_lstm_layer_norm", "uncond_lstm_hyper"])
def test_magenta_graph_checkpoints(name):
    directory = os.path.join(GRAPH_DIR, name)
    if not os.path.isdir(directory):
        pytest.skip("magenta_graph data not available")
    with open(os.path.join(directory, "reference.json")) as f:
        ref = json.load(f)
    model = load_model(directory, scale_factor=ref["scale_factor"])
    sketches = [np.asarray(s, dtype=np.float32) for s in ref["sketches"]]
    assert model.reconstruction_loss(sketches) == pytest.approx(ref["r_cost"], abs=1e-5)
    if model.conditional:
        mu, presig = model.latent(sketches)
        np.testing.assert_allclose(mu, ref["mu"], atol=1e-5)
        np.testing.assert_allclose(presig, ref["presig"], atol=1e-5)


# --------------------------------------------------------------------------- own format
def test_save_model_round_trip(tmp_path, short_sheep):
    model = _randomised(_small_hparams(), seed=7, scale_factor=21.0)
    directory = tmp_path / "saved"
    save_model(model, directory)
    assert {"sketch_rnn_config.json", "checkpoint"} <= set(os.listdir(directory))
    loaded = load_model(directory)
    assert loaded.hparams == model.hparams and loaded.scale_factor == 21.0
    np.testing.assert_array_equal(loaded.encode(short_sheep), model.encode(short_sheep))
    assert loaded.reconstruction_loss(short_sheep) == model.reconstruction_loss(short_sheep)

    # Overwriting replaces the whole directory and leaves no temporary folders behind.
    other = _randomised(_small_hparams(conditional=False), seed=8, scale_factor=5.0)
    save_model(other, directory)
    assert sorted(os.listdir(tmp_path)) == ["saved"]
    reloaded = load_model(directory)
    assert not reloaded.conditional and reloaded.scale_factor == 5.0
    assert reloaded.reconstruction_loss(short_sheep) == other.reconstruction_loss(short_sheep)


def test_save_model_refuses_foreign_directory(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ModelLoadError, match="refusing"):
        save_model(SketchRNN(_small_hparams()), tmp_path)
    assert os.listdir(tmp_path) == ["notes.txt"]


def test_own_format_mismatch_is_reported(tmp_path):
    import tensorflow as tf

    model = _randomised(_small_hparams(conditional=False), seed=9)
    directory = tmp_path / "saved"
    save_model(model, directory)
    # A checkpoint that does not hold the model's variables (rooted elsewhere) is rejected.
    for f in os.listdir(directory):
        if f.startswith("model."):
            os.remove(directory / f)
    tf.train.Checkpoint(model=model.decoder).write(str(directory / "model"))
    with pytest.raises(ModelLoadError, match="does not fit"):
        load_model(directory)
    # Hparams in the config that do not fit the checkpoint's shapes are rejected too.
    save_model(model, directory)
    config = json.loads((directory / "sketch_rnn_config.json").read_text())
    config["hparams"]["num_mixture"] = 5
    (directory / "sketch_rnn_config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="does not fit"):
        load_model(directory)
    (directory / "sketch_rnn_config.json").write_text("{broken")
    with pytest.raises(ModelLoadError, match="not valid JSON"):
        load_model(directory)


# --------------------------------------------------------------------------- bad paths
def test_bad_paths(tmp_path):
    with pytest.raises(ModelLoadError, match="no such file"):
        load_model(tmp_path / "missing")
    with pytest.raises(ModelLoadError, match="not a model directory"):
        load_model(tmp_path)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ModelLoadError, match="not a model file"):
        load_model(text)


def test_index_without_data(tmp_path):
    if os.path.isdir(INDEX_ONLY):  # a real Magenta release checkpoint, index only
        with pytest.raises(ModelLoadError, match=r"\.data-00000-of-00001 is missing"):
            load_model(INDEX_ONLY, scale_factor=1.0)
    directory = tmp_path / "ckpt"
    _write_magenta_checkpoint(_randomised(_small_hparams()), directory)
    for f in os.listdir(directory):
        if ".data-" in f:
            os.remove(directory / f)
    with pytest.raises(ModelLoadError, match="data"):
        load_model(directory, scale_factor=1.0)
