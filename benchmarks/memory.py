"""Peak host memory of one training step, per configuration.

    python benchmarks/memory.py [--quick] [--configs lstm,layer_norm,hyper] [--modes function,xla]

Method. On CPU, `tf.config.experimental.get_memory_info` is not available and tracemalloc does
not see TensorFlow's C++ allocations, so the resident set size of the process is measured, in a
fresh subprocess per configuration (so that one configuration's freed-but-cached memory cannot
hide another's):

  1. build the model and the Trainer and run one step (tracing / XLA compilation, first-call
     allocations);
  2. reset the kernel's peak-RSS mark (`echo 5 > /proc/self/clear_refs`, Linux >= 4.0) and read
     the current RSS (`VmRSS`);
  3. run `--steps` more training steps and read the peak RSS since the reset (`VmHWM`).

`step_peak_mb` = VmHWM - VmRSS before the steps: the extra memory a steady-state step needs
(activations, the while-loop's stacked intermediates, gradients, temporaries). Where clear_refs
is not writable the script falls back to the `getrusage(RUSAGE_SELF).ru_maxrss` delta over the
whole subprocess (which then includes tracing/compilation) and says so in `method`.
`lifetime_peak_mb` (ru_maxrss) and `rss_before_mb` are reported too.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import common  # noqa: E402

CHILD = r"""
import json, os, resource, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
sys.path.insert(0, {root!r})
import importlib
import tensorflow as tf
from benchmarks.train_step import make_hparams, random_batch
pkg = importlib.import_module({module!r})
Trainer = importlib.import_module({module!r} + ".training.trainer").Trainer

def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0
    return None

ru0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
hp = make_hparams({config!r}, {batch}, {nmax})
model = pkg.SketchRNN(hp)
trainer = Trainer(model, train=None, jit_compile={xla}, progress=False)
x, l = random_batch({batch}, {nmax})
trainer._train_step(x, l)["cost"].numpy()
try:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    method = "VmHWM after clear_refs reset - VmRSS before the steps"
    before = status("VmRSS")
except OSError:
    method = "ru_maxrss delta over the subprocess (clear_refs not writable)"
    before = ru0
for _ in range({steps}):
    trainer._train_step(x, l)["cost"].numpy()
peak = status("VmHWM") if method.startswith("VmHWM") else \
    resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
print("RESULT " + json.dumps(dict(method=method, rss_before_mb=before, peak_mb=peak,
      step_peak_mb=peak - before,
      lifetime_peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)))
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="batch 20, N_max 60")
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--nmax", type=int, default=None)
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--configs", default="lstm,layer_norm,hyper")
    ap.add_argument("--modes", default="function")
    ap.add_argument("--module", default="sketch_rnn_tf", help="package to import (for A/B runs)")
    ap.add_argument("--name", default="memory")
    args = ap.parse_args(argv)
    batch = args.batch or (20 if args.quick else 100)
    nmax = args.nmax or (60 if args.quick else 250)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    load0 = common.loadavg()
    results, rows = {}, []
    for config in args.configs.split(","):
        for mode in args.modes.split(","):
            code = CHILD.format(
                root=root,
                module=args.module,
                config=config,
                batch=batch,
                nmax=nmax,
                xla=(mode == "xla"),
                steps=args.steps,
            )
            p = subprocess.run(
                [sys.executable, "-c", code],
                capture_output=True,
                text=True,
                env=dict(
                    os.environ, PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])
                ),
            )
            line = [s for s in p.stdout.splitlines() if s.startswith("RESULT ")]
            if not line:
                print(p.stderr[-3000:], file=sys.stderr)
                raise SystemExit(f"{config}/{mode}: child failed")
            r = json.loads(line[0][7:])
            results[f"{config}/{mode}"] = r
            rows.append(
                (
                    f"{config}/{mode}",
                    r["rss_before_mb"],
                    r["peak_mb"],
                    r["step_peak_mb"],
                    r["lifetime_peak_mb"],
                )
            )
    payload = dict(
        common.machine_info(),
        config={"batch": batch, "nmax": nmax, "steps": args.steps, "module": args.module},
        results=results,
        loadavg={"before": load0, "after": common.loadavg()},
    )
    print(
        common.table(
            rows, ["config/mode", "RSS before MB", "peak MB", "step peak MB", "lifetime peak MB"]
        )
    )
    print("method:", next(iter(results.values()))["method"])
    print("wrote", common.write_json(args.name, payload))
    return payload


if __name__ == "__main__":
    main()
