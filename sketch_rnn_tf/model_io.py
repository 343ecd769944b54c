"""Models in and out: `load_model(path)` reads every format, `save_model(model, dir)` writes ours.

`load_model` reads, by what `path` is:

* a directory written by `save_model` (this package's format): `sketch_rnn_config.json`
  (`{"format": "sketch_rnn_tf", "hparams": {...}, "scale_factor": ...}`) and a TF2 checkpoint
  written by `tf.train.Checkpoint(model=model)`;
* a Magenta TF1 model directory (`model_config.json`, `checkpoint`, `vector*.index` and
  `vector*.data-*`), or a checkpoint prefix / `.index` file inside one. Adam slots, schedule scalars
  and `vector_rnn_1/*` are ignored. The scale factor is not stored by Magenta: it comes from the
  `scale_factor` argument, else from the train split of the config's `data_set` `.npz` files found
  in `data_dir` or next to the checkpoint;
* a magenta-js `.gen.json` / `.vae.json` file;
* a Keras `.keras` file written by `model.save("m.keras")` (the model, its layers and cells are
  registered as Keras serializable under the package name `sketch_rnn_tf`);
* a model name (`presets`): a bundled model (`"sheep"`) or one of Magenta's hosted models
  (`"magenta/cat.gen"`), downloaded once into the cache. A path that exists wins over a name.

Every weight comes from the file; anything missing, misshapen or unreadable raises `ModelLoadError`.
"""

from __future__ import annotations

import os

from . import presets
from .data.checks import check_scale_factor
from .hparams import HParams, HParamsError
from .magenta import js as js_format
from .magenta import tf1
from .model import SketchRNN
from .model.saving import CONFIG_NAME, ModelLoadError, load_model_dir, save_model

MAGENTA_CONFIG = "model_config.json"

__all__ = ["ModelLoadError", "load_model", "save_model"]


# --------------------------------------------------------------------------- public API
def load_model(path, scale_factor: float | None = None, data_dir=None) -> SketchRNN:
    """Loads a trained sketch-rnn from any supported format (see the module docstring).

    Args:
      path: a `save_model` directory, a Magenta TF1 model directory (or checkpoint prefix), a
        magenta-js `.gen.json` / `.vae.json` file, a `.keras` file, a bundled model's name
        (`"sheep"`) or a name in Magenta's catalogue (`"magenta/cat.gen"`, `"magenta/cat.vae"`:
        downloaded once into the cache, see `sketch_rnn_tf.presets`).
      scale_factor: pixels per model unit. Needed for Magenta TF1 checkpoints unless `data_dir` (or
        the checkpoint directory) holds the training `.npz`; for the other formats it overrides the
        stored value.
      data_dir: folder holding the `.npz` files named by a TF1 config's `data_set`.
    Returns a `SketchRNN` with `hparams` and `scale_factor` set and every weight loaded.
    """
    if path is None:
        raise ModelLoadError("load_model: path is None; give a model directory or a .json file")
    try:  # a bundled model's name, or a Magenta catalogue name (downloaded once into the cache)
        path = presets.resolve(path)
    except (presets.ModelNameError, presets.DownloadError) as e:
        raise ModelLoadError(str(e)) from None
    if scale_factor is not None:
        scale_factor = check_scale_factor(scale_factor, error=ModelLoadError, where="load_model")
    kind, where = _detect(path)
    if kind == "sketch_rnn_tf":
        return load_model_dir(where, scale_factor)
    if kind == "magenta_tf1":
        directory, prefix = where
        return _load_tf1(directory, prefix, scale_factor, data_dir)
    if kind == "keras":
        return _load_keras(where, scale_factor)
    return _load_js(where, scale_factor)


def describe_source(path):
    """(format, resolved path) of what `load_model(path)` would read, without reading weights.

    The format is one of "sketch_rnn_tf" (this package's directory), "magenta_tf1", "magenta_js"
    or "keras"; a model name is resolved (and downloaded into the cache if need be) first.
    """
    try:
        resolved = presets.resolve(path)
    except (presets.ModelNameError, presets.DownloadError) as e:
        raise ModelLoadError(str(e)) from None
    kind, where = _detect(resolved)
    return kind, os.path.abspath(where[1] if kind == "magenta_tf1" else where)


