"""The author's notes, exactly as written, wrong where they are wrong.

The notes derive the model's backward pass section by section (logits,
activation, bias, input to hidden, embedding activation, hidden to hidden),
then give the whole training loop as pseudocode.  Each function here
transcribes one of their formulas that is wrong, with the signature of its
correct twin in :mod:`normrnn.reference`, so that
:func:`normrnn.gradcheck.check_erratum` can put it through the same check and
show it failing.  Do not use these for anything else.

:data:`ERRATA` lists the twelve errata: what the notes say, what is right, and
which function here reproduces the notes.  Six of them live in the training
pseudocode; :func:`pseudocode_loss_and_grads` transcribes it with one switch
per erratum, so that each can be measured alone, as the only deviation from a
correct transcription.
"""

from dataclasses import dataclass

import numpy as np

from . import reference

__all__ = [
    "Erratum",
    "ERRATA",
    "ih_backward",
    "hh_backward",
    "row_normalise_backward",
    "ROW_NORMALISE_SLIPS",
    "row_normalise_backward_with_slips",
    "row_normalise_torch",
    "hh_forward",
    "ih_forward",
    "PSEUDOCODE_ERRATA",
    "pseudocode_loss_and_grads",
    "activation_grad_as_python",
]

# One function per erratum, each documented like its twin in reference.py, so
# the errata of the same slip read alike on purpose: ih_backward and
# hh_backward (a transpose read as a row sum), hh_forward and ih_forward
# (``v @ M`` for M v).


@dataclass(frozen=True)
class Erratum:
    """One place where the notes go wrong.

    Attributes
    ----------
    number : int
        As numbered on the docs page "Where the notes go wrong".
    title : str
    section : str
        The section of the notes it belongs to (a name of
        :data:`normrnn.gradcheck.SECTIONS`, or ``"model"``).
    notes_formula : str
        What the notes write.
    correct_formula : str
        What is right.
    function : str
        The function of this module that reproduces the notes.
    """

    number: int
    title: str
    section: str
    notes_formula: str
    correct_formula: str
    function: str


# The table the docs' errata page prints, one row per erratum: alike by design.
ERRATA = (
    Erratum(1, "Input-to-hidden: the transpose became a row sum", "ih",
            "inputGrad[i] = grad[i] * sum_j ih[i][j]",
            "inputGrad[j] = sum_i grad[i] * ih[i][j]   (W_ih^T delta)",
            "ih_backward"),
    Erratum(2, "Hidden-to-hidden: the transpose became a row sum", "hh",
            "grad[i] = grad[i] * sum_j scaledHH[i][j]",
            "grad[j] = sum_i grad[i] * scaledHH[i][j]   (S^T delta)",
            "hh_backward"),
    Erratum(3, "Row normalisation: four mistakes in one line", "row_normalise",
            "hh.grad += scaledHH.grad * (-1/((n H)^2)) * (H/(2n))",
            "dW_hh[i] = (dS[i] - (dS[i] . w_i) w_i) / (H n_i),  w_i = hh[i] / n_i",
            "row_normalise_backward"),
    Erratum(4, "PyTorch broadcasting divides columns, not rows", "row_normalise",
            "self.hh / (torch.norm(self.hh, dim=1) * self.hiddenDim)",
            "self.hh / (torch.norm(self.hh, dim=1, keepdim=True) * self.hiddenDim)",
            "row_normalise_torch"),
    Erratum(5, "state @ scaledHH is S^T s, not S s", "hh",
            "hhState = state @ scaledHH",
            "hhState[i] = dot(state, scaledHH[i])   (S s)",
            "hh_forward"),
    Erratum(6, "The training pseudocode reads the last state", "model",
            "embedding grad and hh grad use state[j], the last state, at every step",
            "states[tokenIndex] for the logits, states[tokenIndex - 1] for hh",
            "pseudocode_loss_and_grads"),
    Erratum(7, "x^2 is XOR in Python", "activation",
            "(2 * x + 1) / ((x^2 + x + 1) ^ 2)",
            "(2 * x + 1) / ((x**2 + x + 1) ** 2)",
            "activation_grad_as_python"),
    Erratum(8, "embedded @ self.ih is W_ih^T u, not W_ih u", "ih",
            "ihState = embedded @ self.ih",
            "ihState[i] = dot(embedded, self.ih[i])   (W_ih u)",
            "ih_forward"),
    Erratum(9, "The backward loop runs down to tokenIndex = 0", "model",
            "for tokenIndex in range(len(title and text)-1, -1, -1): ... "
            "activationGradMuls[tokenIndex - 1], tokens[tokenIndex - 1]",
            "after the logits at tokenIndex = 0, stop: position 0 has no step before "
            "it (index -1 silently reads the last step's slope and token)",
            "pseudocode_loss_and_grads"),
    Erratum(10, "grad = tempGrad aliases the two arrays", "model",
            "grad = tempGrad   ...   tempGrad.zeros()",
            "grad = tempGrad.copy(): otherwise the next step's tempGrad.zeros() wipes "
            "the carried gradient, and the logits' share just added to it",
            "pseudocode_loss_and_grads"),
    Erratum(11, "states.append(state) stores the same array every step", "model",
            "states.append(state); state[i], activationGradMul[i] = ...; "
            "activationGradMuls.append(activationGradMul)",
            "states.append(state.copy()), activationGradMuls.append(activationGradMul.copy()):"
            " otherwise every stored state (and slope) is the last one",
            "pseudocode_loss_and_grads"),
    Erratum(12, "The forward overwrites state[i] while later rows read it", "model",
            "for i in range(hiddenDim): stateVal = dot(state, self.scaledHH[i]) ... "
            "state[i] = ...",
            "read the previous state, write the new one elsewhere: "
            "s_{t+1}[i] = f(dot(S[i], s_t) + ...) for every i",
            "pseudocode_loss_and_grads"),
)


