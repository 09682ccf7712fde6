"""Known wrong answers, computed on the graded inputs, for a measured diagnosis.

The grader never guesses.  For each exercise this module computes, from the
reference and on the very inputs the learner's function was called with, the
answer each known mistake would give.  The grader names a mistake only when
the learner's output matches that answer to within the tolerance.

The mistakes are of two kinds:

* generic, tried on every output: the sign flipped, a scale factor (2, 1/2,
  H, 1/H, ...), a transposed matrix;
* particular to one exercise: the notes' errata that apply to it, and the
  classic slips of each derivation (a factor left out, the wrong state, the
  title positions scored, the gradient not carried back through time, ...).
"""

from dataclasses import dataclass, field

import numpy as np

from .. import notes, reference

__all__ = ["Candidate", "candidates"]


@dataclass
class Candidate:
    """One known wrong answer.

    Attributes
    ----------
    label : str
        A short sentence naming the mistake.
    outputs : dict
        Output name -> the float64 value the mistake gives; outputs not
        listed are the reference's (the mistake leaves them right).
    """

    label: str
    outputs: dict = field(default_factory=dict)


def _scales(sizes):
    """Scale factors worth trying, by label, without two of the same value."""
    H = sizes["H"]
    scales = {"2": 2.0, "1/2": 0.5, f"H = {H}": H, f"1/H = 1/{H}": 1 / H,
              f"H^2 = {H * H}": H * H, f"1/H^2 = 1/{H * H}": 1 / (H * H),
              f"sqrt(H) = {np.sqrt(H):.3g}": np.sqrt(H), f"1/sqrt(H) = 1/{np.sqrt(H):.3g}":
              1 / np.sqrt(H)}
    if "V" in sizes:
        V = sizes["V"]
        scales.update({f"V = {V}": V, f"1/V = 1/{V}": 1 / V})
    if "N" in sizes:
        N = sizes["N"]
        scales[f"1/{N}, one over the number of scored positions (a mean where the loss is "
               "a sum)"] = 1 / N
    seen, unique = set(), {}
    for label, value in scales.items():
        if round(value, 12) not in seen:
            seen.add(round(value, 12))
            unique[label] = value
    return unique


def _generic(case):
    """Sign, scale and transpose of each output alone."""
    found = []
    for name, want in case.reference.items():
        found.append(Candidate("sign flipped", {name: -want}))
        for label, value in _scales(case.sizes).items():
            found.append(Candidate(f"scaled by {label}", {name: value * want}))
        if want.ndim == 2 and want.shape[0] == want.shape[1]:
            found.append(Candidate("transposed", {name: want.T}))
    return found


# --- the sections ---------------------------------------------------------------

def _logits(case):
    embedding, state, token = case.args64
    z = embedding @ state
    p = np.exp(z - z.max())
    p /= p.sum()
    onehot = np.eye(len(z))[token]
    return [
        Candidate("the one-hot is not subtracted: dz = softmax(E s) where "
                  "softmax(E s) - onehot(x) is due",
                  {"d_embedding": np.outer(p, state), "d_state": embedding.T @ p}),
        Candidate("the softmax is left out: dz = E s - onehot(x)",
                  {"d_embedding": np.outer(z - onehot, state),
                   "d_state": embedding.T @ (z - onehot)}),
        Candidate("the loss is log p[x] where -log p[x] is due",
                  {"loss": -case.reference["loss"]}),
    ]


def _activation(case):
    d_state, middle = case.args64
    q = middle * middle + middle + 1.0
    return [
        Candidate("f(a) where f'(a) is due", {"delta": d_state * reference.activation(middle)}),
        Candidate("f'(a) without the square in its denominator: (2a + 1) / (a^2 + a + 1)",
                  {"delta": d_state * (2 * middle + 1) / q}),
        Candidate("the incoming gradient g is left out: delta = f'(a)",
                  {"delta": reference.activation_grad(middle)}),
        Candidate("g / f'(a) where g * f'(a) is due",
                  {"delta": d_state / reference.activation_grad(middle)}),
    ]


