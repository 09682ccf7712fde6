"""Loss and gradients of one minibatch of chunks: one lockstep batch, in a fixed order."""

import numpy as np


__all__ = ["chunks_loss_and_grads"]


def chunks_loss_and_grads(model, chunks, n_threads):
    """Summed loss and gradients of a step's chunks, and the states to carry.

    Every chunk, whole document or piece of a long one, goes through one
    :meth:`~normrnn.NormRNN.batch_loss_and_grads` call, read in lockstep:
    pieces pass their carried state as ``initial_states`` (zero for a
    document's first piece) and get their last state back.  Sums are taken
    in a fixed order, so a step is reproducible for a given ``n_threads``.

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
    initial_states = None
    if any(c.initial_state is not None for c in chunks):
        initial_states = np.zeros((len(chunks), model.hidden_size), dtype=model.dtype)
        for row, chunk in zip(initial_states, chunks, strict=True):
            if chunk.initial_state is not None:
                row[...] = chunk.initial_state
    loss, grads, states = model.batch_loss_and_grads(
        [(c.tokens, c.title_length) for c in chunks], n_threads=n_threads,
        initial_states=initial_states, return_last_states=True)
    last_states = {c.slot: states[i] for i, c in enumerate(chunks) if not c.last}
    return loss, grads, last_states, sum(c.scored for c in chunks)
