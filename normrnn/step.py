"""The model one token at a time: the next state, and the next token's distribution.

:meth:`normrnn.NormRNN.stepper` checks the model once and returns a
:class:`Step`; its methods trust their arguments, so a loop of many steps
(sampling, :mod:`normrnn.training.sampling`) pays for the checks once.
:meth:`~normrnn.NormRNN.next_state` and :meth:`~normrnn.NormRNN.probabilities`
are the same methods behind the checks.  The step is written with the NumPy
twin's sections (:mod:`normrnn.reference`), on S from the kernels.
"""

import numpy as np

from . import reference

__all__ = ["Step"]


class Step:
    """The recurrence and the next-token distribution of a checked model, unchecked.

    Holds S (the kernels' row normalisation, or the learned gain) and E in
    float64, computed once, and the input term W_ih f(E[x]) + b of each token
    x, computed the first time x is read; it reads the model's own arrays, so
    make another after changing them.

    Parameters
    ----------
    model : NormRNN
        Checked by the caller (:meth:`~normrnn.NormRNN.stepper` does).
    """

    def __init__(self, model):
        self.embedding, self.ih, self.bias = model.embedding, model.ih, model.bias
        self.scaled_hh = model.scaled_hh()
        self.embedding64 = model.embedding.astype(np.float64, copy=False)
        self._inputs = {}

    def next_state(self, state, token):
        """s' = f(S s + W_ih f(E[x]) + b), in the model's dtype.

        Parameters
        ----------
        state : ndarray, shape (H,), the model's dtype
        token : int
            In [0, V).

        Returns
        -------
        ndarray, shape (H,)
        """
        term = self._inputs.get(token)
        if term is None:
            embedded = reference.embedding_activation_forward(self.embedding, token)
            term = self._inputs[token] = reference.ih_forward(self.ih, embedded) + self.bias
        return reference.activation(reference.hh_forward(self.scaled_hh, state) + term)

    def probabilities(self, state, temperature=1.0):
        """softmax(E s / temperature), in float64.

        The logits are shifted before they are divided: z / t overflows for a
        tiny temperature, while (z - max z) / t only goes to -inf, whose exp
        is an exact 0.

        Parameters
        ----------
        state : ndarray, shape (H,)
        temperature : float, optional
            Positive.

        Returns
        -------
        ndarray, shape (V,), float64
        """
        p = self.embedding64 @ state.astype(np.float64, copy=False)        # z
        p -= p.max()
        if temperature != 1:                    # z / 1 is z exactly
            with np.errstate(over="ignore"):
                p /= temperature
        np.exp(p, out=p)
        p /= p.sum()
        return p
