"""sketch_rnn_tf.sampling: the latent tools and completion.

Latent maths, model-level latent helpers and sketch completion (tiny random models, so the tests
are fast).
"""

import numpy as np
import pytest

from sketch_rnn_tf.sampling import complete, truncate
from sketch_rnn_tf.sampling.latent import (
    InterpolationGrid,
    analogy,
    analogy_sketches,
    grid,
    interpolate,
    interpolation_grid,
    interpolation_row,
    lerp,
    reconstruct,
    slerp,
)

Z = 6
MAX_LEN = 24
SCALE = 12.5


@pytest.fixture(scope="module")
def tiny_config():
    return dict(max_seq_len=MAX_LEN, z_size=Z, scale_factor=SCALE, use_recurrent_dropout=False)


def _sketch(rng, n):
    s = np.zeros((n, 3), np.float32)
    s[:, :2] = np.round(rng.normal(0, 20, (n, 2)))
    s[:, 2] = rng.random(n) < 0.2
    s[-1, 2] = 1
    return s


@pytest.fixture(scope="module")
def sketches():
    rng = np.random.default_rng(0)
    return [_sketch(rng, n) for n in (10, 14, 8, 12)]


# --------------------------------------------------------------------------- lerp / slerp
def test_lerp_endpoints_and_midpoint():
    a, b = np.array([1.0, 2.0, 3.0]), np.array([-1.0, 0.0, 5.0])
    np.testing.assert_array_equal(lerp(a, b, 0.0), a)
    np.testing.assert_array_equal(lerp(a, b, 1.0), b)
    np.testing.assert_allclose(lerp(a, b, 0.5), [0.0, 1.0, 4.0])
    out = lerp(a, b, [0.0, 0.25, 1.0])
    assert out.shape == (3, 3)
    np.testing.assert_allclose(out[1], 0.75 * a + 0.25 * b)


def test_slerp_endpoints_and_unit_norm():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=16), rng.normal(size=16)
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    t = np.linspace(0, 1, 11)
    out = slerp(a, b, t)
    np.testing.assert_array_equal(out[0], a)
    np.testing.assert_array_equal(out[-1], b)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-12)
    # equal angular steps along the great circle
    angles = np.arccos(np.clip(np.sum(out[:-1] * out[1:], axis=1), -1, 1))
    np.testing.assert_allclose(angles, angles[0], atol=1e-9)


def test_slerp_quarter_circle():
    out = slerp([1.0, 0.0], [0.0, 1.0], 0.5)
    np.testing.assert_allclose(out, [np.sqrt(0.5), np.sqrt(0.5)], atol=1e-12)


def test_slerp_parallel_falls_back_to_lerp():
    a = np.array([1.0, 2.0, 2.0])
    for b in (a.copy(), 3 * a):  # ω = 0: same vector, and same direction with another length
        out = slerp(a, b, [0.0, 0.3, 1.0])
        assert np.all(np.isfinite(out))
        np.testing.assert_allclose(out, lerp(a, b, [0.0, 0.3, 1.0]))
    np.testing.assert_allclose(slerp(np.zeros(3), a, 0.5), 0.5 * a)  # zero vector


def test_slerp_antipodal_stays_off_origin():
    a = np.array([1.0, 0.0, 0.0, 0.0])
    out = slerp(a, -a, np.linspace(0, 1, 9))
    assert np.all(np.isfinite(out))
    np.testing.assert_array_equal(out[0], a)
    np.testing.assert_array_equal(out[-1], -a)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(out, slerp(a, -a, np.linspace(0, 1, 9)))  # deterministic


def test_slerp_keeps_float32():
    a = np.ones(4, np.float32)
    assert slerp(a, -a * 2, 0.5).dtype == np.float32
    assert lerp(a, a, 0.5).dtype == np.float32


def test_interpolate_shapes_and_methods():
    a, b = np.array([1.0, 0.0]), np.array([0.0, 2.0])
    for method in ("slerp", "lerp"):
        out = interpolate(a, b, 5, method=method)
        assert out.shape == (5, 2)
        np.testing.assert_array_equal(out[0], a)
        np.testing.assert_array_equal(out[-1], b)
    np.testing.assert_allclose(interpolate(a, b, 3, "lerp")[1], [0.5, 1.0])
    assert interpolate(a, b, 1).shape == (1, 2)
    with pytest.raises(ValueError, match="method"):
        interpolate(a, b, 3, method="cubic")
    with pytest.raises(ValueError, match="n must be"):
        interpolate(a, b, 0)
    with pytest.raises(ValueError, match="differ in shape"):
        interpolate(a, np.ones(3), 3)


