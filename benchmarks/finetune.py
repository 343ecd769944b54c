"""Does fine-tuning a model the package loads help? `train --init_from` against from scratch.

Magenta's Quick, Draw! `sheep` model (the bundled `sheep`: decoder-only LSTM 512, M 20) fine-tuned
on aaron_sheep, against the same architecture trained from scratch, at equal steps, on all 7,400
train sketches and on a 500-sketch subset (drawn with seed 0). Each run evaluates, at each step of
`--steps` (and at step 0), on aaron_sheep's 300 test sketches:

* `nll`: the negative log-likelihood per real point in pixels (`training.evaluate.point_nll`:
  offsets' density in pixels plus pen states, over each sketch's own points). Neither the scale
  factor nor max_seq_len a model keeps enters it, so models trained with different ones compare;
* `r_cost`: Magenta's evaluation L_R (pen masked after the end, divided by N_max = 250) in the
  model's own units;

and, at the last step, draws 16 sketches (τ 0.5, seed 1) for pictures. "as loaded" is the `sheep`
model with its own scale factor (63.1 px per unit); step 0 of a fine-tuning run is the same
weights with aaron_sheep's scale factor (18.5), the one the run trains with.

Runs (`--set main`, the table in benchmarks/README.md): `finetune_full`, `scratch_full`,
`finetune_500`, `scratch_500`; `--set defaults` compares fine-tuning settings (learning rate,
recurrent dropout) over 200 steps on the 500 subset, which chose the fine-tuning defaults of
`training.source.FINE_TUNE_DEFAULTS`.

Everything is resumable: each run trains in `<runs_dir>/<name>` (a `train --log_root`, resumed after
a kill) and keeps its evaluations in `<runs_dir>/<name>/finetune_evals.json`; re-running the script
skips what is done. Results: `benchmarks/results/finetune[_<set>].json` and a table.

    PYTHONPATH=. python benchmarks/finetune.py --runs_dir ~/runs/finetune            # main, ~hours
    PYTHONPATH=. python benchmarks/finetune.py --runs_dir ~/runs/finetune --set defaults
    PYTHONPATH=. python benchmarks/finetune.py --quick --runs_dir /tmp/ft              # smoke run

The committed table: the main set to 1,000 steps, the two fine-tuning runs on to 2,000
(`--only finetune_full,finetune_500 --steps 100,500,1000,2000`), then `--no_train --steps
100,500,1000,2000` to collect them; `--set defaults --no_train` collects the defaults runs as far
as they went.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import common  # noqa: E402

SHARED = os.environ.get(
    "SKETCH_RNN_SHARED",
    os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared"),
)
NPZ_DIR = os.path.join(SHARED, "data", "npz")
SOURCE = "sheep"
EVALS = "finetune_evals.json"


def runs(set_name, batch):
    """{name: (data, init_from or None, hparam overrides)} of a set of runs."""
    from sketch_rnn_tf.training.source import FINE_TUNE_DEFAULTS

    base = {"batch_size": batch, "save_every": 100}
    scratch = {**base, "dec_rnn_size": 512, "num_mixture": 20, "conditional": False}
    tuned = {**base, **FINE_TUNE_DEFAULTS}
    if set_name == "main":
        return {
            "finetune_full": ("full", SOURCE, tuned),
            "scratch_full": ("full", None, scratch),
            "finetune_500": ("500", SOURCE, tuned),
            "scratch_500": ("500", None, scratch),
        }
    if set_name == "defaults":
        # Magenta's training defaults (lr 1e-3, recurrent dropout) first, then lower rates without
        # dropout, and dropout at the lowest rate.
        out = {}
        for lr, dropout in ((1e-3, True), (1e-4, False), (1e-5, False), (1e-5, True)):
            name = f"lr{lr:g}_{'dropout' if dropout else 'nodropout'}"
            settings = {"learning_rate": lr, "use_recurrent_dropout": dropout}
            out[name] = ("500", SOURCE, {**base, **settings})
        return out
    raise SystemExit(f"--set must be main or defaults, got {set_name!r}")


def subset_npz(runs_dir, count=500, seed=0):
    """aaron_sheep with `count` train sketches (a seeded draw) and the full valid/test splits."""
    import numpy as np

    path = os.path.join(runs_dir, "data", f"aaron_sheep_{count}.npz")
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = np.load(
            os.path.join(NPZ_DIR, "aaron_sheep.npz"), allow_pickle=True, encoding="latin1"
        )
        keep = np.sort(np.random.default_rng(seed).permutation(len(data["train"]))[:count])
        train = np.empty(count, dtype=object)
        train[:] = [data["train"][i] for i in keep]
        tmp = path + ".tmp.npz"
        np.savez(tmp, train=train, valid=data["valid"], test=data["test"])
        os.replace(tmp, path)
    return os.path.dirname(path), os.path.basename(path)


def test_sketches():
    import numpy as np

    data = np.load(os.path.join(NPZ_DIR, "aaron_sheep.npz"), allow_pickle=True, encoding="latin1")
    return [s.astype(np.float32) for s in data["test"]]


def evaluate(model, sketches):
    from sketch_rnn_tf.training.evaluate import evaluate_split, point_nll

    nll = point_nll(model, sketches)
    return {
        "nll": nll["nll"],
        "nll_offset": nll["offset"],
        "nll_pen": nll["pen"],
        "r_cost": evaluate_split(model, sketches)["r_cost"],
    }


def as_loaded(sketches):
    """The source model as it was loaded (its own scale factor and max_seq_len)."""
    import sketch_rnn_tf as srt

    model = srt.load_model(SOURCE)
    nll = srt.training.evaluate.point_nll(model, sketches)
    fit = [s for s in sketches if len(s) <= model.hparams.max_seq_len]
    return {
        "nll": nll["nll"],
        "scale_factor": model.scale_factor,
        "r_cost_fitting": srt.training.evaluate.evaluate_split(model, fit)["r_cost"],
        "fitting": len(fit),
    }


def run_one(name, spec, runs_dir, steps, sketches, no_train=False):
    """Trains `name` to each of `steps` (resuming), evaluating at each; returns its evaluations.

    With `no_train`, returns the evaluations a run has so far (a stopped run's); trains nothing.
    """
    from sketch_rnn_tf.hparams import HParams
    from sketch_rnn_tf.training import build_trainer

    data, init_from, overrides = spec
    log_root = os.path.join(runs_dir, name)
    os.makedirs(log_root, exist_ok=True)
    evals_path = os.path.join(log_root, EVALS)
    evals = {}
    if os.path.exists(evals_path):
        with open(evals_path, encoding="utf-8") as f:
            evals = json.load(f)
    if no_train or (all(str(s) in evals for s in [0, *steps]) and "samples" in evals):
        return _with_train_curve(evals, log_root)
    if data == "full":
        data_dir, npz = NPZ_DIR, "aaron_sheep.npz"
    else:
        data_dir, npz = subset_npz(runs_dir, int(data))
    hp = HParams(data_set=[npz], **overrides)
    trainer, _ = build_trainer(
        data_dir,
        hp,
        log_root,
        seed=0,
        progress=False,
        init_from=init_from,
        explicit=list(overrides),  # the run's settings win over FINE_TUNE_DEFAULTS
    )

    def save():
        tmp = evals_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(evals, f)
        os.replace(tmp, evals_path)

    for target in [0, *steps]:
        if str(target) in evals:
            continue
        if int(trainer.step.numpy()) > target:
            raise SystemExit(f"{name}: at step {int(trainer.step.numpy())}, past {target}")
        trainer.train(num_steps=target) if target else None
        evals[str(target)] = evaluate(trainer.model, sketches)
        print(f"{name} step {target}: {evals[str(target)]}", flush=True)
        save()
    if "samples" not in evals:
        drawn = trainer.model.sample(16, temperature=0.5, seed=1)
        evals["samples"] = [s.round(3).tolist() for s in drawn]
        evals["scale_factor"] = trainer.model.scale_factor
        evals["hparams"] = {k: getattr(trainer.hparams, k) for k in overrides}
        save()
    return _with_train_curve(evals, log_root)


def _with_train_curve(evals, log_root):
    """The run's training cost (Magenta's L_R with dropout and augmentation, as logged)."""
    from sketch_rnn_tf.training import read_metrics

    train = [r for r in read_metrics(log_root) if r["split"] == "train"]
    evals["train_curve"] = [[r["step"], r["r_cost"]] for r in train]
    return evals


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs_dir", required=True, help="where the runs train (outside the checkout)")
    ap.add_argument("--set", default="main", choices=("main", "defaults"))
    ap.add_argument(
        "--steps", default=None, help="evaluation steps (main: 100,500,1000; defaults: 100,200)"
    )
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--only", default=None, help="comma-separated run names")
    ap.add_argument("--quick", action="store_true", help="smoke run: steps 2,4, batch 4")
    ap.add_argument(
        "--no_train", action="store_true", help="report what the runs have so far; train nothing"
    )
    args = ap.parse_args(argv)
    if args.quick:
        args.steps, args.batch = args.steps or "2,4", 4
    default_steps = {"main": "100,500,1000", "defaults": "100,200"}[args.set]
    steps = [int(s) for s in (args.steps or default_steps).split(",")]
    runs_dir = os.path.abspath(os.path.expanduser(args.runs_dir))
    specs = runs(args.set, args.batch)
    if args.only:
        specs = {k: v for k, v in specs.items() if k in args.only.split(",")}
    sketches = test_sketches()
    load_before = os.getloadavg()
    results = {"as_loaded": as_loaded(sketches), "runs": {}}
    for name, spec in specs.items():
        results["runs"][name] = {
            "data": spec[0],
            "init_from": spec[1],
            "hparams": spec[2],
            "evals": run_one(name, spec, runs_dir, steps, sketches, args.no_train),
        }
    payload = {
        **common.machine_info(),
        "config": {
            "set": args.set,
            "steps": steps,
            "batch": args.batch,
            "source": SOURCE,
            "no_train": args.no_train,
        },
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "results": results,
    }
    name = "finetune" if args.set == "main" else f"finetune_{args.set}"
    if args.quick:
        name += "_quick"
    print(table(results, steps))
    print("wrote", common.write_json(name, payload))


def table(results, steps):
    loaded = results["as_loaded"]
    lines = [
        f"as loaded (scale factor {loaded['scale_factor']:.1f}): NLL per point {loaded['nll']:.3f}",
        "",
        "| run | " + " | ".join(f"step {s}" for s in [0, *steps]) + " |",
        "|---|" + "---|" * (len(steps) + 1),
    ]
    for name, run in results["runs"].items():
        evals = run["evals"]
        cells = [
            f"{evals[str(s)]['nll']:.3f} ({evals[str(s)]['r_cost']:.3f})" if str(s) in evals else ""
            for s in [0, *steps]
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("cells: test NLL per point in pixels (Magenta's L_R in the model's units)")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
