"""Latent-space tools of a conditional sketch-rnn (Sections 4.2-4.3 of the paper).

Vector maths (numpy only):
  `lerp`, `slerp`: one point (or several) on the path between two latent vectors;
  `interpolate`: n evenly spaced points between two vectors, ends included;
  `grid`: a rows x cols grid interpolated between four corner vectors;
  `analogy`: z_a - z_b + z_c ("sheep with a head" - "head" + "no head" ...).

Model helpers (they encode stroke-3 sketches in pixels with the model's encoder mean μ, decode with
the batched sampler and return stroke-3 sketches in pixels):
  `reconstruct`, `interpolation_row`, `interpolation_grid`, `analogy_sketches`.

Wherever a model helper takes a sketch, a latent vector of shape [z_size] may be given instead.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple, Sequence

import numpy as np

from ..model.preprocessor import ModelInputError
from . import decoding, samplers

METHODS = ("slerp", "lerp")
# sin(ω) below this (in float64) means the two directions are parallel or antipodal.
_PARALLEL_EPS = 1e-7
# (r, g, b) in 0..255: red, blue, green, orange.
DEFAULT_CORNER_COLORS = ((214, 39, 40), (31, 119, 180), (44, 160, 44), (255, 127, 14))


# --------------------------------------------------------------------------- vector maths
def _vector(z, name):
    z = np.asarray(z)
    if z.ndim != 1 or z.shape[0] < 1:
        raise ModelInputError(f"{name} must be a 1-D latent vector, got shape {z.shape}")
    if z.dtype.kind not in "biuf":
        raise ModelInputError(f"{name} must be numeric, got dtype {z.dtype}")
    if not np.all(np.isfinite(z)):
        raise ModelInputError(f"{name} contains NaN or inf")
    return z


def _pair(z0, z1):
    z0, z1 = _vector(z0, "z0"), _vector(z1, "z1")
    if z0.shape != z1.shape:
        raise ModelInputError(f"z0 and z1 differ in shape: {z0.shape} and {z1.shape}")
    dtype = np.result_type(z0.dtype, z1.dtype)
    if dtype.kind != "f":
        dtype = np.dtype(np.float64)
    return z0.astype(np.float64), z1.astype(np.float64), dtype


def _times(t):
    """t as a float64 array (scalar or 1-D) and whether it was a scalar."""
    t_arr = np.asarray(t, dtype=np.float64)
    if t_arr.ndim > 1:
        raise ModelInputError(f"t must be a number or a 1-D array, got shape {t_arr.shape}")
    if not np.all(np.isfinite(t_arr)):
        raise ModelInputError("t contains NaN or inf")
    return np.atleast_1d(t_arr), t_arr.ndim == 0


def lerp(z0, z1, t):
    """Linear interpolation (1 - t)·z0 + t·z1.

    `t` is a number (returns [z]) or a 1-D array of k numbers (returns [k, z]); t outside [0, 1]
    extrapolates. t = 0 and t = 1 give z0 and z1 exactly.
    """
    z0, z1, dtype = _pair(z0, z1)
    t, scalar = _times(t)
    out = z0[None] * (1.0 - t[:, None]) + z1[None] * t[:, None]
    out[t == 0] = z0
    out[t == 1] = z1
    out = out.astype(dtype)
    return out[0] if scalar else out


def slerp(z0, z1, t):
    """Spherical interpolation (Shoemake), as in sketch-rnn's notebook.

    sin((1-t)ω)/sin ω · z0 + sin(tω)/sin ω · z1, with ω the angle between z0 and z1.

    For unit vectors the path stays on the unit sphere; for vectors of other lengths the norm moves
    smoothly between |z0| and |z1|. Degenerate cases:
      * a zero vector, or z0 and z1 pointing the same way (ω ≈ 0): falls back to `lerp`;
      * antipodal directions (ω ≈ π, the great circle is not unique): the path turns through a fixed
        direction orthogonal to z0 (chosen deterministically), while the norm moves linearly from
        |z0| to |z1|, so it never passes through the origin as `lerp` would.
    `t` is a number (returns [z]) or a 1-D array (returns [k, z]); t = 0 and 1 give z0 and z1
    exactly.
    """
    z0, z1, dtype = _pair(z0, z1)
    t_arr, scalar = _times(t)
    n0, n1 = np.linalg.norm(z0), np.linalg.norm(z1)
    if n0 == 0 or n1 == 0:
        return lerp(z0.astype(dtype), z1.astype(dtype), t)
    u0, u1 = z0 / n0, z1 / n1
    cos = float(np.clip(np.dot(u0, u1), -1.0, 1.0))
    omega = np.arccos(cos)
    sin = np.sin(omega)
    if sin < _PARALLEL_EPS and cos > 0:
        return lerp(z0.astype(dtype), z1.astype(dtype), t)
    if sin < _PARALLEL_EPS:  # antipodal
        ortho = _orthogonal_unit(u0)
        angle = np.pi * t_arr[:, None]
        norm = (1.0 - t_arr[:, None]) * n0 + t_arr[:, None] * n1
        out = norm * (np.cos(angle) * u0[None] + np.sin(angle) * ortho[None])
    else:
        a = np.sin((1.0 - t_arr) * omega) / sin
        b = np.sin(t_arr * omega) / sin
        out = a[:, None] * z0[None] + b[:, None] * z1[None]
    out[t_arr == 0] = z0
    out[t_arr == 1] = z1
    out = out.astype(dtype)
    return out[0] if scalar else out


def _orthogonal_unit(u):
    """A unit vector orthogonal to unit vector u, chosen deterministically.

    Gram-Schmidt on the basis vector along u's smallest component. In one dimension none exists:
    returns 0, so the path degenerates to the straight line through the origin.
    """
    if u.shape[0] == 1:
        return np.zeros_like(u)
    e = np.zeros_like(u)
    e[int(np.argmin(np.abs(u)))] = 1.0
    v = e - np.dot(e, u) * u
    return v / np.linalg.norm(v)


def _check_method(method):
    if method not in METHODS:
        raise ModelInputError(f"method must be one of {METHODS}, got {method!r}")
    return slerp if method == "slerp" else lerp


def _count(value, name, minimum=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ModelInputError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _steps(n):
    return np.linspace(0.0, 1.0, n) if n > 1 else np.zeros(1)


def interpolate(z0, z1, n, method="slerp"):
    """n evenly spaced latent vectors from z0 to z1, both included: [n, z_size].

    `method` is "slerp" (default, as in the paper's figures) or "lerp". n = 1 gives [z0].
    """
    f = _check_method(method)
    n = _count(n, "n")
    return f(z0, z1, _steps(n))


def grid(z00, z01, z10, z11, rows, cols, method="slerp"):
    """A rows x cols grid of latent vectors between four corners: [rows, cols, z_size].

    z00 is the top-left corner, z01 top-right, z10 bottom-left, z11 bottom-right (the order of
    `rendering.grid_colors`). The left and right columns are interpolated down from the top corners
    to the bottom ones, then each row across from left to right; the corner cells are the corners
    exactly.
    """
    f = _check_method(method)
    rows, cols = _count(rows, "rows"), _count(cols, "cols")
    left = f(z00, z10, _steps(rows))
    right = f(z01, z11, _steps(rows))
    return np.stack([f(left[r], right[r], _steps(cols)) for r in range(rows)])


def analogy(z_a, z_b, z_c):
    """Latent vector arithmetic z_a - z_b + z_c (Section 4.3: "a is to b as ? is to c")."""
    z_a, z_b, z_c = _vector(z_a, "z_a"), _vector(z_b, "z_b"), _vector(z_c, "z_c")
    if not z_a.shape == z_b.shape == z_c.shape:
        raise ModelInputError(
            f"z_a, z_b, z_c differ in shape: {z_a.shape}, {z_b.shape}, {z_c.shape}"
        )
    return z_a - z_b + z_c


# --------------------------------------------------------------------------- model helpers
def _require_conditional(model, what):
    if not model.conditional:
        raise ModelInputError(
            f"{what} needs a conditional model (with an encoder); this one is "
            "decoder-only (conditional=False) and has no latent space"
        )


def _is_latent(x, z_size):
    x = np.asarray(x)
    return x.ndim == 1 and x.shape[0] == z_size


def _latents(model, items):
    """[len(items), z_size]: latent vectors kept as they are, sketches encoded (μ) in one batch."""
    z_size = model.hparams.z_size
    out = [None] * len(items)
    sketches, where = [], []
    for i, x in enumerate(items):
        if _is_latent(x, z_size):
            out[i] = _vector(x, f"latent {i}").astype(np.float32)
        else:
            sketches.append(np.asarray(x))
            where.append(i)
    if sketches:
        mu = model.encode(sketches)
        for i, z in zip(where, mu):
            out[i] = z
    return np.stack(out).astype(np.float32)


def _decode(model, sampler, z):
    """Decodes one sketch per latent vector (computed here, so not checked again)."""
    return decoding.decode(model, sampler, np.asarray(z, np.float32).reshape(len(z), -1))


def reconstruct(
    model, strokes, temperatures=(0.1, 0.5, 1.0), sampler=None, sample_z=False, **options
):
    """Encodes each sketch and decodes it at several temperatures (Figure 3 of the paper).

    Args:
      model: a conditional `SketchRNN`.
      strokes: one stroke-3 sketch in pixels, or a list of them.
      temperatures: the temperatures τ to decode at (one batched call of all sketches per τ).
      sampler: the sampler whose temperature each τ replaces (a `samplers.Sampler`, name or
        number; default a `TemperatureSampler`); with a seed, temperature j uses seed + j.
      sample_z: decode from z = μ + σ·ε (seeded by the sampler's seed) instead of the mean μ.
      **options: the sampler's settings as keywords (`seed`, `greedy`, `temperature_mode`, ...).

    Returns:
      A list with one row per sketch: the row holds its reconstructions, one per temperature.

    Example:
    >>> import numpy as np, sketch_rnn_tf as srt
    >>> from sketch_rnn_tf.sampling import latent
    >>> vae = srt.load_model("aaron_sheep_vae")
    >>> sheep = vae.sample(2, temperature=0.3, seed=1)
    >>> rows = latent.reconstruct(vae, sheep, temperatures=(0.1, 0.5), seed=0)
    >>> len(rows), len(rows[0])
    (2, 2)
    """
    _require_conditional(model, "reconstruct")
    sampler = samplers.get(sampler, **options)
    if isinstance(strokes, np.ndarray) and strokes.ndim == 2:
        strokes = [strokes]
    strokes = list(strokes)
    temperatures = list(np.atleast_1d(temperatures))
    if not temperatures:
        raise ModelInputError("temperatures is empty")
    z = model.encode(strokes, sample=sample_z, seed=sampler.seed)
    columns = []
    for j, tau in enumerate(temperatures):
        changes = {} if sampler.seed is None else {"seed": sampler.seed + j}
        if not sampler.greedy:
            changes["temperature"] = float(tau)
        columns.append(_decode(model, sampler.replace(**changes) if changes else sampler, z))
    return [[col[i] for col in columns] for i in range(len(strokes))]


def interpolation_row(model, sketch_a, sketch_b, n=8, sampler=None, method="slerp", **options):
    """n sketches decoded from the latent path between two sketches (or latent vectors).

    Ends included (Figure 6 of the paper). `sampler` and `options` say how each is drawn (see
    `samplers.get`). Returns a list of n stroke-3 sketches in pixels.

    Example:
    >>> import sketch_rnn_tf as srt
    >>> from sketch_rnn_tf.sampling import latent
    >>> vae = srt.load_model("aaron_sheep_vae")
    >>> a, b = vae.sample(2, temperature=0.3, seed=2)
    >>> row = latent.interpolation_row(vae, a, b, n=5, temperature=0.1, seed=0)
    >>> len(row)
    5
    """
    _require_conditional(model, "interpolation_row")
    sampler = samplers.get(sampler, **options)
    n = _count(n, "n")
    z_a, z_b = _latents(model, [sketch_a, sketch_b])
    return _decode(model, sampler, interpolate(z_a, z_b, n, method))


class InterpolationGrid(NamedTuple):
    """The sketches of an interpolation grid and their colours.

    `sketches`: rows x cols stroke-3 sketches (a list of rows); `colors`: [rows, cols, 3] RGB
    colours interpolated between the corner colours (pass both to `rendering.render_grid`).
    """

    sketches: list
    colors: np.ndarray


def interpolation_grid(
    model,
    corners: Sequence,
    rows=5,
    cols=5,
    sampler=None,
    method="slerp",
    corner_colors=DEFAULT_CORNER_COLORS,
    **options,
):
    """A rows x cols grid of sketches decoded between four corner sketches (or latent vectors).

    The corners are given as (top_left, top_right, bottom_left, bottom_right) — all cells in one
    batched call, drawn as `sampler` and `options` say (see `samplers.get`).

    Returns an `InterpolationGrid(sketches, colors)`; the colours ([rows, cols, 3], 0..255) mix the
    four (r, g, b) `corner_colors` bilinearly in the same layout (the paper's colour-coded grids),
    so each cell's colour tells how much of each corner it holds. Pass both to `render_grid`.

    Example:
    >>> import sketch_rnn_tf as srt
    >>> from sketch_rnn_tf.sampling import latent
    >>> vae = srt.load_model("aaron_sheep_vae")
    >>> corners = vae.sample(4, temperature=0.3, seed=4)
    >>> grid = latent.interpolation_grid(vae, corners, rows=3, cols=3, temperature=0.1, seed=0)
    >>> len(grid.sketches), len(grid.sketches[0]), grid.colors.shape
    (3, 3, (3, 3, 3))
    >>> svg = srt.rendering.render_grid(grid.sketches, colors=grid.colors)
    """
    _require_conditional(model, "interpolation_grid")
    sampler = samplers.get(sampler, **options)
    corners = list(corners)
    if len(corners) != 4:
        raise ModelInputError(
            "corners must hold 4 sketches or latent vectors (top_left, "
            f"top_right, bottom_left, bottom_right), got {len(corners)}"
        )
    rows, cols = _count(rows, "rows"), _count(cols, "cols")
    rgb = np.asarray(corner_colors, dtype=np.float64)
    if rgb.shape != (4, 3):
        raise ModelInputError(f"corner_colors must be 4 (r, g, b) triples, got shape {rgb.shape}")
    z = grid(*_latents(model, corners), rows, cols, method)
    flat = _decode(model, sampler, z.reshape(rows * cols, -1))
    sketches = [flat[r * cols : (r + 1) * cols] for r in range(rows)]
    return InterpolationGrid(sketches, grid(*rgb, rows, cols, method="lerp"))


def analogy_sketches(model, sketch_a, sketch_b, sketch_c, n=1, sampler=None, **options):
    """Decodes z_a - z_b + z_c, n times (one batch): "what is to c as a is to b".

    Each argument is a stroke-3 sketch in pixels or a latent vector; `sampler` and `options` say
    how each is drawn (see `samplers.get`). Returns a list of n sketches.
    """
    _require_conditional(model, "analogy_sketches")
    sampler = samplers.get(sampler, **options)
    n = _count(n, "n")
    z = analogy(*_latents(model, [sketch_a, sketch_b, sketch_c]))
    return _decode(model, sampler, np.repeat(z[None], n, axis=0))
