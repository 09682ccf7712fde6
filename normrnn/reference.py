"""The model's sections in plain NumPy, to read side by side with the Cython.

Every function here has a twin of the same name in :mod:`normrnn.sections`
(the Cython kernels behind a checking front door).  The names follow the
author's notes and the maths of the docs' *Model* page:

========================  ==========  ===========  ==========================
notes                     maths       code         shape
========================  ==========  ===========  ==========================
``self.embedding``        E           embedding    (V, H)
``self.ih``               W_ih        ih           (H, H)
``self.hh``               W_hh        hh           (H, H)
``self.bias``             b           bias         (H,)
``self.scaledHH``         S           scaled_hh    (H, H)
(learned, optional)       gamma       gain         (H,)
``states``                s_t         state        (H,)
``middleState``           a_t         middle       (H,)
``embedded``              u_t         embedded     (H,)
``dL_dY``                 dz_t        d_logits     (V,)
========================  ==========  ===========  ==========================

Unlike the Cython kernels, which accumulate into output arrays, these
functions return new arrays: they are written to be read, not to be fast.
:func:`loss_and_grads` composes them into a per-token BPTT in the style of
Karpathy's min-char-rnn; it is the NumPy baseline of the benchmarks.
"""

import numpy as np

from .grads import Grads
from .section_registry import twin_names

#: The sections' functions (one record each in normrnn.section_registry), then
#: the whole document, and what loss_and_grads returns (a printed solution
#: imports Grads from here).
__all__ = [*twin_names(), "forward", "loss", "loss_and_grads", "Grads"]

# One function per section, each with a docstring complete on its own: the docs'
# section pages show each (literalinclude :pyobject:) beside its kernel, and
# sections.py follows them.  So functions of the same operands read alike on
# purpose: logits_forward and hh_forward, logits_backward and hh_backward (and
# ih's), activation and activation_grad, and forward, loss and loss_and_grads,
# which document the same parameters.


# --- activation ------------------------------------------------------------

def activation(x):
    """f(x) = 1 - 1 / (x^2 + x + 1), elementwise.

    Parameters
    ----------
    x : ndarray

    Returns
    -------
    ndarray
        f(x), in [-1/3, 1), shaped like ``x``.
    """
    return 1.0 - 1.0 / (x * x + x + 1.0)


def activation_grad(x):
    """f'(x) = (2x + 1) / (x^2 + x + 1)^2, elementwise.

    Parameters
    ----------
    x : ndarray

    Returns
    -------
    ndarray
        f'(x), shaped like ``x``.
    """
    q = x * x + x + 1.0
    return (2.0 * x + 1.0) / (q * q)


def activation_backward(d_state, middle):
    """Gradient through the activation: delta = g * f'(a).

    Parameters
    ----------
    d_state : ndarray, shape (H,)
        g_{t+1}, the gradient with respect to s_{t+1} = f(a_t).
    middle : ndarray, shape (H,)
        a_t, the pre-activation.

    Returns
    -------
    delta : ndarray, shape (H,)
        The gradient with respect to a_t.
    """
    return d_state * activation_grad(middle)


# --- logits ------------------------------------------------------------------

def logits_forward(embedding, state):
    """Logits z = E s.

    Parameters
    ----------
    embedding : ndarray, shape (V, H)
    state : ndarray, shape (H,)

    Returns
    -------
    ndarray, shape (V,)
    """
    return embedding @ state


def logits_backward(embedding, state, token):
    """Softmax cross-entropy at ``token`` and its gradients.

    Parameters
    ----------
    embedding : ndarray, shape (V, H)
    state : ndarray, shape (H,)
    token : int
        The target x_t, in [0, V).

    Returns
    -------
    loss : float
        -log softmax(E s)[token].
    d_embedding : ndarray, shape (V, H)
        dz ⊗ s, with dz = softmax(E s) - onehot(token).
    d_state : ndarray, shape (H,)
        E^T dz.
    """
    z = logits_forward(embedding, state)
    shifted = z - z.max()                        # exp never overflows
    log_sum = np.log(np.exp(shifted).sum())
    dz = np.exp(shifted - log_sum)
    dz[token] -= 1.0
    return log_sum - shifted[token], np.outer(dz, state), embedding.T @ dz


