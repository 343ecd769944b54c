"""Export of trained models: a TensorFlow SavedModel with serving signatures, and its numpy client.

`export_saved_model(model, directory)` writes the SavedModel; `load_exported(directory)` reads one
back with `tf.saved_model.load` alone (none of this package's network code is imported). The
exporter is `exporter`, its numpy client `client`.
"""

from .client import ExportedSketchRNN, load_exported
from .exporter import SIGNATURES, ExportError, export_saved_model

__all__ = ["SIGNATURES", "ExportedSketchRNN", "ExportError", "export_saved_model", "load_exported"]
