"""Memory and time to the first step of `train` on a synthetic data set larger than the usual ones.

    PYTHONPATH=. nice python benchmarks/data_scale.py [--sketches 1000000] [--classes 8]
        [--before /path/to/other/checkout] [--runs build,cached] [--workdir DIR]

Makes `--sketches` synthetic sketches in `--classes` Magenta `.npz` files (seeded; int16, 20-120
points, pen lifted with probability 0.1 and at the last point; per class 96% train, 2% valid, 2%
test) in a temporary folder, then runs the command line `python -m sketch_rnn_tf train` for
`--num_steps 2` of a tiny model (enc/dec 16 units, z 8, 3 mixtures, N_max 125, batch 100) in a
subprocess, each with a fresh `$SKETCH_RNN_TF_HOME` unless stated:

  * `before`: the checkout given by `--before` (e.g. the main branch before packed data);
  * `build`: this checkout, first run: validates every file and writes the packed caches;
  * `cached`: this checkout again, with the caches of `build`.

Measured in the child (a small wrapper around the CLI): peak RSS (`VmHWM` of /proc/self/status,
read at exit, so the whole run including the final validation is covered), the resident anonymous
and file-backed memory at exit (`RssAnon`, `RssFile`; mapped cache pages count in RSS but are
shared and reclaimable), seconds from process start to data loaded (`build_trainer` returned) and to
the end of the first training step. `rss_over_tf_mb` = peak RSS - the peak RSS of a process that
only does `import tensorflow` (measured in the same run). The generated files are deleted at the
end (unless `--workdir` is given).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from benchmarks import common  # noqa: E402

HPARAMS = (
    "enc_rnn_size=16,dec_rnn_size=16,z_size=8,num_mixture=3,max_seq_len=125,batch_size=100,"
    "save_every=1000,use_recurrent_dropout=false"
)

WRAPPER = r"""
import json, os, sys, time
T0 = time.perf_counter()
sys.path.insert(0, {root!r})
out = {out!r}
marks = {{}}

def status():
    values = {{}}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
                values[key] = int(rest.split()[0]) / 1024.0
    return values

def mapped():
    # Resident MB per mapped file at exit: how much of the packed caches (*.pack) is in RSS.
    sizes, name = {{}}, None
    with open("/proc/self/smaps") as f:
        for line in f:
            head = line.split()
            if head and "-" in head[0] and ":" not in head[0]:
                name = head[5] if len(head) > 5 else "[anon]"
            elif head and head[0] == "Rss:":
                sizes[name] = sizes.get(name, 0) + int(head[1]) / 1024.0
    pack = sum(v for k, v in sizes.items() if k.endswith(".pack"))
    top = sorted(sizes.items(), key=lambda kv: -kv[1])[:6]
    return {{"pack_rss_mb": pack, "top_mappings_mb": top}}

def finish():
    record = dict(status(), **marks)
    record.update(mapped())
    record["total_s"] = time.perf_counter() - T0
    with open(out, "w") as f:
        json.dump(record, f)

import atexit
atexit.register(finish)
if {bare!r}:
    import tensorflow  # noqa: F401
    sys.exit(0)
from sketch_rnn_tf.training import run, trainer as trainer_mod
real_build = run.build_trainer
def build_trainer(*a, **k):
    result = real_build(*a, **k)
    marks["data_loaded_s"] = time.perf_counter() - T0
    return result
run.build_trainer = build_trainer
real_init = trainer_mod.Trainer.__init__
def init(self, *a, **k):
    real_init(self, *a, **k)
    step = self._train_step
    def timed(*a2, **k2):
        r = step(*a2, **k2)
        if "first_step_s" not in marks:
            float(r["cost"])
            marks["first_step_s"] = time.perf_counter() - T0
        return r
    self._train_step = timed
