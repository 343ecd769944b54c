"""Keras `.keras` files of a `SketchRNN` (`model.save("m.keras")`).

The model, its layers and cells are registered as Keras serializable under the package name
`sketch_rnn_tf`, so `keras.saving.load_model` rebuilds them with every weight and the scale factor.
"""

from __future__ import annotations

import os

from .format import Location, ModelLoadError

NAME = "keras"
SUFFIX = ".keras"


def detect(path):
    """A `Location` if `path` is a file named `*.keras`, else None."""
    if os.path.isfile(path) and path.endswith(SUFFIX):
        return Location(NAME, path, os.path.dirname(os.path.abspath(path)))
    return None


def load(location: Location, data_dir=None, scale_factor=None):
    """The `SketchRNN` of a `.keras` file (its config holds the scale factor)."""
    import keras

    from ..model.sketch_rnn import SketchRNN  # registers the classes the file names

    path = location.path
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as e:  # a damaged zip, a foreign class, missing weights: all named here
        raise ModelLoadError(
            f"{path}: not a readable .keras file of a SketchRNN: {type(e).__name__}: {e}"
        ) from None
    if not isinstance(model, SketchRNN):
        raise ModelLoadError(f"{path}: holds a {type(model).__name__}, not a SketchRNN")
    return model
