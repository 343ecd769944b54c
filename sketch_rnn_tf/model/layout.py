"""The weight layout of sketch-rnn: every weight's Magenta name, shape and initialiser, TF-free.

One source for the names, shapes, gate order and state layout that the Keras cells build
(`model/cells/`), that Magenta's TF1 checkpoints and the magenta-js files store
(`formats/magenta_tf1.py`, `formats/magenta_js.py`) and that the JAX trainer of `tools/jax_gpu`
reads. Pure Python (no TensorFlow, no numpy), so a machine without TensorFlow can use it.

The cells (Section 3.1 of the paper cites the LSTM, and the layer-normalised LSTM (Ba et al., 2016)
and HyperLSTM (Ha et al., 2016) as alternative decoder cells) follow Magenta's `rnn.py`:

* gate order i, j, f, o (input gate, candidate, forget gate, output gate) in every 4n-wide weight;
* the forget bias `FORGET_BIAS` = 1.0 is added at run time, not stored;
* the state is flat, laid out as `CellLayout.state_parts` ([c, h] for the LSTM, [h, c] for the
  layer-norm LSTM, [h, ĥ, c, ĉ] for the HyperLSTM).

A model's weights (`model_layout(hparams)`) are, in Magenta's creation order (the order of
`tf.trainable_variables()` and of the magenta-js tensors):

    ENC_RNN/fw/<cell>/..., ENC_RNN/bw/<cell>/...      bidirectional encoder (conditional only)
    ENC_RNN_mu/super_linear_{w,b}, ENC_RNN_sigma/...  μ and σ̂ heads (Eq. 2)
    linear/super_linear_{w,b}                         z → initial decoder state (Eq. 4)
    RNN/output_{w,b}                                  y = W_y h + b_y (Eq. 6)
    RNN/<cell>/...                                    the decoder cell

all under the scope `SCOPE` ("vector_rnn").
"""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Tuple

#: Magenta's variable scope of the whole model.
SCOPE = "vector_rnn"
#: Gate order of every 4n-wide weight: input gate, candidate, forget gate, output gate.
GATES = ("i", "j", "f", "o")
#: Added to the forget gate's pre-activation at run time (Magenta's `forget_bias`), not stored.
FORGET_BIAS = 1.0
#: Epsilon inside the rsqrt of Magenta's layer norm.
LAYER_NORM_EPSILON = 1e-3
#: Magenta's `super_linear` weight initialiser's standard deviation (encoder heads, z → state).
SUPER_LINEAR_STDDEV = 0.001


@dataclasses.dataclass(frozen=True)
class WeightSpec:
    """One weight of a layer.

    Attributes:
      name: Magenta's name inside the layer's scope (`"W_xh"`, `"ln_all/ln_gamma"`, ...).
      shape: its shape.
      init: the initialiser's name: `"glorot_uniform"`, `"orthogonal_per_gate"` (Magenta's
        `lstm_ortho_initializer`), `"zeros"`, `"ones"`, `"constant"` (to `value`) or `"normal"`
        (N(0, `value`²)).
      key: the Keras weight's name, also the layer attribute that holds it (so TensorFlow
        checkpoints track it by that name).
      value: the constant or standard deviation of `init`.
    """

    name: str
    shape: Tuple[int, ...]
    init: str
    key: str
    value: float = 0.0


def _spec(name, shape, init, key=None, **kw) -> WeightSpec:
    return WeightSpec(name, tuple(int(d) for d in shape), init, key or name, **kw)


