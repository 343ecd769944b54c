"""Batches for training and evaluation, following Magenta's `utils.DataLoader`.

Preprocessing is Magenta's: keep sketches with `len <= max_seq_len`
(`N_max` in the paper), clamp every value to [-1000, 1000], cast to float32,
divide `dx, dy` by `scale_factor` (paper appendix: offsets normalised to
unit standard deviation) and sort by length.

Training batches differ from Magenta in one deliberate way: instead of a
global `np.random` state, `DataLoader.batch_for_step` seeds a fresh
`np.random.default_rng([seed, step])`.  A batch is therefore a pure
function of `(seed, step)` and training resumed at step `k` after a crash
sees exactly the batches it would have seen.  Within a step the sampling
mirrors Magenta's `random_batch`: the first `batch_size` entries of a
random permutation (no epochs), then per sketch `random_scale` followed by
`augment_strokes`.

Padded batches are `(x, seq_len)`: `x` float32 `[B, N_max + 1, 5]`
starting with S0 = (0,0,1,0,0) and padded with (0,0,0,0,1) (paper section
3.3), `seq_len` int32 `[B]` (points after augmentation, S0 excluded).
"""

from __future__ import annotations

import collections.abc
from typing import Iterator, List, Sequence, Tuple

import numpy as np

from sketch_rnn_tf.data.augment import augment_strokes, random_scale
from sketch_rnn_tf.data.checks import DataError, check_scale_factor
from sketch_rnn_tf.data.npz import LIMIT
from sketch_rnn_tf.data.strokes import pad_batch

Batch = Tuple[np.ndarray, np.ndarray]


class DataLoader:
    """Magenta-style loader with step-seeded, resumable random batches.

    `strokes` may be a list of arrays or a `sketch_rnn_tf.data.packed.PackedSplit`
    (memory-mapped): sketches are preprocessed when a batch takes them, so the loader holds
    only an index of the split, and the batches are the same either way.

    Attributes:
      strokes: the preprocessed (clamped, float32, normalised) stroke-3
        sketches, sorted by length (stable sort); a sequence whose items are
        made when indexed.
      order: `order[k]` is the index, in the `strokes` argument, of
        `self.strokes[k]` (to map back to labels).
      num_batches: `len(strokes) // batch_size` (Magenta drops the rest).
    """

    def __init__(
        self,
        strokes: Sequence[np.ndarray],
        batch_size: int,
        max_seq_len: int,
        scale_factor: float,
        random_scale_factor: float = 0.0,
        augment_stroke_prob: float = 0.0,
        seed: int = 0,
        limit: float = LIMIT,
    ):
        if batch_size < 1:
            raise DataError(f"batch_size must be >= 1, got {batch_size}", where="DataLoader")
        if max_seq_len < 1:
            raise DataError(f"max_seq_len must be >= 1, got {max_seq_len}", where="DataLoader")
        scale_factor = check_scale_factor(scale_factor, where="DataLoader")
        if not 0.0 <= augment_stroke_prob <= 1.0:
            raise DataError(
                f"augment_stroke_prob must be in [0, 1], got {augment_stroke_prob}",
                where="DataLoader",
            )
        if random_scale_factor < 0:
            raise DataError(
                f"random_scale_factor must be >= 0, got {random_scale_factor}", where="DataLoader"
            )
        self.batch_size = int(batch_size)
        self.max_seq_len = int(max_seq_len)
        self.scale_factor = float(scale_factor)
        self.random_scale_factor = float(random_scale_factor)
        self.augment_stroke_prob = float(augment_stroke_prob)
        self.seed = int(seed)
        self.limit = limit
        self._preprocess(strokes)

    def _preprocess(self, strokes: Sequence[np.ndarray]) -> None:
        # A PackedSplit knows its lengths without touching its points; a list is asked one by one.
        if hasattr(strokes, "lengths"):
            lengths = np.asarray(strokes.lengths(), dtype=np.int64)
        else:
            lengths = np.fromiter((len(s) for s in strokes), dtype=np.int64, count=len(strokes))
        index = np.flatnonzero(lengths <= self.max_seq_len)
        # Magenta sorts by length with np.argsort; a stable sort makes ties deterministic.
        perm = np.argsort(lengths[index], kind="stable")
        self.order = index[perm]
        self.strokes: Sequence[np.ndarray] = _PreprocessedStrokes(
            strokes, self.order, self.limit, self.scale_factor
        )
        self.num_dropped = len(lengths) - len(index)
        self.num_batches = len(self.strokes) // self.batch_size

    def __len__(self) -> int:
        return len(self.strokes)

    def _pad(self, batch: List[np.ndarray]) -> Batch:
        return pad_batch(batch, self.max_seq_len)

    def indices_and_batch_for_step(self, step: int) -> Tuple[np.ndarray, Batch]:
        """Like `batch_for_step`, also returning the chosen indices into `self.strokes`."""
        if len(self.strokes) < self.batch_size:
            raise DataError(
                f"only {len(self.strokes)} sketches with len <= max_seq_len={self.max_seq_len},"
                f" fewer than batch_size={self.batch_size}",
                where="DataLoader",
            )
        if step < 0:
            raise DataError(f"step must be >= 0, got {step}", where="DataLoader")
        rng = np.random.default_rng([self.seed, int(step)])
        idx = rng.permutation(len(self.strokes))[: self.batch_size]
        batch = []
        for i in idx:
            data = random_scale(self.strokes[i], self.random_scale_factor, rng)
            if self.augment_stroke_prob > 0:
                data = augment_strokes(data, self.augment_stroke_prob, rng)
            batch.append(data)
        return idx, self._pad(batch)

    def batch_for_step(self, step: int) -> Batch:
        """The training batch of `step`: a pure function of `(seed, step)`.

        Returns `(x [B, max_seq_len + 1, 5] float32, seq_len [B] int32)`.
        """
        return self.indices_and_batch_for_step(step)[1]

    def get_batch(self, idx: int) -> Batch:
        """The `idx`-th sequential batch of the length-sorted sketches, without augmentation."""
        if not 0 <= idx < self.num_batches:
            raise DataError(
                f"batch index {idx} out of range [0, {self.num_batches})", where="DataLoader"
            )
        start = idx * self.batch_size
        return self._pad(self.strokes[start : start + self.batch_size])

    def eval_batches(self, drop_remainder: bool = True) -> Sequence[Batch]:
        """The whole split as padded batches, in order, for evaluation (no augmentation).

        With `drop_remainder=True` (Magenta's `evaluate_model`) there are
        `num_batches` full batches; otherwise a last, smaller batch holds the rest.
        The batches are built when indexed or iterated (a sequence, not a
        list), so evaluating a large split holds one batch at a time.
        """
        return _EvalBatches(self, drop_remainder)

    def steps(self, start_step: int = 0) -> Iterator[Batch]:
        """Endless iterator over `batch_for_step(s)` for s = start_step, start_step + 1, ..."""
        step = int(start_step)
        while True:
            yield self.batch_for_step(step)
            step += 1

    def as_dataset(self, start_step: int = 0):
        """An endless `tf.data.Dataset` of `(x, seq_len)` for steps `start_step, start_step+1, ...`.

        Shapes are fixed: `x` `[batch_size, max_seq_len + 1, 5]` float32,
        `seq_len` `[batch_size]` int32.  Prefetched (AUTOTUNE).
        """
        import tensorflow as tf  # Imported here so the numpy-only API does not load TF.

        signature = (
            tf.TensorSpec([self.batch_size, self.max_seq_len + 1, 5], tf.float32),
            tf.TensorSpec([self.batch_size], tf.int32),
        )
        start = int(start_step)
        dataset = tf.data.Dataset.from_generator(
            lambda: self.steps(start), output_signature=signature
        )
        return dataset.prefetch(tf.data.AUTOTUNE)


