"""Every test starts from the same global random state, so tests that build untrained models
(random weights) see the same weights on every run and every machine."""

import pytest


@pytest.fixture(autouse=True)
def _seed_everything():
    import keras

    keras.utils.set_random_seed(1234)
