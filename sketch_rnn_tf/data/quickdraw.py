"""Quick, Draw! `.ndjson` records -> Google's "simplified" drawings -> stroke-3.

Each line of a Quick, Draw! `.ndjson` file is a JSON record whose
`"drawing"` is a list of strokes; a raw stroke is `[[x...], [y...], [t...]]`
and a simplified one `[[x...], [y...]]` (integers in 0..255).  Google
describes its simplification (quickdraw-dataset README), which is also the
preprocessing of the sketch-rnn paper (section 3.1 / appendix: "the
Ramer-Douglas-Peucker algorithm with a parameter of epsilon = 2.0 has been
applied to simplify the lines"):

1. align the drawing to the origin (subtract the minimum x and y);
2. scale uniformly so the larger extent becomes 255 (aspect ratio kept);
3. resample every stroke with 1-pixel spacing;
4. simplify every stroke with Ramer-Douglas-Peucker, epsilon 2.0.

`simplify_drawing` implements these steps (coordinates are rounded to
integers at the end).  Google's exact code is not public, so the result is
close but not identical: against Google's own simplified files the stroke
count is equal for 68/68 drawings and the points lie 0.16 px from Google's
lines on average.  The measurements, and the variants tried and rejected, are
in `docs/quickdraw_simplification.md`.

`drawing_to_stroke3` turns a simplified drawing into stroke-3 offsets
(`pen_lifted = 1` at the last point of each stroke; the first offset is
from (0, 0)), the format of the sketch-rnn `.npz` files.
"""

from __future__ import annotations

import json
import os
from typing import Dict, List, Sequence, Union

import numpy as np

from sketch_rnn_tf.data.checks import DataError

#: The larger extent of a simplified drawing.
SIMPLIFIED_SIZE = 255.0
#: Ramer-Douglas-Peucker tolerance used by Google and the paper.
RDP_EPSILON = 2.0


def rdp(points: np.ndarray, epsilon: float = RDP_EPSILON) -> np.ndarray:
    """Ramer-Douglas-Peucker simplification of a polyline `[n, 2]`.

    Keeps both end points; recursively keeps the point farthest from the
    chord when its distance exceeds `epsilon`.  (Distance to the segment;
    when the end points coincide, distance to that point.)
    """
    points = np.asarray(points, dtype=np.float64)
    n = len(points)
    if n < 3:
        return points.copy()
    keep = np.zeros(n, dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, n - 1)]
    while stack:
        lo, hi = stack.pop()
        if hi - lo < 2:
            continue
        seg = points[lo + 1 : hi]
        a, b = points[lo], points[hi]
        ab = b - a
        denom = float(ab @ ab)
        if denom == 0.0:
            dist = np.hypot(seg[:, 0] - a[0], seg[:, 1] - a[1])
        else:
            t = np.clip(((seg - a) @ ab) / denom, 0.0, 1.0)
            proj = a + t[:, None] * ab
            dist = np.hypot(seg[:, 0] - proj[:, 0], seg[:, 1] - proj[:, 1])
        k = int(np.argmax(dist))
        if dist[k] > epsilon:
            mid = lo + 1 + k
            keep[mid] = True
            stack.append((lo, mid))
            stack.append((mid, hi))
    return points[keep]


def resample(points: np.ndarray, spacing: float = 1.0) -> np.ndarray:
    """Resamples a polyline `[n, 2]` at equal arc-length `spacing`; end points kept."""
    points = np.asarray(points, dtype=np.float64)
    if len(points) < 2:
        return points.copy()
    seg = np.hypot(np.diff(points[:, 0]), np.diff(points[:, 1]))
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    total = cum[-1]
    if total == 0.0:
        return points[:1].copy()
    s = np.arange(0.0, total, spacing)
    if total - s[-1] > 1e-9:
        s = np.append(s, total)
    x = np.interp(s, cum, points[:, 0])
    y = np.interp(s, cum, points[:, 1])
    return np.stack([x, y], axis=1)


