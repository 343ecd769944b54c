"""Sampling throughput: the compiled batched sampler against Magenta's step-by-step loop.

    python benchmarks/sampling.py [--quick] [--dec_model lstm|layer_norm|hyper]

* batched: `model.sample(n, max_len=L)` for n = 1, 10, 100 — all n sketches decoded together in one
  `tf.while_loop` inside a `tf.function` (sampling/decoding.py), stateless sampling in the graph.
* loop: Magenta's `sample()`: batch 1, and per step one call of the decoder step (a `tf.function`
  of `Decoder.step`, the analogue of Magenta's `sess.run` per step) followed by numpy sampling of
  the mixture component, the offsets and the pen state; one sketch after another.

Both draw L = N_max steps per sketch (the untrained model's p3 logit bias is set to -30 so that no
sketch ends early; the `rows/sketch` column says how many rows were actually drawn). Figures are
sketches/s, timed interleaved, medians; the speed-up is per sketch.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import common  # noqa: E402

common.quiet_tf()

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from sketch_rnn_tf import HParams, SketchRNN  # noqa: E402


def make_loop_sampler(model, max_len, temperature=1.0):
    """Magenta's sampling loop (batch 1, numpy sampling per step).

    Returns a function of the seed that draws one sketch and returns the number of steps it took.
    """
    hp = model.hparams
    m = hp.num_mixture
    dec = model.decoder

    @tf.function(
        input_signature=[
            tf.TensorSpec([1, 5]),
            tf.TensorSpec([1, hp.z_size]),
            tf.TensorSpec([1, dec.cell.state_size]),
        ]
    )
    def step(prev, z, state):
        return dec.step(prev, z, state)

    @tf.function(input_signature=[tf.TensorSpec([1, hp.z_size])])
    def init(z):
        return dec.initial_state(z)

    def softmax_t(logits, t):
        logits = logits / t
        e = np.exp(logits - logits.max())
        return e / e.sum()

    def sample_one(seed):
        rng = np.random.default_rng(seed)
        z = rng.standard_normal((1, hp.z_size)).astype(np.float32)
        state = init(z)
        prev = np.array([[0, 0, 1, 0, 0]], np.float32)
        rows = []
        for _ in range(max_len):
            y, state = step(prev, z, state)
            y = y.numpy()[0]
            pen_logits, rest = y[:3], y[3:]
            pi, mux, muy, sx, sy, rho = np.split(rest, 6)
            rho = np.tanh(rho)
            j = rng.choice(m, p=softmax_t(pi, temperature))
            sxj, syj = np.exp(sx[j]) * temperature, np.exp(sy[j]) * temperature
            cov = [[sxj * sxj, rho[j] * sxj * syj], [rho[j] * sxj * syj, syj * syj]]
            dx, dy = rng.multivariate_normal([mux[j], muy[j]], cov)
            k = rng.choice(3, p=softmax_t(pen_logits, temperature))
            prev = np.zeros((1, 5), np.float32)
            prev[0, :2] = dx, dy
            prev[0, 2 + k] = 1
            rows.append(prev[0].copy())
            if k == 2:
                break
        return len(rows)

    return sample_one


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="N_max 60, 2 repetitions")
    ap.add_argument("--nmax", type=int, default=None)
    ap.add_argument("--reps", type=int, default=None)
    ap.add_argument(
        "--loop_sketches",
        type=int,
        default=2,
        help="sketches drawn one by one per repetition of the loop",
    )
    ap.add_argument("--dec_model", default="lstm")
    ap.add_argument("--sizes", default="1,10,100")
    args = ap.parse_args(argv)
    nmax = args.nmax or (60 if args.quick else 250)
    reps = args.reps or (2 if args.quick else 5)
    sizes = [int(s) for s in args.sizes.split(",")]

    hp = HParams(
        max_seq_len=nmax,
        dec_model=args.dec_model,
        enc_rnn_size=256,
        dec_rnn_size=512,
        z_size=128,
        num_mixture=20,
    )
    model = SketchRNN(hp)
    # An untrained model draws the end-of-sketch state p3 within a few steps; to time full-length
    # sketches in both samplers, its pen logit bias is pushed to -30 (p3 is then never drawn).
    b = model.decoder.output_b.numpy()
    b[2] = -30.0
    model.decoder.output_b.assign(b)
    load0 = common.loadavg()
    loop = make_loop_sampler(model, nmax)
    counter = {"seed": 0}
    steps_drawn = {}

    def batched(n):
        def go():
            counter["seed"] += 1
            out = model.sample(n, temperature=1.0, seed=counter["seed"], max_len=nmax)
            steps_drawn[f"batched_{n}"] = int(np.mean([len(s) for s in out]))

        return go

    def looped():
        for _ in range(args.loop_sketches):
            counter["seed"] += 1
            steps_drawn["loop"] = loop(counter["seed"])

    fns = {f"batched_{n}": batched(n) for n in sizes}
    fns["loop"] = looped
    first = {}
    for k, f in fns.items():
        t0 = __import__("time").perf_counter()
        f()
        first[k] = __import__("time").perf_counter() - t0
    times = common.interleaved(fns, reps)
    load1 = common.loadavg()

    per_sketch = {
        k: statistics.median(v) / (args.loop_sketches if k == "loop" else int(k[8:]))
        for k, v in times.items()
    }
    results, rows = {}, []
    for k, v in times.items():
        n = args.loop_sketches if k == "loop" else int(k[8:])
        r = dict(
            common.summary(v),
            sketches_per_call=n,
            s_per_sketch=per_sketch[k],
            sketches_per_s=1.0 / per_sketch[k],
            speedup_vs_loop=per_sketch["loop"] / per_sketch[k],
            rows_per_sketch=steps_drawn.get(k),
            first_call_s=first[k],
        )
        results[k] = r
        rows.append(
            (
                k,
                n,
                r["median_s"],
                r["sketches_per_s"],
                f"{r['speedup_vs_loop']:.1f}x",
                r["rows_per_sketch"],
                r["first_call_s"],
            )
        )
    payload = dict(
        common.machine_info(),
        config={
            "nmax": nmax,
            "reps": reps,
            "dec_model": args.dec_model,
            "dec_rnn_size": 512,
            "z_size": 128,
            "num_mixture": 20,
            "loop_sketches": args.loop_sketches,
            "quick": args.quick,
        },
        results=results,
        loadavg={"before": load0, "after": load1},
    )
    print(
        common.table(
            rows,
            [
                "sampler",
                "sketches/call",
                "s/call",
                "sketches/s",
                "per-sketch speed-up vs loop",
                "rows/sketch",
                "1st call s",
            ],
        )
    )
    print(
        f"N_max {nmax}, {reps} reps (median), dec {args.dec_model} 512; "
        f"loadavg before {load0} after {load1}"
    )
    print("wrote", common.write_json("sampling", payload))
    return payload


if __name__ == "__main__":
    main()
