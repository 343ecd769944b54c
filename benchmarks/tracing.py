"""Start-up cost of the compiled graphs: tracing with AutoGraph against without (the package's way).

    python benchmarks/tracing.py [--reps 3] [--quick]

Every graph of the package is a `tf.function(..., autograph=False)`: its loops and branches on
tensors are written as `tf.while_loop` / `tf.cond`, so AutoGraph would only re-parse the Python
source. Its cost falls on the first call in a process (AutoGraph caches what it converted), so each
measurement is a fresh process. In it, the child times:

* `sample`: the first `model.sample(1, max_len=1)` of the bundled `aaron_sheep_vae` (traces the
  decoding loop, its initial state and priming),
* `train_step`: the first training step of a `Trainer` on that model's architecture (batch 20 of
  `train_step.random_batch`'s sketches at its N_max, the gradient and Adam's update, one device),
* `process`: the child's whole wall time (importing TensorFlow, loading the model, both of the
  above).

`autograph on` runs the same code with `tf.function` forced to `autograph=True`. The two settings
run interleaved (on, off, on, off, ...); medians; compare them only as ratios within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from benchmarks import common  # noqa: E402

CHILD = r"""
import json, os, sys, time
t0 = time.perf_counter()
import tensorflow as tf
if sys.argv[1] == "on":
    _function = tf.function
    def _with_autograph(*args, **kwargs):
        kwargs["autograph"] = True
        return _function(*args, **kwargs)
    tf.function = _with_autograph
import sketch_rnn_tf as srt
from sketch_rnn_tf.training import Trainer
from benchmarks.train_step import random_batch

quick = sys.argv[2] == "1"
model = srt.load_model(os.path.join(sys.argv[3], "checkpoints", "aaron_sheep_vae"))
hp = model.hparams.replace(batch_size=20)
if quick:
    hp = hp.replace(enc_rnn_size=8, dec_rnn_size=16, z_size=4, num_mixture=3)
    model = srt.SketchRNN(hp, scale_factor=model.scale_factor)
out = {}
t = time.perf_counter()
model.sample(1, seed=0, max_len=1)
out["sample"] = time.perf_counter() - t
trainer = Trainer(srt.SketchRNN(hp, scale_factor=model.scale_factor), train=None, progress=False)
x, seq_len = random_batch(hp.batch_size, hp.max_seq_len)
t = time.perf_counter()
trainer.train_step(x, seq_len)
out["train_step"] = time.perf_counter() - t
out["process"] = time.perf_counter() - t0
print("RESULT " + json.dumps(out))
"""


def child(autograph: str, quick: bool) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=ROOT)
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, autograph, str(int(quick)), ROOT],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
    )
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    line = [s for s in proc.stdout.splitlines() if s.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT ") :])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="a tiny model of the same cells")
    args = ap.parse_args(argv)
    load_before = common.loadavg()
    runs = {"on": [], "off": []}
    t0 = time.perf_counter()
    for _ in range(args.reps):
        for setting in runs:
            runs[setting].append(child(setting, args.quick))
    wall = time.perf_counter() - t0
    keys = ("sample", "train_step", "process")
    medians = {s: {k: statistics.median(r[k] for r in runs[s]) for k in keys} for s in runs}
    rows = [
        [k, f"{medians['on'][k]:.2f}", f"{medians['off'][k]:.2f}",
         f"{medians['on'][k] / medians['off'][k]:.2f}x"]
        for k in keys
    ]  # fmt: skip
    print(common.table(rows, ["first call", "autograph on (s)", "off (s)", "on / off"]))
    payload = {
        **common.machine_info(),
        "config": {"reps": args.reps, "quick": args.quick, "model": "aaron_sheep_vae"},
        "load_before": load_before,
        "load_after": common.loadavg(),
        "wall_s": wall,
        "runs": runs,
        "medians": medians,
    }
    name = "tracing_quick" if args.quick else "tracing"
    print("wrote", common.write_json(name, payload))


if __name__ == "__main__":
    main()
