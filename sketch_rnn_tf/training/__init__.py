"""Training: Magenta's schedules and loop under tf.function, checkpoints, TensorBoard."""

from .run import build_trainer, train
from .trainer import Trainer, TrainingError, make_optimizer, read_metrics

__all__ = ["build_trainer", "train", "Trainer", "TrainingError", "make_optimizer", "read_metrics"]
