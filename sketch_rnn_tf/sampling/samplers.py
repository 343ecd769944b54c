"""Samplers: how a sketch is drawn from the decoder, as objects that carry their own settings.

As KerasHub's samplers (`keras_hub.samplers`), a sampler is made once, checks its settings then,
and is passed to whatever generates: `SketchRNN.sample`, `sampling.complete`, the latent tools, the
export client, the command line and the drawing page's API all take one.

* `TemperatureSampler(temperature, temperature_mode)`: each step draws from the decoder's
  predictive distribution tempered by τ (Eq. 8 of the paper; `model.mixture.StrokeDistribution.
  tempered`): π̂ → π̂/τ, q̂ → q̂/τ and σ → σ·τ (`"magenta"`, Magenta's `sample()`) or σ·√τ
  (`"paper"`, Eq. 8 and magenta-js).
* `GreedySampler()`: the most likely component's mean and the most likely pen state at every step
  (Magenta's `greedy_mode`).

Both take `max_len` (the most points a sketch may have; default the model's `max_seq_len`) and
`seed` (an int repeats a draw exactly; None draws a fresh seed at every call).

Every generating function also takes these settings as keywords (`temperature=`, `greedy=`,
`temperature_mode=`, `max_len=`, `seed=`): `get` maps them onto a sampler, the one place that does.

Example:
>>> from sketch_rnn_tf.sampling import samplers
>>> samplers.TemperatureSampler(0.25, seed=1)
TemperatureSampler(temperature=0.25, temperature_mode='magenta', max_len=None, seed=1)
>>> samplers.get(temperature=0.25, seed=1) == samplers.TemperatureSampler(0.25, seed=1)
True
>>> samplers.get("greedy")
GreedySampler(max_len=None, seed=None)
"""

from __future__ import annotations

import math
import numbers
from typing import Optional

import numpy as np

from ..model.mixture import TEMPERATURE_MODES
from ..model.preprocessor import ModelInputError

#: The temperature τ of every generating function, command and request that is not given one.
DEFAULT_TEMPERATURE = 0.5


class SamplerError(ModelInputError):
    """A sampler setting is invalid.

    Attributes:
      argument: the setting's name (e.g. "temperature"); the command line names its flag.
      requirement: what is wrong with it ("must be a positive number, got 0").
    """

    def __init__(self, argument: str, requirement: str):
        self.requirement = requirement
        super().__init__(f"{argument} {requirement}", where="sampler")
        self.argument = argument


# --------------------------------------------------------------------------- the checks
def check_temperature(value) -> float:
    """τ as a float: a finite number > 0, or `SamplerError`."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not (math.isfinite(value) and value > 0)
    ):
        raise SamplerError("temperature", f"must be a positive number, got {value!r}")
    return float(value)


def check_temperature_mode(value) -> str:
    if value not in TEMPERATURE_MODES:
        raise SamplerError("temperature_mode", f"must be one of {TEMPERATURE_MODES}, got {value!r}")
    return value


def check_max_len(value) -> Optional[int]:
    """None (the model's max_seq_len) or an integer >= 1, or `SamplerError`."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise SamplerError(
            "max_len", f"must be an integer >= 1 (the most points per sketch), got {value!r}"
        )
    return int(value)


def check_seed(value) -> Optional[int]:
    """None (a fresh seed at every call) or an integer in [0, 2**63), or `SamplerError`."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise SamplerError("seed", f"must be an integer >= 0 or None, got {value!r}")
    if value >= 2**63:
        raise SamplerError("seed", f"must be below 2**63, got {value!r}")
    return int(value)


def check_count(value, name="n") -> int:
    """A number of sketches: an integer >= 1, or `SamplerError` naming `name`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise SamplerError(name, f"must be an integer >= 1, got {value!r}")
    return int(value)


