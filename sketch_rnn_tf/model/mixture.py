"""The decoder's output distribution (Eqs. 3-7 of the paper).

A mixture of M bivariate normals for (Δx, Δy) and a categorical over the three pen states.

The 6M + 3 outputs y_i are laid out as Magenta lays them out:

    [pen logits q̂ (3) | π̂ (M) | μx (M) | μy (M) | σ̂x (M) | σ̂y (M) | ρ̂xy (M)]

with π = softmax(π̂) (Eq. 6), σ = exp(σ̂), ρ = tanh(ρ̂) (Eq. 7) and q = softmax(q̂) (Eq. 7).
`distribution(params)` returns the offset mixture as a `tfp.distributions.MixtureSameFamily`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import tensorflow as tf
import tensorflow_probability as tfp

tfd = tfp.distributions

# Magenta adds 1e-6 to the mixture density before the log (`get_lossfunc`).
DENSITY_EPSILON = 1e-6


class MixtureParams(NamedTuple):
    """Mixture and pen parameters for each step; every field is [..., M] except the pen ones."""

    pi_logits: tf.Tensor   # π̂, unnormalised log-weights
    mu_x: tf.Tensor
    mu_y: tf.Tensor
    presig_x: tf.Tensor    # σ̂x = log σx
    presig_y: tf.Tensor
    rho: tf.Tensor         # ρ = tanh(ρ̂)
    pen_logits: tf.Tensor  # q̂, [..., 3]

    @property
    def pi(self):
        return tf.nn.softmax(self.pi_logits, axis=-1)

    @property
    def sigma_x(self):
        return tf.exp(self.presig_x)

    @property
    def sigma_y(self):
        return tf.exp(self.presig_y)

    @property
    def pen(self):
        return tf.nn.softmax(self.pen_logits, axis=-1)


def split_params(y, num_mixture):
    """Splits the decoder output y [..., 6M+3] into `MixtureParams` (Magenta's get_mixture_coef)."""
    m = num_mixture
    pen_logits = y[..., :3]
    pi, mu_x, mu_y, sx, sy, rho = tf.split(y[..., 3:3 + 6 * m], 6, axis=-1)
    return MixtureParams(pi, mu_x, mu_y, sx, sy, tf.tanh(rho), pen_logits)


def bivariate_normal_log_prob(x, y, mu_x, mu_y, presig_x, presig_y, rho):
    """log N(x, y | μ, σ, ρ) of Eq. 3's components (Graves 2013, Eqs. 24-25), broadcast over M."""
    sx, sy = tf.exp(presig_x), tf.exp(presig_y)
    nx, ny = (x - mu_x) / sx, (y - mu_y) / sy
    one_minus_rho2 = 1.0 - tf.square(rho)
    z = tf.square(nx) + tf.square(ny) - 2.0 * rho * nx * ny
    return (-z / (2.0 * one_minus_rho2) - math.log(2.0 * math.pi) - presig_x - presig_y
            - 0.5 * tf.math.log(one_minus_rho2))


def offset_log_prob(params: MixtureParams, dx, dy):
    """log Σ_j π_j N(Δx, Δy | μ_j, σ_j, ρ_j) (Eq. 3); `dx`, `dy` are [...], params [..., M]."""
    log_n = bivariate_normal_log_prob(dx[..., None], dy[..., None], params.mu_x, params.mu_y,
                                      params.presig_x, params.presig_y, params.rho)
    return tf.reduce_logsumexp(tf.nn.log_softmax(params.pi_logits, axis=-1) + log_n, axis=-1)


def offset_nll(params: MixtureParams, dx, dy):
    """Magenta's offset loss −log(Σ π N + 1e-6) per step (the L_s term of Eq. 9, before masking).

    Computed in log space as −logaddexp(log Σ π N, log 1e-6), which equals Magenta's
    probability-space value but cannot underflow to log(1e-6) for a sharp density.
    """
    log_p = offset_log_prob(params, dx, dy)
    log_eps = tf.constant(math.log(DENSITY_EPSILON), log_p.dtype)
    return -tf.math.reduce_logsumexp(tf.stack([log_p, tf.broadcast_to(log_eps, tf.shape(log_p))]),
                                     axis=0)


def pen_nll(params: MixtureParams, pen_targets):
    """−Σ_k p_k log q_k per step (the L_p term of Eq. 9); `pen_targets` one-hot [..., 3]."""
    return tf.nn.softmax_cross_entropy_with_logits(labels=pen_targets, logits=params.pen_logits)


def distribution(params: MixtureParams):
    """The (Δx, Δy) mixture of Eq. 3 as a `tfp.distributions.MixtureSameFamily`.

    Each component is a `MultivariateNormalTriL` with the Cholesky factor of
    [[σx², ρσxσy], [ρσxσy, σy²]]. `distribution(p).log_prob(xy)` equals `offset_log_prob`.
    """
    sx, sy, rho = params.sigma_x, params.sigma_y, params.rho
    zeros = tf.zeros_like(sx)
    scale_tril = tf.stack([tf.stack([sx, zeros], -1),
                           tf.stack([rho * sy, sy * tf.sqrt(1.0 - tf.square(rho))], -1)], -2)
    loc = tf.stack([params.mu_x, params.mu_y], -1)
    return tfd.MixtureSameFamily(
        mixture_distribution=tfd.Categorical(logits=params.pi_logits),
        components_distribution=tfd.MultivariateNormalTriL(loc=loc, scale_tril=scale_tril))

