"""Quick, Draw! ndjson: Google's simplification reproduced from raw records.

The module under test is sketch_rnn_tf.data.quickdraw.
"""

import os

import numpy as np
import pytest

from sketch_rnn_tf.data import (
    DataError,
    drawing_to_stroke3,
    load_ndjson_raw,
    load_ndjson_simplified,
    rdp,
    read_ndjson,
    resample,
    simplify_drawing,
    strokes_to_lines,
    validate_sketch,
)

from _paths import SHARED as SHARED_ROOT

ND = os.path.join(SHARED_ROOT, "data/quickdraw_ndjson")
RAW_CLASSES = ("cat", "owl", "sheep")

pytestmark = pytest.mark.skipif(not os.path.isdir(ND), reason="real data not available")


def _dist_to_polyline(points, line):
    """Distance from each point [n, 2] to the polyline [m, 2]."""
    p = np.asarray(points, float)
    line = np.asarray(line, float)
    if len(line) == 1:
        return np.hypot(*(p - line[0]).T)
    a, ab = line[:-1], np.diff(line, axis=0)
    d2 = (ab**2).sum(1)
    d2[d2 == 0] = 1.0
    t = np.clip(((p[:, None, :] - a[None]) * ab[None]).sum(2) / d2[None], 0.0, 1.0)
    proj = a[None] + t[..., None] * ab[None]
    return np.sqrt(((p[:, None, :] - proj) ** 2).sum(2)).min(1)


def test_drawing_to_stroke3_and_lines():
    drawing = [[[10, 12, 20], [5, 5, 9]], [[0, 3], [0, 4]]]
    s = drawing_to_stroke3(drawing)
    assert s.dtype == np.int16
    np.testing.assert_array_equal(s, [[10, 5, 0], [2, 0, 0], [8, 4, 1], [-20, -9, 0], [3, 4, 1]])
    assert strokes_to_lines(s) == [[[10, 5], [12, 5], [20, 9]], [[0, 0], [3, 4]]]
    with pytest.raises(DataError, match="unequal or empty"):
        drawing_to_stroke3([[[1, 2], [3]]])


def test_rdp_and_resample():
    line = np.array([[0, 0], [5, 0.5], [10, 0], [10, 10]], float)
    np.testing.assert_array_equal(rdp(line, 2.0), [[0, 0], [10, 0], [10, 10]])
    np.testing.assert_array_equal(rdp(line, 0.1), line)
    r = resample(np.array([[0, 0], [3, 4]], float), 1.0)
    assert len(r) == 6 and np.allclose(np.hypot(*np.diff(r, axis=0).T), 1.0)


def test_load_simplified_files():
    for name in sorted(os.listdir(os.path.join(ND, "simplified"))):
        path = os.path.join(ND, "simplified", name)
        sketches = load_ndjson_simplified(path)
        records = read_ndjson(path)
        assert len(sketches) == len(records) == 25
        for i, (s, r) in enumerate(zip(sketches, records)):
            validate_sketch(s, (path, None, i))
            assert s[:, 2].sum() == len(r["drawing"])
            pts = np.concatenate([np.array(line) for line in strokes_to_lines(s)])
            assert pts.min() >= 0 and pts.max() <= 255


def test_read_ndjson_errors(tmp_path):
    bad = tmp_path / "bad.ndjson"
    bad.write_text('{"drawing": [[[1, 2], [3, 4]]]}\n{not json\n')
    with pytest.raises(DataError, match=r"bad\.ndjson.*line 2: invalid JSON"):
        read_ndjson(bad)
    bad.write_text('{"word": "cat"}\n')
    with pytest.raises(DataError, match="line 1: record has no 'drawing'"):
        read_ndjson(bad)


