"""Models by name: the bundled ones, and Magenta's hosted catalogue of pretrained sketch-rnn models.

`load_model(name)` accepts, besides a path:

* a **bundled** model name, e.g. `"sheep"`: a folder of the package's `checkpoints/` (shipped in the
  wheel as `sketch_rnn_tf/checkpoints/`; in a source checkout, the repository's `checkpoints/`).
  The names are whatever folders hold a model; `list_models()["bundled"]` lists them;
* **`"magenta/<category>.gen"`** (decoder-only) or **`"magenta/<category>.vae"`** (conditional, z of
  128): one of the models Magenta trained on Quick, Draw! and hosts as magenta-js JSON (the
  sketch-rnn-js README, "Pre-trained models": `<base>/<category>.<gen|vae>.json`, about 114
  categories; `everything` exists only as `.gen`). The file is downloaded once, with a progress
  bar, into `$SKETCH_RNN_TF_HOME/magenta/` (default `~/.cache/sketch_rnn_tf`), and read from there
  offline afterwards. `$SKETCH_RNN_TF_MAGENTA_URL` replaces the base URL (a mirror, or a
  `file://` folder).

A download is checked before it enters the cache: the JSON must parse and its tensor shapes must
form the model its name promises (`magenta_js.read_js`); otherwise it is refused and never cached.
A path that exists on disk always wins over a name.

This module imports no TensorFlow.
"""

from __future__ import annotations

import difflib
import os
import re
from typing import Dict, List, Optional

from ..fetch import DownloadError, cache_home, fetch, join_url
from .format import ModelLoadError
from .package_dir import CONFIG_NAME

#: Environment variable that replaces `MAGENTA_BASE_URL`.
MAGENTA_URL_ENV = "SKETCH_RNN_TF_MAGENTA_URL"
#: Base URL of Magenta's pretrained models (sketch-rnn-js README, "Pre-trained models").
MAGENTA_BASE_URL = "https://storage.googleapis.com/quickdraw-models/sketchRNN/large_models"
#: The name prefix of Magenta's hosted models.
MAGENTA_PREFIX = "magenta/"
#: Categories of Magenta's hosted models, as listed in the sketch-rnn-js README. Some are trained on
#: several Quick, Draw! classes at once (e.g. `catpig`).
MAGENTA_CATEGORIES = (
    "alarm_clock",
    "ambulance",
    "angel",
    "ant",
    "antyoga",
    "backpack",
    "barn",
    "basket",
    "bear",
    "bee",
    "beeflower",
    "bicycle",
    "bird",
    "book",
    "brain",
    "bridge",
    "bulldozer",
    "bus",
    "butterfly",
    "cactus",
    "calendar",
    "castle",
    "cat",
    "catbus",
    "catpig",
    "chair",
    "couch",
    "crab",
    "crabchair",
    "crabrabbitfacepig",
    "cruise_ship",
    "diving_board",
    "dog",
    "dogbunny",
    "dolphin",
    "duck",
    "elephant",
    "elephantpig",
    "eye",
    "face",
    "fan",
    "fire_hydrant",
    "firetruck",
    "flamingo",
    "flower",
    "floweryoga",
    "frog",
    "frogsofa",
    "garden",
    "hand",
    "hedgeberry",
    "hedgehog",
    "helicopter",
    "kangaroo",
    "key",
    "lantern",
    "lighthouse",
    "lion",
    "lionsheep",
    "lobster",
    "map",
    "mermaid",
    "monapassport",
    "monkey",
    "mosquito",
    "octopus",
    "owl",
    "paintbrush",
    "palm_tree",
    "parrot",
    "passport",
    "peas",
    "penguin",
    "pig",
    "pigsheep",
    "pineapple",
    "pool",
    "postcard",
    "power_outlet",
    "rabbit",
    "rabbitturtle",
    "radio",
    "radioface",
    "rain",
    "rhinoceros",
    "rifle",
    "roller_coaster",
    "sandwich",
    "scorpion",
    "sea_turtle",
    "sheep",
    "skull",
    "snail",
    "snowflake",
    "speedboat",
    "spider",
    "squirrel",
    "steak",
    "stove",
    "strawberry",
    "swan",
    "swing_set",
    "the_mona_lisa",
    "tiger",
    "toothbrush",
    "toothpaste",
    "tractor",
    "trombone",
    "truck",
    "whale",
    "windmill",
    "yoga",
    "yogabicycle",
    "everything",
)
#: Categories hosted only as a decoder-only `.gen.json`.
MAGENTA_GEN_ONLY = frozenset({"everything"})
#: The two kinds of hosted file: decoder-only and conditional (VAE).
MAGENTA_KINDS = ("gen", "vae")

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_MAGENTA_NAME = re.compile(r"^magenta/([a-z0-9_]+)\.(gen|vae)(?:\.json)?$")


class ModelNameError(ModelLoadError):
    """A model name is neither a path nor a bundled or catalogue name."""


# --------------------------------------------------------------------------- bundled models
def bundled_dir() -> Optional[str]:
    """The folder of the bundled models, or None if there is none.

    `sketch_rnn_tf/checkpoints` in an installed wheel, the repository's `checkpoints/` in a source
    checkout (an editable install).
    """
    installed = os.path.join(_PACKAGE_DIR, "checkpoints")
    if os.path.isdir(installed):
        return installed
    repo = os.path.dirname(_PACKAGE_DIR)
    checkout = os.path.join(repo, "checkpoints")
    if os.path.isdir(checkout) and os.path.isfile(os.path.join(repo, "setup.py")):
        return checkout
    return None


