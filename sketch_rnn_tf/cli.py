"""Command line: `python -m sketch_rnn_tf {sample,train,export,info} ...`.

  sample  draw sketches from a model (this package's directory, a Magenta TF1 directory, or a
          magenta-js .gen.json/.vae.json file) into one SVG grid
  train   train (or resume) a model on Magenta .npz files
  export  write a SavedModel (and optionally magenta-js JSON) from a model
  evaluate L_R and L_KL of a model on the valid/test splits of .npz files (--latent: does z
          carry the sketch? L_R with own vs other sketches' z, reconstruction Chamfer ratio)
  convert write any model that load_model reads in this package's own format
  info    print a model's hparams and parameter count
"""

from __future__ import annotations

import argparse
import os
import sys


class CLIError(Exception):
    """An error to print as one line, without a traceback."""


def _load(args):
    from .pretrained import load_model
    return load_model(args.checkpoint, scale_factor=getattr(args, "scale_factor", None),
                      data_dir=getattr(args, "data_dir", None))


def cmd_sample(args):
    from .rendering import render_grid
    model = _load(args)
    sketches = model.sample(args.num, temperature=args.temperature, seed=args.seed,
                            greedy=args.greedy, temperature_mode=args.temperature_mode)
    render_grid(sketches, ncols=args.ncols, path=args.out, color_by_stroke=args.color_by_stroke)
    lengths = [len(s) for s in sketches]
    print(f"wrote {len(sketches)} sketches (points: min {min(lengths)}, max {max(lengths)}) "
          f"to {args.out}")


def cmd_train(args):
    from absl import logging
    from .hparams import HParams
    from .training import train
    logging.set_verbosity(logging.INFO)
    hparams = HParams()
    if args.dataset:
        hparams = hparams.replace(data_set=[d for d in args.dataset.split(",") if d])
    hparams = hparams.parse(args.hparams or "")
    trainer = train(args.data_dir, hparams, args.log_root, num_steps=args.num_steps, seed=args.seed,
                    jit_compile=args.xla, progress=not args.no_progress)
    print(f"stopped at step {int(trainer.step)}; best model in "
          f"{os.path.join(args.log_root, 'best')}, TensorBoard logs in "
          f"{os.path.join(args.log_root, 'tensorboard')}")


def cmd_export(args):
    from .export import export_saved_model
    model = _load(args)
    path = export_saved_model(model, args.out)
    print(f"wrote SavedModel to {path}")
    if args.js:
        from .magenta.js import write_js
        write_js(model, args.js)
        print(f"wrote magenta-js JSON to {args.js}")


def cmd_evaluate(args):
    import json
    from .data.npz import load_dataset
    from .training.evaluate import evaluate_dataset
    model = _load(args)
    if args.latent and not model.conditional:
        raise CLIError(f"--latent needs a conditional model (a VAE with an encoder); {args.checkpoint} "
                       "is decoder-only (conditional=False) and has no latent space")
    names = [d for d in (args.dataset or ",".join(model.hparams.data_set)).split(",") if d]
    dataset = load_dataset(args.data_dir, names, model.hparams.max_seq_len)
    results = evaluate_dataset(model, dataset, splits=args.splits.split(","))
    for split, r in results.items():
        print(f"{split}: L_R {r['r_cost']:.4f}  L_KL {r['kl']:.4f}  ({r['count']} sketches)")
        if args.latent:  # issue 11: does z carry the sketch?
            from .training.evaluate import latent_diagnostic
            r["latent"] = d = latent_diagnostic(model, dataset.split(split), args.temperature,
                                                args.seed, args.count)
            print(f"  latent (first {d['count']}, temperature {d['temperature']:g}, seed {d['seed']}): "
                  f"L_R own z {d['r_cost_own']:.4f}, other sketches' z {d['r_cost_shuffled']:.4f}; "
                  f"reconstruction Chamfer ratio {d['ratio']:.3f} ({d['chamfer_own']:.2f} px to "
                  f"its own / {d['chamfer_other']:.2f} px to others' reconstructions; 1 = z ignored)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)


def cmd_convert(args):
    from .pretrained import save_model
    model = _load(args)
    path = save_model(model, args.out)
    print(f"wrote {path} (hparams, scale factor {model.scale_factor:.4f}, weights)")


def cmd_info(args):
    model = _load(args)
    count = sum(int(v.shape.num_elements()) for v in model.trainable_variables)
    print(model.hparams.to_json())
    print(f"scale_factor: {model.scale_factor:.4f}\ntrainable parameters: {count}")


def _add_model_args(p):
    p.add_argument("--checkpoint", required=True,
                   help="model directory (this package's or Magenta's TF1) or magenta-js JSON file")
    p.add_argument("--scale_factor", type=float, default=None,
                   help="pixels per model unit, for a Magenta TF1 checkpoint (it stores none)")
    p.add_argument("--data_dir", default=None,
                   help="where the checkpoint's data_set .npz lies, to compute its scale factor")


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m sketch_rnn_tf", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("sample", help="draw sketches into an SVG grid")
    _add_model_args(p)
    p.add_argument("--num", type=int, default=16)
    p.add_argument("--temperature", type=float, default=0.5)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--greedy", action="store_true")
    p.add_argument("--temperature_mode", choices=("magenta", "paper"), default="magenta")
    p.add_argument("--ncols", type=int, default=None)
    p.add_argument("--color_by_stroke", action="store_true")
    p.add_argument("--out", default="sketches.svg")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("train", help="train or resume a model")
    p.add_argument("--data_dir", required=True, help="directory of the .npz files")
    p.add_argument("--dataset", default=None, help="a.npz[,b.npz]: overrides hparams data_set")
    p.add_argument("--hparams", default="", help="Magenta-style overrides k=v,k2=v2")
    p.add_argument("--log_root", required=True)
    p.add_argument("--num_steps", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--xla", action="store_true", help="compile the training step with XLA")
    p.add_argument("--no_progress", action="store_true")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("export", help="write a SavedModel (and magenta-js JSON)")
    _add_model_args(p)
    p.add_argument("--out", required=True, help="SavedModel directory")
    p.add_argument("--js", default=None, help="also write magenta-js JSON to this file")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("evaluate", help="L_R and L_KL of a model on data splits")
    _add_model_args(p)
    p.add_argument("--dataset", default=None, help="a.npz[,b.npz] (default: the model's data_set)")
    p.add_argument("--splits", default="valid,test")
    p.add_argument("--json", default=None, help="also write the figures to this JSON file")
    p.add_argument("--latent", action="store_true",
                   help="also L_R with own vs other sketches' z and the reconstruction Chamfer "
                        "ratio (conditional models; see training.evaluate.latent_diagnostic)")
    p.add_argument("--temperature", type=float, default=0.1, help="--latent: decoding temperature")
    p.add_argument("--seed", type=int, default=0, help="--latent: seed of decoding and shuffling")
    p.add_argument("--count", type=int, default=64, help="--latent: first COUNT sketches per split")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("convert", help="convert any model load_model reads to this package's format")
    _add_model_args(p)
    p.add_argument("--out", required=True, help="model directory to write")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("info", help="print a model's hparams")
    _add_model_args(p)
    p.set_defaults(func=cmd_info)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (ValueError, OSError, RuntimeError, CLIError) as e:
        # Every error of this package is a ValueError/RuntimeError subclass with a clear message.
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
