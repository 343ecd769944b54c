"""This package's own model directory: `sketch_rnn_config.json` + a TF2 checkpoint of the model.

    <dir>/sketch_rnn_config.json   {"format": "sketch_rnn_tf", "hparams": {...}, "scale_factor": s}
    <dir>/checkpoint, <dir>/model-1.index, <dir>/model-1.data-*   (tf.train.Checkpoint(model=...))

A directory is written beside its destination and then renamed into place, so a crash while saving
never leaves a half-written model where a good one was.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile

import tensorflow as tf

from ..hparams import HParams

CONFIG_FILE = "sketch_rnn_config.json"
FORMAT = "sketch_rnn_tf"


class ModelDirError(ValueError):
    """A model directory is missing, incomplete, or does not fit the model."""


def is_model_dir(path) -> bool:
    return os.path.isdir(path) and os.path.exists(os.path.join(path, CONFIG_FILE))


def save_model(model, directory) -> str:
    """Writes `model` (hparams, scale factor, weights) to `directory`, replacing it atomically."""
    directory = os.path.abspath(os.fspath(directory))
    parent = os.path.dirname(directory)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".tmp-" + os.path.basename(directory) + "-", dir=parent)
    try:
        config = {"format": FORMAT, "hparams": model.hparams.to_dict(),
                  "scale_factor": model.scale_factor}
        with open(os.path.join(tmp, CONFIG_FILE), "w", encoding="utf-8") as f:
            json.dump(config, f, indent=1)
        checkpoint = tf.train.Checkpoint(model=model)
        path = checkpoint.write(os.path.join(tmp, "model"))
        with open(os.path.join(tmp, "checkpoint"), "w", encoding="utf-8") as f:
            base = os.path.basename(path)
            f.write(f'model_checkpoint_path: "{base}"\nall_model_checkpoint_paths: "{base}"\n')
        old = None
        if os.path.exists(directory):
            old = directory + ".old"
            if os.path.exists(old):
                shutil.rmtree(old)
            os.replace(directory, old)
        os.replace(tmp, directory)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory


def read_config(directory):
    """(HParams, scale_factor) of a model directory."""
    path = os.path.join(directory, CONFIG_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    except json.JSONDecodeError as e:
        raise ModelDirError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT or "hparams" not in config:
        raise ModelDirError(f"{path}: not a {FORMAT} model config")
    return HParams.from_dict(config["hparams"]), float(config.get("scale_factor", 1.0))


def restore_weights(model, directory) -> None:
    """Restores every variable of `model` from the checkpoint in `directory`, or raises."""
    prefix = tf.train.latest_checkpoint(directory)
    if prefix is None:
        raise ModelDirError(f"{directory}: no checkpoint files beside {CONFIG_FILE}")
    names = dict(tf.train.list_variables(prefix))
    status = tf.train.Checkpoint(model=model).read(prefix)
    try:
        status.assert_existing_objects_matched()
    except AssertionError as e:
        raise ModelDirError(f"{directory}: checkpoint does not fit the model: {e}") from None
    status.expect_partial()
    if not names:
        raise ModelDirError(f"{directory}: empty checkpoint")


def load_model_dir(directory):
    """A `SketchRNN` restored from a directory written by `save_model`."""
    from .sketch_rnn import SketchRNN
    hparams, scale_factor = read_config(directory)
    model = SketchRNN(hparams, scale_factor=scale_factor)
    restore_weights(model, directory)
    return model
