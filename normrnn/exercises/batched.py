"""The batched exercise: BPTT over a padded batch of documents, with a mask.

The learner writes ``batched_loss_and_grads(embedding, ih, hh, bias, tokens,
mask)``: ``tokens`` is an integer array (B, T), B documents of different
lengths padded to the longest; ``mask`` (B, T, bool) is True where a position
is scored, in place of the title length (False on a title and on padding).
The states are (B, T, H); the loss is the mean over the scored positions,

    L = (1 / N) sum over b, t with mask[b, t] of -log softmax(E s_{b,t})[x_{b,t}],
    N = mask.sum(),

and the gradients are those of L.  The cases vary the structure: batches of
one to four documents, a zero-length document, a document with no title
(m = 0) and one whose title is all but one position, T = 1, repeated tokens in
one document and at the same position of two documents (where the vectorised
``dE[tokens] += rows`` drops rows and ``np.add.at`` does not), in float32 and
float64.  The right answers are central finite differences of the batched
forward pass (:func:`batched_loss`) and the sum over documents of
:func:`normrnn.reference.loss_and_grads`, each on its own document and
title, divided by N.
"""

import numpy as np

from .. import gradcheck, reference
from ..reference import activation, activation_grad, row_normalise, row_normalise_backward
from .beyond import BOTH, Exercise, ExtraCase

__all__ = ["NAME", "REGISTRY", "batched_loss", "batched_loss_and_grads", "make_cases"]

NAME = "batched"
INPUTS = ("embedding", "ih", "hh", "bias", "tokens", "mask")
OUTPUTS = ("loss", "embedding", "ih", "hh", "bias")
PARAMETERS = ("embedding", "ih", "hh", "bias")

#: The padding token.  It is also a real token of some documents, so a scatter that
#: lets a padded position's zero row overwrite a real one is caught.
PAD = 0


