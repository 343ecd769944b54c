"""Training-step throughput of sketch-rnn: steps/s, sketches/s and model FLOP utilisation (MFU).

    python benchmarks/train_step.py            # batch 100, N_max 250 (the paper's setting)
    python benchmarks/train_step.py --quick    # batch 20, N_max 60, fewer repetitions (smoke run)
    python benchmarks/train_step.py --configs lstm --modes function,xla,keras_xla

Configurations (all conditional, enc 256 bi-LSTM, z 128, M 20, recurrent dropout on as Magenta):
  lstm        dec 512 LSTM
  layer_norm  dec 512 layer-norm LSTM
  hyper       dec 512 HyperLSTM (hyper 256, embedding 32)
Modes: `eager` (Trainer._step_fn called eagerly), `function` (tf.function, the Trainer default),
`xla` (tf.function(jit_compile=True), `Trainer(jit_compile=True)`), `function_autograd` (`function`
with the LSTM loops' automatic gradient instead of model/cells/lstm.py's), and for `lstm` only the
reference `keras` / `keras_xla`: a straightforward keras.layers.Bidirectional(LSTM(256)) encoder and
LSTM(512) decoder with a Dense(123) head, trained on the same loss with the same optimiser.

MFU = analytic matmul FLOPs per step (common.sketch_rnn_flops: 3x the forward matmuls) / step time
/ the matmul ceiling measured at the start of the same run (common.matmul_ceiling).
All configurations are timed interleaved; medians are reported.
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

from sketch_rnn_tf import HParams, SketchRNN  # noqa: E402
from sketch_rnn_tf.model import losses  # noqa: E402
from sketch_rnn_tf.model.cells import LSTMCell  # noqa: E402
from sketch_rnn_tf.training import schedules  # noqa: E402
from sketch_rnn_tf.training.trainer import Trainer, make_optimizer  # noqa: E402

CONFIGS = {
    "lstm": dict(dec_model="lstm"),
    "layer_norm": dict(dec_model="layer_norm"),
    "hyper": dict(dec_model="hyper"),
    # The same computation as the Keras baseline, which has no recurrent dropout.
    "lstm_nodrop": dict(dec_model="lstm", use_recurrent_dropout=False),
}
MODES = ("eager", "function", "xla", "keras", "keras_xla", "function_autograd")


class _AutogradLSTMCell(LSTMCell):
    """LSTMCell under another type, so that it takes the generic loop.

    `rnn.run_rnns` runs it with the generic loop and TensorFlow's automatic gradient (as before
    model/cells/lstm.py); benchmark mode `function_autograd`.
    """


def make_hparams(config, batch, nmax):
    return HParams(
        max_seq_len=nmax,
        batch_size=batch,
        enc_rnn_size=256,
        dec_rnn_size=512,
        z_size=128,
        num_mixture=20,
        enc_model="lstm",
        **CONFIGS[config],
    )


def random_batch(batch, nmax, seed=0):
    """A padded stroke-5 batch [B, N_max+1, 5] with lengths spread over [N_max/2, N_max]."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(nmax // 2, nmax + 1, size=batch).astype(np.int32)
    x = np.zeros((batch, nmax + 1, 5), np.float32)
    x[:, 0] = (0, 0, 1, 0, 0)
    for b, n in enumerate(lengths):
        x[b, 1 : n + 1, :2] = rng.normal(0, 1, (n, 2))
        pen = rng.random(n) < 0.1
        x[b, 1 : n + 1, 2] = ~pen
        x[b, 1 : n + 1, 3] = pen
        x[b, n + 1 :, 4] = 1
    return tf.constant(x), tf.constant(lengths)


