"""Training: Magenta's loop and schedules under tf.function, checkpoints, TensorBoard.

`step.TrainStep` (one compiled step: schedules, objective, clipping, Adam), `metrics.MetricsLog`
(TensorBoard, metrics.jsonl, the log), `trainer.Trainer` (the loop and its checkpoints),
`run.build_trainer` / `run.train` (data, model, resume), `source` (where a run starts: a model it
fine-tunes), `evaluate` (the paper's figures and the latent diagnostic), `distribute`.
"""

from .metrics import read_metrics
from .run import build_trainer, train
from .step import TrainingError, TrainStep, make_optimizer
from .trainer import Trainer

__all__ = [
    "Trainer",
    "TrainingError",
    "TrainStep",
    "build_trainer",
    "make_optimizer",
    "read_metrics",
    "train",
]
