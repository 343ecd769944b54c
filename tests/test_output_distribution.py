"""The decoder's output distribution (`mixture.StrokeDistribution`, Eqs. 3-7) as one tfp object.

Its log-density is checked against the numpy closed form (Graves 2013, Eqs. 24-25) and against the
`MixtureSameFamily` of `MultivariateNormalTriL` that the package used before; its samples against
the mixture's moments (seeded, bounds of a few standard errors); its tempered copy against Eq. 8 /
Magenta's `sample()`; its seeded draws bit for bit against the sampler's former hand-written step.
"""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from sketch_rnn_tf import HParams, SketchRNN
from sketch_rnn_tf.model import losses, mixture

tfd = tfp.distributions
M = 4


def np_softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def random_y(shape, seed, scale=0.7):
    return (
        np.random.default_rng(seed).normal(0, scale, size=shape + (6 * M + 3,)).astype(np.float32)
    )


def np_params(y):
    y = y.astype(np.float64)
    pi, mx, my, sx, sy, rho = np.split(y[..., 3:], 6, axis=-1)
    return dict(
        q=np_softmax(y[..., :3]),
        pi=np_softmax(pi),
        mx=mx,
        my=my,
        sx=np.exp(sx),
        sy=np.exp(sy),
        rho=np.tanh(rho),
    )


def np_log_density(p, x, y):
    """log Σ π N(x, y) in float64, N as Graves (2013) Eqs. 24-25."""
    x, y = x[..., None], y[..., None]
    nx, ny = (x - p["mx"]) / p["sx"], (y - p["my"]) / p["sy"]
    z = nx**2 + ny**2 - 2 * p["rho"] * nx * ny
    one_m = 1 - p["rho"] ** 2
    n = np.exp(-z / (2 * one_m)) / (2 * np.pi * p["sx"] * p["sy"] * np.sqrt(one_m))
    return np.log((p["pi"] * n).sum(-1))


def tril_mixture(y):
    """The former `mixture.distribution`: a MixtureSameFamily of MultivariateNormalTriL."""
    p = mixture.split_params(tf.constant(y), M)
    sx, sy, rho = p.sigma_x, p.sigma_y, p.rho
    zeros = tf.zeros_like(sx)
    scale_tril = tf.stack(
        [tf.stack([sx, zeros], -1), tf.stack([rho * sy, sy * tf.sqrt(1.0 - tf.square(rho))], -1)],
        -2,
    )
    return tfd.MixtureSameFamily(
        tfd.Categorical(logits=p.pi_logits),
        tfd.MultivariateNormalTriL(loc=tf.stack([p.mu_x, p.mu_y], -1), scale_tril=scale_tril),
    )


def test_shapes_and_structure():
    dist = mixture.output_distribution(random_y((3, 5), 0), M)
    assert isinstance(dist, tfd.Distribution)
    assert dist.batch_shape == (3, 5) and dist.event_shape == (5,)
    # (tfd.MixtureSameFamily is a factory: its class is _MixtureSameFamily for these components)
    assert type(dist.offsets).__name__.endswith("MixtureSameFamily")
    assert isinstance(dist.offsets.mixture_distribution, tfd.Categorical)
    assert isinstance(dist.components, mixture.BivariateNormal)
    assert dist.components.batch_shape == (3, 5, M) and dist.components.event_shape == (2,)
    assert isinstance(dist.pen, tfd.OneHotCategorical) and dist.pen.batch_shape == (3, 5)
    assert dist.sample(seed=[1, 2]).shape == (3, 5, 5)
    assert dist.sample(4, seed=[1, 2]).shape == (4, 3, 5, 5)
    assert dist.greedy().shape == (3, 5, 5)
    # an int seed is tfp's stateful kind; a float pair is no seed
    assert dist.sample(seed=3).shape == (3, 5, 5) and dist.sample(seed=np.int64(3)).shape == (
        3,
        5,
        5,
    )
    with pytest.raises(TypeError, match="pair of integers"):
        dist.sample(seed=[1.0, 2.0])
    # slicing keeps the parts consistent
    sub = dist[1, 2:4]
    assert sub.batch_shape == (2,) and sub.components.batch_shape == (2, M)
    x = np.random.default_rng(1).normal(size=(3, 5, 5)).astype(np.float32)
    np.testing.assert_array_equal(sub.log_prob(x[1, 2:4]).numpy(), dist.log_prob(x).numpy()[1, 2:4])
    # a tempered copy slices too (its σ scale is a scalar parameter)
    hot = dist.tempered(0.5)
    np.testing.assert_array_equal(
        hot[1, 2].components.scales()[0].numpy(), hot.components.scales()[0].numpy()[1, 2]
    )
    np.testing.assert_array_equal(
        hot[1, 2].log_prob(x[1, 2]).numpy(), hot.log_prob(x).numpy()[1, 2]
    )
    np.testing.assert_array_equal(
        dist[1, 2].tempered(0.5).log_prob(x[1, 2]).numpy(), hot.log_prob(x).numpy()[1, 2]
    )


