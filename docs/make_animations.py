"""Draws the README's animation: the bundled `sheep` model finishing a sheep's body, line by line.

    python docs/make_animations.py        # writes docs/completion.gif

The body is the first stroke of an aaron_sheep test sketch, rescaled from aaron_sheep's pixels to
the sheep model's (the ratio of their scale factors, as notebooks/03_completion.ipynb does); the
model finishes it four ways (τ 0.2, seed 0), and the GIF draws each finished sheep from its given
body on (`rendering.render_grid_gif` with the body drawn from the first frame).
"""

from __future__ import annotations

import os
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import sketch_rnn_tf as srt  # noqa: E402
from sketch_rnn_tf.sampling import complete, truncate  # noqa: E402

SHARED = os.environ.get("SKETCH_RNN_SHARED", os.path.join(REPO, "..", "shared"))
OUT = os.path.join(REPO, "docs", "completion.gif")


def main():
    data = srt.data.load_npz(os.path.join(SHARED, "data", "npz", "aaron_sheep.npz"))
    sheep = srt.load_model("sheep")
    ratio = sheep.scale_factor / srt.data.normalizing_scale_factor(data["train"], 250)
    body = truncate(data["test"][9], num_strokes=1) * np.array([ratio, ratio, 1.0], np.float32)
    endings = complete(sheep, body, n=4, temperature=0.2, seed=0)
    srt.rendering.render_grid_gif(
        endings,
        ncols=4,
        cell_size=160,
        path=OUT,
        stroke_width=1.6,
        start=len(body),
        frame_ms=60,
        hold_ms=2500,
    )
    print(f"wrote {OUT}: a {len(body)}-point body and four endings of {[len(e) for e in endings]}")


if __name__ == "__main__":
    main()
