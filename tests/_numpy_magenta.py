"""Plain-numpy pieces of Magenta's maths shared by the reference implementations in the tests.

Written from ../shared/spec/magenta_facts.md §1.4-1.5, not from the package's code.
"""

import numpy as np


def sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def np_ln(x, gamma, beta, blocks=1):
    """Magenta's layer_norm(_all).

    Each of `blocks` blocks normalised with its biased variance, eps 1e-3.
    """
    b, k = x.shape
    xb = x.reshape(b, blocks, k // blocks)
    mean = xb.mean(-1, keepdims=True)
    var = ((xb - mean) ** 2).mean(-1, keepdims=True)  # biased
    return ((xb - mean) / np.sqrt(var + 1e-3)).reshape(b, k) * gamma + beta
