"""Evaluating a trained model on a split: the paper's L_R and L_KL (Table 1), Magenta's way.

L_R is Magenta's evaluation reconstruction loss (pen loss masked after the end, both terms divided
by N_max) with z = μ for a conditional model; L_KL is the KL of Eq. 10 before the floor. Both are
averaged over batches of `batch_size` sketches (the last, partial batch included and weighted by its
size).
"""

from __future__ import annotations

import numpy as np

from ..data.chamfer import reconstruction_ratio
from ..model.losses import kl_divergence
from ..model.preprocessor import ModelInputError
from ..sampling import samplers


def evaluate_split(model, strokes, batch_size=100):
    """{"r_cost": L_R, "kl": L_KL (0 for decoder-only), "count": n} over stroke-3 pixel sketches."""
    strokes = [s for s in strokes if len(s) <= model.hparams.max_seq_len]
    if not strokes:
        raise ModelInputError(
            f"no sketch fits this model's max_seq_len {model.hparams.max_seq_len}", where="evaluate"
        )
    r_total, kl_total = 0.0, 0.0
    for start in range(0, len(strokes), batch_size):
        batch = strokes[start : start + batch_size]
        r_total += model.reconstruction_loss(batch) * len(batch)
        if model.conditional:
            mu, presig = model.latent(batch)
            kl_total += float(kl_divergence(mu, presig)) * len(batch)
    n = len(strokes)
    return {"r_cost": r_total / n, "kl": kl_total / n, "count": n}


def evaluate_dataset(model, dataset, splits=("valid", "test"), batch_size=100):
    """`evaluate_split` for each named split of a `SketchDataset`."""
    return {split: evaluate_split(model, dataset.split(split), batch_size) for split in splits}


def derangement(n, seed=0):
    """A seeded permutation of range(n) that moves every index (perm[i] != i for all i), n >= 2.

    A uniformly random ordering of the n indices, each sent to the next one around the cycle.
    """
    n = int(n)
    if n < 2:
        raise ModelInputError(f"a derangement needs at least 2 elements, got {n}")
    order = np.random.default_rng(seed).permutation(n)
    perm = np.empty(n, dtype=np.int64)
    perm[order] = np.roll(order, -1)
    return perm


def _check_conditional(model):
    if not getattr(model, "conditional", False):
        raise ModelInputError(
            "the latent diagnostic needs a conditional model (a VAE with an "
            "encoder); this one is decoder-only (conditional=False): it has no "
            "z to encode a sketch into, so there is nothing to compare"
        )


def latent_r_costs(model, sketches, seed=0, batch_size=100):
    """(L_R with each sketch's own z = μ, L_R with z = μ of another sketch) over `sketches`.

    "Another sketch" is a seeded `derangement` of the sketches (no sketch keeps its own z). Both
    L_R are Magenta's evaluation reconstruction loss (as `evaluate_split`), averaged over batches
    of `batch_size` weighted by their size. The gap between them is how much the decoder uses z.
    """
    _check_conditional(model)
    sketches = list(sketches)
    mu = np.concatenate(
        [model.encode(sketches[i : i + batch_size]) for i in range(0, len(sketches), batch_size)]
    )
    z_other = mu[derangement(len(sketches), seed)]
    own = other = 0.0
    for start in range(0, len(sketches), batch_size):
        batch = sketches[start : start + batch_size]
        own += model.reconstruction_loss(batch) * len(batch)
        other += model.reconstruction_loss(batch, z=z_other[start : start + len(batch)]) * len(
            batch
        )
    return own / len(sketches), other / len(sketches)


def reconstruct_sketches(model, sketches, temperature=0.1, seed=0, batch_size=100):
    """Each sketch decoded from its own z = μ at temperature τ (stroke-3, pixels), seeded.

    Batches of `batch_size` are decoded at once; batch k uses seed `seed + k`.
    """
    _check_conditional(model)
    sketches = list(sketches)
    out = []
    for k, start in enumerate(range(0, len(sketches), batch_size)):
        batch = sketches[start : start + batch_size]
        mu = model.encode(batch)
        out.extend(model.sample(n=len(batch), temperature=temperature, z=mu, seed=int(seed) + k))
    return out


