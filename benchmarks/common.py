"""Shared helpers of the benchmarks.

Machine/version info, timing, JSON output, the matmul ceiling and the analytic FLOP counts of
sketch-rnn.

Timing discipline (the machine may be shared): configurations are measured *interleaved* (one
repetition of each in turn, repeated), the median of the repetitions is reported, and the load
average before and after is written next to the figures. Compare configurations only as ratios
within one run.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time

RESULTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


# ----------------------------------------------------------------------------- environment
def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> list:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return sorted(flags & {"avx2", "fma", "avx512f", "avx512_bf16", "amx_tile"})
    except OSError:
        pass
    return []


def machine_info() -> dict:
    import keras
    import numpy as np
    import tensorflow as tf

    return {
        "machine": {
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "simd": cpu_flags(),
            "gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
            "platform": platform.platform(),
        },
        "versions": {
            "python": sys.version.split()[0],
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "numpy": np.__version__,
        },
    }


def loadavg():
    try:
        return list(os.getloadavg())
    except OSError:
        return None


def write_json(name: str, payload: dict) -> str:
    os.makedirs(RESULTS_DIR, exist_ok=True)
    path = os.path.join(RESULTS_DIR, f"{name}.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(payload, f, indent=1, default=float)
        f.write("\n")
    return path


def quiet_tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


# ----------------------------------------------------------------------------- timing
def interleaved(fns: dict, reps: int, inner=None) -> dict:
    """Times each callable of `fns` `reps` times, interleaved (a, b, c, a, b, c, ...).

    `inner[name]` calls per repetition (default 1). Returns {name: [seconds per call, ...]}.
    """
    inner = inner or {}
    times = {k: [] for k in fns}
    for _ in range(reps):
        for name, fn in fns.items():
            k = inner.get(name, 1)
            t0 = time.perf_counter()
            for _ in range(k):
                fn()
            times[name].append((time.perf_counter() - t0) / k)
    return times


def summary(ts) -> dict:
    return {
        "median_s": statistics.median(ts),
        "min_s": min(ts),
        "max_s": max(ts),
        "reps": len(ts),
        "all_s": ts,
    }


def table(rows, headers) -> str:
    cells = [[str(h) for h in headers]] + [[_fmt(v) for v in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = [
        " | ".join(c.ljust(w) for c, w in zip(cells[0], widths)),
        "-|-".join("-" * w for w in widths),
    ]
    lines += [" | ".join(c.ljust(w) for c, w in zip(r, widths)) for r in cells[1:]]
    return "\n".join(lines)


def _fmt(v):
    if isinstance(v, float):
        if v == 0:
            return "0"
        if abs(v) >= 100:
            return f"{v:.0f}"
        if abs(v) >= 1:
            return f"{v:.2f}"
        return f"{v:.3g}"
    return str(v)


# ----------------------------------------------------------------------------- matmul ceiling
def model_matmul_shapes(batch=100, steps=250, enc=256, dec=512, z=128, outputs=123, hyper=256):
    """(name, m, k, n) of the matmuls that dominate sketch-rnn's training step."""
    return [
        ("dec input proj (B·T)x(5+z)x4n", batch * steps, 5 + z, 4 * dec),
        ("dec recurrent  Bx n x4n", batch, dec, 4 * dec),
        ("enc recurrent  Bx n x4n", batch, enc, 4 * enc),
        ("hyper recurrent Bx hn x4hn", batch, hyper, 4 * hyper),
        ("output (B·T)x n x(6M+3)", batch * steps, dec, outputs),
        ("dec step-wise  Bx(5+z)x4n", batch, 5 + z, 4 * dec),
    ]


def matmul_ceiling(shapes=None, min_time=0.5, reps=5):
    """fp32 GFLOP/s of tf.matmul at each shape; returns a list of dicts.

    Eager calls on resident operands (a CPU eager op is synchronous; the ~20 µs dispatch is < 1% of
    the smallest shape's time), `iters` calls per repetition, median and best of `reps`.
    """
    import tensorflow as tf

    shapes = shapes or model_matmul_shapes()
    out = []
    for name, m, k, n in shapes:
        a = tf.random.normal([m, k])
        b = tf.random.normal([k, n])
        flops = 2.0 * m * k * n
        iters = max(1, int(min_time * 50e9 / flops))  # ~min_time s at 50 GFLOP/s
        for _ in range(2):
            tf.matmul(a, b)
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            for _ in range(iters):
                c = tf.matmul(a, b)
            ts.append((time.perf_counter() - t0) / iters)
            del c
        med = statistics.median(ts)
        best = min(ts)
        out.append(
            {
                "name": name,
                "m": m,
                "k": k,
                "n": n,
                "iters": iters,
                "gflops_median": flops / med / 1e9,
                "gflops_best": flops / best / 1e9,
            }
        )
    return out


def ceiling_gflops(results, which="gflops_median"):
    """The machine ceiling: the best fp32 matmul rate measured over the model's shapes."""
    return max(r[which] for r in results)


# ----------------------------------------------------------------------------- FLOP counts
def lstm_flops(batch, steps, d_in, n):
    """Matmul FLOPs of one LSTM layer forward: x·W_xh and h·W_hh over all steps."""
    return 2.0 * batch * steps * (d_in + n) * 4 * n


def hyper_flops(batch, steps, d_in, n, hn, e):
    """Matmul FLOPs of one HyperLSTM forward.

    The main cell, the hyper LN-LSTM, the 8+4 z projections, the 8 alpha and 4 beta projections.
    """
    f = lstm_flops(batch, steps, d_in, n)  # x·W_xh, h·W_hh
    f += lstm_flops(batch, steps, d_in + n, hn)  # hyper cell on [x, h]
    f += 2.0 * batch * steps * hn * e * 12  # z_w (8) and z_b (4)
    f += 2.0 * batch * steps * e * n * 12  # alpha (8) and beta (4)
    return f


def sketch_rnn_flops(hp, batch, steps, training=True):
    """Analytic matmul FLOPs of a SketchRNN forward (+ backward when training).

    Training counts 3x forward, the usual count: the backward of a matmul is two matmuls of the
    same size.

    Element-wise work (gates, layer norm, the mixture density) is not counted: it is O(B·T·n)
    against the matmuls' O(B·T·n²).
    """
    d_in = 5 + (hp.z_size if hp.conditional else 0)
    n = hp.dec_rnn_size
    if hp.dec_model == "hyper":
        f = hyper_flops(batch, steps, d_in, n, hp.hyper_num_units, hp.hyper_embedding_size)
    else:
        f = lstm_flops(batch, steps, d_in, n)
    f += 2.0 * batch * steps * n * hp.num_outputs
    if hp.conditional:
        ne = hp.enc_rnn_size
        if hp.enc_model == "hyper":
            f += 2 * hyper_flops(batch, steps, 5, ne, hp.hyper_num_units, hp.hyper_embedding_size)
        else:
            f += 2 * lstm_flops(batch, steps, 5, ne)
        f += 2.0 * batch * 2 * ne * hp.z_size * 2  # mu, presig
        f += (
            2.0
            * batch
            * hp.z_size
            * (2 * n if hp.dec_model != "hyper" else 2 * (n + hp.hyper_num_units))
        )
    return 3.0 * f if training else f
