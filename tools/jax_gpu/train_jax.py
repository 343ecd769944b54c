"""Trains sketch-rnn's VAE (LSTM encoder and decoder) with JAX, on GPUs that lack TensorFlow.

The GPU machines this project is sometimes lent carry JAX and PyTorch but not TensorFlow, and the
TensorFlow wheels are far over what can be carried there. This script is the package's training
(`sketch_rnn_tf.training.trainer`) restated in JAX for the one model it is needed for, the
conditional model with Magenta's LSTM cells, so that Magenta's default size (enc 256, dec 512) can
be trained on such a GPU. The weights it writes keep Magenta's variable names, and
`to_package.py` (TensorFlow side) assigns them to a `SketchRNN` and saves a package model.

What it shares with the package: the data pipeline (`sketch_rnn_tf.data`, numpy only: the same
normalisation, `random_scale`, `augment_strokes` and step-seeded batches) and the maths, which
follow the package's model term for term:

* LSTM (Magenta's `LSTMCell`): i, j, f, o = [x, h]·[W_xh; W_hh] + bias; c' = c·σ(f + 1) +
  σ(i)·drop(tanh j); h' = tanh(c')·σ(o); recurrent dropout (keep `recurrent_dropout_prob`) on the
  candidate only, in the encoder and the decoder, while training.
* Encoder (Eqs. 1-2): both directions over S_1..S_Ns, the backward one reversed within each
  sketch's length, each stopping at the length; μ, σ̂ = W[h→; h←] + b; z = μ + exp(σ̂/2)·ε.
* Decoder (Eqs. 4-6): [c0; h0] = tanh(W_z z + b_z); x_i = [S_{i-1}; z]; y_i = W_y h_i + b_y.
* Loss (Eqs. 9-11): L_s = −log(Σ π N + 1e-6) masked after the end, L_p = the pen cross-entropy on
  all N_max steps (masked in evaluation), both averaged over B × N_max; L_KL = −½ mean(1 + σ̂ − μ²
  − exp σ̂), floored at `kl_tolerance`; L = L_R + w_KL·max(L_KL, tol) with Magenta's schedules for
  the learning rate and w_KL; gradients clipped element-wise to ±grad_clip; Adam (ε 1e-8); a
  step with a non-finite loss or gradient is skipped.

The equivalence with the package is tested on the CPU by `to_package.py --check`, which runs
`train_jax.py --eval_snapshot` (valid L_R with z = μ from JAX) against the package's number for the
same weights and batch.

Usage (on the GPU machine, from the repository root):

  python3 tools/jax_gpu/train_jax.py --data aaron_sheep.npz --out OUT --seconds 540 \
      --enc_rnn_size 256 --dec_rnn_size 512 --batch_size 256 --kl_tolerance 2.0 \
      --unroll 4 --matmul_precision default --require_gpu

Snapshots (`OUT/last.npz`, `OUT/best.npz` by valid L_R with z = μ, `OUT/step_N.npz` every
`--snapshot_every` steps) are written atomically, so a run killed at its time limit still leaves
whole files. Progress and losses go to stdout and `OUT/log.jsonl`.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import multiprocessing
import os
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO)

from sketch_rnn_tf.data import DataLoader, load_dataset  # noqa: E402  (numpy only, no TF)
from sketch_rnn_tf.hparams import HParams  # noqa: E402  (no TF either)
from sketch_rnn_tf.model.layout import FORGET_BIAS, SCOPE, model_layout  # noqa: E402  (no TF)

PREFIX = SCOPE + "/"

#: The hparams this trainer reads, with the package's defaults (Magenta's): one source for both.
HPARAM_NAMES = (
    "enc_rnn_size", "dec_rnn_size", "z_size", "num_mixture", "max_seq_len", "batch_size",
    "learning_rate", "decay_rate", "min_learning_rate", "kl_weight", "kl_weight_start",
    "kl_decay_rate", "kl_tolerance", "grad_clip", "recurrent_dropout_prob",
    "random_scale_factor", "augment_stroke_prob",
)  # fmt: skip
HPARAM_DEFAULTS = {name: getattr(HParams(), name) for name in HPARAM_NAMES}
LOG_EPS = math.log(1e-6)
LOG_2PI = math.log(2.0 * math.pi)


# ------------------------------------------------------------------------------------ weights
def weight_shapes(hp):
    """{name under vector_rnn/: shape} of the conditional LSTM model: the package's layout."""
    hparams = HParams(
        enc_model="lstm",
        dec_model="lstm",
        conditional=True,
        **{k: hp[k] for k in ("enc_rnn_size", "dec_rnn_size", "z_size", "num_mixture")},
    )
    return {snapshot_name(name): shape for name, shape in model_layout(hparams).items()}


