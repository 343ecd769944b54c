"""The recurrent cells of sketch-rnn, one module per cell type (weight layouts: `model/layout.py`).

To add a cell: its layout (a `layout.CellLayout` subclass, registered in `layout.CELL_LAYOUTS`),
its Keras class here (a `base.SketchCell` subclass with that `layout_class`), registered in
`CELLS`; `HParams.enc_model` / `dec_model` then accept its name.
"""

from .base import OrthogonalPerGate, SketchCell, initializer, layer_norm
from .hyper_lstm import HyperLSTMCell
from .layer_norm_lstm import LayerNormLSTMCell
from .lstm import LSTMCell

#: The Keras cell of each cell type (the hparam value), as `layout.CELL_LAYOUTS`.
CELLS = {cls.layout_class.kind: cls for cls in (LSTMCell, LayerNormLSTMCell, HyperLSTMCell)}


def make_cell(kind, num_units, hparams, name=None):
    """The cell of type `kind` ('lstm', 'layer_norm', 'hyper'), built as Magenta's model.py does."""
    kwargs = dict(
        use_recurrent_dropout=hparams.use_recurrent_dropout,
        dropout_keep_prob=hparams.recurrent_dropout_prob,
        name=name,
    )
    if kind == "hyper":
        kwargs.update(
            hyper_num_units=hparams.hyper_num_units,
            hyper_embedding_size=hparams.hyper_embedding_size,
        )
    return CELLS[kind](num_units, **kwargs)


__all__ = [
    "CELLS",
    "HyperLSTMCell",
    "LSTMCell",
    "LayerNormLSTMCell",
    "OrthogonalPerGate",
    "SketchCell",
    "initializer",
    "layer_norm",
    "make_cell",
]
