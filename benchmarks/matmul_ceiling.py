"""The machine's fp32 matmul ceiling through TensorFlow, at the sizes sketch-rnn uses.

    python benchmarks/matmul_ceiling.py [--quick]

Prints a table and writes benchmarks/results/matmul_ceiling.json. The ceiling used by
train_step.py for model FLOP utilisation is the best median rate over these shapes.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import common  # noqa: E402

common.quiet_tf()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="shorter runs")
    args = ap.parse_args(argv)
    load0 = common.loadavg()
    res = common.matmul_ceiling(min_time=0.2 if args.quick else 0.5, reps=3 if args.quick else 5)
    payload = dict(
        common.machine_info(),
        config={"quick": args.quick, "dtype": "float32"},
        results=res,
        ceiling_gflops=common.ceiling_gflops(res),
        loadavg={"before": load0, "after": common.loadavg()},
    )
    print(
        common.table(
            [
                (r["name"], f"{r['m']}x{r['k']}x{r['n']}", r["gflops_median"], r["gflops_best"])
                for r in res
            ],
            ["matmul", "m x k x n", "GFLOP/s median", "GFLOP/s best"],
        )
    )
    print(
        f"ceiling (best median): {payload['ceiling_gflops']:.1f} GFLOP/s; "
        f"loadavg {payload['loadavg']}"
    )
    print("wrote", common.write_json("matmul_ceiling", payload))
    return payload


if __name__ == "__main__":
    main()