def init_weights(hp, rng):
    """Initial weights drawn as the package's initialisers draw them.

    Glorot-uniform W_xh and output layer, orthogonal W_hh per gate, N(0, 0.001²) super_linear
    weights, zero biases (the output bias is Glorot-uniform, as Keras).
    """
    out = {}
    for name, shape in weight_shapes(hp).items():
        if name.endswith("W_hh"):
            n = shape[1] // 4
            blocks = []
            for _ in range(4):
                q, r = np.linalg.qr(rng.standard_normal((n, n)))
                blocks.append(q * np.sign(np.diag(r)))
            value = np.concatenate(blocks, axis=1)
        elif name.endswith(("W_xh", "output_w", "output_b")):
            fan_in, fan_out = (shape[0], shape[0]) if len(shape) == 1 else shape
            limit = math.sqrt(6.0 / (fan_in + fan_out))
            value = rng.uniform(-limit, limit, shape)
        elif name.endswith("super_linear_w"):
            value = rng.normal(0.0, 0.001, shape)
        else:
            value = np.zeros(shape)
        out[name] = value.astype(np.float32)
    return out


def save_snapshot(path, weights, hp, step, extra=None):
    """Writes {Magenta name: array} plus the hparams and step, atomically (tmp + rename)."""
    arrays = {PREFIX + k: np.asarray(v, np.float32) for k, v in weights.items()}
    meta = dict(hparams=hp, step=int(step), **(extra or {}))
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    tmp = path + ".tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def snapshot_name(magenta_name):
    """A snapshot's key for a Magenta variable name: the name without the `vector_rnn/` scope."""
    if not magenta_name.startswith(PREFIX):
        raise ValueError(f"{magenta_name}: not under {PREFIX}")
    return magenta_name[len(PREFIX) :]


def check_batch(meta, data_dir):
    """The batch both sides of a check evaluate, as (x, lengths).

    The first 100 valid sketches of the snapshot's data set, sorted by length as the package's
    evaluation batches are.
    """
    max_seq_len = meta["hparams"]["max_seq_len"]
    ds = load_dataset(data_dir, meta["data"], max_seq_len)
    return DataLoader(ds.valid, 100, max_seq_len, ds.scale_factor).get_batch(0)


def load_snapshot(path):
    with np.load(path) as f:
        meta = json.loads(bytes(f["__meta__"]).decode())
        weights = {snapshot_name(k): f[k] for k in f.files if k.startswith(PREFIX)}
    return weights, meta


# ------------------------------------------------------------------------------------ batches
_LOADER = None


def _batch(step):
    return _LOADER.batch_for_step(step)


class BatchStream:
    """Training batches `batch_for_step(s)` for s = start, start+1, ...

    Made by worker processes (forked before JAX starts), at most `window` ahead of the consumer.
    """

    def __init__(self, loader, start, workers, window=64):
        global _LOADER
        _LOADER = loader
        self.pool = multiprocessing.get_context("fork").Pool(workers) if workers > 0 else None
        self.next_step = start
        self.pending = collections.deque()
        self.window = window

    def get(self):
        if self.pool is None:
            self.next_step += 1
            return _batch(self.next_step - 1)
        while len(self.pending) < self.window:
            self.pending.append(self.pool.apply_async(_batch, (self.next_step,)))
            self.next_step += 1
        return self.pending.popleft().get()

    def close(self):
        if self.pool is not None:
            self.pool.terminate()