def test_grid_corners_are_the_given_corners():
    rng = np.random.default_rng(2)
    corners = [rng.normal(size=Z) for _ in range(4)]
    for method in ("slerp", "lerp"):
        g = grid(*corners, rows=4, cols=5, method=method)
        assert g.shape == (4, 5, Z)
        np.testing.assert_array_equal(g[0, 0], corners[0])
        np.testing.assert_array_equal(g[0, -1], corners[1])
        np.testing.assert_array_equal(g[-1, 0], corners[2])
        np.testing.assert_array_equal(g[-1, -1], corners[3])
    g = grid(*corners, rows=3, cols=3, method="lerp")
    np.testing.assert_allclose(g[1, 1], np.mean(corners, axis=0))


def test_analogy_arithmetic():
    a, b, c = np.array([1.0, 2.0]), np.array([0.5, -1.0]), np.array([3.0, 0.0])
    np.testing.assert_allclose(analogy(a, b, c), [3.5, 3.0])
    np.testing.assert_allclose(analogy(a, a, c), c)


# --------------------------------------------------------------------------- model helpers
def _same(xs, ys):
    return len(xs) == len(ys) and all(
        x.shape == y.shape and np.allclose(x, y) for x, y in zip(xs, ys)
    )


def test_interpolation_row_has_n_sketches(tiny_vae, sketches):
    row = interpolation_row(tiny_vae, sketches[0], sketches[1], n=5, temperature=0.5, seed=3)
    assert len(row) == 5
    assert all(s.ndim == 2 and s.shape[1] == 3 and len(s) <= MAX_LEN for s in row)
    assert _same(
        row, interpolation_row(tiny_vae, sketches[0], sketches[1], n=5, temperature=0.5, seed=3)
    )
    z = tiny_vae.encode(sketches[:2])  # latent vectors work in place of sketches
    assert len(interpolation_row(tiny_vae, z[0], z[1], n=3, greedy=True)) == 3


def test_interpolation_grid(tiny_vae, sketches):
    result = interpolation_grid(
        tiny_vae,
        sketches,
        rows=3,
        cols=4,
        temperature=0.3,
        seed=0,
        corner_colors=[(255, 0, 0), (0, 0, 255), (0, 255, 0), (0, 0, 0)],
    )
    assert isinstance(result, InterpolationGrid)
    assert len(result.sketches) == 3 and all(len(r) == 4 for r in result.sketches)
    assert result.colors.shape == (3, 4, 3)
    np.testing.assert_allclose(result.colors[0, 0], [255, 0, 0])
    np.testing.assert_allclose(result.colors[-1, -1], [0, 0, 0])
    # greedy decoding of the corners is greedy decoding of their means
    greedy = interpolation_grid(tiny_vae, sketches, rows=2, cols=2, greedy=True)
    direct = tiny_vae.sample(n=4, z=tiny_vae.encode(sketches), greedy=True)
    assert _same([s for r in greedy.sketches for s in r], direct)


def test_reconstruct_rows_per_sketch(tiny_vae, sketches):
    rec = reconstruct(tiny_vae, sketches[:3], temperatures=(0.1, 1.0), seed=5)
    assert len(rec) == 3 and all(len(r) == 2 for r in rec)
    again = reconstruct(tiny_vae, sketches[:3], temperatures=(0.1, 1.0), seed=5)
    assert all(_same(a, b) for a, b in zip(rec, again))
    assert len(reconstruct(tiny_vae, sketches[0], temperatures=[0.5])) == 1


def test_analogy_sketches_decodes_the_analogy(tiny_vae, sketches):
    out = analogy_sketches(tiny_vae, *sketches[:3], n=2, greedy=True)
    z = analogy(*tiny_vae.encode(sketches[:3]))
    assert _same(out, tiny_vae.sample(n=2, z=z, greedy=True))


