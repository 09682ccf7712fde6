"""From a list of documents to what a run trains and evaluates on."""

import hashlib
from dataclasses import dataclass

import numpy as np

from .split import split_documents
from .tokenizer import CharTokenizer
from ..baselines import unigram_bits_per_token, unigram_counts

__all__ = ["EncodedCorpus", "encode_corpus", "corpus_fingerprint", "segment_document",
           "first_documents"]


def corpus_fingerprint(documents):
    """SHA-256 of the documents' titles and texts, in order.

    Parameters
    ----------
    documents : sequence of Document

    Returns
    -------
    str
        Hex digest; a resumed run compares it with the checkpoint's.
    """
    digest = hashlib.sha256()
    for doc in documents:
        for part in (doc.title, doc.text):
            data = part.encode("utf-8", "surrogatepass")
            digest.update(len(data).to_bytes(8, "little"))
            digest.update(data)
    return digest.hexdigest()


def segment_document(tokens, title_length, segment):
    """Cut an encoded document into training units of at most ``segment`` text tokens.

    Parameters
    ----------
    tokens : ndarray of int32
        Title, separator, text, end marker.
    title_length : int
        m, the length of title and separator.
    segment : int
        Most scored tokens per unit.

    Returns
    -------
    list of (ndarray, int)
        ``(prefix + piece, m)`` for consecutive pieces of the scored part;
        together they score every scored token exactly once.
    """
    if len(tokens) - title_length <= segment:
        return [(tokens, title_length)]
    prefix = tokens[:title_length]
    return [(np.concatenate([prefix, tokens[start:start + segment]]), title_length)
            for start in range(title_length, len(tokens), segment)]



@dataclass
class EncodedCorpus:
    """A corpus split and encoded for one run.

    Attributes
    ----------
    train, valid : list of (ndarray, int)
        Encoded documents ``(tokens, title_length)``.
    units : list of (ndarray, int)
        The training documents cut into segments (:func:`segment_document`):
        what the minibatch streams read.
    train_subset : list of (ndarray, int)
        The first training documents, up to ``eval_tokens`` scored tokens: the
        training loss is measured on these.
    unigram : ndarray of int64
        Training token counts.
    unigram_bits : float
        The unigram baseline on the validation documents, in bits per token.
    fingerprint : str
        Of all the documents (:func:`corpus_fingerprint`).
    """

    train: list
    valid: list
    units: list
    train_subset: list
    unigram: np.ndarray
    unigram_bits: float
    fingerprint: str

    @property
    def train_tokens(self):
        """Scored tokens in one epoch."""
        return sum(len(t) - m for t, m in self.units)


def first_documents(documents, max_tokens):
    """The first ``documents`` up to ``max_tokens`` scored tokens (at least one document).

    Parameters
    ----------
    documents : list of (ndarray, int)
        Token arrays and their title lengths.
    max_tokens : int

    Returns
    -------
    list of (ndarray, int)
    """
    subset, total = [], 0
    for tokens, m in documents:
        if subset and total + len(tokens) - m > max_tokens:
            break
        subset.append((tokens, m))
        total += len(tokens) - m
    return subset


def encode_corpus(documents, tokenizer, config):
    """Split ``documents`` with ``config``'s seed and encode both parts.

    Parameters
    ----------
    documents : sequence of Document
    tokenizer : CharTokenizer or None
        ``None`` builds one from the training part (so a character seen only
        in validation documents is, honestly, unknown).
    config : TrainConfig
        ``valid_fraction``, ``seed``, ``segment`` and ``eval_tokens`` are used.

    Returns
    -------
    corpus : EncodedCorpus
    tokenizer : CharTokenizer
        The one given, or the one built.
    """
    train_docs, valid_docs = split_documents(documents, valid_fraction=config.valid_fraction,
                                             seed=config.seed)
    if tokenizer is None:
        tokenizer = CharTokenizer.from_documents(train_docs)
    train = [tokenizer.encode_document(d) for d in train_docs]
    valid = [tokenizer.encode_document(d) for d in valid_docs]
    counts = unigram_counts(train, tokenizer.vocab_size)
    units = [u for t, m in train for u in segment_document(t, m, config.segment)]
    corpus = EncodedCorpus(train, valid, units, first_documents(train, config.eval_tokens), counts,
                           unigram_bits_per_token(counts, valid), corpus_fingerprint(documents))
    return corpus, tokenizer
