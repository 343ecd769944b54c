"""Generating sketches from a trained model: samplers, the decoding loop, completion, latent space.

* `samplers`: how each step is drawn (`TemperatureSampler`, `GreedySampler`), as objects that carry
  and check their settings; `samplers.get` maps keyword settings onto one.
* `decoding`: the compiled batched decoding loop and `generate`, the front door behind
  `SketchRNN.sample`.
* `completion`: many endings of unfinished sketches (`complete`, `truncate`).
* `latent`: interpolation, grids, analogies and reconstructions in z (Sections 4.2-4.3).

Names are imported lazily: `from sketch_rnn_tf.sampling import samplers` (as the export client
does) loads the sampler objects, not the decoding loop.
"""

from ..lazy import lazy_attributes as _lazy_attributes

_LAZY = {
    "complete": "completion",
    "truncate": "completion",
    "generate": "decoding",
    **{
        name: "latent"
        for name in (
            "DEFAULT_CORNER_COLORS",
            "InterpolationGrid",
            "analogy",
            "analogy_sketches",
            "grid",
            "interpolate",
            "interpolation_grid",
            "interpolation_row",
            "lerp",
            "reconstruct",
            "slerp",
        )
    },
    **{
        name: "samplers"
        for name in (
            "DEFAULT_TEMPERATURE",
            "GreedySampler",
            "Sampler",
            "SamplerError",
            "TemperatureSampler",
        )
    },
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = _lazy_attributes(
    __name__, _LAZY, ("completion", "decoding", "latent", "samplers")
)