def test_log_prob_equals_closed_form_and_tril_mixture():
    y = random_y((6, 7), seed=3)
    rng = np.random.default_rng(4)
    xy = rng.normal(0, 1.5, size=(6, 7, 2)).astype(np.float32)
    dist = mixture.output_distribution(y, M)
    lp = dist.offsets.log_prob(xy).numpy()
    ref = np_log_density(np_params(y), xy[..., 0].astype(np.float64), xy[..., 1].astype(np.float64))
    np.testing.assert_allclose(lp, ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(lp, tril_mixture(y).log_prob(xy).numpy(), rtol=1e-5, atol=1e-5)
    # one component alone against MultivariateNormalTriL
    p = np_params(y)
    comp = mixture.BivariateNormal(
        p["mx"][0, 0, 0],
        p["my"][0, 0, 0],
        sigma_x=p["sx"][0, 0, 0],
        sigma_y=p["sy"][0, 0, 0],
        rho_xy=p["rho"][0, 0, 0],
    )
    cov = comp.covariance().numpy()
    mvn = tfd.MultivariateNormalFullCovariance(comp.mean(), cov)
    np.testing.assert_allclose(
        comp.log_prob(xy).numpy(), mvn.log_prob(xy).numpy(), rtol=1e-5, atol=1e-5
    )
    # σ given by value or by log: the same density
    by_log = mixture.BivariateNormal(
        0.5, -1.0, log_sigma_x=np.log(2.0), log_sigma_y=np.log(0.3), rho_xy=-0.4
    )
    by_val = mixture.BivariateNormal(0.5, -1.0, sigma_x=2.0, sigma_y=0.3, rho_xy=-0.4)
    np.testing.assert_allclose(by_log.log_prob(xy).numpy(), by_val.log_prob(xy).numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="give each scale once"):
        mixture.BivariateNormal(0.0, 0.0, sigma_x=1.0, log_sigma_x=0.0, sigma_y=1.0)


def test_stroke_log_prob_is_offsets_plus_pen():
    y = random_y((4, 3), seed=5)
    rng = np.random.default_rng(6)
    rows = np.zeros((4, 3, 5), np.float32)
    rows[..., :2] = rng.normal(size=(4, 3, 2))
    rows[np.arange(4)[:, None], np.arange(3)[None], 2 + rng.integers(0, 3, (4, 3))] = 1.0
    dist = mixture.output_distribution(y, M)
    q = np_params(y)["q"]
    pen_ref = np.log((q * rows[..., 2:]).sum(-1))
    np.testing.assert_allclose(
        dist.pen.log_prob(rows[..., 2:]).numpy(), pen_ref, rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        dist.log_prob(rows).numpy(),
        dist.offsets.log_prob(rows[..., :2]).numpy() + pen_ref,
        rtol=1e-5,
        atol=1e-5,
    )


def test_loss_uses_the_distribution():
    """L_R = mean(−log(p(Δx,Δy) + 1e-6)·(1 − p3) − log q(p)) from the distribution's own parts."""
    y = random_y((2, 6), seed=7)
    t = np.zeros((2, 6, 5), np.float32)
    t[:, :, :2] = np.random.default_rng(8).normal(size=(2, 6, 2))
    t[0, :4, 2] = 1
    t[0, 4:, 4] = 1
    t[1, :, 3] = 1
    dist = mixture.output_distribution(y, M)
    lp = dist.offsets.log_prob(t[..., :2]).numpy().astype(np.float64)
    offset = -np.log(np.exp(lp) + 1e-6) * (1 - t[..., 4])
    pen = -dist.pen.log_prob(t[..., 2:]).numpy()
    r = losses.reconstruction_loss(tf.constant(y), tf.constant(t), M, mask_pen=False)
    np.testing.assert_allclose(r.offset.numpy(), offset.mean(), rtol=1e-5)
    np.testing.assert_allclose(r.pen.numpy(), pen.mean(), rtol=1e-5)


def _standard_error_bound(samples, expected, k=5.0):
    n = len(samples)
    se = samples.std(0) / np.sqrt(n)
    assert np.all(np.abs(samples.mean(0) - expected) < k * se + 1e-9), (
        samples.mean(0),
        expected,
        se,
    )


def test_bivariate_normal_samples_match_moments():
    d = mixture.BivariateNormal(1.0, -2.0, sigma_x=0.5, sigma_y=2.0, rho_xy=0.7)
    s = d.sample(200_000, seed=[7, 11]).numpy().astype(np.float64)
    _standard_error_bound(s, [1.0, -2.0])
    cov = np.cov(s.T)
    # sample covariance: relative standard error ~ sqrt(2/n) ≈ 0.3%; allow 2%
    np.testing.assert_allclose(cov, d.covariance().numpy(), rtol=0.02, atol=0.01)
    np.testing.assert_allclose(cov, [[0.25, 0.7], [0.7, 4.0]], rtol=0.02)
    # seeded: repeatable, and another seed differs
    np.testing.assert_array_equal(d.sample(5, seed=[7, 11]).numpy(), s[:5].astype(np.float32))
    assert not np.array_equal(d.sample(5, seed=[7, 12]).numpy(), s[:5].astype(np.float32))


def test_stroke_samples_match_mixture_moments():
    y = random_y((), seed=9, scale=1.0)
    dist = mixture.output_distribution(y, M)
    n = 200_000
    s = dist.sample(n, seed=tf.constant([5, 6], tf.int64)).numpy().astype(np.float64)
    p = np_params(y)
    mean = np.array([(p["pi"] * p["mx"]).sum(), (p["pi"] * p["my"]).sum()])
    _standard_error_bound(s[:, :2], mean)
    # E[x²] of the mixture = Σ π (σ² + μ²); E[xy] = Σ π (ρσxσy + μxμy)
    second = np.array(
        [
            (p["pi"] * (p["sx"] ** 2 + p["mx"] ** 2)).sum(),
            (p["pi"] * (p["rho"] * p["sx"] * p["sy"] + p["mx"] * p["my"])).sum(),
        ]
    )
    _standard_error_bound(np.stack([s[:, 0] ** 2, s[:, 0] * s[:, 1]], 1), second)
    # the pen is one-hot, with frequencies q
    assert np.all(s[:, 2:].sum(1) == 1.0)
    _standard_error_bound(s[:, 2:], p["q"])
    np.testing.assert_allclose(dist.offsets.mean().numpy(), mean, rtol=1e-5, atol=1e-6)


def test_tempered_copy_parameters():
    y = random_y((3,), seed=10)
    dist = mixture.output_distribution(y, M)
    p = mixture.split_params(tf.constant(y), M)
    for tau in (0.25, 1.0, 2.0):
        for mode, scale in (("magenta", tau), ("paper", np.sqrt(tau))):
            t = dist.tempered(tau, mode)
            np.testing.assert_allclose(
                t.mixture_logits.numpy(), tf.nn.log_softmax(p.pi_logits).numpy() / tau, rtol=1e-6
            )
            np.testing.assert_allclose(
                t.pen_logits.numpy(), tf.nn.log_softmax(p.pen_logits).numpy() / tau, rtol=1e-6
            )
            sx, sy = t.components.scales()
            np.testing.assert_allclose(sx.numpy(), p.sigma_x.numpy() * scale, rtol=1e-6)
            np.testing.assert_allclose(sy.numpy(), p.sigma_y.numpy() * scale, rtol=1e-6)
            np.testing.assert_array_equal(t.components.mu_x.numpy(), p.mu_x.numpy())
            np.testing.assert_array_equal(t.components.rho_xy.numpy(), p.rho.numpy())
    # a bool tensor picks the mode, as the compiled sampler passes it
    np.testing.assert_allclose(
        dist.tempered(0.25, tf.constant(True)).components.scales()[0].numpy(),
        p.sigma_x.numpy() * 0.5,
        rtol=1e-6,
    )
    # τ = 1: the same distribution
    xy = np.random.default_rng(11).normal(size=(3, 5)).astype(np.float32)
    xy[:, 2:] = np.eye(3, dtype=np.float32)
    np.testing.assert_allclose(
        dist.tempered(1.0).log_prob(xy).numpy(), dist.log_prob(xy).numpy(), rtol=1e-5, atol=1e-6
    )
    # temperature in output_distribution
    np.testing.assert_array_equal(
        mixture.output_distribution(y, M, temperature=0.5, temperature_mode="paper")
        .components.scales()[0]
        .numpy(),
        dist.tempered(0.5, "paper").components.scales()[0].numpy(),
    )
    with pytest.raises(ValueError, match="temperature_mode"):
        dist.tempered(0.5, "hot")


def test_low_temperature_sharpens():
    y = random_y((), seed=12, scale=1.0)
    dist = mixture.output_distribution(y, M)
    s = dist.tempered(0.05).sample(2000, seed=[1, 1]).numpy()
    g = dist.greedy().numpy()
    p = np_params(y)
    j = p["pi"].argmax()
    # nearly always the most likely component and pen state, close to its mean
    assert np.mean(np.all(s[:, 2:] == g[2:], axis=1)) > 0.99
    assert np.mean(np.abs(s[:, 0] - p["mx"][j]) < 4 * 0.05 * p["sx"][j]) > 0.95
    np.testing.assert_allclose(g[:2], [p["mx"][j], p["my"][j]], rtol=1e-6)
    assert g[2 + p["q"].argmax()] == 1.0 and g[2:].sum() == 1.0


def former_sampler_step(y, temperature, sqrt_temperature, seed):
    """The sampler's hand-written step before it drew from `StrokeDistribution` (git history)."""
    p = mixture.split_params(y, M)
    n = tf.shape(y)[0]
    sigma_scale = tf.where(sqrt_temperature, tf.sqrt(temperature), temperature)
    keys = tf.random.experimental.stateless_split(seed, 3)
    pi_logits = tf.nn.log_softmax(p.pi_logits) / temperature
    j = tf.random.stateless_categorical(pi_logits, 1, keys[0], tf.int32)[:, 0]

    def pick(v):
        return tf.gather(v, j, batch_dims=1)

    mu_x, mu_y, rho = pick(p.mu_x), pick(p.mu_y), pick(p.rho)
    sx, sy = tf.exp(pick(p.presig_x)) * sigma_scale, tf.exp(pick(p.presig_y)) * sigma_scale
    e = tf.random.stateless_normal([n, 2], keys[1])
    dx = mu_x + sx * e[:, 0]
    dy = mu_y + sy * (rho * e[:, 0] + tf.sqrt(1.0 - tf.square(rho)) * e[:, 1])
    pen_logits = tf.nn.log_softmax(p.pen_logits) / temperature
    k = tf.random.stateless_categorical(pen_logits, 1, keys[2], tf.int32)[:, 0]
    return tf.concat([tf.stack([dx, dy], 1), tf.one_hot(k, 3)], axis=1)


@pytest.mark.parametrize("sqrt_temperature", [False, True])
def test_seeded_draws_are_the_former_samplers_bit_for_bit(sqrt_temperature):
    y = tf.constant(random_y((64,), seed=13, scale=1.5))

    @tf.function
    def both(seed, temperature):
        new = (
            mixture.output_distribution(y, M)
            .tempered(temperature, tf.constant(sqrt_temperature))
            .sample(seed=seed)
        )
        return new, former_sampler_step(y, temperature, tf.constant(sqrt_temperature), seed)

    for s, tau in (([3, 9], 0.4), ([2**40, 1], 1.0), ([0, 0], 1.7)):
        new, old = both(tf.constant(s, tf.int64), tf.constant(tau))
        np.testing.assert_array_equal(new.numpy(), old.numpy())


# ----------------------------------------------------------------------------- model level
def tiny_model(conditional=True):
    import keras

    keras.utils.set_random_seed(3)
    hp = HParams(
        max_seq_len=12,
        enc_rnn_size=8,
        dec_rnn_size=12,
        z_size=4,
        num_mixture=M,
        conditional=conditional,
    )
    return SketchRNN(hp, scale_factor=2.0)


def sketches():
    rng = np.random.default_rng(14)
    out = []
    for n in (5, 9):
        s = np.zeros((n, 3), np.float32)
        s[:, :2] = rng.normal(0, 4, (n, 2))
        s[-1, 2] = 1
        out.append(s)
    return out


@pytest.mark.parametrize("conditional", [True, False])
def test_predictive_distribution_gives_the_reconstruction_loss(conditional):
    model = tiny_model(conditional)
    data = sketches()
    dist = model.predictive_distribution(data)
    assert isinstance(dist, mixture.StrokeDistribution)
    assert dist.batch_shape == (2, 12)
    batch, lengths = model.prepare(data)
    targets = batch.numpy()[:, 1:]
    not_end = 1 - targets[..., 4]
    offset = mixture.offset_nll(dist, targets[..., :2]).numpy() * not_end
    pen = -dist.pen.log_prob(targets[..., 2:]).numpy() * not_end
    np.testing.assert_allclose(np.mean(offset + pen), model.reconstruction_loss(data), rtol=1e-6)
    # the joint log p of each real row is finite; after the whole sketch the model predicts a row
    assert np.all(np.isfinite(dist.log_prob(targets).numpy()))
    after = dist[1, len(data[1])]
    assert after.batch_shape == () and after.sample(seed=[0, 1]).shape == (5,)
    if conditional:
        z = model.encode(data)
        same = model.predictive_distribution(data, z=z)
        np.testing.assert_allclose(
            same.offsets.log_prob(targets[..., :2]).numpy(),
            dist.offsets.log_prob(targets[..., :2]).numpy(),
            rtol=1e-5,
            atol=1e-5,
        )
        other = model.predictive_distribution(data, z=np.ones(4, np.float32))
        assert not np.allclose(other.mixture_logits.numpy(), dist.mixture_logits.numpy())
