"""Baselines a language model must beat: the unigram, and character n-grams.

:func:`unigram_counts` counts the tokens at the scored positions of encoded
documents (t >= m, as the loss); :func:`unigram_bits_per_token` measures a
unigram model of those counts on other documents.  The corpus setup
(:mod:`normrnn.data.corpus_setup`) computes both for a run.

:class:`NgramModel` is an interpolated Kneser–Ney model (Chen & Goodman,
1998) of order n, counted on training documents and measured, in bits per
token, on others (:func:`ngram_bits_per_token`).  The recurrent model's
held-out loss means something only next to these: below the bigram, it uses
more than the previous character; below the trigram, more than two.

Counts are over the scored positions (t >= m, as the loss and
:func:`unigram_counts`), with the context read
from the whole document, title included; positions before the document's
start read a padding symbol.  Every level discounts each count by ``D = 0.75``
and gives the mass taken to the level below, whose counts are continuation
counts (how many different tokens precede an n-gram); the lowest level is
interpolated with the uniform distribution, so every token, even one never
seen in training, costs a finite number of bits.  The functions are
importable from :mod:`normrnn.training` too, beside the model's evaluation.
"""

import numpy as np

__all__ = ["unigram_counts", "unigram_bits_per_token", "NgramModel", "ngram_bits_per_token"]


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


DISCOUNT = 0.75


def _keys(documents, order, base):
    """Integer codes of every scored (context, token) n-gram, contexts padded."""
    keys = []
    for tokens, m in documents:
        padded = np.concatenate([np.full(order - 1, base - 1, dtype=np.int64),
                                 np.asarray(tokens, dtype=np.int64)])
        code = np.zeros(len(tokens), dtype=np.int64)
        for k in range(order):                     # x_{t-n+1} .. x_t, oldest first
            code = code * base + padded[k:k + len(tokens)]
        keys.append(code[m:])
    return np.concatenate(keys) if keys else np.zeros(0, dtype=np.int64)


class _Level:
    """Counts of one order: c(h, w), c(h) = sum_w c(h, w) and N1+(h .) per context h."""

    def __init__(self, keys, counts, base):
        self.base = base
        self.keys, self.counts = keys, counts.astype(np.float64)
        contexts = keys // base
        self.contexts, start = np.unique(contexts, return_index=True)
        self.context_totals = np.add.reduceat(self.counts, start) if len(keys) else self.counts
        self.context_types = np.diff(np.append(start, len(keys))).astype(np.float64)

    @staticmethod
    def _lookup(table, values, query):
        i = np.clip(np.searchsorted(table, query), 0, max(len(table) - 1, 0))
        found = (table[i] == query) if len(table) else np.zeros(len(query), dtype=bool)
        return np.where(found, values[i] if len(table) else 0.0, 0.0)

    def probabilities(self, query, lower):
        """P(w | h) for every code of ``query``, interpolated with ``lower`` (P one order down)."""
        count = self._lookup(self.keys, self.counts, query)
        total = self._lookup(self.contexts, self.context_totals, query // self.base)
        types = self._lookup(self.contexts, self.context_types, query // self.base)
        seen = total > 0
        safe = np.where(seen, total, 1.0)
        mixed = (np.maximum(count - DISCOUNT, 0.0) + DISCOUNT * types * lower) / safe
        return np.where(seen, mixed, lower)


class NgramModel:
    """Interpolated Kneser–Ney character model of order ``order``.

    Parameters
    ----------
    documents : list of (ndarray, int)
        Encoded training documents ``(tokens, title_length)``.
    order : int
        n >= 1: 1 unigram, 2 bigram, 3 trigram, ...
    vocab_size : int
        V; token ids lie in [0, V).
    """

    def __init__(self, documents, order, vocab_size):
        if not isinstance(order, int) or isinstance(order, bool) or order < 1:
            raise ValueError(f"order must be a positive integer, got {order!r}")
        if not isinstance(vocab_size, int) or isinstance(vocab_size, bool) or vocab_size < 1:
            raise ValueError(f"vocab_size must be a positive integer, got {vocab_size!r}")
        self.order, self.vocab_size, self.base = order, vocab_size, vocab_size + 1
        top_keys, top_counts = np.unique(_keys(documents, order, self.base), return_counts=True)
        self.levels = [None] * order
        self.levels[order - 1] = _Level(top_keys, top_counts, self.base)
        keys = top_keys
        for k in range(order - 1, 0, -1):          # continuation counts of the k-grams
            keys, counts = np.unique(keys % self.base ** k, return_counts=True)
            self.levels[k - 1] = _Level(keys, counts, self.base)

    def log2_probabilities(self, documents):
        """log2 P(x_t | previous n - 1 tokens) at every scored position of ``documents``."""
        query = _keys(documents, self.order, self.base)
        p = np.full(len(query), 1.0 / self.vocab_size)
        for k, level in enumerate(self.levels, start=1):
            p = level.probabilities(query % self.base ** k, p)
        return np.log2(p)

    def bits_per_token(self, documents):
        """Cross-entropy on ``documents``, in bits per scored token."""
        logs = self.log2_probabilities(documents)
        return float(-logs.mean()) if len(logs) else float("nan")


def ngram_bits_per_token(train, held_out, order, vocab_size):
    """Held-out bits per token of an order-``order`` :class:`NgramModel` counted on ``train``.

    Parameters
    ----------
    train, held_out : list of (ndarray, int)
        Encoded documents ``(tokens, title_length)``.
    order : int
        1 unigram, 2 bigram, 3 trigram, ...
    vocab_size : int

    Returns
    -------
    float
    """
    return NgramModel(train, order, vocab_size).bits_per_token(held_out)
