"""Stateless seeds for every random draw of the model: z (Eq. 2's ε) and all dropout masks.

A seed is a [2] int64 tensor, as `tf.random.stateless_*` ops take; `fold_seed(seed, k)` derives the
seed of sub-stream `k` (encoder, decoder, each dropout), so one seed per training step fixes every
draw of that step. `RowSeed` makes a replica of a distributed step draw exactly the noise that its
rows would get in a one-device step, and `stateless_draw` draws for either kind of seed. The
encoder, the decoder, the cells and the trainer all use them.
"""

from __future__ import annotations

from typing import NamedTuple

import tensorflow as tf


class RowSeed(NamedTuple):
    """A stateless seed whose draws are made for `total` batch rows and sliced at `offset`.

    A replica of a distributed step holds rows [offset, offset + b) of a global batch of `total`
    rows; drawing the global batch's noise and keeping its rows gives every example the noise it
    would get in a one-device step on the same global batch.
    """

    seed: tf.Tensor  # [2] int64
    offset: tf.Tensor  # first row of this replica in the global batch (int32)
    total: tf.Tensor  # rows of the global batch (int32)

    @classmethod
    def make(cls, seed, offset, total) -> "RowSeed":
        """A RowSeed of tensors (Keras layers refuse a call argument mixing tensors and ints)."""
        return cls(
            tf.convert_to_tensor(seed, tf.int64),
            tf.cast(offset, tf.int32),
            tf.cast(total, tf.int32),
        )


def fold_seed(seed, k):
    """A new stateless seed for sub-stream `k` (a python int or an int tensor); None stays None."""
    if seed is None:
        return None
    if isinstance(seed, RowSeed):
        return RowSeed(fold_seed(seed.seed, k), seed.offset, seed.total)
    return tf.random.experimental.stateless_fold_in(seed, tf.cast(k, tf.int32))


def stateless_draw(fn, shape, seed):
    """`fn(shape, seed=...)` (a tf.random.stateless_* op) for a [2] seed or a `RowSeed`."""
    if isinstance(seed, RowSeed):
        shape = tf.convert_to_tensor(shape, tf.int32)
        full = fn(
            tf.concat([tf.reshape(tf.cast(seed.total, tf.int32), [1]), shape[1:]], 0),
            seed=seed.seed,
        )
        return full[seed.offset : seed.offset + shape[0]]
    return fn(shape, seed=seed)