def simplify_drawing(drawing: Sequence, epsilon: float = RDP_EPSILON) -> List[List[List[int]]]:
    """Raw drawing `[[x...], [y...], (t...)]` per stroke -> Google's simplified format.

    Align to the origin, scale the larger extent to 255, resample at 1 px,
    RDP with `epsilon`, round to integers.  Returns `[[[x...], [y...]], ...]`.
    """
    strokes = []
    for k, stroke in enumerate(drawing):
        if len(stroke) < 2 or len(stroke[0]) != len(stroke[1]) or len(stroke[0]) == 0:
            raise DataError(
                f"stroke {k} is not [[x...], [y...], ...] with equal, non-empty x and y",
                where="drawing",
            )
        strokes.append(
            np.stack([np.asarray(stroke[0], np.float64), np.asarray(stroke[1], np.float64)], axis=1)
        )
    if not strokes:
        raise DataError("drawing has no strokes", where="drawing")
    allp = np.concatenate(strokes)
    if not np.isfinite(allp).all():
        raise DataError("drawing has non-finite coordinates", where="drawing")
    lo = allp.min(axis=0)
    extent = float((allp.max(axis=0) - lo).max())
    scale = SIMPLIFIED_SIZE / extent if extent > 0 else 1.0
    out = []
    for pts in strokes:
        pts = (pts - lo) * scale
        pts = rdp(resample(pts, 1.0), epsilon)
        pts = np.rint(pts).astype(np.int64)
        out.append([pts[:, 0].tolist(), pts[:, 1].tolist()])
    return out


def drawing_to_stroke3(drawing: Sequence) -> np.ndarray:
    """Simplified drawing (list of `[[x...], [y...]]`) -> stroke-3 int array `[n, 3]`.

    Points are concatenated stroke by stroke; `dx, dy` is the offset from the
    previous point (the first from (0, 0)); `pen_lifted = 1` on the last point
    of every stroke.  Integer coordinates give int16 (like the sketch-rnn
    `.npz` files; int32 if they do not fit), others float32.
    """
    rows = []
    for stroke in drawing:
        xs, ys = stroke[0], stroke[1]
        if len(xs) != len(ys) or len(xs) == 0:
            raise DataError(
                "stroke with unequal or empty x and y lists", where="drawing_to_stroke3"
            )
        for i, (x, y) in enumerate(zip(xs, ys)):
            rows.append([x, y, 1 if i == len(xs) - 1 else 0])
    if not rows:
        raise DataError("drawing has no points", where="drawing_to_stroke3")
    arr = np.asarray(rows, dtype=np.float64)
    arr[1:, 0:2] = arr[1:, 0:2] - arr[:-1, 0:2]
    if not np.all(arr == np.round(arr)):
        return arr.astype(np.float32)
    return arr.astype(np.int16 if np.abs(arr).max() < 2**15 else np.int32)


def read_ndjson(path: Union[str, os.PathLike]) -> List[Dict]:
    """Reads a Quick, Draw! `.ndjson` file into a list of record dicts (blank lines skipped).

    Raises `DataError` naming the file and line for invalid JSON or a
    record without a `"drawing"` list.
    """
    path = os.fspath(path)
    records = []
    try:
        fh = open(path, "r", encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot open ({exc.strerror})", path=path) from exc
    with fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"line {lineno}: invalid JSON ({exc.msg})", path=path) from exc
            if not isinstance(record, dict) or not isinstance(record.get("drawing"), list):
                raise DataError(f"line {lineno}: record has no 'drawing' list", path=path)
            records.append(record)
    return records


def load_ndjson_simplified(path: Union[str, os.PathLike]) -> List[np.ndarray]:
    """Google's already simplified `.ndjson` -> list of stroke-3 arrays (one per record)."""
    out = []
    for i, record in enumerate(read_ndjson(path)):
        try:
            out.append(drawing_to_stroke3(record["drawing"]))
        except DataError as exc:
            raise DataError(f"record {i}: {exc.problem}", path=os.fspath(path)) from exc
    return out


def load_ndjson_raw(
    path: Union[str, os.PathLike], epsilon: float = RDP_EPSILON
) -> List[np.ndarray]:
    """Raw `.ndjson` -> `simplify_drawing` -> stroke-3 arrays (one per record)."""
    out = []
    for i, record in enumerate(read_ndjson(path)):
        try:
            out.append(drawing_to_stroke3(simplify_drawing(record["drawing"], epsilon)))
        except DataError as exc:
            raise DataError(f"record {i}: {exc.problem}", path=os.fspath(path)) from exc
    return out