class _PreprocessedStrokes(collections.abc.Sequence):
    """`strokes[order[k]]` clamped, cast to float32 and normalised when indexed (Magenta's).

    Nothing is copied up front, so a memory-mapped split stays on disk until a
    batch touches it; each access returns a new array, equal bit for bit to
    what preprocessing the whole split at once gives.
    """

    def __init__(
        self, strokes: Sequence[np.ndarray], order: np.ndarray, limit: float, scale_factor: float
    ):
        self._source = strokes
        self._order = order
        self._limit = limit
        self._scale = np.float32(scale_factor)

    def __len__(self) -> int:
        return len(self._order)

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(len(self)))]
        data = self._source[int(self._order[k])]
        arr = np.maximum(np.minimum(np.asarray(data), self._limit), -self._limit)
        arr = np.array(arr, dtype=np.float32)
        arr[:, 0:2] /= self._scale
        return arr


class _EvalBatches(collections.abc.Sequence):
    """The sequential batches of a :class:`DataLoader`, padded when indexed."""

    def __init__(self, loader: "DataLoader", drop_remainder: bool):
        self._loader = loader
        rest = len(loader.strokes) - loader.num_batches * loader.batch_size
        self._len = loader.num_batches + (1 if rest and not drop_remainder else 0)

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        i = int(i)
        if i < 0:
            i += self._len
        if not 0 <= i < self._len:
            raise IndexError(f"batch index {i} out of range for {self._len} batches")
        loader = self._loader
        if i < loader.num_batches:
            return loader.get_batch(i)
        return loader._pad(loader.strokes[loader.num_batches * loader.batch_size :])


def eval_batches(
    strokes: Sequence[np.ndarray],
    batch_size: int,
    max_seq_len: int,
    scale_factor: float,
    drop_remainder: bool = True,
) -> Sequence[Batch]:
    """A valid/test split as padded, normalised evaluation batches (`DataLoader.eval_batches`)."""
    loader = DataLoader(strokes, batch_size, max_seq_len, scale_factor)
    return loader.eval_batches(drop_remainder=drop_remainder)
