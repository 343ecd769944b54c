"""The short examples in the docstrings of the public entry points run, and say what they show."""

import doctest

import pytest

import sketch_rnn_tf as srt
from sketch_rnn_tf.formats import registry
from sketch_rnn_tf.model import losses, preprocessor
from sketch_rnn_tf.rendering import grid
from sketch_rnn_tf.sampling import completion, latent, samplers
from sketch_rnn_tf.training import trainer

from _paths import REPO

ENTRY_POINTS = {
    "load_model": registry.load_model,
    "SketchRNN": srt.SketchRNN,
    "SketchRNN.sample": srt.SketchRNN.sample,
    "SketchPreprocessor": preprocessor.SketchPreprocessor,
    "SketchRNNLoss": losses.SketchRNNLoss,
    "samplers": samplers,
    "complete": completion.complete,
    "reconstruct": latent.reconstruct,
    "interpolation_row": latent.interpolation_row,
    "interpolation_grid": latent.interpolation_grid,
    "render_grid": grid.render_grid,
    "Trainer": trainer.Trainer,
}


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_docstring_example_runs(name, monkeypatch):
    monkeypatch.chdir(REPO)  # examples name the shared data as a user's checkout has it
    finder = doctest.DocTestFinder(recurse=False)
    tests = [t for t in finder.find(ENTRY_POINTS[name], name) if t.examples]
    assert tests, f"{name} has no example in its docstring"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in tests:
        runner.run(test)
    assert runner.failures == 0, f"{name}: {runner.failures} of {runner.tries} examples failed"
