"""Models in and out: one module per format, and `load_model` = resolve a name, detect, load.

| module | format | written by |
|---|---|---|
| `package_dir` | this package's directory: config + TF2 checkpoint | `save_model` |
| `keras_file` | a Keras `.keras` file | `model.save("m.keras")` |
| `magenta_tf1` | Magenta's TF1 checkpoint directory | `magenta_tf1.save_weights` |
| `magenta_js` | magenta-js `.gen.json`, sketch-rnn-js `.vae.json` | `magenta_js.write_js` |

`names` turns model names (bundled, Magenta's catalogue) into paths; `registry` holds `FORMATS`,
`detect` and `load_model`; `format` says what a format module provides. Detection and the name
constants import no TensorFlow; loading does.
"""

from .format import Location, ModelLoadError, ScaleFactorUnknown
from .package_dir import save_model
from .registry import FORMATS, describe, detect, load_model

__all__ = [
    "FORMATS",
    "Location",
    "ModelLoadError",
    "ScaleFactorUnknown",
    "describe",
    "detect",
    "load_model",
    "save_model",
]
