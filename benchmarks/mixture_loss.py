"""Cost of the reconstruction loss through the decoder's tfp output distribution.

Side by side with the hand-written closed form it replaced.

    PYTHONPATH=. python benchmarks/mixture_loss.py           # batch 100, N_max 250, M 20
    PYTHONPATH=. python benchmarks/mixture_loss.py --quick   # batch 20, N_max 60, fewer reps

Two measurements, each timed interleaved in this one process (median reported):

1. loss + gradient w.r.t. the decoder outputs y [B, N_max, 6M+3], in a `tf.function`:
   * `closed_form`: the hand-written L_R of git main before the change (`closed_form_loss` below, a
     verbatim copy of that maths: log-space bivariate normal, logsumexp, softmax cross-entropy);
   * `stroke_distribution`: `losses.reconstruction_loss`, now computed through
     `mixture.StrokeDistribution` (MixtureSameFamily of the closed-form BivariateNormal + a
     OneHotCategorical pen);
   * `tril_mixture`: the same loss through a MixtureSameFamily of `MultivariateNormalTriL`
     (the tfp distribution the package had before, used by no code path).
2. a full training step (`Trainer._train_step`, conditional lstm model: enc 256 bi-LSTM, dec 512,
   z 128, M 20, recurrent dropout on) traced once with `closed_form_loss` in place of
   `losses.reconstruction_loss` ("before") and once with the package's loss ("after").

The values of the three losses and their gradients are compared too (`max_abs_diff` in the JSON).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import common  # noqa: E402
from benchmarks.train_step import random_batch  # noqa: E402

common.quiet_tf()

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_probability as tfp  # noqa: E402

from sketch_rnn_tf import HParams, SketchRNN  # noqa: E402
from sketch_rnn_tf.model import losses, mixture  # noqa: E402
from sketch_rnn_tf.training.trainer import Trainer  # noqa: E402

tfd = tfp.distributions


# ----------------------------------------------------------------------------- the baselines
def closed_form_loss(y, targets, num_mixture, mask_pen=False):
    """git main's L_R before the tfp distribution (the baseline): hand-written closed form."""
    p = mixture.split_params(y, num_mixture)
    dx, dy, pen = targets[..., 0], targets[..., 1], targets[..., 2:5]
    x, yy = dx[..., None], dy[..., None]
    sx, sy = tf.exp(p.presig_x), tf.exp(p.presig_y)
    nx, ny = (x - p.mu_x) / sx, (yy - p.mu_y) / sy
    one_minus_rho2 = 1.0 - tf.square(p.rho)
    z = tf.square(nx) + tf.square(ny) - 2.0 * p.rho * nx * ny
    log_n = (
        -z / (2.0 * one_minus_rho2)
        - math.log(2.0 * math.pi)
        - p.presig_x
        - p.presig_y
        - 0.5 * tf.math.log(one_minus_rho2)
    )
    log_p = tf.reduce_logsumexp(tf.nn.log_softmax(p.pi_logits, axis=-1) + log_n, axis=-1)
    log_eps = tf.constant(math.log(mixture.DENSITY_EPSILON), log_p.dtype)
    offset = -tf.math.reduce_logsumexp(
        tf.stack([log_p, tf.broadcast_to(log_eps, tf.shape(log_p))]), axis=0
    )
    not_end = 1.0 - pen[..., 2]
    offset = offset * not_end
    pen_loss = tf.nn.softmax_cross_entropy_with_logits(labels=pen, logits=p.pen_logits)
    if mask_pen:
        pen_loss = pen_loss * not_end
    return losses.ReconstructionLoss(
        tf.reduce_mean(offset + pen_loss), tf.reduce_mean(offset), tf.reduce_mean(pen_loss)
    )


def tril_loss(y, targets, num_mixture, mask_pen=False):
    """The same L_R through a MixtureSameFamily of MultivariateNormalTriL components."""
    p = mixture.split_params(y, num_mixture)
    sx, sy, rho = p.sigma_x, p.sigma_y, p.rho
    zeros = tf.zeros_like(sx)
    scale_tril = tf.stack(
        [tf.stack([sx, zeros], -1), tf.stack([rho * sy, sy * tf.sqrt(1.0 - tf.square(rho))], -1)],
        -2,
    )
    dist = tfd.MixtureSameFamily(
        tfd.Categorical(logits=p.pi_logits),
        tfd.MultivariateNormalTriL(loc=tf.stack([p.mu_x, p.mu_y], -1), scale_tril=scale_tril),
    )
    log_p = dist.log_prob(targets[..., :2])
    offset = -tf.math.reduce_logsumexp(
        tf.stack([log_p, tf.fill(tf.shape(log_p), math.log(mixture.DENSITY_EPSILON))]), axis=0
    )
    not_end = 1.0 - targets[..., 4]
    pen_loss = tf.nn.softmax_cross_entropy_with_logits(
        labels=targets[..., 2:5], logits=p.pen_logits
    )
    if mask_pen:
        pen_loss = pen_loss * not_end
    return losses.ReconstructionLoss(
        tf.reduce_mean(offset * not_end + pen_loss),
        tf.reduce_mean(offset * not_end),
        tf.reduce_mean(pen_loss),
    )


LOSSES = {
    "closed_form": closed_form_loss,
    "stroke_distribution": losses.reconstruction_loss,
    "tril_mixture": tril_loss,
}


