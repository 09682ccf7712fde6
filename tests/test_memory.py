"""10,000 calls of loss_and_grads do not grow the process's memory."""

import numpy as np
import pytest
from helpers import make_model, traced_growth

TOKENS = [1, 3, 3, 0, 6, 2, 1, 3, 5, 4, 4]


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_no_memory_growth_over_10000_calls(dtype):
    model = make_model(dtype=dtype)

    def step(i):
        model.loss_and_grads(TOKENS, 2, return_last_state=bool(i % 2))
        if i % 1000 == 0:
            model.batch_loss_and_grads([(TOKENS, 2), (TOKENS[:4], 0)], n_threads=2)

    for i in range(1000):                  # warm up: caches, allocator pools, workspaces
        step(i)
    rss_before = _rss_bytes()
    # over two windows (see traced_growth): a leak grows in both, a bounded
    # cache or a worker thread caught mid-task (noise near the bound) not in both
    traced = traced_growth(step, 10_000)
    rss = _rss_bytes() - rss_before
    # a leak of one small array per call would be >= 10,000 * 40 bytes = 400 kB
    # of traced memory; allow a few kB of interpreter noise
    assert traced < 20_000, f"traced Python memory grew by {traced} bytes"
    # the resident size may move by allocator pages, not by megabytes
    assert rss < 4 * 2**20, f"RSS grew by {rss} bytes"