# ------------------------------------------------------------------------------------ model
def build_fns(hp, jax, jnp):
    keep = hp["recurrent_dropout_prob"]
    m = hp["num_mixture"]

    def lstm_step(w_hh, x_proj, mask, state, ok=None):
        """One step of Magenta's LSTM from the projected input x_proj [B, 4n] and state (c, h)."""
        c, h = state
        i, j, f, o = jnp.split(x_proj + h @ w_hh, 4, axis=-1)
        g = jnp.tanh(j) if mask is None else jnp.tanh(j) * mask
        new_c = c * jax.nn.sigmoid(f + FORGET_BIAS) + jax.nn.sigmoid(i) * g
        new_h = jnp.tanh(new_c) * jax.nn.sigmoid(o)
        if ok is not None:  # past a sketch's end the state is carried unchanged
            new_c = jnp.where(ok[:, None], new_c, c)
            new_h = jnp.where(ok[:, None], new_h, h)
        return new_c, new_h

    def scan(body, carry, xs):
        return jax.lax.scan(body, carry, xs, unroll=hp.get("unroll", 1))

    def dropout_masks(key, shape, training):
        if not training or keep >= 1.0:
            return None
        return jax.random.bernoulli(key, keep, shape).astype(jnp.float32) / keep

    def encode(w, strokes, lengths, key, training):
        """strokes [B, T, 5] = S_1..S_T; returns (μ, σ̂)."""
        b, t = strokes.shape[0], strokes.shape[1]
        e = hp["enc_rnn_size"]
        steps = jnp.arange(t)
        valid = steps[:, None] < lengths[None, :]  # [T, B]
        rev = jnp.where(valid.T, lengths[:, None] - 1 - steps[None, :], steps[None, :])
        backwards = jnp.take_along_axis(strokes, rev[:, :, None], axis=1)
        k1, k2 = jax.random.split(key)
        cells = ("ENC_RNN/fw/LSTMCell/", "ENC_RNN/bw/LSTMCell/")
        proj = [
            jnp.einsum("btd,dk->tbk", x, w[cell + "W_xh"]) + w[cell + "bias"]
            for x, cell in zip((strokes, backwards), cells)
        ]
        masks = [dropout_masks(k, (t, b, e), training) for k in (k1, k2)]
        w_hh = [w[cell + "W_hh"] for cell in cells]
        zero = jnp.zeros((b, e), jnp.float32)

        def body(states, inputs):
            # Both directions advance in one loop: one loop trip per step instead of two.
            projs, step_masks, ok = inputs
            return tuple(
                lstm_step(w_hh[k], projs[k], step_masks[k], states[k], ok) for k in range(2)
            ), None

        states, _ = scan(body, ((zero, zero), (zero, zero)), (proj, masks, valid))
        h = [states[0][1], states[1][1]]
        h = jnp.concatenate(h, axis=1)
        mu = h @ w["ENC_RNN_mu/super_linear_w"] + w["ENC_RNN_mu/super_linear_b"]
        presig = h @ w["ENC_RNN_sigma/super_linear_w"] + w["ENC_RNN_sigma/super_linear_b"]
        return mu, presig

    def decode(w, inputs, z, key, training):
        """inputs [B, T, 5] = S_0..S_{T-1}; returns y [T, B, 6M+3]."""
        b, t = inputs.shape[0], inputs.shape[1]
        d = hp["dec_rnn_size"]
        state = jnp.tanh(z @ w["linear/super_linear_w"] + w["linear/super_linear_b"])
        c0, h0 = state[:, :d], state[:, d:]
        w_xh = w["RNN/LSTMCell/W_xh"]
        offset = z @ w_xh[5:] + w["RNN/LSTMCell/bias"]
        proj = jnp.einsum("btd,dk->tbk", inputs, w_xh[:5]) + offset[None]
        masks = dropout_masks(key, (t, b, d), training)
        w_hh = w["RNN/LSTMCell/W_hh"]

        def body(state, inputs):
            state = lstm_step(w_hh, inputs[0], inputs[1], state)
            return state, state[1]

        _, hs = scan(body, (c0, h0), (proj, masks))
        return hs @ w["RNN/output_w"] + w["RNN/output_b"]

    def reconstruction(y, targets, mask_pen):
        """L_R terms for y [T, B, 6M+3] and time-major targets [T, B, 5]."""
        pen_logits = y[..., :3]
        pi, mu_x, mu_y, sx, sy, rho = jnp.split(y[..., 3 : 3 + 6 * m], 6, axis=-1)
        rho = jnp.tanh(rho)
        x, yy = targets[..., 0:1], targets[..., 1:2]
        nx, ny = (x - mu_x) / jnp.exp(sx), (yy - mu_y) / jnp.exp(sy)
        one_minus = 1.0 - rho * rho
        zz = nx * nx + ny * ny - 2.0 * rho * nx * ny
        log_n = -zz / (2.0 * one_minus) - LOG_2PI - sx - sy - 0.5 * jnp.log(one_minus)
        log_p = jax.nn.logsumexp(jax.nn.log_softmax(pi, axis=-1) + log_n, axis=-1)
        offset = -jnp.logaddexp(log_p, LOG_EPS)
        not_end = 1.0 - targets[..., 4]
        offset = offset * not_end
        pen = -jnp.sum(targets[..., 2:5] * jax.nn.log_softmax(pen_logits, axis=-1), axis=-1)
        if mask_pen:
            pen = pen * not_end
        return jnp.mean(offset + pen), jnp.mean(offset), jnp.mean(pen)

    def losses(w, x, lengths, key, training, use_mean=False):
        targets = x[:, 1:]
        k_enc, k_z, k_dec = jax.random.split(key, 3)
        mu, presig = encode(w, targets, lengths, k_enc, training)
        z = mu if use_mean else mu + jnp.exp(presig / 2.0) * jax.random.normal(k_z, mu.shape)
        y = decode(w, x[:, :-1], z, k_dec, training)
        r, off, pen = reconstruction(y, jnp.swapaxes(targets, 0, 1), mask_pen=not training)
        kl_raw = -0.5 * jnp.mean(1.0 + presig - mu * mu - jnp.exp(presig))
        return r, off, pen, kl_raw

    def schedules(step):
        s = step.astype(jnp.float32)
        lr = (hp["learning_rate"] - hp["min_learning_rate"]) * hp["decay_rate"] ** s + hp[
            "min_learning_rate"
        ]
        klw = hp["kl_weight"] - (hp["kl_weight"] - hp["kl_weight_start"]) * hp["kl_decay_rate"] ** s
        return lr, klw

    def train_step(w, opt, step, x, lengths, key, warmup):
        lr, klw = schedules(step)
        lr = lr * warmup

        def cost_fn(w):
            r, off, pen, kl_raw = losses(w, x, lengths, key, True)
            kl = jnp.maximum(kl_raw, hp["kl_tolerance"])
            return r + klw * kl, (r, kl_raw)

        (cost, (r, kl_raw)), grads = jax.value_and_grad(cost_fn, has_aux=True)(w)
        clip = hp["grad_clip"]
        grads = jax.tree_util.tree_map(lambda g: jnp.clip(g, -clip, clip), grads)
        finite = jnp.isfinite(cost)
        for g in jax.tree_util.tree_leaves(grads):
            finite = finite & jnp.all(jnp.isfinite(g))
        m_, v_, t_ = opt
        t_new = t_ + 1.0
        m_new = jax.tree_util.tree_map(lambda m0, g: 0.9 * m0 + 0.1 * g, m_, grads)
        v_new = jax.tree_util.tree_map(lambda v0, g: 0.999 * v0 + 0.001 * g * g, v_, grads)
        alpha = lr * jnp.sqrt(1.0 - 0.999**t_new) / (1.0 - 0.9**t_new)
        w_new = jax.tree_util.tree_map(
            lambda p, m1, v1: p - alpha * m1 / (jnp.sqrt(v1) + 1e-8), w, m_new, v_new
        )
        pick = lambda new, old: jax.tree_util.tree_map(  # noqa: E731
            lambda a, b: jnp.where(finite, a, b), new, old
        )
        opt_out = (pick(m_new, m_), pick(v_new, v_), jnp.where(finite, t_new, t_))
        metrics = dict(cost=cost, r=r, kl=kl_raw, lr=lr, klw=klw, finite=finite)
        return pick(w_new, w), opt_out, metrics

    def eval_losses(w, x, lengths):
        key = jax.random.PRNGKey(0)
        return losses(w, x, lengths, key, False, use_mean=True)

    return jax.jit(train_step, donate_argnums=(0, 1)), jax.jit(eval_losses)


