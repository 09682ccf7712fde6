"""A learner's ``loss_and_grads`` beside autograd: where it first parts from it.

A learner's whole-document BPTT returns only the loss and the parameters'
gradients, so its intermediates (g_t, delta_t) cannot be read from it.  Two
facts of the model make them visible anyway, without asking anything more of
the learner's function:

1. **Documents of growing length.**  Scoring only the last position of the
   prefix x_0 .. x_t (``title_length = t``) gives the loss at position t
   alone, L_t, and its gradient.  The learner's function is called on every
   prefix, and each answer is compared with autograd's: the first position
   whose loss or gradient differs says how far back the backward pass is
   right.  L_0 reads s_0 = 0 and has no gradient; L_1 needs one step back
   from the logits (activation, bias, W_ih, the embedding activation); L_2 is
   the first that needs the carried state gradient S^T delta_t (the
   recurrent term) and d S.
2. **Each step reads its own row of E.**  Row x_t of d E collects the input
   share of step t, (W_ih^T delta_t) * f'(E[x_t]), plus the logits' share
   (dz_s[x_t] s_s summed over the scored positions s).  A row that no step
   reads as input holds the logits' share alone.  So in the whole document,
   comparing d E row by row checks the logits' share (rows no step reads)
   and, walking back from t = T-2, delta_t at every step whose token is read
   by that step only: the first step whose row differs is where the carried
   gradient first parts from autograd.  A document whose inputs x_0 .. x_{T-2}
   are distinct tokens (``list(range(T))`` with V >= T) has every step.

The parameters' gradients of the whole document (summed over steps) are
compared too.  Autograd is PyTorch's, else JAX's; both run in float64.

What the probes cannot see, the report does not guess: when the logits'
share differs, every step's row differs with it and no step is named; when
a step's row differs while the whole document's d W_ih and d b agree (so
delta_t does), the report names the row itself (the embedding activation,
or a d E overwritten instead of summed), not the carried gradient.
"""

import numpy as np

from .grads import Grads
from .reference import activation as f       # f, on tensors and JAX arrays as on arrays

__all__ = ["PARAMETERS", "autograd_loss_and_grads", "probe"]

#: The parameters, in the order of ``loss_and_grads``'s arguments.
PARAMETERS = ("embedding", "ih", "hh", "bias")


def _torch_loss_and_grads(params, tokens, title_length):
    import torch
    leaf = {name: torch.tensor(value, dtype=torch.float64, requires_grad=True)
            for name, value in zip(PARAMETERS, params)}
    E, ih, hh, bias = (leaf[name] for name in PARAMETERS)
    H = hh.shape[1]

    S = hh / (H * torch.linalg.vector_norm(hh, dim=1, keepdim=True))
    state = torch.zeros(H, dtype=torch.float64)
    loss = torch.zeros((), dtype=torch.float64)
    for t, token in enumerate(tokens):
        if t >= title_length:
            loss = loss - torch.log_softmax(E @ state, dim=0)[token]
        if t < len(tokens) - 1:
            state = f(S @ state + ih @ f(E[token]) + bias)
    grads = dict.fromkeys(PARAMETERS)
    if loss.requires_grad:
        loss.backward()
        grads = {name: leaf[name].grad for name in PARAMETERS}
    return float(loss.detach()), {name: (np.zeros_like(value) if grads[name] is None
                                else grads[name].numpy().copy())
                         for name, value in zip(PARAMETERS, params)}


def _jax_loss_and_grads(params, tokens, title_length):
    import jax
    import jax.numpy as jnp

    def loss(E, ih, hh, bias):
        H = hh.shape[1]
        S = hh / (H * jnp.linalg.norm(hh, axis=1, keepdims=True))
        state, total = jnp.zeros(H), 0.0
        for t, token in enumerate(tokens):
            if t >= title_length:
                total = total - jax.nn.log_softmax(E @ state)[token]
            if t < len(tokens) - 1:
                state = f(S @ state + ih @ f(E[token]) + bias)
        return total

    with jax.enable_x64(True):
        value, grads = jax.value_and_grad(loss, argnums=(0, 1, 2, 3))(
            *(jnp.asarray(p, dtype=jnp.float64) for p in params))
        return float(value), {name: np.array(g, dtype=np.float64)
                              for name, g in zip(PARAMETERS, grads)}