def ih_backward(ih, embedded, delta):
    """Erratum 1, the notes' "input to hidden" section.

    ``self.ih[i][j].grad += grad[i] * embedded[j]`` (right), but
    ``inputGrad[i] = grad[i] * sum([self.ih[i][j] for j in range(hiddenDim)])``:
    each delta_i scaled by its row's sum, instead of W_ih^T delta.

    Parameters
    ----------
    ih, embedded, delta : ndarray
        As :func:`normrnn.reference.ih_backward`.

    Returns
    -------
    d_ih : ndarray, shape (H, H)
        Right.
    d_embedded : ndarray, shape (H,)
        Wrong: delta * rowsum(W_ih).
    """
    return np.outer(delta, embedded), delta * ih.sum(axis=1)


def hh_backward(scaled_hh, state, delta):
    """Erratum 2, the notes' "hidden to hidden" section.

    ``grad[i] = grad[i] * sum([self.scaledHH[i][j] for j in range(hiddenDim)])``
    instead of S^T delta.  The d_scaled_hh part, ``grad[i] * state[j]``, is right.

    Parameters
    ----------
    scaled_hh, state, delta : ndarray
        As :func:`normrnn.reference.hh_backward`.

    Returns
    -------
    d_scaled_hh : ndarray, shape (H, H)
        Right.
    d_state : ndarray, shape (H,)
        Wrong: delta * rowsum(S).
    """
    return np.outer(delta, state), delta * scaled_hh.sum(axis=1)


def row_normalise_backward(hh, d_scaled_hh):
    """Erratum 3: ``hh.grad += scaledHH.grad * (-1/((n H)^2)) * (H/(2n))``.

    It differentiates only r_i = 1/(H n_i) in S_ik = r_i hh_ik, so it drops the
    direct term r_i (slip a) and the product rule's factor hh_ik (slip d);
    it takes d n / d hh_ij = 1/(2n) instead of hh_ij / n (slip b); and it lets
    entry (i, j) feel only its own dS_ij, though every entry of row i moves
    n_i (slip c).  :func:`row_normalise_backward_with_slips` with all four
    slips returns exactly this.

    Parameters
    ----------
    hh, d_scaled_hh : ndarray, shape (H, H)
        As :func:`normrnn.reference.row_normalise_backward`.

    Returns
    -------
    ndarray, shape (H, H)
        The notes' d_hh (wrong).
    """
    hidden = hh.shape[1]
    n = np.linalg.norm(hh, axis=1, keepdims=True)
    return d_scaled_hh * (-1.0 / (n * hidden) ** 2) * (hidden / (2.0 * n))


#: The four slips of erratum 3, as lettered on the row-normalisation page:
#: a, the direct term dropped; b, d n_i / d hh_ij taken as 1 / (2 n_i);
#: c, no sum over the row; d, the product rule's factor hh_ik dropped.
ROW_NORMALISE_SLIPS = ("a", "b", "c", "d")


