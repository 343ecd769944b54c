"""sketch_rnn_tf: sketch-rnn (Ha & Eck, 2017) in TensorFlow 2 / Keras, faithful to Magenta.

Layers of the package, each importing only those before it:
  errors → hparams → data → model (cells, encoder, decoder, mixture, sampler) → training →
  latent (interpolation, analogies), completion → rendering/export;
  magenta (checkpoint formats), model_io (`load_model`/`save_model` for every format) and the CLI
  sit on top.

The top-level names are imported lazily, so `import sketch_rnn_tf.data` or `.rendering` does not
load TensorFlow.
"""

import importlib as _importlib
import os as _os

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

_LAZY = {
    "HParams": "hparams",
    "HParamsError": "hparams",
    "SketchRNN": "model",
    "load_model": "model_io",
    "save_model": "model_io",
    "ModelLoadError": "model_io",
    "SketchRNNError": "errors",
    "SketchPreprocessor": "data",
    "list_models": "presets",
}

_SUBMODULES = (
    "cli",
    "completion",
    "data",
    "download",
    "errors",
    "export",
    "hparams",
    "latent",
    "magenta",
    "model",
    "model_io",
    "presets",
    "rendering",
    "training",
)

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name):
    if name in _LAZY:
        return getattr(_importlib.import_module(f".{_LAZY[name]}", __name__), name)
    if name in _SUBMODULES:  # `srt.rendering.render_grid(...)` without importing it first
        return _importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'sketch_rnn_tf' has no attribute {name!r}")
