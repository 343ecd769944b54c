"""Every test starts from the same global random state.

Tests that build untrained models (random weights) thus see the same weights on every run and every
machine.
"""

import pytest


@pytest.fixture(autouse=True)
def _seed_everything():
    import keras

    keras.utils.set_random_seed(1234)


# Modules whose tests compare floats computed by TensorFlow kernels (oneDNN picks other kernels on
# CPUs without AVX-512): `.ci/run` runs them once more under ONEDNN_MAX_CPU_ISA=AVX2.
FLOAT_SENSITIVE = {
    "test_cells",
    "test_distributed",
    "test_export",
    "test_magenta_fidelity",
    "test_mixture_losses",
    "test_model",
    "test_pretrained",
    "test_resume",
    "test_sampling",
    "test_training",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.module.__name__.rsplit(".", 1)[-1] in FLOAT_SENSITIVE:
            item.add_marker(pytest.mark.float_sensitive)


@pytest.fixture(autouse=True, scope="session")
def _private_cache_home(tmp_path_factory):
    """Caches (packed data, downloads) go to a temporary $SKETCH_RNN_TF_HOME, not the user's.

    Subprocesses started by tests inherit it; tests that set their own still may (monkeypatch).
    """
    import os

    old = os.environ.get("SKETCH_RNN_TF_HOME")
    os.environ["SKETCH_RNN_TF_HOME"] = str(tmp_path_factory.mktemp("sketch_rnn_tf_home"))
    yield
    if old is None:
        os.environ.pop("SKETCH_RNN_TF_HOME", None)
    else:
        os.environ["SKETCH_RNN_TF_HOME"] = old