class CellLayout:
    """The layout of one recurrent cell of `num_units` units reading `input_size` features.

    Subclasses give `kind` (the hparam value), `magenta_scope`, `state_order` and `weights()`.
    """

    kind = ""
    magenta_scope = ""
    #: The flat state's parts, in order, each `num_units` wide.
    state_order: Tuple[str, ...] = ("c", "h")

    def __init__(self, input_size: int, num_units: int):
        self.input_size = int(input_size)
        self.num_units = int(num_units)

    @property
    def state_parts(self) -> Tuple[Tuple[str, int], ...]:
        """The flat state's parts, in order: (name, width)."""
        return tuple((name, self.num_units) for name in self.state_order)

    @property
    def state_size(self) -> int:
        return sum(width for _, width in self.state_parts)

    def output_slice(self) -> Tuple[int, int]:
        """(start, stop) of the cell's output h inside the flat state."""
        start = 0
        for name, width in self.state_parts:
            if name == "h":
                return start, start + width
            start += width
        raise ValueError(f"{self.kind}: no h in the state")

    def weights(self) -> List[WeightSpec]:
        """The cell's weights in Magenta's creation order."""
        raise NotImplementedError

    def magenta_shapes(self, prefix: str) -> List[Tuple[str, Tuple[int, ...]]]:
        """[(prefix/scope/name, shape)] of every weight, nested cells included."""
        return [(f"{prefix}/{self.magenta_scope}/{w.name}", w.shape) for w in self.weights()]

    def kernels(self) -> List[WeightSpec]:
        """W_xh [d, 4n] (Glorot) and W_hh [n, 4n] (orthogonal per gate), which every cell has."""
        d, n = self.input_size, self.num_units
        return [
            _spec("W_xh", (d, 4 * n), "glorot_uniform"),
            _spec("W_hh", (n, 4 * n), "orthogonal_per_gate"),
        ]

    def bias(self) -> List[WeightSpec]:
        return [_spec("bias", (4 * self.num_units,), "zeros")]

    def layer_norms(self) -> List[WeightSpec]:
        """The layer norms of the gates (`ln_all`, per gate block) and of the state c (`ln_c`)."""
        n = self.num_units
        return [
            _spec("ln_all/ln_gamma", (4 * n,), "ones", "ln_all_gamma"),
            _spec("ln_all/ln_beta", (4 * n,), "zeros", "ln_all_beta"),
            _spec("ln_c/ln_gamma", (n,), "ones", "ln_c_gamma"),
            _spec("ln_c/ln_beta", (n,), "zeros", "ln_c_beta"),
        ]


class LSTMLayout(CellLayout):
    """Magenta's `LSTMCell`: state [c, h]; W_xh [d, 4n], W_hh [n, 4n], bias [4n]."""

    kind = "lstm"
    magenta_scope = "LSTMCell"
    state_order = ("c", "h")

    def weights(self):
        return self.kernels() + self.bias()


class LayerNormLSTMLayout(CellLayout):
    """Magenta's `LayerNormLSTMCell`: state [h, c], no bias; layer norm of the gates and of c."""

    kind = "layer_norm"
    magenta_scope = "LayerNormLSTMCell"
    state_order = ("h", "c")

    def weights(self):
        return self.kernels() + self.layer_norms()


#: The HyperLSTM's gate embeddings: x-side and h-side, in Magenta's order.
HYPER_X_GATES = ("ix", "jx", "fx", "ox")
HYPER_H_GATES = ("ih", "jh", "fh", "oh")


class HyperLSTMLayout(CellLayout):
    """Magenta's `HyperLSTMCell` with layer norm: state [h, ĥ, c, ĉ].

    A LayerNormLSTM hyper cell of `hyper_num_units` reads [x, h] (`hyper_cell`); per gate g its
    output gives z_w (`hyper_g/zw`), scaled by `hyper_g/alpha` (and for the h-side gates z_b,
    `hyper_g/beta`).
    """

    kind = "hyper"
    magenta_scope = "HyperLSTMCell"

    def __init__(self, input_size, num_units, hyper_num_units=256, hyper_embedding_size=32):
        super().__init__(input_size, num_units)
        self.hyper_num_units = int(hyper_num_units)
        self.hyper_embedding_size = int(hyper_embedding_size)

    @property
    def hyper_cell(self) -> LayerNormLSTMLayout:
        """The hyper cell's layout: it reads [x, h]."""
        return LayerNormLSTMLayout(self.input_size + self.num_units, self.hyper_num_units)

    @property
    def state_parts(self):
        n, hn = self.num_units, self.hyper_num_units
        return (("h", n), ("hyper_h", hn), ("c", n), ("hyper_c", hn))

    def weights(self):
        """The cell's own weights (the hyper cell's are `hyper_cell.weights()`), Magenta's order."""
        n, hn, e = self.num_units, self.hyper_num_units, self.hyper_embedding_size
        out = self.kernels() + self.bias()
        for g in HYPER_X_GATES + HYPER_H_GATES:
            out += [
                _spec(f"hyper_{g}/zw/super_linear_w", (hn, e), "zeros", f"{g}_zw_w"),
                _spec(f"hyper_{g}/zw/super_linear_b", (e,), "ones", f"{g}_zw_b"),
                _spec(
                    f"hyper_{g}/alpha/super_linear_w",
                    (e, n),
                    "constant",
                    f"{g}_alpha",
                    value=0.1 / e,
                ),
            ]
            if g in HYPER_H_GATES:
                out += [
                    _spec(
                        f"hyper_{g}/zb/super_linear_w",
                        (hn, e),
                        "normal",
                        f"{g}_zb_w",
                        value=0.01,
                    ),
                    _spec(
                        f"hyper_{g}/beta/super_linear_w",
                        (e, n),
                        "zeros",
                        f"{g}_beta",
                    ),
                ]
        return out + self.layer_norms()

    def magenta_shapes(self, prefix):
        own = self.weights()
        scope = f"{prefix}/{self.magenta_scope}"
        out = [(f"{scope}/{w.name}", w.shape) for w in own[:3]]
        out += self.hyper_cell.magenta_shapes(scope)
        out += [(f"{scope}/{w.name}", w.shape) for w in own[3:]]
        return out


