"""This package's own model directory: `sketch_rnn_config.json` + a TF2 checkpoint of the model.

    <dir>/sketch_rnn_config.json   {"format": "sketch_rnn_tf", "version": 1, "hparams": {...},
                                    "scale_factor": s}
    <dir>/checkpoint, <dir>/model.index, <dir>/model.data-*   (tf.train.Checkpoint(model=...))

A directory is written beside its destination and then renamed into place, so a crash while saving
never leaves a half-written model where a good one was. A fine-tuned model's config also records
where its training started (`"init_from"`, see `training.source`).
"""

from __future__ import annotations

import json
import os

import numpy as np

from ..atomic import staged_dir, write_text
from ..data.checks import check_scale_factor
from ..hparams import HParams, HParamsError
from .format import Location, ModelLoadError

NAME = "sketch_rnn_tf"
CONFIG_NAME = "sketch_rnn_config.json"
FORMAT_NAME = NAME  # the config's "format" value
FORMAT_VERSION = 1
_CKPT_NAME = "model"


def detect(path):
    """A `Location` if `path` is this package's model directory (or its config file), else None."""
    if os.path.isdir(path) and os.path.isfile(os.path.join(path, CONFIG_NAME)):
        return Location(NAME, path, path)
    if os.path.isfile(path) and os.path.basename(path) == CONFIG_NAME:
        directory = os.path.dirname(os.path.abspath(path))
        return Location(NAME, directory, directory)
    return None


def load(location: Location, data_dir=None, scale_factor=None):
    """The `SketchRNN` of a `save_model` directory (its config holds the scale factor)."""
    return load_model_dir(location.path)


def save_model(model, directory, overwrite: bool = True) -> str:
    """Writes `model` as a directory that `load_model` reads.

    The directory holds `sketch_rnn_config.json` plus a TF2 checkpoint of
    `tf.train.Checkpoint(model=model)` and its `checkpoint` state file.

    Everything is written into a temporary sibling directory first and then renamed into place, so
    an existing `directory` is replaced whole or not at all. An existing directory that is not a
    `save_model` directory (and not empty) is never replaced. Returns `directory`.
    """
    directory = os.path.abspath(os.fspath(directory))
    if os.path.exists(directory):
        if not os.path.isdir(directory):
            raise ModelLoadError(f"{directory}: exists and is not a directory")
        contents = os.listdir(directory)
        if contents and not overwrite:
            raise ModelLoadError(f"{directory}: exists; pass overwrite=True to replace it")
        if contents and CONFIG_NAME not in contents:
            raise ModelLoadError(
                f"{directory}: exists and is not a save_model directory (no {CONFIG_NAME}); "
                "refusing to replace it"
            )
    config = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "hparams": model.hparams.to_dict(),
        "scale_factor": float(model.scale_factor),
    }
    if getattr(model, "init_from", None):
        config["init_from"] = model.init_from
    import tensorflow as tf

    with staged_dir(directory) as staged:
        write_text(
            os.path.join(staged, CONFIG_NAME), json.dumps(config, indent=1), error=ModelLoadError
        )
        tf.train.Checkpoint(model=model).write(os.path.join(staged, _CKPT_NAME))
        write_text(
            os.path.join(staged, "checkpoint"),
            f'model_checkpoint_path: "{_CKPT_NAME}"\nall_model_checkpoint_paths: "{_CKPT_NAME}"\n',
            error=ModelLoadError,
        )
    return directory


def load_model_dir(directory, scale_factor=None):
    """A `SketchRNN` restored from a `save_model` directory (`scale_factor` overrides its own)."""
    import tensorflow as tf

    from ..model.sketch_rnn import SketchRNN

    config_path = os.path.join(directory, CONFIG_NAME)
    try:
        with open(config_path, encoding="utf-8") as f:
            config = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelLoadError(f"{config_path}: not valid JSON ({e})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT_NAME:
        raise ModelLoadError(
            f"{config_path}: not a {FORMAT_NAME} config (expected an object with "
            f'"format": "{FORMAT_NAME}")'
        )
    if not isinstance(config.get("hparams"), dict):
        raise ModelLoadError(f'{config_path}: has no "hparams" object')
    try:
        hparams = HParams.from_dict(config["hparams"])
    except HParamsError as e:
        raise ModelLoadError(f"{config_path}: {e}") from None
    stored_scale = check_scale_factor(
        config.get("scale_factor"), error=ModelLoadError, where=config_path
    )
    prefix = tf.train.latest_checkpoint(directory)
    if prefix is None:
        raise ModelLoadError(
            f"{directory}: {CONFIG_NAME} is there but no TF checkpoint "
            "(no 'checkpoint' state file or the files it names are missing)"
        )
    _require_data_files(prefix)
    model = SketchRNN(hparams, scale_factor=stored_scale)
    try:
        status = tf.train.Checkpoint(model=model).read(prefix)
        status.expect_partial()
        status.assert_existing_objects_matched()
    except (IndexError, AssertionError, ValueError, tf.errors.OpError) as e:
        detail = getattr(e, "message", None) or str(e)
        # IndexError "Read less bytes than requested": an empty or truncated .data file; a failed
        # checksum: a corrupt one.
        if isinstance(e, (IndexError, tf.errors.DataLossError)) or "checksum" in detail.lower():
            raise ModelLoadError(
                f"{prefix}: the checkpoint's tensor data (.data-* file) is empty, truncated or "
                f"corrupt and cannot be read ({type(e).__name__}: {detail.splitlines()[0][:200]})"
            ) from None
        raise ModelLoadError(
            f"{prefix}: the checkpoint does not fit the model described by {CONFIG_NAME} "
            f"({type(e).__name__}: {e})"
        ) from None
    _require_finite(model, prefix)
    model.init_from = config.get("init_from")
    if scale_factor is not None:
        model.scale_factor = scale_factor
    return model


def has_tensor_data(prefix) -> bool:
    """Whether a checkpoint prefix has its `.data-*` shard(s) beside its `.index`."""
    directory = os.path.dirname(prefix) or "."
    return any(f.startswith(os.path.basename(prefix) + ".data-") for f in os.listdir(directory))


def _require_data_files(prefix):
    if not os.path.exists(prefix + ".index"):
        raise ModelLoadError(f"{prefix}.index is missing")
    if not has_tensor_data(prefix):
        raise ModelLoadError(
            f"{prefix}.index has no tensor data beside it ({prefix}.data-00000-of-00001 is missing)"
        )


def _require_finite(model, where):
    for v in model.variables:
        if not np.all(np.isfinite(v.numpy())):
            raise ModelLoadError(f"{where}: weight {v.path} holds NaN or inf")
