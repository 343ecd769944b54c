"""Completing unfinished sketches: prime the decoder with the given strokes, then sample the rest.

`complete(model, partial, n)` draws n endings of a partial stroke-3 sketch (or of each of several)
in one batched call of the model's sampler. Every returned sketch starts with the given strokes (the
same points, up to float32 rounding of offset / scale_factor × scale_factor) and goes on with the
model's continuation, up to the model's max_seq_len points in all.

For a conditional model the decoder also needs z: by default the encoder's mean μ of the partial
sketch itself (the model then "guesses" the whole sketch from the part it sees), or any given latent
vector (e.g. of another sketch, to finish this one in that sketch's style). A decoder-only model
needs none.

`truncate` cuts real sketches down to make partial ones.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..data.checks import check_stroke3
from ..model.preprocessor import ModelInputError, Sketches, is_svg
from . import decoding, samplers


def _is_single(partial) -> bool:
    """Whether `partial` is one sketch (an (m, 3) array, a list of rows, an SVG) or a list."""
    if is_svg(partial):
        return True
    if isinstance(partial, np.ndarray):
        return partial.dtype != object and partial.ndim != 3
    items = list(partial)
    try:
        return bool(items) and np.ndim(items[0]) == 1
    except ValueError:
        return False


def complete(model, partial_strokes, n=8, sampler=None, *, z=None, **options):
    """n endings of an unfinished sketch (or of each of several), drawn in one batch.

    Args:
      model: a `SketchRNN` (conditional or decoder-only).
      partial_strokes: one stroke-3 sketch in pixels (an (m, 3) array, pen column 1 = pen lifted
        after that point) or SVG drawing (a `.svg` path or SVG text, read by the model's front
        door), or a list of them; each must have fewer points than the sampler's
        `max_len` (default: the model's max_seq_len).
      n: endings per partial sketch.
      sampler: how the endings are drawn: a `samplers.Sampler`, a name or a number (a
        temperature); default a `TemperatureSampler` at `samplers.DEFAULT_TEMPERATURE`.
      z: conditional models only: a latent [z_size] for every sketch, or [k, z_size] (one per
        partial sketch). Default: the encoder mean μ of each partial sketch.
      **options: the sampler's settings as keywords (`temperature`, `temperature_mode`, `greedy`,
        `max_len`: total points of each result, prefix included; `seed`).

    Returns:
      A list of n stroke-3 sketches in pixels for one partial sketch, or a list (one per partial
      sketch) of such lists.

    Example:
    >>> import sketch_rnn_tf as srt
    >>> from sketch_rnn_tf.sampling import complete
    >>> model = srt.load_model("sheep")
    >>> body = model.sample(1, seed=3)[0][:10]          # the first 10 points of a sheep
    >>> endings = complete(model, body, n=3, temperature=0.3, seed=0)
    >>> len(endings), all(len(e) >= 10 for e in endings)
    (3, True)
    """
    sampler = samplers.get(sampler, **options)
    n = samplers.check_count(n)
    pre = model.preprocessor  # the model's numpy front door: one rule for sketches and z
    single = _is_single(partial_strokes)
    partials = pre.sketches(partial_strokes, what="partial sketch")
    limit = sampler.limit(model.hparams.max_seq_len)
    for i, p in enumerate(partials):
        if len(p) >= limit:
            whose = " (the model's max_seq_len)" if sampler.max_len is None else ""
            raise ModelInputError(
                f"has {len(p)} points: nothing is left to draw within max_len={limit}{whose}",
                where=f"partial sketch {i}",
            )
    k = len(partials)
    if model.conditional and z is None:
        zs = model.encode(partials)
    else:
        zs = pre.latents(k, z)  # refuses a z for a decoder-only model
    prefixes = Sketches([p for p in partials for _ in range(n)])
    out = decoding.decode(model, sampler, np.repeat(zs, n, axis=0), prefixes)
    groups = [out[i * n : (i + 1) * n] for i in range(k)]
    return groups[0] if single else groups


def truncate(strokes, fraction=None, num_strokes=None):
    """The first part of a stroke-3 sketch, to give to `complete`.

    Exactly one of:
      fraction: keep this share of the points (0 < fraction <= 1, at least one point);
      num_strokes: keep the first `num_strokes` pen-down strokes (up to and including the point
        after which the pen is lifted for the num_strokes-th time).
    Returns a copy.
    """
    s = check_stroke3(strokes, error=ModelInputError, where="truncate()")
    if (fraction is None) == (num_strokes is None):
        raise ModelInputError("give exactly one of fraction and num_strokes", where="truncate()")
    if fraction is not None:
        if not (isinstance(fraction, numbers.Real) and 0 < fraction <= 1):
            raise ModelInputError(
                f"fraction must be in (0, 1], got {fraction!r}", where="truncate()"
            )
        keep = max(1, int(round(len(s) * float(fraction))))
    else:
        if (
            isinstance(num_strokes, bool)
            or not isinstance(num_strokes, numbers.Integral)
            or num_strokes < 1
        ):
            raise ModelInputError(
                f"num_strokes must be an integer >= 1, got {num_strokes!r}", where="truncate()"
            )
        lifts = np.flatnonzero(s[:, 2] == 1)
        keep = len(s) if num_strokes > len(lifts) else int(lifts[num_strokes - 1]) + 1
    return s[:keep].copy()
