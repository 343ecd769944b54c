"""Choosing a `tf.distribute` strategy by name, and who is who in a multi-worker cluster.

`python -m sketch_rnn_tf train --strategy NAME` picks one of `STRATEGIES`:

* `one_device`: one device, no `tf.distribute` strategy (the trainer's plain `tf.function` step;
  `--xla` works only here).
* `mirrored`: `tf.distribute.MirroredStrategy` over this machine's GPUs (its CPU when it has
  none).
* `multi_worker`: `tf.distribute.MultiWorkerMirroredStrategy`; every worker runs the same command,
  with its own `TF_CONFIG` environment variable naming the cluster and its place in it, e.g.
  `{"cluster": {"worker": ["host0:port", "host1:port"]}, "task": {"type": "worker", "index": 1}}`.
  The chief (task `chief`, or worker 0 when the cluster has none) writes `--log_root`; the other
  workers write their (identical) checkpoints to temporary directories, as TensorFlow's
  multi-worker guide does, and resume from the chief's last checkpoint.

`read_tf_config` checks `TF_CONFIG` before TensorFlow sees it, so a bad one gives a clear
`DistributeError` instead of a TensorFlow stack trace or a worker waiting forever for peers.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os

from ..errors import SketchRNNError

STRATEGIES = ("one_device", "mirrored", "multi_worker")

_EXAMPLE = (
    'e.g. TF_CONFIG=\'{"cluster": {"worker": ["127.0.0.1:23456", "127.0.0.1:23457"]}, '
    '"task": {"type": "worker", "index": 0}}\''
)


class DistributeError(SketchRNNError):
    """A strategy name or a `TF_CONFIG` that cannot be used."""


@dataclasses.dataclass(frozen=True)
class WorkerInfo:
    """This process's place in the cluster.

    Attributes:
      rank: 0 for the chief, then the other tasks in order (`chief` first, then `worker` 0, 1, ...).
      count: the number of worker processes.
      task_type, task_index: the task as `TF_CONFIG` names it.
    """

    rank: int = 0
    count: int = 1
    task_type: str = "worker"
    task_index: int = 0

    @property
    def is_chief(self) -> bool:
        return self.rank == 0

    @property
    def tag(self) -> str:
        """How log lines name this worker: `[worker 1/2]`, `[worker 0/2 chief]`."""
        return f"[worker {self.rank}/{self.count}{' chief' if self.is_chief else ''}]"


def _check_address(address, where):
    if not isinstance(address, str) or address.count(":") < 1:
        raise DistributeError(f"TF_CONFIG: {where} is {address!r}, not a 'host:port' string")
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise DistributeError(
            f"TF_CONFIG: {where} is {address!r}, not a 'host:port' string with a port in 1..65535"
        )


def read_tf_config(environ=None) -> WorkerInfo:
    """Parses and checks `TF_CONFIG` (from `environ`, default `os.environ`) for multi-worker runs.

    The cluster may have a `chief` list of one address and a `worker` list; the task must be one of
    them. Returns this process's `WorkerInfo`; raises `DistributeError` naming what is wrong.
    """
    environ = os.environ if environ is None else environ
    text = environ.get("TF_CONFIG", "").strip()
    if not text:
        raise DistributeError(
            "--strategy multi_worker needs the TF_CONFIG environment variable "
            "on every worker, naming the cluster and this worker's task; " + _EXAMPLE
        )
    try:
        config = json.loads(text)
    except json.JSONDecodeError as e:
        raise DistributeError(f"TF_CONFIG is not valid JSON ({e}); {_EXAMPLE}") from None
    if not isinstance(config, dict) or not isinstance(config.get("cluster"), dict):
        raise DistributeError(f'TF_CONFIG has no "cluster" object; {_EXAMPLE}')
    cluster, task = config["cluster"], config.get("task")
    unknown = sorted(set(cluster) - {"chief", "worker"})
    if unknown:
        raise DistributeError(
            f"TF_CONFIG: cluster task types {unknown} are not supported by "
            "--strategy multi_worker (only 'chief' and 'worker')"
        )
    order = []
    for task_type in ("chief", "worker"):
        addresses = cluster.get(task_type, [])
        if not isinstance(addresses, list):
            raise DistributeError(
                f"TF_CONFIG: cluster {task_type!r} is {addresses!r}, not a list "
                "of 'host:port' addresses"
            )
        for i, address in enumerate(addresses):
            _check_address(address, f"cluster {task_type!r}[{i}]")
            order.append((task_type, i, address))
    if len(cluster.get("chief", [])) > 1:
        raise DistributeError(
            f"TF_CONFIG: a cluster has at most one 'chief'; got {len(cluster['chief'])}"
        )
    if not order:
        raise DistributeError(f"TF_CONFIG: the cluster lists no worker; {_EXAMPLE}")
    seen = {}
    for task_type, i, address in order:
        if address in seen:
            raise DistributeError(
                f"TF_CONFIG: address {address} is given to both {seen[address]} and {task_type} {i}"
            )
        seen[address] = f"{task_type} {i}"
    if not isinstance(task, dict):
        raise DistributeError(
            'TF_CONFIG has no "task" object ({"type": ..., "index": ...}) '
            "saying which worker this process is"
        )
    task_type, index = task.get("type"), task.get("index")
    if task_type not in ("chief", "worker") or task_type not in cluster:
        raise DistributeError(
            f"TF_CONFIG: task type {task_type!r} is not one of the cluster's {sorted(cluster)}"
        )
    if (
        isinstance(index, bool)
        or not isinstance(index, int)
        or not 0 <= index < len(cluster[task_type])
    ):
        count = len(cluster[task_type])
        raise DistributeError(
            f"TF_CONFIG: task index {index!r} is not in 0..{count - 1} for the "
            f"{count} {task_type!r} address(es)"
        )
    rank = [(t, i) for t, i, _ in order].index((task_type, index))
    return WorkerInfo(rank=rank, count=len(order), task_type=task_type, task_index=index)


def make_strategy(name: str):
    """(strategy or None, WorkerInfo) for a name of `STRATEGIES`.

    `one_device` gives None: the trainer's single-device step, without `tf.distribute`. For
    `multi_worker`, `TF_CONFIG` is checked first (`read_tf_config`); call this before any other
    TensorFlow operation runs, as `MultiWorkerMirroredStrategy` must configure the runtime first.
    """
    if name not in STRATEGIES:
        raise DistributeError(f"unknown strategy {name!r}; one of {list(STRATEGIES)}")
    if name == "one_device":
        return None, WorkerInfo()
    if name == "mirrored":
        import tensorflow as tf

        return tf.distribute.MirroredStrategy(), WorkerInfo()
    info = read_tf_config()
    import tensorflow as tf
    from absl import logging as absl_logging

    absl_logging.info(
        "joining the cluster in TF_CONFIG as %s; waiting for all %d workers to start",
        info.tag,
        info.count,
    )
    try:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    except (RuntimeError, ValueError) as e:
        raise DistributeError(
            f"cannot start MultiWorkerMirroredStrategy as {info.tag}: {e}"
        ) from None
    return strategy, info


class _PrefixFormatter(logging.Formatter):
    """Formats a record with the wrapped formatter, then puts `prefix` before every line."""

    def __init__(self, inner, prefix):
        super().__init__()
        self.inner = inner or logging.Formatter(logging.BASIC_FORMAT)
        self.prefix = prefix

    def format(self, record):
        return "\n".join(f"{self.prefix} {line}" for line in self.inner.format(record).split("\n"))


def prefix_log_lines(prefix: str):
    """Puts `prefix` (e.g. `WorkerInfo.tag`) before every line the Python/absl loggers write.

    So the logs of several workers can be told apart (and interleaved).
    """
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig()
    for handler in root.handlers:
        target = getattr(handler, "python_handler", handler)  # absl's ABSLHandler wraps one
        if not isinstance(target.formatter, _PrefixFormatter):
            target.setFormatter(_PrefixFormatter(target.formatter, prefix))