def _ih(case):
    ih, embedded, delta = case.args64
    return [
        Candidate("erratum 1 of the notes: d_embedded = delta * rowsum(W_ih) where "
                  "W_ih^T delta is due", {"d_embedded": notes.ih_backward(ih, embedded, delta)[1]}),
        Candidate("W_ih delta where W_ih^T delta is due (transposed)",
                  {"d_embedded": ih @ delta}),
        Candidate("the backward of u @ W_ih (erratum 8's forward): both gradients transposed",
                  {"d_ih": np.outer(embedded, delta), "d_embedded": ih @ delta}),
    ]


def _embedding_activation(case):
    embedding, token, d_embedded = case.args64

    def row(values):
        out = np.zeros_like(embedding)
        out[token] = values
        return out
    return [
        Candidate("f'(E[x]) is left out: dE[x] = du",
                  {"d_embedding": row(d_embedded)}),
        Candidate("f(E[x]) where f'(E[x]) is due",
                  {"d_embedding": row(d_embedded * reference.activation(embedding[token]))}),
        Candidate("every row of dE is filled (du * f'(E)), where only row x is read",
                  {"d_embedding": d_embedded * reference.activation_grad(embedding)}),
    ]


def _hh(case):
    scaled_hh, state, delta = case.args64
    return [
        Candidate("erratum 2 of the notes: d_state = delta * rowsum(S) where S^T delta is due",
                  {"d_state": notes.hh_backward(scaled_hh, state, delta)[1]}),
        Candidate("S delta where S^T delta is due (transposed)", {"d_state": scaled_hh @ delta}),
        Candidate("the backward of s @ S (erratum 5's forward): both gradients transposed",
                  {"d_scaled_hh": np.outer(state, delta), "d_state": scaled_hh @ delta}),
    ]


def _row_normalise(case):
    hh, d_scaled_hh = case.args64
    H = hh.shape[1]
    norms = np.linalg.norm(hh, axis=1, keepdims=True)
    direction = hh / norms
    projected = d_scaled_hh - (d_scaled_hh * direction).sum(axis=1, keepdims=True) * direction
    return [
        Candidate("erratum 3 of the notes: dS * (-1/(n H)^2) * (H / (2n))",
                  {"d_hh": notes.row_normalise_backward(hh, d_scaled_hh)}),
        Candidate("the projection is missing: dS[i] / (H n_i), where dS[i] minus its "
                  "component along hh[i] is due", {"d_hh": d_scaled_hh / (H * norms)}),
        Candidate("not divided by the row's norm n_i", {"d_hh": projected / H}),
        Candidate("the row-normalisation backward is left out: dS itself",
                  {"d_hh": d_scaled_hh.copy()}),
    ]


def _gain(case):
    hh, gain, d_scaled_hh = case.args64
    H = hh.shape[1]
    norms = np.linalg.norm(hh, axis=1, keepdims=True)
    direction = hh / norms
    radial = (d_scaled_hh * direction).sum(axis=1, keepdims=True)
    return [
        Candidate("the notes' 1/H where gamma_i is due: d_hh is the row normalisation's backward",
                  {"d_hh": (d_scaled_hh - radial * direction) / (H * norms)}),
        Candidate("d_gain not divided by the row's norm: dS[i] . hh[i] where dS[i] . w_i "
                  "is due", {"d_gain": (d_scaled_hh * hh).sum(axis=1)}),
        Candidate("the projection is missing from d_hh: gamma_i dS[i] / n_i",
                  {"d_hh": gain[:, None] * d_scaled_hh / norms}),
    ]


# --- the whole document ---------------------------------------------------------