# --- bias --------------------------------------------------------------------

def bias_backward(delta):
    """The bias gradient of one step is delta itself: a = ... + b.

    Parameters
    ----------
    delta : ndarray, shape (H,)
        The gradient with respect to a_t.

    Returns
    -------
    ndarray, shape (H,)
    """
    return delta.copy()


# --- input to hidden -------------------------------------------------------

def ih_forward(ih, embedded):
    """The input's part of the pre-activation, W_ih u.

    Parameters
    ----------
    ih : ndarray, shape (H, H)
    embedded : ndarray, shape (H,)
        u_t = f(E[x_t]).

    Returns
    -------
    ndarray, shape (H,)
    """
    return ih @ embedded


def ih_backward(ih, embedded, delta):
    """Backward of W_ih u: (d_ih, d_embedded) = (delta ⊗ u, W_ih^T delta).

    Parameters
    ----------
    ih : ndarray, shape (H, H)
    embedded : ndarray, shape (H,)
    delta : ndarray, shape (H,)
        The gradient with respect to a_t.

    Returns
    -------
    d_ih : ndarray, shape (H, H)
    d_embedded : ndarray, shape (H,)
    """
    return np.outer(delta, embedded), ih.T @ delta


# --- embedding activation ---------------------------------------------------

def embedding_activation_forward(embedding, token):
    """The activated input embedding u = f(E[x]).

    Parameters
    ----------
    embedding : ndarray, shape (V, H)
    token : int
        x_t, in [0, V).

    Returns
    -------
    ndarray, shape (H,)
    """
    return activation(embedding[token])


def embedding_activation_backward(embedding, token, d_embedded):
    """Backward of u = f(E[x]): dE, zero but for row ``token``, du * f'(E[x]).

    Parameters
    ----------
    embedding : ndarray, shape (V, H)
    token : int
        x_t, in [0, V).
    d_embedded : ndarray, shape (H,)
        The gradient with respect to u_t.

    Returns
    -------
    ndarray, shape (V, H)
    """
    d_embedding = np.zeros_like(embedding)
    d_embedding[token] = d_embedded * activation_grad(embedding[token])
    return d_embedding


# --- hidden to hidden --------------------------------------------------------

def hh_forward(scaled_hh, state):
    """The recurrent part of the pre-activation, S s: row i of S dotted with s.

    Parameters
    ----------
    scaled_hh : ndarray, shape (H, H)
        S, the row-normalised ``hh``.
    state : ndarray, shape (H,)

    Returns
    -------
    ndarray, shape (H,)
    """
    return scaled_hh @ state


def hh_backward(scaled_hh, state, delta):
    """Backward of S s: (d_scaled_hh, d_state) = (delta ⊗ s, S^T delta).

    Parameters
    ----------
    scaled_hh : ndarray, shape (H, H)
    state : ndarray, shape (H,)
        s_t, the state the step read.
    delta : ndarray, shape (H,)

    Returns
    -------
    d_scaled_hh : ndarray, shape (H, H)
    d_state : ndarray, shape (H,)
    """
    return np.outer(delta, state), scaled_hh.T @ delta


def row_normalise(hh):
    """S[i] = hh[i] / (H ||hh[i]||).

    Parameters
    ----------
    hh : ndarray, shape (H, H)
        Every row nonzero.

    Returns
    -------
    ndarray, shape (H, H)
    """
    hidden = hh.shape[1]
    norms = np.linalg.norm(hh, axis=1, keepdims=True)
    return hh / (hidden * norms)


