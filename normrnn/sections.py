"""The sections of the backward pass, as Cython kernels behind a checking front door.

Each function has the signature and return values of its NumPy twin in
:mod:`normrnn.reference`, so the two can be called and compared side by side.
Here the work is done by the typed-memoryview kernel of the same name in
``normrnn/_kernels/section_kernels.pyx``; this module checks every argument first
(dtype float32 or float64 and the same for all, C-contiguity, shapes, token
range, finiteness, nonzero rows of ``hh``), allocates zeroed outputs, and lets
the kernel add into them.

Shapes: V the vocabulary size, H the hidden size.
"""

import numpy as np

from . import _validate
from ._kernels import section_kernels as _k
from .section_registry import twin_names

#: The sections' functions, as in normrnn.reference (normrnn.section_registry).
__all__ = twin_names()

# One function per section, each with a docstring complete on its own, as its
# twin's in reference.py, so the docstrings of functions with the same operands
# read alike on purpose: logits_forward/_backward and hh_forward/_backward (and
# ih's), activation and activation_grad, gain_forward and gain_backward.  The
# code they share is in the helpers below.


def _vector(x, name, dtype=None, size=None):
    dtype = _validate.float_dtype(getattr(x, "dtype", None) if dtype is None else dtype,
                                  f"{name}.dtype")
    return _validate.array(x, name, dtype=dtype, shape=(size,))


def _matrix(x, name, dtype=None, shape=(None, None)):
    dtype = _validate.float_dtype(getattr(x, "dtype", None) if dtype is None else dtype,
                                  f"{name}.dtype")
    if isinstance(x, np.ndarray) and x.ndim == 2 and 0 in x.shape:
        raise ValueError(f"{name} must not be empty, got shape {x.shape}")
    return _validate.array(x, name, dtype=dtype, shape=shape)


def _token(token, vocab_size):
    return _validate.in_range(token, "token", 0, vocab_size)


# The forwards of the logits, ih and hh sections are all the product w x, and
# the backwards of ih and hh its backward, as in the kernels (_matvec_add,
# _outer_add_and_matvec_t_add): one check of w and x serves them all.

def _product_operands(w, w_name, x, x_name):
    """Check ``w``, a nonempty matrix, and ``x``, a vector of its dtype and width."""
    _matrix(w, w_name)
    _vector(x, x_name, w.dtype, w.shape[1])


def _matvec(kernel, w, w_name, x, x_name):
    """``w x``, by ``kernel(w, x, out)`` adding into zeros, after the checks."""
    _product_operands(w, w_name, x, x_name)
    out = np.zeros(w.shape[0], dtype=w.dtype)
    kernel(w, x, out)
    return out


def _outer_and_matvec_t(kernel, w, w_name, x, x_name, delta):
    """``(delta ⊗ x, w^T delta)``, the backward of ``w x``, by ``kernel``, after the checks."""
    _product_operands(w, w_name, x, x_name)
    _vector(delta, "delta", w.dtype, w.shape[0])
    d_w = np.zeros_like(w)
    d_x = np.zeros_like(x)
    kernel(w, x, delta, d_w, d_x)
    return d_w, d_x


# --- activation ------------------------------------------------------------

def activation(x):
    """f(x) = 1 - 1 / (x^2 + x + 1), elementwise.

    Parameters
    ----------
    x : ndarray, shape (n,), float32 or float64

    Returns
    -------
    ndarray, shape (n,)
        f(x), in [-1/3, 1).
    """
    _vector(x, "x")
    out = np.empty_like(x)
    _k.activation(x, out)
    return out


def activation_grad(x):
    """f'(x) = (2x + 1) / (x^2 + x + 1)^2, elementwise.

    Parameters
    ----------
    x : ndarray, shape (n,), float32 or float64

    Returns
    -------
    ndarray, shape (n,)
    """
    return activation_backward(np.ones_like(_vector(x, "x")), x)


def activation_backward(d_state, middle):
    """Gradient through the activation: delta = g ⊙ f'(a).

    s_{t+1} = f(a_t) elementwise, so each component of the gradient g with
    respect to s_{t+1} is multiplied by the slope of f at that component.

    Parameters
    ----------
    d_state : ndarray, shape (H,)
        g_{t+1}, the gradient of the loss with respect to s_{t+1}.
    middle : ndarray, shape (H,)
        a_t, the pre-activation.

    Returns
    -------
    delta : ndarray, shape (H,)
        The gradient with respect to a_t.
    """
    _vector(middle, "middle")
    _vector(d_state, "d_state", middle.dtype, middle.shape[0])
    delta = np.zeros_like(middle)
    _k.activation_backward(d_state, middle, delta)
    return delta


# --- logits ------------------------------------------------------------------

def logits_forward(embedding, state):
    """Logits z = E s, one per token of the vocabulary.

    Parameters
    ----------
    embedding : ndarray, shape (V, H)
    state : ndarray, shape (H,)

    Returns
    -------
    ndarray, shape (V,)
    """
    return _matvec(_k.logits_forward, embedding, "embedding", state, "state")


