"""Where the shared reference data lies, and a small data set made from it for training tests.

The shared data lies in `../shared` beside the repository, or in $SKETCH_RNN_SHARED.
"""

import os

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.abspath(os.environ.get("SKETCH_RNN_SHARED", os.path.join(REPO, "..", "shared")))
DATA = os.path.join(SHARED, "data")
SPEC = os.path.join(SHARED, "spec")
NPZ = os.path.join(DATA, "npz")
SHEEP_NPZ = os.path.join(NPZ, "aaron_sheep.npz")


def write_tiny_npz(path, max_len=50, counts=(("train", 64), ("valid", 8), ("test", 8))):
    """A small Magenta-format .npz of the first real aaron_sheep sketches no longer than max_len."""
    import numpy as np

    data = np.load(SHEEP_NPZ, allow_pickle=True, encoding="latin1")
    splits = {}
    for split, n in counts:
        kept = [s for s in data[split] if len(s) <= max_len][:n]
        arr = np.empty(len(kept), dtype=object)
        arr[:] = kept
        splits[split] = arr
    np.savez(path, **splits)
