"""The numpy client of an exported SavedModel: pixels in, pixels out, with TensorFlow's loader only.

`load_exported(directory)` wraps `tf.saved_model.load` of a directory written by
`export.exporter.export_saved_model` in `ExportedSketchRNN`, which does the pixel-level pre- and
post-processing in numpy. It builds no model: besides TensorFlow's loader it uses the model's numpy
front door (`model.preprocessor`) and the sampler objects (`sampling.samplers`).
"""

from __future__ import annotations

import json
import os

import numpy as np
import tensorflow as tf

from ..data import strokes as stroke_format
from ..model.preprocessor import ModelInputError, SketchPreprocessor
from ..sampling import samplers
from .exporter import ExportError


class ExportedSketchRNN:
    """Pixel-level client of an exported SavedModel: TensorFlow's loader + numpy only.

    Attributes: `saved` (the loaded object), `hparams` (dict), `scale_factor`, `max_seq_len`,
    `z_size` (0 for a decoder-only model), `conditional`, `preprocessor` (the same numpy front door
    as the model's: `SketchPreprocessor`).
    """

    def __init__(self, directory):
        directory = os.fspath(directory)
        if not os.path.isfile(os.path.join(directory, "saved_model.pb")):
            raise ExportError(f"{directory}: not a SavedModel directory (no saved_model.pb)")
        self.directory = directory
        self.saved = tf.saved_model.load(directory)
        missing = [
            s for s in ("sample", "initial_state", "metadata") if s not in self.saved.signatures
        ]
        if missing:
            raise ExportError(f"{directory}: not a sketch_rnn_tf export (no {missing} signature)")
        meta = {k: v.numpy() for k, v in self.saved.signatures["metadata"]().items()}
        self.hparams = json.loads(meta["hparams_json"].decode("utf-8"))
        self.scale_factor = float(meta["scale_factor"])
        self.max_seq_len = int(meta["max_seq_len"])
        self.z_size = int(meta["z_size"])
        self.conditional = bool(meta["conditional"])
        self.preprocessor = SketchPreprocessor(self.max_seq_len, self.scale_factor, self.z_size)

    # ------------------------------------------------------------- helpers
    def prepare(self, strokes):
        """Stroke-3 sketches in pixels → (padded normalised stroke-5 batch, lengths), as numpy."""
        return self.preprocessor.pad(strokes)

    # ------------------------------------------------------------- user API
    def latent(self, strokes):
        """(mu, presig) [B, z_size] of stroke-3 pixel sketches."""
        if not self.conditional:
            raise ModelInputError(
                "needs a conditional model; this export is decoder-only", where="encode()"
            )
        batch, lengths = self.prepare(strokes)
        out = self.saved.signatures["encode"](
            strokes=tf.constant(batch), lengths=tf.constant(lengths)
        )
        return out["mu"].numpy(), out["presig"].numpy()

    def encode(self, strokes):
        """mu [B, z_size] of stroke-3 pixel sketches."""
        return self.latent(strokes)[0]

    def reconstruction_loss(self, strokes, z=None):
        """Magenta's evaluation L_R of these sketches as one batch (z defaults to mu)."""
        batch, lengths = self.prepare(strokes)
        if self.conditional and z is None:
            z = self.encode(strokes)
        z = self.preprocessor.latents(len(batch), z)
        out = self.saved.signatures["reconstruction_loss"](
            strokes=tf.constant(batch), lengths=tf.constant(lengths), z=tf.constant(z)
        )
        return float(out["loss"])

    def sample(self, n=1, sampler=None, z=None, **options):
        """Draws `n` sketches; returns a list of stroke-3 float32 arrays in pixels.

        Takes what `SketchRNN.sample` takes (a `sampling.samplers.Sampler`, a name or a
        temperature, and its settings as keywords) and, with the same arguments, repeats it exactly
        (z ~ N(0, I) is drawn from `numpy.random.default_rng(seed)`, the loop is keyed on `seed`).
        """
        sampler = samplers.get(sampler, **options)
        n = samplers.check_count(n)
        pre = self.preprocessor
        seed = sampler.call_seed()
        max_len = sampler.limit(self.max_seq_len)
        z = tf.constant(pre.latents(n, z, np.random.default_rng(seed)))
        args = dict(
            temperature=tf.constant(sampler.temperature),
            greedy=tf.constant(bool(sampler.greedy)),
            seed=tf.constant([seed, 0], tf.int64),
            steps=tf.constant(max_len, tf.int32),
        )
        if sampler.temperature_mode == "magenta":
            rows = self.saved.signatures["sample"](z=z, **args)["strokes"].numpy()
        else:
            state = self.saved.signatures["initial_state"](z=z)["state"]
            prev = tf.constant(np.tile(stroke_format.START_TOKEN, (n, 1)), tf.float32)
            rows = self.saved.decode(
                z,
                state,
                prev,
                args["temperature"],
                args["greedy"],
                args["seed"],
                args["steps"],
                tf.constant(True),
            ).numpy()
        return pre.postprocess(r[:max_len] for r in rows)


def load_exported(directory) -> ExportedSketchRNN:
    """Loads a SavedModel written by `export_saved_model` into an `ExportedSketchRNN`."""
    return ExportedSketchRNN(directory)