# ------------------------------------------------------------------------------------ main
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="the .npz (e.g. aaron_sheep.npz)")
    p.add_argument("--out", required=True)
    p.add_argument(
        "--seconds",
        type=float,
        default=450.0,
        help="wall time from the start (loading and compiling included)",
    )
    p.add_argument("--require_gpu", action="store_true", help="exit unless JAX runs on a GPU")
    p.add_argument("--max_steps", type=int, default=10**9)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 2))
    p.add_argument("--eval_every", type=int, default=500)
    p.add_argument("--snapshot_every", type=int, default=2000)
    p.add_argument("--log_every", type=int, default=100)
    p.add_argument("--keep_snapshots", type=int, default=3, help="step_N.npz files kept")
    p.add_argument("--unroll", type=int, default=1, help="time steps per loop trip")
    p.add_argument(
        "--matmul_precision",
        default="highest",
        help="'highest' (fp32) or 'default' (TF32 on a GPU, as TensorFlow's default)",
    )
    p.add_argument("--init", help="start from the weights of a snapshot .npz (Adam starts anew)")
    p.add_argument(
        "--start_step",
        type=int,
        default=None,
        help="first step (schedules and batches); default: the --init snapshot's step",
    )
    p.add_argument(
        "--warmup_steps",
        type=int,
        default=0,
        help="ramp the learning rate up linearly over this many steps (after --init, "
        "so that a fresh Adam does not kick trained weights)",
    )
    p.add_argument("--eval_snapshot", help="print the valid losses (z = μ) of a snapshot and exit")
    for k, v in HPARAM_DEFAULTS.items():
        p.add_argument("--" + k, type=type(v), default=v)
    return p.parse_args(argv)


