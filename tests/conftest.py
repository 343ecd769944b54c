"""Every test starts from the same global random state.

Tests that build untrained models (random weights) thus see the same weights on every run and every
machine.
"""

import pytest


@pytest.fixture(autouse=True)
def _seed_everything():
    import keras

    keras.utils.set_random_seed(1234)


# Tiny random models (tests/_tiny.py), one per module. A module-scoped fixture is set up before the
# function-scoped seeding above, so each seeds itself: its weights do not depend on which tests ran
# before it in the process (with -n 2 that changes from run to run).
@pytest.fixture(scope="module")
def tiny_config():
    """`tiny_model`'s keywords for `tiny_vae` and `tiny_decoder_only`; a module overrides it."""
    return {}


@pytest.fixture(scope="module")
def tiny_vae(tiny_config):
    """A conditional tiny model: `tiny_model(True, **tiny_config)`."""
    import keras
    from _tiny import tiny_model

    keras.utils.set_random_seed(1234)
    return tiny_model(True, **tiny_config)


@pytest.fixture(scope="module")
def tiny_decoder_only(tiny_config):
    """A decoder-only tiny model: `tiny_model(False, **tiny_config)`."""
    import keras
    from _tiny import tiny_model

    keras.utils.set_random_seed(1234)
    return tiny_model(False, **tiny_config)


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
    "test_samplers",
    "test_sampling",
    "test_training",
}


# Modules whose tests depend on how the dependencies behave: numbers against Magenta and numpy,
# tfp's distributions, the formats (Magenta TF1, magenta-js, `.keras`, SavedModel), tf.data, numpy
# pickles and memory maps, svgwrite, training, checkpoints and resume, TensorBoard, TensorFlow's
# native logs. `.ci/run` runs them once more with the lowest versions setup.py admits
# (ci/constraints-lowest.txt).
DEPS_FLOOR = {
    "test_architecture",
    "test_cells",
    "test_cli",
    "test_data_loader",
    "test_data_npz",
    "test_data_npz_reader",
    "test_data_packed",
    "test_data_svg",
    "test_export",
    "test_keras_format",
    "test_latent_diagnostic",
    "test_lstm_loop",
    "test_magenta_fidelity",
    "test_mixture_losses",
    "test_model",
    "test_output_distribution",
    "test_pretrained",
    "test_rendering",
    "test_rendering_raster",
    "test_resume",
    "test_samplers",
    "test_sampling",
    "test_training",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1]
        if module in FLOAT_SENSITIVE:
            item.add_marker(pytest.mark.float_sensitive)
        if module in DEPS_FLOOR:
            item.add_marker(pytest.mark.deps_floor)


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