def row_normalise_backward(hh, d_scaled_hh):
    """dW_hh[i] = (dS[i] - (dS[i] . w_i) w_i) / (H n_i), w_i = hh[i] / n_i.

    Parameters
    ----------
    hh : ndarray, shape (H, H)
        Every row nonzero.
    d_scaled_hh : ndarray, shape (H, H)
        The gradient with respect to S.

    Returns
    -------
    ndarray, shape (H, H)
    """
    hidden = hh.shape[1]
    norms = np.linalg.norm(hh, axis=1, keepdims=True)
    direction = hh / norms
    radial = (d_scaled_hh * direction).sum(axis=1, keepdims=True)
    return (d_scaled_hh - radial * direction) / (hidden * norms)


# --- the gain (optional: the model's ``gain="learned"``) ------------------------

def gain_forward(hh, gain):
    """S[i] = gamma_i w_i, w_i = hh[i] / ||hh[i]||: the row normalisation with a learned scale.

    gamma_i = 1/H for every row is :func:`row_normalise`.  A zero gamma_i makes row i
    of S zero; a negative one flips its sign.

    Parameters
    ----------
    hh : ndarray, shape (H, H)
        Every row nonzero.
    gain : ndarray, shape (H,)
        gamma, finite; any sign.

    Returns
    -------
    ndarray, shape (H, H)
    """
    norms = np.linalg.norm(hh, axis=1, keepdims=True)
    return gain[:, None] * hh / norms


def gain_backward(hh, gain, d_scaled_hh):
    """Backward of S[i] = gamma_i w_i: d gamma_i = dS[i] . w_i, and the rest to hh.

    dW_hh[i] = (gamma_i / n_i)(dS[i] - (dS[i] . w_i) w_i).

    Parameters
    ----------
    hh : ndarray, shape (H, H)
        Every row nonzero; n_i = ||hh[i]||, w_i = hh[i] / n_i.
    gain : ndarray, shape (H,)
    d_scaled_hh : ndarray, shape (H, H)
        The gradient with respect to S.

    Returns
    -------
    d_hh : ndarray, shape (H, H)
    d_gain : ndarray, shape (H,)
    """
    norms = np.linalg.norm(hh, axis=1, keepdims=True)
    direction = hh / norms
    radial = (d_scaled_hh * direction).sum(axis=1, keepdims=True)
    d_hh = gain[:, None] * (d_scaled_hh - radial * direction) / norms
    return d_hh, radial[:, 0]


# --- the whole document ----------------------------------------------------

def forward(embedding, ih, hh, bias, tokens, initial_state=None, gain=None):
    """Run the recurrence: s_0 = ``initial_state``, s_{t+1} = f(S s_t + W_ih f(E[x_t]) + b).

    Parameters
    ----------
    embedding, ih, hh, bias : ndarray
        The parameters, shapes (V, H), (H, H), (H, H), (H,).
    tokens : sequence of int
        x_0 .. x_{T-1}.
    initial_state : ndarray, shape (H,), optional
        s_0; zero by default.
    gain : ndarray, shape (H,), optional
        A learned gain: S = :func:`gain_forward` (hh, gain) instead of
        :func:`row_normalise` (hh).

    Returns
    -------
    ndarray, shape (T, H)
        The states s_0 .. s_{T-1}.
    """
    scaled_hh = row_normalise(hh) if gain is None else gain_forward(hh, gain)
    states = np.zeros((len(tokens), embedding.shape[1]), dtype=embedding.dtype)
    if initial_state is not None:
        states[0] = initial_state
    for t in range(len(tokens) - 1):
        middle = (hh_forward(scaled_hh, states[t])
                  + ih_forward(ih, embedding_activation_forward(embedding, tokens[t]))
                  + bias)
        states[t + 1] = activation(middle)
    return states


