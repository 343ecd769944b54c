"""The numpy client of an exported SavedModel: pixels in, pixels out, with TensorFlow's loader only.

`load_exported(directory)` wraps `tf.saved_model.load` of a directory written by
`export.exporter.export_saved_model` in `ExportedSketchRNN`, which does the pixel-level pre- and
post-processing in numpy. It imports nothing from `sketch_rnn_tf.model`, so a process with
TensorFlow and this package's numpy parts, but none of its model code, can use an export.
"""

from __future__ import annotations

import json
import os

import numpy as np
import tensorflow as tf

from ..data import strokes as stroke_format
from .exporter import ExportError

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
