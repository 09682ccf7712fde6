"""Held-out loss in bits per token, and the unigram baseline to beat.

Bits per token = (summed loss in nats) / ln 2 / (number of scored tokens).
Scored tokens are a document's text characters and its end marker (see
:mod:`normrnn.data.tokenizer`).  The unigram baseline,
:func:`unigram_counts` and :func:`unigram_bits_per_token`, lives with the
n-gram ones in :mod:`normrnn.baselines` (the corpus setup computes it); it is
importable from here too.
"""

import math
import threading
from dataclasses import dataclass

from ..baselines import unigram_bits_per_token, unigram_counts
from ..parallel import map_in_order
from .streams import chunk_bounds, chunk_title_length

__all__ = ["Evaluation", "bits_per_token", "document_loss", "evaluate",
           "unigram_counts", "unigram_bits_per_token"]


def bits_per_token(nats, tokens):
    """Convert a summed loss in nats over ``tokens`` scored tokens to bits per token.

    Parameters
    ----------
    nats : float
    tokens : int

    Returns
    -------
    float
        ``nats / ln 2 / tokens`` (``nan`` when ``tokens`` is 0).
    """
    return nats / math.log(2.0) / tokens if tokens else float("nan")


@dataclass(frozen=True)
class Evaluation:
    """The loss of a model on a set of documents.

    Attributes
    ----------
    nats : float
        Summed loss.
    tokens : int
        Scored tokens.
    documents : int
        Documents evaluated.
    """

    nats: float
    tokens: int
    documents: int

    @property
    def bits_per_token(self):
        """``nats / ln 2 / tokens``."""
        return bits_per_token(self.nats, self.tokens)


def document_loss(model, tokens, title_length, chunk_length=4096, *, stop=None):
    """Exact loss of one document, read in chunks with the state carried.

    Forward only (:meth:`~normrnn.NormRNN.loss`), whose memory does not grow
    with the chunk; chunks only bound the time between two looks at ``stop``.

    Parameters
    ----------
    model : NormRNN
    tokens : ndarray of int32
    title_length : int
    chunk_length : int, optional
        Bounds the memory of the states, not the result: carrying the state
        makes the chunked loss equal to the whole document's.  It also bounds
        the time between two looks at ``stop``, and between two chances for
        Ctrl-C to land in the main thread.
    stop : threading.Event or None, optional
        Checked before every chunk: once it is set, the document is left
        unfinished and None returned.

    Returns
    -------
    float or None
        Summed nats over the scored positions (None if stopped).
    """
    total, state = 0.0, None
    for a, b in chunk_bounds(len(tokens), chunk_length):
        if stop is not None and stop.is_set():
            return None
        loss, state = model.loss(
            tokens[a:b + 1], chunk_title_length(title_length, a, b),
            initial_state=state, return_last_state=True)
        total += loss
    return total


def evaluate(model, documents, *, n_threads=1, chunk_length=4096, batch_size=64, stop=None):
    """Loss of ``model`` on encoded documents.

    Parameters
    ----------
    model : NormRNN
    documents : list of (ndarray, int)
        Encoded documents ``(tokens, title_length)``.
    n_threads : int, optional
    chunk_length : int, optional
        Documents longer than this are read in chunks (:func:`document_loss`).
    batch_size : int, optional
        Short documents per call of :meth:`~normrnn.NormRNN.batch_loss`, which
        reads them in lockstep, forward only.
    stop : threading.Event or None, optional
        Looked at before every batch of short documents and every chunk of a
        long one: once it is set, the evaluation ends within one of them and
        returns None (training passes its stop request, which Ctrl-C,
        ``SIGTERM`` and ``SIGHUP`` set).  A ``KeyboardInterrupt`` in the
        calling thread sets it too, for the worker threads.

    Returns
    -------
    Evaluation or None
        None if ``stop`` was set before the end.
    """
    short = [d for d in documents if len(d[0]) <= chunk_length + 1]
    long = [d for d in documents if len(d[0]) > chunk_length + 1]
    stop = threading.Event() if stop is None else stop
    nats = 0.0
    for start in range(0, len(short), batch_size):
        if stop.is_set():
            return None
        nats += model.batch_loss(short[start:start + batch_size], n_threads=n_threads)
    losses = map_in_order(lambda d: document_loss(model, d[0], d[1], chunk_length, stop=stop),
                          long, n_threads, stop=stop)
    if stop.is_set() or any(loss is None for loss in losses):
        return None
    nats += sum(losses)
    tokens = sum(len(t) - m for t, m in documents)
    return Evaluation(float(nats), int(tokens), len(documents))
