"""Exporting a `SketchRNN` as a TensorFlow SavedModel, and a thin numpy client for it.

`export_saved_model(model, directory)` writes a SavedModel whose serving signatures let a process
that has only TensorFlow (no copy of this package's model code) go from pixels to pixels:

  encode(strokes [B, N_max+1, 5] f32, lengths [B] i32) -> {mu, presig}          (conditional only)
  initial_state(z [B, Z] f32) -> {state [B, S]}
  decode_step(prev [B, 5] f32, z [B, Z] f32, state [B, S] f32) -> {params [B, 6M+3], state}
  sample(z [B, Z] f32, temperature f32, seed [2] i64, greedy bool, steps i32) -> {strokes [B, T, 5]}
  reconstruction_loss(strokes, lengths, z) -> {loss, offset, pen}               (Magenta's eval L_R)
  metadata() -> {scale_factor, max_seq_len, z_size, state_size, num_mixture, conditional,
                 hparams_json}

Z = z_size for a conditional model and 0 for a decoder-only one (pass a [B, 0] z). Strokes are
Magenta's padded stroke-5 batch (S0 at row 0, pad rows (0,0,0,0,1), offsets divided by
`scale_factor`); N_max = max_seq_len. `sample` is the model's compiled sampler (Magenta temperature:
π̂/τ, q̂/τ, σ·τ); its stroke rows after a sketch's end are padding and T <= steps. The same values
are also attributes of the loaded object (`scale_factor`, `max_seq_len`, `z_size`, `hparams_json`
variables, `model_variables`), `hparams.json` is an asset, and the sampler's full graph functions are
kept as `decode` (with the `sqrt_temperature` switch: paper temperature σ·√τ) and `prime`.

`load_exported(directory)` wraps `tf.saved_model.load` in `ExportedSketchRNN`, which does the
pixel-level pre/post-processing in numpy. It imports nothing from `sketch_rnn_tf.model`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile

import numpy as np
import tensorflow as tf

from ..atomic import replace_dir
from ..data import strokes as stroke_format
from ..errors import SketchRNNError

SIGNATURES = ("encode", "initial_state", "decode_step", "sample", "reconstruction_loss",
              "metadata")
HPARAMS_ASSET = "hparams.json"


class ExportError(SketchRNNError):
    """The model cannot be exported there, or an exported directory is unusable."""


# ============================================================================ export
def _tf_variable(v):
    """The tf.Variable behind a Keras 3 variable (what SavedModel can track and functions capture)."""
    inner = getattr(v, "value", v)
    return inner if isinstance(inner, tf.Variable) else v


class _ExportModule(tf.Module):
    """What is saved: the model's variables, constants, and the serving functions.

    The Keras model itself is not an attribute (it is only closed over by the functions), so the
    saved object graph holds plain tf.Variables and tf.functions, not Keras layer objects.
    """

    def __init__(self, model, hparams_file):
        super().__init__(name="sketch_rnn_export")
        from ..model.sampler import Sampler  # the model's own compiled sampler
        hp = model.hparams
        conditional = bool(hp.conditional)
        z_dim = hp.z_size if conditional else 0
        state_size = int(model.decoder.cell.state_size)
        n_max = int(hp.max_seq_len)
        sampler = Sampler(model)
        decoder = model.decoder

        self.model_variables = [_tf_variable(v) for v in model.variables]
        self.scale_factor = _tf_variable(model._scale_factor)
        self.max_seq_len = tf.Variable(n_max, dtype=tf.int32, trainable=False, name="max_seq_len")
        self.z_size = tf.Variable(z_dim, dtype=tf.int32, trainable=False, name="z_size")
        self.hparams_json = tf.Variable(hp.to_json(), dtype=tf.string, trainable=False,
                                        name="hparams_json")
        self.hparams_asset = tf.saved_model.Asset(hparams_file)
        self.decode = sampler.decode
        self.prime = sampler.prime

        def zin(z):
            return z if conditional else None

        strokes_spec = tf.TensorSpec([None, n_max + 1, 5], tf.float32, name="strokes")
        lengths_spec = tf.TensorSpec([None], tf.int32, name="lengths")
        z_spec = tf.TensorSpec([None, z_dim], tf.float32, name="z")
        state_spec = tf.TensorSpec([None, state_size], tf.float32, name="state")

        @tf.function(input_signature=[])
        def metadata():
            return {"scale_factor": tf.identity(self.scale_factor),
                    "max_seq_len": tf.identity(self.max_seq_len),
                    "z_size": tf.identity(self.z_size),
                    "state_size": tf.constant(state_size, tf.int32),
                    "num_mixture": tf.constant(int(hp.num_mixture), tf.int32),
                    "conditional": tf.constant(conditional),
                    "hparams_json": tf.identity(self.hparams_json)}

        @tf.function(input_signature=[z_spec])
        def initial_state(z):
            return {"state": sampler.initial_state(z)}

        @tf.function(input_signature=[tf.TensorSpec([None, 5], tf.float32, name="prev"), z_spec,
                                      state_spec])
        def decode_step(prev, z, state):
            params, new_state = decoder.step(prev, zin(z), state)
            return {"params": params, "state": new_state}

        @tf.function(input_signature=[
            z_spec, tf.TensorSpec([], tf.float32, name="temperature"),
            tf.TensorSpec([2], tf.int64, name="seed"), tf.TensorSpec([], tf.bool, name="greedy"),
            tf.TensorSpec([], tf.int32, name="steps")])
        def sample(z, temperature, seed, greedy, steps):
            n = tf.shape(z)[0]
            prev = tf.broadcast_to(tf.constant(stroke_format.START_TOKEN, tf.float32), [n, 5])
            state = sampler.initial_state(z)
            rows = sampler.decode(z, state, prev, temperature, greedy, seed,
                                  tf.maximum(steps, 0), tf.constant(False))
            return {"strokes": rows}

        @tf.function(input_signature=[strokes_spec, lengths_spec, z_spec])
        def reconstruction_loss(strokes, lengths, z):
            terms = model.compute_losses(strokes, lengths, training=False, z=zin(z), mask_pen=True)
            return {"loss": terms["r_cost"], "offset": terms["offset"], "pen": terms["pen"]}

        self.metadata = metadata
        self.initial_state = initial_state
        self.decode_step = decode_step
        self.sample = sample
        self.reconstruction_loss = reconstruction_loss
        if conditional:
            @tf.function(input_signature=[strokes_spec, lengths_spec])
            def encode(strokes, lengths):
                mu, presig = model.encoder(strokes[:, 1:], lengths, training=False)
                return {"mu": mu, "presig": presig}

            self.encode = encode

    def serving_signatures(self):
        """{signature name: tf.function} (`signatures` is a reserved attribute name)."""
        return {name: getattr(self, name) for name in SIGNATURES if hasattr(self, name)}


def _check_destination(directory):
    """Raises ExportError if `directory` cannot (or must not) be replaced by a SavedModel."""
    if os.path.exists(directory) or os.path.islink(directory):
        if not os.path.isdir(directory):
            raise ExportError(f"{directory}: exists and is not a directory")
        contents = os.listdir(directory)
        if contents and "saved_model.pb" not in contents:
            raise ExportError(f"{directory}: exists and is not a SavedModel directory (no "
                              "saved_model.pb); refusing to replace it")
    parent = os.path.dirname(directory)
    probe = parent
    while probe and not os.path.exists(probe):
        probe = os.path.dirname(probe)
    if probe and not os.path.isdir(probe):
        raise ExportError(f"cannot write {directory}: {probe} is a file, not a directory")


def export_saved_model(model, directory) -> str:
    """Writes `model` (a `SketchRNN`) as a SavedModel in `directory`; returns its absolute path.

    The SavedModel is written into a temporary sibling directory and renamed into place, so an
    existing export there is replaced whole or not at all. An existing directory that is not empty
    and not a SavedModel is never replaced (ExportError).
    """
    directory = os.path.abspath(os.fspath(directory))
    _check_destination(directory)
    parent = os.path.dirname(directory)
    base = os.path.basename(directory)
    try:
        os.makedirs(parent, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=f".{base}.tmp-", dir=parent)
    except OSError as e:
        raise ExportError(f"cannot write {directory}: {e.strerror or e}") from None
    try:
        asset_dir = tempfile.mkdtemp(prefix=".assets-", dir=tmp)
        asset = os.path.join(asset_dir, HPARAMS_ASSET)
        with open(asset, "w", encoding="utf-8") as f:
            f.write(model.hparams.to_json())
        module = _ExportModule(model, asset)
        out = os.path.join(tmp, "model")
        tf.saved_model.save(module, out, signatures=module.serving_signatures())
        replace_dir(out, directory)
    except OSError as e:
        raise ExportError(f"cannot write {directory}: {e}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return directory


# ============================================================================ client
class ExportedSketchRNN:
    """Pixel-level client of an exported SavedModel: TensorFlow's loader + numpy only.

    Attributes: `saved` (the loaded object), `hparams` (dict), `scale_factor`, `max_seq_len`,
    `z_size` (0 for a decoder-only model), `conditional`.
    """

    def __init__(self, directory):
        directory = os.fspath(directory)
        if not os.path.isfile(os.path.join(directory, "saved_model.pb")):
            raise ExportError(f"{directory}: not a SavedModel directory (no saved_model.pb)")
        self.directory = directory
        self.saved = tf.saved_model.load(directory)
        missing = [s for s in ("sample", "initial_state", "metadata")
                   if s not in self.saved.signatures]
        if missing:
            raise ExportError(f"{directory}: not a sketch_rnn_tf export (no {missing} signature)")
        meta = {k: v.numpy() for k, v in self.saved.signatures["metadata"]().items()}
        self.hparams = json.loads(meta["hparams_json"].decode("utf-8"))
        self.scale_factor = float(meta["scale_factor"])
        self.max_seq_len = int(meta["max_seq_len"])
        self.z_size = int(meta["z_size"])
        self.conditional = bool(meta["conditional"])

    # ------------------------------------------------------------- helpers
    def prepare(self, strokes):
        """Stroke-3 sketches in pixels → (padded normalised stroke-5 batch, lengths), as numpy."""
        if isinstance(strokes, np.ndarray) and strokes.ndim == 2:
            strokes = [strokes]
        if len(strokes) == 0:
            raise ValueError("no sketches given")
        normalised = []
        for i, s in enumerate(strokes):
            s = np.array(s, dtype=np.float32)
            if s.ndim != 2 or s.shape[1] != 3 or len(s) == 0:
                raise ValueError(f"sketch {i} has shape {s.shape}; expected (n >= 1, 3) stroke-3")
            if not np.all(np.isfinite(s)):
                raise ValueError(f"sketch {i} contains NaN or inf")
            if len(s) > self.max_seq_len:
                raise ValueError(f"sketch {i} has {len(s)} points, more than max_seq_len "
                                 f"{self.max_seq_len}")
            s[:, :2] /= self.scale_factor
            normalised.append(s)
        return stroke_format.pad_batch(normalised, self.max_seq_len)

    def _z(self, n, z, rng):
        if not self.conditional:
            if z is not None:
                raise ValueError("z given to a decoder-only model, which has no latent space")
            return np.zeros((n, 0), np.float32)
        if z is None:
            return rng.standard_normal((n, self.z_size)).astype(np.float32)
        z = np.asarray(z, np.float32)
        if z.ndim == 1:
            z = z[None]
        if z.shape[0] == 1 and n > 1:
            z = np.repeat(z, n, axis=0)
        if z.shape != (n, self.z_size):
            raise ValueError(f"z has shape {z.shape}; expected ({self.z_size},) or "
                             f"({n}, {self.z_size})")
        if not np.all(np.isfinite(z)):
            raise ValueError("z contains NaN or inf")
        return z

    # ------------------------------------------------------------- user API
    def latent(self, strokes):
        """(mu, presig) [B, z_size] of stroke-3 pixel sketches."""
        if not self.conditional:
            raise ValueError("encode needs a conditional model; this export is decoder-only")
        batch, lengths = self.prepare(strokes)
        out = self.saved.signatures["encode"](strokes=tf.constant(batch),
                                              lengths=tf.constant(lengths))
        return out["mu"].numpy(), out["presig"].numpy()

    def encode(self, strokes):
        """mu [B, z_size] of stroke-3 pixel sketches."""
        return self.latent(strokes)[0]

    def reconstruction_loss(self, strokes, z=None):
        """Magenta's evaluation L_R of these sketches as one batch (z defaults to mu)."""
        batch, lengths = self.prepare(strokes)
        if self.conditional and z is None:
            z = self.encode(strokes)
        z = self._z(len(batch), z, None)
        out = self.saved.signatures["reconstruction_loss"](
            strokes=tf.constant(batch), lengths=tf.constant(lengths), z=tf.constant(z))
        return float(out["loss"])

    def sample(self, n=1, temperature=1.0, seed=None, z=None, greedy=False, max_len=None,
               temperature_mode="magenta"):
        """Draws `n` sketches; returns a list of stroke-3 float32 arrays in pixels.

        With the same arguments this repeats `SketchRNN.sample` exactly (z ~ N(0, I) is drawn from
        `numpy.random.default_rng(seed)`, the sampler is keyed on `seed`).
        """
        if temperature_mode not in ("magenta", "paper"):
            raise ValueError(f"temperature_mode must be 'magenta' or 'paper', got {temperature_mode!r}")
        if not greedy and not (np.isfinite(temperature) and temperature > 0):
            raise ValueError(f"temperature must be a positive number, got {temperature}")
        n = int(n)
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        max_len = self.max_seq_len if max_len is None else int(max_len)
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1)[0])
        z = tf.constant(self._z(n, z, np.random.default_rng(seed)))
        args = dict(temperature=tf.constant(float(temperature)), greedy=tf.constant(bool(greedy)),
                    seed=tf.constant([seed % (2 ** 63), 0], tf.int64),
                    steps=tf.constant(max(max_len, 0), tf.int32))
        if temperature_mode == "magenta":
            rows = self.saved.signatures["sample"](z=z, **args)["strokes"].numpy()
        else:
            state = self.saved.signatures["initial_state"](z=z)["state"]
            prev = tf.constant(np.tile(stroke_format.START_TOKEN, (n, 1)), tf.float32)
            rows = self.saved.decode(z, state, prev, args["temperature"], args["greedy"],
                                     args["seed"], args["steps"], tf.constant(True)).numpy()
        out = []
        for i in range(n):
            s3 = stroke_format.to_normal_strokes(rows[i][:max_len]).astype(np.float32)
            s3[:, :2] *= self.scale_factor
            out.append(s3)
        return out


def load_exported(directory) -> ExportedSketchRNN:
    """Loads a SavedModel written by `export_saved_model` into an `ExportedSketchRNN`."""
    return ExportedSketchRNN(directory)
