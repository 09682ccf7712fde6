"""Write a text for a title, one character at a time."""

import operator

import numpy as np

from ..data.tokenizer import EOT

__all__ = ["sample", "sample_tokens", "prefix_state"]


def prefix_state(model, prefix):
    """The state that has read every token of ``prefix``.

    Parameters
    ----------
    model : NormRNN
    prefix : sequence of int
        For a title: ``tokenizer.encode_title(title)`` (title and ``SEP``).

    Returns
    -------
    ndarray, shape (H,)
        s_m for a prefix of m tokens: its softmax(E s_m) predicts the first
        text character.
    """
    states = model.states(np.append(np.asarray(prefix, dtype=np.int32), np.int32(0)))
    return states[-1]


def sample_tokens(model, prefix, *, max_tokens=500, temperature=1.0, seed=None, stop=EOT):
    """Draw tokens after ``prefix`` until ``stop`` or ``max_tokens``.

    Parameters
    ----------
    model : NormRNN
    prefix : ndarray of int32
        The conditioning tokens (title and separator).
    max_tokens : int, optional
        Most tokens to draw (the stop token included).
    temperature : float, optional
        Divides the logits: below 1 sharper, above 1 flatter.
    seed : int or None, optional
        The same seed gives the same tokens.
    stop : int, optional
        Token that ends the text (not returned).

    Returns
    -------
    list of int
    """
    if isinstance(max_tokens, (bool, np.bool_)):
        raise TypeError("max_tokens must be an integer, got bool")
    try:
        max_tokens = operator.index(max_tokens)
    except TypeError:
        raise TypeError(f"max_tokens must be an integer, got {type(max_tokens).__name__}") from None
    if max_tokens < 0:
        raise ValueError(f"max_tokens must be non-negative, got {max_tokens}")
    try:
        rng = np.random.default_rng(seed)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"seed must be None or a non-negative integer, got {seed!r}") from None
    state = prefix_state(model, prefix)
    out = []
    for _ in range(max_tokens):
        p = model.probabilities(state, temperature=temperature)
        token = int(np.searchsorted(np.cumsum(p), rng.random() * p.sum(), side="right"))
        token = min(token, model.vocab_size - 1)
        if token == stop:
            break
        out.append(token)
        state = model.next_state(state, token)
    return out


def sample(model, tokenizer, title, *, max_tokens=500, temperature=1.0, seed=None):
    """Sample a text for ``title``: the model reads ``title + SEP`` and writes.

    Generation stops at the end-of-text marker or after ``max_tokens``.

    Parameters
    ----------
    model : NormRNN
    tokenizer : CharTokenizer
    title : str
        Characters unknown to the tokenizer are read as ``UNK``.
    max_tokens : int, optional
    temperature : float, optional
    seed : int or None, optional
        The same seed, model and title give the same text.

    Returns
    -------
    str

    Examples
    --------
    >>> text = sample(model, tokenizer, "json.dumps", seed=0)  # doctest: +SKIP
    """
    if model.vocab_size != tokenizer.vocab_size:
        raise ValueError(f"the model's vocab_size ({model.vocab_size}) differs from the "
                         f"tokenizer's ({tokenizer.vocab_size}): not a pair from one checkpoint")
    tokens = sample_tokens(model, tokenizer.encode_title(title), max_tokens=max_tokens,
                           temperature=temperature, seed=seed)
    return tokenizer.decode(tokens)
