"""Loss and gradients of one minibatch of chunks, in parallel, in a fixed order."""

from concurrent.futures import ThreadPoolExecutor

from threadpoolctl import threadpool_limits

__all__ = ["chunks_loss_and_grads", "parallel_map"]


def parallel_map(function, items, n_threads, *, stop=None):
    """``[function(x) for x in items]`` on ``n_threads`` threads, in order.

    The model's kernels release the GIL, so documents run truly in parallel;
    BLAS is limited to one thread meanwhile so the threads do not oversubscribe
    the cores.

    Parameters
    ----------
    function : callable
    items : list
    n_threads : int
    stop : threading.Event or None, optional
        Set when the calling thread is interrupted (Ctrl-C) or fails; a
        ``function`` that checks it between pieces of work lets the call end
        within one piece.  Items not started are dropped either way.

    Returns
    -------
    list
        Results in the order of ``items``.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        if n_threads <= 1 or len(items) <= 1:
            return [function(x) for x in items]
        pool = ThreadPoolExecutor(max_workers=min(n_threads, len(items)))
        try:
            return list(pool.map(function, items))
        except BaseException:
            if stop is not None:
                stop.set()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _chunk_with_state(model, chunk):
    return model.loss_and_grads(chunk.tokens, chunk.title_length,
                                initial_state=chunk.initial_state, return_last_state=True)


def chunks_loss_and_grads(model, chunks, n_threads):
    """Summed loss and gradients of a step's chunks, and the states to carry.

    Whole documents (no state in or out) go through the threaded
    :meth:`~normrnn.NormRNN.batch_loss_and_grads`; pieces of long documents
    through :meth:`~normrnn.NormRNN.loss_and_grads` with ``initial_state`` and
    ``return_last_state``.  Sums are taken in a fixed order, so a step is
    reproducible for a given ``n_threads``.

    Parameters
    ----------
    model : NormRNN
    chunks : list of Chunk
        Non-empty.
    n_threads : int

    Returns
    -------
    loss : float
        Summed nats over the scored positions.
    grads : Grads
        Summed gradients.
    last_states : dict of int to ndarray
        s_b of every chunk that is not its document's last, by slot.
    scored : int
        Number of scored positions.
    """
    whole = [c for c in chunks if c.whole]
    pieces = [c for c in chunks if not c.whole]
    loss, grads, last_states = 0.0, None, {}
    if whole:
        loss, grads = model.batch_loss_and_grads(
            [(c.tokens, c.title_length) for c in whole], n_threads=n_threads)
    results = parallel_map(lambda c: _chunk_with_state(model, c), pieces, n_threads)
    for chunk, (piece_loss, piece_grads, last_state) in zip(pieces, results, strict=True):
        loss += piece_loss
        if grads is None:
            grads = piece_grads
        else:
            for name, g in piece_grads.items():
                getattr(grads, name)[...] += g
        if not chunk.last:
            last_states[chunk.slot] = last_state
    return loss, grads, last_states, sum(c.scored for c in chunks)
