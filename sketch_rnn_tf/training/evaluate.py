"""Evaluating a trained model on a split: the paper's L_R and L_KL (Table 1), Magenta's way.

L_R is Magenta's evaluation reconstruction loss (pen loss masked after the end, both terms divided
by N_max) with z = μ for a conditional model; L_KL is the KL of Eq. 10 before the floor. Both are
averaged over batches of `batch_size` sketches (the last, partial batch included and weighted by its
size).
"""

from __future__ import annotations

from ..data.errors import ModelInputError
from ..model.losses import kl_divergence


def evaluate_split(model, strokes, batch_size=100):
    """{"r_cost": L_R, "kl": L_KL (0 for decoder-only), "count": n} over stroke-3 pixel sketches."""
    strokes = [s for s in strokes if len(s) <= model.hparams.max_seq_len]
    if not strokes:
        raise ModelInputError(f"no sketch fits this model's max_seq_len "
                              f"{model.hparams.max_seq_len}", where="evaluate")
    r_total, kl_total = 0.0, 0.0
    for start in range(0, len(strokes), batch_size):
        batch = strokes[start:start + batch_size]
        r_total += model.reconstruction_loss(batch) * len(batch)
        if model.conditional:
            mu, presig = model.latent(batch)
            kl_total += float(kl_divergence(mu, presig)) * len(batch)
    n = len(strokes)
    return {"r_cost": r_total / n, "kl": kl_total / n, "count": n}


def evaluate_dataset(model, dataset, splits=("valid", "test"), batch_size=100):
    """`evaluate_split` for each named split of a `SketchDataset`."""
    return {split: evaluate_split(model, dataset.split(split), batch_size) for split in splits}


__all__ = ["evaluate_split", "evaluate_dataset"]
