"""How fast the gradient fades through time: the bounds, and what they bound.

One step back in time multiplies the state gradient g_{t+1} by the transposed
Jacobian J_t^T = S^T diag(f'(a_t)), so

    ||J_t^T v|| <= max|f'| * ||S||_2 * ||v||.

``max|f'| = 1`` (:data:`ACTIVATION_GRAD_MAX`).  With the fixed gain every row
of S has length 1/H, so ||S||_2 <= ||S||_F = 1/sqrt(H); with a learned gain
gamma, row i has length |gamma_i| and ||S||_2 <= ||gamma||_2, which may exceed
1.  Summing the terms of the unrolled gradient that lie ``steps`` or more
positions ahead gives the truncation bound (:func:`truncation_bound`), and
:func:`dropped_gradient_norms` measures what truncation actually drops.
"""

import numpy as np

from . import _validate, reference

__all__ = [
    "ACTIVATION_GRAD_MAX",
    "scaled_hh_norm_bound",
    "step_contraction_bound",
    "truncation_bound",
    "dropped_gradient_norms",
]

#: max over x of |f'(x)|, f'(x) = (2x + 1) / (x^2 + x + 1)^2.  Its derivative
#: f''(x) = -6x(x + 1) / (x^2 + x + 1)^3 vanishes at x = 0 and x = -1, where
#: f' = 1 and -1; f' tends to 0 at both ends, so |f'| <= 1, reached there.
ACTIVATION_GRAD_MAX = 1.0


def scaled_hh_norm_bound(hidden_size, gain=None):
    """The bound on ||S||_2 that holds for every ``hh``: ||S||_F.

    Parameters
    ----------
    hidden_size : int
        H.
    gain : ndarray, shape (H,), optional
        A learned gain gamma; None for the fixed gain 1/H.

    Returns
    -------
    float
        1/sqrt(H) for the fixed gain, ||gamma||_2 for a learned one.  Equal to
        ||S||_2 only when S has rank one (all rows parallel).
    """
    hidden_size = _validate.positive_int(hidden_size, "hidden_size")
    if gain is None:
        return 1.0 / np.sqrt(hidden_size)
    gain = np.asarray(gain, dtype=np.float64)
    if gain.shape != (hidden_size,):
        raise ValueError(f"gain must have shape ({hidden_size},), got {gain.shape}")
    return float(np.linalg.norm(gain))


def step_contraction_bound(hidden_size, gain=None):
    """rho = max|f'| * bound on ||S||_2: one step back shrinks g by at least this.

    Parameters
    ----------
    hidden_size : int
        H.
    gain : ndarray, shape (H,), optional
        A learned gain gamma; None for the fixed gain.

    Returns
    -------
    float
        ``ACTIVATION_GRAD_MAX * scaled_hh_norm_bound(hidden_size, gain)``.
    """
    return ACTIVATION_GRAD_MAX * scaled_hh_norm_bound(hidden_size, gain)


def truncation_bound(hidden_size, steps, largest_direct, gain=None):
    """The most truncated BPTT can drop from any state gradient g_t.

    The part of g_t from positions tau >= t + ``steps`` is a sum of terms
    J_t^T ... J_{tau-1}^T E^T dz_tau, each at most rho^(tau - t) times
    ``largest_direct`` (rho from :func:`step_contraction_bound`), so in all at
    most rho^steps / (1 - rho) * ``largest_direct``; for the fixed gain,
    H^(-steps/2) / (1 - H^(-1/2)) * max_tau ||E^T dz_tau||.

    Parameters
    ----------
    hidden_size : int
        H.
    steps : int
        d >= 0: the positions t .. t + d - 1 are kept.
    largest_direct : float
        max over tau of ||E^T dz_tau||.
    gain : ndarray, shape (H,), optional
        A learned gain; None for the fixed gain.

    Returns
    -------
    float
        The bound; ``inf`` when rho >= 1 (a learned gain can make it so), where
        the sum need not converge and nothing is bounded.
    """
    steps = _validate.non_negative_int(steps, "steps")
    rho = step_contraction_bound(hidden_size, gain)
    if rho >= 1:
        return float("inf")
    return float(rho**steps / (1.0 - rho) * largest_direct)


def dropped_gradient_norms(embedding, ih, hh, bias, tokens, title_length, steps, gain=None):
    """Measure what a window of ``steps`` positions drops from each g_t.

    The exact g_t = sum over tau >= t of J_t^T ... J_{tau-1}^T E^T dz_tau is
    split at tau = t + ``steps``; the part beyond is
    J_t^T ... J_{t+steps-1}^T g_{t+steps}, the full gradient ``steps``
    positions ahead carried back.

    Parameters
    ----------
    embedding, ih, hh, bias, tokens, title_length, gain
        As :func:`normrnn.reference.loss_and_grads`.
    steps : int
        d >= 1.

    Returns
    -------
    dropped : ndarray, shape (T - steps,)
        ||part of g_t from positions >= t + steps|| for t = 0 .. T - 1 - steps.
    direct : ndarray, shape (T,)
        ||E^T dz_tau|| for every position (0 before ``title_length``).
    """
    steps = _validate.positive_int(steps, "steps")
    tokens = list(tokens)
    T = len(tokens)
    scaled_hh = (reference.row_normalise(hh) if gain is None
                 else reference.gain_forward(hh, gain))
    states = reference.forward(embedding, ih, hh, bias, tokens, gain=gain)
    slopes = [reference.activation_grad(reference.hh_forward(scaled_hh, states[t])
                                        + reference.ih_forward(
                                            ih, reference.embedding_activation_forward(
                                                embedding, tokens[t]))
                                        + bias)
              for t in range(T - 1)]

    def back(v, t):                 # J_t^T v
        return scaled_hh.T @ (slopes[t] * v)

    direct = np.zeros(T)
    grads = np.zeros((T, hh.shape[1]))
    for t in range(T - 1, -1, -1):  # g_t = [t >= m] E^T dz_t + J_t^T g_{t+1}
        if t >= title_length:
            grads[t] = reference.logits_backward(embedding, states[t], tokens[t])[2]
            direct[t] = np.linalg.norm(grads[t])
        if t < T - 1:
            grads[t] += back(grads[t + 1], t)
    dropped = np.zeros(max(T - steps, 0))
    for t in range(T - steps):
        v = grads[t + steps]
        for k in range(t + steps - 1, t - 1, -1):
            v = back(v, k)
        dropped[t] = np.linalg.norm(v)
    return dropped, direct
