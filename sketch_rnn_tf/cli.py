"""Command line: sample, train, export, evaluate, convert, info, models, prepare and serve.

sample  draw sketches from a model (this package's directory, a Magenta TF1 directory, or a
        magenta-js .gen.json/.vae.json file) into one SVG grid
train   train (or resume) a model on Magenta .npz files
export  write a SavedModel (and optionally magenta-js JSON) from a model
evaluate L_R and L_KL of a model on the valid/test splits of .npz files (--latent: does z
        carry the sketch? L_R with own vs other sketches' z, reconstruction Chamfer ratio)
convert write any model that load_model reads in this package's own format
info    print a model's hparams and parameter count
models  list the model names --checkpoint accepts (bundled, cached, Magenta's catalogue)
prepare turn Quick, Draw! .ndjson drawings into a Magenta .npz training set
serve   a local web page where the model finishes your drawing

--checkpoint takes a path or a model name: a bundled model ("sheep") or one of Magenta's hosted
models ("magenta/cat.gen", "magenta/cat.vae"), downloaded once into $SKETCH_RNN_TF_HOME.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import threading

from .errors import SketchRNNError


def _load(args):
    from .formats import ModelLoadError, load_model

    try:
        return load_model(
            args.checkpoint,
            scale_factor=getattr(args, "scale_factor", None),
            data_dir=getattr(args, "data_dir", None),
        )
    except ModelLoadError as e:
        flag = "--scale_factor" if "scale_factor must" in str(e) else "--checkpoint"
        raise FlagError(f"{flag} {getattr(args, flag[2:])}", str(e)) from None


def _sampler(args):
    """The sampler of the flags the user gave (the sampler checks them; errors name the flag)."""
    from .sampling import samplers

    given = {
        "temperature": args.temperature,
        "temperature_mode": args.temperature_mode,
        "greedy": args.greedy or None,
        "max_len": getattr(args, "max_len", None),
        "seed": args.seed,
    }
    return samplers.get(**{k: v for k, v in given.items() if v is not None})


def cmd_sample(args):
    from .rendering.save import FORMATS, save_sketches

    extension = os.path.splitext(args.out)[1].lower()
    if extension not in FORMATS:  # before the model loads
        raise FlagError(
            f"--out {args.out}",
            f"writes {', '.join(FORMATS)} files (by the extension), not {extension or 'none'!r}",
        )
    sampler = _sampler(args)
    model = _load(args)
    sketches = model.sample(args.num, sampler)
    options = {"ncols": args.ncols, "color_by_stroke": args.color_by_stroke}
    if extension != ".svg":
        options["scale"] = args.scale
    save_sketches(sketches, args.out, **options)
    lengths = [len(s) for s in sketches]
    print(
        f"wrote {len(sketches)} sketches (points: min {min(lengths)}, max {max(lengths)}) "
        f"to {args.out}"
    )


def cmd_train(args):
    from absl import logging

    from .training.distribute import make_strategy, prefix_log_lines, read_tf_config

    logging.set_verbosity(logging.INFO)
    tag = ""
    if args.strategy == "multi_worker":
        tag = read_tf_config().tag + " "
        prefix_log_lines(tag.strip())
    # Before anything else runs: MultiWorkerMirroredStrategy must configure TensorFlow first.
    strategy, worker = make_strategy(args.strategy)
    from .hparams import HParams, HParamsError
    from .training import train
    from .training.trainer import TrainingError

    hparams = HParams()
    if args.dataset:
        hparams = hparams.replace(data_set=[d for d in args.dataset.split(",") if d])
    try:
        hparams = hparams.parse(args.hparams or "")
    except HParamsError as e:
        raise FlagError("--hparams", str(e)) from None
    explicit = HParams.override_names(args.hparams or "")
    if args.download:
        _download_missing(args.data_dir, hparams.data_set)
    import tensorflow as tf

    try:
        trainer = train(
            args.data_dir,
            hparams,
            args.log_root,
            num_steps=args.num_steps,
            seed=args.seed,
            jit_compile=args.xla,
            progress=not args.no_progress,
            strategy=strategy,
            worker=worker,
            init_from=args.init_from,
            explicit=explicit,
        )
    except (tf.errors.UnavailableError, tf.errors.AbortedError) as e:
        # MultiWorkerMirroredStrategy aborts the collectives when a worker stops heartbeating.
        raise TrainingError(
            f"{tag}training stopped ({type(e).__name__}): a worker of the cluster "
            "stopped or cannot be reached; run the same command on every worker "
            "again to resume from the last checkpoint in "
            f"{args.log_root}"
        ) from None
    except tf.errors.OpError as e:
        lines = [
            line
            for line in e.message.splitlines()
            if line.strip() and "execution error" not in line
        ]
        raise TrainingError(
            f"{tag}training stopped: {type(e).__name__}: {(lines or [''])[0][:500]}"
        ) from None
    except (ValueError, OSError, RuntimeError) as e:
        if not tag:
            raise
        raise TrainingError(f"{tag}{e}") from None
    where = (
        (
            f"best model in {os.path.join(args.log_root, 'best')}, TensorBoard logs in "
            f"{os.path.join(args.log_root, 'tensorboard')}"
        )
        if worker.is_chief
        else f"the chief writes {args.log_root}"
    )
    print(f"{tag}stopped at step {int(trainer.step.numpy())}; {where}")


def _download_missing(data_dir, data_set):
    from .data.download import download_quickdraw

    missing = [name for name in data_set if not os.path.isfile(os.path.join(data_dir, name))]
    if not missing:
        return
    for path in download_quickdraw(missing, data_dir):
        print(f"downloaded {path}")


def cmd_models(args):
    from .formats.names import (
        MAGENTA_GEN_ONLY,
        list_models,
        magenta_base_url,
        magenta_cache_dir,
    )

    models = list_models()
    print("bundled (load_model(name) or --checkpoint name):")
    print("  " + (", ".join(models["bundled"]) or "(none found)"))
    print(f"cached in {magenta_cache_dir()} (loadable offline):")
    print("  " + (", ".join(models["cached"]) or "(none yet)"))
    categories = sorted({n[len("magenta/") :].rsplit(".", 1)[0] for n in models["magenta"]})
    print(
        f"Magenta's catalogue at {magenta_base_url()}: magenta/<category>.gen (decoder-only) or "
        f".vae (conditional), {len(categories)} categories:"
    )
    line = " "
    for c in categories:
        if len(line) + len(c) > 98:
            print(line)
            line = " "
        line += " " + c
    print(line)
    gen_only = ", ".join(sorted(MAGENTA_GEN_ONLY))
    print(f"({gen_only}: .gen only). Set $SKETCH_RNN_TF_MAGENTA_URL to use a mirror.")


def cmd_prepare(args):
    from .data.checks import DataError
    from .data.prepare import prepare_ndjson, prepare_svg

    common = dict(split=args.split, seed=args.seed, max_seq_len=args.max_seq_len)
    flag = "--svg" if args.svg else "--ndjson"
    paths = [p for p in (args.svg or args.ndjson).split(",") if p]
    try:
        if args.svg:
            r = prepare_svg(paths, args.out, size=args.size, epsilon=args.epsilon, **common)
        else:
            r = prepare_ndjson(paths, args.out, **common)
    except DataError as e:
        if getattr(e, "path", None) in paths:  # a file or folder the user named
            raise FlagError(f"{flag} {e.path}", e.problem) from None
        raise
    print(
        f"wrote {args.out}: train/valid/test {r['train']}/{r['valid']}/{r['test']} sketches "
        f"(skipped {r['skipped']} drawings of fewer than 2 points, dropped {r['dropped']} longer "
        f"than max_seq_len)"
    )


def cmd_export(args):
    from .export import export_saved_model

    model = _load(args)
    path = export_saved_model(model, args.out)
    print(f"wrote SavedModel to {path}")
    if args.js:
        from .formats.magenta_js import write_js

        write_js(model, args.js)
        print(f"wrote magenta-js JSON to {args.js}")


def cmd_evaluate(args):
    import json

    from .atomic import write_text
    from .data.packed import load_packed_dataset
    from .model.preprocessor import ModelInputError
    from .training.evaluate import evaluate_dataset, latent_diagnostic

    model = _load(args)
    if args.latent and not model.conditional:
        raise ModelInputError(
            f"--latent needs a conditional model (a VAE with an encoder); "
            f"{args.checkpoint} is decoder-only (conditional=False) and has no "
            "latent space"
        )
    names = [d for d in (args.dataset or ",".join(model.hparams.data_set)).split(",") if d]
    dataset = load_packed_dataset(args.data_dir, names, model.hparams.max_seq_len)
    results = evaluate_dataset(model, dataset, splits=args.splits.split(","))
    for split, r in results.items():
        print(f"{split}: L_R {r['r_cost']:.4f}  L_KL {r['kl']:.4f}  ({r['count']} sketches)")
        if args.latent:  # does z carry the sketch?
            r["latent"] = d = latent_diagnostic(
                model, dataset.split(split), args.temperature, args.seed, args.count
            )
            print(
                f"  latent (first {d['count']}, temperature {d['temperature']:g}, "
                f"seed {d['seed']}): "
                f"L_R own z {d['r_cost_own']:.4f}, other sketches' z {d['r_cost_shuffled']:.4f}; "
                f"reconstruction Chamfer ratio {d['ratio']:.3f} ({d['chamfer_own']:.2f} px to "
                f"its own / {d['chamfer_other']:.2f} px to others' reconstructions; "
                "1 = z ignored)"
            )
    if args.json:
        write_text(args.json, json.dumps(results, indent=1), what="JSON")


def cmd_convert(args):
    from .formats import save_model

    model = _load(args)
    path = save_model(model, args.out)
    print(f"wrote {path} (hparams, scale factor {model.scale_factor:.4f}, weights)")


def cmd_info(args):
    model = _load(args)
    count = sum(int(v.shape.num_elements()) for v in model.trainable_variables)
    print(model.hparams.to_json())
    print(f"scale_factor: {model.scale_factor:.4f}\ntrainable parameters: {count}")


def cmd_serve(args):
    from .serve import serve

    serve(args.checkpoint, host=args.host, port=args.port, quiet=not args.verbose)


class FlagError(SketchRNNError):
    """A command-line value is unusable: the message names the flag the user typed."""

    def __init__(self, flag, problem):
        super().__init__(f"argument {flag}: {problem}")


#: The flag of each setting the library names in its errors (`SamplerError.argument`,
#: `ServeError.argument`), for the commands that have it.
FLAGS = {
    "n": "--num",
    "temperature": "--temperature",
    "temperature_mode": "--temperature_mode",
    "greedy": "--greedy",
    "max_len": "--max_len",
    "seed": "--seed",
    "host": "--host",
    "port": "--port",
    "scale": "--scale",
    "size": "--size",
    "epsilon": "--epsilon",
}


def _named_by_flag(error, args):
    """`error` re-worded to name the flag of the setting it is about, where the user gave one."""
    argument = getattr(error, "argument", None)
    flag = FLAGS.get(argument)
    if flag is None or not hasattr(args, flag[2:]):
        return error
    value = getattr(args, flag[2:])
    problem = getattr(error, "requirement", None) or str(error)
    return FlagError(f"{flag} {value}" if value is not None else flag, problem)


def _count(minimum):
    """An argparse type: an integer >= minimum (the flag is named by argparse)."""

    def convert(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {value}")
        return value

    return convert


def _number(text):
    """An argparse type: a number (its range is checked by what uses it, naming the flag)."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None


