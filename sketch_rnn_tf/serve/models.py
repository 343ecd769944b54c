"""Which models the drawing page offers, and a thread-safe cache of the loaded ones.

`available_models()` is the one place that lists models for the page's picker: the bundled model
directories (`checkpoints/<name>` of the repository, or of the installed package) and the models
cached under `$SKETCH_RNN_TF_HOME` (default `~/.cache/sketch_rnn_tf`). It returns {name: path} and
never loads TensorFlow.

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
#: training offsets, in pixels). Measured on the bundled models: the larger side of their own samples
#: (16 at temperature 0.5, median) is 12.7 (sheep), 11.2 (bird), 11.6 (ant) and 9.0
#: (aaron_sheep_small) scale factors, so a drawing the size of the model's fills 65-90% of the pad.
PAD_SCALE_FACTORS = 14.0

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def home_dir() -> str:
    """The package's cache folder: `$SKETCH_RNN_TF_HOME`, default `~/.cache/sketch_rnn_tf`."""
    return os.path.abspath(os.path.expanduser(
        os.environ.get("SKETCH_RNN_TF_HOME") or os.path.join("~", ".cache", "sketch_rnn_tf")))


def bundled_dirs() -> list[str]:
    """Folders that may hold the bundled models: the installed package's `checkpoints/` and the
    repository's top-level `checkpoints/` (an editable install or a source checkout)."""
    return [os.path.join(_PACKAGE_DIR, "checkpoints"),
            os.path.join(os.path.dirname(_PACKAGE_DIR), "checkpoints")]


def is_model_path(path) -> bool:
    """Whether `path` looks like something `load_model` reads (without reading it)."""
    if os.path.isdir(path):
        return any(os.path.isfile(os.path.join(path, m)) for m in _MODEL_DIR_MARKERS)
    return os.path.isfile(path) and path.endswith(_MODEL_FILE_SUFFIXES)


def _scan(root, max_depth, prefix=""):
    """{name relative to root (no .json): path} of the models under root, at most max_depth deep.

    A folder that is a model is listed and not looked into; hidden entries (downloads in progress,
    temporary folders) are skipped; symbolic links are followed one level at a time.
    """
    found = {}
    try:
        entries = sorted(os.listdir(root))
    except OSError:
        return found
    for entry in entries:
        if entry.startswith("."):
            continue
        path = os.path.join(root, entry)
        if os.path.isdir(path):
            if is_model_path(path):
                found[prefix + entry] = path
            elif max_depth > 1:
                found.update(_scan(path, max_depth - 1, prefix + entry + "/"))
        elif entry.endswith(_MODEL_FILE_SUFFIXES) and os.path.isfile(path):
            found[prefix + entry[:-len(".json")]] = path
    return found


def available_models() -> dict[str, str]:
    """{name: path} of the bundled models, then the cached ones (bundled names win on a clash).

    Bundled: each model directory directly inside a `bundled_dirs()` folder, named by the folder
    (`sheep`). Cached: model directories and `.gen.json` / `.vae.json` files up to two levels below
    `home_dir()`, named by their path relative to it without `.json` (`magenta/cat.gen`).
    """
    models = {}
    for root in bundled_dirs():
        for name, path in _scan(root, 1).items():
            models.setdefault(name, path)
    for name, path in _scan(home_dir(), 2).items():
        models.setdefault(name, path)
    return models


class LoadedModel:
    """A loaded model, its name and the lock under which it is used."""

    def __init__(self, name, model):
        self.name = name
        self.model = model
        self.lock = threading.Lock()

    def info(self) -> dict:
        """What the page needs to know about the model; `pad_size` is the side of the drawing pad
        in the model's pixels (see `PAD_SCALE_FACTORS`)."""
        hp = self.model.hparams
        return {"name": self.name, "conditional": bool(hp.conditional),
                "max_seq_len": int(hp.max_seq_len), "scale_factor": float(self.model.scale_factor),
                "pad_size": round(PAD_SCALE_FACTORS * float(self.model.scale_factor), 2),
                "dec_model": hp.dec_model, "dec_rnn_size": int(hp.dec_rnn_size),
                "enc_model": hp.enc_model if hp.conditional else None,
                "z_size": int(hp.z_size) if hp.conditional else None,
                "num_mixture": int(hp.num_mixture)}


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
        """The loaded model called `name`, loading it first if needed (once, even when several
        threads ask at the same time; other models stay usable meanwhile)."""
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
