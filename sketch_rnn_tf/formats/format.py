"""What a model format is, and the error every format raises.

A format is a module of `sketch_rnn_tf.formats` with:

* `NAME`: its name (`"sketch_rnn_tf"`, `"keras"`, `"magenta_tf1"`, `"magenta_js"`);
* `detect(path) -> Location | None`: whether `path` (a local file or directory) is in this format,
  and if so where its parts are. It only looks at names on disk, never reads weights, and imports no
  TensorFlow;
* `load(location, data_dir=None, scale_factor=None) -> SketchRNN`: the model with every weight read
  from the files and the scale factor the format stores (`data_dir` and `scale_factor` serve the
  formats that store none: a Magenta TF1 checkpoint);
* name constants (file names, suffixes) that other parts of the package read without TensorFlow.

`registry.FORMATS` lists them in detection order; `load_model` is "resolve a name, detect, load".
To add a format: write its module and add it to `FORMATS`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..errors import SketchRNNError


class ModelLoadError(SketchRNNError):
    """A model path does not exist, is in none of the supported formats, or is unusable."""


class ScaleFactorUnknown(ModelLoadError):
    """No scale factor: the format stores none, and neither `scale_factor=` nor data was given."""


@dataclasses.dataclass(frozen=True)
class Location:
    """Where a model's files are, as its format's `detect` found them.

    Attributes:
      format: the format's `NAME`.
      path: the file or directory the model is read from (a TF1 checkpoint: its prefix).
      directory: the directory that holds it.
      extra: anything else the format's `load` needs (None for most).
    """

    format: str
    path: str
    directory: str
    extra: Any = None
