"""`SketchRNN` API: forward shapes, encode, sampling, input errors, config, XLA."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from _tiny import tiny_hparams

from sketch_rnn_tf.model import ModelInputError, SketchRNN

SMALL = tiny_hparams(
    dec_rnn_size=12,
    max_seq_len=30,
    hyper_num_units=16,
    hyper_embedding_size=4,
    use_recurrent_dropout=False,
)
SCALE = 10.0


def sketch(n, seed):
    rng = np.random.default_rng(seed)
    s = np.zeros((n, 3), np.float32)
    s[:, :2] = rng.normal(0, 20.0, size=(n, 2)).round()
    s[:, 2] = rng.random(n) < 0.2
    s[-1, 2] = 1
    return s


SKETCHES = [sketch(12, 0), sketch(30, 1), sketch(3, 2)]


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(1234)  # module fixtures run before conftest's per-test seeding
    return SketchRNN(SMALL, SCALE)


@pytest.fixture(scope="module")
def uncond():
    keras.utils.set_random_seed(1234)
    return SketchRNN(SMALL.replace(conditional=False, dec_model="layer_norm"), SCALE)


def test_call_output_shapes(model, uncond):
    batch, lengths = model.prepare(SKETCHES)
    T = SMALL.max_seq_len
    assert batch.shape == (3, T + 1, 5) and lengths.numpy().tolist() == [12, 30, 3]
    out = model((batch, lengths))
    assert out["y"].shape == (3, T, 6 * 3 + 3)
    for k in ("mu", "presig", "z"):
        assert out[k].shape == (3, SMALL.z_size)
    out = uncond((batch, lengths))
    assert set(out) == {"y"} and out["y"].shape == (3, T, 21)
    losses = model.compute_losses(batch, lengths, training=True)
    assert set(losses) >= {"r_cost", "offset", "pen", "kl", "kl_raw"}
    assert all(np.isfinite(float(v)) for v in losses.values())
    assert float(losses["kl"]) >= model.hparams.kl_tolerance


def test_prepare_scales_and_pads(model):
    batch, lengths = model.prepare(SKETCHES[:1])
    b = batch.numpy()[0]
    np.testing.assert_array_equal(b[0], [0, 0, 1, 0, 0])
    np.testing.assert_allclose(b[1:13, :2], SKETCHES[0][:, :2] / SCALE, rtol=1e-6)
    np.testing.assert_array_equal(b[1:13, 3], SKETCHES[0][:, 2])
    np.testing.assert_array_equal(b[13:], np.tile([0, 0, 0, 0, 1], (30 - 12, 1)))
    # a single (n, 3) array is one sketch
    assert model.prepare(SKETCHES[0])[0].shape[0] == 1


def test_encode_mean_and_seeded_sample(model):
    mu, presig = model.latent(SKETCHES)
    z = model.encode(SKETCHES)
    np.testing.assert_array_equal(z, mu)
    np.testing.assert_array_equal(model.encode(SKETCHES), z)
    a = model.encode(SKETCHES, sample=True, seed=3)
    b = model.encode(SKETCHES, sample=True, seed=3)
    c = model.encode(SKETCHES, sample=True, seed=4)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert not np.allclose(a, mu)
    assert a.shape == mu.shape == presig.shape == (3, SMALL.z_size)


def test_reconstruction_loss_with_given_z(model):
    mu = model.encode(SKETCHES)
    r_mu = model.reconstruction_loss(SKETCHES)
    assert r_mu == pytest.approx(model.reconstruction_loss(SKETCHES, z=mu), abs=1e-6)
    r_other = model.reconstruction_loss(SKETCHES, z=mu + 1.0)
    assert r_other != pytest.approx(r_mu, abs=1e-6)
    with pytest.raises(ModelInputError):
        model.reconstruction_loss(SKETCHES, z=np.zeros((2, SMALL.z_size), np.float32))


def _same(a, b):
    return len(a) == len(b) and all(
        x.shape == y.shape and np.array_equal(x, y) for x, y in zip(a, b)
    )


def test_sample_seeded_repeatable_and_format(model):
    a = model.sample(4, temperature=0.8, seed=11)
    b = model.sample(4, temperature=0.8, seed=11)
    c = model.sample(4, temperature=0.8, seed=12)
    assert _same(a, b)
    assert not _same(a, c)
    assert isinstance(a, list) and len(a) == 4
    for s in a:
        assert s.ndim == 2 and s.shape[1] == 3 and 1 <= len(s) <= SMALL.max_seq_len
        assert np.all(np.isfinite(s))
        assert set(np.unique(s[:, 2])) <= {0.0, 1.0}
    z = np.random.default_rng(0).normal(size=SMALL.z_size).astype(np.float32)
    assert _same(model.sample(2, z=z, seed=5), model.sample(2, z=z, seed=5))
    assert len(model.sample(2, seed=1, max_len=5)[0]) <= 5


def test_greedy_sampling_is_deterministic(model):
    z = np.zeros(SMALL.z_size, np.float32)
    a = model.sample(2, z=z, greedy=True, seed=1)
    b = model.sample(2, z=z, greedy=True, seed=2)
    assert _same(a, b)
    np.testing.assert_array_equal(a[0], a[1])


def test_temperature_modes_differ(model):
    z = np.zeros(SMALL.z_size, np.float32)
    m = model.sample(3, temperature=0.25, z=z, seed=7, temperature_mode="magenta")
    p = model.sample(3, temperature=0.25, z=z, seed=7, temperature_mode="paper")
    assert not _same(m, p)
    # at τ = 1 both modes scale σ by 1: the same draw
    assert _same(
        model.sample(3, temperature=1.0, z=z, seed=7, temperature_mode="magenta"),
        model.sample(3, temperature=1.0, z=z, seed=7, temperature_mode="paper"),
    )
    with pytest.raises(ValueError):
        model.sample(1, temperature_mode="bogus")
    with pytest.raises(ValueError):
        model.sample(1, temperature=0.0)


def test_decoder_only_model(uncond):
    out = uncond.sample(3, seed=1)
    assert len(out) == 3 and all(s.shape[1] == 3 for s in out)
    assert _same(out, uncond.sample(3, seed=1))
    assert np.isfinite(uncond.reconstruction_loss(SKETCHES))
    with pytest.raises(ValueError, match="decoder-only"):
        uncond.encode(SKETCHES)
    with pytest.raises(ValueError, match="decoder-only"):
        uncond.latent(SKETCHES)
    with pytest.raises(ValueError):
        uncond.sample(1, z=np.zeros(4, np.float32))
    assert uncond.encoder is None
    assert not any("ENC_RNN" in n for n in uncond.magenta_variables())


@pytest.mark.parametrize(
    "bad,match",
    [
        ([sketch(31, 0)], "max_seq_len"),
        ([np.array([[1.0, np.nan, 0.0], [1.0, 2.0, 1.0]], np.float32)], "NaN"),
        ([np.array([[1.0, np.inf, 0.0]], np.float32)], "inf"),
        ([np.zeros((4, 2), np.float32)], "shape"),
        ([np.zeros((4, 3, 1), np.float32)], "shape"),
        ([np.zeros((0, 3), np.float32)], "empty"),
        ([], "no sketches"),
    ],
)
def test_prepare_errors(model, bad, match):
    with pytest.raises(ModelInputError, match=match):
        model.prepare(bad)
    with pytest.raises(ModelInputError):
        model.reconstruction_loss(bad)
    assert issubclass(ModelInputError, ValueError)


def test_get_config_round_trip(model):
    config = model.get_config()
    clone = SketchRNN.from_config(config)
    assert clone.hparams == model.hparams
    assert clone.scale_factor == pytest.approx(SCALE)
    assert list(clone.magenta_variables()) == list(model.magenta_variables())
    for (n, v), (_, w) in zip(clone.magenta_variables().items(), model.magenta_variables().items()):
        assert v.shape == w.shape, n
    # copying the weights gives the same loss
    for n, v in clone.magenta_variables().items():
        v.assign(model.magenta_variables()[n])
    assert clone.reconstruction_loss(SKETCHES) == pytest.approx(
        model.reconstruction_loss(SKETCHES), abs=1e-6
    )
    with pytest.raises(ValueError):
        model.scale_factor = 0.0


def test_forward_pass_under_xla(model):
    batch, lengths = model.prepare(SKETCHES)
    z = tf.constant(model.encode(SKETCHES))

    @tf.function(jit_compile=True)
    def forward(batch, lengths, z):
        out = model((batch, lengths), training=False, z=z)
        losses = model.compute_losses(batch, lengths, training=False, z=z, mask_pen=True)
        return out["y"], out["mu"], losses["r_cost"]

    y_xla, mu_xla, r_xla = forward(batch, lengths, z)
    out = model((batch, lengths), training=False, z=z)
    np.testing.assert_allclose(y_xla.numpy(), out["y"].numpy(), atol=1e-4)
    np.testing.assert_allclose(mu_xla.numpy(), out["mu"].numpy(), atol=1e-5)
    assert float(r_xla) == pytest.approx(model.reconstruction_loss(SKETCHES), abs=1e-4)
