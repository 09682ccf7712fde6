"""10,000 calls of loss_and_grads do not grow the process's memory."""

import gc
import tracemalloc

import numpy as np
import pytest

from conftest import make_model

TOKENS = [1, 3, 3, 0, 6, 2, 1, 3, 5, 4, 4]


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def _growth(model, calls=10_000):
    """(traced bytes, RSS bytes) kept after ``calls`` calls, past a warm-up.

    The warm-up runs before and again under tracing: what the interpreter
    allocates once (caches, allocator pools, the kernels' workspace) is
    counted in neither figure.
    """
    def step(i):
        model.loss_and_grads(TOKENS, 2, return_last_state=bool(i % 2))
        if i % 1000 == 0:
            model.batch_loss_and_grads([(TOKENS, 2), (TOKENS[:4], 0)], n_threads=2)

    for i in range(1000):
        step(i)
    gc.collect()
    rss_before = _rss_bytes()
    tracemalloc.start()
    try:
        for i in range(1000):
            step(i)
        gc.collect()
        first, _ = tracemalloc.get_traced_memory()
        for i in range(calls):
            step(i)
        gc.collect()
        last, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return last - first, _rss_bytes() - rss_before


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_no_memory_growth_over_10000_calls(dtype):
    traced, rss = _growth(make_model(dtype=dtype))
    # a leak of one small array per call would be >= 10,000 * 40 bytes = 400 kB
    # of traced memory; allow a few kB of interpreter noise
    assert traced < 20_000, f"traced Python memory grew by {traced} bytes"
    # the resident size may move by allocator pages, not by megabytes
    assert rss < 4 * 2**20, f"RSS grew by {rss} bytes"
