"""Magenta's TF1 checkpoints: variable names and shapes, reading and writing.

A Magenta model directory holds `model_config.json`, `checkpoint` (whose `model_checkpoint_path` may
be an absolute path from the machine that trained it) and `vector[-<step>].index` /
`vector[-<step>].data-00000-of-00001`. Every trainable weight maps one-to-one onto a `SketchRNN`
variable (`SketchRNN.magenta_variables()`); Adam slots (`vector_rnn/vector_rnn/<name>/Adam[_1]`),
the schedule variables (`vector_rnn/Variable` = learning rate, `Variable_1` = KL weight,
`global_step`, `beta1_power`, `beta2_power`) and the extra `vector_rnn_1/*` scalars that newer
Magenta writes are ignored.

Magenta stores no scale factor: `load` takes `scale_factor=`, else computes it from the train split
of the config's `data_set` `.npz` files found in `data_dir` or beside the checkpoint, else raises
`ScaleFactorUnknown` saying how to give it.
"""

from __future__ import annotations

import os
import re
from typing import Dict, Tuple

import numpy as np

from ..atomic import write_text
from ..hparams import HParams, HParamsError
from ..model.layout import model_layout
from .format import Location, ModelLoadError, ScaleFactorUnknown
from .package_dir import has_tensor_data

NAME = "magenta_tf1"
#: The hparams file of a Magenta model directory.
CONFIG_NAME = "model_config.json"


class CheckpointError(ModelLoadError):
    """A checkpoint is missing, unreadable, or does not fit the model's hparams."""


def detect(path):
    """A `Location` (path: the directory or prefix given) if `path` is a Magenta TF1 checkpoint.

    `path` may be a model directory (with `model_config.json`), its `model_config.json`, a
    checkpoint prefix, or one of its `.index` / `.data-*` files.
    """
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, CONFIG_NAME)):
            return Location(NAME, path, path)
        return None
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isfile(path):
        base = os.path.basename(path)
        if base == CONFIG_NAME:
            return Location(NAME, directory, directory)
        if path.endswith(".index"):
            return Location(NAME, path[: -len(".index")], directory)
        if ".data-" in base:
            return Location(NAME, path.split(".data-")[0], directory)
        return None
    if os.path.exists(path + ".index"):
        return Location(NAME, path, directory)
    return None


def load(location: Location, data_dir=None, scale_factor=None):
    """The `SketchRNN` of a Magenta checkpoint: hparams from its config, every trainable weight."""
    from ..model.sketch_rnn import SketchRNN

    directory, path = location.directory, location.path
    config_path = os.path.join(directory, CONFIG_NAME)
    if not os.path.exists(config_path):
        raise ModelLoadError(
            f"{path}: a TF1 checkpoint needs {CONFIG_NAME} beside it ({config_path} is missing)"
        )
    try:
        hparams = HParams.from_json(config_path)
    except HParamsError as e:
        raise ModelLoadError(str(e)) from None
    prefix = find_checkpoint_prefix(path)
    if scale_factor is None:
        scale_factor = _scale_from_data(hparams, directory, data_dir)
    model = SketchRNN(hparams, scale_factor=scale_factor)
    load_weights(model, prefix)
    return model


def _scale_from_data(hparams, directory, data_dir):
    from ..data import DataError, load_npz, normalizing_scale_factor

    names = list(hparams.data_set)
    places = ([os.fspath(data_dir)] if data_dir is not None else []) + [directory]
    train, missing = [], []
    for name in names:
        for place in places:
            candidate = os.path.join(place, name)
            if os.path.isfile(candidate):
                try:
                    train.extend(load_npz(candidate)["train"])
                except DataError as e:
                    raise ModelLoadError(f"cannot compute the scale factor: {e}") from None
                break
        else:
            missing.append(name)
    if missing or not names:
        raise ScaleFactorUnknown(
            f"{directory}: a Magenta checkpoint does not store its scale factor (pixels per model "
            f"unit). Pass scale_factor=<the training set's normalizing_scale_factor>, or "
            f"data_dir=<folder holding {', '.join(names) or 'the data_set .npz files'}> to compute "
            f"it from the train split (looked for {', '.join(missing or names)} in "
            f"{', '.join(places)})"
        )
    try:
        return normalizing_scale_factor(train, hparams.max_seq_len)
    except DataError as e:
        raise ModelLoadError(f"cannot compute the scale factor: {e}") from None


def variable_shapes(hparams: HParams) -> Dict[str, Tuple[int, ...]]:
    """{Magenta TF1 variable name: shape} of the trainable weights of a model of `hparams`.

    In Magenta's creation order (the order of `tf.trainable_variables()` and of the JS formats):
    the package's weight layout (`model.layout.model_layout`).
    """
    return model_layout(hparams)