def _mistaken_bptt(embedding, ih, hh, bias, tokens, title_length, mistake):
    """:func:`normrnn.reference.loss_and_grads` with one named mistake.

    ``mistake`` is one of ``"next_state"`` (dS gathers delta_{t-1} (x) s_t,
    the state the step wrote, where s_{t-1}, the one it read, is due),
    ``"title_scored"`` (every position scored), ``"truncated"`` (g_{t-1} is
    E^T dz_{t-1} alone: the gradient is not carried back through S),
    ``"overwrite"`` (dW_ih, dS and db keep the last step's term instead of
    the sum over steps), ``"no_projection"`` and ``"no_row_normalise"``.
    """
    T = len(tokens)
    m = 0 if mistake == "title_scored" else title_length
    S = reference.row_normalise(hh)
    states = reference.forward(embedding, ih, hh, bias, tokens)
    middles = [S @ states[t] + ih @ reference.activation(embedding[tokens[t]]) + bias
               for t in range(T - 1)]
    d = {"embedding": np.zeros_like(embedding), "ih": np.zeros_like(ih),
         "S": np.zeros_like(hh), "bias": np.zeros_like(bias)}
    loss, grad = 0.0, np.zeros_like(bias)

    def add(name, value):
        d[name] = value if mistake == "overwrite" else d[name] + value

    for t in range(T - 1, -1, -1):
        if t >= m:
            step_loss, dE, d_state = reference.logits_backward(embedding, states[t], tokens[t])
            loss += step_loss
            d["embedding"] += dE
            grad = grad + d_state
        if t == 0:
            break
        delta = reference.activation_backward(grad, middles[t - 1])
        add("bias", delta)
        u = reference.activation(embedding[tokens[t - 1]])
        add("ih", np.outer(delta, u))
        d["embedding"] += reference.embedding_activation_backward(
            embedding, tokens[t - 1], ih.T @ delta)
        add("S", np.outer(delta, states[t] if mistake == "next_state" else states[t - 1]))
        grad = np.zeros_like(bias) if mistake == "truncated" else S.T @ delta
    H = hh.shape[1]
    if mistake == "no_projection":
        d_hh = d["S"] / (H * np.linalg.norm(hh, axis=1, keepdims=True))
    elif mistake == "no_row_normalise":
        d_hh = d["S"]
    else:
        d_hh = reference.row_normalise_backward(hh, d["S"])
    return {"loss": np.asarray(loss), "embedding": d["embedding"], "ih": d["ih"], "hh": d_hh,
            "bias": d["bias"]}


_MODEL_MISTAKES = {
    "next_state": "the state from the wrong step: dS gathers delta_t (x) s_{t+1}, the state "
                  "the step wrote, where s_t, the state it read, is due",
    "title_scored": "the title positions are scored: the loss and its gradients must start "
                    "at position title_length",
    "truncated": "the gradient is not carried back through time (truncated to one step): "
                 "g_t must add S^T delta_t from the step after it",
    "overwrite": "overwrites instead of accumulating across time steps: dW_ih, dS and db "
                 "must sum every step's term",
    "no_projection": "the projection is missing from the row-normalisation backward",
    "no_row_normalise": "the row-normalisation backward is left out: d hh is dS itself",
}

_PSEUDOCODE_LABELS = {
    3: "erratum 3 of the notes: the row-normalisation gradient dS * (-1/(n H)^2) * (H / (2n))",
    6: "erratum 6 of the notes: the last state is used at every step, where s_t (logits) "
       "and s_{t-1} (hh) are due",
    9: "erratum 9 of the notes: the backward loop takes a step before position 0, reading "
       "index -1",
    10: "erratum 10 of the notes: grad = tempGrad aliases the arrays, so zeroing tempGrad "
        "wipes the carried gradient",
    11: "erratum 11 of the notes: every stored state is the same array, the last state",
    12: "erratum 12 of the notes: the forward overwrites s[i] while later rows still read it",
}


def _loss_and_grads(case):
    params, (tokens, m) = case.args64[:4], case.args64[4:]
    found = [Candidate(label, _mistaken_bptt(*params, tokens, m, mistake))
             for mistake, label in _MODEL_MISTAKES.items()]
    for number, label in _PSEUDOCODE_LABELS.items():
        loss, grads = notes.pseudocode_loss_and_grads(*params, tokens, m, errata=(number,))
        found.append(Candidate(label, {"loss": np.asarray(loss), **grads}))
    return found


_PARTICULAR = {
    "logits": _logits,
    "activation": _activation,
    "ih": _ih,
    "embedding_activation": _embedding_activation,
    "hh": _hh,
    "row_normalise": _row_normalise,
    "gain": _gain,
    "loss_and_grads": _loss_and_grads,
}


def candidates(case):
    """Every known wrong answer of ``case``'s exercise, particular ones first.

    Parameters
    ----------
    case : normrnn.exercises.cases.Case

    Returns
    -------
    list of Candidate
    """
    particular = _PARTICULAR.get(case.name, lambda case: [])(case)
    return particular + _generic(case)
