"""One error base class: every error class of the package is a `SketchRNNError` (a `ValueError`)."""

import pytest

import sketch_rnn_tf as srt
from sketch_rnn_tf.data import DataError
from sketch_rnn_tf.errors import SketchRNNError
from sketch_rnn_tf.export import ExportError
from sketch_rnn_tf.formats.magenta_js import JSExportError, JSFormatError
from sketch_rnn_tf.formats.magenta_tf1 import CheckpointError
from sketch_rnn_tf.model import ModelInputError
from sketch_rnn_tf.rendering import RenderError
from sketch_rnn_tf.training import TrainingError


@pytest.mark.parametrize(
    "cls",
    [
        srt.HParamsError,
        DataError,
        ModelInputError,
        srt.ModelLoadError,
        CheckpointError,
        JSFormatError,
        JSExportError,
        TrainingError,
        ExportError,
        RenderError,
    ],
)
def test_every_error_is_a_sketch_rnn_error(cls):
    assert issubclass(cls, SketchRNNError) and issubclass(cls, ValueError)
    assert srt.SketchRNNError is SketchRNNError
    with pytest.raises(SketchRNNError, match="the problem"):
        raise cls("the problem")


def test_training_error_is_still_a_runtime_error():
    assert issubclass(TrainingError, RuntimeError)
