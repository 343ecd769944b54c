"""Sketch geometry for judging reconstructions: points, Chamfer distance, the reconstruction ratio.

A VAE's reconstruction (Ha & Eck 2017, Section 4.1 "Conditional Reconstruction": encode a sketch,
decode its z) should look like its input more than like other inputs. The *reconstruction Chamfer
ratio* measures that:

    ratio = mean_i C(S_i, R_i) / mean_{i != j} C(S_i, R_j)

where S_i is a sketch, R_i its reconstruction and C the symmetric Chamfer distance between the two
point sets below. 1.0 means a reconstruction is no closer to its own input than to any other input
(z carries nothing), 0 means every reconstruction is its input (up to translation).

Pure numpy: no TensorFlow here (the model-side diagnostic is `training.evaluate.latent_diagnostic`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from sketch_rnn_tf.data.checks import DataError


def sketch_points(strokes) -> np.ndarray:
    """The pen positions of a stroke-3 sketch, centred on its bounding box: float64 [n, 2].

    The positions are the cumulative sums of the (dx, dy) offsets (the pen state is ignored: a
    Chamfer distance compares where ink goes, not the order of strokes); the centre of their
    bounding box, ((min + max) / 2 per axis), is subtracted, so sketches drawn from different start
    points compare by shape and size only. A sketch with no rows is the single point (0, 0).
    Units are those of the input (pixels for the data sets and for `SketchRNN.sample`).
    """
    s = np.asarray(strokes, dtype=np.float64)
    if s.ndim != 2 or s.shape[1] < 2:
        raise DataError(
            f"expected a stroke-3 sketch of shape (n, 3), got shape {s.shape}",
            where="sketch_points",
        )
    if not np.all(np.isfinite(s[:, :2])):
        raise DataError("sketch offsets contain NaN or inf", where="sketch_points")
    if len(s) == 0:
        return np.zeros((1, 2))
    points = np.cumsum(s[:, :2], axis=0)
    return points - (points.min(axis=0) + points.max(axis=0)) / 2


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distance matrix [len(a), len(b)]."""
    diff = a[:, None, :] - b[None, :, :]
    return np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))


def chamfer_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Symmetric Chamfer distance between two point sets [n, 2] and [m, 2], in their units.

    The mean over a's points of the distance to the nearest point of b, and the same from b to a,
    averaged: C(a, b) = (mean_p min_q |p - q| + mean_q min_p |p - q|) / 2 (Euclidean, not squared).
    C(a, a) = 0 and C(a, b) = C(b, a).
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    for name, p in (("a", a), ("b", b)):
        if p.ndim != 2 or p.shape[1] != 2 or len(p) == 0:
            raise DataError(
                f"point set {name} has shape {p.shape}; expected (n >= 1, 2)",
                where="chamfer_distance",
            )
    d = _distances(a, b)
    return float((d.min(axis=1).mean() + d.min(axis=0).mean()) / 2)


def sketch_chamfer(sketch_a, sketch_b) -> float:
    """`chamfer_distance` of two stroke-3 sketches' centred points (`sketch_points`)."""
    return chamfer_distance(sketch_points(sketch_a), sketch_points(sketch_b))


def chamfer_matrix(sketches: Sequence, others: Sequence) -> np.ndarray:
    """[len(sketches), len(others)]: entry (i, j) is `sketch_chamfer(sketches[i], others[j])`.

    Computed one row at a time against all of `others`' points at once (the same sums as
    `chamfer_distance`, without a Python loop over pairs).
    """
    a = [sketch_points(s) for s in sketches]
    b = [sketch_points(s) for s in others]
    out = np.zeros((len(a), len(b)), dtype=np.float64)
    if not a or not b:
        return out
    lengths = np.array([len(q) for q in b])
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    q_all = np.concatenate(b, axis=0)
    for i, p in enumerate(a):
        d = _distances(p, q_all)  # [len(p), all points of others]
        a_to_b = np.minimum.reduceat(d, starts, axis=1).mean(axis=0)
        b_to_a = np.add.reduceat(d.min(axis=0), starts) / lengths
        out[i] = (a_to_b + b_to_a) / 2
    return out


def reconstruction_ratio(sketches: Sequence, reconstructions: Sequence) -> dict:
    """The reconstruction Chamfer ratio of sketches and their reconstructions (same order).

    With C the `chamfer_matrix` (C[i, j] = distance from sketch i to reconstruction j):
      own   = mean_i C[i, i]                (each sketch and its own reconstruction)
      other = mean over all i != j of C[i, j] (each sketch and every other sketch's reconstruction)
      ratio = own / other
    "Other" uses all n(n-1) pairs, not one shuffled partner per sketch, so the ratio has no random
    part beyond the reconstructions themselves. A decoder that ignores z gives ratio ≈ 1; perfect
    reconstructions give 0.

    Returns a dict: `ratio`, `own` and `other` (mean distances, in the sketches' units) and `count`.
    """
    sketches, reconstructions = list(sketches), list(reconstructions)
    n = len(sketches)
    if n != len(reconstructions):
        raise DataError(
            f"{n} sketches but {len(reconstructions)} reconstructions; expected one "
            "reconstruction per sketch",
            where="reconstruction_ratio",
        )
    if n < 2:
        raise DataError(
            f"need at least 2 sketches to compare with other sketches' reconstructions, got {n}",
            where="reconstruction_ratio",
        )
    c = chamfer_matrix(sketches, reconstructions)
    own = float(np.mean(np.diag(c)))
    other = float((c.sum() - np.trace(c)) / (n * (n - 1)))
    if other == 0:
        raise DataError(
            "every reconstruction is at Chamfer distance 0 from every sketch (all "
            "sketches are one point?); the ratio is undefined",
            where="reconstruction_ratio",
        )
    return {"ratio": own / other, "own": own, "other": other, "count": n}


__all__ = [
    "sketch_points",
    "chamfer_distance",
    "sketch_chamfer",
    "chamfer_matrix",
    "reconstruction_ratio",
]