def _detect(path):
    """(format, where) of a resolved path; `where` is (directory, prefix) for a TF1 checkpoint."""
    if os.path.isdir(path):
        if os.path.exists(os.path.join(path, CONFIG_NAME)):
            return "sketch_rnn_tf", path
        if os.path.exists(os.path.join(path, MAGENTA_CONFIG)):
            return "magenta_tf1", (path, path)
        found = sorted(os.listdir(path))
        raise ModelLoadError(
            f"{path}: not a model directory: it has neither {CONFIG_NAME} (a save_model directory) "
            f"nor {MAGENTA_CONFIG} (a Magenta checkpoint directory); it holds "
            f"{found[:10] if found else 'nothing'}"
        )
    if os.path.isfile(path):
        directory = os.path.dirname(os.path.abspath(path))
        if path.endswith(".keras"):
            return "keras", path
        if path.endswith(".index") or ".data-" in os.path.basename(path):
            prefix = path[: -len(".index")] if path.endswith(".index") else path.split(".data-")[0]
            return "magenta_tf1", (directory, prefix)
        if os.path.basename(path) == MAGENTA_CONFIG:
            return "magenta_tf1", (directory, directory)
        if os.path.basename(path) == CONFIG_NAME:
            return "sketch_rnn_tf", directory
        return "magenta_js", path
    if os.path.exists(path + ".index"):
        return "magenta_tf1", (os.path.dirname(os.path.abspath(path)), path)
    raise ModelLoadError(f"{path}: no such file or directory; {presets.unknown_name_hint()}")


# --------------------------------------------------------------------------- formats
class ScaleFactorUnknown(ModelLoadError):
    """A Magenta TF1 checkpoint without `scale_factor=` and without its training data at hand."""


def _load_keras(path, scale_factor):
    import keras  # with TensorFlow, already loaded by .model

    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as e:  # a damaged zip, a foreign class, missing weights: all named here
        raise ModelLoadError(
            f"{path}: not a readable .keras file of a SketchRNN: {type(e).__name__}: {e}"
        ) from None
    if not isinstance(model, SketchRNN):
        raise ModelLoadError(f"{path}: holds a {type(model).__name__}, not a SketchRNN")
    if scale_factor is not None:
        model.scale_factor = scale_factor
    return model


def _load_tf1(directory, path, scale_factor, data_dir):
    config_path = os.path.join(directory, MAGENTA_CONFIG)
    if not os.path.exists(config_path):
        raise ModelLoadError(
            f"{path}: a TF1 checkpoint needs {MAGENTA_CONFIG} beside it ({config_path} is missing)"
        )
    try:
        hparams = HParams.from_json(config_path)
        prefix = tf1.find_checkpoint_prefix(path)
    except (HParamsError, tf1.CheckpointError) as e:
        raise ModelLoadError(str(e)) from None
    if scale_factor is None:
        scale_factor = _scale_from_data(hparams, directory, data_dir)
    model = SketchRNN(hparams, scale_factor=scale_factor)
    try:
        tf1.load_weights(model, prefix)
    except tf1.CheckpointError as e:
        raise ModelLoadError(str(e)) from None
    return model


def _scale_from_data(hparams, directory, data_dir):
    from .data import DataError, load_npz, normalizing_scale_factor

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
            f"it "
            f"from the train split (looked for {', '.join(missing or names)} in "
            f"{', '.join(places)})"
        )
    try:
        return normalizing_scale_factor(train, hparams.max_seq_len)
    except DataError as e:
        raise ModelLoadError(f"cannot compute the scale factor: {e}") from None


def _load_js(path, scale_factor):
    try:
        hparams, stored_scale, tensors = js_format.read_js(path)
    except js_format.JSFormatError as e:
        if path.endswith(".json"):
            raise ModelLoadError(str(e)) from None
        raise ModelLoadError(
            f"{path}: not a model file this package reads (a magenta-js .gen.json/.vae.json, a "
            f"Magenta checkpoint directory or a save_model directory): {e}"
        ) from None
    model = SketchRNN(
        hparams, scale_factor=scale_factor if scale_factor is not None else stored_scale
    )
    variables = model.magenta_variables()
    if list(variables) != list(tensors):
        raise ModelLoadError(
            f"{path}: tensors {list(tensors)} do not match the model's {list(variables)}"
        )
    for name, v in variables.items():
        if tuple(v.shape) != tensors[name].shape:
            raise ModelLoadError(
                f"{path}: {name} has shape {list(tensors[name].shape)}, the model "
                f"needs {list(v.shape)}"
            )
        v.assign(tensors[name])
    return model