def row_normalise_backward_with_slips(hh, d_scaled_hh, slips):
    """The right row-normalisation backward, with any of erratum 3's slips made.

    The right gradient (Step 4 of the row-normalisation page) is a direct
    term plus the chain through x_i = H n_i and r_i = 1 / x_i::

        d_hh[i, j] = dS[i, j] r_i + (sum_k dS[i, k] hh[i, k]) (-1 / x_i^2) (H hh[i, j] / n_i)

    Each slip changes one factor: ``"a"`` drops the direct term, ``"b"`` takes
    d x_i / d hh_ij as H / (2 n_i), ``"c"`` keeps k = j alone in the sum, and
    ``"d"`` drops the factor hh[i, k] the product rule puts in the sum.  The
    factors are multiplied in the notes' order, so that all four slips give
    :func:`row_normalise_backward` bit for bit, and none gives
    :func:`normrnn.reference.row_normalise_backward` up to rounding.

    Parameters
    ----------
    hh, d_scaled_hh : ndarray, shape (H, H)
        As :func:`normrnn.reference.row_normalise_backward`.
    slips : str or collection of str
        Letters drawn from :data:`ROW_NORMALISE_SLIPS`.

    Returns
    -------
    ndarray, shape (H, H)
        The gradient with those slips.
    """
    slips = frozenset(slips)
    if not slips <= set(ROW_NORMALISE_SLIPS):
        raise ValueError(f"slips must be drawn from {ROW_NORMALISE_SLIPS}, got {sorted(slips)}")
    hidden = hh.shape[1]
    n = np.linalg.norm(hh, axis=1, keepdims=True)
    moved = d_scaled_hh if "d" in slips else d_scaled_hh * hh      # dS_ik, times hh_ik
    if "c" not in slips:                                           # every k of the row
        moved = moved.sum(axis=1, keepdims=True)
    d_x = hidden / (2.0 * n) if "b" in slips else hidden * hh / n  # d x_i / d hh_ij
    chain = moved * (-1.0 / (n * hidden) ** 2) * d_x
    return chain if "a" in slips else d_scaled_hh / (hidden * n) + chain


def row_normalise_torch(hh):
    """Erratum 4: ``hh / (torch.norm(hh, dim=1) * H)`` without ``keepdim``.

    The row norms, shape (H,), broadcast along the last axis, so column j is
    divided by row j's norm.  (NumPy broadcasts exactly as PyTorch does.)

    Parameters
    ----------
    hh : ndarray, shape (H, H)

    Returns
    -------
    ndarray, shape (H, H)
        hh[i, j] / (H ||hh[j]||) (wrong).
    """
    return hh / (np.linalg.norm(hh, axis=1) * hh.shape[1])


def hh_forward(scaled_hh, state):
    """Erratum 5: ``hhState = state @ scaledHH``, which is S^T s, not S s.

    Parameters
    ----------
    scaled_hh : ndarray, shape (H, H)
    state : ndarray, shape (H,)

    Returns
    -------
    ndarray, shape (H,)
        S^T s (wrong).
    """
    return state @ scaled_hh


def activation_grad_as_python(x):
    """Erratum 7: the notes' f' typed into Python, where ``^`` is XOR.

    ``(2 * x + 1) / ((x^2 + x + 1) ^ 2)`` parses as
    ``(2x + 1) / ((x ^ (2 + x + 1)) ^ 2)``.  For integer ``x`` that runs and
    gives a wrong number; for a float it raises ``TypeError``.

    Parameters
    ----------
    x : int or ndarray of int
        A float raises ``TypeError``.

    Returns
    -------
    float or ndarray
        The notes' expression as Python evaluates it (wrong).
    """
    return (2 * x + 1) / ((x^2 + x + 1) ^ 2)  # noqa: E225 -- the notes' text


def ih_forward(ih, embedded):
    """Erratum 8: ``ihState = embedded @ self.ih``, which is W_ih^T u, not W_ih u.

    The same slip as erratum 5, in the input's section: the comment beside it,
    ``[dot(embedded, self.ih[i]) for i in range(hiddenDim)]``, is W_ih u.

    Parameters
    ----------
    ih : ndarray, shape (H, H)
    embedded : ndarray, shape (H,)

    Returns
    -------
    ndarray, shape (H,)
        W_ih^T u (wrong).
    """
    return embedded @ ih


#: The errata of the training pseudocode, each a switch of
#: :func:`pseudocode_loss_and_grads`.  Erratum 7 (``^``) is not among them:
#: the transcription reads ``^`` as a power, since Python would stop at the
#: first float with a ``TypeError``.
PSEUDOCODE_ERRATA = (3, 6, 9, 10, 11, 12)


