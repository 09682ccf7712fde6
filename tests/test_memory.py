"""10,000 calls of loss_and_grads do not grow the process's memory."""

import gc
import tracemalloc

import numpy as np

from conftest import make_model

TOKENS = [1, 3, 3, 0, 6, 2, 1, 3, 5, 4, 4]


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def test_no_memory_growth_over_10000_calls():
    model = make_model()
    for _ in range(1000):                  # warm up: caches, allocator pools
        model.loss_and_grads(TOKENS, 2)
    model.batch_loss_and_grads([(TOKENS, 2), (TOKENS[:4], 0)], n_threads=2)
    gc.collect()
    rss_before = _rss_bytes()
    tracemalloc.start()
    for _ in range(1000):                  # what is first allocated under tracing
        model.loss_and_grads(TOKENS, 2)
    gc.collect()
    first, _ = tracemalloc.get_traced_memory()
    for i in range(10_000):
        model.loss_and_grads(TOKENS, 2, return_last_state=bool(i % 2))
        if i % 1000 == 0:
            model.batch_loss_and_grads([(TOKENS, 2), (TOKENS[:4], 0)], n_threads=2)
    gc.collect()
    last, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = _rss_bytes()
    # a leak of one small array per call would be >= 10,000 * 40 bytes = 400 kB
    # of traced memory; allow a few kB of interpreter noise
    assert last - first < 20_000, f"traced Python memory grew by {last - first} bytes"
    # the resident size may move by allocator pages, not by megabytes
    assert rss_after - rss_before < 4 * 2**20, f"RSS grew by {rss_after - rss_before} bytes"


def test_float32_no_growth():
    model = make_model(dtype=np.float32)
    for _ in range(500):
        model.loss_and_grads(TOKENS, 2)
    gc.collect()
    tracemalloc.start()
    for _ in range(1000):                  # what is first allocated under tracing
        model.loss_and_grads(TOKENS, 2)
    gc.collect()
    first, _ = tracemalloc.get_traced_memory()
    for _ in range(10_000):
        model.loss_and_grads(TOKENS, 2)
    gc.collect()
    last, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert last - first < 20_000