def _add_model_args(p):
    p.add_argument(
        "--checkpoint",
        required=True,
        help="model directory (this package's or Magenta's TF1), magenta-js JSON file, "
        "or model name: bundled (sheep) or Magenta's (magenta/cat.gen); "
        "see `models`",
    )
    p.add_argument(
        "--scale_factor",
        type=_number,
        default=None,
        help="pixels per model unit, for a Magenta TF1 checkpoint (it stores none)",
    )
    p.add_argument(
        "--data_dir",
        default=None,
        help="where the checkpoint's data_set .npz lies, to compute its scale factor",
    )


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad flag is one `error: argument --flag: ...` line (and exit status 2)."""

    def error(self, message):
        raise _UsageError(f"{message} (see `{self.prog} --help`)")


class _UsageError(Exception):
    pass


def build_parser():
    parser = _Parser(
        prog="python -m sketch_rnn_tf",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("sample", help="draw sketches into a grid: SVG, PNG or animated GIF")
    _add_model_args(p)
    p.add_argument("--num", type=_count(1), default=16, help="how many sketches")
    p.add_argument(
        "--temperature",
        type=_number,
        default=None,
        help="sampling temperature τ > 0 (default: the samplers' default, "
        "sketch_rnn_tf.sampling.DEFAULT_TEMPERATURE)",
    )
    p.add_argument("--seed", type=_count(0), default=None, help="repeat a draw exactly")
    p.add_argument("--greedy", action="store_true", help="the most likely strokes")
    p.add_argument("--temperature_mode", choices=("magenta", "paper"), default=None)
    p.add_argument("--max_len", type=_count(1), default=None, help="most points per sketch")
    p.add_argument("--ncols", type=_count(1), default=None, help="columns of the grid")
    p.add_argument(
        "--scale", type=_number, default=1.0, help="PNG/GIF: pixels per SVG pixel (2: twice as big)"
    )
    p.add_argument("--color_by_stroke", action="store_true")
    p.add_argument(
        "--out", default="sketches.svg", help="the picture to write: .svg, .png or .gif (animated)"
    )
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("train", help="train or resume a model")
    p.add_argument("--data_dir", required=True, help="directory of the .npz files")
    p.add_argument("--dataset", default=None, help="a.npz[,b.npz]: overrides hparams data_set")
    p.add_argument("--hparams", default="", help="Magenta-style overrides k=v,k2=v2")
    p.add_argument("--log_root", required=True)
    p.add_argument("--num_steps", type=_count(0), default=None)
    p.add_argument("--seed", type=_count(0), default=0)
    p.add_argument(
        "--init_from",
        default=None,
        help="start from the weights of this model (a name or path `sample --checkpoint` takes) "
        "instead of random ones: fine-tuning; its architecture hparams are the run's",
    )
    p.add_argument("--xla", action="store_true", help="compile the training step with XLA")
    p.add_argument("--no_progress", action="store_true")
    p.add_argument(
        "--strategy",
        choices=("one_device", "mirrored", "multi_worker"),
        default="one_device",
        help="one_device (default); mirrored: this machine's GPUs; multi_worker: the "
        "cluster in TF_CONFIG, the same command on every worker (see "
        "docs/reliability.md)",
    )
    p.add_argument(
        "--download",
        action="store_true",
        help="first download missing --dataset files (Quick, Draw! categories, e.g. "
        "cat.npz) from Magenta's sketch-rnn data into --data_dir",
    )
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
    p.add_argument(
        "--latent",
        action="store_true",
        help="also L_R with own vs other sketches' z and the reconstruction Chamfer "
        "ratio (conditional models; see training.evaluate.latent_diagnostic)",
    )
    p.add_argument(
        "--temperature", type=_number, default=0.1, help="--latent: decoding temperature"
    )
    p.add_argument(
        "--seed", type=_count(0), default=0, help="--latent: seed of decoding and shuffling"
    )
    p.add_argument(
        "--count", type=_count(2), default=64, help="--latent: first COUNT sketches per split"
    )
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        "convert", help="convert any model load_model reads to this package's format"
    )
    _add_model_args(p)
    p.add_argument("--out", required=True, help="model directory to write")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("info", help="print a model's hparams")
    _add_model_args(p)
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("models", help="list bundled, cached and Magenta's hosted models")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("prepare", help="Quick, Draw! .ndjson or SVG drawings -> Magenta .npz")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--ndjson",
        help="a.ndjson[,b.ndjson]: raw (x,y,t) records are "
        "simplified as Google does, simplified (x,y) records are taken as they are",
    )
    source.add_argument(
        "--svg",
        help="FILES_OR_DIRS: .svg files and folders of them (a,b,...), one drawing per file",
    )
    p.add_argument("--size", type=_number, default=255.0, help="--svg: the longer side, in pixels")
    p.add_argument(
        "--epsilon", type=_number, default=2.0, help="--svg: RDP simplification, in pixels"
    )
    p.add_argument("--out", required=True, help=".npz file to write")
    p.add_argument("--split", default="0.8,0.1,0.1", help="train,valid,test fractions")
    p.add_argument("--seed", type=_count(0), default=0, help="seed of the shuffle into splits")
    p.add_argument(
        "--max_seq_len",
        type=_count(1),
        default=None,
        help="drop sketches with more points than this",
    )
    p.set_defaults(func=cmd_prepare)

    p = sub.add_parser("serve", help="a local page where the model finishes your drawing")
    p.add_argument(
        "--checkpoint",
        default="sheep",
        help="model name (bundled or cached) or path; the page lists the others too",
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: this machine only)"
    )
    p.add_argument("--port", type=_count(0), default=8000, help="port (0: any free port)")
    p.add_argument("--verbose", action="store_true", help="log every request")
    p.set_defaults(func=cmd_serve)
    return parser


# TensorFlow's native (C++) log lines that greet every call on a CPU-only machine: absl INFO and
# WARNING lines from .cc files (oneDNN notice, "Could not find cuda drivers", "Sharding callback
# duration", ...), absl's "before InitializeLog" notice, and the CUDA probe's cuInit ERROR line.
# TF_CPP_MIN_LOG_LEVEL no longer reaches these (TensorFlow logs them through absl before its log
# settings are read), so the CLI filters them from file descriptor 2. Python's own output (errors,
# absl progress logs from .py files) passes unchanged. The lines come in absl's format
# ("E0000 00:00:1795643822.472129   28224 cuda_platform.cc:52] ...", TensorFlow 2.21) or in
# TensorFlow's own ("2026-12-03 09:07:19.419642: E external/.../cuda_platform.cc:51] ...", 2.20).
_NATIVE_NOISE = re.compile(
    rb"^(WARNING: All log messages before absl::InitializeLog\(\) is called"
    rb"|(?:[IW]\d{4} [\d:.]+\s+\d+ |\d{4}-\d\d-\d\d [\d:.]+: [IW] )[\w./-]+\.(cc|h):\d+\]"
    rb"|(?:E\d{4} [\d:.]+\s+\d+ |\d{4}-\d\d-\d\d [\d:.]+: E )[\w./-]+\.(cc|h):\d+\] "
    rb".*(cuInit|cuda|CUDA|cuDNN|cuFFT|cuBLAS|oneDNN supports DT_\w+ only on platforms with))"
)


@contextlib.contextmanager
def _quiet_native_logs():
    """Filters `_NATIVE_NOISE` lines out of whatever is written to file descriptor 2."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
        read_end, write_end = os.pipe()
    except OSError:  # no usable stderr: nothing to filter
        yield
        return

    def pump():
        with os.fdopen(read_end, "rb") as pipe:
            for line in pipe:
                if not _NATIVE_NOISE.match(line):
                    os.write(saved, line)

    os.dup2(write_end, 2)
    os.close(write_end)
    thread = threading.Thread(target=pump, name="stderr-filter", daemon=True)
    thread.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # closes the pipe's last write end: the pump reads to the end and stops
        thread.join(timeout=10)
        os.close(saved)


def main(argv=None):
    """Runs one command; returns the exit status (0, or 2 with one `error: ...` line on stderr).

    Args:
      argv: the arguments (default `sys.argv[1:]`). Called without them, as the real command line
        is, TensorFlow's native log noise is filtered from stderr.
    """
    quiet = _quiet_native_logs() if argv is None else contextlib.nullcontext()
    with quiet:
        try:
            args = build_parser().parse_args(argv)
        except _UsageError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        try:
            args.func(args)
        except (SketchRNNError, ValueError, OSError, RuntimeError) as e:
            # Every error of this package is a SketchRNNError (a ValueError) with a clear message;
            # one about a setting the user gave as a flag names that flag.
            print(f"error: {_named_by_flag(e, args)}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
