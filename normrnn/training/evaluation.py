"""Held-out loss in bits per token, and the unigram baseline to beat.

Bits per token = (summed loss in nats) / ln 2 / (number of scored tokens).
Scored tokens are a document's text characters and its end marker (see
:mod:`normrnn.data.tokenizer`).
"""

import math
import threading
from dataclasses import dataclass

import numpy as np

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


def evaluate(model, documents, *, n_threads=1, chunk_length=4096, batch_size=64):
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

    Returns
    -------
    Evaluation
    """
    short = [d for d in documents if len(d[0]) <= chunk_length + 1]
    long = [d for d in documents if len(d[0]) > chunk_length + 1]
    nats = 0.0
    for start in range(0, len(short), batch_size):
        nats += model.batch_loss(short[start:start + batch_size], n_threads=n_threads)
    stop = threading.Event()            # set by a Ctrl-C in the calling thread
    nats += sum(map_in_order(lambda d: document_loss(model, d[0], d[1], chunk_length, stop=stop),
                             long, n_threads, stop=stop))
    tokens = sum(len(t) - m for t, m in documents)
    return Evaluation(float(nats), int(tokens), len(documents))


def unigram_counts(documents, vocab_size):
    """How often each token id occurs at a scored position.

    Parameters
    ----------
    documents : list of (ndarray, int)
    vocab_size : int

    Returns
    -------
    ndarray of int64, shape (vocab_size,)
    """
    counts = np.zeros(vocab_size, dtype=np.int64)
    for tokens, m in documents:
        counts += np.bincount(tokens[m:], minlength=vocab_size)
    return counts


def unigram_bits_per_token(counts, documents):
    """Cross-entropy, in bits per token, of a unigram model on ``documents``.

    The baseline a language model must beat: predict every token from its
    training frequency, ignoring context.  Counts are add-one (Laplace)
    smoothed so a token never seen in training costs a finite amount.

    Parameters
    ----------
    counts : ndarray of int64, shape (V,)
        Training counts, from :func:`unigram_counts`.
    documents : list of (ndarray, int)
        Encoded documents to measure on (the validation set).

    Returns
    -------
    float
    """
    probabilities = (counts + 1.0) / (counts.sum() + len(counts))
    held_out = unigram_counts(documents, len(counts))
    return float(-(held_out * np.log2(probabilities)).sum() / held_out.sum())
