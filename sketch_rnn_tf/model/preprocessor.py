"""`SketchPreprocessor`: the numpy front door between stroke-3 sketches in pixels and a model.

Everything that hands sketches to a sketch-rnn, or gets sketches back from one, goes through it: the
Keras model (`SketchRNN.prepare`, `encode`, `reconstruction_loss`), its sampler (argument checks and
post-processing), completion, and the numpy client of an exported SavedModel. It does, in numpy
only (no TensorFlow):

* validate: the one rule of `data.checks.check_stroke3` (numeric, finite, shape (n, 3), pen values
  0 or 1, not empty), plus the model's limit n <= N_max (`max_seq_len`);
* scale: pixels -> model units by dividing dx, dy by `scale_factor` (the train set's normalising
  scale factor, paper appendix), and back;
* pad: stroke-3 -> Magenta's padded stroke-5 batch (S0 = (0, 0, 1, 0, 0) at row 0, rows after the
  end (0, 0, 0, 0, 1); paper Section 3.3) and the lengths;
* post-process: the sampler's stroke-5 rows -> stroke-3 sketches in pixels, cut at the first
  end-of-sketch row;
* z: check a given latent (shape [z_size] for all sketches or [n, z_size], finite), broadcast it, or
  draw z ~ N(0, I).

Sketches are checked once: `sketches` returns them as `Sketches`, a list that the preprocessor (of
this model, or of another whose max_seq_len they fit) passes on without checking them again, so a
request's strokes are checked at the front door and nowhere below it. The sampling settings
(temperature, greedy, max_len, seed) are checked by the sampler objects (`sampling.samplers`).

Bad input raises `ModelInputError` (a `DataError`, hence a `SketchRNNError` and a `ValueError`)
naming the sketch or argument.
"""

from __future__ import annotations

import numbers
import os
from typing import Iterable, List, Optional, Sequence, Tuple

import numpy as np

from ..data.checks import DataError, check_scale_factor, check_stroke3
from ..data.strokes import pad_batch, to_normal_strokes


class ModelInputError(DataError):
    """Sketches, latent vectors or arguments given to a model (or to an export of one) are unusable.

    Raised by `SketchPreprocessor`, the numpy front door that the model, its sampler, completion and
    the export client share; the message names the sketch or argument and the problem.
    """

    default_where = ""


#: An SVG drawing given to a model is scaled so its longer side is this many scale factors.
SVG_SIZE = 12.0
#: ... and each of its strokes simplified with RDP, this many pixels (sketch-rnn's data: 2.0).
SVG_EPSILON = 2.0


def is_svg(item) -> bool:
    """Whether `item` names an SVG drawing: a path ending in .svg, or SVG text (or bytes)."""
    if isinstance(item, bytes):
        return item.lstrip()[:1] == b"<"
    if isinstance(item, os.PathLike):
        item = os.fspath(item)
    return isinstance(item, str) and (
        item.lstrip().startswith("<") or item.lower().endswith(".svg")
    )


class Sketches(list):
    """Stroke-3 float32 sketches in pixels that a `SketchPreprocessor` has checked.

    `max_points` is the longest one's length; a preprocessor whose `max_seq_len` is at least that
    takes them as they are.
    """

    def __init__(self, sketches: Iterable[np.ndarray] = ()):
        super().__init__(sketches)
        self.max_points = max((len(s) for s in self), default=0)

    def __mul__(self, count):
        return Sketches(list(self) * count)

    def __getitem__(self, item):
        got = super().__getitem__(item)
        return Sketches(got) if isinstance(item, slice) else got


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_row(item) -> bool:
    """Whether `item` is one stroke-3 row (so its container is one sketch, not a list of them)."""
    try:
        return np.ndim(item) == 1
    except ValueError:  # ragged: a sketch whose rows differ in length
        return False