#: Cell layouts by the hparam value (`enc_model`, `dec_model`).
CELL_LAYOUTS = {c.kind: c for c in (LSTMLayout, LayerNormLSTMLayout, HyperLSTMLayout)}


def cell_layout(kind: str, input_size: int, num_units: int, hparams=None) -> CellLayout:
    """The layout of a cell of type `kind` ("lstm", "layer_norm", "hyper"), as Magenta builds it."""
    if kind not in CELL_LAYOUTS:
        raise ValueError(f"{kind!r} is not a cell type; use one of {tuple(CELL_LAYOUTS)}")
    if kind == "hyper":
        extra = {}
        if hparams is not None:
            extra = dict(
                hyper_num_units=hparams.hyper_num_units,
                hyper_embedding_size=hparams.hyper_embedding_size,
            )
        return HyperLSTMLayout(input_size, num_units, **extra)
    return CELL_LAYOUTS[kind](input_size, num_units)


def encoder_cell_layout(hparams) -> CellLayout:
    """Each direction of the encoder reads the stroke-5 rows S_1..S_Ns (Eq. 1)."""
    return cell_layout(hparams.enc_model, 5, hparams.enc_rnn_size, hparams)


def decoder_cell_layout(hparams) -> CellLayout:
    """The decoder reads x_i = [S_{i−1}; z] (Eq. 5)."""
    return cell_layout(hparams.dec_model, hparams.decoder_input_size, hparams.dec_rnn_size, hparams)


def model_layout(hparams) -> Dict[str, Tuple[int, ...]]:
    """{Magenta TF1 name: shape} of every trainable weight of a model of `hparams`, in order.

    The order is Magenta's creation order (`tf.trainable_variables()`), which the magenta-js
    format and `SketchRNN.magenta_variables()` keep.
    """
    hp = hparams
    out: List[Tuple[str, Tuple[int, ...]]] = []
    if hp.conditional:
        enc = encoder_cell_layout(hp)
        for direction in ("fw", "bw"):
            out += enc.magenta_shapes(f"ENC_RNN/{direction}")
        for head in ("ENC_RNN_mu", "ENC_RNN_sigma"):
            out += [
                (f"{head}/super_linear_w", (2 * hp.enc_rnn_size, hp.z_size)),
                (f"{head}/super_linear_b", (hp.z_size,)),
            ]
    dec = decoder_cell_layout(hp)
    if hp.conditional:
        out += [
            ("linear/super_linear_w", (hp.z_size, dec.state_size)),
            ("linear/super_linear_b", (dec.state_size,)),
        ]
    out += [
        ("RNN/output_w", (hp.dec_rnn_size, hp.num_outputs)),
        ("RNN/output_b", (hp.num_outputs,)),
    ]
    out += dec.magenta_shapes("RNN")
    return {f"{SCOPE}/{name}": tuple(shape) for name, shape in out}