# ----------------------------------------------------------------------------- Keras reference
class KerasSketchRNN(keras.Model):
    """A straightforward Keras port of the same sizes.

    Bidirectional(LSTM) encoder with a mask, Dense heads for μ, σ̂, Dense z → [h0, c0], LSTM decoder
    on [S_{i-1}, z], Dense(6M+3) head.
    """

    def __init__(self, hp):
        super().__init__()
        self.hp = hp
        self.enc = keras.layers.Bidirectional(keras.layers.LSTM(hp.enc_rnn_size))
        self.mu = keras.layers.Dense(hp.z_size)
        self.presig = keras.layers.Dense(hp.z_size)
        self.init = keras.layers.Dense(2 * hp.dec_rnn_size, activation="tanh")
        self.dec = keras.layers.LSTM(hp.dec_rnn_size, return_sequences=True)
        self.out = keras.layers.Dense(hp.num_outputs)

    def call(self, strokes, seq_len, seed):
        x, targets = strokes[:, :-1], strokes[:, 1:]
        mask = tf.sequence_mask(seq_len, tf.shape(targets)[1])
        h = self.enc(targets, mask=mask)
        mu, presig = self.mu(h), self.presig(h)
        z = mu + tf.exp(presig / 2) * tf.random.stateless_normal(tf.shape(mu), seed)
        h0, c0 = tf.split(self.init(z), 2, axis=1)
        steps = tf.shape(x)[1]
        dec_in = tf.concat([x, tf.tile(z[:, None], [1, steps, 1])], 2)
        y = self.out(self.dec(dec_in, initial_state=[h0, c0]))
        return y, targets, mu, presig


def keras_step_fn(model, optimizer, hp):
    step = tf.Variable(0, dtype=tf.int64)
    objective = losses.SketchRNNLoss.from_hparams(hp)

    def fn(x, seq_len):
        s = step.read_value()
        klw = schedules.kl_weight(hp, s)
        optimizer.learning_rate.assign(schedules.learning_rate(hp, s))
        with tf.GradientTape() as tape:
            y, _, mu, presig = model(x, seq_len, tf.stack([tf.constant(0, tf.int64), s]))
            cost = objective(dict(y=y, mu=mu, presig=presig), x, klw)["cost"]
        grads = tape.gradient(cost, model.trainable_variables)
        grads = [tf.clip_by_value(g, -hp.grad_clip, hp.grad_clip) for g in grads]
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        step.assign_add(1)
        return cost

    return fn