def test_raw_to_simplified_matches_google(record_property):
    """Reports and checks how close simplify_drawing gets to Google's simplified records.

    Measured (see quickdraw.py docstring): 68/68 same stroke count, 68/68 point
    counts within 10 % (22/68 exact), 4181 vs 4195 points, mean point-to-line
    distance 0.16 px (ours -> Google) / 0.14 px (Google -> ours), worst drawing
    1.57 px, 99.0 % of our points within 2 px, bounding box within 3 px of Google's
    for 66/68.  Thresholds below leave a margin.
    """
    n_ours, n_google, same_strokes, exact, dist_ours, dist_google, per_drawing = (
        [],
        [],
        0,
        0,
        [],
        [],
        [],
    )
    bbox_diff = []
    for cls in RAW_CLASSES:
        google = {
            r["key_id"]: r["drawing"]
            for r in read_ndjson(os.path.join(ND, "simplified", f"{cls}.ndjson"))
        }
        raw = read_ndjson(os.path.join(ND, "raw", f"{cls}.ndjson"))
        for rec in raw:
            ours = simplify_drawing(rec["drawing"])
            ref = google[rec["key_id"]]
            pts = np.concatenate([np.array(s[:2]).T for s in ours])
            gpts = np.concatenate([np.array(s[:2]).T for s in ref])
            assert (
                pts.min() >= 0 and pts.max() <= 255
            )  # RDP may drop an extreme point, as Google's does
            bbox_diff.append(
                np.abs(np.r_[pts.min(0), pts.max(0)] - np.r_[gpts.min(0), gpts.max(0)]).max()
            )
            a, b = sum(len(s[0]) for s in ours), sum(len(s[0]) for s in ref)
            n_ours.append(a)
            n_google.append(b)
            exact += a == b
            if len(ours) != len(ref):
                continue
            same_strokes += 1
            d_drawing = []
            for so, sg in zip(ours, ref):
                po, pg = np.array(so[:2]).T, np.array(sg[:2]).T
                d_drawing.append(_dist_to_polyline(po, pg))
                dist_google.append(_dist_to_polyline(pg, po))
            d_drawing = np.concatenate(d_drawing)
            dist_ours.append(d_drawing)
            per_drawing.append(d_drawing.mean())
    n_ours, n_google = np.array(n_ours), np.array(n_google)
    rel = np.abs(n_ours - n_google) / n_google
    dist_ours, dist_google = np.concatenate(dist_ours), np.concatenate(dist_google)
    figures = {
        "drawings": len(n_ours),
        "same_stroke_count": same_strokes,
        "exact_point_count": int(exact),
        "point_count_within_10pct": float(np.mean(rel <= 0.10)),
        "points_ours": int(n_ours.sum()),
        "points_google": int(n_google.sum()),
        "mean_dist_ours_to_google_px": float(dist_ours.mean()),
        "mean_dist_google_to_ours_px": float(dist_google.mean()),
        "worst_drawing_mean_dist_px": float(max(per_drawing)),
        "frac_points_within_2px": float(np.mean(dist_ours <= 2.0)),
        "frac_bbox_within_3px": float(np.mean(np.array(bbox_diff) <= 3)),
        "max_bbox_diff_px": float(max(bbox_diff)),
    }
    for k, v in figures.items():
        record_property(k, v)
    print("raw->simplified closeness:", figures)
    assert figures["drawings"] == 68
    assert figures["same_stroke_count"] == 68
    assert figures["point_count_within_10pct"] >= 0.95
    assert figures["exact_point_count"] >= 15
    assert abs(figures["points_ours"] / figures["points_google"] - 1) < 0.02
    assert figures["mean_dist_ours_to_google_px"] < 0.25
    assert figures["mean_dist_google_to_ours_px"] < 0.25
    assert figures["worst_drawing_mean_dist_px"] < 2.0
    assert figures["frac_points_within_2px"] >= 0.98
    # One owl (key_id 4548479256887296) is shifted 46 px in x in Google's file, which no raw point
    # explains.
    assert figures["frac_bbox_within_3px"] >= 0.95


def test_load_ndjson_raw_gives_valid_stroke3():
    sketches = load_ndjson_raw(os.path.join(ND, "raw", "owl.ndjson"))
    assert len(sketches) == len(read_ndjson(os.path.join(ND, "raw", "owl.ndjson")))
    for s in sketches:
        validate_sketch(s, "owl")
        assert s.dtype == np.int16
