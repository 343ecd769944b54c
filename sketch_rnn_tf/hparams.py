"""`HParams`: the single source of sketch-rnn's hyperparameters.

Names and defaults are Magenta's (`magenta/models/sketch_rnn/model.py: get_default_hparams`), so
that a Magenta `model_config.json` reads in unchanged. Magenta writes booleans as 0/1 in its 2017
release and as true/false in some user configs; both are accepted. Dropout probabilities are *keep*
probabilities, as in Magenta.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, ClassVar, List, Tuple

from .atomic import write_text
from .errors import SketchRNNError

CELL_TYPES = ("lstm", "layer_norm", "hyper")
#: Keys of Magenta's model_config.json that are read and dropped: `is_training` is in every Magenta
#: config, but whether a call trains is the `training` argument of the call here, not a setting.
IGNORED_KEYS = ("is_training",)


class HParamsError(SketchRNNError):
    """A hyperparameter value, file or override is invalid."""


@dataclasses.dataclass
class HParams:
    """Hyperparameters of sketch-rnn, with Magenta's names and defaults."""

    #: The hparams that fix the weights' shapes and meaning: a model's architecture. A fine-tuning
    #: run (`train --init_from`) takes them from its source model.
    ARCHITECTURE: ClassVar[Tuple[str, ...]] = (
        "enc_model",
        "dec_model",
        "enc_rnn_size",
        "dec_rnn_size",
        "z_size",
        "num_mixture",
        "conditional",
        "hyper_num_units",
        "hyper_embedding_size",
    )

    data_set: List[str] = dataclasses.field(default_factory=lambda: ["aaron_sheep.npz"])
    num_steps: int = 10000000
    save_every: int = 500
    max_seq_len: int = 250
    dec_rnn_size: int = 512
    dec_model: str = "lstm"
    enc_rnn_size: int = 256
    enc_model: str = "lstm"
    z_size: int = 128
    kl_weight: float = 0.5
    kl_weight_start: float = 0.01
    kl_tolerance: float = 0.2
    batch_size: int = 100
    grad_clip: float = 1.0
    num_mixture: int = 20
    learning_rate: float = 0.001
    decay_rate: float = 0.9999
    kl_decay_rate: float = 0.99995
    min_learning_rate: float = 0.00001
    use_recurrent_dropout: bool = True
    recurrent_dropout_prob: float = 0.90
    use_input_dropout: bool = False
    input_dropout_prob: float = 0.90
    use_output_dropout: bool = False
    output_dropout_prob: float = 0.90
    random_scale_factor: float = 0.15
    augment_stroke_prob: float = 0.10
    conditional: bool = True
    # HyperLSTM sizes. Magenta never passes these, so its checkpoints always use 256 and 32.
    hyper_num_units: int = 256
    hyper_embedding_size: int = 32

    def __post_init__(self):
        for field in dataclasses.fields(self):
            setattr(self, field.name, _cast(field, getattr(self, field.name)))
        self.validate()

    # ------------------------------------------------------------------ checks
    def validate(self) -> "HParams":
        for name in ("enc_model", "dec_model"):
            if getattr(self, name) not in CELL_TYPES:
                raise HParamsError(
                    f"{name}={getattr(self, name)!r} is not a cell type; use one of {CELL_TYPES}"
                )
        for name in (
            "max_seq_len",
            "dec_rnn_size",
            "enc_rnn_size",
            "z_size",
            "batch_size",
            "num_mixture",
            "hyper_num_units",
            "hyper_embedding_size",
        ):
            if getattr(self, name) < 1:
                raise HParamsError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("recurrent_dropout_prob", "input_dropout_prob", "output_dropout_prob"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                raise HParamsError(f"{name} is a keep probability in (0, 1], got {value}")
        if self.grad_clip <= 0:
            raise HParamsError(f"grad_clip must be > 0, got {self.grad_clip}")
        return self

    # ------------------------------------------------------------- conversions
    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def replace(self, **changes) -> "HParams":
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise HParamsError(f"unknown hparams: {sorted(unknown)}")
        return dataclasses.replace(self, **changes)

    def to_json(self, path: str | None = None) -> str:
        """The config as Magenta's `model_config.json` (dict, indent 1), also written to `path`."""
        text = json.dumps(self.to_dict(), indent=1)
        if path is not None:
            write_text(path, text, error=HParamsError, what="hparams")
        return text

    @classmethod
    def from_dict(cls, values: dict, strict: bool = True) -> "HParams":
        """HParams from a dict of values; Magenta's `is_training` (`IGNORED_KEYS`) is dropped."""
        values = {k: v for k, v in values.items() if k not in IGNORED_KEYS}
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown and strict:
            raise HParamsError(f"unknown hparams: {unknown}; known: {sorted(known)}")
        return cls(**{k: v for k, v in values.items() if k in known})

    @classmethod
    def from_json(cls, path: str) -> "HParams":
        """Reads Magenta's `model_config.json` (0/1 or true/false booleans) or one of `to_json`."""
        try:
            with open(path, encoding="utf-8") as f:
                values = json.load(f)
        except FileNotFoundError:
            raise HParamsError(f"{path}: no such config file") from None
        except json.JSONDecodeError as e:
            raise HParamsError(f"{path}: not valid JSON ({e})") from None
        if isinstance(values, list):
            # Magenta since 2020-03 writes `list(model_params.values())`, the hparam *names* only.
            raise HParamsError(
                f"{path}: holds a list, not a dict of hparams: this is the broken "
                "model_config.json that Magenta's trainer writes since 2020; write the dict of the "
                "values it was "
                "trained with (see HParams().to_json())"
            )
        if not isinstance(values, dict):
            raise HParamsError(
                f"{path}: expected a JSON object of hparams, got {type(values).__name__}"
            )
        try:
            return cls.from_dict(values)
        except HParamsError as e:
            raise HParamsError(f"{path}: {e}") from None

    @staticmethod
    def override_names(overrides: str) -> List[str]:
        """The hparam names an override string "k=v,k2=v2" sets (in order)."""
        return [item.split("=", 1)[0].strip() for item in _split_overrides(overrides or "")]

    def parse(self, overrides: str) -> "HParams":
        """Applies Magenta-style overrides "k=v,k2=v2" (lists as "data_set=[a.npz,b.npz]")."""
        if not overrides:
            return self
        changes = {}
        for item in _split_overrides(overrides):
            if "=" not in item:
                raise HParamsError(f"hparam override {item!r} is not of the form name=value")
            key, value = (s.strip() for s in item.split("=", 1))
            if key in IGNORED_KEYS:
                continue
            fields = {f.name: f for f in dataclasses.fields(self)}
            if key not in fields:
                raise HParamsError(f"unknown hparam {key!r}; known: {sorted(fields)}")
            changes[key] = _parse_value(fields[key], value)
        return self.replace(**changes)

    # ----------------------------------------------------------- derived sizes
    @property
    def num_outputs(self) -> int:
        """Decoder output width 6M + 3 (Eq. 6 of the paper: pen logits + M mixture components)."""
        return 6 * self.num_mixture + 3

    @property
    def latent_size(self) -> int:
        """The width of z the decoder reads: `z_size` (N_z) for a conditional model, else 0."""
        return self.z_size if self.conditional else 0

    @property
    def decoder_input_size(self) -> int:
        """The width of the decoder's input x_i = [S_{i−1}; z] (Eq. 5): 5 + `latent_size`."""
        return 5 + self.latent_size


def _split_overrides(text):
    items, depth, current = [], 0, ""
    for ch in text:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += ch
    if current.strip():
        items.append(current)
    return [i for i in items if i.strip()]


def _parse_value(field, value: str):
    if field.name == "data_set":
        value = value.strip("[]")
        return [v.strip().strip("'\"") for v in value.split(",") if v.strip()]
    if field.type in ("bool", bool):
        low = value.lower()
        if low in ("1", "true"):
            return True
        if low in ("0", "false"):
            return False
        raise HParamsError(f"hparam {field.name} is a boolean (0/1/true/false), got {value!r}")
    return value


def _cast(field, value: Any):
    kind = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", "")
    name = field.name
    try:
        if kind in ("bool",):
            if isinstance(value, str):
                return _parse_value(field, value)
            if value in (0, 1, True, False):
                return bool(value)
            raise HParamsError(f"hparam {name} is a boolean (0/1/true/false), got {value!r}")
        if kind == "int":
            if isinstance(value, bool):
                raise HParamsError(f"hparam {name} is an integer, got {value!r}")
            if isinstance(value, float) and not value.is_integer():
                raise HParamsError(f"hparam {name} is an integer, got {value!r}")
            return int(value)
        if kind == "float":
            if isinstance(value, bool):
                raise HParamsError(f"hparam {name} is a number, got {value!r}")
            return float(value)
        if kind == "str":
            if not isinstance(value, str):
                raise HParamsError(f"hparam {name} is a string, got {value!r}")
            return value
        if name == "data_set":
            if isinstance(value, str):
                return [value]
            return [str(v) for v in value]
    except (TypeError, ValueError) as e:
        if isinstance(e, HParamsError):
            raise
        raise HParamsError(f"hparam {name} cannot be read from {value!r}: {e}") from None
    return value
