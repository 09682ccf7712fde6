"""Shared fixtures: small models of odd sizes, so no bug hides behind V == H."""

import gc
import os
import tracemalloc

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


def traced_growth(function, calls, warm_up=1_000):
    """Bytes of traced Python memory still held after ``calls`` calls of ``function(i)``.

    Tracing starts before the warm-up: bounded caches whose entries are replaced
    (threadpoolctl's ctypes lookups, freelists, the kernels' workspaces) are then
    traced at both ends and cancel out, while a leak keeps growing.
    """
    tracemalloc.start()
    try:
        for i in range(warm_up):
            function(i)
        gc.collect()
        first, _ = tracemalloc.get_traced_memory()
        for i in range(calls):
            function(i)
        gc.collect()
        last, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return last - first


# An unexpected error inside an in-process ``cli.main`` call re-raises (with its
# traceback) instead of being reduced to one line by the command's safety net:
# the net must never hide a bug from the tests.  Subprocesses inherit it too;
# tests of the net itself remove it.
os.environ["NORMRNN_TRACEBACK"] = "1"
