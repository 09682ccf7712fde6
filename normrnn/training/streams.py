"""Truncated backpropagation through time over a minibatch of document streams.

**Truncated BPTT.** A document longer than ``bptt + 1`` tokens is cut into
chunks that overlap by one token: ``[0, bptt]``, ``[bptt, 2 bptt]``, ...
(inclusive positions). The chunk ``[a, b]`` is run with

* ``initial_state`` = the carried state s_a (zero for the first chunk),
* ``title_length = max(m - a, 1 if a > 0 else 0)`` (capped at the chunk's
  length): position a was scored by the previous chunk, and title positions
  are never scored,

and ``return_last_state=True`` gives s_b to carry into the next chunk.  The
forward pass is therefore exact: the chunks' losses add up to the document's.
Only the gradient is truncated: it does not flow back across a chunk boundary
(the carried state is a constant).  With ``bptt >= T - 1`` a document is one
chunk and the gradient is the full BPTT gradient.

**Streams.** A minibatch has ``batch_size`` slots. Each slot works through one
training unit, one chunk per optimizer step, carrying its state between steps
(as min-char-rnn carries ``hprev``); when the unit ends, the slot takes the
next unit of the epoch's shuffled order. An epoch ends when its order is used
up: the slots still busy finish their units during the next epoch, so every
step keeps a full minibatch (at the end of the last epoch they finish alone).

**Segments.** The training units are documents cut into *segments* of at most
``segment`` text tokens, each read after the document's title and separator
(the last one ending with the end marker). A book-length document (a single
``.txt`` file) thus becomes many streams that train in parallel, instead of
one stream the whole minibatch waits for. Evaluation always reads whole
documents. The cut is :func:`segment_document`, which the corpus setup
(:mod:`normrnn.data.corpus_setup`) applies and this module re-exports.
"""

from dataclasses import dataclass

import numpy as np

from ..data.corpus_setup import segment_document

__all__ = ["chunk_bounds", "chunk_title_length", "segment_document", "Chunk", "DocumentStreams"]


def chunk_bounds(length, bptt):
    """Inclusive ``(a, b)`` bounds of the chunks of a ``length``-token document.

    Parameters
    ----------
    length : int
        T >= 1.
    bptt : int
        Largest number of steps per chunk, b - a <= bptt.

    Returns
    -------
    list of (int, int)
        ``[(0, b0), (b0, b1), ..., (bk, T - 1)]``; ``[(0, 0)]`` when T = 1.
    """
    if length < 1 or bptt < 1:
        raise ValueError(f"need length >= 1 and bptt >= 1, got {length} and {bptt}")
    bounds, a = [], 0
    while True:
        b = min(a + bptt, length - 1)
        bounds.append((a, b))
        if b == length - 1:
            return bounds
        a = b


def chunk_title_length(title_length, a, b):
    """Title length to pass for chunk ``[a, b]`` of a document with title length m.

    Parameters
    ----------
    title_length : int
        m, of the whole document.
    a, b : int
        Inclusive chunk bounds.

    Returns
    -------
    int
        ``min(max(m - a, 1 if a > 0 else 0), b - a + 1)``.
    """
    return min(max(title_length - a, 1 if a > 0 else 0), b - a + 1)


@dataclass
class Chunk:
    """One slot's piece of work for a step.

    Attributes
    ----------
    slot : int
        Which stream it belongs to.
    tokens : ndarray of int32
        Positions a..b of the document.
    title_length : int
        From :func:`chunk_title_length`.
    initial_state : ndarray or None
        The carried state s_a; ``None`` (zero) for a document's first chunk.
    last : bool
        Whether b is the document's last position.
    """

    slot: int
    tokens: np.ndarray
    title_length: int
    initial_state: object
    last: bool

    @property
    def whole(self):
        """Whether the chunk is a whole document (no state in or out)."""
        return self.initial_state is None and self.last

    @property
    def scored(self):
        """Number of positions whose loss counts."""
        return len(self.tokens) - self.title_length


class DocumentStreams:
    """The minibatch schedule of an epoch: slots working through documents.

    Parameters
    ----------
    documents : list of (ndarray, int)
        Encoded training units ``(tokens, title_length)``: documents, or the
        segments :func:`segment_document` cuts them into.
    batch_size : int
        Number of slots.
    bptt : int
        Chunk length, see :func:`chunk_bounds`.
    hidden_size : int
    dtype : numpy dtype
        Of the carried states.

    Attributes
    ----------
    order : ndarray of int64
        The epoch's document order.
    next_index : int
        Position in ``order`` of the next document to hand out.
    doc : ndarray of int64, shape (batch_size,)
        Document in each slot, -1 for an empty slot.
    pos : ndarray of int64, shape (batch_size,)
        Start a of each slot's next chunk.
    carried : ndarray, shape (batch_size, hidden_size)
        Each slot's carried state s_a (meaningful when ``pos > 0``).
    """

    def __init__(self, documents, batch_size, bptt, hidden_size, dtype):
        self.documents = documents
        self.bptt = bptt
        self.order = np.zeros(0, dtype=np.int64)
        self.next_index = 0
        self.doc = np.full(batch_size, -1, dtype=np.int64)
        self.pos = np.zeros(batch_size, dtype=np.int64)
        self.carried = np.zeros((batch_size, hidden_size), dtype=dtype)

    def start_epoch(self, order):
        """Begin an epoch with the unit order ``order`` (a permutation).

        Busy slots keep their units; empty ones draw from the new order.
        """
        self.order = np.asarray(order, dtype=np.int64)
        self.next_index = 0

    @property
    def exhausted(self):
        """Whether every unit of the epoch's order has been handed to a slot."""
        return self.next_index >= len(self.order)

    @property
    def idle(self):
        """Whether every slot is empty."""
        return bool(np.all(self.doc < 0))

    def next_chunks(self):
        """Fill empty slots, then return each busy slot's next :class:`Chunk`."""
        chunks = []
        for slot in range(len(self.doc)):
            if self.doc[slot] < 0 and self.next_index < len(self.order):
                self.doc[slot] = self.order[self.next_index]
                self.pos[slot] = 0
                self.next_index += 1
            if self.doc[slot] >= 0:
                chunks.append(self._chunk(slot))
        return chunks

    def _chunk(self, slot):
        tokens, m = self.documents[self.doc[slot]]
        a = int(self.pos[slot])
        b = min(a + self.bptt, len(tokens) - 1)
        return Chunk(slot, tokens[a:b + 1], chunk_title_length(m, a, b),
                     self.carried[slot].copy() if a > 0 else None, b == len(tokens) - 1)

    def advance(self, chunks, last_states):
        """Move each slot past its chunk, carrying ``last_states[slot]``.

        Parameters
        ----------
        chunks : list of Chunk
            As returned by :meth:`next_chunks`.
        last_states : dict of int to ndarray
            s_b of each slot whose document goes on.
        """
        for chunk in chunks:
            if chunk.last:
                self.doc[chunk.slot] = -1
                self.pos[chunk.slot] = 0
            else:
                self.pos[chunk.slot] += len(chunk.tokens) - 1
                self.carried[chunk.slot] = last_states[chunk.slot]