def loss(embedding, ih, hh, bias, tokens, title_length, initial_state=None, gain=None):
    """L = sum over t >= title_length of -log softmax(E s_t)[x_t].

    Parameters
    ----------
    embedding, ih, hh, bias : ndarray
        The parameters, shapes (V, H), (H, H), (H, H), (H,).
    tokens : sequence of int
        x_0 .. x_{T-1}.
    title_length : int
        m: positions t < m are not scored.
    initial_state : ndarray, shape (H,), optional
        s_0; zero by default.
    gain : ndarray, shape (H,), optional
        A learned gain, as in :func:`forward`.

    Returns
    -------
    float
    """
    states = forward(embedding, ih, hh, bias, tokens, initial_state, gain)
    return float(sum(logits_backward(embedding, states[t], tokens[t])[0]
                     for t in range(title_length, len(tokens))))


def loss_and_grads(embedding, ih, hh, bias, tokens, title_length, initial_state=None,
                   gain=None):
    """Loss and gradients by per-token BPTT, one section at a time.

    Parameters
    ----------
    embedding, ih, hh, bias : ndarray
        The parameters, shapes (V, H), (H, H), (H, H), (H,).
    tokens : sequence of int
        x_0 .. x_{T-1}.
    title_length : int
        m: positions t < m are not scored.
    initial_state : ndarray, shape (H,), optional
        s_0; zero by default.  No gradient flows into it.
    gain : ndarray, shape (H,), optional
        A learned gain, as in :func:`forward`.

    Returns
    -------
    loss : float
    grads : Grads
        ``embedding``, ``ih``, ``hh``, ``bias`` (and ``gain`` when given),
        shaped like the parameters, as the model's
        (:class:`~normrnn.Grads`: ``grads.hh`` or ``grads["hh"]``).
    """
    tokens = list(tokens)
    T = len(tokens)
    scaled_hh = row_normalise(hh) if gain is None else gain_forward(hh, gain)
    # forward, keeping what the backward pass needs
    states = [np.zeros(embedding.shape[1], dtype=embedding.dtype)
              if initial_state is None else np.array(initial_state, dtype=embedding.dtype)]
    middles, embeddeds = [], []
    for t in range(T - 1):
        u = embedding_activation_forward(embedding, tokens[t])
        a = hh_forward(scaled_hh, states[t]) + ih_forward(ih, u) + bias
        embeddeds.append(u)
        middles.append(a)
        states.append(activation(a))

    d_embedding = np.zeros_like(embedding)
    d_ih = np.zeros_like(ih)
    d_scaled_hh = np.zeros_like(hh)
    d_bias = np.zeros_like(bias)
    total = 0.0
    grad = np.zeros_like(bias)        # g_t, the gradient w.r.t. s_t
    for t in range(T - 1, 0, -1):
        if t >= title_length:         # 1. logits
            step_loss, dE, d_state = logits_backward(embedding, states[t], tokens[t])
            total += step_loss
            d_embedding += dE
            grad = grad + d_state
        delta = activation_backward(grad, middles[t - 1])            # 2.
        d_bias += bias_backward(delta)                               # 3.
        d_ih_step, du = ih_backward(ih, embeddeds[t - 1], delta)     # 4.
        d_ih += d_ih_step
        d_embedding += embedding_activation_backward(                # 5.
            embedding, tokens[t - 1], du)
        dS, grad = hh_backward(scaled_hh, states[t - 1], delta)      # 6.
        d_scaled_hh += dS
    if title_length == 0:             # position 0: loss, but nothing before it
        step_loss, dE, _ = logits_backward(embedding, states[0], tokens[0])
        total += step_loss
        d_embedding += dE
    if gain is None:                  # once, after the loop
        d_hh, d_gain = row_normalise_backward(hh, d_scaled_hh), None
    else:
        d_hh, d_gain = gain_backward(hh, gain, d_scaled_hh)
    return float(total), Grads(d_embedding, d_ih, d_hh, d_bias, d_gain)
