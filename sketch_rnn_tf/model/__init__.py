"""sketch-rnn's model: cells → RNN loop → encoder, decoder, mixture → `SketchRNN`."""

from .cells import HyperLSTMCell, LayerNormLSTMCell, LSTMCell, make_cell
from .decoder import Decoder
from .encoder import Encoder, sample_z
from .linear import SuperLinear
from .mixture import (
    BivariateNormal,
    MixtureParams,
    StrokeDistribution,
    output_distribution,
    split_params,
)
from .sampler import Sampler
from .sketch_rnn import ModelInputError, SketchRNN

__all__ = [
    "HyperLSTMCell",
    "LayerNormLSTMCell",
    "LSTMCell",
    "make_cell",
    "Decoder",
    "Encoder",
    "sample_z",
    "SuperLinear",
    "BivariateNormal",
    "MixtureParams",
    "StrokeDistribution",
    "output_distribution",
    "split_params",
    "Sampler",
    "ModelInputError",
    "SketchRNN",
]