def pseudocode_loss_and_grads(embedding, ih, hh, bias, tokens, title_length, *,
                              errata=PSEUDOCODE_ERRATA):
    """The notes' training pseudocode, transcribed loop for loop, errata switchable.

    With every erratum of :data:`PSEUDOCODE_ERRATA` on (the default) this is
    the pseudocode as written, read as Python.  Each erratum left out of
    ``errata`` is fixed by the smallest change that fixes it, and with
    ``errata=()`` the transcription is correct: it returns what
    :func:`normrnn.reference.loss_and_grads` returns.  So
    ``errata=(n,)`` measures erratum ``n`` alone.

    The switches, as written and fixed:

    * 3: ``hh.grad += grad[i] * state[j] * hhGradRowMul[i]`` at every step;
      fixed, dS is gathered and the row-normalisation backward applied once.
    * 6: ``state[j]`` in the logits' and hh's gradients; fixed,
      ``states[tokenIndex]`` and ``states[tokenIndex - 1]``.
    * 9: the loop runs down to ``tokenIndex = 0``; fixed, it stops after the
      logits at position 0.
    * 10: ``grad = tempGrad``; fixed, ``grad = tempGrad.copy()``.
    * 11: ``states.append(state)`` and ``activationGradMuls.append(...)``
      store the one array the forward updates in place; fixed, copies.
    * 12: ``state[i] = ...`` while the rows after i still read ``state``;
      fixed, every row reads a copy of the previous state.

    Under erratum 11 or 12 the forward is wrong, and so is the loss; with both
    fixed the forward is right, whatever the other switches.

    Parameters
    ----------
    embedding, ih, hh, bias, tokens, title_length
        As :func:`normrnn.reference.loss_and_grads` (``s_0 = 0``).
    errata : collection of int, optional
        Which errata of :data:`PSEUDOCODE_ERRATA` to keep; all by default.

    Returns
    -------
    loss : float
    grads : dict
        As :func:`normrnn.reference.loss_and_grads`.
    """
    errata = frozenset(errata)
    if not errata <= set(PSEUDOCODE_ERRATA):
        raise ValueError(f"errata must be drawn from {PSEUDOCODE_ERRATA}, got {sorted(errata)}")
    tokens = list(tokens)
    H = hh.shape[1]
    embedded = reference.activation(embedding)                  # preCompute
    embedding_grad_mul = reference.activation_grad(embedding)
    norms = np.linalg.norm(hh, axis=1)
    hh_mul_vals = 1.0 / (norms * H)
    hh_grad_row_mul = -1.0 * (hh_mul_vals * hh_mul_vals) * (H / (2.0 * norms))
    scaled_hh = hh * hh_mul_vals[:, None]

    def kept(array, number):          # the pseudocode's object, or a copy of it
        return array if number in errata else array.copy()

    states, activation_grad_muls = [], []                       # init
    state, activation_grad_mul = np.zeros(H), np.zeros(H)
    grad, temp_grad, input_grad = np.zeros(H), np.zeros(H), np.zeros(H)

    for token in tokens[:-1]:                                   # forward
        states.append(kept(state, 11))
        previous_state = kept(state, 12)
        for i in range(H):
            value = previous_state @ scaled_hh[i] + embedded[token] @ ih[i] + bias[i]
            state[i] = reference.activation(value)
            activation_grad_mul[i] = reference.activation_grad(value)
        activation_grad_muls.append(kept(activation_grad_mul, 11))
    states.append(kept(state, 11))

    grads = {name: np.zeros_like(p) for name, p in
             (("embedding", embedding), ("ih", ih), ("hh", hh), ("bias", bias))}
    d_scaled_hh = np.zeros_like(hh)
    loss = 0.0
    for index in range(len(tokens) - 1, -1, -1):                # backward
        if index >= title_length:
            y = embedding @ states[index]
            p = np.exp(y - y.max())
            p /= p.sum()
            loss -= np.log(p[tokens[index]])
            p[tokens[index]] -= 1
            grads["embedding"] += np.outer(p, state if 6 in errata else states[index])
            grad += embedding.T @ p                             # in place, as grad[j] +=
        if index == 0 and 9 not in errata:
            break
        input_grad[:] = 0                                       # inputGrad.zeros()
        temp_grad[:] = 0                                        # tempGrad.zeros()
        grad *= activation_grad_muls[index - 1]
        grads["bias"] += grad
        previous = tokens[index - 1]
        grads["ih"] += np.outer(grad, embedded[previous])
        input_grad += ih.T @ grad
        read_state = state if 6 in errata else states[index - 1]
        if 3 in errata:
            grads["hh"] += np.outer(grad, read_state) * hh_grad_row_mul[:, None]
        else:
            d_scaled_hh += np.outer(grad, read_state)
        temp_grad += scaled_hh.T @ grad
        grads["embedding"][previous] += input_grad * embedding_grad_mul[previous]
        grad = kept(temp_grad, 10)
    if 3 not in errata:
        grads["hh"] = reference.row_normalise_backward(hh, d_scaled_hh)
    return float(loss), grads
