"""Write a text for a title, one character at a time."""

import operator

import numpy as np

from ..data.tokenizer import EOT

__all__ = ["sample", "sample_stream", "sample_tokens", "draw_tokens", "prefix_state"]


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


def _checked_max_tokens(max_tokens):
    if isinstance(max_tokens, (bool, np.bool_)):
        raise TypeError("max_tokens must be an integer, got bool")
    try:
        max_tokens = operator.index(max_tokens)
    except TypeError:
        raise TypeError(f"max_tokens must be an integer, got {type(max_tokens).__name__}") from None
    if max_tokens < 0:
        raise ValueError(f"max_tokens must be non-negative, got {max_tokens}")
    return max_tokens


def _generator(seed):
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"seed must be None or a non-negative integer, got {seed!r}") from None


def draw_tokens(model, prefix, *, max_tokens=500, temperature=1.0, seed=None, stop=EOT):
    """Yield tokens after ``prefix`` one at a time, until ``stop`` or ``max_tokens``.

    The arguments are as in :func:`sample_tokens`, and are checked before the
    first token is drawn.  Nothing is kept: a caller that prints each token as
    it comes (``normrnn sample`` does) shows the text as it is written, in
    constant memory however long it is.

    Yields
    ------
    int
    """
    max_tokens = _checked_max_tokens(max_tokens)
    rng = _generator(seed)
    state = prefix_state(model, prefix)
    if max_tokens:
        model.probabilities(state, temperature=temperature)     # checks the temperature
    return _draw(model, state, max_tokens, temperature, rng, stop)


def _draw(model, state, max_tokens, temperature, rng, stop):
    for _ in range(max_tokens):
        p = model.probabilities(state, temperature=temperature)
        token = int(np.searchsorted(np.cumsum(p), rng.random() * p.sum(), side="right"))
        token = min(token, model.vocab_size - 1)
        if token == stop:
            return
        yield token
        state = model.next_state(state, token)


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
    return list(draw_tokens(model, prefix, max_tokens=max_tokens, temperature=temperature,
                            seed=seed, stop=stop))


def _check_pair(model, tokenizer):
    if model.vocab_size != tokenizer.vocab_size:
        raise ValueError(f"the model's vocab_size ({model.vocab_size}) differs from the "
                         f"tokenizer's ({tokenizer.vocab_size}): not a pair from one checkpoint")


def sample_stream(model, tokenizer, title, *, max_tokens=500, temperature=1.0, seed=None):
    """:func:`sample`, one character at a time: yield each as it is drawn.

    The arguments are checked before the first character is drawn.

    Parameters
    ----------
    model, tokenizer, title, max_tokens, temperature, seed
        As in :func:`sample`.

    Returns
    -------
    iterator of str
        The characters of the text (a reserved token as its printable name).
    """
    _check_pair(model, tokenizer)
    tokens = draw_tokens(model, tokenizer.encode_title(title), max_tokens=max_tokens,
                         temperature=temperature, seed=seed)
    return (tokenizer.decode([token]) for token in tokens)


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
    _check_pair(model, tokenizer)
    tokens = sample_tokens(model, tokenizer.encode_title(title), max_tokens=max_tokens,
                           temperature=temperature, seed=seed)
    return tokenizer.decode(tokens)
