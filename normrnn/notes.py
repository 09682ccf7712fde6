"""The author's notes, exactly as written, wrong where they are wrong.

Each function here transcribes one formula of the notes
(``notes/000_539ba86c0ee47bc4.txt``) that ``MATH.md`` lists as an erratum, with
the signature of its correct twin in :mod:`normrnn.reference`, so that
:func:`normrnn.gradcheck.check_erratum` can put it through the same gradient
check and show it failing.  Do not use these for anything else.

:data:`ERRATA` lists the seven errata: what the notes say, what is right, and
which function here reproduces the notes.
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
    "row_normalise_torch",
    "hh_forward",
    "pseudocode_loss_and_grads",
    "activation_grad_as_python",
]


@dataclass(frozen=True)
class Erratum:
    """One place where the notes go wrong.

    Attributes
    ----------
    number : int
        As numbered in ``MATH.md``.
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


ERRATA = (
    Erratum(1, "Input-to-hidden: the transpose became a row sum", "ih",
            "inputGrad[i] = grad[i] * sum_j ih[i][j]",
            "inputGrad[j] = sum_i grad[i] * ih[i][j]   (W_ih^T delta)",
            "ih_backward"),
    Erratum(2, "Hidden-to-hidden: the transpose became a row sum", "hh",
            "grad[i] = grad[i] * sum_j scaledHH[i][j]",
            "grad[j] = sum_i grad[i] * scaledHH[i][j]   (S^T delta)",
            "hh_backward"),
    Erratum(3, "Row normalisation: three mistakes in one line", "row_normalise",
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
    Erratum(6, "The training pseudocode reads the wrong states", "model",
            "embedding grad and hh grad use state[j] (the last state); "
            "the loop runs down to tokenIndex = 0, reading activationGradMuls[-1]",
            "use states[t] for the logits, states[t-1] for hh; stop at t = 1",
            "pseudocode_loss_and_grads"),
    Erratum(7, "x^2 is XOR in Python", "activation",
            "(2 * x + 1) / ((x^2 + x + 1) ^ 2)",
            "(2 * x + 1) / ((x**2 + x + 1) ** 2)",
            "activation_grad_as_python"),
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

    It differentiates only r_i = 1/(H n_i) (dropping the direct term r_i of
    S_ij = hh_ij r_i), takes d n / d hh_ij = 1/(2n) instead of hh_ij / n, and
    lets entry (i, j) feel only its own dS_ij, though every entry of row i
    moves n_i.

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


def pseudocode_loss_and_grads(embedding, ih, hh, bias, tokens, title_length):
    """Erratum 6: the notes' training pseudocode, transcribed loop for loop.

    Its forward is right (the states are kept, ``states.append(state)``), but
    its backward uses ``state`` (the last state) where it needs
    ``states[tokenIndex]`` for the logits and ``states[tokenIndex - 1]`` for
    hh, and runs down to ``tokenIndex = 0``, reading
    ``activationGradMuls[-1]`` and ``tokens[-1]``.  Its hh gradient uses
    ``hhGradRowMul`` (erratum 3).

    Parameters
    ----------
    embedding, ih, hh, bias, tokens, title_length
        As :func:`normrnn.reference.loss_and_grads`.

    Returns
    -------
    loss : float
    grads : dict
        As :func:`normrnn.reference.loss_and_grads`.
    """
    tokens = list(tokens)
    H = hh.shape[1]
    embedded = reference.activation(embedding)                  # preCompute
    embedding_grad_mul = reference.activation_grad(embedding)
    norms = np.linalg.norm(hh, axis=1)
    hh_mul_vals = 1.0 / (norms * H)
    hh_grad_row_mul = -1.0 * (hh_mul_vals * hh_mul_vals) * (H / (2.0 * norms))
    scaled_hh = hh * hh_mul_vals[:, None]

    states, activation_grad_muls = [], []                       # forward
    state = np.zeros(H)
    for token in tokens[:-1]:
        states.append(state)
        middle = scaled_hh @ state + ih @ embedded[token] + bias
        state = reference.activation(middle)
        activation_grad_muls.append(reference.activation_grad(middle))
    states.append(state)

    grads = {name: np.zeros_like(p) for name, p in
             (("embedding", embedding), ("ih", ih), ("hh", hh), ("bias", bias))}
    loss = 0.0
    grad = np.zeros(H)
    for index in range(len(tokens) - 1, -1, -1):                # backward
        if index >= title_length:
            y = embedding @ states[index]
            p = np.exp(y - y.max())
            p /= p.sum()
            loss -= np.log(p[tokens[index]])
            p[tokens[index]] -= 1
            grads["embedding"] += np.outer(p, state)            # state, not states[index]
            grad = grad + embedding.T @ p
        if not activation_grad_muls:
            break
        grad = grad * activation_grad_muls[index - 1]           # [-1] when index == 0
        grads["bias"] += grad
        previous = tokens[index - 1]
        grads["ih"] += np.outer(grad, embedded[previous])
        input_grad = ih.T @ grad
        grads["hh"] += np.outer(grad, state) * hh_grad_row_mul[:, None]
        temp_grad = scaled_hh.T @ grad
        grads["embedding"][previous] += input_grad * embedding_grad_mul[previous]
        grad = temp_grad
    return float(loss), grads
