"""Shared fixtures: small models of odd sizes, so no bug hides behind V == H."""

import numpy as np
import pytest

import normrnn


def make_model(V=7, H=5, *, seed=0, dtype=np.float64, bias=0.3):
    """A small model with a nonzero bias (the default initialises it to zero)."""
    model = normrnn.NormRNN(V, H, seed=seed, dtype=dtype)
    model.bias[:] = np.random.default_rng(seed + 1).normal(0, bias, H)
    return model


@pytest.fixture
def model():
    return make_model()
