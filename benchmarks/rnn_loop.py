"""Forward + backward of the encoder and decoder LSTM loops alone, ours vs plain Keras.

    ONEDNN_MAX_CPU_ISA=AVX2 python benchmarks/rnn_loop.py  # oneDNN's AVX2 kernels on AVX-512
    python benchmarks/rnn_loop.py --parts dec --reps 7

Shapes of benchmarks/train_step.py (batch 100, N_max 250): `dec` is a 512-unit LSTM over [S; z]
(5 + 128 inputs, z's share projected once) with every step's output in the loss; `enc` is the two
256-unit directions over stroke-5 with per-sketch lengths, final states only. No recurrent dropout
(the Keras layers have none). Variants:
  chunk25    the package (model/cells/lstm.py, dW_hh summed every 25 steps inside the backward loop)
  chunk0     the same with dW_hh summed after the loop in one matmul
  autograd   the generic loop with TensorFlow's automatic gradient
  keras      keras.layers.LSTM(512) / Bidirectional(LSTM(256)) with a mask
Timed interleaved; medians of wall and CPU time (all threads: steadier on a shared machine).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import common  # noqa: E402

common.quiet_tf()

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from sketch_rnn_tf.model.cells import LSTMCell  # noqa: E402
from sketch_rnn_tf.model.cells import lstm as lstm_loop  # noqa: E402
from sketch_rnn_tf.model.rnn import run_rnn, run_rnns  # noqa: E402

B, T, DEC, Z, ENC = 100, 250, 512, 128, 256
VARIANTS = ("chunk25", "chunk0", "autograd", "keras")


class _AutogradLSTMCell(LSTMCell):
    """Another type: run_rnns gives it the generic loop and automatic gradients."""


def _inputs():
    rng = np.random.default_rng(0)
    return dict(
        x=tf.constant(rng.normal(size=(B, T, 5)), tf.float32),
        z=tf.constant(rng.normal(size=(B, Z)), tf.float32),
        lengths=tf.constant(rng.integers(T // 2, T + 1, B), tf.int32),
        s0=tf.constant(rng.normal(0, 0.3, size=(B, 2 * DEC)), tf.float32),
    )


def _ours(part, variant, d):
    cls = _AutogradLSTMCell if variant == "autograd" else LSTMCell
    chunk = 0 if variant == "chunk0" else 25
    if part == "dec":
        cell = cls(DEC)
        cell.build((None, 5 + Z))
        cells = [cell]

        def loss():
            out, state = run_rnn(cell, d["x"], d["s0"], training=True, constant=d["z"])
            return tf.reduce_sum(out * out) + tf.reduce_sum(state)
    else:
        cells = [cls(ENC), cls(ENC)]
        for c in cells:
            c.build((None, 5))

        def loss():
            _, states = run_rnns(
                cells,
                [d["x"], d["x"]],
                [c.zero_state(B) for c in cells],
                d["lengths"],
                training=True,
                reverse=[False, True],
                return_outputs=False,
            )
            return tf.add_n([tf.reduce_sum(s * s) for s in states])

    variables = [v for c in cells for v in c.trainable_variables]

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            value = loss()
        return tape.gradient(value, variables)

    saved, lstm_loop.DW_CHUNK = lstm_loop.DW_CHUNK, chunk
    try:
        step()  # traced with this chunk size
    finally:
        lstm_loop.DW_CHUNK = saved
    return step


def _keras(part, d):
    if part == "dec":
        layer = keras.layers.LSTM(DEC, return_sequences=True)
        h0, c0 = tf.split(d["s0"], 2, axis=1)

        def loss():
            x = tf.concat([d["x"], tf.tile(d["z"][:, None], [1, T, 1])], 2)
            out = layer(x, initial_state=[h0, c0])
            return tf.reduce_sum(out * out)
    else:
        layer = keras.layers.Bidirectional(keras.layers.LSTM(ENC))
        mask = tf.sequence_mask(d["lengths"], T)

        def loss():
            h = layer(d["x"], mask=mask)
            return tf.reduce_sum(h * h)

    loss()  # builds the layer

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            value = loss()
        return tape.gradient(value, layer.trainable_variables)

    step()
    return step


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--parts", default="dec,enc")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--name", default=None, help="results/<name>.json (default rnn_loop_<isa>)")
    args = ap.parse_args(argv)
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA", "native")
    d = _inputs()
    fns = {}
    for part in args.parts.split(","):
        for variant in args.variants.split(","):
            fns[f"{part}/{variant}"] = (
                _keras(part, d) if variant == "keras" else _ours(part, variant, d)
            )
    load0 = common.loadavg()
    wall, cpu = {k: [] for k in fns}, {k: [] for k in fns}
    for _ in range(args.reps):
        for key, fn in fns.items():
            t0, c0 = time.perf_counter(), time.process_time()
            [g.numpy() for g in fn()]
            wall[key].append(time.perf_counter() - t0)
            cpu[key].append(time.process_time() - c0)
    load1 = common.loadavg()
    results, rows = {}, []
    for key in fns:
        r = dict(
            common.summary(wall[key]), cpu_median_s=statistics.median(cpu[key]), cpu_all_s=cpu[key]
        )
        results[key] = r
    for key, r in results.items():
        ref = results.get(f"{key.split('/')[0]}/keras")
        r["speedup_vs_keras"] = ref["median_s"] / r["median_s"] if ref else None
        r["cpu_speedup_vs_keras"] = ref["cpu_median_s"] / r["cpu_median_s"] if ref else None
        rows.append(
            (
                key,
                r["median_s"],
                "" if ref is None else f"{r['speedup_vs_keras']:.2f}x",
                r["cpu_median_s"],
                "" if ref is None else f"{r['cpu_speedup_vs_keras']:.2f}x",
            )
        )
    payload = dict(
        common.machine_info(),
        config={
            "batch": B,
            "steps": T,
            "dec": DEC,
            "z": Z,
            "enc": ENC,
            "reps": args.reps,
            "onednn_max_cpu_isa": isa,
        },
        results=results,
        loadavg={"before": load0, "after": load1},
    )
    print(common.table(rows, ["part/variant", "wall s", "wall vs keras", "CPU s", "CPU vs keras"]))
    print(f"oneDNN ISA {isa}; {args.reps} reps (median); loadavg before {load0} after {load1}")
    print("wrote", common.write_json(args.name or f"rnn_loop_{isa.lower()}", payload))
    return payload


if __name__ == "__main__":
    main()
