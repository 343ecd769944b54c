"""`SketchRNN`: the sketch-rnn VAE (Section 3) and its decoder-only variant (Section 3.2)."""

from __future__ import annotations

from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from ..data.checks import check_scale_factor, check_stroke3
from ..hparams import HParams
from . import layout, losses, mixture
from .decoder import Decoder
from .encoder import Encoder, sample_z
from .preprocessor import ModelInputError, SketchPreprocessor
from .seeds import fold_seed


@keras.saving.register_keras_serializable(package="sketch_rnn_tf")
class SketchRNN(keras.Model):
    """sketch-rnn: bidirectional RNN encoder → z → autoregressive mixture-density RNN decoder.

    Inputs of `call` are Magenta's padded batch: `strokes` [B, N_max+1, 5] (stroke-5, S0 at row 0,
    offsets already divided by the scale factor) and `sequence_length` [B]. The user-level methods
    (`encode`, `latent`, `reconstruction_loss`, `sample`) take lists of stroke-3 sketches in pixels
    and apply the model's `scale_factor` themselves.

    Args:
      hparams: an `HParams`; `conditional=False` builds the decoder-only model (no encoder, no z).
      scale_factor: pixels per model unit (the train set's normalising scale factor).

    Example:
    >>> import sketch_rnn_tf as srt
    >>> vae = srt.load_model("aaron_sheep_vae")                 # a conditional model
    >>> sheep = vae.sample(2, temperature=0.4, seed=3)          # stroke-3 sketches in pixels
    >>> z = vae.encode(sheep)                                   # μ of each, [2, z_size]
    >>> z.shape, vae.reconstruction_loss(sheep) < 1.0
    ((2, 128), True)
    >>> tiny = srt.SketchRNN(srt.HParams(dec_rnn_size=16, num_mixture=3, conditional=False))
    >>> tiny.count_params()
    1766
    """

    def __init__(self, hparams: HParams | None = None, scale_factor: float = 1.0, **kwargs):
        kwargs.setdefault("name", "sketch_rnn")
        super().__init__(**kwargs)
        self.hparams = hparams if hparams is not None else HParams()
        self.encoder = Encoder(self.hparams, name="encoder") if self.hparams.conditional else None
        self.decoder = Decoder(self.hparams, name="decoder")
        #: The objective (Eqs. 9-11) every training step, evaluation and export computes.
        self.objective = losses.SketchRNNLoss.from_hparams(self.hparams)
        self._scale_factor = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(float(scale_factor)),
            trainable=False,
            name="scale_factor",
        )
        #: Where this model's training started, when it was fine-tuned (`training.source`):
        #: a dict written into `sketch_rnn_config.json` by `save_model`; None otherwise.
        self.init_from = None
        self._graphs = {}
        self.build()

    # ------------------------------------------------------------------ Keras
    def build(self, input_shape=None):
        if self.encoder is not None:
            self.encoder.build((None, None, 5))
        self.decoder.build()
        self.built = True

    def get_config(self):
        config = super().get_config()
        config.update(hparams=self.hparams.to_dict(), scale_factor=self.scale_factor)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls(HParams.from_dict(config.pop("hparams")), **config)

    @property
    def conditional(self) -> bool:
        return self.hparams.conditional

    @property
    def scale_factor(self) -> float:
        return float(self._scale_factor.numpy())

    @scale_factor.setter
    def scale_factor(self, value):
        self._scale_factor.assign(
            check_scale_factor(value, error=ModelInputError, where="SketchRNN")
        )

    @property
    def preprocessor(self) -> SketchPreprocessor:
        """The numpy front door of this model (a `data.SketchPreprocessor`).

        It validates, scales, pads and post-processes sketches in pixels with this model's
        max_seq_len and scale factor, and checks its z.
        """
        hp = self.hparams
        return SketchPreprocessor(hp.max_seq_len, self.scale_factor, hp.latent_size)

    def call(self, inputs, training=False, z=None, seed=None):
        """Teacher-forced forward pass.

        Args:
          inputs: (strokes [B, N_max+1, 5], sequence_length [B]).
          training: dropout on (training) or off.
          z: optional latent [B, z_size] that replaces the one sampled from the encoder.
          seed: optional stateless seed ([2] int64, or a `seeds.RowSeed`) for z and all dropout;
            without it they come from TF's global generator.

        Returns:
          A dict with `y` [B, N_max, 6M+3] and, for a conditional model, `mu`, `presig`, `z`.
        """
        strokes, sequence_length = inputs
        strokes = tf.convert_to_tensor(strokes, tf.float32)
        decoder_input, targets = strokes[:, :-1], strokes[:, 1:]
        out = {}
        if self.conditional:
            mu, presig = self.encoder(
                targets, sequence_length, training=training, seed=fold_seed(seed, 1)
            )
            if z is None:
                z = sample_z(mu, presig, seed)
            out.update(mu=mu, presig=presig, z=z)
        y, _ = self.decoder(decoder_input, z=z, training=training, seed=fold_seed(seed, 2))
        out["y"] = y
        return out

    def compute_losses(
        self, strokes, sequence_length, training=True, z=None, seed=None, mask_pen=None
    ):
        """Magenta's loss terms for a padded batch: dict of r_cost, offset, pen, kl, kl_raw.

        The terms of `self.objective` (`losses.SketchRNNLoss`). `mask_pen` defaults to
        `not training` (the pen loss is masked after the end only in evaluation, as in Magenta's
        graph).
        """
        out = self((strokes, sequence_length), training=training, z=z, seed=seed)
        if mask_pen is None:
            mask_pen = not training
        return self.objective.terms(out, strokes, mask_pen)

    # ------------------------------------------------------------ pixel level
    def prepare(self, strokes: Sequence[np.ndarray]):
        """Stroke-3 sketches in pixels → (padded stroke-5 batch [B, N_max+1, 5], lengths [B]).

        The offsets are divided by the model's scale factor; each sketch must fit N_max =
        max_seq_len. The checks are those of `preprocessor` (`data.checks.check_stroke3`): bad input
        raises `ModelInputError` naming the sketch.
        """
        batch, lengths = self.preprocessor.pad(strokes)
        return tf.constant(batch, tf.float32), tf.constant(lengths, tf.int32)

    def _require_encoder(self, what):
        if not self.conditional:
            raise ModelInputError(
                "needs a conditional model; this one is decoder-only "
                "(conditional=False) and has no encoder",
                where=what,
            )

    def latent(self, strokes):
        """(μ, σ̂) of the latent Gaussian for each sketch (Eq. 2), as numpy arrays [B, z_size]."""
        self._require_encoder("latent()")
        batch, lengths = self.prepare(strokes)
        mu, presig = self._graph("encode")(batch, lengths)
        return mu.numpy(), presig.numpy()

    def encode(self, strokes, sample=False, seed=None):
        """z for each sketch: the mean μ (default, deterministic), or μ + σ·ε with `sample=True`."""
        mu, presig = self.latent(strokes)
        if not sample:
            return mu
        seed = None if seed is None else tf.constant([seed, 0], tf.int64)
        return sample_z(tf.constant(mu), tf.constant(presig), seed).numpy()

    def reconstruction_loss(self, strokes, z=None):
        """Magenta's evaluation L_R over these sketches as one batch.

        The pen loss is masked after the end, both terms are divided by N_max = max_seq_len. For a
        conditional model z defaults to μ.
        """
        batch, lengths = self.prepare(strokes)
        return float(self._eval_r_cost(batch, lengths, self._batch_latent(z, batch.shape[0])))

    def predictive_distribution(self, strokes, z=None):
        """The decoder's predictive distribution of every next stroke of these sketches (Eqs. 3-7).

        The sketches are read teacher-forced as one padded batch (`prepare`): step i of sketch b is
        p(S_{i+1} | S_0..S_i, z), a `mixture.StrokeDistribution` over stroke-5 rows with (Δx, Δy)
        in model units (pixels / `scale_factor`). For a conditional model z defaults to the
        encoder's mean μ of each sketch (as in `reconstruction_loss`).

        Args:
          strokes: stroke-3 sketches in pixels (one array, or a list).
          z: optional latent [z_size] or [B, z_size] (conditional models only).

        Returns:
          A `StrokeDistribution` with batch shape [B, N_max] (N_max = max_seq_len): `.offsets` is
          the (Δx, Δy) mixture, `.pen` the pen-state categorical. Steps past a sketch's length
          continue from the padding rows (0, 0, 0, 0, 1).

        Example:
        ```python
        dist = model.predictive_distribution([sketch])
        batch, lengths = model.prepare([sketch])
        log_p = dist.log_prob(batch[:, 1:])        # [1, N_max]: log p of each actual next row
        after = dist[0, len(sketch)]               # what the model draws after the whole sketch
        p_end = after.pen.probs_parameter()[2]     # its probability that the sketch ends there
        row = after.tempered(0.5).sample(seed=[0, 1])  # one stroke-5 row, model units
        ```
        """
        batch, lengths = self.prepare(strokes)
        y = self._eval_outputs(batch, lengths, self._batch_latent(z, batch.shape[0]))
        return mixture.output_distribution(y, self.hparams.num_mixture)

    def point_log_likelihoods(self, strokes):
        """(Σ log p(Δx, Δy) in pixels, Σ log q(pen), number of points) over these sketches' points.

        Teacher-forced (z = μ for a conditional model), over each sketch's real points only, of
        any length (the model's max_seq_len does not limit them). The offset density is in pixels:
        the mixture's density in model units (Eq. 3, without Magenta's 1e-6) divided by
        scale_factor², so models of different scale factors compare (`evaluate.point_nll`).
        """
        hp = self.hparams
        sketches = [
            check_stroke3(s, error=ModelInputError, where=f"sketch {i}")
            for i, s in enumerate(strokes)
        ]
        if not sketches:
            raise ModelInputError("no sketches given", where="point_log_likelihoods()")
        pre = SketchPreprocessor(max(len(s) for s in sketches), self.scale_factor, hp.latent_size)
        batch, lengths = pre.pad(sketches)
        y = self._eval_outputs(tf.constant(batch), tf.constant(lengths))
        dist = mixture.output_distribution(y, hp.num_mixture)
        targets = tf.constant(batch[:, 1:])
        real = np.arange(batch.shape[1] - 1)[None] < lengths[:, None]
        offset = dist.offsets.log_prob(targets[..., :2]).numpy() - 2.0 * np.log(self.scale_factor)
        pen = dist.pen.log_prob(targets[..., 2:5]).numpy()
        return float(offset[real].sum()), float(pen[real].sum()), int(real.sum())

    def _batch_latent(self, z, batch_size):
        """A user's z ([z_size] for all sketches, or [B, z_size]) as a [B, z_size] tensor.

        None stays None (z = μ); the preprocessor checks z, and refuses a z for a decoder-only
        model.
        """
        if z is None:
            return None
        return tf.constant(self.preprocessor.latents(int(batch_size), z))

    # ------------------------------------------------------------- graphs
    def _graph(self, name):
        """This model's graph function `name`, traced on first use and never again.

        Each has a fixed input signature ([B, T, 5] strokes, [B] lengths, [B, latent_size] z, any
        B and T), so sketches of any number and length reuse one trace, and it is traced through
        `get_concrete_function`: TensorFlow's retracing detector, which counts traces of the same
        Python code across all models of a process, never sees it, so loading and using several
        models warns of nothing.
        """
        graph = self._graphs.get(name)
        if graph is None:
            strokes = tf.TensorSpec([None, None, 5], tf.float32, name="strokes")
            lengths = tf.TensorSpec([None], tf.int32, name="lengths")
            z = tf.TensorSpec([None, self.hparams.latent_size], tf.float32, name="z")
            fn, signature = {
                "encode": (self._encode_fn, [strokes, lengths]),
                "outputs_mu": (self._outputs_fn, [strokes, lengths]),
                "outputs_z": (self._outputs_fn, [strokes, lengths, z]),
                "r_cost_mu": (self._r_cost_fn, [strokes, lengths]),
                "r_cost_z": (self._r_cost_fn, [strokes, lengths, z]),
            }[name]
            graph = tf.function(fn, input_signature=signature, autograph=False)
            graph.get_concrete_function()
            self._graphs[name] = graph
        return graph

    def _encode_fn(self, batch, lengths):
        return self.encoder(batch[:, 1:], lengths, training=False)

    def _outputs_fn(self, batch, lengths, z=None):
        """Decoder outputs y [B, N_max, 6M+3] in evaluation mode.

        z None means z = μ (conditional) or no z (decoder-only). The encoder runs once (for μ) or
        not at all (z given).
        """
        if self.conditional and z is None:
            z, _ = self.encoder(batch[:, 1:], lengths, training=False)
        y, _ = self.decoder(batch[:, :-1], z=z if self.conditional else None, training=False)
        return y

    def _r_cost_fn(self, batch, lengths, z=None):
        """Evaluation L_R (no KL): the decoder outputs' loss on the batch's targets."""
        y = self._outputs_fn(batch, lengths, z)
        return self.objective.reconstruction(y, batch, mask_pen=True).total

    def _eval_outputs(self, batch, lengths, z=None):
        if z is None:
            return self._graph("outputs_mu")(batch, lengths)
        return self._graph("outputs_z")(batch, lengths, z)

    def _eval_r_cost(self, batch, lengths, z=None):
        if z is None:
            return self._graph("r_cost_mu")(batch, lengths)
        return self._graph("r_cost_z")(batch, lengths, z)

    def sample(self, n=1, sampler=None, z=None, *, prefix=None, **options):
        """Draws `n` sketches at once (Eq. 8); returns a list of stroke-3 arrays in pixels.

        Args:
          n: how many sketches, decoded as one batch.
          sampler: how to draw: a `sampling.samplers.Sampler` (`TemperatureSampler`,
            `GreedySampler`), a name, or a number (a temperature). Default: a
            `TemperatureSampler` at `samplers.DEFAULT_TEMPERATURE`.
          z: conditional models: a latent [z_size] for all sketches or [n, z_size]; default
            z ~ N(0, I).
          prefix: stroke-3 sketches in pixels (one, or one per sketch) that each sketch
            continues.
          **options: the sampler's settings as keywords: `temperature`, `temperature_mode`,
            `greedy`, `max_len`, `seed` (see `sampling.samplers.get`).

        Example:
        >>> import sketch_rnn_tf as srt
        >>> model = srt.load_model("sheep")
        >>> sheep = model.sample(4, temperature=0.5, seed=1)
        >>> len(sheep), sheep[0].shape[1]
        (4, 3)
        >>> greedy = model.sample(1, srt.sampling.GreedySampler(max_len=40))
        >>> len(greedy[0]) <= 40
        True
        """
        from ..sampling import decoding  # the model's generation lives in sampling/

        return decoding.generate(self, sampler, n, z=z, prefix=prefix, **options)

    # ------------------------------------------------------------- Magenta
    def magenta_variables(self):
        """{Magenta TF1 variable name: variable} for the trainable weights, in Magenta's order."""
        pairs = self.encoder.magenta_weights() if self.encoder is not None else []
        pairs += self.decoder.magenta_weights()
        return {f"{layout.SCOPE}/{name}": v for name, v in pairs}
