"""sketch_rnn_tf: sketch-rnn (Ha & Eck, 2017) in TensorFlow 2 / Keras, faithful to Magenta.

Layers of the package, each importing only those before it:
  hparams → data → model (cells, encoder, decoder, mixture) → training → sampling → rendering/export;
  magenta (checkpoint formats) and the CLI sit on top.
"""

import os as _os

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from .hparams import HParams, HParamsError  # noqa: E402
from .model import SketchRNN  # noqa: E402

__version__ = "0.1.0"
__all__ = ["HParams", "HParamsError", "SketchRNN", "__version__"]
