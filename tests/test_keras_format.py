"""`.keras` files: `model.save("m.keras")` then `keras.saving.load_model` in a fresh process.

The model, its encoder/decoder, `SuperLinear` and the three cells are registered as Keras
serializable (package `sketch_rnn_tf`); each `get_config` chains `super().get_config()` and
`from_config` rebuilds from the HParams dict. One subprocess loads every saved model (each cell
type, conditional and decoder-only) and recomputes what this process computed before saving.
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import sketch_rnn_tf
from sketch_rnn_tf import HParams, ModelLoadError, SketchRNN
from sketch_rnn_tf.model import (
    Decoder,
    Encoder,
    HyperLSTMCell,
    LayerNormLSTMCell,
    LSTMCell,
    SuperLinear,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Each cell type once, and both kinds of model (the child process pays a trace per model).
CONFIGS = [("lstm", False), ("layer_norm", True), ("hyper", True)]


def tiny_hparams(cell, conditional):
    return HParams(
        max_seq_len=12,
        enc_rnn_size=6,
        dec_rnn_size=8,
        z_size=3,
        num_mixture=3,
        enc_model=cell,
        dec_model=cell,
        conditional=conditional,
        hyper_num_units=5,
        hyper_embedding_size=2,
    )


def sketches():
    rng = np.random.default_rng(0)
    out = []
    for n in (4, 7):
        s = np.zeros((n, 3), np.float32)
        s[:, :2] = rng.normal(0, 5, (n, 2))
        s[-1, 2] = 1
        out.append(s)
    return out


def outputs(model, data):
    """What a reloaded model must reproduce: z (conditional), L_R, a seeded sample."""
    out = {"r_cost": np.float64(model.reconstruction_loss(data))}
    if model.conditional:
        out["z"] = model.encode(data)
    for i, s in enumerate(model.sample(n=2, seed=5, max_len=12)):
        out[f"sample{i}"] = s
    return out


# The fresh process: load each file both ways, recompute, write weights and outputs.
CHILD = r"""
import json, sys
import numpy as np
import keras
import sketch_rnn_tf.model  # registers the package's Keras classes
import sketch_rnn_tf
from test_keras_format import outputs, sketches

jobs = json.loads(sys.argv[1])
for path, out in jobs:
    model = keras.saving.load_model(path)
    via_package = sketch_rnn_tf.load_model(path)
    result = {f"w:{v.path}": v.numpy() for v in model.weights}
    result.update({f"pkg:{v.path}": v.numpy() for v in via_package.weights})
    result.update(outputs(model, sketches()))
    result["class"] = np.array(type(model).__name__)
    result["scale_factor"] = np.float64(model.scale_factor)
    result["hparams"] = np.array(json.dumps(model.hparams.to_dict()))
    np.savez(out, **result)
print("child done", len(jobs))
"""


def test_keras_files_load_in_a_fresh_process(tmp_path):
    jobs, expected = [], {}
    for cell, conditional in CONFIGS:
        keras.utils.set_random_seed(7)
        hp = tiny_hparams(cell, conditional)
        model = SketchRNN(hp, scale_factor=3.5)
        rng = np.random.default_rng(1)
        for v in model.trainable_weights:  # no zero/one-initialised weight left: each must load
            v.assign(rng.normal(0, 0.5, v.shape).astype(np.float32))
        path = str(tmp_path / f"{cell}_{'vae' if conditional else 'dec'}.keras")
        model.save(path)
        weights = {v.path: v.numpy() for v in model.weights}
        expected[path] = (hp, weights, outputs(model, sketches()))
        jobs.append((path, path + ".out.npz"))
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(
            [os.path.join(ROOT, "tests"), ROOT, os.environ.get("PYTHONPATH", "")]
        ),
    )
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(jobs)],
        cwd=str(tmp_path),
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    for path, out in jobs:
        hp, weights, ref = expected[path]
        got = np.load(out)
        assert str(got["class"]) == "SketchRNN"
        assert HParams.from_dict(json.loads(str(got["hparams"]))) == hp
        assert float(got["scale_factor"]) == 3.5
        for prefix in ("w:", "pkg:"):
            loaded = {k[len(prefix) :]: got[k] for k in got.files if k.startswith(prefix)}
            assert loaded.keys() == weights.keys(), path
            for name, value in weights.items():
                np.testing.assert_array_equal(loaded[name], value, err_msg=f"{path} {name}")
        # the same program on the same shapes: the same numbers
        assert sorted(
            k for k in got.files if ":" not in k and k not in ("class", "scale_factor", "hparams")
        ) == sorted(ref)
        for k, v in ref.items():
            np.testing.assert_array_equal(got[k], v, err_msg=f"{path} {k}")


def test_get_config_chains_super_and_from_config_rebuilds():
    hp = tiny_hparams("hyper", True)
    model = SketchRNN(hp, scale_factor=2.0, name="my_model")
    config = model.get_config()
    assert config["name"] == "my_model" and "trainable" in config and "dtype" in config
    assert config["hparams"] == hp.to_dict() and config["scale_factor"] == 2.0
    json.dumps(config)  # plain JSON
    again = SketchRNN.from_config(config)
    assert again.hparams == hp and again.scale_factor == 2.0 and again.name == "my_model"
    layers = [
        model.encoder,
        model.decoder,
        model.encoder.mu_layer,
        model.decoder.cell,
        model.decoder.cell.hyper_cell,
        model.encoder.cell_fw,
    ]
    for layer in layers:
        c = layer.get_config()
        assert c["name"] == layer.name and "trainable" in c and "dtype" in c
        # through Keras' registry, by registered name, as a .keras file stores it
        serialized = keras.saving.serialize_keras_object(layer)
        assert serialized["registered_name"] == f"sketch_rnn_tf>{type(layer).__name__}"
        rebuilt = keras.saving.deserialize_keras_object(json.loads(json.dumps(serialized)))
        assert type(rebuilt) is type(layer)
        assert rebuilt.get_config() == c
    assert isinstance(Encoder.from_config(model.encoder.get_config()).hparams, HParams)
    assert Decoder.from_config(model.decoder.get_config()).hparams == hp
    for cls in (LSTMCell, LayerNormLSTMCell, HyperLSTMCell, SuperLinear):
        assert keras.saving.get_registered_object(f"sketch_rnn_tf>{cls.__name__}") is cls


def test_package_load_model_reads_keras_files(tmp_path):
    model = SketchRNN(tiny_hparams("lstm", False), scale_factor=2.0)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = sketch_rnn_tf.load_model(path, scale_factor=4.0)
    assert isinstance(loaded, SketchRNN) and loaded.scale_factor == 4.0
    for a, b in zip(model.weights[1:], loaded.weights[1:]):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # a damaged file and a foreign model: the package's error, naming the file
    bad = tmp_path / "bad.keras"
    bad.write_bytes(open(path, "rb").read()[:200])
    with pytest.raises(ModelLoadError, match="bad.keras"):
        sketch_rnn_tf.load_model(str(bad))
    other = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    other_path = str(tmp_path / "other.keras")
    other.save(other_path)
    with pytest.raises(ModelLoadError, match="not a SketchRNN"):
        sketch_rnn_tf.load_model(other_path)
