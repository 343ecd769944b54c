"""SavedModel export: its signatures, its numpy client and the CLI.

The signatures, run in a fresh process that has only TensorFlow, reproduce the Keras model; the
numpy client `load_exported` repeats `SketchRNN.sample` / `encode`; the CLI.
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from _tiny import tiny_hparams

from sketch_rnn_tf.cli import main as cli_main
from sketch_rnn_tf.data import strokes as stroke_format
from sketch_rnn_tf.export import ExportError, export_saved_model, load_exported
from sketch_rnn_tf.formats import save_model
from sketch_rnn_tf.hparams import HParams
from sketch_rnn_tf.model import SketchRNN

CONFIGS = {
    "vae_lstm": dict(conditional=True, enc_model="lstm", dec_model="lstm"),
    "gen_layer_norm": dict(conditional=False, dec_model="layer_norm"),
}
SCALE = 12.5
N, SEED, TEMPERATURE = 3, 1234, 0.6

# Runs in a fresh interpreter: TensorFlow and numpy only for the signatures, then the numpy client.
FRESH = r"""
import sys, json
import numpy as np
import tensorflow as tf
jobs = json.loads(sys.argv[1])
for name, (path, inp, out) in jobs.items():
    m = tf.saved_model.load(path)
    x = dict(np.load(inp))
    sig = m.signatures
    res = {}
    meta = sig["metadata"]()
    for k, v in meta.items():
        res["meta_" + k] = v.numpy()
    z = tf.constant(x["z"])
    if "encode" in sig:
        enc = sig["encode"](strokes=tf.constant(x["strokes"]), lengths=tf.constant(x["lengths"]))
        res["mu"], res["presig"] = enc["mu"].numpy(), enc["presig"].numpy()
    res["loss"] = sig["reconstruction_loss"](strokes=tf.constant(x["strokes"]),
                                             lengths=tf.constant(x["lengths"]), z=z)["loss"].numpy()
    state = sig["initial_state"](z=z)["state"]
    res["state0"] = state.numpy()
    step = sig["decode_step"](prev=tf.constant(x["prev"]), z=z, state=state)
    res["params"], res["state1"] = step["params"].numpy(), step["state"].numpy()
    for greedy in (False, True):
        res[f"rows_{int(greedy)}"] = sig["sample"](
            z=z, temperature=tf.constant(float(x["temperature"])), seed=tf.constant(x["seed"]),
            greedy=tf.constant(greedy), steps=tf.constant(int(x["steps"])))["strokes"].numpy()
    res["scale_attr"] = m.scale_factor.numpy()
    res["hparams_attr"] = m.hparams_json.numpy()
    # the numpy client, which must not need the package's model code
    from sketch_rnn_tf.export.client import load_exported
    client = load_exported(path)
    samples = client.sample(int(x["n"]), float(x["temperature"]), seed=int(x["seed"][0]))
    for i, s in enumerate(samples):
        res[f"client_{i}"] = s
    network = ("sketch_rnn_tf.model.sketch_rnn", "sketch_rnn_tf.model.cells")
    res["model_imported"] = np.array(any(m in sys.modules for m in network))
    np.savez(out, **res)
