"""Tiny models for fast tests: one base config, which each test module overrides where it needs to.

`tiny_hparams` / `tiny_overrides` / `tiny_model` start from `BASE`; a module passes its own sizes,
cells, max_seq_len, scale factor at the call site. tests/conftest.py builds the `tiny_vae` and
`tiny_decoder_only` fixtures on `tiny_model` (their keywords from the `tiny_config` fixture, which
a module overrides).
"""

import numpy as np

from sketch_rnn_tf import HParams, SketchRNN

# The sizes most tiny test models share.
BASE = dict(enc_rnn_size=8, dec_rnn_size=16, z_size=4, num_mixture=3)


def tiny_hparams(**overrides) -> HParams:
    """`BASE` with `overrides` (any HParams field) over it."""
    return HParams(**{**BASE, **overrides})


def tiny_overrides(**overrides) -> str:
    """`tiny_hparams(**overrides)` as a Magenta-style override string, for `--hparams`.

    >>> tiny_overrides(batch_size=8, use_recurrent_dropout=False)
    'enc_rnn_size=8,dec_rnn_size=16,z_size=4,num_mixture=3,batch_size=8,use_recurrent_dropout=0'
    """
    return ",".join(f"{k}={_text(v)}" for k, v in {**BASE, **overrides}.items())


def _text(value):
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(map(str, value)) + "]"
    return str(value)


def tiny_model(conditional=True, scale_factor=1.0, seed=None, **overrides) -> SketchRNN:
    """A `SketchRNN` of `tiny_hparams(conditional=conditional, **overrides)`.

    Its weights are Keras' initialisers' (which depend on Keras' global seed when it is built), or,
    given `seed`, every Magenta variable drawn from N(0, 0.2²) by `np.random.default_rng(seed)`.
    """
    model = SketchRNN(tiny_hparams(conditional=conditional, **overrides), scale_factor=scale_factor)
    if seed is not None:
        rng = np.random.default_rng(seed)
        for v in model.magenta_variables().values():
            v.assign(rng.normal(0.0, 0.2, v.shape).astype(np.float32))
    return model
