"""The decoder's output distribution (Eqs. 3-7 of the paper), as one tfp distribution.

A mixture of M bivariate normals for (Δx, Δy) and a categorical over the three pen states.

The 6M + 3 outputs y_i are laid out as Magenta lays them out:

    [pen logits q̂ (3) | π̂ (M) | μx (M) | μy (M) | σ̂x (M) | σ̂y (M) | ρ̂xy (M)]

with π = softmax(π̂) (Eq. 6), σ = exp(σ̂), ρ = tanh(ρ̂) (Eq. 7) and q = softmax(q̂) (Eq. 7).

`output_distribution(y, M)` turns them into a `StrokeDistribution`, the per-step predictive
distribution p(S_{i+1} | S_0..S_i, z) over stroke-5 rows:

* `.offsets`: `tfd.MixtureSameFamily` of `BivariateNormal` components with `tfd.Categorical(π̂)`
  mixture weights (Eq. 3);
* `.pen`: `tfd.OneHotCategorical(q̂)` over (p1, p2, p3) (Eq. 4 / Eq. 7).

The same object gives the training loss (`losses.reconstruction_loss`), the sampler's draws (its
`tempered` copy, Eq. 8) and, through `SketchRNN.predictive_distribution`, the model's predictions
to users. `BivariateNormal` uses the closed-form density of Graves (2013), Eqs. 24-25, and a
closed-form Cholesky sampler, so the loss costs what the hand-written formula costs (a
`MultivariateNormalTriL` mixture computes the same value about 10x slower; see
benchmarks/README.md).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
from tensorflow_probability.python.internal import parameter_properties

#: The two ways of tempering the offsets' spread (`StrokeDistribution.tempered`): "magenta",
#: σ → σ·τ (Magenta's sample()); "paper", σ → σ·√τ (Eq. 8, magenta-js).
TEMPERATURE_MODES = ("magenta", "paper")


tfd = tfp.distributions

# Magenta adds 1e-6 to the mixture density before the log (`get_lossfunc`).
DENSITY_EPSILON = 1e-6
#: `BivariateNormal`'s parameters by name (as given; None where not given), in `__init__`'s order.
_PARAMETERS = (
    "mu_x",
    "mu_y",
    "sigma_x",
    "sigma_y",
    "rho_xy",
    "log_sigma_x",
    "log_sigma_y",
    "sigma_scale",
)
_LOG_2PI = math.log(2.0 * math.pi)


class MixtureParams(NamedTuple):
    """Mixture and pen parameters for each step; every field is [..., M] except the pen ones."""

    pi_logits: tf.Tensor  # π̂, unnormalised log-weights
    mu_x: tf.Tensor
    mu_y: tf.Tensor
    presig_x: tf.Tensor  # σ̂x = log σx
    presig_y: tf.Tensor
    rho: tf.Tensor  # ρ = tanh(ρ̂)
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
    pi, mu_x, mu_y, sx, sy, rho = tf.split(y[..., 3 : 3 + 6 * m], 6, axis=-1)
    return MixtureParams(pi, mu_x, mu_y, sx, sy, tf.tanh(rho), pen_logits)


# ----------------------------------------------------------------------------- bivariate normal
class _VectorEvent:
    """The tfp event-shape hooks of a distribution over vectors of `event_size` numbers."""

    event_size = 1

    def _event_shape(self):
        return tf.TensorShape([self.event_size])

    def _event_shape_tensor(self):
        return tf.constant([self.event_size], tf.int32)


class BivariateNormal(_VectorEvent, tfd.Distribution):
    """The bivariate normal N(μ, σ, ρ) of one mixture component (Eq. 3), event shape [2].

    Density (Graves 2013, Eqs. 24-25):

        N(x, y) = exp(−Z / (2(1 − ρ²))) / (2π σx σy √(1 − ρ²)),
        Z = ((x − μx)/σx)² + ((y − μy)/σy)² − 2ρ (x − μx)(y − μy) / (σx σy),

    evaluated in log space. Samples are x = μx + σx ε₁, y = μy + σy (ρ ε₁ + √(1 − ρ²) ε₂) with
    ε ~ N(0, I): the Cholesky factor of [[σx², ρσxσy], [ρσxσy, σy²]], the covariance Magenta's
    `sample_gaussian_2d` draws from.

    Give the scales either as `sigma_x`, `sigma_y` or as their logs `log_sigma_x`, `log_sigma_y`
    (the decoder's σ̂, used as they are by `log_prob`, as Magenta's loss uses them). `sigma_scale`
    multiplies both scales (the sampler's temperature): σx = exp(log_sigma_x)·sigma_scale.

    Example:
    ```python
    d = BivariateNormal(0.0, 1.0, sigma_x=2.0, sigma_y=0.5, rho_xy=0.3)
    d.log_prob([1.0, 1.0])      # a scalar tensor
    d.sample(3, seed=[1, 2])    # [3, 2], the same for the same seed
    ```
    """

    def __init__(
        self,
        mu_x,
        mu_y,
        sigma_x=None,
        sigma_y=None,
        rho_xy=0.0,
        log_sigma_x=None,
        log_sigma_y=None,
        sigma_scale=None,
        validate_args=False,
        allow_nan_stats=True,
        name="BivariateNormal",
    ):
        parameters = dict(locals())
        if (sigma_x is None) == (log_sigma_x is None) or (sigma_y is None) == (log_sigma_y is None):
            raise ValueError("give each scale once: sigma_x or log_sigma_x, sigma_y or log_sigma_y")
        with tf.name_scope(name) as name:
            dtype = tf.float32
            self._mu_x = tf.convert_to_tensor(mu_x, dtype)
            self._mu_y = tf.convert_to_tensor(mu_y, dtype)
            self._rho_xy = tf.convert_to_tensor(rho_xy, dtype)
            self._sigma_x = None if sigma_x is None else tf.convert_to_tensor(sigma_x, dtype)
            self._sigma_y = None if sigma_y is None else tf.convert_to_tensor(sigma_y, dtype)
            self._log_sigma_x = (
                None if log_sigma_x is None else tf.convert_to_tensor(log_sigma_x, dtype)
            )
            self._log_sigma_y = (
                None if log_sigma_y is None else tf.convert_to_tensor(log_sigma_y, dtype)
            )
            self._sigma_scale = (
                None if sigma_scale is None else tf.convert_to_tensor(sigma_scale, dtype)
            )
            kind = tfd.FULLY_REPARAMETERIZED
            super().__init__(dtype, kind, validate_args, allow_nan_stats, parameters, name=name)

    @classmethod
    def _parameter_properties(cls, dtype, num_classes=None):
        return {k: tfp.util.ParameterProperties() for k in _PARAMETERS}

    # The parameters as given (None where not given) are read-only properties of the same names
    # (set below the class): tfp reads them by name to slice and to broadcast. `scales()` and
    # `log_scales()` are the σ in use.

    def scales(self):
        """(σx, σy) of each component, `sigma_scale` applied."""
        return (
            self._scale(self._sigma_x, self._log_sigma_x),
            self._scale(self._sigma_y, self._log_sigma_y),
        )

    def log_scales(self):
        """(log σx, log σy): the given `log_sigma_*` as they are when nothing scales them."""
        return (
            self._log_scale(self._sigma_x, self._log_sigma_x),
            self._log_scale(self._sigma_y, self._log_sigma_y),
        )

    def _scale(self, sigma, log_sigma):
        sigma = tf.exp(log_sigma) if sigma is None else sigma
        return sigma if self._sigma_scale is None else sigma * self._sigma_scale

    def _log_scale(self, sigma, log_sigma):
        if self._sigma_scale is not None:
            return tf.math.log(self._scale(sigma, log_sigma))
        return tf.math.log(sigma) if log_sigma is None else log_sigma

    def _replace(self, **changes):
        """A copy with some parameters replaced (or mapped: a callable gets the old value)."""
        params = {k: getattr(self, k) for k in _PARAMETERS}
        for k, v in changes.items():
            params[k] = v(params[k]) if callable(v) else v
        return BivariateNormal(
            **params, validate_args=self.validate_args, allow_nan_stats=self.allow_nan_stats
        )

    def scaled(self, factor):
        """The same normals with σx, σy multiplied by `factor` (the sampler's temperature)."""
        if self._sigma_scale is not None:
            factor = self._sigma_scale * factor
        return self._replace(sigma_scale=factor)

    # tfp hooks
    event_size = 2  # (Δx, Δy)

    def _log_prob(self, value):
        value = tf.convert_to_tensor(value, self.dtype)
        x, y = value[..., 0], value[..., 1]
        log_sx, log_sy = self.log_scales()
        sx, sy = self.scales()
        rho = self.rho_xy
        nx, ny = (x - self.mu_x) / sx, (y - self.mu_y) / sy
        one_minus_rho2 = 1.0 - tf.square(rho)
        z = tf.square(nx) + tf.square(ny) - 2.0 * rho * nx * ny
        return (
            -z / (2.0 * one_minus_rho2)
            - _LOG_2PI
            - log_sx
            - log_sy
            - 0.5 * tf.math.log(one_minus_rho2)
        )

    def _transform(self, eps_x, eps_y):
        """(x, y) from standard normals ε₁, ε₂ through the Cholesky factor."""
        rho = self.rho_xy
        sx, sy = self.scales()
        x = self.mu_x + sx * eps_x
        y = self.mu_y + sy * (rho * eps_x + tf.sqrt(1.0 - tf.square(rho)) * eps_y)
        return x, y

    def _sample_n(self, n, seed=None):
        shape = tf.concat([[n], self.batch_shape_tensor(), [2]], axis=0)
        eps = tf.random.stateless_normal(shape, _stateless_seed(seed), dtype=self.dtype)
        return tf.stack(self._transform(eps[..., 0], eps[..., 1]), axis=-1)

    def _mean(self):
        shape = self.batch_shape_tensor()
        return tf.stack([tf.broadcast_to(self.mu_x, shape), tf.broadcast_to(self.mu_y, shape)], -1)

    def _mode(self):
        return self._mean()

    def _covariance(self):
        (sx, sy), rho = self.scales(), self.rho_xy
        shape = self.batch_shape_tensor()
        cxy = tf.broadcast_to(rho * sx * sy, shape)
        return tf.stack(
            [
                tf.stack([tf.broadcast_to(tf.square(sx), shape), cxy], -1),
                tf.stack([cxy, tf.broadcast_to(tf.square(sy), shape)], -1),
            ],
            -2,
        )


for _name in _PARAMETERS:  # BivariateNormal.mu_x, ...: each parameter as given, read-only
    setattr(BivariateNormal, _name, property(lambda self, _n=_name: getattr(self, "_" + _n)))
del _name


def _stateless_seed(seed):
    """A [2] seed for the tf.random.stateless_* ops.

    A given tensor/pair is used as it is (int32 or int64, so the sampler's int64 seeds are not
    truncated); an int or None goes through tfp's sanitiser.
    """
    if seed is None or isinstance(seed, (int, np.integer)):
        return tfp.random.sanitize_seed(None if seed is None else int(seed))
    seed = tf.convert_to_tensor(seed)
    if not seed.dtype.is_integer:
        raise TypeError(f"a stateless seed is a pair of integers, got dtype {seed.dtype.name}")
    return seed


# ----------------------------------------------------------------------------- stroke rows
class StrokeDistribution(_VectorEvent, tfd.Distribution):
    """The decoder's predictive distribution of the next stroke-5 row (Eqs. 3-4), event shape [5].

    (Δx, Δy) ~ `offsets`, a `tfd.MixtureSameFamily` of M `BivariateNormal`s weighted by
    `tfd.Categorical(logits=π̂)`, and independently (p1, p2, p3) ~ `pen`, a
    `tfd.OneHotCategorical(logits=q̂)`. `log_prob(row)` is log p(Δx, Δy) + log q(p) of the paper,
    without Magenta's loss details (the 1e-6 in the log, masking after the end of a sketch), which
    `losses.reconstruction_loss` adds.

    `sample(seed=...)` draws as Magenta's `sample()` does: a component j ~ Categorical(π), then
    (Δx, Δy) from component j, then the pen state, each from a stateless key split off `seed`
    (a [2] integer tensor: the same seed gives the same rows). `greedy()` is Magenta's greedy row
    (most likely component, its mean, most likely pen state); `tempered(τ)` is the temperature-τ
    copy of Eq. 8 that `SketchRNN.sample` draws from.

    Build one from decoder outputs with `output_distribution(y, num_mixture)`; get one for a
    sketch with `SketchRNN.predictive_distribution`.
    """

    def __init__(
        self,
        offsets: tfd.MixtureSameFamily,
        pen: tfd.OneHotCategorical,
        validate_args=False,
        allow_nan_stats=True,
        name="StrokeDistribution",
    ):
        parameters = dict(locals())
        with tf.name_scope(name) as name:
            self._offsets = offsets
            self._pen = pen
            kind, dtype = tfd.NOT_REPARAMETERIZED, tf.float32
            super().__init__(dtype, kind, validate_args, allow_nan_stats, parameters, name=name)

    @classmethod
    def _parameter_properties(cls, dtype, num_classes=None):
        # Sub-distributions whose batch shape is this one's (so slicing `d[0]` works).
        return dict(
            offsets=parameter_properties.BatchedComponentProperties(),
            pen=parameter_properties.BatchedComponentProperties(),
        )

    @property
    def offsets(self) -> tfd.MixtureSameFamily:
        """The (Δx, Δy) mixture of Eq. 3."""
        return self._offsets

    @property
    def pen(self) -> tfd.OneHotCategorical:
        """The pen-state distribution (q1, q2, q3) of Eq. 4/7, over one-hot vectors."""
        return self._pen

    @property
    def components(self) -> BivariateNormal:
        return self._offsets.components_distribution

    @property
    def mixture_logits(self):
        return self._offsets.mixture_distribution.logits

    @property
    def pen_logits(self):
        return self._pen.logits

    # tfp hooks
    def _batch_shape(self):
        return tf.broadcast_static_shape(self._offsets.batch_shape, self._pen.batch_shape)

    def _batch_shape_tensor(self):
        return tf.broadcast_dynamic_shape(
            self._offsets.batch_shape_tensor(), self._pen.batch_shape_tensor()
        )

    event_size = 5  # a stroke-5 row

    def _log_prob(self, value):
        value = tf.convert_to_tensor(value, self.dtype)
        return self._offsets.log_prob(value[..., :2]) + self._pen.log_prob(value[..., 2:])

    def _sample_n(self, n, seed=None):
        keys = tf.random.experimental.stateless_split(_stateless_seed(seed), 3)
        logits = self.mixture_logits
        m = tf.shape(logits)[-1]
        batch = tf.shape(logits)[:-1]
        # One categorical draw per (batch entry, sample): [B, n] → [n, B].
        j = tf.random.stateless_categorical(tf.reshape(logits, [-1, m]), n, keys[0], tf.int32)
        j = tf.reshape(tf.transpose(j), tf.concat([[n], batch], 0))
        j.set_shape([None] * logits.shape.rank)  # [n, *batch]: a static rank for tf.gather
        shape = tf.concat([[n], tf.shape(logits)], 0)

        def pick(v):
            if v is None or v.shape.rank == 0:
                return v  # absent, or one value for all (a temperature's sigma_scale)
            return tf.gather(tf.broadcast_to(v, shape), j, batch_dims=j.shape.rank)

        # Component j's parameters, then its σ = exp(σ̂)·scale: the order Magenta's sampler uses.
        chosen = self.components._replace(**{k: pick for k in _PARAMETERS})
        eps = tf.random.stateless_normal(tf.concat([tf.shape(j), [2]], 0), keys[1])
        dx, dy = chosen._transform(eps[..., 0], eps[..., 1])
        pen_logits = self.pen_logits
        k = tf.random.stateless_categorical(tf.reshape(pen_logits, [-1, 3]), n, keys[2], tf.int32)
        k = tf.reshape(tf.transpose(k), tf.concat([[n], tf.shape(pen_logits)[:-1]], 0))
        return tf.concat([tf.stack([dx, dy], -1), tf.one_hot(k, 3, dtype=self.dtype)], -1)

    def greedy(self):
        """Magenta's greedy row [..., 5] (`sample(greedy_mode=True)`).

        The most likely component's mean and the most likely pen state.
        """
        j = tf.argmax(self.mixture_logits, axis=-1, output_type=tf.int32)
        c = self.components
        shape = tf.shape(self.mixture_logits)
        mu_x = tf.gather(tf.broadcast_to(c.mu_x, shape), j, batch_dims=j.shape.rank)
        mu_y = tf.gather(tf.broadcast_to(c.mu_y, shape), j, batch_dims=j.shape.rank)
        k = tf.argmax(self.pen_logits, axis=-1, output_type=tf.int32)
        return tf.concat([tf.stack([mu_x, mu_y], -1), tf.one_hot(k, 3, dtype=self.dtype)], -1)

    def tempered(self, temperature, temperature_mode="magenta"):
        """The temperature-τ copy that the sampler draws from (Eq. 8).

        π̂ → log softmax(π̂)/τ and q̂ → log softmax(q̂)/τ, and σ → σ·τ (`"magenta"`, as Magenta's
        `sample()`) or σ·√τ (`"paper"`, Eq. 8 and magenta-js). `temperature_mode` may also be a
        boolean tensor, true for the paper's √τ (the compiled sampler's `sqrt_temperature`).
        """
        temperature = tf.convert_to_tensor(temperature, self.dtype)
        if isinstance(temperature_mode, str):
            if temperature_mode not in TEMPERATURE_MODES:
                raise ValueError(
                    f"temperature_mode must be one of {TEMPERATURE_MODES}, got {temperature_mode!r}"
                )
            scale = tf.sqrt(temperature) if temperature_mode == "paper" else temperature
        else:
            scale = tf.where(temperature_mode, tf.sqrt(temperature), temperature)
        return StrokeDistribution(
            tfd.MixtureSameFamily(
                tfd.Categorical(logits=tf.nn.log_softmax(self.mixture_logits) / temperature),
                self.components.scaled(scale),
            ),
            tfd.OneHotCategorical(
                logits=tf.nn.log_softmax(self.pen_logits) / temperature, dtype=self.dtype
            ),
            validate_args=self.validate_args,
            allow_nan_stats=self.allow_nan_stats,
        )


def output_distribution(y, num_mixture, temperature=None, temperature_mode="magenta"):
    """The `StrokeDistribution` of decoder outputs y [..., 6M+3] (Eqs. 3-7); batch shape [...].

    With `temperature`, its tempered copy (see `StrokeDistribution.tempered`).
    """
    p = split_params(tf.convert_to_tensor(y, tf.float32), num_mixture)
    dist = StrokeDistribution(
        tfd.MixtureSameFamily(
            tfd.Categorical(logits=p.pi_logits),
            BivariateNormal(
                p.mu_x, p.mu_y, log_sigma_x=p.presig_x, log_sigma_y=p.presig_y, rho_xy=p.rho
            ),
        ),
        tfd.OneHotCategorical(logits=p.pen_logits, dtype=tf.float32),
    )
    return dist if temperature is None else dist.tempered(temperature, temperature_mode)


def offset_nll(dist: StrokeDistribution, offsets):
    """Magenta's offset loss −log(Σ π N + 1e-6) per step (the L_s term of Eq. 9, before masking).

    `offsets` [..., 2] are (Δx, Δy). Computed in log space as −logaddexp(log Σ π N, log 1e-6), which
    equals Magenta's probability-space value but cannot underflow to log(1e-6) for a sharp density.
    """
    log_p = dist.offsets.log_prob(offsets)
    log_eps = tf.constant(math.log(DENSITY_EPSILON), log_p.dtype)
    return -tf.math.reduce_logsumexp(
        tf.stack([log_p, tf.broadcast_to(log_eps, tf.shape(log_p))]), axis=0
    )