# --------------------------------------------------------------------------- the samplers
class Sampler:
    """Base class: settings every sampler has. Subclasses say how each step is drawn.

    Args:
      max_len: the most points a sketch may have, prefix included (None: the model's
        `max_seq_len`).
      seed: an int makes a call repeat exactly; None draws a fresh seed at every call.
    """

    #: The name `get` knows this sampler by.
    name = ""
    #: Whether the compiled loop takes the most likely row instead of a draw.
    greedy = False

    def __init__(self, max_len=None, seed=None):
        self.max_len = check_max_len(max_len)
        self.seed = check_seed(seed)

    @property
    def temperature(self) -> float:
        """τ of the draws (1: the model's own distribution)."""
        return 1.0

    @property
    def temperature_mode(self) -> str:
        return "magenta"

    def get_config(self) -> dict:
        return {"max_len": self.max_len, "seed": self.seed}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def replace(self, **changes) -> "Sampler":
        """A copy with some settings changed (checked as the constructor checks them)."""
        config = self.get_config()
        unknown = sorted(set(changes) - set(config))
        if unknown:
            raise SamplerError(
                unknown[0], f"is not a setting of {type(self).__name__} (it has {sorted(config)})"
            )
        config.update(changes)
        return type(self).from_config(config)

    def call_seed(self) -> int:
        """The seed of one call: `seed`, or a fresh one when it is None."""
        if self.seed is not None:
            return self.seed
        return int(np.random.SeedSequence().generate_state(1, np.uint64)[0]) % (2**63)

    def limit(self, max_seq_len: int) -> int:
        """The most points per sketch for a model of `max_seq_len`."""
        return int(max_seq_len) if self.max_len is None else self.max_len

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self):
        return hash((type(self).__name__, tuple(sorted(self.get_config().items()))))

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class TemperatureSampler(Sampler):
    """Draws each step from the predictive distribution tempered by τ (Eq. 8).

    Args:
      temperature: τ > 0; small τ draws the likeliest strokes, 1 the model's own distribution.
      temperature_mode: `"magenta"` (σ → σ·τ, Magenta's `sample()`, the default) or `"paper"`
        (σ → σ·√τ, Eq. 8 and magenta-js).
      max_len, seed: see `Sampler`.
    """

    name = "temperature"

    def __init__(
        self, temperature=DEFAULT_TEMPERATURE, temperature_mode="magenta", max_len=None, seed=None
    ):
        super().__init__(max_len, seed)
        self._temperature = check_temperature(temperature)
        self._temperature_mode = check_temperature_mode(temperature_mode)

    @property
    def temperature(self) -> float:
        return self._temperature

    @property
    def temperature_mode(self) -> str:
        return self._temperature_mode

    def get_config(self):
        return {
            "temperature": self.temperature,
            "temperature_mode": self.temperature_mode,
            **super().get_config(),
        }


class GreedySampler(Sampler):
    """The most likely component's mean and pen state at every step (Magenta's `greedy_mode`)."""

    name = "greedy"
    greedy = True


#: Samplers by name, for `get`.
SAMPLERS = {cls.name: cls for cls in (TemperatureSampler, GreedySampler)}


def get(identifier=None, **options) -> Sampler:
    """A sampler from what a caller gave: the one place keyword settings become a sampler.

    Args:
      identifier: a `Sampler` (kept; `options` change a copy of it), a name (`"temperature"`,
        `"greedy"`), a config dict (`{"class_name": ..., "config": {...}}`, as `serialize`
        writes), a number (a `TemperatureSampler` of that temperature: `model.sample(16, 0.5)`),
        or None.
      **options: `temperature`, `temperature_mode`, `greedy`, `max_len`, `seed`. `greedy=True`
        asks for a `GreedySampler` (a temperature given with it is ignored, as Magenta's
        `greedy_mode` ignores it).

    Raises:
      SamplerError: an unknown setting or name, or a setting's value (named in the message).
    """
    options = dict(options)
    greedy = options.pop("greedy", None)
    if greedy is not None and not isinstance(greedy, (bool, np.bool_)):
        raise SamplerError("greedy", f"must be True or False, got {greedy!r}")
    if isinstance(identifier, Sampler):
        if greedy and not identifier.greedy:
            identifier = GreedySampler(identifier.max_len, identifier.seed)
        return _replace(identifier, options)
    if isinstance(identifier, dict):
        identifier = deserialize(identifier)
        return _replace(identifier, options)
    if isinstance(identifier, numbers.Real) and not isinstance(identifier, bool):
        options["temperature"] = identifier
        identifier = None
    if identifier is None:
        identifier = "greedy" if greedy else "temperature"
    if not isinstance(identifier, str) or identifier not in SAMPLERS:
        raise SamplerError(
            "sampler",
            f"must be a Sampler, one of {sorted(SAMPLERS)} or a number, got {identifier!r}",
        )
    cls = SAMPLERS[identifier]
    if cls is GreedySampler:
        options.pop("temperature", None)
        options.pop("temperature_mode", None)
    return _build(cls, options)


def _replace(sampler, options):
    if sampler.greedy:
        options.pop("temperature", None)
        options.pop("temperature_mode", None)
    return sampler.replace(**options) if options else sampler


def _build(cls, options):
    known = set(cls().get_config())
    unknown = sorted(set(options) - known)
    if unknown:
        raise SamplerError(
            unknown[0], f"is not a setting of {cls.__name__} (it has {sorted(known)})"
        )
    return cls(**options)


def serialize(sampler: Sampler) -> dict:
    """`{"class_name": name, "config": {...}}` (JSON), which `get` / `deserialize` read back."""
    return {"class_name": sampler.name, "config": sampler.get_config()}


def deserialize(config: dict) -> Sampler:
    name = config.get("class_name")
    if name not in SAMPLERS:
        raise SamplerError("sampler", f"class_name must be one of {sorted(SAMPLERS)}, got {name!r}")
    return _build(SAMPLERS[name], dict(config.get("config") or {}))