class SketchPreprocessor:
    """Validates, scales, pads and post-processes sketches for one model, and handles its z.

    Args:
      max_seq_len: N_max, the most points a sketch may have.
      scale_factor: pixels per model unit (the train set's normalising scale factor).
      z_size: size of the latent vector of a conditional model; 0 for a decoder-only one.

    Example:
    >>> import numpy as np
    >>> pre = SketchPreprocessor(max_seq_len=250, scale_factor=18.5, z_size=128)
    >>> sketch = np.array([[37.0, 0.0, 0.0], [0.0, 18.5, 1.0]])
    >>> batch, lengths = pre([sketch])          # [B, 251, 5] float32 (÷ 18.5), [B] int32
    >>> batch.shape, lengths.tolist(), batch[0, 1].tolist()
    ((1, 251, 5), [2], [2.0, 0.0, 1.0, 0.0, 0.0])
    >>> pre.postprocess([batch[0, 1:]])[0].tolist()   # back to stroke-3 pixels
    [[37.0, 0.0, 0.0], [0.0, 18.5, 1.0]]
    """

    def __init__(self, max_seq_len: int, scale_factor: float = 1.0, z_size: int = 0):
        if not _is_int(max_seq_len) or max_seq_len < 1:
            raise ModelInputError(
                f"max_seq_len must be an integer >= 1, got {max_seq_len!r}",
                where="SketchPreprocessor",
            )
        if not _is_int(z_size) or z_size < 0:
            raise ModelInputError(
                f"z_size must be an integer >= 0, got {z_size!r}", where="SketchPreprocessor"
            )
        self.max_seq_len = int(max_seq_len)
        self.scale_factor = check_scale_factor(
            scale_factor, error=ModelInputError, where="SketchPreprocessor"
        )
        self.z_size = int(z_size)

    @property
    def conditional(self) -> bool:
        """Whether the model has a latent space (z_size > 0)."""
        return self.z_size > 0

    # ----------------------------------------------------------------- sketches
    def sketches(self, strokes, what: str = "sketch") -> Sketches:
        """Checks stroke-3 sketches in pixels; returns them as `Sketches` (float32 arrays).

        Args:
          strokes: one `(n, 3)` sketch or a sequence of them; a sketch may also be an SVG
            drawing (a path to a `.svg` file, or SVG text: see `svg`).
          what: the name of one sketch in messages ("sketch", "prefix", ...).

        Raises:
          ModelInputError: no sketch, or a sketch that breaks the rule of `check_stroke3` or has
            more than `max_seq_len` points.
          DataError: an SVG that cannot be read (naming the file and the problem).
        """
        if isinstance(strokes, Sketches) and strokes and strokes.max_points <= self.max_seq_len:
            return strokes  # checked at the front door already
        if strokes is None:
            raise ModelInputError("no sketches given (None)", where=what)
        if is_svg(strokes):
            strokes = [strokes]  # one SVG drawing
        if isinstance(strokes, np.ndarray) and strokes.dtype != object and strokes.ndim != 3:
            strokes = [strokes]  # one sketch (a wrong shape is reported by the check)
        elif not isinstance(strokes, np.ndarray) and len(strokes) and _is_row(strokes[0]):
            strokes = [strokes]  # one sketch as a nested list of rows
        if len(strokes) == 0:
            raise ModelInputError("no sketches given", where=what)
        out = []
        for i, s in enumerate(strokes):
            if is_svg(s):
                s = self.svg(s)
            s = check_stroke3(s, error=ModelInputError, where=f"{what} {i}")
            if len(s) > self.max_seq_len:
                raise ModelInputError(
                    f"has {len(s)} points, more than this model's max_seq_len {self.max_seq_len}",
                    where=f"{what} {i}",
                )
            out.append(s.astype(np.float32))
        return Sketches(out)

    def svg(self, source) -> np.ndarray:
        """An SVG drawing as a stroke-3 sketch in this model's pixels (`data.svg_reader.read_svg`).

        The drawing is scaled so its longer side is `SVG_SIZE` scale factors, the size at which
        the bundled models draw (the larger side of their samples: 11-13 scale factors), and each
        stroke is simplified with RDP, ε = `SVG_EPSILON` pixels, as sketch-rnn's data were.
        """
        from ..data.svg_reader import read_svg  # svgelements, imported when an SVG comes

        return read_svg(source, size=SVG_SIZE * self.scale_factor, epsilon=SVG_EPSILON)

    def scale(self, sketch: np.ndarray) -> np.ndarray:
        """Pixels -> model units: a float32 copy with dx, dy divided by `scale_factor`."""
        s = np.array(sketch, dtype=np.float32)
        s[:, :2] /= self.scale_factor
        return s

    def unscale(self, sketch: np.ndarray) -> np.ndarray:
        """Model units -> pixels: a float32 copy with dx, dy multiplied by `scale_factor`."""
        s = np.array(sketch, dtype=np.float32)
        s[:, :2] *= self.scale_factor
        return s

    def pad(self, strokes, what: str = "sketch") -> Tuple[np.ndarray, np.ndarray]:
        """Stroke-3 sketches in pixels -> (padded stroke-5 batch [B, N_max + 1, 5], lengths [B]).

        The offsets are divided by `scale_factor`; row 0 is S0, rows after a sketch's end are
        (0, 0, 0, 0, 1) (Magenta's `pad_batch`). Returns float32 and int32 numpy arrays.
        """
        return pad_batch([self.scale(s) for s in self.sketches(strokes, what)], self.max_seq_len)

    __call__ = pad

    def postprocess(self, rows: Sequence[np.ndarray]) -> List[np.ndarray]:
        """Stroke-5 rows in model units (one [T, 5] array per sketch) -> stroke-3 float32 in pixels.

        Each sketch is cut at its first end-of-sketch row (Magenta's `to_normal_strokes`) and its
        offsets are multiplied by `scale_factor`.
        """
        return [self.unscale(to_normal_strokes(r).astype(np.float32)) for r in rows]

    # ----------------------------------------------------------------------- z
    def latents(self, n: int, z=None, rng: Optional[np.random.Generator] = None) -> np.ndarray:
        """The float32 latent vectors [n, z_size] of n sketches ([n, 0] for a decoder-only model).

        Args:
          n: number of sketches.
          z: None to draw z ~ N(0, I) from `rng`; or one latent [z_size] (or [1, z_size]) for all
            n sketches; or [n, z_size].
          rng: a `numpy.random.Generator`, needed when z is None for a conditional model.

        Raises:
          ModelInputError: z given to a decoder-only model, a z of another shape, or NaN/inf in z.
        """
        if not self.conditional:
            if z is not None:
                raise ModelInputError(
                    "z given to a decoder-only model (conditional=False), which has no latent space"
                )
            return np.zeros((n, 0), np.float32)
        if z is None:
            if rng is None:
                raise ModelInputError("no z and no random generator to draw one", where="z")
            return rng.standard_normal((n, self.z_size)).astype(np.float32)
        try:
            z = np.asarray(z, np.float32)
        except (TypeError, ValueError) as e:
            raise ModelInputError(f"not a numeric array ({e})", where="z") from None
        given = z.shape
        if z.ndim == 1:
            z = z[None]
        if z.ndim == 2 and z.shape[0] == 1 and n > 1:
            z = np.repeat(z, n, axis=0)
        if z.shape != (n, self.z_size):
            raise ModelInputError(
                f"has shape {given}; expected ({self.z_size},) or ({n}, {self.z_size})", where="z"
            )
        if not np.all(np.isfinite(z)):
            raise ModelInputError("contains NaN or inf", where="z")
        return z
