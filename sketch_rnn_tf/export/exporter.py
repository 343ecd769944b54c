"""Exporting a `SketchRNN` as a TensorFlow SavedModel (its numpy client is `export.client`).

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
variables, `model_variables`), `hparams.json` is an asset, and the sampler's full graph functions
are kept as `decode` (with the `sqrt_temperature` switch: paper temperature σ·√τ) and `prime`.

`client.load_exported(directory)` reads it back with `tf.saved_model.load` alone.
"""

from __future__ import annotations

import os
import tempfile

import tensorflow as tf

from ..atomic import staged_dir, write_text
from ..data import strokes as stroke_format
from ..errors import SketchRNNError

SIGNATURES = ("encode", "initial_state", "decode_step", "sample", "reconstruction_loss", "metadata")
HPARAMS_ASSET = "hparams.json"


class ExportError(SketchRNNError):
    """The model cannot be exported there, or an exported directory is unusable."""


def _tf_variable(v):
    """The tf.Variable behind a Keras 3 variable (what SavedModel tracks and functions capture)."""
    inner = getattr(v, "value", v)
    return inner if isinstance(inner, tf.Variable) else v


class _ExportModule(tf.Module):
    """What is saved: the model's variables, constants, and the serving functions.

    The Keras model itself is not an attribute (it is only closed over by the functions), so the
    saved object graph holds plain tf.Variables and tf.functions, not Keras layer objects.
    """

    def __init__(self, model, hparams_file):
        super().__init__(name="sketch_rnn_export")

        hp = model.hparams
        conditional = bool(hp.conditional)
        z_dim = hp.latent_size
        state_size = int(model.decoder.cell.state_size)
        n_max = int(hp.max_seq_len)
        from ..sampling import decoding  # not at import: the client needs no model code

        sampler = decoding.decode_loop(model)  # the model's own compiled decoding loop
        decoder = model.decoder

        self.model_variables = [_tf_variable(v) for v in model.variables]
        self.scale_factor = _tf_variable(model._scale_factor)
        self.max_seq_len = tf.Variable(n_max, dtype=tf.int32, trainable=False, name="max_seq_len")
        self.z_size = tf.Variable(z_dim, dtype=tf.int32, trainable=False, name="z_size")
        self.hparams_json = tf.Variable(
            hp.to_json(), dtype=tf.string, trainable=False, name="hparams_json"
        )
        self.hparams_asset = tf.saved_model.Asset(hparams_file)
        self.decode = sampler.decode
        self.prime = sampler.prime

        def zin(z):
            return z if conditional else None

        strokes_spec = tf.TensorSpec([None, n_max + 1, 5], tf.float32, name="strokes")
        lengths_spec = tf.TensorSpec([None], tf.int32, name="lengths")
        z_spec = tf.TensorSpec([None, z_dim], tf.float32, name="z")
        state_spec = tf.TensorSpec([None, state_size], tf.float32, name="state")

        @tf.function(autograph=False, input_signature=[])
        def metadata():
            return {
                "scale_factor": tf.identity(self.scale_factor),
                "max_seq_len": tf.identity(self.max_seq_len),
                "z_size": tf.identity(self.z_size),
                "state_size": tf.constant(state_size, tf.int32),
                "num_mixture": tf.constant(int(hp.num_mixture), tf.int32),
                "conditional": tf.constant(conditional),
                "hparams_json": tf.identity(self.hparams_json),
            }

        @tf.function(autograph=False, input_signature=[z_spec])
        def initial_state(z):
            return {"state": sampler.initial_state(z)}

        @tf.function(
            autograph=False,
            input_signature=[tf.TensorSpec([None, 5], tf.float32, name="prev"), z_spec, state_spec],
        )
        def decode_step(prev, z, state):
            params, new_state = decoder.step(prev, zin(z), state)
            return {"params": params, "state": new_state}

        @tf.function(
            autograph=False,
            input_signature=[
                z_spec,
                tf.TensorSpec([], tf.float32, name="temperature"),
                tf.TensorSpec([2], tf.int64, name="seed"),
                tf.TensorSpec([], tf.bool, name="greedy"),
                tf.TensorSpec([], tf.int32, name="steps"),
            ],
        )
        def sample(z, temperature, seed, greedy, steps):
            n = tf.shape(z)[0]
            prev = tf.broadcast_to(tf.constant(stroke_format.START_TOKEN, tf.float32), [n, 5])
            state = sampler.initial_state(z)
            rows = sampler.decode(
                z, state, prev, temperature, greedy, seed, tf.maximum(steps, 0), tf.constant(False)
            )
            return {"strokes": rows}

        @tf.function(autograph=False, input_signature=[strokes_spec, lengths_spec, z_spec])
        def reconstruction_loss(strokes, lengths, z):
            terms = model.compute_losses(strokes, lengths, training=False, z=zin(z), mask_pen=True)
            return {"loss": terms["r_cost"], "offset": terms["offset"], "pen": terms["pen"]}

        self.metadata = metadata
        self.initial_state = initial_state
        self.decode_step = decode_step
        self.sample = sample
        self.reconstruction_loss = reconstruction_loss
        if conditional:

            @tf.function(autograph=False, input_signature=[strokes_spec, lengths_spec])
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
            raise ExportError(
                f"{directory}: exists and is not a SavedModel directory (no "
                "saved_model.pb); refusing to replace it"
            )
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
    try:
        with (
            staged_dir(directory) as staged,
            tempfile.TemporaryDirectory(dir=os.path.dirname(staged)) as asset_dir,
        ):
            asset = write_text(
                os.path.join(asset_dir, HPARAMS_ASSET), model.hparams.to_json(), error=ExportError
            )
            module = _ExportModule(model, asset)
            tf.saved_model.save(module, staged, signatures=module.serving_signatures())
    except OSError as e:
        raise ExportError(f"cannot write {directory}: {e.strerror or e}") from None
    return directory
