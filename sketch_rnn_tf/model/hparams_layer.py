"""`HParamsLayer`: a Keras layer configured by one `HParams` (the encoder and the decoder)."""

from __future__ import annotations

import keras

from ..hparams import HParams


class HParamsLayer(keras.layers.Layer):
    """A layer whose whole configuration is the model's `HParams`.

    Its Keras config is the base layer's (name, dtype, ...) plus `hparams` as a dict, so a `.keras`
    file rebuilds it with the same sizes and cell types.

    Args:
      hparams: the model's `HParams`.
      **kwargs: `keras.layers.Layer` arguments (name, dtype, ...).
    """

    def __init__(self, hparams: HParams, **kwargs):
        super().__init__(**kwargs)
        self.hparams = hparams

    def get_config(self):
        config = super().get_config()
        config.update(hparams=self.hparams.to_dict())
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls(HParams.from_dict(config.pop("hparams")), **config)