def eval_snapshot(path, data_dir):
    """Valid L_R, L_s, L_p, L_KL (z = μ, pen masked) of the first valid batch of 100, as JSON."""
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_default_matmul_precision", "highest")
    weights, meta = load_snapshot(path)
    x, lengths = check_batch(meta, data_dir)
    _, eval_losses = build_fns(dict(meta["hparams"]), jax, jnp)
    w = {k: jnp.asarray(v) for k, v in weights.items()}
    values = [float(v) for v in eval_losses(w, jnp.asarray(x), jnp.asarray(lengths))]
    print(json.dumps(dict(zip(("r", "offset", "pen", "kl"), values))))


def main(argv=None):
    args = parse_args(argv)
    if args.eval_snapshot:
        return eval_snapshot(args.eval_snapshot, os.path.dirname(os.path.abspath(args.data)))
    t_start = time.time()
    hp = {k: getattr(args, k) for k in HPARAM_DEFAULTS}
    hp["unroll"] = args.unroll
    os.makedirs(args.out, exist_ok=True)
    data_dir, name = os.path.split(os.path.abspath(args.data))
    ds = load_dataset(data_dir, name, hp["max_seq_len"])
    train = DataLoader(
        ds.train,
        hp["batch_size"],
        hp["max_seq_len"],
        ds.scale_factor,
        hp["random_scale_factor"],
        hp["augment_stroke_prob"],
        seed=args.seed,
    )
    valid = DataLoader(ds.valid, 100, hp["max_seq_len"], ds.scale_factor)
    valid_batches = list(valid.eval_batches(drop_remainder=False))
    start = args.start_step
    if start is None:
        start = load_snapshot(args.init)[1]["step"] if args.init else 0
    stream = BatchStream(train, start, args.workers)  # forks before JAX starts

    import jax
    import jax.numpy as jnp

    jax.config.update("jax_default_matmul_precision", args.matmul_precision)
    print(f"jax {jax.__version__} devices {jax.devices()} scale_factor {ds.scale_factor:.4f}")
    if args.require_gpu and jax.default_backend() != "gpu":
        stream.close()
        raise SystemExit(f"no GPU: JAX runs on {jax.default_backend()}")
    train_step, eval_losses = build_fns(hp, jax, jnp)
    if args.init:
        weights, _ = load_snapshot(args.init)
    else:
        weights = init_weights(hp, np.random.default_rng(args.seed))
    w = {k: jnp.asarray(v) for k, v in weights.items()}
    opt = (
        jax.tree_util.tree_map(jnp.zeros_like, w),
        jax.tree_util.tree_map(jnp.zeros_like, w),
        jnp.float32(0.0),
    )
    key = jax.random.PRNGKey(args.seed)
    log = open(os.path.join(args.out, "log.jsonl"), "a")
    extra = dict(scale_factor=float(ds.scale_factor), data=name)

    def evaluate(w):
        sums, count = np.zeros(4), 0
        for x, lengths in valid_batches:
            n = len(lengths)
            sums += n * np.array(
                [float(v) for v in eval_losses(w, jnp.asarray(x), jnp.asarray(lengths))]
            )
            count += n
        return dict(zip(("r", "offset", "pen", "kl"), (sums / count).tolist()))

    best, kept = math.inf, []
    step, recent, t_train = start, [], None
    while step < args.max_steps:
        x, lengths = stream.get()
        key, sub = jax.random.split(key)
        warmup = min(1.0, (step - start + 1) / args.warmup_steps) if args.warmup_steps else 1.0
        w, opt, metrics = train_step(
            w, opt, jnp.int32(step), jnp.asarray(x), jnp.asarray(lengths), sub, jnp.float32(warmup)
        )
        step += 1
        if t_train is None:
            jax.block_until_ready(w)
            t_train = time.time()
            print(f"compiled and ran step 1 in {t_train - t_start:.1f} s since start", flush=True)
        recent.append(metrics)
        out_of_time = time.time() - t_start > args.seconds or step >= args.max_steps
        if step % args.log_every == 0 or out_of_time:
            vals = {k: float(np.mean([float(m[k]) for m in recent])) for k in ("cost", "r", "kl")}
            skipped = sum(1 for m in recent if not bool(m["finite"]))
            rate = (step - start) / (time.time() - t_train)
            row = dict(split="train", step=step, steps_per_s=rate, skipped=skipped, **vals)
            print(json.dumps(row), flush=True)
            log.write(json.dumps(row) + "\n")
            recent = []
        if step % args.eval_every == 0 or out_of_time:
            v = evaluate(w)
            row = dict(split="valid", step=step, **v)
            print(json.dumps(row), flush=True)
            log.write(json.dumps(row) + "\n")
            log.flush()
            host = {k: np.asarray(a) for k, a in w.items()}
            save_snapshot(os.path.join(args.out, "last.npz"), host, hp, step, dict(extra, valid=v))
            if v["r"] < best:
                best = v["r"]
                save_snapshot(
                    os.path.join(args.out, "best.npz"), host, hp, step, dict(extra, valid=v)
                )
            if step % args.snapshot_every == 0:
                save_snapshot(
                    os.path.join(args.out, f"step_{step}.npz"), host, hp, step, dict(extra, valid=v)
                )
                kept.append(os.path.join(args.out, f"step_{step}.npz"))
                while len(kept) > args.keep_snapshots:
                    os.remove(kept.pop(0))
        if out_of_time:
            break
    stream.close()
    print(
        f"done: {step} steps, best valid L_R {best:.4f}, {time.time() - t_start:.0f} s", flush=True
    )


if __name__ == "__main__":
    main()
