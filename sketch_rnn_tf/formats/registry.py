"""`load_model`: resolve a name, detect the format, load. `FORMATS` lists the formats.

`load_model(path)` reads, by what `path` is (formats are asked in this order; see `format.py` for
what a format module provides):

* `package_dir`: a directory written by `save_model` (this package's format);
* `keras_file`: a Keras `.keras` file written by `model.save("m.keras")`;
* `magenta_tf1`: a Magenta TF1 model directory (`model_config.json`, `checkpoint`, `vector*.index`,
  `vector*.data-*`), or a checkpoint prefix / `.index` file inside one;
* `magenta_js`: a magenta-js `.gen.json` / `.vae.json` file;
* a model name (`names`): a bundled model (`"sheep"`) or one of Magenta's hosted models
  (`"magenta/cat.gen"`), downloaded once into the cache. A path that exists wins over a name.

Every weight comes from the file; anything missing, misshapen or unreadable raises `ModelLoadError`.
"""

from __future__ import annotations

import os

from ..data.checks import check_scale_factor
from . import keras_file, magenta_js, magenta_tf1, names, package_dir
from .format import Location, ModelLoadError

#: The format modules, in the order `detect` asks them (magenta_js last: it claims any file).
FORMATS = (package_dir, keras_file, magenta_tf1, magenta_js)


def resolve(path) -> str:
    """A model name (bundled, or Magenta's catalogue: downloaded once) as a local path."""
    if path is None or not str(path).strip():
        raise ModelLoadError(
            f"load_model: path is {path!r}; give a model name, a model directory or a file"
        )
    try:
        return names.resolve(path)
    except names.DownloadError as e:
        raise ModelLoadError(str(e)) from None


def detect(path) -> Location:
    """The `Location` of the model at a local `path`: the first format of `FORMATS` that claims it.

    Raises:
      ModelLoadError: nothing is there, or a directory in none of the formats.
    """
    for fmt in FORMATS:
        location = fmt.detect(path)
        if location is not None:
            return location
    if os.path.isdir(path):
        found = sorted(os.listdir(path))
        raise ModelLoadError(
            f"{path}: not a model directory: it has neither {package_dir.CONFIG_NAME} (a "
            f"save_model directory) nor {magenta_tf1.CONFIG_NAME} (a Magenta checkpoint "
            f"directory); it holds {found[:10] if found else 'nothing'}"
        )
    raise ModelLoadError(f"{path}: no such file or directory; {names.unknown_name_hint()}")


def load_model(path, scale_factor: float | None = None, data_dir=None):
    """Loads a trained sketch-rnn from any supported format (see the module docstring).

    Args:
      path: a `save_model` directory, a Magenta TF1 model directory (or checkpoint prefix), a
        magenta-js `.gen.json` / `.vae.json` file, a `.keras` file, a bundled model's name
        (`"sheep"`) or a name in Magenta's catalogue (`"magenta/cat.gen"`, `"magenta/cat.vae"`:
        downloaded once into the cache, see `sketch_rnn_tf.formats.names`).
      scale_factor: pixels per model unit. Needed for Magenta TF1 checkpoints unless `data_dir` (or
        the checkpoint directory) holds the training `.npz`; for the other formats it overrides the
        stored value.
      data_dir: folder holding the `.npz` files named by a TF1 config's `data_set`.

    Returns:
      A `SketchRNN` with `hparams` and `scale_factor` set and every weight loaded.

    Example:
    >>> import sketch_rnn_tf as srt
    >>> model = srt.load_model("sheep")            # a bundled Magenta model
    >>> model.hparams.dec_rnn_size, round(model.scale_factor, 2)
    (512, 63.1)
    """
    if scale_factor is not None:
        scale_factor = check_scale_factor(scale_factor, error=ModelLoadError, where="load_model")
    location = detect(resolve(path))
    fmt = {f.NAME: f for f in FORMATS}[location.format]
    model = fmt.load(location, data_dir=data_dir, scale_factor=scale_factor)
    if scale_factor is not None:
        model.scale_factor = scale_factor
    return model


def describe(path) -> Location:
    """The `Location` (format, files) of what `load_model(path)` reads, without reading weights.

    A model name is resolved first (a catalogue model is downloaded into the cache if need be).
    """
    return detect(resolve(path))
