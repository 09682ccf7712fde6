"""The unigram baseline: token counts at scored positions, and their cross-entropy.

:func:`unigram_counts` counts the tokens at the scored positions of encoded
documents (t >= m, as the loss); :func:`unigram_bits_per_token` measures a
unigram model of those counts on other documents.  The corpus setup
(:mod:`normrnn.data.corpus_setup`) computes both for a run; they are
importable from :mod:`normrnn.training` too, beside the model's evaluation.
"""

import numpy as np

__all__ = ["unigram_counts", "unigram_bits_per_token"]


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
