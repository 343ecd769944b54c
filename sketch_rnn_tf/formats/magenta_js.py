"""magenta-js / sketch-rnn-js model files (`.gen.json`, legacy `.vae.json`).

A file is a JSON list `[info, shapes, weights]`:

* `info`: a dict with at least `max_seq_len` and `scale_factor` (pixels per model unit); also
  `name`, `mode` (2 or "gen" = decoder-only, 0/1 = VAE) and `version` (6 for current files).
* `shapes`: one `[d0, d1, ...]` list per tensor.
* `weights`: one base64 string per tensor: the little-endian int16 quantisation `q` of the weight,
  row-major; the weight is `w = q / 32767 * 10` (so |w| <= 10, step 10/32767).

Tensor order is Magenta's trainable-variable order (`SketchRNN.magenta_variables()`):

* decoder-only (`.gen.json`, 5 tensors): `RNN/output_w`, `RNN/output_b`, `RNN/LSTMCell/{W_xh, W_hh,
  bias}`;
* VAE (`.vae.json`, 17 tensors): encoder fw `LSTMCell/{W_xh, W_hh, bias}`, encoder bw (same),
  `ENC_RNN_mu/super_linear_{w,b}`, `ENC_RNN_sigma/super_linear_{w,b}`, `linear/super_linear_{w,b}`
  (z -> initial decoder state [c, h]), `RNN/output_{w,b}`, decoder
  `RNN/LSTMCell/{W_xh, W_hh, bias}`.

The format stores no cell type: it only describes plain LSTM cells (`lstm`). `write_js` also stores
this package's full `HParams` under `info["hparams"]` (the JS readers ignore unknown info keys), so
a round trip gives back the same hparams; files without it get hparams inferred from the shapes.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import warnings
from typing import Dict, List, Tuple

import numpy as np

from ..atomic import write_text
from ..errors import SketchRNNError
from ..hparams import HParams, HParamsError
from ..model.layout import model_layout
from .format import Location, ModelLoadError

NAME = "magenta_js"
#: File name suffixes of the format: decoder-only (`@magenta/sketch`) and legacy VAE files.
SUFFIXES = (".gen.json", ".vae.json")

#: Largest |w| the int16 quantisation represents; the step is QUANT_RANGE / QUANT_MAX.
QUANT_RANGE = 10.0
QUANT_MAX = 32767
#: The format version written (and the one where z is *not* passed through tanh first).
JS_VERSION = 6

_GEN_COUNT = 5
_VAE_COUNT = 17


class JSFormatError(ModelLoadError):
    """A magenta-js model file is unreadable, malformed, or describes an unsupported model."""


class JSExportError(SketchRNNError):
    """A model cannot be written in the magenta-js format (e.g. it has non-LSTM cells)."""


# --------------------------------------------------------------------------- the format
def detect(path):
    """A `Location` for any file (the registry asks this format last).

    `load` says clearly when the file is not a magenta-js model after all.
    """
    if os.path.isfile(path):
        return Location(NAME, path, os.path.dirname(os.path.abspath(path)))
    return None


def load(location: Location, data_dir=None, scale_factor=None):
    """The `SketchRNN` of a magenta-js file (its `info.scale_factor` is the model's)."""
    from ..model.sketch_rnn import SketchRNN

    path = location.path
    try:
        hparams, stored_scale, tensors = read_js(path)
    except JSFormatError as e:
        if path.endswith(".json"):
            raise
        raise JSFormatError(
            f"{path}: not a model file this package reads (a magenta-js .gen.json/.vae.json, a "
            f"Magenta checkpoint directory, a save_model directory or a .keras file): {e}"
        ) from None
    model = SketchRNN(hparams, scale_factor=stored_scale)
    variables = model.magenta_variables()
    if list(variables) != list(tensors):
        raise JSFormatError(
            f"{path}: tensors {list(tensors)} do not match the model's {list(variables)}"
        )
    for name, v in variables.items():
        if tuple(v.shape) != tensors[name].shape:
            raise JSFormatError(
                f"{path}: {name} has shape {list(tensors[name].shape)}, the model "
                f"needs {list(v.shape)}"
            )
        v.assign(tensors[name])
    return model


# --------------------------------------------------------------------------- names & shapes
def expected_tensors(hparams: HParams) -> List[Tuple[str, Tuple[int, ...]]]:
    """[(Magenta name, shape)] of the tensors of a JS file for an all-LSTM model, in file order.

    The file order is Magenta's creation order: the package's weight layout
    (`model.layout.model_layout`).
    """
    return list(model_layout(hparams).items())


# --------------------------------------------------------------------------- quantisation
def quantize(w: np.ndarray) -> np.ndarray:
    """w -> int16 round(clip(w / 10, -1, 1) * 32767)."""
    w = np.asarray(w, dtype=np.float64)
    return np.round(np.clip(w / QUANT_RANGE, -1.0, 1.0) * QUANT_MAX).astype("<i2")


def dequantize(q: np.ndarray) -> np.ndarray:
    """int16 q -> float32 q / 32767 * 10."""
    return (np.asarray(q, dtype=np.float64) / QUANT_MAX * QUANT_RANGE).astype(np.float32)


def _decode_tensor(text, shape, index, where) -> np.ndarray:
    if not isinstance(text, str):
        raise JSFormatError(
            f"{where}: weights[{index}] is a {type(text).__name__}, expected a base64 string"
        )
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        raise JSFormatError(f"{where}: weights[{index}] is not valid base64 ({e})") from None
    size = int(np.prod(shape)) if shape else 1
    if len(raw) != 2 * size:
        raise JSFormatError(
            f"{where}: weights[{index}] decodes to {len(raw)} bytes ({len(raw) / 2:g} int16 "
            f"values) but shapes[{index}] = {list(shape)} needs {size} values ({2 * size} bytes)"
        )
    q = np.frombuffer(raw, dtype="<i2").reshape(shape)
    return dequantize(q)


# --------------------------------------------------------------------------- reading
def _load_json(path: str):
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise JSFormatError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise JSFormatError(f"{path}: is a directory, not a magenta-js .json file") from None
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise JSFormatError(
            f"{path}: not valid JSON ({e}); a magenta-js model file is a JSON list "
            "[info, shapes, weights]"
        ) from None


def _positive(info, key, kind, where):
    if key not in info:
        raise JSFormatError(f"{where}: info has no {key!r} (it has {sorted(info)})")
    value = info[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise JSFormatError(f"{where}: info[{key!r}] = {value!r} is not a number")
    if kind is int:
        if float(value) != int(value):
            raise JSFormatError(f"{where}: info[{key!r}] = {value!r} is not an integer")
        value = int(value)
    value = kind(value)
    if not np.isfinite(value) or value <= 0:
        raise JSFormatError(f"{where}: info[{key!r}] = {value!r} must be positive")
    return value


def _infer_hparams(shapes: List[Tuple[int, ...]], conditional: bool, where: str) -> dict:
    def dim(i, j):
        if len(shapes[i]) <= j:
            raise JSFormatError(f"{where}: shapes[{i}] = {list(shapes[i])} has too few dimensions")
        return shapes[i][j]

    if conditional:
        enc = dim(0, 1) // 4
        z_size = dim(6, 1)
        off = 12
    else:
        enc, z_size, off = None, None, 0
    dec = dim(off, 0)
    n_out = dim(off, 1)
    if (n_out - 3) % 6 or n_out <= 3:
        raise JSFormatError(f"{where}: output layer width {n_out} is not 6*num_mixture + 3")
    values = {
        "dec_rnn_size": dec,
        "num_mixture": (n_out - 3) // 6,
        "conditional": conditional,
        "dec_model": "lstm",
    }
    if conditional:
        values.update(enc_rnn_size=enc, z_size=z_size, enc_model="lstm")
    return values


def read_js(path) -> Tuple[HParams, float, Dict[str, np.ndarray]]:
    """Reads a magenta-js `.gen.json` (decoder-only LSTM) or legacy `.vae.json` (conditional LSTM).

    Returns `(hparams, scale_factor, {Magenta TF1 name: float32 array})`, the weights in Magenta's
    trainable order. The hparams are inferred from the shapes (cell sizes, num_mixture, z_size,
    conditional from the tensor count, `lstm` cells) and `info["max_seq_len"]`; other values are
    Magenta's defaults (or `info["hparams"]` when the file was written by `write_js`). Raises
    `JSFormatError` for anything it cannot read exactly.
    """
    path = os.fspath(path)
    where = path
    doc = _load_json(path)
    if not isinstance(doc, list) or len(doc) != 3:
        got = f"a list of {len(doc)} items" if isinstance(doc, list) else f"a {type(doc).__name__}"
        raise JSFormatError(f"{where}: expected a JSON list [info, shapes, weights], got {got}")
    info, shapes_raw, weights = doc
    if not isinstance(info, dict):
        raise JSFormatError(f"{where}: item 0 (info) must be an object, got {type(info).__name__}")
    if not isinstance(shapes_raw, list) or not isinstance(weights, list):
        raise JSFormatError(f"{where}: items 1 (shapes) and 2 (weights) must be lists")
    if len(shapes_raw) != len(weights):
        raise JSFormatError(f"{where}: {len(shapes_raw)} shapes but {len(weights)} weight tensors")
    shapes = []
    for i, s in enumerate(shapes_raw):
        if (
            not isinstance(s, list)
            or not s
            or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in s)
        ):
            raise JSFormatError(f"{where}: shapes[{i}] = {s!r} is not a list of positive integers")
        shapes.append(tuple(s))

    count = len(shapes)
    if count == _GEN_COUNT:
        conditional = False
    elif count == _VAE_COUNT:
        conditional = True
    else:
        raise JSFormatError(
            f"{where}: {count} tensors; the magenta-js format holds {_GEN_COUNT} (decoder-only "
            f"LSTM, .gen.json) or {_VAE_COUNT} (conditional LSTM VAE, .vae.json). Other cell types "
            "(layer_norm, hyper) are not supported by this format"
        )
    mode = info.get("mode")
    if mode is not None:
        is_gen_mode = mode in (2, "2", "gen")
        if is_gen_mode == conditional:
            raise JSFormatError(
                f"{where}: info mode {mode!r} says {'decoder-only' if is_gen_mode else 'VAE'} but "
                f"the file holds {count} tensors ({'VAE' if conditional else 'decoder-only'})"
            )
    version = info.get("version")
    if conditional and isinstance(version, (int, float)) and version < JS_VERSION:
        raise JSFormatError(
            f"{where}: VAE file of version {version}: versions before {JS_VERSION} pass z through "
            "tanh before the decoder, which Magenta's model (and this package) does not do"
        )

    max_seq_len = _positive(info, "max_seq_len", int, where)
    scale_factor = _positive(info, "scale_factor", float, where)

    inferred = _infer_hparams(shapes, conditional, where)
    inferred["max_seq_len"] = max_seq_len
    try:
        if isinstance(info.get("hparams"), dict):
            stored = HParams.from_dict(info["hparams"], strict=False)
            clash = {
                k: (getattr(stored, k), v) for k, v in inferred.items() if getattr(stored, k) != v
            }
            if clash:
                raise JSFormatError(
                    f"{where}: info['hparams'] disagrees with the tensors: "
                    + ", ".join(f"{k} {a!r} vs {b!r}" for k, (a, b) in sorted(clash.items()))
                )
            hparams = stored
        else:
            name = info.get("name")
            extra = {"data_set": [f"{name}.npz"]} if isinstance(name, str) and name else {}
            hparams = HParams(**extra, **inferred)
    except HParamsError as e:
        raise JSFormatError(f"{where}: inferred hyperparameters are invalid ({e})") from None

    expected = expected_tensors(hparams)
    wrong = [
        f"tensor {i} ({name}): file {list(s)} vs {list(e)}"
        for i, ((name, e), s) in enumerate(zip(expected, shapes))
        if tuple(e) != s
    ]
    if wrong:
        raise JSFormatError(
            f"{where}: the tensor shapes do not form a consistent "
            f"{'VAE' if conditional else 'decoder-only'} LSTM model: " + "; ".join(wrong[:5])
        )
    tensors = {
        name: _decode_tensor(text, shape, i, where)
        for i, ((name, shape), text) in enumerate(zip(expected, weights))
    }
    return hparams, scale_factor, tensors


# --------------------------------------------------------------------------- writing
def write_js(
    model, path, name: str = "sketch_rnn", mode=None, extra_info: dict | None = None
) -> str:
    """Writes a `SketchRNN` as a magenta-js model file; returns `path`.

    A decoder-only LSTM model becomes a `.gen.json`-style file (mode 2, loadable by magenta-js
    `@magenta/sketch`), a conditional LSTM model a legacy sketch-rnn-js `.vae.json` file (mode 0 by
    default). Weights are quantised to int16 as round(clip(w/10, -1, 1)*32767): the error is at most
    half a step (5/32767) for |w| <= 10 and a warning names any weight beyond that range. `info`
    holds name, mode, version 6, max_seq_len, scale_factor, this package's hparams and `extra_info`
    (e.g. the `r_loss`, `kl_loss`, `training_size` fields sketch-rnn-js shows).
    """
    hp = model.hparams
    bad = [f"dec_model={hp.dec_model!r}"] if hp.dec_model != "lstm" else []
    if hp.conditional and hp.enc_model != "lstm":
        bad.append(f"enc_model={hp.enc_model!r}")
    if bad:
        raise JSExportError(
            f"the magenta-js format only describes plain LSTM cells; this model has "
            f"{', '.join(bad)}. Export it as a TF1 checkpoint "
            "(sketch_rnn_tf.formats.magenta_tf1.save_weights) instead"
        )
    variables = model.magenta_variables()
    expected = expected_tensors(hp)
    names = [n for n, _ in expected]
    if list(variables) != names:
        raise JSExportError(f"model variables {list(variables)} do not match the JS layout {names}")
    if mode is None:
        mode = 0 if hp.conditional else 2
    elif (mode in (2, "gen")) == hp.conditional:
        kind = "conditional" if hp.conditional else "decoder-only"
        raise JSExportError(f"mode {mode!r} does not fit a {kind} model")

    shapes, blobs, clipped = [], [], []
    for n, shape in expected:
        w = np.asarray(variables[n].numpy(), dtype=np.float32)
        if tuple(w.shape) != shape:
            raise JSExportError(f"{n} has shape {list(w.shape)}, expected {list(shape)}")
        if not np.all(np.isfinite(w)):
            raise JSExportError(f"{n} holds NaN or inf; cannot export")
        over = int(np.sum(np.abs(w) > QUANT_RANGE))
        if over:
            clipped.append(f"{n} ({over} values)")
        shapes.append(list(shape))
        blobs.append(base64.b64encode(quantize(w).tobytes()).decode("ascii"))
    if clipped:
        warnings.warn(
            f"weights beyond +-{QUANT_RANGE:g} are clipped by the magenta-js format: "
            + ", ".join(clipped),
            stacklevel=2,
        )

    info = {
        "name": name,
        "mode": mode,
        "version": JS_VERSION,
        "max_seq_len": int(hp.max_seq_len),
        "scale_factor": float(model.scale_factor),
    }
    info.update(extra_info or {})
    info["hparams"] = hp.to_dict()
    text = json.dumps([info, shapes, blobs], separators=(",", ":"))
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    return write_text(path, text, error=JSExportError, what="magenta-js model")
