"""The model in PyTorch as a practitioner writes it for this job: equal lengths, fixed shapes.

Every document of the benchmark's batch has the same length T and title
length m, so nothing is masked or padded.  The vocabulary has V rows, so the
input product is taken once per vocabulary row, ``f(E) W_ih^T + b`` (V, H),
and gathered per position, instead of once per position (B T rows).  The
recurrence is one ``addmm`` of the whole batch per step, the logits of the
scored positions one product, and the loss one ``cross_entropy`` summed.
``torch.compile(..., dynamic=False, fullgraph=True)`` compiles it for the
batch's fixed shapes.  The benchmark checks its loss and gradients against
normrnn's before timing it (:mod:`normrnn.bench.peers`).  PyTorch is imported
only when these functions are called.
"""

from ..reference import activation

__all__ = ["loss", "compiled_loss"]


def loss(embedding, ih, hh, bias, tokens, title_length):
    """Summed loss of B documents of the same length and title length (fixed gain 1/H).

    Parameters
    ----------
    embedding, ih, hh, bias : torch.Tensor
        Shapes (V, H), (H, H), (H, H), (H,).
    tokens : torch.Tensor of int64, shape (B, T)
        Every document's token ids, T >= 2.
    title_length : int
        m, the same for every document: positions t < m carry no loss.

    Returns
    -------
    torch.Tensor
        The scalar sum over documents and positions m <= t < T of
        -log softmax(E s_t)[x_t].
    """
    import torch

    H = hh.shape[1]
    scaled_hh = hh / (H * torch.linalg.vector_norm(hh, dim=1, keepdim=True))
    table = activation(embedding) @ ih.T + bias                 # (V, H): once per token id
    inputs = table[tokens[:, :-1]].unbind(1)                    # T - 1 of (B, H)
    transposed = scaled_hh.T
    state = torch.zeros(tokens.shape[0], H, dtype=hh.dtype)
    states = [state]
    for step_input in inputs:
        state = activation(torch.addmm(step_input, state, transposed))
        states.append(state)
    scored = torch.stack(states[title_length:], 1)              # (B, T - m, H)
    logits = scored @ embedding.T
    return torch.nn.functional.cross_entropy(
        logits.reshape(-1, embedding.shape[0]), tokens[:, title_length:].reshape(-1),
        reduction="sum")


def compiled_loss(mode=None):
    """:func:`loss` through ``torch.compile`` with static shapes and the whole graph.

    Parameters
    ----------
    mode : str, optional
        ``torch.compile``'s ``mode`` (e.g. ``"max-autotune-no-cudagraphs"``);
        None for its default.

    Returns
    -------
    callable
        Called as :func:`loss`; compiled at its first call for each shape.
    """
    import torch

    return torch.compile(loss, dynamic=False, fullgraph=True, mode=mode)
