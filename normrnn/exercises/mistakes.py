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
  title positions scored, the gradient not carried back through time, the
  logits one step off, only the target row of dE, ...), and those of the
  embedding's rows, which show only when a token repeats: ``dE[x] = ...``
  where ``+=`` is due, and the vectorised ``dE[idx] += rows``, which numpy
  applies once per index where ``np.add.at`` sums every row.
"""

from dataclasses import dataclass, field

import numpy as np

from .. import notes, reference
from ..section_registry import SECTIONS

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


# --- the sections: each record names its function (mistakes) -------------------

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
        Candidate("only the target row of dE: dz (x) s fills every row (each logit "
                  "z_v = E[v] . s reads its own row), not row x alone",
                  {"d_embedding": _target_row(np.outer(p - onehot, state), token)}),
        Candidate("only the target entry of dz: (p[x] - 1) onehot(x) where "
                  "softmax(E s) - onehot(x) is due (only the target row of dE, and d_state "
                  "= (p[x] - 1) E[x])",
                  {"d_embedding": _target_row(np.outer(p - onehot, state), token),
                   "d_state": (p[token] - 1.0) * embedding[token]}),
    ]


def _target_row(d_embedding, token):
    """``d_embedding`` with every row but ``token`` zero."""
    out = np.zeros_like(d_embedding)
    out[token] = d_embedding[token]
    return out


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

def _logits_terms(embedding, state, token, mistake, previous):
    """The loss, dE and d s_t of one scored position, with ``mistake`` where it applies.

    ``"target_row_only"`` fills row ``token`` of dE alone;
    ``"logits_previous_state_in_de..."`` gathers dz (x) ``previous``
    (s_{t-1}) into dE; otherwise dE is dz (x) s_t, every row.
    """
    z = embedding @ state
    shifted = z - z.max()
    log_sum = np.log(np.exp(shifted).sum())
    dz = np.exp(shifted - log_sum)
    dz[token] -= 1.0
    in_de = mistake.startswith("logits_previous_state_in_de")
    d_embedding = np.outer(dz, previous if in_de else state)
    if mistake == "target_row_only":
        d_embedding = _target_row(d_embedding, token)
    return log_sum - shifted[token], d_embedding, embedding.T @ dz


#: Mistakes of the logits' position: which state the logits at position t
#: read (t - 1, or t + 1; ``None`` for the zero state before s_0).
_LOGITS_READS = {
    "logits_previous_state": lambda t, T: t - 1 if t > 0 else None,
    "logits_previous_state_wrap": lambda t, T: (t - 1) % T,
    "logits_next_state": lambda t, T: t + 1,
}


def _forward_states(embedding, ih, scaled_hh, bias, tokens, steps):
    """States s_0 .. s_steps and pre-activations a_0 .. a_{steps-1} (``steps`` may reach T)."""
    states, middles = [np.zeros(embedding.shape[1])], []
    for t in range(steps):
        middles.append(scaled_hh @ states[t]
                       + ih @ reference.activation(embedding[tokens[t]]) + bias)
        states.append(reference.activation(middles[t]))
    return states, middles


def _embedding_rows(d_embedding, rows, mistake):
    """Add the input-embedding rows (token, row), made by the backward loop
    (t = T-1 first), into ``d_embedding`` as ``dE[idx] += rows`` does: one row
    per repeated token, the last in the order gathered (forwards in time for
    ``"dropped_repeats_forward"``, else backwards).  ``dE[x] = row`` into an
    array of its own, summed with the logits' dE after the loop, gives the
    same as the backward order."""
    if not rows:                                        # T = 1
        return d_embedding
    tokens = np.array([token for token, _ in rows])
    values = np.array([row for _, row in rows])
    if mistake == "dropped_repeats_forward":           # gathered for t = 0 .. T-2
        tokens, values = tokens[::-1], values[::-1]
    d_embedding[tokens] += values                       # numpy: one update per index
    return d_embedding


def _mistaken_bptt(embedding, ih, hh, bias, tokens, title_length, mistake):
    """:func:`normrnn.reference.loss_and_grads` with one named mistake.

    ``mistake`` is a key of ``_MODEL_MISTAKES`` or ``_MODEL_VARIANTS``:
    ``"next_state"`` (dS gathers delta_{t-1} (x) s_t, the state the step
    wrote, where s_{t-1}, the one it read, is due), ``"title_scored"``
    (every position scored),
    ``"truncated"`` (g_{t-1} is E^T dz_{t-1} alone: the gradient is not
    carried back through S), ``"overwrite"`` (dW_ih, dS and db keep the last
    step's term instead of the sum over steps), ``"no_projection"``,
    ``"no_row_normalise"``; the input-embedding rows of dE overwritten
    (``"embedding_overwrite"``: ``dE[x] = ...`` in the one dE the logits add
    to) or one row kept per repeated token, as a vectorised
    ``dE[idx] += rows`` does (``"dropped_repeats"``, rows gathered backwards
    in time, which ``dE[x] = ...`` into an array of its own also gives;
    ``"dropped_repeats_forward"``, forwards); ``"target_row_only"`` (the
    logits fill row x_t of dE alone); the logits one step off
    (``"logits_previous_state"``, s_{t-1} with the zero state at t = 0;
    ``"logits_previous_state_wrap"``, s_{t-1} with Python's ``states[-1]``
    at t = 0; ``"logits_next_state"``, s_{t+1}), the loss and gradients of
    that model; and ``"logits_previous_state_in_de"`` (right loss, but dE
    gathers dz_t (x) s_{t-1}, ``states[-1]`` at t = 0;
    ``"logits_previous_state_in_de_zero"``, the zero state there).
    """
    tokens = list(tokens)
    T = len(tokens)
    m = 0 if mistake == "title_scored" else title_length
    S = reference.row_normalise(hh)
    reads = _LOGITS_READS.get(mistake, lambda t, T: t)
    states, middles = _forward_states(embedding, ih, S, bias, tokens,
                                      T if mistake == "logits_next_state" else T - 1)
    d = {"embedding": np.zeros_like(embedding), "ih": np.zeros_like(ih),
         "S": np.zeros_like(hh), "bias": np.zeros_like(bias)}
    loss, grad, rows = 0.0, np.zeros_like(bias), []
    by_state = {}                     # state index -> the scored positions that read it
    for t in range(m, T):
        by_state.setdefault(reads(t, T), []).append(t)
    for t in by_state.pop(None, []):  # the logits read the zero state: a loss, no gradient
        loss += reference.logits_backward(embedding, np.zeros_like(bias), tokens[t])[0]

    def add(name, value):
        d[name] = value if mistake == "overwrite" else d[name] + value

    for j in range(len(states) - 1, -1, -1):
        for t in by_state.get(j, []):
            previous = (states[j - 1] if j > 0 or mistake == "logits_previous_state_in_de"
                        else np.zeros_like(bias))   # states[-1], as Python reads it, or zero
            step_loss, dE, d_state = _logits_terms(embedding, states[j], tokens[t], mistake,
                                                   previous)
            loss += step_loss
            d["embedding"] += dE
            grad = grad + d_state
        if j == 0:
            break
        delta = reference.activation_backward(grad, middles[j - 1])
        add("bias", delta)
        x = tokens[j - 1]
        add("ih", np.outer(delta, reference.activation(embedding[x])))
        row = (ih.T @ delta) * reference.activation_grad(embedding[x])
        if mistake == "embedding_overwrite":
            d["embedding"][x] = row
        elif mistake in ("dropped_repeats", "dropped_repeats_forward"):
            rows.append((x, row))
        else:
            d["embedding"][x] += row
        add("S", np.outer(delta, states[j] if mistake == "next_state" else states[j - 1]))
        grad = np.zeros_like(bias) if mistake == "truncated" else S.T @ delta
    d["embedding"] = _embedding_rows(d["embedding"], rows, mistake)
    H = hh.shape[1]
    if mistake == "no_projection":
        d_hh = d["S"] / (H * np.linalg.norm(hh, axis=1, keepdims=True))
    elif mistake == "no_row_normalise":
        d_hh = d["S"]
    else:
        d_hh = reference.row_normalise_backward(hh, d["S"])
    return {"loss": np.asarray(loss), "embedding": d["embedding"], "ih": d["ih"], "hh": d_hh,
            "bias": d["bias"]}


_REPEATED = "a repeated token loses the updates of its other steps"
_OFF_BY_ONE = "the logits off by one step: "

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
    "embedding_overwrite": "dE[x] = ... where dE[x] += ... is due: the input term overwrites "
                           f"row x of dE (and the logits' terms already in it), so {_REPEATED}",
    "dropped_repeats": "a repeated token keeps one step's input row of dE and loses the others: "
                       "the vectorised dE[idx] += rows drops repeated indices (numpy applies "
                       "one row per index; np.add.at(dE, idx, rows) sums them all), and so "
                       "does dE[x] = ... into an array of its own where += is due",
    "target_row_only": "only the target row of dE: the logits add dz_t (x) s_t to every row "
                       "of dE (each logit z_v = E[v] . s_t reads its own row), not to row x_t "
                       "alone",
    "logits_previous_state": _OFF_BY_ONE + "the logits at position t read s_{t-1} where s_t "
                             "is due (z_t = E s_t predicts x_t)",
    "logits_next_state": _OFF_BY_ONE + "the logits at position t read s_{t+1}, the state "
                         "that has already seen x_t, where s_t is due",
    "logits_previous_state_in_de": _OFF_BY_ONE + "dE gathers dz_t (x) s_{t-1} where "
                                   "dz_t (x) s_t is due",
}

#: Variants measured under the label of another mistake of :data:`_MODEL_MISTAKES`.
_MODEL_VARIANTS = {
    "dropped_repeats_forward": "dropped_repeats",
    "logits_previous_state_wrap": "logits_previous_state",
    "logits_previous_state_in_de_zero": "logits_previous_state_in_de",
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
    found += [Candidate(_MODEL_MISTAKES[like], _mistaken_bptt(*params, tokens, m, mistake))
              for mistake, like in _MODEL_VARIANTS.items()]
    for number, label in _PSEUDOCODE_LABELS.items():
        loss, grads = notes.pseudocode_loss_and_grads(*params, tokens, m, errata=(number,))
        found.append(Candidate(label, {"loss": np.asarray(loss), **grads}))
    return found


#: Exercise -> the function of its particular mistakes: each section's record
#: names its own, and the exercises that are not one section are listed here.
_PARTICULAR = {**{s.name: globals()[s.mistakes] for s in SECTIONS if s.mistakes},
               "loss_and_grads": _loss_and_grads}


def candidates(case):
    """Every known wrong answer of ``case``'s exercise, particular ones first.

    Parameters
    ----------
    case : normrnn.exercises.cases.Case

    Returns
    -------
    list of Candidate
    """
    particular = _PARTICULAR.get(case.name, getattr(case, "mistakes", None) or (
        lambda case: []))(case)
    return particular + _generic(case)
