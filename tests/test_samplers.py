"""Samplers (`sampling.samplers`): settings checked once, where a sampler is made.

One mapping of keyword settings onto a sampler, and every generating function taking one.
"""

import json
import math

import numpy as np
import pytest

from sketch_rnn_tf.model.preprocessor import ModelInputError
from sketch_rnn_tf.sampling import complete, samplers
from sketch_rnn_tf.sampling.samplers import (
    DEFAULT_TEMPERATURE,
    GreedySampler,
    SamplerError,
    TemperatureSampler,
)

BAD = [
    ({"max_len": 0}, "max_len", "must be an integer >= 1"),
    ({"max_len": -4}, "max_len", "must be an integer >= 1"),
    ({"max_len": 2.5}, "max_len", "must be an integer >= 1"),
    ({"max_len": True}, "max_len", "must be an integer >= 1"),
    ({"temperature": 0.0}, "temperature", "must be a positive number"),
    ({"temperature": -1}, "temperature", "must be a positive number"),
    ({"temperature": float("nan")}, "temperature", "must be a positive number"),
    ({"temperature": math.inf}, "temperature", "must be a positive number"),
    ({"temperature": "hot"}, "temperature", "must be a positive number"),
    ({"temperature": None}, "temperature", "must be a positive number"),
    ({"temperature_mode": "bogus"}, "temperature_mode", "must be one of"),
    ({"seed": 1.5}, "seed", "must be an integer >= 0"),
    ({"seed": -1}, "seed", "must be an integer >= 0"),
    ({"seed": 2**63}, "seed", "below 2\\*\\*63"),
    ({"seed": "1"}, "seed", "must be an integer >= 0"),
    ({"greedy": "yes"}, "greedy", "must be True or False"),
    ({"top_k": 3}, "top_k", "is not a setting"),
]


@pytest.mark.parametrize("settings, argument, words", BAD)
def test_bad_settings_are_refused_where_the_sampler_is_made(settings, argument, words):
    with pytest.raises(SamplerError, match=words) as e:
        samplers.get(**settings)
    assert e.value.argument == argument
    assert isinstance(e.value, ModelInputError)  # a SketchRNNError, hence a ValueError


def test_one_default_and_the_keyword_mapping():
    assert samplers.get() == TemperatureSampler(DEFAULT_TEMPERATURE)
    assert samplers.get(0.3) == samplers.get(temperature=0.3) == TemperatureSampler(0.3)
    assert samplers.get(greedy=True, temperature=0.0, seed=4) == GreedySampler(seed=4)
    assert samplers.get("greedy", max_len=9) == GreedySampler(max_len=9)
    base = TemperatureSampler(0.2, "paper", seed=1)
    assert samplers.get(base) is base
    assert samplers.get(base, seed=2) == TemperatureSampler(0.2, "paper", seed=2)
    assert samplers.get(base, greedy=True) == GreedySampler(seed=1)
    with pytest.raises(SamplerError, match="sampler must be"):
        samplers.get("top_p")


def test_config_round_trip():
    for s in (TemperatureSampler(0.7, "paper", 30, 5), GreedySampler(12, None)):
        config = json.loads(json.dumps(samplers.serialize(s)))
        assert samplers.get(config) == s == type(s).from_config(s.get_config())
        assert repr(s).startswith(type(s).__name__)


def test_call_seed():
    assert TemperatureSampler(seed=7).call_seed() == 7
    drawn = {TemperatureSampler().call_seed() for _ in range(5)}
    assert len(drawn) > 1 and all(0 <= d < 2**63 for d in drawn)


@pytest.fixture(scope="module")
def tiny_config():
    return dict(max_seq_len=20, scale_factor=5.0)


def test_a_sampler_object_and_its_keywords_draw_the_same(tiny_decoder_only):
    a = tiny_decoder_only.sample(3, TemperatureSampler(0.4, max_len=12, seed=3))
    b = tiny_decoder_only.sample(3, temperature=0.4, max_len=12, seed=3)
    c = tiny_decoder_only.sample(3, 0.4, max_len=12, seed=3)
    for x, y, w in zip(a, b, c):
        np.testing.assert_array_equal(x, y)
        np.testing.assert_array_equal(x, w)
        assert len(x) <= 12
    g = tiny_decoder_only.sample(2, GreedySampler(seed=1))
    np.testing.assert_array_equal(g[0], g[1])  # greedy rows do not depend on the draw
    prefix = np.array([[2.0, 1.0, 0.0], [1.0, 0.0, 1.0]], np.float32)
    ends = complete(tiny_decoder_only, prefix, n=2, sampler=TemperatureSampler(0.4, seed=3))
    assert ends[0].shape[1] == 3 and np.allclose(ends[0][:2], prefix, atol=1e-5)


def test_generating_functions_refuse_bad_settings(tiny_decoder_only):
    for call in (
        lambda: tiny_decoder_only.sample(2, temperature=-1),
        lambda: tiny_decoder_only.sample(0),
        lambda: complete(tiny_decoder_only, np.ones((2, 3), np.float32), n=2, max_len=0),
    ):
        with pytest.raises(SamplerError):
            call()