def loss_and_grad_fn(loss, num_mixture):
    @tf.function
    def fn(y, targets):
        with tf.GradientTape() as tape:
            tape.watch(y)
            r = loss(y, targets, num_mixture).total
        return r, tape.gradient(r, y)

    return fn


def build_train_step(hp, loss):
    """Trainer._train_step traced with `loss` as losses.reconstruction_loss.

    The same initial weights for every call.
    """
    keras.utils.set_random_seed(0)
    model = SketchRNN(hp)
    trainer = Trainer(model, train=None, progress=False)
    original = losses.reconstruction_loss
    losses.reconstruction_loss = loss
    try:
        x, seq_len = random_batch(hp.batch_size, hp.max_seq_len)
        first = trainer._train_step(x, seq_len)  # traces with `loss`
    finally:
        losses.reconstruction_loss = original
    return trainer._train_step, first


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="batch 20, N_max 60, fewer repetitions")
    ap.add_argument("--loss_reps", type=int, default=None)
    ap.add_argument("--step_reps", type=int, default=None)
    ap.add_argument("--no_train_step", action="store_true", help="only the loss + gradient")
    ap.add_argument("--name", default="mixture_loss", help="results/<name>.json")
    args = ap.parse_args(argv)
    batch, nmax, m = (20, 60, 20) if args.quick else (100, 250, 20)
    loss_reps = args.loss_reps or (10 if args.quick else 30)
    step_reps = args.step_reps or (2 if args.quick else 3)
    load0 = common.loadavg()

    # 1. loss + gradient w.r.t. y
    rng = np.random.default_rng(1)
    y = tf.constant(rng.normal(0, 0.7, (batch, nmax, 6 * m + 3)).astype(np.float32))
    x, _ = random_batch(batch, nmax)
    targets = x[:, 1:]
    fns = {k: loss_and_grad_fn(f, m) for k, f in LOSSES.items()}
    values = {k: [t.numpy() for t in f(y, targets)] for k, f in fns.items()}  # trace + warm up
    ref = values["closed_form"]
    diffs = {
        k: {"loss": float(abs(v[0] - ref[0])), "grad": float(np.abs(v[1] - ref[1]).max())}
        for k, v in values.items()
    }

    def runner(f):
        return lambda: [t.numpy() for t in f(y, targets)]

    times = common.interleaved({k: runner(f) for k, f in fns.items()}, loss_reps)
    loss_res = {
        k: dict(
            common.summary(ts),
            max_abs_diff_vs_closed_form=diffs[k],
            ratio_vs_closed_form=statistics.median(ts) / statistics.median(times["closed_form"]),
        )
        for k, ts in times.items()
    }
    rows = [
        (
            f"loss+grad/{k}",
            r["median_s"],
            r["min_s"],
            f"{r['ratio_vs_closed_form']:.2f}x",
            f"{diffs[k]['loss']:.1e} / {diffs[k]['grad']:.1e}",
        )
        for k, r in loss_res.items()
    ]

    # 2. a whole training step, before / after
    step_res = {}
    if not args.no_train_step:
        hp = HParams(
            max_seq_len=nmax,
            batch_size=batch,
            enc_rnn_size=256,
            dec_rnn_size=512,
            z_size=128,
            num_mixture=m,
            enc_model="lstm",
            dec_model="lstm",
        )
        steps, firsts = {}, {}
        for key, loss in (
            ("before (closed_form)", closed_form_loss),
            ("after (stroke_distribution)", losses.reconstruction_loss),
        ):
            steps[key], firsts[key] = build_train_step(hp, loss)
        sx, sl = random_batch(batch, nmax, seed=2)

        def step_runner(f):
            return lambda: f(sx, sl)["cost"].numpy()

        stimes = common.interleaved({k: step_runner(f) for k, f in steps.items()}, step_reps)
        base = statistics.median(stimes["before (closed_form)"])
        c0 = [float(f["cost"]) for f in firsts.values()]
        for k, ts in stimes.items():
            step_res[k] = dict(common.summary(ts), ratio_vs_before=statistics.median(ts) / base)
            rows.append(
                (
                    f"train step/{k}",
                    step_res[k]["median_s"],
                    step_res[k]["min_s"],
                    f"{step_res[k]['ratio_vs_before']:.2f}x",
                    f"first cost {abs(c0[0] - c0[1]):.1e}",
                )
            )
    load1 = common.loadavg()

    payload = dict(
        common.machine_info(),
        config={
            "batch": batch,
            "nmax": nmax,
            "num_mixture": m,
            "loss_reps": loss_reps,
            "step_reps": step_reps,
            "quick": args.quick,
            "train_step_model": "conditional, enc 256 bi-LSTM, dec 512 LSTM, z 128, "
            "recurrent dropout on",
        },
        loss_and_grad=loss_res,
        train_step=step_res,
        loadavg={"before": load0, "after": load1},
    )
    print(
        common.table(
            rows,
            [
                "what",
                "median s",
                "min s",
                "vs closed form / before",
                "|Δ| loss / grad vs closed form",
            ],
        )
    )
    print(
        f"batch {batch}, N_max {nmax}, M {m}; CPU {common.cpu_model()} {common.cpu_flags()}; "
        f"loadavg before {load0} after {load1}"
    )
    print("wrote", common.write_json(args.name, payload))
    return payload


if __name__ == "__main__":
    main()
