"""Magenta's TF1 checkpoints: variable names and shapes, reading and writing.

A Magenta model directory holds `model_config.json`, `checkpoint` (whose `model_checkpoint_path` may
be an absolute path from the machine that trained it) and `vector[-<step>].index` /
`vector[-<step>].data-00000-of-00001`. Every trainable weight maps one-to-one onto a `SketchRNN`
variable (`SketchRNN.magenta_variables()`); Adam slots (`vector_rnn/vector_rnn/<name>/Adam[_1]`),
the schedule variables (`vector_rnn/Variable` = learning rate, `Variable_1` = KL weight,
`global_step`, `beta1_power`, `beta2_power`) and the extra `vector_rnn_1/*` scalars that newer
Magenta writes are ignored.
"""

from __future__ import annotations

import os
import re
from typing import Dict, Tuple

import numpy as np
import tensorflow as tf

from ..atomic import write_text
from ..errors import SketchRNNError
from ..hparams import HParams
from ..model.saving import has_tensor_data


class CheckpointError(SketchRNNError):
    """A checkpoint is missing, unreadable, or does not fit the model's hparams."""


def variable_shapes(hparams: HParams) -> Dict[str, Tuple[int, ...]]:
    """{Magenta TF1 variable name: shape} of the trainable weights of a model of `hparams`.

    In Magenta's creation order (the order of `tf.trainable_variables()` and of the JS formats).
    """
    from ..model import SketchRNN

    model = SketchRNN(hparams)
    return {name: tuple(int(d) for d in v.shape) for name, v in model.magenta_variables().items()}


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
