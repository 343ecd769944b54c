"""Data pipeline of sketch-rnn (Ha & Eck 2017).

Stroke formats, the one rule for what a sketch is and `DataError` (`checks`), `.npz` loading,
augmentation, batching, Quick, Draw! `.ndjson` preprocessing (`prepare_ndjson`), SVG drawings in
(`read_svg`, `prepare_svg`), downloading Magenta's per-category `.npz` files (`download_quickdraw`)
and the Chamfer distances that judge reconstructions (`chamfer`).

Depends only on numpy, absl, svgelements (SVG import, imported when first used) and (lazily, for
`DataLoader.as_dataset`) TensorFlow.
"""

from sketch_rnn_tf.data.augment import augment_strokes, random_scale
from sketch_rnn_tf.data.checks import DataError, check_scale_factor, check_stroke3
from sketch_rnn_tf.data.download import download_quickdraw
from sketch_rnn_tf.data.loader import DataLoader, eval_batches
from sketch_rnn_tf.data.npz import (
    SPLITS,
    SketchDataset,
    load_dataset,
    load_npz,
    normalize,
    normalizing_scale_factor,
    validate_sketch,
)
from sketch_rnn_tf.data.packed import PackedSplit, load_packed_dataset, open_packed_npz
from sketch_rnn_tf.data.prepare import prepare_ndjson, prepare_svg, svg_to_stroke3
from sketch_rnn_tf.data.quickdraw import (
    drawing_to_stroke3,
    load_ndjson_raw,
    load_ndjson_simplified,
    rdp,
    read_ndjson,
    resample,
    simplify_drawing,
)
from sketch_rnn_tf.data.strokes import (
    PAD_TOKEN,
    START_TOKEN,
    clean_strokes,
    get_bounds,
    lines_to_strokes,
    pad_batch,
    scale_bound,
    strokes_to_lines,
    to_big_strokes,
    to_normal_strokes,
)
from sketch_rnn_tf.data.svg_reader import read_svg, read_svg_lines

__all__ = [
    "DataError",
    "DataLoader",
    "PAD_TOKEN",
    "PackedSplit",
    "SPLITS",
    "START_TOKEN",
    "SketchDataset",
    "augment_strokes",
    "check_scale_factor",
    "check_stroke3",
    "clean_strokes",
    "download_quickdraw",
    "drawing_to_stroke3",
    "eval_batches",
    "get_bounds",
    "lines_to_strokes",
    "load_dataset",
    "load_ndjson_raw",
    "load_ndjson_simplified",
    "load_npz",
    "load_packed_dataset",
    "normalize",
    "normalizing_scale_factor",
    "open_packed_npz",
    "pad_batch",
    "prepare_ndjson",
    "prepare_svg",
    "random_scale",
    "rdp",
    "read_ndjson",
    "read_svg",
    "read_svg_lines",
    "resample",
    "scale_bound",
    "simplify_drawing",
    "strokes_to_lines",
    "svg_to_stroke3",
    "to_big_strokes",
    "to_normal_strokes",
    "validate_sketch",
]


def __getattr__(name):
    # Moved to the model (the model's front door and its error): kept here as deprecated aliases.
    if name in ("SketchPreprocessor", "ModelInputError"):
        import warnings

        from sketch_rnn_tf.model import preprocessor

        warnings.warn(
            f"sketch_rnn_tf.data.{name} moved to sketch_rnn_tf.model.preprocessor.{name}",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(preprocessor, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
