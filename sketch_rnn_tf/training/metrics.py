"""What a run reports: TensorBoard scalars under Magenta's tag names, `metrics.jsonl`, the log.

`MetricsLog(log_root)` writes each record (a dict with `split`, `step`, `time` and the values) to
`<log_root>/metrics.jsonl` (one JSON object per line, for plotting) and to TensorBoard
(`<log_root>/tensorboard`), and logs it; without a log_root it only logs. `read_metrics` reads a
run's records back. `progress_bar` is the trainer's tqdm bar.
"""

from __future__ import annotations

import json
import os
import time

import tensorflow as tf
from absl import logging

METRICS_FILE = "metrics.jsonl"
TENSORBOARD_DIR = "tensorboard"
#: Magenta's TensorBoard tag prefix of each split.
TAGS = {"train": "Train", "valid": "Valid", "test": "Eval"}


class MetricsLog:
    """Writes a run's records to metrics.jsonl and TensorBoard, and logs them.

    Args:
      log_root: the run's directory, or None (records are only logged).
    """

    def __init__(self, log_root=None):
        self.log_root = log_root
        self.writer = None
        if log_root:
            self.writer = tf.summary.create_file_writer(os.path.join(log_root, TENSORBOARD_DIR))

    def append(self, record: dict) -> None:
        """Appends one record to metrics.jsonl (when the run has a log_root)."""
        if self.log_root:
            with open(os.path.join(self.log_root, METRICS_FILE), "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")

    def scalars(self, step: int, values: dict, text: dict | None = None) -> None:
        """TensorBoard scalars (and text) at `step`."""
        if self.writer is None:
            return
        with self.writer.as_default(step=step):
            for tag, value in values.items():
                tf.summary.scalar(tag, value)
            for tag, value in (text or {}).items():
                tf.summary.text(tag, value)
        self.writer.flush()

    def log(self, split: str, step: int, values: dict) -> dict:
        """One record of a split (train, valid, test): Magenta's tags, metrics.jsonl, the log."""
        record = {"split": split, "step": int(step), "time": time.time()}
        record.update({k: float(v) for k, v in values.items() if k != "finite"})
        tag = TAGS[split]
        scalars = {
            f"{tag}_Cost": record["cost"],
            f"{tag}_Reconstr_Cost": record["r_cost"],
            f"{tag}_KL_Cost": record["kl"],
        }
        if split == "train":
            scalars.update(
                Learning_Rate=record["lr"],
                KL_Weight=record["kl_weight"],
                Steps_Per_Sec=record["steps_per_sec"],
            )
        self.scalars(step, scalars)
        self.append(record)
        logging.info(
            "%s step %d: %s",
            split,
            step,
            ", ".join(
                f"{k} {v:.4f}" for k, v in record.items() if k not in ("split", "step", "time")
            ),
        )
        return record


def progress_bar(start, total):
    """A tqdm bar from `start` to `total` steps (None without tqdm)."""
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return None
    return tqdm(total=total, initial=start, unit="step", dynamic_ncols=True, mininterval=1.0)


def read_metrics(log_root):
    """The metrics a run logged, as a list of dicts (split, step, cost, r_cost, kl, ...).

    A run that was killed and resumed logs some steps twice; the later record of a step wins.
    """
    path = os.path.join(log_root, METRICS_FILE)
    if not os.path.exists(path):
        return []
    records = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:  # a line cut short by a kill
                continue
            records[(record["split"], record["step"])] = record
    return sorted(records.values(), key=lambda r: (r["step"], r["split"]))
