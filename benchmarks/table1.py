"""The trends of the paper's Table 1 on aaron_sheep, with tiny models trained briefly.

    python benchmarks/table1.py [--steps N] [--quick]

Four models with identical small hparams (enc 32 bi-LSTM, dec 128 LSTM, z 16, M 10, batch 50,
N_max 250, kl_tolerance 0.2 as in the paper), differing only in
  * w_KL = 1.0, 0.5, 0.25 (conditional VAE), and
  * a decoder-only model (conditional=False; no encoder, no z, no KL term).
Each is trained from the same seed for the same number of steps with
`build_trainer(...).train(steps)` and evaluated on the test split with
`evaluate_dataset(model, dataset, splits=("test",))`:
L_R = Magenta's evaluation reconstruction loss with z = μ, L_KL = the raw KL (before the floor).

Choice made for the short run: kl_weight_start = kl_weight (no KL annealing). With Magenta's
schedule (start 0.01, kl_decay_rate 0.99995) the effective weight is still ~0.01–0.05 after a few
hundred steps for every w_KL, so the three conditional runs would be almost the same optimisation;
without annealing w_KL acts from step 0, which is what Table 1 compares. Everything else (learning
rate schedule, recurrent dropout, augmentation) is Magenta's default.

The paper's Table 1 has no aaron_sheep row (its datasets are QuickDraw classes); only the trends are
compared: L_R falls and L_KL rises as w_KL falls, and the decoder-only L_R is the worst.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import common  # noqa: E402

common.quiet_tf()

import keras  # noqa: E402

from sketch_rnn_tf import HParams  # noqa: E402
from sketch_rnn_tf.training import build_trainer  # noqa: E402
from sketch_rnn_tf.training.evaluate import evaluate_dataset  # noqa: E402

DATA_DIR = "/work/shared/data/npz"
SEED = 1234
DEFAULT_STEPS = 600

CONFIGS = [  # (name, overrides)
    ("w_KL=1.00", {"kl_weight": 1.0, "kl_weight_start": 1.0, "conditional": True}),
    ("w_KL=0.50", {"kl_weight": 0.5, "kl_weight_start": 0.5, "conditional": True}),
    ("w_KL=0.25", {"kl_weight": 0.25, "kl_weight_start": 0.25, "conditional": True}),
    ("decoder-only", {"conditional": False}),
]


def base_hparams(quick: bool) -> HParams:
    return HParams(
        data_set=["aaron_sheep.npz"],
        enc_rnn_size=32,
        dec_rnn_size=128,
        z_size=16,
        num_mixture=10,
        batch_size=20 if quick else 50,
        max_seq_len=250,
        kl_tolerance=0.2,
        save_every=10**9,  # no intermediate validation/checkpoints; one at the end of train()
    )


def run_config(name, overrides, steps, quick, data_dir):
    hp = base_hparams(quick).replace(**overrides)
    keras.utils.set_random_seed(SEED)
    with tempfile.TemporaryDirectory() as log_root:
        trainer, dataset = build_trainer(data_dir, hp, log_root, seed=SEED, progress=False)
        t0 = time.perf_counter()
        last = trainer.train(steps)
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        test = evaluate_dataset(trainer.model, dataset, splits=("test",))["test"]
        eval_s = time.perf_counter() - t0
    return {
        "config": name,
        "hparams": hp.to_dict(),
        "steps": steps,
        "L_R": test["r_cost"],
        "L_KL": test["kl"] if hp.conditional else None,
        "test_count": test["count"],
        "train_s": train_s,
        "eval_s": eval_s,
        "last_train_log": last,
    }


def trends(results):
    by = {r["config"]: r for r in results}
    lr = [by[k]["L_R"] for k in ("w_KL=1.00", "w_KL=0.50", "w_KL=0.25")]
    kl = [by[k]["L_KL"] for k in ("w_KL=1.00", "w_KL=0.50", "w_KL=0.25")]
    dec = by["decoder-only"]["L_R"]
    return {
        "L_R falls as w_KL falls (1.0 > 0.5 > 0.25)": lr[0] > lr[1] > lr[2],
        "L_KL rises as w_KL falls (1.0 < 0.5 < 0.25)": kl[0] < kl[1] < kl[2],
        "decoder-only L_R is the worst": dec > max(lr),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--steps",
        type=int,
        default=None,
        help=f"training steps per config (default {DEFAULT_STEPS}; 20 with --quick)",
    )
    ap.add_argument("--quick", action="store_true", help="smoke run: batch 20, 20 steps")
    ap.add_argument("--data_dir", default=DATA_DIR)
    args = ap.parse_args(argv)
    steps = args.steps if args.steps is not None else (20 if args.quick else DEFAULT_STEPS)

    info = common.machine_info()
    load_before = common.loadavg()
    t_all = time.perf_counter()
    results = []
    for name, overrides in CONFIGS:
        r = run_config(name, overrides, steps, args.quick, args.data_dir)
        print(
            f"{name}: L_R {r['L_R']:.4f}  L_KL {r['L_KL']}  train {r['train_s']:.1f}s", flush=True
        )
        results.append(r)
    total_s = time.perf_counter() - t_all
    checks = trends(results)

    rows = [
        (r["config"], r["steps"], r["L_R"], "-" if r["L_KL"] is None else r["L_KL"], r["train_s"])
        for r in results
    ]
    print()
    print(common.table(rows, ["config", "steps", "L_R (test)", "L_KL (test)", "train s"]))
    print()
    for k, v in checks.items():
        print(f"{'HOLDS' if v else 'does not hold'}: {k}")
    print(f"total {total_s:.0f} s")

    payload = dict(info)
    payload.update(
        {
            "benchmark": "table1",
            "quick": args.quick,
            "seed": SEED,
            "data_dir": args.data_dir,
            "note": "kl_weight_start = kl_weight (no KL annealing) "
            "so that w_KL acts within a short run",
            "results": results,
            "trends": checks,
            "total_s": total_s,
            "loadavg_before": load_before,
            "loadavg_after": common.loadavg(),
        }
    )
    if args.quick:  # a smoke run does not overwrite the real results
        print("--quick: results/table1.json not written")
    else:
        print("wrote", common.write_json("table1", payload))


if __name__ == "__main__":
    main()