def bundled_models() -> List[str]:
    """Names of the bundled models: the folders of `bundled_dir()` that hold a saved model."""
    directory = bundled_dir()
    if directory is None:
        return []
    return sorted(
        name
        for name in os.listdir(directory)
        if os.path.isfile(os.path.join(directory, name, CONFIG_NAME))
    )


# --------------------------------------------------------------------------- Magenta's catalogue
def magenta_base_url() -> str:
    """`$SKETCH_RNN_TF_MAGENTA_URL`, else Magenta's own base URL."""
    return os.environ.get(MAGENTA_URL_ENV) or MAGENTA_BASE_URL


def magenta_cache_dir() -> str:
    """Where downloaded catalogue models are kept: `<cache_home()>/magenta`."""
    return os.path.join(cache_home(), "magenta")


def magenta_models() -> List[str]:
    """Every catalogue name, `magenta/<category>.gen` and (where hosted) `.vae`."""
    return [
        f"{MAGENTA_PREFIX}{c}.{kind}"
        for c in MAGENTA_CATEGORIES
        for kind in MAGENTA_KINDS
        if not (kind == "vae" and c in MAGENTA_GEN_ONLY)
    ]


def cached_models() -> List[str]:
    """Catalogue names whose file is already in the cache (loadable offline)."""
    directory = magenta_cache_dir()
    if not os.path.isdir(directory):
        return []
    names = []
    for f in sorted(os.listdir(directory)):
        match = _MAGENTA_NAME.match(MAGENTA_PREFIX + f)
        if match and f.endswith(".json"):
            names.append(f"{MAGENTA_PREFIX}{match.group(1)}.{match.group(2)}")
    return names


def list_models() -> Dict[str, List[str]]:
    """The model names `load_model` accepts, by where they come from.

    Returns `{"bundled": [...], "cached": [...], "magenta": [...]}`: the models shipped with the
    package, the catalogue models already downloaded, and Magenta's whole hosted catalogue.
    """
    return {"bundled": bundled_models(), "cached": cached_models(), "magenta": magenta_models()}


def _parse_magenta(name: str):
    match = _MAGENTA_NAME.match(name)
    if not match:
        raise ModelNameError(
            f"{name!r}: a Magenta catalogue name is 'magenta/<category>.gen' (decoder-only) or "
            f"'magenta/<category>.vae' (conditional), e.g. 'magenta/cat.gen'"
        )
    category, kind = match.groups()
    if category not in MAGENTA_CATEGORIES:
        close = difflib.get_close_matches(category, MAGENTA_CATEGORIES, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ModelNameError(
            f"{name!r}: {category!r} is not in Magenta's catalogue{hint} "
            f"(`python -m sketch_rnn_tf models` lists all {len(MAGENTA_CATEGORIES)} categories)"
        )
    if kind == "vae" and category in MAGENTA_GEN_ONLY:
        raise ModelNameError(
            f"{name!r}: Magenta hosts {category!r} only as a decoder-only model; "
            f"use 'magenta/{category}.gen'"
        )
    return category, kind


def _validator(kind: str):
    def validate(path):
        from .magenta_js import read_js

        hparams, _, _ = read_js(path)
        if hparams.conditional != (kind == "vae"):
            got = "a conditional (.vae)" if hparams.conditional else "a decoder-only (.gen)"
            raise ValueError(f"it holds {got} model, not the .{kind} model its name promises")

    return validate


def fetch_magenta(name: str, progress: bool = True, force: bool = False) -> str:
    """Path of the cached file of catalogue model `name` (`magenta/<category>.<gen|vae>`).

    The file is downloaded and validated first if it is not cached (or if `force`).
    """
    category, kind = _parse_magenta(name)
    filename = f"{category}.{kind}.json"
    path = os.path.join(magenta_cache_dir(), filename)
    return fetch(
        join_url(magenta_base_url(), filename),
        path,
        validate=_validator(kind),
        progress=progress,
        force=force,
    )


# --------------------------------------------------------------------------- resolution
def resolve(path, progress: bool = True) -> str:
    """Turns a model name into a local path.

    A path that exists (or any other string) is returned unchanged, so `load_model` reports it as
    it always did.

    Raises `ModelNameError` for a malformed or unknown `magenta/...` name and `DownloadError` when a
    catalogue model cannot be fetched.
    """
    path = os.fspath(path)
    if os.path.exists(path) or os.path.exists(path + ".index"):  # a file, folder or TF1 prefix
        return path
    if path.startswith(MAGENTA_PREFIX):
        return fetch_magenta(path, progress=progress)
    directory = bundled_dir()
    if directory is not None and path in bundled_models():
        return os.path.join(directory, path)
    return path


def unknown_name_hint() -> str:
    """One sentence naming what else `load_model` accepts, for its 'no such file' error."""
    names = bundled_models()
    bundled = f"a bundled model ({', '.join(names)})" if names else "a bundled model name"
    return (
        f"it is neither a file nor {bundled} nor a Magenta catalogue name "
        f"'magenta/<category>.gen|vae' (python -m sketch_rnn_tf models lists them)"
    )


__all__ = [
    "DownloadError",
    "MAGENTA_CATEGORIES",
    "ModelNameError",
    "bundled_models",
    "cached_models",
    "fetch_magenta",
    "list_models",
    "magenta_models",
    "resolve",
]
