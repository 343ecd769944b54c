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
import importlib.abc  # noqa: F401  (_importlib.abc)
import importlib.util  # noqa: F401  (_importlib.util)
import os as _os
import sys as _sys
import warnings as _warnings

from .lazy import lazy_attributes as _lazy_attributes

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

_LAZY = {
    "HParams": "hparams",
    "HParamsError": "hparams",
    "SketchRNN": "model",
    "load_model": "formats",
    "save_model": "formats",
    "ModelLoadError": "formats",
    "SketchRNNError": "errors",
    "SketchPreprocessor": "model.preprocessor",
    "list_models": "formats.names",
}

_SUBMODULES = (
    "cli",
    "data",
    "errors",
    "export",
    "fetch",
    "formats",
    "hparams",
    "model",
    "rendering",
    "sampling",
    "serve",
    "training",
)

__all__ = sorted(_LAZY) + ["__version__"]


#: Modules that moved, old name -> new name(s) (under `sketch_rnn_tf.`). Importing an old name still
#: works: it gives a stand-in module that forwards every attribute to the new module(s), the first
#: that has it, and warns once (DeprecationWarning).
_MOVED = {
    "data.errors": ("data.checks", "model.preprocessor"),
    "data.geometry": "data.chamfer",
    "data.preprocessor": "model.preprocessor",
    "download": "fetch",
    "completion": "sampling.completion",
    "latent": "sampling.latent",
    "latent.space": "sampling.latent",
    "magenta": ("formats", "formats.magenta_tf1"),
    "magenta.js": "formats.magenta_js",
    "magenta.tf1": "formats.magenta_tf1",
    "model.lstm_loop": "model.cells.lstm",
    "model.sampler": "sampling.decoding",
    "model.saving": "formats.package_dir",
    "model_io": "formats",
    "presets": "formats.names",
    "rendering.checks": "rendering.inputs",
    "rendering.geometry": "rendering.polylines",
}


class _MovedModules(_importlib.abc.MetaPathFinder, _importlib.abc.Loader):
    """Finds the old names of `_MOVED` and makes each a stand-in for its new module."""

    def find_spec(self, fullname, path=None, target=None):
        old = fullname[len(__name__) + 1 :] if fullname.startswith(__name__ + ".") else None
        if old in _MOVED:
            return _importlib.util.spec_from_loader(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        return None  # a plain new module, filled in by exec_module

    def exec_module(self, module):
        targets = _MOVED[module.__name__[len(__name__) + 1 :]]
        targets = (targets,) if isinstance(targets, str) else targets
        new = [_importlib.import_module(f"{__name__}.{t}") for t in targets]
        names = ", ".join(m.__name__ for m in new)
        _warnings.warn(f"{module.__name__} moved to {names}", DeprecationWarning, stacklevel=2)

        def forward(name):
            for m in new:
                if hasattr(m, name):
                    return getattr(m, name)
            raise AttributeError(f"module {module.__name__!r} (moved to {names}) has no {name!r}")

        module.__path__ = []
        module.__doc__ = f"Moved to {names} (this name is a deprecated alias)."
        module.__getattr__ = forward
        module.__all__ = sorted({n for m in new for n in dir(m) if not n.startswith("_")})


_sys.meta_path.append(_MovedModules())


# `srt.rendering.render_grid(...)` without importing it first; moved names as their stand-ins.
__getattr__, __dir__ = _lazy_attributes(__name__, _LAZY, _SUBMODULES + tuple(_MOVED))
