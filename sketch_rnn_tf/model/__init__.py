"""sketch-rnn's model: cells → RNN loop → encoder, decoder, mixture → `SketchRNN`.

`preprocessor` (the numpy front door of a model: `SketchPreprocessor`, `ModelInputError`) imports
no TensorFlow; the names below are imported lazily, so `import sketch_rnn_tf.model.preprocessor`
(as the export client does) does not load the model code.
"""

from ..lazy import lazy_attributes as _lazy_attributes

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
    "ModelInputError": "preprocessor",
    "SketchPreprocessor": "preprocessor",
    "SketchRNN": "sketch_rnn",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = _lazy_attributes(
    __name__,
    _LAZY,
    (
        "cells",
        "decoder",
        "encoder",
        "hparams_layer",
        "layout",
        "linear",
        "losses",
        "mixture",
        "preprocessor",
        "rnn",
        "seeds",
        "sketch_rnn",
    ),
)
