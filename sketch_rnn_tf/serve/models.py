"""Which models the drawing page offers, and a thread-safe cache of the loaded ones.

`available_models()` lists the models for the page's picker: the bundled models and Magenta's
catalogue models already in the cache, as `sketch_rnn_tf.list_models()` names them. It returns
{name: path} and never loads TensorFlow.

`ModelCache` loads a model the first time it is asked for and keeps it; each model carries a lock
under which every call into it runs (the server's threads share one model object).
"""

from __future__ import annotations

import os
import threading

#: Files and folders that make a model (see `sketch_rnn_tf.load_model`).
_MODEL_DIR_MARKERS = ("sketch_rnn_config.json", "model_config.json")
_MODEL_FILE_SUFFIXES = (".gen.json", ".vae.json")

#: The drawing pad's side in units of the model's scale factor (the standard deviation of its
#: training offsets, in pixels). Measured on the bundled models: the larger side of their own
#: samples (16 at temperature 0.5, median) is 12.7 (sheep), 11.2 (bird) and 11.6 (ant) scale
#: factors, and of aaron_sheep's drawings 13.0 (aaron_sheep_vae reconstructs them; its prior
#: samples vary widely, 9-42 when not empty), so a drawing the size of the model's fills 80-95% of
#: the pad.
PAD_SCALE_FACTORS = 14.0


def is_model_path(path) -> bool:
    """Whether `path` looks like something `load_model` reads (without reading it)."""
    if os.path.isdir(path):
        return any(os.path.isfile(os.path.join(path, m)) for m in _MODEL_DIR_MARKERS)
    return os.path.isfile(path) and path.endswith(_MODEL_FILE_SUFFIXES)


def available_models() -> dict[str, str]:
    """{name: path} of the bundled models, then the catalogue models already cached.

    The names are those of `sketch_rnn_tf.list_models()` ("bundled" and "cached"); none of them
    needs the network. Imports no TensorFlow.
    """
    from ..formats import names

    models = {}
    for name in names.bundled_models() + names.cached_models():
        models.setdefault(name, names.resolve(name, progress=False))
    return models


class LoadedModel:
    """A loaded model, its name and the lock under which it is used."""

    def __init__(self, name, model):
        self.name = name
        self.model = model
        self.lock = threading.Lock()

    def info(self) -> dict:
        """What the page needs to know about the model.

        `pad_size` is the side of the drawing pad in the model's pixels (see `PAD_SCALE_FACTORS`).
        """
        hp = self.model.hparams
        return {
            "name": self.name,
            "conditional": bool(hp.conditional),
            "max_seq_len": int(hp.max_seq_len),
            "scale_factor": float(self.model.scale_factor),
            "pad_size": round(PAD_SCALE_FACTORS * float(self.model.scale_factor), 2),
            "dec_model": hp.dec_model,
            "dec_rnn_size": int(hp.dec_rnn_size),
            "enc_model": hp.enc_model if hp.conditional else None,
            "z_size": int(hp.z_size) if hp.conditional else None,
            "num_mixture": int(hp.num_mixture),
        }


class UnknownModelError(KeyError):
    """A model name that is not on the server's list."""


class ModelCache:
    """Loads models by name on first use and keeps them; safe to call from many threads.

    Args:
      models: {name: path} the server may load (the page's picker shows these names).
      loader: `path -> SketchRNN` (default `sketch_rnn_tf.load_model`).
    """

    def __init__(self, models: dict, loader=None):
        self.models = dict(models)
        self._loader = loader
        self._loaded = {}
        self._lock = threading.Lock()
        self._loading = {}

    def names(self) -> list[str]:
        return list(self.models)

    def get(self, name) -> LoadedModel:
        """The loaded model called `name`, loading it first if needed.

        It is loaded once, even when several threads ask at the same time; other models stay
        usable meanwhile.
        """
        if name not in self.models:
            raise UnknownModelError(name)
        with self._lock:
            if name in self._loaded:
                return self._loaded[name]
            lock = self._loading.setdefault(name, threading.Lock())
        with lock:
            with self._lock:
                if name in self._loaded:
                    return self._loaded[name]
            loader = self._loader
            if loader is None:
                from .. import load_model as loader
            entry = LoadedModel(name, loader(self.models[name]))
            with self._lock:
                self._loaded[name] = entry
                self._loading.pop(name, None)
            return entry
