"""The shape of the package (docs/architecture.md).

Rooms that import only what lies before them, one weight layout for every reader, no retracing
warnings when several models are used.
"""

import ast
import itertools
import logging
import os
import subprocess
import sys

import numpy as np
import pytest

from sketch_rnn_tf import HParams, SketchRNN
from sketch_rnn_tf.model.layout import model_layout

from _paths import NPZ, REPO

PACKAGE = os.path.join(REPO, "sketch_rnn_tf")

#: The rooms in the order of the data flow: each may import (at module level) only from itself and
#: the rooms before it. `docs/architecture.md` says the same.
ROOMS = [
    ("errors", "lazy", "atomic", "fetch", "hparams"),
    ("data",),
    ("rendering",),
    ("model",),
    ("formats",),
    ("sampling",),
    ("training",),
    ("export",),
    ("cli", "serve", "__main__", "__init__"),
]


def _room(module):
    for rank, names in enumerate(ROOMS):
        if module in names:
            return rank
    raise AssertionError(f"sketch_rnn_tf.{module} is in no room of ROOMS")


def _module_level_imports(path, package):
    """The sketch_rnn_tf top-level modules a file imports at module level (not inside functions)."""
    tree = ast.parse(open(path, encoding="utf-8").read())
    found = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = base + (node.module.split(".") if node.module else [])
            elif node.module and node.module.startswith("sketch_rnn_tf"):
                target = node.module.split(".")
            else:
                continue
            if len(target) > 1:
                found.add(target[1])
            else:  # `from . import x` at the top level
                found.update(a.name for a in node.names)
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("sketch_rnn_tf."):
                    found.add(a.name.split(".")[1])
    return found


def test_the_import_reader(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(
        "import os\nfrom ..sampling import decoding\nfrom . import layout\n"
        "import sketch_rnn_tf.formats.names\n"
        "def f():\n    from ..training import trainer\n"
    )
    found = _module_level_imports(str(path), ["sketch_rnn_tf", "model"])
    assert found == {"sampling", "model", "formats"}  # not training: imported inside a function


def test_each_room_imports_only_what_lies_before_it():
    wrong = []
    for folder, _, files in os.walk(PACKAGE):
        for f in files:
            if not f.endswith(".py"):
                continue
            path = os.path.join(folder, f)
            rel = os.path.relpath(path, REPO)[: -len(".py")].split(os.sep)
            package = rel if f == "__init__.py" else rel[:-1]
            if f == "__init__.py":
                package = rel[:-1]
            own = rel[1] if len(rel) > 1 else "__init__"
            for target in _module_level_imports(path, package):
                if _room(target) > _room(own):
                    wrong.append(f"{'/'.join(rel)}.py imports {target}")
    assert not wrong, wrong


@pytest.mark.parametrize(
    "enc, dec, conditional",
    [(e, d, True) for e, d in itertools.product(("lstm", "layer_norm", "hyper"), repeat=2)]
    + [("lstm", d, False) for d in ("lstm", "layer_norm", "hyper")],
)
def test_the_layout_is_what_the_model_builds(enc, dec, conditional):
    hp = HParams(
        enc_model=enc,
        dec_model=dec,
        conditional=conditional,
        enc_rnn_size=8,
        dec_rnn_size=12,
        z_size=4,
        num_mixture=3,
        hyper_num_units=10,
        hyper_embedding_size=6,
    )
    built = {name: tuple(v.shape) for name, v in SketchRNN(hp).magenta_variables().items()}
    assert list(built.items()) == list(model_layout(hp).items())


def test_the_layout_and_the_front_door_need_no_tensorflow():
    code = (
        "import sys; from sketch_rnn_tf.model import layout, preprocessor; "
        "from sketch_rnn_tf import formats; import sketch_rnn_tf.formats.names; "
        "print('tensorflow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.stdout.strip() == "False", out.stderr[-2000:]


def test_several_models_in_one_process_warn_of_no_retracing(tmp_path):
    """Models of both formats, used with different batch sizes and lengths: no retracing warning.

    Tiny models, saved and loaded back as a user's would be (this package's directory, magenta-js):
    the graphs are each model's own whatever its size; Magenta's models took 40 s more here.
    """
    import tensorflow as tf
    from _tiny import tiny_model

    import sketch_rnn_tf as srt
    from sketch_rnn_tf.formats.magenta_js import write_js

    messages = []

    class Catch(logging.Handler):
        def emit(self, record):
            messages.append(record.getMessage())

    handler = Catch()
    tf.get_logger().addHandler(handler)
    try:
        data = np.load(os.path.join(NPZ, "aaron_sheep.npz"), allow_pickle=True, encoding="latin1")
        test = [s.astype(np.float32) for s in data["test"]]
        names = [
            srt.save_model(tiny_model(True, scale_factor=20.0), str(tmp_path / "vae")),
            srt.save_model(tiny_model(False, scale_factor=20.0), str(tmp_path / "gen")),
            write_js(tiny_model(False, scale_factor=20.0), str(tmp_path / "gen.gen.json")),
        ]
        for name in names:
            model = srt.load_model(name)
            for count in (1, 3, 6):
                sketches = [s for s in test if len(s) <= model.hparams.max_seq_len][
                    count : 2 * count
                ]
                model.reconstruction_loss(sketches)
                model.sample(count, seed=count, max_len=8)
                if model.conditional:
                    model.encode(sketches)
    finally:
        tf.get_logger().removeHandler(handler)
    assert not [m for m in messages if "retracing" in m], messages


# Each cell type once as the encoder and once as the decoder (the cells build the same way in both
# places; test_magenta_fidelity.py covers all nine pairs against Magenta's graph).
@pytest.mark.parametrize(
    "enc, dec", [("lstm", "hyper"), ("hyper", "layer_norm"), ("layer_norm", "lstm")]
)
def test_every_weight_of_every_cell_is_saved(enc, dec, tmp_path):
    """save_model, .keras and a training checkpoint keep every weight of every cell type.

    (The HyperLSTM's per-gate weights once lived in dict attributes that TensorFlow checkpoints
    did not track: this package's directory format lost 32 of them.)
    """
    import tensorflow as tf

    from sketch_rnn_tf import load_model, save_model

    hp = HParams(
        enc_model=enc,
        dec_model=dec,
        enc_rnn_size=8,
        dec_rnn_size=12,
        z_size=4,
        num_mixture=3,
        hyper_num_units=10,
        hyper_embedding_size=6,
    )
    model = SketchRNN(hp, scale_factor=7.0)
    rng = np.random.default_rng(3)
    for v in model.magenta_variables().values():
        v.assign(rng.normal(0.0, 0.3, v.shape).astype(np.float32))
    model.save(str(tmp_path / "m.keras"))
    copies = [
        load_model(save_model(model, str(tmp_path / "dir"))),
        load_model(str(tmp_path / "m.keras")),
    ]
    restored = SketchRNN(hp, scale_factor=7.0)
    prefix = tf.train.Checkpoint(model=model).write(str(tmp_path / "ckpt"))
    tf.train.Checkpoint(model=restored).read(prefix).assert_existing_objects_matched()
    copies.append(restored)
    for copy in copies:
        for name, v in model.magenta_variables().items():
            np.testing.assert_array_equal(copy.magenta_variables()[name].numpy(), v.numpy(), name)