def test_latent_helpers_need_a_conditional_model(tiny_decoder_only, sketches):
    with pytest.raises(ValueError, match="conditional"):
        interpolation_row(tiny_decoder_only, sketches[0], sketches[1])
    with pytest.raises(ValueError, match="conditional"):
        reconstruct(tiny_decoder_only, sketches)


# --------------------------------------------------------------------------- completion
def _starts_with(result, prefix):
    m = len(prefix)
    if len(result) < m:
        return False
    ok = np.allclose(result[:m, :2], prefix[:, :2], rtol=1e-5, atol=1e-6 * SCALE * 10)
    return ok and np.array_equal(result[:m, 2], prefix[:, 2])


def test_completion_starts_with_prefix_and_is_seeded(tiny_vae, sketches):
    partial = truncate(sketches[1], fraction=0.5)
    # An untrained model may end every sketch at once; make the end-of-sketch state unlikely so the
    # endings have points to compare.
    bias = tiny_vae.decoder.output_b
    saved = bias.numpy()
    bias.assign(np.concatenate([saved[:2], [-30.0], saved[3:]]).astype(np.float32))
    try:
        out = complete(tiny_vae, partial, n=6, temperature=1.0, seed=11)
        assert len(out) == 6
        for s in out:
            assert _starts_with(s, partial)
            assert len(s) <= MAX_LEN
        tails = [s[len(partial) :] for s in out]
        assert all(len(t) > 0 for t in tails)
        assert len({t.tobytes() for t in tails}) > 1, "the n endings should differ"
        assert _same(out, complete(tiny_vae, partial, n=6, temperature=1.0, seed=11))
        assert not _same(out, complete(tiny_vae, partial, n=6, temperature=1.0, seed=12))
    finally:
        bias.assign(saved)


def test_completion_default_z_is_the_partial_mean(tiny_vae, sketches):
    partial = truncate(sketches[0], num_strokes=1)
    z = tiny_vae.encode([partial])[0]
    a = complete(tiny_vae, partial, n=2, greedy=True)
    b = complete(tiny_vae, partial, n=2, greedy=True, z=z)
    assert _same(a, b)
    other = complete(tiny_vae, partial, n=2, greedy=True, z=np.full(Z, 3.0, np.float32))
    assert all(_starts_with(s, partial) for s in other)


def test_completion_of_several_partials(tiny_vae, sketches):
    partials = [truncate(s, fraction=0.4) for s in sketches[:3]]
    out = complete(tiny_vae, partials, n=2, temperature=0.5, seed=1)
    assert len(out) == 3 and all(len(g) == 2 for g in out)
    for group, p in zip(out, partials):
        assert all(_starts_with(s, p) for s in group)


def test_completion_decoder_only(tiny_decoder_only, sketches):
    partial = truncate(sketches[3], fraction=0.5)
    out = complete(tiny_decoder_only, partial, n=4, temperature=0.8, seed=2)
    assert len(out) == 4
    assert all(_starts_with(s, partial) for s in out)
    assert _same(out, complete(tiny_decoder_only, partial, n=4, temperature=0.8, seed=2))
    with pytest.raises(ValueError, match="decoder-only"):
        complete(tiny_decoder_only, partial, z=np.zeros(Z))


def test_completion_rejects_bad_input(tiny_vae, sketches):
    with pytest.raises(ValueError, match="nothing is left"):
        complete(tiny_vae, np.zeros((MAX_LEN, 3), np.float32))
    with pytest.raises(ValueError, match="shape"):
        complete(tiny_vae, np.zeros((4, 2), np.float32))
    with pytest.raises(ValueError, match="n must be"):
        complete(tiny_vae, sketches[0][:3], n=0)


def test_truncate():
    s = np.array([[1, 1, 0], [1, 1, 1], [2, 0, 0], [2, 0, 1], [3, 3, 1]], np.float32)
    np.testing.assert_array_equal(truncate(s, num_strokes=1), s[:2])
    np.testing.assert_array_equal(truncate(s, num_strokes=2), s[:4])
    np.testing.assert_array_equal(truncate(s, num_strokes=9), s)
    assert len(truncate(s, fraction=0.4)) == 2
    assert len(truncate(s, fraction=0.01)) == 1
    with pytest.raises(ValueError):
        truncate(s)
    with pytest.raises(ValueError):
        truncate(s, fraction=1.5)