def batched_loss(embedding, ih, hh, bias, tokens, mask):
    """The forward pass of the padded batch: the mean loss over the scored positions.

    Parameters
    ----------
    embedding, ih, hh, bias : ndarray
        E (V, H), W_ih (H, H), W_hh (H, H), b (H,).
    tokens : ndarray of int, shape (B, T)
    mask : ndarray of bool, shape (B, T)
        True where a position is scored; ``mask.sum() > 0``.

    Returns
    -------
    float
    """
    states = _forward(embedding, ih, reference.row_normalise(hh), bias, tokens)[0]
    z = states @ embedding.T                                    # (B, T, V)
    shifted = z - z.max(axis=-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(log_p, tokens[..., None], axis=-1)[..., 0]
    return float(-(picked * mask).sum() / mask.sum())


def _forward(embedding, ih, scaled_hh, bias, tokens):
    """States (B, T, H), pre-activations (B, T - 1, H), inputs u (B, T, H)."""
    B, T = tokens.shape
    H = embedding.shape[1]
    embedded = reference.activation(embedding[tokens])          # (B, T, H)
    states = np.zeros((B, T, H), dtype=embedding.dtype)
    middles = np.zeros((B, max(T - 1, 0), H), dtype=embedding.dtype)
    for t in range(T - 1):
        middles[:, t] = states[:, t] @ scaled_hh.T + embedded[:, t] @ ih.T + bias
        states[:, t + 1] = reference.activation(middles[:, t])
    return states, middles, embedded


def _bptt(embedding, ih, hh, bias, tokens, mask, *, scatter="add_at", score=None,
          denominator=None, grad_mask=True, carry=True):
    """The batched loss and gradients, with the named mistakes as options.

    ``scatter`` is how the input rows of dE are added: ``"add_at"`` (right),
    ``"per_step"`` (``dE[tokens[:, t]] += rows`` at each step), ``"batch_major"``
    / ``"time_major"`` (one ``dE[idx] += rows`` over positions 0 .. T-2, the
    batch or the time index outermost), ``"batch_major_all"`` /
    ``"time_major_all"`` (over every position, the last one's zero row
    included).  ``score`` is the mask the loss uses (default ``mask``);
    ``denominator`` what it is divided by (default N); ``grad_mask=False``
    lets dz of every position through; ``carry=False`` drops S^T delta.
    """
    B, T = tokens.shape
    score = mask if score is None else score
    denominator = mask.sum() if denominator is None else denominator
    scaled_hh = reference.row_normalise(hh)
    states, middles, embedded = _forward(embedding, ih, scaled_hh, bias, tokens)
    z = states @ embedding.T
    shifted = z - z.max(axis=-1, keepdims=True)
    log_sum = np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    log_p = shifted - log_sum
    picked = np.take_along_axis(log_p, tokens[..., None], axis=-1)[..., 0]
    loss = -(picked * score).sum() / denominator
    dz = np.exp(log_p)
    np.put_along_axis(dz, tokens[..., None],
                      np.take_along_axis(dz, tokens[..., None], axis=-1) - 1.0, axis=-1)
    dz *= ((score if grad_mask else np.ones_like(score)) / denominator)[..., None]
    d_embedding = np.einsum("btv,bth->vh", dz, states)
    direct = dz @ embedding                                     # (B, T, H): E^T dz
    d_ih, d_scaled_hh = np.zeros_like(ih), np.zeros_like(hh)
    d_bias = np.zeros_like(bias)
    rows = np.zeros_like(embedded)                              # (B, T, H), row T-1 zero
    grad = direct[:, T - 1] if T else None
    for t in range(T - 2, -1, -1):
        delta = grad * reference.activation_grad(middles[:, t])  # (B, H)
        d_bias += delta.sum(axis=0)
        d_ih += delta.T @ embedded[:, t]
        d_scaled_hh += delta.T @ states[:, t]
        rows[:, t] = (delta @ ih) * reference.activation_grad(embedding[tokens[:, t]])
        if scatter == "per_step":
            d_embedding[tokens[:, t]] += rows[:, t]
        grad = direct[:, t] + (delta @ scaled_hh if carry else 0.0)
    if scatter == "add_at":
        np.add.at(d_embedding, tokens, rows)
    elif scatter != "per_step":
        last = T if scatter.endswith("_all") else max(T - 1, 0)
        order = (0, 1) if scatter.startswith("batch") else (1, 0)
        index = tokens[:, :last].transpose(order).reshape(-1)
        values = rows[:, :last].transpose(*order, 2).reshape(-1, rows.shape[-1])
        d_embedding[index] += values                            # numpy: one row per index
    d_hh = reference.row_normalise_backward(hh, d_scaled_hh)
    return float(loss), {"embedding": d_embedding, "ih": d_ih, "hh": d_hh, "bias": d_bias}


def batched_loss_and_grads(embedding, ih, hh, bias, tokens, mask):
    """A right answer: the mean loss over the scored positions and its gradients.

    Parameters
    ----------
    embedding, ih, hh, bias : ndarray
        E (V, H), W_ih (H, H), W_hh (H, H), b (H,).
    tokens : ndarray of int, shape (B, T)
    mask : ndarray of bool, shape (B, T)

    Returns
    -------
    loss : float
    grads : dict
        ``embedding``, ``ih``, ``hh``, ``bias``.
    """
    B, T = tokens.shape
    H = embedding.shape[1]
    scaled_hh = row_normalise(hh)
    embedded = activation(embedding[tokens])                    # u, (B, T, H)
    states = np.zeros((B, T, H), dtype=embedding.dtype)
    middles = np.zeros((B, T, H), dtype=embedding.dtype)
    for t in range(T - 1):
        middles[:, t] = states[:, t] @ scaled_hh.T + embedded[:, t] @ ih.T + bias
        states[:, t + 1] = activation(middles[:, t])
    z = states @ embedding.T                                    # (B, T, V)
    z = z - z.max(axis=-1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    weight = mask / mask.sum()                                  # 1/N where scored, else 0
    loss = -(np.take_along_axis(log_p, tokens[..., None], axis=-1)[..., 0] * weight).sum()
    dz = np.exp(log_p)
    dz[np.arange(B)[:, None], np.arange(T)[None, :], tokens] -= 1.0
    dz *= weight[..., None]                                     # masked positions: no gradient
    d_embedding = np.einsum("btv,bth->vh", dz, states)          # the logits' share
    d_ih, d_scaled_hh, d_bias = np.zeros_like(ih), np.zeros_like(hh), np.zeros_like(bias)
    rows = np.zeros_like(embedded)                              # the input rows of dE
    grad = dz[:, T - 1] @ embedding                             # g_{T-1}
    for t in range(T - 2, -1, -1):
        delta = grad * activation_grad(middles[:, t])           # (B, H)
        d_bias += delta.sum(axis=0)
        d_ih += delta.T @ embedded[:, t]
        d_scaled_hh += delta.T @ states[:, t]
        rows[:, t] = (delta @ ih) * activation_grad(embedding[tokens[:, t]])
        grad = dz[:, t] @ embedding + delta @ scaled_hh
    np.add.at(d_embedding, tokens, rows)                        # sums repeated tokens
    grads = {"embedding": d_embedding, "ih": d_ih, "hh": row_normalise_backward(hh, d_scaled_hh),
             "bias": d_bias}
    return float(loss), grads


def _per_document(params, tokens, lengths, titles):
    """The package's BPTT, one document at a time, summed and divided by N."""
    total, grads = 0.0, {k: np.zeros_like(p) for k, p in zip(PARAMETERS, params)}
    N = sum(max(n - m, 0) for n, m in zip(lengths, titles))
    for row, n, m in zip(tokens, lengths, titles):
        if n == 0:
            continue
        loss, g = reference.loss_and_grads(*params, [int(x) for x in row[:n]], m)
        total += loss
        for k in PARAMETERS:
            grads[k] += g[k]
    return total / N, {k: v / N for k, v in grads.items()}


#: The batches: (large H, lengths, title lengths).  T is the longest length.
_BATCHES = (
    (False, (5, 0, 3), (1, 0, 0)),           # a zero-length document, m = 0
    (True, (9, 4, 9, 2), (0, 2, 8, 0)),      # m = T - 1 for one document
    (False, (6,), (2,)),                     # one document, no padding
    (True, (1, 1), (0, 0)),                  # T = 1: no step at all
    (False, (7, 7, 3), (3, 0, 1)),           # two full documents, same lengths
)


def _tokens(rng, V, H, lengths):
    """Padded tokens with repeats: within a document, at one position of two
    documents, and the padding token as a real token where a zero row follows it."""
    T = max(lengths)
    tokens = np.full((len(lengths), T), PAD, dtype=np.int64)
    for b, n in enumerate(lengths):
        tokens[b, :n] = rng.integers(0, V, size=n)
        if n >= 3:
            tokens[b, n - 1] = tokens[b, 0] = int(rng.integers(H, V))    # >= H, repeated
    full = [b for b, n in enumerate(lengths) if n >= 3]
    if len(full) >= 2:
        tokens[full[1], 1] = tokens[full[0], 1]                          # same position
    if full:
        tokens[full[0], 2] = PAD                                         # padding's token
    return tokens


def _case(rng, large, lengths, titles):
    V = int(rng.integers(2, 5)) + (H := int(rng.integers(7, 10) if large else rng.integers(2, 5)))
    params = tuple(gradcheck._pseudocode_parameters(rng, V=V, H=H))
    tokens = _tokens(rng, V, H, lengths)
    T = tokens.shape[1]
    positions = np.arange(T)
    mask = np.array([(positions >= m) & (positions < n) for n, m in zip(lengths, titles)])
    loss, grads = _per_document(params, tokens, lengths, titles)
    want = {"loss": np.asarray(loss), **grads}
    fd = {"loss": np.asarray(batched_loss(*params, tokens, mask))}
    for name, p in zip(PARAMETERS, params):
        fd[name] = gradcheck.numerical_gradient(lambda: batched_loss(*params, tokens, mask), p,
                                                gradcheck.step_sizes(name, p))
    tags = (f"H = {H}", f"V = {V}", f"B = {len(lengths)}", f"T = {T}")
    tags += tuple(t for t, holds in (
        ("a zero-length document", 0 in lengths),
        ("m = 0", any(m == 0 and n > 0 for n, m in zip(lengths, titles))),
        ("m = T - 1", any(m == n - 1 and n > 1 for n, m in zip(lengths, titles))),
        ("padding", min(lengths) < T),
        ("repeated tokens", any(len(set(r[:n].tolist())) < n for r, n in zip(tokens, lengths))),
    ) if holds)
    return ExtraCase(NAME, params + (tokens, mask), fd, want,
                     {"H": H, "V": V, "B": len(lengths), "N": int(mask.sum())}, tags, BOTH,
                     mistakes=mistakes)


def make_cases(seed=0):
    """The cases of the batched exercise, drawn from ``seed`` (see the module docstring).

    Parameters
    ----------
    seed : int

    Returns
    -------
    list of ExtraCase
    """
    rng = np.random.default_rng([seed, 101])
    return [_case(rng, *batch) for batch in _BATCHES]


# --- the known mistakes -----------------------------------------------------------------

_DROPPED = ("the vectorised dE[tokens] += rows drops repeated tokens: numpy applies one row "
            "per repeated index (the last), where np.add.at(dE, tokens, rows) sums them all")

_MISTAKES = (
    (_DROPPED, [dict(scatter=s) for s in ("per_step", "batch_major", "time_major",
                                          "batch_major_all", "time_major_all")]),
    ("the mask is ignored: the padding and the title positions are scored too",
     [dict(score="all", grad_mask=False), dict(score="all", grad_mask=False, denominator="BT")]),
    ("the mean counts the padding: the loss is divided by B * T where N = mask.sum(), the "
     "number of scored positions, is due", [dict(denominator="BT")]),
    ("divided by the batch size B (a mean per document) where N = mask.sum(), the number of "
     "scored positions, is due", [dict(denominator="B")]),
    ("not divided by N: the loss is the mean over the scored positions, not their sum",
     [dict(denominator=1.0)]),
    ("the mask is applied to the loss but not to dz: padding and title positions still send "
     "their gradient back", [dict(grad_mask=False)]),
    ("the gradient is not carried back through time: g_t must add S^T delta_t from the step "
     "after it", [dict(carry=False)]),
)


def mistakes(case):
    """The known wrong answers of ``case``, computed on its inputs (float64).

    Parameters
    ----------
    case : ExtraCase

    Returns
    -------
    list of Mistake
    """
    from .beyond import Mistake
    *params, tokens, mask = case.args64
    found = []
    for label, variants in _MISTAKES:
        for options in variants:
            options = dict(options)
            if options.get("score") == "all":
                options["score"] = np.ones_like(mask)
            if options.get("denominator") == "BT":
                options["denominator"] = mask.size
            elif options.get("denominator") == "B":
                options["denominator"] = mask.shape[0]
            loss, grads = _bptt(*params, tokens, mask, **options)
            found.append(Mistake(label, {"loss": np.asarray(loss), **grads}))
    return found


SKELETON = (
    "embedding, ih, hh, bias, tokens, mask", "exercises_beyond", "A padded batch",
    "The mean loss over the scored positions of a padded batch, and its gradients.",
    """embedding, ih, hh, bias : ndarray
    E (V, H), W_ih (H, H), W_hh (H, H), b (H,).
tokens : ndarray of int, shape (B, T)
    B documents, each padded to the longest (T) with token 0.
mask : ndarray of bool, shape (B, T)
    True where a position is scored: False on a title and on padding.
    A document may have length 0 (no True, all padding).

The forward, for every document b at once (states of shape (B, T, H)):
s_{b,0} = 0, s_{b,t+1} = f(S s_{b,t} + W_ih f(E[x_{b,t}]) + b), and
L = (1/N) sum over (b, t) with mask[b, t] of -log softmax(E s_{b,t})[x_{b,t}],
N = mask.sum().

Returns
-------
loss : float
grads : dict
    "embedding", "ih", "hh", "bias": d L / d each, shaped like it.""",
    "Vectorise over the batch, loop over time.  Multiply dz by mask / N before "
    "anything else: a masked position then sends no gradient anywhere.  The input "
    "rows of dE: a token may repeat, in one document or at one position of two; "
    "dE[tokens] += rows keeps one row per index, np.add.at(dE, tokens, rows) adds "
    "every one.")

REGISTRY = {NAME: Exercise("batched_loss_and_grads", INPUTS, OUTPUTS, make_cases, SKELETON,
                           batched_loss_and_grads)}