def autograd_loss_and_grads(params, tokens, title_length):
    """The loss and gradients of one document by autograd: PyTorch's, else JAX's.

    Parameters
    ----------
    params : sequence of ndarray
        ``embedding, ih, hh, bias``, float64.
    tokens : list of int
    title_length : int

    Returns
    -------
    loss : float
    grads : dict
        Parameter name -> ndarray, float64.

    Raises
    ------
    ImportError
        Neither PyTorch nor JAX is installed.
    """
    for module, backend in (("torch", _torch_loss_and_grads), ("jax", _jax_loss_and_grads)):
        try:
            __import__(module)
        except ImportError:
            continue
        return backend(params, tokens, title_length)
    raise ImportError("comparing with autograd needs PyTorch or JAX, optional dependencies: "
                      "pip install torch (or pip install normrnn[torch])")


def _call(loss_and_grads, params, tokens, title_length):
    """The learner's answer, checked for its form; ValueError says what is wrong."""
    answer = loss_and_grads(*(p.copy() for p in params), list(tokens), title_length)
    if not (isinstance(answer, tuple) and len(answer) == 2
            and isinstance(answer[1], (dict, Grads))):
        raise ValueError("loss_and_grads must return (loss, grads), grads a dict (or a "
                         f"normrnn.Grads); it returned {type(answer).__name__}")
    loss, grads = answer
    out = {}
    for name, param in zip(PARAMETERS, params):
        if name not in grads:
            raise ValueError(f"loss_and_grads's grads has no {name!r}")
        value = np.asarray(grads[name], dtype=np.float64)
        if value.shape != param.shape:
            raise ValueError(f"loss_and_grads's grads[{name!r}] has shape {value.shape}, "
                             f"not {param.shape}")
        out[name] = value
    return float(loss), out


def _differ(mine, want, rtol):
    """(exact, close, max difference): close means max |diff| <= rtol * max |want|."""
    mine, want = np.asarray(mine, dtype=np.float64), np.asarray(want, dtype=np.float64)
    difference = float(np.abs(mine - want).max(initial=0.0))
    scale = float(np.abs(want).max(initial=0.0))
    close = difference <= rtol * scale if scale > 0 else difference == 0.0
    return bool(np.array_equal(mine, want)), bool(close), difference


def probe(loss_and_grads, params, tokens, title_length, rtol):
    """Compare a learner's ``loss_and_grads`` with autograd, position by position and step by step.

    Parameters
    ----------
    loss_and_grads : callable
        ``loss_and_grads(embedding, ih, hh, bias, tokens, title_length) ->
        (loss, grads)``, as :func:`normrnn.reference.loss_and_grads`.
    params : sequence of ndarray
        ``embedding, ih, hh, bias``, float64.
    tokens : list of int
    title_length : int
    rtol : float

    Returns
    -------
    list of tuple
        ``(tensor, step, exact, close, max_difference, detail)``: ``position_loss``
        and ``position_grads`` for every position t (the prefix x_0 .. x_t
        scored at t only); ``logits_share`` (the rows of d E no step reads);
        ``step_input`` for every step t whose token no other step reads (row
        x_t of d E); and ``loss``, ``embedding``, ``ih``, ``hh``, ``bias`` of
        the whole document (step None).
    """
    rows = []
    for t in range(len(tokens)):
        prefix = tokens[:t + 1]
        want_loss, want = autograd_loss_and_grads(params, prefix, t)
        mine_loss, mine = _call(loss_and_grads, params, prefix, t)
        rows.append(("position_loss", t, *_differ(mine_loss, want_loss, rtol), ""))
        each = {n: _differ(mine[n], want[n], rtol) for n in PARAMETERS}
        differ = [n for n in PARAMETERS if not each[n][1]]
        agree = [n for n in PARAMETERS if n not in differ]
        detail = "; ".join(f"{', '.join(names)} {verb if len(names) > 1 else verb + 's'}"
                           for names, verb in ((differ, "differ"), (agree, "agree"))
                           if names and differ)
        rows.append(("position_grads", t, all(r[0] for r in each.values()), not differ,
                     max(r[2] for r in each.values()), detail))
    want_loss, want = autograd_loss_and_grads(params, tokens, title_length)
    mine_loss, mine = _call(loss_and_grads, params, tokens, title_length)
    inputs = tokens[:-1]
    unread = [v for v in range(params[0].shape[0]) if v not in inputs]
    if unread:
        rows.append(("logits_share", None,
                     *_differ(mine["embedding"][unread], want["embedding"][unread], rtol),
                     f"rows {unread}"))
    for t, token in enumerate(inputs):
        if inputs.count(token) == 1:
            rows.append(("step_input", t, *_differ(mine["embedding"][token],
                                                   want["embedding"][token], rtol),
                         f"row {token}"))
    rows.append(("loss", None, *_differ(mine_loss, want_loss, rtol), "whole document"))
    rows += [(name, None, *_differ(mine[name], want[name], rtol), "whole document")
             for name in PARAMETERS]
    return rows
