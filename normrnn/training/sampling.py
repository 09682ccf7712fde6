"""Write a text for a title, one character at a time.

A call checks the model and its arguments once, then steps the model's own
recurrence and distribution (:meth:`~normrnn.NormRNN.stepper`, unchecked)
token by token: a generated token costs the logits E s, a softmax, a draw and
one step s' = f(S s + W_ih f(E[x]) + b).
"""

import numpy as np

from .. import _validate
from ..data.tokenizer import EOT

__all__ = ["sample", "sample_stream", "sample_tokens", "draw_tokens", "prefix_state"]


def _read(step, tokens, state):
    """The state after reading ``tokens`` from ``state``, one step each."""
    for token in tokens:
        state = step.next_state(state, token)
    return state


def _draw(step, state, max_tokens, temperature, rng, stop):
    """Yield tokens drawn from softmax(E s / temperature), reading each, until ``stop``.

    The token is ``searchsorted(cumsum(p), u * sum(p), "right")`` for the
    generator's next uniform u, as a loop of :meth:`~normrnn.NormRNN.probabilities`
    and :meth:`~normrnn.NormRNN.next_state` draws it.
    """
    last = len(step.embedding) - 1
    for _ in range(max_tokens):
        p = step.probabilities(state, temperature)
        token = min(int(np.cumsum(p).searchsorted(rng.random() * p.sum(), side="right")), last)
        if token == stop:
            return
        yield token
        state = step.next_state(state, token)


def _start(model):
    """The model's unchecked step (checked once now) and the zero state s_0."""
    return model.stepper(), np.zeros(model.hidden_size, dtype=model.dtype)


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
    step, state = _start(model)
    return _read(step, _validate.tokens(prefix, model.vocab_size, "prefix", min_length=0), state)


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
    max_tokens = _validate.non_negative_int(max_tokens, "max_tokens")
    rng = np.random.default_rng(_validate.seed(seed))
    if max_tokens:
        temperature = _validate.temperature(temperature)
    prefix = _validate.tokens(prefix, model.vocab_size, "prefix", min_length=0)
    step, state = _start(model)
    return _draw(step, _read(step, prefix, state), max_tokens, temperature, rng, stop)


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

    Notes
    -----
    The title matters less than one might expect.  The model remembers a
    character or two: each step shrinks what the state holds of the past by
    at least 1/sqrt(H) with the gain fixed (by the learned gains' norm
    otherwise).  After a few characters the state hardly depends on the
    title, so with the same seed, samples for different titles often become
    the same text.  That is the model, not a fault of sampling.

    Examples
    --------
    >>> text = sample(model, tokenizer, "json.dumps", seed=0)  # doctest: +SKIP
    """
    _check_pair(model, tokenizer)
    tokens = sample_tokens(model, tokenizer.encode_title(title), max_tokens=max_tokens,
                           temperature=temperature, seed=seed)
    return tokenizer.decode(tokens)