"""


def _sketches(rng, n, max_len):
    out = []
    for length in rng.integers(3, max_len + 1, size=n):
        s = np.zeros((length, 3), np.float32)
        s[:, :2] = rng.normal(0, 30, (length, 2)).round()
        s[:, 2] = rng.random(length) < 0.2
        s[-1, 2] = 1
        out.append(s)
    return out


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """{name: (model, export path, inputs, fresh-process outputs)} for both configs."""
    root = tmp_path_factory.mktemp("export")
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    cases, jobs = {}, {}
    for name, cfg in CONFIGS.items():
        hp = tiny_hparams(max_seq_len=30, **cfg)
        model = SketchRNN(hp, scale_factor=SCALE)
        path = export_saved_model(model, root / name)
        sketches = _sketches(rng, N, hp.max_seq_len)
        batch, lengths = model.prepare(sketches)
        z_dim = hp.z_size if hp.conditional else 0
        prev = np.zeros((N, 5), np.float32)
        prev[:, :2] = rng.normal(size=(N, 2))
        prev[np.arange(N), 2 + rng.integers(0, 3, N)] = 1
        inputs = dict(
            strokes=batch.numpy(),
            lengths=lengths.numpy(),
            z=rng.standard_normal((N, z_dim)).astype(np.float32),
            prev=prev,
            temperature=np.float32(TEMPERATURE),
            seed=np.array([SEED, 0], np.int64),
            steps=np.int32(hp.max_seq_len),
            n=np.int32(N),
        )
        inp = root / f"{name}_in.npz"
        np.savez(inp, **inputs)
        jobs[name] = (path, str(inp), str(root / f"{name}_out.npz"))
        cases[name] = (model, path, inputs, sketches)
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(
            [os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]
            + [p for p in [os.environ.get("PYTHONPATH")] if p]
        ),
        TF_CPP_MIN_LOG_LEVEL="3",
        CUDA_VISIBLE_DEVICES="",
    )
    proc = subprocess.run(
        [sys.executable, "-c", FRESH, json.dumps(jobs)],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {name: cases[name] + (dict(np.load(jobs[name][2])),) for name in CONFIGS}


def _rows_to_pixels(rows, scale):
    out = []
    for r in rows:
        s = stroke_format.to_normal_strokes(r).astype(np.float32)
        s[:, :2] *= scale
        out.append(s)
    return out


def _assert_same_sketches(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.shape == y.shape
        np.testing.assert_array_equal(x[:, 2], y[:, 2])
        np.testing.assert_allclose(x, y, atol=1e-5 * SCALE, rtol=1e-5)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_fresh_process_signatures_match_keras(exported, name):
    model, path, x, sketches, res = exported[name]
    hp = model.hparams
    assert not bool(res["model_imported"])
    # constants
    assert float(res["meta_scale_factor"]) == pytest.approx(SCALE)
    assert float(res["scale_attr"]) == pytest.approx(SCALE)
    assert int(res["meta_max_seq_len"]) == hp.max_seq_len
    assert int(res["meta_z_size"]) == (hp.z_size if hp.conditional else 0)
    assert bool(res["meta_conditional"]) == hp.conditional
    assert HParams.from_dict(json.loads(res["meta_hparams_json"].item())) == hp
    assert res["hparams_attr"].item() == res["meta_hparams_json"].item()
    assert os.path.isfile(os.path.join(path, "assets", "hparams.json"))
    z = tf.constant(x["z"])
    # encode
    if hp.conditional:
        mu, presig = model.latent(sketches)
        np.testing.assert_allclose(res["mu"], mu, atol=1e-5)
        np.testing.assert_allclose(res["presig"], presig, atol=1e-5)
        z_eval = x["z"]
    else:
        assert "mu" not in res
        z_eval = None
    # reconstruction loss (Magenta's evaluation L_R) with the same z
    assert float(res["loss"]) == pytest.approx(
        model.reconstruction_loss(sketches, z=z_eval), abs=1e-5
    )
    # initial state and one decoder step
    zin = z if hp.conditional else None
    state0 = model.decoder.initial_state(zin, N)
    np.testing.assert_allclose(res["state0"], state0.numpy(), atol=1e-6)
    params, state1 = model.decoder.step(tf.constant(x["prev"]), zin, state0)
    assert res["params"].shape == (N, hp.num_outputs)
    np.testing.assert_allclose(res["params"], params.numpy(), atol=1e-5)
    np.testing.assert_allclose(res["state1"], state1.numpy(), atol=1e-5)
    # sample: same z / seed / temperature as the model's own sampler
    zs = x["z"] if hp.conditional else None
    for greedy in (0, 1):
        rows = res[f"rows_{greedy}"]
        assert rows.shape[0] == N and rows.shape[2] == 5 and rows.shape[1] <= hp.max_seq_len
        expected = model.sample(N, TEMPERATURE, z=zs, seed=SEED, greedy=bool(greedy))
        _assert_same_sketches(_rows_to_pixels(rows, SCALE), expected)
    # the numpy client in the fresh process repeats model.sample(n, τ, seed) (z drawn from seed)
    _assert_same_sketches(
        [res[f"client_{i}"] for i in range(N)], model.sample(N, TEMPERATURE, seed=SEED)
    )


def test_client_in_process(exported):
    model, path, x, sketches, _ = exported["vae_lstm"]
    client = load_exported(path)
    assert client.conditional and client.z_size == 4 and client.max_seq_len == 30
    assert client.hparams == model.hparams.to_dict()
    np.testing.assert_allclose(client.encode(sketches), model.encode(sketches), atol=1e-5)
    assert client.reconstruction_loss(sketches) == pytest.approx(
        model.reconstruction_loss(sketches), abs=1e-5
    )
    _assert_same_sketches(
        client.sample(2, 0.3, seed=7, temperature_mode="paper"),
        model.sample(2, 0.3, seed=7, temperature_mode="paper"),
    )
    _assert_same_sketches(
        client.sample(2, 1.0, seed=3, z=x["z"][0], max_len=5),
        model.sample(2, 1.0, seed=3, z=x["z"][0], max_len=5),
    )
    with pytest.raises(ValueError, match="temperature"):
        client.sample(1, 0.0)
    with pytest.raises(ValueError, match="max_seq_len"):
        client.encode([np.zeros((31, 3), np.float32)])
    gen = load_exported(exported["gen_layer_norm"][1])
    with pytest.raises(ValueError, match="decoder-only"):
        gen.sample(1, z=np.zeros(4))
    with pytest.raises(ValueError, match="decoder-only"):
        gen.encode(sketches)
    with pytest.raises(ExportError, match="saved_model.pb"):
        load_exported(os.path.dirname(path))


def test_cli_export_and_errors(exported, tmp_path, capsys):
    model = exported["vae_lstm"][0]
    ckpt = save_model(model, tmp_path / "ckpt")
    out = tmp_path / "out" / "sm"
    out.mkdir(parents=True)
    (out / "saved_model.pb").write_bytes(b"stale")  # an older export there is replaced whole
    assert cli_main(["export", "--checkpoint", ckpt, "--out", str(out)]) == 0
    assert "wrote SavedModel" in capsys.readouterr().out
    assert sorted(os.listdir(tmp_path / "out")) == ["sm"]  # no temp dirs left behind
    client = load_exported(out)
    _assert_same_sketches(client.sample(2, 0.5, seed=11), model.sample(2, 0.5, seed=11))

    # bad output paths: a clear one-line error and exit code 2, not a traceback
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    for bad, msg in [
        (blocker / "sm", "is a file, not a directory"),
        (blocker, "not a directory"),
        (tmp_path / "ckpt", "not a SavedModel directory"),
    ]:
        assert cli_main(["export", "--checkpoint", ckpt, "--out", str(bad)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and msg in err and "Traceback" not in err
    assert os.path.isfile(os.path.join(ckpt, "sketch_rnn_config.json"))  # left untouched
