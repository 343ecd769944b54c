"""sketch-rnn's model: cells → RNN loop → encoder, decoder, mixture → `SketchRNN`.

`preprocessor` (the numpy front door of a model: `SketchPreprocessor`, `ModelInputError`) imports
no TensorFlow; the names below are imported lazily, so `import sketch_rnn_tf.model.preprocessor`
(as the export client does) does not load the model code.
"""

import importlib as _importlib

_LAZY = {
    "HyperLSTMCell": "cells",
    "LayerNormLSTMCell": "cells",
    "LSTMCell": "cells",
    "make_cell": "cells",
    "Decoder": "decoder",
    "Encoder": "encoder",
    "sample_z": "encoder",
    "SuperLinear": "linear",
    "BivariateNormal": "mixture",
    "MixtureParams": "mixture",
    "StrokeDistribution": "mixture",
    "output_distribution": "mixture",
    "split_params": "mixture",
    "Sampler": "sampler",
    "ModelInputError": "preprocessor",
    "SketchPreprocessor": "preprocessor",
    "SketchRNN": "sketch_rnn",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        return getattr(_importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