# ----------------------------------------------------------------------------- harness
def build_step(config, mode, batch, nmax):
    hp = make_hparams(config, batch, nmax)
    if mode.startswith("keras"):
        model = KerasSketchRNN(hp)
        x, lengths = random_batch(batch, nmax)
        model(x, lengths, tf.constant([0, 0], tf.int64))
        opt = make_optimizer(hp)
        opt.build(model.trainable_variables)
        fn = tf.function(keras_step_fn(model, opt, hp), jit_compile=(mode == "keras_xla"))
        return hp, fn
    model = SketchRNN(hp)
    if mode == "function_autograd":
        cells = [model.decoder.cell] + (
            [model.encoder.cell_fw, model.encoder.cell_bw] if model.encoder is not None else []
        )
        for cell in cells:
            if type(cell) is LSTMCell:
                cell.__class__ = _AutogradLSTMCell
    trainer = Trainer(model, train=None, jit_compile=(mode == "xla"), progress=False)
    fn = trainer._step_fn if mode == "eager" else trainer._train_step
    return hp, fn


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="batch 20, N_max 60, 2 repetitions")
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--nmax", type=int, default=None)
    ap.add_argument("--reps", type=int, default=None)
    ap.add_argument("--configs", default="lstm,layer_norm,hyper")
    ap.add_argument("--modes", default="eager,function,xla,keras,keras_xla")
    ap.add_argument("--eager_reps", type=int, default=1, help="eager is slow: fewer repetitions")
    ap.add_argument("--name", default="train_step", help="results/<name>.json")
    args = ap.parse_args(argv)
    batch = args.batch or (20 if args.quick else 100)
    nmax = args.nmax or (60 if args.quick else 250)
    reps = args.reps or (2 if args.quick else 5)
    configs = [c for c in args.configs.split(",") if c]
    modes = [m for m in args.modes.split(",") if m]

    load0 = common.loadavg()
    ceiling_res = common.matmul_ceiling(min_time=0.2 if args.quick else 0.5, reps=5)
    ceiling = common.ceiling_gflops(ceiling_res)

    x, seq_len = random_batch(batch, nmax)
    # CPU time (all threads) of each timed call besides wall time: on a shared machine the wall
    # time of a step swings with the other jobs, its CPU time much less.
    cpu_s = {}

    def runner(fn, key=None):
        def go():
            c0 = time.process_time()
            out = fn(x, seq_len)
            (out["cost"] if isinstance(out, dict) else out).numpy()
            if key is not None:
                cpu_s.setdefault(key, []).append(time.process_time() - c0)

        return go

    steps, hps, compile_s = {}, {}, {}
    for config in configs:
        for mode in modes:
            if mode.startswith("keras") and config != "lstm":
                continue
            key = f"{config}/{mode}"
            hp, fn = build_step(config, mode, batch, nmax)
            t0 = time.perf_counter()
            runner(fn)()
            compile_s[key] = time.perf_counter() - t0
            steps[key], hps[key] = fn, hp

    fast = {k: runner(f, k) for k, f in steps.items() if not k.endswith("/eager")}
    slow = {k: runner(f, k) for k, f in steps.items() if k.endswith("/eager")}
    times = common.interleaved(fast, reps) if fast else {}
    if slow:
        times.update(common.interleaved(slow, args.eager_reps))
    load1 = common.loadavg()

    results, rows = {}, []
    for key in steps:
        config, mode = key.split("/")
        med = statistics.median(times[key])
        flops = common.sketch_rnn_flops(hps[key], batch, nmax, training=True)
        r = dict(
            common.summary(times[key]),
            config=config,
            mode=mode,
            steps_per_s=1.0 / med,
            sketches_per_s=batch / med,
            model_gflop_per_step=flops / 1e9,
            achieved_gflops=flops / med / 1e9,
            mfu=flops / med / 1e9 / ceiling,
            first_call_s=compile_s[key],
            cpu_median_s=statistics.median(cpu_s[key]),
            cpu_all_s=cpu_s[key],
        )
        results[key] = r
    for key, r in results.items():
        ref = results.get(f"{r['config']}/function")
        r["speedup_vs_function"] = (ref["median_s"] / r["median_s"]) if ref else None
        kref = results.get("lstm/keras")
        r["speedup_vs_keras"] = (kref["median_s"] / r["median_s"]) if kref else None
        r["cpu_speedup_vs_keras"] = (kref["cpu_median_s"] / r["cpu_median_s"]) if kref else None
        rows.append(
            (
                key,
                r["median_s"],
                r["steps_per_s"],
                r["sketches_per_s"],
                r["achieved_gflops"],
                f"{100 * r['mfu']:.1f}%",
                "" if r["speedup_vs_function"] is None else f"{r['speedup_vs_function']:.2f}x",
                "" if r["speedup_vs_keras"] is None else f"{r['speedup_vs_keras']:.2f}x",
                r["cpu_median_s"],
                "" if r["speedup_vs_keras"] is None else f"{r['cpu_speedup_vs_keras']:.2f}x",
                r["first_call_s"],
            )
        )
    payload = dict(
        common.machine_info(),
        config={
            "batch": batch,
            "nmax": nmax,
            "reps": reps,
            "eager_reps": args.eager_reps,
            "quick": args.quick,
            "configs": configs,
            "modes": modes,
            "enc": "lstm 256 (bi)",
            "dec_rnn_size": 512,
            "z_size": 128,
            "num_mixture": 20,
            "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA", "native"),
        },
        matmul_ceiling={"gflops": ceiling, "shapes": ceiling_res},
        results=results,
        loadavg={"before": load0, "after": load1},
    )
    print(
        common.table(
            rows,
            [
                "config/mode",
                "s/step",
                "steps/s",
                "sketches/s",
                "GFLOP/s",
                "MFU",
                "vs function",
                "vs keras",
                "CPU s/step",
                "CPU vs keras",
                "1st call s",
            ],
        )
    )
    print(
        f"batch {batch}, N_max {nmax}, {reps} reps (median); matmul ceiling {ceiling:.1f} GFLOP/s; "
        f"loadavg before {load0} after {load1}"
    )
    print("wrote", common.write_json(args.name, payload))
    return payload


if __name__ == "__main__":
    main()
