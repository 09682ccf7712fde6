"""Threads and BLAS threads: the one module that decides how normrnn runs in parallel.

Two kinds of threads can run a computation: normrnn's own workers, each
taking a share of a batch with the GIL released, and the threads of BLAS
inside each matrix product.  On a few cores the two fight, so the policy is:

* **Batches** (:meth:`normrnn.NormRNN.batch_loss_and_grads`,
  :meth:`~normrnn.NormRNN.batch_loss`, training, evaluation): ``n_threads``
  workers of :func:`map_in_order`, each with BLAS on one thread
  (:func:`blas_threads`).  The products of one worker are small (a few
  documents' steps, H x H) and gain nothing from more BLAS threads.
* **One document** (:meth:`~normrnn.NormRNN.loss_and_grads`,
  :meth:`~normrnn.NormRNN.loss`, :meth:`~normrnn.NormRNN.states`):
  :func:`document_blas` keeps BLAS on one thread unless the document has at
  least :data:`LONG_DOCUMENT` tokens.  Its only BLAS calls are the products
  over all positions (logits, gradients), which split well across threads
  only when long; on short documents BLAS's threads cost more than they save,
  and under load they oversubscribe the cores: a Python loop of
  ``loss_and_grads`` at T = 256 ran several times slower with two OpenBLAS
  threads than with one.  The BPTT page gives the measurements.

The worker pool is made once per thread count and kept.
"""

import threading
from concurrent.futures import ThreadPoolExecutor, wait

from threadpoolctl import ThreadpoolController

from ._kernels import bptt_gathered as _bptt  # noqa: F401  (loads the BLAS the controller must see)

__all__ = ["LONG_DOCUMENT", "blas_threads", "document_blas", "map_in_order"]

#: Documents from this many tokens on let BLAS use its own thread setting in
#: single-document calls; shorter ones run BLAS on one thread.  Measured with
#: :meth:`~normrnn.NormRNN.loss_and_grads` at V = 96, H = 128 on a 2-core AVX2
#: machine with other work running (load about 3), tokens/s with two BLAS
#: threads against one: float64 0.35x at 256 tokens, 0.32x at 4,096, 0.70x at
#: 16,384; float32 0.42x at 256, 0.54x at 4,096 and 1.18x at 16,384, the
#: first length at which two threads gained.  The same machine when quiet
#: (load under 0.02): 1.17x to 1.29x at every length from 256 to 65,536, in
#: both dtypes; one thread gives that up for never collapsing under load.
LONG_DOCUMENT = 16384

_lock = threading.Lock()
_pools = {}
# made once, at import (about a millisecond): made by the first call instead,
# its lookups would land in that call's time and memory
_controller = ThreadpoolController()


def blas_threads(limit):
    """Context manager: BLAS on at most ``limit`` threads inside the ``with`` block.

    Parameters
    ----------
    limit : int or None
        None leaves BLAS's own setting.
    """
    return _controller.limit(limits=limit, user_api="blas")


def document_blas(length):
    """Context manager for a single-document call of ``length`` tokens.

    One BLAS thread below :data:`LONG_DOCUMENT` tokens, BLAS's own setting from there.
    """
    return blas_threads(1 if length < LONG_DOCUMENT else None)


def _pool(n_threads):
    with _lock:
        if n_threads not in _pools:
            _pools[n_threads] = ThreadPoolExecutor(max_workers=n_threads,
                                                   thread_name_prefix="normrnn")
        return _pools[n_threads]


def map_in_order(function, items, n_threads, *, stop=None):
    """``[function(x) for x in items]`` on ``n_threads`` workers, in order, BLAS on one thread.

    With one thread (or one item) everything runs in the calling thread.
    Otherwise the items go to a pool kept for the next call.  A
    ``KeyboardInterrupt`` (or any error) while waiting sets ``stop``, which
    ``function`` may check between pieces of work, and waits for the workers
    to return before it propagates: no worker outlives the call by more than
    the piece it was doing.

    Parameters
    ----------
    function : callable
    items : sequence
    n_threads : int
    stop : threading.Event or None, optional

    Returns
    -------
    list
        The results in the order of ``items``.
    """
    items = list(items)
    with blas_threads(1):
        if n_threads <= 1 or len(items) <= 1:
            return [function(x) for x in items]
        pool = _pool(min(n_threads, len(items)))
        futures = [pool.submit(function, x) for x in items]
        try:
            return [f.result() for f in futures]
        except BaseException:
            if stop is not None:
                stop.set()
            wait(futures)
            raise
