"""Where a run starts: random weights, or the weights of any model the package loads (fine-tuning).

`train --init_from NAME_OR_PATH` (and `build_trainer(..., init_from=...)`) starts a new run from a
model that `load_model` reads: a bundled name, `magenta/<category>.gen|vae`, this package's
directory, a Magenta TF1 checkpoint, a magenta-js file or a `.keras` file.

* The **architecture** (`HParams.ARCHITECTURE`: cell types and sizes, z, M, conditional) is the
  source model's; a different value given for one of them is refused, naming both values.
* Everything else (learning rate and schedules, KL settings, batch, dropout, augmentation,
  `max_seq_len`) comes from the run's own hparams.
* The **scale factor** is the new data's (its train split's normalising factor, as for any run),
  not the source's: the network then sees the new offsets with standard deviation 1, as it saw its
  own training data, and the saved model draws in the new data's pixels. Measured in
  `benchmarks/finetune.py` (see `benchmarks/README.md`).
* A run whose `log_root` already holds a training checkpoint resumes from it: the source is not
  read again, and the record of where the run started (`InitSource`) is kept.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Iterable, Optional

from ..atomic import write_text
from ..hparams import HParams
from .trainer import TrainingError

#: The file in a run's log_root that records where it started.
INIT_FILE = "init_from.json"

#: Training hparams of a fine-tuning run that the user did not set (measured with
#: `benchmarks/finetune.py --set defaults`, see benchmarks/README.md): recurrent dropout off (with
#: it on, the first steps take the `sheep` model's valid cost on aaron_sheep from 0.37 to 0.6 and
#: more), and a learning rate 100 times below Magenta's from-scratch 1e-3.
FINE_TUNE_DEFAULTS = {"learning_rate": 1e-5, "use_recurrent_dropout": False}


@dataclasses.dataclass
class InitSource:
    """Where a fine-tuning run started.

    Attributes:
      source: the name or path as given (`"sheep"`, `"magenta/cat.gen"`, a directory, ...).
      kind: the format it was read in (see `formats`).
      path: the file or directory it was read from.
      hparams: the source model's hparams (its architecture is the run's).
      scale_factor: the source model's own scale factor, None where it stores none (the run uses
        the new data's).
      step0: the run's losses before its first step, on the new data (filled in by the trainer).
    """

    source: str
    kind: str
    path: str
    hparams: dict
    scale_factor: Optional[float]
    step0: dict = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "InitSource":
        return cls(**{f.name: values[f.name] for f in dataclasses.fields(cls) if f.name in values})

    def write(self, log_root) -> None:
        write_text(os.path.join(log_root, INIT_FILE), json.dumps(self.to_dict(), indent=1))

    @classmethod
    def read(cls, log_root) -> Optional["InitSource"]:
        path = os.path.join(log_root, INIT_FILE)
        if not os.path.exists(path):
            return None
        try:
            with open(path, encoding="utf-8") as f:
                return cls.from_dict(json.load(f))
        except (OSError, ValueError, TypeError, KeyError) as e:
            raise TrainingError(
                f"{path}: unreadable record of where the run started ({e})"
            ) from None


def merge_hparams(source: HParams, hparams: HParams, explicit: Iterable[str] = ()) -> HParams:
    """The run's hparams: the source's architecture, `FINE_TUNE_DEFAULTS`, the rest from `hparams`.

    Args:
      source: the source model's hparams.
      hparams: the run's hparams (training settings, data set, max_seq_len).
      explicit: names the user set (on the command line, or that differ from `HParams()` in
        Python); one of them in `HParams.ARCHITECTURE` with another value than the source's is an
        error, and those of `FINE_TUNE_DEFAULTS` keep the user's value.

    Raises:
      TrainingError: naming each conflicting hparam with both values.
    """
    conflicts = [
        f"{k}={getattr(hparams, k)!r} given, the source has {k}={getattr(source, k)!r}"
        for k in HParams.ARCHITECTURE
        if k in set(explicit) and getattr(hparams, k) != getattr(source, k)
    ]
    if conflicts:
        raise TrainingError(
            "--init_from takes the architecture from the source model: "
            + "; ".join(conflicts)
            + " (drop these hparams, or train from scratch without --init_from)"
        )
    explicit = set(explicit)
    tuned = {k: v for k, v in FINE_TUNE_DEFAULTS.items() if k not in explicit}
    return hparams.replace(**tuned, **{k: getattr(source, k) for k in HParams.ARCHITECTURE})


def explicit_hparams(hparams: HParams) -> list:
    """The names whose values differ from `HParams()`'s defaults (what a Python caller set)."""
    default = HParams()
    return [k for k in default.to_dict() if getattr(hparams, k) != getattr(default, k)]


def load_source(init_from, data_dir=None):
    """(model, InitSource) of a source model: anything `load_model` reads.

    A Magenta TF1 checkpoint stores no scale factor; it is computed from its training data when
    that lies in `data_dir` or beside it, and otherwise recorded as None: the run uses the new
    data's scale factor either way.
    """
    from ..formats import ModelLoadError, ScaleFactorUnknown, describe, load_model

    try:
        location = describe(init_from)
        kind, path = location.format, os.path.abspath(location.path)
        try:
            model = load_model(init_from, data_dir=data_dir)
            scale = float(model.scale_factor)
        except ScaleFactorUnknown:
            model, scale = load_model(init_from, scale_factor=1.0), None
    except ModelLoadError as e:
        raise TrainingError(f"--init_from {init_from}: {e}") from None
    record = InitSource(
        source=os.fspath(init_from),
        kind=kind,
        path=path,
        hparams=model.hparams.to_dict(),
        scale_factor=scale,
    )
    return model, record


def copy_weights(source, target) -> None:
    """Assigns every weight of `source` to `target` (same architecture), by Magenta name."""
    theirs = source.magenta_variables()
    ours = target.magenta_variables()
    if list(theirs) != list(ours):
        raise TrainingError(
            f"the source's weights {list(theirs)} do not match the new model's {list(ours)}"
        )
    for name, v in ours.items():
        v.assign(theirs[name])
