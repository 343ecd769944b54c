"""Where the shared reference data lies: `../shared` beside the repository, or $SKETCH_RNN_SHARED."""

import os

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.abspath(os.environ.get("SKETCH_RNN_SHARED", os.path.join(REPO, "..", "shared")))
DATA = os.path.join(SHARED, "data")
SPEC = os.path.join(SHARED, "spec")
NPZ = os.path.join(DATA, "npz")
SHEEP_NPZ = os.path.join(NPZ, "aaron_sheep.npz")