def latent_diagnostic(model, sketches, temperature=0.1, seed=0, count=64, batch_size=100):
    """Does the model's z carry the sketch? Three figures on the first `count` sketches.

    sketch-rnn (Section 3.2) is a VAE whose decoder reconstructs a sketch from its latent vector z
    (Section 4.1, "Conditional Reconstruction"); a decoder that learns to ignore z still lowers L_R
    (Eq. 9) and still draws plausible sketches, but not the input. This reports:

      r_cost_own:      L_R with each sketch's own z = μ (Eq. 2's mean, no sampling).
      r_cost_shuffled: L_R with z = μ of another sketch: a seeded derangement (no sketch gets its
                       own z). r_cost_shuffled - r_cost_own is what z is worth to the decoder.
      ratio:           the reconstruction Chamfer ratio: each sketch's z = μ is decoded at
                       temperature τ (`reconstruct_sketches`, seeded); then (see
                       `data.chamfer.reconstruction_ratio`)
                         ratio = mean_i C(S_i, R_i) / mean_{i != j} C(S_i, R_j),
                       C the symmetric Chamfer distance in pixels between the pen positions of
                       sketch S_i and reconstruction R_j, each centred on its bounding box. The
                       denominator averages over *all* other sketches' reconstructions (n(n-1)
                       pairs), not one shuffled partner. ≈ 1: reconstructions ignore their input;
                       0: perfect reconstructions. On aaron_sheep (first 64 test sketches), another
                       real sketch as the "reconstruction" gives 1.02 ± 0.03 (over random
                       pairings), the sketch itself redrawn with ±15% per-axis scale and 1 px
                       jitter 0.22-0.24; the retired aaron_sheep_small (z 16) 0.96-1.01 (seeds
                       0-2): its decoder ignored z; the bundled aaron_sheep_vae 0.59 (seeds
                       0-2: 0.587, 0.596, 0.591).

    Args:
      model: a conditional `SketchRNN`.
      sketches: stroke-3 sketches in pixels (e.g. `SketchDataset.split("test")`); those longer than
        the model's max_seq_len are skipped, and the first `count` of the rest are used.
      temperature: τ of the decoding (Magenta's mode); the ratio hardly depends on it.
      seed: seeds the decoding and the derangement, so the figures repeat exactly.
      count: how many sketches (None: all).
      batch_size: sketches per encoder/decoder batch.

    Returns:
      dict of r_cost_own, r_cost_shuffled, ratio, chamfer_own, chamfer_other (mean distances in
      pixels), count, temperature, seed.

    Raises:
      ModelInputError: a decoder-only model, or fewer than 2 sketches that fit max_seq_len.
    """
    _check_conditional(model)
    temperature = samplers.check_temperature(temperature)
    if count is not None and int(count) < 2:
        raise ModelInputError(
            f"count must be at least 2 (sketches are compared with each other), got {count}"
        )
    fitting = [s for s in sketches if len(s) <= model.hparams.max_seq_len]
    sketches = fitting if count is None else fitting[: int(count)]
    if len(sketches) < 2:
        raise ModelInputError(
            "the latent diagnostic needs at least 2 sketches that fit this "
            f"model's max_seq_len {model.hparams.max_seq_len}; "
            f"got {len(sketches)}"
        )
    seed = int(seed)
    own, shuffled = latent_r_costs(model, sketches, seed=seed, batch_size=batch_size)
    reconstructions = reconstruct_sketches(model, sketches, temperature, seed, batch_size)
    chamfer = reconstruction_ratio(sketches, reconstructions)
    return {
        "r_cost_own": own,
        "r_cost_shuffled": shuffled,
        "ratio": chamfer["ratio"],
        "chamfer_own": chamfer["own"],
        "chamfer_other": chamfer["other"],
        "count": len(sketches),
        "temperature": float(temperature),
        "seed": seed,
    }


__all__ = [
    "evaluate_split",
    "evaluate_dataset",
    "derangement",
    "latent_r_costs",
    "reconstruct_sketches",
    "latent_diagnostic",
]


def point_nll(model, sketches, batch_size=100):
    """Negative log-likelihood per real point, in pixels: comparable across models and data.

    For each sketch, the decoder's density of every real point's offset (Δx, Δy) in pixels
    (Eq. 9's mixture without Magenta's 1e-6, plus 2·log(scale_factor): a density in model units
    divided by f² is one in pixels) and the log-probability of its pen state (Eq. 9's L_p), summed
    over the sketch's points and divided by the number of points of all sketches. Unlike L_R,
    nothing is divided by N_max and the model's scale factor cancels out, so two models trained
    with different scale factors or max_seq_len compare fairly. Sketches of any length are read
    (the model's max_seq_len does not limit them); a conditional model decodes with z = μ.

    Returns:
      {"nll": per point, "offset": its offset part, "pen": its pen part, "points": n}.
    """
    sketches = list(sketches)
    if not sketches:
        raise ModelInputError("no sketches", where="point_nll")
    totals = np.zeros(2)
    points = 0
    for start in range(0, len(sketches), batch_size):
        offset, pen, n = model.point_log_likelihoods(sketches[start : start + batch_size])
        totals -= [offset, pen]
        points += n
    offset, pen = totals / points
    return {
        "nll": float(offset + pen),
        "offset": float(offset),
        "pen": float(pen),
        "points": points,
    }