trainer_mod.Trainer.__init__ = init
from sketch_rnn_tf.cli import main
code = main(sys.argv[1:])
marks["exit_code"] = code
sys.exit(code)
"""


def make_dataset(directory: str, sketches: int, classes: int, seed: int = 0) -> dict:
    """Writes `classes` .npz files of `sketches // classes` sketches each.

    Returns their names and sizes.
    """
    per_class = sketches // classes
    n_valid = n_test = max(per_class // 50, 1)
    n_train = per_class - n_valid - n_test
    rng = np.random.default_rng(seed)
    names, points = [], 0
    for c in range(classes):
        splits = {}
        for split, n in (("train", n_train), ("valid", n_valid), ("test", n_test)):
            lengths = rng.integers(20, 121, n)
            total = int(lengths.sum())
            data = np.empty((total, 3), np.int16)
            data[:, :2] = np.clip(rng.normal(0, 25, (total, 2)), -300, 300).astype(np.int16)
            data[:, 2] = rng.random(total) < 0.1
            ends = np.cumsum(lengths)
            data[ends - 1, 2] = 1
            arr = np.empty(n, dtype=object)
            arr[:] = np.split(data, ends[:-1])
            splits[split] = arr
            points += total
            del data
        name = f"synthetic_{c}.npz"
        np.savez(os.path.join(directory, name), **splits)
        names.append(name)
        del splits
    size = sum(os.path.getsize(os.path.join(directory, n)) for n in names)
    return {
        "names": names,
        "per_class": {"train": n_train, "valid": n_valid, "test": n_test},
        "points": points,
        "bytes_on_disk": size,
    }


def run_child(out_dir: str, tree: str, args: list, env: dict, bare: bool = False) -> dict:
    fd, out = tempfile.mkstemp(suffix=".json", dir=out_dir)
    os.close(fd)
    code = WRAPPER.format(root=tree, out=out, bare=bare)
    env = dict(env, PYTHONPATH=tree, TF_CPP_MIN_LOG_LEVEL="2")
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code] + args,
        env=env,
        cwd=out_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    wall = time.perf_counter() - t0
    with open(out) as f:
        text = f.read()
    record = json.loads(text) if text else {}
    record["wall_s"] = wall
    record["returncode"] = proc.returncode
    if proc.returncode != 0:
        record["output_tail"] = proc.stdout[-3000:]
    return record


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sketches", type=int, default=1_000_000)
    parser.add_argument("--classes", type=int, default=8)
    parser.add_argument(
        "--before", default=None, help="another checkout to measure first (e.g. main)"
    )
    parser.add_argument("--runs", default="build,cached", help="of this checkout: build, cached")
    parser.add_argument(
        "--workdir", default=None, help="keep the data and caches here (default: temp, deleted)"
    )
    parser.add_argument("--name", default=None, help="results file name (default data_scale[_<N>])")
    args = parser.parse_args()

    work = args.workdir or tempfile.mkdtemp(prefix="data_scale-")
    os.makedirs(work, exist_ok=True)
    data_dir = os.path.join(work, "data")
    os.makedirs(data_dir, exist_ok=True)
    load0 = common.loadavg()
    try:
        t0 = time.perf_counter()
        dataset = make_dataset(data_dir, args.sketches, args.classes)
        dataset["generate_s"] = time.perf_counter() - t0
        print(
            f"generated {args.sketches} sketches ({dataset['points']} points, "
            f"{dataset['bytes_on_disk'] / 1e6:.0f} MB on disk) in {dataset['generate_s']:.0f} s",
            flush=True,
        )
        env = dict(os.environ)
        env["SKETCH_RNN_TF_HOME"] = os.path.join(work, "home")
        train_args = [
            "train",
            "--data_dir",
            data_dir,
            "--dataset",
            ",".join(dataset["names"]),
            "--hparams",
            HPARAMS,
            "--num_steps",
            "2",
            "--no_progress",
        ]
        results = {}
        results["bare_import_tensorflow"] = run_child(work, ROOT, [], env, bare=True)
        base = results["bare_import_tensorflow"]["VmHWM"]
        plan = []
        if args.before:
            plan.append(("before", os.path.abspath(args.before), os.path.join(work, "home_before")))
        for run in [r for r in args.runs.split(",") if r]:
            plan.append((run, ROOT, os.path.join(work, "home")))
        for label, tree, home in plan:
            log_root = os.path.join(work, f"log_{label}")
            record = run_child(
                work,
                tree,
                train_args + ["--log_root", log_root],
                dict(env, SKETCH_RNN_TF_HOME=home),
            )
            record["tree"] = tree
            if "VmHWM" in record:
                record["rss_over_tf_mb"] = record["VmHWM"] - base
            results[label] = record
            shutil.rmtree(log_root, ignore_errors=True)
            print(
                f"{label}: {json.dumps({k: v for k, v in record.items() if k != 'output_tail'})}",
                flush=True,
            )
            if record["returncode"] != 0:
                print(record.get("output_tail", ""), flush=True)
        cache_bytes = sum(
            os.path.getsize(os.path.join(dp, f))
            for dp, _, fs in os.walk(os.path.join(work, "home"))
            for f in fs
        )
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)

    print()
    print(
        f"{args.sketches} sketches in {args.classes} classes, "
        f"{dataset['bytes_on_disk'] / 1e6:.0f} MB .npz, "
        f"packed caches {cache_bytes / 1e6:.0f} MB; bare `import tensorflow` peak RSS {base:.0f} MB"
    )
    print(
        "| run | peak RSS MB | over import tensorflow MB | RssAnon at exit MB | RssFile at exit MB "
        "| data loaded s | first step s | whole run s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for label, r in results.items():
        if label == "bare_import_tensorflow" or "VmHWM" not in r:
            continue
        print(
            f"| {label} | {r['VmHWM']:.0f} | **{r['rss_over_tf_mb']:+.0f}** "
            f"| {r.get('RssAnon', 0):.0f} "
            f"| {r.get('RssFile', 0):.0f} | {r.get('data_loaded_s', float('nan')):.1f} "
            f"| {r.get('first_step_s', float('nan')):.1f} | {r.get('total_s', float('nan')):.1f} |"
        )
    payload = dict(
        common.machine_info(),
        config={
            "sketches": args.sketches,
            "classes": args.classes,
            "hparams": HPARAMS,
            "num_steps": 2,
        },
        dataset=dataset,
        cache_bytes=cache_bytes,
        results=results,
        loadavg_before=load0,
        loadavg_after=common.loadavg(),
    )
    name = args.name or (
        "data_scale" if args.sketches == 1_000_000 else f"data_scale_{args.sketches}"
    )
    print("wrote", common.write_json(name, payload))


if __name__ == "__main__":
    main()
