"""Draws the README's pictures of a conditional model: reconstructions and an interpolation.

    python docs/make_vae_figures.py [--checkpoint aaron_sheep_vae] [--data_dir ../shared/data/npz]

Writes `docs/vae_reconstruction.svg` (top row: test sketches of aaron_sheep; bottom row: each one
decoded from its own z = μ at temperature 0.1, Section 3.1 / Figure 4 of the paper) and
`docs/vae_interpolation.svg` (two test sketches at the ends; between them, decodings of z on the
spherical interpolation between their μ, Section 4 / Figure 6). Seeded: the same model gives the
same pictures.
"""

from __future__ import annotations

import argparse
import os

import sketch_rnn_tf as srt
from sketch_rnn_tf.data.npz import load_npz
from sketch_rnn_tf.latent import interpolation_row, reconstruct
from sketch_rnn_tf.rendering import render_grid

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="aaron_sheep_vae")
    parser.add_argument(
        "--data_dir", default=os.path.join(HERE, "..", "..", "shared", "data", "npz")
    )
    parser.add_argument("--dataset", default="aaron_sheep.npz")
    parser.add_argument(
        "--indices",
        default="0,1,2,3,4,5,6,7",
        help="test sketches to reconstruct (the first 8 by default)",
    )
    parser.add_argument(
        "--ends", default="0,5", help="the two test sketches to interpolate between"
    )
    parser.add_argument("--temperature", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out_dir", default=HERE)
    args = parser.parse_args(argv)

    model = srt.load_model(args.checkpoint)
    test = load_npz(os.path.join(args.data_dir, args.dataset))["test"]
    picked = [test[int(i)] for i in args.indices.split(",")]
    rows = reconstruct(model, picked, temperatures=[args.temperature], seed=args.seed)
    path = os.path.join(args.out_dir, "vae_reconstruction.svg")
    render_grid(
        [picked, [r[0] for r in rows]],
        cell_size=110,
        path=path,
        stroke_width=1.5,
        colors=[["black"] * len(picked), ["#c0392b"] * len(picked)],
    )
    print(f"wrote {path}")

    a, b = (test[int(i)] for i in args.ends.split(","))
    between = interpolation_row(model, a, b, n=8, temperature=args.temperature, seed=args.seed)
    path = os.path.join(args.out_dir, "vae_interpolation.svg")
    render_grid(
        [[a] + between + [b]],
        cell_size=110,
        path=path,
        stroke_width=1.5,
        colors=[["black"] + ["#2471a3"] * len(between) + ["black"]],
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
