"""Magenta formats: TF1 checkpoints and magenta-js JSON."""

from .tf1 import CheckpointError, variable_shapes

__all__ = ["CheckpointError", "variable_shapes"]
