"""Mixture density and loss terms against numpy versions of Magenta's `get_lossfunc` (facts §1.2).

Magenta computes the offset term in probability space: −log(Σ_m π_m N_m + 1e-6), with
N = exp(−z / (2(1−ρ²))) / (2π σx σy √(1−ρ²)), and the loss is averaged over all B·N_max rows.
"""

import numpy as np
import pytest
import tensorflow as tf

from sketch_rnn_tf.model import losses, mixture

M = 3


def np_softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def np_mixture(y):
    """Magenta's get_mixture_coef on [..., 6M+3] (float64)."""
    pen_logits = y[..., :3]
    pi, mx, my, sx, sy, rho = np.split(y[..., 3:], 6, axis=-1)
    return dict(
        pen_logits=pen_logits,
        pen=np_softmax(pen_logits),
        pi=np_softmax(pi),
        mx=mx,
        my=my,
        sx=np.exp(sx),
        sy=np.exp(sy),
        rho=np.tanh(rho),
    )


def np_density(p, x1, x2):
    """Σ π N in probability space (tf_2d_normal)."""
    x1, x2 = x1[..., None], x2[..., None]
    n1, n2 = x1 - p["mx"], x2 - p["my"]
    s1s2 = p["sx"] * p["sy"]
    z = (n1 / p["sx"]) ** 2 + (n2 / p["sy"]) ** 2 - 2 * p["rho"] * n1 * n2 / s1s2
    neg_rho = 1 - p["rho"] ** 2
    n = np.exp(-z / (2 * neg_rho)) / (2 * np.pi * s1s2 * np.sqrt(neg_rho))
    return (p["pi"] * n).sum(-1)


def np_r_cost(y, targets, training):
    p = np_mixture(y.astype(np.float64))
    t = targets.astype(np.float64)
    result1 = -np.log(np_density(p, t[..., 0], t[..., 1]) + 1e-6)
    fs = 1.0 - t[..., 4]
    result1 = result1 * fs
    result2 = -(t[..., 2:5] * np.log(p["pen"])).sum(-1)
    if not training:
        result2 = result2 * fs
    return np.mean(result1 + result2), np.mean(result1), np.mean(result2)


def random_y(shape, seed):
    rng = np.random.default_rng(seed)
    y = rng.normal(0, 0.7, size=shape + (6 * M + 3,))
    return y.astype(np.float32)


def test_split_params_layout():
    y = np.arange(6 * M + 3, dtype=np.float32)[None]
    p = mixture.split_params(tf.constant(y), M)
    np.testing.assert_array_equal(p.pen_logits.numpy(), [[0, 1, 2]])
    np.testing.assert_array_equal(p.pi_logits.numpy(), [[3, 4, 5]])
    np.testing.assert_array_equal(p.mu_x.numpy(), [[6, 7, 8]])
    np.testing.assert_array_equal(p.mu_y.numpy(), [[9, 10, 11]])
    np.testing.assert_array_equal(p.presig_x.numpy(), [[12, 13, 14]])
    np.testing.assert_array_equal(p.presig_y.numpy(), [[15, 16, 17]])
    np.testing.assert_allclose(p.rho.numpy(), np.tanh([[18, 19, 20]]), rtol=1e-6)
    np.testing.assert_allclose(p.sigma_x.numpy(), np.exp([[12, 13, 14]]), rtol=1e-6)
    np.testing.assert_allclose(p.pi.numpy().sum(), 1.0, rtol=1e-6)
    np.testing.assert_allclose(p.pen.numpy().sum(), 1.0, rtol=1e-6)


def test_offset_log_prob_and_nll_match_probability_space():
    y = random_y((4, 6), seed=0)
    rng = np.random.default_rng(1)
    dx = rng.normal(0, 1.0, size=(4, 6)).astype(np.float32)
    dy = rng.normal(0, 1.0, size=(4, 6)).astype(np.float32)
    dist = mixture.output_distribution(tf.constant(y), M)
    xy = tf.constant(np.stack([dx, dy], -1))
    dens = np_density(
        np_mixture(y.astype(np.float64)), dx.astype(np.float64), dy.astype(np.float64)
    )
    log_p = dist.offsets.log_prob(xy).numpy()
    np.testing.assert_allclose(log_p, np.log(dens), rtol=1e-5, atol=1e-5)
    nll = mixture.offset_nll(dist, xy).numpy()
    np.testing.assert_allclose(nll, -np.log(dens + 1e-6), rtol=1e-5, atol=1e-5)


def test_offset_nll_epsilon_floor_far_from_the_mixture():
    """Far from every component the density underflows and Magenta's value is −log(1e-6)."""
    y = random_y((2,), seed=2)
    dist = mixture.output_distribution(tf.constant(y), M)
    far = tf.constant([[1e3, 1e3], [-1e3, -1e3]], tf.float32)
    nll = mixture.offset_nll(dist, far).numpy()
    np.testing.assert_allclose(nll, -np.log(1e-6), rtol=1e-6)
    assert np.all(np.isfinite(nll))
    # a density comparable to 1e-6 shows the epsilon's effect (not just log p)
    p = np_mixture(y.astype(np.float64))
    x = np.array([3.0, -2.5])
    dens = np_density(p, x, x)
    nll = mixture.offset_nll(dist, tf.constant(np.stack([x, x], -1), tf.float32)).numpy()
    np.testing.assert_allclose(nll, -np.log(dens + 1e-6), rtol=1e-5)


