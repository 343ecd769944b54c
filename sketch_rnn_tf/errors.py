"""The one base class of every error this package raises for bad input or unusable files.

Each module keeps its own error class, named after what went wrong (`HParamsError`, `DataError`,
`ModelInputError`, `ModelLoadError`, `CheckpointError`, `TrainingError`, `ExportError`,
`RenderError`, ...), and every one of them derives from `SketchRNNError`, itself a `ValueError`.
So a caller can catch everything this package reports with one `except SketchRNNError`, and generic
`except ValueError` handlers keep working. The message always names the problem (and the file,
split, sketch or argument it is in).

This module imports nothing, so every layer (data, model, rendering, ...) can use it.
"""

from __future__ import annotations


class SketchRNNError(ValueError):
    """Base class of the errors of `sketch_rnn_tf`: bad input, settings or files.

    `argument` names the setting at fault (e.g. "temperature", "scale"), when one is, so that the
    command line can name the flag the user typed; None otherwise.
    """

    argument = None

    def about(self, argument: str) -> "SketchRNNError":
        """This error, marked as being about the setting `argument`; returns it (to raise)."""
        self.argument = argument
        return self
