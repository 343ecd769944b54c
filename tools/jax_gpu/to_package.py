"""Turns a `train_jax.py` snapshot into a package model directory, or back.

  python tools/jax_gpu/to_package.py SNAPSHOT.npz OUT_DIR [--check]
  python tools/jax_gpu/to_package.py --from_model checkpoints/aaron_sheep_vae SNAPSHOT.npz

The snapshot's arrays carry Magenta's variable names, which are the names
`SketchRNN.magenta_variables()` gives, so the weights are assigned one to one (shapes checked).
`--check` computes the first valid batch's L_R and L_KL with z = μ both ways, with JAX from the
snapshot (`train_jax.py --eval_snapshot`, run by `--jax_python`) and with the package from the saved
directory, and fails unless they agree to 1e-4 (tests/test_jax_trainer.py checks the same, and the
gradients, on small random models).
"""

from __future__ import annotations

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, HERE)

import train_jax  # noqa: E402

PACKAGE_HPARAMS = dict(
    dec_model="lstm",
    enc_model="lstm",
    conditional=True,
    use_recurrent_dropout=True,
    use_input_dropout=False,
    use_output_dropout=False,
)


def to_package(snapshot, out_dir):
    from sketch_rnn_tf.formats import save_model
    from sketch_rnn_tf.hparams import HParams
    from sketch_rnn_tf.model import SketchRNN

    weights, meta = train_jax.load_snapshot(snapshot)
    values = {k: v for k, v in meta["hparams"].items() if k != "unroll"}
    values.update(PACKAGE_HPARAMS, data_set=[meta["data"]])
    model = SketchRNN(HParams.from_dict(values), scale_factor=meta["scale_factor"])
    variables = model.magenta_variables()
    names = {train_jax.snapshot_name(n) for n in variables}
    if names != set(weights):
        raise SystemExit(f"weights differ: {sorted(names ^ set(weights))}")
    for name, var in variables.items():
        value = weights[train_jax.snapshot_name(name)]
        if tuple(var.shape) != value.shape:
            raise SystemExit(f"{name}: model {tuple(var.shape)} vs snapshot {value.shape}")
        var.assign(value)
    save_model(model, out_dir)
    return meta


def from_model(model_dir, snapshot):
    from sketch_rnn_tf.formats import load_model

    model = load_model(model_dir)
    hp = model.hparams
    weights = {train_jax.snapshot_name(n): v.numpy() for n, v in model.magenta_variables().items()}
    hparams = {k: getattr(hp, k) for k in train_jax.HPARAM_DEFAULTS}
    extra = dict(scale_factor=float(model.scale_factor), data=hp.data_set[0])
    train_jax.save_snapshot(snapshot, weights, hparams, 0, extra)


def check(snapshot, out_dir, data_dir, jax_python):
    """Valid batch 0's L_R and L_KL (z = μ): JAX (in `jax_python`) against the package."""
    import json
    import subprocess

    from sketch_rnn_tf.formats import load_model

    _, meta = train_jax.load_snapshot(snapshot)
    data = os.path.join(data_dir, meta["data"])
    out = subprocess.run(
        [
            jax_python,
            os.path.join(HERE, "train_jax.py"),
            "--data",
            data,
            "--out",
            "unused",
            "--eval_snapshot",
            snapshot,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    got_jax = json.loads(out.strip().splitlines()[-1])
    x, lengths = train_jax.check_batch(meta, data_dir)
    model = load_model(out_dir)
    mu, _ = model.encoder(x[:, 1:], lengths)
    got = model.compute_losses(x, lengths, training=False, z=mu)
    r_tf, kl_tf = float(got["r_cost"]), float(got["kl_raw"])
    print(
        f"valid batch L_R: jax {got_jax['r']:.6f} package {r_tf:.6f}; "
        f"L_KL: jax {got_jax['kl']:.6f} package {kl_tf:.6f}"
    )
    if abs(got_jax["r"] - r_tf) > 1e-4 or abs(got_jax["kl"] - kl_tf) > 1e-4:
        raise SystemExit("the JAX model and the package disagree")


def logs_to_tensorboard(logs, logdir):
    """Writes `train_jax.py`'s log.jsonl rows as TensorBoard scalars, with the trainer's tags."""
    import json

    import tensorflow as tf

    writer = tf.summary.create_file_writer(logdir)
    with writer.as_default():
        for path in logs:
            with open(path, encoding="utf-8") as f:
                for row in map(json.loads, f):
                    tag, step = {"train": "Train", "valid": "Valid"}[row["split"]], row["step"]
                    tf.summary.scalar(f"{tag}_Reconstr_Cost", row["r"], step=step)
                    tf.summary.scalar(f"{tag}_KL_Cost", row["kl"], step=step)
                    if row["split"] == "train":
                        tf.summary.scalar("Train_Cost", row["cost"], step=step)
                        tf.summary.scalar("Steps_Per_Sec", row["steps_per_s"], step=step)
    writer.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument(
        "--from_model",
        action="store_true",
        help="src is a package model dir, dst the snapshot to write",
    )
    p.add_argument("--check", action="store_true")
    p.add_argument(
        "--tensorboard",
        metavar="LOGDIR",
        help="also write the log.jsonl files given by --logs as TensorBoard events",
    )
    p.add_argument("--logs", nargs="*", default=[])
    p.add_argument(
        "--jax_python", default=sys.executable, help="a python with JAX, numpy and absl for --check"
    )
    p.add_argument(
        "--data_dir",
        default=os.path.join(
            os.path.dirname(os.path.dirname(HERE)), os.pardir, "shared", "data", "npz"
        ),
    )
    args = p.parse_args()
    if args.from_model:
        from_model(args.src, args.dst)
        return
    meta = to_package(args.src, args.dst)
    print(f"wrote {args.dst} (step {meta['step']}, valid {meta.get('valid')})")
    if args.check:
        check(args.src, args.dst, args.data_dir, args.jax_python)
    if args.tensorboard:
        logs_to_tensorboard(args.logs, args.tensorboard)


if __name__ == "__main__":
    main()