def make_targets(lengths, T):
    """A stroke-5 target batch [B, T, 5]: random offsets/pen for `len` rows, then (0,0,0,0,1)."""
    rng = np.random.default_rng(5)
    t = np.zeros((len(lengths), T, 5), np.float32)
    for b, n in enumerate(lengths):
        t[b, :n, :2] = rng.normal(0, 1.0, size=(n, 2))
        pen = rng.random(n) < 0.3
        t[b, :n, 2] = ~pen
        t[b, :n, 3] = pen
        t[b, n:, 4] = 1.0
    return t


@pytest.mark.parametrize("training", [True, False])
def test_reconstruction_loss_masking(training):
    T = 7
    targets = make_targets([7, 4, 2], T)
    y = random_y((3, T), seed=6)
    r = losses.reconstruction_loss(tf.constant(y), tf.constant(targets), M, mask_pen=not training)
    total, offset, pen = np_r_cost(y, targets, training)
    np.testing.assert_allclose(r.total.numpy(), total, rtol=1e-5)
    np.testing.assert_allclose(r.offset.numpy(), offset, rtol=1e-5)
    np.testing.assert_allclose(r.pen.numpy(), pen, rtol=1e-5)


def test_reconstruction_loss_hand_made():
    """One sketch of 1 real row and 1 padding row, mixture of identical unit components at 0."""
    y = np.zeros((1, 2, 6 * M + 3), np.float32)  # π uniform, μ=0, σ=1, ρ=0; pen logits 0
    targets = np.array([[[0, 0, 1, 0, 0], [0, 0, 0, 0, 1]]], np.float32)
    offset_row = -np.log(1.0 / (2 * np.pi) + 1e-6)
    pen_row = np.log(3.0)
    train = losses.reconstruction_loss(tf.constant(y), tf.constant(targets), M, mask_pen=False)
    evalr = losses.reconstruction_loss(tf.constant(y), tf.constant(targets), M, mask_pen=True)
    # offset: only the real row counts, but the mean is over B·N_max = 2 rows
    np.testing.assert_allclose(train.offset.numpy(), offset_row / 2, rtol=1e-6)
    # training: the pen loss counts on the padding row too
    np.testing.assert_allclose(train.pen.numpy(), pen_row, rtol=1e-6)
    np.testing.assert_allclose(train.total.numpy(), offset_row / 2 + pen_row, rtol=1e-6)
    # eval: pen loss masked after the end
    np.testing.assert_allclose(evalr.pen.numpy(), pen_row / 2, rtol=1e-6)
    np.testing.assert_allclose(evalr.total.numpy(), (offset_row + pen_row) / 2, rtol=1e-6)


def test_reconstruction_loss_normalised_by_n_max():
    """Adding padding rows (with masked terms) divides the eval loss by the padded length."""
    y = random_y((2, 4), seed=7)
    targets = make_targets([4, 3], 4)
    short = losses.reconstruction_loss(tf.constant(y), tf.constant(targets), M, True).total.numpy()
    y8 = np.concatenate([y, random_y((2, 4), seed=8)], 1)
    t8 = np.concatenate([targets, make_targets([0, 0], 4)], 1)
    long = losses.reconstruction_loss(tf.constant(y8), tf.constant(t8), M, True).total.numpy()
    np.testing.assert_allclose(long, short / 2, rtol=1e-5)


def test_kl_loss_numpy_and_tolerance():
    rng = np.random.default_rng(9)
    mu = rng.normal(0, 1.0, size=(4, 5)).astype(np.float32)
    presig = rng.normal(0, 0.5, size=(4, 5)).astype(np.float32)
    m, s = mu.astype(np.float64), presig.astype(np.float64)
    kl = -0.5 * np.mean(1 + s - m**2 - np.exp(s))
    np.testing.assert_allclose(losses.kl_divergence(mu, presig).numpy(), kl, rtol=1e-5)
    np.testing.assert_allclose(losses.kl_loss(mu, presig, 0.2).numpy(), max(kl, 0.2), rtol=1e-5)
    # below the floor: a posterior close to N(0, I)
    small_mu = (mu * 0.01).astype(np.float32)
    small_ps = (presig * 0.01).astype(np.float32)
    raw = losses.kl_divergence(small_mu, small_ps).numpy()
    assert raw < 0.2
    np.testing.assert_allclose(losses.kl_loss(small_mu, small_ps, 0.2).numpy(), 0.2, rtol=1e-6)
    # exactly N(0, I): zero KL
    assert (
        losses.kl_divergence(np.zeros((2, 3), np.float32), np.zeros((2, 3), np.float32)).numpy()
        == 0.0
    )
    # the floor is a value in (0, kl) -> no effect
    np.testing.assert_allclose(losses.kl_loss(mu, presig, kl / 2).numpy(), kl, rtol=1e-5)
