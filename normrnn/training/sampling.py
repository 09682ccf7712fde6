"""Write a text for a title, one character at a time.

A call checks the model and its arguments once, then runs the recurrence in
a tight loop (:class:`_Recurrence`): S and the input term
``W_ih f(E[x]) + b`` of every token x are computed once, so a generated token
costs a matrix-vector product with S, one with E, a softmax and a draw.
"""

import numpy as np

from .. import _validate
from ..data.tokenizer import EOT
from ..reference import activation

__all__ = ["sample", "sample_stream", "sample_tokens", "draw_tokens", "prefix_state"]


class _Recurrence:
    """The recurrence of a checked model, with everything per token precomputed.

    ``inputs[x] = W_ih f(E[x]) + b`` (V, H) and ``S`` (H, H), in the model's
    dtype; the logits are computed in float64, as
    :meth:`~normrnn.NormRNN.probabilities` computes them.  The loops write
    into buffers allocated once.
    """

    def __init__(self, model):
        model.check_parameters()
        self.S = model.scaled_hh()
        self.inputs = activation(model.embedding) @ model.ih.T + model.bias
        self.embedding = model.embedding.astype(np.float64)
        self.vocab_size, self.hidden_size = model.vocab_size, model.hidden_size
        self.dtype = model.dtype
        self._a, self._q = (np.empty(self.hidden_size, self.dtype),
                            np.empty(self.hidden_size, self.dtype))
        # |E s| <= max_v sum_i |E[v, i]| as |s_i| < 1: the logits' spread is at most
        # twice that, and dividing it by a temperature overflows only beyond
        self.spread = 2.0 * float(np.abs(self.embedding).sum(axis=1).max())

    def read(self, tokens, state=None):
        """The state after reading ``tokens`` from ``state`` (default s_0 = 0).

        s' = f(S s + W_ih f(E[x]) + b), with f(a) = 1 - 1 / (a^2 + a + 1).
        """
        state = np.zeros(self.hidden_size, dtype=self.dtype) if state is None else state
        a, q = self._a, self._q
        for token in tokens:
            np.dot(self.S, state, out=a)
            a += self.inputs[token]
            np.multiply(a, a, out=q)
            q += a
            q += 1.0
            np.divide(1.0, q, out=q)
            np.subtract(1.0, q, out=state)
        return state

    def draw(self, state, max_tokens, temperature, rng, stop):
        """Yield tokens drawn from softmax(E s / temperature), reading each, until ``stop``.

        The distribution is computed as :meth:`~normrnn.NormRNN.probabilities`
        computes it, in float64: ``p = exp((z - max z) / t)`` normalised, and
        the token is ``searchsorted(cumsum(p), u * sum(p), "right")`` for the
        generator's next uniform u.  One product with ``[E; S]`` gives both
        the logits E s and the recurrence's S s.
        """
        V, H, last = self.vocab_size, self.hidden_size, self.vocab_size - 1
        inputs, a, q = self.inputs, self._a, self._q
        dot, add, multiply, divide, subtract, exp = (np.dot, np.add, np.multiply, np.divide,
                                                     np.subtract, np.exp)
        # y = [E; S] s in float64: the logits, then S s (for a float32 model, rounded
        # to float32 once, when the input term is added)
        stacked = np.concatenate([self.embedding, self.S.astype(np.float64)])
        y = np.empty(V + H)
        z, Ss = y[:V], y[V:]
        s64 = state if self.dtype == np.float64 else np.empty(H)
        c = np.empty(V)
        divide_by_t = temperature != 1.0     # z / 1.0 is z exactly
        # (z - max z) / t only goes to -inf for a tiny t, whose exp is an exact 0
        overflow = not self.spread / temperature < np.finfo(np.float64).max / 2
        for _ in range(max_tokens):
            if s64 is not state:
                s64[...] = state
            dot(stacked, s64, out=y)
            z -= z.max()
            if overflow:
                with np.errstate(over="ignore"):
                    z /= temperature
            elif divide_by_t:
                z /= temperature
            exp(z, out=z)
            z /= z.sum()
            np.cumsum(z, out=c)
            token = min(int(c.searchsorted(rng.random() * z.sum(), side="right")), last)
            if token == stop:
                return
            yield token
            # s' = f(S s + W_ih f(E[x]) + b), f(a) = 1 - 1 / (a^2 + a + 1)
            add(Ss, inputs[token], out=a, casting="same_kind")
            multiply(a, a, out=q)
            q += a
            q += 1.0
            divide(1.0, q, out=q)
            subtract(1.0, q, out=state)


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
    recurrence = _Recurrence(model)
    return recurrence.read(_validate.tokens(prefix, model.vocab_size, "prefix", min_length=0))


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
    recurrence = _Recurrence(model)
    return recurrence.draw(recurrence.read(prefix), max_tokens, temperature, rng, stop)


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