def find_checkpoint_prefix(path: str) -> str:
    """The checkpoint prefix (`.../vector` or `.../vector-7500`) in a Magenta model directory.

    `path` may be the directory or a prefix. The `checkpoint` state file is honoured, but its path
    is resolved inside the directory (release checkpoints carry the trainer's absolute path).
    """
    if os.path.isdir(path):
        directory, prefix = path, None
        state = os.path.join(path, "checkpoint")
        if os.path.exists(state):
            with open(state, encoding="utf-8") as f:
                m = re.search(r'^model_checkpoint_path:\s*"(.*)"', f.read(), re.M)
            if m:
                prefix = os.path.join(directory, os.path.basename(m.group(1)))
        if prefix is None or not os.path.exists(prefix + ".index"):
            indexes = sorted(f[: -len(".index")] for f in os.listdir(path) if f.endswith(".index"))
            if not indexes:
                raise CheckpointError(f"{path}: no checkpoint (*.index file) in this directory")
            prefix = os.path.join(directory, indexes[-1])
    else:
        prefix = path[: -len(".index")] if path.endswith(".index") else path
        if not os.path.exists(prefix + ".index"):
            raise CheckpointError(f"{path}: no checkpoint index {prefix}.index")
    if not has_tensor_data(prefix):
        raise CheckpointError(
            f"{prefix}.index has no tensor data beside it: {prefix}.data-00000-of-00001 is missing "
            "(the index alone lists names and shapes but holds no weights)"
        )
    return prefix


def list_variables(prefix: str) -> Dict[str, Tuple[int, ...]]:
    """{name: shape} of every variable in a TF1 checkpoint (reads the `.index` only)."""
    import tensorflow as tf

    try:
        return {n: tuple(s) for n, s in tf.train.list_variables(prefix)}
    except (tf.errors.OpError, ValueError) as e:
        detail = e.message if hasattr(e, "message") else e
        raise CheckpointError(
            f"{prefix}: not a readable TensorFlow checkpoint ({detail})"
        ) from None


def check_compatible(model_shapes: Dict[str, tuple], ckpt_shapes: Dict[str, tuple], where: str):
    """Raises a CheckpointError listing missing weights and shape mismatches, if any."""
    missing = [n for n in model_shapes if n not in ckpt_shapes]
    wrong = [
        f"{n}: checkpoint {list(ckpt_shapes[n])} vs model {list(s)}"
        for n, s in model_shapes.items()
        if n in ckpt_shapes and tuple(ckpt_shapes[n]) != s
    ]
    if missing or wrong:
        lines = []
        if wrong:
            lines.append(f"{len(wrong)} weights have other shapes: " + "; ".join(wrong[:6]))
        if missing:
            lines.append(f"{len(missing)} weights are missing: " + ", ".join(missing[:6]))
        raise CheckpointError(
            f"{where} does not fit the model's hparams (a checkpoint of another config?): "
            + ". ".join(lines)
        )


def _unreadable_data(prefix: str, error: Exception) -> str:
    """The message for a checkpoint whose tensor data cannot be read (empty, truncated, corrupt)."""
    detail = getattr(error, "message", None) or str(error)
    return (
        f"{prefix}: the checkpoint's tensor data (.data-* file) is empty, truncated or corrupt "
        f"and cannot be read ({type(error).__name__}: {detail.splitlines()[0][:200]})"
    )


def load_weights(model, prefix: str) -> None:
    """Assigns every trainable weight of `model` from the Magenta TF1 checkpoint at `prefix`.

    Nothing is left at its initial value: a missing or misshapen weight raises CheckpointError
    before any variable is changed.
    """
    variables = model.magenta_variables()
    shapes = {n: tuple(int(d) for d in v.shape) for n, v in variables.items()}
    check_compatible(shapes, list_variables(prefix), prefix)
    import tensorflow as tf

    try:
        reader = tf.train.load_checkpoint(prefix)
        values = {n: reader.get_tensor(n) for n in variables}
    except (tf.errors.OpError, IndexError, ValueError) as e:
        raise CheckpointError(_unreadable_data(prefix, e)) from None
    for name, value in values.items():
        if not np.all(np.isfinite(value)):
            raise CheckpointError(f"{prefix}: weight {name} holds NaN or inf")
    for name, v in variables.items():
        v.assign(values[name].astype(np.float32))


def save_weights(model, prefix: str, global_step: int | None = None) -> str:
    """Writes `model`'s trainable weights as a TF1-format checkpoint under Magenta's names.

    The result loads with `tf.compat.v1.train.Saver` in Magenta's graph (and with `load_weights`).
    """
    import tensorflow as tf

    os.makedirs(os.path.dirname(os.path.abspath(prefix)), exist_ok=True)
    values = {name: v.numpy() for name, v in model.magenta_variables().items()}
    graph = tf.Graph()
    with graph.as_default():
        tf_vars = [tf.compat.v1.Variable(value, name=name) for name, value in values.items()]
        if global_step is not None:
            tf_vars.append(
                tf.compat.v1.Variable(np.int32(global_step), name="vector_rnn/global_step")
            )
        saver = tf.compat.v1.train.Saver(tf_vars)
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            path = saver.save(sess, prefix, write_meta_graph=False)
    base = os.path.basename(path)
    write_text(
        os.path.join(os.path.dirname(os.path.abspath(prefix)), "checkpoint"),
        f'model_checkpoint_path: "{base}"\nall_model_checkpoint_paths: "{base}"\n',
        error=CheckpointError,
    )
    return path