def logits_backward(embedding, state, token):
    """Softmax cross-entropy of z = E s at ``token``, and its gradients.

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
    _product_operands(embedding, "embedding", state, "state")
    token = _token(token, embedding.shape[0])
    d_logits = np.empty(embedding.shape[0], dtype=embedding.dtype)
    d_embedding = np.zeros_like(embedding)
    d_state = np.zeros_like(state)
    loss = _k.logits_backward(embedding, state, token, d_logits, d_embedding, d_state)
    return loss, d_embedding, d_state


# --- bias --------------------------------------------------------------------

def bias_backward(delta):
    """The bias gradient of one step: d_bias = delta, since a_t = ... + b.

    Parameters
    ----------
    delta : ndarray, shape (H,)

    Returns
    -------
    ndarray, shape (H,)
    """
    _vector(delta, "delta")
    d_bias = np.zeros_like(delta)
    _k.bias_backward(delta, d_bias)
    return d_bias


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
    return _matvec(_k.ih_forward, ih, "ih", embedded, "embedded")


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
    return _outer_and_matvec_t(_k.ih_backward, ih, "ih", embedded, "embedded", delta)


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
    _matrix(embedding, "embedding")
    token = _token(token, embedding.shape[0])
    out = np.empty(embedding.shape[1], dtype=embedding.dtype)
    _k.embedding_activation_forward(embedding, token, out)
    return out


def embedding_activation_backward(embedding, token, d_embedded):
    """Backward of u = f(E[x]): dE[x] = du ⊙ f'(E[x]), every other row zero.

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
    _matrix(embedding, "embedding")
    token = _token(token, embedding.shape[0])
    _vector(d_embedded, "d_embedded", embedding.dtype, embedding.shape[1])
    d_embedding = np.zeros_like(embedding)
    _k.embedding_activation_backward(embedding, token, d_embedded, d_embedding)
    return d_embedding


# --- hidden to hidden --------------------------------------------------------

def hh_forward(scaled_hh, state):
    """The recurrent part of the pre-activation, S s.

    Parameters
    ----------
    scaled_hh : ndarray, shape (H, H)
        S, the row-normalised ``hh``.
    state : ndarray, shape (H,)

    Returns
    -------
    ndarray, shape (H,)
    """
    return _matvec(_k.hh_forward, scaled_hh, "scaled_hh", state, "state")


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
    return _outer_and_matvec_t(_k.hh_backward, scaled_hh, "scaled_hh", state, "state", delta)


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
    _validate.nonzero_rows(_matrix(hh, "hh"))
    scaled_hh = np.empty_like(hh)
    _k.row_normalise(hh, scaled_hh)
    return scaled_hh


def row_normalise_backward(hh, d_scaled_hh):
    """Backward of the row normalisation.

    dW_hh[i] = (dS[i] - (dS[i] . w_i) w_i) / (H n_i), with n_i = ||hh[i]||
    and w_i = hh[i] / n_i.

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
    _validate.nonzero_rows(_matrix(hh, "hh"))
    _matrix(d_scaled_hh, "d_scaled_hh", hh.dtype, hh.shape)
    d_hh = np.zeros_like(hh)
    _k.row_normalise_backward(hh, d_scaled_hh, d_hh)
    return d_hh


def gain_forward(hh, gain):
    """S[i] = gamma_i hh[i] / ||hh[i]||: the row normalisation with a learned scale per row.

    gamma_i = 1/H for every row gives :func:`row_normalise`.  Any finite gain is
    accepted: zero makes row i of S zero (the recurrence ignores the state in
    unit i), a negative value flips the row's sign.

    Parameters
    ----------
    hh : ndarray, shape (H, H)
        Every row nonzero.
    gain : ndarray, shape (H,)
        gamma, finite, same dtype as ``hh``.

    Returns
    -------
    ndarray, shape (H, H)
    """
    _validate.nonzero_rows(_matrix(hh, "hh"))
    _vector(gain, "gain", hh.dtype, hh.shape[0])
    scaled_hh = np.empty_like(hh)
    _k.gain_forward(hh, gain, scaled_hh)
    return scaled_hh


def gain_backward(hh, gain, d_scaled_hh):
    """Backward of the gain section.

    d gamma_i = dS[i] . w_i and dW_hh[i] = (gamma_i / n_i)(dS[i] - (dS[i] . w_i) w_i),
    with n_i = ||hh[i]|| and w_i = hh[i] / n_i.  Defined for every finite gamma_i,
    zero included (then hh[i] gets no gradient, gamma_i still does).

    Parameters
    ----------
    hh : ndarray, shape (H, H)
        Every row nonzero.
    gain : ndarray, shape (H,)
        gamma, finite, same dtype as ``hh``.
    d_scaled_hh : ndarray, shape (H, H)
        The gradient with respect to S.

    Returns
    -------
    d_hh : ndarray, shape (H, H)
    d_gain : ndarray, shape (H,)
    """
    _validate.nonzero_rows(_matrix(hh, "hh"))
    _vector(gain, "gain", hh.dtype, hh.shape[0])
    _matrix(d_scaled_hh, "d_scaled_hh", hh.dtype, hh.shape)
    d_hh = np.zeros_like(hh)
    d_gain = np.zeros_like(gain)
    _k.gain_backward(hh, gain, d_scaled_hh, d_hh, d_gain)
    return d_hh, d_gain
