"""Training-time data augmentation (paper section 4, Magenta's `utils.py`).

Paper: "During training, we perform simple data augmentation by multiplying
the offset columns (dx, dy) by two IID random factors chosen uniformly
between 0.90 and 1.10" (`random_scale` with `random_scale_factor`
0.10; Magenta's default is 0.15).  Magenta also randomly drops points inside
lines (`augment_strokes`, hparam `augment_stroke_prob`).

Both functions take an explicit `numpy.random.Generator` so a batch is a
pure function of its seed.  They draw random numbers in the same order as
Magenta (two uniforms for x then y; one uniform per point, dropped or not).
"""

from __future__ import annotations

import numpy as np


def random_scale(
    data: np.ndarray, random_scale_factor: float, rng: np.random.Generator
) -> np.ndarray:
    """Returns a copy with `dx` and `dy` scaled by independent factors in [1-f, 1+f).

    Each factor is `(u - 0.5) * 2 * random_scale_factor + 1` with
    `u ~ U[0, 1)`; x is drawn first, then y.  Two numbers are drawn even when
    `random_scale_factor` is 0 (as in Magenta).
    """
    x_factor = (rng.random() - 0.5) * 2 * random_scale_factor + 1.0
    y_factor = (rng.random() - 0.5) * 2 * random_scale_factor + 1.0
    result = np.array(data, copy=True)
    result[:, 0] *= x_factor
    result[:, 1] *= y_factor
    return result


def augment_strokes(strokes: np.ndarray, prob: float, rng: np.random.Generator) -> np.ndarray:
    """Randomly drops points inside lines, merging each dropped offset into the previous kept point.

    Magenta's `augment_strokes`: walking the points in order, a counter is
    reset to 0 when the current point or the previous *kept* point has
    `pen == 1` and is incremented otherwise.  A point is dropped (with
    probability `prob`) only if it and the previous kept point have
    `pen == 0` and the counter is above 2.  Its `dx, dy` are added to the
    previous kept point, so the absolute positions of all kept points, and
    the total displacement, are unchanged.  Line end points (`pen == 1`)
    and the first points of each line are never dropped.  One uniform number
    is drawn per point.  Returns a new array of the input dtype.
    """
    out = np.array(strokes, copy=True)
    n = len(out)
    if n == 0:
        return out
    urnd = rng.random(n)
    pens = out[:, 2].tolist()
    keep = np.ones(n, dtype=bool)
    prev_pen = 1  # Magenta starts with prev_stroke = [0, 0, 1].
    last_kept = -1
    count = 0
    for i in range(n):
        pen = pens[i]
        if pen == 1 or prev_pen == 1:
            count = 0
        else:
            count += 1
        if pen == 0 and prev_pen == 0 and count > 2 and urnd[i] < prob:
            # Same arithmetic (and dtype) as Magenta's in-place "stroke[0] += candidate[0]".
            out[last_kept, 0] += out[i, 0]
            out[last_kept, 1] += out[i, 1]
            keep[i] = False
        else:
            prev_pen = pen
            last_kept = i
    return out[keep]
