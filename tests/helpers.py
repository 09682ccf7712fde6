"""Helpers the tests import: small models of odd sizes, sums of documents, a leak detector.

Imported as ``from helpers import make_model``, like the other helper modules
here (``_cli``, ``_toy``): pytest puts this folder on ``sys.path``.  The
``model`` fixture of ``conftest.py`` is :func:`make_model`'s default.
"""

import gc
import tracemalloc

import numpy as np

import normrnn


def make_model(V=7, H=5, *, seed=0, dtype=np.float64, bias=0.3):
    """A small model with a nonzero bias (the default initialises it to zero)."""
    model = normrnn.NormRNN(V, H, seed=seed, dtype=dtype)
    model.bias[:] = np.random.default_rng(seed + 1).normal(0, bias, H)
    return model


def sum_of_documents(model, docs):
    """The loss and gradients a batch of ``docs`` must have: the sum of each document's.

    Parameters
    ----------
    model : normrnn.NormRNN
    docs : list of (tokens, title_length)

    Returns
    -------
    loss : float
        The documents' losses summed in order.
    grads : normrnn.Grads
        Their gradients summed in order.
    """
    loss, grads = 0.0, normrnn.Grads.zeros_like(model)
    for tokens, title_length in docs:
        doc_loss, doc_grads = model.loss_and_grads(tokens, title_length)
        loss += doc_loss
        for name, g in doc_grads.items():
            getattr(grads, name)[...] += g
    return loss, grads


def traced_growth(function, calls, warm_up=1_000):
    """Bytes of traced Python memory still held after ``calls`` calls of ``function(i)``.

    Tracing starts before the warm-up: bounded caches whose entries are replaced
    (threadpoolctl's ctypes lookups, freelists, the kernels' workspaces) are then
    traced at both ends and cancel out, while a leak keeps growing.  The growth
    is measured over two windows of ``calls`` calls one after the other, and
    the smaller is returned: a leak grows in both, while what a busy machine's
    thread scheduling leaves allocated at one window's end (a worker's frame,
    a queue entry; up to about 30 kB seen) is noise in one.
    """
    tracemalloc.start()
    try:
        for i in range(warm_up):
            function(i)
        growths = []
        for _ in range(2):
            gc.collect()
            first, _ = tracemalloc.get_traced_memory()
            for i in range(calls):
                function(i)
            gc.collect()
            last, _ = tracemalloc.get_traced_memory()
            growths.append(last - first)
    finally:
        tracemalloc.stop()
    return min(growths)
